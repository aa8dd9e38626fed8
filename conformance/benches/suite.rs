//! Benchmark 3: the suite's own speed against the embedded mock tenant.
//!
//! - the wall time of a default run, as a process (`idcs-mfa-conformance run`, built by
//!   this `cargo bench` with the bench profile), from start to exit;
//! - property cases per second: only the property checks (`props/`), with 1×, 10× and
//!   100× the default cases, in process; growth is linear when the time per case stays
//!   flat;
//! - the whole suite in process with 1×, 10× and 100× the cases;
//! - sequence steps per second: generated sequences (`sequences/model`, strict) run
//!   against the embedded mock and held to the model, counting the steps that ran.
//!
//! Targets: a default run under 2 s; at least 2,000 property cases per second; linear
//! growth.
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
    checks,
    runner::RunOptions,
    suite::{TargetSpec, run_suite},
    target::{self, PropConfig},
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = quick();
    let runs = if quick { 1 } else { 5 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let default_cases = target::DEFAULT_CASES;
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
                    TargetSpec::Embedded {
                        faults: Vec::new(),
                        attempt_budget: None,
                    },
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
            target::DEFAULT_MAX_STEPS,
            steps as f64 / wall
        );
    }
    let _ = Duration::ZERO;
    Ok(())
}

/// Runs `n` generated sequences against a fresh embedded mock, strict: the steps that
/// ran, and the wall time.
async fn sequence_steps(n: u32) -> Result<(usize, f64), Box<dyn std::error::Error>> {
    use idcs_mfa_conformance::{
        checks::sequences::{Run, run_sequence, sequence},
        embedded,
        harness::Ctx,
    };
    use proptest::{
        strategy::{Strategy, ValueTree},
        test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
    };
    let (_handle, mut target) = embedded::start(Vec::new()).await?;
    target.props.strict = true;
    let cx = Ctx::new(std::sync::Arc::new(target));
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = sequence(target::DEFAULT_MAX_STEPS);
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
