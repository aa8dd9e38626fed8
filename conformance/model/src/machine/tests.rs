//! The model's unit tests.

use idcs_mfa_vocabulary::Status;

use super::*;
use crate::{
    attempts::{Counter, Event, Rules},
    readings::{self, ALL, after_wrong, lock_when, poll_other, state_counts},
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
