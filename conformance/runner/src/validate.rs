//! Response-schema conformance: every exchange of every check, validated against the
//! contract's schema for its operation and status.
//!
//! Driven by `openapi/idcs-mfa.yaml` itself (through [`idcs_mfa_contract`]), not by a
//! second copy of the shapes. An undocumented status, a body that breaks the schema,
//! and an enum value the contract does not list are failures; properties the schema
//! does not declare are reported as notes (objects are open in OpenAPI).
//!
//! Two things a JSON parser forgives are failures too: a documented JSON body labelled
//! with another media type (`text/html`), and an object that repeats a key (parsers
//! disagree on which one wins, so the tenant's answer has no single meaning).

use std::collections::HashSet;

use idcs_mfa::Exchange;
use idcs_mfa_contract::{self as contract, Contract};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

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
    let (Some(op), Some(status)) = (exchange.operation, exchange.status) else {
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
    let media_type = exchange
        .response_headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str());
    if !media_type.is_some_and(contract::is_json_media_type) {
        findings.errors.push(format!(
            "{} answered {status} with Content-Type {}; the contract documents application/json",
            op.label(),
            media_type.map_or("(none)".to_owned(), |t| format!("{t:?}"))
        ));
    }
    if let Some(path) = duplicate_key(&exchange.response_body) {
        findings.errors.push(format!(
            "{} answered {status} with a body that repeats the key at {path}",
            op.label()
        ));
    }
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

/// The JSON pointer of the first key that one object of `bytes` holds twice, if any
/// (`None` as well when `bytes` is not JSON: that is reported elsewhere).
fn duplicate_key(bytes: &[u8]) -> Option<String> {
    struct Walk<'a> {
        found: &'a mut Option<String>,
        path: String,
    }
    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0usize;
            loop {
                let item = Walk {
                    found: &mut *self.found,
                    path: format!("{}/{i}", self.path),
                };
                if seq.next_element_seed(item)?.is_none() {
                    return Ok(());
                }
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = format!(
                    "{}/{}",
                    self.path,
                    key.replace('~', "~0").replace('/', "~1")
                );
                if !seen.insert(key) && self.found.is_none() {
                    *self.found = Some(path.clone());
                }
                map.next_value_seed(Walk {
                    found: &mut *self.found,
                    path,
                })?;
            }
            Ok(())
        }
    }
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Walk {
        found: &mut found,
        path: String::new(),
    }
    .deserialize(&mut de)
    .ok()?;
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factors_exchange(content_type: Option<&str>, body: &str) -> Exchange {
        Exchange {
            operation: Some(idcs_mfa::Operation::GetUserFactors),
            method: "GET".into(),
            url: "http://tenant/mfa/v1/users/u/factors".into(),
            authorized: true,
            request_headers: Vec::new(),
            request_body: Default::default(),
            status: Some(200),
            response_headers: content_type
                .map(|t| vec![("content-type".to_owned(), t.to_owned())])
                .unwrap_or_default(),
            response_body: body.as_bytes().to_vec().into(),
            error: None,
            unreached: false,
        }
    }

    const FACTORS: &str = r#"{"status": "success", "userGUID": "u", "factors": []}"#;

    #[test]
    fn a_documented_body_passes_with_a_json_media_type() {
        for t in [
            "application/json",
            "application/json;charset=UTF-8",
            "application/scim+json",
        ] {
            let f = validate_exchange(&factors_exchange(Some(t), FACTORS));
            assert!(f.errors.is_empty(), "{t}: {f:?}");
        }
    }

    #[test]
    fn another_media_type_or_none_is_a_failure() {
        for t in [Some("text/html"), Some("text/plain; charset=utf-8"), None] {
            let f = validate_exchange(&factors_exchange(t, FACTORS));
            assert_eq!(f.errors.len(), 1, "{t:?}: {f:?}");
            assert!(f.errors[0].contains("Content-Type"), "{f:?}");
        }
    }

    #[test]
    fn a_repeated_key_is_a_failure_wherever_it_is() {
        let f = validate_exchange(&factors_exchange(
            Some("application/json"),
            r#"{"status": "failed", "userGUID": "u", "factors": [], "status": "success"}"#,
        ));
        assert_eq!(f.errors.len(), 1, "{f:?}");
        assert!(f.errors[0].contains("at /status"), "{f:?}");
        assert_eq!(
            duplicate_key(br#"{"a": [{"b": 1}, {"c": {"d/e": 1, "d/e": 2}}]}"#).as_deref(),
            Some("/a/1/c/d~1e")
        );
        assert_eq!(duplicate_key(br#"{"a": {"b": 1}, "b": {"a": 1}}"#), None);
        assert_eq!(duplicate_key(b"{"), None);
    }
}
