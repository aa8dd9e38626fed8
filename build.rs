//! Generates the typed client from `openapi/idcs-mfa.yaml` into `OUT_DIR`.
//!
//! Two files come out:
//! - `codegen.rs`: progenitor's client and types, `include!`d by `src/generated.rs` only;
//! - `idcs-mfa.json`: the same contract as JSON, embedded by `src/contract.rs` so that
//!   tools (the conformance suite) validate against the very spec the client came from.
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
    let value: serde_json::Value =
        serde_norway::from_str(&text).map_err(|e| format!("it is not valid YAML: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_json::from_value(value.clone())
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
    let json = serde_json::to_string(&value).map_err(|e| format!("to JSON: {e}"))?;
    fs::write(out.join("idcs-mfa.json"), json)
        .map_err(|e| format!("writing idcs-mfa.json: {e}"))?;
    Ok(())
}

/// The spec's descriptions cite sources by tag (`[PM]`, `[VERIFY]`; docs/sources.md).
/// In the generated doc comments rustdoc would read them as links to items; they are
/// written `\[PM\]` so that they render as the tags they are.
fn escape_source_tags(code: &str) -> String {
    const TAGS: [&str; 8] = [
        "STATUS", "VERIFY", "FACTORS", "PM", "ERR", "OD", "RL", "ROLE",
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
