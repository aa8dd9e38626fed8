//! The executable model of the documented behaviour: pure, deterministic state machines
//! (no I/O, no clock) that the mock tenant runs and the runner predicts with.
//!
//! One description of a rule, two uses: the mock tenant runs [`machine`] to answer
//! requests (one strict model per user; its faults are deviations of the model's steps
//! and answers, never changes inside it), and the runner holds a tenant to the same
//! machine in the sequence checks, and predicts the attempt count with [`attempts`] so
//! that it never harms the test user.
//!
//! - [`access`]: tokens and roles, which requests are served at all;
//! - [`attempts`]: the attempt count and lockout, event by event (the runner's ledger
//!   predicts with it; the machine counts by the same table);
//! - [`machine`]: the request life cycle of a user and the answers a tenant may give to
//!   each step (the mock answers with it; the sequence checks hold a tenant to it);
//! - [`readings`]: every point the documents leave open, with its named alternatives
//!   (the machine keeps each open; the mock plays any of them);
//! - [`rules`]: the documented rules, each with its sentence, source and evidence;
//! - [`diagram`]: both drawn as mermaid state diagrams (`docs/model.md`).

pub mod access;
pub mod attempts;
pub mod diagram;
pub mod machine;
pub mod readings;
pub mod rules;

use serde::Serialize;

/// The model in words and pictures: every rule (id, evidence, source, sentence) and the
/// two diagrams in mermaid code blocks. `docs/model.md` holds this text verbatim.
pub fn describe() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "## Rules\n\n| rule | evidence | source | sentence |\n| --- | --- | --- | --- |\n",
    );
    for rule in rules::ALL {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            rule.id,
            rule.evidence.as_str(),
            rule.source.replace('[', "\\[").replace(']', "\\]"),
            rule.quote.replace('|', "\\|")
        );
    }
    let _ = write!(
        out,
        "\n## The request life cycle\n\n```mermaid\n{}```\n\n## The attempt counter (a maximum of 3)\n\n```mermaid\n{}```\n",
        diagram::request_lifecycle(),
        diagram::attempt_counter()
    );
    out
}

/// How strongly the documents support what a rule or a check asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Stated in a seed document.
    Stated,
    /// Shown in Oracle's captured responses or other public Oracle material.
    Captured,
    /// Decided by this project where the documents are silent, where every reading
    /// agrees (judged only with `--strict`).
    Inferred,
    /// What a tenant answers where the documents leave the choice open: one of the
    /// alternatives of a [reading](readings), each allowed, the tenant held to the one
    /// it showed.
    Reading,
}

impl Evidence {
    /// The label used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Stated => "stated",
            Evidence::Captured => "captured",
            Evidence::Inferred => "inferred",
            Evidence::Reading => "reading",
        }
    }
}
