//! The ABI's list encoding: `u32` LE item count, then per item a `u32` LE
//! length and the bytes.

use crate::limits::LIST_ITEMS_MAX;
use crate::Error;

/// Encodes `items` in the ABI's list encoding.
///
/// ```
/// let buf = ferrite_wasm_sdk::encode_list(&[b"GET".as_slice(), b"k".as_slice()]);
/// assert_eq!(buf, b"\x02\0\0\0\x03\0\0\0GET\x01\0\0\0k");
/// ```
pub fn encode_list<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let total: usize = items.iter().map(|i| 4 + i.as_ref().len()).sum();
    let mut out = Vec::with_capacity(4 + total);
    assert!(items.len() <= u32::MAX as usize, "too many list items");
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for item in items {
        let item = item.as_ref();
        assert!(item.len() <= u32::MAX as usize, "list item too large");
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// Decodes a list-encoded buffer; the whole buffer must be consumed.
///
/// ```
/// let items = ferrite_wasm_sdk::decode_list(b"\x01\0\0\0\x02\0\0\0hi").unwrap();
/// assert_eq!(items, vec![b"hi".to_vec()]);
/// ```
pub fn decode_list(buf: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut rest = buf;
    let count = take_u32(&mut rest)?;
    if count > LIST_ITEMS_MAX || count as usize > rest.len() / 4 {
        return Err(Error::MalformedList);
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = take_u32(&mut rest)? as usize;
        if len > rest.len() {
            return Err(Error::MalformedList);
        }
        let (item, tail) = rest.split_at(len);
        out.push(item.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(Error::MalformedList);
    }
    Ok(out)
}

fn take_u32(rest: &mut &[u8]) -> Result<u32, Error> {
    if rest.len() < 4 {
        return Err(Error::MalformedList);
    }
    let (head, tail) = rest.split_at(4);
    *rest = tail;
    Ok(u32::from_le_bytes([head[0], head[1], head[2], head[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let items: Vec<&[u8]> = vec![b"", b"a", b"\x00\xff"];
        assert_eq!(decode_list(&encode_list(&items)).unwrap(), items);
        assert_eq!(decode_list(&encode_list::<&[u8]>(&[])).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode_list(b""), Err(Error::MalformedList));
        assert_eq!(decode_list(b"\x01\0\0\0\x05\0\0\0ab"), Err(Error::MalformedList));
        assert_eq!(decode_list(b"\x00\0\0\0x"), Err(Error::MalformedList));
        assert_eq!(decode_list(b"\xff\xff\xff\xff"), Err(Error::MalformedList));
    }
}
