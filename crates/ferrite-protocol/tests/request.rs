//! Request parser: every Redis 7.0 protocol error, edge cases, and a property
//! test that any split of a stream into chunks yields the same requests.

use bytes::{Bytes, BytesMut};
use ferrite_protocol::{parse_request, split_args, Limits, ProtocolError, Request, RequestDecoder};
use proptest::prelude::*;

/// Decodes everything in `input`, fed as one chunk.
fn decode_all(input: &[u8]) -> Result<(Vec<Vec<Bytes>>, usize), ProtocolError> {
    decode_all_with(input, Limits::default(), false)
}

fn decode_all_with(
    input: &[u8],
    limits: Limits,
    auth_required: bool,
) -> Result<(Vec<Vec<Bytes>>, usize), ProtocolError> {
    let mut decoder = RequestDecoder::new(limits);
    decoder.set_auth_required(auth_required);
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(request) = decoder.decode(&mut buf)? {
        out.push(request.into_args());
    }
    Ok((out, buf.len()))
}

fn args(list: &[&str]) -> Vec<Bytes> {
    list.iter()
        .map(|arg| Bytes::copy_from_slice(arg.as_bytes()))
        .collect()
}

#[test]
fn multibulk_and_inline() {
    let (requests, left) =
        decode_all(b"*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\nPING\r\nGET  k\n").unwrap();
    assert_eq!(
        requests,
        vec![
            args(&["ECHO", "a\r\n"]),
            args(&["PING"]),
            args(&["GET", "k"])
        ]
    );
    assert_eq!(left, 0);
}

#[test]
fn empty_requests_are_skipped_like_redis() {
    // Redis answers `*0\r\n*-1\r\nPING\r\n\r\n\r\nPING\r\n` with two PONGs.
    let (requests, left) =
        decode_all(b"*0\r\n*-1\r\n*-5\r\nPING\r\n\r\n\r\n   \r\nPING\r\n").unwrap();
    assert_eq!(requests, vec![args(&["PING"]), args(&["PING"])]);
    assert_eq!(left, 0);
}

#[test]
fn bytes_after_cr_and_after_bulk_are_skipped_unchecked_like_redis() {
    // redis-server 7.0.15 answers `*1\rX$4\rXPING\rX` with +PONG.
    let (requests, _) = decode_all(b"*1\rX$4\rXPINGxx").unwrap();
    assert_eq!(requests, vec![args(&["PING"])]);
}

#[test]
fn partial_input_waits() {
    for input in [
        &b"*2\r\n$4\r\nECHO\r\n$3\r\nab"[..],
        b"*2",
        b"*2\r",
        b"*1\r\n$4\r",
        b"PING",
        b"PING\r",
    ] {
        let (requests, _) = decode_all(input).unwrap();
        assert!(requests.is_empty(), "{input:?}");
        assert_eq!(parse_request(input, &Limits::default()).unwrap(), None);
    }
}

#[test]
fn nul_before_line_end_waits_like_redis_strchr() {
    let (requests, _) = decode_all(b"PING \0 foo\nPING\n").unwrap();
    assert!(requests.is_empty());
    // Also when the NUL and the newline arrive in different reads.
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"PING \0"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b" foo\n");
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*1\0"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"\r\n$4\r\nPING\r\n");
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
}

#[test]
fn error_texts() {
    let cases: &[(&[u8], &str)] = &[
        (b"*1\r\n+foo\r\n", "Protocol error: expected '$', got '+'"),
        (b"*abc\r\n", "Protocol error: invalid multibulk length"),
        (b"*+1\r\n", "Protocol error: invalid multibulk length"),
        (b"*01\r\n", "Protocol error: invalid multibulk length"),
        (b"*\r\n", "Protocol error: invalid multibulk length"),
        (
            b"*3000000000\r\n",
            "Protocol error: invalid multibulk length",
        ),
        (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$x\r\n", "Protocol error: invalid bulk length"),
        (
            b"*1\r\n$536870913\r\n",
            "Protocol error: invalid bulk length",
        ),
        (
            b"SET \"a b\r\n",
            "Protocol error: unbalanced quotes in request",
        ),
        (
            b"SET \"a\"b c\r\n",
            "Protocol error: unbalanced quotes in request",
        ),
        (
            b"SET 'a\r\n",
            "Protocol error: unbalanced quotes in request",
        ),
    ];
    for &(input, text) in cases {
        let error = decode_all(input).unwrap_err();
        assert_eq!(
            error.to_string(),
            text,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        let reply =
            ferrite_protocol::encode_to_vec(&error.to_frame(), ferrite_protocol::Protocol::Resp2);
        assert_eq!(reply, format!("-ERR {text}\r\n").into_bytes());
    }
}

#[test]
fn largest_bulk_header_is_accepted() {
    let (requests, left) = decode_all(b"*1\r\n$536870912\r\n").unwrap();
    assert!(requests.is_empty());
    assert_eq!(left, 0);
}

#[test]
fn pending_bulk_is_not_rescanned() {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*1\r\n$10\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert_eq!(decoder.pending_bulk_len(), Some(10));
    assert!(decoder.is_partial());
    assert!(
        buf.is_empty(),
        "headers are consumed as soon as they are read"
    );
    buf.extend_from_slice(b"0123456789");
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"\r\n");
    let request = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(request.args(), &[Bytes::from_static(b"0123456789")]);
    assert!(!decoder.is_partial());
}

#[test]
fn length_limits() {
    let limits = Limits {
        inline_len_max: 16,
        bulk_len_max: 4,
        multibulk_len_max: 3,
    };
    let long = vec![b'a'; 17];
    assert_eq!(
        decode_all_with(&long, limits.clone(), false),
        Err(ProtocolError::TooBigInlineRequest)
    );
    // Exactly at the limit still waits, as in Redis (`> PROTO_INLINE_MAX_SIZE`).
    assert!(decode_all_with(&long[..16], limits.clone(), false)
        .unwrap()
        .0
        .is_empty());
    // A line whose end lies beyond the limit is refused even when complete
    // (redis-server refuses a 100 KB inline line ending in CRLF).
    let mut line = vec![b'a'; 17];
    line.extend_from_slice(b"\r\n");
    assert_eq!(
        decode_all_with(&line, limits.clone(), false),
        Err(ProtocolError::TooBigInlineRequest)
    );
    // A line end right at the limit is accepted.
    let mut line = vec![b'a'; 15];
    line.extend_from_slice(b"\r\n");
    assert_eq!(
        decode_all_with(&line, limits.clone(), false)
            .unwrap()
            .0
            .len(),
        1
    );
    let mut header = b"*".to_vec();
    header.extend_from_slice(&[b'1'; 17]);
    header.extend_from_slice(b"\r\n");
    assert_eq!(
        decode_all_with(&header, limits.clone(), false),
        Err(ProtocolError::TooBigMultibulkCountString)
    );
    let mut header = b"*1\r\n$".to_vec();
    header.extend_from_slice(&[b'1'; 17]);
    header.extend_from_slice(b"\r\n");
    assert_eq!(
        decode_all_with(&header, limits.clone(), false),
        Err(ProtocolError::TooBigBulkCountString)
    );
    let mut mbulk = b"*".to_vec();
    mbulk.extend_from_slice(&[b'1'; 17]);
    assert_eq!(
        decode_all_with(&mbulk, limits.clone(), false),
        Err(ProtocolError::TooBigMultibulkCountString)
    );
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend_from_slice(&[b'1'; 17]);
    assert_eq!(
        decode_all_with(&bulk, limits.clone(), false),
        Err(ProtocolError::TooBigBulkCountString)
    );
    assert_eq!(
        decode_all_with(b"*1\r\n$5\r\n", limits.clone(), false),
        Err(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(
        decode_all_with(b"*4\r\n", limits.clone(), false),
        Err(ProtocolError::InvalidMultibulkLength)
    );
    assert!(decode_all_with(b"*3\r\n$4\r\n", limits, false).is_ok());
    assert_eq!(
        ProtocolError::TooBigMultibulkCountString.to_string(),
        "Protocol error: too big mbulk count string"
    );
    assert_eq!(
        ProtocolError::TooBigBulkCountString.to_string(),
        "Protocol error: too big bulk count string"
    );
    assert_eq!(
        ProtocolError::TooBigInlineRequest.to_string(),
        "Protocol error: too big inline request"
    );
}

#[test]
fn unauthenticated_limits() {
    assert_eq!(
        decode_all_with(b"*11\r\n", Limits::default(), true),
        Err(ProtocolError::UnauthenticatedMultibulkLength)
    );
    assert_eq!(
        ProtocolError::UnauthenticatedMultibulkLength.to_string(),
        "Protocol error: unauthenticated multibulk length"
    );
    assert_eq!(
        decode_all_with(b"*1\r\n$16385\r\n", Limits::default(), true),
        Err(ProtocolError::UnauthenticatedBulkLength)
    );
    assert_eq!(
        ProtocolError::UnauthenticatedBulkLength.to_string(),
        "Protocol error: unauthenticated bulk length"
    );
    assert!(decode_all_with(b"*10\r\n$16384\r\n", Limits::default(), true).is_ok());
}

#[test]
fn expected_dollar_sends_the_raw_byte() {
    let error = decode_all(b"*1\r\n\xff\r\n").unwrap_err();
    assert_eq!(error, ProtocolError::ExpectedDollar(0xff));
    let reply =
        ferrite_protocol::encode_to_vec(&error.to_frame(), ferrite_protocol::Protocol::Resp2);
    assert_eq!(reply, b"-ERR Protocol error: expected '$', got '\xff'\r\n");
}

#[test]
fn sdssplitargs_semantics() {
    let ok: &[(&[u8], &[&[u8]])] = &[
        (b"", &[]),
        (b"  \t ", &[]),
        (b"a b\tc", &[b"a", b"b", b"c"]),
        (br#""\x41\x4g\n""#, &[b"Ax4g\n"]),
        (br#"'it\'s'"#, &[b"it's"]),
        (br#"'a\nb'"#, &[b"a\\nb"]),
        (br#""" ''"#, &[b"", b""]),
        (br#"a"b c""#, &[b"ab c"]),
        (br#""\a\b\t\r\q\"\\""#, &[b"\x07\x08\t\rq\"\\"]),
        (br#""b\x4""#, &[b"bx4"]),
        (b"a\x0bb", &[b"a\x0bb"]),
        (b"a\0 b", &[b"a"]),
        (b"\"x\"\x0c", &[b"x"]),
    ];
    for &(line, expected) in ok {
        let got = split_args(line).unwrap();
        let expected: Vec<Bytes> = expected
            .iter()
            .map(|arg| Bytes::copy_from_slice(arg))
            .collect();
        assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(line));
    }
    for line in [&b"\"a"[..], b"'a", b"\"a\"b", b"'a'b", b"\"a\\\""] {
        assert_eq!(
            split_args(line),
            Err(ProtocolError::UnbalancedQuotes),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn parse_request_reports_consumed_bytes() {
    let input = b"\r\n*1\r\n$4\r\nPING\r\nGET";
    let (request, consumed) = parse_request(input, &Limits::default()).unwrap().unwrap();
    assert_eq!(request, Request::new(args(&["PING"])).unwrap());
    assert_eq!(consumed, input.len() - 3);
}

/// An argument that survives both encodings.
fn arg_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        "[a-zA-Z0-9]{1,12}".prop_map(String::into_bytes),
    ]
}

fn encode_multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_yields_the_same_requests(
        requests in proptest::collection::vec(
            (proptest::collection::vec(arg_strategy(), 1..6), any::<bool>()), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (args, inline) in &requests {
            let inline_ok = args.iter().all(|arg| !arg.is_empty() && arg.iter().all(u8::is_ascii_alphanumeric));
            if *inline && inline_ok {
                let words: Vec<String> = args.iter().map(|arg| String::from_utf8(arg.clone()).unwrap()).collect();
                stream.extend_from_slice(words.join(" ").as_bytes());
                stream.extend_from_slice(b"\r\n");
            } else {
                stream.extend_from_slice(&encode_multibulk(args));
            }
            expected.push(args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect::<Vec<_>>());
        }
        let mut points: Vec<usize> = cuts.iter().map(|index| index.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let mut decoder = RequestDecoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for window in points.windows(2) {
            buf.extend_from_slice(&stream[window[0]..window[1]]);
            while let Some(request) = decoder.decode(&mut buf).unwrap() {
                got.push(request.into_args());
            }
        }
        prop_assert_eq!(&got, &expected);
        prop_assert!(buf.is_empty());
        prop_assert!(!decoder.is_partial());
        // The one-shot parser agrees on the first request.
        let (first, _) = parse_request(&stream, &Limits::default()).unwrap().unwrap();
        prop_assert_eq!(first.args(), &expected[0][..]);
    }

    #[test]
    fn arbitrary_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_all(&input);
        let _ = split_args(&input);
    }
}

fn protocolish_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'*'),
            Just(b'$'),
            Just(b'\r'),
            Just(b'\n'),
            Just(b'1'),
            Just(b'2'),
            Just(b'0'),
            Just(b' '),
            Just(b'"'),
            Just(0u8),
            any::<u8>(),
        ],
        0..200,
    )
}

fn decode_chunks(input: &[u8], chunk_len: usize) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
    let mut decoder = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in input.chunks(chunk_len) {
        buf.extend_from_slice(chunk);
        while let Some(request) = decoder.decode(&mut buf)? {
            out.push(request.into_args());
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_streams_decode_the_same_in_any_chunks(input in protocolish_bytes(), chunk_len in 1usize..16) {
        let whole = decode_chunks(&input, input.len().max(1));
        let split = decode_chunks(&input, chunk_len);
        prop_assert_eq!(whole, split);
    }
}
