//! The fuzz targets in `fuzz/` build against the library as it is now, so a
//! change to a parser's API can't leave them broken until someone next fuzzes.
//!
//! They are built, not run (see "Fuzzing" in the README for running them):
//! an ordinary build of their crate, unoptimised and without debug info to
//! keep it short, in a target folder of its own so it never waits on the
//! build running this test.

use std::path::Path;
use std::process::Command;

#[test]
fn every_fuzz_target_builds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), Into::into)
        .join("fuzz-build");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root.join("fuzz"))
        .args(["build", "--locked", "--bins", "--target-dir"])
        .arg(&target)
        .args([
            "--config",
            "profile.dev.debug=0",
            "--config",
            "profile.dev.package.\"*\".opt-level=0",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "the fuzz targets don't build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["tokens", "config", "forms", "search", "csv"] {
        let binary = target.join("debug").join(name);
        assert!(binary.is_file(), "no fuzz target {}", binary.display());
    }
}
