//! `POST /mfa/v1/requests` — the initiate step (\[INIT\], \[UC\]; answers captured in \[PM\]; described by \[STATUS\] and \[VERIFY\]).

use idcs_mfa::{AuthCode, Initiate, Method, Status, UserRef};

use crate::{
    check,
    checks::unknown_id,
    harness::{Auth, Ctx},
    harness::{Check, CheckResult, Fail, describe_error, ensure, expect_error},
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
        id: "requests.post/unknown-user-404",
        operation: InitiateVerification,
        quote: "A 404 for an unknown user … AUTH-3018 User not found. (error responses of this operation are inferred)",
        source: "[OD]",
        evidence: Inferred,
        run: unknown_user_404,
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
        v.user_guid() == cx.target.user.guid,
        format!("userGUID {}", cx.target.user.guid),
        || v.user_guid().to_owned(),
    )
}

async fn request_id_is_uuid(cx: &Ctx) -> CheckResult {
    // A factor whose initiation sends nothing when there is one: no attempt spent.
    let v = match cx.initiate_quiet().await {
        Err(Fail::Skip(_)) => cx.initiate_with(&Initiate::preferred(cx.user())).await?,
        other => other?,
    };
    ensure(
        uuid::Uuid::parse_str(v.request_id()).is_ok(),
        "a UUID requestId",
        || format!("{:?}", v.request_id()),
    )
}

async fn bypass_code_shape(cx: &Ctx) -> CheckResult {
    let v = cx.initiate(Method::Bypasscode).await?;
    ensure(
        v.factor_id() == "BypassCode",
        "factorId \"BypassCode\"",
        || format!("{:?}", v.factor_id()),
    )?;
    ensure(v.display_name().is_none(), "no displayName", || {
        format!("displayName {:?}", v.display_name())
    })
}

async fn security_questions_shape(cx: &Ctx) -> CheckResult {
    let v = cx.initiate(Method::SecurityQuestions).await?;
    ensure(
        v.factor_id() == "SecurityQuestions",
        "factorId \"SecurityQuestions\"",
        || format!("{:?}", v.factor_id()),
    )?;
    ensure(v.display_name().is_none(), "no displayName", || {
        format!("displayName {:?}", v.display_name())
    })?;
    ensure(
        !v.security_questions().is_empty(),
        "at least one question",
        || "no securityQuestions".into(),
    )
}

async fn unknown_user_404(cx: &Ctx) -> CheckResult {
    let what = Initiate::preferred(UserRef::Guid(unknown_id()));
    let result = cx.client().initiate_verification(&what.to_body()).await;
    expect_error(result, 404, None).map(|_| ())
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
    ensure(r.status == 400, "HTTP 400", || r.describe())?;
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
/// unlocks the user afterwards when it can.
async fn sends_count_toward_lockout(cx: &Ctx) -> CheckResult {
    let max = crate::checks::complete::max_attempts(cx)?;
    let mut sent = None;
    for method in [Method::Sms, Method::Email, Method::PhoneCall] {
        if let Ok(factor) = cx.factor_with(&method).await {
            sent = Some((factor, method));
            break;
        }
    }
    let (factor, method) =
        sent.ok_or_else(|| Fail::skip("the test user has no SMS, EMAIL or PHONE_CALL factor"))?;
    let send = || Initiate::factor(cx.user(), factor.clone(), method.clone());
    // Each send before the one that meets the maximum is answered 200, with no lock.
    for n in 1..max {
        cx.client().initiate(&send()).await.map_err(|e| {
            Fail::mismatch(
                format!("OTP send {n} of {max} (below the maximum) to answer 200"),
                describe_error(&e),
            )
        })?;
    }
    // The send that meets the maximum: sent (200), or already refused as locked.
    let last = cx.client().initiate(&send()).await;
    if let Err(e) = &last
        && !e.has_code(&AuthCode::AccountLocked)
    {
        return Err(Fail::mismatch(
            format!("OTP send {max} of {max} to answer 200 (or 401 AUTH-1010)"),
            describe_error(e),
        ));
    }
    // Now locked: the next initiate is refused, whatever its factor.
    let next = match cx.factor_with(&Method::Totp).await {
        Ok(totp) => Initiate::factor(cx.user(), totp, Method::Totp),
        Err(_) => send(),
    };
    crate::checks::complete::expect_locked(
        &cx.client().initiate(&next).await,
        &format!("an initiate after {max} OTPs sent with no success (the maximum)"),
    )
}
