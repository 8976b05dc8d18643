//! Imports one image into a fresh profile with a weak KDF and exits: run under `/usr/bin/time`
//! by `tests/bench/run.sh` to measure the peak memory of an import alone, without the 256 MiB
//! that Argon2id takes while unlocking.

use std::path::PathBuf;

use consilium_client::model::CaseFields;
use consilium_client::{Engine, EngineConfig, KdfParams, Passphrase};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(profile), Some(image)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: import_once PROFILE_DIR IMAGE");
    };
    let config = EngineConfig {
        kdf: KdfParams::TEST_ONLY_WEAK,
        ..Default::default()
    };
    let mut engine = Engine::init(&profile, &Passphrase::new("bench"), "Dr Bench", "", config)?;
    let case = engine.create_case(CaseFields {
        title: "bench".into(),
        ..Default::default()
    })?;
    let bytes = std::fs::read(&image)?;
    let att = engine.attach_bytes(&case, &bytes, &Default::default())?;
    println!("{}x{} {}", att.width, att.height, att.report.summary());
    Ok(())
}
