//! The disk-space reserve: a file beside the store (`<path>-reserve`) that holds back room on
//! the file system so that eviction can always run.
//!
//! Why: in WAL mode even a `DELETE` appends pages to the WAL, and a checkpoint may have to
//! extend the database file with pages committed earlier. On a full file system both fail with
//! "database or disk is full", so lowering `max_mb` could not free anything. The reserve is as
//! big as the WAL limit (the most the WAL holds between checkpoints): releasing it lets the
//! pending checkpoint and eviction in small steps run. It is created again once there is room.
//!
//! The bytes are pseudo-random, not zeros: jffs2 and ubifs compress file data, and a file of
//! zeros would hold back almost nothing there.

use std::io::Write;
use std::path::{Path, PathBuf};

/// `<store path>-reserve`, like SQLite's own `-wal` beside it.
pub(crate) fn path(store: &Path) -> PathBuf {
    let mut s = store.as_os_str().to_owned();
    s.push("-reserve");
    PathBuf::from(s)
}

/// Makes sure the reserve exists with `bytes` bytes. Creating it also proves that the store's
/// directory is writable. A partly written reserve is removed again, so a failure leaves no
/// half-filled disk behind.
pub(crate) fn ensure(store: &Path, bytes: u64) -> std::io::Result<()> {
    let path = path(store);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes) {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    let mut fill = || -> std::io::Result<()> {
        file.set_len(0)?;
        let mut block = [0u8; 4096];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut left = bytes;
        while left > 0 {
            for chunk in block.chunks_exact_mut(8) {
                // xorshift64: incompressible enough for jffs2's zlib/lzo and ubifs.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            let n = left.min(block.len() as u64) as usize;
            file.write_all(&block[..n])?;
            left -= n as u64;
        }
        file.sync_all()
    };
    fill().inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })
}

/// Deletes the reserve; true when there was one to free.
pub(crate) fn release(store: &Path) -> bool {
    std::fs::remove_file(path(store)).is_ok()
}
