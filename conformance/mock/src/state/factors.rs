//! The factor listing: `GET /mfa/v1/users/{userGUID}/factors` and the look-up by name
//! (`GET /mfa/v1/users`). Outside the model, but for the readings it takes
//! (`lock/lookup`, `users/unknown-by-name`).

use idcs_mfa::{AuthCode, Status, types};
use idcs_mfa_model::readings::{lock_lookup, unknown_by_name};

use super::{Settings, State, user_not_found};
use crate::{deviate, fixture::UserFixture, reply::ApiError};

impl State {
    /// `GET /mfa/v1/users/{userGUID}/factors` and the look-up by name: the listing,
    /// as the faults make it (`deviate`). A locked user's listing is refused under
    /// `lock/lookup=refused-401`; an unknown name is listed empty under
    /// `users/unknown-by-name=empty-200` (`by_name`).
    pub(crate) fn user_factors(
        &self,
        settings: &Settings,
        user: Option<&UserFixture>,
        asked_id: &str,
        by_name: bool,
    ) -> Result<types::UserFactors, ApiError> {
        let locked = user
            .and_then(|u| self.users.get(&u.user_guid))
            .is_some_and(|b| b.model.locked());
        if locked && settings.readings.is(lock_lookup::REFUSED_401) {
            return Err(account_locked());
        }
        if user.is_none() && by_name && settings.readings.is(unknown_by_name::EMPTY_200) {
            return Ok(types::UserFactors {
                status: Status::Success,
                user_guid: String::new(),
                factors: Vec::new(),
                preferred_factor_id: None,
                preferred_method: None,
            });
        }
        deviate::factors_answer(self.faults, asked_id, Self::documented_factors(user))
    }

    /// The documented listing.
    fn documented_factors(user: Option<&UserFixture>) -> Result<types::UserFactors, ApiError> {
        let user = user.ok_or_else(user_not_found)?;
        let factors: Vec<types::Factor> = user
            .factors
            .iter()
            .map(|f| types::Factor {
                factor_id: f.factor_id.clone(),
                display_name: f.display_name.clone(),
                methods: f.methods.clone(),
            })
            .collect();
        Ok(types::UserFactors {
            status: Status::Success,
            user_guid: user.user_guid.clone(),
            factors,
            preferred_factor_id: user.preferred_factor_id.clone(),
            preferred_method: user.preferred_method.clone(),
        })
    }
}

/// 401 AUTH-1010.
fn account_locked() -> ApiError {
    ApiError::unauthorized(
        AuthCode::AccountLocked,
        "Your account is locked. Contact your administrator.",
    )
}
