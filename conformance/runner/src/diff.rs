//! `diff OLD.json NEW.json`: what changed between two runs' JSON reports.
//!
//! Reads the reports as JSON values (so that a report of an older or newer version,
//! with members this one does not know, still compares) and says:
//!
//! - checks whose outcome changed (pass, fail, skip; added or removed checks), and
//!   checks that drifted from their snapshot in the new run;
//! - documented statuses newly observed, or no longer observed, in the coverage
//!   matrix, and undocumented statuses that appeared;
//! - undeclared members that appeared in answers, or are gone;
//! - latency that moved beyond noise: a check (or the whole run) whose wall time
//!   changed by more than the noise threshold *and* by more than half;
//! - the number of 429 answers.
//!
//! **Worse** (exit 1): a check that passed no longer passes (or a check that was
//! skipped now fails), a documented status no longer observed, an undocumented status
//! that appeared, a latency moved up beyond noise, more 429s. New drift, new
//! undeclared members and new observations are reported but are not worse: they
//! conform.
//!
//! **Drawn observations.** The property and sequence checks draw their inputs from the
//! run's seed ([`crate::checks::is_drawn`]): a status only they saw (the report's
//! coverage lists it under `drawn_only`) may not be drawn by another seed. Such a
//! status, the wall time of those checks and the whole run's are compared only between two runs that
//! drew the same (same seed, cases, sequences, steps and strictness); between two
//! others, a drawn-only status the new run did not see is listed as "not drawn this
//! time", never as worse. A status a named check saw is compared whatever the seeds.
//! Readings (what a run read of the tenant beyond statuses, once reports carry them)
//! are to be compared the same way: through [`Seen`] and [`Seen::gone`].

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

use serde::Serialize;
use serde_json::Value;

/// Latency changes smaller than this (milliseconds) are noise, whatever their ratio.
pub const DEFAULT_NOISE_MS: u64 = 250;

/// A check whose outcome changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutcomeChange {
    /// The check's id.
    pub id: String,
    /// Its outcome in the old report (`absent` when it was not there).
    pub old: String,
    /// Its outcome in the new report (`absent` when it is not there).
    pub new: String,
    /// Whether this is worse.
    pub worse: bool,
}

/// A status of an operation in the coverage matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// The operation (`operationId`).
    pub operation: String,
    /// The status.
    pub status: u64,
}

/// A wall time that moved beyond noise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatencyChange {
    /// A check's id, or `(whole run)`.
    pub what: String,
    /// Old milliseconds.
    pub old_ms: u64,
    /// New milliseconds.
    pub new_ms: u64,
}

/// A reading the tenant showed differently in the two runs (docs/readings.md): drift,
/// never worse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadingChange {
    /// The reading's id.
    pub reading: String,
    /// The alternative the old run showed, if it showed one.
    pub old: Option<String>,
    /// The alternative the new run showed, if it showed one.
    pub new: Option<String>,
}

/// What changed between two reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReportDiff {
    /// Checks whose outcome changed.
    pub outcomes: Vec<OutcomeChange>,
    /// Checks that drifted from their snapshot in the new run.
    pub drifted: Vec<String>,
    /// Documented statuses observed now and not before.
    pub newly_observed: Vec<StatusChange>,
    /// Documented statuses observed before and not now.
    pub no_longer_observed: Vec<StatusChange>,
    /// Documented statuses only drawn checks saw before, not seen now, when the two
    /// runs drew differently (other seeds): not compared, not worse.
    pub not_drawn_this_time: Vec<StatusChange>,
    /// Whether the runs drew differently (seed, cases, sequences, steps or
    /// strictness): what only the drawn checks saw, their wall times and the whole
    /// run's are not compared. (Readings, once reports carry them, go beside the statuses above.)
    pub draws_differ: bool,
    /// Undocumented statuses seen now and not before.
    pub undocumented_appeared: Vec<StatusChange>,
    /// Undeclared members seen now and not before.
    pub unknown_members_appeared: Vec<String>,
    /// Undeclared members seen before and not now.
    pub unknown_members_gone: Vec<String>,
    /// Wall times that went up beyond noise.
    pub slower: Vec<LatencyChange>,
    /// Wall times that went down beyond noise.
    pub faster: Vec<LatencyChange>,
    /// 429 answers, old and new.
    pub too_many_requests: (u64, u64),
    /// Readings the two runs showed different alternatives of: the tenant changed how it
    /// reads a point the documents leave open. Drift, not worse.
    pub readings_changed: Vec<ReadingChange>,
    /// Readings shown in one run and not observed in the other (which steps a run
    /// draws decides that): not compared.
    pub readings_seen_once: Vec<ReadingChange>,
    /// Whether something got worse.
    pub worse: bool,
}

/// A report that cannot be compared.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotAReport(String);

fn outcome_map(report: &Value, which: &str) -> Result<BTreeMap<String, Value>, NotAReport> {
    let checks = report
        .get("checks")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            NotAReport(format!(
                "{which} has no \"checks\" array: is it a report of `run --format json`?"
            ))
        })?;
    Ok(checks
        .iter()
        .filter_map(|c| Some((c.get("id")?.as_str()?.to_owned(), c.clone())))
        .collect())
}

fn outcome(check: Option<&Value>) -> String {
    check
        .and_then(|c| c.get("outcome"))
        .and_then(Value::as_str)
        .unwrap_or("absent")
        .to_owned()
}

/// (operation, status) pairs.
type Statuses = BTreeSet<(String, u64)>;

/// What a run observed, and which of it only checks drawn from the seed saw.
#[derive(Debug, Default)]
pub struct Seen<T: Ord> {
    /// Everything observed.
    pub all: BTreeSet<T>,
    /// What only drawn checks observed (a subset of `all`).
    pub drawn_only: BTreeSet<T>,
}

impl<T: Ord + Clone> Seen<T> {
    /// What `self` (the old run) observed and `new` did not: those the new run should
    /// have seen, and those only drawn checks saw when the runs drew differently (not
    /// drawn this time).
    pub fn gone(&self, new: &Seen<T>, same_draw: bool) -> (Vec<T>, Vec<T>) {
        self.all
            .difference(&new.all)
            .cloned()
            .partition(|x| same_draw || !self.drawn_only.contains(x))
    }
}

/// Whether two reports drew the same inputs: the settings that drive the drawn checks
/// are equal (a report without a setting counts as equal on it).
fn same_draw(old: &Value, new: &Value) -> bool {
    let setting = |r: &Value, key: &str| r.get("settings").and_then(|s| s.get(key)).cloned();
    ["seed", "cases", "sequences", "max_steps", "strict"]
        .iter()
        .all(|key| match (setting(old, key), setting(new, key)) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
}

/// The documented statuses observed (and which of them only drawn checks saw), and the
/// undocumented ones seen.
fn coverage(report: &Value) -> (Seen<(String, u64)>, Statuses) {
    let mut observed = Seen::default();
    let mut undocumented = BTreeSet::new();
    for row in items(report, "coverage") {
        let op = row
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        for pair in items(row, "statuses") {
            if let (Some(status), Some(true)) = (
                pair.get(0).and_then(Value::as_u64),
                pair.get(1).and_then(Value::as_bool),
            ) {
                observed.all.insert((op.clone(), status));
            }
        }
        for s in items(row, "drawn_only").filter_map(Value::as_u64) {
            observed.drawn_only.insert((op.clone(), s));
        }
        for s in items(row, "undocumented").filter_map(Value::as_u64) {
            undocumented.insert((op.clone(), s));
        }
    }
    (observed, undocumented)
}

fn unknown_members(report: &Value) -> BTreeSet<String> {
    items(report, "checks")
        .flat_map(|c| items(c, "unknown_fields"))
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn too_many_requests(report: &Value) -> u64 {
    report
        .get("status_counts")
        .and_then(|c| c.get("429"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The members of the array `key` of `value`; none when there is no such array.
fn items<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Whether a move from `old` to `new` milliseconds is beyond noise.
fn beyond_noise(old: u64, new: u64, noise_ms: u64) -> bool {
    let delta = old.abs_diff(new);
    delta > noise_ms && delta * 2 > old.min(new).max(1)
}

/// Compares two reports (`run --format json`).
pub fn diff(old: &Value, new: &Value, noise_ms: u64) -> Result<ReportDiff, NotAReport> {
    let (a, b) = (outcome_map(old, "OLD")?, outcome_map(new, "NEW")?);
    let mut d = ReportDiff {
        draws_differ: !same_draw(old, new),
        ..ReportDiff::default()
    };
    let ids: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for id in ids {
        let (o, n) = (outcome(a.get(id)), outcome(b.get(id)));
        if o != n {
            let worse = matches!((o.as_str(), n.as_str()), ("pass", _) | (_, "fail"));
            d.outcomes.push(OutcomeChange {
                id: id.clone(),
                old: o,
                new: n,
                worse,
            });
        }
        if b.get(id).and_then(|c| c.get("drift")).is_some() {
            d.drifted.push(id.clone());
        }
        // A drawn check's work depends on what it drew.
        let comparable = !d.draws_differ || !crate::checks::is_drawn(id);
        if let (Some(o), Some(n)) = (
            a.get(id)
                .and_then(|c| c.get("millis"))
                .and_then(Value::as_u64),
            b.get(id)
                .and_then(|c| c.get("millis"))
                .and_then(Value::as_u64),
        ) && comparable
            && beyond_noise(o, n, noise_ms)
        {
            let change = LatencyChange {
                what: id.clone(),
                old_ms: o,
                new_ms: n,
            };
            if n > o {
                d.slower.push(change);
            } else {
                d.faster.push(change);
            }
        }
    }
    // The whole run's wall time includes the drawn checks'.
    if let (Some(o), Some(n)) = (
        old.get("millis").and_then(Value::as_u64),
        new.get("millis").and_then(Value::as_u64),
    ) && !d.draws_differ
        && beyond_noise(o, n, noise_ms)
    {
        let change = LatencyChange {
            what: "(whole run)".into(),
            old_ms: o,
            new_ms: n,
        };
        if n > o {
            d.slower.push(change);
        } else {
            d.faster.push(change);
        }
    }
    let ((obs_a, und_a), (obs_b, und_b)) = (coverage(old), coverage(new));
    let change = |(operation, status): &(String, u64)| StatusChange {
        operation: operation.clone(),
        status: *status,
    };
    d.newly_observed = obs_b.all.difference(&obs_a.all).map(change).collect();
    let (gone, not_drawn) = obs_a.gone(&obs_b, !d.draws_differ);
    d.no_longer_observed = gone.iter().map(change).collect();
    d.not_drawn_this_time = not_drawn.iter().map(change).collect();
    d.undocumented_appeared = und_b.difference(&und_a).map(change).collect();
    let (ua, ub) = (unknown_members(old), unknown_members(new));
    d.unknown_members_appeared = ub.difference(&ua).cloned().collect();
    d.unknown_members_gone = ua.difference(&ub).cloned().collect();
    d.too_many_requests = (too_many_requests(old), too_many_requests(new));
    let (ra, rb) = (readings(old), readings(new));
    for id in ra.keys().chain(rb.keys()).collect::<BTreeSet<_>>() {
        let (o, n) = (ra.get(id).cloned(), rb.get(id).cloned());
        let change = ReadingChange {
            reading: id.clone(),
            old: o.clone(),
            new: n.clone(),
        };
        match (o, n) {
            (Some(o), Some(n)) if o != n => d.readings_changed.push(change),
            (Some(_), None) | (None, Some(_)) => d.readings_seen_once.push(change),
            _ => {}
        }
    }
    d.worse = d.outcomes.iter().any(|c| c.worse)
        || !d.no_longer_observed.is_empty()
        || !d.undocumented_appeared.is_empty()
        || !d.slower.is_empty()
        || d.too_many_requests.1 > d.too_many_requests.0;
    Ok(d)
}

/// The readings a report shows: id → alternative (reports without readings: none).
fn readings(report: &Value) -> BTreeMap<String, String> {
    items(report, "readings")
        .filter_map(|r| {
            Some((
                r.get("reading")?.as_str()?.to_owned(),
                r.get("alternative")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The diff for a terminal.
pub fn console(d: &ReportDiff) -> String {
    let mut out = String::new();
    let alt = |a: &Option<String>| a.clone().unwrap_or_else(|| "not observed".into());
    let reading = |c: &ReadingChange| format!("{}: {} -> {}", c.reading, alt(&c.old), alt(&c.new));
    let status = |s: &StatusChange| format!("{} {}", s.operation, s.status);
    let latency = |c: &LatencyChange| format!("{}: {} ms -> {} ms", c.what, c.old_ms, c.new_ms);
    let outcome = |c: &OutcomeChange| {
        let worse = if c.worse { "WORSE" } else { "     " };
        format!("{worse} {}: {} -> {}", c.id, c.old, c.new)
    };
    // Each section, in this order, when it has lines.
    let sections: [(&str, Vec<String>); 12] = [
        ("Outcomes changed", d.outcomes.iter().map(outcome).collect()),
        (
            "Drifted from their snapshot in the new run (still conforming unless failed above)",
            d.drifted.clone(),
        ),
        (
            "Readings that changed: drift where the documents leave the choice open, not a failure (docs/readings.md)",
            d.readings_changed.iter().map(reading).collect(),
        ),
        (
            "Readings observed in one run only (not compared)",
            d.readings_seen_once.iter().map(reading).collect(),
        ),
        (
            "Documented statuses no longer observed (WORSE)",
            d.no_longer_observed.iter().map(status).collect(),
        ),
        (
            "Undocumented statuses that appeared (WORSE)",
            d.undocumented_appeared.iter().map(status).collect(),
        ),
        (
            "Documented statuses newly observed",
            d.newly_observed.iter().map(status).collect(),
        ),
        (
            "Not drawn this time (seen before only by checks drawn from another seed; not compared, not worse)",
            d.not_drawn_this_time.iter().map(status).collect(),
        ),
        (
            "Undeclared members that appeared",
            d.unknown_members_appeared.clone(),
        ),
        ("Undeclared members gone", d.unknown_members_gone.clone()),
        (
            "Slower beyond noise (WORSE)",
            d.slower.iter().map(latency).collect(),
        ),
        (
            "Faster beyond noise",
            d.faster.iter().map(latency).collect(),
        ),
    ];
    for (title, lines) in sections.into_iter().filter(|(_, l)| !l.is_empty()) {
        let _ = writeln!(out, "{title}:");
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    let (o, n) = d.too_many_requests;
    if o != n {
        let _ = writeln!(
            out,
            "429 answers: {o} -> {n}{}",
            if n > o { " (WORSE)" } else { "" }
        );
    }
    if out.is_empty() {
        out.push_str("No change.\n");
    }
    if d.draws_differ {
        let _ = writeln!(
            out,
            "The runs drew differently (seed, cases, sequences, steps or --strict): what only the property and sequence checks saw, their wall times and the whole run's were not compared."
        );
    }
    let _ = writeln!(
        out,
        "{}",
        if d.worse {
            "Something got worse."
        } else {
            "Nothing got worse."
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(outcome: &str, millis: u64, observed: bool, unknown: &[&str], n429: u64) -> Value {
        json!({
            "checks": [
                {"id": "a/x", "outcome": outcome, "millis": millis, "unknown_fields": unknown},
                {"id": "a/y", "outcome": "pass", "millis": 5, "unknown_fields": []}
            ],
            "coverage": [{"operation": "getUserFactors", "statuses": [[200, true], [404, observed]], "undocumented": []}],
            "status_counts": {"200": 3, "429": n429},
            "millis": 100
        })
    }

    #[test]
    fn the_same_report_has_no_change() {
        let r = report("pass", 10, true, &[], 0);
        let d = diff(&r, &r, DEFAULT_NOISE_MS).unwrap();
        assert!(!d.worse);
        assert_eq!(console(&d), "No change.\nNothing got worse.\n");
    }

    #[test]
    fn each_kind_of_worse_is_worse_alone() {
        let base = report("pass", 10, true, &[], 0);
        for (what, new) in [
            ("failed", report("fail", 10, true, &[], 0)),
            ("skipped", report("skip", 10, true, &[], 0)),
            ("status lost", report("pass", 10, false, &[], 0)),
            ("slower", report("pass", 2_000, true, &[], 0)),
            ("429s", report("pass", 10, true, &[], 2)),
        ] {
            let d = diff(&base, &new, DEFAULT_NOISE_MS).unwrap();
            assert!(d.worse, "{what}: {d:?}");
        }
    }

    #[test]
    fn what_conforms_is_not_worse() {
        let base = report("fail", 2_000, false, &[], 3);
        let new = report("pass", 10, true, &["tenantRelease"], 0);
        let d = diff(&base, &new, DEFAULT_NOISE_MS).unwrap();
        assert!(!d.worse, "{d:?}");
        assert_eq!(d.unknown_members_appeared, vec!["tenantRelease".to_owned()]);
        assert_eq!(d.newly_observed.len(), 1);
        // Noise: 10 ms -> 200 ms is below the threshold.
        let d = diff(
            &report("pass", 10, true, &[], 0),
            &report("pass", 200, true, &[], 0),
            DEFAULT_NOISE_MS,
        )
        .unwrap();
        assert!(d.slower.is_empty() && !d.worse, "{d:?}");
    }

    // Test case: a reading the tenant showed differently is listed as drift, never as
    // worse; one observed in a single run is listed apart, not compared.
    #[test]
    fn a_changed_reading_is_drift_not_worse() {
        let with = |readings: Value| {
            let mut r = report("pass", 10, true, &[], 0);
            r["readings"] = readings;
            r
        };
        let old = with(json!([
            {"reading": "lock/when", "question": "?", "alternative": "at-the-maximum"},
            {"reading": "poll/other-method", "question": "?", "alternative": "pending-until-verified"},
            {"reading": "finished/answer", "question": "?"}
        ]));
        let new = with(json!([
            {"reading": "lock/when", "question": "?", "alternative": "at-the-next-attempt"},
            {"reading": "poll/other-method", "question": "?"},
            {"reading": "finished/answer", "question": "?", "alternative": "gone-404"}
        ]));
        let d = diff(&old, &new, DEFAULT_NOISE_MS).unwrap();
        assert!(!d.worse, "{d:?}");
        assert_eq!(
            d.readings_changed,
            vec![ReadingChange {
                reading: "lock/when".into(),
                old: Some("at-the-maximum".into()),
                new: Some("at-the-next-attempt".into()),
            }]
        );
        assert_eq!(d.readings_seen_once.len(), 2);
        let text = console(&d);
        assert!(
            text.contains("lock/when: at-the-maximum -> at-the-next-attempt")
                && text.contains("poll/other-method: pending-until-verified -> not observed"),
            "{text}"
        );
    }

    /// A report of seed `seed` whose coverage saw `getUserFactors` 404 (`observed`),
    /// only through drawn checks when `drawn_only`; `props/x` took `props_ms`.
    fn drawn(seed: u64, observed: bool, drawn_only: bool, props_ms: u64) -> Value {
        json!({
            "settings": {"seed": seed, "cases": 64, "sequences": 32, "max_steps": 12, "strict": true},
            "checks": [
                {"id": "users.factors/x", "outcome": "pass", "millis": 5},
                {"id": "props/unknown-user-guid-404", "outcome": "pass", "millis": props_ms},
                {"id": "sequences/model", "outcome": "pass", "millis": props_ms}
            ],
            "coverage": [{
                "operation": "getUserFactors",
                "statuses": [[200, true], [404, observed]],
                "undocumented": [],
                "drawn_only": if observed && drawn_only { vec![404] } else { vec![] }
            }],
            "status_counts": {"200": 3},
            "millis": 100 + props_ms
        })
    }

    // Test case: a status only drawn checks saw, gone in a run of another seed, is "not
    // drawn this time", not worse; under the same seed it is worse; a status a named
    // check saw is worse whatever the seeds.
    #[test]
    fn drawn_only_statuses_are_compared_only_between_runs_of_the_same_draw() {
        let d = diff(&drawn(1, true, true, 10), &drawn(2, false, false, 10), 250).unwrap();
        assert!(!d.worse && d.draws_differ, "{d:?}");
        assert!(d.no_longer_observed.is_empty(), "{d:?}");
        assert_eq!(
            d.not_drawn_this_time,
            [StatusChange {
                operation: "getUserFactors".into(),
                status: 404
            }]
        );
        let text = console(&d);
        assert!(text.contains("Not drawn this time"), "{text}");
        assert!(text.ends_with("Nothing got worse.\n"), "{text}");

        let same = diff(&drawn(1, true, true, 10), &drawn(1, false, false, 10), 250).unwrap();
        assert!(same.worse && !same.draws_differ, "{same:?}");
        assert_eq!(same.no_longer_observed.len(), 1);
        assert!(same.not_drawn_this_time.is_empty());

        let named = diff(&drawn(1, true, false, 10), &drawn(2, false, false, 10), 250).unwrap();
        assert!(named.worse, "{named:?}");
        assert_eq!(named.no_longer_observed.len(), 1);

        // An old report without drawn_only: every status counts as a named check's.
        let mut old = drawn(1, true, true, 10);
        old["coverage"][0]
            .as_object_mut()
            .unwrap()
            .remove("drawn_only");
        assert!(diff(&old, &drawn(2, false, false, 10), 250).unwrap().worse);
    }

    // Test case: the wall times of drawn checks and of the whole run are compared only
    // under the same draw; a named check's always.
    #[test]
    fn drawn_wall_times_are_compared_only_between_runs_of_the_same_draw() {
        let d = diff(
            &drawn(1, true, false, 10),
            &drawn(2, true, false, 2_000),
            250,
        )
        .unwrap();
        assert!(!d.worse && d.slower.is_empty(), "{d:?}");
        let same = diff(
            &drawn(1, true, false, 10),
            &drawn(1, true, false, 2_000),
            250,
        )
        .unwrap();
        assert!(same.worse, "{same:?}");
        let ids: Vec<&str> = same.slower.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(
            ids,
            [
                "props/unknown-user-guid-404",
                "sequences/model",
                "(whole run)"
            ]
        );
        let mut named = drawn(2, true, false, 10);
        named["checks"][0]["millis"] = 2_000.into();
        assert!(diff(&drawn(1, true, false, 10), &named, 250).unwrap().worse);
    }

    #[test]
    fn a_file_that_is_not_a_report_is_refused() {
        let e = diff(&json!({"x": 1}), &json!({"checks": []}), 1).unwrap_err();
        assert!(e.to_string().contains("OLD has no \"checks\""), "{e}");
    }
}
