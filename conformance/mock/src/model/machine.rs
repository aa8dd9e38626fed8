//! The request life cycle of one test user, and what a tenant may answer to each step,
//! as a pure state machine: no I/O, no clock, no randomness.
//!
//! A [`Step`] is an abstract operation on the test user (initiate, resend, verify with
//! the right or a wrong code, poll, the phone's decision, a look-up). The model answers
//! each with an [`Expectation`]: the set of answers the documents allow after the
//! history so far, each alternative with the effect it has on the state, and the
//! [`Rule`] it comes from. The caller sends the step to a tenant, abstracts the answer
//! into an [`Answer`] and calls [`Model::observe`], which judges it and moves the state
//! along the alternative the tenant took.
//!
//! Where the documents are silent, the model allows each plausible outcome (a set, not
//! a guess): whether a refused requestState spends an attempt is open, so the attempt
//! count is an interval `[lo, hi]`, and a lock is certain only when `lo` reaches the
//! maximum and merely possible when `hi` does. Rules decided by this project
//! (evidence `inferred`) are judged only in strict mode; otherwise
//! [`Model::resolve`] never picks a step whose expectation would rest on one.
//!
//! Strict mode narrows every set to this project's decision: each step then has
//! exactly one allowed answer and the count is exact (`lo == hi`). Those decisions are
//! the mock tenant's, so the strict sequence checks hold the mock to the model answer
//! for answer, not only to the set the documents allow.

use idcs_mfa::Method;

use super::{
    attempts::send_counts,
    rules::{self, Rule},
};

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

/// A request reference that [`Model::resolve`] maps to the most recent request the
/// step fits (any other value `n` picks the `n mod k`-th of the `k` that fit).
pub const LATEST: usize = usize::MAX;

/// One operation on the test user. Request references are indices into the requests
/// the sequence created, resolved by [`Model::resolve`].
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
    /// tenant looks at it, and nothing changes ([`crate::model::access`]).
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

/// What a tenant answered, abstracted: what the rules speak about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body's `status` member.
    pub body_status: Option<String>,
    /// The `cause[].code`s.
    pub codes: Vec<String>,
    /// Whether the answer carried a requestState not seen before for this request.
    pub new_state: Option<bool>,
    /// The `method` member.
    pub method: Option<Method>,
    /// The `factorId` member.
    pub factor_id: Option<String>,
    /// The listed factor ids, sorted (look-ups).
    pub factors: Option<Vec<String>>,
    /// Whether an `ecId` was present.
    pub ec_id: bool,
}

/// One answer the documents allow, and what it does to the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    /// The status.
    pub status: u16,
    /// The body's `status`, when the rule says.
    pub body_status: Option<&'static str>,
    /// A code the `cause` list must hold, when the rule says.
    pub code: Option<&'static str>,
    /// Whether a new requestState must (or must not) come back.
    pub new_state: Option<bool>,
    /// The method the answer must name.
    pub method: Option<Method>,
    /// The factor the answer must name.
    pub factor_id: Option<String>,
    /// The factors a listing must hold (sorted ids).
    pub factors: Option<Vec<String>>,
    /// Whether an `ecId` must be present.
    pub ec_id: bool,
    /// The rule this alternative comes from.
    pub rule: &'static Rule,
    /// What it does to the state (a fault of the mock tenant may drop some).
    pub(crate) effects: Vec<Effect>,
}

impl Allowed {
    fn new(rule: &'static Rule, status: u16) -> Self {
        Self {
            status,
            body_status: None,
            code: None,
            new_state: None,
            method: None,
            factor_id: None,
            factors: None,
            ec_id: false,
            rule,
            effects: Vec::new(),
        }
    }

    fn body(mut self, status: &'static str) -> Self {
        self.body_status = Some(status);
        self
    }

    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    fn effect(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }

    /// Whether `answer` is this alternative.
    pub fn matches(&self, answer: &Answer) -> bool {
        answer.status == self.status
            && self
                .body_status
                .is_none_or(|s| answer.body_status.as_deref() == Some(s))
            && self
                .code
                .is_none_or(|c| answer.codes.iter().any(|x| x == c))
            && self.new_state.is_none_or(|n| answer.new_state == Some(n))
            && self
                .method
                .as_ref()
                .is_none_or(|m| answer.method.as_ref() == Some(m))
            && self
                .factor_id
                .as_ref()
                .is_none_or(|f| answer.factor_id.as_ref() == Some(f))
            && self
                .factors
                .as_ref()
                .is_none_or(|f| answer.factors.as_ref() == Some(f))
            && (!self.ec_id || answer.ec_id)
    }

    /// The answer a tenant sends when it takes this alternative.
    pub fn as_answer(&self) -> Answer {
        Answer {
            status: self.status,
            body_status: self.body_status.map(str::to_owned),
            codes: self.code.map(|c| vec![c.to_owned()]).unwrap_or_default(),
            new_state: self.new_state,
            method: self.method.clone(),
            factor_id: self.factor_id.clone(),
            factors: self.factors.clone(),
            ec_id: self.ec_id,
        }
    }

    /// One line: `401 failed AUTH-1105`.
    pub fn describe(&self) -> String {
        self.as_answer().describe()
    }
}

impl Answer {
    /// One line: `401 "status": "failed" with AUTH-1105`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.status.to_string()];
        if let Some(s) = &self.body_status {
            parts.push(format!("\"status\": \"{s}\""));
        }
        if !self.codes.is_empty() {
            parts.push(format!("with {}", self.codes.join(", ")));
        }
        match self.new_state {
            Some(true) => parts.push("a new requestState".into()),
            Some(false) => parts.push("no new requestState".into()),
            None => {}
        }
        if let Some(m) = &self.method {
            parts.push(format!("method {m}"));
        }
        if let Some(f) = &self.factor_id {
            parts.push(format!("factorId {f}"));
        }
        if let Some(f) = &self.factors {
            parts.push(format!("factors [{}]", f.join(", ")));
        }
        if self.ec_id {
            parts.push("an ecId".into());
        }
        parts.join(" ")
    }
}

/// The answers a step may get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The alternatives (at least one).
    pub allowed: Vec<Allowed>,
}

impl Expectation {
    /// The rule of the first alternative (the one a divergence is reported against).
    pub fn rule(&self) -> &'static Rule {
        self.allowed.first().map_or(&rules::INITIATE_OK, |a| a.rule)
    }

    /// `a, or b`.
    pub fn describe(&self) -> String {
        self.allowed
            .iter()
            .map(Allowed::describe)
            .collect::<Vec<_>>()
            .join(", or ")
    }
}

/// What judging an answer found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The answer is one the documents allow.
    Held,
    /// It is not.
    Diverged {
        /// The rule broken.
        rule: &'static Rule,
        /// What the model allowed.
        expected: String,
        /// What the tenant answered.
        actual: String,
    },
}

/// What an answer does to the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A new request (sent: whether an OTP went out).
    Created { method: Method, factor: String },
    /// The count rises by one for sure.
    Count,
    /// The count may rise by one (the documents are silent).
    MaybeCount,
    /// Back to 0.
    Reset,
    /// The request got a new requestState.
    NewGeneration(usize),
    /// The request ended.
    Close(usize, Outcome),
    /// A bypass code was used up.
    UseBypass,
    /// The tenant said the user is locked.
    Locked,
    /// The tenant answered as if not locked.
    NotLocked,
    /// The phone decided a PUSH.
    Decided(usize, bool),
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still open.
    Open,
    /// Verified.
    Succeeded,
    /// A PUSH the user rejected.
    Rejected,
    /// A PUSH left undecided until the tenant's expiry (the clock's doing).
    Expired,
}

/// One request the sequence created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Its method.
    pub method: Method,
    /// Its factor.
    pub factor: String,
    /// How many requestStates it had (1 after the initiate).
    pub generations: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// The phone's decision of a PUSH, when made.
    pub decided: Option<bool>,
    /// A wrong code was refused on it (what follows rests on an inferred rule).
    pub refused_once: bool,
}

/// The model. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Model {
    user: User,
    max_attempts: u32,
    strict: bool,
    /// The attempt count is in `lo..=hi`.
    lo: u32,
    hi: u32,
    /// The tenant said the user is locked.
    locked: bool,
    requests: Vec<Request>,
    bypass_used: u32,
}

impl Model {
    /// A model of `user` starting with a count of 0, under the tenant's maximum;
    /// `strict` judges the project's decisions too.
    pub fn new(user: User, max_attempts: u32, strict: bool) -> Self {
        Self {
            user,
            max_attempts,
            strict,
            lo: 0,
            hi: 0,
            locked: false,
            requests: Vec::new(),
            bypass_used: 0,
        }
    }

    /// The requests so far.
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// The attempt count's bounds.
    pub fn attempts(&self) -> (u32, u32) {
        (self.lo, self.hi)
    }

    /// Bypass codes this sequence used.
    pub fn bypass_used(&self) -> u32 {
        self.bypass_used
    }

    /// The first factor of the user with `method`.
    pub fn factor_with(&self, method: &Method) -> Option<&Factor> {
        self.user
            .factors
            .iter()
            .find(|f| f.methods.contains(method))
    }

    /// Whether the user is locked: the tenant said so, or the count certainly reached
    /// the maximum.
    pub fn locked(&self) -> bool {
        self.locked || self.lo >= self.max_attempts
    }

    /// The maximum in force (a tenant setting; the mock's lockout faults move it).
    pub fn set_max_attempts(&mut self, max_attempts: u32) {
        self.max_attempts = max_attempts;
    }

    /// An administrator locks the user: the count at the maximum.
    pub fn lock(&mut self) {
        self.locked = true;
        self.lo = self.max_attempts;
        self.hi = self.max_attempts;
    }

    /// An administrator unlocks the user: the count back to 0.
    pub fn unlock(&mut self) {
        self.locked = false;
        self.lo = 0;
        self.hi = 0;
    }

    /// The clock: a PUSH of request `req` still undecided when the tenant's expiry
    /// passes closes as expired, and no attempt is counted (nobody tried; see
    /// [`crate::model::attempts`]). Returns whether it closed.
    pub fn expire(&mut self, req: usize) -> bool {
        match self.requests.get_mut(req) {
            Some(r)
                if r.method == Method::Push
                    && r.outcome == Outcome::Open
                    && r.decided.is_none() =>
            {
                r.outcome = Outcome::Expired;
                true
            }
            _ => false,
        }
    }

    /// Opens a verified request again: not a documented transition, the mock tenant's
    /// fault `completed_request_reopens`.
    pub(crate) fn reopen(&mut self, req: usize) {
        if let Some(r) = self.requests.get_mut(req)
            && r.outcome == Outcome::Succeeded
        {
            r.outcome = Outcome::Open;
        }
    }

    /// The step with its request index resolved to a request it applies to (the
    /// `n mod k`-th of the `k` that fit), or `None` when no request fits or when what
    /// the tenant may answer rests on a rule this mode does not judge.
    pub fn resolve(&self, step: &Step) -> Option<Step> {
        // Outside strict mode a PATCH goes only to an open request that refused no
        // code (what a finished or retried request answers is decided here); a poll of
        // a PUSH is documented in every state.
        let fits = |r: &Request, f: &dyn Fn(&Request) -> bool| -> bool {
            let documented = (r.method == Method::Push && matches!(step, Step::Poll { .. }))
                || (r.outcome == Outcome::Open && !r.refused_once);
            f(r) && (self.strict || documented)
        };
        let pick = |n: usize, f: &dyn Fn(&Request) -> bool| -> Option<usize> {
            let ids: Vec<usize> = (0..self.requests.len())
                .filter(|&i| fits(&self.requests[i], f))
                .collect();
            match (n, ids.last()) {
                (_, None) => None,
                (LATEST, Some(last)) => Some(*last),
                _ => Some(ids[n % ids.len()]),
            }
        };
        let otp = |r: &Request| {
            matches!(
                r.method,
                Method::Sms | Method::Email | Method::PhoneCall | Method::Totp
            )
        };
        let resolved = match step {
            Step::Unauthenticated(inner) => {
                if matches!(**inner, Step::Decide { .. } | Step::Unauthenticated(_)) {
                    return None;
                }
                return self
                    .resolve(inner)
                    .map(|s| Step::Unauthenticated(Box::new(s)));
            }
            Step::Initiate {
                pick: Pick::Method(m),
                ..
            } if self.factor_with(m).is_none() => {
                return None;
            }
            Step::Initiate {
                pick: Pick::Preferred,
                ..
            } if self.user.preferred.is_none() => {
                return None;
            }
            Step::Initiate {
                pick: Pick::Factor(id, m),
                ..
            } if !self
                .user
                .factors
                .iter()
                .any(|f| &f.id == id && f.methods.contains(m)) =>
            {
                return None;
            }
            Step::Initiate { .. } | Step::Lookup { .. } => step.clone(),
            Step::Resend { req, state } => Step::Resend {
                req: pick(*req, &|r| send_counts(&r.method))?,
                state: *state,
            },
            Step::VerifyOtp { req, state, code } => Step::VerifyOtp {
                req: pick(*req, &otp)?,
                state: *state,
                code: *code,
            },
            Step::VerifyBypass { req, state, code } => {
                if *code == Bypass::Reused && (self.bypass_used == 0 || !self.strict) {
                    return None;
                }
                Step::VerifyBypass {
                    req: pick(*req, &|r| r.method == Method::Bypasscode)?,
                    state: *state,
                    code: *code,
                }
            }
            Step::VerifyAnswers { req, state, code } => Step::VerifyAnswers {
                req: pick(*req, &|r| r.method == Method::SecurityQuestions)?,
                state: *state,
                code: *code,
            },
            Step::Poll { req } => Step::Poll {
                req: pick(*req, &|r| r.method == Method::Push || self.strict)?,
            },
            Step::Decide { req, approve } => Step::Decide {
                req: pick(*req, &|r| {
                    r.method == Method::Push && r.outcome == Outcome::Open && r.decided.is_none()
                })?,
                approve: *approve,
            },
        };
        // A refused requestState: judged in every mode, but only when there is one to
        // present.
        if let Some(state) = state_of(&resolved) {
            let req = resolved.request()?;
            let ok = match state {
                StateRef::Current => true,
                StateRef::Stale => self.requests[req].generations > 1,
                StateRef::OfAnother => self.requests.len() > 1,
            };
            if !ok {
                return None;
            }
        }
        Some(resolved)
    }

    /// What the tenant may answer to `step` (resolved), or `None` for a step that gets
    /// no answer (the phone's decision, applied at once).
    pub fn expect(&mut self, step: &Step) -> Option<Expectation> {
        if let Step::Decide { req, approve } = step {
            let decision = self.decision(*req, *approve);
            self.take(Some(*req), &decision);
            return None;
        }
        let on_requests = !matches!(step, Step::Lookup { .. } | Step::Unauthenticated(_))
            && !matches!(
                step,
                Step::Initiate {
                    who: Who::Unknown,
                    ..
                }
            );
        let mut allowed = self.normal(step);
        if on_requests {
            self.lock_gate(&mut allowed);
        }
        Some(Expectation { allowed })
    }

    /// What the phone's decision on PUSH request `req` does (no answer: status 0).
    pub(crate) fn decision(&self, req: usize, approve: bool) -> Allowed {
        if approve {
            Allowed::new(&rules::PUSH_APPROVED, 0)
                .effect(Effect::Decided(req, true))
                .effect(Effect::Reset)
        } else {
            Allowed::new(&rules::PUSH_REJECTED, 0)
                .effect(Effect::Decided(req, false))
                .effect(Effect::Count)
                .effect(Effect::Close(req, Outcome::Rejected))
        }
    }

    /// A locked user is refused whatever the step: the lock answer replaces `allowed`
    /// when the lock is certain, and joins it when it is only possible.
    fn lock_gate(&self, allowed: &mut Vec<Allowed>) {
        let locked = Allowed::new(&rules::LOCKED, 401)
            .code("AUTH-1010")
            .effect(Effect::Locked);
        if self.locked() {
            *allowed = vec![locked];
        } else if self.hi >= self.max_attempts {
            for a in allowed.iter_mut() {
                a.effects.push(Effect::NotLocked);
            }
            allowed.push(locked);
        }
    }

    /// What a PATCH on request `req` presenting `state` gets before the tenant looks at
    /// what it asks for: the lock, a refused requestState, a finished request; `None`
    /// when none of them applies. (The mock tenant answers with it a PATCH whose
    /// action does not fit the request's method, before refusing that as malformed.)
    pub fn refusal(&self, req: usize, state: StateRef) -> Option<Expectation> {
        let mut allowed = match self.patch_refusal(req, state) {
            Some(refused) => refused,
            None if self.locked() => Vec::new(),
            None => return None,
        };
        self.lock_gate(&mut allowed);
        Some(Expectation { allowed })
    }

    /// What any step on the user's requests gets before the tenant looks at what it
    /// asks for: the lock, when certain; `None` otherwise. (The mock tenant answers
    /// with it before checking the factor an initiate names.)
    pub fn gate(&self) -> Option<Expectation> {
        self.locked().then(|| {
            let mut allowed = Vec::new();
            self.lock_gate(&mut allowed);
            Expectation { allowed }
        })
    }

    /// A refused requestState or a finished request.
    fn patch_refusal(&self, req: usize, state: StateRef) -> Option<Vec<Allowed>> {
        if state != StateRef::Current {
            // Refused; whether it spends an attempt is not documented.
            let mut a = Allowed::new(&rules::STATE_BOUND, 401);
            if self.strict {
                a = a.code("AUTH-1120");
            } else {
                a = a.effect(Effect::MaybeCount);
            }
            return Some(vec![a]);
        }
        if self.requests[req].outcome != Outcome::Open {
            // A finished request accepts nothing: 401 or 404, counted or not, where the
            // documents are silent; strict mode holds the tenant to this project's
            // decision, the mock's: its requestState is spent (401 AUTH-1120), and the
            // refusal spends no attempt.
            if self.strict {
                return Some(vec![
                    Allowed::new(&rules::COMPLETED_CLOSED, 401).code("AUTH-1120"),
                ]);
            }
            return Some(vec![
                Allowed::new(&rules::COMPLETED_CLOSED, 401).effect(Effect::MaybeCount),
                Allowed::new(&rules::COMPLETED_CLOSED, 404),
            ]);
        }
        None
    }

    /// The answers of an unlocked user.
    fn normal(&self, step: &Step) -> Vec<Allowed> {
        match step {
            Step::Initiate {
                who: Who::Unknown, ..
            }
            | Step::Lookup { who: Who::Unknown } => {
                vec![Allowed::new(&rules::UNKNOWN_USER, 404).code("AUTH-3018")]
            }
            Step::Initiate { pick, .. } => {
                let (rule, factor, method) = match pick {
                    Pick::Preferred => {
                        let (f, m) = self
                            .user
                            .preferred
                            .clone()
                            .unwrap_or_else(|| (String::new(), Method::Sms));
                        (&rules::PREFERRED, f, m)
                    }
                    Pick::Method(m) => (
                        &rules::NAMED,
                        self.factor_with(m)
                            .map(|f| f.id.clone())
                            .unwrap_or_default(),
                        m.clone(),
                    ),
                    Pick::Factor(id, m) => (&rules::NAMED, id.clone(), m.clone()),
                };
                let mut a = Allowed::new(rule, 200)
                    .body("success")
                    .effect(Effect::Created {
                        method: method.clone(),
                        factor: factor.clone(),
                    });
                a.new_state = Some(true);
                a.method = Some(method.clone());
                a.factor_id = Some(factor);
                if send_counts(&method) {
                    a = a.effect(Effect::Count);
                }
                vec![a]
            }
            Step::Lookup { .. } => {
                let mut ids: Vec<String> = self.user.factors.iter().map(|f| f.id.clone()).collect();
                ids.sort();
                let mut a = Allowed::new(&rules::LOOKUP, 200).body("success");
                a.factors = Some(ids);
                vec![a]
            }
            Step::Poll { req } => {
                let r = &self.requests[*req];
                match (&r.method, r.outcome, r.decided) {
                    (Method::Push, Outcome::Succeeded, _) | (Method::Push, _, Some(true)) => {
                        vec![
                            // The count went back to 0 when the phone approved, not now.
                            Allowed::new(&rules::PUSH_APPROVED, 200)
                                .body("success")
                                .effect(Effect::Close(*req, Outcome::Succeeded)),
                        ]
                    }
                    (Method::Push, Outcome::Rejected, _) => {
                        vec![Allowed::new(&rules::PUSH_REJECTED, 401).body("failed")]
                    }
                    (Method::Push, Outcome::Expired, _) => {
                        vec![
                            Allowed::new(&rules::PUSH_EXPIRED, 401)
                                .body("failed")
                                .code("AUTH-1108"),
                        ]
                    }
                    (Method::Push, _, None) => vec![
                        Allowed::new(&rules::PUSH_PENDING, 200)
                            .body("pending")
                            .code("AUTH-1108"),
                    ],
                    (_, Outcome::Succeeded, _) => {
                        vec![Allowed::new(&rules::POLL_OTHER, 200).body("success")]
                    }
                    _ => vec![Allowed::new(&rules::POLL_OTHER, 200).body("pending")],
                }
            }
            Step::Resend { req, state }
            | Step::VerifyOtp { req, state, .. }
            | Step::VerifyBypass { req, state, .. }
            | Step::VerifyAnswers { req, state, .. } => {
                if let Some(refused) = self.patch_refusal(*req, *state) {
                    return refused;
                }
                // A retry after a wrong code rests on the decision that the request stays
                // open (rules::OPEN_AFTER_WRONG): `resolve` picks such a request only in
                // strict mode, and the answers are those of a first try.
                let retry = |a: Allowed| a;
                let failed = |rule: &'static Rule| {
                    retry(Allowed::new(rule, 401).body("failed").effect(Effect::Count))
                };
                let succeeded = || {
                    retry(
                        Allowed::new(&rules::RIGHT_CODE, 200)
                            .body("success")
                            .effect(Effect::Close(*req, Outcome::Succeeded))
                            .effect(Effect::Reset),
                    )
                };
                match step {
                    Step::Resend { .. } => {
                        let mut a = Allowed::new(&rules::RESEND_NEW_STATE, 200)
                            .body("success")
                            .effect(Effect::NewGeneration(*req))
                            .effect(Effect::Count);
                        a.new_state = Some(true);
                        vec![retry(a)]
                    }
                    Step::VerifyOtp {
                        code: Code::Right, ..
                    } => vec![succeeded()],
                    Step::VerifyOtp {
                        code: Code::Wrong, ..
                    } => {
                        vec![failed(&rules::WRONG_CODE).code("AUTH-1105")]
                    }
                    Step::VerifyAnswers {
                        code: Code::Right, ..
                    } => vec![succeeded()],
                    Step::VerifyAnswers {
                        code: Code::Wrong, ..
                    } => {
                        let mut a = failed(&rules::WRONG_ANSWERS).code("AUTH-1111");
                        a.ec_id = true;
                        vec![a]
                    }
                    Step::VerifyBypass {
                        code: Bypass::Fresh,
                        ..
                    } => {
                        vec![succeeded().effect(Effect::UseBypass)]
                    }
                    Step::VerifyBypass {
                        code: Bypass::Reused,
                        ..
                    } => {
                        vec![Allowed {
                            rule: &rules::BYPASS_ONCE,
                            ..failed(&rules::BYPASS_ONCE)
                        }]
                    }
                    Step::VerifyBypass {
                        code: Bypass::Wrong,
                        ..
                    } => {
                        vec![failed(&rules::WRONG_CODE)]
                    }
                    _ => unreachable!("the arms above cover every PATCH step"),
                }
            }
            Step::Decide { .. } => Vec::new(),
            Step::Unauthenticated(_) => vec![Allowed::new(&rules::TOKEN_REQUIRED, 401)],
        }
    }

    /// Judges `answer` to `step` against `expectation` and moves the state along the
    /// alternative the tenant took.
    pub fn observe(&mut self, step: &Step, expectation: &Expectation, answer: &Answer) -> Verdict {
        let Some(taken) = expectation.allowed.iter().find(|a| a.matches(answer)) else {
            // A lock the count cannot explain breaks the attempt rules, whatever the step.
            let lock_allowed = expectation
                .allowed
                .iter()
                .any(|a| a.code == Some("AUTH-1010"));
            if answer.codes.iter().any(|c| c == "AUTH-1010") && !lock_allowed {
                return Verdict::Diverged {
                    rule: &rules::LOCKED,
                    expected: format!(
                        "{} (no lock: the attempt count is at most {}, below the maximum {})",
                        expectation.describe(),
                        self.hi,
                        self.max_attempts
                    ),
                    actual: answer.describe(),
                };
            }
            return Verdict::Diverged {
                rule: expectation.rule(),
                expected: expectation.describe(),
                actual: answer.describe(),
            };
        };
        let taken = taken.clone();
        self.take(step.request(), &taken);
        Verdict::Held
    }

    /// Moves the state along `taken`: an alternative of what `step` may get, or one a
    /// fault of the mock tenant bent (some effects dropped).
    pub(crate) fn take(&mut self, req: Option<usize>, taken: &Allowed) {
        let refused = taken.status == 401 && taken.effects.contains(&Effect::Count);
        for e in &taken.effects {
            self.apply(e);
        }
        // A wrong code refused on an open request: what follows on it rests on the
        // project's decision that the request stays open.
        if refused
            && let Some(r) = req.and_then(|i| self.requests.get_mut(i))
            && r.outcome == Outcome::Open
        {
            r.refused_once = true;
        }
    }

    fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::Created { method, factor } => self.requests.push(Request {
                method: method.clone(),
                factor: factor.clone(),
                generations: 1,
                outcome: Outcome::Open,
                decided: None,
                refused_once: false,
            }),
            // Nothing counts while the user is locked (an unlock resets).
            Effect::Count | Effect::MaybeCount | Effect::Reset if self.locked() => {}
            Effect::Count => {
                self.lo += 1;
                self.hi += 1;
            }
            Effect::MaybeCount => self.hi += 1,
            Effect::Reset => {
                self.lo = 0;
                self.hi = 0;
            }
            Effect::NewGeneration(req) => self.requests[*req].generations += 1,
            Effect::Close(req, outcome) => self.requests[*req].outcome = *outcome,
            Effect::UseBypass => self.bypass_used += 1,
            Effect::Locked => {
                self.locked = true;
                self.lo = self.lo.max(self.max_attempts);
                self.hi = self.hi.max(self.lo);
            }
            Effect::NotLocked => self.hi = self.hi.min(self.max_attempts.saturating_sub(1)),
            Effect::Decided(req, approve) => self.requests[*req].decided = Some(*approve),
        }
    }
}

fn state_of(step: &Step) -> Option<StateRef> {
    match step {
        Step::Resend { state, .. }
        | Step::VerifyOtp { state, .. }
        | Step::VerifyBypass { state, .. }
        | Step::VerifyAnswers { state, .. } => Some(*state),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attempts::{Counter, Event, Rules};

    fn answer(status: u16, body: &str, code: Option<&str>) -> Answer {
        Answer {
            status,
            body_status: Some(body.into()),
            codes: code.map(|c| vec![c.to_owned()]).unwrap_or_default(),
            ..Answer::default()
        }
    }

    fn initiated(method: Method, factor: &str) -> Answer {
        Answer {
            new_state: Some(true),
            method: Some(method),
            factor_id: Some(factor.into()),
            ..answer(200, "success", None)
        }
    }

    /// Runs `step` and asserts the verdict.
    fn run(m: &mut Model, step: Step, a: &Answer) -> Verdict {
        let step = m.resolve(&step).expect("the step applies");
        let e = m.expect(&step).expect("an answer is expected");
        m.observe(&step, &e, a)
    }

    // Test case: strict mode is one decision per step. Over many pseudo-random
    // sequences (every kind of step, every request reference, right and wrong codes,
    // stale and foreign states, finished requests), each answered step allows exactly
    // one answer, taking it holds, and the count stays exact; and the machine counts
    // as the attempt table (`attempts::Counter`) does, administrator's unlock and the
    // clock's expiry included.
    #[test]
    fn strict_mode_decides_every_step() {
        let mut seed: u64 = 0x1dc5_0f1a;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) % n) as usize
        };
        let mut answered = 0;
        let table = Rules { max_attempts: 3 };
        for _ in 0..300 {
            let mut m = Model::new(sample_user(), 3, true);
            // The attempt table, fed with the event each answer stands for.
            let mut counter = Counter::default();
            for _ in 0..16 {
                let state = [StateRef::Current, StateRef::Stale, StateRef::OfAnother][next(3)];
                let code = [Code::Right, Code::Wrong][next(2)];
                let req = [LATEST, next(4)][next(2)];
                let method = [
                    Method::Sms,
                    Method::Totp,
                    Method::Push,
                    Method::Bypasscode,
                    Method::SecurityQuestions,
                ][next(5)]
                .clone();
                let step = match next(12) {
                    0 => Step::Initiate {
                        who: [Who::Guid, Who::Name, Who::Unknown][next(3)],
                        pick: match next(3) {
                            0 => Pick::Preferred,
                            1 => Pick::Factor("phone".into(), method),
                            _ => Pick::Method(method),
                        },
                    },
                    9 => {
                        // The clock: an undecided PUSH expires.
                        let req = next(4);
                        if m.expire(req) {
                            counter.apply(table, &Event::PushExpired);
                        }
                        continue;
                    }
                    11 => Step::Unauthenticated(Box::new(Step::VerifyOtp { req, state, code })),
                    10 if next(4) == 0 => {
                        m.unlock();
                        counter.apply(table, &Event::Unlocked);
                        continue;
                    }
                    1 => Step::Resend { req, state },
                    2 => Step::VerifyOtp { req, state, code },
                    3 => Step::VerifyBypass {
                        req,
                        state,
                        code: [Bypass::Fresh, Bypass::Reused, Bypass::Wrong][next(3)],
                    },
                    4 => Step::VerifyAnswers { req, state, code },
                    5 => Step::Poll { req },
                    6 => Step::Decide {
                        req,
                        approve: next(2) == 0,
                    },
                    7 => Step::Lookup {
                        who: [Who::Guid, Who::Name, Who::Unknown][next(3)],
                    },
                    _ => Step::Initiate {
                        who: Who::Guid,
                        pick: Pick::Preferred,
                    },
                };
                let Some(step) = m.resolve(&step) else {
                    continue;
                };
                let Some(e) = m.expect(&step) else {
                    if let Step::Decide { approve, .. } = step {
                        let event = if approve {
                            Event::Succeeded
                        } else {
                            Event::PushRejected
                        };
                        counter.apply(table, &event);
                    }
                    assert_eq!(m.attempts().0, counter.count, "{step:?}");
                    continue;
                };
                assert_eq!(e.allowed.len(), 1, "{step:?}: {}", e.describe());
                let taken = &e.allowed[0];
                let event = match (&step, taken.status) {
                    (Step::Initiate { .. }, 200) => taken.method.clone().map(Event::Sent),
                    (Step::Resend { req, .. }, 200) => {
                        Some(Event::Sent(m.requests()[*req].method.clone()))
                    }
                    (Step::Poll { .. } | Step::Lookup { .. }, _) => None,
                    (_, 200) => Some(Event::Succeeded),
                    _ if [
                        &rules::WRONG_CODE,
                        &rules::WRONG_ANSWERS,
                        &rules::BYPASS_ONCE,
                    ]
                    .contains(&taken.rule) =>
                    {
                        Some(Event::Failed)
                    }
                    _ => None,
                };
                let answer = taken.as_answer();
                assert_eq!(m.observe(&step, &e, &answer), Verdict::Held, "{step:?}");
                let (lo, hi) = m.attempts();
                assert_eq!(lo, hi, "the count is exact after {step:?}");
                if let Some(event) = event {
                    counter.apply(table, &event);
                }
                assert_eq!(
                    (lo, m.locked()),
                    (counter.count, counter.locked),
                    "the machine counts as the attempt table after {step:?}"
                );
                answered += 1;
            }
        }
        assert!(answered > 1000, "{answered} steps answered");
    }

    // Test case: the documents' own flow is a trace the model accepts: initiate the
    // preferred SMS factor, a wrong code (401 AUTH-1105), a resend (a new state), the
    // right code (200 success); PUSH pending, approved, polled 200 success; a look-up.
    #[test]
    fn the_documented_flow_is_accepted() {
        let mut m = Model::new(sample_user(), 5, true);
        let init = Step::Initiate {
            who: Who::Name,
            pick: Pick::Preferred,
        };
        assert_eq!(
            run(&mut m, init, &initiated(Method::Sms, "sms")),
            Verdict::Held
        );
        let wrong = Step::VerifyOtp {
            req: 0,
            state: StateRef::Current,
            code: Code::Wrong,
        };
        assert_eq!(
            run(&mut m, wrong, &answer(401, "failed", Some("AUTH-1105"))),
            Verdict::Held
        );
        let resend = Step::Resend {
            req: 0,
            state: StateRef::Current,
        };
        let mut new = answer(200, "success", None);
        new.new_state = Some(true);
        assert_eq!(run(&mut m, resend, &new), Verdict::Held);
        assert_eq!(m.attempts(), (3, 3));
        let right = Step::VerifyOtp {
            req: 0,
            state: StateRef::Current,
            code: Code::Right,
        };
        assert_eq!(
            run(&mut m, right, &answer(200, "success", None)),
            Verdict::Held
        );
        assert_eq!(m.attempts(), (0, 0));

        let push = Step::Initiate {
            who: Who::Guid,
            pick: Pick::Method(Method::Push),
        };
        assert_eq!(
            run(&mut m, push, &initiated(Method::Push, "phone")),
            Verdict::Held
        );
        // In strict mode every request may be polled: the PUSH is the second.
        let poll = Step::Poll { req: 1 };
        assert_eq!(
            run(
                &mut m,
                poll.clone(),
                &answer(200, "pending", Some("AUTH-1108"))
            ),
            Verdict::Held
        );
        let decide = m
            .resolve(&Step::Decide {
                req: 0,
                approve: true,
            })
            .expect("a PUSH");
        assert_eq!(
            decide,
            Step::Decide {
                req: 1,
                approve: true
            }
        );
        assert_eq!(m.expect(&decide), None);
        assert_eq!(
            run(&mut m, poll, &answer(200, "success", None)),
            Verdict::Held
        );

        let mut listing = answer(200, "success", None);
        listing.factors = Some(vec![
            "BypassCode".into(),
            "SecurityQuestions".into(),
            "phone".into(),
            "sms".into(),
        ]);
        assert_eq!(
            run(&mut m, Step::Lookup { who: Who::Name }, &listing),
            Verdict::Held
        );
        assert_eq!(
            run(
                &mut m,
                Step::Lookup { who: Who::Unknown },
                &answer(404, "failed", Some("AUTH-3018"))
            ),
            Verdict::Held
        );
    }

    // Test case: each rule, broken, is a divergence naming it.
    #[test]
    fn a_broken_rule_is_a_divergence_naming_it() {
        let mut m = Model::new(sample_user(), 5, true);
        let init = Step::Initiate {
            who: Who::Guid,
            pick: Pick::Preferred,
        };
        // The first factor instead of the preferred one.
        let v = run(&mut m, init.clone(), &initiated(Method::Totp, "phone"));
        assert!(
            matches!(v, Verdict::Diverged { rule, .. } if rule.id == rules::PREFERRED.id),
            "{v:?}"
        );
        let mut m = Model::new(sample_user(), 5, true);
        run(&mut m, init, &initiated(Method::Sms, "sms"));
        // A wrong code answered 400.
        let wrong = Step::VerifyOtp {
            req: 0,
            state: StateRef::Current,
            code: Code::Wrong,
        };
        let v = run(&mut m, wrong, &answer(400, "failed", Some("AUTH-1105")));
        assert!(
            matches!(v, Verdict::Diverged { rule, .. } if rule.id == rules::WRONG_CODE.id),
            "{v:?}"
        );
    }

    // Test case: the lock comes exactly at the maximum, and every request operation of a
    // locked user expects AUTH-1010.
    #[test]
    fn the_lock_comes_at_the_maximum() {
        let mut m = Model::new(sample_user(), 3, false);
        run(
            &mut m,
            Step::Initiate {
                who: Who::Guid,
                pick: Pick::Preferred,
            },
            &initiated(Method::Sms, "sms"),
        );
        let totp = Step::Initiate {
            who: Who::Guid,
            pick: Pick::Method(Method::Totp),
        };
        run(&mut m, totp.clone(), &initiated(Method::Totp, "phone"));
        let wrong = Step::VerifyOtp {
            req: 1,
            state: StateRef::Current,
            code: Code::Wrong,
        };
        let e = m
            .expect(&m.resolve(&wrong).expect("applies"))
            .expect("answer");
        assert_eq!(e.allowed.len(), 1, "not locked yet: {}", e.describe());
        let step = m.resolve(&wrong).expect("applies");
        assert_eq!(
            m.observe(&step, &e, &answer(401, "failed", Some("AUTH-1105"))),
            Verdict::Held
        );
        // The wrong-code request is now off limits outside strict mode; use the SMS one.
        let wrong = Step::VerifyOtp {
            req: 0,
            state: StateRef::Current,
            code: Code::Wrong,
        };
        assert_eq!(
            run(&mut m, wrong, &answer(401, "failed", Some("AUTH-1105"))),
            Verdict::Held
        );
        assert_eq!(m.attempts(), (3, 3));
        let e = m.expect(&totp).expect("answer");
        assert_eq!(e.describe(), "401 with AUTH-1010");
    }

    // Test case: where the documents are silent the model allows each outcome: a refused
    // requestState may or may not count, so a lock becomes possible, not certain, and
    // either answer then holds.
    #[test]
    fn silence_allows_each_outcome() {
        let mut m = Model::new(sample_user(), 2, false);
        run(
            &mut m,
            Step::Initiate {
                who: Who::Guid,
                pick: Pick::Preferred,
            },
            &initiated(Method::Sms, "sms"),
        );
        run(
            &mut m,
            Step::Initiate {
                who: Who::Guid,
                pick: Pick::Preferred,
            },
            &initiated(Method::Sms, "sms"),
        );
        // Two sends meet a maximum of 2: the next request operation expects the lock.
        assert_eq!(m.attempts(), (2, 2));
        let e = m
            .expect(&Step::Initiate {
                who: Who::Guid,
                pick: Pick::Preferred,
            })
            .expect("answer");
        assert_eq!(e.describe(), "401 with AUTH-1010");
        let mut m = Model::new(sample_user(), 3, false);
        run(
            &mut m,
            Step::Initiate {
                who: Who::Guid,
                pick: Pick::Preferred,
            },
            &initiated(Method::Sms, "sms"),
        );
        run(
            &mut m,
            Step::Initiate {
                who: Who::Guid,
                pick: Pick::Method(Method::Totp),
            },
            &initiated(Method::Totp, "phone"),
        );
        let other = Step::VerifyOtp {
            req: 1,
            state: StateRef::OfAnother,
            code: Code::Right,
        };
        assert_eq!(
            run(&mut m, other, &answer(401, "failed", Some("AUTH-1120"))),
            Verdict::Held
        );
        let other = Step::VerifyOtp {
            req: 0,
            state: StateRef::OfAnother,
            code: Code::Right,
        };
        assert_eq!(
            run(&mut m, other, &answer(401, "failed", None)),
            Verdict::Held
        );
        assert_eq!(m.attempts(), (1, 3));
        let next = Step::Initiate {
            who: Who::Guid,
            pick: Pick::Method(Method::Totp),
        };
        let e = m.expect(&next).expect("answer");
        assert_eq!(e.allowed.len(), 2, "{}", e.describe());
        let mut locked = m.clone();
        assert_eq!(
            locked.observe(&next, &e, &answer(401, "failed", Some("AUTH-1010"))),
            Verdict::Held
        );
        assert_eq!(
            m.observe(&next, &e, &initiated(Method::Totp, "phone")),
            Verdict::Held
        );
        assert_eq!(
            m.attempts(),
            (1, 2),
            "not locked: the count was below the maximum"
        );
    }

    // Test case: outside strict mode the resolver never picks a step whose answer rests
    // on a decision of this project: a finished request, a retry after a wrong code, a
    // reused bypass code, a poll of another method.
    #[test]
    fn outside_strict_mode_inferred_rules_are_not_exercised() {
        for strict in [false, true] {
            let mut m = Model::new(sample_user(), 5, strict);
            run(
                &mut m,
                Step::Initiate {
                    who: Who::Guid,
                    pick: Pick::Method(Method::Bypasscode),
                },
                &initiated(Method::Bypasscode, "BypassCode"),
            );
            let fresh = Step::VerifyBypass {
                req: 0,
                state: StateRef::Current,
                code: Bypass::Fresh,
            };
            assert_eq!(
                run(&mut m, fresh.clone(), &answer(200, "success", None)),
                Verdict::Held
            );
            assert_eq!(m.resolve(&fresh).is_some(), strict, "a finished request");
            assert_eq!(
                m.resolve(&Step::Poll { req: 0 }).is_some(),
                strict,
                "a poll of BYPASSCODE"
            );
            run(
                &mut m,
                Step::Initiate {
                    who: Who::Guid,
                    pick: Pick::Method(Method::Bypasscode),
                },
                &initiated(Method::Bypasscode, "BypassCode"),
            );
            let reused = Step::VerifyBypass {
                req: 1,
                state: StateRef::Current,
                code: Bypass::Reused,
            };
            assert_eq!(m.resolve(&reused).is_some(), strict, "a reused code");
        }
    }
}
