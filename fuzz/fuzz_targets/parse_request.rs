//! Fuzzes the request decoder: arbitrary bytes, fed in arbitrary chunks, must
//! never panic, and must yield the same requests as when fed in one piece.
#![no_main]

use bytes::BytesMut;
use ferrite_protocol::{parse_request, split_args, Limits, Request, RequestDecoder};
use libfuzzer_sys::fuzz_target;

/// Small limits so the fuzzer reaches every limit error quickly.
fn limits() -> Limits {
    Limits { bulk_len_max: 1024, multibulk_len_max: 64, inline_len_max: 256 }
}

/// Decodes `chunks` in order; the requests and whether it ended in an error.
fn decode<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<Request>, bool) {
    let mut decoder = RequestDecoder::new(limits());
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(request)) => {
                    assert!(!request.args().is_empty());
                    requests.push(request);
                }
                Ok(None) => break,
                Err(_) => return (requests, true),
            }
        }
    }
    (requests, false)
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses a chunk size for the split run.
    let Some((&chunk_len, input)) = data.split_first() else { return };
    let chunk_len = usize::from(chunk_len).max(1);
    let (whole, whole_failed) = decode(std::iter::once(input));
    let (split, split_failed) = decode(input.chunks(chunk_len));
    // Errors can surface earlier when fed whole (a limit seen at once), so
    // compare the requests decoded before the first error only when neither failed.
    if !whole_failed && !split_failed {
        assert_eq!(whole, split);
    }
    let _ = parse_request(input, &limits());
    let _ = split_args(input);
});
