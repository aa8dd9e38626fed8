//! The registry of named checks, one file per operation of the contract.
//!
//! | file | operation |
//! | --- | --- |
//! | `user_factors.rs` | `GET /mfa/v1/users/{userGUID}/factors` (\[FACTORS\]) |
//! | `user_lookup.rs` | `GET /mfa/v1/users?userId=…` (\[PM\]) |
//! | `initiate.rs` | `POST /mfa/v1/requests` (\[INIT\]) |
//! | `request_status.rs` | `GET /mfa/v1/requests/{requestId}` (\[STATUS\]) |
//! | `complete.rs` | `PATCH /mfa/v1/requests/{requestId}` (\[VERIFY\]) |
//! | `properties.rs` | property checks over several operations |
//! | `sequences.rs` | generated sequences held to the model of the documents |
//! | `scripts.rs` | what the checks that are scripts of the model's steps share |
//! | `shrink.rs` | shrinking a failing generated input (properties and sequences) |
//!
//! Ids are `<resource>.<method>/<statement>`; they are stable: reports and CI
//! configurations refer to them.

use crate::harness::Check;

pub(crate) mod complete;
mod initiate;
pub mod properties;
mod request_status;
mod scripts;
pub mod sequences;
mod shrink;
pub(crate) mod user_factors;
mod user_lookup;

/// Every check, in registry order (by operation, then as listed in each file).
pub fn all() -> Vec<&'static Check> {
    let groups: [&'static [Check]; 7] = [
        user_factors::CHECKS,
        user_lookup::CHECKS,
        initiate::CHECKS,
        request_status::CHECKS,
        complete::CHECKS,
        properties::CHECKS,
        sequences::CHECKS,
    ];
    groups.into_iter().flatten().collect()
}

/// A GUID-shaped id that no tenant has issued (random, so it cannot collide).
pub(crate) fn unknown_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A bearer value no tenant issued (random).
pub(crate) fn bogus_token() -> idcs_mfa::Secret {
    idcs_mfa::Secret::new(format!("not-a-token-{}", unknown_id()))
}

/// Whether `check`'s exchanges are snapshotted: every check but the property and
/// sequence checks, whose requests come from a per-run seed.
pub fn is_snapshotted(check: &Check) -> bool {
    !is_drawn(check.id)
}

/// Whether the check with this id draws its inputs from the run's seed (the property
/// and sequence checks): what it sees changes with the seed, so reports compare it
/// only between runs that drew the same (`crate::diff`).
pub fn is_drawn(id: &str) -> bool {
    properties::CHECKS
        .iter()
        .chain(sequences::CHECKS)
        .any(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The tags `[TAG]` in `text`.
    fn tags(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('[') {
            let after = &rest[start + 1..];
            let Some(end) = after.find(']') else { break };
            let tag = &after[..end];
            if !tag.is_empty() && tag.chars().all(|c| c.is_ascii_uppercase()) {
                out.push(tag.to_owned());
            }
            rest = &after[end..];
        }
        out
    }

    fn x_sources(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k == "x-source"
                        && let Some(s) = v.as_str()
                    {
                        out.push(s.to_owned());
                    }
                    x_sources(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| x_sources(v, out)),
            _ => {}
        }
    }

    // Test case: every source a check, a rule of the model or the contract cites is a
    // tag that docs/sources.md defines (a heading `## [TAG] title`), and each cites one.
    #[test]
    fn every_citation_resolves_in_docs_sources() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sources.md"),
        )
        .expect("docs/sources.md");
        let defined: BTreeSet<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("## ["))
            .filter_map(|l| l.split(']').next())
            .map(str::to_owned)
            .collect();
        assert!(defined.len() >= 8, "{defined:?}");
        let mut cited: Vec<(String, String)> = Vec::new();
        for c in super::all() {
            cited.push((c.id.to_owned(), c.source.to_owned()));
        }
        for r in idcs_mfa_model::rules::ALL {
            cited.push((r.id.to_owned(), r.source.to_owned()));
        }
        let mut spec = Vec::new();
        x_sources(idcs_mfa_contract::Contract::get().document(), &mut spec);
        assert!(spec.len() > 40, "{} x-source values", spec.len());
        for s in spec {
            cited.push(("the contract".to_owned(), s));
        }
        for (who, source) in cited {
            let found = tags(&source);
            assert!(
                !found.is_empty() || source.starts_with("inferred"),
                "{who} cites {source:?}, which names no source tag"
            );
            for tag in found {
                assert!(
                    defined.contains(&tag),
                    "{who} cites [{tag}], which docs/sources.md does not define"
                );
            }
        }
    }
}
