//! The request life cycle of one test user, and what a tenant may answer to each step,
//! as a pure state machine: no I/O, no clock, no randomness.
//!
//! A [`Step`] is an abstract operation on the test user (initiate, resend, verify with
//! the right or a wrong code, poll, the phone's decision, a look-up). The model answers
//! each with an [`Expectation`]: the set of answers the documents allow after the
//! history so far, each alternative with the effect it has on the state, and the
//! [`Rule`](crate::rules::Rule) it comes from. The caller sends the step to a tenant, abstracts the answer
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
//!
//! # Layout
//!
//! - `step.rs`: the test user ([`User`], [`Factor`]) and the steps a sequence takes
//!   ([`Step`]);
//! - `answer.rs`: a tenant's answer, abstracted ([`Answer`]), and what the model allows
//!   ([`Expectation`], [`Allowed`], each with its [`Effect`]);
//! - `world.rs`: one possible tenant (its alternatives, count, lock and [`Request`]s);
//! - `allowed.rs`: every answer a world allows to a step, and how an answer moves it;
//! - this file: the [`Model`] (forking worlds, judging answers, what a tenant showed).

mod allowed;
mod answer;
mod step;
#[cfg(test)]
mod tests;
mod world;

pub use answer::{Allowed, Answer, Effect, Expectation, Outcome, REFUSALS, Verdict};
pub(crate) use step::sample_user;
pub use step::{Bypass, Code, Factor, LATEST, Pick, StateRef, Step, User, Who};
pub use world::Request;

use idcs_mfa_vocabulary::{AuthCode, Method};

use allowed::{answers, apply, consult_lock, decision, lock_answer, refusal, state_of, take};
use world::{Env, Open, World};

use crate::{
    readings::{Alt, Choices, push_expired_counts, push_expiry},
    rules,
};

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
        let otp = |r: &Request| r.method.takes_otp();
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
                req: pick(*req, &|r| r.method.can_resend())?,
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
                take(&mut self.worlds[i], max, &d);
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
    pub fn take(&mut self, taken: &Allowed) {
        if taken.world >= self.worlds.len() {
            return;
        }
        // In place: a copy would cost the user's whole history on every answer.
        let mut w = self.worlds.swap_remove(taken.world);
        take(&mut w, self.max_attempts, taken);
        self.worlds.clear();
        self.worlds.push(w);
    }
}
