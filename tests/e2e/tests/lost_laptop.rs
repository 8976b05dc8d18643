//! A lost laptop, on the command line, against the relay as its own process: Ines (the circle's
//! only admin) backs up to a drive; her laptop is lost; she restores on a new one with the
//! recovery code, Bruno (no admin) lets the new laptop in, and she reads what he shares after,
//! still the admin. The lost laptop's profile, keys and all, reads nothing more.

use crate::support::{Cli, PASSPHRASE, Relay};

const BEFORE: &str = "Necrobiosis lipoidica on both shins";
const AFTER: &str = "Pyoderma gangrenosum after a biopsy";

#[test]
fn a_lost_laptop_is_restored_from_its_backup_and_let_back_into_its_circle() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (ines, bruno) = (
        Cli::init(root.path(), "Dr Ines Moreau", "Dermatology"),
        Cli::init(root.path(), "Dr Bruno Lefevre", "Dermatology"),
    );
    ines.ok(&["circle", "create", "Skin", "--relay", &relay.url()]);
    let code = ines.ok(&["circle", "invite", "Skin"]);
    bruno.ok(&["circle", "join", code.trim()]);
    ines.ok(&["sync"]);
    let request = &ines.json(&["circle", "requests", "Skin"])[0];
    ines.ok(&[
        "circle",
        "approve",
        "Skin",
        &request["id"].to_string(),
        "--without-checking",
    ]);
    ines.ok(&["sync"]);
    bruno.ok(&["sync"]);
    let case = ines.json(&["case", "new", "--title", BEFORE])["id"]
        .as_str()
        .unwrap()
        .to_string();
    ines.ok(&["share", &case, "Skin"]);
    bruno.ok(&["sync"]);

    let drive = root.path().join("usb");
    std::fs::create_dir(&drive).unwrap();
    let folder = drive.join("consilium").display().to_string();
    let made = ines.json(&["backup", "create", &folder]);
    let recovery = made["recovery_code"].as_str().unwrap().to_string();
    assert_eq!(made["cases"], 1);
    assert!(ines.json(&["backup", "create", &folder])["recovery_code"].is_null());

    // The new laptop: another profile folder, the code typed in lower case.
    let restored = Cli {
        dir: root.path().join("new-laptop"),
    };
    let out = restored
        .command(&["--json", "backup", "restore", &folder])
        .env("CONSILIUM_RECOVERY_CODE", recovery.to_lowercase())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["circles_awaiting"][0], "Skin");
    assert!(restored.ok(&["case", "list"]).contains(BEFORE));
    // A wrong code restores nothing.
    let wrong = Cli {
        dir: root.path().join("wrong"),
    };
    let out = wrong
        .command(&["backup", "restore", &folder])
        .env(
            "CONSILIUM_RECOVERY_CODE",
            "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong recovery code"));
    assert!(!wrong.dir.exists());

    // Her new laptop asks; Bruno, who is no admin, lets it in.
    restored.ok(&["sync"]);
    bruno.ok(&["sync"]);
    let request = &bruno.json(&["circle", "requests", "Skin"])[0];
    assert_eq!(request["name"], "Dr Ines Moreau");
    bruno.ok(&[
        "circle",
        "approve",
        "Skin",
        &request["id"].to_string(),
        "--without-checking",
    ]);
    bruno.ok(&["sync"]);
    // Two members still, Ines once, and still the admin.
    let members = bruno.json(&["circle", "members", "Skin"]);
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 2);
    let her = members
        .iter()
        .find(|m| m["name"] == "Dr Ines Moreau")
        .unwrap();
    assert_eq!(her["admin"], true);
    restored.ok(&["sync"]);
    assert!(restored.ok(&["circle", "list"]).contains("Skin"));

    let after = bruno.json(&["case", "new", "--title", AFTER])["id"]
        .as_str()
        .unwrap()
        .to_string();
    bruno.ok(&["share", &after, "Skin"]);
    restored.ok(&["sync"]);
    assert!(restored.ok(&["case", "list"]).contains(AFTER));
    // Still the admin: she invites.
    restored.ok(&["circle", "invite", "Skin"]);

    // The lost laptop, still holding its keys, reads nothing shared since: the relay revoked
    // its device.
    let said = ines.run(&["sync"]);
    let said =
        String::from_utf8_lossy(&said.stdout).to_string() + &String::from_utf8_lossy(&said.stderr);
    assert!(said.contains("replaced by another"), "{said}");
    assert!(!ines.ok(&["case", "list"]).contains(AFTER));
    let _ = PASSPHRASE;
}
