//! The sorted set value: a member → score map plus an ordered index.
//!
//! The ordered index is a skiplist with spans (the structure Redis uses),
//! stored in an arena (`Vec<Node>` addressed by `u32`) so the code needs no
//! `unsafe` and no reference counting. Elements are ordered by score, ties by
//! member bytes, exactly as Redis orders them. Every operation the sorted set
//! commands need is O(log n) expected: insert, remove, rank, element by rank,
//! first/last element of a score or lex range; range replies then walk the
//! level-0 links.
//!
//! Memory per element: one member allocation shared (by `Bytes` refcount)
//! between the map and the index, a map entry (`Bytes` + `u32`), a node
//! (member, score, back link, boxed levels) and on average 4/3 levels of
//! 8 bytes.
//!
//! ```
//! use bytes::Bytes;
//! use ferrite_store::value::zset::{ScoreRange, ZSet};
//!
//! let mut z = ZSet::new();
//! z.insert(Bytes::from_static(b"b"), 2.0);
//! z.insert(Bytes::from_static(b"a"), 2.0);
//! z.insert(Bytes::from_static(b"c"), 1.0);
//! let order: Vec<&[u8]> = z.iter().map(|(m, _)| &m[..]).collect();
//! assert_eq!(order, [&b"c"[..], b"a", b"b"]);
//! assert_eq!(z.rank(b"a"), Some(1));
//! let range = ScoreRange::new(1.0, false, 2.0, true);
//! assert_eq!(z.count_in_score_range(&range), 1);
//! ```

use std::cmp::Ordering;

use bytes::Bytes;
use indexmap::IndexMap;
use smallvec::{smallvec, SmallVec};

use crate::value::BuildHasher;

/// Index of a node in the arena.
type NodeId = u32;
/// "No node".
const NIL: NodeId = u32::MAX;
/// The header node, always at index 0; it holds no element.
const HEAD: NodeId = 0;
/// Maximum number of skiplist levels (enough for 2^64 elements at p = 1/4).
const LEVEL_MAX: usize = 32;

/// Redis keeps a sorted set in its compact "listpack" encoding while it has
/// at most this many members (`zset-max-listpack-entries`)…
pub const COMPACT_LEN_MAX: usize = 128;
/// …each at most this long (`zset-max-listpack-value`). See [`ZSet::is_compact`].
pub const COMPACT_MEMBER_BYTES_MAX: usize = 64;

/// Maximum number of elements in one sorted set. Node ids and spans are
/// `u32`; long before this many elements the server's memory limit applies.
pub const ZSET_LEN_MAX: usize = (u32::MAX - 2) as usize;

#[derive(Clone, Copy, Debug)]
struct Level {
    forward: NodeId,
    /// Number of level-0 steps this link jumps over.
    span: u32,
}

/// Links a node keeps inline; a node with more (1 in 64 at p = 1/4) keeps
/// them on the heap.
const LEVELS_INLINE: usize = 3;

#[derive(Debug, Clone)]
struct Node {
    member: Bytes,
    score: f64,
    backward: NodeId,
    /// Inline, not a box: a step along the list then reads the node it
    /// lands on, not also a second allocation. perf, ZADD into a 100k-member
    /// set (P16): `index_insert` + `find_update` were ~40 % of the server's
    /// time, mostly cache misses on the boxed links.
    levels: SmallVec<[Level; LEVELS_INLINE]>,
}

/// One end of a score range (`ZRANGEBYSCORE` syntax: `1.5`, `(1.5`, `-inf`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Whether the lower bound is excluded (`(min`).
    pub min_exclusive: bool,
    /// Upper bound.
    pub max: f64,
    /// Whether the upper bound is excluded (`(max`).
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// A range from its bounds.
    pub fn new(min: f64, min_exclusive: bool, max: f64, max_exclusive: bool) -> Self {
        ScoreRange {
            min,
            min_exclusive,
            max,
            max_exclusive,
        }
    }

    /// Whether `score` is at or above the lower bound.
    pub fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    /// Whether `score` is at or below the upper bound.
    pub fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    /// Whether `score` lies in the range.
    pub fn contains(&self, score: f64) -> bool {
        self.above_min(score) && self.below_max(score)
    }

    /// Whether no score can lie in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }
}

/// One end of a lex range (`ZRANGEBYLEX` syntax: `[a`, `(a`, `-`, `+`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    NegInf,
    /// `+`: above every member.
    PosInf,
    /// `[member`.
    Inclusive(Bytes),
    /// `(member`.
    Exclusive(Bytes),
}

impl LexBound {
    /// Parses `[x`, `(x`, `-` or `+`; `None` for anything else (the caller
    /// replies `ERR min or max not valid string range item`).
    pub fn parse(arg: &[u8]) -> Option<LexBound> {
        match arg.first()? {
            b'+' if arg.len() == 1 => Some(LexBound::PosInf),
            b'-' if arg.len() == 1 => Some(LexBound::NegInf),
            b'[' => Some(LexBound::Inclusive(Bytes::copy_from_slice(&arg[1..]))),
            b'(' => Some(LexBound::Exclusive(Bytes::copy_from_slice(&arg[1..]))),
            _ => None,
        }
    }

    fn is_exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }

    /// Compares two bounds as Redis's `sdscmplex` does (`-` lowest, `+` highest).
    fn cmp_bound(&self, other: &LexBound) -> Ordering {
        fn key(b: &LexBound) -> (u8, &[u8]) {
            match b {
                LexBound::NegInf => (0, &[]),
                LexBound::Inclusive(m) | LexBound::Exclusive(m) => (1, &m[..]),
                LexBound::PosInf => (2, &[]),
            }
        }
        key(self).cmp(&key(other))
    }
}

/// A lex range: `min` and `max` bounds on member bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexRange {
    /// Lower bound.
    pub min: LexBound,
    /// Upper bound.
    pub max: LexBound,
}

impl LexRange {
    /// Whether `member` is at or above the lower bound.
    pub fn above_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(b) => member >= &b[..],
            LexBound::Exclusive(b) => member > &b[..],
        }
    }

    /// Whether `member` is at or below the upper bound.
    pub fn below_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(b) => member <= &b[..],
            LexBound::Exclusive(b) => member < &b[..],
        }
    }

    /// Whether `member` lies in the range.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.above_min(member) && self.below_max(member)
    }

    /// Whether no member can lie in the range.
    pub fn is_empty(&self) -> bool {
        match self.min.cmp_bound(&self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.min.is_exclusive() || self.max.is_exclusive(),
            Ordering::Less => false,
        }
    }
}

/// A run of elements in index order (or reverse order), `count` long.
///
/// Describes a range reply before it is produced: commands use `len()` for
/// counts and iterate for the elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankSpan {
    /// 0-based rank (in ascending order) of the first element yielded.
    pub start: usize,
    /// Number of elements.
    pub count: usize,
    /// Whether iteration goes towards lower ranks.
    pub reverse: bool,
}

impl RankSpan {
    const EMPTY: RankSpan = RankSpan {
        start: 0,
        count: 0,
        reverse: false,
    };

    /// Number of elements in the span.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the span holds no element.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A sorted set: unique members, each with a score, ordered by (score, member).
#[derive(Debug, Clone)]
pub struct ZSet {
    /// Member → node. Insertion-ordered with O(1) `swap_remove`, so ZSCAN
    /// can walk it by position like the keyspace SCAN.
    dict: IndexMap<Bytes, NodeId, BuildHasher>,
    nodes: Vec<Node>,
    free: Vec<NodeId>,
    tail: NodeId,
    level: usize,
    rng_state: u64,
    /// Whether Redis would hold this set in its compact encoding (see
    /// [`ZSet::is_compact`]).
    compact: bool,
}

impl Default for ZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((m1, s1), (m2, s2))| m1 == m2 && s1.to_bits() == s2.to_bits())
    }
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> Self {
        let head = Node {
            member: Bytes::new(),
            score: 0.0,
            backward: NIL,
            levels: smallvec![
                Level {
                    forward: NIL,
                    span: 0
                };
                LEVEL_MAX
            ],
        };
        ZSet {
            dict: IndexMap::default(),
            nodes: vec![head],
            free: Vec::new(),
            tail: NIL,
            level: 1,
            rng_state: rand::random::<u64>() | 1,
            compact: true,
        }
    }

    /// An empty sorted set in the expanded encoding from the start, as Redis
    /// creates the results of ZUNION/ZINTER/ZDIFF (see [`ZSet::is_compact`]).
    pub fn new_expanded() -> Self {
        ZSet {
            compact: false,
            ..ZSet::new()
        }
    }

    /// Whether Redis would hold this set in its compact (listpack) encoding.
    ///
    /// The index is the same either way; the flag only reproduces what the
    /// encoding makes visible: a compact set stores the score `-0` as `0`,
    /// and answers ZSCAN in one step, in order. Like Redis, a set starts
    /// compact, expands for good when it exceeds [`COMPACT_LEN_MAX`] members
    /// or gets a member longer than [`COMPACT_MEMBER_BYTES_MAX`], and only
    /// [`ZSet::compact_if_small`] (the STORE commands) makes it compact again.
    pub fn is_compact(&self) -> bool {
        self.compact
    }

    /// Makes the set compact if it is small enough (Redis
    /// `zsetConvertToListpackIfNeeded`); compacting turns `-0` scores into 0.
    pub fn compact_if_small(&mut self) {
        if self.compact
            || self.len() > COMPACT_LEN_MAX
            || self.dict.keys().any(|m| m.len() > COMPACT_MEMBER_BYTES_MAX)
        {
            return;
        }
        self.compact = true;
        let negative_zeros: Vec<Bytes> = self
            .iter()
            .filter(|(_, s)| *s == 0.0 && s.is_sign_negative())
            .map(|(m, _)| m.clone())
            .collect();
        for member in negative_zeros {
            self.set_score(&member, 0.0);
        }
    }

    /// The score as stored: a compact set keeps `-0` as `0`.
    fn stored_score(&self, score: f64) -> f64 {
        if self.compact && score == 0.0 {
            0.0
        } else {
            score
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// Whether the set has no element.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Approximate heap bytes used, for memory accounting.
    pub fn memory_bytes(&self) -> usize {
        let per_node = std::mem::size_of::<Node>() + std::mem::size_of::<Bytes>() + 4;
        let members: usize = self.dict.keys().map(|m| m.len()).sum();
        let levels: usize = self
            .nodes
            .iter()
            .filter(|n| n.levels.spilled())
            .map(|n| n.levels.len() * std::mem::size_of::<Level>())
            .sum();
        self.nodes.capacity() * per_node + members + levels
    }

    /// Score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict
            .get(member)
            .map(|&id| self.nodes[id as usize].score)
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.dict.contains_key(member)
    }

    /// Sets `member`'s score, adding it if absent. Returns the previous score.
    ///
    /// The member is stored as given; callers holding a slice of a larger
    /// network buffer should pass `Bytes::copy_from_slice` so the buffer is
    /// not kept alive.
    ///
    /// # Panics
    /// If `score` is NaN, or the set already holds [`ZSET_LEN_MAX`]
    /// elements (callers check both first).
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        assert!(!score.is_nan(), "sorted set scores are never NaN");
        if let Some(&id) = self.dict.get(&member[..]) {
            let score = self.stored_score(score);
            let old = self.nodes[id as usize].score;
            if old.to_bits() != score.to_bits() {
                self.update_score(id, score);
            }
            return Some(old);
        }
        assert!(self.len() < ZSET_LEN_MAX, "sorted set is full");
        // Redis expands before inserting the member that does not fit.
        if self.len() + 1 > COMPACT_LEN_MAX || member.len() > COMPACT_MEMBER_BYTES_MAX {
            self.compact = false;
        }
        let score = self.stored_score(score);
        let id = self.index_insert(member.clone(), score);
        self.dict.insert(member, id);
        None
    }

    /// Changes the score of an existing `member`; returns the previous
    /// score, or `None` (and changes nothing) if it is absent.
    ///
    /// # Panics
    /// If `score` is NaN.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> Option<f64> {
        assert!(!score.is_nan(), "sorted set scores are never NaN");
        let score = self.stored_score(score);
        let id = *self.dict.get(member)?;
        let old = self.nodes[id as usize].score;
        if old.to_bits() != score.to_bits() {
            self.update_score(id, score);
        }
        Some(old)
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let id = self.dict.swap_remove(member)?;
        let score = self.nodes[id as usize].score;
        let mut update = [HEAD; LEVEL_MAX];
        let found = self.find_update(score, member, &mut update);
        debug_assert_eq!(found, id);
        self.delete_node(id, &update);
        Some(score)
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let &id = self.dict.get(member)?;
        let score = self.nodes[id as usize].score;
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let link = self.nodes[x as usize].levels[i];
                if link.forward == NIL
                    || self.cmp_node(link.forward, score, member) == Ordering::Greater
                {
                    break;
                }
                rank += link.span as usize;
                x = link.forward;
            }
            if x == id {
                return Some(rank - 1);
            }
        }
        unreachable!("member in the map but not in the index")
    }

    /// The element at 0-based ascending `rank`.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&Bytes, f64)> {
        let id = self.node_by_rank(rank)?;
        let node = &self.nodes[id as usize];
        Some((&node.member, node.score))
    }

    /// All elements in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            set: self,
            next: self.nodes[HEAD as usize].levels[0].forward,
            remaining: self.len(),
            reverse: false,
        }
    }

    /// The elements of a span (see [`Self::span_by_rank`] and friends).
    pub fn iter_span(&self, span: RankSpan) -> Iter<'_> {
        let next = if span.count == 0 {
            NIL
        } else {
            self.node_by_rank(span.start).unwrap_or(NIL)
        };
        Iter {
            set: self,
            next,
            remaining: if next == NIL { 0 } else { span.count },
            reverse: span.reverse,
        }
    }

    /// The span for `ZRANGE start stop [REV]` after Redis's index rules:
    /// negative indexes count from the end, the range is clamped, and with
    /// `reverse` the indexes count from the highest element.
    pub fn span_by_rank(&self, start: i64, stop: i64, reverse: bool) -> RankSpan {
        let len = self.len() as i64;
        let mut start = if start < 0 { len + start } else { start };
        let mut stop = if stop < 0 { len + stop } else { stop };
        if start < 0 {
            start = 0;
        }
        if start > stop || start >= len {
            return RankSpan::EMPTY;
        }
        if stop >= len {
            stop = len - 1;
        }
        let count = (stop - start + 1) as usize;
        let first = if reverse {
            (len - 1 - start) as usize
        } else {
            start as usize
        };
        RankSpan {
            start: first,
            count,
            reverse,
        }
    }

    /// The span of elements whose score is in `range`, in ascending order
    /// (or descending with `reverse`), skipping `offset` elements and keeping
    /// at most `limit` (`None`: all).
    pub fn span_by_score(
        &self,
        range: &ScoreRange,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> RankSpan {
        let Some((first, last)) = self.score_rank_bounds(range) else {
            return RankSpan::EMPTY;
        };
        Self::span_between(first, last, reverse, offset, limit)
    }

    /// Like [`Self::span_by_score`] for a lex range.
    pub fn span_by_lex(
        &self,
        range: &LexRange,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> RankSpan {
        let Some((first, last)) = self.lex_rank_bounds(range) else {
            return RankSpan::EMPTY;
        };
        Self::span_between(first, last, reverse, offset, limit)
    }

    /// Number of elements whose score is in `range`.
    pub fn count_in_score_range(&self, range: &ScoreRange) -> usize {
        self.score_rank_bounds(range)
            .map_or(0, |(first, last)| last - first + 1)
    }

    /// Number of elements whose member is in `range`.
    pub fn count_in_lex_range(&self, range: &LexRange) -> usize {
        self.lex_rank_bounds(range)
            .map_or(0, |(first, last)| last - first + 1)
    }

    /// Removes the elements of `span` (any direction); returns how many.
    pub fn remove_span(&mut self, span: RankSpan) -> usize {
        if span.count == 0 {
            return 0;
        }
        let first = if span.reverse {
            span.start + 1 - span.count
        } else {
            span.start
        };
        self.remove_rank_range(first, first + span.count - 1)
    }

    /// Removes and returns up to `count` elements from the low end (or the
    /// high end with `from_max`), in the order they are popped.
    pub fn pop(&mut self, count: usize, from_max: bool) -> Vec<(Bytes, f64)> {
        let count = count.min(self.len());
        let mut popped = Vec::with_capacity(count);
        for _ in 0..count {
            let id = if from_max {
                self.tail
            } else {
                self.nodes[HEAD as usize].levels[0].forward
            };
            debug_assert_ne!(id, NIL);
            let member = self.nodes[id as usize].member.clone();
            let score = self.remove(&member).expect("indexed member is in the map");
            popped.push((member, score));
        }
        popped
    }

    /// The member at `position` of the member map and its score. Positions
    /// are `0..len()` in no meaningful order; removing a member moves the
    /// last one into its place. `ZSCAN` walks positions downwards, like the
    /// keyspace SCAN, so members present for a whole scan are all returned.
    pub fn get_position(&self, position: usize) -> Option<(&Bytes, f64)> {
        self.dict
            .get_index(position)
            .map(|(m, &id)| (m, self.nodes[id as usize].score))
    }

    /// Checks every structural invariant; for tests.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        let mut count = 0usize;
        let mut prev = HEAD;
        let mut x = self.nodes[HEAD as usize].levels[0].forward;
        while x != NIL {
            let node = &self.nodes[x as usize];
            assert_eq!(node.backward, if prev == HEAD { NIL } else { prev });
            if prev != HEAD {
                let p = &self.nodes[prev as usize];
                assert_eq!(
                    self.cmp_node(prev, node.score, &node.member),
                    Ordering::Less,
                    "order {p:?} {node:?}"
                );
            }
            assert_eq!(self.dict.get(&node.member[..]), Some(&x));
            count += 1;
            assert_eq!(self.node_by_rank(count - 1), Some(x));
            prev = x;
            x = node.levels[0].forward;
        }
        assert_eq!(count, self.len());
        assert_eq!(self.tail, if prev == HEAD { NIL } else { prev });
        assert_eq!(self.nodes.len(), self.len() + self.free.len() + 1);
    }

    // ---- index internals ----

    fn span_between(
        first: usize,
        last: usize,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> RankSpan {
        let total = last - first + 1;
        if offset >= total {
            return RankSpan::EMPTY;
        }
        let count = limit.map_or(total - offset, |l| l.min(total - offset));
        if count == 0 {
            return RankSpan::EMPTY;
        }
        let start = if reverse {
            last - offset
        } else {
            first + offset
        };
        RankSpan {
            start,
            count,
            reverse,
        }
    }

    /// Orders node `id` against (score, member).
    fn cmp_node(&self, id: NodeId, score: f64, member: &[u8]) -> Ordering {
        let node = &self.nodes[id as usize];
        match node.score.partial_cmp(&score) {
            Some(Ordering::Equal) | None => node.member[..].cmp(member),
            Some(order) => order,
        }
    }

    fn random_level(&mut self) -> usize {
        let mut level = 1;
        loop {
            // xorshift64: skiplist levels need no cryptographic quality.
            let mut x = self.rng_state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.rng_state = x;
            if level >= LEVEL_MAX || (x & 3) != 0 {
                return level;
            }
            level += 1;
        }
    }

    /// Fills `update[i]` with the last node at level `i` before (score,
    /// member); returns the node after `update[0]`.
    fn find_update(&self, score: f64, member: &[u8], update: &mut [NodeId; LEVEL_MAX]) -> NodeId {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.nodes[x as usize].levels[i].forward;
                if f == NIL || self.cmp_node(f, score, member) != Ordering::Less {
                    break;
                }
                x = f;
            }
            update[i] = x;
        }
        self.nodes[x as usize].levels[0].forward
    }

    fn alloc(&mut self, member: Bytes, score: f64, level: usize) -> NodeId {
        let node = Node {
            member,
            score,
            backward: NIL,
            levels: smallvec![
                Level {
                    forward: NIL,
                    span: 0
                };
                level
            ],
        };
        if let Some(id) = self.free.pop() {
            self.nodes[id as usize] = node;
            id
        } else {
            let id = self.nodes.len() as NodeId;
            debug_assert!(id < NIL);
            self.nodes.push(node);
            id
        }
    }

    fn index_insert(&mut self, member: Bytes, score: f64) -> NodeId {
        let mut update = [HEAD; LEVEL_MAX];
        let mut rank = [0u32; LEVEL_MAX];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let link = self.nodes[x as usize].levels[i];
                if link.forward == NIL
                    || self.cmp_node(link.forward, score, &member) != Ordering::Less
                {
                    break;
                }
                rank[i] += link.span;
                x = link.forward;
            }
            update[i] = x;
        }
        let level = self.random_level();
        let len = self.len() as u32;
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.nodes[HEAD as usize].levels[i].span = len;
            }
            self.level = level;
        }
        let id = self.alloc(member, score, level);
        for i in 0..level {
            let prev = update[i] as usize;
            let prev_link = self.nodes[prev].levels[i];
            self.nodes[id as usize].levels[i] = Level {
                forward: prev_link.forward,
                span: prev_link.span - (rank[0] - rank[i]),
            };
            self.nodes[prev].levels[i] = Level {
                forward: id,
                span: rank[0] - rank[i] + 1,
            };
        }
        for (i, &prev) in update.iter().enumerate().take(self.level).skip(level) {
            self.nodes[prev as usize].levels[i].span += 1;
        }
        self.nodes[id as usize].backward = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.nodes[id as usize].levels[0].forward;
        if next == NIL {
            self.tail = id;
        } else {
            self.nodes[next as usize].backward = id;
        }
        id
    }

    fn delete_node(&mut self, id: NodeId, update: &[NodeId; LEVEL_MAX]) {
        for (i, &prev) in update.iter().enumerate().take(self.level) {
            let prev = prev as usize;
            if self.nodes[prev].levels[i].forward == id {
                let gone = self.nodes[id as usize].levels[i];
                let link = &mut self.nodes[prev].levels[i];
                link.span = link.span + gone.span - 1;
                link.forward = gone.forward;
            } else {
                self.nodes[prev].levels[i].span -= 1;
            }
        }
        let next = self.nodes[id as usize].levels[0].forward;
        let back = self.nodes[id as usize].backward;
        if next == NIL {
            self.tail = back;
        } else {
            self.nodes[next as usize].backward = back;
        }
        while self.level > 1 && self.nodes[HEAD as usize].levels[self.level - 1].forward == NIL {
            self.level -= 1;
        }
        let node = &mut self.nodes[id as usize];
        node.member = Bytes::new();
        node.levels = SmallVec::new();
        self.free.push(id);
        if self.dict.is_empty() {
            // Give the arena back once the set is empty.
            self.nodes.truncate(1);
            self.nodes.shrink_to_fit();
            self.free = Vec::new();
        }
    }

    fn update_score(&mut self, id: NodeId, score: f64) {
        let node = &self.nodes[id as usize];
        let member = node.member.clone();
        let back = node.backward;
        let next = node.levels[0].forward;
        let after_back = back == NIL || self.cmp_node(back, score, &member) == Ordering::Less;
        let before_next = next == NIL || self.cmp_node(next, score, &member) == Ordering::Greater;
        if after_back && before_next {
            self.nodes[id as usize].score = score;
            return;
        }
        let old = self.nodes[id as usize].score;
        let mut update = [HEAD; LEVEL_MAX];
        let found = self.find_update(old, &member, &mut update);
        debug_assert_eq!(found, id);
        // Keep the map entry; only the node moves.
        self.delete_node_keep_arena(id, &update);
        let new_id = self.index_insert(member.clone(), score);
        *self.dict.get_mut(&member[..]).expect("member in map") = new_id;
    }

    fn delete_node_keep_arena(&mut self, id: NodeId, update: &[NodeId; LEVEL_MAX]) {
        // `delete_node` releases the arena when the map is empty; the map
        // still holds the member here, so it never does.
        debug_assert!(!self.dict.is_empty());
        self.delete_node(id, update);
    }

    fn node_by_rank(&self, rank: usize) -> Option<NodeId> {
        if rank >= self.len() {
            return None;
        }
        let target = rank + 1;
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let link = self.nodes[x as usize].levels[i];
                if link.forward == NIL || traversed + link.span as usize > target {
                    break;
                }
                traversed += link.span as usize;
                x = link.forward;
            }
            if traversed == target {
                return Some(x);
            }
        }
        None
    }

    /// 0-based ranks of the first and last element matching, or `None`.
    fn rank_bounds(
        &self,
        below_first: impl Fn(&Node) -> bool,
        up_to_last: impl Fn(&Node) -> bool,
    ) -> Option<(usize, usize)> {
        // First: skip every node entirely below the range.
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let link = self.nodes[x as usize].levels[i];
                if link.forward == NIL || !below_first(&self.nodes[link.forward as usize]) {
                    break;
                }
                traversed += link.span as usize;
                x = link.forward;
            }
        }
        let first = self.nodes[x as usize].levels[0].forward;
        if first == NIL || !up_to_last(&self.nodes[first as usize]) {
            return None;
        }
        let first_rank = traversed; // 0-based rank of `first`
                                    // Last: go as far as nodes are not above the range.
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let link = self.nodes[x as usize].levels[i];
                if link.forward == NIL || !up_to_last(&self.nodes[link.forward as usize]) {
                    break;
                }
                traversed += link.span as usize;
                x = link.forward;
            }
        }
        debug_assert!(traversed > first_rank);
        Some((first_rank, traversed - 1))
    }

    fn score_rank_bounds(&self, range: &ScoreRange) -> Option<(usize, usize)> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        self.rank_bounds(|n| !range.above_min(n.score), |n| range.below_max(n.score))
    }

    fn lex_rank_bounds(&self, range: &LexRange) -> Option<(usize, usize)> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        self.rank_bounds(
            |n| !range.above_min(&n.member),
            |n| range.below_max(&n.member),
        )
    }

    /// Removes 0-based ranks `first..=last`.
    fn remove_rank_range(&mut self, first: usize, last: usize) -> usize {
        debug_assert!(first <= last && last < self.len());
        let mut update = [HEAD; LEVEL_MAX];
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let link = self.nodes[x as usize].levels[i];
                if link.forward == NIL || traversed + link.span as usize > first {
                    break;
                }
                traversed += link.span as usize;
                x = link.forward;
            }
            update[i] = x;
        }
        let mut x = self.nodes[x as usize].levels[0].forward;
        let mut removed = 0usize;
        while x != NIL && removed < last - first + 1 {
            let next = self.nodes[x as usize].levels[0].forward;
            let member = std::mem::take(&mut self.nodes[x as usize].member);
            self.dict.swap_remove(&member[..]);
            self.delete_node(x, &update);
            removed += 1;
            x = next;
            if self.dict.is_empty() {
                break;
            }
        }
        removed
    }
}

/// Iterator over `(member, score)` in index order (or reverse).
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    set: &'a ZSet,
    next: NodeId,
    remaining: usize,
    reverse: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Bytes, f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 || self.next == NIL {
            return None;
        }
        let node = &self.set.nodes[self.next as usize];
        self.remaining -= 1;
        self.next = if self.reverse {
            node.backward
        } else {
            node.levels[0].forward
        };
        Some((&node.member, node.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn members(it: Iter<'_>) -> Vec<(String, f64)> {
        it.map(|(m, s)| (String::from_utf8(m.to_vec()).unwrap(), s))
            .collect()
    }

    #[test]
    fn orders_by_score_then_member() {
        let mut z = ZSet::new();
        assert_eq!(z.insert(b("b"), 1.0), None);
        assert_eq!(z.insert(b("a"), 1.0), None);
        assert_eq!(z.insert(b("c"), 0.5), None);
        assert_eq!(z.insert(b("d"), f64::INFINITY), None);
        assert_eq!(z.insert(b("e"), f64::NEG_INFINITY), None);
        z.check_invariants();
        let got: Vec<String> = members(z.iter()).into_iter().map(|(m, _)| m).collect();
        assert_eq!(got, ["e", "c", "a", "b", "d"]);
        assert_eq!(z.rank(b"a"), Some(2));
        assert_eq!(z.rank(b"zz"), None);
        assert_eq!(z.get_by_rank(4).map(|(m, _)| m.clone()), Some(b("d")));
        assert_eq!(z.get_by_rank(5), None);
    }

    #[test]
    fn update_moves_and_keeps_in_place() {
        let mut z = ZSet::new();
        for (i, m) in ["a", "b", "c", "d"].iter().enumerate() {
            z.insert(b(m), i as f64);
        }
        assert_eq!(z.insert(b("b"), 1.5), Some(1.0)); // in place
        z.check_invariants();
        assert_eq!(z.insert(b("a"), 10.0), Some(0.0)); // moves to the end
        z.check_invariants();
        assert_eq!(z.rank(b"a"), Some(3));
        assert_eq!(z.score(b"a"), Some(10.0));
        assert_eq!(z.len(), 4);
        assert_eq!(z.remove(b"a"), Some(10.0));
        assert_eq!(z.remove(b"a"), None);
        z.check_invariants();
    }

    #[test]
    fn score_ranges() {
        let mut z = ZSet::new();
        for i in 0..10 {
            z.insert(b(&format!("m{i}")), i as f64);
        }
        let r = ScoreRange::new(2.0, true, 5.0, false);
        assert_eq!(z.count_in_score_range(&r), 3);
        let s = z.span_by_score(&r, false, 0, None);
        assert_eq!(
            members(z.iter_span(s)),
            [("m3".into(), 3.0), ("m4".into(), 4.0), ("m5".into(), 5.0)]
        );
        let s = z.span_by_score(&r, true, 1, Some(5));
        assert_eq!(
            members(z.iter_span(s)),
            [("m4".into(), 4.0), ("m3".into(), 3.0)]
        );
        let all = ScoreRange::new(f64::NEG_INFINITY, false, f64::INFINITY, false);
        assert_eq!(z.count_in_score_range(&all), 10);
        assert_eq!(
            z.count_in_score_range(&ScoreRange::new(3.0, true, 3.0, false)),
            0
        );
        assert_eq!(
            z.count_in_score_range(&ScoreRange::new(20.0, false, 30.0, false)),
            0
        );
        assert_eq!(
            z.count_in_score_range(&ScoreRange::new(-3.0, false, -1.0, false)),
            0
        );
        assert_eq!(
            z.count_in_score_range(&ScoreRange::new(3.5, false, 3.7, false)),
            0
        );
        assert_eq!(
            z.remove_span(z.span_by_score(&ScoreRange::new(0.0, false, 4.0, true), false, 0, None)),
            4
        );
        z.check_invariants();
        assert_eq!(z.len(), 6);
        assert_eq!(z.get_by_rank(0).map(|(_, s)| s), Some(4.0));
    }

    #[test]
    fn lex_ranges() {
        let mut z = ZSet::new();
        for m in ["a", "b", "c", "d", "e"] {
            z.insert(b(m), 0.0);
        }
        let p = |s: &str| LexBound::parse(s.as_bytes()).unwrap();
        let r = LexRange {
            min: p("(a"),
            max: p("[c"),
        };
        let s = z.span_by_lex(&r, false, 0, None);
        assert_eq!(members(z.iter_span(s)).len(), 2);
        assert_eq!(
            z.count_in_lex_range(&LexRange {
                min: p("-"),
                max: p("+")
            }),
            5
        );
        assert_eq!(
            z.count_in_lex_range(&LexRange {
                min: p("+"),
                max: p("-")
            }),
            0
        );
        assert_eq!(
            z.count_in_lex_range(&LexRange {
                min: p("+"),
                max: p("+")
            }),
            0
        );
        assert_eq!(
            z.count_in_lex_range(&LexRange {
                min: p("[c"),
                max: p("(c")
            }),
            0
        );
        assert_eq!(
            z.count_in_lex_range(&LexRange {
                min: p("[c"),
                max: p("[c")
            }),
            1
        );
        assert_eq!(LexBound::parse(b"a"), None);
        assert_eq!(LexBound::parse(b""), None);
        assert_eq!(LexBound::parse(b"+a"), None);
        let s = z.span_by_lex(
            &LexRange {
                min: p("-"),
                max: p("(e"),
            },
            true,
            0,
            Some(2),
        );
        let got: Vec<String> = members(z.iter_span(s))
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(got, ["d", "c"]);
    }

    #[test]
    fn rank_spans_follow_redis_index_rules() {
        let mut z = ZSet::new();
        for i in 0..5 {
            z.insert(b(&i.to_string()), i as f64);
        }
        fn names_of(z: &ZSet, s: RankSpan) -> String {
            members(z.iter_span(s))
                .into_iter()
                .map(|(m, _)| m)
                .collect::<Vec<_>>()
                .join("")
        }
        let names = |s| names_of(&z, s);
        assert_eq!(names(z.span_by_rank(0, -1, false)), "01234");
        assert_eq!(names(z.span_by_rank(-2, 100, false)), "34");
        assert_eq!(names(z.span_by_rank(0, 1, true)), "43");
        assert_eq!(names(z.span_by_rank(-100, -4, true)), "43");
        assert_eq!(names(z.span_by_rank(3, 2, false)), "");
        assert_eq!(names(z.span_by_rank(5, 10, false)), "");
        assert_eq!(z.remove_span(z.span_by_rank(1, 2, true)), 2);
        assert_eq!(names_of(&z, z.span_by_rank(0, -1, false)), "014");
    }

    #[test]
    fn pop_both_ends_and_release_memory() {
        let mut z = ZSet::new();
        for i in 0..100 {
            z.insert(b(&format!("{i:03}")), i as f64);
        }
        let low = z.pop(2, false);
        assert_eq!(low, vec![(b("000"), 0.0), (b("001"), 1.0)]);
        let high = z.pop(1, true);
        assert_eq!(high, vec![(b("099"), 99.0)]);
        z.check_invariants();
        assert_eq!(z.pop(1000, true).len(), 97);
        assert!(z.is_empty());
        z.check_invariants();
        assert_eq!(z.nodes.len(), 1);
        z.insert(b("x"), 1.0);
        z.check_invariants();
    }

    #[test]
    fn compact_encoding_emulation() {
        let mut z = ZSet::new();
        assert!(z.is_compact());
        z.insert(b("a"), -0.0);
        assert!(
            z.score(b"a").unwrap().is_sign_positive(),
            "compact sets store -0 as 0"
        );
        z.insert(b(&"x".repeat(65)), -0.0);
        assert!(!z.is_compact());
        assert!(z
            .score("x".repeat(65).as_bytes())
            .unwrap()
            .is_sign_negative());
        z.remove("x".repeat(65).as_bytes());
        assert!(!z.is_compact(), "expansion is sticky");
        z.set_score(b"a", -0.0);
        z.compact_if_small();
        assert!(z.is_compact());
        assert!(z.score(b"a").unwrap().is_sign_positive());
        let mut big = ZSet::new();
        for i in 0..COMPACT_LEN_MAX {
            big.insert(b(&i.to_string()), 1.0);
        }
        assert!(big.is_compact());
        big.insert(b("one more"), 1.0);
        assert!(!big.is_compact());
        assert!(!ZSet::new_expanded().is_compact());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        RemoveRanks(i8, i8),
        Pop(u8, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), -20i8..20).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (any::<i8>(), any::<i8>()).prop_map(|(a, b)| Op::RemoveRanks(a, b)),
            1 => (0u8..4, any::<bool>()).prop_map(|(n, r)| Op::Pop(n, r)),
        ]
    }

    fn model_sort(model: &mut [(f64, Vec<u8>)]) {
        model.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
    }

    fn model_span(model_len: usize, start: i64, stop: i64) -> Vec<usize> {
        let len = model_len as i64;
        let s = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let e = if stop < 0 {
            len + stop
        } else {
            stop.min(len - 1)
        };
        if s > e || s >= len {
            return vec![];
        }
        (s as usize..=e as usize).collect()
    }

    proptest! {
        #[test]
        fn matches_naive_sorted_vec(ops in proptest::collection::vec(op(), 1..200),
                                    qmin in -25i8..25, qlen in 0i8..20, minex: bool, maxex: bool,
                                    off in 0usize..5, lim in proptest::option::of(0usize..8), rev: bool) {
            let mut z = ZSet::new();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let member = vec![b'a' + m % 40];
                        let score = f64::from(s) / 2.0;
                        let old = model.iter().position(|e| e.1 == member);
                        let old_score = old.map(|i| model.remove(i).0);
                        model.push((score, member.clone()));
                        model_sort(&mut model);
                        prop_assert_eq!(z.insert(Bytes::from(member), score), old_score);
                    }
                    Op::Remove(m) => {
                        let member = vec![b'a' + m % 40];
                        let old = model.iter().position(|e| e.1 == member).map(|i| model.remove(i).0);
                        prop_assert_eq!(z.remove(&member), old);
                    }
                    Op::RemoveRanks(a, b) => {
                        let idx = model_span(model.len(), a.into(), b.into());
                        let n = z.remove_span(z.span_by_rank(a.into(), b.into(), false));
                        prop_assert_eq!(n, idx.len());
                        if let (Some(&f), Some(&l)) = (idx.first(), idx.last()) {
                            model.drain(f..=l);
                        }
                    }
                    Op::Pop(n, from_max) => {
                        let got = z.pop(n.into(), from_max);
                        let k = usize::from(n).min(model.len());
                        let expect: Vec<(Bytes, f64)> = if from_max {
                            model.drain(model.len() - k..).rev().map(|(s, m)| (Bytes::from(m), s)).collect()
                        } else {
                            model.drain(..k).map(|(s, m)| (Bytes::from(m), s)).collect()
                        };
                        prop_assert_eq!(got, expect);
                    }
                }
                z.check_invariants();
            }
            // Full order, ranks and scores.
            let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(m, s)| (s, m.to_vec())).collect();
            prop_assert_eq!(&got, &model);
            for (i, (s, m)) in model.iter().enumerate() {
                prop_assert_eq!(z.rank(m), Some(i));
                prop_assert_eq!(z.score(m), Some(*s));
            }
            // Score range query with offset/limit, both directions.
            let range = ScoreRange::new(f64::from(qmin) / 2.0, minex, f64::from(qmin + qlen) / 2.0, maxex);
            let mut expect: Vec<(f64, Vec<u8>)> = model.iter().filter(|e| range.contains(e.0)).cloned().collect();
            prop_assert_eq!(z.count_in_score_range(&range), expect.len());
            if rev { expect.reverse(); }
            let expect: Vec<_> = expect.into_iter().skip(off).take(lim.unwrap_or(usize::MAX)).collect();
            let got: Vec<(f64, Vec<u8>)> = z.iter_span(z.span_by_score(&range, rev, off, lim)).map(|(m, s)| (s, m.to_vec())).collect();
            prop_assert_eq!(got, expect);
            // Lex range (members are single letters).
            let lo = LexBound::Inclusive(Bytes::from(vec![b'a' + (qmin.unsigned_abs() % 40)]));
            let hi = if maxex { LexBound::PosInf } else { LexBound::Exclusive(Bytes::from(vec![b'a' + ((qmin.unsigned_abs() + qlen as u8) % 40)])) };
            let lex = LexRange { min: lo, max: hi };
            // Lex queries assume equal scores, as in Redis; check against the
            // index order filtered by the same predicate when it is monotone.
            let in_order: Vec<Vec<u8>> = model.iter().map(|e| e.1.clone()).collect();
            let mut sorted = in_order.clone();
            sorted.sort();
            if sorted == in_order {
                let mut expect: Vec<Vec<u8>> = in_order.into_iter().filter(|m| lex.contains(m)).collect();
                prop_assert_eq!(z.count_in_lex_range(&lex), expect.len());
                if rev { expect.reverse(); }
                let expect: Vec<_> = expect.into_iter().skip(off).take(lim.unwrap_or(usize::MAX)).collect();
                let got: Vec<Vec<u8>> = z.iter_span(z.span_by_lex(&lex, rev, off, lim)).map(|(m, _)| m.to_vec()).collect();
                prop_assert_eq!(got, expect);
            }
        }

        #[test]
        fn lex_matches_naive(members in proptest::collection::btree_set(proptest::collection::vec(b'a'..b'e', 0..3), 0..30),
                             lo in proptest::collection::vec(b'a'..b'e', 0..3), hi in proptest::collection::vec(b'a'..b'e', 0..3),
                             lo_kind in 0u8..4, hi_kind in 0u8..4,
                             off in 0usize..5, lim in proptest::option::of(0usize..8), rev: bool) {
            let bound = |kind: u8, v: Vec<u8>| match kind {
                0 => LexBound::NegInf,
                1 => LexBound::PosInf,
                2 => LexBound::Inclusive(Bytes::from(v)),
                _ => LexBound::Exclusive(Bytes::from(v)),
            };
            let lex = LexRange { min: bound(lo_kind, lo), max: bound(hi_kind, hi) };
            let mut z = ZSet::new();
            for m in &members {
                z.insert(Bytes::from(m.clone()), 0.0);
            }
            let mut expect: Vec<Vec<u8>> = if lex.is_empty() { vec![] } else { members.iter().filter(|m| lex.contains(m)).cloned().collect() };
            prop_assert_eq!(z.count_in_lex_range(&lex), expect.len());
            if rev { expect.reverse(); }
            let expect: Vec<_> = expect.into_iter().skip(off).take(lim.unwrap_or(usize::MAX)).collect();
            let got: Vec<Vec<u8>> = z.iter_span(z.span_by_lex(&lex, rev, off, lim)).map(|(m, _)| m.to_vec()).collect();
            prop_assert_eq!(got, expect);
        }
    }
}
