//! The preflight: a few requests before any check that tell a set-up problem from a
//! contract failure.
//!
//! 0. Each fixture command of the profile (`fixtures.otp_command`, `push_command`,
//!    `unlock_command`) can run, without running it: the command line parses (`sh -n`),
//!    its program exists (a path, or a command `sh` finds on `PATH`), is executable,
//!    and a script's interpreter (its `#!` line) is installed. A command that would
//!    exit 126 or 127 is caught here, before any request, with the key and the fix.
//! 1. `GET /mfa/v1/users/{userGUID}/factors` of the test user: the base URL is
//!    reachable (name, connection, TLS), the token is accepted, the user exists.
//! 2. The fixtures fit what the tenant says: the TOTP factor id is one of the user's
//!    TOTP factors, and each fixture's method is enrolled.
//! 3. The user is not locked: one initiate of a factor whose initiation sends nothing
//!    (TOTP, BYPASSCODE, SECURITY_QUESTIONS, then PUSH), which spends no attempt. A
//!    locked user is unlocked when the runner can (`fixtures.unlock_command`, the mock),
//!    and is otherwise an error of the run.
//! 4. The TOTP secret works, when the profile gives one: one verification with its code
//!    now. Accepted, it sets the count to 0 (the runner's first reset would have done
//!    the same). Refused, a delivered OTP (`fixtures.otp_command`) tells a wrong secret
//!    from a tenant that refuses right codes: it verifies, and the run stops before any
//!    check (a wrong secret would fail the TOTP checks and spend an attempt at every
//!    reset tried with it); it is refused too, and right codes refused on every channel
//!    the profile can read are the tenant's failure, which the checks report. Without
//!    another channel (or room in the attempt budget to try one) the run stops, naming
//!    both causes.
//!
//! Each problem is one message naming the cause and the fix, with the tenant's own
//! words where it gave some; the command line exits 2 with it. An answer that breaks
//! the contract is not a preflight problem: the checks report it.

use std::sync::Arc;

use idcs_mfa::{AuthCode, Error, Initiate, Method, UserRef, types};

mod commands;

pub use commands::CommandProblem;

use crate::{
    guard::VerifyError,
    harness::Ctx,
    source::{FixtureError, Source},
    target::Target,
};

/// A set-up problem the preflight found: one line naming the cause and the fix, with
/// the tenant's own words (`words`, empty or `: "…"`) where it gave some.
#[derive(Debug, thiserror::Error)]
pub enum SetupProblem {
    /// A fixture command cannot run.
    #[error(transparent)]
    Command(#[from] CommandProblem),
    /// The tenant cannot be reached.
    #[error("cannot reach the tenant at {base}: {error}")]
    Unreachable {
        /// The base URL.
        base: String,
        /// Why.
        error: Error,
    },
    /// The token is refused.
    #[error(
        "the tenant at {base} refused the token (401{words}): check that the profile's token (auth.token_env, auth.token_file or the client credentials) is a current access token of an application with the MFA Client role"
    )]
    TokenRefused {
        /// The base URL.
        base: String,
        /// The tenant's words.
        words: String,
    },
    /// The token lacks the role.
    #[error(
        "the tenant at {base} refused the token's rights (403{words}): the application needs the MFA Client role"
    )]
    NoRights {
        /// The base URL.
        base: String,
        /// The tenant's words.
        words: String,
    },
    /// The test user does not exist.
    #[error(
        "the tenant at {base} has no user {guid} (404{words}): check [user] guid in the profile (or --user-guid)"
    )]
    NoUser {
        /// The base URL.
        base: String,
        /// The test user's GUID.
        guid: String,
        /// The tenant's words.
        words: String,
    },
    /// The base URL answers 404 without the API's error body.
    #[error(
        "the tenant at {base} answered 404 without the API's error body to GET /mfa/v1/users/{{userGUID}}/factors: is the base URL the tenant's own (https://idcs-….identity.oraclecloud.com, with no path)?"
    )]
    NotTheApi {
        /// The base URL.
        base: String,
    },
    /// The TOTP fixture names a factor that is not one of the user's TOTP factors.
    #[error(
        "fixtures.totp_factor_id {factor} is not a TOTP factor of the test user {guid}; the tenant lists: {listed}"
    )]
    NotATotpFactor {
        /// The factor id.
        factor: String,
        /// The test user's GUID.
        guid: String,
        /// The user's factors, with their methods.
        listed: String,
    },
    /// A fixture is given for a method the user has not enrolled.
    #[error(
        "{key} is set, but the test user {guid} has no {methods} factor; the tenant lists: {listed}"
    )]
    NotEnrolled {
        /// The profile key.
        key: &'static str,
        /// The test user's GUID.
        guid: String,
        /// The methods the fixture is for, `A or B`.
        methods: String,
        /// The user's factors, with their methods.
        listed: String,
    },
    /// The test user is locked and the runner cannot unlock them.
    #[error(
        "the test user {guid} is locked (401 AUTH-1010{words}): unlock them in the IDCS console (or set fixtures.unlock_command) and run again"
    )]
    Locked {
        /// The test user's GUID.
        guid: String,
        /// The tenant's words.
        words: String,
    },
    /// The test user is locked and the unlock failed.
    #[error(
        "the test user {guid} is locked (401 AUTH-1010{words}) and could not be unlocked: {why}"
    )]
    StaysLocked {
        /// The test user's GUID.
        guid: String,
        /// The tenant's words.
        words: String,
        /// Why the unlock failed.
        why: Box<FixtureError>,
    },
    /// The tenant refused the TOTP code of the profile's secret, and nothing shows that
    /// it refuses right codes.
    #[error(
        "the tenant refused the TOTP code computed from the profile's secret (401{words}){otherwise}: check fixtures.totp_secret_env (the base32 secret of factor {factor}) and this machine's clock; the refusal may have spent one attempt"
    )]
    TotpRefused {
        /// The tenant's words.
        words: String,
        /// What the delivered OTP showed, or why it was not tried.
        otherwise: OtherChannel,
        /// The TOTP factor.
        factor: String,
    },
}

/// What another channel said when the tenant refused the TOTP code of the profile's
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum OtherChannel {
    /// The profile has none.
    #[error(
        " and the profile has no other channel to tell a wrong secret from a tenant that refuses right codes (fixtures.otp_command)"
    )]
    None,
    /// The attempt budget leaves no room for it.
    #[error(" and the attempt budget leaves no room to try a delivered OTP instead")]
    NoRoom,
    /// A delivered OTP verified: the secret is wrong.
    #[error(", while a delivered OTP verified")]
    Verified,
    /// A delivered OTP could not be tried.
    #[error(", and a delivered OTP could not be tried instead ({0})")]
    Untried(Box<VerifyError>),
}

/// Runs the preflight; `Ok` carries notes for the report.
pub async fn preflight(target: &Arc<Target>) -> Result<Vec<String>, SetupProblem> {
    let mut notes = Vec::new();
    let tenant = target.tenant();
    for (key, source) in [
        ("fixtures.otp_command", &tenant.fixtures.otp),
        ("fixtures.push_command", &tenant.fixtures.push),
        ("fixtures.unlock_command", &tenant.fixtures.unlock),
    ] {
        if let Some(Source::Command(cmd)) = source {
            commands::check(key, cmd).await?;
        }
    }
    let guid = &tenant.user.guid;
    let factors = match tenant.client.get_user_factors(guid).await {
        Ok(r) => Some(r.value),
        Err(e) => {
            let e = setup_problem(target, e)?;
            notes.push(format!(
                "the test user's factors could not be read ({e}); the checks report it"
            ));
            None
        }
    };
    if let Some(factors) = &factors {
        fixtures_fit(target, factors)?;
        tenant.remember_factors(factors.clone());
    }
    // Is the user locked? Ask with an initiate that sends nothing.
    let quiet = [
        Method::Totp,
        Method::Bypasscode,
        Method::SecurityQuestions,
        Method::Push,
    ];
    let quiet = factors.as_ref().and_then(|f| {
        quiet.into_iter().find_map(|m| {
            f.factors
                .iter()
                .find(|x| x.methods.contains(&m))
                .map(|x| (x.factor_id.clone(), m))
        })
    });
    let Some((factor, method)) = quiet else {
        notes.push(
            "could not tell whether the test user is locked without sending an OTP (no TOTP, BYPASSCODE, SECURITY_QUESTIONS or PUSH factor)"
                .into(),
        );
        return Ok(notes);
    };
    let cx = Ctx::new(target.clone());
    let initiate = Initiate::factor(UserRef::Guid(guid.clone()), factor, method);
    if let Err(e) = cx.client().initiate(&initiate).await {
        if e.has_code(&AuthCode::AccountLocked) {
            let words = tenant_words(&e);
            if tenant.can_unlock() {
                if let Err(why) = target.unlock_user().await {
                    return Err(SetupProblem::StaysLocked {
                        guid: guid.clone(),
                        words,
                        why: Box::new(why),
                    });
                }
                notes.push(format!(
                    "the test user was locked (401 AUTH-1010{words}); the runner unlocked them"
                ));
            } else {
                return Err(SetupProblem::Locked {
                    guid: guid.clone(),
                    words,
                });
            }
        } else {
            setup_problem(target, e)?;
        }
    }
    if tenant.fixtures.totp.is_some() {
        match crate::guard::verify_totp(target).await {
            Ok(()) => notes.push(
                "a code of the test user's TOTP secret verified: the attempt count starts at 0"
                    .into(),
            ),
            Err(VerifyError::Refused(e))
                if e.status().map(|s| s.as_u16()) == Some(401)
                    && !e.has_code(&AuthCode::AccountLocked) =>
            {
                // A wrong secret, or a tenant that refuses right codes: another channel
                // the profile can read tells them apart.
                tenant
                    .fixtures
                    .totp_failed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                let words = tenant_words(&e);
                let factor = tenant.fixtures.totp.as_ref().map_or("", |(id, _)| id.as_str());
                let wrong_secret = |otherwise| SetupProblem::TotpRefused {
                    words: words.clone(),
                    otherwise,
                    factor: factor.to_owned(),
                };
                let limits = crate::guard::Limits::of(target);
                if tenant.fixtures.otp.is_none() {
                    return Err(wrong_secret(OtherChannel::None));
                }
                if !limits.safe(target.safety().ledger.state().count, 2) {
                    return Err(wrong_secret(OtherChannel::NoRoom));
                }
                match crate::guard::verify_delivered_otp(target).await {
                    Ok(()) => return Err(wrong_secret(OtherChannel::Verified)),
                    Err(VerifyError::Refused(other))
                        if other.status().map(|s| s.as_u16()) == Some(401)
                            && !other.has_code(&AuthCode::AccountLocked) =>
                    {
                        notes.push(format!(
                            "the tenant refused right codes on every channel the profile can read: the TOTP of fixtures.totp_secret_env (401{words}) and a delivered OTP (401{}); the checks that verify a right code report it",
                            tenant_words(&other)
                        ));
                    }
                    Err(other) => return Err(wrong_secret(OtherChannel::Untried(Box::new(other)))),
                }
            }
            Err(e) => notes.push(format!(
                "a TOTP verification with the profile's secret did not succeed ({e}); the checks report it"
            )),
        }
    }
    Ok(notes)
}

/// The tenant's own cause text, as ` ("…")`, when it gave one.
fn tenant_words(e: &Error) -> String {
    let words: Vec<&str> = e
        .causes()
        .iter()
        .map(|c| c.message.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    if words.is_empty() {
        String::new()
    } else {
        format!(": \"{}\"", words.join("; "))
    }
}

/// The set-up problem an error stands for, if it stands for one; otherwise the error
/// back, for the checks to report.
fn setup_problem(target: &Target, e: Error) -> Result<Error, SetupProblem> {
    let base = target.tenant().base_url.clone();
    if e.is_unreached() {
        return Err(SetupProblem::Unreachable { base, error: e });
    }
    let Some(status) = e.status().map(|s| s.as_u16()) else {
        return Ok(e);
    };
    let words = tenant_words(&e);
    Err(match status {
        401 => SetupProblem::TokenRefused { base, words },
        403 => SetupProblem::NoRights { base, words },
        404 if e.has_code(&AuthCode::UserNotFound) => SetupProblem::NoUser {
            base,
            guid: target.tenant().user.guid.clone(),
            words,
        },
        404 if e.body().is_none() => SetupProblem::NotTheApi { base },
        _ => return Ok(e),
    })
}

/// Each fixture the profile gives must fit the user's enrolment.
fn fixtures_fit(target: &Target, factors: &types::UserFactors) -> Result<(), SetupProblem> {
    let fixtures = &target.tenant().fixtures;
    let guid = &target.tenant().user.guid;
    let listed = || {
        factors
            .factors
            .iter()
            .map(|f| {
                let methods: Vec<&str> = f.methods.iter().map(|m| m.as_str()).collect();
                format!("{} ({})", f.factor_id, methods.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let has = |m: &Method| factors.factors.iter().any(|f| f.methods.contains(m));
    if let Some((factor, _)) = &fixtures.totp {
        let fits = factors
            .factors
            .iter()
            .any(|f| &f.factor_id == factor && f.methods.contains(&Method::Totp));
        if !fits {
            return Err(SetupProblem::NotATotpFactor {
                factor: factor.clone(),
                guid: guid.clone(),
                listed: listed(),
            });
        }
    }
    let from_profile = |s: &Option<Source>| matches!(s, Some(Source::Command(_)));
    let wants = [
        (
            from_profile(&fixtures.otp),
            "fixtures.otp_command",
            &[Method::Sms, Method::Email, Method::PhoneCall][..],
        ),
        (
            from_profile(&fixtures.push),
            "fixtures.push_command",
            &[Method::Push][..],
        ),
        (
            !fixtures.answers.is_empty(),
            "fixtures.security_answers_env",
            &[Method::SecurityQuestions][..],
        ),
        (
            fixtures.bypass_codes.lock().is_ok_and(|c| !c.is_empty()),
            "fixtures.bypass_codes_env",
            &[Method::Bypasscode][..],
        ),
    ];
    for (given, key, methods) in wants {
        if given && !methods.iter().any(has) {
            let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            return Err(SetupProblem::NotEnrolled {
                key,
                guid: guid.clone(),
                methods: names.join(" or "),
                listed: listed(),
            });
        }
    }
    Ok(())
}
