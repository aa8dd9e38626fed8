//! The binary in other processes: `serve` started as a child, shared by the modules
//! that run the command line against it (`cli`, `tenant_snapshots`).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The suite's binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_idcs-mfa-conformance");

/// The binary with no colour and none of the environment a profile could read.
pub fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.env("NO_COLOR", "1")
        .env_remove("IDCS_TOKEN")
        .env_remove("MOCK_CONTROL_TOKEN");
    c
}

/// `serve` in a child process; killed on drop, also when a test panics.
pub struct Served {
    child: Child,
    pub base_url: String,
    pub token: String,
    pub control_token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve --listen 127.0.0.1:0` (plus `extra`) and reads what it prints.
pub fn serve(extra: &[&str]) -> Served {
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut served = Served {
        child,
        base_url: String::new(),
        token: String::new(),
        control_token: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read serve's output");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["base", "URL", url, ..] => served.base_url = url.to_string(),
            ["bearer", "token", token, ..] => served.token = token.to_string(),
            ["control", "token", token, ..] => {
                served.control_token = token.to_string();
                break;
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "serve did not start in 30 s");
    }
    assert!(
        served.base_url.starts_with("http://127.0.0.1:")
            && !served.token.is_empty()
            && !served.control_token.is_empty(),
        "serve printed no base URL or tokens"
    );
    served
}
