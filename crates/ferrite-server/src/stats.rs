//! Server statistics for INFO: command calls and time, error replies by
//! prefix, connections, network bytes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrite_store::striped;

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

/// The counters one thread updates ([`ferrite_store::striped`]: each
/// thread its own, readers sum them). One shared set cost every command six
/// read-modify-writes on cache lines that all I/O threads write (lock word,
/// counters), bouncing between cores. Aligned so stripes share no line.
#[derive(Default)]
#[repr(align(128))]
struct Stripe {
    /// Hashed, not ordered: looked up once per command (a BTreeMap of names
    /// cost ~190 instructions per GET in string compares); [`Stats::commands`]
    /// sorts. Written once per command name. Keyed by the name's address
    /// ([`AddressHasher`]), not its text.
    commands: RwLock<CommandMap>,
    commands_processed: AtomicU64,
    net_input_bytes: AtomicU64,
    net_output_bytes: AtomicU64,
}

/// A stripe's command counters, by the address of the command's name.
type CommandMap = hashbrown::HashMap<
    usize,
    (&'static str, CommandCounters),
    std::hash::BuildHasherDefault<AddressHasher>,
>;

/// Hashes a command name by its address: names come from the static command
/// table, so a command has one address, and its lookup per command hashes
/// and compares one word instead of the text (foldhash + memcmp, ~60
/// instructions). Two statics with the same text get two entries, merged by
/// name in [`Stats::commands`].
#[derive(Default, Clone, Copy)]
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `usize` keys are hashed; any other input still hashes.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(GOLDEN_RATIO_64);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Fibonacci hashing: the map reads the top bits too.
        self.0 = (n as u64).wrapping_mul(GOLDEN_RATIO_64);
    }
}

/// 2^64 / φ, odd: multiplying by it spreads an address over all 64 bits.
const GOLDEN_RATIO_64: u64 = 0x9E37_79B9_7F4A_7C15;

/// All counters. Shared by every connection; see [`Stripe`].
pub struct Stats {
    stripes: Box<[Stripe]>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Error replies sent.
    pub error_replies: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            stripes: (0..striped::STRIPES).map(|_| Stripe::default()).collect(),
            errors: Mutex::default(),
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
        }
    }
}

impl Stats {
    fn stripe(&self) -> &Stripe {
        &self.stripes[striped::thread_index()]
    }

    fn sum(&self, counter: impl Fn(&Stripe) -> &AtomicU64) -> u64 {
        self.stripes
            .iter()
            .map(|s| counter(s).load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    fn with_counters(&self, name: &'static str, update: impl Fn(&CommandCounters)) {
        let stripe = self.stripe();
        let address = name.as_ptr() as usize;
        if let Some((_, counters)) = stripe.commands.read().get(&address) {
            update(counters);
            return;
        }
        let mut commands = stripe.commands.write();
        let (_, counters) = commands
            .entry(address)
            .or_insert_with(|| (name, CommandCounters::default()));
        update(counters);
    }

    /// Commands executed.
    pub fn commands_processed(&self) -> u64 {
        self.sum(|s| &s.commands_processed)
    }

    /// Bytes read from clients.
    pub fn net_input_bytes(&self) -> u64 {
        self.sum(|s| &s.net_input_bytes)
    }

    /// Bytes written to clients.
    pub fn net_output_bytes(&self) -> u64 {
        self.sum(|s| &s.net_output_bytes)
    }

    /// Counts bytes read from a client.
    pub fn add_net_input(&self, bytes: u64) {
        self.stripe()
            .net_input_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts bytes written to a client.
    pub fn add_net_output(&self, bytes: u64) {
        self.stripe()
            .net_output_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// Records one executed command (`name` is `get` or `client|list`).
    pub fn record_call(&self, name: &'static str, usec: u64, failed: bool) {
        self.stripe()
            .commands_processed
            .fetch_add(1, Ordering::Relaxed);
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

    /// Snapshot of the command table, by name (summed over the stripes).
    pub fn commands(&self) -> Vec<(&'static str, CommandStat)> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut by_name: hashbrown::HashMap<&'static str, CommandStat> = hashbrown::HashMap::new();
        for stripe in self.stripes.iter() {
            for (name, c) in stripe.commands.read().values() {
                let stat = by_name.entry(*name).or_default();
                stat.calls = stat.calls.wrapping_add(load(&c.calls));
                stat.usec = stat.usec.wrapping_add(load(&c.usec));
                stat.rejected_calls = stat.rejected_calls.wrapping_add(load(&c.rejected_calls));
                stat.failed_calls = stat.failed_calls.wrapping_add(load(&c.failed_calls));
            }
        }
        let mut out: Vec<_> = by_name.into_iter().collect();
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
        for stripe in self.stripes.iter() {
            stripe.commands.write().clear();
            for counter in [
                &stripe.commands_processed,
                &stripe.net_input_bytes,
                &stripe.net_output_bytes,
            ] {
                counter.store(0, Ordering::Relaxed);
            }
        }
        self.errors.lock().clear();
        for counter in [
            &self.connections_received,
            &self.rejected_connections,
            &self.error_replies,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_at_two_addresses_is_one_command() {
        let stats = Stats::default();
        let other: &'static str = Box::leak(String::from("set").into_boxed_str());
        assert_ne!(other.as_ptr(), "set".as_ptr());
        stats.record_call("set", 1, false);
        stats.record_call(other, 2, false);
        stats.record_call("get", 4, false);
        let commands = stats.commands();
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[1].0, "set");
        assert_eq!((commands[1].1.calls, commands[1].1.usec), (2, 3));
    }

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
