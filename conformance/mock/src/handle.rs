//! [`MockTenant`]: a mock tenant running in this process, with a typed handle that plays
//! the user's phone and inbox and the administrator's console.
//!
//! Every method acts on the tenant's state directly (no HTTP round trip, no URL to
//! build, no JSON to parse); the same actions are open to other processes through the
//! control API under `/_mock/v1` (see `docs/mock.md`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use idcs_mfa::{Client, Secret};

use crate::{
    config::MockConfig,
    fault::Fault,
    fixture::Fixture,
    random,
    routes::CONTROL_PREFIX,
    server::serve_shared,
    shared::Shared,
    state::{ControlRefusal, OutboxEntry, UserStatus},
};

/// Why an action of the handle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No request or user with that id.
    #[error("not found: {0}")]
    NotFound(String),
    /// The action does not fit the request's state (a PUSH already decided or expired,
    /// a request that is not a PUSH).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input is invalid (a fixture that does not validate).
    #[error("invalid: {0}")]
    Invalid(String),
}

/// A mock tenant serving on `127.0.0.1` in this process. Dropping it stops the server;
/// [`MockTenant::shutdown`] also waits until it has stopped. `Debug` shows no secret.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use idcs_mfa::{Initiate, Method, UserRef};
/// use idcs_mfa_mock::MockTenant;
///
/// let mock = MockTenant::start().await?;
/// let client = mock.client()?;
/// let user = UserRef::Name("user1@example.com".into());
/// let mut v = client.initiate(&Initiate::preferred(user)).await?;
/// let otp = mock.last_otp(v.user_guid()).expect("an OTP was sent");
/// client.verify_otp(&mut v, otp.expose()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MockTenant {
    base_url: String,
    addr: SocketAddr,
    token: Secret,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl MockTenant {
    /// Starts a tenant with [`MockConfig::default`]: the users of Oracle's examples
    /// (`user1@example.com`, `tom@example.com`, …) and `conformance@example.com`, who has
    /// every method enrolled ([`Fixture::default`]).
    pub async fn start() -> std::io::Result<MockTenant> {
        MockTenant::start_with(MockConfig::default()).await
    }

    /// Starts a tenant with `config` on `127.0.0.1` and a free port. An invalid fixture
    /// is an `InvalidInput` error.
    pub async fn start_with(mut config: MockConfig) -> std::io::Result<MockTenant> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let token = config.token.get_or_insert_with(random::token).clone();
        let idle_close = config.idle_close();
        let shared = Shared::new(config)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_shared(
            listener,
            shared.clone(),
            idle_close,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(MockTenant {
            base_url: format!("http://{addr}"),
            addr,
            token,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, the tenant's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A bearer token with the "MFA Client" role that never expires.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// A [`Client`] for this tenant, authenticated with [`MockTenant::token`].
    pub fn client(&self) -> Result<Client, idcs_mfa::Error> {
        Client::builder(&self.base_url)
            .bearer_token(self.token.expose())
            .build()
    }

    /// The control API's bearer token, for a test in another process.
    pub fn control_token(&self) -> &Secret {
        &self.shared.control_token
    }

    /// The control API's base URL (`{base_url}/_mock/v1`).
    pub fn control_url(&self) -> String {
        format!("{}{CONTROL_PREFIX}", self.base_url)
    }

    /// The user approves the PUSH of `request_id` on their phone. Under the behaviour
    /// `delayed_push` the decision reaches the tenant later, and the delay is returned.
    pub fn approve_push(&self, request_id: &str) -> Result<Option<Duration>, ControlError> {
        self.shared
            .decide_push(request_id, true)
            .map_err(|r| refusal(r, request_id))
    }

    /// The user rejects the PUSH of `request_id` (see [`MockTenant::approve_push`]).
    pub fn reject_push(&self, request_id: &str) -> Result<Option<Duration>, ControlError> {
        self.shared
            .decide_push(request_id, false)
            .map_err(|r| refusal(r, request_id))
    }

    /// Every OTP sent (SMS, EMAIL, PHONE_CALL), oldest first.
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        self.shared.lock().outbox(None, None)
    }

    /// The OTPs sent for one request, oldest first.
    pub fn outbox_for_request(&self, request_id: &str) -> Vec<OutboxEntry> {
        self.shared.lock().outbox(Some(request_id), None)
    }

    /// The last OTP sent to the user `user_guid`, if any.
    pub fn last_otp(&self, user_guid: &str) -> Option<Secret> {
        self.shared
            .lock()
            .outbox(None, Some(user_guid))
            .pop()
            .map(|e| e.otp)
    }

    /// The user's attempt count, lock and bypass codes left; `None` for an unknown user.
    pub fn user(&self, user_guid: &str) -> Option<UserStatus> {
        self.shared.user_status(user_guid)
    }

    /// The user's attempt count since their last success or unlock.
    pub fn attempts(&self, user_guid: &str) -> Option<u32> {
        self.user(user_guid).map(|u| u.attempts)
    }

    /// Locks the user as if they had met the maximum (an administrator's lock).
    pub fn lock_user(&self, user_guid: &str) -> Result<UserStatus, ControlError> {
        self.shared
            .lock_user(user_guid)
            .ok_or_else(|| no_user(user_guid))
    }

    /// Unlocks the user and sets their attempt count to 0 (an administrator's unlock).
    pub fn unlock_user(&self, user_guid: &str) -> Result<UserStatus, ControlError> {
        self.shared
            .unlock_user(user_guid)
            .ok_or_else(|| no_user(user_guid))
    }

    /// The configured fixture and faults again; no requests, attempts or outbox. Tokens
    /// stay valid.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// The faults switched on.
    pub fn faults(&self) -> Vec<Fault> {
        self.shared.lock().faults.list()
    }

    /// Switches exactly these faults on (none: the documented behaviour).
    pub fn set_faults(&self, faults: &[Fault]) {
        self.shared.lock().faults = faults.iter().copied().collect();
    }

    /// The current fixture (used bypass codes are gone from it).
    pub fn fixture(&self) -> Fixture {
        self.shared.lock().fixture.clone()
    }

    /// Replaces the fixture (validated first); forgets requests, attempts and outbox.
    pub fn replace_fixture(&self, fixture: Fixture) -> Result<(), ControlError> {
        self.shared
            .replace_fixture(fixture)
            .map_err(ControlError::Invalid)
    }

    /// Mints a /mfa/v1 bearer token holding `roles` ("MFA Client", "Authenticator
    /// Client", or others, which the tenant refuses), valid for `lifetime` (`None`:
    /// forever).
    pub fn mint_token(&self, roles: &[&str], lifetime: Option<Duration>) -> Secret {
        self.shared
            .mint_token(roles.iter().map(|r| (*r).to_owned()).collect(), lifetime)
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

impl Drop for MockTenant {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn refusal(r: ControlRefusal, request_id: &str) -> ControlError {
    match r {
        ControlRefusal::NotFound => ControlError::NotFound(format!("no request {request_id}")),
        ControlRefusal::Conflict(why) => ControlError::Conflict(why),
    }
}

fn no_user(user_guid: &str) -> ControlError {
    ControlError::NotFound(format!("no user {user_guid}"))
}
