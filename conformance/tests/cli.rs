//! The command line as a user meets it: the binary in other processes.
//!
//! - the help texts are pinned (a changed flag shows as a reviewed snapshot diff);
//! - the README's "Against the mock tenant in another process" works as written: `serve`
//!   in one process, `run --profile` with the README's profile in another;
//! - the report of a tenant that breaks the contract is pinned (console, JSON, JUnit),
//!   redacted of what changes between runs, and no token reaches any output.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_idcs-mfa-conformance");

fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.env("NO_COLOR", "1")
        .env_remove("IDCS_TOKEN")
        .env_remove("MOCK_CONTROL_TOKEN");
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// Test case: `--help` of the binary and of each subcommand is pinned.
#[test]
fn help_texts_are_pinned() {
    for (name, args) in [
        ("help", &["--help"][..]),
        ("help_run", &["run", "--help"][..]),
        ("help_list", &["list", "--help"][..]),
        ("help_serve", &["serve", "--help"][..]),
    ] {
        let out = bin().args(args).output().expect("run the binary");
        assert!(out.status.success(), "{args:?}: {out:?}");
        insta::assert_snapshot!(name, text(&out.stdout));
    }
}

// Test case: a usage error is exit code 2 with a message on standard error.
#[test]
fn usage_errors_exit_2() {
    let out = bin().args(["run", "--no-such-flag"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("--no-such-flag"), "{out:?}");
    let out = bin()
        .args(["run", "--profile", "/nonexistent/profile.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).contains("/nonexistent/profile.toml"),
        "{out:?}"
    );
}

/// `serve` in a child process; killed on drop, also when a test panics.
struct Served {
    child: Child,
    base_url: String,
    token: String,
    control_token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve --listen 127.0.0.1:0` (plus `extra`) and reads what it prints.
fn serve(extra: &[&str]) -> Served {
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

/// The README's `mock.toml`, with the port `serve` printed.
fn readme_profile(base_url: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let start = readme
        .find("```toml\n# mock.toml\n")
        .expect("the README shows a mock.toml");
    let block = &readme[start + "```toml\n".len()..];
    let block = &block[..block.find("```").expect("the block ends")];
    assert!(
        block.contains("base_url = \"http://127.0.0.1:8700\""),
        "the README's mock.toml names the port it shows:\n{block}"
    );
    block.replace("http://127.0.0.1:8700", base_url)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "idcs-mfa-conformance-cli-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `run --profile` the README's profile against `served`, with `args`.
fn run_with_profile(served: &Served, dir: &Path, args: &[&str]) -> Output {
    let profile = dir.join("mock.toml");
    std::fs::write(&profile, readme_profile(&served.base_url)).expect("write profile");
    bin()
        .args(["run", "--profile"])
        .arg(&profile)
        .args(args)
        .env("IDCS_TOKEN", &served.token)
        .env("MOCK_CONTROL_TOKEN", &served.control_token)
        .output()
        .expect("run the suite")
}

fn assert_no_token(served: &Served, what: &str, output: &str) {
    for secret in [&served.token, &served.control_token] {
        assert!(
            !output.contains(secret.as_str()),
            "a token appears in {what}"
        );
    }
}

// Test case: the README's "Against the mock tenant in another process", word for word
// but for the port: every default check passes through the profile alone, exit 0.
#[test]
fn readme_profile_runs_against_serve_in_another_process() {
    let served = serve(&[]);
    let dir = temp_dir("readme");
    let out = run_with_profile(&served, &dir, &[]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("43 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains(&served.base_url), "{stdout}");
    assert_no_token(&served, "stdout", &stdout);
    assert_no_token(&served, "stderr", &stderr);
    let _ = std::fs::remove_dir_all(dir);
}

/// Replaces what differs between runs: the server's address, UUIDs and durations.
fn redact(s: &str, base_url: &str) -> String {
    let s = s.replace(base_url, "[base-url]");
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if is_uuid(&bytes[i..]) {
            out.push_str("[uuid]");
            i += 36;
            continue;
        }
        if let Some(len) = duration_len(&s[i..])
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        {
            out.push_str("[time]");
            i += len;
            continue;
        }
        let c = s[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() >= 36
        && b[..36].iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

/// `0.58 s` or `time="0.003"`: the length of a duration at the start of `s`.
fn duration_len(s: &str) -> Option<usize> {
    if let Some(rest) = s.strip_prefix("time=\"") {
        let end = rest.find('"')?;
        return rest[..end]
            .parse::<f64>()
            .is_ok()
            .then_some("time=\"".len() + end + 1);
    }
    let digits = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    (digits > 0 && s[..digits].contains('.') && s[digits..].starts_with(" s")).then_some(digits + 2)
}

// Test case: the report of a tenant that breaks the contract (a wrong OTP answered 400,
// an unknown requestId answered 500) is pinned in all three formats: the failing
// checks, expected and actual, the redacted exchange, the curl repro, the shrunk
// property case and the coverage matrix. Exit code 1; no token anywhere.
#[test]
fn report_of_a_faulty_tenant_is_pinned() {
    let served = serve(&["--fault", "wrong_otp_400", "--fault", "unknown_request_500"]);
    let dir = temp_dir("report");
    let junit = dir.join("junit.xml");
    let seed = ["--seed", "7", "--cases", "8"];

    let console = run_with_profile(&served, &dir, &seed);
    assert_eq!(console.status.code(), Some(1), "{console:?}");
    let json = run_with_profile(
        &served,
        &dir,
        &[
            &seed[..],
            &[
                "--format",
                "json",
                "--junit",
                junit.to_str().expect("utf-8"),
            ],
        ]
        .concat(),
    );
    assert_eq!(json.status.code(), Some(1), "{json:?}");
    let junit = std::fs::read_to_string(&junit).expect("the JUnit file is written");

    for (what, output) in [
        ("the console report", text(&console.stdout)),
        ("the console progress", text(&console.stderr)),
        ("the JSON report", text(&json.stdout)),
        ("the JSON run's standard error", text(&json.stderr)),
        ("the JUnit report", junit.clone()),
    ] {
        assert_no_token(&served, what, &output);
    }

    insta::assert_snapshot!(
        "report_console",
        redact(&text(&console.stdout), &served.base_url)
    );
    let report: serde_json::Value =
        serde_json::from_str(&redact(&text(&json.stdout), &served.base_url))
            .expect("the JSON report parses");
    insta::assert_json_snapshot!("report_json", report, {
        ".millis" => "[ms]",
        ".checks[].millis" => "[ms]",
    });
    insta::assert_snapshot!("report_junit", redact(&junit, &served.base_url));
    let _ = std::fs::remove_dir_all(dir);
}
