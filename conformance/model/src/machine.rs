//! The request life cycle of one test user, and what a tenant may answer to each step,
//! as a pure state machine: no I/O, no clock, no randomness.
//!
//! A [`Step`] is an abstract operation on the test user (initiate, resend, verify with
//! the right or a wrong code, poll, the phone's decision, a look-up). The model answers
//! each with an [`Expectation`]: the set of answers the documents allow after the
//! history so far, each alternative with the effect it has on the state, and the
//! [`Rule`] it comes from. The caller sends the step to a tenant, abstracts the answer
//! into an [`Answer`] and calls [`Model::observe`], which judges it and moves the state
//! along the alternatives the tenant's answer may be.
//!
//! # Possible worlds
//!
//! Where the documents are silent or can be read two ways, the model does not guess:
//! each such point is a [reading](crate::readings) with named alternatives, and
//! the model keeps a set of possible tenants ("worlds"), each with the alternatives it
//! took so far and the exact state they lead to (its attempt count, its lock, its
//! requests). A world takes an alternative only when a step's answer first depends on
//! it: it forks then, one copy per alternative. An answer keeps the worlds that allow
//! it and drops the others; a history fails only when no world is left, that is when
//! no combination of alternatives explains it (Jepsen's Knossos checks histories the
//! same way). So the count is exact in each world, a refused requestState that may or
//! may not count is two worlds, and a lock rules out every world whose count or
//! reading of `lock/when` cannot explain it.
//!
//! Once every remaining world takes the same alternative of a reading, the tenant has
//! shown it ([`Model::shown`]); the runner starts later sequences with what it showed
//! ([`Model::with_readings`]), so a tenant is held to its own reading for the whole run,
//! and a divergence against it says so (rule `readings/held`).
//!
//! Rules decided by this project (evidence `inferred`: a verified request accepts
//! nothing more, a bypass code works once) are judged only in strict mode; otherwise
//! [`Model::resolve`] never picks a step whose answer rests on one. Strict mode never
//! narrows a reading.
//!
//! The mock tenant runs the same machine with every reading decided (its
//! [`Choices`]): one world, one answer per step.

use idcs_mfa_vocabulary::{AuthCode, Method, Status};

use crate::{
    readings::{
        self, Alt, Choices, Reading, after_wrong, finished_answer, finished_counts,
        initiate_unknown_user, lock_lookup, lock_when, order_lock_finished, order_lock_state,
        order_state_finished, phone_call_counts, poll_other, push_after_outcome,
        push_expired_counts, push_expiry, push_rejected_counts, resend_after_wrong, state_counts,
    },
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

/// What a tenant answered, abstracted: what the rules speak about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body's `status` member.
    pub body_status: Option<Status>,
    /// The `cause[].code`s.
    pub codes: Vec<AuthCode>,
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

/// Statuses a refusal may take where a reading allows "a 4xx error": the error statuses
/// the contract documents for the operations such a refusal answers (a poll of a
/// request that is not a PUSH; a resend after a wrong code).
pub const REFUSALS: &[u16] = &[400, 401, 404];

/// One answer the documents allow (in one possible world), and what it does to the
/// state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    /// The status (the one the mock tenant sends).
    pub status: u16,
    /// Other statuses that are the same answer (a reading that allows "a 4xx error").
    pub also: &'static [u16],
    /// The body's `status`, when the rule says.
    pub body_status: Option<Status>,
    /// A code the `cause` list must hold, when the rule says.
    pub code: Option<AuthCode>,
    /// A code the `cause` list must not hold (a refusal that is not the lock's does not
    /// say AUTH-1010).
    pub not_code: Option<AuthCode>,
    /// The cause a tenant that takes this alternative sends (its code and message): what
    /// the mock tenant renders, so that it never works an answer out again.
    pub cause: Option<(AuthCode, &'static str)>,
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
    /// The reading's alternative this answer stands for, when it is one's own.
    pub reading: Option<Alt>,
    /// A poll's 401 that shows a PUSH's outcome: the poll's own body, not an error.
    outcome_body: bool,
    /// What it does to the state (a fault of the mock tenant may drop some).
    pub effects: Vec<Effect>,
    /// The possible world it belongs to.
    pub(crate) world: usize,
}

impl Allowed {
    fn new(rule: &'static Rule, status: u16) -> Self {
        Self {
            status,
            also: &[],
            body_status: None,
            code: None,
            not_code: None,
            cause: None,
            new_state: None,
            method: None,
            factor_id: None,
            factors: None,
            ec_id: false,
            rule,
            reading: None,
            outcome_body: false,
            effects: Vec::new(),
            world: 0,
        }
    }

    fn body(mut self, status: Status) -> Self {
        self.body_status = Some(status);
        self
    }

    /// The cause the rule requires: this code, with this message when a tenant sends it.
    fn code(mut self, code: AuthCode, message: &'static str) -> Self {
        self.code = Some(code.clone());
        self.cause = Some((code, message));
        self
    }

    /// The cause a tenant playing this alternative sends, where the rule requires none.
    fn says(mut self, code: AuthCode, message: &'static str) -> Self {
        self.cause = Some((code, message));
        self
    }

    /// Not the lock's answer: a refusal for another reason does not say AUTH-1010.
    fn not_the_lock(mut self) -> Self {
        self.not_code = Some(AuthCode::AccountLocked);
        self
    }

    fn effect(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }

    fn stands_for(mut self, alt: Alt) -> Self {
        self.reading = Some(alt);
        self
    }

    /// Any of [`REFUSALS`] (the mock sends `status`).
    fn or_any_refusal(mut self) -> Self {
        self.also = REFUSALS;
        self
    }

    /// Whether a tenant sends this answer as an error (the shared `ErrorResponse`) rather
    /// than as the operation's own body: every answer from 400 up, but a poll's 401 that
    /// shows a PUSH's outcome (rejected, expired), which is the poll's body.
    pub fn is_refusal(&self) -> bool {
        self.status >= 400 && !self.outcome_body
    }

    /// The poll's own body, whatever its status (a PUSH's rejection or expiry).
    fn outcome(mut self) -> Self {
        self.outcome_body = true;
        self
    }

    /// Whether it spends an attempt.
    pub fn counts(&self) -> bool {
        self.effects.contains(&Effect::Count)
    }

    /// Whether `answer` is this alternative.
    pub fn matches(&self, answer: &Answer) -> bool {
        (answer.status == self.status || self.also.contains(&answer.status))
            && self
                .body_status
                .as_ref()
                .is_none_or(|s| answer.body_status.as_ref() == Some(s))
            && self.code.as_ref().is_none_or(|c| answer.codes.contains(c))
            && self
                .not_code
                .as_ref()
                .is_none_or(|c| !answer.codes.contains(c))
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
            body_status: self.body_status.clone(),
            codes: self
                .cause
                .as_ref()
                .map(|(c, _)| c.clone())
                .or_else(|| self.code.clone())
                .into_iter()
                .collect(),
            new_state: self.new_state,
            method: self.method.clone(),
            factor_id: self.factor_id.clone(),
            factors: self.factors.clone(),
            ec_id: self.ec_id,
        }
    }

    /// One line: `401 "status": "failed" with AUTH-1105` (a 4xx where any refusal is
    /// the same answer).
    pub fn describe(&self) -> String {
        let line = self.as_answer().describe();
        if self.also.is_empty() {
            line
        } else {
            line.replacen(&self.status.to_string(), "4xx", 1)
        }
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
            let codes: Vec<&str> = self.codes.iter().map(AuthCode::as_str).collect();
            parts.push(format!("with {}", codes.join(", ")));
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

/// The answers a step may get: every possible world's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The alternatives (one list for every possible world, in world order).
    pub allowed: Vec<Allowed>,
}

impl Expectation {
    /// The rule of the first alternative (the one a divergence is reported against).
    pub fn rule(&self) -> &'static Rule {
        self.allowed.first().map_or(&rules::INITIATE_OK, |a| a.rule)
    }

    /// `a, or b`: each different answer once, with the reading it stands for.
    pub fn describe(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        for a in &self.allowed {
            let mut line = a.describe();
            if let Some(alt) = a.reading {
                line.push_str(&format!(" ({alt})"));
            }
            if !seen.contains(&line) {
                seen.push(line);
            }
        }
        seen.join(", or ")
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
pub enum Effect {
    /// A new request.
    Created {
        /// Its method.
        method: Method,
        /// Its factor.
        factor: String,
    },
    /// The count rises by one.
    Count,
    /// Back to 0.
    Reset,
    /// The request got a new requestState.
    NewGeneration(usize),
    /// The request ended.
    Close(usize, Outcome),
    /// A code was refused on the request, which stays open.
    FailedOnce(usize),
    /// A bypass code was used up.
    UseBypass,
    /// The tenant said the user is locked.
    Locked,
    /// The phone decided a PUSH.
    Decided(usize, bool),
    /// A poll showed the PUSH's outcome.
    OutcomeShown(usize),
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Still open.
    Open,
    /// Verified.
    Succeeded,
    /// Ended by a refused code (`verify/after-a-wrong-code=closed`).
    Failed,
    /// A PUSH the user rejected.
    Rejected,
    /// A PUSH left undecided until the tenant's expiry (the clock's doing).
    Expired,
}

/// One request the sequence created.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
    /// A code was refused on it while it stayed open.
    pub failed_once: bool,
    /// A poll showed its outcome (a decided PUSH).
    pub outcome_shown: bool,
}

/// One possible tenant: the alternatives it took so far, and the state they lead to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct World {
    choices: Choices,
    count: u32,
    locked: bool,
    requests: Vec<Request>,
    bypass_used: u32,
}

/// A reading a step's answer depends on, not yet decided in a world: the world forks.
struct Open(&'static Reading);

impl World {
    fn alt(&self, reading: &'static Reading) -> Result<Alt, Open> {
        self.choices.get(reading).ok_or(Open(reading))
    }

    fn is(&self, alt: Alt) -> Result<bool, Open> {
        Ok(self.alt(alt.reading())? == alt)
    }

    /// The count at which the user is locked, under this world's reading of when.
    fn threshold(&self, max: u32) -> u32 {
        match self.choices.get(&readings::LOCK_WHEN) {
            Some(lock_when::AT_THE_NEXT_ATTEMPT | lock_when::ONE_PAST_THE_MAXIMUM) => {
                max.saturating_add(1)
            }
            _ => max,
        }
    }

    /// Whether an OTP sent by `method` spends an attempt.
    fn sends(&self, method: &Method) -> Result<bool, Open> {
        Ok(match method {
            Method::Sms | Method::Email => true,
            Method::PhoneCall => self.is(phone_call_counts::COUNTED)?,
            _ => false,
        })
    }
}

/// What every world's answers are computed from.
struct Env<'a> {
    user: &'a User,
    max: u32,
}

/// The model. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Model {
    user: User,
    max_attempts: u32,
    strict: bool,
    /// The possible tenants the answers so far leave (at least one while the history
    /// holds).
    worlds: Vec<World>,
    /// Alternatives this model may not take (the reading matrix's proof that each is
    /// needed).
    excluded: Vec<Alt>,
    /// The readings the answers showed, with the step (1-based) that showed each.
    shown: Vec<(Alt, usize)>,
    /// Steps answered so far.
    answered: usize,
}

impl Model {
    /// A model of `user` starting with a count of 0, under the tenant's maximum, every
    /// reading open; `strict` judges the inferred rules too.
    pub fn new(user: User, max_attempts: u32, strict: bool) -> Self {
        Self::with_readings(user, max_attempts, strict, Choices::open())
    }

    /// The same, with the readings `known` decides taken already: what the tenant
    /// showed earlier in the run (the model holds it to them), or, complete, the mock
    /// tenant's own (one answer per step).
    pub fn with_readings(user: User, max_attempts: u32, strict: bool, known: Choices) -> Self {
        Self {
            user,
            max_attempts,
            strict,
            worlds: vec![World {
                choices: known,
                count: 0,
                locked: false,
                requests: Vec::new(),
                bypass_used: 0,
            }],
            excluded: Vec::new(),
            shown: Vec::new(),
            answered: 0,
        }
    }

    /// Takes `alt` out of the model: no world may take it. (The reading matrix shows
    /// with it that a tenant taking `alt` then fails: each alternative is needed.)
    pub fn exclude(&mut self, alt: Alt) {
        self.excluded.push(alt);
        self.worlds.retain(|w| !w.choices.is(alt));
    }

    /// The requests so far (their method, factor and number of requestStates are the
    /// same in every possible world; their outcome is the first world's).
    pub fn requests(&self) -> &[Request] {
        self.worlds.first().map_or(&[], |w| &w.requests)
    }

    /// The attempt count's bounds over the possible worlds.
    pub fn attempts(&self) -> (u32, u32) {
        let lo = self.worlds.iter().map(|w| w.count).min().unwrap_or(0);
        let hi = self.worlds.iter().map(|w| w.count).max().unwrap_or(0);
        (lo, hi)
    }

    /// Bypass codes this sequence used.
    pub fn bypass_used(&self) -> u32 {
        self.worlds.first().map_or(0, |w| w.bypass_used)
    }

    /// The readings every possible world takes alike: what the tenant is known to take.
    pub fn known(&self) -> Choices {
        let mut known = Choices::open();
        let Some(first) = self.worlds.first() else {
            return known;
        };
        for alt in first.choices.taken() {
            if self.worlds.iter().all(|w| w.choices.is(alt)) {
                known.set(alt);
            }
        }
        known
    }

    /// The readings this model's answers showed, each with the step (1-based, counting
    /// answered steps) whose answer showed it.
    pub fn shown(&self) -> &[(Alt, usize)] {
        &self.shown
    }

    /// How many possible worlds are left.
    pub fn worlds(&self) -> usize {
        self.worlds.len()
    }

    /// The first factor of the user with `method`.
    pub fn factor_with(&self, method: &Method) -> Option<&Factor> {
        self.user
            .factors
            .iter()
            .find(|f| f.methods.contains(method))
    }

    /// Whether the user is locked in every possible world.
    pub fn locked(&self) -> bool {
        !self.worlds.is_empty() && self.worlds.iter().all(|w| w.locked)
    }

    /// The maximum in force (a tenant setting; the mock's lockout faults move it).
    pub fn set_max_attempts(&mut self, max_attempts: u32) {
        self.max_attempts = max_attempts;
    }

    /// An administrator locks the user: the count at the maximum.
    pub fn lock(&mut self) {
        for w in &mut self.worlds {
            w.locked = true;
            w.count = w.count.max(self.max_attempts);
        }
    }

    /// An administrator unlocks the user: the count back to 0.
    pub fn unlock(&mut self) {
        for w in &mut self.worlds {
            w.locked = false;
            w.count = 0;
        }
    }

    /// The clock: a PUSH of request `req` still undecided when the tenant's expiry
    /// passes closes as expired (`push/expiry`; it may count: `push/expired-counts`).
    /// Returns whether it closed in the first world.
    pub fn expire(&mut self, req: usize) -> bool {
        let pending = |w: &World| {
            w.requests.get(req).is_some_and(|r| {
                r.method == Method::Push && r.outcome == Outcome::Open && r.decided.is_none()
            })
        };
        if !self.worlds.iter().any(pending) {
            return false;
        }
        let effects = self.settle(|env, w| {
            if !pending(w) || w.is(push_expiry::NEVER)? {
                return Ok(Vec::new());
            }
            let mut effects = vec![Effect::Close(req, Outcome::Expired)];
            if w.is(push_expired_counts::COUNTED)? {
                consult_lock(w, env.max)?;
                effects.push(Effect::Count);
            }
            Ok(effects)
        });
        let max = self.max_attempts;
        let mut closed = false;
        for (i, effects) in effects {
            closed |= i == 0 && !effects.is_empty();
            for e in &effects {
                apply(&mut self.worlds[i], max, e);
            }
        }
        closed
    }

    /// Opens a verified request again: not a documented transition, the mock tenant's
    /// fault `completed_request_reopens`.
    pub fn reopen(&mut self, req: usize) {
        for w in &mut self.worlds {
            if let Some(r) = w.requests.get_mut(req)
                && r.outcome == Outcome::Succeeded
            {
                r.outcome = Outcome::Open;
            }
        }
    }

    /// Computes `f` in every world, forking a world on each reading it consults that
    /// the world has not decided yet (one copy per alternative not excluded), until
    /// every world has an answer. Returns each world's answer, by world index.
    fn settle<T>(&mut self, f: impl Fn(&Env<'_>, &World) -> Result<T, Open>) -> Vec<(usize, T)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.worlds.len() {
            let env = Env {
                user: &self.user,
                max: self.max_attempts,
            };
            match f(&env, &self.worlds[i]) {
                Ok(t) => {
                    out.push((i, t));
                    i += 1;
                }
                Err(Open(reading)) => {
                    let world = self.worlds[i].clone();
                    let mut forks: Vec<World> = reading
                        .alts()
                        .filter(|a| !self.excluded.contains(a))
                        .map(|a| World {
                            choices: world.choices.with(a),
                            ..world.clone()
                        })
                        .collect();
                    if forks.is_empty() {
                        self.worlds.remove(i);
                        continue;
                    }
                    self.worlds[i] = forks.remove(0);
                    self.worlds.extend(forks);
                }
            }
        }
        // A world is removed only at `i` (every alternative of a reading excluded): the
        // answers already computed are of worlds before it, whose indices stay.
        out
    }

    /// The step with its request index resolved to a request it applies to (the
    /// `n mod k`-th of the `k` that fit), or `None` when no request fits or when what
    /// the tenant may answer rests on a rule this mode does not judge.
    pub fn resolve(&self, step: &Step) -> Option<Step> {
        let requests = self.requests();
        // Outside strict mode a PATCH never goes to a verified request (that it
        // accepts nothing is inferred) and a bypass code is never presented twice (that
        // it works once is inferred). Everything else is documented, or a reading the
        // model holds open.
        let verified = |i: usize| {
            self.worlds
                .iter()
                .any(|w| w.requests[i].outcome == Outcome::Succeeded)
        };
        let is_patch = matches!(
            step,
            Step::Resend { .. }
                | Step::VerifyOtp { .. }
                | Step::VerifyBypass { .. }
                | Step::VerifyAnswers { .. }
        );
        let pick = |n: usize, f: &dyn Fn(&Request) -> bool| -> Option<usize> {
            let ids: Vec<usize> = (0..requests.len())
                .filter(|&i| f(&requests[i]) && (self.strict || !is_patch || !verified(i)))
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
                req: pick(*req, &|r| {
                    matches!(r.method, Method::Sms | Method::Email | Method::PhoneCall)
                })?,
                state: *state,
            },
            Step::VerifyOtp { req, state, code } => Step::VerifyOtp {
                req: pick(*req, &otp)?,
                state: *state,
                code: *code,
            },
            Step::VerifyBypass { req, state, code } => {
                if *code == Bypass::Reused && (self.bypass_used() == 0 || !self.strict) {
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
                req: pick(*req, &|_| true)?,
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
                StateRef::Stale => requests[req].generations > 1,
                StateRef::OfAnother => requests.len() > 1,
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
            let (req, approve) = (*req, *approve);
            let decisions = self.settle(|env, w| decision(env, w, req, approve));
            let max = self.max_attempts;
            for (i, d) in decisions {
                for e in &d.effects {
                    apply(&mut self.worlds[i], max, e);
                }
            }
            return None;
        }
        let answers = self.settle(|env, w| answers(env, w, step));
        let mut allowed = Vec::new();
        for (i, list) in answers {
            for mut a in list {
                a.world = i;
                allowed.push(a);
            }
        }
        Some(Expectation { allowed })
    }

    /// What the phone's decision on PUSH request `req` does, in the first world (the
    /// mock tenant's; no answer: status 0).
    pub fn decision(&mut self, req: usize, approve: bool) -> Allowed {
        let mut decisions = self.settle(|env, w| decision(env, w, req, approve));
        match decisions.is_empty() {
            true => Allowed::new(&rules::PUSH_PENDING, 0),
            false => decisions.swap_remove(0).1,
        }
    }

    /// What a PATCH on request `req` presenting `state` gets before the tenant looks at
    /// what it asks for (the lock, a refused requestState, a finished request, in the
    /// order the readings say), in the first world; `None` when none applies. (The mock
    /// tenant answers with it a PATCH whose action does not fit the request's method,
    /// before refusing that as malformed.)
    pub fn refusal(&mut self, req: usize, state: StateRef) -> Option<Expectation> {
        let mut refusals = self.settle(|env, w| refusal(env, w, req, state));
        let (i, allowed) = refusals.swap_remove(0);
        allowed.map(|allowed| Expectation {
            allowed: allowed
                .into_iter()
                .map(|mut a| {
                    a.world = i;
                    a
                })
                .collect(),
        })
    }

    /// What any step on the user's requests gets before the tenant looks at what it
    /// asks for: the lock, when the first world is locked; `None` otherwise. (The mock
    /// tenant answers with it before checking the factor an initiate names.)
    pub fn gate(&self) -> Option<Expectation> {
        self.worlds
            .first()
            .filter(|w| w.locked)
            .map(|_| Expectation {
                allowed: vec![lock_answer()],
            })
    }

    /// Judges `answer` to `step` against `expectation` and moves the state along every
    /// alternative the tenant's answer may be (dropping the worlds it rules out).
    pub fn observe(&mut self, step: &Step, expectation: &Expectation, answer: &Answer) -> Verdict {
        let before = self.known();
        let taken: Vec<&Allowed> = expectation
            .allowed
            .iter()
            .filter(|a| a.matches(answer))
            .collect();
        if taken.is_empty() {
            return self.divergence(step, expectation, answer);
        }
        let max = self.max_attempts;
        let mut next: Vec<World> = Vec::new();
        for a in taken {
            let mut w = self.worlds[a.world].clone();
            take(&mut w, max, a);
            if !next.contains(&w) {
                next.push(w);
            }
        }
        self.worlds = next;
        self.answered += 1;
        let after = self.known();
        for alt in after.taken() {
            if before.get(alt.reading()).is_none() {
                self.shown.push((alt, self.answered));
            }
        }
        Verdict::Held
    }

    /// Why no world explains `answer`: the broken rule, or, when the documents would
    /// allow the answer had the tenant not shown a reading earlier, the readings it
    /// answered against.
    fn divergence(&self, step: &Step, expectation: &Expectation, answer: &Answer) -> Verdict {
        // Whether some world explains the answer once `open` reopens its readings.
        let explains = |open: &dyn Fn(&mut Choices)| -> bool {
            let mut m = self.clone();
            for w in &mut m.worlds {
                open(&mut w.choices);
            }
            m.expect(step)
                .is_some_and(|e| e.allowed.iter().any(|a| a.matches(answer)))
        };
        let known = self.known();
        let mut held: Vec<Alt> = known
            .taken()
            .filter(|alt| explains(&|c: &mut Choices| c.clear(alt.reading())))
            .collect();
        if held.is_empty()
            && known.taken().next().is_some()
            && explains(&|c: &mut Choices| *c = Choices::open())
        {
            held = known.taken().collect();
        }
        if !held.is_empty() {
            let held: Vec<String> = held.iter().map(|a| a.name()).collect();
            return Verdict::Diverged {
                rule: &rules::READINGS_HELD,
                expected: format!(
                    "{} (this tenant showed {} earlier in the run)",
                    expectation.describe(),
                    held.join(", ")
                ),
                actual: answer.describe(),
            };
        }
        // A lock the count cannot explain breaks the attempt rules, whatever the step.
        let lock_allowed = expectation
            .allowed
            .iter()
            .any(|a| a.code == Some(AuthCode::AccountLocked));
        if answer.codes.contains(&AuthCode::AccountLocked) && !lock_allowed {
            return Verdict::Diverged {
                rule: &rules::LOCKED,
                expected: format!(
                    "{} (no lock: the attempt count is at most {}, and the lock falls at {} at the earliest)",
                    expectation.describe(),
                    self.attempts().1,
                    self.max_attempts
                ),
                actual: answer.describe(),
            };
        }
        Verdict::Diverged {
            rule: expectation.rule(),
            expected: expectation.describe(),
            actual: answer.describe(),
        }
    }

    /// Moves the state along `taken`: the one alternative of what a step may get in
    /// the mock tenant's world, or one a fault bent (some effects dropped). The model
    /// keeps that world only.
    pub fn take(&mut self, req: Option<usize>, taken: &Allowed) {
        let Some(world) = self.worlds.get(taken.world) else {
            return;
        };
        let mut w = world.clone();
        let _ = req;
        take(&mut w, self.max_attempts, taken);
        self.worlds = vec![w];
    }
}

/// The lock's answer.
fn lock_answer() -> Allowed {
    Allowed::new(&rules::LOCKED, 401)
        .body(Status::Failed)
        .code(AuthCode::AccountLocked, LOCKED_MESSAGE)
        .effect(Effect::Locked)
}

/// The messages a tenant sends with its causes (the mock's words, where no document
/// gives them).
const LOCKED_MESSAGE: &str = "Your account is locked. Contact your administrator.";
const STATE_MESSAGE: &str = "The requestState is invalid or expired.";
const GONE_MESSAGE: &str = "The requestId is invalid.";
const PENDING_MESSAGE: &str = "Push Notification approval is pending.";

/// Makes sure a world whose next counted attempt may meet the maximum has decided when
/// the lock falls (so that counting knows its threshold).
fn consult_lock(w: &World, max: u32) -> Result<(), Open> {
    if !w.locked && w.count.saturating_add(1) >= max {
        w.alt(&readings::LOCK_WHEN)?;
    }
    Ok(())
}

/// The lock, as this world's reading of `lock/when` applies it to the answers of a
/// request operation: a locked user is refused whatever the step; at the maximum, under
/// `at-the-next-attempt`, an answer that would count is refused and locks.
fn gated(env: &Env<'_>, w: &World, normal: Vec<Allowed>) -> Result<Vec<Allowed>, Open> {
    if w.locked {
        return Ok(vec![lock_answer()]);
    }
    if normal.iter().any(Allowed::counts) {
        consult_lock(w, env.max)?;
        let when = w.choices.get(&readings::LOCK_WHEN);
        if when == Some(lock_when::AT_THE_NEXT_ATTEMPT) && w.count >= env.max {
            return Ok(normal
                .into_iter()
                .map(|a| {
                    if a.counts() {
                        lock_answer().stands_for(lock_when::AT_THE_NEXT_ATTEMPT)
                    } else {
                        a
                    }
                })
                .collect());
        }
    }
    Ok(normal)
}

/// The phone's decision.
fn decision(env: &Env<'_>, w: &World, req: usize, approve: bool) -> Result<Allowed, Open> {
    if approve {
        return Ok(Allowed::new(&rules::PUSH_APPROVED, 0)
            .effect(Effect::Decided(req, true))
            .effect(Effect::Reset));
    }
    let mut a = Allowed::new(&rules::PUSH_REJECTED, 0)
        .effect(Effect::Decided(req, false))
        .effect(Effect::Close(req, Outcome::Rejected));
    if w.is(push_rejected_counts::COUNTED)? {
        consult_lock(w, env.max)?;
        a = a.effect(Effect::Count);
    }
    Ok(a)
}

/// The first refusal of a PATCH on request `req` presenting `state`, in the order
/// this world reads, gated by the lock (`None`: none applies; no answer: the world's
/// orders form a circle, which no tenant can be).
fn refusal(
    env: &Env<'_>,
    w: &World,
    req: usize,
    state: StateRef,
) -> Result<Option<Vec<Allowed>>, Open> {
    #[derive(Clone, Copy, PartialEq)]
    enum First {
        Lock,
        State,
        Finished,
        Circle,
    }
    let r = &w.requests[req];
    let finished = r.outcome != Outcome::Open;
    let bad_state = state != StateRef::Current;
    let first = match (w.locked, bad_state, finished) {
        (false, false, false) => return Ok(None),
        (true, false, false) => First::Lock,
        (false, true, false) => First::State,
        (false, false, true) => First::Finished,
        (true, true, false) => {
            if w.is(order_lock_state::LOCK_FIRST)? {
                First::Lock
            } else {
                First::State
            }
        }
        (true, false, true) => {
            if w.is(order_lock_finished::LOCK_FIRST)? {
                First::Lock
            } else {
                First::Finished
            }
        }
        (false, true, true) => {
            if w.is(order_state_finished::STATE_FIRST)? {
                First::State
            } else {
                First::Finished
            }
        }
        (true, true, true) => {
            let ls = w.is(order_lock_state::LOCK_FIRST)?;
            let lf = w.is(order_lock_finished::LOCK_FIRST)?;
            let sf = w.is(order_state_finished::STATE_FIRST)?;
            if ls && lf {
                First::Lock
            } else if !ls && sf {
                First::State
            } else if !lf && !sf {
                First::Finished
            } else {
                First::Circle
            }
        }
    };
    let refused = match first {
        First::Circle => return Ok(Some(Vec::new())),
        First::Lock => return Ok(Some(vec![lock_answer()])),
        First::State => {
            let mut a = Allowed::new(&rules::STATE_BOUND, 401)
                .body(Status::Failed)
                .says(AuthCode::RequestStateInvalid, STATE_MESSAGE)
                .not_the_lock();
            if !w.locked && w.is(state_counts::COUNTED)? {
                a = a.effect(Effect::Count);
            }
            a
        }
        First::Finished => match w.alt(&readings::FINISHED_ANSWER)? {
            finished_answer::GONE_404 => Allowed::new(&rules::COMPLETED_CLOSED, 404)
                .says(AuthCode::InvalidRequest, GONE_MESSAGE)
                .stands_for(finished_answer::GONE_404),
            _ => {
                let mut a = Allowed::new(&rules::COMPLETED_CLOSED, 401)
                    .body(Status::Failed)
                    .says(AuthCode::RequestStateInvalid, STATE_MESSAGE)
                    .not_the_lock()
                    .stands_for(finished_answer::REFUSED_401);
                if !w.locked && w.is(finished_counts::COUNTED)? {
                    a = a.effect(Effect::Count);
                }
                a
            }
        },
    };
    // A locked user whose request refuses first: that refusal, counting nothing.
    if w.locked {
        return Ok(Some(vec![refused]));
    }
    Ok(Some(gated(env, w, vec![refused])?))
}

/// Every answer a world allows to `step`.
fn answers(env: &Env<'_>, w: &World, step: &Step) -> Result<Vec<Allowed>, Open> {
    let success = || Allowed::new(&rules::RIGHT_CODE, 200).body(Status::Success);
    match step {
        Step::Unauthenticated(_) => Ok(vec![Allowed::new(&rules::TOKEN_REQUIRED, 401)]),
        Step::Decide { .. } => Ok(Vec::new()),
        Step::Lookup { who: Who::Unknown } => Ok(vec![
            Allowed::new(&rules::UNKNOWN_USER, 404).code(AuthCode::UserNotFound, "User not found."),
        ]),
        Step::Lookup { .. } => {
            if w.locked && w.is(lock_lookup::REFUSED_401)? {
                return Ok(vec![
                    Allowed::new(&rules::LOCKED, 401)
                        .says(AuthCode::AccountLocked, LOCKED_MESSAGE)
                        .stands_for(lock_lookup::REFUSED_401),
                ]);
            }
            let mut ids: Vec<String> = env.user.factors.iter().map(|f| f.id.clone()).collect();
            ids.sort();
            let mut a = Allowed::new(&rules::LOOKUP, 200).body(Status::Success);
            a.factors = Some(ids);
            Ok(vec![a])
        }
        Step::Initiate {
            who: Who::Unknown, ..
        } => Ok(vec![match w.alt(&readings::INITIATE_UNKNOWN_USER)? {
            initiate_unknown_user::UNAUTHORIZED_401 => {
                Allowed::new(&rules::INITIATE_UNKNOWN_USER, 401)
                    .says(AuthCode::UserNotFound, "User not found.")
                    .stands_for(initiate_unknown_user::UNAUTHORIZED_401)
            }
            initiate_unknown_user::BAD_REQUEST_400 => {
                Allowed::new(&rules::INITIATE_UNKNOWN_USER, 400)
                    .says(AuthCode::UserNotFound, "User not found.")
                    .stands_for(initiate_unknown_user::BAD_REQUEST_400)
            }
            alt => Allowed::new(&rules::INITIATE_UNKNOWN_USER, 404)
                .code(AuthCode::UserNotFound, "User not found.")
                .stands_for(alt),
        }]),
        Step::Initiate { pick, .. } => {
            let (rule, factor, method) = match pick {
                Pick::Preferred => {
                    let (f, m) = env
                        .user
                        .preferred
                        .clone()
                        .unwrap_or_else(|| (String::new(), Method::Sms));
                    (&rules::PREFERRED, f, m)
                }
                Pick::Method(m) => (
                    &rules::NAMED,
                    env.user
                        .factors
                        .iter()
                        .find(|f| f.methods.contains(m))
                        .map(|f| f.id.clone())
                        .unwrap_or_default(),
                    m.clone(),
                ),
                Pick::Factor(id, m) => (&rules::NAMED, id.clone(), m.clone()),
            };
            let mut a = Allowed::new(rule, 200)
                .body(Status::Success)
                .effect(Effect::Created {
                    method: method.clone(),
                    factor: factor.clone(),
                });
            a.new_state = Some(true);
            a.method = Some(method.clone());
            a.factor_id = Some(factor);
            if !w.locked && w.sends(&method)? {
                a = a.effect(Effect::Count);
            }
            gated(env, w, vec![a])
        }
        Step::Poll { req } => {
            let r = &w.requests[*req];
            if r.method != Method::Push {
                return match w.alt(&readings::POLL_OTHER)? {
                    poll_other::REFUSED => Ok(vec![
                        Allowed::new(&rules::POLL_OTHER, 400)
                            .or_any_refusal()
                            .body(Status::Failed)
                            .says(
                                AuthCode::InvalidRequest,
                                "Only a PUSH request can be polled.",
                            )
                            .stands_for(poll_other::REFUSED),
                    ]),
                    alt => {
                        let answer = if r.outcome == Outcome::Succeeded {
                            Allowed::new(&rules::POLL_OTHER, 200).body(Status::Success)
                        } else {
                            Allowed::new(&rules::POLL_OTHER, 200)
                                .body(Status::Pending)
                                .says(AuthCode::PushPending, PENDING_MESSAGE)
                        };
                        gated(env, w, vec![answer.stands_for(alt)])
                    }
                };
            }
            if r.outcome_shown && w.is(push_after_outcome::GONE_404)? {
                return Ok(vec![
                    Allowed::new(&rules::PUSH_APPROVED, 404)
                        .says(AuthCode::InvalidRequest, GONE_MESSAGE)
                        .stands_for(push_after_outcome::GONE_404),
                ]);
            }
            let shown = Effect::OutcomeShown(*req);
            let answer = match (r.outcome, r.decided) {
                (Outcome::Succeeded, _) | (_, Some(true)) => {
                    Allowed::new(&rules::PUSH_APPROVED, 200)
                        .body(Status::Success)
                        .effect(Effect::Close(*req, Outcome::Succeeded))
                        .effect(shown)
                }
                (Outcome::Rejected, _) => Allowed::new(&rules::PUSH_REJECTED, 401)
                    .body(Status::Failed)
                    .says(AuthCode::PushPending, "Rejected")
                    .outcome()
                    .effect(shown),
                (Outcome::Expired, _) => match w.alt(&readings::PUSH_EXPIRY)? {
                    push_expiry::GONE_404 => Allowed::new(&rules::PUSH_EXPIRED, 404)
                        .says(AuthCode::InvalidRequest, GONE_MESSAGE)
                        .stands_for(push_expiry::GONE_404),
                    alt => Allowed::new(&rules::PUSH_EXPIRED, 401)
                        .body(Status::Failed)
                        .code(AuthCode::PushPending, "Expired")
                        .outcome()
                        .stands_for(alt)
                        .effect(shown),
                },
                _ => Allowed::new(&rules::PUSH_PENDING, 200)
                    .body(Status::Pending)
                    .code(AuthCode::PushPending, PENDING_MESSAGE),
            };
            gated(env, w, vec![answer])
        }
        Step::Resend { req, state }
        | Step::VerifyOtp { req, state, .. }
        | Step::VerifyBypass { req, state, .. }
        | Step::VerifyAnswers { req, state, .. } => {
            let req = *req;
            if let Some(refused) = refusal(env, w, req, *state)? {
                return Ok(refused);
            }
            let r = &w.requests[req];
            let failed = |rule: &'static Rule| -> Result<Allowed, Open> {
                let a = Allowed::new(rule, 401)
                    .body(Status::Failed)
                    .says(AuthCode::InvalidPasscode, "Invalid passcode.")
                    .effect(Effect::Count);
                Ok(if w.is(after_wrong::CLOSED)? {
                    a.effect(Effect::Close(req, Outcome::Failed))
                } else {
                    a.effect(Effect::FailedOnce(req))
                })
            };
            let succeeded = || {
                success()
                    .effect(Effect::Close(req, Outcome::Succeeded))
                    .effect(Effect::Reset)
            };
            let normal = match step {
                Step::Resend { .. } => {
                    if r.failed_once && w.is(resend_after_wrong::REFUSED)? {
                        Allowed::new(&rules::RESEND_NEW_STATE, 400)
                            .or_any_refusal()
                            .body(Status::Failed)
                            .says(
                                AuthCode::InvalidRequest,
                                "A code was already tried on this request: the OTP is not sent again.",
                            )
                            .stands_for(resend_after_wrong::REFUSED)
                    } else {
                        let mut a = Allowed::new(&rules::RESEND_NEW_STATE, 200)
                            .body(Status::Success)
                            .effect(Effect::NewGeneration(req));
                        a.new_state = Some(true);
                        if w.sends(&r.method)? {
                            a = a.effect(Effect::Count);
                        }
                        a
                    }
                }
                Step::VerifyOtp {
                    code: Code::Right, ..
                }
                | Step::VerifyAnswers {
                    code: Code::Right, ..
                } => succeeded(),
                Step::VerifyOtp { .. } => {
                    failed(&rules::WRONG_CODE)?.code(AuthCode::InvalidPasscode, "Invalid passcode.")
                }
                Step::VerifyAnswers { .. } => {
                    let mut a = failed(&rules::WRONG_ANSWERS)?.code(
                        AuthCode::InvalidRequest,
                        "You entered invalid answer(s). Authentication failed.",
                    );
                    a.ec_id = true;
                    a
                }
                Step::VerifyBypass {
                    code: Bypass::Fresh,
                    ..
                } => succeeded().effect(Effect::UseBypass),
                Step::VerifyBypass {
                    code: Bypass::Reused,
                    ..
                } => failed(&rules::BYPASS_ONCE)?,
                Step::VerifyBypass { .. } => failed(&rules::WRONG_CODE)?,
                _ => unreachable!("the arms above cover every PATCH step"),
            };
            gated(env, w, vec![normal])
        }
    }
}

/// Moves world `w` along `taken`.
fn take(w: &mut World, max: u32, taken: &Allowed) {
    for e in &taken.effects {
        apply(w, max, e);
    }
}

fn apply(w: &mut World, max: u32, effect: &Effect) {
    match effect {
        Effect::Created { method, factor } => w.requests.push(Request {
            method: method.clone(),
            factor: factor.clone(),
            generations: 1,
            outcome: Outcome::Open,
            decided: None,
            failed_once: false,
            outcome_shown: false,
        }),
        // Nothing counts while the user is locked (an unlock resets).
        Effect::Count | Effect::Reset if w.locked => {}
        Effect::Count => {
            w.count += 1;
            if w.count >= w.threshold(max) {
                w.locked = true;
            }
        }
        Effect::Reset => w.count = 0,
        Effect::NewGeneration(req) => w.requests[*req].generations += 1,
        Effect::Close(req, outcome) => w.requests[*req].outcome = *outcome,
        Effect::FailedOnce(req) => w.requests[*req].failed_once = true,
        Effect::UseBypass => w.bypass_used += 1,
        Effect::Locked => {
            w.locked = true;
            w.count = w.count.max(max);
        }
        Effect::Decided(req, approve) => w.requests[*req].decided = Some(*approve),
        Effect::OutcomeShown(req) => w.requests[*req].outcome_shown = true,
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
    use crate::{
        attempts::{Counter, Event, Rules},
        readings::{ALL, lock_when, poll_other, state_counts},
    };

    fn answer(status: u16, body: &str, code: Option<&str>) -> Answer {
        Answer {
            status,
            body_status: Some(Status::from(body)),
            codes: code.map(|c| vec![AuthCode::from(c)]).unwrap_or_default(),
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

    /// Runs `step` and returns the verdict.
    fn run(m: &mut Model, step: Step, a: &Answer) -> Verdict {
        let step = m.resolve(&step).expect("the step applies");
        let e = m.expect(&step).expect("an answer is expected");
        m.observe(&step, &e, a)
    }

    /// A copy of `m` after `step` answered `a`, which must hold.
    fn after(m: &Model, step: &Step, a: &Answer) -> Model {
        let mut next = m.clone();
        assert_eq!(run(&mut next, step.clone(), a), Verdict::Held, "{step:?}");
        next
    }

    fn initiate(pick: Pick) -> Step {
        Step::Initiate {
            who: Who::Guid,
            pick,
        }
    }

    fn wrong(req: usize) -> Step {
        Step::VerifyOtp {
            req,
            state: StateRef::Current,
            code: Code::Wrong,
        }
    }

    /// A pseudo-random generator (no dependency; the same sequences every run).
    fn lcg(seed: u64) -> impl FnMut(u64) -> usize {
        let mut seed = seed;
        move |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) % n) as usize
        }
    }

    /// What happens next in a random history: a step, the clock, or an administrator.
    enum Next {
        Step(Step),
        Expire(usize),
        Unlock,
    }

    fn random_next(next: &mut impl FnMut(u64) -> usize) -> Next {
        let state = [StateRef::Current, StateRef::Stale, StateRef::OfAnother][next(3)];
        let code = [Code::Right, Code::Wrong][next(2)];
        let req = [LATEST, next(4)][next(2)];
        let method = [
            Method::Sms,
            Method::Totp,
            Method::Push,
            Method::Bypasscode,
            Method::SecurityQuestions,
            Method::PhoneCall,
        ][next(6)]
        .clone();
        Next::Step(match next(13) {
            0 => Step::Initiate {
                who: [Who::Guid, Who::Name, Who::Unknown][next(3)],
                pick: match next(3) {
                    0 => Pick::Preferred,
                    1 => Pick::Factor("phone".into(), method),
                    _ => Pick::Method(method),
                },
            },
            9 => return Next::Expire(next(4)),
            10 if next(4) == 0 => return Next::Unlock,
            11 => Step::Unauthenticated(Box::new(Step::VerifyOtp { req, state, code })),
            1 | 12 => Step::Resend { req, state },
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
                pick: Pick::Method([Method::Sms, Method::PhoneCall, Method::Totp][next(3)].clone()),
            },
        })
    }

    /// The user with a PHONE_CALL factor too.
    fn user() -> User {
        let mut u = sample_user();
        u.factors.push(Factor {
            id: "voice".into(),
            methods: vec![Method::PhoneCall],
        });
        u
    }

    /// Plays `histories` random histories on a tenant with `tenant` readings (the mock's
    /// machine: one world) and judges every answer with a model that starts with every
    /// reading open. Returns the steps answered and the readings shown.
    fn judge_tenant(
        tenant: Choices,
        judge_strict: bool,
        histories: usize,
        seed: u64,
    ) -> (usize, Vec<Alt>) {
        let mut next = lcg(seed);
        let mut answered = 0;
        let mut shown = Vec::new();
        for h in 0..histories {
            let mut t = Model::with_readings(user(), 3, true, tenant);
            let mut j = Model::new(user(), 3, judge_strict);
            for _ in 0..18 {
                let step = match random_next(&mut next) {
                    Next::Step(step) => step,
                    Next::Expire(req) => {
                        t.expire(req);
                        j.expire(req);
                        continue;
                    }
                    Next::Unlock => {
                        t.unlock();
                        j.unlock();
                        continue;
                    }
                };
                let Some(step) = j.resolve(&step) else {
                    continue;
                };
                let Some(te) = t.expect(&step) else {
                    assert_eq!(j.expect(&step), None);
                    continue;
                };
                assert_eq!(te.allowed.len(), 1, "{step:?}: {}", te.describe());
                let a = te.allowed[0].as_answer();
                assert_eq!(t.observe(&step, &te, &a), Verdict::Held);
                let je = j.expect(&step).expect("an answer");
                let verdict = j.observe(&step, &je, &a);
                assert_eq!(
                    verdict,
                    Verdict::Held,
                    "history {h}: a tenant with {:?} answered {step:?} with {}",
                    tenant.non_default(),
                    a.describe()
                );
                assert!(j.worlds() >= 1);
                let (lo, hi) = j.attempts();
                assert!(lo <= t.attempts().0 && t.attempts().0 <= hi, "{step:?}");
                answered += 1;
            }
            shown.extend(j.shown().iter().map(|(a, _)| *a));
        }
        shown.sort();
        shown.dedup();
        (answered, shown)
    }

    // Test case: every alternative of every reading is one the model allows: a tenant
    // that takes it (alone, or with every other reading's second alternative) is never
    // judged divergent by a model that starts with every reading open, over random
    // histories of every kind of step (stale and foreign requestStates, finished
    // requests, locks and unlocks, expiries); and what the judge says the tenant showed
    // is what the tenant took.
    #[test]
    fn every_alternative_is_allowed_and_what_is_shown_is_what_was_taken() {
        let mut tenants = vec![Choices::defaults()];
        for r in ALL {
            for alt in r.alts().skip(1) {
                tenants.push(Choices::defaults().with(alt));
            }
        }
        for k in 1..=2 {
            let mut all = Choices::defaults();
            for r in ALL {
                all.set(
                    r.alts()
                        .nth(k.min(r.alternatives.len() - 1))
                        .expect("an alternative"),
                );
            }
            if all.check_orders().is_ok() {
                tenants.push(all);
            }
        }
        for (i, tenant) in tenants.iter().enumerate() {
            for strict in [false, true] {
                let (answered, shown) = judge_tenant(*tenant, strict, 40, 0x5eed + i as u64);
                assert!(
                    answered > 200,
                    "{answered} steps for {:?}",
                    tenant.non_default()
                );
                for alt in shown {
                    assert!(
                        tenant.is(alt),
                        "shown {alt}, the tenant took {:?}",
                        tenant.get(alt.reading())
                    );
                }
            }
        }
    }

    // Test case: with every reading decided (the mock's machine), each answered step
    // allows exactly one answer, and under the default readings the machine counts as
    // the attempt table (`attempts::Counter`) does, administrator's unlock and the
    // clock's expiry included.
    #[test]
    fn the_default_readings_count_as_the_attempt_table() {
        let mut next = lcg(0x1dc5_0f1a);
        let mut answered = 0;
        let table = Rules { max_attempts: 3 };
        for _ in 0..300 {
            let mut m = Model::with_readings(sample_user(), 3, true, Choices::defaults());
            let mut counter = Counter::default();
            for _ in 0..16 {
                let step = match random_next(&mut next) {
                    Next::Step(step) => step,
                    Next::Expire(req) => {
                        if m.expire(req) {
                            counter.apply(table, &Event::PushExpired);
                        }
                        continue;
                    }
                    Next::Unlock => {
                        m.unlock();
                        counter.apply(table, &Event::Unlocked);
                        continue;
                    }
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

    // Test case: the documents' own flow is a trace the model accepts with every reading
    // open: initiate the preferred SMS factor, a wrong code (401 AUTH-1105), a resend (a
    // new state), the right code (200 success); PUSH pending, approved, polled 200
    // success; a look-up.
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
        assert_eq!(
            run(&mut m, wrong(0), &answer(401, "failed", Some("AUTH-1105"))),
            Verdict::Held
        );
        let resend = Step::Resend {
            req: 0,
            state: StateRef::Current,
        };
        let mut new = answer(200, "success", None);
        new.new_state = Some(true);
        assert_eq!(run(&mut m, resend, &new), Verdict::Held);
        // The resend was served: the request stayed open after the wrong code.
        assert_eq!(
            m.known().get(&readings::AFTER_WRONG),
            Some(after_wrong::OPEN)
        );
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
        assert_eq!(
            run(
                &mut m,
                initiate(Pick::Method(Method::Push)),
                &initiated(Method::Push, "phone")
            ),
            Verdict::Held
        );
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
        let init = initiate(Pick::Preferred);
        // The first factor instead of the preferred one.
        let v = run(&mut m, init.clone(), &initiated(Method::Totp, "phone"));
        assert!(
            matches!(v, Verdict::Diverged { rule, .. } if rule.id == rules::PREFERRED.id),
            "{v:?}"
        );
        let mut m = Model::new(sample_user(), 5, true);
        run(&mut m, init, &initiated(Method::Sms, "sms"));
        // A wrong code answered 400.
        let v = run(&mut m, wrong(0), &answer(400, "failed", Some("AUTH-1105")));
        assert!(
            matches!(v, Verdict::Diverged { rule, .. } if rule.id == rules::WRONG_CODE.id),
            "{v:?}"
        );
    }

    // Test case: the readings of when the lock falls are all allowed until an answer
    // shows one: after three counted attempts under a maximum of 3, a TOTP initiate may
    // be refused (at-the-maximum) or served (the other two); served, it shows that the
    // lock did not fall at the maximum, and the next attempt tells the remaining two
    // apart.
    #[test]
    fn the_lock_falls_where_the_tenant_reads_it() {
        let fresh = || {
            let mut m = Model::new(sample_user(), 3, false);
            run(
                &mut m,
                initiate(Pick::Preferred),
                &initiated(Method::Sms, "sms"),
            );
            // Two wrong codes, each on a request of its own (a second try on one request
            // would rest on verify/after-a-wrong-code).
            for req in 1..=2 {
                run(
                    &mut m,
                    initiate(Pick::Method(Method::Totp)),
                    &initiated(Method::Totp, "phone"),
                );
                assert_eq!(
                    run(
                        &mut m,
                        wrong(req),
                        &answer(401, "failed", Some("AUTH-1105"))
                    ),
                    Verdict::Held
                );
            }
            m
        };
        let m = fresh();
        assert_eq!(m.attempts(), (3, 3));
        let totp = initiate(Pick::Method(Method::Totp));
        let refused = answer(401, "failed", Some("AUTH-1010"));
        let when = |m: &Model| m.known().get(&readings::LOCK_WHEN);
        let locked = after(&m, &totp, &refused);
        assert_eq!(when(&locked), Some(lock_when::AT_THE_MAXIMUM));
        let served = after(&m, &totp, &initiated(Method::Totp, "phone"));
        assert_eq!(when(&served), None);
        // One more send: refused (at the next attempt) or sent (one past the maximum).
        let send = initiate(Pick::Method(Method::Sms));
        let next = after(&served, &send, &refused);
        assert_eq!(when(&next), Some(lock_when::AT_THE_NEXT_ATTEMPT));
        let past = after(&served, &send, &initiated(Method::Sms, "sms"));
        assert_eq!(when(&past), Some(lock_when::ONE_PAST_THE_MAXIMUM));
        // Either way the user is locked now, and a tenant that still serves is not.
        for mut m in [next, past] {
            assert_eq!(
                run(
                    &mut m,
                    totp.clone(),
                    &answer(401, "failed", Some("AUTH-1010"))
                ),
                Verdict::Held
            );
        }
        let mut late = served;
        run(
            &mut late,
            initiate(Pick::Method(Method::Sms)),
            &initiated(Method::Sms, "sms"),
        );
        let v = run(&mut late, totp, &initiated(Method::Totp, "phone"));
        assert!(
            matches!(v, Verdict::Diverged { rule, .. } if rule.id == rules::LOCKED.id),
            "{v:?}"
        );
    }

    // Test case: a reading that only the count shows stays two worlds until a lock
    // tells them apart: a refused requestState may or may not count.
    #[test]
    fn a_refused_request_state_is_two_worlds_until_the_lock_shows_one() {
        let mut m = Model::new(sample_user(), 3, false);
        run(
            &mut m,
            initiate(Pick::Preferred),
            &initiated(Method::Sms, "sms"),
        );
        run(
            &mut m,
            initiate(Pick::Method(Method::Totp)),
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
        assert_eq!(m.attempts(), (1, 2));
        assert_eq!(m.known().get(&readings::STATE_COUNTS), None);
        // A wrong code: the count is 2 or 3; a TOTP initiate served shows that it was 2
        // (or that the lock falls later): either way the refusal did not count under
        // at-the-maximum.
        run(&mut m, wrong(1), &answer(401, "failed", Some("AUTH-1105")));
        let mut refused = m.clone();
        assert_eq!(
            run(
                &mut refused,
                initiate(Pick::Method(Method::Totp)),
                &answer(401, "failed", Some("AUTH-1010"))
            ),
            Verdict::Held
        );
        assert_eq!(
            refused.known().get(&readings::STATE_COUNTS),
            Some(state_counts::COUNTED)
        );
        assert_eq!(
            run(
                &mut m,
                initiate(Pick::Method(Method::Totp)),
                &initiated(Method::Totp, "phone")
            ),
            Verdict::Held
        );
        assert!(m.worlds() >= 2, "still open: {} worlds", m.worlds());
    }

    // Test case: a tenant is held to the reading it showed: a poll of an SMS request
    // refused once must be refused again; answered pending, it diverges under rule
    // readings/held, naming the reading.
    #[test]
    fn a_shown_reading_is_held() {
        let mut m = Model::new(sample_user(), 5, false);
        run(
            &mut m,
            initiate(Pick::Preferred),
            &initiated(Method::Sms, "sms"),
        );
        let poll = Step::Poll { req: 0 };
        assert_eq!(
            run(
                &mut m,
                poll.clone(),
                &answer(400, "failed", Some("AUTH-1111"))
            ),
            Verdict::Held
        );
        assert_eq!(m.shown(), &[(poll_other::REFUSED, 2)]);
        // The next run of the same tenant starts with what it showed.
        let mut again = Model::with_readings(sample_user(), 5, false, m.known());
        run(
            &mut again,
            initiate(Pick::Preferred),
            &initiated(Method::Sms, "sms"),
        );
        let v = run(&mut again, poll, &answer(200, "pending", Some("AUTH-1108")));
        match v {
            Verdict::Diverged { rule, expected, .. } => {
                assert_eq!(rule.id, rules::READINGS_HELD.id);
                assert!(expected.contains("poll/other-method=refused"), "{expected}");
            }
            Verdict::Held => panic!("an inconsistent tenant held"),
        }
    }

    // Test case: an alternative taken out of the model is no longer allowed: the model
    // that excludes `poll/other-method=refused` fails a tenant that refuses the poll.
    #[test]
    fn an_excluded_alternative_fails_the_tenant_that_takes_it() {
        let mut m = Model::new(sample_user(), 5, false);
        m.exclude(poll_other::REFUSED);
        run(
            &mut m,
            initiate(Pick::Preferred),
            &initiated(Method::Sms, "sms"),
        );
        let v = run(&mut m, Step::Poll { req: 0 }, &answer(400, "failed", None));
        assert!(matches!(v, Verdict::Diverged { .. }), "{v:?}");
    }

    // Test case: outside strict mode the resolver never picks a step whose answer rests
    // on a decision of this project: a verified request, a reused bypass code. A poll
    // of another method and a retry after a wrong code are readings: picked in both.
    #[test]
    fn outside_strict_mode_inferred_rules_are_not_exercised() {
        for strict in [false, true] {
            let mut m = Model::new(sample_user(), 5, strict);
            run(
                &mut m,
                initiate(Pick::Method(Method::Bypasscode)),
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
            assert_eq!(m.resolve(&fresh).is_some(), strict, "a verified request");
            assert!(
                m.resolve(&Step::Poll { req: 0 }).is_some(),
                "a poll of BYPASSCODE"
            );
            run(
                &mut m,
                initiate(Pick::Method(Method::Bypasscode)),
                &initiated(Method::Bypasscode, "BypassCode"),
            );
            let reused = Step::VerifyBypass {
                req: 1,
                state: StateRef::Current,
                code: Bypass::Reused,
            };
            assert_eq!(m.resolve(&reused).is_some(), strict, "a reused code");
            let wrong = Step::VerifyBypass {
                req: 1,
                state: StateRef::Current,
                code: Bypass::Wrong,
            };
            run(&mut m, wrong.clone(), &answer(401, "failed", None));
            assert!(m.resolve(&wrong).is_some(), "a retry after a wrong code");
        }
    }
}
