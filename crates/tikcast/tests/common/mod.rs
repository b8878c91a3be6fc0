//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The real captures (`$TIKCAST_CORPUS`, default `../shared/corpus` beside the
/// repository) when `marker`, a file inside them, exists. Otherwise prints a `SKIPPED`
/// line naming `what` and returns `None`, or fails when `TIKCAST_REQUIRE_CORPUS=1` (CI).
pub fn corpus(marker: &str, what: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("TIKCAST_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join(marker).is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("TIKCAST_REQUIRE_CORPUS").as_deref() != Ok("1"),
        "corpus not found at {} (no {marker})",
        dir.display()
    );
    eprintln!(
        "SKIPPED {what}: no corpus at {} (no {marker}); set TIKCAST_CORPUS",
        dir.display()
    );
    None
}
