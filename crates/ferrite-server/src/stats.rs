//! Server statistics for INFO: command calls and time, error replies by
//! prefix, connections, network bytes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

/// Upper bound on distinct error prefixes tracked (Redis uses 128 too); more
/// are counted in `total_error_replies` only.
pub const ERROR_PREFIXES_MAX: usize = 128;

/// Calls, time and failures of one command (`cmdstat_<name>`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommandStat {
    /// Times the command ran.
    pub calls: u64,
    /// Microseconds spent running it.
    pub usec: u64,
    /// Rejected before running (arity, auth, EXECABORT…).
    pub rejected_calls: u64,
    /// Ran and replied with an error.
    pub failed_calls: u64,
}

/// Atomic counters of one command, updated under a shared (read) lock.
#[derive(Default)]
struct CommandCounters {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected_calls: AtomicU64,
    failed_calls: AtomicU64,
}

/// All counters. Shared by every connection; recording a call takes only a
/// read lock (the table is written once per command name).
#[derive(Default)]
pub struct Stats {
    /// Hashed, not ordered: looked up once per command (a BTreeMap of names
    /// cost ~190 instructions per GET in string compares); [`Stats::commands`] sorts.
    commands: RwLock<hashbrown::HashMap<&'static str, CommandCounters>>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Commands executed.
    pub commands_processed: AtomicU64,
    /// Error replies sent.
    pub error_replies: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
}

impl Stats {
    fn with_counters(&self, name: &'static str, update: impl Fn(&CommandCounters)) {
        if let Some(counters) = self.commands.read().get(name) {
            update(counters);
            return;
        }
        update(self.commands.write().entry(name).or_default());
    }

    /// Records one executed command (`name` is `get` or `client|list`).
    pub fn record_call(&self, name: &'static str, usec: u64, failed: bool) {
        self.commands_processed.fetch_add(1, Ordering::Relaxed);
        self.with_counters(name, |c| {
            c.calls.fetch_add(1, Ordering::Relaxed);
            c.usec.fetch_add(usec, Ordering::Relaxed);
            if failed {
                c.failed_calls.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    /// Records a command rejected before it ran.
    pub fn record_rejected(&self, name: &'static str) {
        self.with_counters(name, |c| {
            c.rejected_calls.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Records one error reply; `text` is the error without the `-`.
    /// The prefix is the first word (`ERR`, `WRONGTYPE`, `NOAUTH`…).
    pub fn record_error(&self, text: &[u8]) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
        let Ok(prefix) = std::str::from_utf8(&text[..end]) else {
            return;
        };
        let mut errors = self.errors.lock();
        if let Some(count) = errors.get_mut(prefix) {
            *count += 1;
        } else if errors.len() < ERROR_PREFIXES_MAX {
            errors.insert(prefix.to_owned(), 1);
        }
    }

    /// Snapshot of the command table, by name.
    pub fn commands(&self) -> Vec<(&'static str, CommandStat)> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = self
            .commands
            .read()
            .iter()
            .map(|(name, c)| {
                let stat = CommandStat {
                    calls: load(&c.calls),
                    usec: load(&c.usec),
                    rejected_calls: load(&c.rejected_calls),
                    failed_calls: load(&c.failed_calls),
                };
                (*name, stat)
            })
            .collect::<Vec<_>>();
        out.sort_unstable_by_key(|(name, _)| *name);
        out
    }

    /// Snapshot of the error counts, by prefix.
    pub fn errors(&self) -> Vec<(String, u64)> {
        self.errors
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        self.commands.write().clear();
        self.errors.lock().clear();
        for counter in [
            &self.connections_received,
            &self.rejected_connections,
            &self.commands_processed,
            &self.error_replies,
            &self.net_input_bytes,
            &self.net_output_bytes,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_and_errors() {
        let stats = Stats::default();
        stats.record_call("get", 3, false);
        stats.record_call("get", 5, true);
        stats.record_rejected("get");
        stats.record_error(b"ERR syntax error");
        stats.record_error(b"WRONGTYPE Operation against a key holding the wrong kind of value");
        stats.record_error(b"ERR x");
        assert_eq!(
            stats.commands(),
            vec![(
                "get",
                CommandStat {
                    calls: 2,
                    usec: 8,
                    rejected_calls: 1,
                    failed_calls: 1
                }
            )]
        );
        assert_eq!(
            stats.errors(),
            vec![("ERR".to_owned(), 2), ("WRONGTYPE".to_owned(), 1)]
        );
        stats.reset();
        assert!(stats.commands().is_empty());
    }
}
