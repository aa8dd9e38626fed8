//! Canary secrets through every output of the suite: a mock tenant whose bearer token,
//! control token, TOTP seed, bypass codes and security answer are canaries; the suite
//! run against it passing and with every fault on (so that failures print expected and
//! actual, the last exchange and a `curl` repro). No canary may appear in the console
//! report, the progress lines on standard error (the most verbose output there is), the
//! JSON report, the JUnit report, the tenant snapshots (`.snap` and `.snap.new` files,
//! and the drift diffs in every report), nor in `Debug` of the public types that hold
//! them.

use std::{path::PathBuf, process::Output, sync::Arc};

use idcs_mfa::Secret;
use idcs_mfa_conformance::{
    PropConfig, checks, embedded,
    report::{self, RunReport, Settings, Style},
    runner::{self, RunOptions},
};
use idcs_mfa_mock::{Fault, Fixture, MockConfig, MockTenant};

const TOKEN: &str = "CANARY-token-a8f3e1";
const CONTROL_TOKEN: &str = "CANARY-control-77d2";
/// Base32, so the mock accepts it as a TOTP seed.
const TOTP_SEED: &str = "CANARYTOTPSEEDQQCANARYTOTPSEEDQQ";
const BYPASS_PREFIX: &str = "CANARYBYPASS";
const ANSWER: &str = "Canary Answer Pinto";

fn canaries() -> Vec<String> {
    let mut all = vec![
        TOKEN.to_owned(),
        CONTROL_TOKEN.to_owned(),
        TOTP_SEED.to_owned(),
        BYPASS_PREFIX.to_owned(),
        ANSWER.to_owned(),
        // Fragments, in case of partial printing.
        "a8f3e1".to_owned(),
        "77d2".to_owned(),
        "TOTPSEED".to_owned(),
    ];
    all.push(ANSWER.to_ascii_lowercase());
    all
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.is_empty(), "{what} is empty");
    let lower = text.to_ascii_lowercase();
    for canary in canaries() {
        assert!(
            !lower.contains(&canary.to_ascii_lowercase()),
            "{what} shows the canary {canary:?}:\n{text}"
        );
    }
}

/// The embedded suite's fixture with every secret of its test user made a canary.
fn canary_fixture() -> Fixture {
    let mut fixture = Fixture::default();
    let user = fixture
        .users
        .iter_mut()
        .find(|u| u.user_guid == embedded::CONFORMANCE_USER_GUID)
        .expect("the suite's user");
    for factor in &mut user.factors {
        if factor.totp_secret.is_some() {
            factor.totp_secret = Some(Secret::new(TOTP_SEED));
        }
    }
    for question in &mut user.security_questions {
        question.answer = Secret::new(ANSWER);
    }
    user.bypass_codes = (0..12)
        .map(|n| Secret::new(format!("{BYPASS_PREFIX}{n:04}")))
        .collect();
    fixture
}

async fn canary_mock(faults: Vec<Fault>) -> (MockTenant, MockConfig) {
    let config = MockConfig {
        fixture: canary_fixture(),
        faults,
        token: Some(Secret::new(TOKEN)),
        control_token: Some(Secret::new(CONTROL_TOKEN)),
        ..MockConfig::default()
    };
    (
        MockTenant::start_with(config.clone()).await.unwrap(),
        config,
    )
}

// Test case: the suite run in-process (passing, then with every fault on): `Debug` of
// the mock's config, fixture and handle, of the target, of every report, and the
// console, JSON and JUnit reports show no canary; the faulty run did fail checks, so
// the failure output (exchanges, curl repros) was rendered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_in_reports_or_debug() {
    // Tenant snapshots: the passing run writes them, the faulty run drifts from them
    // (pending files and diffs in every report).
    let snapshots = scratch("snapshots");
    for faults in [Vec::new(), Fault::ALL.to_vec()] {
        let (handle, config) = canary_mock(faults.clone()).await;
        let fixture = canary_fixture();
        let props = PropConfig {
            cases: 8,
            seed: 3,
            strict: true,
            ..PropConfig::default()
        };
        let target = embedded::embedded_target(
            &handle,
            &fixture,
            embedded::CONFORMANCE_USER_GUID,
            embedded::local_safety(config.max_attempts),
        )
        .await
        .expect("target")
        .props(props)
        .build();
        assert_clean("MockConfig", &format!("{config:?} {config:#?}"));
        assert_clean("Fixture", &format!("{fixture:?}"));
        assert_clean("MockTenant", &format!("{handle:?}"));

        let options = RunOptions {
            strict: true,
            ..RunOptions::default()
        };
        let all = checks::all();
        let selected = runner::select(&all, &options);
        let mut lines = String::new();
        let reports = runner::run(Arc::new(target), &selected, &options, |_, _, check| {
            lines.push_str(&report::check_line(check, Style { color: false }));
            lines.push('\n');
        })
        .await
        .reports;
        let settings = Settings::of(props, all.len() - selected.len());
        let mut run = RunReport::new(handle.base_url().to_owned(), settings, reports, 0);
        let what = format!("{} faults", faults.len());
        assert_eq!(run.passed(), faults.is_empty(), "{what}");
        run.compare_snapshots(&snapshots, false)
            .expect("snapshots written");
        let summary = run.snapshots.clone().expect("a snapshot summary");
        if faults.is_empty() {
            assert!(!summary.written.is_empty(), "{summary:?}");
        } else {
            assert!(!summary.drifted.is_empty(), "{summary:?}");
        }
        for entry in std::fs::read_dir(&snapshots).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_clean(&format!("{what}: snapshot {}", path.display()), &text);
        }
        for check in &run.checks {
            assert_clean(
                &format!("{what}: CheckReport {}", check.id),
                &format!("{check:?}"),
            );
            for exchange in &check.exchanges {
                assert_clean(
                    &format!("{what}: curl of {}", check.id),
                    &exchange.to_curl(),
                );
            }
        }
        assert_clean(&format!("{what}: progress"), &lines);
        assert_clean(&format!("{what}: RunReport"), &format!("{run:?}"));
        let console = report::console(&run, Style { color: false });
        if !faults.is_empty() {
            assert!(
                console.contains("curl "),
                "no repro in the failures:\n{console}"
            );
        }
        assert_clean(&format!("{what}: console"), &console);
        assert_clean(&format!("{what}: JSON"), &report::json(&run));
        assert_clean(&format!("{what}: JUnit"), &report::junit(&run));
        handle.shutdown().await.unwrap();
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idcs-mfa-canary-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with a profile naming the canary environment variables.
async fn run_binary(handle: &MockTenant, dir: &std::path::Path, extra: &[&str]) -> Output {
    let user = idcs_mfa_mock::fixture::conformance_user();
    let profile = format!(
        r#"base_url = "{base}"
[auth]
token_env = "IDCS_TOKEN"
[user]
guid = "{guid}"
name = "{name}"
[fixtures]
totp_factor_id = "{totp}"
totp_secret_env = "IDCS_TOTP_SECRET"
bypass_codes_env = "IDCS_BYPASS_CODES"
security_answers_env = "IDCS_ANSWERS"
[mock_control]
token_env = "MOCK_CONTROL_TOKEN"
[safety]
rate_limit = 0.0
max_attempts = 5
"#,
        base = handle.base_url(),
        guid = user.user_guid,
        name = user.user_name,
        totp = user
            .factors
            .iter()
            .find(|f| f.totp_secret.is_some())
            .unwrap()
            .factor_id,
    );
    let path = dir.join("canary.toml");
    std::fs::write(&path, profile).unwrap();
    let codes: Vec<String> = (0..12).map(|n| format!("{BYPASS_PREFIX}{n:04}")).collect();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_idcs-mfa-conformance"))
        .arg("run")
        .arg("--profile")
        .arg(&path)
        .args(["--strict", "--allow-lockout", "--cases", "8"])
        .args(extra)
        .env("IDCS_TOKEN", TOKEN)
        .env("MOCK_CONTROL_TOKEN", CONTROL_TOKEN)
        .env("IDCS_TOTP_SECRET", TOTP_SEED)
        .env("IDCS_BYPASS_CODES", codes.join(","))
        .env("IDCS_ANSWERS", format!(r#"{{"FirstCar": "{ANSWER}"}}"#))
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("the binary finishes")
        .expect("the binary runs")
}

// Test case: the binary with a profile whose environment holds the canaries, passing
// and with every fault on: standard output (console, then JSON), standard error
// (progress, every check) and the JUnit file show no canary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_in_the_binarys_output() {
    for faults in [Vec::new(), Fault::ALL.to_vec()] {
        let dir = scratch(&faults.len().to_string());
        let junit = dir.join("junit.xml");
        let snapshots = dir.join("snapshots");
        let what = format!("{} faults", faults.len());
        for format in ["console", "json"] {
            // A fresh tenant each time: a run spends bypass codes.
            let (handle, _) = canary_mock(faults.clone()).await;
            let output = run_binary(
                &handle,
                &dir,
                &[
                    "--format",
                    format,
                    "--junit",
                    junit.to_str().unwrap(),
                    "--snapshots",
                    snapshots.to_str().unwrap(),
                ],
            )
            .await;
            let expected = if faults.is_empty() { 0 } else { 1 };
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(expected),
                "{what}:\n{stdout}\n{stderr}"
            );
            assert_clean(&format!("{what}: {format} stdout"), &stdout);
            if format == "console" {
                assert_clean(&format!("{what}: progress on stderr"), &stderr);
            }
            let xml = std::fs::read_to_string(&junit).unwrap();
            assert_clean(&format!("{what}: JUnit"), &xml);
            let mut files = 0;
            for entry in std::fs::read_dir(&snapshots).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                assert_clean(&format!("{what}: snapshot {}", path.display()), &text);
                files += 1;
            }
            assert!(files > 30, "{what}: {files} snapshot files");
            handle.shutdown().await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
