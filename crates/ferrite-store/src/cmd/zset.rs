//! Commands of the `sorted_set` family: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE,
//! ZMSCORE, the ZRANGE family (ZRANGE, ZRANGEBYSCORE, ZREVRANGE,
//! ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZRANGESTORE), ZRANK, ZREVRANK, ZCOUNT,
//! ZLEXCOUNT, ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX, ZPOPMIN,
//! ZPOPMAX, ZMPOP, ZRANDMEMBER, ZSCAN, and the multi-key ZUNION, ZINTER, ZDIFF,
//! their STORE forms and ZINTERCARD.
//!
//! Each handler parses every argument first (as Redis does, so syntax errors
//! win over WRONGTYPE), then applies through [`Ctx`], then builds the reply.
//! Replies and error texts are Redis 7.0's; scores go out as
//! [`Frame::Double`] wherever Redis uses `addReplyDouble`.

use bytes::Bytes;

use crate::args::{self, eq_ignore_case};
use crate::cmd::hash::random_indexes;
use crate::cmd::keys::scan_reply;
use crate::cmd::{scan_positions, CommandFlags as F, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::glob;
use crate::reply;
use crate::value::zset::{LexBound, LexRange, RankSpan, ScoreRange, ZSet, ZSET_LEN_MAX};
use crate::value::Value;
use crate::Frame;

const GROUP: &str = "sorted-set";
const W: F = F::WRITE;
const R: F = F::READONLY;
const KEY1: (i32, i32, i32) = (1, 1, 1);

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::data("zadd", -4, W.with(F::DENYOOM).with(F::FAST), KEY1, GROUP,
        "Add one or more members to a sorted set, or update its score if it already exists", zadd).since("1.2.0"),
    CommandSpec::data("zincrby", 4, W.with(F::DENYOOM).with(F::FAST), KEY1, GROUP,
        "Increment the score of a member in a sorted set", zincrby).since("1.2.0"),
    CommandSpec::data("zrem", -3, W.with(F::FAST), KEY1, GROUP,
        "Remove one or more members from a sorted set", zrem).since("1.2.0"),
    CommandSpec::data("zcard", 2, R.with(F::FAST), KEY1, GROUP,
        "Get the number of members in a sorted set", zcard).since("1.2.0"),
    CommandSpec::data("zscore", 3, R.with(F::FAST), KEY1, GROUP,
        "Get the score associated with the given member in a sorted set", zscore).since("1.2.0"),
    CommandSpec::data("zmscore", -3, R.with(F::FAST), KEY1, GROUP,
        "Get the score associated with the given members in a sorted set", zmscore).since("6.2.0"),
    CommandSpec::data("zrange", -4, R, KEY1, GROUP,
        "Return a range of members in a sorted set", zrange).since("1.2.0"),
    CommandSpec::data("zrangebyscore", -4, R, KEY1, GROUP,
        "Return a range of members in a sorted set, by score", zrangebyscore).since("1.0.5"),
    CommandSpec::data("zrevrange", -4, R, KEY1, GROUP,
        "Return a range of members in a sorted set, by index, with scores ordered from high to low", zrevrange).since("1.2.0"),
    CommandSpec::data("zrevrangebyscore", -4, R, KEY1, GROUP,
        "Return a range of members in a sorted set, by score, with scores ordered from high to low", zrevrangebyscore).since("2.2.0"),
    CommandSpec::data("zrangebylex", -4, R, KEY1, GROUP,
        "Return a range of members in a sorted set, by lexicographical range", zrangebylex).since("2.8.9"),
    CommandSpec::data("zrevrangebylex", -4, R, KEY1, GROUP,
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", zrevrangebylex).since("2.8.9"),
    CommandSpec::data("zrangestore", -5, W.with(F::DENYOOM), (1, 2, 1), GROUP,
        "Store a range of members from sorted set into another key", zrangestore).since("6.2.0"),
    CommandSpec::data("zrank", 3, R.with(F::FAST), KEY1, GROUP,
        "Determine the index of a member in a sorted set", zrank).since("2.0.0"),
    CommandSpec::data("zrevrank", 3, R.with(F::FAST), KEY1, GROUP,
        "Determine the index of a member in a sorted set, with scores ordered from high to low", zrevrank).since("2.0.0"),
    CommandSpec::data("zcount", 4, R.with(F::FAST), KEY1, GROUP,
        "Count the members in a sorted set with scores within the given values", zcount).since("2.0.0"),
    CommandSpec::data("zlexcount", 4, R.with(F::FAST), KEY1, GROUP,
        "Count the number of members in a sorted set between a given lexicographical range", zlexcount).since("2.8.9"),
    CommandSpec::data("zremrangebyscore", 4, W, KEY1, GROUP,
        "Remove all members in a sorted set within the given scores", zremrangebyscore).since("1.2.0"),
    CommandSpec::data("zremrangebyrank", 4, W, KEY1, GROUP,
        "Remove all members in a sorted set within the given indexes", zremrangebyrank).since("2.0.0"),
    CommandSpec::data("zremrangebylex", 4, W, KEY1, GROUP,
        "Remove all members in a sorted set between the given lexicographical range", zremrangebylex).since("2.8.9"),
    CommandSpec::data("zpopmin", -2, W.with(F::FAST), KEY1, GROUP,
        "Remove and return members with the lowest scores in a sorted set", zpopmin).since("5.0.0"),
    CommandSpec::data("zpopmax", -2, W.with(F::FAST), KEY1, GROUP,
        "Remove and return members with the highest scores in a sorted set", zpopmax).since("5.0.0"),
    CommandSpec::data("zrandmember", -2, R, KEY1, GROUP,
        "Get one or multiple random elements from a sorted set", zrandmember).since("6.2.0"),
    CommandSpec::data("zunion", -3, R, (0, 0, 0), GROUP,
        "Add multiple sorted sets", zunion).since("6.2.0").numkeys_at(1),
    CommandSpec::data("zinter", -3, R, (0, 0, 0), GROUP,
        "Intersect multiple sorted sets", zinter).since("6.2.0").numkeys_at(1),
    CommandSpec::data("zdiff", -3, R, (0, 0, 0), GROUP,
        "Subtract multiple sorted sets", zdiff).since("6.2.0").numkeys_at(1),
    CommandSpec::data("zunionstore", -4, W.with(F::DENYOOM), KEY1, GROUP,
        "Add multiple sorted sets and store the resulting sorted set in a new key", zunionstore).since("2.0.0").numkeys_at(2),
    CommandSpec::data("zinterstore", -4, W.with(F::DENYOOM), KEY1, GROUP,
        "Intersect multiple sorted sets and store the resulting sorted set in a new key", zinterstore).since("2.0.0").numkeys_at(2),
    CommandSpec::data("zdiffstore", -4, W.with(F::DENYOOM), KEY1, GROUP,
        "Subtract multiple sorted sets and store the resulting sorted set in a new key", zdiffstore).since("6.2.0").numkeys_at(2),
    CommandSpec::data("zintercard", -3, R, (0, 0, 0), GROUP,
        "Intersect multiple sorted sets and return the cardinality of the result", zintercard).since("7.0.0").numkeys_at(1),
    CommandSpec::data("zmpop", -4, W, (0, 0, 0), GROUP,
        "Remove and return members with scores in a sorted set", zmpop).since("7.0.0").numkeys_at(1),
    CommandSpec::data("zscan", -3, R, KEY1, GROUP,
        "Incrementally iterate sorted sets elements and associated scores", zscan).since("2.8.0"),
];

const ERR_NOT_FLOAT_RANGE: StoreError = StoreError::Fixed("ERR min or max is not a float");
const ERR_NOT_LEX_RANGE: StoreError =
    StoreError::Fixed("ERR min or max not valid string range item");
const ERR_NAN_SCORE: StoreError = StoreError::Fixed("ERR resulting score is not a number (NaN)");
const ERR_FULL: StoreError = StoreError::Fixed("ERR sorted set is full");
const ERR_MUST_BE_POSITIVE: StoreError =
    StoreError::OutOfRange("value is out of range, must be positive");

// ---------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------

/// A score argument (ZADD, ZINCRBY): Redis `getDoubleFromObject`, which
/// also refuses values that overflow or underflow (`1e400`, `1e-400`).
fn parse_score(arg: &[u8]) -> StoreResult<f64> {
    let value = args::parse_f64(arg)?;
    let text = arg
        .strip_prefix(b"-")
        .or_else(|| arg.strip_prefix(b"+"))
        .unwrap_or(arg);
    let spelled_inf = text.first().is_some_and(|b| b.eq_ignore_ascii_case(&b'i'));
    if value.is_infinite() && !spelled_inf {
        return Err(StoreError::NotFloat); // ERANGE overflow
    }
    if value == 0.0 && !mantissa_is_zero(text) {
        return Err(StoreError::NotFloat); // ERANGE underflow
    }
    Ok(value)
}

/// Whether the mantissa of an unsigned float text has no non-zero digit
/// (then a zero result is exact, not an underflow). The exponent is not
/// part of the mantissa: `0e5` is an exact zero.
fn mantissa_is_zero(text: &[u8]) -> bool {
    let (digits, exponent_marks): (&[u8], &[u8]) = match text
        .strip_prefix(b"0x")
        .or_else(|| text.strip_prefix(b"0X"))
    {
        Some(hex) => (hex, b"pP"),
        None => (text, b"eE"),
    };
    digits
        .split(|b| exponent_marks.contains(b))
        .next()
        .unwrap_or(&[])
        .iter()
        .all(|&b| b == b'0' || b == b'.')
}

/// One end of a score range as Redis `zslParseRange` reads it: `(` makes it
/// exclusive; the rest is read by `strtod` and must be consumed entirely —
/// so leading spaces are accepted and an empty text is 0, as in Redis.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match arg.strip_prefix(b"(") {
        Some(rest) => (rest, true),
        None => (arg, false),
    };
    if text.is_empty() {
        return Some((0.0, exclusive));
    }
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let value = args::parse_float(&text[start..])?;
    Some((value, exclusive))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> StoreResult<ScoreRange> {
    let (min, min_exclusive) = parse_score_bound(min).ok_or(ERR_NOT_FLOAT_RANGE)?;
    let (max, max_exclusive) = parse_score_bound(max).ok_or(ERR_NOT_FLOAT_RANGE)?;
    Ok(ScoreRange::new(min, min_exclusive, max, max_exclusive))
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> StoreResult<LexRange> {
    Ok(LexRange {
        min: LexBound::parse(min).ok_or(ERR_NOT_LEX_RANGE)?,
        max: LexBound::parse(max).ok_or(ERR_NOT_LEX_RANGE)?,
    })
}

/// Parses a `LIMIT offset count` pair: a negative offset selects nothing and
/// a negative count means "all", as in Redis.
fn limit_window(offset: i64, count: i64) -> Option<(usize, Option<usize>)> {
    let offset = usize::try_from(offset).ok()?;
    let count = usize::try_from(count).ok();
    Some((offset, count))
}

// ---------------------------------------------------------------------------
// Reply helpers
// ---------------------------------------------------------------------------

/// The member bytes stored in a sorted set: copied, so the set never pins a
/// larger network buffer.
fn owned(member: &[u8]) -> Bytes {
    Bytes::copy_from_slice(member)
}

// ---------------------------------------------------------------------------
// ZADD / ZINCRBY
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// Result of adding one element, as Redis's `zsetAdd` reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AddOutcome {
    Added(f64),
    Updated(f64),
    /// Existing member, same score (or an INCR of 0).
    Unchanged(f64),
    /// Skipped by NX/XX/GT/LT.
    Skipped,
}

/// What ZADD does with one element given the member's current score
/// (Redis `zsetAdd`). Errors: NaN from INCR.
fn decide(current: Option<f64>, score: f64, flags: AddFlags) -> StoreResult<AddOutcome> {
    let Some(current) = current else {
        return Ok(if flags.xx {
            AddOutcome::Skipped
        } else {
            AddOutcome::Added(score)
        });
    };
    if flags.nx {
        return Ok(AddOutcome::Skipped);
    }
    let new = if flags.incr { current + score } else { score };
    if new.is_nan() {
        return Err(ERR_NAN_SCORE);
    }
    if (flags.gt && new <= current) || (flags.lt && new >= current) {
        return Ok(AddOutcome::Skipped);
    }
    Ok(if new == current {
        AddOutcome::Unchanged(new)
    } else {
        AddOutcome::Updated(new)
    })
}

/// The ZADD reply for the outcomes of its elements.
fn zadd_reply(outcomes: &[AddOutcome], flags: AddFlags) -> Frame {
    if flags.incr {
        return match outcomes.last() {
            Some(AddOutcome::Added(s) | AddOutcome::Updated(s) | AddOutcome::Unchanged(s)) => {
                reply::double(*s)
            }
            _ => reply::null(),
        };
    }
    let counted = outcomes
        .iter()
        .filter(|o| match o {
            AddOutcome::Added(_) => true,
            AddOutcome::Updated(_) => flags.ch,
            AddOutcome::Unchanged(_) | AddOutcome::Skipped => false,
        })
        .count();
    reply::count(counted)
}

fn zadd_generic(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    flags: AddFlags,
    pairs: &[Bytes],
) -> StoreResult<Frame> {
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(StoreError::Syntax);
    }
    let count = pairs.len() / 2;
    if flags.nx && flags.xx {
        return Err(StoreError::Fixed(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(StoreError::Fixed(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && count > 1 {
        return Err(StoreError::Fixed(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut elements = Vec::with_capacity(count);
    for pair in pairs.chunks_exact(2) {
        elements.push((parse_score(&pair[0])?, &pair[1][..]));
    }

    // Dry run against the current value: if no element changes anything,
    // the state never changes during the command, so these outcomes are
    // exact and the key is not written (no undo entry, WATCH stays clean).
    let current = ctx.zset(key)?;
    let mut outcomes = Vec::with_capacity(count);
    for &(score, member) in &elements {
        outcomes.push(decide(current.and_then(|z| z.score(member)), score, flags)?);
    }
    if !outcomes
        .iter()
        .any(|o| matches!(o, AddOutcome::Added(_) | AddOutcome::Updated(_)))
    {
        return Ok(zadd_reply(&outcomes, flags));
    }
    let zset = ctx.zset_or_create(key)?;
    outcomes.clear();
    for &(score, member) in &elements {
        let outcome = decide(zset.score(member), score, flags)?;
        match outcome {
            AddOutcome::Added(s) => {
                if zset.len() >= ZSET_LEN_MAX {
                    return Err(ERR_FULL);
                }
                zset.insert(owned(member), s);
            }
            AddOutcome::Updated(s) => {
                zset.set_score(member, s);
            }
            AddOutcome::Unchanged(_) | AddOutcome::Skipped => {}
        }
        outcomes.push(outcome);
    }
    Ok(zadd_reply(&outcomes, flags))
}

fn zadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut flags = AddFlags::default();
    let mut i = 2;
    while i < argv.len() {
        let arg = &argv[i];
        if eq_ignore_case(arg, "nx") {
            flags.nx = true;
        } else if eq_ignore_case(arg, "xx") {
            flags.xx = true;
        } else if eq_ignore_case(arg, "gt") {
            flags.gt = true;
        } else if eq_ignore_case(arg, "lt") {
            flags.lt = true;
        } else if eq_ignore_case(arg, "ch") {
            flags.ch = true;
        } else if eq_ignore_case(arg, "incr") {
            flags.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    zadd_generic(ctx, &argv[1], flags, &argv[i..])
}

fn zincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, &argv[1], flags, &argv[2..])
}

// ---------------------------------------------------------------------------
// ZREM / ZCARD / ZSCORE / ZMSCORE / ZRANK / ZREVRANK
// ---------------------------------------------------------------------------

fn zrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let key = &argv[1];
    let members = &argv[2..];
    let present = match ctx.zset(key)? {
        None => return Ok(reply::int(0)),
        Some(zset) => members.iter().any(|m| zset.contains(m)),
    };
    if !present {
        return Ok(reply::int(0));
    }
    let zset = ctx.zset_mut(key)?.ok_or(StoreError::WrongType)?;
    let removed = members.iter().filter(|m| zset.remove(m).is_some()).count();
    Ok(reply::count(removed))
}

fn zcard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::count(ctx.zset(&argv[1])?.map_or(0, ZSet::len)))
}

fn zscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let score = ctx.zset(&argv[1])?.and_then(|z| z.score(&argv[2]));
    Ok(score.map_or_else(reply::null, reply::double))
}

fn zmscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let zset = ctx.zset(&argv[1])?;
    let scores = argv[2..]
        .iter()
        .map(|m| {
            zset.and_then(|z| z.score(m))
                .map_or_else(reply::null, reply::double)
        })
        .collect();
    Ok(reply::array(scores))
}

fn rank_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], reverse: bool) -> StoreResult<Frame> {
    let Some(zset) = ctx.zset(&argv[1])? else {
        return Ok(reply::null());
    };
    Ok(match zset.rank(&argv[2]) {
        Some(rank) if reverse => reply::count(zset.len() - 1 - rank),
        Some(rank) => reply::count(rank),
        None => reply::null(),
    })
}

fn zrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    rank_generic(ctx, argv, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    rank_generic(ctx, argv, true)
}

// ---------------------------------------------------------------------------
// ZRANGE family
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// A parsed range request of any ZRANGE-family command.
#[derive(Debug, Clone, PartialEq)]
enum RangeQuery {
    Rank { start: i64, stop: i64 },
    Score(ScoreRange),
    Lex(LexRange),
}

#[derive(Debug, Clone, PartialEq)]
struct RangeRequest {
    query: RangeQuery,
    reverse: bool,
    with_scores: bool,
    /// `LIMIT offset count` (`None`: no LIMIT). Negative values as given.
    limit: Option<(i64, i64)>,
}

/// Redis `zrangeGenericCommand` argument parsing of `args` = `src min max
/// [options]`. `kind`/`reverse` are fixed by the legacy commands (`None`:
/// ZRANGE, chosen by BYSCORE/BYLEX/REV); `store` (ZRANGESTORE) refuses
/// WITHSCORES.
fn parse_range(
    args: &[Bytes],
    kind: Option<RangeKind>,
    reverse: Option<bool>,
    store: bool,
) -> StoreResult<RangeRequest> {
    // Indexes below follow `argv` of ZRANGE: 1 = key, 2 = min, 3 = max.
    debug_assert!(args.len() >= 3);
    let argv = |i: usize| &args[i - 1];
    let argc = args.len() + 1;
    let mut with_scores = false;
    let mut limit = None;
    let mut kind_opt = kind;
    let mut reverse_opt = reverse;
    let mut j = 4;
    while j < argc {
        let arg = argv(j);
        let left = argc - j - 1;
        if !store && eq_ignore_case(arg, "withscores") {
            with_scores = true;
        } else if eq_ignore_case(arg, "limit") && left >= 2 {
            let offset = args::parse_i64(argv(j + 1))?;
            let count = args::parse_i64(argv(j + 2))?;
            limit = Some((offset, count));
            j += 2;
        } else if reverse.is_none() && eq_ignore_case(arg, "rev") {
            reverse_opt = Some(true);
        } else if kind.is_none() && kind_opt.is_none() && eq_ignore_case(arg, "bylex") {
            kind_opt = Some(RangeKind::Lex);
        } else if kind.is_none() && kind_opt.is_none() && eq_ignore_case(arg, "byscore") {
            kind_opt = Some(RangeKind::Score);
        } else {
            return Err(StoreError::Syntax);
        }
        j += 1;
    }
    let kind = kind_opt.unwrap_or(RangeKind::Rank);
    let reverse = reverse_opt.unwrap_or(false);
    // Redis tests `opt_limit != -1` (its "no LIMIT" default), so a rank
    // range with `LIMIT x -1` passes and the LIMIT is ignored.
    if limit.is_some_and(|(_, count)| count != -1) && kind == RangeKind::Rank {
        return Err(StoreError::Fixed(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && kind == RangeKind::Lex {
        return Err(StoreError::Fixed(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // Reverse score and lex ranges are given as `max min`.
    let (min, max) = if reverse && kind != RangeKind::Rank {
        (argv(3), argv(2))
    } else {
        (argv(2), argv(3))
    };
    let query = match kind {
        RangeKind::Rank => RangeQuery::Rank {
            start: args::parse_i64(min)?,
            stop: args::parse_i64(max)?,
        },
        RangeKind::Score => RangeQuery::Score(parse_score_range(min, max)?),
        RangeKind::Lex => RangeQuery::Lex(parse_lex_range(min, max)?),
    };
    Ok(RangeRequest {
        query,
        reverse,
        with_scores,
        limit,
    })
}

/// The span of `zset` a range request selects.
fn select_span(zset: &ZSet, request: &RangeRequest) -> RankSpan {
    let window = match request.limit {
        None => Some((0, None)),
        Some((offset, count)) => limit_window(offset, count),
    };
    match (&request.query, window) {
        (RangeQuery::Rank { start, stop }, _) => zset.span_by_rank(*start, *stop, request.reverse),
        (_, None) => RankSpan {
            start: 0,
            count: 0,
            reverse: false,
        },
        (RangeQuery::Score(range), Some((offset, count))) => {
            zset.span_by_score(range, request.reverse, offset, count)
        }
        (RangeQuery::Lex(range), Some((offset, count))) => {
            zset.span_by_lex(range, request.reverse, offset, count)
        }
    }
}

fn range_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    kind: Option<RangeKind>,
    reverse: Option<bool>,
) -> StoreResult<Frame> {
    let request = parse_range(&argv[1..], kind, reverse, false)?;
    let resp3 = ctx.resp3();
    let Some(zset) = ctx.zset(&argv[1])? else {
        return Ok(reply::array(Vec::new()));
    };
    let span = select_span(zset, &request);
    let items = zset.iter_span(span);
    if !request.with_scores {
        return Ok(reply::array(
            items.map(|(m, _)| reply::bulk(m.clone())).collect(),
        ));
    }
    Ok(scored(resp3, items))
}

/// [`members_reply`] with scores, for callers that no longer hold the `Ctx`.
fn scored<'a>(resp3: bool, items: impl Iterator<Item = (&'a Bytes, f64)>) -> Frame {
    if resp3 {
        return reply::array(
            items
                .map(|(m, s)| reply::array(vec![reply::bulk(m.clone()), reply::double(s)]))
                .collect(),
        );
    }
    let mut out = Vec::new();
    for (m, s) in items {
        out.push(reply::bulk(m.clone()));
        out.push(reply::double(s));
    }
    reply::array(out)
}

fn zrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    range_generic(ctx, argv, None, None)
}

fn zrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    range_generic(ctx, argv, Some(RangeKind::Score), Some(false))
}

fn zrevrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    range_generic(ctx, argv, Some(RangeKind::Rank), Some(true))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    range_generic(ctx, argv, Some(RangeKind::Score), Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    range_generic(ctx, argv, Some(RangeKind::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    range_generic(ctx, argv, Some(RangeKind::Lex), Some(true))
}

fn zrangestore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let request = parse_range(&argv[2..], None, None, true)?;
    let destination = &argv[1];
    let result = match ctx.zset(&argv[2])? {
        None => ZSet::new(),
        Some(source) => {
            // Built expanded, then compacted if small, as Redis sizes it.
            let mut result = ZSet::new_expanded();
            for (member, score) in source.iter_span(select_span(source, &request)) {
                result.insert(member.clone(), score);
            }
            result.compact_if_small();
            result
        }
    };
    let stored = result.len();
    if stored == 0 {
        if ctx.exists(destination)? {
            ctx.remove(destination)?;
        }
    } else {
        ctx.insert(destination, Value::ZSet(Box::new(result)), None)?;
    }
    Ok(reply::count(stored))
}

// ---------------------------------------------------------------------------
// ZCOUNT / ZLEXCOUNT / ZREMRANGEBY*
// ---------------------------------------------------------------------------

fn zcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let range = parse_score_range(&argv[2], &argv[3])?;
    Ok(reply::count(
        ctx.zset(&argv[1])?
            .map_or(0, |z| z.count_in_score_range(&range)),
    ))
}

fn zlexcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let range = parse_lex_range(&argv[2], &argv[3])?;
    Ok(reply::count(
        ctx.zset(&argv[1])?
            .map_or(0, |z| z.count_in_lex_range(&range)),
    ))
}

fn remove_range(ctx: &mut Ctx<'_>, key: &[u8], query: &RangeQuery) -> StoreResult<Frame> {
    let select = |zset: &ZSet| match query {
        RangeQuery::Rank { start, stop } => zset.span_by_rank(*start, *stop, false),
        RangeQuery::Score(range) => zset.span_by_score(range, false, 0, None),
        RangeQuery::Lex(range) => zset.span_by_lex(range, false, 0, None),
    };
    let span = match ctx.zset(key)? {
        None => return Ok(reply::int(0)),
        Some(zset) => select(zset),
    };
    if span.is_empty() {
        return Ok(reply::int(0));
    }
    let zset = ctx.zset_mut(key)?.ok_or(StoreError::WrongType)?;
    Ok(reply::count(zset.remove_span(span)))
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let range = parse_score_range(&argv[2], &argv[3])?;
    remove_range(ctx, &argv[1], &RangeQuery::Score(range))
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let start = args::parse_i64(&argv[2])?;
    let stop = args::parse_i64(&argv[3])?;
    remove_range(ctx, &argv[1], &RangeQuery::Rank { start, stop })
}

fn zremrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let range = parse_lex_range(&argv[2], &argv[3])?;
    remove_range(ctx, &argv[1], &RangeQuery::Lex(range))
}

// ---------------------------------------------------------------------------
// ZPOPMIN / ZPOPMAX
// ---------------------------------------------------------------------------

fn pop_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], from_max: bool) -> StoreResult<Frame> {
    if argv.len() > 3 {
        return Err(StoreError::Syntax);
    }
    let count = match argv.get(2) {
        None => None,
        Some(arg) => {
            let n = args::parse_i64(arg).map_err(|_| ERR_MUST_BE_POSITIVE)?;
            Some(usize::try_from(n).map_err(|_| ERR_MUST_BE_POSITIVE)?)
        }
    };
    let resp3 = ctx.resp3();
    let wanted = count.unwrap_or(1);
    let present = ctx.zset(&argv[1])?.is_some_and(|z| !z.is_empty());
    if !present || wanted == 0 {
        return Ok(reply::array(Vec::new()));
    }
    let zset = ctx.zset_mut(&argv[1])?.ok_or(StoreError::WrongType)?;
    let popped = zset.pop(wanted, from_max);
    let items = popped.iter().map(|(m, s)| (m, *s));
    if count.is_none() {
        // Without COUNT the reply is one flat `member score` pair, in RESP3 too.
        return Ok(scored(false, items));
    }
    Ok(scored(resp3, items))
}

fn zmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let parse_end = |arg: &[u8]| {
        if eq_ignore_case(arg, "min") {
            Ok(false)
        } else if eq_ignore_case(arg, "max") {
            Ok(true)
        } else {
            Err(StoreError::Syntax)
        }
    };
    let (keys, from_max, count) = crate::cmd::list::parse_mpop(argv, parse_end)?;
    for key in keys {
        // Keys are tried in order; a wrong type fails only if reached.
        if ctx.zset(key)?.is_none_or(|z| z.is_empty()) {
            continue;
        }
        let zset = ctx.zset_mut(key)?.ok_or(StoreError::WrongType)?;
        let popped = zset.pop(count, from_max);
        // `[member, score]` pairs in RESP2 too.
        let pairs = popped
            .into_iter()
            .map(|(m, s)| reply::array(vec![reply::bulk(m), reply::double(s)]))
            .collect();
        return Ok(reply::array(vec![
            reply::bulk(key.clone()),
            reply::array(pairs),
        ]));
    }
    Ok(reply::null_array())
}

fn zpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    pop_generic(ctx, argv, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    pop_generic(ctx, argv, true)
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------

fn zrandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let resp3 = ctx.resp3();
    let max = ctx.config().random_reply_elements_max;
    let Some(count_arg) = argv.get(2) else {
        let Some(zset) = ctx.zset(&argv[1])?.filter(|z| !z.is_empty()) else {
            return Ok(reply::null());
        };
        let position = rand::random_range(0..zset.len());
        return Ok(zset
            .get_position(position)
            .map_or_else(reply::null, |(m, _)| reply::bulk(m.clone())));
    };
    let count = args::parse_i64(count_arg)?;
    if count == i64::MIN {
        return Err(StoreError::OutOfRange(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_scores = match argv.get(3) {
        None => false,
        Some(arg) if argv.len() == 4 && eq_ignore_case(arg, "withscores") => true,
        Some(_) => return Err(StoreError::Syntax),
    };
    if with_scores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(StoreError::OutOfRange("value is out of range"));
    }
    let Some(zset) = ctx.zset(&argv[1])? else {
        return Ok(reply::array(Vec::new()));
    };
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let len = zset.len();
    if wanted == 0 || len == 0 {
        return Ok(reply::array(Vec::new()));
    }
    let picked: Vec<(&Bytes, f64)> = if count > 0 && wanted >= len && zset.is_compact() {
        // The whole set; Redis 7.0 sends a compact sorted set highest first.
        zset.iter_span(zset.span_by_rank(0, -1, true)).collect()
    } else {
        // Larger counts of an expanded set: every position, in map order.
        random_indexes(len, count, max)?
            .into_iter()
            .filter_map(|position| zset.get_position(position))
            .collect()
    };
    if !with_scores {
        return Ok(reply::array(
            picked
                .into_iter()
                .map(|(m, _)| reply::bulk(m.clone()))
                .collect(),
        ));
    }
    Ok(scored(resp3, picked.into_iter()))
}

// ---------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF (+STORE) / ZINTERCARD
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis `zunionInterAggregate`.
fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            // inf + -inf
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregate::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

/// One input of a set operation: a copy of a sorted set's or a set's
/// elements (set members score 1, as in Redis), with its weight.
struct OpSource {
    items: Vec<(Bytes, f64)>,
    index: hashbrown::HashMap<Bytes, f64>,
    weight: f64,
}

/// Reads `numkeys` and the source keys (`argv[numkeys_at]…`) as Redis does:
/// the count first, then every key's type, before any option.
fn read_sources(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    numkeys_at: usize,
    name: &'static str,
) -> StoreResult<Vec<OpSource>> {
    let numkeys = args::parse_i64(&argv[numkeys_at])?;
    if numkeys < 1 {
        return Err(StoreError::Message(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let available = argv.len() - numkeys_at - 1;
    let count = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if count > available {
        return Err(StoreError::Syntax);
    }
    let mut sources = Vec::with_capacity(count);
    for key in &argv[numkeys_at + 1..numkeys_at + 1 + count] {
        let items: Vec<(Bytes, f64)> = match ctx.get(key)? {
            None => Vec::new(),
            Some(Value::ZSet(z)) => z.iter().map(|(m, s)| (m.clone(), s)).collect(),
            Some(Value::Set(set)) => set.iter().map(|m| (m.clone(), 1.0)).collect(),
            Some(_) => return Err(StoreError::WrongType),
        };
        sources.push(OpSource {
            items,
            index: hashbrown::HashMap::new(),
            weight: 1.0,
        });
    }
    Ok(sources)
}

/// Parses `[WEIGHTS w…] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` after the keys.
fn parse_op_options(
    options: &[Bytes],
    sources: &mut [OpSource],
    op: SetOp,
    store: bool,
) -> StoreResult<(Aggregate, bool)> {
    let mut how = Aggregate::Sum;
    let mut with_scores = false;
    let mut j = 0;
    while j < options.len() {
        let remaining = options.len() - j;
        let arg = &options[j];
        if op != SetOp::Diff && remaining > sources.len() && eq_ignore_case(arg, "weights") {
            for (source, weight) in sources.iter_mut().zip(&options[j + 1..]) {
                source.weight = parse_score(weight)
                    .map_err(|_| StoreError::Fixed("ERR weight value is not a float"))?;
            }
            j += 1 + sources.len();
        } else if op != SetOp::Diff && remaining >= 2 && eq_ignore_case(arg, "aggregate") {
            let value = &options[j + 1];
            how = if eq_ignore_case(value, "sum") {
                Aggregate::Sum
            } else if eq_ignore_case(value, "min") {
                Aggregate::Min
            } else if eq_ignore_case(value, "max") {
                Aggregate::Max
            } else {
                return Err(StoreError::Syntax);
            };
            j += 2;
        } else if !store && eq_ignore_case(arg, "withscores") {
            with_scores = true;
            j += 1;
        } else {
            return Err(StoreError::Syntax);
        }
    }
    Ok((how, with_scores))
}

/// Computes the operation as Redis's `zunionInterDiffGenericCommand` does
/// (same source order, so sums round the same way).
fn compute(mut sources: Vec<OpSource>, op: SetOp, how: Aggregate) -> ZSet {
    // Redis builds the result expanded; only the STORE forms compact it.
    let mut result = ZSet::new_expanded();
    if op != SetOp::Diff {
        // Smallest first, stable like glibc's qsort for small arrays.
        sources.sort_by_key(|s| s.items.len());
    }
    for source in sources.iter_mut().skip(1) {
        source.index = source.items.iter().cloned().collect();
    }
    match op {
        SetOp::Union => {
            let mut acc: indexmap::IndexMap<Bytes, f64, crate::value::BuildHasher> =
                indexmap::IndexMap::default();
            for source in &sources {
                for (member, score) in &source.items {
                    let mut value = source.weight * score;
                    if value.is_nan() {
                        value = 0.0;
                    }
                    match acc.get_mut(member) {
                        Some(existing) => aggregate(existing, value, how),
                        None => {
                            acc.insert(member.clone(), value);
                        }
                    }
                }
            }
            for (member, score) in acc {
                result.insert(member, score);
            }
        }
        SetOp::Inter => {
            let Some((first, rest)) = sources.split_first() else {
                return result;
            };
            'members: for (member, score) in &first.items {
                let mut value = first.weight * score;
                if value.is_nan() {
                    value = 0.0;
                }
                for other in rest {
                    match other.index.get(member) {
                        Some(s) => aggregate(&mut value, s * other.weight, how),
                        None => continue 'members,
                    }
                }
                result.insert(member.clone(), value);
            }
        }
        SetOp::Diff => {
            let Some((first, rest)) = sources.split_first() else {
                return result;
            };
            for (member, score) in &first.items {
                if !rest.iter().any(|other| other.index.contains_key(member)) {
                    result.insert(member.clone(), *score);
                }
            }
        }
    }
    result
}

fn set_op_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    op: SetOp,
    store: bool,
    name: &'static str,
) -> StoreResult<Frame> {
    let numkeys_at = if store { 2 } else { 1 };
    let mut sources = read_sources(ctx, argv, numkeys_at, name)?;
    let options = &argv[numkeys_at + 1 + sources.len()..];
    let (how, with_scores) = parse_op_options(options, &mut sources, op, store)?;
    let mut result = compute(sources, op, how);
    if store {
        result.compact_if_small();
        let destination = &argv[1];
        let stored = result.len();
        if stored == 0 {
            if ctx.exists(destination)? {
                ctx.remove(destination)?;
            }
        } else {
            ctx.insert(destination, Value::ZSet(Box::new(result)), None)?;
        }
        return Ok(reply::count(stored));
    }
    if !with_scores {
        return Ok(reply::array(
            result.iter().map(|(m, _)| reply::bulk(m.clone())).collect(),
        ));
    }
    Ok(scored(ctx.resp3(), result.iter()))
}

fn zunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    set_op_generic(ctx, argv, SetOp::Union, false, "zunion")
}

fn zinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    set_op_generic(ctx, argv, SetOp::Inter, false, "zinter")
}

fn zdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    set_op_generic(ctx, argv, SetOp::Diff, false, "zdiff")
}

fn zunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    set_op_generic(ctx, argv, SetOp::Union, true, "zunionstore")
}

fn zinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    set_op_generic(ctx, argv, SetOp::Inter, true, "zinterstore")
}

fn zdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    set_op_generic(ctx, argv, SetOp::Diff, true, "zdiffstore")
}

fn zintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut sources = read_sources(ctx, argv, 1, "zintercard")?;
    let options = &argv[2 + sources.len()..];
    let mut limit = 0usize;
    let mut j = 0;
    while j < options.len() {
        if eq_ignore_case(&options[j], "limit") && j + 1 < options.len() {
            let err = StoreError::Fixed("ERR LIMIT can't be negative");
            let n = args::parse_i64(&options[j + 1]).map_err(|_| err.clone())?;
            limit = usize::try_from(n).map_err(|_| err)?;
            j += 2;
        } else {
            return Err(StoreError::Syntax);
        }
    }
    sources.sort_by_key(|s| s.items.len());
    for source in sources.iter_mut().skip(1) {
        source.index = source.items.iter().cloned().collect();
    }
    let Some((first, rest)) = sources.split_first() else {
        return Ok(reply::int(0));
    };
    let mut count = 0usize;
    for (member, _) in &first.items {
        if rest.iter().all(|other| other.index.contains_key(member)) {
            count += 1;
            if limit > 0 && count >= limit {
                break;
            }
        }
    }
    Ok(reply::count(count))
}

// ---------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------

/// A score as ZSCAN sends it: a bulk string, formatted like a RESP2 double.
fn score_text(score: f64) -> Bytes {
    let mut buf = [0u8; ferrite_protocol::DOUBLE_TEXT_LEN_MAX];
    let len = ferrite_protocol::format_double(score, &mut buf);
    Bytes::copy_from_slice(&buf[..len])
}

fn zscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let cursor = args::parse_cursor(&argv[2])?;
    if ctx.zset(&argv[1])?.is_none() {
        return Ok(scan_reply(0, Vec::new()));
    }
    let options = args::parse_scan_options(&argv[3..], false)?;
    let Some(zset) = ctx.zset(&argv[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    // As Redis: the pattern `*` means no filter (the glob itself does not
    // match an empty member with `*`).
    let pattern = options.pattern.as_deref().filter(|p| *p != b"*");
    let keep = |member: &[u8]| pattern.is_none_or(|p| glob::matches(p, member));
    let mut items = Vec::new();
    let mut push = |member: &Bytes, score: f64| {
        if keep(member) {
            items.push(reply::bulk(member.clone()));
            items.push(reply::bulk(score_text(score)));
        }
    };
    if zset.is_compact() {
        // Like a listpack: everything at once, in order, cursor 0.
        for (member, score) in zset.iter() {
            push(member, score);
        }
        return Ok(scan_reply(0, items));
    }
    let (positions, next) = scan_positions(zset.len(), cursor, options.count);
    for position in positions.rev() {
        if let Some((member, score)) = zset.get_position(position) {
            push(member, score);
        }
    }
    Ok(scan_reply(next, items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreConfig};

    fn argv(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    struct T {
        store: Store,
    }

    impl T {
        fn new() -> T {
            T {
                store: Store::new(StoreConfig::default()),
            }
        }
        fn run(&self, line: &str) -> Frame {
            self.store.execute(0, &argv(line)).expect("not blocked")
        }
        fn run3(&self, line: &str) -> Frame {
            self.store
                .execute_with(0, &argv(line), ferrite_protocol::Protocol::Resp3)
                .expect("not blocked")
        }
        /// Whether `key` exists in db 0 (without going through another family's command).
        fn exists(&self, key: &str) -> bool {
            self.store
                .snapshot_db(0)
                .iter()
                .any(|(k, _)| &k[..] == key.as_bytes())
        }
        fn args(&self, parts: &[&str]) -> Frame {
            let a: Vec<Bytes> = parts
                .iter()
                .map(|p| Bytes::copy_from_slice(p.as_bytes()))
                .collect();
            self.store.execute(0, &a).expect("not blocked")
        }
    }

    fn int(n: i64) -> Frame {
        reply::int(n)
    }
    fn bulk(s: &str) -> Frame {
        reply::bulk(Bytes::copy_from_slice(s.as_bytes()))
    }
    fn dbl(v: f64) -> Frame {
        reply::double(v)
    }
    fn err(text: &str) -> Frame {
        reply::error(&StoreError::Message(text.to_owned()))
    }
    fn arr(items: Vec<Frame>) -> Frame {
        reply::array(items)
    }
    fn strs(items: &[&str]) -> Frame {
        arr(items.iter().map(|s| bulk(s)).collect())
    }
    fn scored2(items: &[(&str, f64)]) -> Frame {
        arr(items.iter().flat_map(|(m, s)| [bulk(m), dbl(*s)]).collect())
    }
    fn scored3(items: &[(&str, f64)]) -> Frame {
        arr(items
            .iter()
            .map(|(m, s)| arr(vec![bulk(m), dbl(*s)]))
            .collect())
    }
    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    #[test]
    fn zadd_basic_and_flags() {
        let t = T::new();
        assert_eq!(t.run("zadd z 1 a 2 b 3 c"), int(3));
        assert_eq!(t.run("zadd z 1 a 5 b 9 d"), int(1));
        assert_eq!(t.run("zadd z ch 5 a 5 b 9 d 0 e"), int(2));
        assert_eq!(t.run("zadd z xx ch 6 a 7 nope"), int(1));
        assert_eq!(t.run("zscore z nope"), Frame::Null);
        assert_eq!(t.run("zadd z nx 100 a 1 f"), int(1));
        assert_eq!(t.run("zscore z a"), dbl(6.0));
        assert_eq!(t.run("zadd z gt ch 3 b"), int(0));
        assert_eq!(t.run("zadd z gt ch 8 b"), int(1));
        assert_eq!(t.run("zadd z lt ch 9 b"), int(0));
        assert_eq!(t.run("zadd z lt ch 2 b 4 newgt"), int(2));
        assert_eq!(t.run("zadd z xx 1 a"), int(0));
        assert_eq!(t.run("zadd missing xx 1 a"), int(0));
        assert!(!t.exists("missing"));
        assert_eq!(t.run("zadd z 0x10 hex"), int(1));
        assert_eq!(t.run("zscore z hex"), dbl(16.0));
        assert_eq!(t.run("zadd z 1 dup 2 dup"), int(1));
        assert_eq!(t.run("zscore z dup"), dbl(2.0));
    }

    #[test]
    fn zadd_incr() {
        let t = T::new();
        assert_eq!(t.run("zadd z incr 1 a"), dbl(1.0));
        assert_eq!(t.run("zadd z incr 2.5 a"), dbl(3.5));
        assert_eq!(t.run("zadd z nx incr 1 a"), Frame::Null);
        assert_eq!(t.run("zadd z xx incr 1 nonexist"), Frame::Null);
        assert_eq!(t.run("zadd z gt incr -1 a"), Frame::Null);
        assert_eq!(t.run("zadd z incr gt 0 a"), Frame::Null);
        assert_eq!(t.run("zadd z incr 0 a"), dbl(3.5));
        assert_eq!(t.run("zadd z incr inf a"), dbl(f64::INFINITY));
        assert_eq!(
            t.run("zadd z incr -inf a"),
            err("ERR resulting score is not a number (NaN)")
        );
        assert_eq!(t.run("zscore z a"), dbl(f64::INFINITY));
        assert_eq!(t.run("zadd nokey xx incr 1 a"), Frame::Null);
        assert_eq!(t.run3("zadd z incr 1 b"), dbl(1.0));
        assert_eq!(t.run("zincrby z 1.5 b"), dbl(2.5));
        assert_eq!(t.run("zincrby z 1 newm"), dbl(1.0));
        assert_eq!(
            t.run("zincrby z abc b"),
            err("ERR value is not a valid float")
        );
        assert_eq!(
            t.run("zincrby z -inf a"),
            err("ERR resulting score is not a number (NaN)")
        );
        assert_eq!(
            t.run("zincrby z nan a"),
            err("ERR value is not a valid float")
        );
    }

    #[test]
    fn zadd_errors() {
        let t = T::new();
        t.run("set s x");
        assert_eq!(
            t.run("zadd z nx xx 1 a"),
            err("ERR XX and NX options at the same time are not compatible")
        );
        let gtlt = err("ERR GT, LT, and/or NX options at the same time are not compatible");
        assert_eq!(t.run("zadd z gt lt 1 a"), gtlt);
        assert_eq!(t.run("zadd z gt nx 1 a"), gtlt);
        assert_eq!(t.run("zadd z lt nx 1 a"), gtlt);
        assert_eq!(
            t.run("zadd z incr 1 a 2 b"),
            err("ERR INCR option supports a single increment-element pair")
        );
        assert_eq!(t.run("zadd z incr nx gt 1 a 2 b"), gtlt);
        assert_eq!(
            t.run("zadd z 1"),
            err("ERR wrong number of arguments for 'zadd' command")
        );
        assert_eq!(t.run("zadd z 1 a 2"), err("ERR syntax error"));
        assert_eq!(t.run("zadd z foo 1 a"), err("ERR syntax error"));
        assert_eq!(t.run("zadd z nx 1"), err("ERR syntax error"));
        for bad in ["nan", "abc", "1e400", "-1e400", "1e-400", " 1", "1 ", ""] {
            assert_eq!(
                t.args(&["zadd", "z", bad, "a"]),
                err("ERR value is not a valid float"),
                "{bad:?}"
            );
        }
        assert_eq!(t.run("zadd s 1 a"), err(WRONGTYPE));
        assert_eq!(t.run("zadd s abc a"), err("ERR value is not a valid float"));
        assert_eq!(t.run("zincrby s 1 a"), err(WRONGTYPE));
        assert!(!t.exists("z"));
        assert_eq!(
            t.run("zadd z 4.9e-324 tiny 0e0 zero +inf pinf -INFINITY ninf"),
            int(4)
        );
    }

    #[test]
    fn zrem_zcard_zscore_zmscore() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c");
        t.run("set s x");
        assert_eq!(t.run("zrem z a nonex a"), int(1));
        assert_eq!(t.run("zrem z nonex"), int(0));
        assert_eq!(t.run("zrem nokey a"), int(0));
        assert_eq!(t.run("zrem s a"), err(WRONGTYPE));
        assert_eq!(
            t.run("zrem z"),
            err("ERR wrong number of arguments for 'zrem' command")
        );
        assert_eq!(t.run("zcard z"), int(2));
        assert_eq!(t.run("zcard nokey"), int(0));
        assert_eq!(t.run("zcard s"), err(WRONGTYPE));
        assert_eq!(t.run("zscore z b"), dbl(2.0));
        assert_eq!(t.run("zscore z a"), Frame::Null);
        assert_eq!(t.run("zscore nokey a"), Frame::Null);
        assert_eq!(t.run("zscore s a"), err(WRONGTYPE));
        assert_eq!(
            t.run("zmscore z b nonex c"),
            arr(vec![dbl(2.0), Frame::Null, dbl(3.0)])
        );
        assert_eq!(t.run("zmscore nokey a"), arr(vec![Frame::Null]));
        assert_eq!(
            t.run("zmscore z"),
            err("ERR wrong number of arguments for 'zmscore' command")
        );
        assert_eq!(t.run("zrem z b c"), int(2));
        assert!(!t.exists("z"));
    }

    #[test]
    fn zrange_by_rank() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e");
        assert_eq!(t.run("zrange z 0 -1"), strs(&["a", "b", "c", "d", "e"]));
        assert_eq!(
            t.run("zrange z 0 1 rev withscores"),
            scored2(&[("e", 5.0), ("d", 4.0)])
        );
        assert_eq!(
            t.run3("zrange z 0 1 withscores"),
            scored3(&[("a", 1.0), ("b", 2.0)])
        );
        assert_eq!(t.run("zrange z -2 100"), strs(&["d", "e"]));
        assert_eq!(t.run("zrange z 3 1"), strs(&[]));
        assert_eq!(
            t.run("zrevrange z 0 1 withscores"),
            scored2(&[("e", 5.0), ("d", 4.0)])
        );
        assert_eq!(t.run3("zrevrange z 0 0 withscores"), scored3(&[("e", 5.0)]));
        assert_eq!(t.run("zrange nokey 0 -1 withscores"), strs(&[]));
        assert_eq!(t.run3("zrange nokey 0 -1 withscores"), strs(&[]));
        assert_eq!(
            t.run("zrange z 0 x"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.run("zrange z 0"),
            err("ERR wrong number of arguments for 'zrange' command")
        );
        assert_eq!(t.run("zrange z 0 1 foo"), err("ERR syntax error"));
        assert_eq!(t.run("zrange z 0 1 limit 1"), err("ERR syntax error"));
        let limit_err = err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        assert_eq!(t.run("zrange z 0 -1 limit 0 1"), limit_err);
        assert_eq!(t.run("zrange z 0 1 limit 5 -1"), strs(&["a", "b"]));
        assert_eq!(t.run("zrevrange z 0 1 limit 0 1"), limit_err);
        assert_eq!(t.run("zrange z 0 1 byscore bylex"), err("ERR syntax error"));
        assert_eq!(t.run("zrevrange z 0 1 rev"), err("ERR syntax error"));
    }

    #[test]
    fn zrange_by_score() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e");
        assert_eq!(t.run("zrange z (1 3 byscore"), strs(&["b", "c"]));
        assert_eq!(t.run("zrange z 3 (1 byscore rev"), strs(&["c", "b"]));
        assert_eq!(
            t.run("zrange z (1 3 byscore limit 1 1 withscores"),
            scored2(&[("c", 3.0)])
        );
        assert_eq!(
            t.run("zrange z -inf +inf byscore limit 0 -1"),
            strs(&["a", "b", "c", "d", "e"])
        );
        assert_eq!(
            t.run("zrange z -inf +inf byscore limit 2 -5"),
            strs(&["c", "d", "e"])
        );
        assert_eq!(t.run("zrange z -inf +inf byscore limit -1 2"), strs(&[]));
        assert_eq!(t.run("zrange z -inf +inf byscore limit 9 2"), strs(&[]));
        assert_eq!(
            t.run("zrange z inf -inf byscore rev limit 1 2"),
            strs(&["d", "c"])
        );
        assert_eq!(
            t.run("zrange z a c byscore"),
            err("ERR min or max is not a float")
        );
        assert_eq!(
            t.run("zrange z 1 nan byscore"),
            err("ERR min or max is not a float")
        );
        assert_eq!(
            t.run("zrange z (nan 3 byscore"),
            err("ERR min or max is not a float")
        );
        assert_eq!(
            t.run("zrange z 0 1 byscore limit x 1"),
            err("ERR value is not an integer or out of range")
        );
        // strtod quirks kept from Redis: "(" alone is (0, an empty bound is 0,
        // leading spaces are skipped.
        assert_eq!(
            t.args(&["zrange", "z", "(", "3", "byscore"]),
            strs(&["a", "b", "c"])
        );
        assert_eq!(t.args(&["zrange", "z", "", "1", "byscore"]), strs(&["a"]));
        assert_eq!(
            t.args(&["zrange", "z", " 3", "5", "byscore"]),
            strs(&["c", "d", "e"])
        );
        assert_eq!(t.args(&["zrange", "z", "( 3", "3", "byscore"]), strs(&[]));
        assert_eq!(
            t.args(&["zrange", "z", "  ", "1", "byscore"]),
            err("ERR min or max is not a float")
        );
        assert_eq!(t.run("zrangebyscore z 2 4"), strs(&["b", "c", "d"]));
        assert_eq!(
            t.run("zrangebyscore z 2 4 withscores limit 1 5"),
            scored2(&[("c", 3.0), ("d", 4.0)])
        );
        assert_eq!(
            t.run3("zrangebyscore z 0 1 withscores"),
            scored3(&[("a", 1.0)])
        );
        assert_eq!(
            t.run("zrangebyscore z 2 4 limit 1"),
            err("ERR syntax error")
        );
        assert_eq!(t.run("zrangebyscore z 2 4 rev"), err("ERR syntax error"));
        assert_eq!(
            t.run("zrangebyscore z 2 4 byscore"),
            err("ERR syntax error")
        );
        assert_eq!(
            t.run("zrangebyscore z 2 4 withscores withscores"),
            scored2(&[("b", 2.0), ("c", 3.0), ("d", 4.0)])
        );
        assert_eq!(
            t.run("zrevrangebyscore z 4 2 withscores"),
            scored2(&[("d", 4.0), ("c", 3.0), ("b", 2.0)])
        );
        assert_eq!(t.run("zrevrangebyscore z 2 4"), strs(&[]));
        assert_eq!(
            t.run3("zrevrangebyscore z 10 0 withscores limit 0 1"),
            scored3(&[("e", 5.0)])
        );
    }

    #[test]
    fn zrange_by_lex() {
        let t = T::new();
        t.run("zadd z 0 a 0 b 0 c 0 d 0 e");
        assert_eq!(t.run("zrange z [a (c bylex"), strs(&["a", "b"]));
        assert_eq!(t.run("zrange z (c [a bylex rev"), strs(&["b", "a"]));
        assert_eq!(t.run("zrange z - + bylex limit 1 2"), strs(&["b", "c"]));
        assert_eq!(
            t.run("zrange z - + bylex withscores"),
            err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        );
        assert_eq!(
            t.run("zrange z a c bylex"),
            err("ERR min or max not valid string range item")
        );
        assert_eq!(t.run("zrangebylex z - +"), strs(&["a", "b", "c", "d", "e"]));
        assert_eq!(t.run("zrevrangebylex z + - limit 0 2"), strs(&["e", "d"]));
        assert_eq!(t.run("zrangebylex z + -"), strs(&[]));
        assert_eq!(t.run("zlexcount z - +"), int(5));
        assert_eq!(t.run("zlexcount z (a [c"), int(2));
        assert_eq!(
            t.run("zlexcount z a b"),
            err("ERR min or max not valid string range item")
        );
        assert_eq!(t.run("zlexcount nokey - +"), int(0));
        assert_eq!(t.run("zremrangebylex z [b (d"), int(2));
        assert_eq!(t.run("zrange z 0 -1"), strs(&["a", "d", "e"]));
    }

    #[test]
    fn zrangestore_command() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c");
        t.run("set s x");
        assert_eq!(t.run("zrangestore d z 0 -1"), int(3));
        assert_eq!(
            t.run("zrange d 0 -1 withscores"),
            scored2(&[("a", 1.0), ("b", 2.0), ("c", 3.0)])
        );
        assert_eq!(
            t.run("zrangestore d z 0 -1 withscores"),
            err("ERR syntax error")
        );
        assert_eq!(t.run("zrangestore d z 5 10"), int(0));
        assert!(!t.exists("d"));
        assert_eq!(t.run("zrangestore s z 0 0"), int(1));
        assert_eq!(t.run("zrange s 0 -1"), strs(&["a"]));
        assert_eq!(t.run("zrangestore d nokey 0 -1"), int(0));
        assert_eq!(t.run("zrangestore d z (1 +inf byscore limit 0 1"), int(1));
        assert_eq!(t.run("zrange d 0 -1"), strs(&["b"]));
        assert_eq!(t.run("zrangestore d z [b [a bylex rev"), int(2));
        assert_eq!(
            t.run("zrangestore d z 0"),
            err("ERR wrong number of arguments for 'zrangestore' command")
        );
        t.run("set s2 x");
        assert_eq!(t.run("zrangestore d s2 0 0"), err(WRONGTYPE));
    }

    #[test]
    fn ranks_and_counts() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e");
        t.run("set s x");
        assert_eq!(t.run("zrank z c"), int(2));
        assert_eq!(t.run("zrevrank z a"), int(4));
        assert_eq!(t.run("zrank z nonex"), Frame::Null);
        assert_eq!(t.run("zrank nokey c"), Frame::Null);
        assert_eq!(t.run("zrank s a"), err(WRONGTYPE));
        assert_eq!(
            t.run("zrank z c withscore"),
            err("ERR wrong number of arguments for 'zrank' command")
        );
        assert_eq!(t.run("zcount z (1 4"), int(3));
        assert_eq!(t.run("zcount z 4 1"), int(0));
        assert_eq!(t.run("zcount z -inf +inf"), int(5));
        assert_eq!(t.run("zcount z (-inf (+inf"), int(5));
        assert_eq!(t.run("zcount z x 1"), err("ERR min or max is not a float"));
        assert_eq!(t.run("zcount nokey 1 2"), int(0));
        assert_eq!(t.run("zcount s 0 1"), err(WRONGTYPE));
        assert_eq!(t.run("zcount s x 1"), err("ERR min or max is not a float"));
    }

    #[test]
    fn remove_ranges() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e 6 f");
        assert_eq!(t.run("zremrangebyscore z (1 2"), int(1));
        assert_eq!(t.run("zremrangebyscore z 10 20"), int(0));
        assert_eq!(
            t.run("zremrangebyscore z x 20"),
            err("ERR min or max is not a float")
        );
        assert_eq!(t.run("zremrangebyrank z -2 -1"), int(2));
        assert_eq!(t.run("zremrangebyrank z 5 10"), int(0));
        assert_eq!(
            t.run("zremrangebyrank z 1 x"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("zrange z 0 -1"), strs(&["a", "c", "d"]));
        assert_eq!(t.run("zremrangebyrank nokey 0 -1"), int(0));
        assert_eq!(t.run("zremrangebyscore z -inf +inf"), int(3));
        assert!(!t.exists("z"));
        t.run("set s x");
        assert_eq!(t.run("zremrangebyscore s 0 1"), err(WRONGTYPE));
    }

    #[test]
    fn pops() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e");
        t.run("set s x");
        assert_eq!(t.run("zpopmin z"), scored2(&[("a", 1.0)]));
        assert_eq!(t.run3("zpopmin z"), scored2(&[("b", 2.0)]));
        assert_eq!(t.run3("zpopmax z 1"), scored3(&[("e", 5.0)]));
        assert_eq!(t.run("zpopmax z 0"), strs(&[]));
        assert_eq!(
            t.run("zpopmin z -1"),
            err("ERR value is out of range, must be positive")
        );
        assert_eq!(
            t.run("zpopmin z x"),
            err("ERR value is out of range, must be positive")
        );
        assert_eq!(t.run("zpopmin z 1 2"), err("ERR syntax error"));
        assert_eq!(t.run("zpopmin nokey"), strs(&[]));
        assert_eq!(t.run("zpopmin nokey 2"), strs(&[]));
        assert_eq!(t.run("zpopmin s"), err(WRONGTYPE));
        assert_eq!(
            t.run("zpopmin s -1"),
            err("ERR value is out of range, must be positive")
        );
        assert_eq!(t.run("zpopmin z 10"), scored2(&[("c", 3.0), ("d", 4.0)]));
        assert!(!t.exists("z"));
    }

    #[test]
    fn zscan_small_and_large() {
        let t = T::new();
        t.run("zadd z 2 b 1 a 1.5 c");
        assert_eq!(
            t.run("zscan z 0"),
            arr(vec![bulk("0"), strs(&["a", "1", "c", "1.5", "b", "2"])])
        );
        assert_eq!(
            t.run("zscan z 0 match [ab]"),
            arr(vec![bulk("0"), strs(&["a", "1", "b", "2"])])
        );
        assert_eq!(t.run("zscan nokey 0"), arr(vec![bulk("0"), strs(&[])]));
        assert_eq!(t.run("zscan z x"), err("ERR invalid cursor"));
        assert_eq!(t.run("zscan z 0 count 0"), err("ERR syntax error"));
        assert_eq!(
            t.run("zscan z 0 count x"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("zscan z 0 foo"), err("ERR syntax error"));
        // A large set walks positions; every member comes back exactly once
        // when nothing changes during the scan.
        let mut line = String::from("zadd big");
        for i in 0..300 {
            line.push_str(&format!(" {i} m{i}"));
        }
        assert_eq!(t.run(&line), int(300));
        let mut cursor = "0".to_string();
        let mut seen = std::collections::BTreeSet::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 100);
            let Frame::Array(parts) = t.run(&format!("zscan big {cursor} count 20")) else {
                panic!()
            };
            let Frame::Bulk(next) = &parts[0] else {
                panic!()
            };
            let Frame::Array(items) = &parts[1] else {
                panic!()
            };
            for pair in items.chunks(2) {
                let (Frame::Bulk(m), Frame::Bulk(s)) = (&pair[0], &pair[1]) else {
                    panic!()
                };
                assert_eq!(
                    format!("m{}", std::str::from_utf8(s).unwrap()).as_bytes(),
                    &m[..]
                );
                assert!(seen.insert(m.clone()));
            }
            cursor = String::from_utf8(next.to_vec()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
    }

    #[test]
    fn zmpop_command() {
        let t = T::new();
        t.run("zadd z1 1 a 2 b 3 c");
        t.run("set s x");
        let popped = |key: &str, items: &[(&str, f64)]| arr(vec![bulk(key), scored3(items)]);
        assert_eq!(t.run("zmpop 2 nokey z1 min"), popped("z1", &[("a", 1.0)]));
        assert_eq!(
            t.run3("zmpop 2 z1 s max count 5"),
            popped("z1", &[("c", 3.0), ("b", 2.0)])
        );
        assert!(!t.exists("z1"));
        assert_eq!(t.run("zmpop 1 z1 min"), Frame::NullArray);
        assert_eq!(t.run("zmpop 1 z1 mid"), err("ERR syntax error"));
        assert_eq!(
            t.run("zmpop 0 z1 min"),
            err("ERR numkeys should be greater than 0")
        );
        assert_eq!(
            t.run("zmpop 1 z1 min count 0"),
            err("ERR count should be greater than 0")
        );
        assert_eq!(t.run("zmpop 1 s min"), err(WRONGTYPE));
    }

    #[test]
    fn zrandmember_command() {
        let t = T::new();
        t.run("zadd z 1 a 2 b 3 c");
        t.run("set s x");
        assert_eq!(t.run("zrandmember nokey"), Frame::Null);
        assert_eq!(t.run("zrandmember nokey 5"), strs(&[]));
        assert_eq!(t.run("zrandmember z 0"), strs(&[]));
        assert_eq!(t.run("zrandmember z 5"), strs(&["c", "b", "a"]));
        assert_eq!(
            t.run("zrandmember z 5 withscores"),
            scored2(&[("c", 3.0), ("b", 2.0), ("a", 1.0)])
        );
        assert_eq!(
            t.run3("zrandmember z 3 withscores"),
            scored3(&[("c", 3.0), ("b", 2.0), ("a", 1.0)])
        );
        assert_eq!(t.run("zrandmember z 5 foo"), err("ERR syntax error"));
        assert_eq!(
            t.run("zrandmember z 5 withscores x"),
            err("ERR syntax error")
        );
        assert_eq!(
            t.run("zrandmember z x"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.run("zrandmember z -9223372036854775808"),
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        assert_eq!(
            t.run("zrandmember z -5000000000000000000 withscores"),
            err("ERR value is out of range")
        );
        let too_many = -(StoreConfig::default().random_reply_elements_max as i64) - 1;
        assert_eq!(
            t.run(&format!("zrandmember z {too_many}")),
            err("ERR count is too large for one reply")
        );
        assert_eq!(t.run("zrandmember s"), err(WRONGTYPE));
        assert_eq!(t.run("zrandmember s 0"), err(WRONGTYPE));
        let members = [bulk("a"), bulk("b"), bulk("c")];
        let Frame::Bulk(_) = t.run("zrandmember z") else {
            panic!("one member")
        };
        assert!(members.contains(&t.run("zrandmember z")));
        for _ in 0..20 {
            let Frame::Array(two) = t.run("zrandmember z 2") else {
                panic!()
            };
            assert_eq!(two.len(), 2);
            assert_ne!(two[0], two[1], "distinct members");
            assert!(two.iter().all(|m| members.contains(m)));
            let Frame::Array(many) = t.run("zrandmember z -10") else {
                panic!()
            };
            assert_eq!(many.len(), 10);
            assert!(many.iter().all(|m| members.contains(m)));
            let Frame::Array(one) = t.run3("zrandmember z -1 withscores") else {
                panic!()
            };
            let [Frame::Array(pair)] = &one[..] else {
                panic!("one pair")
            };
            assert_eq!(pair.len(), 2);
        }
    }

    #[test]
    fn union_inter_diff() {
        let t = T::new();
        t.run("zadd a 1 x 2 y 3 z");
        t.run("zadd b 10 y 20 z 30 w");
        t.run("sadd s y w q");
        t.run("set str v");
        assert_eq!(
            t.run("zunion 2 a b withscores"),
            scored2(&[("x", 1.0), ("y", 12.0), ("z", 23.0), ("w", 30.0)])
        );
        assert_eq!(
            t.run("zunion 3 a b s withscores"),
            scored2(&[
                ("q", 1.0),
                ("x", 1.0),
                ("y", 13.0),
                ("z", 23.0),
                ("w", 31.0)
            ])
        );
        assert_eq!(
            t.run3("zinter 2 a b withscores"),
            scored3(&[("y", 12.0), ("z", 23.0)])
        );
        assert_eq!(
            t.run("zinter 2 a b weights 2 3 aggregate max withscores"),
            scored2(&[("y", 30.0), ("z", 60.0)])
        );
        assert_eq!(t.run("zinter 2 a b aggregate min"), strs(&["y", "z"]));
        assert_eq!(
            t.run("zunion 0 a"),
            err("ERR at least 1 input key is needed for 'zunion' command")
        );
        assert_eq!(
            t.run("zunion -1 a"),
            err("ERR at least 1 input key is needed for 'zunion' command")
        );
        assert_eq!(
            t.run("zunion x a"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("zunion 3 a b"), err("ERR syntax error"));
        assert_eq!(t.run("zunion 2 a str"), err(WRONGTYPE));
        assert_eq!(t.run("zunion 2 a str foo"), err(WRONGTYPE));
        assert_eq!(t.run("zunion 2 a b weights 1"), err("ERR syntax error"));
        assert_eq!(
            t.run("zunion 2 a b weights 1 x"),
            err("ERR weight value is not a float")
        );
        assert_eq!(
            t.run("zunion 1 a weights nan"),
            err("ERR weight value is not a float")
        );
        assert_eq!(t.run("zunion 2 a b aggregate foo"), err("ERR syntax error"));
        assert_eq!(t.run("zunion 2 a b aggregate"), err("ERR syntax error"));
        assert_eq!(
            t.run("zunionstore d 2 a b withscores"),
            err("ERR syntax error")
        );
        assert_eq!(t.run("zunionstore d 2 a b"), int(4));
        assert_eq!(
            t.run("zrange d 0 -1 withscores"),
            scored2(&[("x", 1.0), ("y", 12.0), ("z", 23.0), ("w", 30.0)])
        );
        assert_eq!(
            t.run("zunionstore d 0 a"),
            err("ERR at least 1 input key is needed for 'zunionstore' command")
        );
        assert_eq!(t.run("zdiff 2 a b withscores"), scored2(&[("x", 1.0)]));
        assert_eq!(t.run("zdiff 2 a b weights 1 1"), err("ERR syntax error"));
        assert_eq!(t.run("zdiffstore d 2 b a"), int(1));
        assert_eq!(t.run("zrange d 0 -1"), strs(&["w"]));
        assert_eq!(t.run("zdiffstore d 1 nokey"), int(0));
        assert!(!t.exists("d"));
        assert_eq!(t.run("zinterstore str 2 a b"), int(2));
        assert_eq!(t.run("zrange str 0 -1"), strs(&["y", "z"]));
        assert_eq!(t.run("zinterstore d 2 a nokey"), int(0));
        assert_eq!(
            t.run("zunion 2 a b weights inf -inf withscores"),
            scored2(&[
                ("w", f64::NEG_INFINITY),
                ("y", 0.0),
                ("z", 0.0),
                ("x", f64::INFINITY)
            ])
        );
        assert_eq!(
            t.run("zunion 2 a a withscores"),
            scored2(&[("x", 2.0), ("y", 4.0), ("z", 6.0)])
        );
        assert_eq!(
            t.run("zinter 2 a a weights 1 -1 withscores"),
            scored2(&[("x", 0.0), ("y", 0.0), ("z", 0.0)])
        );
    }

    #[test]
    fn zintercard_command() {
        let t = T::new();
        t.run("zadd a 1 x 2 y 3 z");
        t.run("zadd b 10 y 20 z 30 w");
        t.run("set str v");
        assert_eq!(t.run("zintercard 2 a b"), int(2));
        assert_eq!(t.run("zintercard 2 a b limit 1"), int(1));
        assert_eq!(t.run("zintercard 2 a b limit 0"), int(2));
        assert_eq!(
            t.run("zintercard 0 a"),
            err("ERR at least 1 input key is needed for 'zintercard' command")
        );
        assert_eq!(
            t.run("zintercard x a"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("zintercard 3 a b"), err("ERR syntax error"));
        assert_eq!(
            t.run("zintercard 2 a b limit -1"),
            err("ERR LIMIT can't be negative")
        );
        assert_eq!(
            t.run("zintercard 2 a b limit x"),
            err("ERR LIMIT can't be negative")
        );
        assert_eq!(t.run("zintercard 2 a b foo"), err("ERR syntax error"));
        assert_eq!(t.run("zintercard 2 a str"), err(WRONGTYPE));
        assert_eq!(t.run("zintercard 2 a nokey"), int(0));
    }

    #[test]
    fn score_bound_parsing() {
        assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b"1 "), None);
        assert_eq!(parse_score_bound(b"nan"), None);
        assert_eq!(parse_score(b"0x0p5"), Ok(0.0));
        assert_eq!(parse_score(b"0.000"), Ok(0.0));
        assert_eq!(parse_score(b"1e-400"), Err(StoreError::NotFloat));
        assert_eq!(parse_score(b"0e5"), Ok(0.0));
        assert_eq!(parse_score(b"-0.000e-999"), Ok(-0.0));
        assert_eq!(parse_score(b"0x0.0p100"), Ok(0.0));
        assert_eq!(parse_score(b"0x1p-2000"), Err(StoreError::NotFloat));
        assert_eq!(parse_score(b"1e400"), Err(StoreError::NotFloat));
        assert_eq!(parse_score(b"-Infinity"), Ok(f64::NEG_INFINITY));
    }

    #[test]
    fn table_entries_match_redis() {
        let spec = crate::lookup(b"ZADD").unwrap();
        assert_eq!(
            (spec.arity, spec.first_key, spec.last_key, spec.step),
            (-4, 1, 1, 1)
        );
        assert_eq!(spec.flags.names(), ["write", "denyoom", "fast"]);
        assert_eq!(
            crate::lookup(b"zrange").unwrap().flags.names(),
            ["readonly"]
        );
        assert_eq!(
            crate::lookup(b"zpopmin").unwrap().flags.names(),
            ["write", "fast"]
        );
        assert_eq!(
            crate::lookup(b"zremrangebyscore").unwrap().flags.names(),
            ["write"]
        );
        assert_eq!(crate::lookup(b"zscan").unwrap().arity, -3);
        for spec in COMMANDS {
            assert_eq!(spec.group, GROUP);
        }
    }
}
