//! The run marker: a small file beside the store (`<store>.running`) that exists while the
//! daemon runs and is removed by a clean stop, and by a start that fails. Finding it at start means the previous run
//! ended without one (a crash, SIGKILL or a power cut), which is logged and reported in health
//! as `last_stop_clean: false`. Router builds abort on a panic without printing a message (to
//! fit the size budget), so this is how such an exit still shows up.
//!
//! Invariant: a marker that cannot be written or removed is logged and otherwise ignored; it
//! never stops the daemon.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The marker of the running daemon; [`RunMarker::remove`] on a clean stop.
pub struct RunMarker {
    path: PathBuf,
}

impl RunMarker {
    /// Writes the marker beside `store_path` and says whether the previous run stopped cleanly.
    pub fn create(store_path: &Path) -> (RunMarker, bool) {
        let mut name = store_path.as_os_str().to_owned();
        name.push(".running");
        let path = PathBuf::from(name);
        let previous_clean = match std::fs::read_to_string(&path) {
            Ok(previous) => {
                log::warn!(
                    "marker={} the previous run did not stop cleanly (crash, kill or power cut; \
                     it started {})",
                    path.display(),
                    previous.trim()
                );
                false
            }
            Err(_) => true,
        };
        let written = std::fs::File::create(&path).and_then(|mut file| {
            writeln!(
                file,
                "pid {} at unix ms {}",
                std::process::id(),
                crate::model::now_ms()
            )
        });
        if let Err(e) = written {
            log::warn!("marker={} cannot write the run marker: {e}", path.display());
        }
        (RunMarker { path }, previous_clean)
    }

    /// A clean stop: the next start finds no marker.
    pub fn remove(self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                log::warn!(
                    "marker={} cannot remove the run marker: {e}",
                    self.path.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_left_behind_means_the_previous_stop_was_not_clean() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store.db");
        let (first, clean) = RunMarker::create(&store);
        assert!(clean, "no marker at the first start");
        drop(first); // a crash: the marker stays
        let (second, clean) = RunMarker::create(&store);
        assert!(!clean, "the marker of the crashed run is found");
        second.remove();
        let (third, clean) = RunMarker::create(&store);
        assert!(clean, "a clean stop removed the marker");
        third.remove();
        assert!(!dir.path().join("store.db.running").exists());
    }
}
