//! What a world allows a tenant to answer to each step, and how each answer moves it.

use idcs_mfa_vocabulary::{AuthCode, Method, Status};

use super::{
    Allowed, Bypass, Code, Effect, Env, Open, Outcome, Pick, Request, StateRef, Step, Who, World,
};
use crate::{
    readings::{
        self, after_wrong, finished_answer, finished_counts, initiate_unknown_user, lock_lookup,
        lock_when, order_lock_finished, order_lock_state, order_state_finished, poll_other,
        push_after_outcome, push_expiry, push_rejected_counts, resend_after_wrong, state_counts,
    },
    rules::{self, Rule},
};

/// The lock's answer.
pub(super) fn lock_answer() -> Allowed {
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
pub(super) fn consult_lock(w: &World, max: u32) -> Result<(), Open> {
    if !w.locked && w.count.saturating_add(1) >= max {
        w.alt(&readings::LOCK_WHEN)?;
    }
    Ok(())
}

/// The lock, as this world's reading of `lock/when` applies it to the answers of a
/// request operation: a locked user is refused whatever the step; at the maximum, under
/// `at-the-next-attempt`, an answer that would count is refused and locks.
pub(super) fn gated(env: &Env<'_>, w: &World, normal: Vec<Allowed>) -> Result<Vec<Allowed>, Open> {
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
pub(super) fn decision(
    env: &Env<'_>,
    w: &World,
    req: usize,
    approve: bool,
) -> Result<Allowed, Open> {
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
pub(super) fn refusal(
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
pub(super) fn answers(env: &Env<'_>, w: &World, step: &Step) -> Result<Vec<Allowed>, Open> {
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
pub(super) fn take(w: &mut World, max: u32, taken: &Allowed) {
    for e in &taken.effects {
        apply(w, max, e);
    }
}

pub(super) fn apply(w: &mut World, max: u32, effect: &Effect) {
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

pub(super) fn state_of(step: &Step) -> Option<StateRef> {
    match step {
        Step::Resend { state, .. }
        | Step::VerifyOtp { state, .. }
        | Step::VerifyBypass { state, .. }
        | Step::VerifyAnswers { state, .. } => Some(*state),
        _ => None,
    }
}
