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

use crate::target::Ctx;

/// How strongly the documents support what a check asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Stated in a seed document.
    Stated,
    /// Shown in Oracle's captured responses or other public Oracle material.
    Captured,
    /// Decided by this project where the documents are silent (run with `--strict`).
    Inferred,
}

impl Evidence {
    /// The label used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Stated => "stated",
            Evidence::Captured => "captured",
            Evidence::Inferred => "inferred",
        }
    }
}

/// The operations of the contract, by `operationId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Operation {
    /// `GET /mfa/v1/users/{userGUID}/factors`
    #[serde(rename = "getUserFactors")]
    GetUserFactors,
    /// `GET /mfa/v1/users?userId=…`
    #[serde(rename = "lookupUserFactors")]
    LookupUserFactors,
    /// `POST /mfa/v1/requests`
    #[serde(rename = "initiateVerification")]
    InitiateVerification,
    /// `GET /mfa/v1/requests/{requestId}`
    #[serde(rename = "getVerificationStatus")]
    GetVerificationStatus,
    /// `PATCH /mfa/v1/requests/{requestId}`
    #[serde(rename = "completeVerification")]
    CompleteVerification,
}

impl Operation {
    /// Every operation, in the contract's order.
    pub const ALL: [Operation; 5] = [
        Operation::GetUserFactors,
        Operation::LookupUserFactors,
        Operation::InitiateVerification,
        Operation::GetVerificationStatus,
        Operation::CompleteVerification,
    ];

    /// The `operationId` in the contract.
    pub fn operation_id(self) -> &'static str {
        match self {
            Operation::GetUserFactors => "getUserFactors",
            Operation::LookupUserFactors => "lookupUserFactors",
            Operation::InitiateVerification => "initiateVerification",
            Operation::GetVerificationStatus => "getVerificationStatus",
            Operation::CompleteVerification => "completeVerification",
        }
    }

    /// The operation of an exchange recorded by the library (snake-case operation id).
    pub fn from_exchange_name(name: &str) -> Option<Operation> {
        Some(match name {
            "get_user_factors" => Operation::GetUserFactors,
            "lookup_user_factors" => Operation::LookupUserFactors,
            "initiate_verification" => Operation::InitiateVerification,
            "get_verification_status" => Operation::GetVerificationStatus,
            "complete_verification" => Operation::CompleteVerification,
            _ => return None,
        })
    }

    /// `METHOD /path` as in the contract.
    pub fn label(self) -> &'static str {
        match self {
            Operation::GetUserFactors => "GET /mfa/v1/users/{userGUID}/factors",
            Operation::LookupUserFactors => "GET /mfa/v1/users",
            Operation::InitiateVerification => "POST /mfa/v1/requests",
            Operation::GetVerificationStatus => "GET /mfa/v1/requests/{requestId}",
            Operation::CompleteVerification => "PATCH /mfa/v1/requests/{requestId}",
        }
    }
}

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

/// Why a check did not pass.
#[derive(Clone, Debug)]
pub enum Fail {
    /// The target did something other than documented.
    Mismatch {
        /// What the documents say should happen.
        expected: String,
        /// What happened.
        actual: String,
    },
    /// The check could not run; never a pass.
    Skip(String),
}

impl Fail {
    /// A mismatch.
    pub fn mismatch(expected: impl Into<String>, actual: impl Into<String>) -> Fail {
        Fail::Mismatch {
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// A skip with its reason.
    pub fn skip(reason: impl Into<String>) -> Fail {
        Fail::Skip(reason.into())
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Mismatch { expected, actual } => write!(f, "expected {expected}, got {actual}"),
            Fail::Skip(reason) => write!(f, "skipped: {reason}"),
        }
    }
}

/// What a check's run function returns.
pub type CheckResult = Result<(), Fail>;

/// The boxed future of a run function. Not `Send`: proptest's value trees are not, and
/// checks run concurrently on the runner's task rather than on other threads.
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + 'a>>;

/// One named check. See the [module docs](self).
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
    /// as [`crate::ledger`] predicts it (its worse cases included): OTPs it sends,
    /// verifications that fail. The runner admits it only when that keeps the count
    /// under the run's ceiling ([`crate::guard`]); a test runs every check against the
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

/// Declares a [`Check`] whose run function is an `async fn(&Ctx) -> CheckResult`.
#[macro_export]
macro_rules! check {
    (
        id: $id:literal,
        operation: $op:ident,
        quote: $quote:expr,
        source: $source:literal,
        evidence: $ev:ident,
        $(spends: $spends:literal,)?
        $(needs: [$($need:ident),* $(,)?],)?
        run: $run:path $(,)?
    ) => {
        $crate::check::Check {
            id: $id,
            operation: $crate::check::Operation::$op,
            quote: $quote,
            source: $source,
            evidence: $crate::check::Evidence::$ev,
            spends: 0 $(+ $spends)?,
            needs: &[$($($crate::check::Need::$need),*)?],
            run: |cx| Box::pin($run(cx)),
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
