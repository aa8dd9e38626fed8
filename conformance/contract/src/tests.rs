//! Unit tests of the index and the validator.

use serde_json::json;

use super::*;

fn contract() -> &'static Contract {
    Contract::get()
}

fn schema(name: &str) -> SchemaRef {
    contract().schema(name).unwrap()
}

fn kinds(v: &Validation) -> Vec<String> {
    v.errors.iter().map(ToString::to_string).collect()
}

/// A contract made of these component schemas only.
fn synthetic(schemas: Value) -> Contract {
    Contract::from_value(json!({
        "openapi": "3.0.3",
        "paths": {},
        "components": { "schemas": schemas }
    }))
    .unwrap()
}

#[test]
fn the_embedded_contract_reads_and_uses_no_unsupported_keyword() {
    let c = contract();
    assert_eq!(c.operations().len(), 5);
    assert!(
        c.unsupported_keywords().is_empty(),
        "{:#?}",
        c.unsupported_keywords()
    );
}

#[test]
fn a_conforming_value_passes() {
    let v = validate(
        &schema("ErrorResponse"),
        &json!({"status": "failed", "cause": [{"code": "AUTH-1105", "message": "x"}]}),
    );
    assert!(v.is_valid(), "{v:#?}");
    assert!(v.unknown_fields.is_empty());
}

#[test]
fn wrong_type_fails() {
    let v = validate(
        &schema("ErrorResponse"),
        &json!({"status": "failed", "cause": "AUTH-1105"}),
    );
    assert_eq!(kinds(&v), ["/cause: expected array, found string"]);
    let v = validate(&schema("ErrorResponse"), &json!([]));
    assert_eq!(kinds(&v), ["(root): expected object, found array"]);
}

#[test]
fn missing_required_fails() {
    let v = validate(&schema("ErrorResponse"), &json!({"status": "failed"}));
    assert_eq!(
        kinds(&v),
        ["(root): required property \"cause\" is missing"]
    );
    assert_eq!(
        v.errors[0].kind,
        ViolationKind::MissingProperty("cause".into())
    );
}

#[test]
fn enum_violation_fails_through_ref() {
    let v = validate(
        &schema("VerificationStatus"),
        &json!({"status": "approved"}),
    );
    assert_eq!(v.errors.len(), 1, "{v:#?}");
    assert_eq!(v.errors[0].path, "/status");
    assert!(matches!(
        &v.errors[0].kind,
        ViolationKind::NotInEnum { value, allowed } if value == "approved" && allowed.len() == 3
    ));
}

#[test]
fn nested_array_item_fails_with_its_path() {
    let v = validate(
        &schema("UserFactors"),
        &json!({
            "status": "success",
            "userGUID": "g",
            "factors": [
                {"factorId": "a", "methods": ["SMS"]},
                {"factorId": "b", "methods": ["SMS", "FIDO_KEY", 7]}
            ]
        }),
    );
    let paths: Vec<&str> = v.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/factors/1/methods/1", "/factors/1/methods/2"]);
    assert!(matches!(
        v.errors[1].kind,
        ViolationKind::WrongType {
            found: "integer",
            ..
        }
    ));
}

#[test]
fn unknown_fields_are_reported_not_errors() {
    let v = validate(
        &schema("ErrorResponse"),
        &json!({
            "status": "failed",
            "ecid": "x",
            "cause": [{"code": "c", "message": "m", "detail/more": 1}]
        }),
    );
    assert!(v.is_valid(), "{v:#?}");
    assert_eq!(v.unknown_fields, ["/cause/0/detail~1more", "/ecid"]);
}

#[test]
fn all_of_merges_declared_fields_and_checks_each_branch() {
    // requestState is `allOf: [$ref Secret]`: a string is fine, a number is not,
    // and it is declared (not unknown) although it sits under allOf.
    let s = schema("CompleteFactorVerification");
    let ok = validate(&s, &json!({"requestState": "abc", "resendOtp": true}));
    assert!(ok.is_valid() && ok.unknown_fields.is_empty(), "{ok:#?}");
    let bad = validate(&s, &json!({"requestState": 5, "resendOtp": true}));
    assert_eq!(
        kinds(&bad),
        ["/requestState: expected string, found integer"]
    );

    let c = synthetic(json!({
        "A": {"type": "object", "properties": {"a": {"type": "string"}}},
        "B": {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}},
        "AB": {"allOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}
    }));
    let ab = c.schema("AB").unwrap();
    let v = c.validate(&ab, &json!({"a": "x", "b": 1, "c": true}));
    assert!(v.is_valid(), "{v:#?}");
    assert_eq!(v.unknown_fields, ["/c"]);
    let v = c.validate(&ab, &json!({"a": 1}));
    assert_eq!(
        kinds(&v),
        [
            "/a: expected string, found integer",
            "(root): required property \"b\" is missing"
        ]
    );
}

#[test]
fn json_media_types() {
    for t in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/scim+json",
        "application/problem+JSON",
    ] {
        assert!(is_json_media_type(t), "{t}");
    }
    for t in [
        "text/html",
        "application/jsonx",
        "json",
        "",
        "text/é+jso",
        "+json",
    ] {
        assert!(!is_json_media_type(t), "{t}");
    }
}

#[test]
fn size_bounds_of_strings_arrays_and_objects() {
    let c = synthetic(json!({
        "S": {"type": "string", "minLength": 1, "maxLength": 3},
        "A": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "integer"}},
        "O": {"type": "object", "minProperties": 2, "maxProperties": 2},
        "Bad": {"type": "string", "minLength": -1}
    }));
    let s = c.schema("S").unwrap();
    assert!(
        c.validate(&s, &json!("é€x")).is_valid(),
        "characters, not bytes"
    );
    assert_eq!(
        kinds(&c.validate(&s, &json!(""))),
        ["(root): size 0 breaks minLength: 1"]
    );
    assert_eq!(
        kinds(&c.validate(&s, &json!("abcd"))),
        ["(root): size 4 breaks maxLength: 3"]
    );
    let a = c.schema("A").unwrap();
    assert!(c.validate(&a, &json!([1, 2])).is_valid());
    assert_eq!(
        kinds(&c.validate(&a, &json!([]))),
        ["(root): size 0 breaks minItems: 1"]
    );
    assert_eq!(
        kinds(&c.validate(&a, &json!([1, 2, 3]))),
        ["(root): size 3 breaks maxItems: 2"]
    );
    let o = c.schema("O").unwrap();
    assert!(c.validate(&o, &json!({"a": 1, "b": 2})).is_valid());
    assert_eq!(
        kinds(&c.validate(&o, &json!({"a": 1}))),
        ["(root): size 1 breaks minProperties: 2"]
    );
    assert_eq!(
        kinds(&c.validate(&o, &json!({"a": 1, "b": 2, "c": 3}))),
        ["(root): size 3 breaks maxProperties: 2"]
    );
    let bad = c.schema("Bad").unwrap();
    assert!(!c.validate(&bad, &json!("x")).is_valid());
}

#[test]
fn minimum_nullable_and_additional_properties() {
    let c = synthetic(json!({
        "N": {"type": "integer", "minimum": 0, "nullable": true},
        "Closed": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false},
        "Map": {"type": "object", "additionalProperties": {"type": "boolean"}}
    }));
    let n = c.schema("N").unwrap();
    assert!(c.validate(&n, &json!(3)).is_valid());
    assert!(c.validate(&n, &Value::Null).is_valid());
    assert_eq!(
        kinds(&c.validate(&n, &json!(-1))),
        ["(root): -1 is below the minimum 0"]
    );
    assert_eq!(
        kinds(&c.validate(&n, &json!(1.5))),
        ["(root): expected integer, found number"]
    );

    let closed = c.schema("Closed").unwrap();
    let v = c.validate(&closed, &json!({"a": "x", "b": 1}));
    assert_eq!(
        kinds(&v),
        ["(root): property \"b\" is not allowed (additionalProperties: false)"]
    );
    assert!(v.unknown_fields.is_empty());

    let map = c.schema("Map").unwrap();
    let v = c.validate(&map, &json!({"x": true, "y": "no"}));
    assert_eq!(kinds(&v), ["/y: expected boolean, found string"]);
    assert!(v.unknown_fields.is_empty());
}

#[test]
fn an_unsupported_keyword_is_an_error_not_ignored() {
    let c = synthetic(json!({
        "Code": {"type": "string", "pattern": "^AUTH-[0-9]+$"},
        "Obj": {"type": "object", "properties": {"code": {"$ref": "#/components/schemas/Code"}}},
        "RefSibling": {"$ref": "#/components/schemas/Code", "maxLength": 3}
    }));
    assert_eq!(
        c.unsupported_keywords().len(),
        2,
        "{:#?}",
        c.unsupported_keywords()
    );
    let v = c.validate(&c.schema("Obj").unwrap(), &json!({"code": "AUTH-1105"}));
    assert_eq!(
        kinds(&v),
        [
            "/code: the schema #/components/schemas/Code uses \"pattern\", which this validator does not implement"
        ]
    );
    let v = c.validate(&c.schema("RefSibling").unwrap(), &json!("AUTH-1"));
    assert!(!v.is_valid());
}

#[test]
fn a_dangling_ref_is_an_error() {
    let c = synthetic(json!({"X": {"$ref": "#/components/schemas/Nope"}}));
    let v = c.validate(&c.schema("X").unwrap(), &json!({}));
    assert!(matches!(
        v.errors[0].kind,
        ViolationKind::InvalidSchema { .. }
    ));
}

#[test]
fn responses_refs_are_followed_to_their_content() {
    let c = contract();
    let s = c.response_schema("lookupUserFactors", 429).unwrap();
    assert_eq!(
        s.pointer(),
        "/components/responses/TooManyRequests/content/application~1json/schema"
    );
    let v = c.validate(&s, &json!({"status": "failed"}));
    assert_eq!(
        kinds(&v),
        ["(root): required property \"cause\" is missing"]
    );
    let r = c
        .operation("lookupUserFactors")
        .unwrap()
        .response(429)
        .unwrap();
    assert_eq!(r.evidence.as_deref(), Some("captured"));
    assert_eq!(r.source.as_deref(), Some("[RL]"));
}
