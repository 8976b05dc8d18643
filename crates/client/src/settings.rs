//! A profile's preferences: the relay new circles use, the idle time before the window locks,
//! the theme and the language. They are read before unlocking (the lock screen needs the theme
//! and the language), so they live beside the vault in `settings.json`, and hold nothing about
//! patients or keys.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

const FILE: &str = "settings.json";
/// Where the local relay was before each OS user had one of their own.
pub const EARLIER_LOCAL_RELAY: &str = "http://127.0.0.1:8443";

/// This OS user's local relay, the one `scripts/run.sh` and the desktop app start: a port of
/// the user's own, so another user's app on the laptop never finds it (nor this one theirs;
/// the relay client also checks the listener's owner).
pub fn local_relay() -> String {
    format!(
        "http://127.0.0.1:{}",
        consilium_relay_client::local_relay_port()
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Theme {
    Light,
    Dark,
    #[default]
    System,
}

/// The window's language: the system's, or one the physician chose in the settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Language {
    #[default]
    System,
    En,
    Fr,
    Es,
    De,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Settings {
    /// The relay new circles are created on.
    pub relay: String,
    /// Minutes without input before the window locks (1–240).
    pub auto_lock_minutes: u32,
    pub theme: Theme,
    /// Hours between the window's backups into the folder of the last one (0: only by hand).
    pub backup_every_hours: u32,
    pub language: Language,
    /// Whether the first-run screens were read or skipped (they are shown once, before the
    /// first profile is created).
    pub welcomed: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            relay: local_relay(),
            auto_lock_minutes: 10,
            theme: Theme::System,
            backup_every_hours: 24,
            language: Language::System,
            welcomed: false,
        }
    }
}

impl Settings {
    /// The settings of the profile in `dir`; defaults when there are none yet, or when the file
    /// cannot be read (a damaged preferences file must not keep anyone out of their cases).
    pub fn load(dir: &Path) -> Settings {
        let mut settings: Settings = std::fs::read(dir.join(FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if settings.relay == EARLIER_LOCAL_RELAY {
            settings.relay = local_relay();
        }
        settings
    }

    /// Checks and writes the settings (to a temporary file, then renamed into place).
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.validate()?;
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| ClientError::Internal(format!("encoding the settings: {e}")))?;
        consilium_store::create_private_dir(dir)
            .map_err(ClientError::io("creating the profile folder"))?;
        let partial = dir.join(format!("{FILE}.partial"));
        consilium_store::create_private(&partial)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &json))
            .map_err(ClientError::io("writing the settings"))?;
        std::fs::rename(&partial, dir.join(FILE)).map_err(ClientError::io("saving the settings"))
    }

    /// Takes the preferences out of `dir` when they are all it holds (a new laptop's, saved by
    /// the first-run screens before any profile was made), for a restore, which goes only into
    /// an empty folder; `put_back` returns them.
    pub(crate) fn take_if_alone(dir: &Path) -> Result<Option<Vec<u8>>> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(None);
        };
        let names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        if names.len() != 1 || names[0] != FILE {
            return Ok(None);
        }
        let bytes =
            std::fs::read(dir.join(FILE)).map_err(ClientError::io("reading the settings"))?;
        std::fs::remove_file(dir.join(FILE))
            .map_err(ClientError::io("moving the settings aside"))?;
        Ok(Some(bytes))
    }

    /// Writes back preferences `take_if_alone` took.
    pub(crate) fn put_back(dir: &Path, bytes: &[u8]) -> Result<()> {
        consilium_store::create_private_dir(dir)
            .map_err(ClientError::io("creating the profile folder"))?;
        consilium_store::create_private(&dir.join(FILE))
            .and_then(|mut f| std::io::Write::write_all(&mut f, bytes))
            .map_err(ClientError::io("writing the settings back"))
    }

    fn validate(&self) -> Result<()> {
        if !(1..=240).contains(&self.auto_lock_minutes) {
            return Err(ClientError::Invalid(
                "auto-lock must be between 1 and 240 minutes".into(),
            ));
        }
        if self.backup_every_hours > 24 * 30 {
            return Err(ClientError::Invalid(
                "back up at least once every 30 days (720 hours), or set 0 for by hand only".into(),
            ));
        }
        consilium_model::RelayAddress::parse(&self.relay)
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn settings_naming_the_earlier_shared_local_relay_load_this_users_own() {
        let dir = tempfile::tempdir().unwrap();
        let earlier = Settings {
            relay: EARLIER_LOCAL_RELAY.into(),
            ..Settings::default()
        };
        earlier.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()).relay, local_relay());
    }

    #[test]
    fn settings_round_trip_and_bad_values_are_refused_without_touching_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
        let s = Settings {
            relay: "https://relay.example.org".into(),
            auto_lock_minutes: 5,
            theme: Theme::Dark,
            backup_every_hours: 12,
            language: Language::Fr,
            welcomed: true,
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "the settings are the owner's alone ({mode:o})"
            );
        }
        for bad in [
            Settings {
                auto_lock_minutes: 0,
                ..s.clone()
            },
            Settings {
                backup_every_hours: 24 * 31,
                ..s.clone()
            },
            Settings {
                relay: "relay.example.org".into(),
                ..s.clone()
            },
            Settings {
                relay: "http://".into(),
                ..s.clone()
            },
            Settings {
                relay: "http://relay.example.org".into(),
                ..s.clone()
            },
            Settings {
                relay: "http://localhost:1@relay.example.org".into(),
                ..s.clone()
            },
        ] {
            assert!(bad.save(dir.path()).is_err());
        }
        assert_eq!(Settings::load(dir.path()), s);
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
    }
}
