//! Support code for `#[ferrite_function]` expansions. Not a public API.

use crate::{ferrite_error, Error, FromArg};

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

/// Reads all arguments after checking their count.
pub fn take_args(function: &'static str, expected: usize) -> Result<Vec<Vec<u8>>, Error> {
    let got = crate::argc();
    if got != expected {
        return Err(Error::ArgumentCount { function, expected, got });
    }
    Ok(crate::args())
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
