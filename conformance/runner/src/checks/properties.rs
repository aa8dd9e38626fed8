//! Property checks: generated inputs against the target, shrunk to a minimal failure.
//!
//! Each property draws `cases` inputs from a proptest strategy with a seeded RNG (the
//! seed is printed in every report, so a failure replays), sends each, and checks the
//! answer, including its conformance to the contract's schema. A failing input is
//! shrunk with proptest's value trees, re-sending each candidate, and reported as a
//! `curl` command with the token as `$IDCS_TOKEN`.
//!
//! Cases are sent [`IN_FLIGHT`] at a time, each in a context of its own (so that its
//! exchanges are its own); inputs are drawn in the same order as one at a time, and the
//! first failing case in that order is the one shrunk and reported, so a seed replays
//! the same way. Every request still waits for the run's rate limiter.

use std::{future::Future, sync::Arc};

use idcs_mfa::Secret;
use proptest::{
    strategy::{Strategy, ValueTree},
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};

use crate::{
    check,
    checks::shrink::{Candidate, shrink},
    harness::{Auth, Ctx},
    harness::{Check, CheckResult, Fail},
    target::PropConfig,
    validate::validate_exchange,
};

/// Shrinking stops after this many re-sent candidates.
const MAX_SHRINK_STEPS: u32 = 128;

/// Cases sent at once. Against a rate-limited tenant this only changes how requests
/// queue for the limiter; against the embedded mock it overlaps the client's work with
/// the server's (docs/performance.md: with the regexes parsed once, 1,200 → 1,950 cases
/// per second in a debug build on 2 cores; 8 at once was slower).
pub const IN_FLIGHT: usize = 4;

/// The property checks.
pub const CHECKS: &[Check] = &[
    check! {
        id: "props/unknown-request-id-404",
        operation: GetVerificationStatus,
        quote: "404 Response: Indicates that the requestId provided is invalid. (for any requestId the tenant did not issue; never a 5xx)",
        source: "[STATUS]",
        evidence: Stated,
        run: unknown_request_ids,
    },
    check! {
        id: "props/malformed-patch-payload-400",
        operation: CompleteVerification,
        quote: "400 Response: Indicates that the request payload is invalid. (for any payload that is not a JSON object of the schema)",
        source: "[VERIFY]",
        evidence: Stated,
        run: malformed_payloads,
    },
    check! {
        id: "props/bogus-token-401",
        operation: GetVerificationStatus,
        quote: "401 Response: … Indicates unauthorized access if the token provided is invalid (for any bearer value the tenant did not issue)",
        source: "[STATUS]",
        evidence: Stated,
        run: bogus_tokens,
    },
    check! {
        id: "props/unknown-user-guid-404",
        operation: GetUserFactors,
        quote: "404 … AUTH-3018 User not found. (for any GUID the tenant does not have)",
        source: "[OD]",
        evidence: Captured,
        run: unknown_guids,
    },
];

/// Why one generated case did not hold.
#[derive(Clone, Debug, thiserror::Error)]
enum CaseFailure {
    /// It got no answer (the request's failure, as a check reports it).
    #[error(transparent)]
    NoAnswer(#[from] Fail),
    /// What was wrong with the answer: another status, a body the contract refuses.
    #[error("{}", .0.join("; "))]
    Answer(Vec<String>),
}

/// Runs a property: `cases` draws from `strategy`, each checked by `test` (which sends
/// it in the context it is given, usually with [`send_case`]); a failure is shrunk.
async fn property<S, F, Fut>(
    cx: &Ctx,
    strategy: S,
    describe: fn(&S::Value) -> String,
    test: F,
) -> CheckResult
where
    S: Strategy,
    S::Value: Clone,
    F: Fn(Arc<Ctx>, S::Value) -> Fut,
    Fut: Future<Output = Result<(), CaseFailure>>,
{
    let PropConfig { cases, seed, .. } = cx.target.settings().props;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    // A context per case: its exchanges, and only its, are judged and, for a failure,
    // kept.
    let fresh = || Arc::new(Ctx::new(cx.target.clone()));
    let mut case = 0u32;
    while case < cases {
        let window = (cases - case).min(IN_FLIGHT as u32);
        let mut trees = Vec::with_capacity(window as usize);
        for _ in 0..window {
            trees.push(
                strategy
                    .new_tree(&mut runner)
                    .map_err(|e| Fail::skip(format!("cannot generate inputs: {e}")))?,
            );
        }
        let contexts: Vec<Arc<Ctx>> = trees.iter().map(|_| fresh()).collect();
        let results = join_all(
            trees
                .iter()
                .zip(&contexts)
                .map(|(t, case_cx)| test(case_cx.clone(), t.current()))
                .collect(),
        )
        .await;
        // A request that never reached the tenant says nothing about the tenant: no
        // shrinking (each step would be another unanswered request), no verdict.
        if let Some((i, _)) = results
            .iter()
            .enumerate()
            .find(|(i, r)| r.is_err() && contexts[*i].any_unreached())
        {
            let why = results[i]
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(Fail::skip(format!(
                "the tenant could not be reached (case {} of {cases}): {why}",
                case + i as u32 + 1
            )));
        }
        // Thousands of passing cases would drown the report: their contexts are dropped.
        let Some((failed, first)) = results
            .into_iter()
            .enumerate()
            .find_map(|(i, r)| r.err().map(|why| (i, why)))
        else {
            case += window;
            continue;
        };
        let mut tree = trees.swap_remove(failed);
        let (input, why, steps) = shrink(&mut tree, first, MAX_SHRINK_STEPS, |input| {
            let sent = test(fresh(), input);
            async move {
                match sent.await {
                    Err(why) => Candidate::Fails(why),
                    Ok(()) => Candidate::Holds,
                }
            }
        })
        .await;
        // Re-send the minimal input so its exchange is the one reported.
        let last = fresh();
        let _ = test(last.clone(), input.clone()).await;
        for exchange in last.take_exchanges() {
            cx.keep(exchange);
        }
        return Err(Fail::mismatch(
            "every generated case to hold",
            format!(
                "case {} of {cases} (seed {seed}) failed; minimal input after {steps} shrink steps: {}: {}",
                case + failed as u32 + 1,
                describe(&input),
                why
            ),
        ));
    }
    Ok(())
}

/// Runs `futures` concurrently on this task; their outputs, in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|task| {
        let mut pending = false;
        for (future, slot) in futures.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(task) {
                    std::task::Poll::Ready(out) => *slot = Some(out),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

/// Sends one case, `method path` with `auth` and a JSON `body` when given, and judges
/// the answer: the wanted status, and a body the contract accepts.
async fn send_case(
    cx: &Ctx,
    method: reqwest::Method,
    path: &str,
    auth: Auth,
    body: Option<Vec<u8>>,
    want: u16,
) -> Result<(), CaseFailure> {
    let content_type = body.as_ref().map(|_| "application/json");
    let r = cx.raw(method, path, auth, content_type, body).await?;
    let mut problems = Vec::new();
    if r.status != want {
        problems.push(format!("answered {} instead of {want}", r.describe()));
    }
    // The last exchange recorded is this request's.
    let exchanges = cx.take_exchanges();
    if let Some(exchange) = exchanges.last() {
        problems.extend(validate_exchange(exchange).errors);
    }
    for e in exchanges {
        cx.keep(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CaseFailure::Answer(problems))
    }
}

/// A strategy of strings matching `regex`, parsed once (a `&str` used as a strategy is
/// parsed again for every case, which was a visible part of a case's time).
fn regex(regex: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(regex)
        .unwrap_or_else(|e| panic!("the property regex {regex:?} does not parse: {e}"))
}

/// Ids that look plausible to a tenant: UUIDs, hex, and arbitrary URL-safe strings.
fn id_strategy() -> impl Strategy<Value = String> {
    proptest::prop_oneof![
        regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
        regex("[0-9a-f]{32}"),
        regex("[A-Za-z0-9._~-]{1,64}"),
    ]
}

/// Ids the tenant never issued, each in `path_of(id)`: 404 (`what` names one).
async fn unknown_ids_404(
    cx: &Ctx,
    what: fn(&String) -> String,
    path_of: fn(&str) -> String,
) -> CheckResult {
    property(cx, id_strategy(), what, |cx, id| async move {
        send_case(
            &cx,
            reqwest::Method::GET,
            &path_of(&id),
            Auth::Token,
            None,
            404,
        )
        .await
    })
    .await
}

async fn unknown_request_ids(cx: &Ctx) -> CheckResult {
    unknown_ids_404(
        cx,
        |id| format!("requestId {id:?}"),
        |id| format!("/mfa/v1/requests/{id}"),
    )
    .await
}

async fn unknown_guids(cx: &Ctx) -> CheckResult {
    unknown_ids_404(
        cx,
        |guid| format!("userGUID {guid:?}"),
        |guid| format!("/mfa/v1/users/{guid}/factors"),
    )
    .await
}

async fn bogus_tokens(cx: &Ctx) -> CheckResult {
    let v = cx.shared_quiet().await?;
    let path = format!("/mfa/v1/requests/{}", v.request_id());
    let path = &path;
    property(
        cx,
        regex("[A-Za-z0-9._~+/=-]{1,200}"),
        |t| format!("bearer token of {} characters", t.len()),
        |cx, token| async move {
            let bearer = Auth::Bearer(Secret::new(token));
            send_case(&cx, reqwest::Method::GET, path, bearer, None, 401).await
        },
    )
    .await
}

/// Where a payload carries the request's own requestState (sent in its place; shown as
/// `<requestState>`): a wrong payload is the only refusal that applies, so that no
/// reading of the order of refusals is involved (`order/…` in docs/readings.md).
const STATE: &str = "@requestState@";

/// Payloads the PATCH must refuse with 400: not JSON, not an object, wrong types, none
/// of the verification members.
fn malformed_strategy() -> impl Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    prop_oneof![
        // Truncated or garbled JSON.
        regex("\\{\"otpCode\": ?\"[0-9]{0,6}").prop_map(String::into_bytes),
        // (Not `null` or blank: a binder may read either as no payload at all.)
        regex("[^{}\\[\\]\"]{1,40}")
            .prop_filter("no payload", |s| !matches!(s.trim(), "" | "null"))
            .prop_map(String::into_bytes),
        // Valid JSON that is not an object.
        proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        // Objects whose members have the wrong types, beyond any coercion a JSON binder
        // may apply (Jackson, by default, reads the number 123 as the string "123" and
        // the strings "true", "false" and "null" as booleans, so those are no wrong
        // types on every tenant).
        any::<i64>().prop_map(|n| format!(
            "{{\"otpCode\": {{\"value\": {n}}}, \"requestState\": \"{STATE}\"}}"
        )
        .into_bytes()),
        regex("[a-z]{1,8}")
            .prop_filter("a string a JSON binder may read as a boolean", |s| {
                !matches!(s.as_str(), "true" | "false" | "null")
            })
            .prop_map(
                |s| format!("{{\"resendOtp\": \"{s}\", \"requestState\": \"{STATE}\"}}")
                    .into_bytes()
            ),
        any::<bool>().prop_map(|b| format!(
            "{{\"securityQuestions\": {b}, \"requestState\": \"{STATE}\"}}"
        )
        .into_bytes()),
    ]
}

async fn malformed_payloads(cx: &Ctx) -> CheckResult {
    let v = cx.shared_quiet().await?;
    let path = format!("/mfa/v1/requests/{}", v.request_id());
    let path = &path;
    let state = v.request_state().clone();
    let state = &state;
    property(
        cx,
        malformed_strategy(),
        |p| {
            format!(
                "payload {:?}",
                String::from_utf8_lossy(p).replace(STATE, "<requestState>")
            )
        },
        |cx, payload| async move {
            let payload = String::from_utf8_lossy(&payload)
                .replace(STATE, state.expose())
                .into_bytes();
            send_case(
                &cx,
                reqwest::Method::PATCH,
                path,
                Auth::Token,
                Some(payload),
                400,
            )
            .await
        },
    )
    .await
}
