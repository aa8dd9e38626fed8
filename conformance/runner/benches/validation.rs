//! Benchmark 4: the cost of validating one response against its schema.
//!
//! For every documented response example of the contract: `Contract::validate` of the
//! parsed value (the validator alone), and `validate_exchange` of an exchange holding
//! the example's bytes (what the runner does for every response: find the operation and
//! status, check the media type, parse the body, look for repeated keys, validate).
//! Also the one-time cost of reading the contract.
//!
//! ```text
//! cargo bench -p idcs-mfa-conformance --bench validation
//! ```

mod common;

use std::{hint::black_box, time::Instant};

use bytes::Bytes;
use common::{Summary, quick};
use idcs_mfa::{Exchange, Operation};
use idcs_mfa_conformance::validate_exchange;
use idcs_mfa_contract::{Contract, ExampleLocation, OPENAPI_YAML};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (runs, iterations) = if quick() { (1, 10) } else { (7, 20_000) };
    let contract = Contract::get();

    if common::selected("read") {
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let c = Contract::from_yaml(OPENAPI_YAML)?;
            times.push(started.elapsed().as_secs_f64() * 1e6);
            black_box(c);
        }
        let s = Summary::of(&times);
        println!(
            "reading the contract (Contract::from_yaml, once per process): {:.0} µs median of {runs} ({})",
            s.median,
            s.noise()
        );
    }

    println!(
        "per response example: mean of {iterations} validations, median of {runs} runs (spread: min/max)"
    );
    println!(
        "{:<62} {:>6} {:>12} {:>10} {:>16} {:>10}",
        "example", "bytes", "validate", "noise", "validate_exchange", "noise"
    );
    let mut all_validate = Vec::new();
    let mut all_exchange = Vec::new();
    for example in contract.examples() {
        let ExampleLocation::Response { status } = example.location else {
            continue;
        };
        let Some(schema) = &example.schema else {
            continue;
        };
        let name = format!("{} {status} {}", example.operation_id, example.name);
        if !common::selected(&name) {
            continue;
        }
        let Some(op) = Operation::from_operation_id(&example.operation_id) else {
            continue;
        };
        let bytes = Bytes::from(serde_json::to_vec(&example.value)?);
        let exchange = Exchange {
            operation: Some(op),
            method: String::new(),
            url: String::new(),
            authorized: true,
            request_headers: Vec::new(),
            request_body: Bytes::new(),
            status: Some(status),
            response_headers: vec![("content-type".into(), "application/json".into())],
            response_body: bytes.clone(),
            error: None,
            unreached: false,
        };
        let mut validate = Vec::new();
        let mut whole = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            for _ in 0..iterations {
                black_box(contract.validate(black_box(schema), black_box(&example.value)));
            }
            validate.push(started.elapsed().as_secs_f64() * 1e9 / iterations as f64);
            let started = Instant::now();
            for _ in 0..iterations {
                black_box(validate_exchange(black_box(&exchange)));
            }
            whole.push(started.elapsed().as_secs_f64() * 1e9 / iterations as f64);
        }
        let (v, w) = (Summary::of(&validate), Summary::of(&whole));
        all_validate.push(v.median);
        all_exchange.push(w.median);
        println!(
            "{:<62} {:>6} {:>9.0} ns {:>10} {:>13.0} ns {:>10}",
            name,
            bytes.len(),
            v.median,
            v.noise(),
            w.median,
            w.noise()
        );
    }
    if !all_validate.is_empty() {
        println!(
            "median over examples: validate {:.0} ns, validate_exchange {:.0} ns",
            Summary::of(&all_validate).median,
            Summary::of(&all_exchange).median
        );
    }
    Ok(())
}
