//! What a check comes to: `Ok(())` (it held) or a [`Fail`] (a mismatch, or a skip). A
//! module of its own, below everything that produces or records one (the harness, the
//! target's shared requests, the readings), so that none of them imports another.

use std::fmt;

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

impl std::error::Error for Fail {}

/// What a check's run function returns.
pub type CheckResult = Result<(), Fail>;
