//! A relay in its default `invite` mode, as a real process: a physician cannot create a circle
//! until the operator's enrolment code admits her; a colleague she invites gets an account
//! through the invitation alone; a stranger's fresh key is refused.

use consilium_model::CaseFields;

use crate::support::{Relay, engine, form_circle};

#[test]
fn an_enrolled_physician_and_her_invited_colleague_share_a_case_on_an_inviting_relay() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start_inviting(&root.path().join("relay"));
    let url = relay.url();
    let mut a = engine(root.path(), "Dr Ama Boateng", "Dermatology");
    let mut b = engine(root.path(), "Dr Bo Lindqvist", "Dermatology");
    let mut stranger = engine(root.path(), "Mallory", "None");

    let refused = a.create_circle("Derm", &url).unwrap_err();
    assert!(
        refused.to_string().contains("enrolment code"),
        "the refusal says what to do: {refused}"
    );
    assert!(
        a.enrol(&url, "0000-0000-0000-0000").is_err(),
        "a made-up code"
    );
    let code = relay.admit();
    a.enrol(&url, &code).unwrap();
    assert!(
        stranger.enrol(&url, &code).is_err(),
        "a code admits one account"
    );
    assert!(stranger.create_circle("Elsewhere", &url).is_err());

    form_circle(&mut a, &mut [&mut b], "Derm", &url);
    let case = a
        .create_case(CaseFields {
            title: "Annular plaque, left forearm".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Derm").unwrap();
    let sent = a.sync().unwrap();
    assert_eq!(
        (sent.queued, sent.offline.as_deref()),
        (0, None),
        "{sent:?}"
    );
    let got = b.sync().unwrap();
    assert_eq!(got.offline, None, "{got:?}");
    assert_eq!(
        b.case(&case).unwrap().fields.title,
        "Annular plaque, left forearm"
    );
}
