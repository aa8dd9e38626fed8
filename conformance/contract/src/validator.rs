//! The validator: one JSON value against one schema of the contract, every deviation
//! named (see the crate docs for the keywords it understands).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::{
    Contract,
    keywords::{
        SIZE_BOUNDS, Validation, Violation, ViolationKind, escape, invalid, ref_pointer,
        unsupported_in,
    },
};

impl Contract {
    /// Checks `value` against the schema at `pointer`. `own_fields`: whether this call
    /// decides which fields of an object are unknown (false inside an `allOf` branch,
    /// whose sibling branches declare other fields).
    pub(crate) fn check(
        &self,
        pointer: &str,
        value: &Value,
        path: &mut String,
        out: &mut Validation,
        own_fields: bool,
    ) {
        let Some(schema) = self.schema_object(pointer) else {
            out.errors
                .push(invalid(path, pointer, "there is no schema object there"));
            return;
        };
        let unsupported = unsupported_in(schema, pointer);
        if !unsupported.is_empty() {
            out.errors
                .extend(unsupported.into_iter().map(|v| Violation {
                    path: path.clone(),
                    ..v
                }));
            return;
        }

        if let Some(target) = schema.get("$ref") {
            match target.as_str().map(ref_pointer) {
                Some(Ok(target)) => self.check(&target, value, path, out, own_fields),
                Some(Err(reason)) => out.errors.push(invalid(path, pointer, reason)),
                None => out
                    .errors
                    .push(invalid(path, pointer, "$ref is not a string")),
            }
            return;
        }

        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }

        if let Some(expected) = schema.get("type") {
            let Some(expected) = expected.as_str() else {
                out.errors
                    .push(invalid(path, pointer, "type is not a string"));
                return;
            };
            if !has_type(value, expected) {
                out.errors.push(Violation {
                    path: path.clone(),
                    kind: ViolationKind::WrongType {
                        expected: expected.to_owned(),
                        found: type_of(value),
                    },
                });
                // Nothing below a wrong type says anything useful.
                return;
            }
        }

        if let Some(allowed) = schema.get("enum") {
            match allowed.as_array() {
                Some(allowed) if !allowed.contains(value) => out.errors.push(Violation {
                    path: path.clone(),
                    kind: ViolationKind::NotInEnum {
                        value: value.clone(),
                        allowed: allowed.clone(),
                    },
                }),
                Some(_) => {}
                None => out
                    .errors
                    .push(invalid(path, pointer, "enum is not an array")),
            }
        }

        if let (Some(minimum), Some(number)) = (schema.get("minimum"), value.as_f64()) {
            match minimum.as_f64() {
                Some(min) if number < min => out.errors.push(Violation {
                    path: path.clone(),
                    kind: ViolationKind::BelowMinimum {
                        value: value.clone(),
                        minimum: minimum.clone(),
                    },
                }),
                Some(_) => {}
                None => out
                    .errors
                    .push(invalid(path, pointer, "minimum is not a number")),
            }
        }

        for &(keyword, applies_to, lower) in SIZE_BOUNDS {
            let Some(bound) = schema.get(keyword) else {
                continue;
            };
            let Some(bound) = bound.as_u64() else {
                out.errors.push(invalid(
                    path,
                    pointer,
                    format!("{keyword} is not a non-negative integer"),
                ));
                continue;
            };
            let found = match (applies_to, value) {
                ("string", Value::String(s)) => s.chars().count(),
                ("array", Value::Array(items)) => items.len(),
                ("object", Value::Object(map)) => map.len(),
                _ => continue,
            } as u64;
            if (lower && found < bound) || (!lower && found > bound) {
                out.errors.push(Violation {
                    path: path.clone(),
                    kind: ViolationKind::Size {
                        keyword,
                        bound,
                        found,
                    },
                });
            }
        }

        if let Some(branches) = schema.get("allOf") {
            match branches.as_array() {
                Some(branches) => {
                    for i in 0..branches.len() {
                        self.check(&format!("{pointer}/allOf/{i}"), value, path, out, false);
                    }
                }
                None => out
                    .errors
                    .push(invalid(path, pointer, "allOf is not an array")),
            }
        }

        if let Value::Array(items) = value
            && schema.contains_key("items")
        {
            let items_pointer = format!("{pointer}/items");
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                self.check(&items_pointer, item, path, out, true);
                path.truncate(len);
            }
        }

        if let Value::Object(object) = value {
            self.check_object(pointer, schema, object, path, out, own_fields);
        }
    }

    fn check_object(
        &self,
        pointer: &str,
        schema: &Map<String, Value>,
        object: &Map<String, Value>,
        path: &mut String,
        out: &mut Validation,
        own_fields: bool,
    ) {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                out.errors.push(Violation {
                    path: path.clone(),
                    kind: ViolationKind::MissingProperty(name.to_owned()),
                });
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, value) in object {
            if properties.is_some_and(|p| p.contains_key(name)) {
                let len = path.len();
                path.push('/');
                path.push_str(&escape(name));
                let sub = format!("{pointer}/properties/{}", escape(name));
                self.check(&sub, value, path, out, true);
                path.truncate(len);
            }
        }
        if !own_fields {
            return;
        }
        // Which fields are declared, by this schema and the allOf branches and $refs
        // under it.
        let mut declared = BTreeSet::new();
        let mut additional = Additional::Open;
        self.declared(pointer, &mut declared, &mut additional, 0);
        for (name, value) in object {
            if declared.contains(name.as_str()) {
                continue;
            }
            let field = format!("{path}/{}", escape(name));
            match &additional {
                Additional::Open => out.unknown_fields.push(field),
                Additional::Closed => out.errors.push(Violation {
                    path: path.clone(),
                    kind: ViolationKind::UndeclaredProperty(name.clone()),
                }),
                Additional::Schema(sub) => {
                    let mut field = field;
                    self.check(sub, value, &mut field, out, true);
                }
            }
        }
    }

    /// Collects the properties declared by the schema at `pointer` (through `$ref` and
    /// `allOf`) and the strictest `additionalProperties` among them.
    fn declared(
        &self,
        pointer: &str,
        names: &mut BTreeSet<String>,
        additional: &mut Additional,
        depth: usize,
    ) {
        let Some(schema) = self.schema_object(pointer) else {
            return;
        };
        if depth > 16 {
            return;
        }
        if let Some(Ok(target)) = schema.get("$ref").and_then(Value::as_str).map(ref_pointer) {
            self.declared(&target, names, additional, depth + 1);
            return;
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            names.extend(props.keys().cloned());
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => *additional = Additional::Closed,
            Some(Value::Object(_)) if matches!(additional, Additional::Open) => {
                *additional = Additional::Schema(format!("{pointer}/additionalProperties"));
            }
            _ => {}
        }
        for i in 0..schema
            .get("allOf")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
        {
            self.declared(
                &format!("{pointer}/allOf/{i}"),
                names,
                additional,
                depth + 1,
            );
        }
    }
}

/// What an object schema says of properties it does not declare.
enum Additional {
    /// Allowed, reported as unknown.
    Open,
    /// Refused.
    Closed,
    /// Validated against the schema at this pointer.
    Schema(String),
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        // An unknown type name matches nothing: loud, not lenient.
        _ => false,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
