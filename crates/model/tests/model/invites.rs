//! Invite codes: one line, read back as pasted, and refused clearly when cut, changed or unsafe.

use super::*;
use consilium_model::invite::Invite;
use serde_bytes::ByteBuf;

fn invite() -> Invite {
    Invite {
        relay: "https://relay.example.org".into(),
        circle: ByteBuf::from(vec![7; 16]),
        token: ByteBuf::from(vec![9; 32]),
        inviter: ByteBuf::from(vec![3; 32]),
        relay_key_sha256: None,
        circle_name: "Dermatology Lyon".into(),
        admins: Vec::new(),
        note_key: Some(ByteBuf::from(vec![5; 32])),
    }
}

#[test]
fn a_code_is_one_line_that_reads_back_even_when_pasted_with_breaks() {
    let code = invite().to_code().unwrap();
    assert!(code.starts_with("consilium-invite:1:"));
    assert!(!code.contains(char::is_whitespace));
    assert_eq!(Invite::parse(&code).unwrap(), invite());
    let wrapped = format!("  {}\n{}  ", &code[..30], &code[30..]);
    assert_eq!(Invite::parse(&wrapped).unwrap(), invite());
    assert!(
        !format!("{:?}", invite()).contains("9, 9"),
        "the token is redacted"
    );
}

#[test]
fn cut_changed_foreign_or_unsafe_codes_are_refused_clearly() {
    let code = invite().to_code().unwrap();
    for broken in [
        code[..code.len() - 5].to_string(),
        code.replace("consilium-invite:1:", "consilium-invite:2:"),
        format!("{code}!!"),
        "https://example.org".to_string(),
        "x".repeat(5000),
    ] {
        let e = Invite::parse(&broken).unwrap_err().to_string();
        assert!(e.contains("invite code is not valid"), "{e}");
    }
    let mut short_key = invite();
    short_key.note_key = Some(ByteBuf::from(vec![5; 31]));
    assert!(short_key.to_code().is_err(), "a note key is 32 bytes");
    let mut plain = invite();
    plain.relay = "http://relay.example.org".into();
    assert!(plain.to_code().is_err(), "no plain http to a remote relay");
    for remote in [
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example:80",
        // The host is what follows the user part: relay.example.org, over plain http.
        "http://localhost:1@relay.example.org",
        "http://127.0.0.1@relay.example.org",
    ] {
        let mut sneaky = invite();
        sneaky.relay = remote.into();
        assert!(sneaky.to_code().is_err(), "{remote}");
    }
    for here in [
        "http://127.0.0.1:8443",
        "http://localhost/",
        "http://[::1]:8443",
    ] {
        let mut local = invite();
        local.relay = here.into();
        assert!(local.to_code().is_ok(), "{here}");
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_the_invite_parser(s in ".{0,300}") {
        let _ = Invite::parse(&s);
        let _ = Invite::parse(&format!("consilium-invite:1:{s}"));
    }
}
