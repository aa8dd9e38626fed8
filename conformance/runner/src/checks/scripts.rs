//! What the named checks that are scripts of the model's steps share: the lockout
//! checks send a fixed script through a [`Session`], so that every answer is held to the
//! model with every reading open (where the lock falls, whether a request stays open
//! after a wrong code, what a finished request answers), and the check fails only where
//! no reading explains what the tenant did.

use idcs_mfa::Method;
use idcs_mfa_model::{
    machine::{Code, LATEST, Model, Pick, StateRef, Step, Who},
    readings::after_wrong,
};

use crate::{
    checks::sequences::Session,
    harness::{CheckResult, Ctx, Fail},
};

/// A session for a named check: every reading the tenant showed so far held, steps
/// free to pass the ceiling (the runner admitted the check for what it declares), and
/// free to rest on an inferred rule (the runner runs an inferred check only with
/// `--strict`; the others take no such step).
pub(crate) async fn session(cx: &Ctx) -> Result<Session<'_>, Fail> {
    Session::start(cx, cx.target.findings().readings.known(), true, true)
        .await
        .map_err(|e| Fail::skip(e.to_string()))
}

/// An initiate of `pick` for the test user.
pub(crate) fn initiate(pick: Pick) -> Step {
    Step::Initiate {
        who: Who::Guid,
        pick,
    }
}

/// A factor of the user whose initiate sends nothing (TOTP, BYPASSCODE,
/// SECURITY_QUESTIONS), so that it counts nothing under any reading.
pub(crate) fn quiet(model: &Model) -> Option<Method> {
    [Method::Totp, Method::Bypasscode, Method::SecurityQuestions]
        .into_iter()
        .find(|m| model.factor_with(m).is_some())
}

/// A factor of the user whose sends count by the documents' own words (SMS, EMAIL).
pub(crate) fn counted_send(model: &Model) -> Option<Method> {
    [Method::Sms, Method::Email]
        .into_iter()
        .find(|m| model.factor_with(m).is_some())
}

/// A wrong code for a request of `method`.
pub(crate) fn wrong(method: &Method) -> Step {
    match method {
        Method::Bypasscode => Step::VerifyBypass {
            req: LATEST,
            state: StateRef::Current,
            code: idcs_mfa_model::machine::Bypass::Wrong,
        },
        Method::SecurityQuestions => Step::VerifyAnswers {
            req: LATEST,
            state: StateRef::Current,
            code: Code::Wrong,
        },
        _ => Step::VerifyOtp {
            req: LATEST,
            state: StateRef::Current,
            code: Code::Wrong,
        },
    }
}

/// Whether the tenant showed that a request stays open after a wrong code
/// (`verify/after-a-wrong-code=open`): then wrong codes can go to one request, a request
/// less per failure; otherwise each goes to a request of its own, so that no reading is
/// assumed.
pub(crate) fn keeps_requests_open(model: &Model) -> bool {
    model.known().is(after_wrong::OPEN)
}

/// Failures until the user is locked under every reading of `lock/when` the tenant may
/// still take: one past the maximum at the most. The factor is one whose initiate sends
/// nothing when the user has one, else one that sends (whose sends count too); each
/// failure on a request of its own unless the tenant showed that requests stay open
/// after a wrong code.
pub(crate) async fn fail_until_locked(s: &mut Session<'_>, max: u32) -> CheckResult {
    let method = quiet(s.model())
        .or_else(|| counted_send(s.model()))
        .ok_or_else(|| {
            Fail::skip("the test user has no factor a wrong code can be sent to (TOTP, BYPASSCODE, SECURITY_QUESTIONS, SMS, EMAIL)")
        })?;
    let one_request = keeps_requests_open(s.model());
    let mut rounds = 0;
    while !s.model().locked() {
        rounds += 1;
        if rounds > max.saturating_add(2) {
            return Err(Fail::mismatch(
                format!(
                    "the user locked after at most {} failed verifications (every reading of lock/when)",
                    max + 1
                ),
                format!("not locked after {} failures", rounds - 1),
            ));
        }
        if rounds == 1 || !one_request {
            s.must_step(&initiate(Pick::Method(method.clone()))).await?;
            if s.model().locked() {
                break;
            }
        }
        s.must_step(&wrong(&method)).await?;
    }
    Ok(())
}

/// Sends `send` (an initiate or a resend that sends an OTP by SMS or EMAIL) until the
/// maximum is met, then shows where the lock falls whichever reading of `lock/when`
/// the tenant takes: a request that sends nothing (refused only if the lock fell at the
/// maximum), one more send (refused if it falls at the next attempt), and a request
/// that sends nothing, which every reading refuses. Each answer is held to the model;
/// a tenant that does not count the sends is still serving at the end.
pub(crate) async fn sends_until_locked(
    s: &mut Session<'_>,
    max: u32,
    first: &Step,
    send: &Step,
) -> CheckResult {
    s.must_step(first).await?;
    for _ in 1..max {
        s.must_step(send).await?;
    }
    let quiet = quiet(s.model()).map(|m| initiate(Pick::Method(m)));
    if let Some(q) = &quiet {
        s.must_step(q).await?;
    }
    s.must_step(send).await?;
    s.must_step(quiet.as_ref().unwrap_or(first)).await?;
    if s.model().locked() {
        Ok(())
    } else {
        Err(Fail::mismatch(
            format!(
                "the user locked after {} OTPs sent with no success",
                max + 1
            ),
            "the tenant still serves the user",
        ))
    }
}
