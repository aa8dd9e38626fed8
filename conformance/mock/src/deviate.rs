//! Every fault, as a deviation of the documented behaviour. `state` runs the model
//! ([`idcs_mfa_model::machine`]) and never names a fault: it asks this module at the
//! seams where a fault can bend a step or an answer, and each function here takes the
//! faults in force ([`Faults`], a plain set) and the documented step or answer, and
//! returns what the faults make of it.
//!
//! - Answers: the factor listing, the initiate answer, the poll, the verification, the
//!   authorization (applied after the rules gave the documented answer).
//! - Steps of the model: which factor an initiate opens, which requestState the
//!   model sees presented, whether a verified request opens again, whether a sent code
//!   matches, whether the phone's approval arrives, whether the lock stops an initiate.
//! - Answers of the model (what they do to the state): which counts and resets
//!   happen, whether a resend renews the requestState, where the lock falls; and,
//!   outside the model, whether a bypass code is used up.
//!
//! (Body-level faults, which edit the rendered JSON, are applied in `reply`.)

use axum::http::StatusCode;
use idcs_mfa::{AuthCode, Method, Status, types};
use idcs_mfa_model::machine::{Allowed, Effect, Pick, StateRef};

use crate::{
    fault::{Fault, Faults},
    fixture::{BYPASS_CODE_FACTOR, Fixture, SECURITY_QUESTIONS_FACTOR, UserFixture},
    reply::{ApiError, PollAnswer, internal_error},
};

/// A requestState presented with a PATCH (one that verified), against the request it
/// was sent to.
pub(crate) struct Presented {
    /// It was issued for this request.
    pub(crate) same_request: bool,
    /// It was issued to this request's user.
    pub(crate) same_user: bool,
    /// Its generation (0 after the initiate, +1 per resend).
    pub(crate) generation: u32,
    /// The request's latest generation.
    pub(crate) latest: u32,
}

/// Which requestState the model sees a PATCH present (`None`: one that did not
/// verify). Documented: the request's own at its latest generation is current, an
/// older one stale, any other one another request's.
/// `stale_request_state_accepted` takes an older generation for the current one,
/// `foreign_request_state_accepted` the state of another request of the same user.
/// `missing_request_state_accepted` takes a PATCH that sent none (`missing`) for one
/// with the current state.
pub(crate) fn presented(faults: Faults, p: Option<Presented>, missing: bool) -> StateRef {
    if missing && faults.has(Fault::MissingRequestStateAccepted) {
        return StateRef::Current;
    }
    let Some(p) = p else {
        return StateRef::OfAnother;
    };
    if !p.same_user {
        StateRef::OfAnother
    } else if !p.same_request {
        if faults.has(Fault::ForeignRequestStateAccepted) {
            StateRef::Current
        } else {
            StateRef::OfAnother
        }
    } else if p.generation == p.latest {
        StateRef::Current
    } else if p.generation < p.latest {
        if faults.has(Fault::StaleRequestStateAccepted)
            || faults.has(Fault::ForeignRequestStateAccepted)
        {
            StateRef::Current
        } else {
            StateRef::Stale
        }
    } else {
        StateRef::OfAnother
    }
}

/// Whether a verified request opens again for a PATCH (documented: no;
/// `completed_request_reopens`: yes).
pub(crate) fn reopens_verified(faults: Faults) -> bool {
    faults.has(Fault::CompletedRequestReopens)
}

/// Which factor an initiate opens, given the one asked for (documented: that one).
/// `initiate_ignores_preferred` takes the first factor when none is named;
/// `named_factor_ignored` takes the preferred one when a factor is named.
pub(crate) fn pick(faults: Faults, user: &UserFixture, asked: Pick) -> Pick {
    let first = || {
        user.factors.first().and_then(|f| {
            Some(Pick::Factor(
                f.factor_id.clone(),
                f.methods.first()?.clone(),
            ))
        })
    };
    match asked {
        Pick::Preferred if faults.has(Fault::InitiateIgnoresPreferred) => {
            first().unwrap_or(Pick::Preferred)
        }
        Pick::Factor(..) if faults.has(Fault::NamedFactorIgnored) => {
            if user.preferred_factor_id.is_some() && user.preferred_method.is_some() {
                Pick::Preferred
            } else {
                first().unwrap_or(asked)
            }
        }
        asked => asked,
    }
}

/// What an answer of the model does to the state, as the faults make it:
/// `sends_not_counted` drops the count of an OTP sent (initiate, resend),
/// `success_keeps_count` the reset of a success, `resend_same_state` the new
/// requestState of a resend.
pub(crate) fn bend(faults: Faults, taken: &mut Allowed) {
    let sends = taken
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Created { .. } | Effect::NewGeneration(_)));
    let resend = taken
        .effects
        .iter()
        .any(|e| matches!(e, Effect::NewGeneration(_)));
    if (sends && faults.has(Fault::SendsNotCounted))
        || (resend && faults.has(Fault::ResendNotCounted))
    {
        taken.effects.retain(|e| *e != Effect::Count);
    }
    if faults.has(Fault::SuccessKeepsCount) {
        taken.effects.retain(|e| *e != Effect::Reset);
    }
    if faults.has(Fault::ResendSameState) && resend {
        taken
            .effects
            .retain(|e| !matches!(e, Effect::NewGeneration(_)));
        taken.new_state = Some(false);
    }
}

/// Whether a delivered code matches, given whether it is the one sent
/// (`sent_otp_rejected`, `correct_codes_refused`: never; `any_email_code_accepted`:
/// any six digits for an EMAIL request).
pub(crate) fn sent_otp_matches(
    faults: Faults,
    documented: bool,
    method: &Method,
    code: &str,
) -> bool {
    if *method == Method::Email
        && faults.has(Fault::AnyEmailCodeAccepted)
        && code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
    {
        return true;
    }
    documented && !faults.has(Fault::SentOtpRejected) && !faults.has(Fault::CorrectCodesRefused)
}

/// Whether a TOTP matches, given whether it is right (`correct_codes_refused`:
/// never).
pub(crate) fn totp_matches(faults: Faults, documented: bool) -> bool {
    documented && !faults.has(Fault::CorrectCodesRefused)
}

/// Whether a bypass code that is none of the user's is taken for an unused one
/// (`any_bypass_code_accepted`: any twelve digits).
pub(crate) fn bypass_code_accepted(faults: Faults, code: &str) -> bool {
    faults.has(Fault::AnyBypassCodeAccepted)
        && code.len() == 12
        && code.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the look-up heeds `userIdType` (`lookup_ignores_user_id_type`: it takes
/// every `userId` for a name).
pub(crate) fn lookup_heeds_id_type(faults: Faults) -> bool {
    !faults.has(Fault::LookupIgnoresUserIdType)
}

/// Whether the lock stops a poll: `locked_user_polls` serves a locked user's poll.
pub(crate) fn lock_stops_poll(faults: Faults) -> bool {
    !faults.has(Fault::LockedUserPolls)
}

/// Whether a bypass code that verified is used up (documented: yes;
/// `reusable_bypass_code`: no).
pub(crate) fn bypass_code_used_up(faults: Faults) -> bool {
    !faults.has(Fault::ReusableBypassCode)
}

/// Whether the phone's approval reaches the tenant (`approval_ignored`: no).
pub(crate) fn approval_reaches_tenant(faults: Faults) -> bool {
    !faults.has(Fault::ApprovalIgnored)
}

/// The count that locks, given the tenant's maximum: `no_lockout` never locks,
/// `lock_two_late` locks two attempts past it (one past it is a reading,
/// `lock/when=one-past-the-maximum`).
pub(crate) fn lock_threshold(faults: Faults, max: u32) -> u32 {
    if faults.has(Fault::NoLockout) {
        u32::MAX
    } else if faults.has(Fault::LockTwoLate) {
        max.saturating_add(2)
    } else {
        max
    }
}

/// Whether the lock stops an initiate: `locked_user_initiates` checks it only once
/// a request is used (a PATCH or a poll), so a locked user can still start one.
pub(crate) fn lock_stops_initiate(faults: Faults) -> bool {
    !faults.has(Fault::LockedUserInitiates)
}

/// The authorization of a /mfa/v1 request: `no_auth` lets every request in.
pub(crate) fn authorization(faults: Faults, answer: Result<(), ApiError>) -> Result<(), ApiError> {
    if faults.has(Fault::NoAuth) {
        return Ok(());
    }
    answer
}

/// The factor listing (by GUID and by name): `unknown_user_200` answers an unknown
/// user 200 with no factor; `unknown_method` adds a factor with a method the
/// contract does not list; `preferred_method_missing`, `fixed_factor_ids_renamed` and
/// `preferred_factor_not_listed` change what their names say.
pub(crate) fn factors_answer(
    faults: Faults,
    asked_id: &str,
    answer: Result<types::UserFactors, ApiError>,
) -> Result<types::UserFactors, ApiError> {
    match answer {
        Err(e) if e.status == StatusCode::NOT_FOUND && faults.has(Fault::UnknownUser200) => {
            Ok(types::UserFactors {
                status: Status::Success,
                user_guid: asked_id.to_owned(),
                factors: Vec::new(),
                preferred_factor_id: None,
                preferred_method: None,
            })
        }
        Ok(mut listing) if faults.has(Fault::PreferredMethodMissing) => {
            listing.preferred_method = None;
            Ok(listing)
        }
        Ok(mut listing) if faults.has(Fault::FixedFactorIdsRenamed) => {
            for f in &mut listing.factors {
                if f.factor_id == BYPASS_CODE_FACTOR || f.factor_id == SECURITY_QUESTIONS_FACTOR {
                    f.factor_id = format!("{}-1", f.factor_id.to_ascii_lowercase());
                }
            }
            Ok(listing)
        }
        Ok(mut listing) if faults.has(Fault::PreferredFactorNotListed) => {
            if listing.preferred_factor_id.is_some() {
                listing.preferred_factor_id = Some("f1d0c0de5ec0e1ey5ec0e1ey00000002".into());
            }
            Ok(listing)
        }
        Ok(mut listing) if faults.has(Fault::UnknownMethod) => {
            listing.factors.push(types::Factor {
                factor_id: "f1d0c0de5ec0e1ey5ec0e1ey00000001".into(),
                display_name: Some("Security key".into()),
                methods: vec![Method::Other("FIDO2".into())],
            });
            Ok(listing)
        }
        other => other,
    }
}

/// The user a look-up by name finds: `lookup_lists_another_user` finds a user with
/// another name (`None`: the documented one).
pub(crate) fn lookup_user<'a>(
    faults: Faults,
    fixture: &'a Fixture,
    name: &str,
) -> Option<&'a UserFixture> {
    if !faults.has(Fault::LookupListsAnotherUser) {
        return None;
    }
    fixture.users.iter().find(|u| u.user_name != name)
}

/// The initiate answer: `display_name_everywhere` gives a bypass-code or
/// security-questions request a `displayName` (the factor id).
pub(crate) fn initiate_answer(
    faults: Faults,
    answer: Result<types::InitiatedVerification, ApiError>,
) -> Result<types::InitiatedVerification, ApiError> {
    match answer {
        Ok(mut v)
            if faults.has(Fault::DisplayNameEverywhere)
                && matches!(v.method, Method::Bypasscode | Method::SecurityQuestions) =>
        {
            v.display_name = Some(v.factor_id.clone());
            Ok(v)
        }
        other => other,
    }
}

/// The poll: `rejected_push_200` answers a rejected or expired PUSH 200;
/// `push_pending_401` answers a pending one 401; and an unknown request as
/// [`unknown_request`] says.
pub(crate) fn poll_answer(
    faults: Faults,
    answer: Result<PollAnswer, ApiError>,
) -> Result<PollAnswer, ApiError> {
    match answer {
        Ok((StatusCode::UNAUTHORIZED, body))
            if body.status == Status::Failed && faults.has(Fault::RejectedPush200) =>
        {
            Ok((StatusCode::OK, body))
        }
        Ok((StatusCode::OK, body))
            if body.status == Status::Pending && faults.has(Fault::PushPendingUnauthorized) =>
        {
            Ok((StatusCode::UNAUTHORIZED, body))
        }
        Err(e) => Err(unknown_request(faults, e)),
        other => other,
    }
}

/// The verification: `wrong_otp_400` answers a wrong code 400; `wrong_answers_no_ec_id`
/// leaves the `ecId` out of the wrong-answers error; and an unknown request as
/// [`unknown_request`] says.
pub(crate) fn complete_answer<T>(
    faults: Faults,
    answer: Result<T, ApiError>,
) -> Result<T, ApiError> {
    answer.map_err(|mut e| {
        if e.status == StatusCode::UNAUTHORIZED {
            if e.code == AuthCode::InvalidPasscode && faults.has(Fault::WrongOtp400) {
                e.status = StatusCode::BAD_REQUEST;
            }
            if e.ec_id && faults.has(Fault::WrongAnswersNoEcId) {
                e.ec_id = false;
            }
        }
        unknown_request(faults, e)
    })
}

/// An unknown requestId (404 AUTH-1120 ... "The requestId is invalid."):
/// `unknown_request_500` makes it a 500, `undocumented_status` a 418.
fn unknown_request(faults: Faults, e: ApiError) -> ApiError {
    if e.status != StatusCode::NOT_FOUND {
        return e;
    }
    if faults.has(Fault::UnknownRequest500) {
        return internal_error();
    }
    if faults.has(Fault::UndocumentedStatus) {
        return ApiError {
            status: StatusCode::IM_A_TEAPOT,
            ..e
        };
    }
    e
}
