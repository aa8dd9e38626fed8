//! The possible tenants the model keeps: each one's alternatives and the state they
//! lead to.

use idcs_mfa_vocabulary::Method;

use super::{Outcome, User};
use crate::readings::{self, Alt, Choices, Reading, lock_when, phone_call_counts};

/// One request the sequence created.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// Its method.
    pub method: Method,
    /// Its factor.
    pub factor: String,
    /// How many requestStates it had (1 after the initiate).
    pub generations: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// The phone's decision of a PUSH, when made.
    pub decided: Option<bool>,
    /// A code was refused on it while it stayed open.
    pub failed_once: bool,
    /// A poll showed its outcome (a decided PUSH).
    pub outcome_shown: bool,
}

/// One possible tenant: the alternatives it took so far, and the state they lead to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct World {
    pub(super) choices: Choices,
    pub(super) count: u32,
    pub(super) locked: bool,
    pub(super) requests: Vec<Request>,
    pub(super) bypass_used: u32,
}

/// A reading a step's answer depends on, not yet decided in a world: the world forks.
pub(super) struct Open(pub(super) &'static Reading);

impl World {
    pub(super) fn alt(&self, reading: &'static Reading) -> Result<Alt, Open> {
        self.choices.get(reading).ok_or(Open(reading))
    }

    pub(super) fn is(&self, alt: Alt) -> Result<bool, Open> {
        Ok(self.alt(alt.reading())? == alt)
    }

    /// The count at which the user is locked, under this world's reading of when.
    pub(super) fn threshold(&self, max: u32) -> u32 {
        match self.choices.get(&readings::LOCK_WHEN) {
            Some(lock_when::AT_THE_NEXT_ATTEMPT | lock_when::ONE_PAST_THE_MAXIMUM) => {
                max.saturating_add(1)
            }
            _ => max,
        }
    }

    /// Whether an OTP sent by `method` spends an attempt.
    pub(super) fn sends(&self, method: &Method) -> Result<bool, Open> {
        Ok(match method {
            Method::Sms | Method::Email => true,
            Method::PhoneCall => self.is(phone_call_counts::COUNTED)?,
            _ => false,
        })
    }
}

/// What every world's answers are computed from.
pub(super) struct Env<'a> {
    pub(super) user: &'a User,
    pub(super) max: u32,
}
