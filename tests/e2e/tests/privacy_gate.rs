//! The text scan stands between a case and its circle: the CLI refuses to share a case, post a
//! comment or send an outcome while the scan finds a possible identifier the author has not
//! edited out or acknowledged, says what it found, and goes once each finding is resolved. The
//! names the author lists for the case never leave the laptop.

use crate::support::{Cli, Relay, leaks};

fn id_of(json: &serde_json::Value) -> String {
    json["id"].as_str().unwrap().to_string()
}

#[test]
fn a_case_with_an_unresolved_identifier_is_not_shared_until_the_author_resolves_it() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (a, b) = (
        Cli::init(root.path(), "Dr Alice Martin", "Dermatology"),
        Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology"),
    );
    a.ok(&["circle", "create", "Derm Lyon", "--relay", &relay.url()]);
    let code = a.ok(&["circle", "invite", "Derm Lyon"]);
    b.ok(&["circle", "join", code.trim()]);
    let requests = a.json(&["circle", "requests", "Derm Lyon"]);
    a.ok(&[
        "circle",
        "approve",
        "Derm Lyon",
        &requests[0]["id"].to_string(),
        requests[0]["safety_number"].as_str().unwrap(),
    ]);
    b.ok(&["sync"]);

    let case = id_of(&a.json(&[
        "case",
        "new",
        "--title",
        "Annular plaque, forearm",
        "--history",
        "Seen with her daughter HELENE on 12/03/2024; rash since the summer.",
    ]));
    // The patient's and her daughter's names, for this case only.
    a.ok(&["case", "names", &case, "Hélène Dupont", "Marie Dupont"]);
    let scanned = a.json(&["case", "scan", &case]);
    let kinds: Vec<&str> = scanned
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["name", "date"], "{scanned}");

    // Refused, with what was found and how to resolve it.
    let refused = a.run(&["share", &case, "Derm Lyon"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("HELENE") && said.contains("date:12/03/2024"),
        "{said}"
    );
    // Acknowledging the date is not enough: the name is still there.
    let still = a.run(&[
        "share",
        &case,
        "Derm Lyon",
        "--acknowledge",
        "date:12/03/2024",
    ]);
    assert!(!still.status.success());
    // A finding that is not there is refused, not recorded.
    let typo = a.run(&[
        "share",
        &case,
        "Derm Lyon",
        "--acknowledge",
        "date:13/03/2024",
    ]);
    assert!(!typo.status.success());
    assert!(String::from_utf8_lossy(&typo.stderr).contains("not among"));

    // The author edits the name out; the date was acknowledged: the case goes.
    a.ok(&[
        "case",
        "edit",
        &case,
        "--history",
        "Seen with her daughter on 12/03/2024; rash since the summer.",
    ]);
    a.ok(&["share", &case, "Derm Lyon"]);
    let shown = a.json(&["case", "show", &case]);
    assert_eq!(shown["text_findings"][0]["acknowledged"], true, "{shown}");
    // The report the vault keeps says how each finding was resolved.
    let report = &shown["deid_report"];
    let resolution = |matched: &str| {
        report["text"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["matched"] == matched)
            .map(|t| t["resolution"].as_str().unwrap().to_string())
    };
    assert_eq!(
        resolution("HELENE").as_deref(),
        Some("edited_out"),
        "{report}"
    );
    assert_eq!(
        resolution("12/03/2024").as_deref(),
        Some("acknowledged"),
        "{report}"
    );
    assert_eq!(report["names_listed"], 2);
    assert!(report["last_shared_at"].is_number(), "{report}");
    let words = a.ok(&["case", "show", &case]);
    assert!(
        words.contains("“HELENE” in history: edited out")
            && words.contains("complete: nothing waits"),
        "{words}"
    );

    // A comment with a phone number waits for its decision too.
    let comment = "Her GP asks to be called back on 04 72 11 22 33.";
    let refused = a.run(&["comment", &case, comment]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("phone"));
    a.ok(&["comment", &case, comment, "--acknowledge-all"]);

    // B receives the case and the comment; the listed names are nowhere outside A's vault.
    b.ok(&["sync"]);
    let got = b.json(&["case", "show", &case]);
    assert_eq!(got["comments"].as_array().unwrap().len(), 1);
    for needle in ["Hélène Dupont".as_bytes(), b"Marie Dupont".as_slice()] {
        assert!(
            leaks(&relay.data, needle).is_empty(),
            "a listed name reached the relay"
        );
        assert!(leaks(&b.dir, needle).is_empty(), "a listed name reached B");
        // A's vault holds the list encrypted: no file of A's profile has a name in clear.
        assert!(
            leaks(&a.dir, needle).is_empty(),
            "a listed name is in clear in A's profile"
        );
    }
    assert!(
        b.json(&["case", "names", &case])["names"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
