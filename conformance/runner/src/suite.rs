//! One run of the suite, from a target description to a report. The command line is a
//! thin layer over [`run_suite`]; tests call it directly.

use std::{sync::Arc, time::Instant};

use crate::{
    checks,
    embedded::{self, EmbeddedMock},
    preflight::{SetupProblem, preflight},
    profile::{Overrides, Profile, ProfileError, process_env},
    report::{RunReport, Settings},
    runner::{self, CheckReport, RunOptions},
    target::PropConfig,
};

/// Which tenant to run against.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// A mock tenant started in this process (with faults, behaviours or readings of
    /// its own, for tests and `run --reading`).
    Embedded {
        /// What it plays.
        mock: EmbeddedMock,
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

impl From<EmbeddedMock> for TargetSpec {
    /// The mock tenant in this process, with the default attempt budget.
    fn from(mock: EmbeddedMock) -> TargetSpec {
        TargetSpec::Embedded {
            mock,
            attempt_budget: None,
        }
    }
}

/// Why a run did not get to its checks. Each says what to fix; the command line exits 2
/// with it.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The target cannot be built: the profile, or the embedded mock.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The preflight found a set-up problem (the tenant, the token, the user or a
    /// fixture).
    #[error(transparent)]
    Setup(#[from] SetupProblem),
}

/// Runs the selected checks against `spec`; `progress` sees each finished check.
pub async fn run_suite(
    spec: TargetSpec,
    options: &RunOptions,
    props: PropConfig,
    progress: impl FnMut(usize, usize, &CheckReport),
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let (handle, target, label) = match spec {
        TargetSpec::Embedded {
            mock,
            attempt_budget,
        } => {
            let (handle, target) = embedded::start(mock).await?;
            (
                Some(handle),
                target.attempt_budget(attempt_budget),
                "embedded mock tenant".to_owned(),
            )
        }
        TargetSpec::Profile { profile, overrides } => {
            let target = profile.resolve(&overrides, &process_env).await?;
            let label = target.tenant.base_url.clone();
            (None, target, label)
        }
    };
    let props = PropConfig {
        strict: options.strict,
        ..props
    };
    let target = Arc::new(target.props(props).build());
    let observations = target.findings().observations.clone();
    let all = checks::all();
    let selected = runner::select(&all, options);
    // The preflight's requests give a 429 up by the run's deadline too.
    crate::observe::give_up_before(
        &target.tenant().client,
        std::time::Instant::now() + options.deadline,
    );
    let notes = if options.preflight {
        match preflight(&target).await {
            Ok(notes) => notes,
            Err(problem) => {
                if let Some(handle) = handle {
                    let _ = handle.shutdown().await;
                }
                return Err(problem.into());
            }
        }
    } else {
        vec!["the preflight was skipped (--skip-preflight)".to_owned()]
    };
    let outcome = runner::run(target.clone(), &selected, options, progress).await;
    let readings = &target.findings().readings;
    crate::readings::observe_ec_ids(
        outcome
            .reports
            .iter()
            .flat_map(|r| r.exchanges.iter().map(move |e| (r.id, e))),
        readings,
    );
    let readings = readings.report();
    if let Some(handle) = handle {
        let _ = handle.shutdown().await;
    }
    let settings = Settings::of(props, all.len() - selected.len());
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
