//! `PATCH /mfa/v1/requests/{requestId}` (\[VERIFY\]), in three steps: the PATCH is
//! classified into a step of the model ([`classify`]: which requestState it presents,
//! the right code or a wrong one, a fresh, reused or wrong bypass code), the model
//! answers, and its answer is rendered (a new OTP and requestState for a resend, a
//! bypass code used up).

use idcs_mfa::{AuthCode, Method, Secret, Status, types};
use idcs_mfa_model::{
    machine::{Bypass, Code, Model, Outcome, StateRef, Step},
    readings::{order_unknown_state, resend_code},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    Opened, OutboxEntry, Patch, Request, Settings, State, UserBehaviour,
    answer::{answer, refused},
    send, unknown_request,
};
use crate::{
    body::Action,
    clock::Now,
    deviate::{self, Presented},
    fault::Faults,
    fixture::UserFixture,
    random,
    reply::ApiError,
    seal::Key,
    totp,
};

impl State {
    /// `PATCH /mfa/v1/requests/{requestId}` (\[VERIFY\]), after the payload was parsed.
    ///
    /// Order of checks: unknown request (404), locked user (401 AUTH-1010), requestState
    /// (401 AUTH-1120), request already finished (401 AUTH-1120), action does not fit
    /// the method (400 AUTH-1111), then the verification itself. The answer is as the
    /// faults make it (`deviate`).
    pub(crate) fn complete(
        &mut self,
        settings: &Settings,
        key: &Key,
        request_id: &str,
        patch: Patch,
        now: Now,
    ) -> Result<types::CompletedVerification, ApiError> {
        let answer = self.documented_complete(settings, key, request_id, patch, now);
        deviate::complete_answer(self.faults, answer)
    }

    /// The documented verification: the step ([`classify`]), the model's answer, and
    /// that answer rendered.
    fn documented_complete(
        &mut self,
        settings: &Settings,
        key: &Key,
        request_id: &str,
        patch: Patch,
        now: Now,
    ) -> Result<types::CompletedVerification, ApiError> {
        let faults = self.faults;
        let Opened {
            request,
            behaviour,
            fixture,
            outbox,
        } = self
            .open_request(settings, request_id, now)
            .ok_or_else(|| unknown_request_or_state(settings))?;
        let model_request = &behaviour.model.requests()[request.index];
        let (method, factor_id) = (model_request.method.clone(), model_request.factor.clone());
        let user = fixture
            .users
            .iter_mut()
            .find(|u| u.user_guid == request.user_guid);
        let target = Target {
            id: request_id,
            request,
            method: &method,
            factor_id: &factor_id,
            user: user.as_deref(),
        };
        let Classified { step, bypass } = classify(faults, &target, behaviour, patch, now)?;
        let taken = answer(&mut behaviour.model, &step, faults)?;
        match step {
            Step::Resend { req, .. } => {
                let same_code = settings.readings.is(resend_code::SAME_CODE);
                send_again(
                    request, request_id, &method, &factor_id, same_code, outbox, now,
                );
                let generation = behaviour.model.requests()[req].generations - 1;
                let request_state = (taken.new_state == Some(true))
                    .then(|| key.seal(request_id, &request.user_guid, generation));
                Ok(resent(
                    request_id,
                    request,
                    factor_id,
                    method,
                    request_state,
                ))
            }
            Step::VerifyBypass {
                code: Bypass::Fresh,
                ..
            } => {
                // Used up, unless a fault keeps it (`deviate`).
                if let (Some(index), Some(user)) = (bypass, user)
                    && deviate::bypass_code_used_up(faults)
                {
                    use_up(user, &mut behaviour.used_bypass, index);
                }
                Ok(success())
            }
            _ => Ok(success()),
        }
    }
}

/// The request a PATCH names, as the mock keeps it.
struct Target<'a> {
    /// Its requestId.
    id: &'a str,
    request: &'a Request,
    /// Its method and factor (the model's).
    method: &'a Method,
    factor_id: &'a str,
    /// Its user, as the fixture has them now (`None`: replaced meanwhile).
    user: Option<&'a UserFixture>,
}

/// A PATCH as the model sees it: the step, and which of the user's bypass codes it
/// presents (to use up once the model accepts it).
struct Classified {
    step: Step,
    bypass: Option<usize>,
}

/// The PATCH on `target` as a step of the model: which requestState it presents (as
/// the faults make it), and what its code is. A verified request opens again when a
/// fault says so; an action that does not fit the method is refused here.
fn classify(
    faults: Faults,
    target: &Target<'_>,
    behaviour: &mut UserBehaviour,
    patch: Patch,
    now: Now,
) -> Result<Classified, ApiError> {
    let req = target.request.index;
    let model_request = &behaviour.model.requests()[req];
    let state = deviate::presented(
        faults,
        patch.sealed.map(|sealed| Presented {
            same_request: sealed.request_id == target.id,
            same_user: sealed.user_guid == target.request.user_guid,
            generation: sealed.generation,
            latest: model_request.generations - 1,
        }),
        patch.state_missing,
    );
    if state == StateRef::Current
        && model_request.outcome == Outcome::Succeeded
        && deviate::reopens_verified(faults)
    {
        behaviour.model.reopen(req);
    }
    if !patch.action.fits(target.method) {
        return Err(misfit(
            &mut behaviour.model,
            req,
            state,
            &patch.action,
            target.method,
            faults,
        ));
    }
    let mut bypass = None;
    let step = match patch.action {
        Action::Resend => Step::Resend { req, state },
        Action::Otp(code) => Step::VerifyOtp {
            req,
            state,
            code: otp_code(faults, target, &code, now),
        },
        Action::BypassCode(code) => {
            let (code, index) = bypass_code(faults, target.user, &behaviour.used_bypass, &code);
            bypass = index;
            Step::VerifyBypass { req, state, code }
        }
        Action::Answers(answers) => Step::VerifyAnswers {
            req,
            state,
            code: answers_code(target, &answers),
        },
    };
    Ok(Classified { step, bypass })
}

/// A PATCH whose action does not fit the request's method: the model's refusal of the
/// request when it has one (the lock, the requestState, a finished request), else 400.
fn misfit(
    model: &mut Model,
    req: usize,
    state: StateRef,
    action: &Action,
    method: &Method,
    faults: Faults,
) -> ApiError {
    match model.refusal(req, state) {
        Some(early) => refused(model, &early, faults),
        None => ApiError::bad_request(
            AuthCode::InvalidRequest,
            format!("{} does not apply to a {} request.", action.name(), method),
        ),
    }
}

/// Whether an OTP is right: for TOTP, the factor's code at `now` (one step of skew
/// either way); otherwise the code last sent. As the faults make it.
fn otp_code(faults: Faults, target: &Target<'_>, code: &Secret, now: Now) -> Code {
    let right = match target.method {
        Method::Totp => {
            let secret = target
                .user
                .and_then(|u| u.factor(target.factor_id))
                .and_then(|f| f.totp_secret.as_ref());
            deviate::totp_matches(
                faults,
                secret.is_some_and(|s| totp_matches(s.expose(), code.expose(), now.unix_secs())),
            )
        }
        method => deviate::sent_otp_matches(
            faults,
            target
                .request
                .otp
                .as_ref()
                .is_some_and(|sent| sent.ct_eq(code.expose())),
            method,
            code.expose(),
        ),
    };
    if right { Code::Right } else { Code::Wrong }
}

/// Which bypass code `code` is: one of the user's (fresh, and its index), one used up
/// before (reused), or neither (wrong, unless a fault takes it for a fresh one). It is
/// compared with every code, with no early exit.
fn bypass_code(
    faults: Faults,
    user: Option<&UserFixture>,
    used: &[[u8; 32]],
    code: &Secret,
) -> (Bypass, Option<usize>) {
    let mut found = None;
    for (i, c) in user.iter().flat_map(|u| u.bypass_codes.iter()).enumerate() {
        if c.ct_eq(code.expose()) && found.is_none() {
            found = Some(i);
        }
    }
    let digest: [u8; 32] = Sha256::digest(code.expose().as_bytes()).into();
    let kind = if found.is_some() {
        Bypass::Fresh
    } else if used.contains(&digest) {
        Bypass::Reused
    } else if deviate::bypass_code_accepted(faults, code.expose()) {
        Bypass::Fresh
    } else {
        Bypass::Wrong
    };
    (kind, found)
}

/// Whether the answers are right: each to a question asked and equal to the enrolled
/// answer (in constant time, ASCII case and surrounding spaces aside), and every
/// question asked answered.
fn answers_code(target: &Target<'_>, answers: &[types::SecQuesVerification]) -> Code {
    let enrolled = target
        .user
        .map(|u| u.security_questions.as_slice())
        .unwrap_or(&[]);
    let asked = &target.request.questions;
    let every_answer_right = answers.iter().all(|a| {
        asked.contains(&a.id)
            && enrolled.iter().any(|q| {
                q.id == a.id
                    && bool::from(
                        normalise_answer(q.answer.expose())
                            .as_bytes()
                            .ct_eq(normalise_answer(a.answer.expose()).as_bytes()),
                    )
            })
    });
    let all_answered = asked.iter().all(|q| answers.iter().any(|a| &a.id == q));
    if every_answer_right && all_answered {
        Code::Right
    } else {
        Code::Wrong
    }
}

fn normalise_answer(answer: &str) -> String {
    answer.trim().to_ascii_lowercase()
}

/// Sends the request's OTP again, for a resend the model accepted: the same code under
/// `resend/code=same-code` (`same_code`), else a fresh one.
fn send_again(
    request: &mut Request,
    request_id: &str,
    method: &Method,
    factor_id: &str,
    same_code: bool,
    outbox: &mut Vec<OutboxEntry>,
    now: Now,
) {
    let destination = request
        .display_name
        .clone()
        .unwrap_or_else(|| factor_id.to_owned());
    let otp = request
        .otp
        .clone()
        .filter(|_| same_code)
        .unwrap_or_else(random::otp);
    let user_guid = request.user_guid.clone();
    request.otp = Some(send(
        outbox,
        request_id,
        &user_guid,
        method,
        destination,
        otp,
        now,
    ));
}

/// Uses up the user's bypass code `index`, keeping its digest to tell a reused code
/// from a wrong one.
fn use_up(user: &mut UserFixture, used: &mut Vec<[u8; 32]>, index: usize) {
    let code = user.bypass_codes.remove(index);
    used.push(Sha256::digest(code.expose().as_bytes()).into());
}

/// A success with nothing else to say.
fn success() -> types::CompletedVerification {
    types::CompletedVerification {
        status: Status::Success,
        request_id: None,
        user_guid: None,
        factor_id: None,
        method: None,
        display_name: None,
        request_state: None,
    }
}

/// The answer to a resend: the request, and its new requestState when it has one.
fn resent(
    request_id: &str,
    request: &Request,
    factor_id: String,
    method: Method,
    request_state: Option<Secret>,
) -> types::CompletedVerification {
    types::CompletedVerification {
        request_id: Some(request_id.to_owned()),
        user_guid: Some(request.user_guid.clone()),
        factor_id: Some(factor_id),
        method: Some(method),
        display_name: request.display_name.clone(),
        request_state,
        ..success()
    }
}

/// An unknown request: 404, or, when the tenant opens the requestState first
/// (`order/unknown-request-or-state=state-first`), a requestState that names another
/// request (or none) is refused first.
fn unknown_request_or_state(settings: &Settings) -> ApiError {
    if settings.readings.is(order_unknown_state::STATE_FIRST) {
        ApiError::unauthorized(
            AuthCode::RequestStateInvalid,
            "The requestState is invalid or expired.",
        )
    } else {
        unknown_request()
    }
}

/// Whether `code` is the TOTP of `secret` at `unix`, or one 30-second step before or
/// after it (clock skew).
fn totp_matches(secret: &str, code: &str, unix: u64) -> bool {
    let mut matched = false;
    for t in [
        unix.saturating_sub(totp::STEP_SECONDS),
        unix,
        unix + totp::STEP_SECONDS,
    ] {
        if let Ok(expected) = totp::code(secret, t) {
            matched |= bool::from(expected.as_bytes().ct_eq(code.as_bytes()));
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_accepts_one_step_of_skew_and_no_more() {
        let secret = crate::fixture::DEFAULT_TOTP_SECRET;
        let now = 1_234_567_890;
        let code = |t| crate::totp::code(secret, t).unwrap();
        assert!(totp_matches(secret, &code(now), now));
        assert!(totp_matches(secret, &code(now - 30), now));
        assert!(totp_matches(secret, &code(now + 30), now));
        assert!(!totp_matches(secret, &code(now - 90), now));
        assert!(!totp_matches(secret, &code(now + 90), now));
    }
}
