//! Variations: changes to *how* the mock answers that break no documented statement.
//!
//! A [`super::Fault`] makes the mock break the contract; a `Variation` makes it answer
//! differently and still conform, as a tenant might after a release: an extra member,
//! another order. Tenant snapshots (`run --snapshots`) must report such a change as
//! drift and no check may fail on it; `conformance/runner/tests/suite/tenant_snapshots.rs` proves
//! both. Switched on with [`super::MockConfig::variations`] or `serve --variation NAME`.
//! Each variation touches one answer only, so the checks that see it are known: the
//! factor list of `GET /mfa/v1/users/{userGUID}/factors`.

use serde::Serialize;

/// One conforming change of the mock's answers. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variation {
    /// The factor list carries an undeclared member, `"tenantRelease": "26.1.0"`
    /// (unknown members are allowed: reported, never a failure).
    ExtraMember,
    /// The factor list is in the reverse order (no order is documented).
    ReorderedFactors,
}

impl Variation {
    /// Every variation.
    pub const ALL: &'static [Variation] = &[Variation::ExtraMember, Variation::ReorderedFactors];

    /// The name (as on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Variation::ExtraMember => "extra_member",
            Variation::ReorderedFactors => "reordered_factors",
        }
    }
}

impl std::fmt::Display for Variation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Variation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The name is not a variation's.
#[derive(Debug, thiserror::Error)]
#[error("unknown variation {given:?}; known variations: {known}")]
pub struct UnknownVariation {
    given: String,
    known: String,
}

impl std::str::FromStr for Variation {
    type Err = UnknownVariation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variation::ALL
            .iter()
            .copied()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownVariation {
                given: s.to_owned(),
                known: Variation::ALL
                    .iter()
                    .map(|v| v.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Applies `variations` to a factor list answer: the varied body, or the answer back
/// unchanged (`Err`) when no variation is on.
pub(crate) fn factor_list(
    variations: &[Variation],
    mut body: idcs_mfa::types::UserFactors,
) -> Result<serde_json::Value, idcs_mfa::types::UserFactors> {
    if variations.is_empty() {
        return Err(body);
    }
    if variations.contains(&Variation::ReorderedFactors) {
        body.factors.reverse();
    }
    let mut value = match serde_json::to_value(&body) {
        Ok(v) => v,
        Err(_) => return Err(body),
    };
    if variations.contains(&Variation::ExtraMember)
        && let Some(map) = value.as_object_mut()
    {
        map.insert("tenantRelease".into(), "26.1.0".into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        for v in Variation::ALL {
            assert_eq!(v.name().parse::<Variation>().unwrap(), *v);
        }
        let e = "nope".parse::<Variation>().unwrap_err().to_string();
        assert!(e.contains("extra_member"), "{e}");
    }
}
