//! The test user's MFA attempt count and lockout, as the documents define them.
//!
//! The Complete Factor Verification document (Oracle, REST API for Oracle Identity Cloud
//! Service, `PATCH /mfa/v1/requests/{requestId}`) says: "Every SMS/EMAIL sent increments
//! the user's MFA login attempt count. After the user meets their maximum login
//! attempts, the user account is locked if the user doesn't make a successful login
//! after requesting the OTP." Its 401 answer is for "the otpCode/security answer
//! provided was invalid" and for a user who "is either locked, inactive, or not enrolled
//! in MFA". The maximum is a tenant setting; no default or range is documented.
//!
//! What this module decides where the documents are silent (also in the contract's
//! `x-assumption`s and in docs/decisions.md):
//!
//! | event | effect | evidence |
//! | --- | --- | --- |
//! | an OTP sent by SMS or EMAIL (initiate or resend) | +1 | stated |
//! | an OTP sent by PHONE_CALL | +1: a voice call delivers the same one-time passcode | inferred |
//! | a wrong OTP, wrong answers, a wrong or reused bypass code | +1 | stated ("unsuccessful authentication") |
//! | a rejected PUSH | +1: the user refused the sign-in, an unsuccessful authentication | inferred |
//! | a PUSH that expires undecided | no change: nobody tried | inferred |
//! | an initiate that sends no OTP (TOTP, PUSH, SECURITY_QUESTIONS, BYPASSCODE) | no change: only sends are named | inferred, not yet a reading (docs/decisions.md) |
//! | a successful verification (any method, an approved PUSH) | back to 0 | stated ("doesn't make a successful login") |
//! | an unlock by an administrator | back to 0, unlocked | inferred |
//! | anything while locked | refused, no change | stated (401 for a locked user) |
//!
//! The user is locked when the count *reaches* the maximum ("meets their maximum").
//!
//! [`Counter::apply`] is the whole rule, event by event. The runner keeps one
//! [`Counter`] for the test user, fed from what it saw on the wire; the machine
//! ([`crate::machine`], which the mock tenant runs) counts by the same table, and
//! a test holds the two to each other.

use idcs_mfa_vocabulary::Method;

/// Something that may change a user's attempt count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An OTP was sent to the user by this method (initiate or resend).
    Sent(Method),
    /// A verification failed: wrong OTP, wrong answers, wrong or reused bypass code.
    Failed,
    /// The user rejected a PUSH notification.
    PushRejected,
    /// A PUSH notification expired undecided.
    PushExpired,
    /// A verification succeeded (an approved PUSH included).
    Succeeded,
    /// An administrator unlocked the user.
    Unlocked,
}

/// Whether sending an OTP by `method` counts as an attempt (SMS and EMAIL: stated;
/// PHONE_CALL: inferred, see the [module docs](self)).
pub fn send_counts(method: &Method) -> bool {
    matches!(method, Method::Sms | Method::Email | Method::PhoneCall)
}

/// The tenant's setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The maximum number of attempts: the user is locked when the count reaches it.
    pub max_attempts: u32,
}

/// What [`Counter::apply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The count went up by one; `locked` says whether that reached the maximum.
    Counted {
        /// Whether the user is locked now.
        locked: bool,
    },
    /// The count went back to 0.
    Reset,
    /// Nothing changed (an expiry, or any event other than an unlock while locked).
    Unchanged,
}

/// A user's attempt count and lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// Attempts counted since the last success or unlock.
    pub count: u32,
    /// Whether the user is locked.
    pub locked: bool,
}

impl Counter {
    /// Applies `event` under `rules`; see the table in the [module docs](self).
    pub fn apply(&mut self, rules: Rules, event: &Event) -> Effect {
        if self.locked && *event != Event::Unlocked {
            return Effect::Unchanged;
        }
        match event {
            Event::Sent(method) if !send_counts(method) => Effect::Unchanged,
            Event::Sent(_) | Event::Failed | Event::PushRejected => {
                self.count = self.count.saturating_add(1);
                self.locked = self.count >= rules.max_attempts;
                Effect::Counted {
                    locked: self.locked,
                }
            }
            Event::PushExpired => Effect::Unchanged,
            Event::Succeeded | Event::Unlocked => {
                *self = Counter::default();
                Effect::Reset
            }
        }
    }

    /// How many more counted events the user can take without being locked.
    pub fn headroom(&self, rules: Rules) -> u32 {
        if self.locked {
            0
        } else {
            rules
                .max_attempts
                .saturating_sub(self.count)
                .saturating_sub(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: Rules = Rules { max_attempts: 5 };

    #[test]
    fn sends_by_sms_email_and_phone_call_count_others_do_not() {
        for (method, counts) in [
            (Method::Sms, true),
            (Method::Email, true),
            (Method::PhoneCall, true),
            (Method::Totp, false),
            (Method::Push, false),
            (Method::Bypasscode, false),
            (Method::SecurityQuestions, false),
        ] {
            let mut c = Counter::default();
            c.apply(FIVE, &Event::Sent(method.clone()));
            assert_eq!(c.count, u32::from(counts), "{method}");
        }
    }

    #[test]
    fn locks_exactly_when_the_count_reaches_the_maximum() {
        let mut c = Counter::default();
        for n in 1..5 {
            assert_eq!(
                c.apply(FIVE, &Event::Failed),
                Effect::Counted { locked: false }
            );
            assert_eq!(c.count, n);
        }
        assert_eq!(c.headroom(FIVE), 0);
        assert_eq!(
            c.apply(FIVE, &Event::Failed),
            Effect::Counted { locked: true }
        );
        assert!(c.locked);
    }

    #[test]
    fn a_locked_user_changes_only_by_an_unlock() {
        let mut c = Counter {
            count: 5,
            locked: true,
        };
        for e in [
            Event::Sent(Method::Sms),
            Event::Failed,
            Event::PushRejected,
            Event::Succeeded,
        ] {
            assert_eq!(c.apply(FIVE, &e), Effect::Unchanged);
        }
        assert_eq!(c.apply(FIVE, &Event::Unlocked), Effect::Reset);
        assert_eq!(c, Counter::default());
    }

    #[test]
    fn a_success_resets_and_an_expiry_changes_nothing() {
        let mut c = Counter::default();
        c.apply(FIVE, &Event::Sent(Method::Email));
        c.apply(FIVE, &Event::PushRejected);
        assert_eq!(c.apply(FIVE, &Event::PushExpired), Effect::Unchanged);
        assert_eq!(c.count, 2);
        assert_eq!(c.headroom(FIVE), 2);
        assert_eq!(c.apply(FIVE, &Event::Succeeded), Effect::Reset);
        assert_eq!(c.count, 0);
    }

    #[test]
    fn a_maximum_of_one_locks_on_the_first_attempt() {
        let one = Rules { max_attempts: 1 };
        let mut c = Counter::default();
        assert_eq!(c.headroom(one), 0);
        assert_eq!(
            c.apply(one, &Event::Failed),
            Effect::Counted { locked: true }
        );
    }
}
