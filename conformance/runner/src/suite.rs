//! One run of the suite, from a target description to a report. The command line is a
//! thin layer over [`run_suite`]; tests call it directly.

use std::{sync::Arc, time::Instant};

use idcs_mfa_mock::{Behaviour, Fault, Timing};

use crate::{
    checks, embedded,
    preflight::preflight,
    profile::{Overrides, Profile, ProfileError, process_env},
    report::{RunReport, Settings},
    runner::{self, CheckReport, RunOptions},
    target::PropConfig,
    target::Target,
};

/// Which tenant to run against.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// A mock tenant started in this process (optionally with faults, for tests).
    Embedded {
        /// Faults to switch on.
        faults: Vec<Fault>,
        /// `--attempt-budget`, when given.
        attempt_budget: Option<u32>,
    },
    /// A mock tenant started in this process with faults and behaviours (for tests).
    EmbeddedWith {
        /// Faults to switch on.
        faults: Vec<Fault>,
        /// Behaviours to switch on.
        behaviours: Vec<Behaviour>,
        /// Their timing.
        timing: Timing,
        /// The alternative it takes of each reading (`run --reading`, `--readings`).
        readings: idcs_mfa_mock::Choices,
        /// `--attempt-budget`, when given.
        attempt_budget: Option<u32>,
    },
    /// A tenant described by a profile (and command-line overrides).
    Profile {
        /// The profile.
        profile: Box<Profile>,
        /// The overrides.
        overrides: Overrides,
    },
}

/// Runs the selected checks against `spec`; `progress` sees each finished check.
pub async fn run_suite(
    spec: TargetSpec,
    options: &RunOptions,
    props: PropConfig,
    progress: impl FnMut(usize, usize, &CheckReport),
) -> Result<RunReport, ProfileError> {
    let started = Instant::now();
    let (handle, mut target, label): (_, Target, String) = match spec {
        TargetSpec::Embedded {
            faults,
            attempt_budget,
        } => {
            let (handle, mut target) = embedded::start(faults).await?;
            target.attempt_budget = attempt_budget.or(target.attempt_budget);
            (Some(handle), target, "embedded mock tenant".to_owned())
        }
        TargetSpec::EmbeddedWith {
            faults,
            behaviours,
            timing,
            readings,
            attempt_budget,
        } => {
            let (handle, mut target) = embedded::start_mock(embedded::EmbeddedMock {
                faults,
                behaviours,
                timing,
                readings,
            })
            .await?;
            target.attempt_budget = attempt_budget.or(target.attempt_budget);
            (Some(handle), target, "embedded mock tenant".to_owned())
        }
        TargetSpec::Profile { profile, overrides } => {
            let target = profile.into_target(&overrides, &process_env).await?;
            let label = target.base_url.clone();
            (None, target, label)
        }
    };
    let observations = target.observations.clone();
    target.props = PropConfig {
        strict: options.strict,
        ..props
    };
    let all = checks::all();
    let selected = runner::select(&all, options);
    let target = Arc::new(target);
    // The preflight's requests give a 429 up by the run's deadline too.
    crate::observe::give_up_before(&target.client, std::time::Instant::now() + options.deadline);
    let notes = if options.preflight {
        match preflight(&target).await {
            Ok(notes) => notes,
            Err(problem) => {
                if let Some(handle) = handle {
                    let _ = handle.shutdown().await;
                }
                return Err(ProfileError::Preflight(problem));
            }
        }
    } else {
        vec!["the preflight was skipped (--skip-preflight)".to_owned()]
    };
    let outcome = runner::run(target.clone(), &selected, options, progress).await;
    crate::readings::observe_ec_ids(&outcome.reports, &target.readings);
    let readings = target.readings.report();
    if let Some(handle) = handle {
        let _ = handle.shutdown().await;
    }
    let settings = Settings {
        cases: props.cases,
        seed: props.seed,
        strict: options.strict,
        not_selected: all.len() - selected.len(),
        sequences: props.sequences,
        max_steps: props.max_steps,
    };
    let mut report = RunReport::new(
        label,
        settings,
        outcome.reports,
        started.elapsed().as_millis() as u64,
    );
    report.network = observations.summary();
    report.attempts = Some(outcome.attempts);
    report.aborted = outcome.aborted;
    report.notes = notes;
    report.readings = readings;
    let sequences_ran = report.checks.iter().any(|c| {
        c.id == "sequences/model" && !matches!(c.outcome, crate::runner::Outcome::Skip { .. })
    });
    if sequences_ran {
        report
            .notes
            .push(checks::sequences::rules_note(options.strict));
    }
    Ok(report)
}
