//! Response-schema conformance: every exchange of every check, validated against the
//! contract's schema for its operation and status.
//!
//! Driven by `openapi/idcs-mfa.yaml` itself (through [`idcs_mfa::contract`]), not by a
//! second copy of the shapes. An undocumented status, a body that breaks the schema,
//! and an enum value the contract does not list are failures; properties the schema
//! does not declare are reported as notes (objects are open in OpenAPI).

use idcs_mfa::{Exchange, contract::Contract};

use crate::check::Operation;

/// What validation found in one exchange.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Contract violations (each one fails the check).
    pub errors: Vec<String>,
    /// Undeclared properties (reported, not failures).
    pub unknown_fields: Vec<String>,
}

/// Validates the response of `exchange` against the contract. Exchanges that are not
/// one of the five operations (the token endpoint, the mock's control API) and
/// exchanges without a response are not validated.
pub fn validate_exchange(exchange: &Exchange) -> Findings {
    let mut findings = Findings::default();
    let (Some(op), Some(status)) = (
        Operation::from_exchange_name(exchange.operation),
        exchange.status,
    ) else {
        return findings;
    };
    let contract = Contract::get();
    let Some(operation) = contract.operation(op.operation_id()) else {
        findings.errors.push(format!(
            "the contract has no operation {}",
            op.operation_id()
        ));
        return findings;
    };
    let Some(documented) = operation.response(status) else {
        findings.errors.push(format!(
            "{} answered {status}, which the contract does not document for it (documented: {})",
            op.label(),
            operation
                .statuses()
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return findings;
    };
    let Some(schema) = &documented.schema else {
        return findings;
    };
    let value: serde_json::Value = match serde_json::from_slice(&exchange.response_body) {
        Ok(v) => v,
        Err(e) => {
            let what = if exchange.response_body.is_empty() {
                "an empty body".to_owned()
            } else {
                format!("a body that is not JSON ({e})")
            };
            findings.errors.push(format!(
                "{} answered {status} with {what}; the contract documents a JSON body",
                op.label()
            ));
            return findings;
        }
    };
    let validation = contract.validate(schema, &value);
    for violation in validation.errors {
        findings.errors.push(format!(
            "{} {status} body breaks {schema}: {violation}",
            op.label()
        ));
    }
    for field in validation.unknown_fields {
        findings.unknown_fields.push(format!(
            "{} {status}: undeclared property {field}",
            op.label()
        ));
    }
    findings
}
