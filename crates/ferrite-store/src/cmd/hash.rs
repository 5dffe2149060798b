//! Hash commands.

use bytes::Bytes;

use crate::args::{eq_ignore_case, parse_cursor, parse_i64, parse_scan_options};
use crate::cmd::keys::scan_reply;
use crate::cmd::{scan_positions, CommandFlags as F, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::glob;
use crate::ldouble::LongDouble;
use crate::value::{parse_canonical_i64, HashValue};
use crate::{reply, Frame};

const W: F = F::WRITE;
const R: F = F::READONLY;
const FAST: F = F::FAST;
const DENYOOM: F = F::DENYOOM;

/// The hash family.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::data(
        "hset",
        -4,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "hash",
        "Set the string value of a hash field",
        hset,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hsetnx",
        4,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "hash",
        "Set the value of a hash field, only if the field does not exist",
        hsetnx,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hget",
        3,
        R.with(FAST),
        (1, 1, 1),
        "hash",
        "Get the value of a hash field",
        hget,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hmget",
        -3,
        R.with(FAST),
        (1, 1, 1),
        "hash",
        "Get the values of all the given hash fields",
        hmget,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hmset",
        -4,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "hash",
        "Set multiple hash fields to multiple values",
        hmset,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hdel",
        -3,
        W.with(FAST),
        (1, 1, 1),
        "hash",
        "Delete one or more hash fields",
        hdel,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hexists",
        3,
        R.with(FAST),
        (1, 1, 1),
        "hash",
        "Determine if a hash field exists",
        hexists,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hlen",
        2,
        R.with(FAST),
        (1, 1, 1),
        "hash",
        "Get the number of fields in a hash",
        hlen,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hkeys",
        2,
        R,
        (1, 1, 1),
        "hash",
        "Get all the fields in a hash",
        hkeys,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hvals",
        2,
        R,
        (1, 1, 1),
        "hash",
        "Get all the values in a hash",
        hvals,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hgetall",
        2,
        R,
        (1, 1, 1),
        "hash",
        "Get all the fields and values in a hash",
        hgetall,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hincrby",
        4,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "hash",
        "Increment the integer value of a hash field by the given number",
        hincrby,
    )
    .since("2.0.0"),
    CommandSpec::data(
        "hincrbyfloat",
        4,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "hash",
        "Increment the float value of a hash field by the given amount",
        hincrbyfloat,
    )
    .since("2.6.0"),
    CommandSpec::data(
        "hstrlen",
        3,
        R.with(FAST),
        (1, 1, 1),
        "hash",
        "Get the length of the value of a hash field",
        hstrlen,
    )
    .since("3.2.0"),
    CommandSpec::data(
        "hscan",
        -3,
        R,
        (1, 1, 1),
        "hash",
        "Incrementally iterate hash fields and associated values",
        hscan,
    )
    .since("2.8.0"),
    CommandSpec::data(
        "hrandfield",
        -2,
        R,
        (1, 1, 1),
        "hash",
        "Get one or multiple random fields from a hash",
        hrandfield,
    )
    .since("6.2.0"),
];

/// Redis keeps hashes of at most this many short entries as an ordered listpack.
fn is_small(cfg: &crate::StoreConfig, hash: &HashValue) -> bool {
    hash.len() <= cfg.hash_small_entries_max
        && hash.iter().all(|(f, v)| {
            f.len() <= cfg.hash_small_value_bytes_max && v.len() <= cfg.hash_small_value_bytes_max
        })
}

/// Removes a field; small hashes keep insertion order (as Redis's listpack).
pub(crate) fn remove_field(
    hash: &mut HashValue,
    field: &[u8],
    small_entries_max: usize,
) -> Option<Bytes> {
    if hash.len() <= small_entries_max {
        hash.shift_remove(field)
    } else {
        hash.swap_remove(field)
    }
}

fn check_pairs(argv: &[Bytes], name: &'static str) -> StoreResult<()> {
    if argv.len() % 2 == 1 {
        Err(StoreError::WrongArity(name))
    } else {
        Ok(())
    }
}

fn set_fields(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<i64> {
    let hash = ctx.hash_or_create(&argv[1])?;
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        match hash.get_mut(&pair[0][..]) {
            Some(value) => *value = Bytes::copy_from_slice(&pair[1]),
            None => {
                hash.insert(
                    Bytes::copy_from_slice(&pair[0]),
                    Bytes::copy_from_slice(&pair[1]),
                );
                created += 1;
            }
        }
    }
    Ok(created)
}

/// HSET key field value [field value ...]
fn hset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    check_pairs(argv, "hset")?;
    Ok(reply::int(set_fields(ctx, argv)?))
}

/// HMSET key field value [field value ...]
fn hmset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    check_pairs(argv, "hmset")?;
    set_fields(ctx, argv)?;
    Ok(reply::ok())
}

/// HSETNX key field value
fn hsetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    if ctx
        .hash(&argv[1])?
        .is_some_and(|h| h.contains_key(&argv[2][..]))
    {
        return Ok(reply::int(0));
    }
    let hash = ctx.hash_or_create(&argv[1])?;
    hash.insert(
        Bytes::copy_from_slice(&argv[2]),
        Bytes::copy_from_slice(&argv[3]),
    );
    Ok(reply::int(1))
}

/// HGET key field
fn hget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(
        match ctx.hash(&argv[1])?.and_then(|h| h.get(&argv[2][..])) {
            Some(v) => reply::bulk(v.clone()),
            None => reply::null(),
        },
    )
}

/// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let hash = ctx.hash(&argv[1])?;
    Ok(reply::array(
        argv[2..]
            .iter()
            .map(|f| match hash.and_then(|h| h.get(&f[..])) {
                Some(v) => reply::bulk(v.clone()),
                None => reply::null(),
            })
            .collect(),
    ))
}

/// HDEL key field [field ...]
fn hdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let Some(hash) = ctx.hash(&argv[1])? else {
        return Ok(reply::int(0));
    };
    if !argv[2..].iter().any(|f| hash.contains_key(&f[..])) {
        return Ok(reply::int(0));
    }
    let small_max = ctx.config().hash_small_entries_max;
    let Some(hash) = ctx.hash_mut(&argv[1])? else {
        return Ok(reply::int(0));
    };
    let mut removed = 0;
    for field in &argv[2..] {
        if remove_field(hash, field, small_max).is_some() {
            removed += 1;
        }
    }
    Ok(reply::int(removed))
}

/// HEXISTS key field
fn hexists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::int(i64::from(
        ctx.hash(&argv[1])?
            .is_some_and(|h| h.contains_key(&argv[2][..])),
    )))
}

/// HLEN key
fn hlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::count(ctx.hash(&argv[1])?.map_or(0, |h| h.len())))
}

/// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::count(
        ctx.hash(&argv[1])?
            .and_then(|h| h.get(&argv[2][..]))
            .map_or(0, |v| v.len()),
    ))
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::bulk_array(
        ctx.hash(&argv[1])?
            .into_iter()
            .flat_map(|h| h.keys().cloned()),
    ))
}

/// HVALS key
fn hvals(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::bulk_array(
        ctx.hash(&argv[1])?
            .into_iter()
            .flat_map(|h| h.values().cloned()),
    ))
}

/// HGETALL key (a map in RESP3)
fn hgetall(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::map(
        ctx.hash(&argv[1])?
            .into_iter()
            .flat_map(|h| {
                h.iter()
                    .map(|(f, v)| (reply::bulk(f.clone()), reply::bulk(v.clone())))
            })
            .collect(),
    ))
}

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let incr = parse_i64(&argv[3])?;
    let current = match ctx.hash(&argv[1])?.and_then(|h| h.get(&argv[2][..])) {
        Some(v) => parse_canonical_i64(v).ok_or(StoreError::HashNotInteger)?,
        None => 0,
    };
    let new = current.checked_add(incr).ok_or(StoreError::Overflow)?;
    let hash = ctx.hash_or_create(&argv[1])?;
    let text = Bytes::from(new.to_string());
    match hash.get_mut(&argv[2][..]) {
        Some(v) => *v = text,
        None => {
            hash.insert(Bytes::copy_from_slice(&argv[2]), text);
        }
    }
    Ok(reply::int(new))
}

/// HINCRBYFLOAT key field increment (long double arithmetic like Redis)
fn hincrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let incr = LongDouble::parse(&argv[3]).ok_or(StoreError::NotFloat)?;
    if incr.is_infinite() {
        return Err(StoreError::Fixed("ERR value is NaN or Infinity"));
    }
    let current = match ctx.hash(&argv[1])?.and_then(|h| h.get(&argv[2][..])) {
        Some(v) => match parse_canonical_i64(v) {
            Some(n) => LongDouble::from_i64(n),
            None => LongDouble::parse(v).ok_or(StoreError::HashNotFloat)?,
        },
        None => LongDouble::ZERO,
    };
    let sum = current.add(&incr).ok_or(StoreError::NanOrInfinity)?;
    let text = Bytes::from(sum.to_human_string());
    let hash = ctx.hash_or_create(&argv[1])?;
    match hash.get_mut(&argv[2][..]) {
        Some(v) => *v = text.clone(),
        None => {
            hash.insert(Bytes::copy_from_slice(&argv[2]), text.clone());
        }
    }
    // The long-double sum is platform arithmetic: replay the result.
    ctx.propagate_as(|| {
        vec![
            Bytes::from_static(b"HSET"),
            argv[1].clone(),
            argv[2].clone(),
            text.clone(),
        ]
    });
    Ok(reply::bulk(text))
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let cursor = parse_cursor(&argv[2])?;
    let cfg = ctx.config().clone();
    let small = match ctx.hash(&argv[1])? {
        None => return Ok(scan_reply(0, Vec::new())),
        Some(h) => is_small(&cfg, h),
    };
    let opts = parse_scan_options(&argv[3..], false)?;
    let Some(hash) = ctx.hash(&argv[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let pattern = opts.pattern.as_deref().filter(|p| *p != b"*");
    let (range, next) = if small {
        (0..hash.len(), 0)
    } else {
        scan_positions(hash.len(), cursor, opts.count)
    };
    let mut items = Vec::new();
    let indexes: Vec<usize> = if small {
        range.collect()
    } else {
        range.rev().collect()
    };
    for i in indexes {
        if let Some((f, v)) = hash.get_index(i) {
            if pattern.is_none_or(|p| glob::matches(p, f)) {
                items.push(reply::bulk(f.clone()));
                items.push(reply::bulk(v.clone()));
            }
        }
    }
    Ok(scan_reply(next, items))
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    use rand::Rng;
    if argv.len() == 2 {
        let Some(hash) = ctx.hash(&argv[1])? else {
            return Ok(reply::null());
        };
        if hash.is_empty() {
            return Ok(reply::null());
        }
        let i = rand::rng().random_range(0..hash.len());
        return Ok(hash
            .get_index(i)
            .map_or_else(reply::null, |(f, _)| reply::bulk(f.clone())));
    }
    let count = parse_i64(&argv[2])?;
    if count == i64::MIN {
        return Err(StoreError::Fixed(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_values = match argv.len() {
        3 => false,
        4 if eq_ignore_case(&argv[3], "withvalues") => true,
        _ => return Err(StoreError::Syntax),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(StoreError::OutOfRange("value is out of range"));
    }
    let resp3 = ctx.resp3();
    let ctx_max = ctx.config().random_reply_elements_max;
    let Some(hash) = ctx.hash(&argv[1])? else {
        return Ok(reply::array(Vec::new()));
    };
    let picks = random_indexes(hash.len(), count, ctx_max)?;
    let mut items = Vec::with_capacity(picks.len() * if with_values { 2 } else { 1 });
    for i in picks {
        let Some((f, v)) = hash.get_index(i) else {
            continue;
        };
        if !with_values {
            items.push(reply::bulk(f.clone()));
        } else if resp3 {
            items.push(reply::array(vec![
                reply::bulk(f.clone()),
                reply::bulk(v.clone()),
            ]));
        } else {
            items.push(reply::bulk(f.clone()));
            items.push(reply::bulk(v.clone()));
        }
    }
    Ok(reply::array(items))
}

/// Indexes for the count forms of HRANDFIELD/SRANDMEMBER: `count > 0`
/// distinct elements (all if fewer), `count < 0` `|count|` draws with
/// repetition, at most `max` of them (`StoreConfig::random_reply_elements_max`).
pub(crate) fn random_indexes(len: usize, count: i64, max: usize) -> StoreResult<Vec<usize>> {
    use rand::Rng;
    let mut rng = rand::rng();
    if len == 0 || count == 0 {
        return Ok(Vec::new());
    }
    if count < 0 {
        let n = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        if n > max {
            return Err(StoreError::Fixed("ERR count is too large for one reply"));
        }
        return Ok((0..n).map(|_| rng.random_range(0..len)).collect());
    }
    let n = usize::try_from(count).unwrap_or(usize::MAX);
    if n >= len {
        return Ok((0..len).collect());
    }
    if n == 1 {
        return Ok(vec![rng.random_range(0..len)]);
    }
    Ok(rand::seq::index::sample(&mut rng, len, n).into_vec())
}
