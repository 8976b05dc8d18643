//! A laptop lost and its physician's profile restored from a backup: every case, comment and
//! image back, the backup written incrementally, and damaged backups refused whole.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use consilium_client::model::{CaseFields, CaseFilter, CaseId, Rendition};
use consilium_client::{
    Engine, EngineConfig, ErrorCode, Event, ImportRequest, KdfParams, Language, Passphrase,
    Settings,
};

use crate::support::{MovableClock, PASSPHRASE, engine, start_relay};

type Image = (CaseId, String, Vec<u8>);
/// Each case's fields and comments, by id.
type Cases = BTreeMap<String, (CaseFields, Vec<String>)>;

/// Everything a physician would check after a restore: each case's fields and comments, and
/// the bytes of every rendition of every image.
fn snapshot(e: &mut Engine) -> (Cases, Vec<Image>) {
    let mut cases = BTreeMap::new();
    let mut images = Vec::new();
    for summary in e.list_cases(&CaseFilter::default()).unwrap() {
        let view = e.open_case(&summary.id).unwrap();
        let comments = view.case.comments.iter().map(|c| c.body.clone()).collect();
        cases.insert(summary.id.to_string(), (view.case.fields.clone(), comments));
        for a in &view.case.attachments {
            for r in [Rendition::Full, Rendition::Preview, Rendition::Thumbnail] {
                let bytes = e.attachment_bytes(&summary.id, &a.id, r).unwrap().0;
                images.push((
                    summary.id.clone(),
                    format!("{}/{r:?}", a.id),
                    bytes.to_vec(),
                ));
            }
        }
    }
    images.sort_by(|a, b| a.1.cmp(&b.1));
    (cases, images)
}

/// Real photos and scans nobody on the project made (Pillow's test images), `n` of them that
/// import cleanly.
fn attach_real_images(e: &mut Engine, cases: &[CaseId], n: usize) -> usize {
    let Some(dir) = consilium_testkit::samples_dir() else {
        return 0;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg" || x == "png"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() < 2_000_000))
        .collect();
    files.sort();
    let mut attached = 0;
    for (i, file) in files.iter().enumerate() {
        if attached == n {
            break;
        }
        let bytes = std::fs::read(file).unwrap();
        let case = &cases[i % cases.len()];
        if e.attach_bytes(case, &bytes, &ImportRequest::default())
            .is_ok()
        {
            attached += 1;
        }
    }
    attached
}

fn case(e: &mut Engine, i: usize) -> CaseId {
    let id = e
        .create_case(CaseFields {
            title: format!("Case {i:03}: annular plaque"),
            history: format!("Case {i:03}: a plaque on the shin for {i} weeks"),
            ..Default::default()
        })
        .unwrap();
    if i.is_multiple_of(3) {
        e.comment(
            &id,
            &format!("Comment on case {i:03}: biopsy the edge"),
            None,
        )
        .unwrap();
    }
    id
}

fn config(clock: &Arc<MovableClock>) -> EngineConfig {
    EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        clock: clock.clone(),
        ..Default::default()
    }
}

#[test]
fn a_lost_laptop_comes_back_whole_from_its_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.join("relay"), clock.clone(), "127.0.0.1:0");
    let url = format!("http://{}", relay.addr());
    let mut a = engine(root, "a", &clock);
    a.create_circle("Dermatology rounds", &url).unwrap();
    let ids: Vec<CaseId> = (0..200).map(|i| case(&mut a, i)).collect();
    let images = attach_real_images(&mut a, &ids[..50], 50);
    assert!(
        images == 50 || images == 0,
        "{images} sample images imported"
    );
    eprintln!("{images} real images attached");
    let backup = root.join("external drive/consilium");
    std::fs::create_dir(root.join("external drive")).unwrap();

    let first = a.back_up(&backup).unwrap();
    let code = first
        .recovery_code
        .clone()
        .expect("the first backup shows its code");
    assert_eq!((first.cases, first.image_files as usize), (200, images * 3));
    assert!(a.backup_status().unwrap().is_some());

    // Ten more cases: the next run writes those and nothing else.
    let more: Vec<CaseId> = (200..210).map(|i| case(&mut a, i)).collect();
    let second = a.back_up(&backup).unwrap();
    assert_eq!(second.recovery_code, None, "the code is shown once");
    assert_eq!(
        (second.cases, second.files_written, second.files_removed),
        (210, 10, 0)
    );

    // A case deleted after a backup leaves the backup at its next run.
    let deleted = more[9].clone();
    a.delete_case(&deleted).unwrap();
    assert_eq!(a.backup_status().unwrap().unwrap().erased_since, 1);
    let third = a.back_up(&backup).unwrap();
    assert_eq!(
        (third.cases, third.files_written, third.files_removed),
        (209, 0, 1)
    );
    assert_eq!(a.backup_status().unwrap().unwrap().erased_since, 0);

    let before = snapshot(&mut a);
    assert_eq!(before.0.len(), 209);
    let who = a.identity().unwrap();
    a.lock();
    // The laptop is lost.
    std::fs::remove_dir_all(root.join("a")).unwrap();

    // A wrong code, a flipped byte, a missing file: refused in words, nothing restored.
    let restore = |into: &str, code: &str| {
        Engine::restore(
            &backup,
            code,
            &root.join(into),
            &Passphrase::new("a new passphrase for the new laptop"),
            config(&clock),
        )
    };
    let wrong = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH";
    assert_eq!(
        restore("wrong", wrong).unwrap_err().code(),
        ErrorCode::WrongRecoveryCode
    );
    assert!(!root.join("wrong").exists());
    for damage in [flip_a_byte as fn(&Path) -> String, remove_a_file] {
        let copy = root.join("damaged");
        let _ = std::fs::remove_dir_all(&copy);
        consilium_testkit::copy_dir(&backup, &copy);
        let what = damage(&copy);
        let err = Engine::restore(
            &copy,
            &code,
            &root.join("half"),
            &Passphrase::new("x"),
            config(&clock),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::BackupDamaged, "{what}: {err}");
        assert!(err.to_string().contains("not restored"), "{what}: {err}");
        assert!(
            !root.join("half").exists(),
            "{what}: a half-restored profile"
        );
    }

    let (mut restored, outcome) = restore("a-restored", &code).unwrap();
    assert_eq!(outcome.cases, 209);
    assert_eq!(
        outcome.circles_awaiting,
        vec!["Dermatology rounds".to_string()]
    );
    let after = snapshot(&mut restored);
    assert_eq!(after.0, before.0, "every case and comment");
    assert_eq!(after.1.len(), images * 3);
    assert!(after.1 == before.1, "every image byte for byte");
    assert!(restored.case(&deleted).is_err());
    assert_eq!(restored.search("biopsy").unwrap().len().min(1), 1);
    assert_eq!(restored.profile().unwrap().name, "a");
    // The same physician on a new device key: the lost laptop's key is not in the backup.
    let now = restored.identity().unwrap();
    assert_eq!(now.account, who.account);
    assert_ne!(now.device, who.device);
    restored.lock();
    // The restored profile opens with its new passphrase.
    Engine::unlock(
        &root.join("a-restored"),
        &Passphrase::new("a new passphrase for the new laptop"),
        config(&clock),
    )
    .unwrap();
    let _ = PASSPHRASE;
}

/// Flips one byte in the middle of the largest file (an image, when there are any).
fn flip_a_byte(dir: &Path) -> String {
    let file = consilium_testkit::files_under(dir)
        .into_iter()
        .max_by_key(|f| std::fs::metadata(f).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    format!("a byte flipped in {}", file.display())
}

/// Removes one case's file.
fn remove_a_file(dir: &Path) -> String {
    let file = std::fs::read_dir(dir.join("objects"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    std::fs::remove_file(&file).unwrap();
    format!("{} removed", file.display())
}

/// The window backs up on a schedule: only once the first backup was made by hand (its code
/// seen), only when due, only into the folder that holds it.
#[test]
fn a_scheduled_backup_runs_when_due_and_only_into_its_own_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let mut a = engine(tmp.path(), "a", &clock);
    case(&mut a, 1);
    assert_eq!(
        a.back_up_if_due(24).unwrap(),
        None,
        "never before a first backup by hand"
    );
    let drive = tmp.path().join("drive");
    std::fs::create_dir(&drive).unwrap();
    a.back_up(&drive.join("consilium")).unwrap();
    case(&mut a, 2);
    assert_eq!(a.back_up_if_due(24).unwrap(), None, "not due yet");
    clock.advance_days(1);
    assert_eq!(a.back_up_if_due(0).unwrap(), None, "switched off");
    let ran = a.back_up_if_due(24).unwrap().expect("due after a day");
    assert_eq!(
        (ran.sequence, ran.files_written, ran.recovery_code),
        (2, 1, None)
    );
    clock.advance_days(1);
    std::fs::remove_dir_all(&drive).unwrap();
    let err = a.back_up_if_due(24).unwrap_err();
    assert!(err.to_string().contains("plugged in"), "{err}");
}

fn share_new(e: &mut Engine, circle: &str, title: &str) -> CaseId {
    let id = e
        .create_case(CaseFields {
            title: title.into(),
            ..Default::default()
        })
        .unwrap();
    e.share(&id, circle).unwrap();
    e.sync().unwrap();
    id
}

/// The circle's only admin loses her laptop. Restored on a new one, she asks her circle back;
/// a colleague who is not an admin lets her new laptop in with one commit that also takes the
/// lost laptop's leaf out. She reads what is shared after, still as its admin; the others are
/// told she changed laptops; the lost laptop, keys and all, reads nothing more.
#[test]
fn a_restored_physician_is_let_back_in_even_as_the_circles_only_admin() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let clock = Arc::new(MovableClock::default());
    let relay = start_relay(&root.join("relay"), clock.clone(), "127.0.0.1:0");
    let (mut a, mut b) = crate::support::circle_of_two(root, &clock, &relay.url(), "Derm");
    let mut c = engine(root, "c", &clock);
    crate::support::bring_in(&mut a, &mut c, "Derm");
    b.sync().unwrap();
    let before = share_new(&mut a, "Derm", "Shared before the loss");
    let withdrawn = share_new(&mut a, "Derm", "Consent withdrawn after the backup");
    let drive = root.join("drive");
    std::fs::create_dir(&drive).unwrap();
    let code = a
        .back_up(&drive.join("consilium"))
        .unwrap()
        .recovery_code
        .unwrap();
    // Retracted after the backup: gone from it at the next run.
    a.retract_case(&withdrawn).unwrap();
    a.sync().unwrap();
    let next = a.back_up(&drive.join("consilium")).unwrap();
    // The case's object, and the profile's former one (the new one holds the tombstone).
    assert_eq!((next.files_removed, next.files_written), (2, 1));
    let who = a.identity().unwrap();
    // `a` is the lost laptop: it keeps its vault and keys.

    let (mut a2, restored) = Engine::restore(
        &drive.join("consilium"),
        &code,
        &root.join("a-new"),
        &Passphrase::new("new laptop passphrase"),
        config(&clock),
    )
    .unwrap();
    assert_eq!(restored.circles_awaiting, vec!["Derm".to_string()]);
    assert!(a2.case(&before).is_ok());
    assert!(a2.case(&withdrawn).is_err());
    assert!(
        a2.tombstone(&withdrawn).unwrap().is_some(),
        "its tombstone came back"
    );
    a2.sync().unwrap();

    // Her old laptop, if anyone still runs it, is warned that a restore of her asks in.
    let warned = a.sync().unwrap().events;
    assert!(
        warned
            .iter()
            .any(|e| matches!(e, Event::ProfileRestoredElsewhere { .. })),
        "{warned:?}"
    );
    assert!(
        a.join_requests("Derm").unwrap().is_empty(),
        "not hers to grant"
    );

    // Bob, not an admin, sees her request under her name and her unchanged safety number.
    b.sync().unwrap();
    let request = b.join_requests("Derm").unwrap().remove(0);
    assert_eq!(request.account, who.account);
    assert_eq!(request.name, "a");
    assert!(request.returning, "marked as a member asking back in");
    assert!(b.invite("Derm").is_err(), "Bob is no admin");
    let number = consilium_client::ApprovalCheck::SafetyNumber(request.safety_number.clone());
    b.approve("Derm", request.id, &number).unwrap();
    let events = b.sync().unwrap().events;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::DeviceChanged { member, .. } if *member == who.account)),
        "{events:?}"
    );
    let events = c.sync().unwrap().events;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::DeviceChanged { member, .. } if *member == who.account)),
        "{events:?}"
    );

    // Back in: the same member, on the new laptop's key; still the circle's admin.
    a2.sync().unwrap();
    assert!(a2.circles_awaiting_readmission().unwrap().is_empty());
    let members = a2.members("Derm").unwrap();
    assert_eq!(members.len(), 3);
    assert!(members.iter().any(|m| m.is_me && m.account == who.account));
    let after = share_new(&mut b, "Derm", "Shared after the new laptop");
    a2.sync().unwrap();
    assert_eq!(
        a2.case(&after).unwrap().fields.title,
        "Shared after the new laptop"
    );
    assert!(
        a2.invite("Derm").is_ok(),
        "the identity kept its admin role"
    );

    // The lost laptop reads nothing shared since: the relay revoked its device and says so.
    let report = a.sync().unwrap();
    assert!(a.case(&after).is_err());
    assert!(
        report.events.iter().any(|e| matches!(
            e,
            Event::SyncFailed { reason, .. } if reason.contains("replaced by another")
        )),
        "{:?}",
        report.events
    );
}

/// On a new laptop the first-run screens and the language chosen there are saved before any
/// profile exists: the restore goes into that folder all the same, fails without losing them,
/// and succeeds with the backup's own settings, the first-run screens marked read.
#[test]
fn a_restore_goes_into_a_folder_holding_only_this_laptops_preferences() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(MovableClock::default());
    let mut a = engine(tmp.path(), "a", &clock);
    case(&mut a, 1);
    let mut kept = Settings::load(&tmp.path().join("a"));
    kept.auto_lock_minutes = 42;
    kept.save(&tmp.path().join("a")).unwrap();
    let code = a
        .back_up(&tmp.path().join("drive"))
        .unwrap()
        .recovery_code
        .unwrap();
    drop(a);

    let new_laptop = tmp.path().join("new");
    let chosen = Settings {
        language: Language::Fr,
        welcomed: true,
        ..Settings::default()
    };
    chosen.save(&new_laptop).unwrap();
    let wrong = Engine::restore(
        &tmp.path().join("drive"),
        "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
        &new_laptop,
        &Passphrase::new(PASSPHRASE),
        config(&clock),
    );
    assert!(wrong.is_err());
    assert_eq!(
        Settings::load(&new_laptop),
        chosen,
        "a failed restore keeps this laptop's preferences"
    );
    let (restored, outcome) = Engine::restore(
        &tmp.path().join("drive"),
        &code,
        &new_laptop,
        &Passphrase::new(PASSPHRASE),
        config(&clock),
    )
    .unwrap();
    assert_eq!(outcome.cases, 1);
    assert_eq!(
        restored.list_cases(&CaseFilter::default()).unwrap().len(),
        1
    );
    let now = Settings::load(&new_laptop);
    assert_eq!(now.auto_lock_minutes, 42, "the backup's settings come back");
    assert!(now.welcomed, "the first-run screens stay read");
    assert_eq!(
        now.language,
        Language::Fr,
        "the language chosen on this laptop just now outlives the backup's"
    );

    // Anything else in the folder is still refused: a restore never mixes with other files.
    let other = tmp.path().join("other");
    chosen.save(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"mine").unwrap();
    let err = Engine::restore(
        &tmp.path().join("drive"),
        &code,
        &other,
        &Passphrase::new(PASSPHRASE),
        config(&clock),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(std::fs::read(other.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(Settings::load(&other), chosen);
}
