//! [`MockConfig`]: how a mock tenant behaves, and the defaults and limits it starts
//! from.

use std::time::Duration;

use idcs_mfa::Secret;
use idcs_mfa_model::readings::Choices;

use crate::{
    behaviour::{Behaviour, Timing},
    fault::Fault,
    fixture::Fixture,
    variation::Variation,
};

/// Default time a PUSH stays pending: two minutes (inferred from Oracle's authentication
/// API; inferred for /mfa/v1).
pub const DEFAULT_PUSH_EXPIRY: Duration = Duration::from_secs(120);
/// Default number of attempts that locks a user (no default is documented).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default limit on a request body to /mfa/v1 and the token endpoint.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Limit on a control API body (fixtures can be large).
pub const CONTROL_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Default lifetime of a token from `POST /oauth2/v1/token`.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// How a mock tenant behaves. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Users, factors and apps. Default: [`Fixture::default`] (the seed examples).
    pub fixture: Fixture,
    /// How long a PUSH stays pending. Default: [`DEFAULT_PUSH_EXPIRY`].
    pub push_expiry: Duration,
    /// Attempts that lock a user (at least 1). Default: [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: u32,
    /// Faults switched on from the start (the control API can change them).
    pub faults: Vec<Fault>,
    /// Largest accepted request body; larger is 413. Default: [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// A bearer token with the "MFA Client" role that never expires; random when `None`.
    pub token: Option<Secret>,
    /// The control API's bearer token; random when `None`.
    pub control_token: Option<Secret>,
    /// Lifetime of tokens from the token endpoint. Default: [`DEFAULT_TOKEN_LIFETIME`].
    pub token_lifetime: Duration,
    /// Realistic, conforming habits switched on ([`Behaviour`]). Default: none.
    pub behaviours: Vec<Behaviour>,
    /// Their timings. Default: [`Timing::default`].
    pub timing: Timing,
    /// Conforming changes of the answers ([`Variation`]), for drift tests. Default: none.
    pub variations: Vec<Variation>,
    /// Where the documents leave the choice open, the alternative the tenant takes of
    /// each reading (`docs/readings.md`). Readings it leaves open take the default
    /// (alternative 0). Default: [`Choices::defaults`]. Read a file that
    /// `idcs-mfa-conformance calibrate` wrote with [`Choices::from_toml`].
    pub readings: Choices,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            fixture: Fixture::default(),
            push_expiry: DEFAULT_PUSH_EXPIRY,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            faults: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            token: None,
            control_token: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            behaviours: Vec::new(),
            timing: Timing::default(),
            variations: Vec::new(),
            readings: Choices::defaults(),
        }
    }
}

impl MockConfig {
    /// The idle time after which connections are closed, under [`Behaviour::IdleClose`].
    pub(crate) fn idle_close(&self) -> Option<Duration> {
        self.behaviours
            .contains(&Behaviour::IdleClose)
            .then_some(self.timing.idle)
    }
}
