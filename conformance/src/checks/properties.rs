//! Property checks: generated inputs against the target, shrunk to a minimal failure.
//!
//! Each property draws `cases` inputs from a proptest strategy with a seeded RNG (the
//! seed is printed in every report, so a failure replays), sends each, and checks the
//! answer, including its conformance to the contract's schema. A failing input is
//! shrunk with proptest's value trees, re-sending each candidate, and reported as a
//! `curl` command with the token as `$IDCS_TOKEN`.

use std::future::Future;

use idcs_mfa::Secret;
use proptest::{
    strategy::{Strategy, ValueTree},
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};

use crate::{
    check,
    check::{Check, CheckResult, Fail},
    target::{Auth, Ctx, RawResponse},
    validate::validate_exchange,
};

/// How many cases each property runs, and from which seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropConfig {
    /// Cases per property.
    pub cases: u32,
    /// The RNG seed.
    pub seed: u64,
}

/// Cases per property when not told otherwise.
pub const DEFAULT_CASES: u32 = 64;

impl Default for PropConfig {
    fn default() -> Self {
        Self {
            cases: DEFAULT_CASES,
            seed: 0x1dc5_0f1a,
        }
    }
}

/// Shrinking stops after this many re-sent candidates.
const MAX_SHRINK_STEPS: u32 = 128;

/// The property checks.
pub const CHECKS: &[Check] = &[
    check! {
        id: "props/unknown-request-id-404",
        operation: GetVerificationStatus,
        quote: "404 Response: Indicates that the requestId provided is invalid. (for any requestId the tenant did not issue; never a 5xx)",
        source: "000_f65e3446283134f7.txt",
        evidence: Stated,
        run: unknown_request_ids,
    },
    check! {
        id: "props/malformed-patch-payload-400",
        operation: CompleteVerification,
        quote: "400 Response: Indicates that the request payload is invalid. (for any payload that is not a JSON object of the schema)",
        source: "001_4e567d9d1a6cf30f.txt",
        evidence: Stated,
        run: malformed_payloads,
    },
    check! {
        id: "props/bogus-token-401",
        operation: GetVerificationStatus,
        quote: "401 Response: … Indicates unauthorized access if the token provided is invalid (for any bearer value the tenant did not issue)",
        source: "000_f65e3446283134f7.txt",
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

/// Runs a property: `cases` draws from `strategy`, each checked by `test` (which sends
/// it and returns `Err(what was wrong)`); a failure is shrunk.
async fn property<S, F, Fut>(
    cx: &Ctx,
    strategy: S,
    describe: fn(&S::Value) -> String,
    test: F,
) -> CheckResult
where
    S: Strategy,
    S::Value: Clone,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let PropConfig { cases, seed } = cx.target.props;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    for case in 0..cases {
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|e| Fail::skip(format!("cannot generate inputs: {e}")))?;
        let Err(first) = test(tree.current()).await else {
            // Keep only exchanges of failures: thousands of passing cases would drown
            // the report.
            let _ = cx.take_exchanges();
            continue;
        };
        // Shrink: simplify while it fails, complicate back when a candidate passes.
        let mut minimal = (tree.current(), first);
        let mut failing = true;
        let mut steps = 0;
        while steps < MAX_SHRINK_STEPS {
            let moved = if failing {
                tree.simplify()
            } else {
                tree.complicate()
            };
            if !moved {
                break;
            }
            steps += 1;
            let _ = cx.take_exchanges();
            match test(tree.current()).await {
                Err(why) => {
                    minimal = (tree.current(), why);
                    failing = true;
                }
                Ok(()) => failing = false,
            }
        }
        // Re-send the minimal input so its exchange is the one reported.
        let _ = cx.take_exchanges();
        let _ = test(minimal.0.clone()).await;
        return Err(Fail::mismatch(
            "every generated case to hold",
            format!(
                "case {} of {cases} (seed {seed}) failed; minimal input after {steps} shrink steps: {}: {}",
                case + 1,
                describe(&minimal.0),
                minimal.1
            ),
        ));
    }
    Ok(())
}

/// Checks an answer: the wanted status, and a body the contract accepts.
fn judge(cx: &Ctx, r: &RawResponse, want: u16) -> Result<(), String> {
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
        Err(problems.join("; "))
    }
}

/// Ids that look plausible to a tenant: UUIDs, hex, and arbitrary URL-safe strings.
fn id_strategy() -> impl Strategy<Value = String> {
    proptest::prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        "[0-9a-f]{32}",
        "[A-Za-z0-9._~-]{1,64}",
    ]
}

async fn unknown_request_ids(cx: &Ctx) -> CheckResult {
    property(
        cx,
        id_strategy(),
        |id| format!("requestId {id:?}"),
        |id| async move {
            let r = cx
                .raw(
                    reqwest::Method::GET,
                    &format!("/mfa/v1/requests/{id}"),
                    Auth::Token,
                    None,
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            judge(cx, &r, 404)
        },
    )
    .await
}

async fn unknown_guids(cx: &Ctx) -> CheckResult {
    property(
        cx,
        id_strategy(),
        |guid| format!("userGUID {guid:?}"),
        |guid| async move {
            let r = cx
                .raw(
                    reqwest::Method::GET,
                    &format!("/mfa/v1/users/{guid}/factors"),
                    Auth::Token,
                    None,
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            judge(cx, &r, 404)
        },
    )
    .await
}

async fn bogus_tokens(cx: &Ctx) -> CheckResult {
    let v = cx.initiate_quiet().await?;
    let path = format!("/mfa/v1/requests/{}", v.request_id());
    let path = &path;
    property(
        cx,
        "[A-Za-z0-9._~+/=-]{1,200}",
        |t| format!("bearer token of {} characters", t.len()),
        |token| async move {
            let r = cx
                .raw(
                    reqwest::Method::GET,
                    path,
                    Auth::Bearer(Secret::new(token)),
                    None,
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            judge(cx, &r, 401)
        },
    )
    .await
}

/// Payloads the PATCH must refuse with 400: not JSON, not an object, wrong types, none
/// of the verification members.
fn malformed_strategy() -> impl Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    prop_oneof![
        // Truncated or garbled JSON.
        "\\{\"otpCode\": ?\"[0-9]{0,6}".prop_map(String::into_bytes),
        "[^{}\\[\\]\"]{1,40}".prop_map(String::into_bytes),
        // Valid JSON that is not an object.
        proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        // Objects whose members have the wrong types.
        any::<i64>()
            .prop_map(|n| format!("{{\"otpCode\": {n}, \"requestState\": \"x\"}}").into_bytes()),
        "[a-z]{1,8}".prop_map(
            |s| format!("{{\"resendOtp\": \"{s}\", \"requestState\": \"x\"}}").into_bytes()
        ),
        any::<bool>()
            .prop_map(
                |b| format!("{{\"securityQuestions\": {b}, \"requestState\": \"x\"}}").into_bytes()
            ),
    ]
}

async fn malformed_payloads(cx: &Ctx) -> CheckResult {
    let v = cx.initiate_quiet().await?;
    let path = format!("/mfa/v1/requests/{}", v.request_id());
    let path = &path;
    property(
        cx,
        malformed_strategy(),
        |p| format!("payload {:?}", String::from_utf8_lossy(p)),
        |payload| async move {
            let r = cx
                .raw(
                    reqwest::Method::PATCH,
                    path,
                    Auth::Token,
                    Some("application/json"),
                    Some(payload),
                )
                .await
                .map_err(|e| e.to_string())?;
            judge(cx, &r, 400)
        },
    )
    .await
}
