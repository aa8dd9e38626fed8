//! Sequence checks: generated sequences of operations on the test user, each step
//! held to what the [model](idcs_mfa_model::machine) allows after the history so far.
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

use idcs_mfa_model::{
    Evidence,
    machine::{
        Answer, Bypass, Code, Expectation, Factor, LATEST, Model, Pick, StateRef, Step, User,
        Verdict, Who,
    },
    readings::{Alt, Choices},
    rules,
};

use crate::{
    check,
    checks::{
        shrink::{Candidate, shrink},
        unknown_id,
    },
    guard::{self, Limits, ResetError},
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
        // Towards the lockout: wrong codes in a row, each on a request of its own (a
        // second try on one request rests on verify/after-a-wrong-code), past the
        // maximum whichever reading of lock/when the tenant takes; then a request that
        // sends nothing.
        2 => (otp_method_again(), 2usize..=7).prop_flat_map(move |(pick, wrong)| {
            user().prop_map(move |who| {
                (0..wrong)
                    .flat_map(|_| [
                        Step::Initiate { who, pick: pick.clone() },
                        Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Wrong },
                    ])
                    .chain(std::iter::once(Step::Initiate { who, pick: Pick::Method(Method::Totp) }))
                    .collect()
            })
        }),
        // Wrong codes on one request, then the right one or a resend: a second try is a
        // reading (verify/after-a-wrong-code), a resend after it too.
        2 => (otp_method_again(), 1usize..=2, prop_oneof![
                Just(Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Right }),
                Just(Step::Resend { req: LATEST, state: StateRef::Current }),
            ])
            .prop_map(|(pick, wrong, then)| {
                std::iter::once(Step::Initiate { who: Who::Guid, pick })
                    .chain((0..wrong).map(|_| Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Wrong }))
                    .chain(std::iter::once(then))
                    .collect()
            }),
        // A locked user's requests, where refusals meet (the orders of refusals,
        // lock/lookup): a verified request, failures until the lock (each round an OTP
        // sent and a wrong code), then a look-up, the verified request again, or another
        // request's requestState on a live or the verified request.
        2 => (
            prop_oneof![Just(Pick::Preferred), Just(Pick::Method(Method::Email)), Just(Pick::Method(Method::Sms))],
            3usize..=4,
            prop_oneof![
                Just(Step::Lookup { who: Who::Guid }),
                Just(Step::VerifyOtp { req: 0, state: StateRef::Current, code: Code::Right }),
                Just(Step::VerifyOtp { req: LATEST, state: StateRef::OfAnother, code: Code::Right }),
                Just(Step::VerifyOtp { req: 0, state: StateRef::OfAnother, code: Code::Right }),
            ],
        )
            .prop_map(|(pick, rounds, after)| {
                [
                    Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Totp) },
                    Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Right },
                ]
                .into_iter()
                .chain((0..rounds).flat_map(|_| [
                    Step::Initiate { who: Who::Guid, pick: pick.clone() },
                    Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Wrong },
                ]))
                .chain(std::iter::once(after))
                .collect()
            }),
        // A verified request presented another request's requestState (which refusal
        // comes first).
        1 => Just(vec![
            Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Totp) },
            Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Totp) },
            Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Right },
            Step::VerifyOtp { req: LATEST, state: StateRef::OfAnother, code: Code::Right },
        ]),
        // A verified request presented its right code again and again (strict: refused;
        // whether each refusal counts shows where the lock falls), then a request that
        // sends nothing.
        1 => (3usize..=6).prop_map(|again| {
            [
                Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Totp) },
                Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Right },
            ]
            .into_iter()
            .chain((0..again).map(|_| Step::VerifyOtp { req: LATEST, state: StateRef::Current, code: Code::Right }))
            .chain(std::iter::once(Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Totp) }))
            .collect()
        }),
        // A bypass code, then the same code on a new request.
        1 => Just(vec![
            Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Bypasscode) },
            Step::VerifyBypass { req: LATEST, state: StateRef::Current, code: Bypass::Fresh },
            Step::Initiate { who: Who::Guid, pick: Pick::Method(Method::Bypasscode) },
            Step::VerifyBypass { req: LATEST, state: StateRef::Current, code: Bypass::Reused },
        ]),
        // OTPs sent in a row (past the maximum whichever reading of lock/when), then a
        // request that sends nothing.
        1 => (prop_oneof![Just(Method::Sms), Just(Method::Email), Just(Method::PhoneCall)], 2usize..=7)
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
/// judged. Where the documents are silent the model allows every reading's
/// alternatives and holds the tenant to the one it showed; the model's inferred rules
/// (this project's decisions, which every reading agrees with) are judged only in
/// strict mode.
pub fn rules_note(strict: bool) -> String {
    let inferred: Vec<&str> = rules::ALL
        .iter()
        .filter(|r| r.evidence == Evidence::Inferred && !NOT_DRAWN.contains(r))
        .map(|r| r.id)
        .collect();
    if strict {
        format!(
            "sequences/model (--strict) also judged the model's inferred rules ({}); where the documents are silent it allowed every reading (docs/readings.md) and held the tenant to the ones it showed",
            inferred.join(", ")
        )
    } else {
        format!(
            "sequences/model judged what the documents state and Oracle's captures show, allowed every reading where they are silent (docs/readings.md) and held the tenant to the ones it showed; the model's inferred rules ({}) are judged only with --strict",
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

/// A reading a sequence's answers showed: the alternative, and the step, in words.
#[derive(Clone, Debug)]
pub struct ShownAt {
    /// The alternative.
    pub alt: Alt,
    /// The step (`step 3: a poll of an SMS request, answered 400`).
    pub step: String,
}

impl Divergence {
    /// The failure of a named check that is a script of steps.
    pub fn into_fail(self) -> Fail {
        Fail::mismatch(
            format!("{} ({}): {}", self.rule, self.quote, self.expected),
            format!(
                "the script\n{}\n  the tenant answered: {}",
                self.script.join("\n"),
                self.actual
            ),
        )
    }
}

/// A step's kind, for a reason.
fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Initiate { .. } => "an initiate",
        Step::Resend { .. } => "a resend",
        Step::VerifyOtp { .. } => "an OTP verification",
        Step::VerifyBypass { .. } => "a bypass code verification",
        Step::VerifyAnswers { .. } => "a security answers verification",
        Step::Poll { .. } => "a poll",
        Step::Decide { .. } => "a PUSH decision",
        Step::Lookup { .. } => "a look-up",
        Step::Unauthenticated(_) => "a request without a token",
    }
}

/// What running one sequence found.
#[derive(Debug)]
pub enum Run {
    /// Every step that ran held; how many ran, and the readings the answers showed.
    Held(usize, Vec<ShownAt>),
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
    let props = cx.target.settings().props;
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
        // What the tenant showed so far: this sequence and its shrink candidates hold it
        // to that.
        let known = cx.target.findings().readings.known();
        let first = match run_sequence(cx, &tree.current(), known).await {
            Run::Held(n, shown) => {
                steps_run += n;
                for s in shown {
                    let _ = cx.target.findings().readings.record(
                        s.alt,
                        format!(
                            "sequences/model, sequence {} of seed {}, {}",
                            case + 1,
                            props.seed,
                            s.step
                        ),
                    );
                }
                continue;
            }
            Run::Skipped(why) => return Err(Fail::skip(why)),
            Run::Diverged(d) => d,
        };
        // Shrink: simplify while it diverges, complicate back when a candidate holds.
        let (mut steps, mut d, mut runs) =
            shrink(&mut tree, first, MAX_SHRINK_RUNS, |steps| async move {
                match run_sequence(cx, &steps, known).await {
                    Run::Diverged(d) => Candidate::Fails(d),
                    Run::Held(..) => Candidate::Holds,
                    Run::Skipped(_) => Candidate::Stop,
                }
            })
            .await;
        // Then fewest steps: drop one step at a time while the same rule still breaks
        // (proptest shrinks flows; this takes out single steps inside them).
        let mut i = 0;
        let mut removals = 0;
        while i < steps.len() && removals < MAX_SHRINK_RUNS {
            let mut candidate = steps.clone();
            candidate.remove(i);
            runs += 1;
            removals += 1;
            match run_sequence(cx, &candidate, known).await {
                Run::Diverged(shorter) if shorter.rule == d.rule => {
                    steps = candidate;
                    d = shorter;
                }
                _ => i += 1,
            }
        }
        // Run the minimal sequence once more, so that its exchanges are the report's last.
        if let Run::Diverged(last) = run_sequence(cx, &steps, known).await {
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

/// Why a step, or a session, could not run: not a verdict on the tenant.
#[derive(Debug, thiserror::Error)]
pub enum NotRunnable {
    /// The test user's factors could not be read.
    #[error("the test user's factors could not be read")]
    NoFactors,
    /// A fixture the step needs failed (as the check would report it).
    #[error(transparent)]
    Fixture(#[from] Fail),
    /// The step is not one that is sent.
    #[error("a decision, or a step wrapped twice, is not sent")]
    NotSent,
}

/// The model's view of the test user, from the tenant's listing.
async fn user_of(cx: &Ctx) -> Result<User, NotRunnable> {
    let factors = cx
        .target
        .tenant()
        .factors()
        .await
        .ok_or(NotRunnable::NoFactors)?;
    Ok(User {
        guid: cx.target.tenant().user.guid.clone(),
        name: cx.target.tenant().user.name.clone().unwrap_or_default(),
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

/// Runs `steps` from a count of 0, the tenant held to the readings `known` decides
/// (what it showed earlier in the run). Public for tests.
pub async fn run_sequence(cx: &Ctx, steps: &[Step], known: Choices) -> Run {
    let target = &cx.target;
    // Each sequence starts from a count of 0, so that runs (and shrink candidates) are
    // independent: an unlock where the runner can (it holds even on a tenant that does
    // not reset on success), else a successful verification; nothing when the ledger's
    // prediction, an upper bound, is 0 already.
    let now = target.safety().ledger.state();
    let reset = if now.count == 0 && !now.locked {
        Ok(())
    } else if target.tenant().can_unlock() {
        target.unlock_user().await.map_err(ResetError::from)
    } else {
        guard::reset_count(&target.clone(), Limits::of(target))
            .await
            .map(|_| ())
    };
    if let Err(why) = reset {
        return Run::Skipped(format!(
            "the attempt count could not be reset to 0 before a sequence: {why}"
        ));
    }
    // Sequences drive the user into lockout only when asked to (--allow-lockout) and
    // when the runner can unlock them afterwards: otherwise they keep to the ceiling.
    let may_lock = target.safety().allow_lockout && target.tenant().can_unlock();
    let mut session =
        match Session::start(cx, known, may_lock, cx.target.settings().props.strict).await {
            Ok(s) => s,
            Err(e) => return Run::Skipped(e.to_string()),
        };
    for raw in steps {
        match session.step(raw).await {
            Stepped::Answered(_) | Stepped::NotRun => {}
            Stepped::Diverged(d) => return Run::Diverged(d),
            Stepped::Skipped(why) => return Run::Skipped(why),
        }
    }
    Run::Held(session.ran, session.shown())
}

/// What one step of a [`Session`] came to.
#[derive(Debug)]
pub enum Stepped {
    /// The tenant answered as the model allows.
    Answered(Answer),
    /// Not sent: it fits no request, rests on a rule this mode does not judge, needs a
    /// fixture the target lacks, or could take the count past the ceiling.
    NotRun,
    /// The answer broke a rule.
    Diverged(Box<Divergence>),
    /// A fixture failed: no verdict.
    Skipped(String),
}

/// Steps sent to the tenant one at a time, each held to the model: the sequence checks
/// run their drawn sequences through it, and named checks that are scripts of steps
/// (the lockout checks) drive it step by step.
pub struct Session<'a> {
    cx: &'a Ctx,
    model: Model,
    may_lock: bool,
    /// A context of its own: its exchanges become the script, then the check's.
    run_cx: Ctx,
    live: Vec<Live>,
    used_codes: Vec<Secret>,
    script: Vec<String>,
    /// For each answered step, what it was, in words (for where a reading showed).
    answered: Vec<String>,
    ran: usize,
}

impl<'a> Session<'a> {
    /// A session on the test user as the tenant lists them, the model starting from
    /// the count the tenant holds now (the caller has it at 0) and the readings `known`
    /// decides; `may_lock` lets steps take the count past the run's ceiling; `strict`
    /// lets steps rest on the model's inferred rules (a named check that is one).
    pub async fn start(
        cx: &'a Ctx,
        known: Choices,
        may_lock: bool,
        strict: bool,
    ) -> Result<Self, NotRunnable> {
        let user = user_of(cx).await?;
        let max = Limits::of(&cx.target).max_attempts;
        let mut model = Model::with_readings(user, max, strict, known);
        for alt in cx.target.findings().readings.excluded() {
            model.exclude(alt);
        }
        Ok(Self {
            cx,
            model,
            may_lock,
            run_cx: Ctx::new(cx.target.clone()),
            live: Vec::new(),
            used_codes: Vec::new(),
            script: Vec::new(),
            answered: Vec::new(),
            ran: 0,
        })
    }

    /// The model, as the answers so far left it.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// A named check's step, which must run: its answer; a divergence is the check's
    /// failure (with the script so far), a step that could not run here or a fixture
    /// that failed its skip.
    pub async fn must_step(&mut self, step: &Step) -> Result<Answer, Fail> {
        match self.step(step).await {
            Stepped::Answered(a) => Ok(a),
            Stepped::NotRun => Err(Fail::skip(format!(
                "a step of the check could not run here ({}): a fixture or the attempt budget is missing",
                step_name(step)
            ))),
            Stepped::Diverged(d) => Err(d.into_fail()),
            Stepped::Skipped(why) => Err(Fail::skip(why)),
        }
    }

    /// Records the readings the answers showed, under `check`'s id.
    pub fn record_readings(&self, check: &str) -> CheckResult {
        for shown in self.shown() {
            self.cx
                .target
                .findings()
                .readings
                .record(shown.alt, format!("{check}, {}", shown.step))?;
        }
        Ok(())
    }

    /// The readings the answers showed, with the step that showed each.
    pub fn shown(&self) -> Vec<ShownAt> {
        self.model
            .shown()
            .iter()
            .map(|&(alt, n)| ShownAt {
                alt,
                step: format!(
                    "step {n}: {}",
                    self.answered.get(n - 1).map_or("?", String::as_str)
                ),
            })
            .collect()
    }

    fn diverged(&self, verdict: Verdict) -> Option<Box<Divergence>> {
        let Verdict::Diverged {
            rule,
            expected,
            actual,
        } = verdict
        else {
            return None;
        };
        Some(Box::new(Divergence {
            script: self.script.clone(),
            rule: rule.id,
            quote: quote_of(rule),
            expected,
            actual,
        }))
    }

    fn keep_exchanges(&mut self, comment: Option<&str>) {
        for e in self.run_cx.take_exchanges() {
            let comment = comment
                .filter(|_| e.method == "PATCH")
                .map(|c| format!("   # {c}"))
                .unwrap_or_default();
            self.script.push(format!(
                "{:>2}. {}{comment}",
                self.script.len() + 1,
                e.redacted().to_curl()
            ));
            self.cx.keep(e);
        }
    }

    /// Sends `raw` (its request reference resolved by the model) and judges the answer.
    pub async fn step(&mut self, raw: &Step) -> Stepped {
        let target = &self.cx.target;
        let Some(step) = self.model.resolve(raw) else {
            return Stepped::NotRun;
        };
        if !can_run(self.cx, &step) {
            return Stepped::NotRun;
        }
        let ceiling = Limits::of(target).ceiling;
        let predicted = target
            .safety()
            .ledger
            .state()
            .count
            .max(self.model.attempts().1);
        if !self.may_lock && predicted + step.worst_spend() > ceiling {
            return Stepped::NotRun;
        }
        let Some(expectation) = self.model.expect(&step) else {
            return self.decide(&step).await;
        };
        // Where the step's redacted inputs come from, for a reader who runs the script.
        let inputs = inputs_of(&step, &self.live);
        let answer = match self.send(&step).await {
            Ok(a) => a,
            Err(skip) => return skip,
        };
        self.keep_exchanges(inputs.as_deref());
        self.ran += 1;
        self.judge(&step, &expectation, answer)
    }

    /// Sends `step` in the session's context.
    async fn send(&mut self, step: &Step) -> Result<Answer, Stepped> {
        send(
            &self.run_cx,
            step,
            &mut self.live,
            &mut self.used_codes,
            &self.model,
        )
        .await
        .map_err(|skip| Stepped::Skipped(skip.to_string()))
    }

    /// Holds the `answer` to `step` to the model's `expectation`.
    fn judge(&mut self, step: &Step, expectation: &Expectation, answer: Answer) -> Stepped {
        self.answered.push(words(step, &self.model, &answer));
        let verdict = self.model.observe(step, expectation, &answer);
        match self.diverged(verdict) {
            Some(d) => Stepped::Diverged(d),
            None => Stepped::Answered(answer),
        }
    }

    /// The phone decides a PUSH; the first poll that shows the decision is judged.
    async fn decide(&mut self, step: &Step) -> Stepped {
        let Step::Decide { req, approve } = *step else {
            return Stepped::NotRun;
        };
        let id = self.live[req].v.request_id().to_owned();
        let action = if approve { "approve" } else { "reject" };
        self.script.push(format!(
            "{:>2}. # the phone {action}s the PUSH: push_command with IDCS_REQUEST_ID={id} IDCS_PUSH_ACTION={action}",
            self.script.len() + 1,
        ));
        if let Err(e) = self.run_cx.act_on_push(&self.live[req].v, approve).await {
            return Stepped::Skipped(format!("the PUSH fixture failed: {e}"));
        }
        self.ran += 1;
        // The decision may take a moment to reach the tenant: poll until the request is
        // no longer pending, for a bounded time. Pending answers are not judged (the
        // decision is on its way); the first that is not is the poll of the decided
        // PUSH, judged like any step (a later poll is a second one).
        let poll = Step::Poll { req };
        let mut decided = None;
        for _ in 0..10 {
            let answer = match self.send(&poll).await {
                Ok(a) => a,
                Err(skip) => return skip,
            };
            if answer.status == 200 && answer.body_status == Some(idcs_mfa::Status::Pending) {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            decided = Some(answer);
            break;
        }
        self.keep_exchanges(None);
        let (Some(answer), Some(expectation)) = (decided, self.model.expect(&poll)) else {
            return Stepped::NotRun;
        };
        self.judge(&poll, &expectation, answer)
    }
}

/// A rule's sentence and source, for a report.
fn quote_of(rule: &rules::Rule) -> String {
    format!(
        "\"{}\" [{}]",
        rule.quote,
        rule.source.trim_matches(['[', ']'])
    )
}

/// A step and its answer, in words: `a poll of an SMS request, answered 400`.
pub fn words(step: &Step, model: &Model, answer: &Answer) -> String {
    let method = |req: &usize| {
        model
            .requests()
            .get(*req)
            .map_or_else(|| "a".to_owned(), |r| format!("{} request", r.method))
    };
    let state = |s: &StateRef| match s {
        StateRef::Current => "",
        StateRef::Stale => " with a replaced requestState",
        StateRef::OfAnother => " with another request's requestState",
    };
    // `on the SMS request with a replaced requestState`
    let on = |req: &usize, s: &StateRef| format!("on the {}{}", method(req), state(s));
    let text = match step {
        Step::Initiate { who, pick } => {
            let what = match pick {
                Pick::Preferred => "the preferred factor".to_owned(),
                Pick::Method(m) | Pick::Factor(_, m) => m.to_string(),
            };
            let who = match who {
                Who::Guid => "",
                Who::Name => " (by user name)",
                Who::Unknown => " for an unknown user",
            };
            format!("an initiate of {what}{who}")
        }
        Step::Resend { req, state: s } => format!("a resend {}", on(req, s)),
        Step::VerifyOtp {
            req,
            state: s,
            code,
        }
        | Step::VerifyAnswers {
            req,
            state: s,
            code,
        } => {
            let what = match (step, code) {
                (Step::VerifyOtp { .. }, Code::Right) => "the right code",
                (Step::VerifyOtp { .. }, Code::Wrong) => "a wrong code",
                (_, Code::Right) => "the right answers",
                (_, Code::Wrong) => "wrong answers",
            };
            format!("{what} {}", on(req, s))
        }
        Step::VerifyBypass {
            req,
            state: s,
            code,
        } => {
            let which = match code {
                Bypass::Fresh => "an unused",
                Bypass::Reused => "a used",
                Bypass::Wrong => "a wrong",
            };
            format!("{which} bypass code {}", on(req, s))
        }
        Step::Poll { req } => format!("a poll of the {}", method(req)),
        Step::Decide { approve, .. } => {
            format!(
                "the phone {}",
                if *approve { "approves" } else { "rejects" }
            )
        }
        Step::Lookup { who } => match who {
            Who::Unknown => "a look-up of an unknown user".to_owned(),
            Who::Name => "a look-up by name".to_owned(),
            Who::Guid => "a look-up by GUID".to_owned(),
        },
        Step::Unauthenticated(inner) => {
            return format!("{} without a token", words(inner, model, answer));
        }
    };
    format!("{text}, answered {}", answer.describe())
}

/// Whether the target has what `step` needs (fixtures, a user name).
fn can_run(cx: &Ctx, step: &Step) -> bool {
    let f = &cx.target.tenant().fixtures;
    match step {
        Step::Unauthenticated(inner) => can_run(cx, inner),
        Step::Initiate { who: Who::Name, .. } | Step::Lookup { who: Who::Name } => {
            cx.target.tenant().user.name.is_some()
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
        Who::Guid => UserRef::Guid(cx.target.tenant().user.guid.clone()),
        Who::Name => UserRef::Name(cx.target.tenant().user.name.clone().unwrap_or_default()),
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
) -> Result<Answer, NotRunnable> {
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
                        body_status: Some(r.value.status.clone()),
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
                            cx.target.tenant().user.name.as_deref().unwrap_or_default(),
                            types::UserIdType::UserName,
                        )
                        .await
                }
                Who::Guid => client.get_user_factors(&cx.target.tenant().user.guid).await,
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
                        body_status: Some(r.value.status.clone()),
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
                    body_status: Some(r.value.status.clone()),
                    codes: r
                        .value
                        .cause
                        .iter()
                        .map(|c| c.code.as_str().into())
                        .collect(),
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
                            let c = cx.take_bypass_code()?;
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
                                    .tenant()
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
                        body_status: Some(r.value.status.clone()),
                        new_state,
                        ..Answer::default()
                    })
                }
                Err(e) => Ok(answer_of_error(&e)),
            }
        }
        Step::Decide { .. } | Step::Unauthenticated(_) => Err(NotRunnable::NotSent),
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
async fn otp_for(cx: &Ctx, l: &Live, code: Code) -> Result<Secret, Fail> {
    let right = if *l.v.method() == Method::Totp {
        cx.totp_now().map(|(_, c)| c)?
    } else if code == Code::Right {
        cx.delivered_otp(&l.v).await?
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
        body_status: e.body().map(|b| b.status.clone()),
        codes: e.causes().iter().map(|c| c.code.as_str().into()).collect(),
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
