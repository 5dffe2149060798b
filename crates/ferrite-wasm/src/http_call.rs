//! `ferrite_http`: decodes the guest's list-encoded request, runs it
//! through [`crate::http::request`] and list-encodes the response
//! (`docs/abi.md` §4).

use std::time::Instant;

use crate::host::{HostState, Raise};
use crate::http::{self, HttpPolicy};
use crate::memory;
use crate::WasmError;

/// Runs one request; `items` = `method, url, body, name1, value1, …`.
pub(crate) fn call(
    state: &HostState,
    items: Vec<Vec<u8>>,
    timeout_ms: u64,
    body_bytes_max: usize,
    deadline: Instant,
) -> wasmtime::Result<Vec<u8>> {
    let fail = |msg: String| wasmtime::Error::new(Raise(WasmError::CommandError(format!("ERR http: {msg}"))));
    if items.len() < 3 || items.len() % 2 == 0 {
        return Err(fail("request must be method, url, body, then header name/value pairs".into()));
    }
    let text = |b: &[u8], what: &str| {
        String::from_utf8(b.to_vec()).map_err(|_| fail(format!("{what} is not UTF-8")))
    };
    let method = text(&items[0], "method")?;
    let url = text(&items[1], "url")?;
    let headers: Vec<(Vec<u8>, Vec<u8>)> =
        items[3..].chunks(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect();
    let policy = HttpPolicy {
        allow_hosts: state.call.permissions.http_allow_hosts.clone(),
        timeout_ms,
        body_bytes_max,
    };
    let response = http::request(&policy, &method, &url, &headers, &items[2], deadline)
        .map_err(|e| fail(e.to_string()))?;
    let mut fields: Vec<Vec<u8>> = vec![response.status.to_string().into_bytes(), response.body];
    for (name, value) in response.headers {
        fields.push(name);
        fields.push(value);
    }
    let mut out = Vec::new();
    memory::encode_list(fields.iter(), &mut out)?;
    Ok(out)
}
