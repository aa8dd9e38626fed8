//! The strict suite against a mock tenant that behaves like a real one (rate limits in
//! every form, slow answers, late PUSH decisions, closing connections, extra members):
//! each behaviour alone and all of them together. No check fails, none is skipped (no
//! behaviour forces a skip: a 429 is waited out, a late decision is polled for), the
//! test user is never locked outside the lockout and sequence checks (which may reach
//! the maximum on a mock that allows it) and is unlocked at the end,
//! and the report counts what happened.
//!
//! Delays are scaled down ([`TEST_TIMING`]); `full_timing_all_behaviours` runs the
//! default timings and is ignored by default (about two minutes).

use std::collections::BTreeSet;

use idcs_mfa_conformance::{
    Need, NetworkSummary, PropConfig, checks,
    embedded::EmbeddedMock,
    runner::{self, Outcome, RunOptions},
};
use idcs_mfa_mock::{Behaviour, Timing};

/// The default timings at a tenth, a 429 every 7th request. Idle connections are
/// closed after 100 ms.
fn test_timing() -> Timing {
    Timing {
        rate_limit_every: 7,
        ..Timing::scaled(0.1)
    }
}

const TEST_TIMING: fn() -> Timing = test_timing;

struct Outcome_ {
    not_passed: Vec<String>,
    network: NetworkSummary,
    locked_outside_lockout_checks: Vec<String>,
    locked_at_end: bool,
}

/// A run that hangs is a failure, not a stuck test.
const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

async fn strict_run(behaviours: Vec<Behaviour>, timing: Timing) -> Outcome_ {
    let what = format!("{behaviours:?}");
    let started = std::time::Instant::now();
    let o = tokio::time::timeout(RUN_LIMIT, strict_run_unbounded(behaviours, timing))
        .await
        .unwrap_or_else(|_| panic!("{what}: the run did not end within {RUN_LIMIT:?}"));
    eprintln!("{what}: {:?}, {:?}", started.elapsed(), o.network);
    o
}

async fn strict_run_unbounded(behaviours: Vec<Behaviour>, timing: Timing) -> Outcome_ {
    let mock = EmbeddedMock {
        behaviours,
        timing,
        ..EmbeddedMock::default()
    };
    let props = PropConfig {
        cases: 16,
        ..PropConfig::default()
    };
    let (handle, target) = crate::suite_embedded::start(mock, props).await;
    let observations = target.findings().observations.clone();
    let guid = target.tenant().user.guid.clone();
    let options = RunOptions {
        strict: true,
        jobs: 4,
        ..RunOptions::default()
    };
    let all = checks::all();
    let selected = runner::select(&all, &options);
    let outcome = runner::run(target, &selected, &options, |_, _, r| {
        if std::env::var_os("BEHAVIOURS_PROGRESS").is_some() {
            eprintln!("  {} {:?} {} ms", r.id, r.outcome, r.millis);
        }
    })
    .await;
    let reports = outcome.reports;
    let runner_left_locked =
        outcome.attempts.end.locked || outcome.attempts.left_locked_by.is_some();
    let lockout: BTreeSet<&str> = all
        .iter()
        .filter(|c| c.needs.contains(&Need::Lockout))
        .map(|c| c.id)
        .collect();
    let not_passed = reports
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Pass))
        .map(|r| format!("{} {:?}", r.id, r.outcome))
        .collect();
    let locked_outside_lockout_checks = reports
        .iter()
        // The sequence checks may reach the maximum on a mock that allows lockout (they
        // hold themselves to the run's ceiling and unlock after).
        .filter(|r| !lockout.contains(r.id) && !r.id.starts_with("sequences/"))
        .flat_map(|r| {
            r.exchanges
                .iter()
                .filter(|e| String::from_utf8_lossy(&e.response_body).contains("AUTH-1010"))
                .map(move |e| format!("{}: {} {}", r.id, e.method, e.url))
        })
        .collect();
    let locked = handle.user(&guid).expect("the test user").locked;
    handle.shutdown().await.expect("shutdown");
    Outcome_ {
        not_passed,
        network: observations.summary(),
        locked_outside_lockout_checks,
        locked_at_end: runner_left_locked || locked,
    }
}

fn assert_clean(what: &str, o: &Outcome_) {
    assert!(
        o.not_passed.is_empty(),
        "{what}: checks that did not pass:\n{}",
        o.not_passed.join("\n")
    );
    assert!(
        o.locked_outside_lockout_checks.is_empty(),
        "{what}: the user was locked outside the lockout checks: {:?}",
        o.locked_outside_lockout_checks
    );
    assert!(!o.locked_at_end, "{what}: the user is left locked");
    assert!(o.network.requests > 100, "{what}: {:?}", o.network);
}

// Test case: each behaviour alone: 0 failures, 0 skips, user never locked; the report
// shows what the behaviour did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_suite_passes_against_each_behaviour_alone() {
    for behaviour in Behaviour::ALL {
        let o = strict_run(vec![*behaviour], TEST_TIMING()).await;
        assert_clean(behaviour.name(), &o);
        let n = &o.network;
        match behaviour {
            Behaviour::RateLimit | Behaviour::RateLimitHttpDate => {
                assert!(n.rate_limited > 10, "{behaviour}: {n:?}");
                assert_eq!(n.with_retry_after, n.rate_limited, "{behaviour}: {n:?}");
            }
            Behaviour::RateLimitBare => {
                assert!(n.rate_limited > 10 && n.waited_ms > 0, "{behaviour}: {n:?}");
                assert_eq!(n.with_retry_after, 0, "{behaviour}: {n:?}");
            }
            Behaviour::Slow => {
                let p50 = n.latency_p50_ms.expect("latency measured");
                assert!(p50 >= 25.0, "{behaviour}: answers 30 ms slow, p50 {p50} ms");
            }
            _ => assert_eq!(n.rate_limited, 0, "{behaviour}: {n:?}"),
        }
        assert_eq!(n.gave_up, 0, "{behaviour}: {n:?}");
    }
}

// Test case: a tenant that answers 429 to a share of the requests whatever their pace
// (every 4th with Retry-After in seconds, the same with an HTTP-date, every 5th without
// Retry-After, 3 in a row of every 12): the strict suite finishes, clean, having waited
// every 429 out. The waits asked for are 0 s here (the header is there; the pace is
// what is tested): a limiter that stretched its spacing at each 429 and shrank it
// slowly after clean answers ratcheted to one request every 5 s under these shares and
// did not finish within the limit. (What the waits cost at full length is measured by
// the `suite` benchmark, not here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_suite_finishes_under_every_share_of_429s() {
    let share = |behaviour, every, burst| {
        (
            behaviour,
            Timing {
                rate_limit_every: every,
                rate_limit_burst: burst,
                retry_after: std::time::Duration::ZERO,
                ..Timing::default()
            },
        )
    };
    for (behaviour, timing) in [
        share(Behaviour::RateLimit, 4, 1),
        share(Behaviour::RateLimitHttpDate, 4, 1),
        share(Behaviour::RateLimitBare, 5, 1),
        share(Behaviour::RateLimit, 12, 3),
    ] {
        let what = format!(
            "{behaviour}, {} in a row of every {}",
            timing.rate_limit_burst, timing.rate_limit_every
        );
        let o = strict_run(vec![behaviour], timing).await;
        assert_clean(&what, &o);
        let n = &o.network;
        assert!(
            n.rate_limited * u64::from(timing.rate_limit_every)
                >= n.requests / 2 * u64::from(timing.rate_limit_burst),
            "{what}: the share was refused: {n:?}"
        );
        assert_eq!(n.gave_up, 0, "{what}: {n:?}");
    }
}

// Test case: every behaviour at once: 0 failures, 0 skips, user never locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_suite_passes_against_all_behaviours_together() {
    let o = strict_run(Behaviour::ALL.to_vec(), TEST_TIMING()).await;
    assert_clean("all behaviours", &o);
    assert!(o.network.rate_limited > 10, "{:?}", o.network);
    assert!(o.network.with_retry_after > 0 && o.network.with_retry_after < o.network.rate_limited);
}

// Test case: the same at the default (real-tenant) timings: 429 waits of a second,
// answers 300 ms slow, PUSH decisions 2 s late. Ignored by default: about two minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "full-delay run, about two minutes: cargo test -p idcs-mfa-conformance --test suite behaviours:: -- --ignored"]
async fn full_timing_all_behaviours() {
    let o = strict_run(Behaviour::ALL.to_vec(), Timing::default()).await;
    assert_clean("all behaviours, full timing", &o);
    eprintln!("{:?}", o.network);
}

// Test case: a tenant still rate-limiting at the run's deadline: the checks that meet a
// 429 then are skipped as "rate limited", none fails, and the report counts the
// give-ups. (Every 2nd request is answered 429 with Retry-After: 1; the deadline is
// 3 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_deadline_a_429_is_a_skip_not_a_failure() {
    let timing = Timing {
        rate_limit_every: 2,
        retry_after: std::time::Duration::from_secs(1),
        ..Timing::default()
    };
    let mock = EmbeddedMock {
        behaviours: vec![Behaviour::RateLimit],
        timing,
        ..EmbeddedMock::default()
    };
    let (handle, target) = crate::suite_embedded::start(mock, PropConfig::default()).await;
    let observations = target.findings().observations.clone();
    let options = RunOptions {
        select: vec!["users.".into()],
        deadline: std::time::Duration::from_secs(3),
        ..RunOptions::default()
    };
    let all = checks::all();
    let selected = runner::select(&all, &options);
    let reports = runner::run(target, &selected, &options, |_, _, _| {})
        .await
        .reports;
    handle.shutdown().await.expect("shutdown");
    let failed: Vec<_> = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail { .. }))
        .map(|r| format!("{} {:?}", r.id, r.outcome))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let rate_limited = reports
        .iter()
        .filter(|r| matches!(&r.outcome, Outcome::Skip { reason } if reason.starts_with("rate limited")))
        .count();
    let summary = observations.summary();
    assert!(rate_limited > 0, "{reports:#?}");
    assert!(summary.gave_up as usize >= rate_limited, "{summary:?}");
}
