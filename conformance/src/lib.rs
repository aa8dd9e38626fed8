//! Conformance suite and stateful mock tenant for the IDCS MFA verification API.
pub mod mock;
pub mod totp;
