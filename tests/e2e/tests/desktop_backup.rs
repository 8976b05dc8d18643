//! A laptop lost, in the window: the physician backs up from the settings (the recovery code
//! shown once), and on a new laptop the first screen restores the profile from that folder;
//! its circle waits there for a member to let the new laptop in.

use crate::desktop_window::{profile_with_a_circle, skip_welcome};
use crate::support::window::WAIT;
use crate::support::{PASSPHRASE, Relay, with_window};

const TITLE: &str = "Livedo reticularis after a cold swim";

#[test]
fn a_backup_made_in_the_settings_restores_on_the_first_screen_of_a_new_laptop() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let drive = root.path().join("usb");
    std::fs::create_dir(&drive).unwrap();
    let folder = drive.join("consilium").display().to_string();
    let old_laptop = root.path().join("old");
    std::fs::create_dir(&old_laptop).unwrap();
    let mut code = String::new();
    with_window(&old_laptop, &relay.url(), async |w| {
        profile_with_a_circle(w).await;
        w.press("New case").await;
        w.type_in("input[name=title]", TITLE).await;
        w.press("Save draft").await;
        w.sees("written by you").await;

        w.press("Settings").await;
        w.sees("This laptop has no backup").await;
        w.type_in("input[name=auto_lock]", "42").await;
        w.press("Save settings").await;
        w.sees("Settings saved.").await;
        w.type_in("input[name=backup_dir]", &folder).await;
        w.press("Back up now").await;
        let shown = w.field("[data-recovery-code]").await;
        code = shown.text().await.unwrap();
        w.shot("backup-recovery-code").await;
        w.field("[aria-label='Recovery code'] input[type=checkbox]")
            .await
            .click()
            .await
            .unwrap();
        w.press("Done").await;
        w.sees("Last backup just now").await;
        w.shot("backup-settings").await;
    });
    assert_eq!(code.len(), 39, "eight groups of four: {code:?}");

    // The new laptop: another profile folder, the same drive.
    let new_laptop = root.path().join("new");
    std::fs::create_dir(&new_laptop).unwrap();
    with_window(&new_laptop, &relay.url(), async |w| {
        skip_welcome(w).await;
        w.sees("Create your Consilium profile").await;
        w.press("Restore from a backup instead").await;
        w.type_in("input[name=backup_dir]", &folder).await;
        w.type_in(
            "input[name=recovery_code]",
            "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
        )
        .await;
        w.type_in("input[name=passphrase]", PASSPHRASE).await;
        w.type_in("input[name=confirm]", PASSPHRASE).await;
        w.press("Restore profile").await;
        w.sees("does not open this backup").await;
        w.type_in("input[name=recovery_code]", &code.to_lowercase())
            .await;
        w.shot("restore-profile").await;
        w.press("Restore profile").await;
        w.sees("All cases").await;
        w.case_row(TITLE).await;
        // Its circle waits for a member to let this laptop in (it asks on its first pass).
        w.sees("Cardiology Nantes: waiting for a member to let this laptop back in")
            .await;
        w.shot("restored-awaiting-readmission").await;
        // The backup's settings, not the ones the window held before the restore: a Save
        // here must not put the new laptop's defaults over them.
        w.press("Settings").await;
        let auto_lock = w.field("input[name=auto_lock]").await;
        assert_eq!(
            auto_lock.prop("value").await.unwrap().as_deref(),
            Some("42"),
            "the restored profile's auto-lock"
        );
    });
    let _ = WAIT;
}
