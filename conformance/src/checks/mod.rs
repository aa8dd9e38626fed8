//! The registry of named checks, one file per operation of the contract.
//!
//! | file | operation |
//! | --- | --- |
//! | `user_factors.rs` | `GET /mfa/v1/users/{userGUID}/factors` (seed 002) |
//! | `user_lookup.rs` | `GET /mfa/v1/users?userId=…` (\[PM\]) |
//! | `initiate.rs` | `POST /mfa/v1/requests` (\[PM\]) |
//! | `request_status.rs` | `GET /mfa/v1/requests/{requestId}` (seed 000) |
//! | `complete.rs` | `PATCH /mfa/v1/requests/{requestId}` (seed 001) |
//! | `properties.rs` | property checks over several operations |
//! | `sequences.rs` | generated sequences held to the model of the documents |
//!
//! Ids are `<resource>.<method>/<statement>`; they are stable: reports and CI
//! configurations refer to them.

use crate::check::Check;

pub(crate) mod complete;
mod initiate;
pub mod properties;
mod request_status;
pub mod sequences;
mod user_factors;
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
