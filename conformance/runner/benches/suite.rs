//! Benchmark 3: the suite's own speed against the embedded mock tenant.
//!
//! - the wall time of a default run, as a process (`idcs-mfa-conformance run`, built by
//!   this `cargo bench` with the bench profile), from start to exit;
//! - property cases per second: only the property checks (`props/`), with 1×, 10× and
//!   100× the default cases, in process; growth is linear when the time per case stays
//!   flat;
//! - the whole suite in process with 1×, 10× and 100× the cases;
//! - sequence steps per second: generated sequences (`sequences/model`, strict) run
//!   against the embedded mock and held to the model, counting the steps that ran;
//! - 429 shares: the strict run (`--allow-lockout`, every fixture, `rate_limit = 0`, a
//!   tenant's other defaults, one check at a time) against a mock that answers 429 to
//!   a share of the requests whatever their pace: every 4th with `Retry-After: 1`, the
//!   same with an HTTP-date, every 5th without `Retry-After`, 3 in a row of every 12
//!   with `Retry-After: 2`. Each prints the time the 429s added (its wall time minus
//!   that of the same run, same seed, without 429s) divided by the waiting the tenant
//!   asked for: each `Retry-After` as given, and for a 429 without one the step of the
//!   backoff (`backoff_secs × 2ⁿ` for a request's n-th 429 in a row, before jitter;
//!   `backoff_secs` is 1 s). About 8 minutes, most of it waiting.
//!
//! Targets: a default run under 2 s; at least 2,000 property cases per second; linear
//! growth; 429s cost at most 1.5 times the waiting asked for.
//!
//! ```text
//! cargo bench -p idcs-mfa-conformance --bench suite
//! ```

mod common;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use common::{Summary, quick};
use idcs_mfa_conformance::{
    PropConfig, checks, embedded::EmbeddedMock, run_suite, runner::RunOptions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = quick();
    let runs = if quick { 1 } else { 5 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let default_cases = PropConfig::DEFAULT_CASES;
    let property_checks = checks::properties::CHECKS.len() as u32;

    if common::selected("process") {
        let exe = env!("CARGO_BIN_EXE_idcs-mfa-conformance");
        let mut walls = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let out = Command::new(exe).args(["run", "--quiet"]).output()?;
            walls.push(started.elapsed().as_secs_f64());
            if !out.status.success() {
                return Err(format!("the default run exited with {}", out.status).into());
            }
        }
        let s = Summary::of(&walls);
        println!(
            "default run as a process (`idcs-mfa-conformance run`, this build's profile): {:.3} s median of {runs} ({}); target < 2 s: {}",
            s.median,
            s.noise(),
            if s.median < 2.0 { "met" } else { "MISSED" }
        );
    }

    let multipliers: &[u32] = if quick { &[1] } else { &[1, 10, 100] };
    for (label, select) in [
        ("property checks only (props/)", vec!["props/".to_owned()]),
        ("whole suite", Vec::new()),
    ] {
        if !common::selected(label) {
            continue;
        }
        println!("{label}, in process, median of {runs} runs:");
        println!(
            "{:>6} {:>8} {:>12} {:>10} {:>14} {:>12} {:>10}",
            "cases", "x", "wall", "noise", "prop cases/s", "µs per case", "checks"
        );
        for &m in multipliers {
            let cases = default_cases * m;
            let mut walls = Vec::new();
            let mut checks_run = 0;
            for run in 0..runs {
                let options = RunOptions {
                    select: select.clone(),
                    ..RunOptions::default()
                };
                let props = PropConfig {
                    cases,
                    seed: 0x1dc5_0f1a + run as u64,
                    ..PropConfig::default()
                };
                let started = Instant::now();
                let report = runtime.block_on(run_suite(
                    EmbeddedMock::default().into(),
                    &options,
                    props,
                    |_, _, _| {},
                ))?;
                walls.push(started.elapsed().as_secs_f64());
                if !report.passed() {
                    return Err(format!(
                        "the run against the mock failed ({label}, {cases} cases)"
                    )
                    .into());
                }
                checks_run = report.checks.len();
            }
            let s = Summary::of(&walls);
            let total_cases = f64::from(cases * property_checks);
            println!(
                "{:>6} {:>7}x {:>12} {:>10} {:>14.0} {:>12.1} {:>10}",
                cases,
                m,
                format!("{:.3} s", s.median),
                s.noise(),
                total_cases / s.median,
                s.median * 1e6 / total_cases,
                checks_run
            );
        }
    }
    if common::selected("sequence steps") {
        let sequences = if quick { 50 } else { 500 };
        let (steps, wall) = runtime.block_on(sequence_steps(sequences))?;
        println!(
            "sequence steps (strict, in process, {sequences} sequences of up to {} steps): {steps} steps in {wall:.2} s = {:.0} steps/s",
            PropConfig::DEFAULT_MAX_STEPS,
            steps as f64 / wall
        );
    }
    if common::selected("429 shares") {
        runtime.block_on(shares_of_429(quick))?;
    }
    Ok(())
}

/// The strict run against mocks that answer 429 to a share of the requests: the time
/// the 429s added, over the waiting they asked for (see the module docs).
async fn shares_of_429(quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    use idcs_mfa_mock::{Behaviour, Timing};
    let share = |every, burst, secs| Timing {
        rate_limit_every: every,
        rate_limit_burst: burst,
        retry_after: Duration::from_secs(secs),
        ..Timing::default()
    };
    let patterns = [
        (
            "every 4th, Retry-After: 1",
            Behaviour::RateLimit,
            share(4, 1, 1),
        ),
        (
            "every 4th, Retry-After: HTTP-date 1 s ahead",
            Behaviour::RateLimitHttpDate,
            share(4, 1, 1),
        ),
        (
            "every 5th, no Retry-After",
            Behaviour::RateLimitBare,
            share(5, 1, 1),
        ),
        (
            "3 in a row of every 12, Retry-After: 2",
            Behaviour::RateLimit,
            share(12, 3, 2),
        ),
    ];
    let baseline_runs = if quick { 1 } else { 3 };
    let mut walls = Vec::new();
    let mut requests = 0;
    for _ in 0..baseline_runs {
        let run = strict_run_against(Vec::new(), Timing::default(), quick).await?;
        walls.push(run.wall);
        requests = run.network.requests;
    }
    let free = Summary::of(&walls);
    println!(
        "429 shares: the strict run, one check at a time, rate_limit = 0, backoff_secs = 1; without 429s: {requests} requests in {:.2} s (median of {baseline_runs}, {})",
        free.median,
        free.noise()
    );
    println!(
        "{:<44} {:>8} {:>6} {:>9} {:>9} {:>9} {:>7}",
        "pattern", "requests", "429s", "wall", "added", "asked", "ratio"
    );
    for (name, behaviour, timing) in patterns {
        let run = strict_run_against(vec![behaviour], timing, quick).await?;
        let added = run.wall - free.median;
        let ratio = added / run.asked.as_secs_f64();
        println!(
            "{name:<44} {:>8} {:>6} {:>8.1}s {:>8.1}s {:>8.1}s {:>7.2}  target <= 1.5: {}",
            run.network.requests,
            run.network.rate_limited,
            run.wall,
            added,
            run.asked.as_secs_f64(),
            ratio,
            if ratio <= 1.5 { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

struct StrictRun {
    wall: f64,
    network: idcs_mfa_conformance::NetworkSummary,
    asked: Duration,
}

/// One strict run (fixed seed, one check at a time) against a fresh mock with
/// `behaviours`, through a profile with a tenant's defaults but `rate_limit = 0`.
async fn strict_run_against(
    behaviours: Vec<idcs_mfa_mock::Behaviour>,
    timing: idcs_mfa_mock::Timing,
    quick: bool,
) -> Result<StrictRun, Box<dyn std::error::Error>> {
    use idcs_mfa_conformance::{embedded, profile::SafetySection, runner};
    use idcs_mfa_mock::{Fixture, MockConfig, MockTenant};
    let fixture = Fixture::default();
    let handle = MockTenant::start_with(MockConfig {
        fixture: fixture.clone(),
        behaviours,
        timing,
        ..MockConfig::default()
    })
    .await?;
    let safety = SafetySection {
        rate_limit: Some(0.0),
        ..SafetySection::default()
    };
    let target =
        embedded::embedded_target(&handle, &fixture, embedded::CONFORMANCE_USER_GUID, safety)
            .await?
            .props(PropConfig {
                cases: if quick { 2 } else { 16 },
                sequences: if quick { 2 } else { 32 },
                seed: 0x429,
                strict: true,
                ..PropConfig::default()
            })
            .build();
    let observations = target.findings().observations.clone();
    let policy = target.tenant().client.rate_limit_policy().clone();
    let options = RunOptions {
        select: if quick {
            vec!["users.".to_owned()]
        } else {
            Vec::new()
        },
        strict: true,
        jobs: 1,
        deadline: Duration::from_secs(1800),
        ..RunOptions::default()
    };
    let all = checks::all();
    let selected = idcs_mfa_conformance::runner::select(&all, &options);
    let started = Instant::now();
    let outcome = runner::run(
        std::sync::Arc::new(target),
        &selected,
        &options,
        |_, _, _| {},
    )
    .await;
    let wall = started.elapsed().as_secs_f64();
    let _ = handle.shutdown().await;
    let not_passed: Vec<String> = outcome
        .reports
        .iter()
        .filter(|r| !matches!(r.outcome, idcs_mfa_conformance::runner::Outcome::Pass))
        .map(|r| r.id.to_owned())
        .collect();
    if !not_passed.is_empty() {
        return Err(format!("checks did not pass: {not_passed:?}").into());
    }
    Ok(StrictRun {
        wall,
        network: observations.summary(),
        asked: observations.asked(&policy),
    })
}

/// Runs `n` generated sequences against a fresh embedded mock, strict: the steps that
/// ran, and the wall time.
async fn sequence_steps(n: u32) -> Result<(usize, f64), Box<dyn std::error::Error>> {
    use idcs_mfa_conformance::{
        Ctx,
        checks::sequences::{Run, run_sequence, sequence},
        embedded,
    };
    use proptest::{
        strategy::{Strategy, ValueTree},
        test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
    };
    let (_handle, target) = embedded::start(EmbeddedMock::default()).await?;
    let target = target.props(PropConfig {
        strict: true,
        ..PropConfig::default()
    });
    let cx = Ctx::new(std::sync::Arc::new(target.build()));
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = sequence(PropConfig::DEFAULT_MAX_STEPS);
    let started = Instant::now();
    let mut steps = 0;
    for i in 0..n {
        let drawn = strategy
            .new_tree(&mut runner)
            .map_err(|e| format!("cannot generate sequences: {e}"))?
            .current();
        match run_sequence(&cx, &drawn, Default::default()).await {
            Run::Held(k, _) => steps += k,
            other => return Err(format!("sequence {i} did not hold: {other:?}").into()),
        }
    }
    Ok((steps, started.elapsed().as_secs_f64()))
}
