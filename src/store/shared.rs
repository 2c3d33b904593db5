//! `SharedStore`: the daemon's one store, shared by the threads that use it (writer, API
//! workers, upstream sync, rules, models).
//!
//! The store is one SQLite connection in exclusive mode (see `store/mod.rs`), so the parts take
//! turns through this one lock. A thread that panicked while holding it left nothing half
//! done: a batch commits in one transaction and the in-memory mirror changes only after the
//! commit. So the lock's poison is ignored here, once, rather than at every call site.

use std::sync::{Arc, Mutex, MutexGuard};

use super::Store;

#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    pub fn new(store: Store) -> SharedStore {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
