//! COMMAND, COMMAND COUNT / INFO / DOCS / GETKEYS / LIST, all read from the
//! one command table (`ferrite_store::commands`).
//!
//! Names, arity, flags, key positions and ACL categories come from the
//! table; command tips, key specifications and documentation (complexity,
//! arguments, history) from Redis 7.0.15's own replies that the table keeps
//! per command ([`CommandSpec::redis_meta`]). Commands without them get key
//! specs derived from their key positions and docs with summary, since and
//! group.

use bytes::Bytes;
use ferrite_protocol::Frame;
use ferrite_store::{CommandFlags, CommandSpec};

use crate::error::{CommandError, CommandResult};

/// COMMAND HELP lines (Redis's text for the subcommands Ferrite has).
pub const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
];

fn top_level() -> Vec<&'static CommandSpec> {
    let mut all: Vec<&'static CommandSpec> = ferrite_store::commands().collect();
    all.sort_unstable_by_key(|spec| spec.name);
    all
}

fn simple_set(items: impl IntoIterator<Item = &'static str>) -> Frame {
    Frame::Set(items.into_iter().map(Frame::simple).collect())
}

fn key_specs(spec: &CommandSpec) -> Frame {
    // Redis's finer flags (insert, delete, variable_flags…) are not in the
    // table; the access type and the most common operation are.
    let flags = if spec.is_write() {
        simple_set(["RW", "update"])
    } else {
        simple_set(["RO", "access"])
    };
    let map = |pairs: Vec<(&'static str, Frame)>| {
        Frame::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Frame::bulk(k), v))
                .collect(),
        )
    };
    if spec.numkeys_index > 0 {
        let index = i64::try_from(spec.numkeys_index).unwrap_or(0);
        return Frame::Set(vec![map(vec![
            ("flags", flags),
            (
                "begin_search",
                map(vec![
                    ("type", Frame::bulk("index")),
                    ("spec", map(vec![("index", Frame::Integer(index))])),
                ]),
            ),
            (
                "find_keys",
                map(vec![
                    ("type", Frame::bulk("keynum")),
                    (
                        "spec",
                        map(vec![
                            ("keynumidx", Frame::Integer(0)),
                            ("firstkey", Frame::Integer(1)),
                            ("keystep", Frame::Integer(1)),
                        ]),
                    ),
                ]),
            ),
        ])]);
    }
    if spec.first_key <= 0 {
        return Frame::Set(Vec::new());
    }
    let last = if spec.last_key < 0 {
        i64::from(spec.last_key)
    } else {
        i64::from(spec.last_key - spec.first_key)
    };
    Frame::Set(vec![map(vec![
        ("flags", flags),
        (
            "begin_search",
            map(vec![
                ("type", Frame::bulk("index")),
                (
                    "spec",
                    map(vec![("index", Frame::Integer(spec.first_key.into()))]),
                ),
            ]),
        ),
        (
            "find_keys",
            map(vec![
                ("type", Frame::bulk("range")),
                (
                    "spec",
                    map(vec![
                        ("lastkey", Frame::Integer(last)),
                        ("keystep", Frame::Integer(spec.step.into())),
                        ("limit", Frame::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])])
}

/// The COMMAND INFO entry of one command (10 elements, Redis 7.0 layout).
pub fn describe(spec: &CommandSpec) -> Frame {
    let (tips, key_specs) = match spec.redis_meta() {
        Some(meta) => (meta.tips, meta.key_specs),
        None => (Frame::Set(Vec::new()), key_specs(spec)),
    };
    Frame::Array(vec![
        Frame::bulk(spec.name),
        Frame::Integer(spec.arity.into()),
        simple_set(spec.flags.names()),
        Frame::Integer(spec.first_key.into()),
        Frame::Integer(spec.last_key.into()),
        Frame::Integer(spec.step.into()),
        simple_set(spec.acl_categories()),
        tips,
        key_specs,
        Frame::Set(spec.subcommands.iter().map(describe).collect()),
    ])
}

/// `COMMAND`: every command.
pub fn all() -> Frame {
    Frame::Array(top_level().into_iter().map(describe).collect())
}

/// `COMMAND COUNT`.
pub fn count() -> Frame {
    Frame::Integer(i64::try_from(ferrite_store::commands().count()).unwrap_or(i64::MAX))
}

fn lookup_with_sub(name: &[u8]) -> Option<&'static CommandSpec> {
    let text = std::str::from_utf8(name).ok()?;
    match text.split_once('|') {
        None => ferrite_store::lookup(name),
        Some((parent, _)) => {
            let parent = ferrite_store::lookup(parent.as_bytes())?;
            parent
                .subcommands
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(text))
        }
    }
}

/// `COMMAND INFO [name ...]`: null for unknown names.
pub fn info(argv: &[Bytes]) -> Frame {
    if argv.len() == 2 {
        return all();
    }
    Frame::Array(
        argv[2..]
            .iter()
            .map(|name| lookup_with_sub(name).map_or(Frame::Null, describe))
            .collect(),
    )
}

fn doc(spec: &CommandSpec) -> Frame {
    let captured = spec.redis_meta().and_then(|meta| match meta.docs {
        Frame::Map(pairs) => Some(pairs),
        _ => None,
    });
    let mut pairs = match captured {
        // Redis lists all of its subcommands; Ferrite's are added below.
        Some(pairs) => pairs
            .into_iter()
            .filter(|(k, _)| k.as_bytes().is_none_or(|k| &k[..] != b"subcommands"))
            .collect(),
        None => vec![
            (Frame::bulk("summary"), Frame::bulk(spec.summary)),
            (Frame::bulk("since"), Frame::bulk(spec.since)),
            (Frame::bulk("group"), Frame::bulk(spec.group)),
        ],
    };
    if !spec.subcommands.is_empty() {
        let subs = spec
            .subcommands
            .iter()
            .map(|s| (Frame::bulk(s.name), doc(s)))
            .collect();
        pairs.push((Frame::bulk("subcommands"), Frame::Map(subs)));
    }
    Frame::Map(pairs)
}

/// `COMMAND DOCS [name ...]`: unknown names are left out.
pub fn docs(argv: &[Bytes]) -> Frame {
    let specs: Vec<&'static CommandSpec> = if argv.len() == 2 {
        top_level()
    } else {
        argv[2..]
            .iter()
            .filter_map(|n| lookup_with_sub(n))
            .collect()
    };
    Frame::Map(
        specs
            .into_iter()
            .map(|s| (Frame::bulk(s.name), doc(s)))
            .collect(),
    )
}

/// `COMMAND GETKEYS command [arg ...]`.
pub fn getkeys(argv: &[Bytes]) -> CommandResult {
    let target = &argv[2..];
    let spec = crate::cmd::resolve(target).map_err(|_| CommandError::GetKeysInvalidCommand)?;
    if spec.first_key <= 0 && spec.numkeys_index == 0 && !spec.keys_by_keyword {
        return Err(CommandError::GetKeysNoKeys);
    }
    if !spec.arity_ok(target.len()) {
        return Err(CommandError::GetKeysArity);
    }
    let keys = spec.keys(target);
    if keys.is_empty() && !spec.flags.contains(CommandFlags::NO_MANDATORY_KEYS) {
        return Err(CommandError::GetKeysInvalidArguments);
    }
    Ok(Frame::Array(
        keys.into_iter().map(|k| Frame::Bulk(k.clone())).collect(),
    ))
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`:
/// names of commands and subcommands.
pub fn list(argv: &[Bytes]) -> CommandResult {
    let mut names: Vec<&'static CommandSpec> = Vec::new();
    for spec in top_level() {
        names.push(spec);
        names.extend(spec.subcommands.iter());
    }
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match argv.len() {
        2 => Box::new(|_| true),
        5 if argv[2].eq_ignore_ascii_case(b"filterby") => {
            let value = argv[4].clone();
            match argv[3].to_ascii_lowercase().as_slice() {
                // No modules are loaded.
                b"module" => Box::new(|_| false),
                b"aclcat" => {
                    let wanted =
                        format!("@{}", String::from_utf8_lossy(&value).to_ascii_lowercase());
                    Box::new(move |s| s.acl_categories().contains(&wanted.as_str()))
                }
                b"pattern" => Box::new(move |s| {
                    ferrite_store::glob::matches_nocase(&value, s.name.as_bytes())
                }),
                _ => return Err(CommandError::Syntax),
            }
        }
        _ => return Err(CommandError::Syntax),
    };
    Ok(Frame::Array(
        names
            .into_iter()
            .filter(|s| keep(s))
            .map(|s| Frame::bulk(s.name))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_entry_matches_redis_bytes() {
        let get = ferrite_store::lookup(b"get").unwrap();
        let bytes =
            ferrite_protocol::encode_to_vec(&describe(get), ferrite_protocol::Protocol::Resp2);
        let expected: &[u8] = b"*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(expected)
        );
    }

    #[test]
    fn container_docs_list_only_ferrites_subcommands() {
        let client = ferrite_store::lookup(b"client").unwrap();
        let Frame::Map(pairs) = doc(client) else {
            panic!("docs are a map")
        };
        let subs = pairs
            .iter()
            .filter(|(k, _)| k.as_bytes().is_some_and(|k| &k[..] == b"subcommands"))
            .count();
        assert_eq!(subs, 1);
        let Some((_, Frame::Map(subs))) = pairs.last() else {
            panic!("subcommands last")
        };
        assert_eq!(subs.len(), client.subcommands.len());
    }
}
