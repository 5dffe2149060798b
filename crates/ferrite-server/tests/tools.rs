//! Unmodified Redis tools against ferrite: redis-benchmark.

mod common;

use common::Ferrite;

#[test]
fn redis_benchmark_runs_without_errors() {
    let server = Ferrite::start(&[]);
    let output = std::process::Command::new("redis-benchmark")
        .args(["-p", &server.port.to_string()])
        .args([
            "-t",
            "ping,set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100",
            "-q",
            "-n",
            "2000",
        ])
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) => panic!(
            "redis-benchmark could not be run ({err}); it is required: install Debian's redis-tools \
             (scripts/install-deps.sh does)"
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "redis-benchmark failed:\n{stdout}\n{stderr}"
    );
    assert!(
        !stderr.contains("ERR") && !stderr.contains("rror"),
        "redis-benchmark reported errors:\n{stderr}"
    );
    assert!(
        !stdout.contains("ERR") && !stdout.contains("rror"),
        "redis-benchmark reported errors:\n{stdout}"
    );
    // redis-benchmark 7 exits at the first error reply; on success it prints
    // one "<TEST>: <n> requests per second" line per test.
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "LPUSH",
        "RPOP",
        "SADD",
        "HSET",
        "ZADD",
        "LRANGE_100",
    ] {
        assert!(
            stdout
                .split(['\r', '\n'])
                .any(|l| l.starts_with(test) && l.contains("requests per second")),
            "missing result for {test}:\n{stdout}"
        );
    }
}
