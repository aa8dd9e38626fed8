//! The contract this client was generated from, embedded.
//!
//! `build.rs` reads `openapi/idcs-mfa.yaml` and writes the same document as JSON next
//! to the generated code; both are compiled in here. Tools that check a tenant against
//! the contract (the conformance suite) parse [`OPENAPI_JSON`], so they validate against
//! exactly the spec the client was generated from, not a second copy of the shapes.

/// The contract as written (YAML).
pub const OPENAPI_YAML: &str = include_str!("../openapi/idcs-mfa.yaml");

/// The contract as JSON (the same document, converted at build time).
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/idcs-mfa.json"));
