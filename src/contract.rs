//! The contract this client was generated from, embedded, and a validator of JSON
//! values against its schemas.
//!
//! `build.rs` reads `openapi/idcs-mfa.yaml` and writes the same document as JSON next
//! to the generated code; both are compiled in here. Tools that check a tenant against
//! the contract (the conformance suite, this crate's tests) use [`Contract::get`], so
//! they validate against exactly the spec the client was generated from, not a second
//! copy of the shapes.
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
//! use idcs_mfa::contract::{self, Contract};
//! use serde_json::json;
//!
//! let contract = Contract::get();
//! let schema = contract.response_schema("getVerificationStatus", 200).unwrap();
//! let report = contract::validate(&schema, &json!({"status": "approved", "extra": 1}));
//! assert_eq!(report.errors.len(), 1); // "approved" is not in the enum
//! assert_eq!(report.unknown_fields, ["/extra"]);
//! ```

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::OnceLock,
};

use serde_json::{Map, Value};

/// The contract as written (YAML).
pub const OPENAPI_YAML: &str = include_str!("../openapi/idcs-mfa.yaml");

/// The contract as JSON (the same document, converted at build time).
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/idcs-mfa.json"));

/// The HTTP methods an OpenAPI path item may hold, in the order they are listed.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Keywords of a schema object that constrain a value and that the validator checks.
const CHECKED: &[&str] = &[
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
const SIZE_BOUNDS: &[(&str, &str, bool)] = &[
    ("minLength", "string", true),
    ("maxLength", "string", false),
    ("minItems", "array", true),
    ("maxItems", "array", false),
    ("minProperties", "object", true),
    ("maxProperties", "object", false),
];

/// Keywords of a schema object that carry no constraint.
const ANNOTATIONS: &[&str] = &["description", "example"];

/// A parsed OpenAPI document: its operations, their schemas and examples.
#[derive(Debug)]
pub struct Contract {
    document: Value,
    operations: Vec<Operation>,
    examples: Vec<Example>,
    unsupported: Vec<Violation>,
    /// Every schema object reachable from the operations and the components, by JSON
    /// pointer, resolved once: validating looks schemas up here instead of walking the
    /// document for each keyword (`Value::pointer` unescapes and allocates per token;
    /// it was most of a validation's time).
    schemas: HashMap<String, Map<String, Value>>,
}

/// One operation of the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Its `operationId` (e.g. `completeVerification`).
    pub operation_id: String,
    /// The HTTP method, upper case (e.g. `PATCH`).
    pub method: String,
    /// The path template (e.g. `/mfa/v1/requests/{requestId}`).
    pub path: String,
    /// Every documented response, by status.
    pub responses: Vec<DocumentedResponse>,
    /// The schema of the request body, when there is one.
    pub request_schema: Option<SchemaRef>,
}

impl Operation {
    /// The documented statuses, in ascending order.
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.iter().map(|r| r.status).collect()
    }

    /// The documented response of `status`.
    pub fn response(&self, status: u16) -> Option<&DocumentedResponse> {
        self.responses.iter().find(|r| r.status == status)
    }
}

/// One documented response of an operation (a `$ref` to `#/components/responses/…`
/// already followed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentedResponse {
    /// The HTTP status.
    pub status: u16,
    /// `x-evidence` (`stated`, `captured` or `inferred`), on the response or, when the
    /// response is a `$ref`, on the component it names.
    pub evidence: Option<String>,
    /// `x-source`, found the same way as `evidence`.
    pub source: Option<String>,
    /// The schema of the JSON body, when the response has one.
    pub schema: Option<SchemaRef>,
}

/// A schema of the contract, named by its JSON pointer in the document (e.g.
/// `/components/schemas/ErrorResponse`). Obtain one from [`Contract`]; validate with
/// [`Contract::validate`] or [`validate`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SchemaRef {
    pointer: String,
}

impl SchemaRef {
    /// The JSON pointer of the schema in the document.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }
}

impl fmt::Display for SchemaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.pointer)
    }
}

/// Where an example sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExampleLocation {
    /// In the request body.
    Request,
    /// In the response of this status.
    Response {
        /// The HTTP status.
        status: u16,
    },
}

/// One example of a request or response body.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// The `operationId` of the operation it belongs to.
    pub operation_id: String,
    /// Request or response (and which status).
    pub location: ExampleLocation,
    /// The media type it is given for (e.g. `application/json`).
    pub media_type: String,
    /// Its name in the `examples` map (`example` for a single `example`).
    pub name: String,
    /// Its `x-source`: the tag of the source it was taken from (docs/sources.md).
    pub source: Option<String>,
    /// The example itself.
    pub value: Value,
    /// The schema of the media type it belongs to.
    pub schema: Option<SchemaRef>,
}

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

impl Contract {
    /// The embedded contract ([`OPENAPI_JSON`]), parsed once.
    ///
    /// # Panics
    ///
    /// When the embedded document is not an OpenAPI document this module can read;
    /// `build.rs` has already refused such a document, and a unit test pins it.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            Contract::from_json(OPENAPI_JSON)
                .unwrap_or_else(|e| panic!("the embedded contract cannot be read: {e}"))
        })
    }

    /// Parses an OpenAPI 3.0 document given as JSON.
    pub fn from_json(json: &str) -> Result<Contract, String> {
        let document: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        Contract::from_value(document)
    }

    /// Reads an OpenAPI 3.0 document.
    pub fn from_value(document: Value) -> Result<Contract, String> {
        let mut contract = Contract {
            document,
            operations: Vec::new(),
            examples: Vec::new(),
            unsupported: Vec::new(),
            schemas: HashMap::new(),
        };
        contract.read_operations()?;
        contract.unsupported = contract.scan_keywords();
        contract.schemas = contract
            .reachable_schemas()
            .into_iter()
            .map(|(pointer, schema)| (pointer, schema.clone()))
            .collect();
        Ok(contract)
    }

    /// The whole document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Every operation, sorted by path, then in the order GET, PUT, POST, DELETE,
    /// OPTIONS, HEAD, PATCH, TRACE.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, operation_id: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|o| o.operation_id == operation_id)
    }

    /// The schema of the JSON body of `operation_id`'s response `status`.
    pub fn response_schema(&self, operation_id: &str, status: u16) -> Option<SchemaRef> {
        self.operation(operation_id)?
            .response(status)?
            .schema
            .clone()
    }

    /// The schema of `operation_id`'s JSON request body.
    pub fn request_schema(&self, operation_id: &str) -> Option<SchemaRef> {
        self.operation(operation_id)?.request_schema.clone()
    }

    /// The schema `#/components/schemas/{name}`.
    pub fn schema(&self, name: &str) -> Option<SchemaRef> {
        self.schema_at(&format!("/components/schemas/{}", escape(name)))
    }

    /// The schema at a JSON pointer of the document, when something is there.
    pub fn schema_at(&self, pointer: &str) -> Option<SchemaRef> {
        self.document.pointer(pointer).map(|_| SchemaRef {
            pointer: pointer.to_owned(),
        })
    }

    /// Every example of a request or response body: per operation (in the order of
    /// [`Contract::operations`]), the request's first, then by status; sorted by media
    /// type and name within each.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    /// Every keyword of every schema in the document that this validator does not
    /// implement. Empty for the embedded contract (a unit test pins it); a spec edit
    /// that adds, say, `pattern` makes it non-empty until the validator learns it.
    pub fn unsupported_keywords(&self) -> &[Violation] {
        &self.unsupported
    }

    /// Validates `value` against `schema`.
    pub fn validate(&self, schema: &SchemaRef, value: &Value) -> Validation {
        let mut out = Validation::default();
        let mut path = String::new();
        self.check(&schema.pointer, value, &mut path, &mut out, true);
        out
    }

    fn read_operations(&mut self) -> Result<(), String> {
        let paths = self
            .document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the document has no `paths` object")?;
        let mut operations = Vec::new();
        let mut examples = Vec::new();
        for (path, item) in paths {
            let path_pointer = format!("/paths/{}", escape(path));
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let op_pointer = format!("{path_pointer}/{method}");
                let operation_id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{} {path} has no operationId", method.to_uppercase()))?
                    .to_owned();
                let mut operation = Operation {
                    operation_id: operation_id.clone(),
                    method: method.to_uppercase(),
                    path: path.clone(),
                    responses: Vec::new(),
                    request_schema: None,
                };
                if op.get("requestBody").is_some() {
                    let (body_pointer, _) = self.follow(&format!("{op_pointer}/requestBody"))?;
                    operation.request_schema = self.media_schema(&body_pointer);
                    self.collect_examples(
                        &body_pointer,
                        &operation_id,
                        ExampleLocation::Request,
                        &mut examples,
                    );
                }
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .ok_or_else(|| format!("{operation_id} has no responses"))?;
                for key in responses.keys() {
                    let status: u16 = key.parse().map_err(|_| {
                        format!(
                            "{operation_id}: response key {key:?} is not a status code (`default` and ranges are not supported)"
                        )
                    })?;
                    let own = format!("{op_pointer}/responses/{key}");
                    let (target, target_value) = self.follow(&own)?;
                    let own_value = &responses[key];
                    let extension = |name: &str| {
                        own_value
                            .get(name)
                            .or_else(|| target_value.get(name))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    };
                    operation.responses.push(DocumentedResponse {
                        status,
                        evidence: extension("x-evidence"),
                        source: extension("x-source"),
                        schema: self.media_schema(&target),
                    });
                    self.collect_examples(
                        &target,
                        &operation_id,
                        ExampleLocation::Response { status },
                        &mut examples,
                    );
                }
                operation.responses.sort_by_key(|r| r.status);
                operations.push(operation);
            }
        }
        self.operations = operations;
        self.examples = examples;
        Ok(())
    }

    /// Follows `$ref`s from the object at `pointer`; returns the final pointer and
    /// object.
    fn follow(&self, pointer: &str) -> Result<(String, &Value), String> {
        let mut pointer = pointer.to_owned();
        for _ in 0..16 {
            let value = self
                .document
                .pointer(&pointer)
                .ok_or_else(|| format!("nothing at #{pointer}"))?;
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) => pointer = ref_pointer(target)?,
                None => return Ok((pointer, value)),
            }
        }
        Err(format!("a $ref cycle through #{pointer}"))
    }

    /// The schema of the JSON media type of the request body or response at `pointer`.
    fn media_schema(&self, pointer: &str) -> Option<SchemaRef> {
        let media = json_media_type(self.document.pointer(pointer)?)?;
        self.schema_at(&format!("{pointer}/content/{}/schema", escape(media)))
    }

    fn collect_examples(
        &self,
        pointer: &str,
        operation_id: &str,
        location: ExampleLocation,
        out: &mut Vec<Example>,
    ) {
        let Some(content) = self
            .document
            .pointer(pointer)
            .and_then(|v| v.get("content"))
            .and_then(Value::as_object)
        else {
            return;
        };
        for (media_type, media) in content {
            let schema =
                self.schema_at(&format!("{pointer}/content/{}/schema", escape(media_type)));
            let mut push = |name: &str, source: Option<&Value>, value: &Value| {
                out.push(Example {
                    operation_id: operation_id.to_owned(),
                    location: location.clone(),
                    media_type: media_type.clone(),
                    name: name.to_owned(),
                    source: source.and_then(Value::as_str).map(str::to_owned),
                    value: value.clone(),
                    schema: schema.clone(),
                });
            };
            if let Some(value) = media.get("example") {
                push("example", media.get("x-source"), value);
            }
            for (name, example) in media
                .get("examples")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                // An example may itself be a $ref to #/components/examples/….
                let example = match example.get("$ref").and_then(Value::as_str) {
                    Some(target) => match ref_pointer(target)
                        .ok()
                        .and_then(|p| self.document.pointer(&p))
                    {
                        Some(resolved) => resolved,
                        None => continue,
                    },
                    None => example,
                };
                if let Some(value) = example.get("value") {
                    push(name, example.get("x-source"), value);
                }
            }
        }
    }

    /// Lists the unsupported keywords of every schema reachable from the operations and
    /// the components.
    fn scan_keywords(&self) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .reachable_schemas()
            .into_iter()
            .flat_map(|(pointer, schema)| unsupported_in(schema, &pointer))
            .collect();
        out.sort_by_key(|a| a.kind.to_string());
        out
    }

    /// Every schema object reachable from the operations and the components (through
    /// `properties`, `items`, `additionalProperties`, `allOf` and `$ref`), with its JSON
    /// pointer.
    fn reachable_schemas(&self) -> Vec<(String, &Map<String, Value>)> {
        let mut roots: Vec<String> = Vec::new();
        for op in &self.operations {
            roots.extend(op.request_schema.iter().map(|s| s.pointer.clone()));
            roots.extend(
                op.responses
                    .iter()
                    .filter_map(|r| r.schema.as_ref().map(|s| s.pointer.clone())),
            );
        }
        if let Some(schemas) = self
            .document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            roots.extend(
                schemas
                    .keys()
                    .map(|k| format!("/components/schemas/{}", escape(k))),
            );
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        while let Some(pointer) = roots.pop() {
            if !seen.insert(pointer.clone()) {
                continue;
            }
            let Some(schema) = self.document.pointer(&pointer).and_then(Value::as_object) else {
                continue;
            };
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                roots.extend(
                    props
                        .keys()
                        .map(|k| format!("{pointer}/properties/{}", escape(k))),
                );
            }
            if schema.get("items").is_some() {
                roots.push(format!("{pointer}/items"));
            }
            if schema
                .get("additionalProperties")
                .is_some_and(Value::is_object)
            {
                roots.push(format!("{pointer}/additionalProperties"));
            }
            if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
                roots.extend((0..branches.len()).map(|i| format!("{pointer}/allOf/{i}")));
            }
            if let Some(Ok(target)) = schema.get("$ref").and_then(Value::as_str).map(ref_pointer) {
                roots.push(target);
            }
            out.push((pointer, schema));
        }
        out
    }

    /// The schema object at `pointer`: from the index, else from the document.
    fn schema_object(&self, pointer: &str) -> Option<&Map<String, Value>> {
        match self.schemas.get(pointer) {
            Some(schema) => Some(schema),
            None => self.document.pointer(pointer).and_then(Value::as_object),
        }
    }

    /// Checks `value` against the schema at `pointer`. `own_fields`: whether this call
    /// decides which fields of an object are unknown (false inside an `allOf` branch,
    /// whose sibling branches declare other fields).
    fn check(
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

fn invalid(path: &str, pointer: &str, reason: impl Into<String>) -> Violation {
    Violation {
        path: path.to_owned(),
        kind: ViolationKind::InvalidSchema {
            reason: reason.into(),
            schema: pointer.to_owned(),
        },
    }
}

/// The keywords of `schema` this validator neither checks nor may skip.
fn unsupported_in(schema: &Map<String, Value>, pointer: &str) -> Vec<Violation> {
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
fn ref_pointer(target: &str) -> Result<String, String> {
    match target.strip_prefix('#') {
        Some(pointer) if pointer.starts_with("/components/") => Ok(pointer.to_owned()),
        _ => Err(format!(
            "$ref {target:?} does not point into #/components/ of this document"
        )),
    }
}

/// The JSON media type of a request body or response object: `application/json`, or
/// else the first `…/…+json` one.
fn json_media_type(object: &Value) -> Option<&str> {
    let content = object.get("content")?.as_object()?;
    if content.contains_key("application/json") {
        return Some("application/json");
    }
    content
        .keys()
        .map(String::as_str)
        .find(|m| m.split(';').next().is_some_and(|m| m.ends_with("+json")))
}

/// Escapes one JSON pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
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

#[cfg(test)]
mod tests {
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
}
