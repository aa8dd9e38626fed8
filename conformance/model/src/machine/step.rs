//! The test user and the abstract steps a sequence takes on it.

use idcs_mfa_vocabulary::Method;

/// A factor of the test user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Factor {
    /// Its id.
    pub id: String,
    /// Its methods.
    pub methods: Vec<Method>,
}

/// The test user, as the tenant lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// GUID.
    pub guid: String,
    /// User name.
    pub name: String,
    /// Enrolled factors.
    pub factors: Vec<Factor>,
    /// The preferred factor and method, when set.
    pub preferred: Option<(String, Method)>,
}

/// Which user a step names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The test user, by GUID.
    Guid,
    /// The test user, by name.
    Name,
    /// A user the tenant does not have.
    Unknown,
}

/// Which factor an initiate asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Neither factor nor method: the preferred one.
    Preferred,
    /// The first factor of the user with this method, named with it.
    Method(Method),
    /// This factor (by id), with this method.
    Factor(String, Method),
}

/// Which requestState a PATCH presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateRef {
    /// The request's latest.
    Current,
    /// One a resend replaced (falls back to `Current` when there is none).
    Stale,
    /// The latest of another request (falls back to `Current` when there is none).
    OfAnother,
}

/// A code or an answer: the right one or a wrong one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The right one (a delivered OTP, the TOTP now, the enrolled answers).
    Right,
    /// A wrong one.
    Wrong,
}

/// A bypass code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bypass {
    /// An unused one from the supply.
    Fresh,
    /// One this sequence already used.
    Reused,
    /// One that was never issued.
    Wrong,
}

/// A request reference that [`Model::resolve`](super::Model::resolve) maps to the most
/// recent request the step fits (any other value `n` picks the `n mod k`-th of the `k`
/// that fit).
pub const LATEST: usize = usize::MAX;

/// One operation on the test user. Request references are indices into the requests
/// the sequence created, resolved by [`Model::resolve`](super::Model::resolve).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `POST /mfa/v1/requests`.
    Initiate {
        /// The user.
        who: Who,
        /// The factor.
        pick: Pick,
    },
    /// `PATCH` with `resendOtp: true`.
    Resend {
        /// The request.
        req: usize,
        /// The requestState presented.
        state: StateRef,
    },
    /// `PATCH` with `otpCode`.
    VerifyOtp {
        /// The request.
        req: usize,
        /// The requestState presented.
        state: StateRef,
        /// The code.
        code: Code,
    },
    /// `PATCH` with `bypassCode`.
    VerifyBypass {
        /// The request.
        req: usize,
        /// The requestState presented.
        state: StateRef,
        /// The code.
        code: Bypass,
    },
    /// `PATCH` with `securityQuestions`.
    VerifyAnswers {
        /// The request.
        req: usize,
        /// The requestState presented.
        state: StateRef,
        /// The answers.
        code: Code,
    },
    /// `GET /mfa/v1/requests/{requestId}`.
    Poll {
        /// The request.
        req: usize,
    },
    /// The user approves or rejects a PUSH on the phone (a fixture; no answer).
    Decide {
        /// The request.
        req: usize,
        /// Approve (or reject).
        approve: bool,
    },
    /// `GET /mfa/v1/users/{userGUID}/factors`, or the look-up by name.
    Lookup {
        /// The user.
        who: Who,
    },
    /// The same step sent with no `Authorization` header: refused 401 before the
    /// tenant looks at it, and nothing changes ([`crate::access`]).
    Unauthenticated(Box<Step>),
}

impl Step {
    /// The request it refers to, if any.
    pub fn request(&self) -> Option<usize> {
        match self {
            Step::Resend { req, .. }
            | Step::VerifyOtp { req, .. }
            | Step::VerifyBypass { req, .. }
            | Step::VerifyAnswers { req, .. }
            | Step::Poll { req }
            | Step::Decide { req, .. } => Some(*req),
            Step::Initiate { .. } | Step::Lookup { .. } => None,
            Step::Unauthenticated(step) => step.request(),
        }
    }

    /// The most it can raise the attempt count (for the runner's safety).
    pub fn worst_spend(&self) -> u32 {
        match self {
            Step::Initiate { .. } | Step::Resend { .. } => 1,
            Step::VerifyOtp { .. } | Step::VerifyBypass { .. } | Step::VerifyAnswers { .. } => 1,
            Step::Decide { approve: false, .. } => 1,
            Step::Poll { .. } | Step::Decide { .. } | Step::Lookup { .. } => 0,
            // Nothing, on a tenant that refuses it; what the step would spend on one
            // that does not.
            Step::Unauthenticated(step) => step.worst_spend(),
        }
    }
}

/// A user with every kind of factor (SMS preferred; TOTP and PUSH on one phone; bypass
/// codes; security questions): the one the diagrams draw and the tests drive.
pub(crate) fn sample_user() -> User {
    User {
        guid: "u".into(),
        name: "u".into(),
        factors: vec![
            Factor {
                id: "sms".into(),
                methods: vec![Method::Sms],
            },
            Factor {
                id: "phone".into(),
                methods: vec![Method::Totp, Method::Push],
            },
            Factor {
                id: "BypassCode".into(),
                methods: vec![Method::Bypasscode],
            },
            Factor {
                id: "SecurityQuestions".into(),
                methods: vec![Method::SecurityQuestions],
            },
        ],
        preferred: Some(("sms".into(), Method::Sms)),
    }
}
