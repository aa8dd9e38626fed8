//! The mock tenant: a stateful server that behaves as the IDCS `/mfa/v1` documents say.
//!
//! Stateless example servers cannot test a client of this API: a PUSH must stay
//! pending until someone approves it, an OTP must really be "sent", a bypass code must
//! work once, a user must lock. This server keeps that state in memory and offers a
//! control API with which a test plays the user's phone and inbox.
//!
//! # Use
//!
//! In your tests: [`MockTenant::start`] binds `127.0.0.1:0`, serves Oracle's example
//! users, and returns a typed handle: a ready [`Client`](idcs_mfa::Client), the user's
//! phone ([`MockTenant::approve_push`]) and inbox ([`MockTenant::last_otp`]), the
//! administrator's console ([`MockTenant::unlock_user`], [`MockTenant::attempts`]), and
//! the faults ([`MockTenant::set_faults`]).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use idcs_mfa::{Initiate, UserRef};
//! use idcs_mfa_mock::MockTenant;
//!
//! let mock = MockTenant::start().await?;
//! let client = mock.client()?;
//! let mut v = client
//!     .initiate(&Initiate::preferred(UserRef::Name("user1@example.com".into())))
//!     .await?;
//! let otp = mock.last_otp(v.user_guid()).expect("the tenant sent an OTP");
//! client.verify_otp(&mut v, otp.expose()).await?;
//! # Ok(()) }
//! ```
//!
//! For your own listener and shutdown signal, use [`serve`]. From the command line:
//! `idcs-mfa-conformance serve` (another process reaches the same actions through the
//! control API).
//!
//! # What it serves
//!
//! - The five operations of `openapi/idcs-mfa.yaml` under `/mfa/v1` (`api`), answering
//!   only the statuses the contract documents for each, every failure in the shared
//!   `ErrorResponse` shape (`reply`), request bodies checked against the generated
//!   contract types (`body`).
//! - `POST /oauth2/v1/token`: the client-credentials grant with HTTP Basic client
//!   authentication (`oauth`).
//! - The control API under `/_mock/v1`, with its own bearer credential (`control`).
//!
//! # Layout
//!
//! - `api`: the /mfa/v1 handlers (parse, call the state, render).
//! - `behaviour`: [`Behaviour`], named realistic habits of real tenants (rate limits,
//!   slowness, late PUSH decisions, closing connections, extra members).
//! - `body`: request bodies (media type, size limit, JSON, fields).
//! - `control`: the control API.
//! - `fault`: [`Fault`], named deviations from the contract; `deviate`: the faults that
//!   change only an answer, applied after the rules.
//! - `fixture`: [`Fixture`], users, factors, secrets and apps.
//! - `handle`: [`MockTenant`], the typed handle of a tenant in this process.
//! - [`model`]: the executable model of the documented behaviour (the crate
//!   `idcs-mfa-model`, re-exported): the tenant answers with it, the conformance runner
//!   judges with it.
//! - `oauth`: the token endpoint.
//! - `reply`: the error shape and body-level faults.
//! - [`routes`]: the control API's URLs, for a client in another process.
//! - `seal`: the tamper-evident `requestState`.
//! - [`totp`]: RFC 6238 codes, shared with the conformance runner.
//! - `state`: everything remembered, and the documented rules (attempts counted with
//!   [`model::attempts`], lockout, requestStates, PUSH expiry).
//!
//! # Authentication decisions
//!
//! A /mfa/v1 request without a bearer token, with an unknown token, or with a token
//! holding neither app role gets 401 AUTH-1007; an expired token gets 401 AUTH-1110.
//! Tokens from the token endpoint live [`MockConfig::token_lifetime`] (default 1 h);
//! the ready token and tokens minted by the control API without `expiresIn` never
//! expire.

mod api;
pub mod behaviour;
mod body;
mod control;
mod deviate;
pub mod fault;
pub mod fixture;
mod handle;
mod named;
mod oauth;
mod random;
mod reply;
pub mod routes;
mod seal;
pub mod state;
pub mod totp;
pub mod variation;

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use idcs_mfa::Secret;

pub use behaviour::{Behaviour, Timing};
pub use fault::{Fault, Faults};
pub use fixture::Fixture;
pub use handle::{ControlError, MockTenant};
/// The executable model of the documented behaviour, which the mock answers with (the
/// crate `idcs-mfa-model`).
pub use idcs_mfa_model as model;
pub use idcs_mfa_model::readings::{Alt, Choices, Reading, UnknownReading};
pub use random::token as random_token;
pub use state::{OutboxEntry, UserStatus};
pub use variation::Variation;

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
/// The prefix of the control API.
pub const CONTROL_PREFIX: &str = "/_mock/v1";

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

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: state::Settings,
    pub(crate) max_body_bytes: usize,
    pub(crate) key: seal::Key,
    pub(crate) control_token: Secret,
    pub(crate) initial_fixture: Fixture,
    pub(crate) initial_faults: Faults,
    pub(crate) behaviours: behaviour::Behaviours,
    pub(crate) variations: Vec<Variation>,
    state: Mutex<state::State>,
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
        let mut state = state::State::new(config.fixture.clone(), faults);
        let ready = config.token.clone().unwrap_or_else(random::token);
        state.add_token(&ready, vec![fixture::ROLE_MFA_CLIENT.to_owned()], None);
        Ok(Arc::new(Shared {
            settings: state::Settings {
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
            behaviours: behaviour::Behaviours::new(&config.behaviours, config.timing),
            variations: config.variations,
            state: Mutex::new(state),
        }))
    }

    /// The state. A panic while the lock was held cannot leave it half-changed in a way
    /// that matters more than refusing every later request would, so a poisoned lock is
    /// taken over rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Serves the mock tenant on `listener` until `shutdown` completes.
///
/// The fixture is validated first ([`Fixture::validate`]); an invalid one is an
/// `InvalidInput` error. For a tenant in this process with a typed handle, use
/// [`MockTenant::start`] instead.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let idle_close = idle_close(&config);
    let shared = Shared::new(config)?;
    serve_shared(listener, shared, idle_close, shutdown).await
}

/// The idle time after which connections are closed, under [`Behaviour::IdleClose`].
fn idle_close(config: &MockConfig) -> Option<Duration> {
    config
        .behaviours
        .contains(&Behaviour::IdleClose)
        .then_some(config.timing.idle)
}

async fn serve_shared(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    idle_close: Option<Duration>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match idle_close {
        Some(idle) => {
            let listener = behaviour::IdleClosing {
                inner: listener,
                idle,
            };
            axum::serve(listener, api::router(shared))
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, api::router(shared))
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
