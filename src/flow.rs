//! The documented two-step flow, as an API that is hard to misuse.
//!
//! ```text
//! initiate ──► Verification { requestId, method, requestState }
//!                 │
//!                 ├─ resend_otp        (SMS, EMAIL, PHONE_CALL) replaces the requestState
//!                 ├─ verify_otp        (SMS, EMAIL, PHONE_CALL, TOTP)
//!                 ├─ verify_bypass_code (BYPASSCODE)
//!                 ├─ verify_answers    (SECURITY_QUESTIONS)
//!                 └─ push_status / wait_for_push (PUSH)
//! ```
//!
//! A [`Verification`] owns the current `requestState` and updates it itself: after a
//! resend the old state stops working (\[VERIFY\]), so no caller should have to remember
//! to swap it. A verify call that does not fit the method (an OTP for a PUSH request)
//! is refused before anything is sent, and a verification that succeeded refuses to be
//! used again.

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    AuthCode, Method, Secret, Status,
    client::Client,
    error::Error,
    types::{self, UserIdType},
};

/// Oracle's sign-in sample polls every 3 s.
pub const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(3);
/// A PUSH stays pending for two minutes (Oracle's authentication API; inferred for
/// `/mfa/v1`).
pub const DEFAULT_PUSH_DEADLINE: Duration = Duration::from_secs(120);

/// Who to verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    /// By GUID (`userIdType: USER_GUID`).
    Guid(String),
    /// By user name (`userIdType: USER_NAME`).
    Name(String),
}

impl UserRef {
    fn parts(&self) -> (&str, UserIdType) {
        match self {
            UserRef::Guid(g) => (g, UserIdType::UserGuid),
            UserRef::Name(n) => (n, UserIdType::UserName),
        }
    }
}

/// What to initiate: the user's preferred factor, or a given factor and method.
#[derive(Clone, Debug)]
pub struct Initiate {
    user: UserRef,
    factor: Option<(String, Method)>,
    application_name: Option<String>,
    ip_address: Option<String>,
}

impl Initiate {
    /// The user's preferred factor (neither `factorId` nor `method` sent).
    pub fn preferred(user: UserRef) -> Self {
        Self {
            user,
            factor: None,
            application_name: None,
            ip_address: None,
        }
    }

    /// A given factor with a given method (a backup factor).
    pub fn factor(user: UserRef, factor_id: impl Into<String>, method: Method) -> Self {
        Self {
            factor: Some((factor_id.into(), method)),
            ..Self::preferred(user)
        }
    }

    /// The fixed `SecurityQuestions` factor.
    pub fn security_questions(user: UserRef) -> Self {
        Self::factor(user, "SecurityQuestions", Method::SecurityQuestions)
    }

    /// The fixed `BypassCode` factor.
    pub fn bypass_code(user: UserRef) -> Self {
        Self::factor(user, "BypassCode", Method::Bypasscode)
    }

    /// The application name shown with a PUSH on the device.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// The IP address shown with a PUSH on the device.
    pub fn ip_address(mut self, ip: impl Into<String>) -> Self {
        self.ip_address = Some(ip.into());
        self
    }

    /// The request body this sends.
    pub fn to_body(&self) -> types::InitiateVerificationRequest {
        let (user_id, user_id_type) = self.user.parts();
        types::InitiateVerificationRequest {
            user_id: user_id.to_owned(),
            user_id_type,
            factor_id: self.factor.as_ref().map(|(id, _)| id.clone()),
            method: self.factor.as_ref().map(|(_, m)| m.clone()),
            application_name: self.application_name.clone(),
            ip_address: self.ip_address.clone(),
        }
    }
}

/// A verification in progress: what the initiate step returned, with the current
/// `requestState`. `Debug` never shows the state.
#[derive(Debug, Clone)]
pub struct Verification {
    request_id: String,
    user_guid: String,
    factor_id: String,
    method: Method,
    display_name: Option<String>,
    security_questions: Vec<types::SecurityQuestion>,
    request_state: Secret,
    done: bool,
}

impl Verification {
    /// Builds one from an initiate answer.
    pub fn from_initiated(v: types::InitiatedVerification) -> Self {
        Self {
            request_id: v.request_id,
            user_guid: v.user_guid,
            factor_id: v.factor_id,
            method: v.method,
            display_name: v.display_name,
            security_questions: v.security_questions,
            request_state: v.request_state,
            done: false,
        }
    }

    /// The request's id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    /// The user's GUID.
    pub fn user_guid(&self) -> &str {
        &self.user_guid
    }
    /// The factor being verified.
    pub fn factor_id(&self) -> &str {
        &self.factor_id
    }
    /// The method being verified.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// Device name, masked phone number or e-mail address, when the tenant sent one.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }
    /// The questions to answer (SECURITY_QUESTIONS).
    pub fn security_questions(&self) -> &[types::SecurityQuestion] {
        &self.security_questions
    }
    /// The current requestState (replaced by each resend).
    pub fn request_state(&self) -> &Secret {
        &self.request_state
    }
    /// Whether a verify call has succeeded.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn expect(&self, allowed: impl Fn(&Method) -> bool, what: &str) -> Result<(), Error> {
        if self.done {
            return Err(Error::InvalidInput(format!(
                "request {} is already verified; initiate a new one",
                self.request_id
            )));
        }
        if !allowed(&self.method) {
            return Err(Error::InvalidInput(format!(
                "{what} does not apply to a {} verification",
                self.method
            )));
        }
        Ok(())
    }

    fn body(&self) -> types::CompleteFactorVerification {
        types::CompleteFactorVerification {
            bypass_code: None,
            otp_code: None,
            request_state: self.request_state.clone(),
            resend_otp: None,
            security_questions: Vec::new(),
        }
    }
}

/// One security answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The question's id.
    pub id: String,
    /// The answer (a secret).
    pub answer: Secret,
}

impl Answer {
    /// An answer to question `id`.
    pub fn new(id: impl Into<String>, answer: impl Into<Secret>) -> Self {
        Self {
            id: id.into(),
            answer: answer.into(),
        }
    }
}

/// The state of a PUSH notification.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PushStatus {
    /// The user has not acted yet (200, `pending`, AUTH-1108).
    Pending,
    /// The user approved (200, `success`).
    Approved,
    /// The user rejected, or the request expired (401, `failed`, AUTH-1108).
    Rejected {
        /// The `cause` messages as sent.
        causes: Vec<types::Cause>,
    },
}

/// How [`Client::wait_for_push`] polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushWait {
    /// Time between polls. Default: [`DEFAULT_PUSH_INTERVAL`].
    pub interval: Duration,
    /// Give up after this long. Default: [`DEFAULT_PUSH_DEADLINE`].
    pub deadline: Duration,
}

impl Default for PushWait {
    fn default() -> Self {
        Self {
            interval: DEFAULT_PUSH_INTERVAL,
            deadline: DEFAULT_PUSH_DEADLINE,
        }
    }
}

impl Client {
    /// The enrolled factors of a user, by GUID or by name.
    pub async fn factors(&self, user: &UserRef) -> Result<types::UserFactors, Error> {
        Ok(match user {
            UserRef::Guid(guid) => self.get_user_factors(guid).await?.value,
            UserRef::Name(name) => {
                self.lookup_user_factors(name, UserIdType::UserName)
                    .await?
                    .value
            }
        })
    }

    /// Step 1: initiate a verification.
    pub async fn initiate(&self, what: &Initiate) -> Result<Verification, Error> {
        let response = self.initiate_verification(&what.to_body()).await?;
        Ok(Verification::from_initiated(response.value))
    }

    /// Asks the tenant to send the OTP again (SMS, EMAIL, PHONE_CALL). On success the
    /// verification holds the new requestState. Each send counts as an attempt towards
    /// the user's lockout (\[VERIFY\]).
    pub async fn resend_otp(&self, v: &mut Verification) -> Result<(), Error> {
        v.expect(Method::can_resend, "resending an OTP")?;
        let body = types::CompleteFactorVerification {
            resend_otp: Some(true),
            ..v.body()
        };
        let answer = self
            .complete_verification(&v.request_id, &body)
            .await?
            .value;
        match answer.request_state {
            Some(state) => {
                v.request_state = state;
                Ok(())
            }
            None => Err(Error::InvalidBody {
                status: reqwest::StatusCode::OK,
                reason: "the resend answer carries no requestState ([VERIFY] says it does)".into(),
                raw: Default::default(),
            }),
        }
    }

    /// Verifies an OTP (SMS, EMAIL, PHONE_CALL, TOTP). A wrong code is
    /// `Err(Error::Status { status: 401, .. })` with [`AuthCode::InvalidPasscode`].
    pub async fn verify_otp(
        &self,
        v: &mut Verification,
        otp: impl Into<Secret>,
    ) -> Result<(), Error> {
        v.expect(Method::takes_otp, "an OTP")?;
        let body = types::CompleteFactorVerification {
            otp_code: Some(otp.into()),
            ..v.body()
        };
        self.finish(v, &body).await
    }

    /// Verifies a bypass code (BYPASSCODE).
    pub async fn verify_bypass_code(
        &self,
        v: &mut Verification,
        code: impl Into<Secret>,
    ) -> Result<(), Error> {
        v.expect(|m| *m == Method::Bypasscode, "a bypass code")?;
        let body = types::CompleteFactorVerification {
            bypass_code: Some(code.into()),
            ..v.body()
        };
        self.finish(v, &body).await
    }

    /// Verifies security answers (SECURITY_QUESTIONS). Wrong answers are a 401 with
    /// [`AuthCode::InvalidRequest`] (AUTH-1111) and an `ecId` (\[VERIFY\]).
    pub async fn verify_answers(
        &self,
        v: &mut Verification,
        answers: &[Answer],
    ) -> Result<(), Error> {
        v.expect(|m| *m == Method::SecurityQuestions, "security answers")?;
        if answers.is_empty() {
            return Err(Error::InvalidInput(
                "give at least one security answer".into(),
            ));
        }
        let body = types::CompleteFactorVerification {
            security_questions: answers
                .iter()
                .map(|a| types::SecQuesVerification {
                    id: a.id.clone(),
                    answer: a.answer.clone(),
                })
                .collect(),
            ..v.body()
        };
        self.finish(v, &body).await
    }

    async fn finish(
        &self,
        v: &mut Verification,
        body: &types::CompleteFactorVerification,
    ) -> Result<(), Error> {
        let answer = self.complete_verification(&v.request_id, body).await?.value;
        if answer.status == Status::Success {
            v.done = true;
            Ok(())
        } else {
            Err(Error::InvalidBody {
                status: reqwest::StatusCode::OK,
                reason: format!(
                    "a 200 answer with status {:?}, not success",
                    answer.status.as_str()
                ),
                raw: Default::default(),
            })
        }
    }

    /// Polls a PUSH once (\[STATUS\]).
    pub async fn push_status(&self, v: &Verification) -> Result<PushStatus, Error> {
        if v.method != Method::Push {
            return Err(Error::InvalidInput(format!(
                "polling applies to PUSH, not to a {} verification",
                v.method
            )));
        }
        match self.get_verification_status(&v.request_id).await {
            Ok(r) => match r.value.status {
                Status::Pending => Ok(PushStatus::Pending),
                Status::Success => Ok(PushStatus::Approved),
                other => Err(Error::InvalidBody {
                    status: r.status,
                    reason: format!("a 200 poll answer with status {:?}", other.as_str()),
                    raw: crate::error::RawBody {
                        bytes: r.raw,
                        content_type: None,
                    },
                }),
            },
            Err(e)
                if e.status() == Some(reqwest::StatusCode::UNAUTHORIZED)
                    && e.has_code(&AuthCode::PushPending) =>
            {
                Ok(PushStatus::Rejected {
                    causes: e.causes().to_vec(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Polls a PUSH every `wait.interval` until the user approves or rejects it, or
    /// `wait.deadline` passes ([`Error::PushTimedOut`]). Sleeps between polls (no busy
    /// loop); dropping the future stops it with nothing left behind. A poll that fails
    /// (network, 5xx) ends the wait with that error.
    pub async fn wait_for_push(
        &self,
        v: &Verification,
        wait: PushWait,
    ) -> Result<PushStatus, Error> {
        let start = Instant::now();
        let deadline = start + wait.deadline;
        loop {
            let status = tokio::time::timeout_at(deadline, self.push_status(v))
                .await
                .map_err(|_| Error::PushTimedOut {
                    waited: start.elapsed(),
                })??;
            if status != PushStatus::Pending {
                return Ok(status);
            }
            let next = Instant::now() + wait.interval;
            if next >= deadline {
                tokio::time::sleep_until(deadline).await;
                return Err(Error::PushTimedOut {
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep_until(next).await;
        }
    }
}
