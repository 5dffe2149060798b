//! String commands.

use bytes::Bytes;

use crate::args::{eq_ignore_case, parse_i64};
use crate::cmd::{CommandFlags as F, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::ldouble::LongDouble;
use crate::value::{StrValue, Value};
use crate::{reply, Frame};

const W: F = F::WRITE;
const R: F = F::READONLY;
const DENYOOM: F = F::DENYOOM;
const FAST: F = F::FAST;

/// The string family.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::data(
        "get",
        2,
        R.with(FAST),
        (1, 1, 1),
        "string",
        "Get the value of a key",
        get,
    ),
    CommandSpec::data(
        "set",
        -3,
        W.with(DENYOOM),
        (1, 1, 1),
        "string",
        "Set the string value of a key",
        set,
    ),
    CommandSpec::data(
        "setnx",
        3,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "string",
        "Set the value of a key, only if the key does not exist",
        setnx,
    ),
    CommandSpec::data(
        "setex",
        4,
        W.with(DENYOOM),
        (1, 1, 1),
        "string",
        "Set the value and expiration of a key",
        setex,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "psetex",
        4,
        W.with(DENYOOM),
        (1, 1, 1),
        "string",
        "Set the value and expiration in milliseconds of a key",
        psetex,
    )
    .since("2.6.0"),
    CommandSpec::data(
        "mget",
        -2,
        R.with(FAST),
        (1, -1, 1),
        "string",
        "Get the values of all the given keys",
        mget,
    ),
    CommandSpec::data(
        "mset",
        -3,
        W.with(DENYOOM),
        (1, -1, 2),
        "string",
        "Set multiple keys to multiple values",
        mset,
    )
    .since("1.0.1"),
    CommandSpec::data(
        "msetnx",
        -3,
        W.with(DENYOOM),
        (1, -1, 2),
        "string",
        "Set multiple keys to multiple values, only if none of the keys exist",
        msetnx,
    )
    .since("1.0.1"),
    CommandSpec::data(
        "incr",
        2,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "string",
        "Increment the integer value of a key by one",
        incr,
    ),
    CommandSpec::data(
        "decr",
        2,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "string",
        "Decrement the integer value of a key by one",
        decr,
    ),
    CommandSpec::data(
        "incrby",
        3,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "string",
        "Increment the integer value of a key by the given amount",
        incrby,
    ),
    CommandSpec::data(
        "decrby",
        3,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "string",
        "Decrement the integer value of a key by the given number",
        decrby,
    ),
    CommandSpec::data(
        "incrbyfloat",
        3,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "string",
        "Increment the float value of a key by the given amount",
        incrbyfloat,
    )
    .since("2.6.0"),
    CommandSpec::data(
        "append",
        3,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "string",
        "Append a value to a key",
        append,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "strlen",
        2,
        R.with(FAST),
        (1, 1, 1),
        "string",
        "Get the length of the value stored in a key",
        strlen,
    )
    .since("2.2.0"),
    CommandSpec::data(
        "getrange",
        4,
        R,
        (1, 1, 1),
        "string",
        "Get a substring of the string stored at a key",
        getrange,
    )
    .since("2.4.0"),
    CommandSpec::data(
        "setrange",
        4,
        W.with(DENYOOM),
        (1, 1, 1),
        "string",
        "Overwrite part of a string at key starting at the specified offset",
        setrange,
    )
    .since("2.2.0"),
    CommandSpec::data(
        "getdel",
        2,
        W.with(FAST),
        (1, 1, 1),
        "string",
        "Get the value of a key and delete the key",
        getdel,
    )
    .since("6.2.0"),
    CommandSpec::data(
        "getex",
        -2,
        W.with(FAST),
        (1, 1, 1),
        "string",
        "Get the value of a key and optionally set its expiration",
        getex,
    )
    .since("6.2.0"),
];

/// GET key
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(match ctx.string(&argv[1])? {
        Some(s) => reply::bulk(s.to_bytes()),
        None => reply::null(),
    })
}

/// Expiry options shared by SET and GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpireOpt {
    /// EX seconds (relative).
    Ex,
    /// PX milliseconds (relative).
    Px,
    /// EXAT unix-seconds.
    ExAt,
    /// PXAT unix-milliseconds.
    PxAt,
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute Unix-ms time, with
/// Redis's validation (`ERR invalid expire time in '<cmd>' command`).
pub(crate) fn absolute_expiry(
    ctx: &Ctx<'_>,
    opt: ExpireOpt,
    arg: &[u8],
    command: &'static str,
) -> StoreResult<u64> {
    let n = parse_i64(arg)?;
    let seconds = matches!(opt, ExpireOpt::Ex | ExpireOpt::ExAt);
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(StoreError::InvalidExpireTime(command));
    }
    let mut when = if seconds { n * 1000 } else { n };
    if matches!(opt, ExpireOpt::Ex | ExpireOpt::Px) {
        let now = i64::try_from(ctx.now_ms()).unwrap_or(i64::MAX);
        when = when
            .checked_add(now)
            .ok_or(StoreError::InvalidExpireTime(command))?;
    }
    Ok(when as u64)
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(ExpireOpt, &Bytes)> = None;
    let mut j = 3;
    while j < argv.len() {
        let opt = &argv[j];
        let next = argv.get(j + 1);
        let has_expire = expire.is_some();
        let expire_kind = expire.map(|(k, _)| k);
        if eq_ignore_case(opt, "nx") && !xx {
            nx = true;
        } else if eq_ignore_case(opt, "xx") && !nx {
            xx = true;
        } else if eq_ignore_case(opt, "get") {
            get = true;
        } else if eq_ignore_case(opt, "keepttl") && !has_expire {
            keepttl = true;
        } else if let (Some(kind), Some(value)) = (expire_option(opt), next) {
            // Redis allows repeating the same option (last wins), not mixing.
            if keepttl || (has_expire && expire_kind != Some(kind)) {
                return Err(StoreError::Syntax);
            }
            expire = Some((kind, value));
            j += 1;
        } else {
            return Err(StoreError::Syntax);
        }
        j += 1;
    }
    let expire_at = match expire {
        Some((kind, value)) => Some(absolute_expiry(ctx, kind, value, "set")?),
        None => None,
    };
    let key = &argv[1];
    let old = if get {
        Some(match ctx.string(key)? {
            Some(s) => reply::bulk(s.to_bytes()),
            None => reply::null(),
        })
    } else {
        None
    };
    if nx || xx {
        let found = ctx.exists(key)?;
        if (nx && found) || (xx && !found) {
            return Ok(old.unwrap_or_else(reply::null));
        }
    }
    let value = Value::String(StrValue::from_slice(&argv[2]));
    if keepttl {
        ctx.insert_keep_ttl(key, value)?;
    } else {
        ctx.insert(key, value, expire_at)?;
    }
    if argv.len() > 3 {
        // NX/XX held and GET only read: replay as a plain SET with an
        // absolute expiry (or KEEPTTL).
        ctx.propagate_as(|| match expire_at {
            Some(at) => set_pxat(key, &argv[2], at),
            None if keepttl => vec![
                Bytes::from_static(b"SET"),
                key.clone(),
                argv[2].clone(),
                Bytes::from_static(b"KEEPTTL"),
            ],
            None => vec![Bytes::from_static(b"SET"), key.clone(), argv[2].clone()],
        });
    }
    Ok(old.unwrap_or_else(reply::ok))
}

/// The effect `SET key value PXAT at` (absolute expiry, Unix ms).
fn set_pxat(key: &Bytes, value: &Bytes, at: u64) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        value.clone(),
        Bytes::from_static(b"PXAT"),
        Bytes::from(at.to_string()),
    ]
}

fn expire_option(opt: &[u8]) -> Option<ExpireOpt> {
    if eq_ignore_case(opt, "ex") {
        Some(ExpireOpt::Ex)
    } else if eq_ignore_case(opt, "px") {
        Some(ExpireOpt::Px)
    } else if eq_ignore_case(opt, "exat") {
        Some(ExpireOpt::ExAt)
    } else if eq_ignore_case(opt, "pxat") {
        Some(ExpireOpt::PxAt)
    } else {
        None
    }
}

/// SETNX key value
fn setnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    if ctx.exists(&argv[1])? {
        return Ok(reply::int(0));
    }
    ctx.insert(&argv[1], Value::string(&argv[2]), None)?;
    Ok(reply::int(1))
}

/// SETEX key seconds value
fn setex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let at = absolute_expiry(ctx, ExpireOpt::Ex, &argv[2], "setex")?;
    ctx.insert(&argv[1], Value::string(&argv[3]), Some(at))?;
    ctx.propagate_as(|| set_pxat(&argv[1], &argv[3], at));
    Ok(reply::ok())
}

/// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let at = absolute_expiry(ctx, ExpireOpt::Px, &argv[2], "psetex")?;
    ctx.insert(&argv[1], Value::string(&argv[3]), Some(at))?;
    ctx.propagate_as(|| set_pxat(&argv[1], &argv[3], at));
    Ok(reply::ok())
}

/// MGET key [key ...]: non-strings read as nil.
fn mget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut out = Vec::with_capacity(argv.len() - 1);
    for key in &argv[1..] {
        out.push(match ctx.get(key)? {
            Some(Value::String(s)) => reply::bulk(s.to_bytes()),
            _ => reply::null(),
        });
    }
    Ok(reply::array(out))
}

fn check_pairs(argv: &[Bytes], name: &'static str) -> StoreResult<()> {
    if argv.len() % 2 == 0 {
        Err(StoreError::WrongArity(name))
    } else {
        Ok(())
    }
}

/// MSET key value [key value ...]
fn mset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    check_pairs(argv, "mset")?;
    for pair in argv[1..].chunks_exact(2) {
        ctx.insert(&pair[0], Value::string(&pair[1]), None)?;
    }
    Ok(reply::ok())
}

/// MSETNX key value [key value ...]
fn msetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    check_pairs(argv, "msetnx")?;
    for pair in argv[1..].chunks_exact(2) {
        if ctx.exists(&pair[0])? {
            return Ok(reply::int(0));
        }
    }
    for pair in argv[1..].chunks_exact(2) {
        ctx.insert(&pair[0], Value::string(&pair[1]), None)?;
    }
    Ok(reply::int(1))
}

/// Adds `delta` to the integer at `key` (created as 0), keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> StoreResult<Frame> {
    let current = match ctx.string(key)? {
        Some(s) => s.as_i64().ok_or(StoreError::NotInteger)?,
        None => 0,
    };
    let new = current.checked_add(delta).ok_or(StoreError::Overflow)?;
    ctx.insert_keep_ttl(key, Value::String(StrValue::Int(new)))?;
    Ok(reply::int(new))
}

/// INCR key
fn incr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    incr_by(ctx, &argv[1], 1)
}

/// DECR key
fn decr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    incr_by(ctx, &argv[1], -1)
}

/// INCRBY key increment
fn incrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let delta = parse_i64(&argv[2])?;
    incr_by(ctx, &argv[1], delta)
}

/// DECRBY key decrement
fn decrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let delta = parse_i64(&argv[2])?;
    if delta == i64::MIN {
        return Err(StoreError::Fixed("ERR decrement would overflow"));
    }
    incr_by(ctx, &argv[1], -delta)
}

/// INCRBYFLOAT key increment (x87 long double arithmetic, `%.17Lf` output, as Redis).
fn incrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let key = &argv[1];
    let current = match ctx.string(key)? {
        Some(StrValue::Int(n)) => LongDouble::from_i64(*n),
        Some(StrValue::Raw(b)) => LongDouble::parse(b).ok_or(StoreError::NotFloat)?,
        None => LongDouble::ZERO,
    };
    let incr = LongDouble::parse(&argv[2]).ok_or(StoreError::NotFloat)?;
    let sum = current.add(&incr).ok_or(StoreError::NanOrInfinity)?;
    let text = Bytes::from(sum.to_human_string());
    let value = Value::String(StrValue::from_bytes(text.clone()));
    ctx.insert_keep_ttl(key, value)?;
    // The long-double sum is platform arithmetic: replay the result.
    ctx.propagate_as(|| {
        vec![
            Bytes::from_static(b"SET"),
            key.clone(),
            text.clone(),
            Bytes::from_static(b"KEEPTTL"),
        ]
    });
    Ok(reply::bulk(text))
}

/// Redis `checkStringLength`.
fn check_string_length(ctx: &Ctx<'_>, size: usize, append: usize) -> StoreResult<()> {
    match size.checked_add(append) {
        Some(total) if total <= ctx.config().string_bytes_max => Ok(()),
        _ => Err(StoreError::StringTooLong),
    }
}

/// APPEND key value
fn append(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let key = &argv[1];
    let Some(current) = ctx.string(key)? else {
        ctx.insert(key, Value::string(&argv[2]), None)?;
        return Ok(reply::count(argv[2].len()));
    };
    let len = current.len();
    let current = current.to_bytes();
    check_string_length(ctx, len, argv[2].len())?;
    if argv[2].is_empty() {
        return Ok(reply::count(len));
    }
    let mut bytes = Vec::with_capacity(len + argv[2].len());
    bytes.extend_from_slice(&current);
    bytes.extend_from_slice(&argv[2]);
    let new_len = bytes.len();
    if let Some(s) = ctx.string_mut(key)? {
        *s = StrValue::from_bytes(Bytes::from(bytes));
    }
    Ok(reply::count(new_len))
}

/// STRLEN key
fn strlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::count(ctx.string(&argv[1])?.map_or(0, StrValue::len)))
}

/// GETRANGE key start end
fn getrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut start = parse_i64(&argv[2])?;
    let mut end = parse_i64(&argv[3])?;
    let Some(value) = ctx.string(&argv[1])? else {
        return Ok(reply::bulk(Bytes::new()));
    };
    let bytes = value.to_bytes();
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(reply::bulk(Bytes::new()));
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(reply::bulk(Bytes::new()));
    }
    Ok(reply::bulk(bytes.slice(start as usize..=end as usize)))
}

/// SETRANGE key offset value
fn setrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let key = &argv[1];
    let value = &argv[3];
    let offset = parse_i64(&argv[2])?;
    let offset =
        usize::try_from(offset).map_err(|_| StoreError::OutOfRange("offset is out of range"))?;
    let current = match ctx.string(key)? {
        None => {
            if value.is_empty() {
                return Ok(reply::int(0));
            }
            check_string_length(ctx, offset, value.len())?;
            None
        }
        Some(s) => {
            if value.is_empty() {
                return Ok(reply::count(s.len()));
            }
            let bytes = s.to_bytes();
            check_string_length(ctx, offset, value.len())?;
            Some(bytes)
        }
    };
    let mut bytes = current.map(|b| b.to_vec()).unwrap_or_default();
    let end = offset + value.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[offset..end].copy_from_slice(value);
    let new_len = bytes.len();
    let new = StrValue::from_bytes(Bytes::from(bytes));
    match ctx.string_mut(key)? {
        Some(s) => *s = new,
        None => ctx.insert(key, Value::String(new), None)?,
    }
    Ok(reply::count(new_len))
}

/// GETDEL key
fn getdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let Some(value) = ctx.string(&argv[1])? else {
        return Ok(reply::null());
    };
    let bytes = value.to_bytes();
    ctx.remove(&argv[1])?;
    ctx.propagate_as(|| crate::effects::del(&argv[1]));
    Ok(reply::bulk(bytes))
}

/// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]
fn getex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut persist = false;
    let mut expire: Option<(ExpireOpt, &Bytes)> = None;
    let mut j = 2;
    while j < argv.len() {
        let opt = &argv[j];
        if eq_ignore_case(opt, "persist") && expire.is_none() {
            persist = true;
        } else if let (Some(kind), Some(value)) = (expire_option(opt), argv.get(j + 1)) {
            if persist || expire.is_some_and(|(k, _)| k != kind) {
                return Err(StoreError::Syntax);
            }
            expire = Some((kind, value));
            j += 1;
        } else {
            return Err(StoreError::Syntax);
        }
        j += 1;
    }
    let key = &argv[1];
    let Some(value) = ctx.string(key)? else {
        return Ok(reply::null());
    };
    let bytes = value.to_bytes();
    // Redis validates the expire time after the lookup and type check.
    let expire_at = match expire {
        Some((kind, value)) => Some((kind, absolute_expiry(ctx, kind, value, "getex")?)),
        None => None,
    };
    match expire_at {
        Some((ExpireOpt::ExAt | ExpireOpt::PxAt, at)) if at <= ctx.now_ms() => {
            ctx.remove(key)?;
            ctx.propagate_as(|| crate::effects::del(key));
        }
        Some((_, at)) => {
            ctx.set_expire(key, Some(at))?;
            ctx.propagate_as(|| crate::effects::pexpireat(key, at));
        }
        None if persist && ctx.expire_at(key)?.flatten().is_some() => {
            ctx.set_expire(key, None)?;
            ctx.propagate_as(|| vec![Bytes::from_static(b"PERSIST"), key.clone()]);
        }
        None => {}
    }
    Ok(reply::bulk(bytes))
}
