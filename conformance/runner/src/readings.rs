//! What a run learned of the tenant's readings: where the documents are silent or can
//! be read two ways, which alternative the tenant took, and the step that showed it.
//!
//! The readings themselves (each point, its alternatives, what each rests on) are the
//! model's: [`idcs_mfa_model::readings`], listed in `docs/readings.md`. A check or
//! a sequence that sees an answer only one alternative explains records it here; the
//! sequence checks start every sequence with what is recorded, so the model holds the
//! tenant to its own reading for the rest of the run; a named check that sees the
//! tenant answer against an alternative it showed earlier fails (rule `readings/held`).
//! Reports list every reading: the alternative and where it was shown, or "not
//! observed". A tenant that changes a reading between two runs has drifted (`diff`
//! says so); it has not failed.

use std::sync::Mutex;

use idcs_mfa::Exchange;
use idcs_mfa_model::readings::{ALL, Alt, Choices, UnknownReading, ec_id};
use serde::{Deserialize, Serialize};

use crate::verdict::Fail;

/// One reading as a report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingReport {
    /// The reading's id (`lock/when`).
    pub reading: String,
    /// The question.
    pub question: String,
    /// The alternative the tenant showed, when it showed one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alternative: Option<String>,
    /// What a tenant that takes it does.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub says: Option<String>,
    /// Where it showed: the check, and the step or request.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at: Option<String>,
}

impl ReadingReport {
    /// Whether the run observed it.
    pub fn observed(&self) -> bool {
        self.alternative.is_some()
    }
}

#[derive(Debug)]
struct Entry {
    alt: Alt,
    at: String,
}

/// The run's record. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Observed {
    entries: Mutex<Vec<Entry>>,
    /// Alternatives taken out of the model (see [`Observed::exclude`]).
    excluded: Mutex<Vec<Alt>>,
}

impl Observed {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes `alt` out of the model for this run: the sequence checks' model allows it
    /// nowhere and a named check that sees it fails. Only the reading matrix does this,
    /// to show that each alternative is needed: a tenant that takes one the model lacks
    /// fails.
    pub fn exclude(&self, alt: Alt) {
        self.excluded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(alt);
    }

    /// The alternatives taken out of the model.
    pub fn excluded(&self) -> Vec<Alt> {
        self.excluded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Everything recorded so far, as choices (the model starts from them).
    pub fn known(&self) -> Choices {
        let mut choices = Choices::open();
        for e in self.lock().iter() {
            choices.set(e.alt);
        }
        choices
    }

    /// Records that the tenant showed `alt` at `at`. A tenant that showed another
    /// alternative of the same reading earlier answered against its own reading: that is
    /// the error, naming both.
    pub fn record(&self, alt: Alt, at: impl Into<String>) -> Result<(), Fail> {
        let excluded = self.excluded();
        if excluded.contains(&alt) {
            let reading = alt.reading();
            let allowed: Vec<String> = reading
                .alts()
                .filter(|a| !excluded.contains(a))
                .map(|a| a.name())
                .collect();
            return Err(Fail::mismatch(
                format!(
                    "one of {} (the alternatives left in the model)",
                    allowed.join(", ")
                ),
                format!("{alt}"),
            ));
        }
        let mut entries = self.lock();
        match entries.iter().find(|e| e.alt.reading == alt.reading) {
            Some(e) if e.alt == alt => Ok(()),
            Some(e) => Err(Fail::mismatch(
                format!(
                    "{} again (readings/held: where the documents leave the choice open, a tenant keeps to the alternative it showed; it showed this one at {})",
                    e.alt, e.at
                ),
                format!("{alt}"),
            )),
            None => {
                entries.push(Entry { alt, at: at.into() });
                Ok(())
            }
        }
    }

    /// Every reading, observed or not, in the registry's order.
    pub fn report(&self) -> Vec<ReadingReport> {
        let entries = self.lock();
        ALL.iter()
            .map(|r| {
                let seen = entries.iter().find(|e| e.alt.reading == r.index);
                ReadingReport {
                    reading: r.id.to_owned(),
                    question: r.question.to_owned(),
                    alternative: seen.map(|e| e.alt.alternative().id.to_owned()),
                    says: seen.map(|e| e.alt.alternative().says.to_owned()),
                    at: seen.map(|e| e.at.clone()),
                }
            })
            .collect()
    }
}

/// Records `errors/ec-id` from every error answer of the run but those whose examples
/// show an `ecId` (wrong answers, AUTH-1111; an unknown user, AUTH-3018) and 429s: all
/// of them with one is `on-every-error`, none `where-the-examples-show-it`; a mix is
/// neither and records nothing. Never a failure. `exchanges` are the run's, each with
/// the id of its check.
pub fn observe_ec_ids<'a>(
    exchanges: impl IntoIterator<Item = (&'a str, &'a Exchange)>,
    observed: &Observed,
) {
    let mut with = 0;
    let mut without = 0;
    let mut first: Option<String> = None;
    for (check, e) in exchanges {
        let Some(status) = e.status.filter(|s| (400..500).contains(s) && *s != 429) else {
            continue;
        };
        if e.operation.is_none() {
            continue;
        }
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&e.response_body) else {
            continue;
        };
        let codes: Vec<&str> = body
            .get("cause")
            .and_then(|c| c.as_array())
            .map(|c| c.iter().filter_map(|c| c.get("code")?.as_str()).collect())
            .unwrap_or_default();
        if codes.iter().any(|c| *c == "AUTH-1111" || *c == "AUTH-3018") {
            continue;
        }
        if body
            .get("ecId")
            .and_then(|v| v.as_str())
            .is_some_and(|v| !v.is_empty())
        {
            with += 1;
        } else {
            without += 1;
        }
        first.get_or_insert_with(|| format!("{check}: {} {status}", e.method));
    }
    let alt = match (with, without) {
        (0, 0) => return,
        (_, 0) => ec_id::EVERY_ERROR,
        (0, _) => ec_id::WHERE_SHOWN,
        _ => return,
    };
    let _ = observed.record(
        alt,
        format!(
            "{} error answers of the run ({} with an ecId), the first {}",
            with + without,
            with,
            first.unwrap_or_default()
        ),
    );
}

/// The readings a report shows, as choices (what `calibrate` writes): the observed
/// ones; an unknown reading or alternative (a report of another version) is an error
/// naming it.
pub fn choices_of(reports: &[ReadingReport]) -> Result<Choices, UnknownReading> {
    let mut choices = Choices::open();
    for r in reports {
        if let Some(alt) = &r.alternative {
            choices.set(Choices::lookup(&r.reading, alt)?);
        }
    }
    Ok(choices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use idcs_mfa_model::readings::poll_other;

    // Test case: a reading is recorded once; the same alternative again is fine, another
    // one is a failure naming both and where the first was shown; the report lists every
    // reading, observed or not, and its choices round-trip.
    #[test]
    fn a_reading_is_recorded_once_and_held() {
        let o = Observed::default();
        assert_eq!(o.report().len(), ALL.len());
        assert!(o.report().iter().all(|r| !r.observed()));
        o.record(poll_other::REFUSED, "sequences/model, step 2")
            .unwrap();
        o.record(poll_other::REFUSED, "elsewhere").unwrap();
        let Err(Fail::Mismatch { expected, actual }) =
            o.record(poll_other::PENDING_UNTIL_VERIFIED, "later")
        else {
            panic!("a change of reading held");
        };
        assert!(
            expected.contains("poll/other-method=refused") && expected.contains("step 2"),
            "{expected}"
        );
        assert_eq!(actual, "poll/other-method=pending-until-verified");
        assert!(o.known().is(poll_other::REFUSED));
        let report = o.report();
        let shown: Vec<&ReadingReport> = report.iter().filter(|r| r.observed()).collect();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].alternative.as_deref(), Some("refused"));
        assert_eq!(choices_of(&report).unwrap(), o.known());
    }
}
