//! The embedded target: a mock tenant in this process, for a run with no `--base-url`.
//!
//! The mock serves its default fixture: the users of the seed examples and one user
//! made for the suite, [`CONFORMANCE_USER_GUID`], who has every method enrolled, so
//! that every check has something to work on. The runner reaches the mock's fixtures
//! through the same profile code as a real tenant's (see
//! [`crate::profile::embedded_target`]).

use idcs_mfa_mock::{Behaviour, Fault, Fixture, MockConfig, MockTenant, Timing};

pub use idcs_mfa_mock::fixture::CONFORMANCE_USER_GUID;

use crate::{
    profile::{ProfileError, embedded_target},
    target::Target,
};

/// Starts a mock tenant with `faults` switched on and returns it with its target.
pub async fn start(faults: Vec<Fault>) -> Result<(MockTenant, Target), ProfileError> {
    start_with(faults, Vec::new(), Timing::default()).await
}

/// Starts a mock tenant with `faults` and `behaviours` (timed by `timing`) switched on
/// and returns it with its target. The target waits for PUSH decisions long enough for
/// `timing`'s `push_delay`.
pub async fn start_with(
    faults: Vec<Fault>,
    behaviours: Vec<Behaviour>,
    timing: Timing,
) -> Result<(MockTenant, Target), ProfileError> {
    let fixture = Fixture::default();
    let delayed_push = behaviours.contains(&Behaviour::DelayedPush);
    let config = MockConfig {
        fixture: fixture.clone(),
        faults,
        behaviours,
        timing,
        ..MockConfig::default()
    };
    let max_attempts = config.max_attempts;
    let handle = MockTenant::start_with(config).await.map_err(|e| {
        ProfileError::Invalid(format!("cannot start the embedded mock tenant: {e}"))
    })?;
    let mut target =
        embedded_target(&handle, &fixture, CONFORMANCE_USER_GUID, max_attempts).await?;
    if delayed_push {
        let patience = &mut target.patience;
        patience.push_decision = patience.push_decision.max(timing.push_delay * 3);
        patience.push_poll = patience
            .push_poll
            .min(timing.push_delay / 4)
            .max(std::time::Duration::from_millis(10));
    }
    Ok((handle, target))
}
