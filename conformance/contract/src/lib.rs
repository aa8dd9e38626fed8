//! The contract the client `idcs-mfa` is generated from, embedded, indexed by operation
//! (`document`), and a validator of JSON values against its schemas (`validator`).
//!
//! This crate embeds `openapi/idcs-mfa.yaml`, the very file the client's `build.rs`
//! generates from, and reads it once per process on first use. Tools
//! that check a tenant against the contract (the conformance suite, the client's tests)
//! use [`Contract::get`], so they validate against exactly the spec the client was
//! generated from, not a second copy of the shapes. It lives apart from the client so
//! that a change of the validator is never a semver event of the client.
//!
//! # Why a validator of our own
//!
//! The generated types are deliberately lenient (open enums, unknown fields ignored) so
//! that a newer tenant does not break an integration. A conformance check needs the
//! opposite: every deviation from the contract, named. This validator reads the schemas
//! of the document itself and reports, for one JSON value:
//!
//! - **errors** ([`Validation::errors`]): a wrong type, a missing required property, a
//!   value outside an `enum`, a number below `minimum`, a property refused by
//!   `additionalProperties: false` or by an `additionalProperties` schema;
//! - **unknown fields** ([`Validation::unknown_fields`]): properties the schema does not
//!   declare. They are not errors, because an OpenAPI object is open unless it says
//!   `additionalProperties: false`; a report shows them as deviations.
//!
//! It understands exactly the OpenAPI 3.0 keywords the contract uses: `type`,
//! `properties`, `required`, `enum`, `items`, `$ref` (to `#/components/…`), `allOf`,
//! `additionalProperties`, `minimum` and `nullable`; `description`, `example` and `x-*`
//! extensions carry no constraint and are skipped. **Any other keyword is an error**
//! ([`ViolationKind::UnsupportedKeyword`]) wherever it is met, and
//! [`Contract::unsupported_keywords`] lists them all up front: a validator that skipped
//! `pattern` or `maxLength` in silence would let a bad response pass.
//!
//! The properties of the `allOf` branches of one schema are merged when deciding which
//! fields are unknown (so `allOf: [{$ref: A}, {$ref: B}]` declares the fields of both).
//!
//! ```
//! use idcs_mfa_contract::{self as contract, Contract};
//! use serde_json::json;
//!
//! let contract = Contract::get();
//! let schema = contract.response_schema("getVerificationStatus", 200).unwrap();
//! let report = contract::validate(&schema, &json!({"status": "approved", "extra": 1}));
//! assert_eq!(report.errors.len(), 1); // "approved" is not in the enum
//! assert_eq!(report.unknown_fields, ["/extra"]);
//! ```

use serde_json::Value;

/// The contract as written (YAML), the very document the client is generated from;
/// [`Contract::get`] reads it once per process.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi/idcs-mfa.yaml");

mod document;
mod keywords;
#[cfg(test)]
mod tests;
mod validator;

pub use document::{Contract, DocumentedResponse, Example, ExampleLocation, Operation, SchemaRef};
pub use keywords::{Validation, Violation, ViolationKind};

/// Whether a `Content-Type` value is one the contract's JSON bodies may carry:
/// `application/json` or any `…/…+json`, parameters such as `charset` allowed, any case.
pub fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.split_once('/').is_some_and(|(_, sub)| {
            let sub = sub.as_bytes();
            sub.len() >= 5 && sub[sub.len() - 5..].eq_ignore_ascii_case(b"+json")
        })
}

/// Validates `value` against `schema` of the embedded contract ([`Contract::get`]).
pub fn validate(schema: &SchemaRef, value: &Value) -> Validation {
    Contract::get().validate(schema, value)
}
