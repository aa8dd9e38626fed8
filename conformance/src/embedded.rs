//! The embedded target: a mock tenant in this process, for a run with no `--base-url`.
//!
//! The mock serves its default fixture (the users of the seed examples) plus one user
//! made for the suite, [`CONFORMANCE_USER_GUID`], who has every method enrolled, so
//! that every check has something to work on. The runner reaches the mock's fixtures
//! through the same profile code as a real tenant's (see
//! [`crate::profile::embedded_target`]).

use idcs_mfa::{Method, Secret};

use crate::{
    mock::{
        self, Behaviour, Fault, Fixture, MockConfig, MockHandle, Timing,
        fixture::{FactorFixture, QuestionFixture, UserFixture},
    },
    profile::{ProfileError, embedded_target},
    target::Target,
};

/// The suite's own test user on the embedded mock.
pub const CONFORMANCE_USER_GUID: &str = "c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0";

/// The suite's test user: every method, a TOTP secret, bypass codes and answers.
pub fn conformance_user() -> UserFixture {
    let factor =
        |id: &str, name: Option<&str>, methods: &[Method], totp: Option<&str>| FactorFixture {
            factor_id: id.to_owned(),
            display_name: name.map(str::to_owned),
            methods: methods.to_vec(),
            totp_secret: totp.map(Secret::new),
        };
    UserFixture {
        user_guid: CONFORMANCE_USER_GUID.to_owned(),
        user_name: "conformance@example.com".to_owned(),
        factors: vec![
            factor(
                "c0f0a1a1a1a14a1a8a1aa1a1a1a1a1a1",
                Some("Conformance Phone"),
                &[Method::Totp, Method::Push],
                Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
            ),
            factor(
                "c0f0b2b2b2b24b2b8b2bb2b2b2b2b2b2",
                Some("91******0100"),
                &[Method::Sms],
                None,
            ),
            factor(
                "c0f0c3c3c3c34c3c8c3cc3c3c3c3c3c3",
                Some("91******0101"),
                &[Method::PhoneCall],
                None,
            ),
            factor(
                "c0f0d4d4d4d44d4d8d4dd4d4d4d4d4d4",
                Some("conformance@example.com"),
                &[Method::Email],
                None,
            ),
            factor(
                "SecurityQuestions",
                None,
                &[Method::SecurityQuestions],
                None,
            ),
            factor("BypassCode", None, &[Method::Bypasscode], None),
        ],
        preferred_factor_id: Some("c0f0b2b2b2b24b2b8b2bb2b2b2b2b2b2".to_owned()),
        preferred_method: Some(Method::Sms),
        security_questions: vec![QuestionFixture {
            id: "FirstCar".to_owned(),
            localized_text: "What's the model of your first car?".to_owned(),
            hint_text: Some("Found on road".to_owned()),
            answer: Secret::new("Ford Pinto"),
        }],
        bypass_codes: (1..=64)
            .map(|n| Secret::new(format!("39754194{n:04}")))
            .collect(),
    }
}

/// The embedded mock's fixture: the default one plus [`conformance_user`].
pub fn fixture() -> Fixture {
    let mut fixture = Fixture::default();
    fixture.users.push(conformance_user());
    fixture
}

/// Starts a mock tenant with `faults` switched on and returns it with its target.
pub async fn start(faults: Vec<Fault>) -> Result<(MockHandle, Target), ProfileError> {
    start_with(faults, Vec::new(), Timing::default()).await
}

/// Starts a mock tenant with `faults` and `behaviours` (timed by `timing`) switched on
/// and returns it with its target. The target waits for PUSH decisions long enough for
/// `timing`'s `push_delay`.
pub async fn start_with(
    faults: Vec<Fault>,
    behaviours: Vec<Behaviour>,
    timing: Timing,
) -> Result<(MockHandle, Target), ProfileError> {
    let fixture = fixture();
    let delayed_push = behaviours.contains(&Behaviour::DelayedPush);
    let config = MockConfig {
        fixture: fixture.clone(),
        faults,
        behaviours,
        timing,
        ..MockConfig::default()
    };
    let max_attempts = config.max_attempts;
    let handle = mock::spawn(config).await.map_err(|e| {
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
