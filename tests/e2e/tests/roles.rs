//! A circle's roles with real engines and the real relay process: only an admin adds or removes
//! others; a member leaves by asking; when the last admin leaves, the longest-standing member is
//! admin and can bring a colleague in.

use crate::support::{Relay, engine, form_circle};

#[test]
fn the_last_admin_leaves_and_the_longest_standing_member_brings_a_colleague_in() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let url = relay.url();
    let mut a = engine(root.path(), "Dr Ama Boateng", "Neurology");
    let mut b = engine(root.path(), "Dr Bo Lindqvist", "Neurology");
    let mut c = engine(root.path(), "Dr Chen Wei", "Neurology");
    let mut d = engine(root.path(), "Dr Dara Okafor", "Neurology");
    form_circle(&mut a, &mut [&mut b, &mut c], "Neuro", &url);

    // Bob is not an admin: he can neither remove Chen nor invite anyone.
    let chen = c.identity().unwrap().account;
    let refused = b.remove_member("Neuro", &chen).unwrap_err();
    assert!(refused.to_string().contains("admin"), "{refused}");
    assert!(b.invite("Neuro").is_err());

    // Chen leaves: Bob (not an admin) commits Chen's own request.
    c.leave("Neuro").unwrap();
    c.sync().unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    assert_eq!(b.members("Neuro").unwrap().len(), 2, "Chen is gone");

    // Ama, the last admin, leaves; Bob, the longest-standing member left, commits it and is
    // admin from then on.
    a.leave("Neuro").unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    b.sync().unwrap();
    assert_eq!(b.members("Neuro").unwrap().len(), 1, "Ama is gone");
    let code = b.invite("Neuro").expect("Bob is admin now");
    d.join(&code).unwrap();
    b.sync().unwrap();
    for r in b.join_requests("Neuro").unwrap() {
        b.approve(
            "Neuro",
            r.id,
            &consilium_client::ApprovalCheck::SafetyNumber(r.safety_number.clone()),
        )
        .unwrap();
    }
    b.sync().unwrap();
    d.sync().unwrap();
    assert_eq!(d.members("Neuro").unwrap().len(), 2, "Dara is in");
}
