//! The embedded target: a mock tenant in this process, for a run with no `--base-url`.
//!
//! The mock serves its default fixture: the users of the seed examples and one user
//! made for the suite, [`CONFORMANCE_USER_GUID`], who has every method enrolled, so
//! that every check has something to work on. The runner reaches the mock's fixtures
//! through the same profile code as a real tenant's ([`embedded_target`]).

use std::collections::BTreeMap;

use idcs_mfa_mock::{Behaviour, Choices, Fault, Fixture, MockConfig, MockTenant, Timing};

pub use idcs_mfa_mock::fixture::CONFORMANCE_USER_GUID;

use crate::{
    profile::{
        AuthSection, FixtureSection, MockControlSection, Overrides, Profile, ProfileError,
        SafetySection, UserSection,
    },
    target::TargetBuilder,
};

/// What the embedded mock tenant plays. The default is the conforming mock: no fault,
/// no behaviour, every reading's default.
#[derive(Clone, Debug, Default)]
pub struct EmbeddedMock {
    /// Faults switched on.
    pub faults: Vec<Fault>,
    /// Behaviours switched on.
    pub behaviours: Vec<Behaviour>,
    /// Their timing.
    pub timing: Timing,
    /// The alternative it takes of each reading (readings it leaves open: the default).
    pub readings: Choices,
}

/// Starts the mock tenant `mock` describes and returns it with its target, to be
/// completed with the run's settings and built. The target waits for PUSH decisions
/// long enough for the timing's `push_delay`.
pub async fn start(mock: EmbeddedMock) -> Result<(MockTenant, TargetBuilder), ProfileError> {
    let EmbeddedMock {
        faults,
        behaviours,
        timing,
        readings,
    } = mock;
    let fixture = Fixture::default();
    let delayed_push = behaviours.contains(&Behaviour::DelayedPush);
    let config = MockConfig {
        fixture: fixture.clone(),
        faults,
        behaviours,
        timing,
        readings,
        ..MockConfig::default()
    };
    let max_attempts = config.max_attempts;
    let handle = MockTenant::start_with(config).await.map_err(|e| {
        ProfileError::Invalid(format!("cannot start the embedded mock tenant: {e}"))
    })?;
    let mut target = embedded_target(
        &handle,
        &fixture,
        CONFORMANCE_USER_GUID,
        local_safety(max_attempts),
    )
    .await?;
    if delayed_push {
        let patience = &mut target.settings.patience;
        patience.push_decision = patience.push_decision.max(timing.push_delay * 3);
        patience.push_poll = patience
            .push_poll
            .min(timing.push_delay / 4)
            .max(std::time::Duration::from_millis(10));
    }
    Ok((handle, target))
}

/// The `[safety]` of a mock in this process that locks a user at `max_attempts`: no
/// rate limit, and a 429 without `Retry-After` backs off from 50 ms (the mock answers
/// at once).
pub fn local_safety(max_attempts: u32) -> SafetySection {
    SafetySection {
        rate_limit: Some(0.0),
        timeout_secs: Some(10),
        attempt_budget: None,
        max_attempts: Some(max_attempts),
        backoff_secs: Some(0.05),
    }
}

/// The target of an embedded mock tenant: a profile built from the mock's handle,
/// resolved by the same code as a profile file (its `[mock_control]` gives the fixtures,
/// and `max_attempts` when `safety` leaves it out). `safety` is the profile's
/// `[safety]`: [`local_safety`], or e.g. a tenant's defaults, as the benchmarks of 429
/// handling use.
pub async fn embedded_target(
    handle: &MockTenant,
    fixture: &Fixture,
    user_guid: &str,
    safety: SafetySection,
) -> Result<TargetBuilder, ProfileError> {
    let user = fixture.user_by_guid(user_guid).ok_or_else(|| {
        ProfileError::Invalid(format!("the mock's fixture has no user {user_guid}"))
    })?;
    let vars: BTreeMap<&str, String> = BTreeMap::from([
        ("IDCS_TOKEN", handle.token().expose().to_owned()),
        (
            "MOCK_CONTROL_TOKEN",
            handle.control_token().expose().to_owned(),
        ),
    ]);
    let profile = Profile {
        base_url: Some(handle.base_url().to_owned()),
        user: Some(UserSection {
            guid: user.user_guid.clone(),
            name: Some(user.user_name.clone()),
        }),
        auth: AuthSection {
            roles: Some(vec!["MFA Client".into()]),
            ..AuthSection::default()
        },
        // A mock in this process answers at once: poll and retry on its time scale.
        fixtures: FixtureSection {
            push_poll_secs: Some(0.05),
            push_decision_secs: Some(2.0),
            otp_retry_secs: Some(1.0),
            ..FixtureSection::default()
        },
        mock_control: Some(MockControlSection::default()),
        safety,
        content_type: None,
    };
    let env = move |var: &str| vars.get(var).cloned();
    profile
        .resolve(
            &Overrides {
                allow_lockout: true,
                ..Overrides::default()
            },
            &env,
        )
        .await
}
