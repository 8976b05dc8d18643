//! The CLI driven as a user would: a profile folder, the real binary per command.

pub use consilium_testkit::{camera_photo, forbidden_metadata, sample, scratch};
pub use serde_json::Value;
pub use std::path::{Path, PathBuf};
pub use std::process::{Command, Output};

pub const PASS: &str = "correct horse battery staple";

pub struct Profile {
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub work: PathBuf,
}

impl Profile {
    pub fn new() -> Profile {
        let tmp = scratch();
        let dir = tmp.path().join("profile");
        let work = tmp.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let p = Profile {
            _tmp: tmp,
            dir,
            work,
        };
        p.ok(&[
            "init",
            "--name",
            "Dr Ada Test",
            "--specialty",
            "dermatology",
        ]);
        p
    }

    pub fn cmd(&self, args: &[&str], pass: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_consilium"));
        c.arg("--profile")
            .arg(&self.dir)
            .args(args)
            .env("CONSILIUM_PASSPHRASE", pass)
            .env_remove("CONSILIUM_PROFILE");
        c
    }

    pub fn run_with(&self, args: &[&str], pass: &str) -> Output {
        self.cmd(args, pass).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with(args, PASS);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Runs a command that must fail cleanly; returns its one-line message.
    pub fn fails(&self, args: &[&str], pass: &str) -> String {
        let out = self.run_with(args, pass);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} should fail with status 1; stderr: {stderr}"
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{stderr}"
        );
        stderr
    }

    pub fn new_case(&self, title: &str) -> String {
        self.json(&["case", "new", "--title", title])["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn attach(&self, case: &str, file: &Path, extra: &[&str]) -> Value {
        let mut args = vec!["case", "attach", case, file.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.json(&args)[0].clone()
    }

    pub fn export(&self, case: &str, att: &str, rendition: &str) -> PathBuf {
        let out = self.work.join(format!("{att}-{rendition}.img"));
        self.ok(&[
            "case",
            "export-attachment",
            case,
            att,
            out.to_str().unwrap(),
            "--rendition",
            rendition,
        ]);
        out
    }

    pub fn all_files(&self) -> Vec<PathBuf> {
        consilium_testkit::files_under(&self.dir)
    }

    pub fn blob_files(&self) -> usize {
        std::fs::read_dir(self.dir.join("blobs")).unwrap().count()
    }
}

pub fn open_image(path: &Path) -> image::DynamicImage {
    image::ImageReader::open(path)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
