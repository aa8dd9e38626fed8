//! Conformance suite and stateful mock tenant for the IDCS MFA verification API.
pub mod checks;
pub mod diff;
pub mod embedded;
pub mod guard;
pub mod harness;
pub mod ledger;
pub mod normalise;
pub mod observe;
pub mod preflight;
pub mod profile;
pub mod readings;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod suite;
pub mod target;
pub mod validate;
