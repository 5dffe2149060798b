//! Commands of the `list` family: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP,
//! LLEN, LRANGE, LINDEX, LSET, LREM, LTRIM, LINSERT, LPOS, LMOVE,
//! RPOPLPUSH and LMPOP. (The blocking variants BLPOP, BRPOP, BLMOVE,
//! BLMPOP… are not implemented: they need the server's client blocking.)
//!
//! Lists are [`ListValue`] (a `VecDeque<Bytes>`); the index rules of Redis
//! (negative indexes count from the tail, ranges are clamped) live in the
//! small pure functions at the top, unit-tested on their own. Each handler
//! parses its arguments in the order Redis 7.0 does (so the same error wins),
//! applies through [`Ctx`], and replies exactly as Redis.

use bytes::Bytes;

use crate::args::{self, eq_ignore_case};
use crate::cmd::{CommandFlags as F, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{StoreError, StoreResult};
use crate::reply;
use crate::value::ListValue;
use crate::Frame;

const GROUP: &str = "list";
const W: F = F::WRITE;
const R: F = F::READONLY;
const KEY1: (i32, i32, i32) = (1, 1, 1);

/// This family's commands.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::data(
        "lpush",
        -3,
        W.with(F::DENYOOM).with(F::FAST),
        KEY1,
        GROUP,
        "Prepend one or multiple elements to a list",
        lpush,
    ),
    CommandSpec::data(
        "rpush",
        -3,
        W.with(F::DENYOOM).with(F::FAST),
        KEY1,
        GROUP,
        "Append one or multiple elements to a list",
        rpush,
    ),
    CommandSpec::data(
        "lpushx",
        -3,
        W.with(F::DENYOOM).with(F::FAST),
        KEY1,
        GROUP,
        "Prepend an element to a list, only if the list exists",
        lpushx,
    )
    .since("2.2.0"),
    CommandSpec::data(
        "rpushx",
        -3,
        W.with(F::DENYOOM).with(F::FAST),
        KEY1,
        GROUP,
        "Append an element to a list, only if the list exists",
        rpushx,
    )
    .since("2.2.0"),
    CommandSpec::data(
        "lpop",
        -2,
        W.with(F::FAST),
        KEY1,
        GROUP,
        "Remove and get the first elements in a list",
        lpop,
    ),
    CommandSpec::data(
        "rpop",
        -2,
        W.with(F::FAST),
        KEY1,
        GROUP,
        "Remove and get the last elements in a list",
        rpop,
    ),
    CommandSpec::data(
        "llen",
        2,
        R.with(F::FAST),
        KEY1,
        GROUP,
        "Get the length of a list",
        llen,
    ),
    CommandSpec::data(
        "lrange",
        4,
        R,
        KEY1,
        GROUP,
        "Get a range of elements from a list",
        lrange,
    ),
    CommandSpec::data(
        "lindex",
        3,
        R,
        KEY1,
        GROUP,
        "Get an element from a list by its index",
        lindex,
    ),
    CommandSpec::data(
        "lset",
        4,
        W.with(F::DENYOOM),
        KEY1,
        GROUP,
        "Set the value of an element in a list by its index",
        lset,
    ),
    CommandSpec::data(
        "lrem",
        4,
        W,
        KEY1,
        GROUP,
        "Remove elements from a list",
        lrem,
    ),
    CommandSpec::data(
        "ltrim",
        4,
        W,
        KEY1,
        GROUP,
        "Trim a list to the specified range",
        ltrim,
    ),
    CommandSpec::data(
        "linsert",
        5,
        W.with(F::DENYOOM),
        KEY1,
        GROUP,
        "Insert an element before or after another element in a list",
        linsert,
    )
    .since("2.2.0"),
    CommandSpec::data(
        "lpos",
        -3,
        R,
        KEY1,
        GROUP,
        "Return the index of matching elements on a list",
        lpos,
    )
    .since("6.0.6"),
    CommandSpec::data(
        "lmove",
        5,
        W.with(F::DENYOOM),
        (1, 2, 1),
        GROUP,
        "Pop an element from a list, push it to another list and return it",
        lmove,
    )
    .since("6.2.0"),
    CommandSpec::data(
        "lmpop",
        -4,
        W,
        (0, 0, 0),
        GROUP,
        "Pop elements from a list",
        lmpop,
    )
    .since("7.0.0")
    .numkeys_at(1),
    CommandSpec::data(
        "rpoplpush",
        3,
        W.with(F::DENYOOM),
        (1, 2, 1),
        GROUP,
        "Remove the last element in a list, prepend it to another list and return it",
        rpoplpush,
    )
    .since("1.2.0"),
];

/// Most elements one list may hold; pushes beyond it fail (long before
/// this, the server's memory limit applies).
pub const LIST_LEN_MAX: usize = u32::MAX as usize;

const ERR_FULL: StoreError = StoreError::Fixed("ERR list is full");
const ERR_MUST_BE_POSITIVE: StoreError =
    StoreError::OutOfRange("value is out of range, must be positive");

// ---------------------------------------------------------------------------
// Index rules (pure)
// ---------------------------------------------------------------------------

/// Normalises Redis's `start stop` against `len`: negative values count from
/// the end, `start` is clamped to 0 and `stop` to `len - 1`. Returns the
/// inclusive index range, or `None` when it is empty (LRANGE, LTRIM).
fn normalize_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 {
        start.saturating_add(len).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        stop.saturating_add(len)
    } else {
        stop
    };
    if start > stop || start >= len {
        return None;
    }
    let stop = stop.min(len - 1);
    // Both are now within 0..len.
    Some((start as usize, stop as usize))
}

/// The position of `index` (negative: from the tail), if within the list.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if index < 0 {
        index.checked_add(len)?
    } else {
        index
    };
    (0..len).contains(&i).then_some(i as usize)
}

/// LREM: removes up to `|count|` occurrences of `element`, from the head
/// when `count > 0`, from the tail when `count < 0`, all when 0.
fn remove_matches(list: &mut ListValue, count: i64, element: &[u8]) -> usize {
    let limit = match count {
        0 => usize::MAX,
        n => usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX),
    };
    let mut removed = 0usize;
    if count >= 0 {
        list.retain(|item| {
            if removed < limit && item[..] == *element {
                removed += 1;
                false
            } else {
                true
            }
        });
    } else {
        let mut i = list.len();
        while i > 0 && removed < limit {
            i -= 1;
            if list[i][..] == *element {
                list.remove(i);
                removed += 1;
            }
        }
    }
    removed
}

/// LPOS options after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PosOptions {
    /// `RANK`: 1 = first match from the head, -1 = first from the tail. Never 0.
    rank: i64,
    /// `COUNT`: most matches returned; 0 = all. `None`: no COUNT given.
    count: Option<usize>,
    /// `MAXLEN`: most elements compared; 0 = all.
    maxlen: usize,
}

/// LPOS: positions (from the head) of the matches of `element`.
fn positions(list: &ListValue, element: &[u8], options: PosOptions) -> Vec<usize> {
    debug_assert_ne!(options.rank, 0, "LPOS RANK 0 is refused by the parser");
    let len = list.len();
    let maxlen = if options.maxlen == 0 {
        len
    } else {
        options.maxlen.min(len)
    };
    let wanted = match options.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n,
    };
    // Redis 7.0 negates RANK in a C long: `-LONG_MIN` stays LONG_MIN, which
    // then behaves like -1 (first match from the tail). Kept for parity.
    let skip = if options.rank == i64::MIN {
        0
    } else {
        usize::try_from(options.rank.unsigned_abs() - 1).unwrap_or(usize::MAX)
    };
    let from_tail = options.rank < 0;
    let mut skipped = 0usize;
    let mut found = Vec::new();
    for step in 0..maxlen {
        let i = if from_tail { len - 1 - step } else { step };
        if list[i][..] != *element {
            continue;
        }
        if skipped < skip {
            skipped += 1;
            continue;
        }
        found.push(i);
        if found.len() >= wanted {
            break;
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Push / pop
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Head,
    Tail,
}

fn push_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    end: End,
    only_existing: bool,
) -> StoreResult<Frame> {
    let key = &argv[1];
    let elements = &argv[2..];
    let list = if only_existing {
        match ctx.list_mut(key)? {
            Some(list) => list,
            None => return Ok(reply::int(0)),
        }
    } else {
        if ctx
            .list(key)?
            .is_some_and(|l| l.len().saturating_add(elements.len()) > LIST_LEN_MAX)
        {
            return Err(ERR_FULL);
        }
        ctx.list_or_create(key)?
    };
    if list.len().saturating_add(elements.len()) > LIST_LEN_MAX {
        return Err(ERR_FULL);
    }
    for element in elements {
        // Copied: a list element must not pin the request buffer.
        let element = Bytes::copy_from_slice(element);
        match end {
            End::Head => list.push_front(element),
            End::Tail => list.push_back(element),
        }
    }
    Ok(reply::count(list.len()))
}

fn lpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    push_generic(ctx, argv, End::Head, false)
}

fn rpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    push_generic(ctx, argv, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    push_generic(ctx, argv, End::Head, true)
}

fn rpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    push_generic(ctx, argv, End::Tail, true)
}

fn pop_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End) -> StoreResult<Frame> {
    if argv.len() > 3 {
        return Err(StoreError::WrongArity(if end == End::Head {
            "lpop"
        } else {
            "rpop"
        }));
    }
    let count = match argv.get(2) {
        None => None,
        Some(arg) => {
            let n = args::parse_i64(arg).map_err(|_| ERR_MUST_BE_POSITIVE)?;
            Some(usize::try_from(n).map_err(|_| ERR_MUST_BE_POSITIVE)?)
        }
    };
    let key = &argv[1];
    let len = match ctx.list(key)? {
        None => {
            return Ok(if count.is_some() {
                reply::null_array()
            } else {
                reply::null()
            })
        }
        Some(list) => list.len(),
    };
    if count == Some(0) || len == 0 {
        return Ok(reply::array(Vec::new()));
    }
    let list = ctx.list_mut(key)?.ok_or(StoreError::WrongType)?;
    let take = count.unwrap_or(1).min(len);
    let mut popped = Vec::with_capacity(take);
    for _ in 0..take {
        let element = match end {
            End::Head => list.pop_front(),
            End::Tail => list.pop_back(),
        };
        popped.extend(element);
    }
    Ok(match count {
        None => popped.pop().map_or_else(reply::null, reply::bulk),
        Some(_) => reply::bulk_array(popped),
    })
}

fn lpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    pop_generic(ctx, argv, End::Head)
}

fn rpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    pop_generic(ctx, argv, End::Tail)
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

fn llen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    Ok(reply::count(ctx.list(&argv[1])?.map_or(0, ListValue::len)))
}

fn lrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let start = args::parse_i64(&argv[2])?;
    let stop = args::parse_i64(&argv[3])?;
    let Some(list) = ctx.list(&argv[1])? else {
        return Ok(reply::array(Vec::new()));
    };
    Ok(match normalize_range(start, stop, list.len()) {
        Some((first, last)) => reply::bulk_array(list.range(first..=last).cloned()),
        None => reply::array(Vec::new()),
    })
}

fn lindex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    // Redis looks the key up before parsing the index.
    let Some(list) = ctx.list(&argv[1])? else {
        return Ok(reply::null());
    };
    let index = args::parse_i64(&argv[2])?;
    Ok(match resolve_index(index, list.len()) {
        Some(i) => reply::bulk(list[i].clone()),
        None => reply::null(),
    })
}

fn lpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let mut options = PosOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut j = 3;
    while j < argv.len() {
        let opt = &argv[j];
        let value = argv.get(j + 1).ok_or(StoreError::Syntax)?;
        if eq_ignore_case(opt, "rank") {
            options.rank = args::parse_i64(value)?;
            if options.rank == 0 {
                return Err(StoreError::Fixed(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ignore_case(opt, "count") {
            // Redis `getPositiveLongFromObjectOrReply`: one message for
            // "not an integer" and "negative".
            let err = StoreError::Fixed("ERR COUNT can't be negative");
            let n = args::parse_i64(value).map_err(|_| err.clone())?;
            options.count = Some(usize::try_from(n).map_err(|_| err)?);
        } else if eq_ignore_case(opt, "maxlen") {
            let err = StoreError::Fixed("ERR MAXLEN can't be negative");
            let n = args::parse_i64(value).map_err(|_| err.clone())?;
            options.maxlen = usize::try_from(n).map_err(|_| err)?;
        } else {
            return Err(StoreError::Syntax);
        }
        j += 2;
    }
    let found = match ctx.list(&argv[1])? {
        None => Vec::new(),
        Some(list) => positions(list, &argv[2], options),
    };
    Ok(match options.count {
        Some(_) => reply::array(found.into_iter().map(reply::count).collect()),
        None => found.first().map_or_else(reply::null, |&i| reply::count(i)),
    })
}

// ---------------------------------------------------------------------------
// In-place writes
// ---------------------------------------------------------------------------

fn lset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    // Redis: missing key, then type, then the index.
    let len = ctx.list(&argv[1])?.ok_or(StoreError::NoSuchKey)?.len();
    let index = args::parse_i64(&argv[2])?;
    let i = resolve_index(index, len).ok_or(StoreError::Fixed("ERR index out of range"))?;
    let list = ctx.list_mut(&argv[1])?.ok_or(StoreError::NoSuchKey)?;
    list[i] = Bytes::copy_from_slice(&argv[3]);
    Ok(reply::ok())
}

fn lrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let count = args::parse_i64(&argv[2])?;
    let element = &argv[3];
    let present = ctx
        .list(&argv[1])?
        .is_some_and(|l| l.iter().any(|e| e[..] == element[..]));
    if !present {
        return Ok(reply::int(0));
    }
    let list = ctx.list_mut(&argv[1])?.ok_or(StoreError::WrongType)?;
    Ok(reply::count(remove_matches(list, count, element)))
}

fn ltrim(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let start = args::parse_i64(&argv[2])?;
    let stop = args::parse_i64(&argv[3])?;
    let keep = match ctx.list(&argv[1])? {
        None => return Ok(reply::ok()),
        Some(list) => {
            let keep = normalize_range(start, stop, list.len());
            if keep == Some((0, list.len().saturating_sub(1))) && !list.is_empty() {
                return Ok(reply::ok()); // keeps everything: not a write
            }
            keep
        }
    };
    let list = ctx.list_mut(&argv[1])?.ok_or(StoreError::WrongType)?;
    match keep {
        Some((first, last)) => {
            list.truncate(last + 1);
            list.drain(..first);
        }
        None => list.clear(),
    }
    Ok(reply::ok())
}

fn linsert(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let after = if eq_ignore_case(&argv[2], "after") {
        true
    } else if eq_ignore_case(&argv[2], "before") {
        false
    } else {
        return Err(StoreError::Syntax);
    };
    let pivot = &argv[3];
    let at = match ctx.list(&argv[1])? {
        None => return Ok(reply::int(0)),
        Some(list) => match list.iter().position(|e| e[..] == pivot[..]) {
            None => return Ok(reply::int(-1)),
            Some(_) if list.len() >= LIST_LEN_MAX => return Err(ERR_FULL),
            Some(i) => i + usize::from(after),
        },
    };
    let list = ctx.list_mut(&argv[1])?.ok_or(StoreError::WrongType)?;
    list.insert(at, Bytes::copy_from_slice(&argv[4]));
    Ok(reply::count(list.len()))
}

// ---------------------------------------------------------------------------
// LMOVE / RPOPLPUSH
// ---------------------------------------------------------------------------

fn parse_end(arg: &[u8]) -> StoreResult<End> {
    if eq_ignore_case(arg, "left") {
        Ok(End::Head)
    } else if eq_ignore_case(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(StoreError::Syntax)
    }
}

fn move_generic(
    ctx: &mut Ctx<'_>,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
) -> StoreResult<Frame> {
    match ctx.list(source)? {
        None => return Ok(reply::null()),
        Some(list) if list.is_empty() => return Ok(reply::null()),
        Some(_) => {}
    }
    // The destination's type is checked before anything is popped.
    let full = ctx
        .list(destination)?
        .is_some_and(|l| l.len() >= LIST_LEN_MAX);
    if full && source != destination {
        return Err(ERR_FULL);
    }
    let list = ctx.list_mut(source)?.ok_or(StoreError::WrongType)?;
    let element = match from {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
    .ok_or(StoreError::Fixed(
        "ERR internal error: list emptied while locked",
    ))?;
    // An emptied source is only deleted after the command, so moving within
    // one key (rotation) finds the list still there.
    let target = ctx.list_or_create(destination)?;
    match to {
        End::Head => target.push_front(element.clone()),
        End::Tail => target.push_back(element.clone()),
    }
    Ok(reply::bulk(element))
}

fn lmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    move_generic(ctx, &argv[1], &argv[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    move_generic(ctx, &argv[1], &argv[2], End::Tail, End::Head)
}

// ---------------------------------------------------------------------------
// LMPOP
// ---------------------------------------------------------------------------

/// The `numkeys … LEFT|RIGHT|MIN|MAX [COUNT n]` arguments of LMPOP and
/// ZMPOP, parsed in Redis's order: numkeys, the end word (`parse_end`),
/// then COUNT. Returns the keys, the end and the count (default 1).
pub(crate) fn parse_mpop<E>(
    argv: &[Bytes],
    parse_end: impl Fn(&[u8]) -> StoreResult<E>,
) -> StoreResult<(&[Bytes], E, usize)> {
    let numkeys_err = || StoreError::Fixed("ERR numkeys should be greater than 0");
    let numkeys = args::parse_i64(&argv[1]).map_err(|_| numkeys_err())?;
    let numkeys = usize::try_from(numkeys)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(numkeys_err)?;
    let end_at = numkeys
        .checked_add(2)
        .filter(|&i| i < argv.len())
        .ok_or(StoreError::Syntax)?;
    let end = parse_end(&argv[end_at])?;
    let mut count = None;
    let mut j = end_at + 1;
    while j < argv.len() {
        if count.is_none() && eq_ignore_case(&argv[j], "count") && j + 1 < argv.len() {
            let count_err = || StoreError::Fixed("ERR count should be greater than 0");
            let n = args::parse_i64(&argv[j + 1]).map_err(|_| count_err())?;
            count = Some(
                usize::try_from(n)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(count_err)?,
            );
            j += 2;
        } else {
            return Err(StoreError::Syntax);
        }
    }
    Ok((&argv[2..end_at], end, count.unwrap_or(1)))
}

fn lmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> StoreResult<Frame> {
    let (keys, end, count) = parse_mpop(argv, parse_end)?;
    for key in keys {
        // Keys are tried in order; a wrong type fails only if reached.
        if ctx.list(key)?.is_none_or(|l| l.is_empty()) {
            continue;
        }
        let list = ctx.list_mut(key)?.ok_or(StoreError::WrongType)?;
        let take = count.min(list.len());
        let popped: Vec<Bytes> = match end {
            End::Head => list.drain(..take).collect(),
            End::Tail => (0..take).filter_map(|_| list.pop_back()).collect(),
        };
        return Ok(reply::array(vec![
            reply::bulk(key.clone()),
            reply::bulk_array(popped),
        ]));
    }
    Ok(reply::null_array())
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
        fn exists(&self, key: &str) -> bool {
            self.store
                .snapshot_db(0)
                .iter()
                .any(|(k, _)| &k[..] == key.as_bytes())
        }
    }

    fn int(n: i64) -> Frame {
        reply::int(n)
    }
    fn bulk(s: &str) -> Frame {
        reply::bulk(Bytes::copy_from_slice(s.as_bytes()))
    }
    fn err(text: &str) -> Frame {
        reply::error(&StoreError::Message(text.to_owned()))
    }
    fn strs(items: &[&str]) -> Frame {
        reply::array(items.iter().map(|s| bulk(s)).collect())
    }
    fn ints(items: &[i64]) -> Frame {
        reply::array(items.iter().map(|&n| int(n)).collect())
    }
    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    fn list(items: &[&str]) -> ListValue {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn index_rules() {
        assert_eq!(normalize_range(0, -1, 4), Some((0, 3)));
        assert_eq!(normalize_range(-2, 100, 4), Some((2, 3)));
        assert_eq!(normalize_range(-100, 0, 4), Some((0, 0)));
        assert_eq!(normalize_range(2, 1, 4), None);
        assert_eq!(normalize_range(4, 10, 4), None);
        assert_eq!(normalize_range(0, -1, 0), None);
        assert_eq!(normalize_range(i64::MIN, i64::MAX, 4), Some((0, 3)));
        assert_eq!(resolve_index(-1, 4), Some(3));
        assert_eq!(resolve_index(-5, 4), None);
        assert_eq!(resolve_index(4, 4), None);
        assert_eq!(resolve_index(i64::MIN, 4), None);
    }

    #[test]
    fn lrem_and_lpos_rules() {
        let mut l = list(&["x", "y", "x", "x"]);
        assert_eq!(remove_matches(&mut l, 2, b"x"), 2);
        assert_eq!(l, list(&["y", "x"]));
        let mut l = list(&["x", "y", "x", "x"]);
        assert_eq!(remove_matches(&mut l, -1, b"x"), 1);
        assert_eq!(l, list(&["x", "y", "x"]));
        assert_eq!(remove_matches(&mut l, 0, b"x"), 2);
        assert_eq!(l, list(&["y"]));
        let l = list(&["a", "b", "c", "1", "2", "3", "c", "c"]);
        let pos = |rank, count, maxlen| {
            positions(
                &l,
                b"c",
                PosOptions {
                    rank,
                    count,
                    maxlen,
                },
            )
        };
        assert_eq!(pos(1, None, 0), [2]);
        assert_eq!(pos(2, None, 0), [6]);
        assert_eq!(pos(1, Some(0), 0), [2, 6, 7]);
        assert_eq!(pos(-1, Some(0), 0), [7, 6, 2]);
        assert_eq!(pos(-2, Some(2), 0), [6, 2]);
        assert_eq!(pos(1, Some(0), 3), [2]);
        assert_eq!(pos(1, Some(0), 2), Vec::<usize>::new());
        assert_eq!(pos(-1, Some(0), 2), [7, 6]);
        assert_eq!(pos(4, Some(0), 0), Vec::<usize>::new());
        assert_eq!(pos(i64::MAX, Some(0), 0), Vec::<usize>::new());
        assert_eq!(pos(i64::MIN, None, 0), [7]);
    }

    #[test]
    fn push_pop_len() {
        let t = T::new();
        t.run("set s x");
        assert_eq!(t.run("lpush l a b c"), int(3));
        assert_eq!(t.run("rpush l d e"), int(5));
        assert_eq!(t.run("lpushx nokey a"), int(0));
        assert!(!t.exists("nokey"));
        assert_eq!(t.run("rpushx l f"), int(6));
        assert_eq!(
            t.run("lpushx l"),
            err("ERR wrong number of arguments for 'lpushx' command")
        );
        assert_eq!(
            t.run("lpush l"),
            err("ERR wrong number of arguments for 'lpush' command")
        );
        assert_eq!(
            t.run("lrange l 0 -1"),
            strs(&["c", "b", "a", "d", "e", "f"])
        );
        assert_eq!(t.run("lpop l"), bulk("c"));
        assert_eq!(t.run("lpop l 2"), strs(&["b", "a"]));
        assert_eq!(t.run("rpop l 0"), strs(&[]));
        assert_eq!(
            t.run("lpop l -1"),
            err("ERR value is out of range, must be positive")
        );
        assert_eq!(
            t.run("lpop l x"),
            err("ERR value is out of range, must be positive")
        );
        assert_eq!(t.run("lpop nokey"), Frame::Null);
        assert_eq!(t.run("lpop nokey 2"), Frame::NullArray);
        assert_eq!(t.run("lpop nokey 0"), Frame::NullArray);
        assert_eq!(
            t.run("lpop l 1 2"),
            err("ERR wrong number of arguments for 'lpop' command")
        );
        assert_eq!(t.run("llen l"), int(3));
        assert_eq!(t.run("rpop l 10"), strs(&["f", "e", "d"]));
        assert!(!t.exists("l"));
        assert_eq!(t.run("llen l"), int(0));
        assert_eq!(t.run("rpop l"), Frame::Null);
        for cmd in [
            "lpush s a",
            "lpushx s a",
            "lpop s",
            "lpop s 0",
            "llen s",
            "lrange s 0 1",
            "lpos s a",
        ] {
            assert_eq!(t.run(cmd), err(WRONGTYPE), "{cmd}");
        }
        assert_eq!(
            t.run("lpop s -1"),
            err("ERR value is out of range, must be positive")
        );
    }

    #[test]
    fn index_set_range() {
        let t = T::new();
        t.run("set s x");
        t.run("rpush l a b c a b c a");
        assert_eq!(t.run("lindex l -1"), bulk("a"));
        assert_eq!(t.run("lindex l 1"), bulk("b"));
        assert_eq!(t.run("lindex l 100"), Frame::Null);
        assert_eq!(
            t.run("lindex l x"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("lindex nokey x"), Frame::Null);
        assert_eq!(t.run("lindex s x"), err(WRONGTYPE));
        assert_eq!(t.run("lset l 0 z"), reply::ok());
        assert_eq!(t.run("lset l -7 y"), reply::ok());
        assert_eq!(t.run("lindex l 0"), bulk("y"));
        assert_eq!(t.run("lset l 100 z"), err("ERR index out of range"));
        assert_eq!(t.run("lset l -8 z"), err("ERR index out of range"));
        assert_eq!(t.run("lset nokey x z"), err("ERR no such key"));
        assert_eq!(t.run("lset s x z"), err(WRONGTYPE));
        assert_eq!(
            t.run("lset l x z"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("lrange l -2 100"), strs(&["c", "a"]));
        assert_eq!(t.run("lrange l 5 2"), strs(&[]));
        assert_eq!(
            t.run("lrange l x 1"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.run("lrange s x 1"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("lrange nokey 0 -1"), strs(&[]));
    }

    #[test]
    fn rem_trim_insert() {
        let t = T::new();
        t.run("set s x");
        t.run("rpush l a b c a b c a");
        assert_eq!(t.run("lrem l 0 a"), int(3));
        assert_eq!(t.run("lrem l -1 b"), int(1));
        assert_eq!(t.run("lrem l 1 nope"), int(0));
        assert_eq!(
            t.run("lrem l x a"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.run("lrem s x a"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("lrem s 1 a"), err(WRONGTYPE));
        assert_eq!(t.run("lrem nokey 1 a"), int(0));
        assert_eq!(t.run("lrange l 0 -1"), strs(&["b", "c", "c"]));
        assert_eq!(t.run("linsert l before c X"), int(4));
        assert_eq!(t.run("linsert l AFTER c Y"), int(5));
        assert_eq!(t.run("lrange l 0 -1"), strs(&["b", "X", "c", "Y", "c"]));
        assert_eq!(t.run("linsert l middle c Y"), err("ERR syntax error"));
        assert_eq!(t.run("linsert nokey middle c Y"), err("ERR syntax error"));
        assert_eq!(t.run("linsert l before nope Y"), int(-1));
        assert_eq!(t.run("linsert nokey before c Y"), int(0));
        assert_eq!(t.run("linsert s before c Y"), err(WRONGTYPE));
        assert_eq!(t.run("ltrim l 1 -2"), reply::ok());
        assert_eq!(t.run("lrange l 0 -1"), strs(&["X", "c", "Y"]));
        assert_eq!(
            t.run("ltrim l x 1"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.run("ltrim nokey 0 1"), reply::ok());
        assert_eq!(t.run("ltrim s 0 1"), err(WRONGTYPE));
        assert_eq!(t.run("ltrim l 0 -1"), reply::ok());
        assert_eq!(t.run("llen l"), int(3));
        assert_eq!(t.run("ltrim l 5 10"), reply::ok());
        assert!(!t.exists("l"));
    }

    #[test]
    fn lpos_command() {
        let t = T::new();
        t.run("rpush l b X c Y b c");
        assert_eq!(t.run("lpos l c"), int(2));
        assert_eq!(t.run("lpos l c rank -1"), int(5));
        assert_eq!(t.run("lpos l c count 0"), ints(&[2, 5]));
        assert_eq!(t.run("lpos l c count 1 count 0"), ints(&[2, 5]));
        assert_eq!(t.run("lpos l c maxlen 1"), Frame::Null);
        assert_eq!(t.run("lpos l nope"), Frame::Null);
        assert_eq!(t.run("lpos l nope count 0"), ints(&[]));
        assert_eq!(t.run("lpos nokey c"), Frame::Null);
        assert_eq!(t.run("lpos nokey c count 2"), ints(&[]));
        assert_eq!(t.run("lpos l c rank -9223372036854775808"), int(5));
        assert_eq!(
            t.run("lpos l c rank 0"),
            err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
        );
        assert_eq!(
            t.run("lpos l c count -1"),
            err("ERR COUNT can't be negative")
        );
        assert_eq!(
            t.run("lpos l c maxlen -1"),
            err("ERR MAXLEN can't be negative")
        );
        assert_eq!(
            t.run("lpos l c rank x"),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.run("lpos l c count x"),
            err("ERR COUNT can't be negative")
        );
        assert_eq!(
            t.run("lpos l c maxlen x"),
            err("ERR MAXLEN can't be negative")
        );
        assert_eq!(t.run("lpos l c foo 1"), err("ERR syntax error"));
        assert_eq!(t.run("lpos l c rank"), err("ERR syntax error"));
    }

    #[test]
    fn lmove_and_rpoplpush() {
        let t = T::new();
        t.run("set s x");
        t.run("rpush a 1 2 3");
        assert_eq!(t.run("lmove a b left right"), bulk("1"));
        assert_eq!(t.run("lmove a b up right"), err("ERR syntax error"));
        assert_eq!(t.run("lmove nokey b left right"), Frame::Null);
        assert_eq!(t.run("lmove a s left right"), err(WRONGTYPE));
        assert_eq!(t.run("lmove s a left right"), err(WRONGTYPE));
        assert_eq!(t.run("lmove nokey s left left"), Frame::Null);
        assert_eq!(t.run("lmove a a left right"), bulk("2"));
        assert_eq!(t.run("lrange a 0 -1"), strs(&["3", "2"]));
        assert_eq!(t.run("rpoplpush a b"), bulk("2"));
        assert_eq!(t.run("rpoplpush a b"), bulk("3"));
        assert!(!t.exists("a"));
        assert_eq!(t.run("lrange b 0 -1"), strs(&["3", "2", "1"]));
        assert_eq!(t.run("rpoplpush nokey b"), Frame::Null);
        t.run("rpush one x");
        assert_eq!(t.run("rpoplpush one one"), bulk("x"));
        assert_eq!(t.run("lrange one 0 -1"), strs(&["x"]));
    }

    #[test]
    fn lmpop_command() {
        let t = T::new();
        t.run("rpush l1 a b c");
        t.run("set s x");
        let popped = |key: &str, items: &[&str]| reply::array(vec![bulk(key), strs(items)]);
        assert_eq!(t.run("lmpop 2 nokey l1 left"), popped("l1", &["a"]));
        assert_eq!(
            t.run("lmpop 2 l1 s right count 5"),
            popped("l1", &["c", "b"])
        );
        assert!(!t.exists("l1"));
        assert_eq!(t.run("lmpop 1 nokey left"), Frame::NullArray);
        assert_eq!(
            t.run("lmpop 0 l1 left"),
            err("ERR numkeys should be greater than 0")
        );
        assert_eq!(
            t.run("lmpop x l1 left"),
            err("ERR numkeys should be greater than 0")
        );
        assert_eq!(t.run("lmpop 3 l1 left"), err("ERR syntax error"));
        assert_eq!(t.run("lmpop 1 l1 up"), err("ERR syntax error"));
        assert_eq!(
            t.run("lmpop 1 l1 left count 0"),
            err("ERR count should be greater than 0")
        );
        assert_eq!(
            t.run("lmpop 1 l1 left count x"),
            err("ERR count should be greater than 0")
        );
        assert_eq!(
            t.run("lmpop 1 l1 left count 1 count 2"),
            err("ERR syntax error")
        );
        assert_eq!(t.run("lmpop 1 l1 left foo"), err("ERR syntax error"));
        assert_eq!(t.run("lmpop 2 s l1 left"), err(WRONGTYPE));
        assert_eq!(
            t.run("lmpop 1 l1"),
            err("ERR wrong number of arguments for 'lmpop' command")
        );
    }

    #[test]
    fn table_entries_match_redis() {
        let spec = crate::lookup(b"LPUSH").unwrap();
        assert_eq!(
            (spec.arity, spec.first_key, spec.last_key, spec.step),
            (-3, 1, 1, 1)
        );
        assert_eq!(spec.flags.names(), ["write", "denyoom", "fast"]);
        assert_eq!(
            crate::lookup(b"lrange").unwrap().flags.names(),
            ["readonly"]
        );
        assert_eq!(crate::lookup(b"linsert").unwrap().arity, 5);
        assert_eq!(crate::lookup(b"lpos").unwrap().arity, -3);
        let lmove = crate::lookup(b"lmove").unwrap();
        assert_eq!(
            (lmove.arity, lmove.first_key, lmove.last_key, lmove.step),
            (5, 1, 2, 1)
        );
    }
}
