//! Where the desktop app keeps things. The profile (the vault) is `CONSILIUM_PROFILE`, or the
//! user data directory of Consilium (`~/.local/share/consilium` on Linux). The embedded local
//! relay keeps its data beside it, in its own user data directory
//! (`~/.local/share/consilium-relay`), never inside a profile: a profile folder holds one
//! physician's vault and nothing a relay wrote.
//!
//! Installations before this layout kept the relay's data in `relay/` inside the default
//! profile folder. On the first start that runs the local relay, that folder is moved to the new
//! place in one rename (the local circles' logs come along); if it cannot be moved, the relay
//! keeps using it where it is, so nothing is lost.

use std::path::{Path, PathBuf};

/// The app's folders on this computer.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The profile: the vault, its settings.
    pub profile: PathBuf,
    /// The embedded relay's data.
    pub relay: PathBuf,
    /// Where earlier versions kept the embedded relay's data.
    pub old_relay: Option<PathBuf>,
}

impl Layout {
    /// The layout for this user: `None` when there is no home directory and no
    /// `CONSILIUM_PROFILE`.
    pub fn for_user() -> Option<Layout> {
        let data = directories::ProjectDirs::from("org", "Consilium", "consilium")
            .map(|d| d.data_dir().to_path_buf());
        let relay = directories::ProjectDirs::from("org", "Consilium", "consilium-relay")
            .map(|d| d.data_dir().to_path_buf());
        let profile = std::env::var_os("CONSILIUM_PROFILE")
            .map(PathBuf::from)
            .or_else(|| data.clone())?;
        // Without a user data directory (a `CONSILIUM_PROFILE` only), beside the profile.
        let relay = relay.unwrap_or_else(|| profile.with_file_name("consilium-relay"));
        Some(Layout {
            profile,
            relay,
            old_relay: data.map(|d| d.join("relay")),
        })
    }

    /// The folder the local relay should use now, after moving an old installation's relay
    /// data to `self.relay` if there is some to move.
    pub fn relay_data(&self) -> PathBuf {
        let Some(old) = &self.old_relay else {
            return self.relay.clone();
        };
        match move_relay_data(old, &self.relay) {
            RelayMove::Nothing => self.relay.clone(),
            RelayMove::Done => {
                log::info!("moved the local relay's data out of the profile folder");
                self.relay.clone()
            }
            RelayMove::BothExist => {
                log::warn!(
                    "an older copy of the local relay's data is left in {} (the relay uses {})",
                    old.display(),
                    self.relay.display()
                );
                self.relay.clone()
            }
            RelayMove::Failed(why) => {
                log::warn!(
                    "the local relay's data could not be moved ({why}); it stays where it is"
                );
                old.clone()
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RelayMove {
    Nothing,
    Done,
    /// Data in both places: the new one is kept in use, the old one left untouched.
    BothExist,
    Failed(String),
}

/// The relay's database file in a data folder.
fn has_relay_data(dir: &Path) -> bool {
    dir.join("relay.db").is_file()
}

/// Moves `old` (a relay data folder: database, its WAL, blob files) to `new` in one rename.
fn move_relay_data(old: &Path, new: &Path) -> RelayMove {
    if !has_relay_data(old) {
        return RelayMove::Nothing;
    }
    if has_relay_data(new) {
        return RelayMove::BothExist;
    }
    let moved = (|| {
        if let Some(parent) = new.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // An empty folder left by an earlier start that found nothing to move.
        if new.is_dir() {
            std::fs::remove_dir(new)?;
        }
        std::fs::rename(old, new)
    })();
    match moved {
        Ok(()) => RelayMove::Done,
        Err(e) => RelayMove::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use consilium_relay::RelayError;
    use consilium_relay::auth::Account;
    use consilium_relay::handshake::GroupState;
    use consilium_relay::store::Store;

    use super::*;

    /// A group of one, as the store keeps it (its MLS state does not matter here).
    fn group_of_one() -> GroupState {
        GroupState {
            record: vec![],
            epoch: 0,
            members: vec![Account([7; 32])],
        }
    }

    /// A relay data folder as the relay writes it, holding one circle.
    fn relay_with_a_circle(dir: &Path) {
        let store = Store::open(dir).unwrap();
        store
            .create_group(b"local circle", &Account([7; 32]), group_of_one(), 1)
            .wait()
            .unwrap();
    }

    fn holds_the_circle(dir: &Path) -> bool {
        let store = Store::open(dir).unwrap();
        matches!(
            store
                .create_group(b"local circle", &Account([7; 32]), group_of_one(), 2)
                .wait(),
            Err(RelayError::Conflict)
        )
    }

    #[test]
    fn an_old_installations_relay_data_moves_out_of_the_profile_with_its_circles() {
        let home = tempfile::tempdir().unwrap();
        let profile = home.path().join("consilium");
        let layout = Layout {
            profile: profile.clone(),
            relay: home.path().join("consilium-relay"),
            old_relay: Some(profile.join("relay")),
        };
        relay_with_a_circle(&profile.join("relay"));
        std::fs::write(profile.join("vault.key"), b"the vault stays").unwrap();

        // The local relay starts on the folder the app chooses: the new one, with the circle.
        let dir = layout.relay_data();
        assert_eq!(dir, layout.relay);
        assert!(holds_the_circle(&dir), "the local circle's log came along");
        assert!(
            !profile.join("relay").exists(),
            "nothing of the relay is left in the profile"
        );
        assert!(
            profile.join("vault.key").exists(),
            "the profile is untouched"
        );
        // The next start finds nothing more to move.
        assert_eq!(layout.relay_data(), layout.relay);
        assert!(holds_the_circle(&layout.relay));
    }

    #[test]
    fn relay_data_in_both_places_is_never_overwritten() {
        let home = tempfile::tempdir().unwrap();
        let layout = Layout {
            profile: home.path().join("consilium"),
            relay: home.path().join("consilium-relay"),
            old_relay: Some(home.path().join("consilium/relay")),
        };
        relay_with_a_circle(layout.old_relay.as_ref().unwrap());
        Store::open(&layout.relay).unwrap();
        assert_eq!(layout.relay_data(), layout.relay);
        assert!(
            holds_the_circle(layout.old_relay.as_ref().unwrap()),
            "the old copy is left as it was"
        );
    }

    #[test]
    fn relay_data_that_cannot_be_moved_stays_in_use_where_it_is() {
        let home = tempfile::tempdir().unwrap();
        // The new folder's parent is a file: the move fails.
        std::fs::write(home.path().join("not-a-folder"), b"").unwrap();
        let old = home.path().join("consilium/relay");
        let layout = Layout {
            profile: home.path().join("consilium"),
            relay: home.path().join("not-a-folder/consilium-relay"),
            old_relay: Some(old.clone()),
        };
        relay_with_a_circle(&old);
        assert_eq!(layout.relay_data(), old);
        assert!(holds_the_circle(&old), "nothing was lost");
    }

    #[test]
    fn a_fresh_installation_has_nothing_to_move() {
        let home = tempfile::tempdir().unwrap();
        let layout = Layout {
            profile: home.path().join("consilium"),
            relay: home.path().join("consilium-relay"),
            old_relay: Some(home.path().join("consilium/relay")),
        };
        assert_eq!(layout.relay_data(), layout.relay);
        assert!(!layout.old_relay.as_ref().unwrap().exists());
    }
}
