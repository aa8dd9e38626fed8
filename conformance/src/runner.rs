//! Runs the selected checks against a target, safely.
//!
//! Safety on real tenants: every request waits for the shared rate limiter; each
//! request has the client's timeout and the whole run a deadline; `max_failures` stops
//! the run early; and a budget of failed verification attempts per user keeps a run
//! from locking the test user (a check whose `attempts` would exceed it is skipped with
//! the reason). Where the target can reset the user (the mock tenant), the budget is
//! refilled after each check that spends it.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use idcs_mfa::Exchange;
use serde::Serialize;

use crate::{
    check::{Check, Evidence, Fail, Operation},
    target::{Ctx, Target},
    validate::validate_exchange,
};

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
    /// Failed verification attempts the run may spend on the test user.
    pub attempt_budget: u32,
    /// Checks run at once (bounded by the rate limit anyway).
    pub jobs: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            select: Vec::new(),
            strict: false,
            max_failures: None,
            deadline: Duration::from_secs(600),
            attempt_budget: 3,
            jobs: 1,
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
    /// Its exchanges, secrets redacted.
    #[serde(skip)]
    pub exchanges: Vec<Exchange>,
    /// Its exchanges as snapshot text ([`crate::normalise`]); `None` for a property
    /// check (generated inputs) and a check that did not run.
    #[serde(skip)]
    pub normalised: Option<String>,
    /// How its answers differ from the accepted snapshot ([`crate::snapshot`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::snapshot::Drift>,
    /// Wall time in milliseconds.
    pub millis: u64,
}

impl CheckReport {
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

/// Runs `checks` (already selected) against `target`; `progress` is told of each
/// finished check, in order.
pub async fn run(
    target: Arc<Target>,
    checks: &[&'static Check],
    options: &RunOptions,
    mut progress: impl FnMut(usize, usize, &CheckReport),
) -> Vec<CheckReport> {
    let started = Instant::now();
    let deadline = started + options.deadline;
    let mut reports = Vec::with_capacity(checks.len());
    let mut spent = 0u32;
    let mut failures = 0usize;
    let can_reset = target.fixtures.reset.is_some();
    let total = checks.len();

    // Checks that spend attempts or drive lockout run alone and in order; the others
    // may run `jobs` at a time.
    let mut queue = checks.iter().copied().peekable();
    while queue.peek().is_some() {
        let stop_reason = if Instant::now() >= deadline {
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

        let mut batch = Vec::new();
        while let Some(check) = queue.peek().copied() {
            let serial = check.attempts > 0 || check.needs.contains(&crate::check::Need::Lockout);
            if serial && !batch.is_empty() {
                break;
            }
            queue.next();
            batch.push(check);
            if serial || batch.len() >= options.jobs.max(1) {
                break;
            }
        }

        let mut futures = Vec::new();
        for check in &batch {
            if let Some(reason) = target.missing(check.needs) {
                futures.push(either_skip(check, reason));
                continue;
            }
            if check.attempts > 0 && !can_reset && spent + check.attempts > options.attempt_budget {
                futures.push(either_skip(
                    check,
                    format!(
                        "it would spend {} failed attempt(s) on the test user, past the budget of {} (--attempt-budget)",
                        check.attempts, options.attempt_budget
                    ),
                ));
                continue;
            }
            spent += check.attempts;
            futures.push(Box::pin(run_one(target.clone(), check, deadline)));
        }
        let done = futures_join(futures).await;
        for report in done {
            if report.failed() {
                failures += 1;
            }
            progress(reports.len(), total, &report);
            reports.push(report);
        }
        if can_reset && batch.iter().any(|c| c.attempts > 0) {
            let _ = target.reset_user().await;
        }
    }
    reports
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
    CheckReport {
        id: check.id,
        operation: check.operation,
        quote: check.quote,
        source: check.source,
        evidence: check.evidence,
        outcome: Outcome::Skip { reason },
        schema_errors: Vec::new(),
        unknown_fields: Vec::new(),
        exchanges: Vec::new(),
        normalised: None,
        drift: None,
        millis: 0,
    }
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
    let normalised = crate::snapshot::is_snapshotted(check)
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
    CheckReport {
        id: check.id,
        operation: check.operation,
        quote: check.quote,
        source: check.source,
        evidence: check.evidence,
        outcome,
        schema_errors,
        unknown_fields,
        exchanges: exchanges.iter().map(Exchange::redacted).collect(),
        normalised,
        drift: None,
        millis: started.elapsed().as_millis() as u64,
    }
}
