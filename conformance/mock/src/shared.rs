//! [`Shared`]: what every handler shares, the state behind its lock and what the
//! server was configured with.

use std::sync::{Arc, Mutex, MutexGuard};

use idcs_mfa::Secret;
use idcs_mfa_model::readings::Choices;

use crate::{
    behaviour::Behaviours,
    clock::Now,
    config::MockConfig,
    fault::Faults,
    fixture::{self, Fixture},
    random, seal,
    state::{Settings, State},
    variation::Variation,
};

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) max_body_bytes: usize,
    pub(crate) key: seal::Key,
    pub(crate) control_token: Secret,
    pub(crate) initial_fixture: Fixture,
    pub(crate) initial_faults: Faults,
    pub(crate) behaviours: Behaviours,
    pub(crate) variations: Vec<Variation>,
    state: Mutex<State>,
}

impl Shared {
    /// The state of a new tenant: the fixture validated, the ready token (random when
    /// the config names none) registered with the "MFA Client" role.
    pub(crate) fn new(config: MockConfig) -> std::io::Result<Arc<Shared>> {
        config.fixture.validate().map_err(|reason| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid fixture: {reason}"),
            )
        })?;
        let readings = Choices::defaults().overlaid(&config.readings);
        readings.check_orders().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid readings: {e}"),
            )
        })?;
        let faults: Faults = config.faults.iter().copied().collect();
        let mut state = State::new(config.fixture.clone(), faults);
        let ready = config.token.clone().unwrap_or_else(random::token);
        state.add_token(
            &ready,
            vec![fixture::ROLE_MFA_CLIENT.to_owned()],
            None,
            Now::read(),
        );
        Ok(Arc::new(Shared {
            settings: Settings {
                push_expiry: config.push_expiry,
                readings,
                max_attempts: config.max_attempts.max(1),
                token_lifetime: config.token_lifetime,
            },
            max_body_bytes: config.max_body_bytes,
            key: seal::Key::random(),
            control_token: config.control_token.clone().unwrap_or_else(random::token),
            initial_fixture: config.fixture,
            initial_faults: faults,
            behaviours: Behaviours::new(&config.behaviours, config.timing),
            variations: config.variations,
            state: Mutex::new(state),
        }))
    }

    /// The state. A panic while the lock was held cannot leave it half-changed in a way
    /// that matters more than refusing every later request would, so a poisoned lock is
    /// taken over rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
