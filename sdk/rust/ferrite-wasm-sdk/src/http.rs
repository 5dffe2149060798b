//! Outgoing HTTP (capability `http`; only allow-listed `http://` hosts).

use crate::{decode_list, encode_list, read_result, sys, wasm_len, Error};

/// The response of [`ferrite_http`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response body.
    pub body: Vec<u8>,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
}

/// Sends `method url` with `body` and `headers`. Refused requests (URL not
/// allow-listed, timeout, …) raise `ERR http: …` and end the call.
pub fn ferrite_http(
    method: &str,
    url: &str,
    body: impl AsRef<[u8]>,
    headers: &[(&str, &str)],
) -> Result<HttpResponse, Error> {
    let mut items: Vec<&[u8]> = vec![method.as_bytes(), url.as_bytes(), body.as_ref()];
    for (name, value) in headers {
        items.push(name.as_bytes());
        items.push(value.as_bytes());
    }
    let req = encode_list(&items);
    // SAFETY: `req` is a live buffer the host only reads.
    let len = unsafe { sys::ferrite_http(req.as_ptr(), wasm_len(&req)) };
    let buf = read_result(len).ok_or(Error::MalformedHttpResponse)?;
    parse_response(decode_list(&buf)?)
}

fn parse_response(items: Vec<Vec<u8>>) -> Result<HttpResponse, Error> {
    if items.len() < 2 || items.len() % 2 != 0 {
        return Err(Error::MalformedHttpResponse);
    }
    let mut it = items.into_iter();
    let status = it.next().ok_or(Error::MalformedHttpResponse)?;
    let status = core::str::from_utf8(&status)
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(Error::MalformedHttpResponse)?;
    let body = it.next().ok_or(Error::MalformedHttpResponse)?;
    let mut headers = Vec::new();
    while let (Some(name), Some(value)) = (it.next(), it.next()) {
        headers.push((
            crate::keyspace::into_string_lossy(name),
            crate::keyspace::into_string_lossy(value),
        ));
    }
    Ok(HttpResponse { status, body, headers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_response() {
        let r = parse_response(vec![b"200".to_vec(), b"hi".to_vec(), b"a".to_vec(), b"b".to_vec()]).unwrap();
        assert_eq!(r, HttpResponse { status: 200, body: b"hi".to_vec(), headers: vec![("a".into(), "b".into())] });
        assert!(parse_response(vec![b"x".to_vec(), vec![]]).is_err());
        assert!(parse_response(vec![b"200".to_vec()]).is_err());
    }
}
