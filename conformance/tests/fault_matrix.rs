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
    mock::{Behaviour, Fault, Timing},
    runner::{Outcome, RunOptions},
    suite::{TargetSpec, run_suite},
};

async fn failing_checks(faults: Vec<Fault>) -> (BTreeSet<String>, Vec<String>) {
    failing_checks_on(TargetSpec::Embedded { faults }, 1).await
}

async fn failing_checks_on(spec: TargetSpec, jobs: usize) -> (BTreeSet<String>, Vec<String>) {
    let options = RunOptions {
        strict: true,
        jobs,
        ..RunOptions::default()
    };
    let props = PropConfig {
        cases: 16,
        ..PropConfig::default()
    };
    let report = run_suite(spec, &options, props, |_, _, _| {})
        .await
        .expect("the embedded mock starts");
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

// Test case: with every behaviour on (429s in all three forms, slow answers, late PUSH
// decisions, closing connections, extra members; delays scaled down), a deviation is
// still caught on a slow, rate-limited tenant: each fault fails checks it fails without
// them, every check some fault fails without them is failed by some fault with them,
// and each fault skips exactly what it skips without them (a fault like
// missing_status_field leaves some checks nothing to work on). Not pinned check by
// check: where a fault spends the user's attempts (sent_otp_rejected), which later
// checks meet the lock depends on timing; and a late PUSH decision lets two more
// checks see push_pending_401 (a pending poll answered 401 while they wait).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_still_caught_with_every_behaviour_on() {
    // Delays at 3 % (answers 9 ms slow, PUSH decisions 60 ms late, Retry-After 0 s or
    // a date now), idle connections closed after 100 ms, a 429 every 23rd request.
    let timing = Timing {
        rate_limit_every: 23,
        idle: std::time::Duration::from_millis(100),
        ..Timing::scaled(0.03)
    };
    let ids = |s: &[String]| -> BTreeSet<String> {
        s.iter()
            .map(|l| l.split(':').next().unwrap_or_default().to_owned())
            .collect()
    };
    let mut caught_plain: BTreeSet<String> = BTreeSet::new();
    let mut caught: BTreeSet<String> = BTreeSet::new();
    for fault in Fault::ALL {
        let (failed, skipped) = failing_checks_on(
            TargetSpec::EmbeddedWith {
                faults: vec![*fault],
                behaviours: Behaviour::ALL.to_vec(),
                timing,
            },
            1,
        )
        .await;
        let (plain_failed, plain_skipped) = failing_checks(vec![*fault]).await;
        assert!(
            failed.intersection(&plain_failed).next().is_some(),
            "fault {} with every behaviour: caught by {failed:?}, without them by {plain_failed:?}",
            fault.name()
        );
        assert_eq!(
            ids(&skipped),
            ids(&plain_skipped),
            "fault {} with every behaviour: skips differ: {skipped:#?}",
            fault.name()
        );
        caught.extend(failed);
        caught_plain.extend(plain_failed);
    }
    let lost: Vec<&String> = caught_plain.difference(&caught).collect();
    assert!(
        lost.is_empty(),
        "checks no fault fails with every behaviour on: {lost:?}"
    );
}
