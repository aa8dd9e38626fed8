//! `POST /mfa/v1/requests` — the initiate step (\[INIT\], \[UC\]; answers captured in \[PM\]; described by \[STATUS\] and \[VERIFY\]).

use idcs_mfa::{Initiate, Method, Status, UserRef, Verification};

use idcs_mfa_model::{machine::Pick, readings::initiate_unknown_user};

use crate::{
    check,
    checks::{scripts, unknown_id},
    harness::{Auth, Ctx},
    harness::{Check, CheckResult, Fail, describe, ensure, expect_error},
};

/// The checks of this operation.
pub const CHECKS: &[Check] = &[
    check! {
        id: "requests.post/preferred-factor-200",
        operation: InitiateVerification,
        quote: "\"This step initiates the verification of a user's preferred factor.\" (its request sends only userId and userIdType) [UC]; every captured response is HTTP 200 [PM]",
        source: "[UC]; [PM]",
        evidence: Captured,
        spends: 1,
        run: preferred_factor_200,
    },
    check! {
        id: "requests.post/request-id-is-uuid",
        operation: InitiateVerification,
        quote: "requestId is a UUID in every example.",
        source: "[PM]",
        evidence: Captured,
        spends: 1,
        run: request_id_is_uuid,
    },
    check! {
        id: "requests.post/bypass-code-has-no-display-name",
        operation: InitiateVerification,
        quote: "BYPASSCODE: \"factorId\": \"BypassCode\", and no displayName.",
        source: "[PM]",
        evidence: Captured,
        run: bypass_code_shape,
    },
    check! {
        id: "requests.post/security-questions-are-returned",
        operation: InitiateVerification,
        quote: "SECURITY_QUESTIONS: \"factorId\": \"SecurityQuestions\", no displayName, plus \"securityQuestions\": [{\"id\", \"hintText\", \"localizedText\"}]",
        source: "[PM]",
        evidence: Captured,
        run: security_questions_shape,
    },
    check! {
        id: "requests.post/unknown-user-refused",
        operation: InitiateVerification,
        quote: "A 404 for an unknown user … AUTH-3018 User not found. (error responses of this operation are inferred: 404 AUTH-3018, 401 or 400, the reading initiate/unknown-user)",
        source: "[OD]",
        evidence: Inferred,
        run: unknown_user_refused,
    },
    check! {
        id: "requests.post/malformed-json-400",
        operation: InitiateVerification,
        quote: "AUTH-1033: the payload is empty or cannot be parsed; AUTH-1121: invalid JSON payload (error responses of this operation are inferred)",
        source: "[ERR]",
        evidence: Inferred,
        run: malformed_json_400,
    },
    check! {
        id: "requests.post/otp-sends-count-toward-lockout",
        operation: InitiateVerification,
        quote: "Every SMS/EMAIL sent increments the user's MFA login attempt count. After the user meets their maximum login attempts, the user account is locked if the user doesn't make a successful login after requesting the OTP.",
        source: "[VERIFY]",
        evidence: Stated,
        needs: [Lockout],
        run: sends_count_toward_lockout,
    },
    check! {
        id: "requests.post/missing-token-401",
        operation: InitiateVerification,
        quote: "the app role \"Authenticator Client\" may POST, GET and PATCH /mfa/v1/requests (a token is required)",
        source: "[ROLE]",
        evidence: Inferred,
        run: missing_token_401,
    },
];

async fn preferred_factor_200(cx: &Ctx) -> CheckResult {
    let factors = cx
        .target
        .tenant()
        .factors()
        .await
        .ok_or_else(|| Fail::skip("the test user's factors could not be read"))?;
    let (Some(pid), Some(pmethod)) = (
        factors.preferred_factor_id.clone(),
        factors.preferred_method.clone(),
    ) else {
        return Err(Fail::skip("the test user has no preferred factor"));
    };
    let v = cx.initiate_with(&Initiate::preferred(cx.user())).await?;
    ensure(
        v.factor_id() == pid && *v.method() == pmethod,
        format!("the preferred factor {pid} ({pmethod})"),
        || format!("{} ({})", v.factor_id(), v.method()),
    )?;
    ensure(
        !v.request_state().expose().is_empty(),
        "a non-empty requestState",
        || "an empty one".into(),
    )?;
    ensure(
        v.user_guid() == cx.target.tenant().user.guid,
        format!("userGUID {}", cx.target.tenant().user.guid),
        || v.user_guid().to_owned(),
    )
}

async fn request_id_is_uuid(cx: &Ctx) -> CheckResult {
    // The run's shared request whose initiation sends nothing, when there is one: no
    // attempt and no request spent.
    let v = match cx.shared_quiet().await {
        Err(Fail::Skip(_)) => cx.initiate_with(&Initiate::preferred(cx.user())).await?,
        other => other?,
    };
    ensure(
        uuid::Uuid::parse_str(v.request_id()).is_ok(),
        "a UUID requestId",
        || format!("{:?}", v.request_id()),
    )
}

/// Initiates `method`, whose factor has the fixed id `factor_id` and no display name.
async fn fixed_factor(cx: &Ctx, method: Method, factor_id: &str) -> Result<Verification, Fail> {
    let v = cx.initiate(method).await?;
    ensure(
        v.factor_id() == factor_id,
        format!("factorId {factor_id:?}"),
        || format!("{:?}", v.factor_id()),
    )?;
    ensure(v.display_name().is_none(), "no displayName", || {
        format!("displayName {:?}", v.display_name())
    })?;
    Ok(v)
}

async fn bypass_code_shape(cx: &Ctx) -> CheckResult {
    fixed_factor(cx, Method::Bypasscode, "BypassCode")
        .await
        .map(|_| ())
}

async fn security_questions_shape(cx: &Ctx) -> CheckResult {
    let v = fixed_factor(cx, Method::SecurityQuestions, "SecurityQuestions").await?;
    ensure(
        !v.security_questions().is_empty(),
        "at least one question",
        || "no securityQuestions".into(),
    )
}

/// Refused, as one of the readings of `initiate/unknown-user` says: 404 with AUTH-3018,
/// 401 (not enrolled in MFA) or 400; which one is recorded.
async fn unknown_user_refused(cx: &Ctx) -> CheckResult {
    let what = Initiate::preferred(UserRef::Guid(unknown_id()));
    let result = cx.client().initiate_verification(&what.to_body()).await;
    let alt = match &result {
        Err(e) if e.status().is_some_and(|s| s == 404) => {
            expect_error(result, 404, Some("AUTH-3018"))?;
            initiate_unknown_user::NOT_FOUND_404
        }
        Err(e) if e.status().is_some_and(|s| s == 401) => initiate_unknown_user::UNAUTHORIZED_401,
        Err(e) if e.status().is_some_and(|s| s == 400) => initiate_unknown_user::BAD_REQUEST_400,
        _ => {
            return Err(Fail::mismatch(
                "a refusal: 404 with AUTH-3018, 401 or 400 (initiate/unknown-user)",
                describe(&result),
            ));
        }
    };
    cx.record_reading(
        alt,
        "requests.post/unknown-user-refused: an initiate for a GUID the tenant does not have",
    )
}

async fn malformed_json_400(cx: &Ctx) -> CheckResult {
    let r = cx
        .raw(
            reqwest::Method::POST,
            "/mfa/v1/requests",
            Auth::Token,
            Some("application/json"),
            Some(br#"{"userId": "#.to_vec()),
        )
        .await?;
    r.expect(400)?;
    let status = r
        .json()
        .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(Status::from));
    ensure(
        status == Some(Status::Failed),
        "\"status\": \"failed\"",
        || format!("{status:?}"),
    )
}

async fn missing_token_401(cx: &Ctx) -> CheckResult {
    let what = Initiate::preferred(cx.user());
    let result = cx
        .client_with(None)
        .initiate_verification(&what.to_body())
        .await;
    expect_error(result, 401, None).map(|_| ())
}

/// The runner starts a lockout check with the count at 0 (it resets it first), and
/// unlocks the user afterwards when it can. The script is held to the model with every
/// reading of when the lock falls open (`lock/when`): it sends one OTP past the
/// maximum, so that every reading has locked the user by the last request.
async fn sends_count_toward_lockout(cx: &Ctx) -> CheckResult {
    let max = crate::checks::complete::max_attempts(cx)?;
    let mut s = scripts::session(cx).await?;
    let method = scripts::counted_send(s.model()).ok_or_else(|| {
        Fail::skip("the test user has no SMS or EMAIL factor (whether a PHONE_CALL send counts is a reading: attempts/phone-call-counts)")
    })?;
    let send = scripts::initiate(Pick::Method(method));
    scripts::sends_until_locked(&mut s, max, &send, &send).await?;
    s.record_readings("requests.post/otp-sends-count-toward-lockout")
}
