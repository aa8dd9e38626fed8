//! The contract checks itself: its examples are checked, not decoration, and every
//! operation, status and example is tied to its source.

use std::collections::BTreeMap;

use idcs_mfa_contract::{Contract, ExampleLocation, validate};
use serde_json::Value;

fn contract() -> &'static Contract {
    Contract::get()
}

// Test case: every example of a request or response body validates against the schema
// of the media type it is given for, and uses no field the schema does not declare.
#[test]
fn every_example_validates_against_its_own_schema() {
    let examples = contract().examples();
    // 9 request examples (5 initiate, 4 PATCH) and 13 response examples.
    assert_eq!(examples.len(), 22, "{examples:#?}");
    let mut failures = Vec::new();
    for example in examples {
        let at = format!(
            "{} {:?} {} {:?}",
            example.operation_id, example.location, example.media_type, example.name
        );
        let Some(schema) = &example.schema else {
            failures.push(format!("{at}: has no schema to validate against"));
            continue;
        };
        let report = validate(schema, &example.value);
        failures.extend(report.errors.iter().map(|e| format!("{at}: {e}")));
        failures.extend(
            report
                .unknown_fields
                .iter()
                .map(|f| format!("{at}: {f} is not declared by {schema}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Test case: the validator really fails on an example that breaks its schema (so the
// test above could fail).
#[test]
fn a_broken_example_would_fail() {
    let example = contract()
        .examples()
        .iter()
        .find(|e| e.operation_id == "getUserFactors" && e.name == "seed002-response-tab")
        .unwrap();
    let mut broken = example.value.clone();
    broken["factors"][0]["methods"][0] = Value::from("FIDO_KEY");
    broken.as_object_mut().unwrap().remove("userGUID");
    let report = validate(example.schema.as_ref().unwrap(), &broken);
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("userGUID"), "{errors:#?}");
    assert!(errors[1].starts_with("/factors/0/methods/0"), "{errors:#?}");
}

// Test case: every `example` outside the examples maps (parameters, schema properties)
// validates against the schema it sits beside or in.
#[test]
fn every_inline_example_validates() {
    let mut checked = 0;
    let mut failures = Vec::new();
    walk(contract().document(), "", &mut |pointer, object| {
        if !object.contains_key("example") {
            return;
        }
        // A parameter or media type: `schema` beside it. Otherwise it is a schema.
        let schema_pointer = if object.contains_key("schema") {
            format!("{pointer}/schema")
        } else {
            pointer.to_owned()
        };
        let schema = contract().schema_at(&schema_pointer).unwrap();
        let report = validate(&schema, &object["example"]);
        failures.extend(report.errors.iter().map(|e| format!("#{pointer}: {e}")));
        checked += 1;
    });
    assert!(checked >= 4, "found only {checked} inline examples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn walk(value: &Value, pointer: &str, f: &mut dyn FnMut(&str, &serde_json::Map<String, Value>)) {
    match value {
        Value::Object(object) => {
            f(pointer, object);
            for (key, child) in object {
                // The examples maps hold example values, not schemas.
                if key == "examples" || key == "example" {
                    continue;
                }
                let token = key.replace('~', "~0").replace('/', "~1");
                walk(child, &format!("{pointer}/{token}"), f);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{pointer}/{i}"), f);
            }
        }
        _ => {}
    }
}

// Test case: every operation in the document has an operationId (read from the raw
// document, independent of the parser, which refuses a document without one).
#[test]
fn every_operation_has_an_operation_id() {
    let paths = contract().document()["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" || method.starts_with("x-") {
                continue;
            }
            operations += 1;
            assert!(
                op["operationId"].as_str().is_some_and(|id| !id.is_empty()),
                "{method} {path} has no operationId"
            );
        }
    }
    assert_eq!(operations, contract().operations().len());
}

// Test case: every example names its source.
#[test]
fn every_example_carries_x_source() {
    let missing: Vec<String> = contract()
        .examples()
        .iter()
        .filter(|e| e.source.as_deref().is_none_or(str::is_empty))
        .map(|e| format!("{} {:?} {}", e.operation_id, e.location, e.name))
        .collect();
    assert!(
        missing.is_empty(),
        "examples without x-source: {missing:#?}"
    );
}

// Test case: every documented response status says how it is known (x-evidence, on the
// response or on the component it refers to) and where from (x-source).
#[test]
fn every_documented_status_carries_x_evidence() {
    let mut failures = Vec::new();
    for op in contract().operations() {
        for response in &op.responses {
            let at = format!("{} {}", op.operation_id, response.status);
            match response.evidence.as_deref() {
                Some("stated" | "captured" | "inferred" | "reading") => {}
                other => failures.push(format!("{at}: x-evidence is {other:?}")),
            }
            if response.source.is_none() {
                failures.push(format!("{at}: no x-source"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Test case: the five operations of the issue are present, with their methods, paths
// and every status the documents name.
#[test]
fn the_five_operations_and_their_statuses() {
    let actual: BTreeMap<&str, (String, &str, Vec<u16>)> = contract()
        .operations()
        .iter()
        .map(|o| {
            (
                o.operation_id.as_str(),
                (o.method.clone(), o.path.as_str(), o.statuses()),
            )
        })
        .collect();
    let expected: BTreeMap<&str, (String, &str, Vec<u16>)> = [
        (
            "getUserFactors",
            (
                "GET",
                "/mfa/v1/users/{userGUID}/factors",
                vec![200, 401, 404, 429, 500],
            ),
        ),
        (
            "lookupUserFactors",
            ("GET", "/mfa/v1/users", vec![200, 400, 401, 404, 429, 500]),
        ),
        (
            "initiateVerification",
            (
                "POST",
                "/mfa/v1/requests",
                vec![200, 400, 401, 404, 413, 429, 500],
            ),
        ),
        (
            "getVerificationStatus",
            (
                "GET",
                "/mfa/v1/requests/{requestId}",
                // 400: a poll of a request that is not a PUSH, refused (a reading).
                vec![200, 400, 401, 404, 429, 500],
            ),
        ),
        (
            "completeVerification",
            (
                "PATCH",
                "/mfa/v1/requests/{requestId}",
                vec![200, 400, 401, 404, 413, 429, 500],
            ),
        ),
    ]
    .into_iter()
    .map(|(id, (m, p, s))| (id, (m.to_owned(), p, s)))
    .collect();
    assert_eq!(actual, expected);
}

// Test case: the bodies have the schemas the generated client uses, and every error
// status shares the one error schema.
#[test]
fn bodies_and_the_shared_error_schema() {
    let c = contract();
    let resolves_to = |schema: &idcs_mfa_contract::SchemaRef| {
        c.document()
            .pointer(schema.pointer())
            .and_then(|s| s["$ref"].as_str())
            .map(str::to_owned)
    };
    for op in c.operations() {
        for r in &op.responses {
            let schema = r.schema.as_ref().unwrap_or_else(|| {
                panic!("{} {} has no JSON body schema", op.operation_id, r.status)
            });
            if r.status >= 400 {
                assert_eq!(
                    resolves_to(schema).as_deref(),
                    Some("#/components/schemas/ErrorResponse"),
                    "{} {}",
                    op.operation_id,
                    r.status
                );
            }
        }
    }
    let request = |id: &str| c.request_schema(id).as_ref().and_then(resolves_to);
    assert_eq!(
        request("initiateVerification").as_deref(),
        Some("#/components/schemas/InitiateVerificationRequest")
    );
    assert_eq!(
        request("completeVerification").as_deref(),
        Some("#/components/schemas/CompleteFactorVerification")
    );
    assert_eq!(request("getUserFactors"), None);
    // The request examples sit where the issue says.
    let request_examples: Vec<(&str, &str)> = c
        .examples()
        .iter()
        .filter(|e| e.location == ExampleLocation::Request)
        .map(|e| (e.operation_id.as_str(), e.name.as_str()))
        .collect();
    assert_eq!(
        request_examples,
        [
            ("initiateVerification", "pm-backup-factor-sms"),
            ("initiateVerification", "pm-bypass-code"),
            ("initiateVerification", "pm-preferred-factor"),
            ("initiateVerification", "pm-push-with-context"),
            ("initiateVerification", "pm-security-questions"),
            ("completeVerification", "seed001-bypass-code"),
            ("completeVerification", "seed001-otp"),
            ("completeVerification", "seed001-resend-otp"),
            ("completeVerification", "seed001-security-questions"),
        ]
    );
}

/// Members that every response example of a schema carries but the schema neither
/// requires nor documents as possibly absent (in the member's description, or in the
/// schema's description or `x-assumption` naming the member).
fn undocumented_optional_members(contract: &Contract) -> Vec<String> {
    let document = contract.document();
    // The pointer of the schema itself, $refs followed (examples of a shared schema
    // count together).
    let canonical = |pointer: &str| -> String {
        let mut pointer = pointer.to_owned();
        while let Some(target) = document
            .pointer(&pointer)
            .and_then(|s| s.get("$ref"))
            .and_then(Value::as_str)
        {
            pointer = target.trim_start_matches('#').to_owned();
        }
        pointer
    };
    let resolve = |pointer: &str| document.pointer(pointer);
    let mut carried: BTreeMap<String, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for example in contract.examples() {
        let (ExampleLocation::Response { .. }, Some(schema), Some(object)) = (
            &example.location,
            &example.schema,
            example.value.as_object(),
        ) else {
            continue;
        };
        let entry = carried.entry(canonical(schema.pointer())).or_default();
        entry.0 += 1;
        for key in object.keys() {
            *entry.1.entry(key.clone()).or_default() += 1;
        }
    }
    let mut findings = Vec::new();
    for (pointer, (examples, members)) in carried {
        let Some(schema) = resolve(&pointer) else {
            findings.push(format!("{pointer}: does not resolve"));
            continue;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let text =
            |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
        let schema_notes = format!(
            "{} {}",
            text(schema, "description"),
            text(schema, "x-assumption")
        );
        for (member, count) in members {
            if count < examples || required.contains(&member.as_str()) {
                continue;
            }
            let own = schema
                .pointer(&format!("/properties/{member}"))
                .map(|p| text(p, "description"))
                .unwrap_or_default()
                .to_ascii_lowercase();
            let documented = own.contains("absent")
                || own.contains(" only")
                || schema_notes.contains(&format!("`{member}`"));
            if !documented {
                findings.push(format!(
                    "{pointer}: `{member}` is in all {examples} example(s) but neither required nor documented as possibly absent"
                ));
            }
        }
    }
    findings
}

// Test case: forward compatibility cuts both ways: a member every documented answer
// carries is required unless a source says it can be absent, and the contract says so
// where it does (displayName of BYPASSCODE, the preferred factor, a resend's members).
#[test]
fn members_every_example_carries_are_required_or_documented_as_optional() {
    let findings = undocumented_optional_members(contract());
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

// Test case: the check above fails on a contract that drops the reason a member may be
// absent (the x-assumption of UserFactors).
#[test]
fn an_undocumented_optional_member_would_be_found() {
    let mut document = contract().document().clone();
    document["components"]["schemas"]["UserFactors"]
        .as_object_mut()
        .unwrap()
        .remove("x-assumption");
    let broken = Contract::from_value(document).expect("still a contract");
    let findings = undocumented_optional_members(&broken);
    assert!(
        findings.iter().any(|f| f.contains("preferredFactorId")),
        "{findings:#?}"
    );
}

// Test case: the spec is the one source of the contract's words: the open enums the
// client, the model and the mock share (`idcs-mfa-vocabulary`) list exactly the values of
// the spec's `MfaMethod` and `ResponseStatus` enums and its `x-known-codes`, in order.
#[test]
fn the_vocabulary_is_the_contracts() {
    use idcs_mfa_vocabulary::{AuthCode, Method, Status};
    let doc = contract().document();
    let schemas = &doc["components"]["schemas"];
    let listed = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("an enum")
            .iter()
            .map(|x| x.as_str().expect("a string").to_owned())
            .collect()
    };
    let wire = |known: Vec<&str>| known.into_iter().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        listed(&schemas["MfaMethod"]["enum"]),
        wire(Method::KNOWN.iter().map(|m| m.as_str()).collect())
    );
    assert_eq!(
        listed(&schemas["ResponseStatus"]["enum"]),
        wire(Status::KNOWN.iter().map(|s| s.as_str()).collect())
    );
    let codes: Vec<String> = schemas["Cause"]["properties"]["code"]["x-known-codes"]
        .as_object()
        .expect("x-known-codes")
        .keys()
        .cloned()
        .collect();
    let mut known = wire(AuthCode::KNOWN.iter().map(|c| c.as_str()).collect());
    known.sort();
    assert_eq!(codes, known);
}
