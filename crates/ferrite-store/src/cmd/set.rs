//! Set commands.

use bytes::Bytes;

use crate::args::{parse_cursor, parse_i64, parse_scan_options};
use crate::cmd::hash::random_indexes;
use crate::cmd::keys::scan_reply;
use crate::cmd::{scan_positions, CommandFlags as F, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::glob;
use crate::value::{parse_canonical_i64, SetValue, Value};
use crate::{reply, Frame};

const W: F = F::WRITE;
const R: F = F::READONLY;
const FAST: F = F::FAST;
const DENYOOM: F = F::DENYOOM;

/// The set family.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::data(
        "sadd",
        -3,
        W.with(DENYOOM).with(FAST),
        (1, 1, 1),
        "set",
        "Add one or more members to a set",
        sadd,
    ),
    CommandSpec::data(
        "srem",
        -3,
        W.with(FAST),
        (1, 1, 1),
        "set",
        "Remove one or more members from a set",
        srem,
    ),
    CommandSpec::data(
        "smembers",
        2,
        R,
        (1, 1, 1),
        "set",
        "Get all the members in a set",
        smembers,
    ),
    CommandSpec::data(
        "sismember",
        3,
        R.with(FAST),
        (1, 1, 1),
        "set",
        "Determine if a given value is a member of a set",
        sismember,
    ),
    CommandSpec::data(
        "smismember",
        -3,
        R.with(FAST),
        (1, 1, 1),
        "set",
        "Returns the membership associated with the given elements for a set",
        smismember,
    )
    .since("6.2.0"),
    CommandSpec::data(
        "scard",
        2,
        R.with(FAST),
        (1, 1, 1),
        "set",
        "Get the number of members in a set",
        scard,
    ),
    CommandSpec::data(
        "spop",
        -2,
        W.with(FAST),
        (1, 1, 1),
        "set",
        "Remove and return one or multiple random members from a set",
        spop,
    ),
    CommandSpec::data(
        "srandmember",
        -2,
        R,
        (1, 1, 1),
        "set",
        "Get one or multiple random members from a set",
        srandmember,
    ),
    CommandSpec::data(
        "sinter",
        -2,
        R,
        (1, -1, 1),
        "set",
        "Intersect multiple sets",
        sinter,
    ),
    CommandSpec::data(
        "sunion",
        -2,
        R,
        (1, -1, 1),
        "set",
        "Add multiple sets",
        sunion,
    ),
    CommandSpec::data(
        "sdiff",
        -2,
        R,
        (1, -1, 1),
        "set",
        "Subtract multiple sets",
        sdiff,
    ),
    CommandSpec::data(
        "sinterstore",
        -3,
        W.with(DENYOOM),
        (1, -1, 1),
        "set",
        "Intersect multiple sets and store the resulting set in a key",
        sinterstore,
    ),
    CommandSpec::data(
        "sunionstore",
        -3,
        W.with(DENYOOM),
        (1, -1, 1),
        "set",
        "Add multiple sets and store the resulting set in a key",
        sunionstore,
    ),
    CommandSpec::data(
        "sdiffstore",
        -3,
        W.with(DENYOOM),
        (1, -1, 1),
        "set",
        "Subtract multiple sets and store the resulting set in a key",
        sdiffstore,
    ),
    CommandSpec::data(
        "sscan",
        -3,
        R,
        (1, 1, 1),
        "set",
        "Incrementally iterate Set elements",
        sscan,
    )
    .since("2.8.0"),
];

/// Whether Redis would keep this set as an intset (sorted integers).
fn is_intset(set: &SetValue, max: usize) -> bool {
    set.len() <= max && set.iter().all(|m| parse_canonical_i64(m).is_some())
}

/// Members in Redis's visible order where it is deterministic: intsets are
/// sorted numerically; other sets come in storage order.
fn ordered_members(set: &SetValue, intset_max: usize) -> Vec<Bytes> {
    let mut members: Vec<Bytes> = set.iter().cloned().collect();
    if is_intset(set, intset_max) {
        members.sort_by_key(|m| parse_canonical_i64(m).unwrap_or(0));
    }
    members
}

/// SADD key member [member ...]
fn sadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    if let Some(set) = ctx.set(&argv[1])? {
        if argv[2..].iter().all(|m| set.contains(&m[..])) {
            return Ok(reply::int(0));
        }
    }
    let set = ctx.set_or_create(&argv[1])?;
    let mut added = 0;
    for member in &argv[2..] {
        if !set.contains(&member[..]) {
            set.insert(Bytes::copy_from_slice(member));
            added += 1;
        }
    }
    Ok(reply::int(added))
}

/// SREM key member [member ...]
fn srem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let Some(set) = ctx.set(&argv[1])? else {
        return Ok(reply::int(0));
    };
    if !argv[2..].iter().any(|m| set.contains(&m[..])) {
        return Ok(reply::int(0));
    }
    let Some(set) = ctx.set_mut(&argv[1])? else {
        return Ok(reply::int(0));
    };
    let mut removed = 0;
    for member in &argv[2..] {
        if set.swap_remove(&member[..]) {
            removed += 1;
        }
    }
    Ok(reply::int(removed))
}

/// SMEMBERS key
fn smembers(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let max = ctx.config().set_small_int_entries_max;
    Ok(reply::bulk_set(
        ctx.set(&argv[1])?
            .map(|s| ordered_members(s, max))
            .unwrap_or_default(),
    ))
}

/// SISMEMBER key member
fn sismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::int(i64::from(
        ctx.set(&argv[1])?.is_some_and(|s| s.contains(&argv[2][..])),
    )))
}

/// SMISMEMBER key member [member ...]
fn smismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let set = ctx.set(&argv[1])?;
    Ok(reply::array(
        argv[2..]
            .iter()
            .map(|m| reply::int(i64::from(set.is_some_and(|s| s.contains(&m[..])))))
            .collect(),
    ))
}

/// SCARD key
fn scard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::count(ctx.set(&argv[1])?.map_or(0, |s| s.len())))
}

/// SPOP key [count]
fn spop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    use rand::Rng;
    let max = ctx.config().set_small_int_entries_max;
    if argv.len() == 2 {
        let Some(set) = ctx.set_mut(&argv[1])? else {
            return Ok(reply::null());
        };
        if set.is_empty() {
            return Ok(reply::null());
        }
        let i = rand::rng().random_range(0..set.len());
        let popped = set.swap_remove_index(i);
        if let Some(member) = &popped {
            ctx.propagate_as(|| crate::effects::srem(&argv[1], std::slice::from_ref(member)));
        }
        return Ok(popped.map_or_else(reply::null, reply::bulk));
    }
    if argv.len() > 3 {
        return Err(StoreError::Syntax);
    }
    let count = match parse_i64(&argv[2]) {
        Ok(n) if n >= 0 => n,
        _ => {
            return Err(StoreError::OutOfRange(
                "value is out of range, must be positive",
            ))
        }
    };
    let Some(set) = ctx.set(&argv[1])? else {
        return Ok(reply::set(Vec::new()));
    };
    if count == 0 {
        return Ok(reply::set(Vec::new()));
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= set.len() {
        let members = ordered_members(set, max);
        ctx.remove(&argv[1])?;
        ctx.propagate_as(|| crate::effects::del(&argv[1]));
        return Ok(reply::bulk_set(members));
    }
    let Some(set) = ctx.set_mut(&argv[1])? else {
        return Ok(reply::set(Vec::new()));
    };
    let mut rng = rand::rng();
    let mut popped = Vec::with_capacity(count);
    for _ in 0..count {
        let i = rng.random_range(0..set.len());
        if let Some(m) = set.swap_remove_index(i) {
            popped.push(m);
        }
    }
    // Random choice: replay as the removal of the members popped.
    ctx.propagate_as(|| crate::effects::srem(&argv[1], &popped));
    Ok(reply::set(popped.into_iter().map(reply::bulk).collect()))
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    use rand::Rng;
    let intset_max = ctx.config().set_small_int_entries_max;
    if argv.len() == 2 {
        let Some(set) = ctx.set(&argv[1])? else {
            return Ok(reply::null());
        };
        if set.is_empty() {
            return Ok(reply::null());
        }
        let i = rand::rng().random_range(0..set.len());
        return Ok(set
            .get_index(i)
            .map_or_else(reply::null, |m| reply::bulk(m.clone())));
    }
    if argv.len() > 3 {
        return Err(StoreError::Syntax);
    }
    let count = parse_i64(&argv[2])?;
    if count == i64::MIN {
        return Err(StoreError::Fixed(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let max = ctx.config().random_reply_elements_max;
    let Some(set) = ctx.set(&argv[1])? else {
        return Ok(reply::array(Vec::new()));
    };
    if count > 0 && usize::try_from(count).unwrap_or(usize::MAX) >= set.len() {
        // An array, also under RESP3 (redis-server 7.0.15 replies `*n` here).
        return Ok(reply::bulk_array(ordered_members(set, intset_max)));
    }
    let picks = random_indexes(set.len(), count, max)?;
    Ok(reply::array(
        picks
            .into_iter()
            .filter_map(|i| set.get_index(i).map(|m| reply::bulk(m.clone())))
            .collect(),
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Computes an operation over the sets at `keys` (WRONGTYPE if any key holds
/// another type, even after a missing key).
fn compute(ctx: &mut Ctx<'_>, keys: &[Bytes], op: Op) -> StoreResult<SetValue> {
    let mut sets: Vec<Option<SetValue>> = Vec::with_capacity(keys.len());
    for key in keys {
        sets.push(ctx.set(key)?.cloned());
    }
    Ok(match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(SetValue::default());
            }
            let mut sets: Vec<SetValue> = sets.into_iter().flatten().collect();
            sets.sort_by_key(|s| s.len());
            let (first, rest) = sets
                .split_first()
                .map_or((None, &[][..]), |(f, r)| (Some(f), r));
            first
                .into_iter()
                .flat_map(|f| f.iter())
                .filter(|m| rest.iter().all(|s| s.contains(*m)))
                .cloned()
                .collect()
        }
        Op::Union => {
            let mut out = SetValue::default();
            for set in sets.into_iter().flatten() {
                out.extend(set);
            }
            out
        }
        Op::Diff => {
            let mut iter = sets.into_iter();
            let Some(Some(mut first)) = iter.next() else {
                return Ok(SetValue::default());
            };
            for set in iter.flatten() {
                first.retain(|m| !set.contains(m));
            }
            first
        }
    })
}

fn op_reply(ctx: &mut Ctx<'_>, keys: &[Bytes], op: Op) -> StoreResult<Frame> {
    let max = ctx.config().set_small_int_entries_max;
    let result = compute(ctx, keys, op)?;
    Ok(reply::bulk_set(ordered_members(&result, max)))
}

fn op_store(ctx: &mut Ctx<'_>, argv: &[Bytes], op: Op) -> StoreResult<Frame> {
    let result = compute(ctx, &argv[2..], op)?;
    let n = result.len();
    if result.is_empty() {
        ctx.remove(&argv[1])?;
    } else {
        ctx.insert(&argv[1], Value::Set(Box::new(result)), None)?;
    }
    Ok(reply::count(n))
}

/// SINTER key [key ...]
fn sinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    op_reply(ctx, &argv[1..], Op::Inter)
}

/// SUNION key [key ...]
fn sunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    op_reply(ctx, &argv[1..], Op::Union)
}

/// SDIFF key [key ...]
fn sdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    op_reply(ctx, &argv[1..], Op::Diff)
}

/// SINTERSTORE destination key [key ...]
fn sinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    op_store(ctx, argv, Op::Inter)
}

/// SUNIONSTORE destination key [key ...]
fn sunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    op_store(ctx, argv, Op::Union)
}

/// SDIFFSTORE destination key [key ...]
fn sdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    op_store(ctx, argv, Op::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let cursor = parse_cursor(&argv[2])?;
    let intset_max = ctx.config().set_small_int_entries_max;
    if ctx.set(&argv[1])?.is_none() {
        return Ok(scan_reply(0, Vec::new()));
    }
    let opts = parse_scan_options(&argv[3..], false)?;
    let Some(set) = ctx.set(&argv[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let pattern = opts.pattern.as_deref().filter(|p| *p != b"*");
    let keep = |m: &Bytes| pattern.is_none_or(|p| glob::matches(p, m));
    if is_intset(set, intset_max) || set.len() <= opts.count {
        let items = ordered_members(set, intset_max)
            .into_iter()
            .filter(keep)
            .map(reply::bulk)
            .collect();
        return Ok(scan_reply(0, items));
    }
    let (range, next) = scan_positions(set.len(), cursor, opts.count);
    let items = range
        .rev()
        .filter_map(|i| set.get_index(i))
        .filter(|m| keep(m))
        .map(|m| reply::bulk(m.clone()))
        .collect();
    Ok(scan_reply(next, items))
}
