//! A tiny HTTP/1.1 server on `127.0.0.1:0` for the integration tests.
//!
//! It records every request as it arrived (method, path and query, headers, body) and
//! answers each with a canned status, headers and body chosen by a responder function.
//! One connection carries one exchange (`connection: close`), so a canned body that a
//! client does not read (a 204's, an over-limit one) can never leak into the next
//! answer. Only what this crate's client sends is understood: a `content-length` body,
//! no chunked uploads.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use idcs_mfa_contract::{Contract, Example, ExampleLocation};
use serde_json::{Map, Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// The bearer token every test client sends.
pub const TOKEN: &str = "test-token-0f5e";

/// One answer of the server.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send `content-length` (otherwise the body ends when the connection closes).
    pub declare_length: bool,
}

impl Canned {
    /// A status with a body of a given content type (`None`: no content-type header).
    pub fn new(status: u16, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: content_type
                .map(|ct| vec![("content-type".to_owned(), ct.to_owned())])
                .unwrap_or_default(),
            body: body.into(),
            declare_length: true,
        }
    }

    /// A JSON body.
    pub fn json(status: u16, body: &Value) -> Self {
        Self::new(status, Some("application/json"), body.to_string())
    }

    /// A status with no body at all.
    pub fn empty(status: u16) -> Self {
        Self::new(status, None, Vec::new())
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Ends the body by closing the connection instead of declaring its length.
    pub fn without_length(mut self) -> Self {
        self.declare_length = false;
        self
    }
}

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Captured {
    pub method: String,
    /// Path and query, as on the request line.
    pub target: String,
    /// Header names lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    /// The value of a header (first occurrence).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`None` when empty).
    pub fn body_json(&self) -> Option<Value> {
        (!self.body.is_empty()).then(|| {
            serde_json::from_slice(&self.body).unwrap_or_else(|e| {
                panic!(
                    "the request body is not JSON ({e}): {:?}",
                    String::from_utf8_lossy(&self.body)
                )
            })
        })
    }

    /// The request for a snapshot: headers sorted, `host`'s port, `authorization` and
    /// `user-agent` replaced (assert those separately), body as JSON.
    pub fn snapshot(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            let shown = match name.as_str() {
                "host" => "127.0.0.1:[port]".to_owned(),
                "authorization" | "user-agent" => "[redacted]".to_owned(),
                _ => value.clone(),
            };
            headers.insert(name.clone(), Value::String(shown));
        }
        json!({
            "method": self.method,
            "target": self.target,
            "headers": headers,
            "body": self.body_json(),
        })
    }
}

type Responder = dyn Fn(&Captured) -> Canned + Send + Sync;

/// A running capture server; stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Captured>>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Starts a server that answers each request with `responder(request)`.
    pub async fn start(responder: impl Fn(&Captured) -> Canned + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let responder: Arc<Responder> = Arc::new(responder);
        let task = tokio::spawn(serve(listener, requests.clone(), responder));
        Server {
            base_url: format!("http://127.0.0.1:{port}"),
            requests,
            task,
        }
    }

    /// A server that always gives the same answer.
    pub async fn always(canned: Canned) -> Server {
        Server::start(move |_| canned.clone()).await
    }

    /// A server that gives these answers in turn, then repeats the last one.
    pub async fn sequence(answers: Vec<Canned>) -> Server {
        assert!(!answers.is_empty());
        let next = AtomicUsize::new(0);
        Server::start(move |_| {
            let i = next.fetch_add(1, Ordering::SeqCst).min(answers.len() - 1);
            answers[i].clone()
        })
        .await
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }

    /// The only request received; fails when there were none or several.
    pub fn single_request(&self) -> Captured {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request: {requests:#?}"
        );
        requests.into_iter().next().unwrap()
    }

    /// A client builder for this server, with [`TOKEN`] and short timeouts.
    pub fn builder(&self) -> idcs_mfa::ClientBuilder {
        idcs_mfa::Client::builder(&self.base_url)
            .bearer_token(TOKEN)
            .connect_timeout(Duration::from_secs(5))
            .request_timeout(Duration::from_secs(10))
    }

    /// A client of this server with [`TOKEN`].
    pub fn client(&self) -> idcs_mfa::Client {
        self.builder().build().expect("a valid client")
    }
}

async fn serve(
    listener: TcpListener,
    requests: Arc<Mutex<Vec<Captured>>>,
    responder: Arc<Responder>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let requests = requests.clone();
        let responder = responder.clone();
        tokio::spawn(async move {
            // A client that hangs up early (an over-limit body) is not a test failure.
            let _ = exchange(stream, &requests, &*responder).await;
        });
    }
}

async fn exchange(
    mut stream: TcpStream,
    requests: &Mutex<Vec<Captured>>,
    responder: &Responder,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(()); // closed before a whole request: nothing to record
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    assert!(
        !headers.iter().any(|(n, _)| n == "transfer-encoding"),
        "the capture server reads content-length bodies only: {headers:?}"
    );
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let captured = Captured {
        method,
        target,
        headers,
        body,
    };
    let canned = responder(&captured);
    requests.lock().unwrap().push(captured);

    let mut out = format!("HTTP/1.1 {} Canned\r\n", canned.status).into_bytes();
    for (name, value) in &canned.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if canned.declare_length {
        out.extend_from_slice(format!("content-length: {}\r\n", canned.body.len()).as_bytes());
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&canned.body);
    stream.write_all(&out).await?;
    stream.shutdown().await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The documented request example `name` of `operation_id`.
pub fn request_example(operation_id: &str, name: &str) -> &'static Example {
    find_example(operation_id, &ExampleLocation::Request, name)
}

/// The documented response example `name` of `operation_id`'s `status`.
pub fn response_example(operation_id: &str, status: u16, name: &str) -> &'static Example {
    find_example(operation_id, &ExampleLocation::Response { status }, name)
}

fn find_example(operation_id: &str, location: &ExampleLocation, name: &str) -> &'static Example {
    Contract::get()
        .examples()
        .iter()
        .find(|e| e.operation_id == operation_id && &e.location == location && e.name == name)
        .unwrap_or_else(|| panic!("no example {name:?} at {location:?} of {operation_id}"))
}
