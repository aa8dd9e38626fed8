//! What was seen on the wire, below every other module: the status, headers and body of
//! one response as the transport read them ([`Observation`]), and a one-line account of
//! a failed exchange ([`describe_reqwest`]). The transport writes them; the error, the
//! exchange record and the policy read them.

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};

/// What `exec` saw of one response.
#[derive(Default)]
pub(crate) struct Observation {
    pub(crate) status: Option<StatusCode>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The body was longer than the limit; `body` holds nothing.
    pub(crate) too_large: bool,
}

/// A one-line account of a reqwest failure that says what to check. reqwest's own text
/// is kept, without the URL's query (which never holds secrets here, but stays short).
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "the request timed out; the tenant is slow or unreachable (raise the timeout, or check the base URL)"
    } else if e.is_connect() {
        "cannot connect to the tenant; check the base URL, the network and any proxy"
    } else if e.is_redirect() {
        "the tenant answered with a redirect, which this client does not follow"
    } else if e.is_body() || e.is_decode() {
        "the connection failed while the response body was being read"
    } else if e.is_request() {
        "the request could not be sent"
    } else {
        "the HTTP exchange failed"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    format!("{what} ({detail})")
}
