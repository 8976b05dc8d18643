//! Cases through the CLI: edit, resolve, list, filter, search; output to a closed pipe.

use crate::support::*;

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_an_error() {
    let p = Profile::new();
    for i in 0..5 {
        p.new_case(&format!("case {i}"));
    }
    let mut child = p
        .cmd(&["case", "list"], PASS)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // closed before the vault is even unlocked
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cases_are_edited_resolved_listed_filtered_and_searched() {
    let p = Profile::new();
    let a = p.json(&[
        "case",
        "new",
        "--title",
        "Annular plaque",
        "--tag",
        "derm",
        "--specialty",
        "Dermatology",
        "--age-band",
        "93",
        "--question-kind",
        "diagnosis",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = p.new_case("Chest pain");
    let toml = p.work.join("case.toml");
    std::fs::write(&toml, "title = \"Pemphigus\"\nhistory = \"oral erosions\"\ntags = [\"derm\"]\nage_band = \"60-69\"\n").unwrap();
    let c = p.json(&["case", "new", "--from-file", toml.to_str().unwrap()])["id"]
        .as_str()
        .unwrap()
        .to_string();

    let shown = p.json(&["case", "show", &a]);
    assert_eq!(shown["fields"]["age_band"], "90+", "ages over 89 collapse");
    p.ok(&[
        "case",
        "edit",
        &a[..8],
        "--title",
        "Erythema migrans",
        "--history",
        "tick bite",
    ]);
    p.ok(&[
        "case",
        "resolve",
        &b,
        "--outcome",
        "Pericarditis, responded to colchicine",
    ]);
    let comment = p.json(&["case", "comment", &c, "Nikolsky sign?"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.ok(&["case", "comment", &c, "Positive", "--reply-to", &comment]);

    let shown = p.json(&["case", "show", &a]);
    assert_eq!(shown["revision"], 2);
    assert_eq!(shown["fields"]["tags"], serde_json::json!(["derm"]));
    let derm = p.json(&["case", "list", "--tag", "derm"]);
    assert_eq!(derm.as_array().unwrap().len(), 2);
    assert!(derm.as_array().unwrap().iter().all(|c| c["id"].is_string()));
    let resolved = p.json(&["case", "list", "--status", "resolved"]);
    assert_eq!(resolved[0]["id"], b.as_str());
    assert_eq!(
        p.json(&["case", "list", "--specialty", "dermatology"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        p.json(&["case", "search", "colchicine"])[0]["id"],
        b.as_str()
    );
    assert_eq!(p.json(&["case", "search", "nikolsky"])[0]["id"], c.as_str());
    assert_eq!(
        p.json(&["case", "search", "migrans tick"])[0]["id"],
        a.as_str()
    );
    assert!(
        p.json(&["case", "search", "annular"])
            .as_array()
            .unwrap()
            .is_empty(),
        "old revision not indexed"
    );
    assert!(
        p.fails(
            &["case", "new", "--title", "x", "--question-kind", "surgery"],
            PASS
        )
        .contains("surgery")
    );
    assert!(
        p.fails(&["case", "edit", &a], PASS)
            .contains("nothing to change")
    );
}
