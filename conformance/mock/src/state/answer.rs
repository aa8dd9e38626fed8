//! The model's one answer to a step: the mock decides every reading, so the model
//! allows exactly one; the faults bend it (`deviate`), the model moves along it, and a
//! refusal comes back as the error a tenant sends, rendered as the model types it (its
//! status and the `cause` it gives).

use axum::http::StatusCode;
use idcs_mfa::AuthCode;
use idcs_mfa_model::machine::{Allowed, Expectation, Model, Step};

use crate::{
    deviate,
    fault::Faults,
    reply::{ApiError, internal_error},
};

/// The model's answer to `step`, taken; a refusal as the error a tenant sends.
pub(super) fn answer(model: &mut Model, step: &Step, faults: Faults) -> Result<Allowed, ApiError> {
    let Some(expectation) = model.expect(step) else {
        return Err(internal_error());
    };
    let taken = take(model, &expectation, faults);
    match refusal(&taken) {
        Some(e) => Err(e),
        None => Ok(taken),
    }
}

/// The model's answer to `step`; when `past_lock` (a fault lets this step past the
/// lock) and the user is locked, the answer they would get if they were not, after
/// which they stay locked (the count back at the maximum).
pub(super) fn answer_past_lock(
    model: &mut Model,
    step: &Step,
    faults: Faults,
    past_lock: bool,
) -> Result<Allowed, ApiError> {
    if !(past_lock && model.gate().is_some()) {
        return answer(model, step, faults);
    }
    model.unlock();
    let taken = answer(model, step, faults);
    model.lock();
    taken
}

/// A refusal the model gives before looking at the payload (`gate`, `refusal`),
/// taken, as the error a tenant sends.
pub(super) fn refused(model: &mut Model, expectation: &Expectation, faults: Faults) -> ApiError {
    refusal(&take(model, expectation, faults)).unwrap_or_else(internal_error)
}

/// The one alternative of `expectation` (the mock decides every reading), bent by the
/// faults, taken.
fn take(model: &mut Model, expectation: &Expectation, faults: Faults) -> Allowed {
    debug_assert_eq!(
        expectation.allowed.len(),
        1,
        "the mock takes one alternative of every reading: one answer per step"
    );
    let mut taken = expectation.allowed[0].clone();
    deviate::bend(faults, &mut taken);
    model.take(&taken);
    taken
}

/// The error an answer of the model is sent as, when it is a refusal: its status and
/// the cause the model gives it (with an `ecId` where the model says); `None` for an
/// answer that is its operation's own body, as the model types it
/// ([`Allowed::is_refusal`]).
fn refusal(taken: &Allowed) -> Option<ApiError> {
    if !taken.is_refusal() {
        return None;
    }
    let Ok(status) = StatusCode::from_u16(taken.status) else {
        return Some(internal_error());
    };
    let (code, message) = taken
        .cause
        .clone()
        .unwrap_or((AuthCode::InvalidRequest, "The request was refused."));
    let e = ApiError::new(status, code, message);
    Some(if taken.ec_id { e.with_ec_id() } else { e })
}
