//! Benchmark 1: what the library costs over plain reqwest, per operation.
//!
//! One local server (a minimal axum handler per route answering the contract's own
//! documented 200 example, so the server costs next to nothing) and, in the same run,
//! each operation sent two ways on one keep-alive connection each:
//!
//! - **library**: `idcs_mfa::Client` (progenitor's generated call, the hand-written
//!   transport: size-limited body, status-keeping errors, optional rate limiter);
//! - **plain**: `reqwest` with the same settings (connect and request timeouts, no
//!   redirects, bearer token), the same request (method, URL, query, JSON body) and the
//!   same parse of the body into the same generated type.
//!
//! Client and server run on one single-threaded runtime: a call costs its CPU time
//! only. (With the server on other threads, each call also waits for thread wake-ups
//! across cores, about 90 µs per call on this 2-core VM when it is otherwise idle and
//! much less when it is busy, which drowns the difference being measured.)
//!
//! Each round times `iterations` sequential calls of one way, then of the other (the
//! order alternates between rounds); the figure is the median over rounds of the mean
//! time per call. Target: library ≤ 1.10 × plain.
//!
//! ```text
//! cargo bench -p idcs-mfa-conformance --bench client_overhead
//! ```

mod common;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::{Fixed, Summary, fmt_duration, quick, spawn_fixed};
use idcs_mfa::{Client, types};
use idcs_mfa_contract::{Contract, ExampleLocation};
use serde::de::DeserializeOwned;

const TOKEN: &str = "bench-token-not-a-secret";
const GUID: &str = "cc327268ff4d4e4a9b3e9f676215cfc7";
const REQUEST_ID: &str = "3a5be5a8-d8b5-4b33-9d2d-2f4c1d1d5d3e";
const USER_NAME: &str = "user1@example.com";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (rounds, iterations) = if quick() { (1, 20) } else { (9, 2_000) };
    let driver = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let contract = Contract::get();
    // The first documented 200 body and request body of each operation.
    let example = |op: &str, location: ExampleLocation| {
        contract
            .examples()
            .iter()
            .find(|e| e.operation_id == op && e.location == location)
            .map(|e| e.value.clone())
            .ok_or_else(|| format!("the contract has no {location:?} example for {op}"))
    };
    let ok = ExampleLocation::Response { status: 200 };
    let body = |op: &str| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        Ok(serde_json::to_vec(&example(op, ok.clone())?)?)
    };
    let fixed = |method: Method, route: &'static str, body: Vec<u8>| Fixed {
        method,
        route,
        status: StatusCode::OK,
        content_type: "application/json".into(),
        body: body.into(),
    };
    let addr = driver.block_on(spawn_fixed(vec![
        fixed(
            Method::GET,
            "/mfa/v1/users/{guid}/factors",
            body("getUserFactors")?,
        ),
        // The look-up answers the same schema; the contract gives its example once.
        fixed(
            Method::GET,
            "/mfa/v1/users",
            body("lookupUserFactors").or_else(|_| body("getUserFactors"))?,
        ),
        fixed(
            Method::POST,
            "/mfa/v1/requests",
            body("initiateVerification")?,
        ),
        fixed(
            Method::GET,
            "/mfa/v1/requests/{id}",
            body("getVerificationStatus")?,
        ),
        fixed(
            Method::PATCH,
            "/mfa/v1/requests/{id}",
            body("completeVerification")?,
        ),
    ]))?;
    let base = format!("http://{addr}");

    let lib = Client::builder(&base).bearer_token(TOKEN).build()?;
    let plain = reqwest::Client::builder()
        .connect_timeout(idcs_mfa::DEFAULT_CONNECT_TIMEOUT)
        .timeout(idcs_mfa::DEFAULT_REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let initiate: types::InitiateVerificationRequest =
        serde_json::from_value(example("initiateVerification", ExampleLocation::Request)?)?;
    let complete: types::CompleteFactorVerification =
        serde_json::from_value(example("completeVerification", ExampleLocation::Request)?)?;

    println!(
        "library vs plain reqwest, same local fixed-body server on the same thread: {iterations} sequential calls per round on one keep-alive connection, median of {rounds} rounds"
    );
    println!(
        "{:<34} {:>12} {:>12} {:>12} {:>12} {:>8} {:>7}",
        "operation", "library", "noise", "plain", "noise", "ratio", "target"
    );
    macro_rules! case {
        ($name:expr, $lib:expr, $plain:expr) => {
            if common::selected($name) {
                let (l, p) = driver.block_on(compare(rounds, iterations, || $lib, || $plain))?;
                let ratio = l.median / p.median;
                println!(
                    "{:<34} {:>12} {:>12} {:>12} {:>12} {:>7.3}x {:>7}",
                    $name,
                    fmt_duration(Duration::from_secs_f64(l.median)),
                    l.noise(),
                    fmt_duration(Duration::from_secs_f64(p.median)),
                    p.noise(),
                    ratio,
                    if ratio <= 1.10 { "met" } else { "MISSED" }
                );
            }
        };
    }
    let url = |path: &str| format!("{base}{path}");
    case!(
        "getUserFactors (GET)",
        async {
            lib.get_user_factors(GUID)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
        plain_call::<types::UserFactors>(plain.get(url(&format!("/mfa/v1/users/{GUID}/factors"))))
    );
    case!(
        "lookupUserFactors (GET ?query)",
        async {
            lib.lookup_user_factors(USER_NAME, types::UserIdType::UserName)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
        plain_call::<types::UserFactors>(plain.get(url("/mfa/v1/users")).query(&[
            ("attributes", "factors"),
            ("userId", USER_NAME),
            ("userIdType", "USER_NAME"),
        ]))
    );
    case!(
        "initiateVerification (POST)",
        async {
            lib.initiate_verification(&initiate)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
        plain_call::<types::InitiatedVerification>(
            plain.post(url("/mfa/v1/requests")).json(&initiate)
        )
    );
    case!(
        "getVerificationStatus (GET)",
        async {
            lib.get_verification_status(REQUEST_ID)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
        plain_call::<types::VerificationStatus>(
            plain.get(url(&format!("/mfa/v1/requests/{REQUEST_ID}")))
        )
    );
    case!(
        "completeVerification (PATCH)",
        async {
            lib.complete_verification(REQUEST_ID, &complete)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
        plain_call::<types::CompletedVerification>(
            plain
                .patch(url(&format!("/mfa/v1/requests/{REQUEST_ID}")))
                .json(&complete)
        )
    );
    Ok(())
}

/// The plain call: send with the bearer token, refuse a non-2xx, read the body, parse it.
async fn plain_call<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request
        .bearer_auth(TOKEN)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    serde_json::from_slice::<T>(&body)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Rounds of `iterations` calls of each; the mean seconds per call of each round.
async fn compare<L, LF, P, PF>(
    rounds: usize,
    iterations: usize,
    lib: L,
    plain: P,
) -> Result<(Summary, Summary), String>
where
    L: Fn() -> LF,
    LF: Future<Output = Result<(), String>>,
    P: Fn() -> PF,
    PF: Future<Output = Result<(), String>>,
{
    // Warm up: connections open, allocator and caches settled.
    for _ in 0..iterations.min(200) {
        lib().await?;
        plain().await?;
    }
    let mut lib_means = Vec::new();
    let mut plain_means = Vec::new();
    for round in 0..rounds {
        for lib_first in [round % 2 == 0, round % 2 == 1] {
            let started = Instant::now();
            for _ in 0..iterations {
                if lib_first {
                    lib().await?;
                } else {
                    plain().await?;
                }
            }
            let mean = started.elapsed().as_secs_f64() / iterations as f64;
            if lib_first {
                lib_means.push(mean);
            } else {
                plain_means.push(mean);
            }
        }
    }
    Ok((Summary::of(&lib_means), Summary::of(&plain_means)))
}
