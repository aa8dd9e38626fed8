//! Faults: named deviations from the contract, switched on per server.
//!
//! A conformance suite is only worth trusting if its checks fail against a tenant that
//! is wrong. Each [`Fault`] makes the mock break the contract in exactly one
//! documented way, so a test can switch it on (in [`crate::MockConfig::faults`],
//! with `serve --fault NAME`, or at run time with `PUT /_mock/v1/faults`) and prove that
//! the matching check notices. Each fault is tested in `tests/mock/faults.rs`.
//!
//! Each fault is consulted in one place: the rules' faults (answers, requestStates,
//! codes, attempts) in `deviate`, which the rules in `state` ask; the faults of the
//! HTTP layer (request parsing) in `api`; the body-level ones (HTML, empty bodies, a
//! missing `status`) in `reply`.

crate::named::named! {
    /// One named deviation from the contract. See the [module docs](self).
    pub enum Fault {
        /// A pending PUSH poll is answered 401 instead of 200 (the body still says pending).
        PushPendingUnauthorized = "push_pending_401",
        /// A wrong OTP is answered 400 instead of 401 AUTH-1105.
        WrongOtp400 = "wrong_otp_400",
        /// Success bodies (2xx of /mfa/v1) lack the `status` field.
        MissingStatusField = "missing_status_field",
        /// The factor list shows a factor with a method outside the MfaMethod enum.
        UnknownMethod = "unknown_method",
        /// Missing or invalid bearer tokens are accepted on /mfa/v1.
        NoAuth = "no_auth",
        /// A bypass code can be used more than once.
        ReusableBypassCode = "reusable_bypass_code",
        /// An old requestState still works after a resend replaced it.
        StaleRequestStateAccepted = "stale_request_state_accepted",
        /// An unknown requestId is answered 500 instead of 404.
        UnknownRequest500 = "unknown_request_500",
        /// An unknown user is answered 200 with no factors instead of 404 AUTH-3018.
        UnknownUser200 = "unknown_user_200",
        /// An invalid PATCH payload is answered 200 success instead of 400.
        MalformedPayload200 = "malformed_payload_200",
        /// Wrong security answers are answered without the `ecId` \[VERIFY\] shows.
        WrongAnswersNoEcId = "wrong_answers_no_ec_id",
        /// A resend is answered without a new requestState (and the old one stays valid).
        ResendSameState = "resend_same_state",
        /// Attempts are counted but the user is never locked.
        NoLockout = "no_lockout",
        /// 404 answers carry an HTML page instead of the error JSON.
        Html404 = "html_404",
        /// 401 answers carry an empty body instead of the error JSON.
        Empty401 = "empty_401",
        /// An unknown requestId is answered 418, a status the contract does not document.
        UndocumentedStatus = "undocumented_status",
        /// A rejected PUSH poll is answered 200 (status failed) instead of 401.
        RejectedPush200 = "rejected_push_200",
        /// A user look-up without `userId` is answered 404 instead of 400.
        LookupMissingUserId404 = "lookup_missing_user_id_404",
        /// An initiate naming no factor uses the first factor, not the preferred one.
        InitiateIgnoresPreferred = "initiate_ignores_preferred",
        /// BYPASSCODE and SECURITY_QUESTIONS initiate answers carry a displayName.
        DisplayNameEverywhere = "display_name_everywhere",
        /// An unparseable initiate body is answered 500 instead of 400.
        MalformedInitiate500 = "malformed_initiate_500",
        /// Approving a PUSH on the phone has no effect: the poll stays pending.
        ApprovalIgnored = "approval_ignored",
        /// The OTP delivered by SMS, EMAIL or PHONE_CALL is refused as invalid.
        SentOtpRejected = "sent_otp_rejected",
        /// A PATCH body sent as application/scim+json (as the seed curl examples do) is 400.
        ScimJsonRefused = "scim_json_refused",
        /// OTPs sent by SMS, EMAIL or PHONE_CALL do not count as attempts.
        SendsNotCounted = "sends_not_counted",
        /// A successful verification does not set the attempt count back to 0.
        SuccessKeepsCount = "success_keeps_count",
        /// The user is locked two attempts after the maximum: later than any reading of `lock/when` allows.
        LockTwoLate = "lock_two_late",
        /// The requestState of another request of the same user is accepted.
        ForeignRequestStateAccepted = "foreign_request_state_accepted",
        /// A request that was verified can be verified again.
        CompletedRequestReopens = "completed_request_reopens",
        /// An initiate naming a factor (with or without a method) uses the preferred factor instead.
        NamedFactorIgnored = "named_factor_ignored",
        /// A look-up by user name answers another user's factors.
        LookupListsAnotherUser = "lookup_lists_another_user",
        /// A locked user can still initiate a request (and be sent an OTP): the lock is checked only once a request is used.
        LockedUserInitiates = "locked_user_initiates",
        /// A factor listing names its preferred factor without `preferredMethod`.
        PreferredMethodMissing = "preferred_method_missing",
        /// The look-up takes `userId` for a user name whatever `userIdType` says.
        LookupIgnoresUserIdType = "lookup_ignores_user_id_type",
        /// Any 12-digit bypass code is accepted.
        AnyBypassCodeAccepted = "any_bypass_code_accepted",
        /// Any 6-digit code verifies an EMAIL request.
        AnyEmailCodeAccepted = "any_email_code_accepted",
        /// A resend sends an OTP without counting it (an initiate's send still counts).
        ResendNotCounted = "resend_not_counted",
        /// A PATCH without a requestState is processed as if it carried the request's own.
        MissingRequestStateAccepted = "missing_request_state_accepted",
        /// A locked user's PUSH poll is answered as if the user were not locked.
        LockedUserPolls = "locked_user_polls",
        /// Every right code is refused as invalid: the TOTP, and the OTP delivered by SMS, EMAIL or PHONE_CALL.
        CorrectCodesRefused = "correct_codes_refused",
        /// A factor listing gives the bypass-code and security-questions factors ids of their own, not `BypassCode` and `SecurityQuestions`.
        FixedFactorIdsRenamed = "fixed_factor_ids_renamed",
        /// A factor listing names a preferred factor it does not list.
        PreferredFactorNotListed = "preferred_factor_not_listed",
    }
    /// The name is not a fault's.
    pub struct UnknownFault("fault", "faults");
}

/// The faults switched on, as a bit set (cheap to copy out of the state lock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults(u64);

// One bit a fault.
const _: () = assert!(Fault::ALL.len() <= 64);

impl Faults {
    /// No fault: the mock follows the contract.
    pub const NONE: Faults = Faults(0);

    /// Whether `fault` is on.
    pub fn has(self, fault: Fault) -> bool {
        self.0 & (1 << fault as u64) != 0
    }

    /// The faults that are on, in declaration order.
    pub fn list(self) -> Vec<Fault> {
        Fault::ALL
            .iter()
            .copied()
            .filter(|f| self.has(*f))
            .collect()
    }
}

impl FromIterator<Fault> for Faults {
    fn from_iter<I: IntoIterator<Item = Fault>>(iter: I) -> Self {
        Faults(iter.into_iter().fold(0, |acc, f| acc | (1 << f as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_holds_what_was_put_in() {
        let set: Faults = [Fault::NoAuth, Fault::Html404].into_iter().collect();
        assert!(set.has(Fault::NoAuth) && set.has(Fault::Html404));
        assert!(!set.has(Fault::Empty401));
        assert_eq!(set.list(), vec![Fault::NoAuth, Fault::Html404]);
    }
}
