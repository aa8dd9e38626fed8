//! Sequence checks: generated sequences of operations on the test user, each step
//! held to what the [model](idcs_mfa_mock::model::machine) allows after the history so far.
//!
//! A tenant that keeps every single-request rule can still break the rules that only
//! show across a sequence: the attempt count, which requestState opens which request,
//! what a finished request still accepts, which code works once. Each case draws a
//! sequence of abstract [`Step`]s (seeded, so a seed replays it), runs it against the
//! target from an attempt count of 0 (the runner resets it first), abstracts each
//! answer and asks the model whether the documents allow it. A divergence is shrunk to
//! a minimal sequence (fewest steps, then simplest steps; each candidate is run again
//! from a fresh count) and reported as a numbered script: a `curl` per request with the
//! token as `$IDCS_TOKEN` and secrets redacted, the fixture commands where a step needs
//! the phone, the model's expectation and the tenant's answer at the diverging step,
//! and the rule's quoted sentence.
//!
//! Safe on a real tenant: a step that could take the predicted attempt count past the
//! run's ceiling is left out (not sent) unless `--allow-lockout` is given and the runner
//! can unlock the user, bypass codes come only from the profile's
//! supply, every request waits for the rate limiter, and a step that needs a fixture
//! the target lacks is left out.

use idcs_mfa::{Error, Initiate, Method, Secret, UserRef, Verification, types};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};

use idcs_mfa_mock::model::{
    Evidence,
    machine::{
        Answer, Bypass, Code, Factor, LATEST, Model, Pick, StateRef, Step, User, Verdict, Who,
    },
    rules,
};

use crate::{
    check,
    checks::unknown_id,
    guard::{self, Limits},
    harness::Ctx,
    harness::{Check, CheckResult, Fail},
};

/// The sequence checks.
pub const CHECKS: &[Check] = &[check! {
    id: "sequences/model",
    operation: CompleteVerification,
    quote: "Every step of a generated sequence of initiates, resends, verifications, polls, PUSH decisions and look-ups answers as the documents allow after the history so far (the model's rules, each quoted where it is broken).",
    source: "[VERIFY]",
    evidence: Stated,
    needs: [CountAtZero],
    run: sequences,
}];

/// Shrinking stops after this many candidate sequences.
const MAX_SHRINK_RUNS: u32 = 64;

fn state() -> impl Strategy<Value = StateRef> {
    prop_oneof![
        6 => Just(StateRef::Current),
        2 => Just(StateRef::Stale),
        2 => Just(StateRef::OfAnother),
    ]
}

fn code() -> impl Strategy<Value = Code> {
    prop_oneof![Just(Code::Right), Just(Code::Wrong)]
}

fn user() -> impl Strategy<Value = Who> {
    prop_oneof![3 => Just(Who::Guid), 1 => Just(Who::Name)]
}

/// What a user does with the latest OTP request: verify, resend, poll.
fn otp_action() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (state(), code()).prop_map(|(state, code)| Step::VerifyOtp { req: LATEST, state, code }),
        1 => state().prop_map(|state| Step::Resend { req: LATEST, state }),
        1 => Just(Step::Poll { req: LATEST }),
    ]
}

fn otp_method_again() -> impl Strategy<Value = Pick> {
    prop_oneof![
        Just(Pick::Method(Method::Totp)),
        Just(Pick::Preferred),
        Just(Pick::Method(Method::Email)),
    ]
}

/// A flow: an initiate and what follows on that request, or a step on its own. The
/// earlier alternatives are the simpler ones: shrinking moves towards them.
fn flow() -> BoxedStrategy<Vec<Step>> {
    let initiate = |pick: Pick| {
        user().prop_map(move |who| Step::Initiate {
            who,
            pick: pick.clone(),
        })
    };
    let otp_method = prop_oneof![
        Just(Pick::Preferred),
        Just(Pick::Method(Method::Totp)),
        Just(Pick::Method(Method::Sms)),
        Just(Pick::Method(Method::Email)),
        Just(Pick::Method(Method::PhoneCall)),
    ];
    prop_oneof![
        2 => user().prop_map(|who| vec![Step::Lookup { who }]),
        1 => prop_oneof![Just(Pick::Preferred), Just(Pick::Method(Method::Totp))]
            .prop_map(|pick| vec![Step::Initiate { who: Who::Unknown, pick }]),
        1 => Just(vec![Step::Lookup { who: Who::Unknown }]),
        6 => (otp_method.prop_flat_map(initiate), proptest::collection::vec(otp_action(), 0..=3))
            .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect()),
        3 => (initiate(Pick::Method(Method::Push)), any::<bool>(), any::<bool>())
            .prop_map(|(first, approve, poll_first)| {
                let mut steps = vec![first];
                if poll_first {
                    steps.push(Step::Poll { req: LATEST });
                }
                steps.push(Step::Decide { req: LATEST, approve });
                steps.push(Step::Poll { req: LATEST });
                steps
            }),
        2 => (initiate(Pick::Method(Method::Bypasscode)), proptest::collection::vec(
                (state(), prop_oneof![Just(Bypass::Fresh), Just(Bypass::Wrong), Just(Bypass::Reused)]),
                1..=2,
            ))
            .prop_map(|(first, rest)| {
                std::iter::once(first)
                    .chain(rest.into_iter().map(|(state, code)| Step::VerifyBypass { req: LATEST, state, code }))
                    .collect()
            }),
        2 => (initiate(Pick::Method(Method::SecurityQuestions)), proptest::collection::vec((state(), code()), 1..=2))
            .prop_map(|(first, rest)| {
                std::iter::once(first)
                    .chain(rest.into_iter().map(|(state, code)| Step::VerifyAnswers { req: LATEST, state, code }))
                    .collect()
            }),
        2 => (0usize..4, state(), code())
            .prop_map(|(req, state, code)| vec![Step::VerifyOtp { req, state, code }]),
        // Towards the lockout: wrong codes in a row.
        2 => (otp_method_again(), 2usize..=5).prop_flat_map(move |(pick, wrong)| {
            user().prop_map(move |who| {
                std::iter::once(Step::Initiate { who, pick: pick.clone() })
                    .chain((0..wrong).map(|_| Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Wrong }))
                    .chain(std::iter::once(Step::Initiate { who, pick: Pick::Method(Method::Totp) }))
                    .collect()
            })
        }),
        // A bypass code, then the same code on a new request.
        1 => Just(vec![
            Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Bypasscode) },
            Step::VerifyBypass { req: LATEST, state: StateRef::Current, code: Bypass::Fresh },
            Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Bypasscode) },
            Step::VerifyBypass { req: LATEST, state: StateRef::Current, code: Bypass::Reused },
        ]),
        // OTPs sent in a row, then a request that sends nothing.
        1 => (prop_oneof![Just(Method::Sms), Just(Method::Email), Just(Method::PhoneCall)], 2usize..=5)
            .prop_map(|(m, sends)| {
                (0..sends)
                    .map(|_| Step::Initiate { who: Who::Guid, pick: Pick::Method(m.clone()) })
                    .chain(std::iter::once(Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Totp) }))
                    .collect()
            }),
        // Without a token: an initiate that sends no OTP (so that nothing could count
        // even on a tenant that serves it), or the right code, then the same code with
        // the token: the refused request changed nothing.
        1 => prop_oneof![
            Just(Pick::Method(Method::Totp)),
            Just(Pick::Method(Method::Bypasscode)),
            Just(Pick::Method(Method::SecurityQuestions)),
        ]
        .prop_map(|pick| vec![Step::Unauthenticated(Box::new(Step::Initiate { who: Who::Guid, pick }))]),
        1 => Just(vec![
            Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Totp) },
            Step::Unauthenticated(Box::new(Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Right })),
            Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Right },
        ]),
        // A resend, then a code with the state it replaced.
        2 => (prop_oneof![Just(Method::Sms), Just(Method::Email), Just(Method::PhoneCall)], code())
            .prop_map(|(m, code)| vec![
                Step::Initiate { who: Who::Guid, pick: Pick::Method(m) },
                Step::Resend { req: LATEST, state: StateRef::Current },
                Step::VerifyOtp { req: LATEST, state: StateRef::Stale, code },
            ]),
    ]
    .boxed()
}

/// Rules of the model no drawn step reaches: the clock's (a PUSH expires after two
/// minutes, too long to wait for on a tenant) and the token refusals a step without a
/// token cannot show (an expired token, a token without an app role; named checks
/// cover those).
const NOT_DRAWN: &[&rules::Rule] = &[
    &rules::PUSH_EXPIRED,
    &rules::TOKEN_EXPIRED,
    &rules::ROLE_REQUIRED,
];

/// The note of a run whose sequence checks ran: which of the model's rules were
/// judged. The model's inferred rules (this project's decisions) are judged only in
/// strict mode, which also holds every silent point to the project's decision.
pub fn rules_note(strict: bool) -> String {
    let inferred: Vec<&str> = rules::ALL
        .iter()
        .filter(|r| r.evidence == Evidence::Inferred && !NOT_DRAWN.contains(r))
        .map(|r| r.id)
        .collect();
    if strict {
        format!(
            "sequences/model (--strict) also judged the model's inferred rules ({}) and held each silent point to this project's decision",
            inferred.join(", ")
        )
    } else {
        format!(
            "sequences/model judged what the documents state and Oracle's captures show; the model's inferred rules ({}) are judged only with --strict",
            inferred.join(", ")
        )
    }
}

/// A sequence: flows one after another, cut at `max_steps`. A bypass code reused in a
/// later flow than its first use comes from the `Reused` steps.
pub fn sequence(max_steps: usize) -> impl Strategy<Value = Vec<Step>> {
    let max = max_steps.max(1);
    proptest::collection::vec(flow(), 1..=4).prop_map(move |flows| {
        let mut steps: Vec<Step> = flows.into_iter().flatten().collect();
        steps.truncate(max);
        steps
    })
}

/// Where a sequence left the model.
#[derive(Debug)]
pub struct Divergence {
    /// The steps that ran (the last one diverged), as numbered lines.
    pub script: Vec<String>,
    /// The rule's id.
    pub rule: &'static str,
    /// The rule's quoted sentence and source.
    pub quote: String,
    /// What the model allowed.
    pub expected: String,
    /// What the tenant answered.
    pub actual: String,
}

/// What running one sequence found.
#[derive(Debug)]
pub enum Run {
    /// Every step that ran held; how many ran.
    Held(usize),
    /// A step diverged.
    Diverged(Box<Divergence>),
    /// The sequence could not run (a reset or a fixture failed): not a verdict.
    Skipped(String),
}

/// One request the sequence created, with what the runner knows of it.
struct Live {
    v: Verification,
    states: Vec<Secret>,
    questions: Vec<String>,
}

async fn sequences(cx: &Ctx) -> CheckResult {
    let props = cx.target.props;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&props.seed.wrapping_add(0x5e9).to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: props.sequences,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = sequence(props.max_steps);
    let mut steps_run = 0usize;
    for case in 0..props.sequences {
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|e| Fail::skip(format!("cannot generate sequences: {e}")))?;
        let drawn = tree.current().len();
        let first = match run_sequence(cx, &tree.current()).await {
            Run::Held(n) => {
                steps_run += n;
                continue;
            }
            Run::Skipped(why) => return Err(Fail::skip(why)),
            Run::Diverged(d) => d,
        };
        // Shrink: simplify while it diverges, complicate back when a candidate holds.
        let mut minimal = (tree.current(), first);
        let mut diverging = true;
        let mut runs = 0;
        while runs < MAX_SHRINK_RUNS {
            let moved = if diverging {
                tree.simplify()
            } else {
                tree.complicate()
            };
            if !moved {
                break;
            }
            runs += 1;
            match run_sequence(cx, &tree.current()).await {
                Run::Diverged(d) => {
                    minimal = (tree.current(), d);
                    diverging = true;
                }
                Run::Held(_) => diverging = false,
                Run::Skipped(_) => break,
            }
        }
        // Then fewest steps: drop one step at a time while the same rule still breaks
        // (proptest shrinks flows; this takes out single steps inside them).
        let (mut steps, mut d) = minimal;
        let mut i = 0;
        let mut removals = 0;
        while i < steps.len() && removals < MAX_SHRINK_RUNS {
            let mut candidate = steps.clone();
            candidate.remove(i);
            runs += 1;
            removals += 1;
            match run_sequence(cx, &candidate).await {
                Run::Diverged(shorter) if shorter.rule == d.rule => {
                    steps = candidate;
                    d = shorter;
                }
                _ => i += 1,
            }
        }
        // Run the minimal sequence once more, so that its exchanges are the report's last.
        if let Run::Diverged(last) = run_sequence(cx, &steps).await {
            d = last;
        }
        return Err(Fail::mismatch(
            format!("{} ({}): {}", d.rule, d.quote, d.expected),
            format!(
                "sequence {} of {} (seed {}) diverged; shrunk in {runs} runs from {drawn} drawn steps to {} ({} sent):\n{}\n  the tenant answered: {}",
                case + 1,
                props.sequences,
                props.seed,
                steps.len(),
                d.script.len(),
                d.script.join("\n"),
                d.actual
            ),
        ));
    }
    if steps_run == 0 {
        return Err(Fail::skip(
            "no generated step could run here (no fixtures, or the attempt ceiling is 0)",
        ));
    }
    Ok(())
}

/// The model's view of the test user, from the tenant's listing.
async fn user_of(cx: &Ctx) -> Result<User, String> {
    let factors = cx
        .target
        .factors()
        .await
        .ok_or("the test user's factors could not be read")?;
    Ok(User {
        guid: cx.target.user.guid.clone(),
        name: cx.target.user.name.clone().unwrap_or_default(),
        factors: factors
            .factors
            .iter()
            .map(|f| Factor {
                id: f.factor_id.clone(),
                methods: f.methods.clone(),
            })
            .collect(),
        preferred: factors
            .preferred_factor_id
            .clone()
            .zip(factors.preferred_method.clone()),
    })
}

/// Runs `steps` from a count of 0. Public for tests.
pub async fn run_sequence(cx: &Ctx, steps: &[Step]) -> Run {
    let target = &cx.target;
    let limits = Limits::of(target);
    // Each sequence starts from a count of 0, so that runs (and shrink candidates) are
    // independent: an unlock where the runner can (it holds even on a tenant that does
    // not reset on success), else a successful verification.
    let reset = if target.can_unlock() {
        target.unlock_user().await
    } else {
        guard::reset_count(&target.clone(), limits)
            .await
            .map(|_| ())
    };
    if let Err(why) = reset {
        return Run::Skipped(format!(
            "the attempt count could not be reset to 0 before a sequence: {why}"
        ));
    }
    let user = match user_of(cx).await {
        Ok(u) => u,
        Err(e) => return Run::Skipped(e),
    };
    let max = limits.max_attempts;
    let mut model = Model::new(user, max, cx.target.props.strict);
    // Sequences drive the user into lockout only when asked to (--allow-lockout) and
    // when the runner can unlock them afterwards: otherwise they keep to the ceiling.
    let may_lock = target.allow_lockout && target.can_unlock();
    // A context of its own: its exchanges become the script, then the check's.
    let run_cx = Ctx::new(cx.target.clone());
    let mut live: Vec<Live> = Vec::new();
    let mut used_codes: Vec<Secret> = Vec::new();
    let mut script = Vec::new();
    let mut ran = 0;
    for raw in steps {
        let Some(step) = model.resolve(raw) else {
            continue;
        };
        if !can_run(cx, &step) {
            continue;
        }
        let predicted = target.ledger.state().count.max(model.attempts().1);
        if !may_lock && predicted + step.worst_spend() > limits.ceiling {
            continue;
        }
        let Some(expectation) = model.expect(&step) else {
            // The phone decides; wait until the tenant shows it.
            let Step::Decide { req, approve } = step else {
                continue;
            };
            let l = &live[req];
            script.push(format!(
                "{:>2}. # the phone {}s the PUSH: push_command with IDCS_REQUEST_ID={} IDCS_PUSH_ACTION={}",
                script.len() + 1,
                if approve { "approve" } else { "reject" },
                l.v.request_id(),
                if approve { "approve" } else { "reject" }
            ));
            if let Err(e) = run_cx.act_on_push(&l.v, approve).await {
                return Run::Skipped(format!("the PUSH fixture failed: {e}"));
            }
            // The decision may take a moment to reach the tenant: poll (unjudged) until
            // the request is no longer pending, for a bounded time.
            for _ in 0..10 {
                match run_cx
                    .client()
                    .get_verification_status(l.v.request_id())
                    .await
                {
                    Ok(r) if r.value.status.to_string() == "pending" => {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    _ => break,
                }
            }
            for e in run_cx.take_exchanges() {
                cx.keep(e);
            }
            ran += 1;
            continue;
        };
        // Where the step's redacted inputs come from, for a reader who runs the script.
        let inputs = inputs_of(&step, &live);
        let answer = match send(&run_cx, &step, &mut live, &mut used_codes, &model).await {
            Ok(a) => a,
            Err(skip) => return Run::Skipped(skip),
        };
        for e in run_cx.take_exchanges() {
            let comment = inputs
                .as_ref()
                .filter(|_| e.method == "PATCH")
                .map(|c| format!("   # {c}"))
                .unwrap_or_default();
            script.push(format!(
                "{:>2}. {}{comment}",
                script.len() + 1,
                e.redacted().to_curl()
            ));
            cx.keep(e);
        }
        ran += 1;
        if let Verdict::Diverged {
            rule,
            expected,
            actual,
        } = model.observe(&step, &expectation, &answer)
        {
            return Run::Diverged(Box::new(Divergence {
                script,
                rule: rule.id,
                quote: format!(
                    "\"{}\" [{}]",
                    rule.quote,
                    rule.source.trim_matches(['[', ']'])
                ),
                expected,
                actual,
            }));
        }
    }
    Run::Held(ran)
}

/// Whether the target has what `step` needs (fixtures, a user name).
fn can_run(cx: &Ctx, step: &Step) -> bool {
    let f = &cx.target.fixtures;
    match step {
        Step::Unauthenticated(inner) => can_run(cx, inner),
        Step::Initiate { who: Who::Name, .. } | Step::Lookup { who: Who::Name } => {
            cx.target.user.name.is_some()
        }
        Step::Decide { .. } => f.push.is_some(),
        Step::VerifyBypass {
            code: Bypass::Fresh,
            ..
        } => f.bypass_codes.lock().is_ok_and(|c| !c.is_empty()),
        Step::VerifyAnswers {
            code: Code::Right, ..
        } => !f.answers.is_empty(),
        _ => true,
    }
}

fn user_ref(cx: &Ctx, who: Who) -> UserRef {
    match who {
        Who::Guid => UserRef::Guid(cx.target.user.guid.clone()),
        Who::Name => UserRef::Name(cx.target.user.name.clone().unwrap_or_default()),
        Who::Unknown => UserRef::Guid(unknown_id()),
    }
}

/// Sends `step` and abstracts the answer (an unauthenticated step: its inner step,
/// with no `Authorization` header).
async fn send(
    cx: &Ctx,
    step: &Step,
    live: &mut Vec<Live>,
    used_codes: &mut Vec<Secret>,
    model: &Model,
) -> Result<Answer, String> {
    let without_token;
    let (client, step) = match step {
        Step::Unauthenticated(inner) => {
            without_token = cx.client_with(None);
            (&without_token, &**inner)
        }
        step => (cx.client(), step),
    };
    match step {
        Step::Initiate { who, pick } => {
            let user = user_ref(cx, *who);
            let what = match pick {
                Pick::Preferred => Initiate::preferred(user),
                Pick::Method(m) => {
                    let factor = model_factor(model, m);
                    Initiate::factor(user, factor, m.clone())
                }
                Pick::Factor(id, m) => Initiate::factor(user, id.clone(), m.clone()),
            };
            match client.initiate_verification(&what.to_body()).await {
                Ok(r) => {
                    let v = Verification::from_initiated(r.value.clone());
                    let answer = Answer {
                        status: r.status.as_u16(),
                        body_status: Some(r.value.status.to_string()),
                        new_state: Some(true),
                        method: Some(r.value.method.clone()),
                        factor_id: Some(r.value.factor_id.clone()),
                        ..Answer::default()
                    };
                    live.push(Live {
                        states: vec![v.request_state().clone()],
                        questions: v
                            .security_questions()
                            .iter()
                            .map(|q| q.id.clone())
                            .collect(),
                        v,
                    });
                    Ok(answer)
                }
                Err(e) => Ok(answer_of_error(&e)),
            }
        }
        Step::Lookup { who } => {
            let result = match who {
                Who::Name => {
                    client
                        .lookup_user_factors(
                            cx.target.user.name.as_deref().unwrap_or_default(),
                            types::UserIdType::UserName,
                        )
                        .await
                }
                Who::Guid => client.get_user_factors(&cx.target.user.guid).await,
                Who::Unknown => client.get_user_factors(&unknown_id()).await,
            };
            match result {
                Ok(r) => {
                    let mut ids: Vec<String> = r
                        .value
                        .factors
                        .iter()
                        .map(|f| f.factor_id.clone())
                        .collect();
                    ids.sort();
                    Ok(Answer {
                        status: r.status.as_u16(),
                        body_status: Some(r.value.status.to_string()),
                        factors: Some(ids),
                        ..Answer::default()
                    })
                }
                Err(e) => Ok(answer_of_error(&e)),
            }
        }
        Step::Poll { req } => {
            let id = live[*req].v.request_id().to_owned();
            match client.get_verification_status(&id).await {
                Ok(r) => Ok(Answer {
                    status: r.status.as_u16(),
                    body_status: Some(r.value.status.to_string()),
                    codes: r.value.cause.iter().map(|c| c.code.clone()).collect(),
                    ..Answer::default()
                }),
                Err(e) => Ok(answer_of_error(&e)),
            }
        }
        Step::Resend { req, state }
        | Step::VerifyOtp { req, state, .. }
        | Step::VerifyBypass { req, state, .. }
        | Step::VerifyAnswers { req, state, .. } => {
            let presented = pick_state(live, *req, *state);
            // A fresh bypass code is used up only by a verification that succeeds.
            let mut fresh = None;
            let mut body = types::CompleteFactorVerification {
                bypass_code: None,
                otp_code: None,
                request_state: presented,
                resend_otp: None,
                security_questions: Vec::new(),
            };
            match step {
                Step::Resend { .. } => body.resend_otp = Some(true),
                Step::VerifyOtp { code, .. } => {
                    body.otp_code = Some(otp_for(cx, &live[*req], *code).await?);
                }
                Step::VerifyBypass { code, .. } => {
                    body.bypass_code = Some(match code {
                        Bypass::Fresh => {
                            let c = cx.take_bypass_code().map_err(|e| e.to_string())?;
                            fresh = Some(c.clone());
                            c
                        }
                        Bypass::Reused => used_codes
                            .last()
                            .cloned()
                            .unwrap_or_else(|| Secret::new("000000000000")),
                        Bypass::Wrong => Secret::new(format!("9{}", &unknown_id()[..11])),
                    });
                }
                Step::VerifyAnswers { code, .. } => {
                    body.security_questions = live[*req]
                        .questions
                        .iter()
                        .map(|id| types::SecQuesVerification {
                            id: id.clone(),
                            answer: match code {
                                Code::Right => cx
                                    .target
                                    .fixtures
                                    .answers
                                    .get(id)
                                    .cloned()
                                    .unwrap_or_else(|| Secret::new("no answer")),
                                Code::Wrong => Secret::new(format!("wrong {}", unknown_id())),
                            },
                        })
                        .collect();
                }
                _ => {}
            }
            let id = live[*req].v.request_id().to_owned();
            match client.complete_verification(&id, &body).await {
                Ok(r) => {
                    if let Some(code) = fresh {
                        used_codes.push(code);
                    }
                    let returned = r.value.request_state.clone();
                    let new_state = Some(
                        returned
                            .as_ref()
                            .is_some_and(|s| !live.iter().any(|l| l.states.contains(s))),
                    );
                    if let Some(s) = returned {
                        live[*req].states.push(s);
                    }
                    Ok(Answer {
                        status: r.status.as_u16(),
                        body_status: Some(r.value.status.to_string()),
                        new_state,
                        ..Answer::default()
                    })
                }
                Err(e) => Ok(answer_of_error(&e)),
            }
        }
        Step::Decide { .. } | Step::Unauthenticated(_) => {
            Err("a decision, or a step wrapped twice, is not sent".into())
        }
    }
}

/// Where the redacted members of a PATCH come from: the requestState (which line's
/// answer returned it) and the code, with the profile's fixture that gives it.
fn inputs_of(step: &Step, live: &[Live]) -> Option<String> {
    let step = match step {
        Step::Unauthenticated(inner) => inner,
        step => step,
    };
    let (req, state) = match step {
        Step::Resend { req, state }
        | Step::VerifyOtp { req, state, .. }
        | Step::VerifyBypass { req, state, .. }
        | Step::VerifyAnswers { req, state, .. } => (*req, *state),
        _ => return None,
    };
    let l = live.get(req)?;
    let id = l.v.request_id();
    let state = match state {
        StateRef::Current => format!("the latest requestState of request {id}"),
        StateRef::Stale => format!("a requestState of request {id} that a resend replaced"),
        StateRef::OfAnother => "the requestState of another request".to_owned(),
    };
    let code = match step {
        Step::VerifyOtp {
            code: Code::Right, ..
        } if *l.v.method() == Method::Totp => {
            "otpCode: the TOTP of fixtures.totp_secret_env, now".to_owned()
        }
        Step::VerifyOtp {
            code: Code::Right, ..
        } => format!(
            "otpCode: the delivered OTP (otp_command with IDCS_REQUEST_ID={id} IDCS_METHOD={})",
            l.v.method()
        ),
        Step::VerifyOtp { .. } => "otpCode: a wrong code".to_owned(),
        Step::VerifyBypass {
            code: Bypass::Fresh,
            ..
        } => "bypassCode: an unused one of fixtures.bypass_codes_env".to_owned(),
        Step::VerifyBypass {
            code: Bypass::Reused,
            ..
        } => "bypassCode: the one an earlier line used".to_owned(),
        Step::VerifyBypass { .. } => "bypassCode: one never issued".to_owned(),
        Step::VerifyAnswers {
            code: Code::Right, ..
        } => "securityQuestions: the answers of fixtures.security_answers_env".to_owned(),
        Step::VerifyAnswers { .. } => "securityQuestions: wrong answers".to_owned(),
        _ => return Some(format!("requestState: {state}")),
    };
    Some(format!("{code}; requestState: {state}"))
}

fn model_factor(model: &Model, method: &Method) -> String {
    model
        .factor_with(method)
        .map(|f| f.id.clone())
        .unwrap_or_default()
}

/// The requestState a PATCH presents.
fn pick_state(live: &[Live], req: usize, state: StateRef) -> Secret {
    let own = &live[req].states;
    match state {
        StateRef::Current => own.last().cloned(),
        StateRef::Stale => own.iter().rev().nth(1).cloned(),
        StateRef::OfAnother => live
            .iter()
            .enumerate()
            .rev()
            .find(|(i, _)| *i != req)
            .and_then(|(_, l)| l.states.last().cloned()),
    }
    .or_else(|| own.last().cloned())
    .unwrap_or_else(|| Secret::new("x"))
}

/// The right or a wrong code for `l`.
async fn otp_for(cx: &Ctx, l: &Live, code: Code) -> Result<Secret, String> {
    let right = if *l.v.method() == Method::Totp {
        cx.totp_now().map(|(_, c)| c).map_err(|e| e.to_string())?
    } else if code == Code::Right {
        cx.delivered_otp(&l.v).await.map_err(|e| e.to_string())?
    } else {
        Secret::new("")
    };
    Ok(match code {
        Code::Right => right,
        Code::Wrong if right.expose() == "000000" => Secret::new("111111"),
        Code::Wrong => Secret::new("000000"),
    })
}

fn answer_of_error(e: &Error) -> Answer {
    Answer {
        status: e.status().map_or(0, |s| s.as_u16()),
        body_status: e.body().map(|b| b.status.to_string()),
        codes: e.causes().iter().map(|c| c.code.clone()).collect(),
        ec_id: e.ec_id().is_some_and(|id| !id.is_empty()),
        ..Answer::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: &str, method: Method) -> Live {
        let v = Verification::from_initiated(types::InitiatedVerification {
            status: idcs_mfa::Status::Success,
            request_id: id.into(),
            user_guid: "u".into(),
            factor_id: "f".into(),
            method,
            display_name: None,
            request_state: Secret::new("s1"),
            security_questions: Vec::new(),
        });
        Live {
            states: vec![v.request_state().clone()],
            questions: Vec::new(),
            v,
        }
    }

    // Test case: a script line says where a PATCH's redacted code and requestState come
    // from: the OTP command with the request id for a delivered OTP, the TOTP secret,
    // the bypass supply; which request's state; nothing for a step that is not a PATCH.
    #[test]
    fn a_patch_says_where_its_inputs_come_from() {
        let live = vec![live("r-sms", Method::Sms), live("r-totp", Method::Totp)];
        let otp = |req, state, code| inputs_of(&Step::VerifyOtp { req, state, code }, &live);
        assert_eq!(
            otp(0, StateRef::Current, Code::Right).as_deref(),
            Some(
                "otpCode: the delivered OTP (otp_command with IDCS_REQUEST_ID=r-sms IDCS_METHOD=SMS); requestState: the latest requestState of request r-sms"
            )
        );
        assert!(
            otp(1, StateRef::Stale, Code::Right).is_some_and(
                |c| c.contains("totp_secret_env") && c.contains("that a resend replaced")
            )
        );
        assert!(otp(1, StateRef::OfAnother, Code::Wrong).is_some_and(|c| {
            c.starts_with("otpCode: a wrong code") && c.ends_with("another request")
        }));
        let bypass = Step::Unauthenticated(Box::new(Step::VerifyBypass {
            req: 0,
            state: StateRef::Current,
            code: Bypass::Fresh,
        }));
        assert!(inputs_of(&bypass, &live).is_some_and(|c| c.contains("bypass_codes_env")));
        let resend = Step::Resend {
            req: 0,
            state: StateRef::Current,
        };
        assert_eq!(
            inputs_of(&resend, &live).as_deref(),
            Some("requestState: the latest requestState of request r-sms")
        );
        assert_eq!(inputs_of(&Step::Poll { req: 0 }, &live), None);
    }
}
