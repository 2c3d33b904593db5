//! How freed memory goes back to the system. A login hashes with 8 MiB of argon2 memory, a
//! 10,000-row page is about 1 MB of JSON: blocks that large must not stay in the process once
//! freed, or one burst of logins holds RSS 8 MiB higher per worker thread for good.
//!
//! musl (the router builds) maps every block above about 128 KiB on its own and unmaps it at
//! `free`. glibc does too, until a freed mapping raises its *dynamic* mmap threshold past that
//! size; from then on such blocks come from the heap arenas, which it rarely trims (seen: RSS
//! 6 MiB -> 30 MiB after a minute of logins, and staying there). A fixed threshold turns the
//! dynamic one off.

/// Blocks of at least this size get their own mapping, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 * 1024;

/// Call once at start, before the threads that allocate.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
