//! A check's exchanges as stable text, for tenant snapshots ([`crate::snapshot`]).
//!
//! Two runs against the same tenant must give the same text, so whatever a tenant
//! makes up per request is replaced by a placeholder numbered in order of appearance
//! within the check:
//!
//! | what | placeholder |
//! | --- | --- |
//! | a `requestId` (in a body or in the path `/mfa/v1/requests/{requestId}`) | `[requestId-1]` |
//! | a `requestState` (a secret): the *n*th one seen for request *r* | `[requestState-r.n]` |
//! | an `ecId` | `[ecId-1]` |
//! | a `factorId` / `preferredFactorId` the profile does not name | `[factorId-1]` |
//! | a `userGUID` other than the test user's (in a body or a path) | `[userGUID-1]` |
//! | any other UUID or run of 32 or more hex digits (e.g. the suite's random ids) | `[id-1]` |
//! | an ISO 8601 timestamp | `[timestamp-1]` |
//!
//! The same value always gets the same placeholder within a check, so a snapshot still
//! shows that a PATCH sent the requestState the initiate answer gave, or that a resend
//! answered a new one (`[requestState-1.2]`). Values the profile names (the test user's
//! GUID and name, the TOTP factor) stay as they are: they are stable by definition.
//!
//! Secrets are redacted as in every report ([`idcs_mfa::SECRET_KEYS`]): OTPs,
//! bypass codes, answers and tokens become `[redacted]`, a requestState becomes its
//! placeholder (which says which one it was, not what it was); a body that names a
//! secret but is not JSON is replaced whole; the `Authorization` header is never
//! recorded. JSON bodies are printed with their members sorted (member order is not
//! part of the contract); array order is kept (it is what the tenant answered).
//!
//! What is left out because it differs between runs without meaning anything: the
//! scheme, host and port (the snapshot is of the tenant's answers, not of its address),
//! latencies (not recorded at all), and every header but a few that belong to the
//! answer's meaning ([`KEPT_HEADERS`]). Consecutive exchanges that normalise to the
//! same text (a PUSH polled until it leaves `pending`) are written once, marked as
//! repeated, because how often they repeat depends on timing. 429 answers and requests
//! that never reached the tenant are left out: they say how busy the tenant was, not
//! how it answers (the report counts 429s; `diff` compares them).

use std::{collections::HashMap, fmt::Write as _};

use idcs_mfa::{Exchange, REDACTED, SECRET_KEYS};
use serde_json::Value;

/// Headers written into a snapshot (request and response); every other header varies
/// between tenants, proxies and runs (dates, lengths, trace ids) without meaning.
pub const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "www-authenticate",
    "cache-control",
    "location",
    "allow",
];

/// A body longer than this (rendered) is cut, with its length said.
const MAX_BODY_CHARS: usize = 16 * 1024;

/// Values the profile names: they stay literal in a snapshot.
#[derive(Clone, Debug, Default)]
pub struct Named {
    /// The test user's GUID.
    pub user_guid: String,
    /// The test user's name.
    pub user_name: Option<String>,
    /// Factor ids the profile names (the TOTP factor).
    pub factor_ids: Vec<String>,
}

impl Named {
    /// What `target`'s profile names.
    pub fn of(target: &crate::target::Target) -> Named {
        Named {
            user_guid: target.tenant().user.guid.clone(),
            user_name: target.tenant().user.name.clone(),
            factor_ids: target
                .tenant()
                .fixtures
                .totp
                .iter()
                .map(|(id, _)| id.clone())
                .collect(),
        }
    }

    fn is_named(&self, value: &str) -> bool {
        value == self.user_guid
            || self.user_name.as_deref() == Some(value)
            || self.factor_ids.iter().any(|f| f == value)
    }
}

/// The exchanges of one check as snapshot text (see the [module docs](self)).
/// `exchanges` are as recorded (not yet redacted): redaction happens here, after the
/// requestStates have been told apart.
pub fn exchanges(exchanges: &[Exchange], named: &Named) -> String {
    let mut p = Placeholders::new(named);
    let blocks: Vec<(String, String)> = exchanges
        .iter()
        .filter(|e| is_an_answer(e))
        .map(|e| (operation_name(e), p.exchange(e)))
        .collect();
    // Collapse runs of identical blocks.
    let mut collapsed: Vec<(String, String, bool)> = Vec::new();
    for (op, block) in blocks {
        match collapsed.last_mut() {
            Some((_, last, repeated)) if *last == block => *repeated = true,
            _ => collapsed.push((op, block, false)),
        }
    }
    let total = collapsed.len();
    let mut out = String::new();
    for (i, (op, block, repeated)) in collapsed.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "## exchange {} of {total}: {op}", i + 1);
        out.push_str(block);
        if *repeated {
            out.push_str("(repeated: the same exchange again, as often as timing made it)\n");
        }
    }
    if total == 0 {
        out.push_str("(no exchange)\n");
    }
    out
}

/// The `operationId` an exchange exercised (`raw` for a request to no operation).
fn operation_name(e: &Exchange) -> String {
    e.operation.map_or("raw", |o| o.operation_id()).to_owned()
}

/// Whether an exchange is the tenant's answer to the check: a 429 (rate limited; the
/// request is sent again) and a request that never reached the tenant are not, and
/// would only make snapshots differ with the load of the day. They are counted in the
/// report (`status_counts`) and compared by `diff`.
fn is_an_answer(e: &Exchange) -> bool {
    e.status != Some(429) && !e.unreached
}

/// Per-check placeholder state.
struct Placeholders<'a> {
    named: &'a Named,
    /// (kind, value) → placeholder.
    seen: HashMap<(&'static str, String), String>,
    /// kind → count so far.
    counts: HashMap<&'static str, usize>,
    /// requestId placeholder number → requestStates seen for it.
    generations: HashMap<usize, usize>,
}

impl<'a> Placeholders<'a> {
    fn new(named: &'a Named) -> Self {
        Self {
            named,
            seen: HashMap::new(),
            counts: HashMap::new(),
            generations: HashMap::new(),
        }
    }

    /// The placeholder of `value` as a `kind`, numbered in order of appearance.
    fn of(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(p) = self.seen.get(&(kind, value.to_owned())) {
            return p.clone();
        }
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        let p = format!("[{kind}-{n}]");
        self.seen.insert((kind, value.to_owned()), p.clone());
        p
    }

    /// The number of a requestId's placeholder (registering it).
    fn request_number(&mut self, request_id: &str) -> usize {
        let p = self.of("requestId", request_id);
        p.trim_start_matches("[requestId-")
            .trim_end_matches(']')
            .parse()
            .unwrap_or(0)
    }

    /// The placeholder of a requestState of request number `request` (0: none known).
    fn request_state(&mut self, request: usize, value: &str) -> String {
        if let Some(p) = self.seen.get(&("requestState", value.to_owned())) {
            return p.clone();
        }
        let n = self.generations.entry(request).or_insert(0);
        *n += 1;
        let p = format!("[requestState-{request}.{n}]");
        self.seen
            .insert(("requestState", value.to_owned()), p.clone());
        p
    }

    fn exchange(&mut self, e: &Exchange) -> String {
        let mut out = String::new();
        let (path, request_id) = self.url(&e.url);
        let _ = writeln!(out, "{} {path}", e.method);
        if e.authorized {
            out.push_str("authorization: [redacted]\n");
        }
        self.headers(&mut out, &e.request_headers);
        let request = request_id.map(|id| self.request_number(&id)).unwrap_or(0);
        self.body(&mut out, &e.request_body, request, e, true);
        match (e.status, &e.error) {
            (Some(status), error) => {
                let _ = writeln!(out, "=> {status}");
                self.headers(&mut out, &e.response_headers);
                self.body(&mut out, &e.response_body, request, e, false);
                if let Some(error) = error {
                    let _ = writeln!(out, "(then: {})", self.text(error));
                }
            }
            (None, error) => {
                let _ = writeln!(
                    out,
                    "=> no answer: {}",
                    self.text(error.as_deref().unwrap_or("none"))
                );
            }
        }
        out
    }

    /// The path and query, ids replaced; the requestId of a `/requests/{id}` path.
    fn url(&mut self, url: &str) -> (String, Option<String>) {
        let (path, query) = match reqwest::Url::parse(url) {
            Ok(u) => (u.path().to_owned(), u.query().map(str::to_owned)),
            Err(_) => (url.to_owned(), None),
        };
        let segments: Vec<&str> = path.split('/').collect();
        let mut request_id = None;
        let mut out = Vec::with_capacity(segments.len());
        for (i, seg) in segments.iter().enumerate() {
            let previous = i.checked_sub(1).map(|j| segments[j]);
            let replaced = match previous {
                Some("requests") if !seg.is_empty() => {
                    request_id = Some((*seg).to_owned());
                    self.of("requestId", seg)
                }
                Some("users") if !seg.is_empty() && !self.named.is_named(seg) => {
                    self.of("userGUID", seg)
                }
                _ if self.named.is_named(seg) => (*seg).to_owned(),
                _ => self.text(seg),
            };
            out.push(replaced);
        }
        let mut path = out.join("/");
        if let Some(query) = query {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => {
                        let decoded = percent_decode(v);
                        let v = if self.named.is_named(&decoded) {
                            v.to_owned()
                        } else {
                            self.text(v)
                        };
                        format!("{k}={v}")
                    }
                    None => self.text(pair),
                })
                .collect();
            path.push('?');
            path.push_str(&pairs.join("&"));
        }
        (path, request_id)
    }

    fn headers(&mut self, out: &mut String, headers: &[(String, String)]) {
        let mut kept: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(n, _)| KEPT_HEADERS.contains(&n.to_ascii_lowercase().as_str()))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        kept.sort();
        for (name, value) in kept {
            let value = self.text(value);
            let _ = writeln!(out, "{}: {value}", name.to_ascii_lowercase());
        }
    }

    fn body(&mut self, out: &mut String, body: &[u8], request: usize, e: &Exchange, sent: bool) {
        if body.is_empty() {
            return;
        }
        let rendered = match serde_json::from_slice::<Value>(body) {
            Ok(mut value) => {
                // An answer that names its request (initiate) numbers its requestState
                // after it.
                let request = match value.get("requestId").and_then(Value::as_str) {
                    Some(id) if !sent => self.request_number(id),
                    _ => request,
                };
                self.json(&mut value, None, request);
                serde_json::to_string_pretty(&value).unwrap_or_default()
            }
            Err(_) => {
                // Not JSON: redacted whole when it names a secret (as every report does).
                let redacted = e.redacted();
                let same = if sent {
                    redacted.request_body.as_ref() == body
                } else {
                    redacted.response_body.as_ref() == body
                };
                if same {
                    self.text(&String::from_utf8_lossy(body))
                } else {
                    let r = if sent {
                        redacted.request_body
                    } else {
                        redacted.response_body
                    };
                    String::from_utf8_lossy(&r).into_owned()
                }
            }
        };
        if rendered.chars().count() > MAX_BODY_CHARS {
            let cut: String = rendered.chars().take(MAX_BODY_CHARS).collect();
            let _ = writeln!(out, "{cut}\n… (cut; {} bytes in all)", body.len());
        } else {
            let _ = writeln!(out, "{rendered}");
        }
    }

    /// Replaces ids and secrets in a JSON value, by member name.
    fn json(&mut self, value: &mut Value, key: Option<&str>, request: usize) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    self.json(v, Some(k.as_str()), request);
                }
            }
            Value::Array(items) => {
                for v in items {
                    self.json(v, key, request);
                }
            }
            Value::String(s) => {
                let replaced = match key {
                    Some("requestState") => self.request_state(request, s),
                    Some(k) if SECRET_KEYS.contains(&k) => REDACTED.to_owned(),
                    Some("requestId") => self.of("requestId", s),
                    Some("ecId" | "ecid") => self.of("ecId", s),
                    Some("factorId" | "preferredFactorId") if !self.named.is_named(s) => {
                        self.of("factorId", s)
                    }
                    Some("userGUID") if !self.named.is_named(s) => self.of("userGUID", s),
                    _ if self.named.is_named(s) => return,
                    _ => self.text(s),
                };
                *s = replaced;
            }
            // A secret that is not a string (a number as otpCode) is a secret all the same.
            Value::Number(_) | Value::Bool(_) if key.is_some_and(|k| SECRET_KEYS.contains(&k)) => {
                *value = Value::String(REDACTED.to_owned());
            }
            _ => {}
        }
    }

    /// Replaces UUIDs, long hex runs and timestamps inside free text.
    fn text(&mut self, s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut copied = 0;
        while i < bytes.len() {
            let found = if let Some(len) = uuid_at(bytes, i) {
                Some(("id", len))
            } else if let Some(len) = hex_run_at(bytes, i) {
                Some(("id", len))
            } else {
                timestamp_at(bytes, i).map(|len| ("timestamp", len))
            };
            match found {
                Some((kind, len)) if i == 0 || !bytes[i - 1].is_ascii_alphanumeric() => {
                    out.push_str(&s[copied..i]);
                    let value = &s[i..i + len];
                    if self.named.is_named(value) {
                        out.push_str(value);
                    } else {
                        let p = self.of(kind, value);
                        out.push_str(&p);
                    }
                    i += len;
                    copied = i;
                }
                _ => i += 1,
            }
        }
        out.push_str(&s[copied..]);
        out
    }
}

/// The length of a UUID (8-4-4-4-12 hex digits) starting at `i`, if one does.
fn uuid_at(b: &[u8], i: usize) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut j = i;
    for (n, len) in GROUPS.iter().enumerate() {
        if n > 0 {
            if b.get(j) != Some(&b'-') {
                return None;
            }
            j += 1;
        }
        if j + len > b.len() || !b[j..j + len].iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        j += len;
    }
    if b.get(j).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some(j - i)
}

/// The length of a run of 32 or more hex digits starting at `i` (and not inside a
/// longer word), if one does.
fn hex_run_at(b: &[u8], i: usize) -> Option<usize> {
    let len = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let after = b.get(i + len);
    (len >= 32 && !after.is_some_and(u8::is_ascii_alphanumeric)).then_some(len)
}

/// The length of an ISO 8601 timestamp (`YYYY-MM-DDTHH:MM[:SS[.f]][Z|±HH[:]MM]`)
/// starting at `i`, if one does.
fn timestamp_at(b: &[u8], i: usize) -> Option<usize> {
    let digits = |from: usize, n: usize| {
        from + n <= b.len() && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    let is = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(digits(i, 4)
        && is(i + 4, b'-')
        && digits(i + 5, 2)
        && is(i + 7, b'-')
        && digits(i + 8, 2)
        && (is(i + 10, b'T') || is(i + 10, b' '))
        && digits(i + 11, 2)
        && is(i + 13, b':')
        && digits(i + 14, 2))
    {
        return None;
    }
    let mut j = i + 16;
    if is(j, b':') && digits(j + 1, 2) {
        j += 3;
        if is(j, b'.') || is(j, b',') {
            let fraction = b[j + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if fraction > 0 {
                j += 1 + fraction;
            }
        }
    }
    if is(j, b'Z') {
        j += 1;
    } else if (is(j, b'+') || is(j, b'-')) && digits(j + 1, 2) {
        if is(j + 3, b':') && digits(j + 4, 2) {
            j += 6;
        } else if digits(j + 3, 2) {
            j += 5;
        }
    }
    Some(j - i)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = match (b[i], b.get(i + 1), b.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        match (escaped, b[i]) {
            (Some(v), _) => {
                out.push(v);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, c) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn exchange(method: &str, url: &str, body: &str, status: u16, answer: &str) -> Exchange {
        Exchange {
            operation: Some(idcs_mfa::Operation::CompleteVerification),
            method: method.into(),
            url: url.into(),
            authorized: true,
            request_headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-trace".into(), "abc".into()),
            ],
            request_body: Bytes::from(body.to_owned()),
            status: Some(status),
            response_headers: vec![
                ("date".into(), "Sun, 29 Nov 2026 05:00:00 GMT".into()),
                ("content-type".into(), "application/json".into()),
            ],
            response_body: Bytes::from(answer.to_owned()),
            error: None,
            unreached: false,
        }
    }

    fn named() -> Named {
        Named {
            user_guid: "c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0".into(),
            user_name: Some("tom@example.com".into()),
            factor_ids: vec!["06f15bf5778544c3ae2236c5fca9d9e8".into()],
        }
    }

    /// One initiate and a resend, with the given tenant-made values.
    fn flow(request_id: &str, states: [&str; 2], ec_id: &str, port: u16) -> Vec<Exchange> {
        vec![
            exchange(
                "POST",
                &format!("http://127.0.0.1:{port}/mfa/v1/requests"),
                r#"{"userId":"c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0","factorId":"aaaabbbbccccddddeeeeffff00001111","method":"SMS"}"#,
                200,
                &format!(
                    r#"{{"requestState":"{}","status":"success","requestId":"{request_id}","factorId":"aaaabbbbccccddddeeeeffff00001111"}}"#,
                    states[0]
                ),
            ),
            exchange(
                "PATCH",
                &format!("http://127.0.0.1:{port}/mfa/v1/requests/{request_id}"),
                &format!(r#"{{"resendOtp":true,"requestState":"{}"}}"#, states[0]),
                200,
                &format!(r#"{{"status":"success","requestState":"{}"}}"#, states[1]),
            ),
            exchange(
                "PATCH",
                &format!("http://127.0.0.1:{port}/mfa/v1/requests/{request_id}"),
                &format!(r#"{{"otpCode":"629084","requestState":"{}"}}"#, states[1]),
                401,
                &format!(
                    r#"{{"status":"failed","ecId":"{ec_id}","cause":[{{"code":"AUTH-1105","message":"Invalid"}}]}}"#
                ),
            ),
        ]
    }

    #[test]
    fn two_runs_with_different_ids_give_the_same_text() {
        let a = exchanges(
            &flow(
                "0d9bd0b5-0b0e-4b9e-9b0b-5c5f8d6f1a01",
                ["stateA1", "stateA2"],
                "EC1",
                8700,
            ),
            &named(),
        );
        let b = exchanges(
            &flow(
                "7e1c3a40-2f11-4c2d-8e6a-0b1c2d3e4f50",
                ["stateB1", "stateB2"],
                "EC2",
                9100,
            ),
            &named(),
        );
        assert_eq!(a, b);
        for secret in ["stateA1", "stateA2", "629084", "0d9bd0b5", "EC1", "8700"] {
            assert!(!a.contains(secret), "{secret} in\n{a}");
        }
        assert!(
            a.contains("[requestState-1.1]") && a.contains("[requestState-1.2]"),
            "{a}"
        );
        assert!(a.contains("PATCH /mfa/v1/requests/[requestId-1]"), "{a}");
        assert!(a.contains("\"ecId\": \"[ecId-1]\""), "{a}");
        assert!(a.contains("\"otpCode\": \"[redacted]\""), "{a}");
        assert!(a.contains("[factorId-1]"), "{a}");
        // The profile's values stay.
        assert!(a.contains("c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0"), "{a}");
        // Kept headers only.
        assert!(!a.contains("x-trace") && !a.contains("date:"), "{a}");
    }

    #[test]
    fn a_reused_request_state_keeps_its_placeholder_and_a_new_one_counts_up() {
        // A resend that answers the same requestState is visible as such.
        let same = exchanges(&flow("r1", ["s1", "s1"], "E", 1), &Named::default());
        assert!(!same.contains("[requestState-1.2]"), "{same}");
        let fresh = exchanges(&flow("r1", ["s1", "s2"], "E", 1), &Named::default());
        assert!(fresh.contains("[requestState-1.2]"), "{fresh}");
        assert_ne!(same, fresh);
    }

    #[test]
    fn member_order_is_canonical_and_array_order_is_kept() {
        let one = exchange("GET", "http://h/x", "", 200, r#"{"b":1,"a":[2,1]}"#);
        let two = exchange("GET", "http://h/x", "", 200, r#"{"a":[2,1],"b":1}"#);
        let three = exchange("GET", "http://h/x", "", 200, r#"{"a":[1,2],"b":1}"#);
        let n = Named::default();
        assert_eq!(
            exchanges(std::slice::from_ref(&one), &n),
            exchanges(&[two], &n)
        );
        assert_ne!(exchanges(&[one], &n), exchanges(&[three], &n));
    }

    #[test]
    fn repeated_polls_are_written_once() {
        let poll = exchange(
            "GET",
            "http://h/mfa/v1/requests/r",
            "",
            200,
            r#"{"status":"pending"}"#,
        );
        let done = exchange(
            "GET",
            "http://h/mfa/v1/requests/r",
            "",
            200,
            r#"{"status":"success"}"#,
        );
        let n = Named::default();
        let twice = exchanges(&[poll.clone(), poll.clone(), done.clone()], &n);
        let five = exchanges(&[poll.clone(), poll.clone(), poll.clone(), poll, done], &n);
        assert_eq!(twice, five);
        assert!(twice.contains("exchange 2 of 2"), "{twice}");
        assert!(twice.contains("(repeated"), "{twice}");
    }

    #[test]
    fn free_text_ids_timestamps_and_non_json_secrets() {
        let named = Named::default();
        let mut p = Placeholders::new(&named);
        assert_eq!(
            p.text("no-such-user-0123456789abcdef0123456789abcdef@example.invalid at 2026-11-29T05:00:01.123Z"),
            "no-such-user-[id-1]@example.invalid at [timestamp-1]"
        );
        // Short hex and words stay.
        assert_eq!(p.text("AUTH-1105 deadbeef"), "AUTH-1105 deadbeef");
        let form = exchange(
            "POST",
            "http://h/x",
            "otpCode=123456",
            400,
            "<html>bypassCode 1</html>",
        );
        let text = exchanges(&[form], &Named::default());
        assert!(
            !text.contains("123456") && !text.contains("bypassCode 1"),
            "{text}"
        );
    }

    #[test]
    fn rate_limited_and_unreached_requests_are_left_out() {
        let ok = exchange(
            "GET",
            "http://h/mfa/v1/requests/r",
            "",
            200,
            r#"{"status":"pending"}"#,
        );
        let mut limited = exchange(
            "GET",
            "http://h/mfa/v1/requests/r",
            "",
            429,
            r#"{"status":"failed"}"#,
        );
        limited
            .response_headers
            .push(("retry-after".into(), "2".into()));
        let mut unreached = ok.clone();
        unreached.status = None;
        unreached.unreached = true;
        unreached.error = Some("connection refused".into());
        let n = Named::default();
        let plain = exchanges(std::slice::from_ref(&ok), &n);
        assert_eq!(exchanges(&[limited, ok.clone()], &n), plain);
        assert_eq!(exchanges(&[unreached, ok], &n), plain);
    }

    #[test]
    fn no_answer_is_said() {
        let mut e = exchange("GET", "http://h/x", "", 200, "");
        e.status = None;
        e.error = Some("operation timed out".into());
        let text = exchanges(&[e], &Named::default());
        assert!(text.contains("=> no answer: operation timed out"), "{text}");
    }
}
