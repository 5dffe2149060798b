//! Redis's compact blob encodings, as they appear inside RDB strings:
//! ziplist, listpack, intset and zipmap. Each parser walks a blob already
//! read into memory, checks every length against the blob, and hands the
//! elements to a callback in order. Errors carry the offset inside the blob.

/// One element of a compact encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Elem<'a> {
    /// Bytes.
    Str(&'a [u8]),
    /// An integer (printed in decimal when a string is needed).
    Int(i64),
}

/// A parse error: offset inside the blob and what is wrong.
pub(crate) type BlobError = (usize, String);

/// Bounds-checked reads over a blob.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], BlobError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let slice = &self.data[self.pos..end];
                self.pos = end;
                Ok(slice)
            }
            None => Err((self.pos, format!("{what}: {n} bytes past the end"))),
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, BlobError> {
        Ok(self.take(1, what)?[0])
    }

    fn le(&mut self, n: usize, what: &str) -> Result<u64, BlobError> {
        let bytes = self.take(n, what)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

/// Sign-extends the low `bits` bits of `v`.
fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Walks a ziplist (Redis < 7.0 lists, hashes, sorted sets).
pub(crate) fn ziplist(
    blob: &[u8],
    mut f: impl FnMut(Elem<'_>) -> Result<(), BlobError>,
) -> Result<(), BlobError> {
    let mut c = Cursor { data: blob, pos: 0 };
    let total = c.le(4, "ziplist header")?;
    if total != blob.len() as u64 {
        return Err((
            0,
            format!("ziplist says {total} bytes, blob has {}", blob.len()),
        ));
    }
    c.le(4, "ziplist tail offset")?;
    c.le(2, "ziplist length")?;
    loop {
        let first = c.u8("ziplist entry")?;
        if first == 0xff {
            break;
        }
        // Previous entry length: 1 byte, or 0xfe and 4 bytes.
        if first == 0xfe {
            c.take(4, "ziplist prevlen")?;
        }
        let at = c.pos;
        let enc = c.u8("ziplist encoding")?;
        let elem = match enc >> 6 {
            0 => Elem::Str(c.take(usize::from(enc & 0x3f), "ziplist string")?),
            1 => {
                let len = (usize::from(enc & 0x3f) << 8) | usize::from(c.u8("ziplist length")?);
                Elem::Str(c.take(len, "ziplist string")?)
            }
            2 => {
                let b = c.take(4, "ziplist length")?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                Elem::Str(c.take(usize_of(u64::from(len)), "ziplist string")?)
            }
            _ => match enc {
                0xc0 => Elem::Int(sign_extend(c.le(2, "ziplist int16")?, 16)),
                0xd0 => Elem::Int(sign_extend(c.le(4, "ziplist int32")?, 32)),
                0xe0 => Elem::Int(c.le(8, "ziplist int64")? as i64),
                0xf0 => Elem::Int(sign_extend(c.le(3, "ziplist int24")?, 24)),
                0xfe => Elem::Int(sign_extend(c.le(1, "ziplist int8")?, 8)),
                0xf1..=0xfd => Elem::Int(i64::from(enc & 0x0f) - 1),
                _ => return Err((at, format!("ziplist: bad encoding byte {enc:#04x}"))),
            },
        };
        f(elem)?;
    }
    if c.pos != blob.len() {
        return Err((c.pos, "ziplist: bytes after the end marker".into()));
    }
    Ok(())
}

/// Walks a listpack (Redis ≥ 7.0 lists, hashes, sorted sets; 7.2 sets).
pub(crate) fn listpack(
    blob: &[u8],
    mut f: impl FnMut(Elem<'_>) -> Result<(), BlobError>,
) -> Result<(), BlobError> {
    let mut c = Cursor { data: blob, pos: 0 };
    let total = c.le(4, "listpack header")?;
    if total != blob.len() as u64 {
        return Err((
            0,
            format!("listpack says {total} bytes, blob has {}", blob.len()),
        ));
    }
    c.le(2, "listpack length")?;
    loop {
        let start = c.pos;
        let enc = c.u8("listpack entry")?;
        if enc == 0xff {
            break;
        }
        let elem = if enc & 0x80 == 0 {
            Elem::Int(i64::from(enc & 0x7f))
        } else if enc & 0xc0 == 0x80 {
            Elem::Str(c.take(usize::from(enc & 0x3f), "listpack string")?)
        } else if enc & 0xe0 == 0xc0 {
            let v = (u64::from(enc & 0x1f) << 8) | u64::from(c.u8("listpack int13")?);
            Elem::Int(sign_extend(v, 13))
        } else if enc & 0xf0 == 0xe0 {
            let len = (usize::from(enc & 0x0f) << 8) | usize::from(c.u8("listpack length")?);
            Elem::Str(c.take(len, "listpack string")?)
        } else {
            match enc {
                0xf0 => {
                    let len = c.le(4, "listpack length")?;
                    Elem::Str(c.take(usize_of(len), "listpack string")?)
                }
                0xf1 => Elem::Int(sign_extend(c.le(2, "listpack int16")?, 16)),
                0xf2 => Elem::Int(sign_extend(c.le(3, "listpack int24")?, 24)),
                0xf3 => Elem::Int(sign_extend(c.le(4, "listpack int32")?, 32)),
                0xf4 => Elem::Int(c.le(8, "listpack int64")? as i64),
                _ => return Err((start, format!("listpack: bad encoding byte {enc:#04x}"))),
            }
        };
        // The back length encodes the entry's size in 7-bit groups.
        let entry_len = c.pos - start;
        let backlen = match entry_len {
            0..=127 => 1,
            128..=16_382 => 2,
            16_383..=2_097_150 => 3,
            2_097_151..=268_435_454 => 4,
            _ => 5,
        };
        c.take(backlen, "listpack back length")?;
        f(elem)?;
    }
    if c.pos != blob.len() {
        return Err((c.pos, "listpack: bytes after the end marker".into()));
    }
    Ok(())
}

/// Walks an intset (sets of integers).
pub(crate) fn intset(
    blob: &[u8],
    mut f: impl FnMut(i64) -> Result<(), BlobError>,
) -> Result<(), BlobError> {
    let mut c = Cursor { data: blob, pos: 0 };
    let width = c.le(4, "intset encoding")?;
    if !matches!(width, 2 | 4 | 8) {
        return Err((0, format!("intset: bad element width {width}")));
    }
    let width = width as usize;
    let count = c.le(4, "intset length")?;
    if (count as u128) * (width as u128) != (blob.len() - 8) as u128 {
        return Err((
            4,
            format!(
                "intset: {count} elements of {width} bytes do not fill {} bytes",
                blob.len() - 8
            ),
        ));
    }
    for _ in 0..count {
        let v = c.le(width, "intset element")?;
        f(sign_extend(v, 8 * width as u32))?;
    }
    Ok(())
}

/// Walks a zipmap (hashes of Redis < 2.6): field, value, field, value …
pub(crate) fn zipmap(
    blob: &[u8],
    mut f: impl FnMut(Elem<'_>) -> Result<(), BlobError>,
) -> Result<(), BlobError> {
    let mut c = Cursor { data: blob, pos: 0 };
    c.u8("zipmap length")?;
    let len = |c: &mut Cursor<'_>| -> Result<Option<usize>, BlobError> {
        match c.u8("zipmap entry")? {
            0xff => Ok(None),
            0xfe => Ok(Some(usize_of(c.le(4, "zipmap length")?))),
            n => Ok(Some(usize::from(n))),
        }
    };
    while let Some(field_len) = len(&mut c)? {
        f(Elem::Str(c.take(field_len, "zipmap field")?))?;
        let at = c.pos;
        let Some(value_len) = len(&mut c)? else {
            return Err((at, "zipmap: field without a value".into()));
        };
        let free = usize::from(c.u8("zipmap free")?);
        f(Elem::Str(c.take(value_len, "zipmap value")?))?;
        c.take(free, "zipmap free space")?;
    }
    if c.pos != blob.len() {
        return Err((c.pos, "zipmap: bytes after the end marker".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(
        parse: impl Fn(&mut dyn FnMut(Elem<'_>) -> Result<(), BlobError>) -> Result<(), BlobError>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        parse(&mut |e| {
            out.push(match e {
                Elem::Str(s) => String::from_utf8_lossy(s).into_owned(),
                Elem::Int(n) => n.to_string(),
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn listpack_entries() {
        // "a", 5 (7-bit uint), -1 (13-bit int), then the end.
        let mut lp = vec![0, 0, 0, 0, 3, 0];
        lp.extend_from_slice(&[0x81, b'a', 2]);
        lp.extend_from_slice(&[5, 1]);
        lp.extend_from_slice(&[0xdf, 0xff, 2]);
        lp.push(0xff);
        let n = lp.len() as u32;
        lp[..4].copy_from_slice(&n.to_le_bytes());
        assert_eq!(collect(|f| listpack(&lp, f)), ["a", "5", "-1"]);
        assert!(listpack(&lp[..lp.len() - 1], |_| Ok(())).is_err());
    }

    #[test]
    fn intset_entries() {
        let mut is = vec![2, 0, 0, 0, 2, 0, 0, 0];
        is.extend_from_slice(&(-3i16).to_le_bytes());
        is.extend_from_slice(&7i16.to_le_bytes());
        let mut out = Vec::new();
        intset(&is, |n| {
            out.push(n);
            Ok(())
        })
        .unwrap();
        assert_eq!(out, [-3, 7]);
        assert!(intset(&is[..11], |_| Ok(())).is_err());
    }
}
