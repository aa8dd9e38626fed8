//! The client progenitor generated from `openapi/idcs-mfa.yaml` at build time.
//!
//! This is the only place the generated code is included. Its types are re-exported
//! as [`crate::types`]; its `Client` is wrapped by [`crate::Client`], which adds
//! authentication, the status-keeping [`crate::Error`] and the verification flow.
#![allow(missing_docs, clippy::all, clippy::pedantic, unused_imports, dead_code)]

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
