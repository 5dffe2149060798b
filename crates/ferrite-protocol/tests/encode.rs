//! Byte-exact encoder tests (expected bytes taken from redis-server 7.0.15).

use bytes::Bytes;
use ferrite_protocol::{encode_to_vec, format_double, Frame, Protocol, DOUBLE_TEXT_LEN_MAX};
use proptest::prelude::*;

fn both(frame: &Frame) -> (Vec<u8>, Vec<u8>) {
    (
        encode_to_vec(frame, Protocol::Resp2),
        encode_to_vec(frame, Protocol::Resp3),
    )
}

fn assert_encodes(frame: Frame, resp2: &[u8], resp3: &[u8]) {
    let (got2, got3) = both(&frame);
    assert_eq!(
        got2,
        resp2,
        "RESP2 of {frame:?}: {:?}",
        String::from_utf8_lossy(&got2)
    );
    assert_eq!(
        got3,
        resp3,
        "RESP3 of {frame:?}: {:?}",
        String::from_utf8_lossy(&got3)
    );
}

fn double_text(value: f64) -> String {
    let mut buf = [0u8; DOUBLE_TEXT_LEN_MAX];
    let len = format_double(value, &mut buf);
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

#[test]
fn scalars() {
    assert_encodes(Frame::ok(), b"+OK\r\n", b"+OK\r\n");
    assert_encodes(
        Frame::error("ERR syntax error"),
        b"-ERR syntax error\r\n",
        b"-ERR syntax error\r\n",
    );
    assert_encodes(Frame::from(0i64), b":0\r\n", b":0\r\n");
    assert_encodes(Frame::from(-12i64), b":-12\r\n", b":-12\r\n");
    assert_encodes(
        Frame::from(i64::MIN),
        b":-9223372036854775808\r\n",
        b":-9223372036854775808\r\n",
    );
    assert_encodes(
        Frame::from(i64::MAX),
        b":9223372036854775807\r\n",
        b":9223372036854775807\r\n",
    );
    assert_encodes(Frame::bulk("hello"), b"$5\r\nhello\r\n", b"$5\r\nhello\r\n");
    assert_encodes(Frame::bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n");
    assert_encodes(
        Frame::bulk_copy(b"a\r\n\0b"),
        b"$5\r\na\r\n\0b\r\n",
        b"$5\r\na\r\n\0b\r\n",
    );
    assert_encodes(Frame::Null, b"$-1\r\n", b"_\r\n");
    assert_encodes(Frame::NullArray, b"*-1\r\n", b"_\r\n");
    assert_encodes(Frame::Boolean(true), b":1\r\n", b"#t\r\n");
    assert_encodes(Frame::Boolean(false), b":0\r\n", b"#f\r\n");
    assert_encodes(
        Frame::BigNumber(Bytes::from_static(
            b"3492890328409238509324850943850943825024385",
        )),
        b"$43\r\n3492890328409238509324850943850943825024385\r\n",
        b"(3492890328409238509324850943850943825024385\r\n",
    );
    assert_encodes(
        Frame::verbatim_txt("a\r\nb"),
        b"$4\r\na\r\nb\r\n",
        b"=8\r\ntxt:a\r\nb\r\n",
    );
}

#[test]
fn simple_and_error_never_break_the_protocol() {
    assert_encodes(
        Frame::error("ERR a\r\nb"),
        b"-ERR a  b\r\n",
        b"-ERR a  b\r\n",
    );
    assert_encodes(Frame::simple("x\ny"), b"+x y\r\n", b"+x y\r\n");
}

#[test]
fn aggregates() {
    assert_encodes(Frame::array(vec![]), b"*0\r\n", b"*0\r\n");
    assert_encodes(
        Frame::array(vec![Frame::bulk("a"), Frame::Null, Frame::from(1i64)]),
        b"*3\r\n$1\r\na\r\n$-1\r\n:1\r\n",
        b"*3\r\n$1\r\na\r\n_\r\n:1\r\n",
    );
    assert_encodes(
        Frame::Map(vec![
            (Frame::bulk("f"), Frame::bulk("v")),
            (Frame::bulk("g"), Frame::Double(2.5)),
        ]),
        b"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$3\r\n2.5\r\n",
        b"%2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n,2.5\r\n",
    );
    assert_encodes(Frame::Map(vec![]), b"*0\r\n", b"%0\r\n");
    assert_encodes(
        Frame::Set(vec![Frame::bulk("m")]),
        b"*1\r\n$1\r\nm\r\n",
        b"~1\r\n$1\r\nm\r\n",
    );
    assert_encodes(
        Frame::Push(vec![Frame::bulk("message"), Frame::bulk("c")]),
        b"*2\r\n$7\r\nmessage\r\n$1\r\nc\r\n",
        b">2\r\n$7\r\nmessage\r\n$1\r\nc\r\n",
    );
    // ZRANGE … WITHSCORES under RESP3 (as redis-server 7.0.15 replies).
    assert_encodes(
        Frame::array(vec![Frame::array(vec![
            Frame::bulk("g"),
            Frame::Double(f64::NEG_INFINITY),
        ])]),
        b"*1\r\n*2\r\n$1\r\ng\r\n$4\r\n-inf\r\n",
        b"*1\r\n*2\r\n$1\r\ng\r\n,-inf\r\n",
    );
}

#[test]
fn doubles_match_redis_7_0() {
    // Observed from redis-server 7.0.15: ZADD z 0.1 a 1 b 1e20 c 1.5e-5 d inf e
    // 123456789012345678 f; ZSCORE each, under RESP2 and HELLO 3.
    assert_encodes(
        Frame::Double(0.1),
        b"$19\r\n0.10000000000000001\r\n",
        b",0.10000000000000001\r\n",
    );
    assert_encodes(Frame::Double(1.0), b"$1\r\n1\r\n", b",1\r\n");
    assert_encodes(Frame::Double(1e20), b"$5\r\n1e+20\r\n", b",1e+20\r\n");
    assert_encodes(Frame::Double(1.5e-5), b"$7\r\n1.5e-05\r\n", b",1.5e-05\r\n");
    assert_encodes(Frame::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n");
    assert_encodes(
        Frame::Double(f64::NEG_INFINITY),
        b"$4\r\n-inf\r\n",
        b",-inf\r\n",
    );
    assert_encodes(
        Frame::Double(123456789012345678.0),
        b"$22\r\n1.2345678901234568e+17\r\n",
        b",1.2345678901234568e+17\r\n",
    );
    assert_encodes(
        Frame::Double(0.1 + 0.1),
        b"$19\r\n0.20000000000000001\r\n",
        b",0.20000000000000001\r\n",
    );
}

#[test]
fn double_text_is_printf_17g() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (f64::NAN, "nan"),
        (-1.0, "-1"),
        (10.0, "10"),
        (100.5, "100.5"),
        (1e16, "10000000000000000"),
        (1e17, "1e+17"),
        (12345678901234567.0, "12345678901234568"),
        (0.0001, "0.0001"),
        (0.00001, "1.0000000000000001e-05"),
        (0.3, "0.29999999999999999"),
        (1.0 / 3.0, "0.33333333333333331"),
        (2.5e-300, "2.5e-300"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "4.9406564584124654e-324"),
        (-1.5e100, "-1.4999999999999999e+100"),
        (3.0, "3"),
        (123.456, "123.456"),
        (9007199254740993.0, "9007199254740992"),
    ];
    for &(value, text) in cases {
        assert_eq!(double_text(value), text, "{value:e}");
    }
}

extern "C" {
    fn snprintf(
        buf: *mut std::ffi::c_char,
        len: usize,
        format: *const std::ffi::c_char,
        ...
    ) -> std::ffi::c_int;
}

/// glibc's own `%.17g`, the formatter Redis 7.0 uses.
fn glibc_17g(value: f64) -> String {
    let mut buf = [0 as std::ffi::c_char; 64];
    // SAFETY: `buf` is writable for its full length, which is passed as the
    // limit; the format is a NUL-terminated literal taking exactly one double.
    let len = unsafe { snprintf(buf.as_mut_ptr(), buf.len(), c"%.17g".as_ptr(), value) };
    assert!(len > 0 && (len as usize) < buf.len());
    buf[..len as usize]
        .iter()
        .map(|&byte| byte as u8 as char)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn double_text_equals_glibc(bits in any::<u64>()) {
        let value = f64::from_bits(bits);
        prop_assert_eq!(double_text(value), glibc_17g(value));
    }

    #[test]
    fn short_doubles_equal_glibc(mantissa in -100_000i64..100_000, exponent in -30i32..30) {
        let value = mantissa as f64 * 10f64.powi(exponent);
        prop_assert_eq!(double_text(value), glibc_17g(value));
    }
}
