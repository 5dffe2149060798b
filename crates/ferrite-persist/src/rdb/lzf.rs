//! LZF (the format of Redis's `lzf_c.c`/`lzf_d.c`), used for RDB strings
//! stored with the `RDB_ENC_LZF` encoding.

/// Most bytes one input byte of LZF can expand to: a back reference of
/// 3 input bytes copies at most 7 + 255 + 2 = 264 bytes.
pub(crate) const EXPANSION_MAX: u64 = 88;

/// Decompresses `input` into exactly `out_len` bytes; `Err(position)` (an
/// offset into `input`) if the data is malformed or does not produce exactly
/// `out_len` bytes.
pub(crate) fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = ctrl + 1;
            let literal = input.get(ip..ip + run).ok_or(ip)?;
            if out.len() + run > out_len {
                return Err(ip);
            }
            out.extend_from_slice(literal);
            ip += run;
        } else {
            // A back reference: length (ctrl >> 5) + 2, possibly extended.
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(ip)?);
                ip += 1;
            }
            len += 2;
            let low = usize::from(*input.get(ip).ok_or(ip)?);
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            if back > out.len() || out.len() + len > out_len {
                return Err(ip);
            }
            let start = out.len() - back;
            // Overlapping copies repeat bytes, so copy one at a time.
            for i in 0..len {
                let byte = out[start + i];
                out.push(byte);
            }
        }
    }
    if out.len() == out_len {
        Ok(out)
    } else {
        Err(input.len())
    }
}

/// Longest back reference: 7 + 255 + 2 bytes.
const MATCH_MAX: usize = 264;
/// Farthest back reference: 13 bits of offset.
const DISTANCE_MAX: usize = 8192;
/// Longest literal run.
const LITERAL_MAX: usize = 32;
/// Bits of the hash of 3-byte sequences (Redis's `HLOG`).
const HASH_BITS: u32 = 14;

/// Compresses `input`, or `None` if the result would not be at most
/// `out_max` bytes (Redis stores such strings uncompressed).
pub(crate) fn compress(input: &[u8], out_max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_max.min(input.len()));
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let mut literal_start = 0;
    let mut ip = 0;
    let flush = |out: &mut Vec<u8>, literal: &[u8]| {
        for run in literal.chunks(LITERAL_MAX) {
            out.push((run.len() - 1) as u8);
            out.extend_from_slice(run);
        }
    };
    while ip + 2 < input.len() {
        let seq =
            u32::from(input[ip]) << 16 | u32::from(input[ip + 1]) << 8 | u32::from(input[ip + 2]);
        let slot = (seq.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize;
        let candidate = std::mem::replace(&mut table[slot], ip);
        let found = candidate != usize::MAX
            && ip - candidate <= DISTANCE_MAX
            && input[candidate..candidate + 3] == input[ip..ip + 3];
        if !found {
            ip += 1;
            continue;
        }
        flush(&mut out, &input[literal_start..ip]);
        let limit = MATCH_MAX.min(input.len() - ip);
        let mut len = 3;
        while len < limit && input[candidate + len] == input[ip + len] {
            len += 1;
        }
        let distance = ip - candidate - 1;
        let code = len - 2;
        let high = (distance >> 8) as u8;
        if code < 7 {
            out.push(((code as u8) << 5) | high);
        } else {
            out.push((7 << 5) | high);
            out.push((code - 7) as u8);
        }
        out.push(distance as u8);
        ip += len;
        literal_start = ip;
        if out.len() > out_max {
            return None;
        }
    }
    flush(&mut out, &input[literal_start..]);
    (out.len() <= out_max).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn compress_round_trips(
            data in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..3000),
                proptest::collection::vec(0u8..3, 0..3000),
                (proptest::collection::vec(any::<u8>(), 1..40), 1usize..200)
                    .prop_map(|(unit, n)| unit.repeat(n)),
            ]
        ) {
            if let Some(packed) = compress(&data, data.len() + data.len() / 32 + 2) {
                prop_assert_eq!(decompress(&packed, data.len()).unwrap(), data);
            }
        }
    }

    #[test]
    fn repetitive_data_compresses() {
        let data = "abc".repeat(1000);
        let packed = compress(data.as_bytes(), data.len() - 4).unwrap();
        assert!(packed.len() < 100, "{}", packed.len());
        assert_eq!(decompress(&packed, data.len()).unwrap(), data.as_bytes());
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz", 22).is_none());
    }

    #[test]
    fn literal_and_back_reference() {
        // "abc" literal, then a back reference of length 6 at distance 3.
        let input = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(decompress(&input, 9).unwrap(), b"abcabcabc");
        // Wrong expected length, reference before the start, cut input.
        assert!(decompress(&input, 8).is_err());
        assert!(decompress(&[(4 << 5), 2], 6).is_err());
        assert!(decompress(&[5, b'a'], 6).is_err());
    }
}
