//! The profile keys of patience reach behaviour: `fixtures.push_poll_secs`,
//! `fixtures.push_decision_secs`, `fixtures.otp_retry_secs` and `safety.backoff_secs`,
//! each against a mock tenant whose habit needs it (and each shown to matter: the
//! same run with too little patience does not pass).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use idcs_mfa::{Initiate, Method, UserRef};
use idcs_mfa_conformance::{
    Ctx, Target, checks, embedded,
    profile::{Overrides, Profile},
    runner::{self, Outcome, RunOptions},
};
use idcs_mfa_mock::{Behaviour, Fixture, MockConfig, MockTenant, Timing};

async fn mock_with(behaviours: Vec<Behaviour>, timing: Timing) -> MockTenant {
    MockTenant::start_with(MockConfig {
        fixture: Fixture::default(),
        behaviours,
        timing,
        ..MockConfig::default()
    })
    .await
    .expect("the mock starts")
}

/// A target of `handle` through a profile file's text (plus `[mock_control]`).
async fn target(handle: &MockTenant, extra_fixtures: &str, extra_safety: &str) -> Target {
    let text = format!(
        r#"
base_url = "{}"
[user]
guid = "{}"
name = "conformance@example.com"
[fixtures]
{extra_fixtures}
[mock_control]
token_env = "MOCK_CONTROL_TOKEN"
[safety]
rate_limit = 0
{extra_safety}
"#,
        handle.base_url(),
        embedded::CONFORMANCE_USER_GUID
    );
    let profile: Profile = toml::from_str(&text).expect("a valid profile");
    let vars: BTreeMap<&str, String> = BTreeMap::from([
        ("IDCS_TOKEN", handle.token().expose().to_owned()),
        (
            "MOCK_CONTROL_TOKEN",
            handle.control_token().expose().to_owned(),
        ),
    ]);
    profile
        .resolve(&Overrides::default(), &move |v: &str| vars.get(v).cloned())
        .await
        .expect("the profile resolves")
        .build()
}

async fn run(target: Target, prefix: &str) -> Vec<(String, Outcome)> {
    let options = RunOptions {
        select: vec![prefix.to_owned()],
        ..RunOptions::default()
    };
    let all = checks::all();
    let selected = runner::select(&all, &options);
    assert!(!selected.is_empty());
    runner::run(Arc::new(target), &selected, &options, |_, _, _| {})
        .await
        .reports
        .into_iter()
        .map(|r| (r.id.to_owned(), r.outcome))
        .collect()
}

// Test case: with PUSH decisions 400 ms late, the decision checks pass when the profile
// allows 3 s for a decision (polling every 100 ms), and fail on the `pending` answer
// when it allows 0.1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_decision_keys_reach_the_push_checks() {
    let timing = Timing {
        push_delay: Duration::from_millis(400),
        ..Timing::default()
    };
    let handle = mock_with(vec![Behaviour::DelayedPush], timing).await;
    let patient = target(
        &handle,
        "push_poll_secs = 0.1\npush_decision_secs = 3.0",
        "",
    )
    .await;
    assert_eq!(
        patient.settings().patience.push_poll,
        Duration::from_millis(100)
    );
    assert_eq!(
        patient.settings().patience.push_decision,
        Duration::from_secs(3)
    );
    for (id, outcome) in run(patient, "requests.get/push-").await {
        assert_eq!(outcome, Outcome::Pass, "{id}");
    }
    let hasty = target(
        &handle,
        "push_poll_secs = 0.05\npush_decision_secs = 0.1",
        "",
    )
    .await;
    let outcomes = run(hasty, "requests.get/push-approved").await;
    assert!(
        matches!(&outcomes[0].1, Outcome::Fail { actual, .. } if actual.contains("pending")),
        "{outcomes:?}"
    );
}

// Test case: otp_retry_secs applies to an otp_command that ran and printed nothing yet:
// one that exits 0 and prints nothing until its first call is two clock seconds old is
// asked again within otp_retry_secs = 4 and its OTP is used; with otp_retry_secs = 0.3
// the check is skipped as "printed nothing". A command that fails (exit 1, or 127 for a
// script not written yet) is run once and the check skipped with its failure, however
// long otp_retry_secs is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_retry_key_reaches_the_otp_command() {
    let handle = mock_with(Vec::new(), Timing::default()).await;
    let dir = std::env::temp_dir().join(format!("idcs-mfa-patience-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Prints nothing (exit 0) until its first call is two clock seconds old.
    let command = |marker: &str| {
        let m = dir.join(marker);
        format!(
            "otp_command = \"[ -f {m} ] || date +%s > {m}; [ $(( $(date +%s) - $(cat {m}) )) -ge 2 ] && echo 123456 || true\"",
            m = m.display()
        )
    };
    let patient = Arc::new(
        target(
            &handle,
            &format!("{}\notp_retry_secs = 4", command("a")),
            "",
        )
        .await,
    );
    assert_eq!(
        patient.settings().patience.otp_retry,
        Duration::from_secs(4)
    );
    let v = patient
        .tenant()
        .client
        .initiate(&Initiate::factor(
            UserRef::Guid(embedded::CONFORMANCE_USER_GUID.into()),
            "c0f0b2b2b2b24b2b8b2bb2b2b2b2b2b2",
            Method::Sms,
        ))
        .await
        .expect("initiate");
    let cx = Ctx::new(patient.clone());
    let otp = cx
        .delivered_otp(&v)
        .await
        .expect("the command answers in time");
    assert_eq!(otp.expose(), "123456");

    let hasty = Arc::new(
        target(
            &handle,
            &format!("{}\notp_retry_secs = 0.3", command("b")),
            "",
        )
        .await,
    );
    let cx = Ctx::new(hasty);
    match cx.delivered_otp(&v).await {
        Err(idcs_mfa_conformance::Fail::Skip(reason)) => {
            assert!(reason.contains("printed nothing"), "{reason}")
        }
        other => panic!("expected a skip, got {other:?}"),
    }

    // Failing commands are run once: each call appends a line to its counter.
    for (name, tail, says) in [
        ("exit-1", "exit 1", "exit status: 1"),
        ("exit-127", "./no-such-read-otp-9.sh", "exit status: 127"),
    ] {
        let counter = dir.join(name);
        let failing = Arc::new(
            target(
                &handle,
                &format!(
                    "otp_command = \"echo run >> {}; {tail}\"\notp_retry_secs = 4",
                    counter.display()
                ),
                "",
            )
            .await,
        );
        let cx = Ctx::new(failing);
        match cx.delivered_otp(&v).await {
            Err(idcs_mfa_conformance::Fail::Skip(reason)) => {
                assert!(reason.contains(says), "{name}: {reason}")
            }
            other => panic!("{name}: expected a skip, got {other:?}"),
        }
        let runs = std::fs::read_to_string(&counter).expect("the command ran");
        assert_eq!(runs.lines().count(), 1, "{name}: run once, not re-asked");
    }
    let _ = std::fs::remove_dir_all(dir);
}

// Test case: backoff_secs sets the first wait after a 429 without Retry-After: 0.4 s
// waits between 0.2 and 0.4 s per 429; 0.01 s waits at most 10 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_key_reaches_the_429_policy() {
    let timing = Timing {
        rate_limit_every: 2,
        ..Timing::default()
    };
    for (backoff, low, high) in [(0.4, 200, 400), (0.01, 0, 10)] {
        let handle = mock_with(vec![Behaviour::RateLimitBare], timing).await;
        let t = target(&handle, "", &format!("backoff_secs = {backoff}")).await;
        let before = t.findings().observations.summary();
        for _ in 0..2 {
            t.tenant()
                .client
                .get_user_factors(embedded::CONFORMANCE_USER_GUID)
                .await
                .expect("answered after the 429");
        }
        let after = t.findings().observations.summary();
        let limited = after.rate_limited - before.rate_limited;
        let waited = after.waited_ms - before.waited_ms;
        assert!(limited >= 1, "{after:?}");
        assert!(
            waited >= low * limited && waited <= high * limited,
            "backoff_secs = {backoff}: {limited} 429s, waited {waited} ms"
        );
    }
}

// Test case: a key out of range is a clear profile error.
#[tokio::test]
async fn patience_keys_out_of_range_are_refused() {
    let handle = mock_with(Vec::new(), Timing::default()).await;
    for (fixtures, safety) in [
        ("push_decision_secs = 0", ""),
        ("push_poll_secs = -1", ""),
        ("otp_retry_secs = nan", ""),
        ("", "backoff_secs = 100000"),
    ] {
        let text = format!(
            "base_url = \"{}\"\n[user]\nguid = \"g\"\n[fixtures]\n{fixtures}\n[safety]\n{safety}\n",
            handle.base_url()
        );
        let profile: Profile = toml::from_str(&text).expect("parses");
        let err = profile
            .resolve(&Overrides::default(), &|_| Some("t".into()))
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("is not a number of seconds"), "{err}");
    }
}
