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

use crate::{
    guard::TotpFailure,
    harness::Ctx,
    target::{Source, Target},
};

/// Runs the preflight; `Ok` carries notes for the report.
pub async fn preflight(target: &Arc<Target>) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    for (key, source) in [
        ("fixtures.otp_command", &target.fixtures.otp),
        ("fixtures.push_command", &target.fixtures.push),
        ("fixtures.unlock_command", &target.fixtures.unlock),
    ] {
        if let Some(Source::Command(cmd)) = source {
            commands::check(key, cmd).await?;
        }
    }
    let guid = &target.user.guid;
    let factors = match target.client.get_user_factors(guid).await {
        Ok(r) => Some(r.value),
        Err(e) => {
            if let Some(problem) = setup_problem(target, &e) {
                return Err(problem);
            }
            notes.push(format!(
                "the test user's factors could not be read ({e}); the checks report it"
            ));
            None
        }
    };
    if let Some(factors) = &factors {
        fixtures_fit(target, factors)?;
        target.remember_factors(factors.clone());
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
            if target.can_unlock() {
                target.unlock_user().await.map_err(|why| {
                    format!("the test user {guid} is locked (401 AUTH-1010{words}) and could not be unlocked: {why}")
                })?;
                notes.push(format!(
                    "the test user was locked (401 AUTH-1010{words}); the runner unlocked them"
                ));
            } else {
                return Err(format!(
                    "the test user {guid} is locked (401 AUTH-1010{words}): unlock them in the IDCS console (or set fixtures.unlock_command) and run again"
                ));
            }
        } else if let Some(problem) = setup_problem(target, &e) {
            return Err(problem);
        }
    }
    if target.fixtures.totp.is_some() {
        match crate::guard::verify_totp(target).await {
            Ok(()) => notes.push(
                "a code of the test user's TOTP secret verified: the attempt count starts at 0"
                    .into(),
            ),
            Err(TotpFailure::Refused(e))
                if e.status().map(|s| s.as_u16()) == Some(401)
                    && !e.has_code(&AuthCode::AccountLocked) =>
            {
                // A wrong secret, or a tenant that refuses right codes: another channel
                // the profile can read tells them apart.
                target
                    .fixtures
                    .totp_failed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                let words = tenant_words(&e);
                let factor = target.fixtures.totp.as_ref().map_or("", |(id, _)| id.as_str());
                let wrong_secret = |other: &str| {
                    format!(
                        "the tenant refused the TOTP code computed from the profile's secret (401{words}){other}: check fixtures.totp_secret_env (the base32 secret of factor {factor}) and this machine's clock; the refusal may have spent one attempt"
                    )
                };
                let limits = crate::guard::Limits::of(target);
                if target.fixtures.otp.is_none() {
                    return Err(wrong_secret(
                        " and the profile has no other channel to tell a wrong secret from a tenant that refuses right codes (fixtures.otp_command)",
                    ));
                }
                if !limits.safe(target.ledger.state().count, 2) {
                    return Err(wrong_secret(
                        " and the attempt budget leaves no room to try a delivered OTP instead",
                    ));
                }
                match crate::guard::verify_delivered_otp(target).await {
                    Ok(()) => return Err(wrong_secret(", while a delivered OTP verified")),
                    Err(TotpFailure::Refused(other))
                        if other.status().map(|s| s.as_u16()) == Some(401)
                            && !other.has_code(&AuthCode::AccountLocked) =>
                    {
                        notes.push(format!(
                            "the tenant refused right codes on every channel the profile can read: the TOTP of fixtures.totp_secret_env (401{words}) and a delivered OTP (401{}); the checks that verify a right code report it",
                            tenant_words(&other)
                        ));
                    }
                    Err(other) => {
                        return Err(wrong_secret(&format!(
                            ", and a delivered OTP could not be tried instead ({other})"
                        )));
                    }
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

/// The one-line set-up problem an error stands for, if it stands for one.
fn setup_problem(target: &Target, e: &Error) -> Option<String> {
    let base = &target.base_url;
    if e.is_unreached() {
        return Some(format!("cannot reach the tenant at {base}: {e}"));
    }
    let status = e.status()?.as_u16();
    let words = tenant_words(e);
    match status {
        401 => Some(format!(
            "the tenant at {base} refused the token (401{words}): check that the profile's token (auth.token_env, auth.token_file or the client credentials) is a current access token of an application with the MFA Client role"
        )),
        403 => Some(format!(
            "the tenant at {base} refused the token's rights (403{words}): the application needs the MFA Client role"
        )),
        404 if e.has_code(&AuthCode::UserNotFound) => Some(format!(
            "the tenant at {base} has no user {} (404{words}): check [user] guid in the profile (or --user-guid)",
            target.user.guid
        )),
        404 if e.body().is_none() => Some(format!(
            "the tenant at {base} answered 404 without the API's error body to GET /mfa/v1/users/{{userGUID}}/factors: is the base URL the tenant's own (https://idcs-….identity.oraclecloud.com, with no path)?"
        )),
        _ => None,
    }
}

/// Each fixture the profile gives must fit the user's enrolment.
fn fixtures_fit(target: &Target, factors: &types::UserFactors) -> Result<(), String> {
    let guid = &target.user.guid;
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
    if let Some((factor, _)) = &target.fixtures.totp {
        let fits = factors
            .factors
            .iter()
            .any(|f| &f.factor_id == factor && f.methods.contains(&Method::Totp));
        if !fits {
            return Err(format!(
                "fixtures.totp_factor_id {factor} is not a TOTP factor of the test user {guid}; the tenant lists: {}",
                listed()
            ));
        }
    }
    let from_profile = |s: &Option<Source>| matches!(s, Some(Source::Command(_)));
    let wants = [
        (
            from_profile(&target.fixtures.otp),
            "fixtures.otp_command",
            &[Method::Sms, Method::Email, Method::PhoneCall][..],
        ),
        (
            from_profile(&target.fixtures.push),
            "fixtures.push_command",
            &[Method::Push][..],
        ),
        (
            !target.fixtures.answers.is_empty(),
            "fixtures.security_answers_env",
            &[Method::SecurityQuestions][..],
        ),
        (
            target
                .fixtures
                .bypass_codes
                .lock()
                .is_ok_and(|c| !c.is_empty()),
            "fixtures.bypass_codes_env",
            &[Method::Bypasscode][..],
        ),
    ];
    for (given, key, methods) in wants {
        if given && !methods.iter().any(has) {
            let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            return Err(format!(
                "{key} is set, but the test user {guid} has no {} factor; the tenant lists: {}",
                names.join(" or "),
                listed()
            ));
        }
    }
    Ok(())
}
