//! The whole suite against the embedded mock tenant.

use std::sync::Arc;

use idcs_mfa_conformance::{checks, embedded, runner};

// Test case: every selected check (strict: inferred ones too) passes against the mock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_suite_passes_against_the_embedded_mock() {
    let (handle, target) = embedded::start(Vec::new()).await.expect("embedded mock");
    let target = Arc::new(target);
    let options = runner::RunOptions {
        strict: true,
        ..runner::RunOptions::default()
    };
    let all = checks::all();
    let selected = runner::select(&all, &options);
    let reports = runner::run(target, &selected, &options, |_, _, _| {})
        .await
        .reports;
    let bad: Vec<String> = reports
        .iter()
        .filter(|r| !matches!(r.outcome, runner::Outcome::Pass))
        .map(|r| format!("{} {:?} {:?}", r.id, r.outcome, r.schema_errors))
        .collect();
    handle.shutdown().await.expect("shutdown");
    assert!(
        bad.is_empty(),
        "checks that did not pass:\n{}",
        bad.join("\n")
    );
}
