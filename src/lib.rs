//! A typed client for the Oracle Identity Cloud Service MFA verification API
//! (`/mfa/v1`), generated at build time from the hand-written contract
//! `openapi/idcs-mfa.yaml`.
//!
//! # The flow in one page
//!
//! Verification takes two steps (\[STATUS\] and \[VERIFY\]): **initiate** a verification of a
//! factor, then **verify** it with what the user gives you (an OTP, a bypass code,
//! security answers) or, for a PUSH, **wait** until the user approves it on the phone.
//!
//! ```no_run
//! use idcs_mfa::{Answer, Client, Initiate, Method, PushStatus, PushWait, UserRef};
//!
//! # async fn run() -> Result<(), idcs_mfa::Error> {
//! let client = Client::builder("https://idcs-abc123.identity.oraclecloud.com")
//!     .bearer_token(std::env::var("IDCS_TOKEN").unwrap_or_default())
//!     .build()?;
//!
//! let user = UserRef::Name("user1@example.com".into());
//! let factors = client.factors(&user).await?;
//! println!("preferred: {:?}", factors.preferred_method);
//!
//! // The preferred factor (here SMS): the tenant sends a code.
//! let mut v = client.initiate(&Initiate::preferred(user.clone())).await?;
//! if v.method().can_resend() {
//!     client.resend_otp(&mut v).await?; // the Verification now holds the new requestState
//! }
//! match client.verify_otp(&mut v, "629084").await {
//!     Ok(()) => println!("verified"),
//!     Err(e) if e.has_code(&idcs_mfa::AuthCode::InvalidPasscode) => println!("wrong code"),
//!     Err(e) => return Err(e),
//! }
//!
//! // A PUSH: poll every 3 s for up to 2 min (Oracle's sample values).
//! let push = Initiate::factor(user.clone(), "06f15bf5778544c3ae2236c5fca9d9e8", Method::Push)
//!     .application_name("Customer Portal");
//! let v = client.initiate(&push).await?;
//! match client.wait_for_push(&v, PushWait::default()).await? {
//!     PushStatus::Approved => println!("approved"),
//!     PushStatus::Rejected { .. } => println!("rejected"),
//!     // Pending never comes back from wait_for_push; the enum may grow.
//!     other => println!("{other:?}"),
//! }
//!
//! // Security questions: the initiate answer carries the questions.
//! let mut v = client.initiate(&Initiate::security_questions(user)).await?;
//! let answers: Vec<Answer> = v
//!     .security_questions()
//!     .iter()
//!     .map(|q| Answer::new(q.id.clone(), "Ford Pinto"))
//!     .collect();
//! client.verify_answers(&mut v, &answers).await?;
//! # Ok(()) }
//! ```
//!
//! A runnable version against the mock tenant is `examples/flow.rs`.
//!
//! # Errors keep their status
//!
//! Every failure is an [`Error`]; [`Error::status`] gives the HTTP status whenever a
//! response arrived, also when its body was empty or HTML (the generated client alone
//! loses it there). [`Error::causes`], [`Error::ec_id`] and [`Error::codes`] expose the
//! documented error body; codes are an [`AuthCode`] with a fallback for unknown codes.
//!
//! # Forward compatibility
//!
//! A newer tenant may add methods, statuses, codes or fields. [`Method`], [`Status`] and
//! [`AuthCode`] keep unknown values as `Other(String)`, and unknown fields are ignored:
//! parsing does not break. (The conformance suite, not this library, reports such
//! deviations from the contract.)
//!
//! # Secrets
//!
//! Tokens, client secrets, OTPs, bypass codes, security answers and requestStates are
//! [`Secret`]s, in hand-written and generated types alike: `Debug` and `Display` print
//! `[redacted]`. The `Authorization` header is marked sensitive and never recorded; the
//! client follows no redirect, so it never sends the token to another host.
//!
//! # Layout
//!
//! - `client`: [`ClientBuilder`], [`Client`], one method per operation of the contract.
//! - `flow`: the two-step flow ([`Initiate`], [`Verification`], PUSH polling).
//! - `transport`: the hooks every request passes through (auth, media type, body limit).
//! - [`policy`]: the rate limit, 429 retries (`Retry-After`, backoff) and the resend of a
//!   `GET` whose pooled connection closed.
//! - `error`: [`Error`], which keeps the status.
//! - `exchange`: [`Exchange`], a record of one request and response, for reports.
//! - `auth`: the client-credentials grant ([`ClientCredentials`]).
//! - `secret`: [`Secret`]; [`Method`], [`Status`] and [`AuthCode`] come from the
//!   `idcs-mfa-vocabulary` crate (the contract's words, shared with the model and the mock).
//! - `generated`: the progenitor output, included once; its types are [`types`].
//! - `operation`: [`Operation`], generated from the contract's `operationId`s.
//! - `wire`: what the transport saw of a response, below every other module.
//!
//! The contract itself (the spec embedded, and a validator of JSON values against its
//! schemas) is not part of this crate: the conformance suite keeps it
//! (`idcs-mfa-contract`), so that a validator change is never a semver event here.
#![deny(missing_docs)]

mod auth;
mod client;
mod error;
mod exchange;
mod flow;
mod generated;
mod operation;
pub mod policy;
mod secret;
mod transport;
mod wire;

pub use auth::{AccessToken, ClientCredentials, DEFAULT_SCOPE};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Response,
};
pub use error::{Error, RawBody};
pub use exchange::{Exchange, REDACTED, SECRET_KEYS, redact_json};
pub use flow::{
    Answer, DEFAULT_PUSH_DEADLINE, DEFAULT_PUSH_INTERVAL, Initiate, PushStatus, PushWait, UserRef,
    Verification,
};
pub use generated::types;
pub use idcs_mfa_vocabulary::{AuthCode, Method, Status};
pub use operation::Operation;
pub use policy::{Event, Observer, RateLimitPolicy, RateLimiter};
pub use secret::Secret;
pub use transport::{ContentType, Recorder};
