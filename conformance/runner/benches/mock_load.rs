//! Benchmark 2: the mock tenant's throughput and latency, side by side with a minimal
//! axum handler that answers the same fixed body (the practical ceiling of axum and
//! hyper on this machine).
//!
//! Three operations: the PUSH poll (`GET /mfa/v1/requests/{id}`, 200 pending), the
//! factors list (`GET /mfa/v1/users/{guid}/factors`) and an OTP verification (`PATCH`
//! with a correct TOTP code; each request is verified once, so a run first initiates one
//! request per verification, outside the timed part). `CONNECTIONS` keep-alive
//! connections on loopback share a fixed number of requests; the client is a minimal
//! HTTP/1.1 writer and reader, so the server's cost dominates. The servers run on their
//! own two-worker runtime, the load on a single thread; mock and baseline runs alternate.
//!
//! ```text
//! cargo bench -p idcs-mfa-conformance --bench mock_load
//! ```

mod common;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::http::{Method, StatusCode};
use common::{
    Fixed, LoadRun, RawConn, RawRequest, Summary, fmt_duration, load, quick, spawn_fixed,
};
use idcs_mfa::{Initiate, Method as MfaMethod, UserRef};
use idcs_mfa_mock::{
    Fixture, MockConfig, MockTenant,
    fixture::{CONFORMANCE_USER_GUID, conformance_user},
    totp,
};

const CONNECTIONS: usize = 16;
/// The conformance user's TOTP and PUSH factor, and its secret (embedded fixture).
const TOTP_FACTOR: &str = "c0f0a1a1a1a14a1a8a1aa1a1a1a1a1a1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (runs, requests) = if quick() { (1, 200) } else { (5, 20_000) };
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let driver = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let m = servers.block_on(MockTenant::start_with(MockConfig {
        fixture: Fixture::default(),
        push_expiry: Duration::from_secs(3600),
        ..MockConfig::default()
    }))?;
    let token = m.token().expose().to_owned();
    let mock_addr = m.addr();
    let secret = conformance_user()
        .factors
        .iter()
        .find(|f| f.factor_id == TOTP_FACTOR)
        .and_then(|f| f.totp_secret.clone())
        .ok_or("the conformance user has no TOTP secret")?;

    // One PUSH request to poll; one verification to learn the success body.
    let push_id = driver.block_on(initiate_ids(mock_addr, &token, MfaMethod::Push, 1))?[0]
        .0
        .clone();
    let poll_path = format!("/mfa/v1/requests/{push_id}");
    let factors_path = format!("/mfa/v1/users/{CONFORMANCE_USER_GUID}/factors");
    let poll = RawRequest::new(mock_addr, "GET", &poll_path, Some(&token), None);
    let factors = RawRequest::new(mock_addr, "GET", &factors_path, Some(&token), None);
    let verify_one = driver.block_on(verify_requests(mock_addr, &token, secret.expose(), 1))?;

    let (poll_body, factors_body, verify_body) = driver.block_on(async {
        let mut c = RawConn::connect(mock_addr).await?;
        let poll = c.send(&poll).await?;
        let factors = c.send(&factors).await?;
        let verify = c.send(&verify_one[0]).await?;
        for (what, (status, _)) in [("poll", &poll), ("factors", &factors), ("verify", &verify)] {
            if *status != 200 {
                return Err(std::io::Error::other(format!("{what} answered {status}")));
            }
        }
        Ok::<_, std::io::Error>((poll.1, factors.1, verify.1))
    })?;

    let fixed = |method: Method, route: &'static str, body: &[u8]| Fixed {
        method,
        route,
        status: StatusCode::OK,
        content_type: "application/json".into(),
        body: body.to_vec().into(),
    };
    let base_addr = servers.block_on(spawn_fixed(vec![
        fixed(Method::GET, "/mfa/v1/requests/{id}", &poll_body),
        fixed(Method::PATCH, "/mfa/v1/requests/{id}", &verify_body),
        fixed(Method::GET, "/mfa/v1/users/{guid}/factors", &factors_body),
    ]))?;

    println!(
        "mock tenant vs minimal axum handler (same fixed body): {requests} requests per run over {CONNECTIONS} keep-alive connections, median of {runs} runs (spread: min/max around it)"
    );
    println!(
        "{:<34} {:>10} {:>12} {:>12} {:>9} {:>10} {:>10} {:>12} {:>7}",
        "operation",
        "mock r/s",
        "noise",
        "axum r/s",
        "ratio",
        "mock p50",
        "mock p99",
        "axum p50/p99",
        "target"
    );
    type Make<'a> = Box<dyn Fn(SocketAddr) -> Result<Vec<RawRequest>, String> + 'a>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "PUSH poll (GET requests/{id})",
            Box::new(|addr| {
                Ok(vec![
                    RawRequest::new(
                        addr,
                        "GET",
                        &poll_path,
                        Some(&token),
                        None
                    );
                    requests
                ])
            }),
        ),
        (
            "factors list (GET users/{g}/factors)",
            Box::new(|addr| {
                Ok(vec![
                    RawRequest::new(
                        addr,
                        "GET",
                        &factors_path,
                        Some(&token),
                        None
                    );
                    requests
                ])
            }),
        ),
        (
            "OTP verification (PATCH, TOTP)",
            Box::new(|addr| {
                // Fresh requests on the mock, each verified once; the same bytes for the
                // baseline, which ignores them.
                let mut v = driver
                    .block_on(verify_requests(
                        mock_addr,
                        &token,
                        secret.expose(),
                        requests,
                    ))
                    .map_err(|e| e.to_string())?;
                if addr != mock_addr {
                    let host = format!("host: {mock_addr}");
                    for r in &mut v {
                        let text = String::from_utf8_lossy(&r.bytes)
                            .replace(&host, &format!("host: {addr}"));
                        r.bytes = text.into_bytes();
                    }
                }
                Ok(v)
            }),
        ),
    ];
    for (name, make) in cases.iter().filter(|(name, _)| common::selected(name)) {
        let mut mock_runs = Vec::new();
        let mut base_runs = Vec::new();
        for _ in 0..runs {
            for (addr, out) in [(mock_addr, &mut mock_runs), (base_addr, &mut base_runs)] {
                let batch = Arc::new(make(addr)?);
                let run: LoadRun = driver.block_on(load(addr, CONNECTIONS, batch, 200))?;
                out.push(run);
            }
        }
        let rps =
            |r: &[LoadRun]| Summary::of(&r.iter().map(LoadRun::per_second).collect::<Vec<_>>());
        let lat = |r: &[LoadRun], f: fn(&LoadRun) -> Duration| {
            Duration::from_secs_f64(
                Summary::of(&r.iter().map(|x| f(x).as_secs_f64()).collect::<Vec<_>>()).median,
            )
        };
        let (mock_rps, base_rps) = (rps(&mock_runs), rps(&base_runs));
        let ratio = mock_rps.median / base_rps.median;
        println!(
            "{:<34} {:>10.0} {:>12} {:>12.0} {:>8.2}x {:>10} {:>10} {:>12} {:>7}",
            name,
            mock_rps.median,
            mock_rps.noise(),
            base_rps.median,
            ratio,
            fmt_duration(lat(&mock_runs, |r| r.p50)),
            fmt_duration(lat(&mock_runs, |r| r.p99)),
            format!(
                "{}/{}",
                fmt_duration(lat(&base_runs, |r| r.p50)).replace(" µs", ""),
                fmt_duration(lat(&base_runs, |r| r.p99))
            ),
            if ratio >= 0.7 { "met" } else { "MISSED" },
        );
        println!(
            "{:<34} {:>10} {:>12} {:>12}",
            "",
            "",
            "",
            format!("axum {}", base_rps.noise())
        );
    }
    drop(m);
    Ok(())
}

/// Initiates `n` verifications of the conformance user's TOTP/PUSH factor over 8
/// connections; returns each request's id and requestState.
async fn initiate_ids(
    addr: SocketAddr,
    token: &str,
    method: MfaMethod,
    n: usize,
) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let body = serde_json::to_vec(
        &Initiate::factor(
            UserRef::Guid(CONFORMANCE_USER_GUID.into()),
            TOTP_FACTOR,
            method,
        )
        .to_body(),
    )?;
    let request = RawRequest::new(addr, "POST", "/mfa/v1/requests", Some(token), Some(&body));
    let workers = n.min(8);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let request = request.clone();
        let count = n / workers + usize::from(w < n % workers);
        tasks.spawn(async move {
            let mut conn = RawConn::connect(addr).await?;
            let mut out = Vec::with_capacity(count);
            for _ in 0..count {
                let (status, body) = conn.send(&request).await?;
                if status != 200 {
                    return Err(std::io::Error::other(format!("initiate answered {status}")));
                }
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                let field = |k: &str| {
                    v.get(k)
                        .and_then(|s| s.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                out.push((field("requestId"), field("requestState")));
            }
            Ok(out)
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok(all)
}

/// `n` fresh TOTP requests and the PATCH that verifies each with the current code.
async fn verify_requests(
    addr: SocketAddr,
    token: &str,
    secret: &str,
    n: usize,
) -> Result<Vec<RawRequest>, Box<dyn std::error::Error>> {
    let ids = initiate_ids(addr, token, MfaMethod::Totp, n).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let code = totp::code(secret, now)?;
    Ok(ids
        .into_iter()
        .map(|(id, state)| {
            let body = serde_json::json!({ "otpCode": code, "requestState": state }).to_string();
            RawRequest::new(
                addr,
                "PATCH",
                &format!("/mfa/v1/requests/{id}"),
                Some(token),
                Some(body.as_bytes()),
            )
        })
        .collect())
}
