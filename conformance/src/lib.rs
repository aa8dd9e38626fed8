//! Conformance suite and stateful mock tenant for the IDCS MFA verification API.
pub mod check;
pub mod checks;
pub mod embedded;
pub mod guard;
pub mod ledger;
pub mod mock;
pub mod model;
pub mod preflight;
pub mod profile;
pub mod report;
pub mod runner;
pub mod suite;
pub mod target;
pub mod totp;
pub mod validate;
