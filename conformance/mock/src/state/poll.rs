//! `GET /mfa/v1/requests/{requestId}` (\[STATUS\]): the model's `Poll` step, its answer
//! rendered as it is typed (its status, the body's `status`, the `cause`).

use axum::http::StatusCode;
use idcs_mfa::{Method, Status, types};
use idcs_mfa_model::machine::Step;

use super::{Opened, Settings, State, answer::answer_past_lock, unknown_request};
use crate::{
    clock::Now,
    deviate,
    reply::{ApiError, PollAnswer, cause, internal_error},
};

impl State {
    /// `GET /mfa/v1/requests/{requestId}` (\[STATUS\]), as the faults make its answer
    /// (`deviate`).
    pub(crate) fn poll(
        &mut self,
        settings: &Settings,
        request_id: &str,
        now: Now,
    ) -> Result<PollAnswer, ApiError> {
        let answer = self.documented_poll(settings, request_id, now);
        deviate::poll_answer(self.faults, answer)
    }

    /// The documented poll: the model's answer (a PUSH poll past the lock when a fault
    /// lets it through), rendered.
    fn documented_poll(
        &mut self,
        settings: &Settings,
        request_id: &str,
        now: Now,
    ) -> Result<PollAnswer, ApiError> {
        let faults = self.faults;
        let Opened {
            request, behaviour, ..
        } = self
            .open_request(settings, request_id, now)
            .ok_or_else(unknown_request)?;
        let step = Step::Poll { req: request.index };
        let push = behaviour.model.requests()[request.index].method == Method::Push;
        let past_lock = push && !deviate::lock_stops_poll(faults);
        let taken = answer_past_lock(&mut behaviour.model, &step, faults, past_lock)?;
        // The model's answer as it is: its status, its body's status and its cause.
        let status = StatusCode::from_u16(taken.status).map_err(|_| internal_error())?;
        Ok((
            status,
            types::VerificationStatus {
                status: taken.body_status.clone().unwrap_or(Status::Pending),
                cause: taken
                    .cause
                    .iter()
                    .map(|(code, message)| cause(code, message))
                    .collect(),
            },
        ))
    }
}
