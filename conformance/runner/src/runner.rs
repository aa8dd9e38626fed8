//! Runs the selected checks against a target, safely.
//!
//! Safety on real tenants:
//!
//! - every request waits for the shared rate limiter; each request has the client's
//!   timeout and the whole run a deadline; `max_failures` stops the run early;
//! - every exchange feeds the ledger, so the runner always knows the test user's
//!   predicted attempt count; before each check it asks the guard whether
//!   the check's declared worst case (`spends`) stays under the run's ceiling, resets
//!   the count with a successful verification (or an unlock) when it would not, and
//!   skips the check with the reason when it cannot;
//! - checks that lock the user (`--allow-lockout`) run last, each after a reset to 0;
//!   after one, the runner unlocks the user when it can, and otherwise skips later
//!   lockout checks, naming the fixture that would allow them;
//! - a request that never reached the tenant (DNS, refused, TLS) is not a tenant
//!   failure: its check is skipped, and after [`UNREACHED_LIMIT`] such requests in a
//!   row the run stops ([`RunOutcome::aborted`], exit 2).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use idcs_mfa::Exchange;
use serde::Serialize;

use crate::{
    guard::{self, Limits, Reset, ResetError},
    harness::{self, Check, Ctx, Evidence, Fail, Need, Operation},
    ledger::AttemptState,
    target::Target,
    validate::validate_exchange,
};

/// Requests in a row that never reached the tenant before the run stops.
pub const UNREACHED_LIMIT: u32 = 3;

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Id prefixes to select (empty: all).
    pub select: Vec<String>,
    /// Include checks whose evidence is `inferred`.
    pub strict: bool,
    /// Stop after this many failed checks.
    pub max_failures: Option<usize>,
    /// The whole run's deadline.
    pub deadline: Duration,
    /// Checks run at once (bounded by the rate limit anyway).
    pub jobs: usize,
    /// Run the preflight first (the default): a few requests that tell a set-up
    /// problem from a contract failure.
    pub preflight: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            select: Vec::new(),
            strict: false,
            max_failures: None,
            deadline: Duration::from_secs(600),
            jobs: 1,
            preflight: true,
        }
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// It held.
    Pass,
    /// It did not hold.
    Fail {
        /// What the documents say.
        expected: String,
        /// What happened.
        actual: String,
    },
    /// It could not run.
    Skip {
        /// Why.
        reason: String,
    },
}

/// The report of one check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// Its id.
    pub id: &'static str,
    /// Its operation.
    pub operation: Operation,
    /// The quoted sentence.
    pub quote: &'static str,
    /// The sentence's source.
    pub source: &'static str,
    /// The evidence level.
    pub evidence: Evidence,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Contract violations found in its responses (each also fails it).
    pub schema_errors: Vec<String>,
    /// Undeclared properties seen in its responses.
    pub unknown_fields: Vec<String>,
    /// The most it declares it can raise the test user's attempt count.
    pub spends: u32,
    /// How much it raised the predicted count above where it started (its peak).
    pub attempt_rise: u32,
    /// Its exchanges, secrets redacted.
    #[serde(skip)]
    pub exchanges: Vec<Exchange>,
    /// Its exchanges as snapshot text (see [`crate::snapshot`]); `None` for a property
    /// check (generated inputs) and a check that did not run.
    #[serde(skip)]
    pub normalised: Option<String>,
    /// How its answers differ from the accepted snapshot ([`crate::snapshot`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// Wall time in milliseconds.
    pub millis: u64,
}

impl CheckReport {
    /// The report of `check` with `outcome`, and nothing seen yet.
    fn of(check: &'static Check, outcome: Outcome) -> CheckReport {
        CheckReport {
            id: check.id,
            operation: check.operation,
            quote: check.quote,
            source: check.source,
            evidence: check.evidence,
            outcome,
            schema_errors: Vec::new(),
            unknown_fields: Vec::new(),
            spends: check.spends,
            attempt_rise: 0,
            exchanges: Vec::new(),
            normalised: None,
            drift: None,
            millis: 0,
        }
    }

    /// Whether it failed.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail { .. })
    }
}

/// Which checks the options select, in registry order.
pub fn select<'a>(checks: &[&'a Check], options: &RunOptions) -> Vec<&'a Check> {
    checks
        .iter()
        .copied()
        .filter(|c| {
            options.select.is_empty() || options.select.iter().any(|p| c.id.starts_with(p.as_str()))
        })
        .filter(|c| options.strict || c.evidence != Evidence::Inferred)
        .collect()
}

/// What the run did to the test user's attempt count.
#[derive(Clone, Debug, Serialize)]
pub struct AttemptSummary {
    /// The limits in force.
    pub limits: Limits,
    /// The ledger at the end: the predicted count, attempts spent, the highest count.
    pub end: AttemptState,
    /// Successful verifications the runner made to reset the count.
    pub resets: u32,
    /// Unlocks the runner made (after lockout checks, or a user found locked).
    pub unlocks: u32,
    /// The lockout check that left the user locked, when the runner could not unlock.
    pub left_locked_by: Option<&'static str>,
    /// Whether the run had to assume the user started at 0 (nothing could reset it).
    pub start_assumed: bool,
    /// The highest predicted count outside the lockout checks (which go to the
    /// maximum on purpose).
    pub highest_outside_lockout: u32,
    /// The first check that raised the count past its declaration (the tenant counts
    /// where the documents say it does not); from then on the runner kept a margin.
    pub deviant: Option<&'static str>,
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutcome {
    /// One report per check, in the order given.
    pub reports: Vec<CheckReport>,
    /// The attempt accounting.
    pub attempts: AttemptSummary,
    /// Why the run stopped early as an error of the run (the tenant could not be
    /// reached), when it did.
    pub aborted: Option<String>,
}

/// The order checks run in: the given order, except that checks that count from 0
/// (sequences, and those that come near the lockout) run after all others, and checks
/// that lock the user run last.
pub fn order<'a>(checks: &[&'a Check]) -> Vec<&'a Check> {
    let rank = |c: &Check| {
        if c.needs.contains(&Need::Lockout) {
            2
        } else if from_zero(c) {
            1
        } else {
            0
        }
    };
    let mut ordered = checks.to_vec();
    ordered.sort_by_key(|c| rank(c));
    ordered
}

fn locks(check: &Check) -> bool {
    check.needs.contains(&Need::Lockout)
}

fn near_lockout(check: &Check) -> bool {
    locks(check) || check.needs.contains(&Need::NearLockout)
}

/// Whether the check counts from an attempt count of 0.
fn from_zero(check: &Check) -> bool {
    near_lockout(check) || check.needs.contains(&Need::CountAtZero)
}

/// Runs `checks` (already selected) against `target`, in [`order`]; `progress` is told
/// of each finished check, in that order.
pub async fn run(
    target: Arc<Target>,
    checks: &[&'static Check],
    options: &RunOptions,
    mut progress: impl FnMut(usize, usize, &CheckReport),
) -> RunOutcome {
    let started = Instant::now();
    let deadline = started + options.deadline;
    crate::observe::give_up_before(&target.tenant().client, deadline);
    let checks = order(checks);
    let mut reports = Vec::with_capacity(checks.len());
    let mut failures = 0usize;
    let total = checks.len();
    let limits = Limits::of(&target);
    let mut summary = AttemptSummary {
        limits,
        end: AttemptState::default(),
        resets: 0,
        unlocks: 0,
        left_locked_by: None,
        start_assumed: false,
        highest_outside_lockout: 0,
        deviant: None,
    };
    let mut aborted = None;
    // Start from a known count when anything can reset it; otherwise assume 0, and say
    // so.
    if !(guard::can_reset(&target) && reset(&target, limits, &mut summary).await.is_ok()) {
        summary.start_assumed = true;
    }
    let ledger = &target.safety().ledger;
    let free_reset = target.tenant().fixtures.totp.is_some() || target.tenant().can_unlock();

    // The highest count before the lockout checks began, once they have.
    let mut lockout_phase = None;
    let mut queue = checks.iter().copied().peekable();
    while queue.peek().is_some() {
        let stop_reason = if let Some(reason) = &aborted {
            Some(format!("the run stopped: {reason}"))
        } else if Instant::now() >= deadline {
            Some(format!(
                "the run's deadline of {:?} passed first",
                options.deadline
            ))
        } else if options.max_failures.is_some_and(|m| failures >= m) {
            Some(format!(
                "the run stopped after {failures} failures (--max-failures)"
            ))
        } else {
            None
        };
        if let Some(reason) = stop_reason {
            for check in queue.by_ref() {
                let report = skipped(check, reason.clone());
                progress(reports.len(), total, &report);
                reports.push(report);
            }
            break;
        }

        // Checks that may spend attempts run alone, so that what they spend is theirs;
        // the others may run `jobs` at a time.
        let mut batch = Vec::new();
        while let Some(check) = queue.peek().copied() {
            let serial = check.spends > 0 || from_zero(check) || summary.deviant.is_some();
            if serial && !batch.is_empty() {
                break;
            }
            queue.next();
            batch.push(check);
            if serial || batch.len() >= options.jobs.max(1) {
                break;
            }
        }

        if batch.iter().any(|c| from_zero(c)) && lockout_phase.is_none() {
            lockout_phase = Some(ledger.state().highest);
        }
        let mut futures = Vec::new();
        for check in &batch {
            match admit(&target, check, limits, &mut summary).await {
                Ok(()) => {
                    ledger.mark();
                    futures
                        .push(Box::pin(run_one(target.clone(), check, deadline)) as ReportFuture);
                }
                Err(reason) => futures.push(either_skip(check, reason.to_string())),
            }
        }
        let start = ledger.state().count;
        let done = futures_join(futures).await;
        let rise = ledger.peak().saturating_sub(start);
        for mut report in done {
            if !report.exchanges.is_empty() {
                report.attempt_rise = rise;
            }
            // A check that raised the count past its declaration: the tenant counts
            // where the documents say it does not. From now on the runner keeps a
            // margin of one and runs one check at a time.
            let declared = batch
                .iter()
                .find(|c| c.id == report.id)
                .is_some_and(|c| !from_zero(c));
            if declared && rise > report.spends && summary.deviant.is_none() {
                summary.deviant = Some(report.id);
            }
            if report.failed() {
                failures += 1;
            }
            progress(reports.len(), total, &report);
            reports.push(report);
        }
        // After a check that may have locked the user: unlock, or remember who did it.
        if batch.iter().any(|c| from_zero(c)) && ledger.state().locked {
            if target.tenant().can_unlock() && target.unlock_user().await.is_ok() {
                summary.unlocks += 1;
            } else if summary.left_locked_by.is_none() {
                summary.left_locked_by = batch.first().map(|c| c.id);
            }
        }
        let (in_a_row, last) = ledger.unreached();
        if in_a_row >= UNREACHED_LIMIT {
            aborted = Some(format!(
                "{in_a_row} requests in a row never reached the tenant at {}; last: {}",
                target.tenant().base_url,
                last.unwrap_or_else(|| "no error text".into())
            ));
        }
    }
    // Leave the user as found when that costs nothing.
    if ledger.state().count > 0 && free_reset && !ledger.state().locked {
        let _ = reset(&target, limits, &mut summary).await;
    }
    summary.end = ledger.state();
    summary.highest_outside_lockout = lockout_phase.unwrap_or(summary.end.highest);
    RunOutcome {
        reports,
        attempts: summary,
        aborted,
    }
}

/// Brings the count to 0, counting how.
async fn reset(
    target: &Arc<Target>,
    limits: Limits,
    summary: &mut AttemptSummary,
) -> Result<(), ResetError> {
    match guard::reset_count(target, limits).await? {
        Reset::Verified(_) => summary.resets += 1,
        Reset::Unlocked => summary.unlocks += 1,
    }
    Ok(())
}

/// Why a check may not run now: its skip reason.
#[derive(Debug, thiserror::Error)]
enum NotAdmitted {
    /// The target lacks what it needs ([`harness::missing`]).
    #[error("{0}")]
    Missing(String),
    /// A lockout check left the user locked, and nothing can unlock them.
    #[error(
        "the test user is locked (by {0}) and the profile gives no way to unlock them (fixtures.unlock_command)"
    )]
    LeftLocked(&'static str),
    /// The user is locked, and the unlock failed.
    #[error("the test user is locked and cannot be unlocked: {0}")]
    Locked(ResetError),
    /// It counts from 0, and the count cannot be reset.
    #[error("it counts from an attempt count of 0, and the count cannot be reset first: {0}")]
    NoZero(ResetError),
    /// It could take the count past the ceiling, and a reset did not (or could not)
    /// make room.
    #[error(
        "it may raise the test user's attempt count to {count}, past this run's ceiling of {} (lockout at {}): {why}",
        .limits.ceiling,
        max_of(.limits)
    )]
    PastCeiling {
        /// The count it could reach.
        count: u32,
        /// The run's limits.
        limits: Limits,
        /// Why no reset made room.
        why: NoRoom,
    },
}

/// Why a reset did not make room for a check.
#[derive(Debug, thiserror::Error)]
enum NoRoom {
    /// The count is 0 and the check alone spends more than the ceiling.
    #[error("raise the ceiling with safety.attempt_budget or --attempt-budget")]
    Ceiling,
    /// The count could not be reset.
    #[error(
        "the count cannot be reset first ({0}); raise the ceiling with safety.attempt_budget or --attempt-budget"
    )]
    NoReset(ResetError),
}

/// The maximum as a skip reason says it.
fn max_of(limits: &Limits) -> String {
    match limits.max_source {
        guard::MaxSource::Profile => limits.max_attempts.to_string(),
        guard::MaxSource::Assumed => format!("{}, assumed", limits.max_attempts),
    }
}

/// Whether `check` may run now, after any reset it needs.
async fn admit(
    target: &Arc<Target>,
    check: &'static Check,
    limits: Limits,
    summary: &mut AttemptSummary,
) -> Result<(), NotAdmitted> {
    if let Some(reason) = harness::missing(target, check.needs) {
        return Err(NotAdmitted::Missing(reason));
    }
    let ledger = &target.safety().ledger;
    let state = ledger.state();
    if state.locked {
        if let Some(by) = summary.left_locked_by {
            return Err(NotAdmitted::LeftLocked(by));
        }
        reset(target, limits, summary)
            .await
            .map_err(NotAdmitted::Locked)?;
    }
    if from_zero(check) {
        // Lockout and sequence checks count from 0: always reset first, even when the
        // prediction says 0 (a tenant that strayed from the rules earlier in the run
        // may hold another count).
        reset(target, limits, summary)
            .await
            .map_err(NotAdmitted::NoZero)?;
        summary.start_assumed = false;
        return Ok(());
    }
    let count = ledger.state().count;
    let margin = u32::from(summary.deviant.is_some());
    if count + check.spends + margin <= limits.ceiling {
        return Ok(());
    }
    let why = match reset(target, limits, summary).await {
        Ok(()) if check.spends + margin <= limits.ceiling => return Ok(()),
        Ok(()) => NoRoom::Ceiling,
        Err(why) => NoRoom::NoReset(why),
    };
    Err(NotAdmitted::PastCeiling {
        count: ledger.state().count + check.spends,
        limits,
        why,
    })
}

type ReportFuture = std::pin::Pin<Box<dyn std::future::Future<Output = CheckReport>>>;

fn either_skip(check: &'static Check, reason: String) -> ReportFuture {
    let report = skipped(check, reason);
    Box::pin(async move { report })
}

/// Runs futures concurrently on this task and returns their outputs in order.
async fn futures_join(mut futures: Vec<ReportFuture>) -> Vec<CheckReport> {
    use std::task::Poll;
    let mut done: Vec<Option<CheckReport>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in futures.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(report) => *slot = Some(report),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

fn skipped(check: &'static Check, reason: String) -> CheckReport {
    CheckReport::of(check, Outcome::Skip { reason })
}

async fn run_one(target: Arc<Target>, check: &'static Check, deadline: Instant) -> CheckReport {
    let started = Instant::now();
    let cx = Ctx::new(target);
    let left = deadline.saturating_duration_since(Instant::now());
    let result = match tokio::time::timeout(left, (check.run)(&cx)).await {
        Ok(result) => result,
        Err(_) => Err(Fail::mismatch(
            "the check to finish within the run's deadline",
            "it was still running at the deadline",
        )),
    };
    let exchanges = cx.take_exchanges();
    let normalised = crate::checks::is_snapshotted(check)
        .then(|| crate::normalise::exchanges(&exchanges, &crate::normalise::Named::of(&cx.target)));
    let mut schema_errors = Vec::new();
    let mut unknown_fields = Vec::new();
    for exchange in &exchanges {
        let findings = validate_exchange(exchange);
        schema_errors.extend(findings.errors);
        unknown_fields.extend(findings.unknown_fields);
    }
    schema_errors.dedup();
    unknown_fields.sort();
    unknown_fields.dedup();
    let outcome = match result {
        // A 429 reaches a check only at the run's deadline: it says nothing of the check.
        _ if crate::observe::rate_limited(&exchanges).is_some() => Outcome::Skip {
            reason: crate::observe::rate_limited(&exchanges).unwrap_or_default(),
        },
        Ok(()) if schema_errors.is_empty() => Outcome::Pass,
        Ok(()) => Outcome::Fail {
            expected: "every response to match the contract's schema for its status".into(),
            actual: schema_errors.join("; "),
        },
        Err(Fail::Mismatch { expected, actual }) => Outcome::Fail { expected, actual },
        // A skip after a schema violation is a failure: the tenant broke the contract.
        Err(Fail::Skip(reason)) if schema_errors.is_empty() => Outcome::Skip { reason },
        Err(Fail::Skip(_)) => Outcome::Fail {
            expected: "every response to match the contract's schema for its status".into(),
            actual: schema_errors.join("; "),
        },
    };
    // A request that never reached the tenant says nothing about the tenant.
    let outcome = match exchanges.iter().find(|e| e.unreached) {
        Some(e) if !matches!(outcome, Outcome::Pass) => Outcome::Skip {
            reason: format!(
                "the tenant could not be reached: {}",
                e.error.as_deref().unwrap_or("no error text")
            ),
        },
        _ => outcome,
    };
    CheckReport {
        schema_errors,
        unknown_fields,
        exchanges: exchanges.iter().map(Exchange::redacted).collect(),
        normalised,
        millis: started.elapsed().as_millis() as u64,
        ..CheckReport::of(check, outcome)
    }
}

/// How a check's answers differ from its accepted snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The first exchange that differs (1-based, as numbered in the snapshot), when
    /// the difference is inside one.
    pub exchange: Option<usize>,
    /// That exchange's heading in the snapshot (or in the new text, for an exchange
    /// that was not there before).
    pub exchange_title: String,
    /// A unified diff of the accepted snapshot (`-`) against this run (`+`).
    pub diff: String,
    /// The accepted snapshot.
    pub snapshot: std::path::PathBuf,
    /// The new text, written beside it for review.
    pub pending: std::path::PathBuf,
}
