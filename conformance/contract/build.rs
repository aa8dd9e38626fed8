//! Writes `openapi/idcs-mfa.yaml` as JSON into `OUT_DIR`, where `src/lib.rs` embeds it
//! (`OPENAPI_JSON`): the validator reads the very document the client is generated from.

use std::{env, fs, path::Path, process::ExitCode};

const SPEC: &str = "../../openapi/idcs-mfa.yaml";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
    match convert() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {SPEC}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn convert() -> Result<(), String> {
    let yaml = fs::read_to_string(SPEC).map_err(|e| format!("cannot read it: {e}"))?;
    let value: serde_json::Value =
        serde_norway::from_str(&yaml).map_err(|e| format!("not YAML: {e}"))?;
    let json = serde_json::to_string(&value).map_err(|e| format!("to JSON: {e}"))?;
    let out = env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    fs::write(Path::new(&out).join("idcs-mfa.json"), json)
        .map_err(|e| format!("writing idcs-mfa.json: {e}"))
}
