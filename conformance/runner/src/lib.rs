//! The conformance suite of the IDCS MFA verification API (`/mfa/v1`): named, property
//! and sequence checks, each quoting the documented sentence it asserts, run against any
//! tenant or against the mock tenant in this process; reports, tenant snapshots and the
//! diff of two reports. The command line (`src/main.rs`, `cli.rs`, `cli_run.rs`) is a
//! thin layer over [`run_suite`].
//!
//! # Layout
//!
//! From a description of the tenant to a report, in the order a run takes:
//!
//! - [`profile`]: a profile file (TOML) and the command line's overrides, resolved into
//!   a target (the token, the fixtures, the safety settings).
//! - [`embedded`]: the mock tenant started in this process, and its target, resolved
//!   by the same profile code.
//! - [`target`]: the [`Target`], split by concern (the tenant, the safety policy, the
//!   run's settings, what the run finds out), built once by a [`TargetBuilder`] and
//!   shared as `Arc<Target>`.
//! - `source`: where fixtures that need the outside world come from (a command, or the
//!   mock's control API), and the raw requests the generated client cannot express.
//! - `preflight`: a few requests before any check that tell a set-up problem from a
//!   contract failure (and whether each fixture command can run).
//! - `verdict`: what a check comes to, `Ok(())` or a [`Fail`].
//! - `harness`: what a check is ([`Check`], [`Need`], [`Evidence`]), the context one
//!   runs in ([`Ctx`]) and the shared assertions.
//! - [`checks`]: the registry of checks, one file per operation, plus the property and
//!   sequence checks.
//! - `ledger` and `guard`: the predicted attempt count of the test user, and the rules
//!   that keep it under the run's ceiling (resets, unlocks).
//! - [`runner`]: runs the selected checks against a target, safely, in order.
//! - `validate`: every answer held to the contract's schema for its status.
//! - `observe`: what the run saw of the tenant's network habits (429s, latency, resent
//!   GETs).
//! - `readings`: what the tenant showed where the documents are silent or can be read
//!   two ways.
//! - `suite`: one run from a [`TargetSpec`] to a report ([`run_suite`]).
//! - [`report`]: the console, JSON and JUnit reports.
//! - `normalise` and [`snapshot`]: tenant snapshots (each check's exchanges as stable
//!   text) and drift.
//! - [`diff`]: what changed between two JSON reports.
//!
//! The modules without a link are private: what the outside needs of them is
//! re-exported below.

pub mod checks;
pub mod diff;
pub mod embedded;
pub mod profile;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod target;

mod guard;
mod harness;
mod ledger;
mod normalise;
mod observe;
mod preflight;
mod readings;
mod source;
mod suite;
mod validate;
mod verdict;

pub use harness::Check;
pub use harness::Ctx;
pub use harness::Evidence;
pub use harness::Need;
pub use observe::NetworkSummary;
pub use readings::ReadingReport;
pub use readings::choices_of;
pub use suite::RunError;
pub use suite::TargetSpec;
pub use suite::run_suite;
pub use target::PropConfig;
pub use target::Target;
pub use target::TargetBuilder;
pub use validate::validate_exchange;
pub use verdict::Fail;
