//! Conformance suite and stateful mock tenant for the IDCS MFA verification API.
pub mod check;
pub mod checks;
pub mod diff;
pub mod embedded;
pub mod mock;
pub mod normalise;
pub mod profile;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod suite;
pub mod target;
pub mod totp;
pub mod validate;
