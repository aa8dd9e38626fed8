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
//! The mock renders the model's answers and adds HTTP, randomness, a clock and faults
//! around it. `lib.rs` only declares the modules and re-exports the public face. Each
//! module imports what it uses from the module that defines it, and no two modules
//! import each other, directly or through others.
//!
//! - `api`: the /mfa/v1 handlers (parse, call the state, render), routed from the
//!   contract's operations ([`idcs_mfa::Operation`]: each at its path, on its method);
//!   `api::extract`: what every handler starts with, the token checked and the path's
//!   parameter, as extractors that render their own refusals.
//! - `behaviour`: [`Behaviour`], named realistic habits of real tenants (rate limits,
//!   slowness, late PUSH decisions, closing connections, extra members).
//! - `body`: request bodies (media type, size limit, JSON, fields), and what a PATCH
//!   asks for.
//! - `clock`: one reading of the clock per request, which the handler passes down.
//! - `config`: [`MockConfig`], the defaults and the limits.
//! - `control`: the control API (the control token and JSON bodies as extractors too).
//! - `deviate`: the faults at work: each bends a step or an answer of the model (which
//!   factor an initiate opens, which requestState a PATCH presents, whether a code
//!   matches, what an answer does to the count) or an answer the mock renders.
//! - `fault`: [`Fault`], named deviations from the contract, and [`Faults`], the set on.
//! - `fixture`: [`Fixture`], users, factors, secrets and apps.
//! - `handle`: [`MockTenant`], the typed handle of a tenant in this process.
//! - [`model`]: the executable model of the documented behaviour (the crate
//!   `idcs-mfa-model`, re-exported): the tenant answers with it, the conformance runner
//!   judges with it.
//! - `named`: the macro that names the faults, behaviours and variations.
//! - `oauth`: the token endpoint.
//! - `random`: OS randomness for keys, tokens, OTPs and request ids.
//! - `reply`: the error shape and body-level faults.
//! - [`routes`]: the control API's URLs, for a client in another process.
//! - `seal`: the tamper-evident `requestState`.
//! - `server`: [`serve`], the routes and the layers around them.
//! - `shared`: what every handler shares: the state behind its lock, the settings.
//! - [`state`]: everything remembered, and the documented rules (attempts counted with
//!   [`model::attempts`], lockout, requestStates, PUSH expiry): the model's step for
//!   each request, its one answer, that answer rendered; one file per operation.
//! - [`totp`]: RFC 6238 codes, shared with the conformance runner.
//! - `variation`: [`Variation`], conforming changes of the answers, for drift tests.
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
mod clock;
mod config;
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
mod server;
mod shared;
pub mod state;
pub mod totp;
pub mod variation;

pub use behaviour::{Behaviour, Timing};
pub use config::{
    CONTROL_MAX_BODY_BYTES, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BODY_BYTES, DEFAULT_PUSH_EXPIRY,
    DEFAULT_TOKEN_LIFETIME, MockConfig,
};
pub use fault::{Fault, Faults};
pub use fixture::Fixture;
pub use handle::{ControlError, MockTenant};
/// The executable model of the documented behaviour, which the mock answers with (the
/// crate `idcs-mfa-model`).
pub use idcs_mfa_model as model;
pub use idcs_mfa_model::readings::{Alt, Choices, Reading, UnknownReading};
pub use random::token as random_token;
pub use routes::CONTROL_PREFIX;
pub use server::serve;
pub use state::{OutboxEntry, UserStatus};
pub use variation::Variation;
