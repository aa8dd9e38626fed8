//! Proof that checks can fail: the suite against the mock with each fault switched on.
//!
//! For every fault, the checks that fail are pinned in a snapshot (reviewed like code:
//! a fault that stops failing its checks, or starts failing others, shows as a diff),
//! every fault must fail at least one check, and every check must be failed by at
//! least one fault — a check no fault can fail is a defect.

use std::collections::{BTreeMap, BTreeSet};

use idcs_mfa_conformance::{
    checks,
    checks::properties::PropConfig,
    mock::Fault,
    runner::{Outcome, RunOptions},
    suite::{TargetSpec, run_suite},
};

/// The checks that failed and the skipped ones (with reasons). Every run also holds
/// each check to its declared `spends` and ends with the user unlocked.
async fn failing_checks(faults: Vec<Fault>) -> (BTreeSet<String>, Vec<String>) {
    let what = format!("{faults:?}");
    let options = RunOptions {
        strict: true,
        ..RunOptions::default()
    };
    let props = PropConfig {
        cases: 16,
        ..PropConfig::default()
    };
    let report = run_suite(
        TargetSpec::Embedded {
            faults,
            attempt_budget: None,
        },
        &options,
        props,
        |_, _, _| {},
    )
    .await
    .expect("the embedded mock starts");
    for c in &report.checks {
        let lockout = c.id.contains("lockout") || c.id.contains("resets-attempt-count");
        assert!(
            lockout || c.attempt_rise <= c.spends,
            "{what}: {} declares spends {} but raised the predicted count by {}",
            c.id,
            c.spends,
            c.attempt_rise
        );
    }
    let attempts = report
        .attempts
        .as_ref()
        .expect("the runner reports attempts");
    assert!(
        !attempts.end.locked && attempts.left_locked_by.is_none(),
        "{what}: the run left the user locked: {attempts:?}"
    );
    assert!(
        attempts.highest_outside_lockout <= attempts.limits.ceiling,
        "{what}: the count went past the ceiling outside the lockout checks: {attempts:?}"
    );
    let failed = report
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail { .. }))
        .map(|c| c.id.to_owned())
        .collect();
    let skipped = report
        .checks
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Skip { reason } => Some(format!("{}: {reason}", c.id)),
            _ => None,
        })
        .collect();
    (failed, skipped)
}

// Test case: with no fault, every check passes (none skipped, none failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fault_no_failure() {
    let (failed, skipped) = failing_checks(Vec::new()).await;
    assert!(failed.is_empty(), "failed without a fault: {failed:?}");
    assert!(
        skipped.is_empty(),
        "skipped against the embedded mock: {skipped:?}"
    );
}

// Test case: each fault fails the checks tied to it, pinned; every check is failed by
// some fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_fails_its_checks_and_every_check_can_fail() {
    let mut matrix: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut caught: BTreeSet<String> = BTreeSet::new();
    for fault in Fault::ALL {
        let (failed, _) = failing_checks(vec![*fault]).await;
        assert!(!failed.is_empty(), "fault {} fails no check", fault.name());
        caught.extend(failed.iter().cloned());
        matrix.insert(fault.name(), failed.into_iter().collect());
    }
    insta::assert_yaml_snapshot!("fault_matrix", matrix);
    let never: Vec<&str> = checks::all()
        .iter()
        .map(|c| c.id)
        .filter(|id| !caught.contains(*id))
        .collect();
    assert!(never.is_empty(), "checks no fault can fail: {never:#?}");
}
