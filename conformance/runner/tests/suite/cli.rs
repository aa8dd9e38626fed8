//! The command line as a user meets it: the binary in other processes.
//!
//! - the help texts are pinned (a changed flag shows as a reviewed snapshot diff);
//! - docs/running.md's "Against the mock tenant in another process" works as written:
//!   `serve` in one process, `run --profile` with its profile in another;
//! - the report of a tenant that breaks the contract is pinned (console, JSON, JUnit),
//!   redacted of what changes between runs, and no token reaches any output.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::served::{Served, bin, serve};

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

/// The `mock.toml` of docs/running.md ("Against the mock tenant in another process"),
/// with the port `serve` printed.
fn readme_profile(base_url: &str) -> String {
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/running.md"),
    )
    .expect("docs/running.md");
    let start = docs
        .find("```toml\n# mock.toml\n")
        .expect("docs/running.md shows a mock.toml");
    let block = &docs[start + "```toml\n".len()..];
    let block = &block[..block.find("```").expect("the block ends")];
    assert!(
        block.contains("base_url = \"http://127.0.0.1:8700\""),
        "the mock.toml of docs/running.md names the port it shows:\n{block}"
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

/// `run --profile` docs/running.md's mock profile against `served`, with `args`.
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

// Test case: docs/running.md's "Against the mock tenant in another process", word for word
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
        stdout.contains("55 passed, 0 failed, 0 skipped"),
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

/// `0.58 s`, `time="0.003"` or a JUnit property's `value="3.1"` (the latencies): the
/// length of a duration at the start of `s`.
fn duration_len(s: &str) -> Option<usize> {
    for prefix in ["time=\"", "value=\""] {
        if let Some(rest) = s.strip_prefix(prefix) {
            let end = rest.find('"')?;
            let number = &rest[..end];
            return (number.parse::<f64>().is_ok()
                && (prefix == "time=\"" || number.contains('.')))
            .then_some(prefix.len() + end + 1);
        }
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
        ".network.latency_p50_ms" => "[ms]",
        ".network.latency_p95_ms" => "[ms]",
    });
    insta::assert_snapshot!("report_junit", redact(&junit, &served.base_url));
    let _ = std::fs::remove_dir_all(dir);
}

// Test case: against `serve --behaviour rate_limit` (a 429 with `Retry-After: 1` every
// 25th /mfa/v1 request) the strict suite passes through the README's profile, and the
// report shows the 429s and the time spent waiting (console and JSON).
#[test]
fn strict_suite_passes_against_a_rate_limiting_serve_and_reports_it() {
    let served = serve(&["--behaviour", "rate_limit", "--rate-limit-every", "25"]);
    let dir = temp_dir("rate-limit");
    let out = run_with_profile(&served, &dir, &["--strict", "--cases", "8", "--seed", "7"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed, 0 skipped"), "{stdout}");
    let network = stdout
        .lines()
        .find(|l| l.starts_with("Network: "))
        .expect("a network line");
    let count: u64 = network
        .split("429 answers ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the 429 count");
    assert!(count > 0, "{network}");
    assert!(
        network.contains(&format!("({count} with Retry-After)")),
        "{network}"
    );
    let waited: f64 = network
        .split("waited ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the wait");
    assert!(
        waited >= count as f64 * 0.99,
        "{count} waits of 1 s: {network}"
    );

    let json = run_with_profile(
        &served,
        &dir,
        &[
            "--strict", "--cases", "8", "--seed", "7", "--format", "json",
        ],
    );
    assert_eq!(json.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert!(
        report["network"]["rate_limited"].as_u64().unwrap_or(0) > 0,
        "{}",
        report["network"]
    );
    assert!(report["network"]["waited_ms"].as_u64().unwrap_or(0) >= 990);
    assert!(report["network"]["latency_p95_ms"].as_f64().is_some());
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------
// Safety on a tenant the runner cannot repair: serve in another process, profiles
// without [mock_control].
// ---------------------------------------------------------------------------------------

/// One request to `served`'s control API; its JSON answer.
fn control(served: &Served, method: reqwest::Method, path: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .request(method, format!("{}/_mock/v1{path}", served.base_url))
            .bearer_auth(&served.control_token)
            .send()
            .await
            .expect("the control API answers");
        assert!(response.status().is_success(), "{path}: {response:?}");
        response.json().await.expect("JSON")
    })
}

/// The test user's attempt count and lock, as the mock has them.
fn attempts_of(served: &Served, guid: &str) -> (u64, bool) {
    let status = control(served, reqwest::Method::GET, &format!("/users/{guid}"));
    (
        status["attempts"].as_u64().expect("attempts"),
        status["locked"].as_bool().expect("locked"),
    )
}

/// The README's tenant profile (`tenant.toml`) pointed at `base_url`, without its
/// `[fixtures]` section, and with no rate limit (a local mock).
fn readme_tenant_profile(base_url: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let start = readme
        .find("```toml\n# tenant.toml\n")
        .expect("the README shows a tenant.toml");
    let block = &readme[start + "```toml\n".len()..];
    let block = &block[..block.find("```").expect("the block ends")];
    let mut out = String::new();
    let mut in_fixtures = false;
    for line in block.lines() {
        if line.starts_with('[') {
            in_fixtures = line.starts_with("[fixtures]");
        }
        if in_fixtures {
            continue;
        }
        let line = if line.starts_with("base_url") {
            format!("base_url = \"{base_url}\"")
        } else if line.starts_with("rate_limit") {
            "rate_limit = 0".to_owned()
        } else {
            line.to_owned()
        };
        out.push_str(&line);
        out.push('\n');
    }
    assert!(out.contains("max_attempts = 5"), "{out}");
    out
}

const TOM: &str = "cc327268ff4d4e4a9b3e9f676215cfc7";
const CONFORMANCE_USER: &str = "c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0";

fn run_profile(served: &Served, profile: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_profile_in(served, profile, args, env, Path::new("."))
}

/// [`run_profile`] from the directory `cwd`.
fn run_profile_in(
    served: &Served,
    profile: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
) -> Output {
    let mut command = bin();
    command.current_dir(cwd);
    command
        .args(["run", "--profile"])
        .arg(profile)
        .args(args)
        .env("IDCS_TOKEN", &served.token);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the suite")
}

// Test case: the README's tenant profile (no fixtures, no [mock_control]) against serve
// in another process never locks the test user: by default, with --strict, and whatever
// the budget; the report shows what the run spent.
#[test]
fn readme_tenant_profile_never_locks_the_user() {
    let served = serve(&[]);
    let dir = temp_dir("tenant");
    let profile = dir.join("tenant.toml");
    std::fs::write(&profile, readme_tenant_profile(&served.base_url)).expect("write");
    for args in [
        &[][..],
        &["--strict"][..],
        &["--strict", "--attempt-budget", "100"][..],
    ] {
        let out = run_profile(&served, &profile, args, &[]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {stdout}{}",
            text(&out.stderr)
        );
        let (attempts, locked) = attempts_of(&served, TOM);
        assert!(
            !locked && attempts < 5,
            "{args:?}: {attempts} attempts, locked {locked}"
        );
        assert!(stdout.contains("attempts: "), "{stdout}");
        assert!(stdout.contains("the start count was assumed 0"), "{stdout}");
        // What the run left behind goes back to 0 at the user's next success: here, the
        // control API stands in for that sign-in.
        control(
            &served,
            reqwest::Method::POST,
            &format!("/users/{TOM}/unlock"),
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A profile of the suite's own user on serve, with its TOTP secret (so the runner can
/// reset the count) and `extra` lines in [fixtures].
/// The README's tenant.toml as written, fixtures included, against `base_url` with no
/// rate limit.
fn readme_profile_with_fixtures(base_url: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let start = readme
        .find("```toml\n# tenant.toml\n")
        .expect("the README shows a tenant.toml");
    let block = &readme[start + "```toml\n".len()..];
    let block = &block[..block.find("```").expect("the block ends")];
    let out: String = block
        .lines()
        .map(|line| {
            if line.starts_with("base_url") {
                format!("base_url = \"{base_url}\"\n")
            } else if line.starts_with("rate_limit") {
                "rate_limit = 0\n".to_owned()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert!(out.contains("otp_command = \"./read-otp.sh\""), "{out}");
    out
}

fn conformance_user_profile(base_url: &str, extra: &str) -> String {
    format!(
        r#"base_url = "{base_url}"
[user]
guid = "{CONFORMANCE_USER}"
name = "conformance@example.com"
[fixtures]
totp_factor_id = "c0f0a1a1a1a14a1a8a1aa1a1a1a1a1a1"
totp_secret_env = "TEST_TOTP_SECRET"
{extra}
[safety]
rate_limit = 0
max_attempts = 5
"#
    )
}

const TOTP_SECRET: (&str, &str) = ("TEST_TOTP_SECRET", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");

// Test case: --allow-lockout with no way to unlock: the first lockout check runs and
// passes, the others are skipped naming fixtures.unlock_command, no false failure, and
// the report says the run left the user locked.
#[test]
fn allow_lockout_without_unlock_has_no_false_failure() {
    let served = serve(&[]);
    let dir = temp_dir("lockout");
    let profile = dir.join("p.toml");
    std::fs::write(&profile, conformance_user_profile(&served.base_url, "")).expect("write");
    let out = run_profile(
        &served,
        &profile,
        &["--strict", "--allow-lockout"],
        &[TOTP_SECRET],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("PASS requests.post/otp-sends-count-toward-lockout"),
        "{stderr}"
    );
    assert!(
        stderr.contains("SKIP requests.patch/lockout-after-max-attempts (the test user is locked (by requests.post/otp-sends-count-toward-lockout) and the profile gives no way to unlock them (fixtures.unlock_command))"),
        "{stderr}"
    );
    assert!(
        stdout.contains("the run left the test user locked"),
        "{stdout}"
    );
    assert!(
        attempts_of(&served, CONFORMANCE_USER).1,
        "the user stays locked"
    );
    let _ = std::fs::remove_dir_all(dir);
}

// Test case: with an unlock_command (and an otp_command), every lockout check runs and
// passes, and the user ends unlocked; the commands get IDCS_USER_GUID and
// IDCS_REQUEST_ID.
#[test]
fn unlock_command_runs_every_lockout_check() {
    let served = serve(&[]);
    let dir = temp_dir("unlock");
    let unlock = dir.join("unlock.py");
    std::fs::write(
        &unlock,
        r#"import os, urllib.request
r = urllib.request.Request(os.environ["MOCK_URL"] + "/_mock/v1/users/" + os.environ["IDCS_USER_GUID"] + "/unlock", method="POST", headers={"Authorization": "Bearer " + os.environ["MOCK_CONTROL"]})
urllib.request.urlopen(r).read()
"#,
    )
    .expect("write");
    let otp = dir.join("otp.py");
    std::fs::write(
        &otp,
        r#"import os, json, urllib.request
r = urllib.request.Request(os.environ["MOCK_URL"] + "/_mock/v1/outbox?requestId=" + os.environ["IDCS_REQUEST_ID"], headers={"Authorization": "Bearer " + os.environ["MOCK_CONTROL"]})
print(json.loads(urllib.request.urlopen(r).read())[-1]["otp"])
"#,
    )
    .expect("write");
    let extra = format!(
        "unlock_command = \"python3 {}\"\notp_command = \"python3 {}\"",
        unlock.display(),
        otp.display()
    );
    let profile = dir.join("p.toml");
    std::fs::write(&profile, conformance_user_profile(&served.base_url, &extra)).expect("write");
    let env = [
        TOTP_SECRET,
        ("MOCK_URL", served.base_url.as_str()),
        ("MOCK_CONTROL", served.control_token.as_str()),
    ];
    let out = run_profile(&served, &profile, &["--strict", "--allow-lockout"], &env);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for id in [
        "requests.patch/success-resets-attempt-count",
        "requests.post/otp-sends-count-toward-lockout",
        "requests.patch/lockout-after-max-attempts",
    ] {
        assert!(stderr.contains(&format!("PASS {id}")), "{id}: {stderr}");
    }
    assert_eq!(attempts_of(&served, CONFORMANCE_USER), (0, false));
    assert!(!stdout.contains("left the test user locked"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

// Test case: set-up problems are errors of the run: exit 2 within 5 s, with one line on
// standard error and nothing on standard output; each message is pinned.
#[test]
fn setup_problems_exit_2_with_one_line() {
    let served = serve(&[]);
    let dir = temp_dir("setup");
    let tenant = dir.join("tenant.toml");
    std::fs::write(&tenant, readme_tenant_profile(&served.base_url)).expect("write");
    let wrong_totp = dir.join("wrong-totp.toml");
    std::fs::write(
        &wrong_totp,
        conformance_user_profile(&served.base_url, "").replace(
            "c0f0a1a1a1a14a1a8a1aa1a1a1a1a1a1",
            "c0f0b2b2b2b24b2b8b2bb2b2b2b2b2b2",
        ),
    )
    .expect("write");
    let conformance_profile = dir.join("conformance.toml");
    std::fs::write(
        &conformance_profile,
        conformance_user_profile(&served.base_url, ""),
    )
    .expect("write");
    // Fixture commands that cannot run: the README's profile as a newcomer has it before
    // writing ./read-otp.sh, a push command not made executable, an unlock script whose
    // interpreter is missing, an OTP command that is not on PATH.
    let readme_fixtures = dir.join("readme-fixtures.toml");
    std::fs::write(
        &readme_fixtures,
        readme_profile_with_fixtures(&served.base_url),
    )
    .expect("write");
    let script = |name: &str, text: &str, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path.display().to_string()
    };
    let with_command = |file: &str, line: String| {
        let path = dir.join(file);
        std::fs::write(&path, conformance_user_profile(&served.base_url, &line)).expect("write");
        path
    };
    let push_not_executable = with_command(
        "push-not-executable.toml",
        format!(
            "push_command = \"{}\"",
            script("push.sh", "#!/bin/sh\nexit 0\n", 0o644)
        ),
    );
    let unlock_no_interpreter = with_command(
        "unlock-no-interpreter.toml",
        format!(
            "unlock_command = \"{} --user $IDCS_USER_GUID\"",
            script("unlock.py", "#!/nonexistent/bin/python9\n", 0o755)
        ),
    );
    let otp_not_on_path = with_command(
        "otp-not-on-path.toml",
        "otp_command = \"read-otp --sms\"".to_owned(),
    );
    let readme_env = vec![
        ("IDCS_TOTP_SECRET", TOTP_SECRET.1),
        ("IDCS_BYPASS_CODES", "397541940949"),
        ("IDCS_ANSWERS", r#"{"FirstCar": "Ford Pinto"}"#),
    ];
    let mut messages = String::new();
    /// What, which profile, extra arguments, environment, a user to lock first.
    type Case<'a> = (
        &'a str,
        &'a Path,
        Vec<&'a str>,
        Vec<(&'a str, &'a str)>,
        Option<&'a str>,
    );
    let cases: [Case; 10] = [
        (
            "wrong token",
            &tenant,
            vec![],
            vec![("IDCS_TOKEN", "not-a-token")],
            None,
        ),
        (
            "nothing listening",
            &tenant,
            vec!["--base-url", "http://127.0.0.1:9"],
            vec![],
            None,
        ),
        (
            "unknown host",
            &tenant,
            vec!["--base-url", "http://no-such-tenant.invalid"],
            vec![],
            None,
        ),
        ("locked user", &tenant, vec![], vec![], Some(TOM)),
        (
            "TOTP factor not the user's",
            &wrong_totp,
            vec![],
            vec![TOTP_SECRET],
            None,
        ),
        (
            "wrong TOTP secret",
            &conformance_profile,
            vec![],
            vec![(TOTP_SECRET.0, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")],
            None,
        ),
        (
            "the README's profile, fixture commands not written yet",
            &readme_fixtures,
            vec![],
            readme_env,
            None,
        ),
        (
            "push command not executable",
            &push_not_executable,
            vec![],
            vec![TOTP_SECRET],
            None,
        ),
        (
            "unlock command's interpreter not installed",
            &unlock_no_interpreter,
            vec![],
            vec![TOTP_SECRET],
            None,
        ),
        (
            "OTP command not on PATH",
            &otp_not_on_path,
            vec![],
            vec![TOTP_SECRET],
            None,
        ),
    ];
    for (what, profile, args, env, lock) in cases {
        if let Some(guid) = lock {
            control(
                &served,
                reqwest::Method::POST,
                &format!("/users/{guid}/lock"),
            );
        }
        let started = Instant::now();
        // From the profiles' directory, as a newcomer runs beside their profile.
        let out = run_profile_in(&served, profile, &args, &env, &dir);
        let took = started.elapsed();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(out.stdout.is_empty(), "{what}: {}", text(&out.stdout));
        assert_no_token(&served, what, &stderr);
        // The resolver's and the OS's own words vary between machines: pinned up to them.
        let line = stderr
            .replace(&served.base_url, "[base-url]")
            .replace(&dir.display().to_string(), "[dir]");
        let line = match line.find(" (error sending request") {
            Some(cut) => format!("{} (…)\n", &line[..cut]),
            None => line,
        };
        messages.push_str(&format!("{what}:\n  {line}"));
        if let Some(guid) = lock {
            control(
                &served,
                reqwest::Method::POST,
                &format!("/users/{guid}/unlock"),
            );
        }
    }
    insta::assert_snapshot!("setup_problems", messages);
    // The wrong secret cost one attempt at most, and the run stopped there.
    let (attempts, locked) = attempts_of(&served, CONFORMANCE_USER);
    assert!(
        attempts <= 1 && !locked,
        "{attempts} attempts, locked {locked}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

// Test case: a tenant that stops answering mid-run (here: none from the start, with the
// preflight skipped) stops the run with exit 2 after a few requests, and no property
// check shrinks the failures.
#[test]
fn a_tenant_gone_mid_run_is_an_error_of_the_run() {
    let dir = temp_dir("gone");
    let profile = dir.join("p.toml");
    std::fs::write(&profile, readme_tenant_profile("http://127.0.0.1:9")).expect("write");
    let started = Instant::now();
    let out = bin()
        .args(["run", "--skip-preflight", "--profile"])
        .arg(&profile)
        .env("IDCS_TOKEN", "t")
        .output()
        .expect("run");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(stdout.contains("0 failed"), "{stdout}");
    assert!(!stdout.contains("shrink"), "{stdout}");
    assert!(
        stderr.contains("error: the run stopped: 3 requests in a row never reached the tenant"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

// Test case: `run --base-url URL` with no profile and no user flags says which flags
// (or profile keys) give the test user: exit 2, one line.
#[test]
fn a_base_url_without_a_user_names_the_flags() {
    let out = bin()
        .args(["run", "--base-url", "http://127.0.0.1:9"])
        .env("IDCS_TOKEN", "t")
        .output()
        .expect("run");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "error: no test user: give --user-guid GUID and --user-name NAME, or guid and name under [user] in a profile (--profile FILE; docs/profile.md)\n"
    );
}

// Test case: --user-guid and --user-name reach the run (each alone too): a name the
// tenant does not have makes the look-up by name fail, the right one passes.
#[test]
fn user_flags_reach_the_run() {
    let served = serve(&[]);
    let dir = temp_dir("user-flags");
    let profile = dir.join("tenant.toml");
    std::fs::write(&profile, readme_tenant_profile(&served.base_url)).expect("write");
    let by_name = "users.lookup/by-name-200";
    let wrong = run_profile(
        &served,
        &profile,
        &[by_name, "--user-name", "nobody@example.com"],
        &[],
    );
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stdout));
    let right = run_profile(
        &served,
        &profile,
        &[by_name, "--user-name", "tom@example.com"],
        &[],
    );
    assert_eq!(right.status.code(), Some(0), "{}", text(&right.stdout));
    let guid = run_profile(
        &served,
        &profile,
        &[
            "users.factors/200-lists-enrolled-factors",
            "--user-guid",
            "589879c55b7340518141eab82493f0cc",
        ],
        &[],
    );
    assert_eq!(guid.status.code(), Some(0), "{}", text(&guid.stdout));
    let nobody = run_profile(
        &served,
        &profile,
        &["--user-guid", "00000000000040008000000000000000"],
        &[],
    );
    assert_eq!(
        nobody.status.code(),
        Some(2),
        "the preflight names the unknown user"
    );
    assert!(text(&nobody.stderr).contains("has no user 00000000000040008000000000000000"));
    let _ = std::fs::remove_dir_all(dir);
}
