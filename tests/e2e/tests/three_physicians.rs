//! Three physicians run a circle with the CLI through one relay process, every byte between them
//! and the relay captured: invite, approve, share a case with two images, comment, vote; then
//! one is removed and can read nothing sent afterwards.

use crate::support::{Capture, Cli, Relay, contains, leaks};

const TITLE: &str = "QZX annular plaque on the left forearm, six weeks";
const COMMENT: &str = "QZX KOH prep would settle it; the scaly edge favours tinea";
const LATER: &str = "QZX-LATER second case, after the removal";

fn id_of(json: &serde_json::Value) -> String {
    json["id"].as_str().unwrap().to_string()
}

#[test]
fn three_physicians_share_a_case_discuss_it_and_a_removed_member_reads_nothing_after() {
    let root = tempfile::tempdir().unwrap();
    let proxy = Capture::bind();
    let relay = Relay::start_behind(&root.path().join("relay"), &[&proxy.url]);
    let capture = proxy.forward_to(&relay.addr);
    let Journey { exported, .. } = journey(root.path(), &capture.url);

    // Neither the relay's data nor the captured traffic holds the case text, the image bytes, or
    // who the physicians are (the joiners' notes are sealed to the inviter).
    let traffic = capture.bytes();
    assert!(traffic.len() > 100_000, "the capture saw the traffic");
    for needle in [
        TITLE.as_bytes(),
        COMMENT.as_bytes(),
        b"QZX-LATER".as_slice(),
        b"Alice Martin",
        b"Bruno Lefevre",
        b"Chloe Petit",
        b"Dermatology",
        b"Infectious diseases",
    ] {
        let shown = String::from_utf8_lossy(needle);
        assert!(!contains(&traffic, needle), "{shown} in clear on the wire");
        assert!(
            leaks(&relay.data, needle).is_empty(),
            "plaintext in the relay's data"
        );
    }
    for image in [&exported[0], &exported[2]] {
        let middle = &image[image.len() / 2..image.len() / 2 + 48];
        assert!(!contains(&traffic, middle), "image bytes on the wire");
        assert!(
            leaks(&relay.data, middle).is_empty(),
            "image bytes in the relay's data"
        );
    }
    drop(relay);
}

/// What the journey leaves for the checks after it.
pub struct Journey {
    pub a: Cli,
    pub b: Cli,
    /// The case shared at the start.
    pub case: String,
    /// The shared case's two images, full and thumbnail, as A, then B, then C exported them.
    pub exported: Vec<Vec<u8>>,
}

/// The three physicians' journey through the relay at `relay_url`, every step checked: the
/// circle, the approvals, a case with two photos, a comment and a vote, a removal.
pub fn journey(root: &std::path::Path, relay_url: &str) -> Journey {
    let (a, b, c) = (
        Cli::init(root, "Dr Alice Martin", "Dermatology"),
        Cli::init(root, "Dr Bruno Lefevre", "Dermatology"),
        Cli::init(root, "Dr Chloe Petit", "Infectious diseases"),
    );

    // A creates the circle and invites B and C; both ask to join; A approves both.
    a.ok(&["circle", "create", "Derm Lyon", "--relay", relay_url]);
    for joiner in [&b, &c] {
        let code = a.ok(&["circle", "invite", "Derm Lyon"]);
        assert_eq!(code.trim().lines().count(), 1, "an invite code is one line");
        joiner.ok(&["circle", "join", code.trim()]);
    }
    let requests = a.json(&["circle", "requests", "Derm Lyon"]);
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 2);
    let me_b = b.json(&["identity"]);
    let from_b = requests
        .iter()
        .find(|r| r["account"] == me_b["account"])
        .unwrap();
    assert_eq!(from_b["name"], "Dr Bruno Lefevre");
    // Bruno's safety number is read back to Ana before she approves him; Chloé she approves
    // without checking, which the circle records.
    for r in requests {
        let id = r["id"].to_string();
        if r["account"] == me_b["account"] {
            let number = r["safety_number"].as_str().unwrap();
            a.ok(&["circle", "approve", "Derm Lyon", &id, number]);
        } else {
            a.ok(&["circle", "approve", "Derm Lyon", &id, "--without-checking"]);
        }
    }
    b.ok(&["sync"]);
    c.ok(&["sync"]);
    a.ok(&["sync"]);
    for p in [&a, &b, &c] {
        p.ok(&["sync"]);
        let members = p.json(&["circle", "members", "Derm Lyon"]);
        let names: Vec<&str> = members
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&"Dr Alice Martin") && names.contains(&"Dr Chloe Petit"));
    }
    // B verifies A by the safety number both see.
    let a_seen_by_b = b.json(&["circle", "members", "Derm Lyon"]);
    let alice = a_seen_by_b
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Dr Alice Martin")
        .unwrap()
        .clone();
    let wrong = b.run(&["circle", "verify", "Derm Lyon", "Dr Alice Martin", "12345"]);
    assert!(!wrong.status.success());
    let verified = b.json(&[
        "circle",
        "verify",
        "Derm Lyon",
        "Dr Alice Martin",
        alice["safety_number"].as_str().unwrap(),
    ]);
    assert_eq!(verified[0]["verification"], "verified");

    // A writes a case with two real camera photos, shares it, and opens a poll.
    let case = id_of(&a.json(&[
        "case",
        "new",
        "--title",
        TITLE,
        "--age-band",
        "40-49",
        "--question",
        "Tinea or granuloma annulare?",
    ]));
    let photos = [
        consilium_testkit::sample("exif_gps.jpg"),
        consilium_testkit::sample("flower.jpg"),
    ];
    let photos: Vec<String> = photos
        .iter()
        .map(|p| match p {
            Some(p) => p.display().to_string(),
            None => consilium_testkit::camera_photo(root, "photo.jpg", 1200, 900, 6, "e2e")
                .display()
                .to_string(),
        })
        .collect();
    let attached = a.json(&["case", "attach", &case, &photos[0], &photos[1]]);
    let attachments: Vec<String> = attached
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(attachments.len(), 2);
    a.ok(&["share", &case, "Derm Lyon"]);
    a.ok(&[
        "poll",
        &case,
        "Tinea corporis",
        "Granuloma annulare",
        "Nummular eczema",
    ]);

    // B and C receive it with both images, byte for byte A's.
    b.ok(&["sync"]);
    c.ok(&["sync"]);
    let mut exported: Vec<Vec<u8>> = Vec::new();
    for (p, who) in [(&a, "a"), (&b, "b"), (&c, "c")] {
        let listed = p.json(&["case", "list", "--circle", "Derm Lyon"]);
        assert_eq!(listed.as_array().unwrap().len(), 1, "{who}");
        for (i, att) in attachments.iter().enumerate() {
            for rendition in ["full", "thumbnail"] {
                let out = root.join(format!("{who}-{i}-{rendition}"));
                p.ok(&[
                    "case",
                    "export-attachment",
                    &case,
                    att,
                    out.to_str().unwrap(),
                    "--rendition",
                    rendition,
                ]);
                exported.push(std::fs::read(&out).unwrap());
            }
        }
    }
    assert_eq!(exported.len(), 12);
    for i in 0..4 {
        assert_eq!(
            exported[i],
            exported[4 + i],
            "B's image {i} differs from A's"
        );
        assert_eq!(
            exported[i],
            exported[8 + i],
            "C's image {i} differs from A's"
        );
    }

    // B comments, C votes; everyone sees the same thread and tally.
    b.ok(&["comment", &case, COMMENT]);
    c.ok(&["vote", &case, "Tinea corporis"]);
    for p in [&a, &b, &c] {
        p.ok(&["sync"]);
    }
    for p in [&a, &b, &c] {
        p.ok(&["sync"]);
        let shown = p.json(&["case", "show", &case]);
        let comments = shown["comments"].as_array().unwrap();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0]["body"], COMMENT);
        assert_eq!(comments[0]["author"], "Dr Bruno Lefevre");
        let tally = &shown["polls"][0]["options"];
        assert_eq!(tally[0], serde_json::json!(["Tinea corporis", 1]));
        assert_eq!(tally[1], serde_json::json!(["Granuloma annulare", 0]));
        assert_eq!(shown["attachments"].as_array().unwrap().len(), 2);
    }

    // A removes C; what A sends afterwards never reaches C, and the relay refuses C's fetches.
    a.ok(&["circle", "remove", "Derm Lyon", "Dr Chloe Petit"]);
    let later = id_of(&a.json(&["case", "new", "--title", LATER]));
    a.ok(&["share", &later, "Derm Lyon"]);
    a.ok(&["comment", &case, "QZX-LATER a comment after the removal"]);
    b.ok(&["sync"]);
    let synced = c.ok(&["sync"]);
    assert!(synced.contains("no longer in circle"), "{synced}");
    assert_eq!(
        b.json(&["case", "list", "--circle", "Derm Lyon"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let c_cases = c.json(&["case", "list"]);
    assert_eq!(
        c_cases.as_array().unwrap().len(),
        1,
        "C has only the first case"
    );
    assert_eq!(
        c.json(&["case", "show", &case])["comments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(leaks(&c.dir, b"QZX-LATER").is_empty());
    let a_members = a.json(&["circle", "members", "Derm Lyon"]);
    assert_eq!(a_members.as_array().unwrap().len(), 2);
    Journey {
        a,
        b,
        case,
        exported,
    }
}
