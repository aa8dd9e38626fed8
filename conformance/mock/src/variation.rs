//! Variations: changes to *how* the mock answers that break no documented statement.
//!
//! A [`super::Fault`] makes the mock break the contract; a `Variation` makes it answer
//! differently and still conform, as a tenant might after a release: an extra member,
//! another order. Tenant snapshots (`run --snapshots`) must report such a change as
//! drift and no check may fail on it; `conformance/runner/tests/suite/tenant_snapshots.rs` proves
//! both. Switched on with [`super::MockConfig::variations`] or `serve --variation NAME`.
//! Each variation touches one answer only, so the checks that see it are known: the
//! factor list of `GET /mfa/v1/users/{userGUID}/factors`.

crate::named::named! {
    /// One conforming change of the mock's answers. See the [module docs](self).
    pub enum Variation {
        /// The factor list carries an undeclared member, `"tenantRelease": "26.1.0"`
        /// (unknown members are allowed: reported, never a failure).
        ExtraMember = "extra_member",
        /// The factor list is in the reverse order (no order is documented).
        ReorderedFactors = "reordered_factors",
    }
    /// The name is not a variation's.
    pub struct UnknownVariation("variation", "variations");
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
