//! Specs of the `WASM.*` commands (`Layer::Wasm`: `ferrite-server` runs them
//! through `ferrite-wasm`), and the one parser of WASM.CALL's key list.
//!
//! WASM.* commands are `no_multi`: a call already runs as its own atomic
//! transaction, and running it inside EXEC (which holds the keyspace) would
//! nest two transactions.

use std::ops::Range;

use bytes::Bytes;

use crate::cmd::{CommandFlags as F, CommandSpec, Layer};

const fn wasm(name: &'static str, arity: i32, flags: F, summary: &'static str) -> CommandSpec {
    CommandSpec::external(
        Layer::Wasm,
        name,
        arity,
        flags.with(F::NOSCRIPT).with(F::NO_MULTI),
        (0, 0, 0),
        "scripting",
        summary,
    )
    .since("7.0.0")
}

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[
    wasm(
        "wasm.load",
        -3,
        F::DENYOOM,
        "Load a WebAssembly module from bytes or from the module directory",
    ),
    wasm(
        "wasm.loadb",
        -3,
        F::DENYOOM,
        "Load a WebAssembly module from bytes",
    ),
    wasm(
        "wasm.call",
        -2,
        F::WRITE.with(F::DENYOOM),
        "Call a WebAssembly function",
    )
    .keys_by_keyword(),
    wasm(
        "wasm.callread",
        -2,
        F::READONLY,
        "Call a WebAssembly function read-only",
    )
    .keys_by_keyword(),
    wasm("wasm.unload", 2, F::NONE, "Unload a WebAssembly function"),
    wasm("wasm.list", 1, F::NONE, "List loaded WebAssembly functions"),
    wasm(
        "wasm.info",
        2,
        F::NONE,
        "Show a WebAssembly function's details",
    ),
    wasm(
        "wasm.stats",
        -1,
        F::NONE,
        "Show WebAssembly function statistics",
    ),
    wasm(
        "wasm.update",
        -2,
        F::NONE,
        "Change a WebAssembly function's permissions and limits",
    ),
    wasm(
        "wasm.reload",
        2,
        F::NONE,
        "Reload a WebAssembly function from its file",
    ),
];

/// The declared keys and the arguments of `WASM.CALL name …` (`argv[0]` is
/// the command, `argv[1]` the function), in both forms:
/// `KEYS k … [ARGS a …]`, `ARGS a …`, or positional `a …`.
/// Returns `(keys, args)` as index ranges into `argv`; `keys` is `None` in
/// the forms without KEYS. In the KEYS form the first `ARGS` ends the key
/// list, so a key literally named `ARGS` cannot be declared.
pub fn call_layout(argv: &[Bytes]) -> (Option<Range<usize>>, Range<usize>) {
    let end = argv.len();
    let is = |i: usize, word: &[u8]| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(word));
    if is(2, b"KEYS") {
        let split = (3..end).find(|&i| is(i, b"ARGS")).unwrap_or(end);
        (Some(3..split), (split + 1).min(end)..end)
    } else if is(2, b"ARGS") {
        (None, 3..end)
    } else {
        (None, 2.min(end)..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn layouts() {
        let a = argv(&["wasm.call", "f", "KEYS", "k1", "k2", "ARGS", "a1"]);
        assert_eq!(call_layout(&a), (Some(3..5), 6..7));
        let a = argv(&["wasm.call", "f", "keys", "k1"]);
        assert_eq!(call_layout(&a), (Some(3..4), 4..4));
        let a = argv(&["wasm.call", "f", "ARGS", "x"]);
        assert_eq!(call_layout(&a), (None, 3..4));
        let a = argv(&["wasm.call", "f", "x", "y"]);
        assert_eq!(call_layout(&a), (None, 2..4));
        let a = argv(&["wasm.call", "f"]);
        assert_eq!(call_layout(&a), (None, 2..2));
        let a = argv(&["wasm.call", "f", "KEYS", "ARGS"]);
        assert_eq!(call_layout(&a), (Some(3..3), 4..4));
        let spec = crate::lookup(b"WASM.CALL").unwrap();
        let a = argv(&["wasm.call", "f", "KEYS", "k1", "k2", "ARGS", "a1"]);
        assert_eq!(spec.keys(&a).as_slice(), [&a[3], &a[4]]);
        let a = argv(&["wasm.call", "f", "k1"]);
        assert!(spec.keys(&a).is_empty());
    }
}
