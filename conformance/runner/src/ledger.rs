//! The runner's accounting of the test user's MFA attempt count, from what it saw on
//! the wire.
//!
//! Every exchange of the run (the generated client's, raw requests, property cases,
//! the runner's own resets) is fed to [`Ledger::observe`], which turns it into events of
//! the model's rule ([`idcs_mfa_model::attempts`]) and applies them to one
//! [`Counter`]: the count the tenant should now hold for the test user. The runner
//! consults it before each check, so it never lets the count reach the maximum unless
//! told to.
//!
//! Where an exchange does not say what the tenant did, the ledger assumes the worse
//! case, so the prediction is an upper bound:
//!
//! - an initiate or a resend for the test user that got no answer, or a 5xx, may have
//!   sent an OTP: counted as a send when the method could send one;
//! - a verification (a well-formed `otpCode`, `bypassCode` or `securityQuestions`
//!   payload on a request the test user initiated) answered 401 for any reason other
//!   than a lock (an invalid requestState included), 400 (a tenant may read a
//!   well-formed verification it refuses as a bad request, and still count it), a 5xx
//!   or nothing: counted as a failure (whether a refused requestState, a finished
//!   request or a missing requestState counts is a reading: docs/readings.md);
//! - every OTP sent by PHONE_CALL counts, and every PUSH the runner rejects (readings
//!   too: the worse case);
//! - a success resets the count only once the tenant said `success`: a 200 to the
//!   PATCH; for a PUSH the runner approved, a poll that says `success` takes away what
//!   was counted up to the approval (not what came after);
//!
//! What never counts: requests that carry another credential (no token, a bogus one),
//! requests about other users or about request ids the tenant never issued to the test
//! user, payloads that are not a verification (malformed JSON, wrong types: the tenant
//! cannot verify what it cannot read; decided here), 404, 413 and 429 answers, and
//! requests that never reached the tenant.
//!
//! The ledger also counts consecutive requests that never reached the tenant (DNS,
//! refused, TLS): the runner stops the run when the tenant is gone.

use std::{collections::HashMap, sync::Mutex};

use idcs_mfa::{Exchange, Method, Operation};
use serde::Serialize;
use serde_json::Value;

use idcs_mfa_model::attempts::{Counter, Effect, Event, Rules};

/// Whose credential a request carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The run's token: the tenant acts on it for the test user.
    Run,
    /// No token or another one (checks of the 401 answers): never an attempt.
    Other,
}

/// What the ledger knows, at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AttemptState {
    /// The predicted attempt count (an upper bound).
    pub count: u32,
    /// Whether the tenant said the user is locked (AUTH-1010). A predicted count at or
    /// past the maximum only says the user may be: the count is an upper bound.
    pub locked: bool,
    /// Attempts the run spent: every counted event.
    pub spent: u32,
    /// The highest predicted count of the run.
    pub highest: u32,
}

#[derive(Debug)]
struct RequestInfo {
    method: Option<Method>,
    /// A success, a rejection or an expiry was already accounted for.
    settled: bool,
    /// The predicted count when the runner approved this PUSH on the phone.
    approved_at: Option<u32>,
}

#[derive(Debug, Default)]
struct Inner {
    counter: Counter,
    spent: u32,
    highest: u32,
    /// The highest count since the last [`Ledger::mark`].
    peak: u32,
    requests: HashMap<String, RequestInfo>,
    unreached_in_a_row: u32,
    last_unreached: Option<String>,
    lock_message: Option<String>,
}

/// The accounting. See the [module docs](self).
#[derive(Debug)]
pub struct Ledger {
    user_guid: String,
    user_name: Option<String>,
    inner: Mutex<Inner>,
}

impl Ledger {
    /// A ledger for the test user.
    pub fn new(user_guid: &str, user_name: Option<&str>) -> Self {
        Self {
            user_guid: user_guid.to_owned(),
            user_name: user_name.map(str::to_owned),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The counter never locks by itself: an upper bound that reaches the maximum does
    /// not mean the tenant locked the user, and a ledger that believed so would stop
    /// counting what the tenant still counts. Only the tenant's AUTH-1010 locks it.
    const UNBOUNDED: Rules = Rules {
        max_attempts: u32::MAX,
    };

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state now.
    pub fn state(&self) -> AttemptState {
        let inner = self.lock();
        AttemptState {
            count: inner.counter.count,
            locked: inner.counter.locked,
            spent: inner.spent,
            highest: inner.highest,
        }
    }

    /// Starts watching the peak: [`Ledger::peak`] gives the highest count since.
    pub fn mark(&self) {
        let mut inner = self.lock();
        inner.peak = inner.counter.count;
    }

    /// The highest count since the last [`Ledger::mark`].
    pub fn peak(&self) -> u32 {
        self.lock().peak
    }

    /// The tenant's own words when it said the user is locked.
    pub fn lock_message(&self) -> Option<String> {
        self.lock().lock_message.clone()
    }

    /// Requests in a row that never reached the tenant, and the last one's error.
    pub fn unreached(&self) -> (u32, Option<String>) {
        let inner = self.lock();
        (inner.unreached_in_a_row, inner.last_unreached.clone())
    }

    /// The user was unlocked (and the count set to 0) by an administrator's action.
    pub fn unlocked(&self) {
        let mut inner = self.lock();
        inner.counter.apply(Self::UNBOUNDED, &Event::Unlocked);
        inner.lock_message = None;
    }

    /// The runner approved (`true`) or rejected the PUSH of `request_id`. A rejection
    /// counts now. An approval resets the count as of now, once the tenant says
    /// `success`: what was counted after the approval stays.
    pub fn push_decided(&self, request_id: &str, approve: bool) {
        let mut inner = self.lock();
        if approve {
            let count = inner.counter.count;
            if let Some(info) = inner.requests.get_mut(request_id)
                && !info.settled
            {
                info.approved_at = Some(count);
            }
            return;
        }
        let settled = match inner.requests.get_mut(request_id) {
            Some(info) if !info.settled => {
                info.settled = true;
                false
            }
            _ => true,
        };
        if !settled {
            self.apply(&mut inner, Event::PushRejected);
        }
    }

    fn apply(&self, inner: &mut Inner, event: Event) {
        if let Effect::Counted { .. } = inner.counter.apply(Self::UNBOUNDED, &event) {
            inner.spent += 1;
            inner.highest = inner.highest.max(inner.counter.count);
            inner.peak = inner.peak.max(inner.counter.count);
        }
    }

    /// Feeds one exchange, made with `credential`. See the [module docs](self).
    pub fn observe(&self, exchange: &Exchange, credential: Credential) {
        let mut inner = self.lock();
        if exchange.unreached {
            inner.unreached_in_a_row += 1;
            inner.last_unreached = exchange.error.clone();
            return;
        }
        if exchange.status.is_some() {
            inner.unreached_in_a_row = 0;
        }
        if credential == Credential::Other {
            return;
        }
        let response: Option<Value> = serde_json::from_slice(&exchange.response_body).ok();
        if let Some(message) = response.as_ref().and_then(lock_cause) {
            inner.counter.locked = true;
            inner.lock_message = Some(message);
        }
        let status = exchange.status;
        // Sent, and the tenant may have acted on it without saying so.
        let unknown = status.is_none_or(|s| s >= 500);
        let path = exchange.url.split('?').next().unwrap_or(&exchange.url);
        let request_id = path.rsplit('/').next().unwrap_or("").to_owned();
        match exchange.operation {
            Some(Operation::InitiateVerification) => {
                let body: Option<Value> = serde_json::from_slice(&exchange.request_body).ok();
                if status == Some(200) {
                    let Some(answer) = response.as_ref() else {
                        return;
                    };
                    let ours = answer
                        .get("userGUID")
                        .and_then(Value::as_str)
                        .is_none_or(|g| g == self.user_guid);
                    let id = answer.get("requestId").and_then(Value::as_str);
                    let method = answer.get("method").and_then(Value::as_str).map(method_of);
                    if let (true, Some(id)) = (ours, id) {
                        inner.requests.insert(
                            id.to_owned(),
                            RequestInfo {
                                method: method.clone(),
                                settled: false,
                                approved_at: None,
                            },
                        );
                        if let Some(method) = method {
                            self.apply(&mut inner, Event::Sent(method));
                        }
                    }
                } else if unknown && body.as_ref().is_some_and(|b| self.names_user(b)) {
                    let method = body
                        .as_ref()
                        .and_then(|b| b.get("method"))
                        .and_then(Value::as_str)
                        .map(method_of)
                        // No method: the preferred factor, which may send.
                        .unwrap_or(Method::Sms);
                    self.apply(&mut inner, Event::Sent(method));
                }
            }
            Some(Operation::CompleteVerification) => {
                let Some(info) = inner.requests.get(&request_id) else {
                    return;
                };
                let method = info.method.clone();
                let Some(body) = serde_json::from_slice::<Value>(&exchange.request_body).ok()
                else {
                    return;
                };
                match verification_kind(&body) {
                    Some(Kind::Resend) if status == Some(200) || unknown => {
                        self.apply(&mut inner, Event::Sent(method.unwrap_or(Method::Sms)));
                    }
                    Some(Kind::Resend) => {}
                    Some(Kind::Verify) => {
                        let success = status.is_some_and(|s| (200..300).contains(&s))
                            && response
                                .as_ref()
                                .and_then(|r| r.get("status"))
                                .and_then(Value::as_str)
                                == Some("success");
                        if success {
                            if let Some(info) = inner.requests.get_mut(&request_id) {
                                info.settled = true;
                            }
                            self.apply(&mut inner, Event::Succeeded);
                        } else if matches!(status, Some(400 | 401)) && !inner.counter.locked
                            || unknown
                        {
                            self.apply(&mut inner, Event::Failed);
                        }
                    }
                    None => {}
                }
            }
            Some(Operation::GetVerificationStatus) => {
                let locked = inner.counter.locked;
                let Some(info) = inner.requests.get_mut(&request_id) else {
                    return;
                };
                if info.settled || info.method != Some(Method::Push) {
                    return;
                }
                let said = response
                    .as_ref()
                    .and_then(|r| r.get("status"))
                    .and_then(Value::as_str);
                match (status, said) {
                    // Approved: the tenant reset the count when the approval reached it,
                    // not at this poll. Approved by the runner: take away what was
                    // counted before the approval; by someone else, when is unknown:
                    // keep the count (an upper bound).
                    (Some(200), Some("success")) => {
                        info.settled = true;
                        if let Some(before) = info.approved_at {
                            inner.counter.count = inner.counter.count.saturating_sub(before);
                        }
                    }
                    // Rejected or expired: the worse case is a rejection.
                    (Some(401), Some("failed")) if !locked => {
                        info.settled = true;
                        self.apply(&mut inner, Event::PushRejected);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Whether an initiate body names the test user.
    fn names_user(&self, body: &Value) -> bool {
        let Some(user) = body.get("userId").and_then(Value::as_str) else {
            return false;
        };
        user == self.user_guid || self.user_name.as_deref() == Some(user)
    }
}

enum Kind {
    Resend,
    Verify,
}

/// What a PATCH payload asks for, when it is one the tenant can act on.
fn verification_kind(body: &Value) -> Option<Kind> {
    let object = body.as_object()?;
    object.get("requestState")?.as_str()?;
    if object.get("resendOtp") == Some(&Value::Bool(true)) {
        return Some(Kind::Resend);
    }
    let code = |key: &str| object.get(key).is_some_and(Value::is_string);
    let answers = object
        .get("securityQuestions")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    (code("otpCode") || code("bypassCode") || answers).then_some(Kind::Verify)
}

fn method_of(name: &str) -> Method {
    serde_json::from_value(Value::String(name.to_owned())).unwrap_or(Method::Sms)
}

/// The message of an AUTH-1010 cause, when the body has one.
fn lock_cause(body: &Value) -> Option<String> {
    body.get("cause")?.as_array()?.iter().find_map(|c| {
        (c.get("code")?.as_str()? == "AUTH-1010").then(|| {
            c.get("message")
                .and_then(Value::as_str)
                .unwrap_or("the account is locked")
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const GUID: &str = "c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0";

    fn ledger() -> Ledger {
        Ledger::new(GUID, Some("me@example.com"))
    }

    fn exchange(
        op: Option<Operation>,
        url: &str,
        body: &str,
        status: Option<u16>,
        answer: &str,
    ) -> Exchange {
        Exchange {
            operation: op,
            method: "X".into(),
            url: format!("http://t{url}"),
            authorized: true,
            request_headers: vec![],
            request_body: Bytes::from(body.to_owned()),
            status,
            response_headers: vec![],
            response_body: Bytes::from(answer.to_owned()),
            error: status.is_none().then(|| "timed out".into()),
            unreached: false,
        }
    }

    fn initiate(l: &Ledger, id: &str, method: &str) {
        let answer = format!(
            r#"{{"requestId":"{id}","userGUID":"{GUID}","method":"{method}","requestState":"s"}}"#
        );
        l.observe(
            &exchange(
                Some(Operation::InitiateVerification),
                "/mfa/v1/requests",
                "{}",
                Some(200),
                &answer,
            ),
            Credential::Run,
        );
    }

    fn patch(l: &Ledger, id: &str, body: &str, status: Option<u16>, answer: &str, who: Credential) {
        l.observe(
            &exchange(
                Some(Operation::CompleteVerification),
                &format!("/mfa/v1/requests/{id}"),
                body,
                status,
                answer,
            ),
            who,
        );
    }

    #[test]
    fn sends_failures_and_success_as_the_model_says() {
        let l = ledger();
        initiate(&l, "r1", "SMS");
        assert_eq!(l.state().count, 1);
        patch(
            &l,
            "r1",
            r#"{"resendOtp":true,"requestState":"s"}"#,
            Some(200),
            "{}",
            Credential::Run,
        );
        patch(
            &l,
            "r1",
            r#"{"otpCode":"1","requestState":"s"}"#,
            Some(401),
            r#"{"cause":[{"code":"AUTH-1105"}]}"#,
            Credential::Run,
        );
        assert_eq!(
            l.state(),
            AttemptState {
                count: 3,
                locked: false,
                spent: 3,
                highest: 3
            }
        );
        patch(
            &l,
            "r1",
            r#"{"otpCode":"2","requestState":"s"}"#,
            Some(200),
            r#"{"status":"success"}"#,
            Credential::Run,
        );
        assert_eq!(
            l.state(),
            AttemptState {
                count: 0,
                locked: false,
                spent: 3,
                highest: 3
            }
        );
        initiate(&l, "r2", "TOTP");
        assert_eq!(l.state().count, 0);
    }

    #[test]
    fn what_never_counts() {
        let l = ledger();
        initiate(&l, "r1", "TOTP");
        let verify = r#"{"otpCode":"1","requestState":"s"}"#;
        // Another credential, an unknown request, malformed payloads, 400/404/429.
        patch(&l, "r1", verify, Some(401), "{}", Credential::Other);
        patch(&l, "other", verify, Some(401), "{}", Credential::Run);
        patch(
            &l,
            "r1",
            r#"{"otpCode":1,"requestState":"s"}"#,
            Some(401),
            "{}",
            Credential::Run,
        );
        patch(
            &l,
            "r1",
            "{\"otpCode\": \"12",
            Some(401),
            "{}",
            Credential::Run,
        );
        for status in [404, 413, 429] {
            patch(&l, "r1", verify, Some(status), "{}", Credential::Run);
        }
        let mut unreached = exchange(
            Some(Operation::CompleteVerification),
            "/mfa/v1/requests/r1",
            verify,
            None,
            "",
        );
        unreached.unreached = true;
        l.observe(&unreached, Credential::Run);
        assert_eq!(l.state().count, 0);
        assert_eq!(l.unreached().0, 1);
    }

    #[test]
    fn the_worse_case_where_the_answer_does_not_say() {
        let l = ledger();
        initiate(&l, "r1", "TOTP");
        let verify = r#"{"otpCode":"1","requestState":"s"}"#;
        // An invalid requestState (401 AUTH-1120), a 500, no answer.
        patch(
            &l,
            "r1",
            verify,
            Some(401),
            r#"{"cause":[{"code":"AUTH-1120"}]}"#,
            Credential::Run,
        );
        patch(&l, "r1", verify, Some(500), "{}", Credential::Run);
        patch(&l, "r1", verify, None, "", Credential::Run);
        assert_eq!(l.state().count, 3);
        // An initiate for the test user (by name) that timed out may have sent an OTP.
        l.observe(
            &exchange(
                Some(Operation::InitiateVerification),
                "/mfa/v1/requests",
                r#"{"userId":"me@example.com"}"#,
                None,
                "",
            ),
            Credential::Run,
        );
        assert_eq!(l.state().count, 4);
        // For another user it did not count.
        l.observe(
            &exchange(
                Some(Operation::InitiateVerification),
                "/mfa/v1/requests",
                r#"{"userId":"you@example.com"}"#,
                None,
                "",
            ),
            Credential::Run,
        );
        assert_eq!(l.state().count, 4);
        assert_eq!(l.unreached().0, 0);
    }

    #[test]
    fn push_rejections_count_once_and_approvals_when_the_tenant_says_so() {
        let l = ledger();
        initiate(&l, "p1", "PUSH");
        l.push_decided("p1", false);
        let poll = |answer: &str, status| {
            l.observe(
                &exchange(
                    Some(Operation::GetVerificationStatus),
                    "/mfa/v1/requests/p1",
                    "",
                    Some(status),
                    answer,
                ),
                Credential::Run,
            )
        };
        poll(r#"{"status":"failed"}"#, 401);
        assert_eq!(l.state().count, 1);
        initiate(&l, "p2", "PUSH");
        l.push_decided("p2", true);
        assert_eq!(l.state().count, 1, "not before the tenant says success");
        l.observe(
            &exchange(
                Some(Operation::GetVerificationStatus),
                "/mfa/v1/requests/p2",
                "",
                Some(200),
                r#"{"status":"success"}"#,
            ),
            Credential::Run,
        );
        assert_eq!(l.state().count, 0);
    }

    // Test case: an approval resets what was counted before it, not what came after
    // it (found by the sequence checks: a poll after later sends must not erase them).
    #[test]
    fn an_approval_resets_only_what_came_before_it() {
        let l = ledger();
        initiate(&l, "r1", "SMS");
        initiate(&l, "p1", "PUSH");
        l.push_decided("p1", true);
        initiate(&l, "r2", "EMAIL");
        l.observe(
            &exchange(
                Some(Operation::GetVerificationStatus),
                "/mfa/v1/requests/p1",
                "",
                Some(200),
                r#"{"status":"success"}"#,
            ),
            Credential::Run,
        );
        assert_eq!(
            l.state().count,
            1,
            "the EMAIL sent after the approval still counts"
        );
    }

    #[test]
    fn a_lock_the_tenant_reports_is_kept_with_its_words_until_an_unlock() {
        let l = ledger();
        initiate(&l, "r1", "TOTP");
        patch(
            &l,
            "r1",
            r#"{"otpCode":"1","requestState":"s"}"#,
            Some(401),
            r#"{"status":"failed","cause":[{"code":"AUTH-1010","message":"Your account is locked."}]}"#,
            Credential::Run,
        );
        assert!(l.state().locked);
        assert_eq!(
            l.state().count,
            0,
            "a refusal of a locked user is not an attempt"
        );
        assert_eq!(l.lock_message().as_deref(), Some("Your account is locked."));
        l.unlocked();
        assert!(!l.state().locked);
        assert_eq!(l.lock_message(), None);
    }

    #[test]
    fn the_peak_since_a_mark() {
        let l = ledger();
        initiate(&l, "r1", "SMS");
        l.mark();
        initiate(&l, "r2", "EMAIL");
        patch(
            &l,
            "r2",
            r#"{"otpCode":"2","requestState":"s"}"#,
            Some(200),
            r#"{"status":"success"}"#,
            Credential::Run,
        );
        assert_eq!((l.peak(), l.state().count), (2, 0));
    }
}
