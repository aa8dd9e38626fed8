//! A tenant's answer, abstracted, and the answers the model allows (each with its rule
//! and its effect on the state).

use idcs_mfa_vocabulary::{AuthCode, Method, Status};

use crate::{
    readings::Alt,
    rules::{self, Rule},
};

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
    pub(super) fn new(rule: &'static Rule, status: u16) -> Self {
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

    pub(super) fn body(mut self, status: Status) -> Self {
        self.body_status = Some(status);
        self
    }

    /// The cause the rule requires: this code, with this message when a tenant sends it.
    pub(super) fn code(mut self, code: AuthCode, message: &'static str) -> Self {
        self.code = Some(code.clone());
        self.cause = Some((code, message));
        self
    }

    /// The cause a tenant playing this alternative sends, where the rule requires none.
    pub(super) fn says(mut self, code: AuthCode, message: &'static str) -> Self {
        self.cause = Some((code, message));
        self
    }

    /// Not the lock's answer: a refusal for another reason does not say AUTH-1010.
    pub(super) fn not_the_lock(mut self) -> Self {
        self.not_code = Some(AuthCode::AccountLocked);
        self
    }

    pub(super) fn effect(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }

    pub(super) fn stands_for(mut self, alt: Alt) -> Self {
        self.reading = Some(alt);
        self
    }

    /// Any of [`REFUSALS`] (the mock sends `status`).
    pub(super) fn or_any_refusal(mut self) -> Self {
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
    pub(super) fn outcome(mut self) -> Self {
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
