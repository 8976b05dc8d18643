//! The patient withdraws consent: three physicians on the CLI, one relay process. Ana shares a
//! case with two images, Bruno comments and Chloé votes; Ana retracts it. After syncing, Bruno's
//! and Chloé's laptops hold nothing of it (not a word in any page of their vaults and WALs,
//! decrypted with the vault's key, nor an image file), they list its tombstone, the relay holds
//! none of its images, and a physician who joins afterwards sees nothing.

use std::path::Path;

use crate::support::{Cli, PASSPHRASE, Relay, contains};

const TITLE: &str = "QZR erythema migrans after a tick bite";
const COMMENT: &str = "QZR doxycycline for three weeks would be usual";

/// Words of the case that the vault at `dir` still holds, read page by page with its key.
fn readable(dir: &Path) -> Vec<&'static str> {
    let pages = consilium_store::forensics::readable_pages(
        dir,
        &consilium_client::Passphrase::new(PASSPHRASE),
    )
    .unwrap();
    ["erythema", "migrans", "doxycycline", "Tinea", "tinea"]
        .into_iter()
        .filter(|w| contains(&pages, w.as_bytes()))
        .collect()
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[test]
fn a_retracted_case_leaves_no_trace_with_colleagues_the_relay_or_a_later_joiner() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (a, b, c, d) = (
        Cli::init(root.path(), "Dr Ana Sousa", "Infectious diseases"),
        Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology"),
        Cli::init(root.path(), "Dr Chloe Petit", "Infectious diseases"),
        Cli::init(root.path(), "Dr Dan Weber", "Dermatology"),
    );
    a.ok(&["circle", "create", "Lyme Lyon", "--relay", &relay.url()]);
    let bring_in = |who: &Cli| {
        let code = a.ok(&["circle", "invite", "Lyme Lyon"]);
        who.ok(&["circle", "join", code.trim()]);
        a.ok(&["sync"]);
        let requests = a.json(&["circle", "requests", "Lyme Lyon"]);
        for r in requests.as_array().unwrap() {
            let id = r["id"].to_string();
            a.ok(&["circle", "approve", "Lyme Lyon", &id, "--without-checking"]);
        }
        who.ok(&["sync"]);
    };
    bring_in(&b);
    bring_in(&c);

    let case = a.json(&["case", "new", "--title", TITLE, "--question", "How long?"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let photos: Vec<String> = (0..2)
        .map(|i| {
            consilium_testkit::camera_photo(root.path(), &format!("p{i}.jpg"), 900, 600, 1, "e2e")
                .display()
                .to_string()
        })
        .collect();
    a.ok(&["case", "attach", &case, &photos[0], &photos[1]]);
    a.ok(&["share", &case, "Lyme Lyon"]);
    a.ok(&["poll", &case, "Tinea incognito", "Erythema migrans"]);
    for p in [&b, &c] {
        p.ok(&["sync"]);
    }
    b.ok(&["comment", &case, COMMENT]);
    c.ok(&["vote", &case, "Erythema migrans"]);
    for p in [&b, &c, &a, &b, &c] {
        p.ok(&["sync"]);
    }
    let relay_blobs = root.path().join("relay").join("blobs");
    assert_eq!(
        files_in(&relay_blobs),
        6,
        "two images, three renditions each"
    );
    for p in [&b, &c] {
        let shown = p.json(&["case", "show", &case]);
        assert_eq!(shown["attachments"].as_array().unwrap().len(), 2);
        assert_eq!(shown["comments"].as_array().unwrap().len(), 1);
        // The check can fail: the words are there to read before the retraction.
        assert!(readable(&p.dir).len() >= 3, "{:?}", readable(&p.dir));
    }

    let said = a.ok(&["case", "retract", &case]);
    assert!(said.contains("retracted from 1 circle"), "{said}");
    for p in [&b, &c] {
        let synced = p.ok(&["sync"]);
        assert!(synced.contains("retracted by its author"), "{synced}");
    }
    for (p, who) in [(&a, "Ana"), (&b, "Bruno"), (&c, "Chloe")] {
        assert_eq!(readable(&p.dir), Vec::<&str>::new(), "{who}'s vault");
        assert_eq!(files_in(&p.dir.join("blobs")), 0, "{who}'s image files");
        assert!(p.json(&["case", "list"]).as_array().unwrap().is_empty());
        let tombstones = p.json(&["case", "retracted"]);
        assert_eq!(tombstones[0]["case"], case.as_str(), "{who}: {tombstones}");
        assert!(!p.run(&["case", "show", &case]).status.success());
    }
    assert_eq!(
        files_in(&relay_blobs),
        0,
        "the relay holds none of its images"
    );

    // Dan joins afterwards: nothing of the case reaches him.
    bring_in(&d);
    d.ok(&["sync"]);
    assert!(d.json(&["case", "list"]).as_array().unwrap().is_empty());
    assert_eq!(readable(&d.dir), Vec::<&str>::new());
    let members = d.json(&["circle", "members", "Lyme Lyon"]);
    assert_eq!(members.as_array().unwrap().len(), 4, "Dan is in the circle");
}
