//! `POST /mfa/v1/requests`: the user and the factor asked for are checked (what the
//! model does not describe) and classified into the model's `Initiate` step, the model
//! answers, and its answer is rendered as a new request.

use idcs_mfa::{AuthCode, Method, Status, types};
use idcs_mfa_model::{
    machine::{Allowed, Pick, Step, Who},
    readings::initiate_unknown_user,
};

use super::{
    OutboxEntry, Request, Settings, State,
    answer::{answer_past_lock, refused},
    send, user_not_found,
};
use crate::{
    clock::Now,
    deviate,
    fixture::UserFixture,
    random,
    reply::{ApiError, internal_error},
    seal::Key,
};

impl State {
    /// `POST /mfa/v1/requests`, as the faults make its answer (`deviate`).
    pub(crate) fn initiate(
        &mut self,
        settings: &Settings,
        key: &Key,
        body: types::InitiateVerificationRequest,
        now: Now,
    ) -> Result<types::InitiatedVerification, ApiError> {
        let answer = self.documented_initiate(settings, key, body, now);
        deviate::initiate_answer(self.faults, answer)
    }

    /// The documented initiate: the step (which user, which factor), the model's answer
    /// (the lock first), and that answer rendered as a new request ([`new_request`]).
    fn documented_initiate(
        &mut self,
        settings: &Settings,
        key: &Key,
        body: types::InitiateVerificationRequest,
        now: Now,
    ) -> Result<types::InitiatedVerification, ApiError> {
        let faults = self.faults;
        let (user, who) = match body.user_id_type {
            types::UserIdType::UserGuid => (self.fixture.user_by_guid(&body.user_id), Who::Guid),
            types::UserIdType::UserName => (self.fixture.user_by_name(&body.user_id), Who::Name),
        };
        let user = user.ok_or_else(|| unknown_user_initiate(settings))?;
        let behaviour = Self::behaviour(&mut self.users, user, faults, settings);
        let past_lock = !deviate::lock_stops_initiate(faults);
        if let Some(locked) = behaviour.model.gate()
            && !past_lock
        {
            return Err(refused(&mut behaviour.model, &locked, faults));
        }
        let pick = deviate::pick(faults, user, asked_pick(user, &body)?);
        let step = Step::Initiate { who, pick };
        let taken = answer_past_lock(&mut behaviour.model, &step, faults, past_lock)?;
        let index = behaviour.model.requests().len() - 1;
        let generation = behaviour.model.requests()[index].generations - 1;
        let (request_id, request, answer) =
            new_request(user, &taken, index, generation, key, &mut self.outbox, now)?;
        self.requests.insert(request_id, request);
        Ok(answer)
    }
}

/// The request the model's answer `taken` opened (its `index` among the user's, at
/// `generation`), rendered: a new request id and requestState, and for SMS, EMAIL and
/// PHONE_CALL an OTP sent, for SECURITY_QUESTIONS the questions asked. Returns its id,
/// what the mock keeps of it, and the answer.
fn new_request(
    user: &UserFixture,
    taken: &Allowed,
    index: usize,
    generation: u32,
    key: &Key,
    outbox: &mut Vec<OutboxEntry>,
    now: Now,
) -> Result<(String, Request, types::InitiatedVerification), ApiError> {
    let (Some(method), Some(factor_id)) = (taken.method.clone(), taken.factor_id.clone()) else {
        return Err(internal_error());
    };
    let factor = user.factor(&factor_id).ok_or_else(internal_error)?;
    let request_id = random::request_id();
    let user_guid = user.user_guid.clone();
    let display_name = match method {
        Method::Bypasscode | Method::SecurityQuestions => None,
        _ => factor.display_name.clone(),
    };
    let mut otp = None;
    let mut questions = Vec::new();
    let mut asked = Vec::new();
    match method {
        Method::Sms | Method::Email | Method::PhoneCall => {
            let destination = factor
                .display_name
                .clone()
                .unwrap_or_else(|| factor.factor_id.clone());
            otp = Some(send(
                outbox,
                &request_id,
                &user_guid,
                &method,
                destination,
                random::otp(),
                now,
            ));
        }
        Method::SecurityQuestions => {
            for q in &user.security_questions {
                questions.push(q.id.clone());
                asked.push(types::SecurityQuestion {
                    id: q.id.clone(),
                    localized_text: q.localized_text.clone(),
                    hint_text: q.hint_text.clone(),
                });
            }
        }
        _ => {}
    }
    let request_state = key.seal(&request_id, &user_guid, generation);
    let request = Request {
        user_guid: user_guid.clone(),
        display_name: display_name.clone(),
        index,
        otp,
        questions,
        created: now.instant,
    };
    let answer = types::InitiatedVerification {
        status: Status::Success,
        request_id: request_id.clone(),
        user_guid,
        factor_id,
        method,
        display_name,
        request_state,
        security_questions: asked,
    };
    Ok((request_id, request, answer))
}

/// The factor an initiate asks for, checked against the user's enrolment (what the
/// model does not describe: a user with no factor, an unknown method, a factor that
/// is not enrolled or does not have the method).
fn asked_pick(
    user: &UserFixture,
    body: &types::InitiateVerificationRequest,
) -> Result<Pick, ApiError> {
    if user.factors.is_empty() {
        return Err(ApiError::unauthorized(
            AuthCode::NoFactorsEnabled,
            "The user has no MFA factor enabled.",
        ));
    }
    if let Some(m) = body.method.as_ref().filter(|m| !m.is_known()) {
        return Err(ApiError::bad_request(
            AuthCode::InvalidRequest,
            format!("method {m:?} is not one of the documented methods."),
        ));
    }
    let (factor, method, pick) = match (&body.factor_id, &body.method) {
        (None, None) => match (&user.preferred_factor_id, &user.preferred_method) {
            (Some(id), Some(m)) => (user.factor(id), m.clone(), Pick::Preferred),
            _ => {
                return Err(ApiError::bad_request(
                    AuthCode::MissingParameter,
                    "The user has no preferred factor: factorId and method are required.",
                ));
            }
        },
        (Some(id), None) => {
            let factor = user.factor(id).ok_or_else(|| not_enrolled(id))?;
            match factor.methods.as_slice() {
                [only] => (
                    Some(factor),
                    only.clone(),
                    Pick::Factor(id.clone(), only.clone()),
                ),
                _ => {
                    return Err(ApiError::bad_request(
                        AuthCode::MissingParameter,
                        format!("Factor {id} has several methods: method is required."),
                    ));
                }
            }
        }
        (None, Some(m)) => (
            user.factors.iter().find(|f| f.methods.contains(m)),
            m.clone(),
            Pick::Method(m.clone()),
        ),
        (Some(id), Some(m)) => (
            Some(user.factor(id).ok_or_else(|| not_enrolled(id))?),
            m.clone(),
            Pick::Factor(id.clone(), m.clone()),
        ),
    };
    let factor = factor.ok_or_else(|| {
        ApiError::bad_request(
            AuthCode::InvalidRequest,
            format!("The user has no factor with method {method}."),
        )
    })?;
    if !factor.methods.contains(&method) {
        return Err(ApiError::bad_request(
            AuthCode::InvalidRequest,
            format!(
                "Factor {} cannot be verified with method {method}.",
                factor.factor_id
            ),
        ));
    }
    Ok(pick)
}

/// An initiate for a user the fixture does not have, as the mock reads
/// `initiate/unknown-user`.
fn unknown_user_initiate(settings: &Settings) -> ApiError {
    if settings
        .readings
        .is(initiate_unknown_user::UNAUTHORIZED_401)
    {
        ApiError::unauthorized(AuthCode::UserNotFound, "User not found.")
    } else if settings.readings.is(initiate_unknown_user::BAD_REQUEST_400) {
        ApiError::bad_request(AuthCode::UserNotFound, "User not found.")
    } else {
        user_not_found()
    }
}

fn not_enrolled(factor_id: &str) -> ApiError {
    ApiError::bad_request(
        AuthCode::InvalidRequest,
        format!("The user has no enrolled factor {factor_id}."),
    )
}
