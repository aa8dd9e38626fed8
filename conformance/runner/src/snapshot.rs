//! Tenant snapshots: what a tenant answered, per check, kept in a directory and
//! compared on every later run.
//!
//! `run --snapshots DIR` gives each check that ran a file `DIR/<id>.snap` (the id with
//! `/` written `__`) holding its exchanges as the `normalise` module renders them, in
//! insta's snapshot file format, so that `cargo insta review` and `cargo insta accept`
//! are the review workflow (docs/running.md). The first run writes the files. A later
//! run compares: an answer that changed is **drift**, a verdict of its own beside
//! pass, fail and skip ([`Drift`]: which exchange first differs and a unified diff).
//! The new text is written beside the accepted one as `<id>.snap.new`, exactly where
//! and how insta writes a pending snapshot; the accepted `.snap` is never overwritten
//! (accepting is the user's say: `cargo insta accept`, or [`accept`]). A `.snap.new`
//! left from an earlier run is removed once the answer matches the accepted snapshot
//! again.
//!
//! What is snapshotted: every named check that passed or failed. A skipped check is
//! not compared (it did not run to its end). The property checks are not snapshotted:
//! their inputs are generated from the run's seed, which changes from run to run, each
//! case's answer is judged on its own, and every answer they probe (unknown ids and
//! GUIDs, bogus tokens, malformed payloads) is also the subject of a named check whose
//! snapshot holds it.

use std::{
    fs,
    io::{self, ErrorKind},
    path::{Path, PathBuf},
};

use serde::Serialize;

use crate::runner::{CheckReport, Drift, Outcome};

/// The extension of an accepted snapshot.
pub const EXTENSION: &str = "snap";
/// What the file says it comes from (insta's `source` field).
const SOURCE: &str = "idcs-mfa-conformance run --snapshots";
/// Lines of context around each change in a drift's diff.
const CONTEXT_LINES: usize = 3;

/// What a run did with its snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotSummary {
    /// The directory.
    pub dir: PathBuf,
    /// Checks whose answers matched their snapshot.
    pub unchanged: usize,
    /// Checks that had no snapshot yet: one was written.
    pub written: Vec<String>,
    /// Checks whose answers drifted (each also carries its [`Drift`]).
    pub drifted: Vec<String>,
    /// Checks not compared: skipped, or property checks.
    pub not_compared: usize,
    /// Whether drift fails the run (`--fail-on-drift`).
    pub fail_on_drift: bool,
    /// Readings the tenant showed another alternative of than the accepted
    /// `readings.toml` holds (`lock/when: at-the-maximum -> at-the-next-attempt`): drift
    /// where the documents leave the choice open, never a failure of a check.
    pub readings_drifted: Vec<String>,
}

impl SnapshotSummary {
    /// Whether drift makes this run fail.
    pub fn fails(&self) -> bool {
        self.fail_on_drift && !(self.drifted.is_empty() && self.readings_drifted.is_empty())
    }
}

/// A snapshot directory that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use {} for snapshots: {reason}", dir.display())]
pub struct SnapshotError {
    dir: PathBuf,
    reason: String,
}

impl SnapshotError {
    fn new(dir: &Path, reason: impl std::fmt::Display) -> Self {
        Self {
            dir: dir.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Makes sure `dir` is a writable directory (creating it), before any request is sent.
pub fn prepare(dir: &Path) -> Result<(), SnapshotError> {
    match fs::metadata(dir) {
        Ok(m) if !m.is_dir() => return Err(SnapshotError::new(dir, "it is not a directory")),
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| SnapshotError::new(dir, e))?;
        }
        Err(e) => return Err(SnapshotError::new(dir, e)),
    }
    // Writable? (A read-only directory would otherwise fail after the whole run.)
    let probe = dir.join(".idcs-mfa-conformance-probe");
    fs::write(&probe, b"").map_err(|e| SnapshotError::new(dir, e))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// The file beside the checks' snapshots that keeps the readings the tenant showed, in
/// the format `calibrate` writes (and the mock reads: `serve --readings`).
pub const READINGS_FILE: &str = "readings.toml";

/// Compares the readings a run showed with the accepted `readings.toml` of `dir`: a
/// reading shown now with another alternative than the accepted one is drift (returned,
/// `reading: old -> new`). The first run writes the file; a later run that showed
/// something the file lacks or contradicts writes the merged set beside it as
/// `readings.toml.new` (accept it by renaming it), and never overwrites the accepted
/// file. A reading not observed now says nothing: which steps a run draws decides that.
pub fn compare_readings(
    dir: &Path,
    readings: &[crate::readings::ReadingReport],
) -> Result<Vec<String>, SnapshotError> {
    use idcs_mfa_mock::Choices;
    let now = crate::readings::choices_of(readings).map_err(|e| SnapshotError::new(dir, e))?;
    let path = dir.join(READINGS_FILE);
    let pending = dir.join(format!("{READINGS_FILE}.new"));
    let header = "# The readings this tenant showed where the documents leave the choice open\n\
                  # (idcs-mfa-conformance run --snapshots; docs/readings.md).\n";
    let accepted = match fs::read_to_string(&path) {
        Ok(text) => Choices::from_toml(&text, Choices::open())
            .map_err(|e| SnapshotError::new(dir, format!("{READINGS_FILE}: {e}")))?,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if now.taken().next().is_some() {
                write(&path, &format!("{header}{}", now.to_toml()))?;
            }
            return Ok(Vec::new());
        }
        Err(e) => return Err(SnapshotError::new(dir, format!("{READINGS_FILE}: {e}"))),
    };
    let mut drifted = Vec::new();
    let mut news = false;
    for alt in now.taken() {
        match accepted.get(alt.reading()) {
            Some(old) if old != alt => drifted.push(format!(
                "{}: {} -> {}",
                alt.reading().id,
                old.alternative().id,
                alt.alternative().id
            )),
            Some(_) => {}
            None => news = true,
        }
    }
    if drifted.is_empty() && !news {
        remove_stale(&pending)?;
    } else {
        write(
            &pending,
            &format!("{header}{}", accepted.overlaid(&now).to_toml()),
        )?;
    }
    Ok(drifted)
}

/// The file name of a check's snapshot: its id with `/` written `__`, then `.snap`.
pub fn file_name(id: &str) -> String {
    format!("{}.{EXTENSION}", id.replace('/', "__"))
}

/// The path of the pending snapshot beside `snapshot` (`.snap` → `.snap.new`), as
/// insta names it.
pub fn pending_path(snapshot: &Path) -> PathBuf {
    snapshot.with_extension(format!("{EXTENSION}.new"))
}

/// Compares each report's normalised exchanges with its snapshot in `dir`, writing
/// first snapshots and pending ones, and sets each report's [`CheckReport::drift`].
pub fn compare(
    dir: &Path,
    reports: &mut [CheckReport],
    fail_on_drift: bool,
) -> Result<SnapshotSummary, SnapshotError> {
    let mut summary = SnapshotSummary {
        dir: dir.to_owned(),
        fail_on_drift,
        ..SnapshotSummary::default()
    };
    for report in reports.iter_mut() {
        let Some(text) = report.normalised.as_deref() else {
            summary.not_compared += 1;
            continue;
        };
        if matches!(report.outcome, Outcome::Skip { .. }) {
            summary.not_compared += 1;
            continue;
        }
        let path = dir.join(file_name(report.id));
        let pending = pending_path(&path);
        let file = render(report.id, report.quote, text);
        let accepted = match fs::read_to_string(&path) {
            Ok(old) => old,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                write(&path, &file)?;
                remove_stale(&pending)?;
                summary.written.push(report.id.to_owned());
                continue;
            }
            Err(e) => return Err(SnapshotError::new(dir, format!("{}: {e}", path.display()))),
        };
        let old = contents(&accepted);
        let new = contents(&file);
        if old == new {
            remove_stale(&pending)?;
            summary.unchanged += 1;
            continue;
        }
        write(&pending, &file)?;
        let (exchange, exchange_title) = first_difference(&old, &new);
        report.drift = Some(Drift {
            exchange,
            exchange_title,
            diff: unified_diff(&old, &new),
            snapshot: path,
            pending,
        });
        summary.drifted.push(report.id.to_owned());
    }
    Ok(summary)
}

fn write(path: &Path, text: &str) -> Result<(), SnapshotError> {
    fs::write(path, text).map_err(|e| {
        SnapshotError::new(
            path.parent().unwrap_or(path),
            format!("{}: {e}", path.display()),
        )
    })
}

fn remove_stale(pending: &Path) -> Result<(), SnapshotError> {
    match fs::remove_file(pending) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SnapshotError::new(
            pending.parent().unwrap_or(pending),
            format!("{}: {e}", pending.display()),
        )),
    }
}

/// A snapshot file in insta's format: a YAML header (`source`, and a `description`
/// that `cargo insta review` shows: the check's id and the sentence it asserts;
/// written as insta's own emitter writes them, so that accepting with `cargo insta
/// accept`, which re-writes the file, changes no byte), `---`, the text. (No
/// `expression`: the review tool formats it as Rust code.)
pub fn render(id: &str, quote: &str, text: &str) -> String {
    format!(
        "---\nsource: {}\ndescription: {}\n---\n{}\n",
        yaml_scalar(SOURCE),
        yaml_scalar(&format!("{id} · {quote}")),
        text.trim_end()
    )
}

/// The text of a snapshot file (after its header), normalised as insta compares it:
/// trailing whitespace trimmed, CRLF read as LF.
pub fn contents(file: &str) -> String {
    let body = match file.strip_prefix("---\n") {
        Some(rest) => match rest.find("\n---\n") {
            Some(end) => &rest[end + 5..],
            None => rest.strip_prefix("---\n").unwrap_or(""),
        },
        None => file,
    };
    body.trim_end().replace("\r\n", "\n")
}

/// Accepts the pending snapshot of `snapshot` the way `cargo insta accept` does: the
/// pending file's header and text replace the accepted file, and the pending file is
/// removed. Returns whether there was one.
pub fn accept(snapshot: &Path) -> io::Result<bool> {
    let pending = pending_path(snapshot);
    match fs::read_to_string(&pending) {
        Ok(text) => {
            fs::write(snapshot, format!("{}\n", text.trim_end()))?;
            fs::remove_file(&pending)?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The first exchange whose block differs, and its heading.
fn first_difference(old: &str, new: &str) -> (Option<usize>, String) {
    let blocks = |s: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for line in s.lines() {
            if line.starts_with("## exchange ") || out.is_empty() {
                out.push(String::new());
            }
            if let Some(last) = out.last_mut() {
                last.push_str(line);
                last.push('\n');
            }
        }
        out
    };
    let (a, b) = (blocks(old), blocks(new));
    let heading = |block: &str| {
        block
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("## ")
            .to_owned()
    };
    // Compare without the headings' "of N" (an added exchange renumbers them all).
    let strip = |block: &str| block.lines().skip(1).collect::<Vec<_>>().join("\n");
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if strip(x) == strip(y) => continue,
            (_, Some(y)) => {
                let request = y.lines().nth(1).unwrap_or_default();
                return (Some(i + 1), format!("{} ({request})", heading(y)));
            }
            (Some(x), None) => {
                let request = x.lines().nth(1).unwrap_or_default();
                return (
                    Some(i + 1),
                    format!("{} ({request}): no longer made", heading(x)),
                );
            }
            (None, None) => break,
        }
    }
    (None, "the number of exchanges".to_owned())
}

/// A unified diff, `-` the accepted snapshot, `+` this run.
pub fn unified_diff(old: &str, new: &str) -> String {
    let old = format!("{old}\n");
    let new = format!("{new}\n");
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header("accepted", "this run")
        .to_string()
}

/// A YAML scalar as insta's emitter writes it: plain when it can be, otherwise in
/// double quotes with escapes.
fn yaml_scalar(s: &str) -> String {
    let needs_quotes = s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.starts_with(['&', '*', '?', '|', '-', '<', '>', '=', '!', '%', '@'])
        || s.contains(|c: char| {
            matches!(
                c,
                ':' | '{'
                    | '}'
                    | '['
                    | ']'
                    | ','
                    | '#'
                    | '`'
                    | '"'
                    | '\''
                    | '\\'
                    | '\0'..='\x06'
                    | '\t'
                    | '\n'
                    | '\r'
                    | '\x0e'..='\x1a'
                    | '\x1c'..='\x1f'
            )
        })
        || [
            "yes", "Yes", "YES", "no", "No", "NO", "True", "TRUE", "true", "False", "FALSE",
            "false", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
        ]
        .contains(&s)
        || s.starts_with('.')
        || s.starts_with("0x")
        || s.parse::<i64>().is_ok()
        || s.parse::<f64>().is_ok();
    if !needs_quotes {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_pending_paths_are_insta_s() {
        assert_eq!(
            file_name("requests.get/push-pending-is-200"),
            "requests.get__push-pending-is-200.snap"
        );
        assert_eq!(
            pending_path(Path::new("d/requests.get__x.snap")),
            Path::new("d/requests.get__x.snap.new")
        );
    }

    #[test]
    fn rendered_files_read_back_and_quote_like_insta() {
        let file = render("a.b/c", "He said: \"no\"", "line 1\n---\nline 3\n\n");
        assert!(
            file.starts_with("---\nsource: idcs-mfa-conformance run --snapshots\n"),
            "{file}"
        );
        assert!(
            file.contains("description: \"a.b/c · He said: \\\"no\\\"\"\n---\n"),
            "{file}"
        );
        assert_eq!(contents(&file), "line 1\n---\nline 3");
        assert_eq!(yaml_scalar("-x"), "\"-x\"");
        assert_eq!(yaml_scalar("42"), "\"42\"");
        assert_eq!(yaml_scalar("plain text"), "plain text");
    }

    #[test]
    fn the_first_differing_exchange_is_named() {
        let old =
            "## exchange 1 of 2: a\nGET /x\n=> 200\n\n## exchange 2 of 2: b\nGET /y\n=> 200\n";
        let new =
            "## exchange 1 of 2: a\nGET /x\n=> 200\n\n## exchange 2 of 2: b\nGET /y\n=> 201\n";
        let (n, title) = first_difference(old, new);
        assert_eq!(n, Some(2));
        assert_eq!(title, "exchange 2 of 2: b (GET /y)");
        let diff = unified_diff(old, new);
        assert!(diff.contains("-=> 200\n+=> 201"), "{diff}");
        assert!(diff.starts_with("--- accepted\n+++ this run\n"), "{diff}");
    }
}
