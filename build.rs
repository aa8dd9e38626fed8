//! Generates the typed client from `openapi/idcs-mfa.yaml` into `OUT_DIR`.
//!
//! Two files come out:
//! - `codegen.rs`: progenitor's client and types, `include!`d by `src/generated.rs` only;
//! - `operations.rs`: the `Operation` enum, one variant per `operationId` with its method
//!   and path template, `include!`d by `src/operation.rs`: the one identity of an
//!   operation that the client, its records and the conformance suite share.
//!
//! A spec the generator cannot take fails the build with the file and the reason.

use std::{env, fs, path::Path, process};

const SPEC: &str = "openapi/idcs-mfa.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(message) = generate() {
        // cargo shows stderr of a failed build script; make the first line say it all.
        eprintln!("error: cannot generate the client from {SPEC}: {message}");
        process::exit(1);
    }
}

fn generate() -> Result<(), String> {
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read it: {e}"))?;
    // The one parse of the spec in the build (the contract crate reads it at run time),
    // YAML first and then OpenAPI, so that each kind of error says which it is. The paths
    // keep the file's order (an ordered YAML mapping into openapiv3's `IndexMap`), which
    // the `Operation` enum follows.
    let yaml: serde_norway::Value =
        serde_norway::from_str(&text).map_err(|e| format!("it is not valid YAML: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_norway::from_value(yaml)
        .map_err(|e| format!("it is not an OpenAPI 3.0 document: {e}"))?;
    if !spec.openapi.starts_with("3.0.") {
        return Err(format!(
            "`openapi: {}` is not supported; progenitor accepts 3.0.x only",
            spec.openapi
        ));
    }

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        // The generated `Client` carries our configuration (token, media type, limits);
        // `src/transport.rs` implements `ClientHooks` on it.
        .with_inner_type(quote_path("crate::transport::Transport"))
        // Values compare, so tests can assert round trips.
        .with_derive("PartialEq")
        // Open enums: a newer tenant adding a method or a status must not break parsing.
        .with_replacement("MfaMethod", "crate::Method", std::iter::empty())
        .with_replacement("ResponseStatus", "crate::Status", std::iter::empty())
        // Secrets (OTPs, bypass codes, answers, requestStates) never show in `Debug`.
        .with_replacement("Secret", "crate::Secret", std::iter::empty())
        // `minLength: 1` is the server's to enforce (400); the client keeps a plain String.
        .with_replacement("UserId", "::std::string::String", std::iter::empty());
    let mut generator = progenitor::Generator::new(&settings);

    // progenitor panics on some inputs it does not support (e.g. two error body types);
    // catch that and name the file, instead of a bare backtrace.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(&spec)
    }))
    .map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        format!("progenitor panicked: {reason} (see progenitor-notes for what it accepts)")
    })?
    .map_err(|e| format!("progenitor refused it: {e}"))?;
    let ast = syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    let code = escape_source_tags(&prettyplease::unparse(&ast));

    let out_dir = env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    let out = Path::new(&out_dir);
    fs::write(out.join("codegen.rs"), code).map_err(|e| format!("writing codegen.rs: {e}"))?;
    fs::write(out.join("operations.rs"), operations(&spec)?)
        .map_err(|e| format!("writing operations.rs: {e}"))?;
    Ok(())
}

/// The `Operation` enum's items: one variant per `operationId`, in the spec's order
/// (its paths as listed; the methods of a path in the order GET, PUT, POST, DELETE,
/// OPTIONS, HEAD, PATCH, TRACE).
fn operations(spec: &openapiv3::OpenAPI) -> Result<String, String> {
    let mut ops: Vec<(String, String, String)> = Vec::new(); // (operationId, METHOD, path)
    for (path, item) in &spec.paths.paths {
        let openapiv3::ReferenceOr::Item(item) = item else {
            return Err(format!("path {path}: a $ref path item is not supported"));
        };
        for (method, op) in item.iter() {
            let id = op
                .operation_id
                .clone()
                .ok_or_else(|| format!("{} {path} has no operationId", method.to_uppercase()))?;
            if !id.chars().all(|c| c.is_ascii_alphanumeric()) || id.is_empty() {
                return Err(format!("operationId {id:?} is not a camelCase identifier"));
            }
            ops.push((id, method.to_uppercase(), path.clone()));
        }
    }
    let variant = |id: &str| {
        let mut c = id.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    let snake = |id: &str| {
        let mut out = String::new();
        for c in id.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    };
    let mut code = String::from(
        "/// The operations of the contract, one per `operationId` of \
         `openapi/idcs-mfa.yaml`, in its order.\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]\n\
         #[non_exhaustive]\npub enum Operation {\n",
    );
    for (id, method, path) in &ops {
        code += &format!("    /// `{method} {path}` (`{id}`)\n    {},\n", variant(id));
    }
    code += "}\n\nimpl Operation {\n";
    code += &format!(
        "    /// Every operation, in the contract's order.\n    pub const ALL: [Operation; {}] = [{}];\n\n",
        ops.len(),
        ops.iter()
            .map(|(id, ..)| format!("Operation::{}", variant(id)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let arms = |f: &dyn Fn(&(String, String, String)) -> String| {
        ops.iter()
            .map(|op| {
                format!(
                    "            Operation::{} => {:?},\n",
                    variant(&op.0),
                    f(op)
                )
            })
            .collect::<String>()
    };
    code += &format!(
        "    /// The `operationId` in the contract (`getUserFactors`).\n    pub fn operation_id(self) -> &'static str {{\n        match self {{\n{}        }}\n    }}\n\n",
        arms(&|(id, ..)| id.clone())
    );
    code += &format!(
        "    /// The HTTP method (`GET`).\n    pub fn method(self) -> &'static str {{\n        match self {{\n{}        }}\n    }}\n\n",
        arms(&|(_, m, _)| m.clone())
    );
    code += &format!(
        "    /// The path template (`/mfa/v1/users/{{userGUID}}/factors`).\n    pub fn path(self) -> &'static str {{\n        match self {{\n{}        }}\n    }}\n\n",
        arms(&|(.., p)| p.clone())
    );
    code += &format!(
        "    /// `METHOD /path` as in the contract.\n    pub fn label(self) -> &'static str {{\n        match self {{\n{}        }}\n    }}\n\n",
        arms(&|(_, m, p)| format!("{m} {p}"))
    );
    code += "    /// The operation of an `operationId`, in the contract's camelCase or in the \
             snake_case of the generated methods (`get_user_factors`).\n    \
             pub fn from_operation_id(id: &str) -> Option<Operation> {\n        match id {\n";
    for (id, ..) in &ops {
        code += &format!(
            "            {:?} | {:?} => Some(Operation::{}),\n",
            id,
            snake(id),
            variant(id)
        );
    }
    code += "            _ => None,\n        }\n    }\n}\n";
    Ok(code)
}

/// The spec's descriptions cite sources by tag (`[PM]`, `[VERIFY]`; docs/sources.md).
/// In the generated doc comments rustdoc would read them as links to items; they are
/// written `\[PM\]` so that they render as the tags they are.
fn escape_source_tags(code: &str) -> String {
    const TAGS: [&str; 10] = [
        "STATUS", "VERIFY", "FACTORS", "INIT", "UC", "PM", "ERR", "OD", "RL", "ROLE",
    ];
    let mut code = code.to_owned();
    for tag in TAGS {
        code = code.replace(&format!("[{tag}]"), &format!("\\[{tag}\\]"));
    }
    code
}

fn quote_path(path: &str) -> proc_macro2::TokenStream {
    path.parse().expect("a Rust path")
}
