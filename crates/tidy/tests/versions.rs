//! The version is written in one place, and the desktop's two halves of Tauri agree: what the
//! packages carry cannot drift apart unseen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use consilium_tidy::workspace_root;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap()
}

/// The value of `key = "…"` on the first line that sets it after `section`.
fn toml_value(text: &str, section: &str, key: &str) -> String {
    let after = &text[text.find(section).unwrap_or_else(|| panic!("{section}"))..];
    after
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("{key} under {section}"))
}

fn json(path: &str) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap()
}

fn minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[test]
fn the_version_is_written_once_in_the_workspace_manifest() {
    let version = toml_value(&read("Cargo.toml"), "[workspace.package]", "version");
    // Tauri takes the crate's version when its configuration names none.
    let tauri = json("src-tauri/tauri.conf.json");
    assert!(
        tauri.get("version").is_none(),
        "tauri.conf.json names a version of its own: leave it to Cargo.toml"
    );
    let ui = json("ui/package.json");
    assert_eq!(
        ui["version"].as_str(),
        Some(version.as_str()),
        "ui/package.json's version differs from Cargo.toml's"
    );
    // The packages' changelog and AppStream metadata name each release: the newest is this one.
    let changelog = read("packaging/changelog");
    assert!(
        changelog.starts_with(&format!("consilium ({version})")),
        "packaging/changelog's first entry is not for {version}"
    );
    let metainfo = read("packaging/desktop/org.consilium.desktop.metainfo.xml");
    assert!(
        metainfo.contains(&format!("<release version=\"{version}\"")),
        "the AppStream metadata names no release {version}"
    );
    for manifest in [
        "src-tauri/Cargo.toml",
        "crates/cli/Cargo.toml",
        "crates/relay/Cargo.toml",
    ] {
        assert!(
            read(manifest).contains("version.workspace = true"),
            "{manifest} sets a version of its own"
        );
    }
}

#[test]
fn the_tauri_crate_and_its_javascript_api_are_on_one_minor_version() {
    let lock = read("Cargo.lock");
    let crate_version = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"tauri\"\n"))
        .map(|p| toml_value(p, "name = \"tauri\"", "version"))
        .unwrap();
    let api = json("ui/package.json")["dependencies"]["@tauri-apps/api"]
        .as_str()
        .unwrap()
        .trim_start_matches(['^', '~', '='])
        .to_string();
    assert_eq!(
        minor(&crate_version),
        minor(&api),
        "the tauri crate ({crate_version}) and @tauri-apps/api ({api}): Tauri's bundler refuses two minor versions"
    );
}
