//! Reply parser: malformed input, limits, and encode → parse round trips.

use bytes::Bytes;
use ferrite_protocol::{
    encode_to_vec, parse_frame, parse_frame_with_limits, Frame, FrameLimits, Protocol,
    ProtocolError,
};
use proptest::prelude::*;

#[test]
fn all_types() {
    let input: &[u8] = b"*12\r\n+OK\r\n-ERR x\r\n:-5\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n_\r\n,1.5\r\n#t\r\n(123\r\n=7\r\ntxt:abc\r\n%1\r\n~1\r\n:1\r\n>1\r\n:2\r\n";
    let (frame, used) = parse_frame(input).unwrap().unwrap();
    assert_eq!(used, input.len());
    assert_eq!(
        frame,
        Frame::Array(vec![
            Frame::simple("OK"),
            Frame::error("ERR x"),
            Frame::Integer(-5),
            Frame::bulk("abc"),
            Frame::Null,
            Frame::NullArray,
            Frame::Null,
            Frame::Double(1.5),
            Frame::Boolean(true),
            Frame::BigNumber(Bytes::from_static(b"123")),
            Frame::verbatim_txt("abc"),
            Frame::Map(vec![(
                Frame::Set(vec![Frame::Integer(1)]),
                Frame::Push(vec![Frame::Integer(2)])
            )]),
        ])
    );
}

#[test]
fn incomplete_frames() {
    let full: &[u8] = b"*2\r\n$3\r\nabc\r\n%1\r\n+a\r\n,2\r\n";
    for len in 0..full.len() {
        assert_eq!(parse_frame(&full[..len]).unwrap(), None, "prefix {len}");
    }
    assert!(parse_frame(full).unwrap().is_some());
}

#[test]
fn malformed_frames() {
    for input in [
        &b"?\r\n"[..],
        b":abc\r\n",
        b":1\rx",
        b"$3\r\nabcd\r\n",
        b"$-2\r\n",
        b"*-2\r\n",
        b"%-1\r\n",
        b",abc\r\n",
        b"#x\r\n",
        b"(12a\r\n",
        b"=2\r\nab\r\n",
        b"_x\r\n",
        b"|1\r\n+a\r\n+b\r\n+c\r\n",
        b"$?\r\n",
        b"*?\r\n",
    ] {
        assert!(
            parse_frame(input).is_err(),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let input = b"*1\r\n".repeat(1_000_000);
    assert_eq!(
        parse_frame(&input),
        Err(ProtocolError::TooDeep { depth_max: 128 })
    );
    let limits = FrameLimits {
        depth_max: 2,
        ..FrameLimits::default()
    };
    assert!(parse_frame_with_limits(b"*1\r\n*1\r\n:1\r\n", &limits)
        .unwrap()
        .is_some());
    assert!(parse_frame_with_limits(b"*1\r\n*1\r\n*1\r\n:1\r\n", &limits).is_err());
}

#[test]
fn size_limits() {
    let limits = FrameLimits {
        bulk_len_max: 3,
        aggregate_len_max: 2,
        ..FrameLimits::default()
    };
    assert!(matches!(
        parse_frame_with_limits(b"$4\r\n", &limits),
        Err(ProtocolError::TooLarge { .. })
    ));
    assert!(matches!(
        parse_frame_with_limits(b"*3\r\n", &limits),
        Err(ProtocolError::TooLarge { .. })
    ));
    // A huge announced length allocates nothing up front.
    assert_eq!(parse_frame(b"*60000000\r\n:1\r\n").unwrap(), None);
}

fn leaf() -> impl Strategy<Value = Frame> {
    let text = "[ -~]{0,10}".prop_map(|text| Bytes::from(text.into_bytes()));
    prop_oneof![
        text.clone().prop_map(Frame::Simple),
        text.clone()
            .prop_map(|text| Frame::Error(Bytes::from([b"ERR ", &text[..]].concat()))),
        any::<i64>().prop_map(Frame::Integer),
        proptest::collection::vec(any::<u8>(), 0..20)
            .prop_map(|data| Frame::Bulk(Bytes::from(data))),
        Just(Frame::Null),
        any::<f64>()
            .prop_filter("NaN != NaN", |value| !value.is_nan())
            .prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        "-?[1-9][0-9]{0,40}".prop_map(|digits| Frame::BigNumber(Bytes::from(digits.into_bytes()))),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(|data| Frame::Verbatim {
            format: *b"txt",
            text: Bytes::from(data)
        }),
    ]
}

fn frame_strategy() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Frame::Map),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn resp3_round_trip(frame in frame_strategy()) {
        let bytes = encode_to_vec(&frame, Protocol::Resp3);
        let (parsed, used) = parse_frame(&bytes).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(parsed, frame);
    }

    #[test]
    fn resp2_output_parses_and_is_stable(frame in frame_strategy()) {
        let bytes = encode_to_vec(&frame, Protocol::Resp2);
        let (parsed, used) = parse_frame(&bytes).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(encode_to_vec(&parsed, Protocol::Resp2), bytes);
    }

    #[test]
    fn arbitrary_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_frame(&input);
    }
}
