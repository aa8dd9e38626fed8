//! What a check is, and the shared assertions checks are written with.
//!
//! A [`Check`] asserts one documented statement. It carries a stable hierarchical id
//! (`requests.get/push-pending-is-200`), the operation it exercises, the sentence it
//! asserts quoted with its source, and an [`Evidence`] level. Its `run` function
//! returns `Ok(())` (pass) or a [`Fail`] (a mismatch with expected and actual, or a
//! skip with its reason). The runner adds what every check gets for free: each
//! response it caused is validated against the contract's schema for its status.

use std::{fmt, future::Future, pin::Pin};

use idcs_mfa::{Error, Response, Status};
use serde::Serialize;

use crate::target::Target;

mod ctx;

pub use ctx::{Auth, Ctx, RawResponse};

pub use crate::verdict::{CheckResult, Fail};

pub use idcs_mfa_model::Evidence;

pub use idcs_mfa::Operation;

/// What a check needs from the target beyond a token and a test user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// Reading an OTP delivered by SMS, EMAIL or PHONE_CALL.
    DeliveredOtp,
    /// The TOTP secret of a factor.
    TotpSecret,
    /// Unused bypass codes.
    BypassCode,
    /// The answers to the security questions.
    SecurityAnswers,
    /// Approving or rejecting a PUSH on the user's behalf.
    PushControl,
    /// Driving the test user into lockout (run only with `--allow-lockout`, last, each
    /// after a reset of the count to 0; the runner unlocks the user afterwards when it
    /// can).
    Lockout,
    /// Starting from an attempt count of 0 (the runner resets it first, and skips the
    /// check when it cannot).
    CountAtZero,
    /// Taking the count to one short of the maximum: it locks only a tenant that breaks
    /// the rule (run only with `--allow-lockout`, before the checks that lock).
    NearLockout,
    /// Knowing which roles the token holds.
    TokenRoles,
    /// A second token holding only the "Authenticator Client" role.
    AuthenticatorToken,
}

/// The boxed future of a run function. Not `Send`: proptest's value trees are not, and
/// checks run concurrently on the runner's task rather than on other threads.
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + 'a>>;

/// One named check: it asserts one documented statement, carries a stable hierarchical
/// id (`requests.get/push-pending-is-200`), the operation it exercises, the sentence it
/// asserts quoted with its source, and an [`Evidence`] level. Its `run` function
/// returns `Ok(())` (pass) or a [`Fail`]. The runner adds what every check gets for
/// free: each response it caused is validated against the contract's schema for its
/// status.
pub struct Check {
    /// Stable hierarchical id, `<group>/<name>`.
    pub id: &'static str,
    /// The operation it exercises.
    pub operation: Operation,
    /// The documented sentence it asserts, quoted.
    pub quote: &'static str,
    /// Where the sentence comes from: a source tag of docs/sources.md (`[VERIFY]`, `[PM]`).
    pub source: &'static str,
    /// How strongly the documents support it.
    pub evidence: Evidence,
    /// The most it can raise the test user's MFA attempt count above where it started,
    /// as the runner's ledger predicts it (its worse cases included): OTPs it sends,
    /// verifications that fail. The runner admits it only when that keeps the count
    /// under the run's ceiling (docs/running.md, safety); a test runs every check against the
    /// mock tenant, with and without faults, and holds each to its declaration.
    pub spends: u32,
    /// What it needs from the target.
    pub needs: &'static [Need],
    /// Runs it.
    pub run: for<'a> fn(&'a Ctx) -> RunFuture<'a>,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Declares a [`Check`] whose run function is an `async fn(&Ctx) -> CheckResult`
/// (`run: f`), or an `async fn(&Ctx, ARGS) -> CheckResult` given its other arguments
/// (`run: f(ARGS)`).
#[macro_export]
macro_rules! check {
    (@run $run:ident($($arg:expr),+ $(,)?) $(,)?) => {
        |cx| Box::pin($run(cx, $($arg),+))
    };
    (@run $run:path $(,)?) => {
        |cx| Box::pin($run(cx))
    };
    (
        id: $id:literal,
        operation: $op:ident,
        quote: $quote:expr,
        source: $source:literal,
        evidence: $ev:ident,
        $(spends: $spends:literal,)?
        $(needs: [$($need:ident),* $(,)?],)?
        run: $($run:tt)+
    ) => {
        $crate::harness::Check {
            id: $id,
            operation: $crate::harness::Operation::$op,
            quote: $quote,
            source: $source,
            evidence: $crate::harness::Evidence::$ev,
            spends: 0 $(+ $spends)?,
            needs: &[$($($crate::harness::Need::$need),*)?],
            run: $crate::check!(@run $($run)+),
        }
    };
}

// ---------------------------------------------------------------------------------------
// Shared assertions (the verifier). Each returns the value it checked on success so
// checks read top to bottom.
// ---------------------------------------------------------------------------------------

/// Describes an outcome in one line for `actual`.
pub fn describe<T>(result: &Result<Response<T>, Error>) -> String {
    match result {
        Ok(r) => format!("{} {}", r.status.as_u16(), short_body(&r.raw)),
        Err(e) => describe_error(e),
    }
}

/// Describes an error in one line for `actual`.
pub fn describe_error(e: &Error) -> String {
    match e.status() {
        Some(s) => {
            let codes: Vec<String> = e.causes().iter().map(|c| c.code.clone()).collect();
            if codes.is_empty() {
                format!("{} ({e})", s.as_u16())
            } else {
                format!("{} with {}", s.as_u16(), codes.join(", "))
            }
        }
        None => format!("no HTTP status ({e})"),
    }
}

fn short_body(raw: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(raw).into_owned();
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(raw) {
        idcs_mfa::redact_json(&mut value);
        text = value.to_string();
    }
    if text.len() > 160 {
        let mut cut = 160;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Expects a success with `status`; returns the response.
pub fn expect_ok<T>(result: Result<Response<T>, Error>, status: u16) -> Result<Response<T>, Fail> {
    match result {
        Ok(r) if r.status.as_u16() == status => Ok(r),
        other => Err(Fail::mismatch(format!("HTTP {status}"), describe(&other))),
    }
}

/// Expects an error answer with `status` and, when given, the AUTH `code` in `cause`.
pub fn expect_error<T>(
    result: Result<Response<T>, Error>,
    status: u16,
    code: Option<&str>,
) -> Result<Error, Fail> {
    let expected = match code {
        Some(code) => format!("HTTP {status} with cause {code}"),
        None => format!("HTTP {status}"),
    };
    match result {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(status) => {
            if let Some(code) = code
                && !e.causes().iter().any(|c| c.code == code)
            {
                return Err(Fail::mismatch(expected, describe_error(&e)));
            }
            Ok(e)
        }
        other => Err(Fail::mismatch(expected, describe(&other))),
    }
}

/// Expects the body's `status` member to be `want`.
pub fn expect_status_member(got: &Status, want: Status) -> CheckResult {
    if *got == want {
        Ok(())
    } else {
        Err(Fail::mismatch(
            format!("\"status\": \"{want}\""),
            format!("\"status\": \"{got}\""),
        ))
    }
}

/// Expects a condition, with what was expected and what was seen.
pub fn ensure(
    condition: bool,
    expected: impl Into<String>,
    actual: impl FnOnce() -> String,
) -> CheckResult {
    if condition {
        Ok(())
    } else {
        Err(Fail::mismatch(expected, actual()))
    }
}

/// Why a check with these needs cannot run here, if it cannot.
pub fn missing(target: &Target, needs: &[Need]) -> Option<String> {
    let tenant = target.tenant();
    let fixtures = &tenant.fixtures;
    needs.iter().find_map(|need| {
        let absent = match need {
            Need::DeliveredOtp => fixtures.otp.is_none(),
            Need::TotpSecret => fixtures.totp.is_none(),
            Need::BypassCode => fixtures.bypass_codes.lock().map(|c| c.is_empty()).unwrap_or(true),
            Need::SecurityAnswers => fixtures.answers.is_empty(),
            Need::PushControl => fixtures.push.is_none(),
            Need::Lockout | Need::NearLockout => !target.safety().allow_lockout,
            Need::CountAtZero => false,
            Need::TokenRoles => tenant.token_roles.is_none(),
            Need::AuthenticatorToken => tenant.authenticator_token.is_none(),
        };
        absent.then(|| match need {
            Need::DeliveredOtp => "the profile gives no way to read a delivered OTP (fixtures.otp_command)".to_owned(),
            Need::TotpSecret => "the profile gives no TOTP secret (fixtures.totp_factor_id and fixtures.totp_secret_env)".to_owned(),
            Need::BypassCode => "no unused bypass code is left (fixtures.bypass_codes_env)".to_owned(),
            Need::SecurityAnswers => "the profile gives no security answers (fixtures.security_answers_env)".to_owned(),
            Need::PushControl => "the profile gives no way to approve a PUSH (fixtures.push_command)".to_owned(),
            Need::Lockout | Need::NearLockout => "lockout checks lock the test user; run them with --allow-lockout".to_owned(),
            Need::CountAtZero => String::new(),
            Need::TokenRoles => "the profile does not say which roles the token holds (auth.roles)".to_owned(),
            Need::AuthenticatorToken => "no token with only the Authenticator Client role (auth.authenticator_token_env)".to_owned(),
        })
    })
}
