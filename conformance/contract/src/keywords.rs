//! What a validation finds, and the schema keywords the validator knows: the report
//! types ([`Validation`], [`Violation`]), the keyword lists, and the JSON-pointer helpers
//! that the document index and the validator both use (so that neither imports the
//! other's internals).

use std::fmt;

use serde_json::{Map, Value};

/// Keywords of a schema object that constrain a value and that the validator checks.
pub(crate) const CHECKED: &[&str] = &[
    "type",
    "properties",
    "required",
    "enum",
    "items",
    "$ref",
    "allOf",
    "additionalProperties",
    "minimum",
    "nullable",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
];

/// The size keywords: which JSON type each applies to, and whether it is a lower bound.
pub(crate) const SIZE_BOUNDS: &[(&str, &str, bool)] = &[
    ("minLength", "string", true),
    ("maxLength", "string", false),
    ("minItems", "array", true),
    ("maxItems", "array", false),
    ("minProperties", "object", true),
    ("maxProperties", "object", false),
];

/// Keywords of a schema object that carry no constraint.
pub(crate) const ANNOTATIONS: &[&str] = &["description", "example"];

/// The outcome of validating one value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
    /// What breaks the schema. Empty when the value conforms.
    pub errors: Vec<Violation>,
    /// JSON pointers (into the value) of properties the schema does not declare.
    /// Allowed by OpenAPI (objects are open), reported as deviations.
    pub unknown_fields: Vec<String>,
}

impl Validation {
    /// Whether the value conforms (unknown fields allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One way a value breaks its schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// JSON pointer of the offending value (`""` for the value itself).
    pub path: String,
    /// What is wrong.
    pub kind: ViolationKind,
}

/// What is wrong, for a [`Violation`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The value has another JSON type than the schema's `type`.
    WrongType {
        /// The schema's `type`.
        expected: String,
        /// The value's JSON type.
        found: &'static str,
    },
    /// A property listed in `required` is absent.
    MissingProperty(String),
    /// The value is not one of the schema's `enum`.
    NotInEnum {
        /// The value.
        value: Value,
        /// The allowed values.
        allowed: Vec<Value>,
    },
    /// A number below the schema's `minimum`.
    BelowMinimum {
        /// The value.
        value: Value,
        /// The minimum.
        minimum: Value,
    },
    /// A string, array or object whose size breaks `minLength`, `maxLength`,
    /// `minItems`, `maxItems`, `minProperties` or `maxProperties`.
    Size {
        /// The keyword.
        keyword: &'static str,
        /// Its bound.
        bound: u64,
        /// The value's size (characters, items or properties).
        found: u64,
    },
    /// A property the schema refuses with `additionalProperties: false`.
    UndeclaredProperty(String),
    /// The schema uses a keyword this validator does not implement; nothing under it
    /// is trusted.
    UnsupportedKeyword {
        /// The keyword.
        keyword: String,
        /// The JSON pointer of the schema that holds it.
        schema: String,
    },
    /// The schema itself is malformed: a `$ref` that does not resolve, a keyword with a
    /// value of the wrong shape.
    InvalidSchema {
        /// What is wrong.
        reason: String,
        /// The JSON pointer of the schema.
        schema: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(f, "{at}: {}", self.kind)
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViolationKind::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ViolationKind::MissingProperty(name) => {
                write!(f, "required property {name:?} is missing")
            }
            ViolationKind::NotInEnum { value, allowed } => {
                let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
                write!(f, "{value} is not one of {}", allowed.join(", "))
            }
            ViolationKind::BelowMinimum { value, minimum } => {
                write!(f, "{value} is below the minimum {minimum}")
            }
            ViolationKind::Size {
                keyword,
                bound,
                found,
            } => write!(f, "size {found} breaks {keyword}: {bound}"),
            ViolationKind::UndeclaredProperty(name) => write!(
                f,
                "property {name:?} is not allowed (additionalProperties: false)"
            ),
            ViolationKind::UnsupportedKeyword { keyword, schema } => write!(
                f,
                "the schema #{schema} uses {keyword:?}, which this validator does not implement"
            ),
            ViolationKind::InvalidSchema { reason, schema } => {
                write!(f, "the schema #{schema} is invalid: {reason}")
            }
        }
    }
}

pub(crate) fn invalid(path: &str, pointer: &str, reason: impl Into<String>) -> Violation {
    Violation {
        path: path.to_owned(),
        kind: ViolationKind::InvalidSchema {
            reason: reason.into(),
            schema: pointer.to_owned(),
        },
    }
}

/// The keywords of `schema` this validator neither checks nor may skip.
pub(crate) fn unsupported_in(schema: &Map<String, Value>, pointer: &str) -> Vec<Violation> {
    let has_ref = schema.contains_key("$ref");
    schema
        .keys()
        .filter(|k| !k.starts_with("x-") && !ANNOTATIONS.contains(&k.as_str()))
        // OpenAPI 3.0 ignores the siblings of a $ref; a constraint there would be
        // skipped, so it is refused like an unknown keyword.
        .filter(|k| !CHECKED.contains(&k.as_str()) || (has_ref && k.as_str() != "$ref"))
        .map(|k| Violation {
            path: String::new(),
            kind: ViolationKind::UnsupportedKeyword {
                keyword: k.clone(),
                schema: pointer.to_owned(),
            },
        })
        .collect()
}

/// The JSON pointer of a local `$ref` (`#/components/…`).
pub(crate) fn ref_pointer(target: &str) -> Result<String, String> {
    match target.strip_prefix('#') {
        Some(pointer) if pointer.starts_with("/components/") => Ok(pointer.to_owned()),
        _ => Err(format!(
            "$ref {target:?} does not point into #/components/ of this document"
        )),
    }
}

/// Escapes one JSON pointer token (RFC 6901).
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
