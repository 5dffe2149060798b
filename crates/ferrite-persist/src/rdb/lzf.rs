//! LZF decompression (the format of Redis's `lzf_d.c`), used for RDB strings
//! stored with the `RDB_ENC_LZF` encoding. Writing never compresses.

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

#[cfg(test)]
mod tests {
    use super::*;

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
