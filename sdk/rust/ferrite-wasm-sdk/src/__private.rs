//! Support code for `#[ferrite_function]` expansions. Not a public API.

use core::mem::MaybeUninit;

use crate::{ferrite_error, sys, Error, FromArg};

/// Called first by every generated export: installs the panic hook that
/// turns a guest panic into an error reply before wasm traps.
pub fn enter() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "Box<dyn Any>".to_string()
            };
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            ferrite_error(format!("ERR panic in guest: {}{}", message, location));
        }));
    });
}

/// Run by the host once per instance before the first call (docs/abi.md,
/// `ferrite_init`): a reused instance then starts every call with the hook
/// already installed, and the call writes none of the statics behind it.
#[no_mangle]
pub extern "C" fn ferrite_init() {
    enter();
}

/// Bytes of arguments an [`ArgStore`] keeps on the stack; longer ones (and
/// the rest once this is full) go to the heap.
pub const ARGS_INLINE_BYTES: usize = 256;

/// Where one argument's bytes are.
#[derive(Clone, Copy)]
enum ArgSpan {
    /// `inline[start..start + len]`.
    Inline { start: u32, len: u32 },
    /// `heap[index]`.
    Heap(u32),
}

/// The call's `N` arguments, read once by the generated export. Small
/// arguments are copied into a buffer on the stack, so a typical call makes
/// no heap allocation: on a fresh instance the first allocation also
/// initialises the allocator and grows the linear memory (a page more for
/// the host to reset after the call).
pub struct ArgStore<const N: usize> {
    inline: [MaybeUninit<u8>; ARGS_INLINE_BYTES],
    used: usize,
    spans: [ArgSpan; N],
    heap: Vec<Vec<u8>>,
}

impl<const N: usize> ArgStore<N> {
    /// An empty store.
    #[allow(clippy::new_without_default)] // reason: only generated code builds one, right before `read`
    pub fn new() -> Self {
        ArgStore {
            inline: [MaybeUninit::uninit(); ARGS_INLINE_BYTES],
            used: 0,
            spans: [ArgSpan::Inline { start: 0, len: 0 }; N],
            heap: Vec::new(),
        }
    }

    /// Checks the argument count (`function` names the export in the error)
    /// and reads every argument.
    pub fn read(&mut self, function: &'static str) -> Result<(), Error> {
        let got = crate::argc();
        if got != N {
            return Err(Error::ArgumentCount { function, expected: N, got });
        }
        for (index, span) in self.spans.iter_mut().enumerate() {
            let room = ARGS_INLINE_BYTES - self.used;
            let dst = self.inline[self.used..].as_mut_ptr().cast::<u8>();
            // SAFETY: `dst` points to `room` writable bytes of `inline`; the
            // host writes the argument there only if it fits in `room`.
            let len = unsafe { sys::ferrite_arg_read(index as i32, dst, room as i32) };
            assert!(len >= 0, "host reported more arguments than it returns");
            if len as u64 <= room as u64 {
                *span = ArgSpan::Inline { start: self.used as u32, len: len as u32 };
                self.used += len as usize;
            } else {
                // Too long for the stack buffer: the host put it in the
                // result buffer instead.
                let bytes = crate::read_result(len).unwrap_or_default();
                *span = ArgSpan::Heap(self.heap.len() as u32);
                self.heap.push(bytes);
            }
        }
        Ok(())
    }

    /// Argument `index` (< `N`), after [`ArgStore::read`].
    pub fn get(&self, index: usize) -> &[u8] {
        match self.spans[index] {
            ArgSpan::Inline { start, len } => {
                let bytes = &self.inline[start as usize..(start + len) as usize];
                // SAFETY: `read` set this span to exactly the bytes the host
                // copied into `inline`, so they are initialised; `MaybeUninit<u8>`
                // has the layout of `u8`.
                unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<u8>(), bytes.len()) }
            }
            ArgSpan::Heap(i) => &self.heap[i as usize],
        }
    }
}

/// Decodes one argument into a parameter.
pub fn decode<'a, T: FromArg<'a>>(
    function: &'static str,
    param: &'static str,
    bytes: &'a [u8],
) -> Result<T, Error> {
    T::from_arg(bytes).map_err(|reason| Error::InvalidArgument { function, param, reason })
}

/// Replies with an SDK error.
pub fn fail(error: Error) {
    ferrite_error(error.to_string());
}

/// `ferrite_alloc(size) -> ptr`: the allocator the host uses to pass typed
/// string arguments and raw-convention input into guest memory. Returns 0 on
/// failure. Memory is never freed: every call runs on a fresh instance.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn ferrite_alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    let size = (size as usize).max(1);
    let layout = match std::alloc::Layout::from_size_align(size, 8) {
        Ok(l) => l,
        Err(_) => return 0,
    };
    // SAFETY: `layout` has a non-zero size; a null result is reported as 0.
    let ptr = unsafe { std::alloc::alloc(layout) };
    ptr as usize as i32
}
