//! The faults that change only an answer, applied after the rules gave the documented
//! one (`state` holds the rules; it never sees these faults). Each function takes the
//! documented answer of one operation and returns what the switched-on faults make of
//! it. The faults that change what the tenant remembers (counts, locks, which
//! requestState opens which request, single-use codes) are deviations of the rules
//! themselves and stay beside them in `state`, each named where it applies.

use axum::http::StatusCode;
use idcs_mfa::{AuthCode, Method, Status, types};

use super::{
    fault::{Fault, Faults},
    fixture::{Fixture, UserFixture},
    reply::{ApiError, internal_error},
    state::PollAnswer,
};

impl Faults {
    /// The factor listing (by GUID and by name): `unknown_user_200` answers an unknown
    /// user 200 with no factor; `unknown_method` adds a factor with a method the
    /// contract does not list.
    pub(crate) fn factors_answer(
        self,
        asked_id: &str,
        answer: Result<types::UserFactors, ApiError>,
    ) -> Result<types::UserFactors, ApiError> {
        match answer {
            Err(e) if e.status == StatusCode::NOT_FOUND && self.has(Fault::UnknownUser200) => {
                Ok(types::UserFactors {
                    status: Status::Success,
                    user_guid: asked_id.to_owned(),
                    factors: Vec::new(),
                    preferred_factor_id: None,
                    preferred_method: None,
                })
            }
            Ok(mut listing) if self.has(Fault::UnknownMethod) => {
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
        self,
        fixture: &'a Fixture,
        name: &str,
    ) -> Option<&'a UserFixture> {
        if !self.has(Fault::LookupListsAnotherUser) {
            return None;
        }
        fixture.users.iter().find(|u| u.user_name != name)
    }

    /// The initiate answer: `display_name_everywhere` gives a bypass-code or
    /// security-questions request a `displayName` (the factor id).
    pub(crate) fn initiate_answer(
        self,
        answer: Result<types::InitiatedVerification, ApiError>,
    ) -> Result<types::InitiatedVerification, ApiError> {
        match answer {
            Ok(mut v)
                if self.has(Fault::DisplayNameEverywhere)
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
    /// [`Faults::unknown_request`] says.
    pub(crate) fn poll_answer(
        self,
        answer: Result<PollAnswer, ApiError>,
    ) -> Result<PollAnswer, ApiError> {
        match answer {
            Ok((StatusCode::UNAUTHORIZED, body))
                if body.status == Status::Failed && self.has(Fault::RejectedPush200) =>
            {
                Ok((StatusCode::OK, body))
            }
            Ok((StatusCode::OK, body))
                if body.status == Status::Pending && self.has(Fault::PushPendingUnauthorized) =>
            {
                Ok((StatusCode::UNAUTHORIZED, body))
            }
            Err(e) => Err(self.unknown_request(e)),
            other => other,
        }
    }

    /// The verification: `wrong_otp_400` answers a wrong code 400; `wrong_answers_no_ec_id`
    /// leaves the `ecId` out of the wrong-answers error; and an unknown request as
    /// [`Faults::unknown_request`] says.
    pub(crate) fn complete_answer<T>(self, answer: Result<T, ApiError>) -> Result<T, ApiError> {
        answer.map_err(|mut e| {
            if e.status == StatusCode::UNAUTHORIZED {
                if e.code == AuthCode::InvalidPasscode && self.has(Fault::WrongOtp400) {
                    e.status = StatusCode::BAD_REQUEST;
                }
                if e.ec_id && self.has(Fault::WrongAnswersNoEcId) {
                    e.ec_id = false;
                }
            }
            self.unknown_request(e)
        })
    }

    /// An unknown requestId (404 AUTH-1120 ... "The requestId is invalid."):
    /// `unknown_request_500` makes it a 500, `undocumented_status` a 418.
    fn unknown_request(self, e: ApiError) -> ApiError {
        if e.status != StatusCode::NOT_FOUND {
            return e;
        }
        if self.has(Fault::UnknownRequest500) {
            return internal_error();
        }
        if self.has(Fault::UndocumentedStatus) {
            return ApiError {
                status: StatusCode::IM_A_TEAPOT,
                ..e
            };
        }
        e
    }
}
