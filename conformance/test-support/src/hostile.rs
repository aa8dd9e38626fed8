//! A hostile tenant: an HTTP/1.1 server on `127.0.0.1:0` that answers every request in
//! one broken, slow or malicious way, and counts what it received and sent.
//!
//! Shared by the library's `tests/hostile.rs` and the conformance crate's
//! `tests/hostile_runner.rs`, so that the client and the runner are held to the same
//! table. Only tokio; no test framework.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// The size of [`Hostile::Huge`]'s body.
pub const HUGE_BYTES: usize = 20 * 1024 * 1024;
/// The nesting depth of [`Hostile::DeepNesting`].
pub const DEEP: usize = 100_000;
/// The pause between two bytes of [`Hostile::Drip`].
pub const DRIP_INTERVAL: Duration = Duration::from_secs(3);

/// One way of answering. Each answers every request it gets, the same way.
#[derive(Clone, Debug)]
pub enum Hostile {
    /// 401, no body (a gateway's).
    Empty401,
    /// 404 with an HTML page.
    Html404,
    /// 200 `application/json` whose JSON text stops half-way (framing correct).
    TruncatedJson,
    /// 200 that declares 1000 body bytes, sends 20 and closes.
    TruncatedFraming,
    /// 200 with [`HUGE_BYTES`] of body: with `content-length` when `declared`, else
    /// ended by closing the connection.
    Huge { declared: bool },
    /// `status` as a JSON body holding bytes that are not UTF-8.
    InvalidUtf8 { status: u16 },
    /// `status` with [`DEEP`] nested arrays.
    DeepNesting { status: u16 },
    /// 200 with a documented-looking JSON body labelled `text/html`.
    WrongContentType,
    /// `status` with a JSON object that repeats its `status` key.
    DuplicateKeys { status: u16 },
    /// Reads the request, then resets the connection (RST) without a byte.
    ResetBeforeAnswer,
    /// Sends the head and a few body bytes, then resets the connection.
    ResetMidBody,
    /// Sends a 200 head, then one body byte every [`DRIP_INTERVAL`].
    Drip,
    /// Reads the request and never answers (nor closes).
    Silent,
    /// Redirects with `status` to the same path on `to` (another host).
    Redirect { status: u16, to: String },
    /// Writes these bytes as the whole answer, then closes (for generated answers;
    /// change them between requests through the shared slot).
    Raw(Arc<std::sync::Mutex<Vec<u8>>>),
}

/// What the server saw and did.
#[derive(Default)]
struct Counters {
    requests: AtomicUsize,
    with_authorization: AtomicUsize,
    body_bytes_sent: AtomicU64,
}

/// A running hostile server; stops (and drops every connection) when dropped.
pub struct HostileServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// `http://localhost:<port>`: the same server under another host name.
    pub other_host_url: String,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HostileServer {
    /// Starts a server that answers every request as `how` says.
    pub async fn start(how: Hostile) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept(listener, how, counters.clone()));
        HostileServer {
            base_url: format!("http://127.0.0.1:{port}"),
            other_host_url: format!("http://localhost:{port}"),
            counters,
            task,
        }
    }

    /// Requests received (whole heads read).
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// Requests received that carried an `Authorization` header.
    pub fn requests_with_authorization(&self) -> usize {
        self.counters.with_authorization.load(Ordering::SeqCst)
    }

    /// Body bytes the server managed to write (for [`Hostile::Huge`]: how much of the
    /// 20 MB the client let through before hanging up).
    pub fn body_bytes_sent(&self) -> u64 {
        self.counters.body_bytes_sent.load(Ordering::SeqCst)
    }
}

async fn accept(listener: TcpListener, how: Hostile, counters: Arc<Counters>) {
    // Connection tasks live in this set, so aborting the server drops them all (a
    // `Silent` connection would otherwise hold its socket forever).
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let (how, counters) = (how.clone(), counters.clone());
                    connections.spawn(async move {
                        let _ = answer(stream, &how, &counters).await;
                    });
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads one request head (and a `content-length` body, at most 1 MiB); returns the
/// request target and whether it carried `Authorization`.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<(String, bool)>> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return Ok(None);
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let authorized = header("authorization").is_some();
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = buf.len() - (head_end + 4);
    while body < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body += n;
    }
    Ok(Some((target, authorized)))
}

fn head(status: u16, content_type: Option<&str>, length: Option<usize>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Hostile\r\n");
    if let Some(ct) = content_type {
        out.push_str(&format!("content-type: {ct}\r\n"));
    }
    if let Some(len) = length {
        out.push_str(&format!("content-length: {len}\r\n"));
    }
    out.push_str("connection: close\r\n\r\n");
    out.into_bytes()
}

fn whole(status: u16, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = head(status, content_type, Some(body.len()));
    out.extend_from_slice(body);
    out
}

/// A JSON value nested `depth` arrays deep.
pub fn deep_nesting(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}

async fn answer(mut stream: TcpStream, how: &Hostile, counters: &Counters) -> std::io::Result<()> {
    let Some((target, authorized)) = read_request(&mut stream).await? else {
        return Ok(());
    };
    counters.requests.fetch_add(1, Ordering::SeqCst);
    if authorized {
        counters.with_authorization.fetch_add(1, Ordering::SeqCst);
    }
    const JSON: Option<&str> = Some("application/json");
    let out = match how {
        Hostile::Empty401 => whole(401, None, b""),
        Hostile::Html404 => whole(
            404,
            Some("text/html; charset=utf-8"),
            b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>",
        ),
        Hostile::TruncatedJson => whole(200, JSON, br#"{"status": "success", "userGUID": "cc3"#),
        Hostile::TruncatedFraming => {
            let mut out = head(200, JSON, Some(1000));
            out.extend_from_slice(br#"{"status": "success","#);
            stream.write_all(&out).await?;
            stream.flush().await?;
            return Ok(()); // dropped: FIN after 20 of 1000 bytes
        }
        Hostile::Huge { declared } => {
            let length = declared.then_some(HUGE_BYTES);
            stream.write_all(&head(200, JSON, length)).await?;
            // One static chunk written again and again: the server itself never holds
            // the 20 MB.
            static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
            let mut sent = 0;
            while sent < HUGE_BYTES {
                stream.write_all(&CHUNK).await?;
                sent += CHUNK.len();
                counters
                    .body_bytes_sent
                    .fetch_add(CHUNK.len() as u64, Ordering::SeqCst);
            }
            return stream.shutdown().await;
        }
        Hostile::InvalidUtf8 { status } => {
            whole(*status, JSON, b"{\"status\": \"fa\xffi\xfeled\", \"cause\": []}")
        }
        Hostile::DeepNesting { status } => whole(*status, JSON, &deep_nesting(DEEP)),
        Hostile::WrongContentType => whole(
            200,
            Some("text/html"),
            br#"{"status": "success", "userGUID": "cc327268ff4d4e4a9b3e9f676215cfc7", "factors": []}"#,
        ),
        Hostile::DuplicateKeys { status } => whole(
            *status,
            JSON,
            br#"{"status": "success", "status": "failed", "userGUID": "a", "userGUID": "b", "factors": [], "cause": []}"#,
        ),
        Hostile::ResetBeforeAnswer => {
            stream.set_zero_linger()?;
            return Ok(()); // dropped with SO_LINGER 0: RST
        }
        Hostile::ResetMidBody => {
            let mut out = head(200, JSON, Some(1000));
            out.extend_from_slice(br#"{"status": "#);
            stream.write_all(&out).await?;
            stream.flush().await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
            stream.set_zero_linger()?;
            return Ok(());
        }
        Hostile::Drip => {
            stream.write_all(&head(200, JSON, Some(64))).await?;
            for _ in 0..64 {
                stream.write_all(b" ").await?;
                stream.flush().await?;
                counters.body_bytes_sent.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(DRIP_INTERVAL).await;
            }
            return Ok(());
        }
        Hostile::Silent => {
            std::future::pending::<()>().await;
            return Ok(());
        }
        Hostile::Raw(bytes) => bytes.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        Hostile::Redirect { status, to } => {
            let mut out = format!(
                "HTTP/1.1 {status} Moved\r\nlocation: {to}{target}\r\ncontent-length: 0\r\n"
            );
            out.push_str("connection: close\r\n\r\n");
            out.into_bytes()
        }
    };
    stream.write_all(&out).await?;
    stream.shutdown().await
}
