//! Tenant snapshots (`run --snapshots DIR`) and drift, against the mock tenant.
//!
//! - The mock is pinned through this very mechanism: `tests/tenant_snapshots/` holds
//!   the accepted snapshot of every check of the strict suite; a change of the mock's
//!   answers fails here and leaves `.snap.new` files for `cargo insta review`.
//! - Normalisation: two `serve` processes (fresh keys, fresh request ids, different
//!   seeds) give byte-identical snapshot directories.
//! - A conforming change (`serve --variation ...`) drifts exactly the checks that see
//!   it and fails none; `--fail-on-drift` makes it exit 1; a fault shows the failure
//!   and the drift; nothing accepted is overwritten; accepting the pending files the
//!   way `cargo insta accept` does ends the drift.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use idcs_mfa_conformance::{
    PropConfig, checks, embedded::EmbeddedMock, run_suite, runner::RunOptions, snapshot,
};

use crate::served::{BIN, Served, serve};

/// The accepted snapshots of the mock tenant.
fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tenant_snapshots")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "idcs-mfa-tenant-snapshots-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Every file of `dir`, by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read the snapshot dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read a snapshot"))
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (name, bytes) in files(from) {
        std::fs::write(to.join(name), bytes).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// `serve` in another process, and `run --profile` against it.
// ---------------------------------------------------------------------------------------

/// `run --profile` (the README's mock profile) against `served`, strict, snapshots in
/// `snapshots`, with `args`.
fn run(served: &Served, snapshots: &Path, args: &[&str]) -> Output {
    let profile = snapshots.with_extension("toml");
    std::fs::write(
        &profile,
        format!(
            "base_url = \"{}\"\n[user]\nguid = \"c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0\"\nname = \"conformance@example.com\"\n[mock_control]\ntoken_env = \"MOCK_CONTROL_TOKEN\"\n[safety]\nrate_limit = 0\n",
            served.base_url
        ),
    )
    .expect("write the profile");
    Command::new(BIN)
        .args(["run", "--quiet", "--strict", "--cases", "8", "--profile"])
        .arg(&profile)
        .arg("--snapshots")
        .arg(snapshots)
        .args(args)
        .env("NO_COLOR", "1")
        .env("IDCS_TOKEN", &served.token)
        .env("MOCK_CONTROL_TOKEN", &served.control_token)
        .output()
        .expect("run the suite")
}

fn json_report(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn ids_where(report: &serde_json::Value, pred: impl Fn(&serde_json::Value) -> bool) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| pred(c))
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The checks whose accepted snapshot holds a 200 answer of the factor list, read from
/// the snapshot files themselves (independent of how drift is computed).
fn checks_that_see_the_factor_list(dir: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (name, bytes) in files(dir) {
        let Some(stem) = name.strip_suffix(".snap") else {
            continue;
        };
        let text = String::from_utf8(bytes).unwrap();
        let sees = text.split("## exchange ").any(|block| {
            let mut lines = block.lines().skip(1);
            let request = lines.next().unwrap_or_default();
            request.starts_with("GET /mfa/v1/users/")
                && request.ends_with("/factors")
                && block.contains("\n=> 200\n")
        });
        if sees {
            ids.insert(stem.replace("__", "/"));
        }
    }
    ids
}

// Test case: the embedded mock, run in-process with a random seed, answers exactly as
// its accepted snapshots say; every snapshot file belongs to a check. A change of the
// mock's answers fails here, with the diff, and leaves `.snap.new` files in
// tests/tenant_snapshots for `cargo insta review --workspace`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_answers_as_its_accepted_snapshots() {
    let options = RunOptions {
        strict: true,
        jobs: 4,
        ..RunOptions::default()
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let props = PropConfig {
        cases: 8,
        seed,
        ..PropConfig::default()
    };
    let mut report = run_suite(
        EmbeddedMock::default().into(),
        &options,
        props,
        |_, _, _| {},
    )
    .await
    .expect("the suite runs");
    assert!(report.passed(), "the mock failed a check");
    report
        .compare_snapshots(&committed(), false)
        .expect("the snapshots compare");
    let summary = report.snapshots.clone().unwrap();
    let diffs: Vec<String> = report
        .checks
        .iter()
        .filter_map(|c| c.drift.as_ref().map(|d| format!("{}:\n{}", c.id, d.diff)))
        .collect();
    assert!(
        summary.drifted.is_empty() && summary.written.is_empty(),
        "the mock's answers changed (review with `cargo insta review --workspace`, or \
         commit new snapshots): written {:?}\n{}",
        summary.written,
        diffs.join("\n")
    );
    // No property check is snapshotted; every other check is.
    let all = checks::all();
    let expected: BTreeSet<String> = all
        .iter()
        .filter(|c| checks::is_snapshotted(c))
        .map(|c| snapshot::file_name(c.id))
        .collect();
    let present: BTreeSet<String> = files(&committed())
        .into_keys()
        .filter(|n| n.ends_with(".snap"))
        .collect();
    assert_eq!(
        present, expected,
        "snapshot files without a check, or checks without one"
    );
    assert_eq!(summary.unchanged, expected.len());
}

// Test case: two `serve` processes (their own HMAC keys and random request ids) and two
// seeds give byte-identical snapshot directories, equal to the accepted ones.
#[test]
fn two_runs_against_serve_give_byte_identical_snapshots() {
    let (a, b) = (scratch("a"), scratch("b"));
    for (dir, seed) in [(&a, "1"), (&b, "987654321")] {
        let served = serve(&[]);
        let out = run(&served, dir, &["--seed", seed]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let (mut fa, mut fb) = (files(&a), files(&b));
    // Which readings a run shows depends on the sequences its seed draws: each run's
    // readings.toml holds what it showed, the accepted one every default; all agree.
    let accepted_readings =
        std::fs::read_to_string(committed().join("readings.toml")).expect("accepted readings");
    for f in [&mut fa, &mut fb] {
        let shown =
            String::from_utf8(f.remove("readings.toml").expect("readings.toml")).expect("text");
        for line in shown.lines().filter(|l| l.starts_with('"')) {
            assert!(
                accepted_readings.contains(line),
                "{line} is not the mock's default"
            );
        }
    }
    assert!(fa.len() > 30, "{} files", fa.len());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between the two runs");
    }
    // serve and the embedded mock answer alike.
    let mut accepted = files(&committed());
    accepted.remove("readings.toml");
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        accepted.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &fa {
        assert!(
            bytes == &accepted[name],
            "{name} differs from the accepted snapshot"
        );
    }
}

// Test case: against `serve --variation NAME` (a conforming change of the factor list)
// every check passes (exit 0), exactly the checks whose snapshot holds a factor list
// drift, each with a pending `.snap.new` beside an untouched `.snap`, in the console,
// JSON and JUnit reports; `--fail-on-drift` exits 1. Accepting the pending files as
// `cargo insta accept` does ends the drift.
#[test]
fn a_conforming_change_drifts_exactly_the_checks_that_see_it() {
    let expected = checks_that_see_the_factor_list(&committed());
    assert!(expected.len() >= 3, "{expected:?}");
    for variation in ["extra_member", "reordered_factors"] {
        let dir = scratch(variation);
        copy_dir(&committed(), &dir);
        let before = files(&dir);
        let served = serve(&["--variation", variation]);
        let junit = dir.with_extension("xml");
        let out = run(
            &served,
            &dir,
            &["--format", "json", "--junit", junit.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{variation}: exit code");
        let report = json_report(&out);
        assert_eq!(report["totals"]["failed"], 0, "{variation}: no check fails");
        let drifted: BTreeSet<String> = ids_where(&report, |c| c.get("drift").is_some())
            .into_iter()
            .collect();
        assert_eq!(drifted, expected, "{variation}: the drifted checks");
        let summary = &report["snapshots"];
        assert_eq!(summary["drifted"].as_array().unwrap().len(), expected.len());
        // The accepted files are untouched; a pending file beside each drifted one.
        let after = files(&dir);
        for (name, bytes) in &before {
            assert!(&after[name] == bytes, "{variation}: {name} was overwritten");
        }
        let pending: BTreeSet<String> = after
            .keys()
            .filter_map(|n| n.strip_suffix(".snap.new"))
            .map(|s| s.replace("__", "/"))
            .collect();
        assert_eq!(pending, expected, "{variation}: pending files");
        // Each drift names its exchange and carries a unified diff.
        for c in report["checks"].as_array().unwrap() {
            if let Some(d) = c.get("drift") {
                let title = d["exchange_title"].as_str().unwrap();
                assert!(title.contains("/factors"), "{title}");
                let diff = d["diff"].as_str().unwrap();
                assert!(diff.starts_with("--- accepted\n+++ this run\n@@"), "{diff}");
            }
        }
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert_eq!(
            xml.matches("<property name=\"drift\"").count(),
            expected.len()
        );
        assert!(
            xml.contains("failures=\"0\""),
            "drift is no JUnit failure by default"
        );

        // The console report shows it too, and --fail-on-drift fails the run.
        let out = run(&served, &dir, &["--fail-on-drift"]);
        assert_eq!(out.status.code(), Some(1), "{variation}: --fail-on-drift");
        let console = String::from_utf8_lossy(&out.stdout);
        assert!(console.contains("Drift (answers that changed"), "{console}");
        assert!(
            console.contains(&format!("{} drifted", expected.len())),
            "{console}"
        );

        // Accept: `snapshot::accept` writes what `cargo insta accept` writes, which is
        // insta's own parse of the pending file saved to the accepted path
        // (`Snapshot::from_file(pending).save(target)`, done here into a copy).
        let by_insta = scratch(&format!("{variation}-by-insta"));
        for name in files(&dir).keys().filter(|n| n.ends_with(".snap.new")) {
            let parsed = insta::Snapshot::from_file(&dir.join(name)).expect("insta reads it");
            parsed
                .save(&by_insta.join(name.trim_end_matches(".new")))
                .expect("insta saves it");
        }
        for name in files(&dir).keys().filter(|n| n.ends_with(".snap")) {
            snapshot::accept(&dir.join(name)).unwrap();
        }
        for (name, bytes) in files(&by_insta) {
            assert!(
                files(&dir)[&name] == bytes,
                "{name}: accepted differently from cargo insta accept"
            );
        }
        let out = run(&served, &dir, &["--format", "json", "--fail-on-drift"]);
        assert_eq!(out.status.code(), Some(0), "{variation}: after accepting");
        let report = json_report(&out);
        assert!(ids_where(&report, |c| c.get("drift").is_some()).is_empty());
        assert!(!files(&dir).keys().any(|n| n.ends_with(".new")));
        assert_ne!(
            files(&dir),
            before,
            "{variation}: accepted snapshots changed"
        );
    }
}

// Test case: a fault that breaks a documented statement shows the failure and, on the
// same check, the drift (exit 1 without --fail-on-drift).
#[test]
fn a_fault_shows_the_failure_and_the_drift() {
    let dir = scratch("fault");
    copy_dir(&committed(), &dir);
    let served = serve(&["--fault", "wrong_otp_400"]);
    let out = run(&served, &dir, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    let failed = ids_where(&report, |c| c["outcome"] == "fail");
    assert!(
        failed.contains(&"requests.patch/wrong-otp-401-auth-1105".to_owned()),
        "{failed:?}"
    );
    // The property and sequence checks draw their requests from the run's seed: they
    // are not snapshotted, so they cannot drift.
    for id in failed
        .iter()
        .filter(|id| !id.starts_with("props/") && !id.starts_with("sequences/"))
    {
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap();
        let diff = check["drift"]["diff"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} did not drift"));
        assert!(
            diff.contains("-=> 401") && diff.contains("+=> 400"),
            "{id}:\n{diff}"
        );
    }
}

// Test case: a snapshot directory that cannot be used is an error of the run (exit 2,
// one line), before any request.
#[test]
fn an_unusable_snapshot_dir_is_a_usage_error() {
    let dir = scratch("file");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--quiet", "--snapshots"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("it is not a directory"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

// Test case: every accepted snapshot is read by insta's own parser with the text the
// runner compares, and saving it again (what `cargo insta accept` does) changes no
// byte: the files are in insta's format exactly, headers quoted as insta quotes them.
#[test]
fn accepted_snapshots_are_insta_files_byte_for_byte() {
    let out = scratch("insta-format");
    for (name, bytes) in files(&committed()) {
        if !name.ends_with(".snap") {
            continue;
        }
        let path = committed().join(&name);
        let parsed = insta::Snapshot::from_file(&path).expect("insta reads it");
        let text = String::from_utf8(bytes.clone()).unwrap();
        let insta_text = parsed
            .contents()
            .as_text()
            .expect("a text snapshot")
            .to_string();
        assert_eq!(
            insta_text,
            snapshot::contents(&text),
            "{name}: the text insta reads"
        );
        parsed.save(&out.join(&name)).expect("insta saves it");
        assert!(
            std::fs::read(out.join(&name)).unwrap() == bytes,
            "{name}: insta writes it differently"
        );
    }
}

/// Sets what differs between runs of the same tenant in a JSON report (wall times,
/// address, seed) to fixed values, so that a diff of two reports can be pinned.
fn steady(report: &mut serde_json::Value, millis: u64) {
    report["target"] = "http://127.0.0.1:8700".into();
    report["settings"]["seed"] = 7.into();
    report["millis"] = (millis * 100).into();
    for c in report["checks"].as_array_mut().unwrap() {
        c["millis"] = millis.into();
    }
    if let Some(s) = report.get_mut("snapshots") {
        s["dir"] = "snapshots".into();
        for c in report["checks"].as_array_mut().unwrap() {
            if let Some(d) = c.get_mut("drift") {
                d["snapshot"] = "snapshots/x.snap".into();
                d["pending"] = "snapshots/x.snap.new".into();
            }
        }
    }
}

// Test case: `diff OLD.json NEW.json` between a clean run and a run against a tenant
// with an extra member, two broken statements (wrong_otp_400, unknown_request_500), a
// slower check and two
// 429s (the mock answers none unless asked, so they are written into the report): the
// terminal and JSON outputs are pinned, and it exits 1 (worse); a report against
// itself is "No change." and exit 0; a file that is no report is exit 2.
#[test]
fn diff_of_two_reports_is_pinned() {
    let dir = scratch("diff");
    let snaps = dir.join("snapshots");
    let clean = serve(&[]);
    let mut old = json_report(&run(&clean, &snaps, &["--format", "json", "--seed", "7"]));
    let changed = serve(&[
        "--variation",
        "extra_member",
        "--fault",
        "wrong_otp_400",
        "--fault",
        "unknown_request_500",
    ]);
    let mut new = json_report(&run(&changed, &snaps, &["--format", "json", "--seed", "7"]));
    steady(&mut old, 10);
    steady(&mut new, 10);
    new["checks"][0]["millis"] = 1_500.into();
    new["status_counts"]["429"] = 2.into();
    let (old_path, new_path) = (dir.join("old.json"), dir.join("new.json"));
    std::fs::write(&old_path, old.to_string()).unwrap();
    std::fs::write(&new_path, new.to_string()).unwrap();

    let diff = |args: &[&str]| {
        Command::new(BIN)
            .arg("diff")
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let (o, n) = (old_path.to_str().unwrap(), new_path.to_str().unwrap());
    let console = diff(&[o, n]);
    assert_eq!(console.status.code(), Some(1));
    insta::assert_snapshot!("diff_console", String::from_utf8_lossy(&console.stdout));
    let json = diff(&[o, n, "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    insta::assert_json_snapshot!("diff_json", value);

    let same = diff(&[o, o]);
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&same.stdout),
        "No change.\nNothing got worse.\n"
    );
    let profile = snaps.with_extension("toml");
    let bad = diff(&[o, profile.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("is not JSON"), "{stderr}");
}

/// A default run (`run --format json --seed SEED`) against the embedded mock with
/// `faults`, as JSON, with every wall time set to the same value (a loaded machine
/// makes them noise; what is compared here is what the runs observed).
async fn default_report(seed: u64, faults: Vec<idcs_mfa_mock::Fault>) -> serde_json::Value {
    let options = RunOptions::default();
    let props = PropConfig {
        seed,
        ..PropConfig::default()
    };
    let report = run_suite(
        EmbeddedMock {
            faults,
            ..EmbeddedMock::default()
        }
        .into(),
        &options,
        props,
        |_, _, _| {},
    )
    .await
    .expect("the suite runs");
    let mut value: serde_json::Value =
        serde_json::from_str(&idcs_mfa_conformance::report::json(&report)).unwrap();
    value["millis"] = 1_000.into();
    for c in value["checks"].as_array_mut().unwrap() {
        c["millis"] = 10.into();
    }
    value
}

/// (operation, status) pairs.
type Statuses = BTreeSet<(String, u64)>;

/// The (operation, status) pairs a JSON report observed, and those only drawn checks
/// observed.
fn observed(report: &serde_json::Value) -> (Statuses, Statuses) {
    let mut all = BTreeSet::new();
    let mut drawn = BTreeSet::new();
    for row in report["coverage"].as_array().unwrap() {
        let op = row["operation"].as_str().unwrap().to_owned();
        for pair in row["statuses"].as_array().unwrap() {
            if pair[1].as_bool() == Some(true) {
                all.insert((op.clone(), pair[0].as_u64().unwrap()));
            }
        }
        for s in row["drawn_only"].as_array().into_iter().flatten() {
            drawn.insert((op.clone(), s.as_u64().unwrap()));
        }
    }
    (all, drawn)
}

// Test case: two clean default runs of the mock with different seeds, chosen so that a
// status only the drawn checks saw in the first is missing from the second (without
// --strict, `initiateVerification 404` is seen only by drawn sequences, and about 1
// seed in 12 draws none: the false alarm of a nightly diff): `diff` exits 0 and lists
// it as not drawn this time. A real regression against a clean run of another
// seed (unknown_request_500: the named checks' 404s of an unknown request are gone)
// still exits 1, the lost statuses listed as no longer observed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_clean_runs_with_other_seeds_is_not_worse() {
    let dir = scratch("seeds");
    let old = default_report(1, Vec::new()).await;
    let (_, drawn_old) = observed(&old);
    let mut pair = None;
    // From 17 on (the first such seed today is 22), to keep the search short.
    for seed in 17..=96 {
        let new = default_report(seed, Vec::new()).await;
        let (all_new, _) = observed(&new);
        let gone: Vec<_> = drawn_old.difference(&all_new).cloned().collect();
        if !gone.is_empty() {
            pair = Some((seed, new, gone));
            break;
        }
    }
    let (seed, new, gone) = pair.expect(
        "no seed from 17 to 96 missed a status only seed 1's drawn checks saw: this test would prove nothing; search other seeds",
    );
    let (o, n) = (dir.join("old.json"), dir.join("new.json"));
    std::fs::write(&o, old.to_string()).unwrap();
    std::fs::write(&n, new.to_string()).unwrap();
    let out = Command::new(BIN)
        .arg("diff")
        .args([&o, &n])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "seeds 1 and {seed}:\n{stdout}");
    assert!(stdout.contains("Not drawn this time"), "{stdout}");
    for (op, status) in &gone {
        assert!(stdout.contains(&format!("  {op} {status}\n")), "{stdout}");
    }
    assert!(stdout.ends_with("Nothing got worse.\n"), "{stdout}");

    let broken = default_report(seed, vec![idcs_mfa_mock::Fault::UnknownRequest500]).await;
    std::fs::write(&n, broken.to_string()).unwrap();
    let out = Command::new(BIN)
        .arg("diff")
        .args([&o, &n, Path::new("--format"), Path::new("json")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["draws_differ"], true);
    let lost: Vec<String> = d["no_longer_observed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["operation"].as_str().unwrap(), s["status"]))
        .collect();
    assert!(
        lost.contains(&"getVerificationStatus 404".to_owned()),
        "{lost:?}"
    );
}

// Test case: a run that is an error of the run (exit 2: here the preflight finds no
// such user) writes no snapshot.
#[test]
fn a_run_that_ends_in_error_writes_no_snapshot() {
    let dir = scratch("aborted");
    let served = serve(&[]);
    let profile = dir.with_extension("toml");
    std::fs::write(
        &profile,
        format!(
            "base_url = \"{}\"\n[user]\nguid = \"0000000000004000800000000000dead\"\n[safety]\nrate_limit = 0\n",
            served.base_url
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["run", "--quiet", "--profile"])
        .arg(&profile)
        .arg("--snapshots")
        .arg(&dir)
        .env("IDCS_TOKEN", &served.token)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(files(&dir).is_empty(), "{:?}", files(&dir).keys());
}

// Test case: a run that was aborted (the tenant stopped being reachable: exit 2) is not
// compared and writes nothing; the same report not aborted writes every snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_run_is_not_compared() {
    let options = RunOptions {
        jobs: 4,
        ..RunOptions::default()
    };
    let props = PropConfig {
        cases: 4,
        seed: 1,
        ..PropConfig::default()
    };
    let spec = EmbeddedMock::default().into();
    let mut report = run_suite(spec, &options, props, |_, _, _| {})
        .await
        .expect("the suite runs");
    let dir = scratch("aborted-in-process");
    report.aborted = Some("3 requests in a row never reached the tenant".into());
    report.compare_snapshots(&dir, true).unwrap();
    assert!(report.snapshots.is_none());
    assert!(files(&dir).is_empty(), "{:?}", files(&dir).keys());
    report.aborted = None;
    report.compare_snapshots(&dir, true).unwrap();
    assert!(files(&dir).len() > 30, "{:?}", files(&dir).keys());
}

// Test case: a tenant that answers a point the documents leave open otherwise than the
// accepted `readings.toml` says has drifted, not failed: the run exits 0, the report
// lists the changed reading, the accepted file is untouched and the merged set is
// written beside it; `--fail-on-drift` exits 1.
#[test]
fn a_changed_reading_is_drift_not_a_failure() {
    let dir = scratch("reading");
    copy_dir(&committed(), &dir);
    let accepted = std::fs::read(dir.join("readings.toml")).expect("the accepted readings");
    let served = serve(&["--reading", "order/unknown-request-or-state=state-first"]);
    let out = run(&served, &dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Readings that changed since the accepted readings.toml")
            && stdout.contains("order/unknown-request-or-state: not-found-first -> state-first"),
        "{stdout}"
    );
    assert!(stdout.contains("1 readings changed"), "{stdout}");
    assert_eq!(
        std::fs::read(dir.join("readings.toml")).unwrap(),
        accepted,
        "the accepted readings were overwritten"
    );
    let pending = std::fs::read_to_string(dir.join("readings.toml.new")).expect("the merged set");
    assert!(
        pending.contains("\"order/unknown-request-or-state\" = \"state-first\""),
        "{pending}"
    );
    let out = run(&served, &dir, &["--fail-on-drift"]);
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}
