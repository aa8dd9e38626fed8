//! `GET /mfa/v1/requests/{requestId}` — polling a PUSH, seed \[STATUS\].

use idcs_mfa::{Method, Secret, Status};
use idcs_mfa_model::machine::{Pick, Step};

use crate::{
    check,
    checks::{bogus_token, scripts},
    harness::Ctx,
    harness::{Check, CheckResult, Fail, ensure, expect_error, expect_ok, expect_status_member},
};

/// The checks of this operation.
pub const CHECKS: &[Check] = &[
    check! {
        id: "requests.get/push-pending-is-200",
        operation: GetVerificationStatus,
        quote: "A still-pending poll answers HTTP 200 with {\"status\":\"pending\",\"cause\":[{\"code\":\"AUTH-1108\",\"message\":\"Push Notification approval is pending.\"}]}",
        source: "[PM]",
        evidence: Captured,
        run: pending_is_200,
    },
    check! {
        id: "requests.get/push-approved-is-200-success",
        operation: GetVerificationStatus,
        quote: "200 Response: Indicates that the user has approved the PUSH notification request. {\"status\": \"success\"}",
        source: "[STATUS]",
        evidence: Stated,
        needs: [PushControl],
        run: approved_is_200,
    },
    check! {
        id: "requests.get/push-rejected-is-401-failed",
        operation: GetVerificationStatus,
        quote: "401 Response: Indicates that the user has rejected the PUSH notification request. {\"status\": \"failed\", \"cause\": [{\"message\": \"Rejected\", \"code\": \"AUTH-1108\"}]}",
        source: "[STATUS]",
        evidence: Stated,
        spends: 1,
        needs: [PushControl],
        run: rejected_is_401,
    },
    check! {
        id: "requests.get/unknown-request-404",
        operation: GetVerificationStatus,
        quote: "404 Response: Indicates that the requestId provided is invalid.",
        source: "[STATUS]",
        evidence: Stated,
        run: unknown_request_404,
    },
    check! {
        id: "requests.get/missing-token-401",
        operation: GetVerificationStatus,
        quote: "401 Response: … Indicates unauthorized access if the token provided is invalid",
        source: "[STATUS]",
        evidence: Stated,
        run: poll_with_401(None),
    },
    check! {
        id: "requests.get/invalid-token-401",
        operation: GetVerificationStatus,
        quote: "401 Response: … Indicates unauthorized access if the token provided is invalid",
        source: "[STATUS]",
        evidence: Stated,
        run: poll_with_401(Some(bogus_token())),
    },
    check! {
        id: "requests.get/locked-user-401",
        operation: GetVerificationStatus,
        quote: "401 Response: … Indicates unauthorized access if … the user is either locked, inactive, or not enrolled in MFA. (AUTH-1010: the account is locked)",
        source: "[STATUS]",
        evidence: Stated,
        needs: [Lockout],
        run: locked_user_401,
    },
    check! {
        id: "requests.get/authenticator-client-may-poll",
        operation: GetVerificationStatus,
        quote: "Provide a valid OAuth Access Token that has either the 'Authenticator Client' or 'MFA Client' scope.",
        source: "[STATUS]",
        evidence: Stated,
        needs: [AuthenticatorToken],
        run: authenticator_may_poll,
    },
];

async fn pending_is_200(cx: &Ctx) -> CheckResult {
    let v = cx.shared_push().await?;
    let r = expect_ok(
        cx.client().get_verification_status(v.request_id()).await,
        200,
    )?;
    expect_status_member(&r.value.status, Status::Pending)?;
    ensure(
        r.value.cause.iter().any(|c| c.code == "AUTH-1108"),
        "cause AUTH-1108",
        || {
            format!(
                "{:?}",
                r.value.cause.iter().map(|c| &c.code).collect::<Vec<_>>()
            )
        },
    )
}

async fn approved_is_200(cx: &Ctx) -> CheckResult {
    let v = cx.initiate(Method::Push).await?;
    cx.act_on_push(&v, true).await?;
    let r = expect_ok(cx.push_decision(&v).await, 200)?;
    expect_status_member(&r.value.status, Status::Success)
}

async fn rejected_is_401(cx: &Ctx) -> CheckResult {
    let v = cx.initiate(Method::Push).await?;
    cx.act_on_push(&v, false).await?;
    let e = expect_error(cx.push_decision(&v).await, 401, Some("AUTH-1108"))?;
    let status = e.body().map(|b| b.status.clone());
    ensure(
        status == Some(Status::Failed),
        "\"status\": \"failed\"",
        || format!("{status:?}"),
    )
}

async fn unknown_request_404(cx: &Ctx) -> CheckResult {
    let id = uuid::Uuid::new_v4().to_string();
    expect_error(cx.client().get_verification_status(&id).await, 404, None).map(|_| ())
}

/// A poll of the run's shared PUSH with `token` (none, or one the tenant never
/// issued): 401.
async fn poll_with_401(cx: &Ctx, token: Option<Secret>) -> CheckResult {
    let v = cx.shared_push().await?;
    expect_error(
        cx.client_with(token)
            .get_verification_status(v.request_id())
            .await,
        401,
        None,
    )
    .map(|_| ())
}

async fn authenticator_may_poll(cx: &Ctx) -> CheckResult {
    let v = cx.shared_push().await?;
    let client = cx.client_with(cx.target.tenant().authenticator_token.clone());
    expect_ok(client.get_verification_status(v.request_id()).await, 200).map(|_| ())
}

/// The runner starts a lockout check with the count at 0, and unlocks the user
/// afterwards when it can. A PUSH initiated before the lock, polled after it: 401
/// AUTH-1010, held to the model (the lock falls where a reading of `lock/when` says).
async fn locked_user_401(cx: &Ctx) -> CheckResult {
    let max = crate::checks::complete::max_attempts(cx)?;
    let mut s = scripts::session(cx).await?;
    if s.model().factor_with(&Method::Push).is_none() {
        return Err(Fail::skip("the test user has no PUSH factor"));
    }
    s.must_step(&scripts::initiate(Pick::Method(Method::Push)))
        .await?;
    scripts::fail_until_locked(&mut s, max).await?;
    s.must_step(&Step::Poll { req: 0 }).await?;
    s.record_readings("requests.get/locked-user-401")
}
