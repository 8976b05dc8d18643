//! Faults: the relay SIGKILLed in the middle of a share with images; a member offline while
//! 500 messages arrive, then SIGKILLed in the middle of applying them. After sync, everyone has
//! everything exactly once and the vaults are consistent.

use std::time::{Duration, Instant};

use consilium_model::CaseFields;

use crate::support::{Cli, Relay, engine};

#[test]
fn the_relay_killed_in_the_middle_of_a_share_with_images_loses_and_duplicates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(&root.path().join("relay"));
    let url = relay.url();
    let a = Cli::init(root.path(), "Dr Ana Ruiz", "Dermatology");
    let b = Cli::init(root.path(), "Dr Ben Okafor", "Dermatology");
    a.ok(&["circle", "create", "Skin", "--relay", &url]);
    b.ok(&["circle", "join", a.ok(&["circle", "invite", "Skin"]).trim()]);
    let requests = a.json(&["circle", "requests", "Skin"]);
    let (request, number) = (
        requests[0]["id"].to_string(),
        requests[0]["safety_number"].as_str().unwrap().to_string(),
    );
    a.ok(&["circle", "approve", "Skin", &request, &number]);
    b.ok(&["sync"]);

    let case = a.json(&["case", "new", "--title", "Pigmented lesion, changing"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let photo = consilium_testkit::photo_12mp(root.path());
    let photo = photo.to_str().unwrap();
    let attached = a.json(&["case", "attach", &case, photo, photo]);
    let ids: Vec<String> = attached
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();

    // Share, and kill the relay as soon as the first encrypted image lands on its disk.
    let mut share = a.command(&["share", &case, "Skin"]).spawn().unwrap();
    let blobs = relay.data.join("blobs");
    let before = consilium_testkit::files_under(&blobs).len();
    let start = Instant::now();
    while consilium_testkit::files_under(&blobs).len() == before
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    relay.kill();
    let status = share.wait().unwrap();
    assert!(status.success(), "the share is queued, not lost");
    assert!(
        a.ok(&["sync"]).contains("offline, will retry"),
        "the relay is down"
    );

    relay.restart();
    let synced = a.ok(&["sync"]);
    assert!(synced.contains("still queued 0"), "{synced}");
    b.ok(&["sync"]);
    let list = b.json(&["case", "list", "--circle", "Skin"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "the case arrived once");
    let shown = b.json(&["case", "show", &case]);
    assert_eq!(shown["attachments"].as_array().unwrap().len(), 2);
    for id in &ids {
        let (pa, pb) = (root.path().join("a.jpg"), root.path().join("b.jpg"));
        a.ok(&["case", "export-attachment", &case, id, pa.to_str().unwrap()]);
        b.ok(&["case", "export-attachment", &case, id, pb.to_str().unwrap()]);
        assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    }
}

#[test]
fn a_member_offline_for_500_messages_then_killed_while_applying_them_ends_with_each_once() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let url = relay.url();
    let mut a = engine(root.path(), "Dr Amal Haddad", "Neurology");
    let b = Cli::init(root.path(), "Dr Bea Novak", "Neurology");
    a.create_circle("Neuro", &url).unwrap();
    b.ok(&["circle", "join", &a.invite("Neuro").unwrap()]);
    a.sync().unwrap();
    let request = a.join_requests("Neuro").unwrap().remove(0);
    let number = consilium_client::ApprovalCheck::SafetyNumber(request.safety_number);
    a.approve("Neuro", request.id, &number).unwrap();
    a.sync().unwrap();
    b.ok(&["sync"]);

    // B is offline while A shares a case and writes 500 comments on it.
    let case = a
        .create_case(CaseFields {
            title: "Recurrent transient aphasia".into(),
            ..Default::default()
        })
        .unwrap();
    a.share(&case, "Neuro").unwrap();
    for i in 0..500 {
        a.comment(&case, &format!("note {i:03}"), None).unwrap();
    }
    let sent = a.sync().unwrap();
    assert_eq!((sent.sent, sent.queued), (501, 0));

    // B applies the backlog and is SIGKILLed partway, later and later until it happens in
    // the middle.
    let count = || -> usize {
        let shown = b.json(&["case", "show", &case.to_string()]);
        shown["comments"].as_array().map_or(0, Vec::len)
    };
    let mut mid_way = None;
    let mut delay = Duration::from_millis(200);
    while mid_way.is_none() && delay < Duration::from_secs(30) {
        let mut sync = b.command(&["sync"]).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = sync.kill();
        sync.wait().unwrap();
        let has_case = b
            .json(&["case", "list"])
            .as_array()
            .is_some_and(|l| !l.is_empty());
        let n = if has_case { count() } else { 0 };
        if n > 0 && n < 500 {
            mid_way = Some(n);
        } else if n == 500 {
            break;
        }
        delay += Duration::from_millis(150);
    }
    let n = mid_way.expect("B was never caught in the middle of its backlog");
    assert!(n < 500);
    b.ok(&["sync"]);
    let shown = b.json(&["case", "show", &case.to_string()]);
    let bodies: Vec<&str> = shown["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..500).map(|i| format!("note {i:03}")).collect();
    assert_eq!(bodies, expected, "every comment exactly once, in order");
    let again = b.ok(&["sync"]);
    assert!(again.contains("received 0"), "{again}");
}
