//! The contract as an index: its operations, their documented responses and schemas,
//! and its examples, read once from the OpenAPI document.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    sync::OnceLock,
};

use serde_json::{Map, Value};

use crate::{
    OPENAPI_YAML,
    keywords::{Validation, Violation, escape, ref_pointer, unsupported_in},
};

/// The HTTP methods an OpenAPI path item may hold, in the order they are listed.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A parsed OpenAPI document: its operations, their schemas and examples.
#[derive(Debug)]
pub struct Contract {
    pub(crate) document: Value,
    operations: Vec<Operation>,
    examples: Vec<Example>,
    unsupported: Vec<Violation>,
    /// Every schema object reachable from the operations and the components, by JSON
    /// pointer, resolved once: validating looks schemas up here instead of walking the
    /// document for each keyword (`Value::pointer` unescapes and allocates per token;
    /// it was most of a validation's time).
    pub(crate) schemas: HashMap<String, Map<String, Value>>,
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
    /// `x-evidence` (`stated`, `captured`, `inferred`, or `reading`: one alternative of a
    /// point the documents leave open, docs/readings.md), on the response or, when the
    /// response is a `$ref`, on the component it names.
    pub evidence: Option<String>,
    /// `x-source`, found the same way as `evidence`.
    pub source: Option<String>,
    /// The schema of the JSON body, when the response has one.
    pub schema: Option<SchemaRef>,
}

/// A schema of the contract, named by its JSON pointer in the document (e.g.
/// `/components/schemas/ErrorResponse`). Obtain one from [`Contract`]; validate with
/// [`Contract::validate`] or [`validate`](crate::validate).
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

impl Contract {
    /// The embedded contract ([`OPENAPI_YAML`]), parsed once per process.
    ///
    /// # Panics
    ///
    /// When the embedded document is not an OpenAPI document this module can read; the
    /// client's `build.rs` has already refused such a document, and a unit test pins it.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            Contract::from_yaml(OPENAPI_YAML)
                .unwrap_or_else(|e| panic!("the embedded contract cannot be read: {e}"))
        })
    }

    /// Parses an OpenAPI 3.0 document given as YAML (or JSON, a subset of it).
    pub fn from_yaml(yaml: &str) -> Result<Contract, String> {
        let document: Value = serde_norway::from_str(yaml).map_err(|e| format!("not YAML: {e}"))?;
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
    pub(crate) fn schema_object(&self, pointer: &str) -> Option<&Map<String, Value>> {
        match self.schemas.get(pointer) {
            Some(schema) => Some(schema),
            None => self.document.pointer(pointer).and_then(Value::as_object),
        }
    }
}

/// The JSON media type of a request body or response object: `application/json`, or
/// else the first `…/…+json` one.
pub(crate) fn json_media_type(object: &Value) -> Option<&str> {
    let content = object.get("content")?.as_object()?;
    if content.contains_key("application/json") {
        return Some("application/json");
    }
    content
        .keys()
        .map(String::as_str)
        .find(|m| m.split(';').next().is_some_and(|m| m.ends_with("+json")))
}
