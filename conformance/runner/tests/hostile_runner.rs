//! The runner against hostile tenants (`idcs_mfa_test_support::hostile`): for
//! every broken, slow or malicious answer the suite reports failing checks, passes none
//! it should not, finishes within its deadline, holds a 20 MB answer in bounded memory,
//! never sends the token to another host, and the binary exits 1 without a panic.

use idcs_mfa_test_support::{alloc, hostile};

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use hostile::{Hostile, HostileServer};
use idcs_mfa_conformance::{
    PropConfig, checks,
    profile::{Overrides, Profile, UserSection},
    report::{RunReport, Settings},
    runner::{self, Outcome, RunOptions},
};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

const GUID: &str = "cc327268ff4d4e4a9b3e9f676215cfc7";
const TOKEN: &str = "hostile-runner-token-51b0";
/// Per request.
const TIMEOUT: Duration = Duration::from_secs(1);
/// The whole run.
const DEADLINE: Duration = Duration::from_secs(2);
/// What a run may take past its deadline: one request's timeout, and a loaded machine.
const SLACK: Duration = Duration::from_secs(3);

/// Runs the whole suite (strict) against `base_url` with short timeouts and no rate
/// limit; returns the report and the wall time.
async fn run_suite_against(base_url: &str) -> (RunReport, Duration) {
    let started = Instant::now();
    let profile = Profile {
        user: Some(UserSection {
            guid: GUID.into(),
            name: Some("tom@example.com".into()),
        }),
        ..Profile::default()
    };
    let overrides = Overrides {
        base_url: Some(base_url.to_owned()),
        rate_limit: Some(0.0),
        timeout: Some(TIMEOUT),
        ..Overrides::default()
    };
    let env = |name: &str| (name == "IDCS_TOKEN").then(|| TOKEN.to_owned());
    let props = PropConfig {
        cases: 4,
        seed: 7,
        strict: true,
        ..PropConfig::default()
    };
    let target = profile
        .resolve(&overrides, &env)
        .await
        .expect("a target needs no request to build")
        .props(props)
        .build();
    let options = RunOptions {
        strict: true,
        deadline: DEADLINE,
        ..RunOptions::default()
    };
    let all = checks::all();
    let selected = runner::select(&all, &options);
    let reports = runner::run(Arc::new(target), &selected, &options, |_, _, _| {})
        .await
        .reports;
    let settings = Settings::of(props, all.len() - selected.len());
    let millis = started.elapsed().as_millis() as u64;
    (
        RunReport::new(base_url.to_owned(), settings, reports, millis),
        started.elapsed(),
    )
}

/// The properties every run against a hostile tenant has.
fn assert_reported(how: &Hostile, report: &RunReport, took: Duration) {
    let what = format!("{how:?}");
    assert!(!report.passed(), "{what}: the run passed");
    assert!(report.totals.failed > 0, "{what}: no check failed");
    assert_eq!(
        report.totals.passed + report.totals.failed + report.totals.skipped,
        report.checks.len(),
        "{what}"
    );
    for check in &report.checks {
        if let Outcome::Fail { expected, actual } = &check.outcome {
            assert!(
                !expected.is_empty() && !actual.is_empty(),
                "{what}: {}",
                check.id
            );
        }
    }
    assert!(
        took < DEADLINE + SLACK,
        "{what}: the run took {took:?}, past its deadline of {DEADLINE:?}"
    );
}

async fn hostile_run(how: Hostile) -> (RunReport, HostileServer) {
    let server = HostileServer::start(how.clone()).await;
    let (report, took) = run_suite_against(&server.base_url).await;
    assert_reported(&how, &report, took);
    (report, server)
}

// Test case: every kind of broken answer fails checks and passes none of them, also the
// two that answer a parseable factors body to everything: one labelling it `text/html`,
// one repeating keys (both are failures of response validation).
#[test]
fn broken_answers_fail_checks_and_pass_none() {
    let none_pass = vec![
        Hostile::Empty401,
        Hostile::Html404,
        Hostile::TruncatedJson,
        Hostile::TruncatedFraming,
        Hostile::InvalidUtf8 { status: 200 },
        Hostile::InvalidUtf8 { status: 401 },
        Hostile::DeepNesting { status: 200 },
        Hostile::DeepNesting { status: 400 },
        Hostile::ResetBeforeAnswer,
        Hostile::ResetMidBody,
        Hostile::WrongContentType,
        Hostile::DuplicateKeys { status: 200 },
    ];
    on_threads(none_pass, |how| {
        let (report, server) = block_on(hostile_run(how.clone()));
        assert_eq!(report.totals.passed, 0, "{how:?}: {:?}", passing(&report));
        assert!(server.requests() > 0, "{how:?}");
    });
}

/// Runs `job` on each input at once, one thread (and current-thread runtime) each: the
/// runner's futures are not `Send`. A panic in any job fails the caller.
fn on_threads<I: Send>(inputs: Vec<I>, job: impl Fn(I) + Sync) {
    std::thread::scope(|scope| {
        for input in inputs {
            let job = &job;
            scope.spawn(move || job(input));
        }
    });
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn passing(report: &RunReport) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Pass)
        .map(|c| c.id)
        .collect()
}

// Test case: a tenant that never answers, and one that drips a byte every 3 s: each
// request ends at the 1 s timeout, the run at its 3 s deadline, with the checks not
// reached reported as skipped for that reason.
#[test]
fn slow_tenants_end_at_the_deadline() {
    on_threads(vec![Hostile::Silent, Hostile::Drip], |how| {
        let (report, _) = block_on(hostile_run(how.clone()));
        assert_eq!(report.totals.passed, 0, "{how:?}");
        assert!(
            report.checks.iter().any(|c| matches!(&c.outcome,
                Outcome::Skip { reason } if reason.contains("deadline"))),
            "{how:?}: no check was cut off by the deadline"
        );
    });
}

// Test case: a tenant that redirects everything to another host name: every check
// fails, and the other host receives no request, so no token, in the whole run (the
// generated operations, the raw requests and the property checks alike).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_never_take_the_token_elsewhere() {
    let elsewhere = HostileServer::start(Hostile::Empty401).await;
    for status in [302, 307] {
        let how = Hostile::Redirect {
            status,
            to: elsewhere.other_host_url.clone(),
        };
        let (report, server) = hostile_run(how).await;
        assert_eq!(report.totals.passed, 0);
        assert!(server.requests_with_authorization() > 10);
    }
    assert_eq!(elsewhere.requests(), 0);
}

// Test case: a tenant answering 20 MB to every request: the run holds a bounded amount
// of memory (no answer is read past the 1 MiB limit, the raw requests included), and
// reports the failures.
#[test]
fn huge_answers_are_held_in_bounded_memory() {
    for declared in [false, true] {
        let how = Hostile::Huge { declared };
        let ((report, took), peak) = alloc::peak_during(async {
            let server = HostileServer::start(how.clone()).await;
            run_suite_against(&server.base_url).await
        });
        assert_reported(&how, &report, took);
        assert!(
            peak < 16 * 1024 * 1024,
            "{how:?}: the run held {peak} bytes at its peak"
        );
    }
}

/// Runs the binary against `base_url`; returns exit code, stdout, stderr and the time.
async fn run_binary(base_url: &str, extra: &[&str]) -> (Option<i32>, String, String, Duration) {
    let started = Instant::now();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_idcs-mfa-conformance"));
    command
        .args(["run", "--base-url", base_url, "--user-guid", GUID])
        .args(["--timeout", "1", "--deadline", "2", "--rate-limit", "0"])
        .args(["--cases", "4", "--strict"])
        .args(extra)
        .env("IDCS_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let output = tokio::time::timeout(DEADLINE + SLACK + Duration::from_secs(5), command.output())
        .await
        .expect("the binary finishes")
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

// Test case: the binary against a silent, a resetting and an HTML tenant exits 1 (a
// check failed), not 2 and never 101 (a panic), within the deadline; the console and
// JSON reports name the failing checks.
#[test]
fn the_binary_exits_1_without_a_panic() {
    // An HTML 404 to the preflight's first request is a set-up problem (a wrong base
    // URL; see the next test): here the preflight is skipped to reach the checks.
    let runs = vec![
        (Hostile::Silent, "console", false),
        (Hostile::ResetBeforeAnswer, "json", false),
        (Hostile::Html404, "console", true),
        (Hostile::DeepNesting { status: 200 }, "json", false),
    ];
    on_threads(runs, |(how, format, skip_preflight)| {
        block_on(async {
            let server = HostileServer::start(how.clone()).await;
            let mut args = vec!["--format", format];
            if skip_preflight {
                args.push("--skip-preflight");
            }
            let (code, stdout, stderr, took) = run_binary(&server.base_url, &args).await;
            assert_eq!(code, Some(1), "{how:?}\n{stdout}\n{stderr}");
            assert!(!stderr.contains("panicked"), "{how:?}: {stderr}");
            assert!(took < DEADLINE + SLACK + Duration::from_secs(2), "{took:?}");
            if format == "json" {
                let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
                assert!(json["totals"]["failed"].as_u64() > Some(0), "{json}");
            } else {
                assert!(stdout.contains("FAIL"), "{how:?}: {stdout}");
            }
        })
    });
}

// Test case: a tenant whose answer to the preflight is an HTML 404 (a wrong base URL,
// most often) stops the run with exit 2 and one line that says so.
#[test]
fn an_html_404_to_the_preflight_is_a_setup_problem() {
    block_on(async {
        let server = HostileServer::start(Hostile::Html404).await;
        let (code, stdout, stderr, _) = run_binary(&server.base_url, &[]).await;
        assert_eq!(code, Some(2), "{stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("is the base URL the tenant's own"),
            "{stderr}"
        );
    })
}

// Test case: certificate checks stay on unless `--insecure` is given, which is
// warned about loudly; without it there is no warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_is_explicit_and_warned() {
    let server = HostileServer::start(Hostile::Empty401).await;
    let (_, _, stderr, _) = run_binary(&server.base_url, &["-q"]).await;
    assert!(!stderr.contains("WARNING"), "{stderr}");
    let (_, _, stderr, _) = run_binary(&server.base_url, &["-q", "--insecure"]).await;
    assert!(
        stderr.contains("WARNING: --insecure accepts any TLS certificate"),
        "{stderr}"
    );
}
