//! What the benchmarks share: statistics over repeated runs, a minimal HTTP/1.1
//! keep-alive load client, and a fixed-body axum server (the baseline).
//!
//! Every benchmark is a `harness = false` binary: it repeats each measurement several
//! times and prints the median with the spread (min and max as a percentage of the
//! median), so the noise of a shared machine is visible next to each figure.

#![allow(dead_code)] // Each bench binary uses part of this module.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Median, minimum and maximum of repeated runs.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Summary {
        assert!(!values.is_empty(), "no runs to summarise");
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Summary {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// The spread as `-a%/+b%` around the median.
    pub fn noise(&self) -> String {
        if self.median == 0.0 {
            return "n/a".into();
        }
        format!(
            "-{:.0}%/+{:.0}%",
            (self.median - self.min) / self.median * 100.0,
            (self.max - self.median) / self.median * 100.0
        )
    }
}

/// The `q` quantile (0..=1) of sorted durations, nearest rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Micro- or milliseconds, readable.
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// Whether the binary was started by `cargo bench` (`--bench`) or by `cargo test
/// --benches` (no `--bench`): in the latter case each benchmark runs a smoke pass only.
pub fn quick() -> bool {
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            println!(
                "smoke pass (not `cargo bench`): tiny runs of this build, figures mean nothing"
            )
        });
    }
    quick
}

/// Whether a measurement named `name` is selected: every one, unless the command line
/// names substrings (`cargo bench --bench mock_load -- factors`).
pub fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

/// One request, serialized once and replayed on a keep-alive connection.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub bytes: Vec<u8>,
}

impl RawRequest {
    /// `method path` with an optional bearer token and JSON body.
    pub fn new(
        addr: SocketAddr,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> Self {
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\naccept: application/json\r\n");
        if let Some(token) = token {
            head.push_str(&format!("authorization: Bearer {token}\r\n"));
        }
        let mut bytes = Vec::new();
        match body {
            Some(body) => {
                head.push_str(&format!(
                    "content-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                ));
                bytes.extend_from_slice(head.as_bytes());
                bytes.extend_from_slice(body);
            }
            None => {
                head.push_str("\r\n");
                bytes.extend_from_slice(head.as_bytes());
            }
        }
        RawRequest { bytes }
    }
}

/// A minimal HTTP/1.1 client on one keep-alive connection: writes a prepared request,
/// reads the status line, the headers and a `content-length` body. Light enough that
/// the server, not the client, is what a load test measures.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<RawConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `request`; returns the status and the body.
    pub async fn send(&mut self, request: &RawRequest) -> std::io::Result<(u16, Vec<u8>)> {
        self.stream.write_all(&request.bytes).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(std::io::Error::other)?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status line"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .ok_or_else(|| std::io::Error::other("no content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok((status, body))
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The result of one load run.
#[derive(Clone, Debug)]
pub struct LoadRun {
    pub requests: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl LoadRun {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `requests` (one each, in order, spread over `connections` keep-alive
/// connections, each connection taking the next unsent one) and expects `status` for
/// every answer. Latency is measured per request, from write to last body byte.
pub async fn load(
    addr: SocketAddr,
    connections: usize,
    requests: std::sync::Arc<Vec<RawRequest>>,
    status: u16,
) -> Result<LoadRun, String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(RawConn::connect(addr).await.map_err(|e| e.to_string())?);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut conn in conns {
        let (next, requests) = (next.clone(), requests.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    return Ok(latencies);
                };
                let t = Instant::now();
                let (got, body) = conn.send(request).await.map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
                if got != status {
                    return Err(format!(
                        "answered {got} instead of {status}: {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
            }
        });
    }
    let mut all = Vec::with_capacity(requests.len());
    while let Some(done) = tasks.join_next().await {
        all.extend(done.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok(LoadRun {
        requests: all.len(),
        elapsed,
        p50: quantile(&all, 0.50),
        p99: quantile(&all, 0.99),
    })
}

/// A fixed answer for one route of the baseline server.
#[derive(Clone, Debug)]
pub struct Fixed {
    pub method: Method,
    /// An axum route (`/mfa/v1/requests/{id}`).
    pub route: &'static str,
    pub status: StatusCode,
    pub content_type: String,
    pub body: Bytes,
}

/// The minimal axum server: each route answers its fixed body, with no state, no
/// authentication and no parsing. Serves on `127.0.0.1:0` on the current runtime.
pub async fn spawn_fixed(routes: Vec<Fixed>) -> std::io::Result<SocketAddr> {
    let mut router = Router::new();
    let mut by_route: std::collections::BTreeMap<&'static str, Vec<Fixed>> = Default::default();
    for f in routes {
        by_route.entry(f.route).or_default().push(f);
    }
    for (route, fixed) in by_route {
        let mut method_router = axum::routing::MethodRouter::new();
        for f in fixed {
            let filter = axum::routing::MethodFilter::try_from(f.method.clone())
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            method_router = method_router.on(filter, move || {
                let f = f.clone();
                async move { fixed_response(&f) }
            });
        }
        router = router.route(route, method_router);
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

fn fixed_response(f: &Fixed) -> Response {
    (
        f.status,
        [(header::CONTENT_TYPE, f.content_type.clone())],
        f.body.clone(),
    )
        .into_response()
}
