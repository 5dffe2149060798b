//! Generic keyspace commands (Redis group `generic`) and DBSIZE/FLUSH*.

use bytes::Bytes;

use crate::args::{eq_ignore_case, parse_cursor, parse_i64, parse_scan_options};
use crate::cmd::{CommandFlags as F, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::glob;
use crate::{reply, Frame};

const W: F = F::WRITE;
const R: F = F::READONLY;
const FAST: F = F::FAST;
const KS: F = F::KEYSPACE;
const KEYSPACE: &[&str] = &["@keyspace"];
const DANGEROUS: &[&str] = &["@keyspace", "@dangerous"];

/// The generic family.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::data("del", -2, W, (1, -1, 1), "generic", "Delete a key", del).acl(KEYSPACE),
    CommandSpec::data("unlink", -2, W.with(FAST), (1, -1, 1), "generic", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", del).acl(KEYSPACE).since("4.0.0"),
    CommandSpec::data("exists", -2, R.with(FAST), (1, -1, 1), "generic", "Determine if a key exists", exists).acl(KEYSPACE),
    CommandSpec::data("expire", -3, W.with(FAST), (1, 1, 1), "generic", "Set a key's time to live in seconds", expire).acl(KEYSPACE),
    CommandSpec::data("pexpire", -3, W.with(FAST), (1, 1, 1), "generic", "Set a key's time to live in milliseconds", pexpire).acl(KEYSPACE).since("2.6.0"),
    CommandSpec::data("expireat", -3, W.with(FAST), (1, 1, 1), "generic", "Set the expiration for a key as a UNIX timestamp", expireat).acl(KEYSPACE).since("1.2.0"),
    CommandSpec::data("pexpireat", -3, W.with(FAST), (1, 1, 1), "generic", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", pexpireat).acl(KEYSPACE).since("2.6.0"),
    CommandSpec::data("ttl", 2, R.with(FAST), (1, 1, 1), "generic", "Get the time to live for a key in seconds", ttl).acl(KEYSPACE),
    CommandSpec::data("pttl", 2, R.with(FAST), (1, 1, 1), "generic", "Get the time to live for a key in milliseconds", pttl).acl(KEYSPACE).since("2.6.0"),
    CommandSpec::data("expiretime", 2, R.with(FAST), (1, 1, 1), "generic", "Get the expiration Unix timestamp for a key", expiretime).acl(KEYSPACE).since("7.0.0"),
    CommandSpec::data("pexpiretime", 2, R.with(FAST), (1, 1, 1), "generic", "Get the expiration Unix timestamp for a key in milliseconds", pexpiretime).acl(KEYSPACE).since("7.0.0"),
    CommandSpec::data("persist", 2, W.with(FAST), (1, 1, 1), "generic", "Remove the expiration from a key", persist).acl(KEYSPACE).since("2.2.0"),
    CommandSpec::data("type", 2, R.with(FAST), (1, 1, 1), "generic", "Determine the type stored at key", type_).acl(KEYSPACE),
    CommandSpec::data("keys", 2, R.with(KS), (0, 0, 0), "generic", "Find all keys matching the given pattern", keys).acl(DANGEROUS),
    CommandSpec::data("scan", -2, R.with(KS), (0, 0, 0), "generic", "Incrementally iterate the keys space", scan).acl(KEYSPACE).since("2.8.0"),
    CommandSpec::data("rename", 3, W, (1, 2, 1), "generic", "Rename a key", rename).acl(KEYSPACE),
    CommandSpec::data("renamenx", 3, W.with(FAST), (1, 2, 1), "generic", "Rename a key, only if the new key does not exist", renamenx).acl(KEYSPACE),
    CommandSpec::data("randomkey", 1, R.with(KS), (0, 0, 0), "generic", "Return a random key from the keyspace", randomkey).acl(KEYSPACE),
    CommandSpec::data("copy", -3, W.with(F::DENYOOM), (1, 2, 1), "generic", "Copy a key", copy).acl(KEYSPACE).since("6.2.0"),
    CommandSpec::data("dbsize", 1, R.with(FAST).with(KS), (0, 0, 0), "server", "Return the number of keys in the selected database", dbsize).acl(KEYSPACE),
    CommandSpec::data("flushdb", -1, W.with(KS), (0, 0, 0), "server", "Remove all keys from the current database", flushdb).acl(DANGEROUS),
    CommandSpec::data("flushall", -1, W.with(KS), (0, 0, 0), "server", "Remove all keys from all databases", flushall).acl(DANGEROUS),
];

/// DEL / UNLINK key [key ...]
fn del(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut n = 0;
    for key in &argv[1..] {
        if ctx.remove(key)?.is_some() {
            n += 1;
        }
    }
    Ok(reply::int(n))
}

/// EXISTS key [key ...] (a key named twice counts twice)
fn exists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut n = 0;
    for key in &argv[1..] {
        if ctx.exists(key)? {
            n += 1;
        }
    }
    Ok(reply::int(n))
}

#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(args: &[Bytes]) -> StoreResult<ExpireFlags> {
    let mut f = ExpireFlags::default();
    for opt in args {
        if eq_ignore_case(opt, "nx") {
            f.nx = true;
        } else if eq_ignore_case(opt, "xx") {
            f.xx = true;
        } else if eq_ignore_case(opt, "gt") {
            f.gt = true;
        } else if eq_ignore_case(opt, "lt") {
            f.lt = true;
        } else {
            return Err(StoreError::Message(format!(
                "ERR Unsupported option {}",
                c_str_lossy(opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(StoreError::Fixed(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(StoreError::Fixed(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// `%s` of a C string: up to the first NUL, CR/LF as spaces.
fn c_str_lossy(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).replace(['\r', '\n'], " ")
}

/// Redis `expireGenericCommand`.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    relative: bool,
    seconds: bool,
    name: &'static str,
) -> StoreResult<Frame> {
    let flags = parse_expire_flags(&argv[3..])?;
    let mut when = parse_i64(&argv[2])?;
    if seconds {
        when = when
            .checked_mul(1000)
            .ok_or(StoreError::InvalidExpireTime(name))?;
    }
    let now = i64::try_from(ctx.now_ms()).unwrap_or(i64::MAX);
    if relative {
        when = when
            .checked_add(now)
            .ok_or(StoreError::InvalidExpireTime(name))?;
    }
    let Some(current) = ctx.expire_at(&argv[1])? else {
        return Ok(reply::int(0));
    };
    let current = current.map(|c| i64::try_from(c).unwrap_or(i64::MAX));
    if flags.nx && current.is_some() {
        return Ok(reply::int(0));
    }
    if flags.xx && current.is_none() {
        return Ok(reply::int(0));
    }
    if flags.gt && current.is_none_or(|c| when <= c) {
        return Ok(reply::int(0));
    }
    if flags.lt && current.is_some_and(|c| when >= c) {
        return Ok(reply::int(0));
    }
    // Flags held and relative times are resolved: replay as an absolute
    // PEXPIREAT (or DEL when the time has passed).
    if when <= now {
        ctx.remove(&argv[1])?;
        ctx.propagate_as(|| crate::effects::del(&argv[1]));
    } else {
        ctx.set_expire(&argv[1], Some(when as u64))?;
        ctx.propagate_as(|| crate::effects::pexpireat(&argv[1], when as u64));
    }
    Ok(reply::int(1))
}

/// EXPIRE key seconds [NX | XX | GT | LT]
fn expire(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    expire_generic(ctx, argv, true, true, "expire")
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
fn pexpire(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    expire_generic(ctx, argv, true, false, "pexpire")
}

/// EXPIREAT key unix-seconds [NX | XX | GT | LT]
fn expireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    expire_generic(ctx, argv, false, true, "expireat")
}

/// PEXPIREAT key unix-ms [NX | XX | GT | LT]
fn pexpireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    expire_generic(ctx, argv, false, false, "pexpireat")
}

/// TTL family: -2 no key, -1 no expiry.
fn ttl_generic(ctx: &mut Ctx<'_>, key: &[u8], ms: bool, absolute: bool) -> StoreResult<Frame> {
    let Some(expire) = ctx.expire_at(key)? else {
        return Ok(reply::int(-2));
    };
    let Some(at) = expire else {
        return Ok(reply::int(-1));
    };
    let at = i64::try_from(at).unwrap_or(i64::MAX);
    if absolute {
        // Redis rounds EXPIRETIME like TTL: (ms + 500) / 1000.
        return Ok(reply::int(if ms {
            at
        } else {
            at.saturating_add(500) / 1000
        }));
    }
    let now = i64::try_from(ctx.now_ms()).unwrap_or(i64::MAX);
    let left = (at - now).max(0);
    Ok(reply::int(if ms { left } else { (left + 500) / 1000 }))
}

/// TTL key
fn ttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    ttl_generic(ctx, &argv[1], false, false)
}

/// PTTL key
fn pttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    ttl_generic(ctx, &argv[1], true, false)
}

/// EXPIRETIME key
fn expiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    ttl_generic(ctx, &argv[1], false, true)
}

/// PEXPIRETIME key
fn pexpiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    ttl_generic(ctx, &argv[1], true, true)
}

/// PERSIST key
fn persist(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    match ctx.expire_at(&argv[1])? {
        Some(Some(_)) => {
            ctx.set_expire(&argv[1], None)?;
            Ok(reply::int(1))
        }
        _ => Ok(reply::int(0)),
    }
}

/// TYPE key
fn type_(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::simple(
        ctx.get(&argv[1])?.map_or("none", |v| v.type_name()),
    ))
}

/// A MATCH pattern, with Redis's shortcut: `*` matches every key (even "").
fn effective_pattern(pattern: &[u8]) -> Option<&[u8]> {
    if pattern == b"*" {
        None
    } else {
        Some(pattern)
    }
}

/// KEYS pattern
fn keys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let keys = ctx.keys(effective_pattern(&argv[1]))?;
    Ok(reply::bulk_array(keys))
}

/// The `[cursor, [items…]]` reply of the SCAN family.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Frame>) -> Frame {
    reply::array(vec![
        reply::bulk(Bytes::from(cursor.to_string())),
        reply::array(items),
    ])
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
fn scan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let cursor = parse_cursor(&argv[1])?;
    let opts = parse_scan_options(&argv[2..], true)?;
    let pattern = opts.pattern.as_deref().and_then(effective_pattern);
    let type_name = opts.type_name.as_deref();
    let (next, keys) = ctx.scan(cursor, opts.count, |key, entry| {
        pattern.is_none_or(|p| glob::matches(p, key))
            && type_name.is_none_or(|t| t.eq_ignore_ascii_case(entry.value.type_name().as_bytes()))
    })?;
    Ok(scan_reply(
        next,
        keys.into_iter().map(reply::bulk).collect(),
    ))
}

/// RENAME / RENAMENX
fn rename_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) -> StoreResult<Frame> {
    let (src, dst) = (&argv[1], &argv[2]);
    if !ctx.exists(src)? {
        return Err(StoreError::NoSuchKey);
    }
    if src == dst {
        return Ok(if nx { reply::int(0) } else { reply::ok() });
    }
    if ctx.exists(dst)? {
        if nx {
            return Ok(reply::int(0));
        }
        ctx.remove(dst)?;
    }
    let Some(entry) = ctx.remove(src)? else {
        return Err(StoreError::NoSuchKey);
    };
    ctx.insert(dst, entry.value, entry.expire_at_ms)?;
    Ok(if nx { reply::int(1) } else { reply::ok() })
}

/// RENAME key newkey
fn rename(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    rename_generic(ctx, argv, false)
}

/// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    rename_generic(ctx, argv, true)
}

/// RANDOMKEY
fn randomkey(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(match ctx.random_key()? {
        Some(key) => reply::bulk(key),
        None => reply::null(),
    })
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let src_db = ctx.db();
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if eq_ignore_case(&argv[j], "replace") {
            replace = true;
        } else if eq_ignore_case(&argv[j], "db") && j + 1 < argv.len() {
            let id = parse_i64(&argv[j + 1])?;
            let id = i32::try_from(id).map_err(|_| StoreError::NotInteger)?;
            if id < 0 || id as usize >= ctx.config().databases {
                return Err(StoreError::DbIndexOutOfRange);
            }
            dst_db = id as usize;
            j += 1;
        } else {
            return Err(StoreError::Syntax);
        }
        j += 1;
    }
    let (src, dst) = (&argv[1], &argv[2]);
    if src_db == dst_db && src == dst {
        return Err(StoreError::Fixed(
            "ERR source and destination objects are the same",
        ));
    }
    let Some(entry) = ctx.get_entry(src)?.cloned() else {
        return Ok(reply::int(0));
    };
    ctx.select(dst_db)?;
    let result = (|| {
        if ctx.exists(dst)? {
            if !replace {
                return Ok(reply::int(0));
            }
            ctx.remove(dst)?;
        }
        ctx.insert(dst, entry.value, entry.expire_at_ms)?;
        Ok(reply::int(1))
    })();
    ctx.select(src_db)?;
    result
}

/// DBSIZE
fn dbsize(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::count(ctx.key_count()?))
}

/// The optional ASYNC | SYNC argument of FLUSHDB/FLUSHALL (both run synchronously).
fn flush_mode(argv: &[Bytes]) -> StoreResult<()> {
    match argv.len() {
        1 => Ok(()),
        2 if eq_ignore_case(&argv[1], "async") || eq_ignore_case(&argv[1], "sync") => Ok(()),
        _ => Err(StoreError::Syntax),
    }
}

/// FLUSHDB [ASYNC | SYNC]
fn flushdb(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    flush_mode(argv)?;
    let db = ctx.db();
    ctx.flush(Some(db))?;
    Ok(reply::ok())
}

/// FLUSHALL [ASYNC | SYNC]
fn flushall(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    flush_mode(argv)?;
    ctx.flush(None)?;
    Ok(reply::ok())
}
