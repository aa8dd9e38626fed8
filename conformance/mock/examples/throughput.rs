//! Measures the request throughput of one endpoint of the mock tenant: the PUSH poll
//! (`GET /mfa/v1/requests/{requestId}`, answered 200 pending), over loopback.
//!
//! Bounded: at most `REQUESTS` requests and at most `MAX_SECONDS` seconds, with
//! `CONCURRENCY` keep-alive clients. Run in release mode:
//!
//! ```text
//! cargo run --release -p idcs-mfa-mock --example throughput
//! ```

use std::time::{Duration, Instant};

use idcs_mfa::{Initiate, Method, UserRef};
use idcs_mfa_mock::{MockConfig, MockTenant};

const REQUESTS: usize = 40_000;
const CONCURRENCY: usize = 16;
const MAX_SECONDS: u64 = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let m = MockTenant::start_with(MockConfig {
        push_expiry: Duration::from_secs(3600),
        ..MockConfig::default()
    })
    .await?;
    let client = m.client()?;
    let v = client
        .initiate(&Initiate::factor(
            UserRef::Guid("cc327268ff4d4e4a9b3e9f676215cfc7".into()),
            "06f15bf5778544c3ae2236c5fca9d9e8",
            Method::Push,
        ))
        .await?;
    let url = format!("{}/mfa/v1/requests/{}", m.base_url(), v.request_id());
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(MAX_SECONDS);
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (http, url, token) = (http.clone(), url.clone(), m.token().clone());
            tokio::spawn(async move {
                let mut done = 0usize;
                while done < REQUESTS / CONCURRENCY && Instant::now() < deadline {
                    let r = http.get(&url).bearer_auth(token.expose()).send().await;
                    match r {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            done += 1;
                        }
                        Ok(r) => return Err(format!("unexpected status {}", r.status())),
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await?.map_err(|e| e.to_string())?;
    }
    let elapsed = start.elapsed();
    println!(
        "GET /mfa/v1/requests/{{id}} (PUSH pending): {total} requests in {:.2} s with {CONCURRENCY} clients = {:.0} requests/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    m.shutdown().await?;
    Ok(())
}
