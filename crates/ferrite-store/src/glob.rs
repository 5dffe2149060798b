//! Redis glob matching (`stringmatchlen` of Redis 7.0), the one matcher used by
//! KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH and the wasm key permissions.
//!
//! Semantics are byte-for-byte those of Redis, quirks included:
//! `*` any run of bytes, `?` one byte, `[abc]` `[a-z]` (reversed ranges allowed)
//! `[^x]` classes, `\x` escapes (also inside classes). An unterminated class
//! ends at the end of the pattern. Like Redis, a pattern never matches the
//! empty subject unless it is empty itself (`*` does not match `""`).
//! Bytes compare as C `char` (signed) in ranges.
//!
//! Unlike a naive backtracking matcher, this one runs in `O(pattern × subject)`
//! time without recursion: as in Redis's fix for nested stars
//! (`skipLongerMatches`), once the part after the last `*` fails at every
//! position, earlier stars are not retried.
//!
//! ```
//! use ferrite_store::glob::matches;
//! assert!(matches(b"user:*", b"user:42"));
//! assert!(matches(b"h[ae]llo", b"hallo"));
//! assert!(!matches(b"h[^e]llo", b"hello"));
//! assert!(matches(b"a\\*b", b"a*b"));
//! ```

/// Whether `subject` matches the glob `pattern` (case-sensitive).
pub fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    // `*` (KEYS *, SCAN MATCH *, a function allowed every key) matches
    // every non-empty subject (Redis: not the empty one): no matcher run.
    if pattern == b"*" {
        return !subject.is_empty();
    }
    match_impl(pattern, subject, false)
}

/// Whether `subject` matches the glob `pattern`, ASCII case-insensitively.
pub fn matches_nocase(pattern: &[u8], subject: &[u8]) -> bool {
    match_impl(pattern, subject, true)
}

/// Whether the pattern contains no glob metacharacters (it matches only itself).
pub fn is_literal(pattern: &[u8]) -> bool {
    !pattern
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

/// Byte at `i`, or 0 past the end (Redis reads the NUL terminator there).
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

fn lower(c: u8) -> u8 {
    c.to_ascii_lowercase()
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        lower(a) == lower(b)
    } else {
        a == b
    }
}

/// Outcome of matching the class starting at `p[pi] == b'['` against `c`.
/// Returns (matched, index of the class's last pattern byte).
fn match_class(p: &[u8], mut pi: usize, c: u8, nocase: bool) -> (bool, usize) {
    let plen = p.len();
    pi += 1; // skip '['
    let negate = at(p, pi) == b'^';
    if negate {
        pi += 1;
    }
    let mut matched = false;
    loop {
        let remaining = plen.saturating_sub(pi);
        if at(p, pi) == b'\\' && remaining >= 2 {
            pi += 1;
            if p[pi] == c {
                matched = true;
            }
        } else if at(p, pi) == b']' && remaining >= 1 {
            break;
        } else if remaining == 0 {
            // Unterminated class: stay on the last byte of the pattern.
            pi -= 1;
            break;
        } else if remaining >= 3 && p[pi + 1] == b'-' {
            // Redis compares C (signed) chars here.
            let (mut start, mut end) = (p[pi] as i8, p[pi + 2] as i8);
            let mut ch = c as i8;
            if start > end {
                std::mem::swap(&mut start, &mut end);
            }
            if nocase {
                start = lower(start as u8) as i8;
                end = lower(end as u8) as i8;
                ch = lower(ch as u8) as i8;
            }
            pi += 2;
            if ch >= start && ch <= end {
                matched = true;
            }
        } else if eq(p[pi], c, nocase) {
            matched = true;
        }
        pi += 1;
    }
    (matched != negate, pi)
}

fn match_impl(p: &[u8], s: &[u8], nocase: bool) -> bool {
    let (plen, slen) = (p.len(), s.len());
    let mut pi = 0usize;
    let mut si = 0usize;
    // The innermost `*`: (pattern index after it, subject index it was tried at).
    let mut star: Option<(usize, usize)> = None;
    loop {
        // One attempt to match p[pi..] against s[si..]; `true` = match.
        let attempt = 'attempt: {
            while pi < plen && si < slen {
                match p[pi] {
                    b'*' => {
                        while pi + 1 < plen && p[pi + 1] == b'*' {
                            pi += 1;
                        }
                        if plen - pi == 1 {
                            return true;
                        }
                        pi += 1;
                        star = Some((pi, si));
                        continue;
                    }
                    b'?' => {}
                    b'[' => {
                        let (ok, end) = match_class(p, pi, s[si], nocase);
                        if !ok {
                            break 'attempt false;
                        }
                        pi = end;
                    }
                    b'\\' => {
                        if plen - pi >= 2 {
                            pi += 1;
                        }
                        if !eq(p[pi], s[si], nocase) {
                            break 'attempt false;
                        }
                    }
                    other => {
                        if !eq(other, s[si], nocase) {
                            break 'attempt false;
                        }
                    }
                }
                si += 1;
                pi += 1;
                if si == slen {
                    while pi < plen && p[pi] == b'*' {
                        pi += 1;
                    }
                    break;
                }
            }
            pi == plen && si == slen
        };
        if attempt {
            return true;
        }
        // Retry the innermost star one byte further; earlier stars never
        // need a retry (see module docs).
        match star {
            Some((after_star, tried_at)) if tried_at + 1 < slen => {
                star = Some((after_star, tried_at + 1));
                pi = after_star;
                si = tried_at + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Direct port of Redis's recursive `stringmatchlen` (without the
    /// nested-star shortcut, which does not change results).
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        let (mut p, mut s) = (p, s);
        while !p.is_empty() && !s.is_empty() {
            match p[0] {
                b'*' => {
                    while p.len() > 1 && p[1] == b'*' {
                        p = &p[1..];
                    }
                    if p.len() == 1 {
                        return true;
                    }
                    while !s.is_empty() {
                        if reference(&p[1..], s, nocase) {
                            return true;
                        }
                        s = &s[1..];
                    }
                    return false;
                }
                b'?' => {}
                b'[' => {
                    let (ok, end) = match_class(p, 0, s[0], nocase);
                    if !ok {
                        return false;
                    }
                    p = &p[end..];
                }
                b'\\' => {
                    if p.len() >= 2 {
                        p = &p[1..];
                    }
                    if !eq(p[0], s[0], nocase) {
                        return false;
                    }
                }
                c => {
                    if !eq(c, s[0], nocase) {
                        return false;
                    }
                }
            }
            s = &s[1..];
            p = &p[1..];
            if s.is_empty() {
                while !p.is_empty() && p[0] == b'*' {
                    p = &p[1..];
                }
                break;
            }
        }
        p.is_empty() && s.is_empty()
    }

    #[test]
    fn redis_examples() {
        assert!(matches(b"*", b"anything"));
        assert!(
            !matches(b"*", b""),
            "Redis: '*' does not match the empty key"
        );
        assert!(matches(b"", b""));
        assert!(matches(b"h?llo", b"hello"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h[ae]llo", b"hello"));
        assert!(!matches(b"h[ae]llo", b"hillo"));
        assert!(matches(b"h[^e]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"h[b-a]llo", b"hallo"), "reversed range");
        assert!(matches(b"a\\*", b"a*"));
        assert!(!matches(b"a\\*", b"ab"));
        assert!(matches(b"[\\]]", b"]"));
        assert!(matches(b"[abc", b"c"), "unterminated class");
        assert!(matches(b"[^", b"x"));
        assert!(!matches(b"[", b"["));
        assert!(matches(b"a*", b"a"));
        assert!(matches(b"a**", b"a"));
        assert!(matches_nocase(b"HeLLo*", b"hello world"));
        assert!(!matches(b"HeLLo*", b"hello world"));
        assert!(matches_nocase(b"[A-C]x", b"bX"));
    }

    #[test]
    fn nested_stars_are_fast() {
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let subject = vec![b'a'; 20_000];
        let start = std::time::Instant::now();
        assert!(!matches(pattern, &subject));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn many_stars_do_not_overflow_the_stack() {
        let pattern: Vec<u8> = b"x*".repeat(200_000);
        let subject = b"x".repeat(200_000);
        assert!(matches(&pattern, &subject));
    }

    fn glob_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(b'*'),
                Just(b'?'),
                Just(b'['),
                Just(b']'),
                Just(b'^'),
                Just(b'-'),
                Just(b'\\'),
                Just(b'a'),
                Just(b'b'),
                Just(b'A'),
                Just(0xC3u8),
            ],
            0..10,
        )
    }

    fn subject_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b'b'),
                Just(b'B'),
                Just(b'*'),
                Just(b'-'),
                Just(b']'),
                Just(0xC3u8),
            ],
            0..10,
        )
    }

    proptest! {
        #[test]
        fn agrees_with_reference(p in glob_bytes(), s in subject_bytes()) {
            prop_assert_eq!(matches(&p, &s), reference(&p, &s, false));
            prop_assert_eq!(matches_nocase(&p, &s), reference(&p, &s, true));
        }
    }
}
