//! A vault backed up, changed, backed up again and restored; and backups damaged every way a
//! disk or a person can damage them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use consilium_model::{CaseFields, CaseId, DeidReport, Rendition, Timestamp};

use super::RecoveryCode;
use crate::attachments::AttachmentRecord;
use crate::db::Profile;
use crate::entropy::{Entropy, SystemEntropy};
use crate::error::StoreError;
use crate::keys::{KdfParams, Passphrase};
use crate::vault::{NewRendition, Vault};

fn entropy() -> Arc<dyn Entropy> {
    Arc::new(SystemEntropy::new())
}

fn vault(dir: &Path) -> Vault {
    let profile = Profile {
        name: "Dr Ada Lenz".into(),
        specialty: "dermatology".into(),
        created_at: Timestamp(1),
    };
    Vault::create(
        dir,
        &Passphrase::new("pw"),
        &profile,
        KdfParams::TEST_ONLY_WEAK,
        entropy(),
    )
    .unwrap()
}

fn add_case(v: &mut Vault, title: &str, with_image: bool) -> CaseId {
    let fields = CaseFields {
        title: title.into(),
        history: format!("{title}: history of a slowly growing lesion"),
        ..Default::default()
    };
    let id = v.db().cases().create(fields, Timestamp(10)).unwrap();
    v.db()
        .comments()
        .add(
            &id,
            None,
            "Dr B",
            &format!("{title}: consider a biopsy"),
            Timestamp(11),
        )
        .unwrap();
    if with_image {
        let record = AttachmentRecord {
            mime: "image/png".into(),
            width: 2,
            height: 2,
            size: 4,
            report: DeidReport::default(),
        };
        let renditions = [Rendition::Full, Rendition::Preview, Rendition::Thumbnail]
            .into_iter()
            .map(|r| NewRendition {
                rendition: r,
                mime: "image/png".into(),
                bytes: format!("{title} pixels {r:?}").into_bytes(),
            })
            .collect();
        v.add_attachment(&id, &record, renditions, Timestamp(12))
            .unwrap();
    }
    id
}

/// A vault in `root/v` holding one case (with its three renditions when `with_image`), backed
/// up once into `root/backup`; the backup's folder and recovery code.
fn one_case_backed_up(root: &Path, with_image: bool) -> (Vault, PathBuf, RecoveryCode) {
    let backup = root.join("backup");
    let mut v = vault(&root.join("v"));
    add_case(&mut v, "Case", with_image);
    let code = v
        .back_up(&backup, b"", Timestamp(1))
        .unwrap()
        .recovery_code
        .unwrap();
    (v, backup, code)
}

fn restore(backup: &Path, code: &RecoveryCode, into: &Path) -> crate::error::Result<Vault> {
    Vault::restore(
        backup,
        code,
        into,
        &Passphrase::new("new pw"),
        KdfParams::TEST_ONLY_WEAK,
        entropy(),
        Timestamp(99),
    )
    .map(|(v, _)| v)
}

#[test]
fn a_restored_vault_holds_every_case_comment_and_image_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = vault(&tmp.path().join("old"));
    let ids: Vec<CaseId> = (0..4)
        .map(|i| add_case(&mut v, &format!("Case {i}"), i % 2 == 0))
        .collect();
    let report = v
        .back_up(&tmp.path().join("backup"), b"settings", Timestamp(50))
        .unwrap();
    assert_eq!((report.cases, report.blobs, report.sequence), (4, 6, 1));
    let code = report.recovery_code.expect("a first backup shows its code");

    // Nothing in the backup is readable without the code.
    for entry in walk(&tmp.path().join("backup")) {
        let bytes = std::fs::read(&entry).unwrap();
        for needle in [&b"Case 0"[..], b"biopsy", b"Ada Lenz", b"pixels"] {
            assert!(
                !contains(&bytes, needle),
                "{} holds {needle:?}",
                entry.display()
            );
        }
    }

    let (restored, summary) = Vault::restore(
        &tmp.path().join("backup"),
        &code,
        &tmp.path().join("new"),
        &Passphrase::new("new pw"),
        KdfParams::TEST_ONLY_WEAK,
        entropy(),
        Timestamp(99),
    )
    .unwrap();
    assert_eq!(summary.extras, b"settings");
    assert_eq!(restored.db().profile().unwrap().name, "Dr Ada Lenz");
    for id in &ids {
        let (a, b) = (
            v.db().cases().get(id).unwrap(),
            restored.db().cases().get(id).unwrap(),
        );
        assert_eq!(a.fields, b.fields);
        assert_eq!(
            v.db().comments().of_case(id).unwrap(),
            restored.db().comments().of_case(id).unwrap()
        );
        for att in v.db().attachments().of_case(id).unwrap() {
            for r in [Rendition::Full, Rendition::Preview, Rendition::Thumbnail] {
                assert_eq!(
                    *v.read_rendition(id, &att.id, r).unwrap().0,
                    *restored.read_rendition(id, &att.id, r).unwrap().0
                );
            }
        }
    }
    // The search index is rebuilt.
    assert_eq!(restored.db().search().query("biopsy", 10).unwrap().len(), 4);
    drop(restored);
    // And the restored vault opens under its new passphrase only.
    let dir = tmp.path().join("new");
    assert!(Vault::open(&dir, &Passphrase::new("pw"), entropy()).is_err());
    Vault::open(&dir, &Passphrase::new("new pw"), entropy()).unwrap();
}

#[test]
fn a_second_backup_writes_only_what_changed_and_drops_what_was_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("backup");
    let mut v = vault(&tmp.path().join("old"));
    let first: Vec<CaseId> = (0..5)
        .map(|i| add_case(&mut v, &format!("Old {i}"), true))
        .collect();
    let code = v
        .back_up(&backup, b"", Timestamp(50))
        .unwrap()
        .recovery_code
        .unwrap();

    let new: Vec<CaseId> = (0..3)
        .map(|i| add_case(&mut v, &format!("New {i}"), i == 0))
        .collect();
    let second = v.back_up(&backup, b"", Timestamp(60)).unwrap();
    assert!(second.recovery_code.is_none(), "the code is shown once");
    assert_eq!(second.sequence, 2);
    assert_eq!((second.objects_written, second.blobs_written), (3, 3));
    assert_eq!(second.removed, 0);

    // Erased here: it leaves the backup at the next run, images and all.
    v.db().erase_case(&first[0]).unwrap();
    v.settle_erasures().unwrap();
    assert_eq!(v.last_backup().unwrap().unwrap().erased_since, 1);
    let third = v.back_up(&backup, b"", Timestamp(70)).unwrap();
    assert_eq!((third.objects_written, third.blobs_written), (0, 0));
    assert_eq!(third.removed, 4, "one case object and three renditions");
    let last = v.last_backup().unwrap().unwrap();
    assert_eq!((last.sequence, last.erased_since), (3, 0));
    // Made and erased between two runs: never in the backup, so not counted as still in it.
    let fleeting = add_case(&mut v, "Fleeting", false);
    v.db().erase_case(&fleeting).unwrap();
    assert_eq!(v.last_backup().unwrap().unwrap().erased_since, 0);

    let mut restored = restore(&backup, &code, &tmp.path().join("new")).unwrap();
    assert!(restored.db().cases().get(&first[0]).is_err());
    // The restored vault goes on backing up into the same folder, incrementally.
    assert_eq!(restored.last_backup().unwrap().unwrap().sequence, 3);
    add_case(&mut restored, "After the restore", false);
    let fourth = restored.back_up(&backup, b"", Timestamp(80)).unwrap();
    assert!(fourth.recovery_code.is_none());
    assert_eq!((fourth.sequence, fourth.objects_written), (4, 1));
    for id in first[1..].iter().chain(&new) {
        assert_eq!(
            restored.db().cases().get(id).unwrap().fields,
            v.db().cases().get(id).unwrap().fields
        );
    }
}

#[test]
fn a_damaged_backup_restores_nothing_and_says_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("backup");
    let mut v = vault(&tmp.path().join("old"));
    for i in 0..3 {
        add_case(&mut v, &format!("Case {i}"), true);
    }
    let code = v
        .back_up(&backup, b"", Timestamp(50))
        .unwrap()
        .recovery_code
        .unwrap();
    let pristine = tmp.path().join("pristine");
    consilium_testkit::copy_dir(&backup, &pristine);

    let files = walk(&pristine);
    assert!(files.len() >= 1 + 1 + 4 + 9);
    let mut tried = 0;
    for file in &files {
        let rel = file.strip_prefix(&pristine).unwrap();
        for damage in [Damage::Flip, Damage::Truncate, Damage::Remove] {
            let _ = std::fs::remove_dir_all(&backup);
            consilium_testkit::copy_dir(&pristine, &backup);
            damage.apply(&backup.join(rel));
            let into = tmp.path().join(format!("into-{tried}"));
            let err = restore(&backup, &code, &into).expect_err(&format!("{damage:?} {rel:?}"));
            assert!(
                matches!(err, StoreError::BackupDamaged(_) | StoreError::Invalid(_)),
                "{damage:?} {rel:?}: {err}"
            );
            assert!(!err.to_string().is_empty());
            assert!(!into.exists(), "{damage:?} {rel:?} left a profile behind");
            tried += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&backup);
    consilium_testkit::copy_dir(&pristine, &backup);
    let wrong = RecoveryCode::random(&SystemEntropy::new()).unwrap();
    assert!(matches!(
        restore(&backup, &wrong, &tmp.path().join("wrong")),
        Err(StoreError::WrongRecoveryCode)
    ));
    restore(&backup, &code, &tmp.path().join("whole")).unwrap();
}

#[test]
fn a_folder_holding_anything_else_is_never_written_into() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = vault(&tmp.path().join("a"));
    let mut b = vault(&tmp.path().join("b"));
    add_case(&mut a, "A's case", false);
    add_case(&mut b, "B's case", false);
    a.back_up(&tmp.path().join("a-backup"), b"", Timestamp(5))
        .unwrap();
    // Another profile's backup.
    assert!(matches!(
        b.back_up(&tmp.path().join("a-backup"), b"", Timestamp(6)),
        Err(StoreError::Invalid(_))
    ));
    // A folder with someone's files.
    let photos = tmp.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::write(photos.join("holiday.jpg"), b"x").unwrap();
    assert!(matches!(
        b.back_up(&photos, b"", Timestamp(6)),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(std::fs::read_dir(&photos).unwrap().count(), 1);
    // A non-empty profile folder is not restored into.
    let code = b
        .back_up(&tmp.path().join("b-backup"), b"", Timestamp(7))
        .unwrap();
    assert!(matches!(
        restore(
            &tmp.path().join("b-backup"),
            &code.recovery_code.unwrap(),
            &photos
        ),
        Err(StoreError::Invalid(_))
    ));
}

#[derive(Clone, Copy, Debug)]
enum Damage {
    Flip,
    Truncate,
    Remove,
}

impl Damage {
    fn apply(self, path: &Path) {
        match self {
            Damage::Remove => std::fs::remove_file(path).unwrap(),
            Damage::Flip | Damage::Truncate => {
                let mut bytes = std::fs::read(path).unwrap();
                if let Damage::Flip = self {
                    let at = bytes.len() / 2;
                    bytes[at] ^= 0x01;
                } else {
                    bytes.truncate(bytes.len() - 1);
                }
                std::fs::write(path, bytes).unwrap();
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out.sort();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_scheduled_run_goes_on_with_the_backup_and_never_begins_one_on_the_laptops_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = vault(&tmp.path().join("v"));
    add_case(&mut v, "Case", false);
    // Nothing to go on with yet.
    assert!(v.back_up_again(b"", Timestamp(1)).is_err());
    // A drive that is not plugged in: its mount point's parent is missing.
    let drive = tmp.path().join("media/usb");
    assert!(
        v.back_up(&drive.join("consilium"), b"", Timestamp(1))
            .is_err()
    );
    assert!(!drive.exists());
    std::fs::create_dir_all(&drive).unwrap();
    v.back_up(&drive.join("consilium"), b"", Timestamp(2))
        .unwrap();
    add_case(&mut v, "Another", false);
    let next = v.back_up_again(b"", Timestamp(3)).unwrap();
    assert_eq!((next.sequence, next.objects_written), (2, 1));
    // The drive unplugged (its mount point left empty): nothing is written, no new backup.
    std::fs::remove_dir_all(drive.join("consilium")).unwrap();
    let err = v.back_up_again(b"", Timestamp(4)).unwrap_err();
    assert!(err.to_string().contains("plugged in"), "{err}");
    assert!(!drive.join("consilium").exists());
}

#[test]
fn two_copies_of_a_profile_never_take_turns_in_one_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut v, backup, code) = one_case_backed_up(tmp.path(), false);
    let mut restored = restore(&backup, &code, &tmp.path().join("new")).unwrap();
    add_case(&mut restored, "On the new laptop", false);
    restored.back_up(&backup, b"", Timestamp(2)).unwrap();
    // The old copy (a laptop found again, or a test restore left running) would remove the
    // new one's cases from the backup: it is refused and nothing there changes.
    add_case(&mut v, "On the old laptop", false);
    let before = walk(&backup);
    let err = v.back_up(&backup, b"", Timestamp(3)).unwrap_err();
    assert!(err.to_string().contains("another copy"), "{err}");
    assert_eq!(walk(&backup), before);
}

#[test]
fn a_manifest_naming_a_path_is_refused_and_only_our_own_files_are_ever_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (_v, backup, code) = one_case_backed_up(tmp.path(), true);
    // A manifest sealed with the backup's own key (someone holding the code) naming a file
    // outside the profile.
    let header = super::format::Header::read(&backup).unwrap().unwrap();
    let keys = super::format::Keys::new(&header.open(&code).unwrap(), &header.backup_id).unwrap();
    let mut manifest = super::restore::read_manifest(&backup, &keys).unwrap();
    // The profile's object, sealed again under a name that climbs out of the objects folder
    // and put where that name leads: it opens, and matches the manifest's size and digest, so
    // only the check of the name itself stands between this manifest and a read outside.
    let escaped = "../escaped";
    let profile = std::fs::read(backup.join("objects").join(&manifest.profile.name)).unwrap();
    let plain = keys.open(&manifest.profile.name, profile).unwrap();
    let resealed = keys.seal(escaped, &plain, &SystemEntropy::new()).unwrap();
    std::fs::write(backup.join("escaped"), &resealed).unwrap();
    manifest.profile = super::format::Entry {
        name: escaped.into(),
        size: resealed.len() as u64,
        sha256: ring::digest::digest(&ring::digest::SHA256, &resealed)
            .as_ref()
            .to_vec(),
    };
    let sealed = keys
        .seal(
            "manifest",
            &super::format::encode(&manifest).unwrap(),
            &SystemEntropy::new(),
        )
        .unwrap();
    std::fs::write(backup.join("manifest"), sealed).unwrap();
    let err = restore(&backup, &code, &tmp.path().join("into")).unwrap_err();
    assert!(matches!(err, StoreError::BackupDamaged(_)), "{err}");
    assert!(!tmp.path().join("into").exists());

    // Someone's own file, and a link, in the backup's folders: left alone by the next run.
    let mut w = vault(&tmp.path().join("w"));
    add_case(&mut w, "Case", false);
    let mine = tmp.path().join("mine");
    w.back_up(&mine, b"", Timestamp(1)).unwrap();
    std::fs::write(mine.join("objects").join("notes.txt"), b"keep").unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::write(&elsewhere, b"keep too").unwrap();
    std::os::unix::fs::symlink(
        &elsewhere,
        mine.join("objects")
            .join("0123456789abcdef0123456789abcdef"),
    )
    .unwrap();
    w.back_up(&mine, b"", Timestamp(2)).unwrap();
    assert!(mine.join("objects").join("notes.txt").exists());
    assert!(
        mine.join("objects")
            .join("0123456789abcdef0123456789abcdef")
            .exists()
    );
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"keep too");
}

/// A blob file rots on the backup drive after it was written. Later runs read a sixteenth of the
/// kept files each (a different one each run): within sixteen runs the rotten file is written
/// again from the vault, and the backup restores whole.
#[test]
fn a_blob_file_that_rots_on_the_drive_is_written_again_within_sixteen_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let (v, backup, code) = one_case_backed_up(tmp.path(), true);
    let rotten = std::fs::read_dir(backup.join("blobs"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&rotten).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&rotten, &bytes).unwrap();
    assert!(matches!(
        restore(&backup, &code, &tmp.path().join("before")).unwrap_err(),
        StoreError::BackupDamaged(_)
    ));
    let written: usize = (2..18)
        .map(|t| v.back_up(&backup, b"", Timestamp(t)).unwrap().blobs_written)
        .sum();
    assert_eq!(written, 1, "the rotten file alone is written again");
    restore(&backup, &code, &tmp.path().join("after")).unwrap();
}
