//! Checked access to guest linear memory: the only code in the crate that
//! reads or writes the memory of a WebAssembly instance.
//!
//! Every pointer and length comes from the guest as a wasm `i32` and is
//! interpreted as an unsigned `u32` offset (docs/abi.md, "pointers"). A range
//! `ptr .. ptr + len` is checked with checked arithmetic against the memory's
//! *current* size before any byte is touched, and nothing is ever allocated
//! from a guest-provided length before that length has been checked against
//! the memory size (and, where given, an explicit limit). No function here
//! panics on guest input; every failure is a typed [`HostError`], which host
//! functions return as their `wasmtime::Error` so that the call traps and the
//! runtime can classify the failure by downcasting.
//!
//! There are two layers:
//!
//! * slice primitives ([`checked_range`], [`slice`], [`slice_mut`],
//!   [`decode_list`], [`encode_list`]) that work on a `&[u8]` view of memory,
//!   for callers that already hold one (for example from
//!   [`wasmtime::Memory::data_and_store_mut`], which also yields the store
//!   data);
//! * thin wrappers that take a [`wasmtime::Memory`] plus a store context
//!   ([`read_bytes`], [`write_bytes`], [`read_u32`], …), and
//!   [`guest_memory`] to find the `memory` export from a
//!   [`wasmtime::Caller`].

use std::ops::Range;

use wasmtime::{AsContext, AsContextMut, Caller, Extern, Memory};

use crate::reuse::DirtyChunks;

/// Store data that records where the host writes into guest memory, so
/// that a reused instance can be put back (see `crate::reuse`).
pub(crate) trait RecordsWrites {
    /// The record of this call's host writes.
    fn dirty(&mut self) -> &mut DirtyChunks;
}

impl RecordsWrites for DirtyChunks {
    fn dirty(&mut self) -> &mut DirtyChunks {
        self
    }
}

/// Name of the memory export every guest must provide (docs/abi.md).
pub(crate) const MEMORY_EXPORT: &str = "memory";

/// Size in bytes of one list-encoding header field (item count or item length).
const LIST_FIELD_BYTES: usize = 4;

/// A failed access to guest memory or a malformed guest-provided structure.
///
/// Returned by host functions (wrapped in `wasmtime::Error`) so that the call
/// traps; the runtime downcasts to this type to build the error reply
/// (`ERR wasm trap: bad pointer …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// `ptr .. ptr + len` is not inside the guest's memory (or overflows).
    #[error("bad pointer: {len} bytes at {ptr} are outside guest memory of {memory_bytes} bytes")]
    BadPointer {
        /// Guest pointer, as unsigned.
        ptr: u32,
        /// Length of the access in bytes, as unsigned.
        len: u32,
        /// Size of the guest memory at the time of the access.
        memory_bytes: usize,
    },
    /// The module does not export a memory named `memory`.
    #[error("bad pointer: module exports no memory named 'memory'")]
    NoMemoryExport,
    /// A guest-provided length exceeds the limit for what it describes.
    #[error("{what} of {len} bytes exceeds the limit of {len_max} bytes")]
    TooLarge {
        /// What the length describes (for example "key" or "http request").
        what: &'static str,
        /// The length the guest asked for.
        len: usize,
        /// The limit.
        len_max: usize,
    },
    /// A list encoding (docs/abi.md §2) is cut short or has trailing bytes.
    #[error("malformed list encoding: {reason}")]
    ListMalformed {
        /// Which rule of the encoding was broken.
        reason: &'static str,
    },
    /// A list encoding declares more items than allowed.
    #[error("list of {count} items exceeds the limit of {items_max} items")]
    ListTooManyItems {
        /// Item count declared by the guest.
        count: u32,
        /// The limit.
        items_max: usize,
    },
}

/// Limits applied when decoding a list encoding from guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListLimits {
    /// Maximum number of items.
    pub items_max: usize,
    /// Maximum total size of the encoded list in bytes (headers included).
    pub bytes_max: usize,
}

/// Finds the guest's exported memory named `memory`.
pub(crate) fn guest_memory<T>(caller: &mut Caller<'_, T>) -> Result<Memory, HostError> {
    match caller.get_export(MEMORY_EXPORT) {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(HostError::NoMemoryExport),
    }
}

/// Checks `ptr .. ptr + len` against a memory of `memory_bytes` bytes and
/// returns it as a `usize` range. A range that ends exactly at the end of
/// memory is valid; an empty range at `memory_bytes` is valid too (an empty
/// range past the end is not).
pub(crate) fn checked_range(
    memory_bytes: usize,
    ptr: u32,
    len: u32,
) -> Result<Range<usize>, HostError> {
    let bad = || HostError::BadPointer {
        ptr,
        len,
        memory_bytes,
    };
    let start = usize::try_from(ptr).map_err(|_| bad())?;
    let len_bytes = usize::try_from(len).map_err(|_| bad())?;
    let end = start.checked_add(len_bytes).ok_or_else(bad)?;
    if end > memory_bytes {
        return Err(bad());
    }
    debug_assert!(start <= end && end <= memory_bytes);
    Ok(start..end)
}

/// Borrows `len` bytes at `ptr` from a view of guest memory.
pub(crate) fn slice(data: &[u8], ptr: u32, len: u32) -> Result<&[u8], HostError> {
    let range = checked_range(data.len(), ptr, len)?;
    // `checked_range` proved the range is inside `data`; `get` keeps this
    // panic-free even if that proof were wrong.
    data.get(range).ok_or(HostError::BadPointer {
        ptr,
        len,
        memory_bytes: data.len(),
    })
}

/// Mutably borrows `len` bytes at `ptr` from a view of guest memory, for
/// the host to write them: the range is recorded in `dirty`.
pub(crate) fn slice_mut<'a>(
    data: &'a mut [u8],
    dirty: &mut DirtyChunks,
    ptr: u32,
    len: u32,
) -> Result<&'a mut [u8], HostError> {
    let memory_bytes = data.len();
    let range = checked_range(memory_bytes, ptr, len)?;
    dirty.mark(range.start, range.len());
    data.get_mut(range).ok_or(HostError::BadPointer {
        ptr,
        len,
        memory_bytes,
    })
}

/// Checks `len` against `len_max` (for a value described as `what`).
pub(crate) fn check_len(what: &'static str, len: u32, len_max: usize) -> Result<(), HostError> {
    let len_bytes = usize::try_from(len).unwrap_or(usize::MAX);
    if len_bytes > len_max {
        return Err(HostError::TooLarge {
            what,
            len: len_bytes,
            len_max,
        });
    }
    Ok(())
}

/// Borrows `len` bytes at `ptr`, tied to the store context.
pub(crate) fn read_slice<S: AsContext>(
    memory: Memory,
    store: &S,
    ptr: u32,
    len: u32,
) -> Result<&[u8], HostError> {
    slice(memory.data(store), ptr, len)
}

/// Copies `len` bytes at `ptr` out of guest memory. The range is checked
/// against memory and `len` against `len_max` before anything is allocated.
pub(crate) fn read_bytes(
    memory: Memory,
    store: impl AsContext,
    what: &'static str,
    ptr: u32,
    len: u32,
    len_max: usize,
) -> Result<Vec<u8>, HostError> {
    let data = memory.data(&store);
    let bytes = slice(data, ptr, len)?;
    check_len(what, len, len_max)?;
    Ok(bytes.to_vec())
}

/// Writes `bytes` into guest memory at `ptr`. Nothing is written unless the
/// whole range is inside memory.
pub(crate) fn write_bytes<T: RecordsWrites + 'static>(
    memory: Memory,
    mut store: impl AsContextMut<Data = T>,
    ptr: u32,
    bytes: &[u8],
) -> Result<(), HostError> {
    let (data, state) = memory.data_and_store_mut(&mut store);
    let memory_bytes = data.len();
    let Ok(len) = u32::try_from(bytes.len()) else {
        // No u32 range can hold it: larger than any wasm32 memory.
        return Err(HostError::BadPointer {
            ptr,
            len: u32::MAX,
            memory_bytes,
        });
    };
    slice_mut(data, state.dirty(), ptr, len)?.copy_from_slice(bytes);
    Ok(())
}

/// Reads a little-endian `u32` at `ptr` (no alignment required).
pub(crate) fn read_u32(memory: Memory, store: impl AsContext, ptr: u32) -> Result<u32, HostError> {
    let mut out = [0u8; 4];
    out.copy_from_slice(slice(memory.data(&store), ptr, 4)?);
    Ok(u32::from_le_bytes(out))
}

/// Reads a little-endian `u64` at `ptr` (no alignment required).
pub(crate) fn read_u64(memory: Memory, store: impl AsContext, ptr: u32) -> Result<u64, HostError> {
    let mut out = [0u8; 8];
    out.copy_from_slice(slice(memory.data(&store), ptr, 8)?);
    Ok(u64::from_le_bytes(out))
}

/// Writes a little-endian `u32` at `ptr` (no alignment required).
pub(crate) fn write_u32<T: RecordsWrites + 'static>(
    memory: Memory,
    store: impl AsContextMut<Data = T>,
    ptr: u32,
    value: u32,
) -> Result<(), HostError> {
    write_bytes(memory, store, ptr, &value.to_le_bytes())
}

/// Writes a little-endian `u64` at `ptr` (no alignment required).
pub(crate) fn write_u64<T: RecordsWrites + 'static>(
    memory: Memory,
    store: impl AsContextMut<Data = T>,
    ptr: u32,
    value: u64,
) -> Result<(), HostError> {
    write_bytes(memory, store, ptr, &value.to_le_bytes())
}

/// Reads a little-endian `u32` at `offset` of an already checked buffer.
fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(LIST_FIELD_BYTES)?;
    let field = bytes.get(offset..end)?;
    let mut out = [0u8; LIST_FIELD_BYTES];
    out.copy_from_slice(field);
    Some(u32::from_le_bytes(out))
}

/// Decodes a list encoding (docs/abi.md §2: `u32` count, then per item a
/// `u32` length and the bytes) that must fill `bytes` exactly. Items borrow
/// from `bytes`.
pub(crate) fn decode_list(bytes: &[u8], limits: ListLimits) -> Result<Vec<&[u8]>, HostError> {
    if bytes.len() > limits.bytes_max {
        return Err(HostError::TooLarge {
            what: "list encoding",
            len: bytes.len(),
            len_max: limits.bytes_max,
        });
    }
    let count = u32_at(bytes, 0).ok_or(HostError::ListMalformed {
        reason: "missing item count",
    })?;
    let count_items = usize::try_from(count).unwrap_or(usize::MAX);
    if count_items > limits.items_max {
        return Err(HostError::ListTooManyItems {
            count,
            items_max: limits.items_max,
        });
    }
    // Each item needs at least its length field: a count that cannot fit in
    // the buffer is refused before we allocate for it.
    let headers_bytes = count_items.checked_mul(LIST_FIELD_BYTES);
    let body_bytes = bytes.len() - LIST_FIELD_BYTES;
    if headers_bytes.is_none_or(|h| h > body_bytes) {
        return Err(HostError::ListMalformed {
            reason: "item count larger than the list",
        });
    }
    let mut items = Vec::with_capacity(count_items);
    let mut offset = LIST_FIELD_BYTES;
    for _ in 0..count_items {
        let len = u32_at(bytes, offset).ok_or(HostError::ListMalformed {
            reason: "item length cut short",
        })?;
        offset += LIST_FIELD_BYTES;
        let item = usize::try_from(len)
            .ok()
            .and_then(|len| offset.checked_add(len))
            .and_then(|end| bytes.get(offset..end))
            .ok_or(HostError::ListMalformed {
                reason: "item bytes cut short",
            })?;
        offset += item.len();
        items.push(item);
    }
    if offset != bytes.len() {
        return Err(HostError::ListMalformed {
            reason: "trailing bytes after the last item",
        });
    }
    Ok(items)
}

/// Reads and decodes the list encoding stored at `ptr .. ptr + len` in guest
/// memory, copying the items out.
pub(crate) fn read_list(
    memory: Memory,
    store: impl AsContext,
    ptr: u32,
    len: u32,
    limits: ListLimits,
) -> Result<Vec<Vec<u8>>, HostError> {
    let bytes = slice(memory.data(&store), ptr, len)?;
    Ok(decode_list(bytes, limits)?
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect())
}

/// Number of bytes [`encode_list`] appends for `items`, or `None` on overflow.
pub(crate) fn encoded_list_len<I>(items: I) -> Option<usize>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    items.into_iter().try_fold(LIST_FIELD_BYTES, |total, item| {
        total
            .checked_add(LIST_FIELD_BYTES)?
            .checked_add(item.as_ref().len())
    })
}

/// Appends the list encoding of `items` to `out`. Fails (leaving `out`
/// unchanged) if the count or an item length does not fit a `u32`.
pub(crate) fn encode_list<I>(items: I, out: &mut Vec<u8>) -> Result<(), HostError>
where
    I: IntoIterator + Clone,
    I::Item: AsRef<[u8]>,
{
    let too_large = |len: usize| HostError::TooLarge {
        what: "list item",
        len,
        len_max: u32::MAX as usize,
    };
    let mut count: usize = 0;
    for item in items.clone() {
        let len = item.as_ref().len();
        u32::try_from(len).map_err(|_| too_large(len))?;
        count += 1;
    }
    let count_field = u32::try_from(count).map_err(|_| HostError::ListTooManyItems {
        count: u32::MAX,
        items_max: u32::MAX as usize,
    })?;
    let total = encoded_list_len(items.clone()).ok_or_else(|| too_large(usize::MAX))?;
    out.reserve(total);
    out.extend_from_slice(&count_field.to_le_bytes());
    for item in items {
        let item = item.as_ref();
        // Checked in the first pass.
        let len = item.len() as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(item);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, MemoryType, Store};

    const PAGE_BYTES: usize = 65536;

    fn store_with_memory(pages: u32) -> (Store<DirtyChunks>, Memory) {
        let engine = Engine::default();
        let mut store = Store::new(&engine, DirtyChunks::default());
        let memory = Memory::new(&mut store, MemoryType::new(pages, None)).unwrap();
        (store, memory)
    }

    fn limits() -> ListLimits {
        ListLimits {
            items_max: 16,
            bytes_max: 1024,
        }
    }

    #[test]
    fn checked_range_edges() {
        assert_eq!(checked_range(10, 0, 10), Ok(0..10));
        assert_eq!(checked_range(10, 10, 0), Ok(10..10));
        assert_eq!(checked_range(10, 9, 1), Ok(9..10));
        assert!(checked_range(10, 11, 0).is_err());
        assert!(checked_range(10, 10, 1).is_err());
        assert!(checked_range(10, 0, 11).is_err());
        assert_eq!(
            checked_range(10, u32::MAX, 2),
            Err(HostError::BadPointer {
                ptr: u32::MAX,
                len: 2,
                memory_bytes: 10
            })
        );
        assert!(checked_range(usize::MAX, u32::MAX, u32::MAX).is_ok());
    }

    #[test]
    fn read_write_within_and_at_end() {
        let (mut store, memory) = store_with_memory(1);
        let end = PAGE_BYTES as u32;
        write_bytes(memory, &mut store, end - 3, b"abc").unwrap();
        assert_eq!(
            read_bytes(memory, &store, "t", end - 3, 3, 16).unwrap(),
            b"abc"
        );
        assert_eq!(read_slice(memory, &store, end, 0).unwrap(), b"");
        write_u32(memory, &mut store, end - 4, 0xdead_beef).unwrap();
        assert_eq!(read_u32(memory, &store, end - 4).unwrap(), 0xdead_beef);
        // Unaligned.
        write_u64(memory, &mut store, 3, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(read_u64(memory, &store, 3).unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(memory.data(&store)[3], 0x08);
    }

    #[test]
    fn bad_pointers_are_errors() {
        let (mut store, memory) = store_with_memory(1);
        let end = PAGE_BYTES as u32;
        let negative = (-1i32) as u32;
        let min = i32::MIN as u32;
        let bad = |ptr: u32, len: u32| HostError::BadPointer {
            ptr,
            len,
            memory_bytes: PAGE_BYTES,
        };
        assert_eq!(
            read_bytes(memory, &store, "t", negative, 1, 16),
            Err(bad(negative, 1))
        );
        assert_eq!(
            read_bytes(memory, &store, "t", min, 0, 16),
            Err(bad(min, 0))
        );
        assert_eq!(
            read_bytes(memory, &store, "t", 0, negative, 16),
            Err(bad(0, negative))
        );
        // ptr + len overflows u32 (and would wrap to a small in-range end).
        assert_eq!(
            read_bytes(memory, &store, "t", 8, u32::MAX - 4, 16),
            Err(bad(8, u32::MAX - 4))
        );
        assert_eq!(
            read_bytes(memory, &store, "t", end - 3, 4, 16),
            Err(bad(end - 3, 4))
        );
        assert_eq!(
            read_bytes(memory, &store, "t", end + 1, 0, 16),
            Err(bad(end + 1, 0))
        );
        assert_eq!(read_u32(memory, &store, end - 3), Err(bad(end - 3, 4)));
        assert_eq!(read_u64(memory, &store, negative), Err(bad(negative, 8)));
        assert_eq!(
            write_u32(memory, &mut store, end - 2, 7),
            Err(bad(end - 2, 4))
        );
        assert_eq!(
            write_bytes(memory, &mut store, negative, b"x"),
            Err(bad(negative, 1))
        );
        // A failed write leaves memory untouched.
        assert!(memory.data(&store)[PAGE_BYTES - 2..]
            .iter()
            .all(|b| *b == 0));
        // In range but over the caller's limit: refused without copying.
        assert_eq!(
            read_bytes(memory, &store, "key", 0, 17, 16),
            Err(HostError::TooLarge {
                what: "key",
                len: 17,
                len_max: 16
            })
        );
    }

    #[test]
    fn grown_memory_is_visible() {
        let (mut store, memory) = store_with_memory(1);
        let ptr = PAGE_BYTES as u32 + 10;
        assert!(read_u32(memory, &store, ptr).is_err());
        memory.grow(&mut store, 1).unwrap();
        write_u32(memory, &mut store, ptr, 5).unwrap();
        assert_eq!(read_u32(memory, &store, ptr).unwrap(), 5);
    }

    #[test]
    fn zero_page_memory() {
        let (mut store, memory) = store_with_memory(0);
        assert_eq!(read_slice(memory, &store, 0, 0).unwrap(), b"");
        assert!(read_u32(memory, &store, 0).is_err());
        assert!(write_bytes(memory, &mut store, 0, b"a").is_err());
    }

    #[test]
    fn list_roundtrip() {
        let mut out = Vec::new();
        let items: [&[u8]; 3] = [b"GET", b"", b"key\x00\xff"];
        encode_list(items, &mut out).unwrap();
        assert_eq!(encoded_list_len(items), Some(out.len()));
        assert_eq!(
            out,
            b"\x03\x00\x00\x00\x03\x00\x00\x00GET\x00\x00\x00\x00\x05\x00\x00\x00key\x00\xff"
        );
        assert_eq!(decode_list(&out, limits()).unwrap(), items);

        let (mut store, memory) = store_with_memory(1);
        write_bytes(memory, &mut store, 100, &out).unwrap();
        let read = read_list(memory, &store, 100, out.len() as u32, limits()).unwrap();
        assert_eq!(read, vec![b"GET".to_vec(), vec![], b"key\x00\xff".to_vec()]);
        // The range itself is checked first.
        assert!(matches!(
            read_list(memory, &store, PAGE_BYTES as u32 - 2, 8, limits()),
            Err(HostError::BadPointer { .. })
        ));

        let mut empty = Vec::new();
        encode_list(std::iter::empty::<&[u8]>(), &mut empty).unwrap();
        assert_eq!(empty, [0, 0, 0, 0]);
        assert!(decode_list(&empty, limits()).unwrap().is_empty());
    }

    #[test]
    fn list_malformed_and_limits() {
        let malformed = |bytes: &[u8]| match decode_list(bytes, limits()) {
            Err(HostError::ListMalformed { reason }) => reason,
            other => panic!("expected ListMalformed, got {other:?}"),
        };
        assert_eq!(malformed(b""), "missing item count");
        assert_eq!(malformed(b"\x01\x00\x00"), "missing item count");
        assert_eq!(
            malformed(b"\x01\x00\x00\x00"),
            "item count larger than the list"
        );
        assert_eq!(
            malformed(b"\x01\x00\x00\x00\x05\x00\x00\x00abc"),
            "item bytes cut short"
        );
        assert_eq!(
            malformed(b"\x01\x00\x00\x00\xff\xff\xff\xffabcd"),
            "item bytes cut short"
        );
        assert_eq!(
            malformed(b"\x02\x00\x00\x00\x04\x00\x00\x00abcd\x01\x00"),
            "item length cut short"
        );
        assert_eq!(
            malformed(b"\x01\x00\x00\x00\x00\x00\x00\x00x"),
            "trailing bytes after the last item"
        );
        // A huge declared count is refused before allocating.
        assert_eq!(
            decode_list(
                b"\xff\xff\xff\xff",
                ListLimits {
                    items_max: usize::MAX,
                    bytes_max: 64
                }
            ),
            Err(HostError::ListMalformed {
                reason: "item count larger than the list"
            })
        );
        assert_eq!(
            decode_list(b"\x11\x00\x00\x00", limits()),
            Err(HostError::ListTooManyItems {
                count: 17,
                items_max: 16
            })
        );
        let big = vec![0u8; 1025];
        assert_eq!(
            decode_list(&big, limits()),
            Err(HostError::TooLarge {
                what: "list encoding",
                len: 1025,
                len_max: 1024
            })
        );
    }
}
