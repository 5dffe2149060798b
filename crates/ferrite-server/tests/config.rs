//! Start-up configuration of the `ferrite` binary: file errors name the key,
//! precedence is CLI > env > file > defaults.

mod common;

use std::path::PathBuf;

use common::{request, Ferrite};

fn temp_config(name: &str, text: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("ferrite-test-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn config_get(server: &Ferrite, name: &str) -> String {
    let mut s = server.raw();
    let reply = request(&mut s, format!("CONFIG GET {name}\r\n").as_bytes());
    let ferrite_protocol::Frame::Array(items) = reply else {
        panic!("CONFIG GET reply: {reply:?}")
    };
    assert_eq!(items.len(), 2, "{items:?}");
    String::from_utf8(items[1].as_bytes().expect("bulk value").to_vec()).unwrap()
}

#[test]
fn unknown_key_is_a_startup_error_naming_it() {
    let path = temp_config("unknown", "port = 7000\nmaxclients = 10\nmax_clients = 5\n");
    let refused = Ferrite::refuse(&["--config", path.to_str().unwrap()], &[]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("max_clients"), "{}", refused.stderr);
    let path = temp_config("unknown-wasm", "[wasm.limits]\nmax_memroy = 1\n");
    let refused = Ferrite::refuse(&["--config", path.to_str().unwrap()], &[]);
    assert!(refused.stderr.contains("max_memroy"), "{}", refused.stderr);
}

#[test]
fn bad_values_are_startup_errors_naming_the_key() {
    for (name, text, key) in [
        ("type", "maxclients = \"many\"\n", "maxclients"),
        ("range", "databases = 99\n", "databases"),
        ("bind", "bind = \"not-an-ip\"\n", "bind"),
        (
            "size",
            "client_query_buffer_limit = \"12 parsecs\"\n",
            "client_query_buffer_limit",
        ),
        (
            "wasm",
            "[wasm.pool]\nmin_instances = 8\nmax_instances = 4\n",
            "wasm.pool.min_instances",
        ),
        ("caps", "[wasm.capabilities]\ndefault = [\"fly\"]\n", "fly"),
    ] {
        let path = temp_config(name, text);
        let refused = Ferrite::refuse(&["--config", path.to_str().unwrap()], &[]);
        assert_eq!(refused.code, Some(2), "{name}: {}", refused.stderr);
        assert!(refused.stderr.contains(key), "{name}: {}", refused.stderr);
    }
    let refused = Ferrite::refuse(&["--maxclients", "zero"], &[]);
    assert!(refused.stderr.contains("maxclients"), "{}", refused.stderr);
    let refused = Ferrite::refuse(&[], &[("FERRITE_HZZ", "3")]);
    assert!(refused.stderr.contains("FERRITE_HZZ"), "{}", refused.stderr);
    let refused = Ferrite::refuse(&["--config", "/nonexistent/ferrite.toml"], &[]);
    assert!(
        refused.stderr.contains("/nonexistent/ferrite.toml"),
        "{}",
        refused.stderr
    );
}

#[test]
fn precedence_cli_over_env_over_file_over_defaults() {
    let path = temp_config(
        "precedence",
        "hz = 11\nmaxclients = 111\nclient_query_buffer_limit = \"2mb\"\n",
    );
    let file = path.to_str().unwrap();
    let env = [("FERRITE_HZ", "12"), ("FERRITE_MAXCLIENTS", "122")];

    let server = Ferrite::start_with_env(&["--config", file, "--hz", "13"], &env);
    assert_eq!(config_get(&server, "hz"), "13");
    assert_eq!(config_get(&server, "maxclients"), "122");
    assert_eq!(config_get(&server, "client-query-buffer-limit"), "2097152");
    assert_eq!(config_get(&server, "databases"), "16");
    drop(server);

    let server = Ferrite::start_with_env(&[], &[("FERRITE_CONFIG", file)]);
    assert_eq!(config_get(&server, "hz"), "11");
    assert_eq!(config_get(&server, "maxclients"), "111");
    drop(server);

    let server = Ferrite::start(&[]);
    assert_eq!(config_get(&server, "hz"), "10");
    assert_eq!(config_get(&server, "bind"), "127.0.0.1");
    assert_eq!(config_get(&server, "maxclients"), "10000");
}

/// `io-threads` (start-up only) sets how many threads run connections;
/// every count serves many clients correctly.
#[test]
fn io_threads_is_a_startup_parameter() {
    let server = Ferrite::start(&[]);
    assert_eq!(config_get(&server, "io-threads"), "0");
    let mut s = server.raw();
    let reply = request(&mut s, b"CONFIG SET io-threads 2\r\n");
    assert!(
        matches!(reply, ferrite_protocol::Frame::Error(_))
            && format!("{reply:?}").contains("io-threads"),
        "{reply:?}"
    );
    drop(server);

    let server = Ferrite::start(&["--io-threads", "3"]);
    assert_eq!(config_get(&server, "io-threads"), "3");
    let port = server.port;
    let clients: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                for j in 0..50 {
                    let set = format!("SET k{i}:{j} v{j}\r\n");
                    assert_eq!(
                        request(&mut s, set.as_bytes()),
                        ferrite_protocol::Frame::Simple("OK".into())
                    );
                    let get = format!("GET k{i}:{j}\r\n");
                    assert_eq!(
                        request(&mut s, get.as_bytes()),
                        ferrite_protocol::Frame::Bulk(format!("v{j}").into())
                    );
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    drop(server);

    let refused = Ferrite::refuse(&["--io-threads", "129"], &[]);
    assert!(refused.stderr.contains("io_threads"), "{}", refused.stderr);
}

#[test]
fn help_and_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--config", "--port", "--bind", "--requirepass", "--dir"] {
        assert!(help.contains(flag), "{help}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("ferrite {}", env!("CARGO_PKG_VERSION"))
    );
}
