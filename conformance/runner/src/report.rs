//! Reports: the console report for people, JSON and JUnit XML for CI, and the
//! status-code coverage matrix (operation × documented status: observed or not).
//!
//! Every report is built from redacted exchanges only; none holds a token, an OTP, a
//! bypass code, an answer or a requestState.

use std::{collections::BTreeMap, fmt::Write as _};

use idcs_mfa_contract::Contract;
use serde::Serialize;

use crate::{
    guard::MaxSource,
    harness::Operation,
    observe::NetworkSummary,
    runner::{AttemptSummary, CheckReport, Outcome},
    target::PropConfig,
};

/// A finished run.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The tenant's base URL (the embedded mock's is `embedded mock tenant`).
    pub target: String,
    /// Settings that make the run reproducible.
    pub settings: Settings,
    /// Counts.
    pub totals: Totals,
    /// One entry per selected check, in registry order.
    pub checks: Vec<CheckReport>,
    /// Operation × documented status: observed or not.
    pub coverage: Vec<CoverageRow>,
    /// What the run saw of the tenant's habits: requests, latency, 429s and waits,
    /// resent GETs.
    pub network: NetworkSummary,
    /// How many recorded answers had each status (429s included), over every check.
    pub status_counts: BTreeMap<u16, usize>,
    /// What the run did with tenant snapshots (`run --snapshots DIR`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<crate::snapshot::SnapshotSummary>,
    /// Wall time in milliseconds.
    pub millis: u64,
    /// What the run did to the test user's attempt count.
    pub attempts: Option<AttemptSummary>,
    /// Why the run stopped as an error of the run, when it did (exit 2).
    pub aborted: Option<String>,
    /// What the preflight noted.
    pub notes: Vec<String>,
    /// Where the documents are silent or can be read two ways, which alternative the
    /// tenant showed and where; every reading, observed or not (docs/readings.md).
    pub readings: Vec<crate::readings::ReadingReport>,
}

/// Settings of a run, for replay.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Property cases per property.
    pub cases: u32,
    /// The property RNG seed.
    pub seed: u64,
    /// Whether inferred checks ran.
    pub strict: bool,
    /// Registered checks not selected (by prefix or evidence level).
    pub not_selected: usize,
    /// Sequences the sequence checks drew (with the seed, what they saw depends on it).
    pub sequences: u32,
    /// Steps per sequence at most.
    pub max_steps: usize,
}

impl Settings {
    /// The settings of a run with `props` that left `not_selected` checks out.
    pub fn of(props: PropConfig, not_selected: usize) -> Settings {
        Settings {
            cases: props.cases,
            seed: props.seed,
            strict: props.strict,
            not_selected,
            sequences: props.sequences,
            max_steps: props.max_steps,
        }
    }
}

/// Counts of outcomes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
}

/// One operation's row of the coverage matrix.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    /// The operation.
    pub operation: Operation,
    /// Each documented status and whether some exchange of the run saw it.
    pub statuses: Vec<(u16, bool)>,
    /// Statuses seen that the contract does not document for the operation.
    pub undocumented: Vec<u16>,
    /// Of the documented statuses observed, those seen only by checks whose inputs are
    /// drawn from the seed (property and sequence checks): another seed may not draw
    /// them (`diff` compares them only between runs of the same draw).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drawn_only: Vec<u16>,
}

impl RunReport {
    /// Builds the report of `checks`.
    pub fn new(target: String, settings: Settings, checks: Vec<CheckReport>, millis: u64) -> Self {
        let mut totals = Totals::default();
        for c in &checks {
            match c.outcome {
                Outcome::Pass => totals.passed += 1,
                Outcome::Fail { .. } => totals.failed += 1,
                Outcome::Skip { .. } => totals.skipped += 1,
            }
        }
        let coverage = coverage(&checks);
        let status_counts = status_counts(&checks);
        Self {
            target,
            settings,
            totals,
            checks,
            coverage,
            network: NetworkSummary::default(),
            status_counts,
            snapshots: None,
            millis,
            attempts: None,
            aborted: None,
            notes: Vec::new(),
            readings: Vec::new(),
        }
    }

    /// Whether every check that ran passed.
    pub fn passed(&self) -> bool {
        self.totals.failed == 0
    }

    /// Compares every check's answers with its snapshot in `dir` (see
    /// [`crate::snapshot`]); drift is attached to the checks and summed up here. A run
    /// that was aborted (an error of the run, exit 2) is not compared and writes
    /// nothing: what it saw is not the tenant's answer to the checks.
    pub fn compare_snapshots(
        &mut self,
        dir: &std::path::Path,
        fail_on_drift: bool,
    ) -> Result<(), crate::snapshot::SnapshotError> {
        if self.aborted.is_some() {
            return Ok(());
        }
        let mut summary = crate::snapshot::compare(dir, &mut self.checks, fail_on_drift)?;
        summary.readings_drifted = crate::snapshot::compare_readings(dir, &self.readings)?;
        self.snapshots = Some(summary);
        Ok(())
    }
}

fn status_counts(checks: &[CheckReport]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for status in checks
        .iter()
        .flat_map(|c| &c.exchanges)
        .filter_map(|e| e.status)
    {
        *counts.entry(status).or_insert(0) += 1;
    }
    counts
}

fn coverage(checks: &[CheckReport]) -> Vec<CoverageRow> {
    let mut seen: BTreeMap<Operation, Vec<u16>> = BTreeMap::new();
    // Seen by a check whose inputs do not depend on the seed.
    let mut steady: BTreeMap<Operation, Vec<u16>> = BTreeMap::new();
    for check in checks {
        let drawn = crate::checks::is_drawn(check.id);
        for exchange in &check.exchanges {
            if let (Some(op), Some(status)) = (exchange.operation, exchange.status) {
                seen.entry(op).or_default().push(status);
                if !drawn {
                    steady.entry(op).or_default().push(status);
                }
            }
        }
    }
    let contract = Contract::get();
    Operation::ALL
        .iter()
        .map(|&op| {
            let documented = contract
                .operation(op.operation_id())
                .map(|o| o.statuses())
                .unwrap_or_default();
            let observed = seen.get(&op).cloned().unwrap_or_default();
            let mut undocumented: Vec<u16> = observed
                .iter()
                .copied()
                .filter(|s| !documented.contains(s))
                .collect();
            undocumented.sort_unstable();
            undocumented.dedup();
            let steady = steady.get(&op).cloned().unwrap_or_default();
            CoverageRow {
                operation: op,
                statuses: documented
                    .iter()
                    .map(|s| (*s, observed.contains(s)))
                    .collect(),
                undocumented,
                drawn_only: documented
                    .iter()
                    .copied()
                    .filter(|s| observed.contains(s) && !steady.contains(s))
                    .collect(),
            }
        })
        .collect()
}

/// Colours for the console report (none when not on a terminal or when NO_COLOR is set).
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Whether to emit ANSI colours.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    /// Green.
    pub fn pass(self, t: &str) -> String {
        self.paint("32", t)
    }
    /// Red.
    pub fn fail(self, t: &str) -> String {
        self.paint("31;1", t)
    }
    /// Yellow.
    pub fn skip(self, t: &str) -> String {
        self.paint("33", t)
    }
    /// Dim.
    pub fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
}

/// One line for a finished check (also used for progress).
pub fn check_line(report: &CheckReport, style: Style) -> String {
    match &report.outcome {
        Outcome::Pass => format!("{} {}", style.pass("PASS"), report.id),
        Outcome::Fail { .. } => format!("{} {}", style.fail("FAIL"), report.id),
        Outcome::Skip { reason } => format!(
            "{} {} {}",
            style.skip("SKIP"),
            report.id,
            style.dim(&format!("({reason})"))
        ),
    }
}

/// The console report: failures in full, the coverage matrix, and the totals.
pub fn console(report: &RunReport, style: Style) -> String {
    let mut out = String::new();
    let failed: Vec<&CheckReport> = report.checks.iter().filter(|c| c.failed()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nFailures:");
    }
    for c in failed {
        let Outcome::Fail { expected, actual } = &c.outcome else {
            continue;
        };
        let _ = writeln!(
            out,
            "\n{} {}  ({}, {})",
            style.fail("FAIL"),
            c.id,
            c.evidence.as_str(),
            c.source
        );
        let _ = writeln!(out, "  documented: {}", c.quote);
        let _ = writeln!(out, "  expected:   {expected}");
        let _ = writeln!(out, "  actual:     {actual}");
        if let Some(last) = c.exchanges.last() {
            let _ = writeln!(
                out,
                "  last exchange: {} {} -> {}",
                last.method,
                last.url,
                last.status
                    .map_or_else(|| "no answer".to_owned(), |s| s.to_string())
            );
            let _ = writeln!(out, "  repro: {}", last.to_curl());
        }
    }
    let unknown: Vec<&String> = report
        .checks
        .iter()
        .flat_map(|c| &c.unknown_fields)
        .collect();
    if !unknown.is_empty() {
        let mut unknown: Vec<&String> = unknown;
        unknown.sort();
        unknown.dedup();
        let _ = writeln!(out, "\nUndeclared properties (allowed, reported):");
        for u in unknown {
            let _ = writeln!(out, "  {u}");
        }
    }
    drift_section(&mut out, report, style);
    readings_section(&mut out, &report.readings, style);
    let _ = writeln!(out, "\n{}", coverage_table(&report.coverage));
    let _ = writeln!(out, "{}", network_lines(&report.network));
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if let Some(a) = &report.attempts {
        let _ = writeln!(out, "{}", attempts_line(a));
        if let Some(by) = a.left_locked_by {
            let _ = writeln!(
                out,
                "{}",
                style.fail(&format!(
                    "the run left the test user locked ({by}); unlock them (IDCS console) or set fixtures.unlock_command"
                ))
            );
        }
    }
    if let Some(reason) = &report.aborted {
        let _ = writeln!(out, "{}", style.fail(&format!("the run stopped: {reason}")));
    }
    let t = report.totals;
    let _ = writeln!(
        out,
        "target {} · seed {} · {} cases/property · {}{} · {:.2} s",
        report.target,
        report.settings.seed,
        report.settings.cases,
        if report.settings.strict {
            "strict"
        } else {
            "stated+captured"
        },
        not_selected(report),
        report.millis as f64 / 1000.0
    );
    let summary = format!(
        "{} passed, {} failed, {} skipped",
        t.passed, t.failed, t.skipped
    );
    let _ = writeln!(
        out,
        "{}",
        if t.failed > 0 {
            style.fail(&summary)
        } else {
            style.pass(&summary)
        }
    );
    if let Some(line) = snapshot_line(report) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// "Where the documents are silent, this tenant …": each reading it showed, the
/// alternative and the step that showed it; then the readings not observed, by id.
fn readings_section(out: &mut String, readings: &[crate::readings::ReadingReport], style: Style) {
    if readings.is_empty() {
        return;
    }
    let shown: Vec<_> = readings.iter().filter(|r| r.observed()).collect();
    let _ = writeln!(
        out,
        "\nWhere the documents are silent, this tenant (docs/readings.md; a reading is a choice, never a failure):"
    );
    for r in &shown {
        let _ = writeln!(
            out,
            "  {} = {}: {}",
            r.reading,
            style.pass(r.alternative.as_deref().unwrap_or_default()),
            r.says.as_deref().unwrap_or_default()
        );
        if let Some(at) = &r.at {
            let _ = writeln!(out, "      {}", style.dim(&format!("shown by {at}")));
        }
    }
    let unseen: Vec<&str> = readings
        .iter()
        .filter(|r| !r.observed())
        .map(|r| r.reading.as_str())
        .collect();
    if !unseen.is_empty() {
        let _ = writeln!(
            out,
            "  not observed ({}): {}",
            unseen.len(),
            unseen.join(", ")
        );
    }
}

/// ` · N not selected (why)` for the summary line, or nothing: the registered checks
/// the run left out, as inferred ones (`--strict` runs them) and ones outside the id
/// prefixes given.
fn not_selected(report: &RunReport) -> String {
    if report.settings.not_selected == 0 {
        return String::new();
    }
    let ran: std::collections::BTreeSet<&str> = report.checks.iter().map(|c| c.id).collect();
    let (mut inferred, mut unmatched) = (0, 0);
    for c in crate::checks::all() {
        if ran.contains(c.id) {
            continue;
        }
        if !report.settings.strict && c.evidence == crate::harness::Evidence::Inferred {
            inferred += 1;
        } else {
            unmatched += 1;
        }
    }
    let mut why = Vec::new();
    if inferred > 0 {
        why.push(format!("{inferred} inferred: --strict runs them"));
    }
    if unmatched > 0 {
        why.push(format!("{unmatched} outside the id prefixes given"));
    }
    format!(
        " · {} not selected ({}; `list` names them)",
        report.settings.not_selected,
        why.join(", ")
    )
}

/// The network summary: requests, latency, 429s and waits, resent GETs.
pub fn network_lines(n: &NetworkSummary) -> String {
    let seconds = |ms: Option<f64>| ms.map_or("-".to_owned(), |ms| format!("{:.3} s", ms / 1000.0));
    let mut out = format!(
        "Network: {} requests · latency p50 {}, p95 {} · 429 answers {} ({} with Retry-After), waited {:.2} s",
        n.requests,
        seconds(n.latency_p50_ms),
        seconds(n.latency_p95_ms),
        n.rate_limited,
        n.with_retry_after,
        n.waited_ms as f64 / 1000.0
    );
    if n.gave_up > 0 {
        let _ = write!(out, " · {} still 429 at the deadline (skipped)", n.gave_up);
    }
    let _ = write!(
        out,
        "\n  connections: {} GET(s) resent on a new connection after a pooled one closed; {} POST/PATCH failed on a closed connection (never resent)",
        n.resent_gets.len(),
        n.not_resent.len()
    );
    for line in n.resent_gets.iter().chain(&n.not_resent).take(10) {
        let _ = write!(out, "\n    {line}");
    }
    out
}

/// The drifted checks in full: which exchange, the diff, where the new text is.
fn drift_section(out: &mut String, report: &RunReport, style: Style) {
    if let Some(s) = report
        .snapshots
        .as_ref()
        .filter(|s| !s.readings_drifted.is_empty())
    {
        let _ = writeln!(
            out,
            "\nReadings that changed since the accepted {} (where the documents leave the choice open: drift, not a failure; the merged set is in {}.new):",
            crate::snapshot::READINGS_FILE,
            crate::snapshot::READINGS_FILE
        );
        for line in &s.readings_drifted {
            let _ = writeln!(out, "  {} {line}", style.skip("DRIFT"));
        }
    }
    let drifted: Vec<&CheckReport> = report.checks.iter().filter(|c| c.drift.is_some()).collect();
    if drifted.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nDrift (answers that changed since the accepted snapshot; {}):",
        if report.snapshots.as_ref().is_some_and(|s| s.fail_on_drift) {
            "--fail-on-drift: the run fails"
        } else {
            "not a failure"
        }
    );
    for c in drifted {
        let Some(d) = &c.drift else { continue };
        let _ = writeln!(
            out,
            "\n{} {}  [{}]",
            style.skip("DRIFT"),
            c.id,
            match &c.outcome {
                Outcome::Pass => "still passes",
                Outcome::Fail { .. } => "also failed",
                Outcome::Skip { .. } => "skipped",
            }
        );
        let _ = writeln!(out, "  first change: {}", d.exchange_title);
        let _ = writeln!(out, "  new snapshot: {}", d.pending.display());
        for line in d.diff.lines() {
            let painted = if line.starts_with('+') && !line.starts_with("+++") {
                style.pass(line)
            } else if line.starts_with('-') && !line.starts_with("---") {
                style.fail(line)
            } else {
                line.to_owned()
            };
            let _ = writeln!(out, "    {painted}");
        }
    }
}

/// One line on what the run did with its snapshots.
pub fn snapshot_line(report: &RunReport) -> Option<String> {
    let s = report.snapshots.as_ref()?;
    let mut line = format!(
        "snapshots {}: {} unchanged, {} drifted, {} written, {} not compared",
        s.dir.display(),
        s.unchanged,
        s.drifted.len(),
        s.written.len(),
        s.not_compared
    );
    if !s.readings_drifted.is_empty() {
        line.push_str(&format!(", {} readings changed", s.readings_drifted.len()));
    }
    if !s.drifted.is_empty() {
        line.push_str(" · review: cargo insta review (or accept: cargo insta accept)");
    }
    Some(line)
}

/// One line on the attempt accounting: spent, highest, ceiling, the maximum.
pub fn attempts_line(a: &AttemptSummary) -> String {
    let max = match a.limits.max_source {
        MaxSource::Profile => format!("{}", a.limits.max_attempts),
        MaxSource::Assumed => format!(
            "{} (assumed; set safety.max_attempts)",
            a.limits.max_attempts
        ),
    };
    let mut line = format!(
        "attempts: {} spent, highest predicted count {} (ceiling {}, lockout at {max})",
        a.end.spent, a.highest_outside_lockout, a.limits.ceiling
    );
    if a.end.highest > a.highest_outside_lockout {
        let _ = write!(
            line,
            ", {} in the sequence and lockout checks",
            a.end.highest
        );
    }
    if a.resets + a.unlocks > 0 {
        let _ = write!(
            line,
            " · reset {} by verification, {} by unlock",
            times(a.resets),
            times(a.unlocks)
        );
    }
    let _ = write!(
        line,
        " · left at {}{}",
        a.end.count,
        if a.end.locked { ", locked" } else { "" }
    );
    if a.start_assumed {
        line.push_str(" · the start count was assumed 0 (no fixture to reset it)");
    }
    if let Some(id) = a.deviant {
        let _ = write!(
            line,
            " · {id} spent more than declared (the tenant counts where the documents do not): later checks ran one at a time with a margin of one"
        );
    }
    if a.end.count > 0 && !a.end.locked {
        line.push_str(" (it goes back to 0 at the user's next successful verification)");
    }
    line
}

fn times(n: u32) -> String {
    match n {
        1 => "once".to_owned(),
        n => format!("{n} times"),
    }
}

/// The coverage matrix as a text table.
pub fn coverage_table(rows: &[CoverageRow]) -> String {
    let mut all: Vec<u16> = rows
        .iter()
        .flat_map(|r| r.statuses.iter().map(|(s, _)| *s))
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut out = String::from(
        "Status-code coverage (x observed, . documented but not observed, blank not documented):\n",
    );
    let width = rows
        .iter()
        .map(|r| r.operation.label().len())
        .max()
        .unwrap_or(0);
    let _ = write!(out, "  {:width$}", "");
    for s in &all {
        let _ = write!(out, " {s}");
    }
    out.push('\n');
    for r in rows {
        let _ = write!(out, "  {:width$}", r.operation.label());
        for s in &all {
            let cell = match r.statuses.iter().find(|(st, _)| st == s) {
                Some((_, true)) => "  x",
                Some((_, false)) => "  .",
                None => "   ",
            };
            let _ = write!(out, " {cell}");
        }
        if !r.undocumented.is_empty() {
            let _ = write!(out, "  undocumented: {:?}", r.undocumented);
        }
        out.push('\n');
    }
    let documented: usize = rows.iter().map(|r| r.statuses.len()).sum();
    let observed: usize = rows
        .iter()
        .map(|r| r.statuses.iter().filter(|(_, o)| *o).count())
        .sum();
    let _ = write!(
        out,
        "  {observed} of {documented} documented statuses observed"
    );
    out
}

/// The report as JSON.
pub fn json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the report: {e}\"}}"))
}

/// The report as JUnit XML: one testsuite per operation, one testcase per check.
pub fn junit(report: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let t = report.totals;
    let _ = writeln!(
        out,
        "<testsuites name=\"idcs-mfa-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.checks.len(),
        t.failed
            + report
                .checks
                .iter()
                .filter(|c| fails_by_drift(report, c))
                .count(),
        t.skipped,
        report.millis as f64 / 1000.0
    );
    for op in Operation::ALL {
        let cases: Vec<&CheckReport> = report.checks.iter().filter(|c| c.operation == op).collect();
        if cases.is_empty() {
            continue;
        }
        let failures = cases
            .iter()
            .filter(|c| c.failed() || fails_by_drift(report, c))
            .count();
        let skipped = cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skip { .. }))
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            xml(op.label()),
            cases.len()
        );
        out.push_str(&junit_properties(&report.network, &report.readings));
        for c in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(op.operation_id()),
                xml(c.id),
                c.millis as f64 / 1000.0
            );
            // Child elements, each on its own line.
            let mut inner = String::new();
            if let Some(d) = &c.drift {
                let _ = writeln!(
                    inner,
                    "      <properties><property name=\"drift\" value=\"{}\"/></properties>",
                    xml(&d.exchange_title)
                );
            }
            match &c.outcome {
                Outcome::Pass => {}
                Outcome::Fail { expected, actual } => {
                    let repro = c.exchanges.last().map(|e| e.to_curl()).unwrap_or_default();
                    let _ = writeln!(
                        inner,
                        "      <failure message=\"expected {}\">documented ({}): {}\nexpected: {}\nactual: {}\nrepro: {}</failure>",
                        xml(expected),
                        xml(c.source),
                        xml(c.quote),
                        xml(expected),
                        xml(actual),
                        xml(&repro)
                    );
                }
                Outcome::Skip { reason } => {
                    let _ = writeln!(inner, "      <skipped message=\"{}\"/>", xml(reason));
                }
            }
            if let Some(d) = &c.drift {
                if fails_by_drift(report, c) {
                    let _ = writeln!(
                        inner,
                        "      <failure type=\"drift\" message=\"the answer changed since the accepted snapshot: {}\">{}</failure>",
                        xml(&d.exchange_title),
                        xml(&d.diff)
                    );
                }
                let _ = writeln!(
                    inner,
                    "      <system-out>drift in {}; new snapshot {}\n{}</system-out>",
                    xml(&d.exchange_title),
                    xml(&d.pending.display().to_string()),
                    xml(&d.diff)
                );
            }
            if inner.is_empty() {
                out.push_str("/>\n");
            } else {
                let _ = write!(out, ">\n{inner}    </testcase>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The run's network summary as JUnit properties (the same in every testsuite).
fn junit_properties(n: &NetworkSummary, readings: &[crate::readings::ReadingReport]) -> String {
    let ms = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    let mut out = String::from("    <properties>\n");
    // Each reading: `reading:<id>` = the alternative shown, or `not observed`.
    for r in readings {
        let _ = writeln!(
            out,
            "      <property name=\"reading:{}\" value=\"{}\"/>",
            xml(&r.reading),
            xml(r.alternative.as_deref().unwrap_or("not observed"))
        );
    }
    for (name, value) in [
        ("requests", n.requests.to_string()),
        ("latency_p50_ms", ms(n.latency_p50_ms)),
        ("latency_p95_ms", ms(n.latency_p95_ms)),
        ("rate_limited", n.rate_limited.to_string()),
        (
            "rate_limited_with_retry_after",
            n.with_retry_after.to_string(),
        ),
        ("rate_limit_waited_ms", n.waited_ms.to_string()),
        ("rate_limit_gave_up", n.gave_up.to_string()),
        ("resent_gets", n.resent_gets.len().to_string()),
        ("not_resent", n.not_resent.len().to_string()),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml(&value)
        );
    }
    out.push_str("    </properties>\n");
    out
}

/// Whether a check that passed fails in JUnit because it drifted (`--fail-on-drift`).
fn fails_by_drift(report: &RunReport, c: &CheckReport) -> bool {
    c.drift.is_some()
        && matches!(c.outcome, Outcome::Pass)
        && report.snapshots.as_ref().is_some_and(|s| s.fail_on_drift)
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}
