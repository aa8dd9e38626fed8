//! The runner's safety rules for the test user's attempt count: how high a run may
//! take it, and how it brings it back to 0.
//!
//! The [`crate::ledger::Ledger`] predicts the count from every exchange; each check
//! declares the most it can raise the count (`spends`). Before a check, the runner
//! asks the guard: a check that could take the predicted count past the run's
//! **ceiling** first gets the count reset by a successful verification (or an unlock),
//! and is skipped with the reason when that is not possible. The ceiling is
//! `min(attempt budget, maximum − 1)`: the count never reaches the tenant's maximum, so
//! the user is never locked, unless `--allow-lockout` runs the lockout checks.
//!
//! - **The maximum** is `safety.max_attempts`, or the mock's own setting; when it is
//!   unknown the runner assumes [`ASSUMED_MAX_ATTEMPTS`] and says so in the report.
//! - **The budget** is `--attempt-budget`, or `safety.attempt_budget`. By default it
//!   is [`DEFAULT_ATTEMPT_BUDGET`] when a fixture can reset the count, `maximum − 1`
//!   when the runner can unlock the user (the mock tenant, `fixtures.unlock_command`),
//!   and **0** when nothing can reset it: the runner cannot know the count a user
//!   starts with, and what a run leaves behind adds up over runs, so it spends nothing
//!   it cannot take back unless the operator sets a budget.
//! - **The start**: when anything can reset the count, the runner does so before the
//!   first check, so the count is known; otherwise it assumes 0 and says so.
//! - **Resets** are tried in this order, each only when even its worst case (a wrong
//!   code) keeps the count below the maximum: a TOTP code (sends nothing), an OTP read
//!   by `fixtures.otp_command` (its send counts first), a bypass code when at least two
//!   are left (checks need them too), then an unlock.

use std::{fmt, sync::atomic::Ordering};

use idcs_mfa::{Initiate, Method};
use serde::Serialize;

use crate::{harness::Ctx, source::FixtureError, target::Target};

/// The maximum assumed when the profile does not give one. The documents give no
/// default and no range ("After the user meets their maximum login attempts"); 3 is
/// decided here as the lowest setting a tenant plausibly has. A tenant set lower than
/// that must say so with `safety.max_attempts`.
pub const ASSUMED_MAX_ATTEMPTS: u32 = 3;

/// The attempt budget when neither the command line nor the profile sets one, a
/// fixture can reset the count, and the runner cannot unlock the user.
pub const DEFAULT_ATTEMPT_BUDGET: u32 = 2;

/// Whether some fixture of `target` can bring the count back to 0: a TOTP secret, an
/// OTP command, two or more bypass codes, or an unlock.
pub fn can_reset(target: &Target) -> bool {
    let tenant = target.tenant();
    tenant.fixtures.totp.is_some()
        || tenant.fixtures.otp.is_some()
        || tenant
            .fixtures
            .bypass_codes
            .lock()
            .is_ok_and(|c| c.len() >= 2)
        || tenant.can_unlock()
}

/// Where the maximum came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxSource {
    /// `safety.max_attempts` (or the mock's own setting).
    Profile,
    /// Not given: [`ASSUMED_MAX_ATTEMPTS`].
    Assumed,
}

/// The run's limits on the test user's attempt count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The tenant's maximum (known or assumed).
    pub max_attempts: u32,
    /// Where it came from.
    pub max_source: MaxSource,
    /// The attempt budget in force.
    pub budget: u32,
    /// The highest count a check may take the user to: `min(budget, max − 1)`.
    pub ceiling: u32,
}

impl Limits {
    /// The limits of `target`.
    pub fn of(target: &Target) -> Limits {
        let safety = target.safety();
        let (max_attempts, max_source) = match safety.max_attempts {
            Some(max) => (max, MaxSource::Profile),
            None => (ASSUMED_MAX_ATTEMPTS, MaxSource::Assumed),
        };
        let budget = safety
            .attempt_budget
            .unwrap_or(if target.tenant().can_unlock() {
                max_attempts.saturating_sub(1)
            } else if can_reset(target) {
                DEFAULT_ATTEMPT_BUDGET
            } else {
                0
            });
        Limits {
            max_attempts,
            max_source,
            budget,
            ceiling: budget.min(max_attempts.saturating_sub(1)),
        }
    }

    /// Whether `count` plus `rise` stays below the maximum.
    pub(crate) fn safe(&self, count: u32, rise: u32) -> bool {
        count.saturating_add(rise) < self.max_attempts
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the tenant locks the user at {} attempts{}; this run keeps the count at or below {}",
            self.max_attempts,
            match self.max_source {
                MaxSource::Profile => "",
                MaxSource::Assumed => " (assumed: the profile gives no safety.max_attempts)",
            },
            self.ceiling
        )
    }
}

/// How the count went back to 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// A successful verification.
    Verified(&'static str),
    /// An unlock.
    Unlocked,
}

/// Why the count could not be brought back to 0.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// No fixture can reset it.
    #[error(
        "no fixture can: fixtures.totp_secret_env, fixtures.otp_command, two or more bypass codes, or fixtures.unlock_command"
    )]
    NoFixture,
    /// Every verification tried failed (what each did, in order), and nothing can
    /// unlock the user.
    #[error("{}, and no fixture can unlock the user (fixtures.unlock_command)", .0.join("; "))]
    Tried(Vec<String>),
    /// The unlock failed.
    #[error(transparent)]
    Unlock(#[from] FixtureError),
}

/// Brings the predicted count back to 0 (see the [module docs](self) for the order).
pub async fn reset_count(
    target: &std::sync::Arc<Target>,
    limits: Limits,
) -> Result<Reset, ResetError> {
    let ledger = &target.safety().ledger;
    let fixtures = &target.tenant().fixtures;
    let state = ledger.state();
    if !state.locked {
        let mut tried = Vec::new();
        let totp_failed = &fixtures.totp_failed;
        if fixtures.totp.is_some()
            && !totp_failed.load(Ordering::Relaxed)
            && limits.safe(state.count, 1)
        {
            match verify_totp(target).await {
                Ok(()) if ledger.state().count == 0 => {
                    return Ok(Reset::Verified("a TOTP code"));
                }
                Ok(()) => {
                    tried.push("a TOTP code was accepted but the count did not reset".to_owned())
                }
                Err(e) => {
                    // Never again in this run: a refused code may have spent an attempt.
                    totp_failed.store(true, Ordering::Relaxed);
                    tried.push(format!("a TOTP verification failed: {e}"));
                }
            }
        }
        let state = ledger.state();
        if fixtures.otp.is_some() && limits.safe(state.count, 2) {
            match verify_delivered_otp(target).await {
                Ok(()) if ledger.state().count == 0 => {
                    return Ok(Reset::Verified("a delivered OTP"));
                }
                Ok(()) => tried
                    .push("a delivered OTP was accepted but the count did not reset".to_owned()),
                Err(e) => tried.push(format!("an OTP verification failed: {e}")),
            }
        }
        let state = ledger.state();
        let codes_left = fixtures.bypass_codes.lock().map(|c| c.len()).unwrap_or(0);
        if codes_left >= 2 && limits.safe(state.count, 1) {
            match verify_bypass_code(target).await {
                Ok(()) if ledger.state().count == 0 => {
                    return Ok(Reset::Verified("a bypass code"));
                }
                Ok(()) => {
                    tried.push("a bypass code was accepted but the count did not reset".to_owned())
                }
                Err(e) => tried.push(format!("a bypass code verification failed: {e}")),
            }
        }
        if !target.tenant().can_unlock() {
            return Err(if tried.is_empty() {
                ResetError::NoFixture
            } else {
                ResetError::Tried(tried)
            });
        }
    }
    target.unlock_user().await?;
    Ok(Reset::Unlocked)
}

/// Why a verification with a right code (of the profile's TOTP secret, delivered, or a
/// bypass code) did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// No code or no request to verify it on (the secret, the initiate).
    #[error("{0}")]
    Before(String),
    /// The tenant answered the verification with an error.
    #[error("{0}")]
    Refused(idcs_mfa::Error),
}

/// A check-harness failure before the verification (no code, no request) says why.
impl From<crate::harness::Fail> for VerifyError {
    fn from(fail: crate::harness::Fail) -> Self {
        VerifyError::Before(fail.to_string())
    }
}

/// Verifies the TOTP factor of the profile with the code of its secret now.
pub(crate) async fn verify_totp(target: &std::sync::Arc<Target>) -> Result<(), VerifyError> {
    let cx = Ctx::new(target.clone());
    let (factor, code) = cx.totp_now()?;
    let mut v = cx
        .initiate_with(&Initiate::factor(cx.user(), factor.clone(), Method::Totp))
        .await?;
    // A request for another factor would refuse the code (and count it): the tenant's
    // deviation, for the checks to report, not a verdict on the secret.
    if v.factor_id() != factor || *v.method() != Method::Totp {
        return Err(VerifyError::Before(format!(
            "the tenant opened factor {} ({}) instead of TOTP factor {factor}",
            v.factor_id(),
            v.method()
        )));
    }
    cx.client()
        .verify_otp(&mut v, code)
        .await
        .map(|_| ())
        .map_err(VerifyError::Refused)
}

/// Verifies a delivered OTP (SMS, then EMAIL, then PHONE_CALL): an initiate, the OTP
/// from the profile's command, the verification.
pub(crate) async fn verify_delivered_otp(
    target: &std::sync::Arc<Target>,
) -> Result<(), VerifyError> {
    let cx = Ctx::new(target.clone());
    for method in [Method::Sms, Method::Email, Method::PhoneCall] {
        if cx.factor_with(&method).await.is_err() {
            continue;
        }
        let mut v = cx.initiate(method).await?;
        let otp = cx.delivered_otp(&v).await?;
        return cx
            .client()
            .verify_otp(&mut v, otp)
            .await
            .map(|_| ())
            .map_err(VerifyError::Refused);
    }
    Err(VerifyError::Before(
        "the test user has no SMS, EMAIL or PHONE_CALL factor for the OTP command".to_owned(),
    ))
}

/// Verifies one of the profile's bypass codes.
async fn verify_bypass_code(target: &std::sync::Arc<Target>) -> Result<(), VerifyError> {
    let cx = Ctx::new(target.clone());
    let code = cx.take_bypass_code()?;
    let mut v = cx.initiate_with(&Initiate::bypass_code(cx.user())).await?;
    cx.client()
        .verify_bypass_code(&mut v, code)
        .await
        .map(|_| ())
        .map_err(VerifyError::Refused)
}
