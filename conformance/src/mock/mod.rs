//! The mock tenant: a stateful server that behaves as the IDCS `/mfa/v1` documents say.
//!
//! Stateless example servers cannot test a client of this API: a PUSH must stay
//! pending until someone approves it, an OTP must really be "sent", a bypass code must
//! work once, a user must lock. This server keeps that state in memory and offers a
//! control API with which a test plays the user's phone and inbox.
//!
//! # Use
//!
//! In-process (tests, the conformance runner): [`spawn`] binds `127.0.0.1:0` and returns
//! a [`MockHandle`] with the base URL, a ready bearer token and the control token. For
//! your own listener and shutdown signal, use [`serve`]. From the command line:
//! `idcs-mfa-conformance serve`.
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
//! - `fault`: [`Fault`], named deviations from the contract.
//! - `fixture`: [`Fixture`], users, factors, secrets and apps.
//! - `oauth`: the token endpoint.
//! - `reply`: the error shape and body-level faults.
//! - `seal`: the tamper-evident `requestState`.
//! - `state`: everything remembered, and the rules (attempts, lockout, PUSH expiry).
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
pub mod fault;
pub mod fixture;
mod oauth;
mod random;
mod reply;
mod seal;
pub mod state;
pub mod variation;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use idcs_mfa::Secret;

pub use behaviour::{Behaviour, Timing};
pub use fault::{Fault, Faults};
pub use fixture::Fixture;
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
/// `InvalidInput` error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    config.fixture.validate().map_err(|reason| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("invalid fixture: {reason}"),
        )
    })?;
    let faults: Faults = config.faults.iter().copied().collect();
    let mut state = state::State::new(config.fixture.clone(), faults);
    let ready = config.token.clone().unwrap_or_else(random::token);
    state.add_token(&ready, vec![fixture::ROLE_MFA_CLIENT.to_owned()], None);
    let shared = Arc::new(Shared {
        settings: state::Settings {
            push_expiry: config.push_expiry,
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
    });
    if config.behaviours.contains(&Behaviour::IdleClose) {
        let listener = behaviour::IdleClosing {
            inner: listener,
            idle: config.timing.idle,
        };
        axum::serve(listener, api::router(shared))
            .with_graceful_shutdown(shutdown)
            .await
    } else {
        axum::serve(listener, api::router(shared))
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// A mock tenant running in this process; shut it down with [`MockHandle::shutdown`]
/// (dropping the handle also stops it). `Debug` shows no secret.
#[derive(Debug)]
pub struct MockHandle {
    /// `http://127.0.0.1:PORT`, the tenant base URL.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// A bearer token with the "MFA Client" role, ready for [`idcs_mfa::Client`].
    pub token: Secret,
    /// The control API's bearer token.
    pub control_token: Secret,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl MockHandle {
    /// The control API's base URL (`{base_url}/_mock/v1`).
    pub fn control_url(&self) -> String {
        format!("{}{CONTROL_PREFIX}", self.base_url)
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `127.0.0.1:0` and serves the mock tenant on a tokio task.
pub async fn spawn(mut config: MockConfig) -> std::io::Result<MockHandle> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let token = config.token.get_or_insert_with(random::token).clone();
    let control_token = config
        .control_token
        .get_or_insert_with(random::token)
        .clone();
    config.fixture.validate().map_err(|reason| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("invalid fixture: {reason}"),
        )
    })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, config, async move {
        let _ = stopped.await;
    }));
    Ok(MockHandle {
        base_url: format!("http://{addr}"),
        addr,
        token,
        control_token,
        stop: Some(stop),
        task: Some(task),
    })
}
