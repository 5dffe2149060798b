//! INFO: server clients memory stats replication keyspace commandstats
//! errorstats, in Redis 7.0's format.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrite_protocol::Frame;

use crate::alloc;
use crate::cmd::connection::REDIS_COMPAT_VERSION;
use crate::server::{unix_time_us, Server};

/// Sections in the order INFO prints them, and whether plain `INFO`
/// (`default`) includes them.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("commandstats", false),
    ("errorstats", true),
    ("keyspace", true),
];

/// `INFO [section [section ...]]`.
pub fn info(server: &Server, argv: &[Bytes]) -> Frame {
    let wanted: Vec<String> = argv[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let everything = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let mut text = String::new();
    for &(name, in_default) in SECTIONS {
        let selected = everything || (default && in_default) || wanted.iter().any(|w| w == name);
        if !selected {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        section(server, name, &mut text);
    }
    Frame::verbatim_txt(text)
}

/// Redis's `bytesToHuman`.
pub fn bytes_to_human(bytes: u64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for &(size, unit) in UNITS {
        if bytes >= size {
            return format!("{:.2}{unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes}B")
}

fn rss_bytes() -> u64 {
    // /proc/self/statm: size resident shared … in pages.
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn section(server: &Server, name: &str, out: &mut String) {
    let stats = &server.stats;
    let config = server.config.read().clone();
    // `write!` to a String cannot fail.
    macro_rules! line {
        ($($arg:tt)*) => {{ let _ = write!(out, $($arg)*); out.push_str("\r\n"); }};
    }
    match name {
        "server" => {
            let uptime = server.uptime_secs();
            line!("# Server");
            line!("redis_version:{REDIS_COMPAT_VERSION}");
            line!("ferrite_version:{}", env!("CARGO_PKG_VERSION"));
            line!("redis_mode:standalone");
            line!("os:{} {}", std::env::consts::OS, std::env::consts::ARCH);
            line!("arch_bits:{}", usize::BITS);
            line!("multiplexing_api:tokio");
            line!("process_id:{}", std::process::id());
            line!("run_id:{}", server.run_id);
            line!("tcp_port:{}", server.local_addr.port());
            line!("server_time_usec:{}", unix_time_us());
            line!("uptime_in_seconds:{uptime}");
            line!("uptime_in_days:{}", uptime / 86_400);
            line!("hz:{}", config.hz);
            line!("configured_hz:{}", config.hz);
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            line!("executable:{exe}");
            line!("config_file:");
        }
        "clients" => {
            line!("# Clients");
            line!("connected_clients:{}", server.clients.len());
            line!("maxclients:{}", config.maxclients);
            line!(
                "client_recent_max_input_buffer:{}",
                server.clients.max_qbuf_bytes()
            );
            line!(
                "client_recent_max_output_buffer:{}",
                server.clients.max_omem_bytes()
            );
            line!("blocked_clients:0");
        }
        "persistence" => server.persistence.info(out),
        "memory" => {
            let used = alloc::allocated_bytes() as u64;
            let peak = (alloc::allocated_peak_bytes() as u64).max(used);
            let rss = rss_bytes();
            line!("# Memory");
            line!("used_memory:{used}");
            line!("used_memory_human:{}", bytes_to_human(used));
            line!("used_memory_rss:{rss}");
            line!("used_memory_rss_human:{}", bytes_to_human(rss));
            line!("used_memory_peak:{peak}");
            line!("used_memory_peak_human:{}", bytes_to_human(peak));
            let ratio = if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            };
            line!("mem_fragmentation_ratio:{ratio:.2}");
            line!("maxmemory:0");
            line!("maxmemory_human:0B");
            line!("maxmemory_policy:noeviction");
            line!("mem_allocator:libc");
        }
        "stats" => {
            let store = server.store.stats();
            line!("# Stats");
            line!(
                "total_connections_received:{}",
                stats.connections_received.load(Ordering::Relaxed)
            );
            line!("total_commands_processed:{}", stats.commands_processed());
            line!("total_net_input_bytes:{}", stats.net_input_bytes());
            line!("total_net_output_bytes:{}", stats.net_output_bytes());
            line!(
                "rejected_connections:{}",
                stats.rejected_connections.load(Ordering::Relaxed)
            );
            line!("expired_keys:{}", store.expired_keys);
            line!("evicted_keys:0");
            line!(
                "total_error_replies:{}",
                stats.error_replies.load(Ordering::Relaxed)
            );
        }
        "replication" => {
            line!("# Replication");
            line!("role:master");
            line!("connected_slaves:0");
        }
        "commandstats" => {
            line!("# Commandstats");
            for (name, stat) in stats.commands() {
                let per_call = if stat.calls > 0 {
                    stat.usec as f64 / stat.calls as f64
                } else {
                    0.0
                };
                line!(
                    "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                    stat.calls,
                    stat.usec,
                    stat.rejected_calls,
                    stat.failed_calls
                );
            }
        }
        "errorstats" => {
            line!("# Errorstats");
            for (prefix, count) in stats.errors() {
                line!("errorstat_{prefix}:count={count}");
            }
        }
        "keyspace" => {
            line!("# Keyspace");
            for db in server.store.keyspace_info() {
                line!(
                    "db{}:keys={},expires={},avg_ttl={}",
                    db.db,
                    db.keys,
                    db.expires,
                    db.avg_ttl_ms
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_redis() {
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1014192), "990.42K");
        assert_eq!(bytes_to_human(7323648), "6.98M");
    }
}
