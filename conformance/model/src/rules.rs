//! The documented rules the model enforces, each with its sentence, source and evidence,
//! like a check. An expectation of the [`crate::machine`] names the rule it comes
//! from, so a divergence is reported with the sentence the tenant broke.

use crate::Evidence;

/// One documented rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, `<area>/<statement>`.
    pub id: &'static str,
    /// The sentence, quoted.
    pub quote: &'static str,
    /// Its source (a tag of docs/sources.md).
    pub source: &'static str,
    /// How strongly the documents support it.
    pub evidence: Evidence,
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $name:ident = ($id:literal, $ev:ident, $source:literal, $quote:literal), )+) => {
        $( $(#[$doc])* pub const $name: Rule = Rule {
            id: $id,
            quote: $quote,
            source: $source,
            evidence: Evidence::$ev,
        }; )+
        /// Every rule, in declaration order.
        pub const ALL: &[&Rule] = &[ $( &$name, )+ ];
    };
}

rules! {
    /// The initiate step answers 200 with a new request of the chosen factor.
    INITIATE_OK = ("initiate/answers-200-with-a-request", Captured, "[PM]",
        "Every captured response is HTTP 200 … {\"status\": \"success\", \"requestId\", \"userGUID\", \"factorId\", \"method\", \"requestState\"}"),
    /// With neither factor nor method, the preferred factor.
    PREFERRED = ("initiate/preferred-factor-when-none-named", Captured, "[INIT]; [UC]",
        "factorId, method: \"This attribute should only be provided if the user is using a non default factor for authentication.\" [INIT]; \"This step initiates the verification of a user's preferred factor.\" (its request sends only userId and userIdType) [UC]"),
    /// With a factor and a method, that factor.
    NAMED = ("initiate/named-backup-factor", Captured, "[INIT]",
        "factorId: \"The unique identifier of an enrolled factor that the user wants to use to authenticate. This attribute should only be provided if the user is using a non default factor for authentication.\""),
    /// An initiate for a user the tenant does not have is refused and opens nothing
    /// (how: the reading `initiate/unknown-user`).
    INITIATE_UNKNOWN_USER = ("initiate/unknown-user-refused", Captured, "[OD]",
        "A 404 for an unknown user … AUTH-3018 User not found. (for the initiate, the reading initiate/unknown-user: 404, 401 or 400)"),
    /// An unknown user is 404 AUTH-3018.
    UNKNOWN_USER = ("users/unknown-user-404", Captured, "[OD]",
        "{\"status\":\"failed\",\"cause\":[{\"code\":\"AUTH-3018\",\"message\":\"User not found.\"}]}"),
    /// Sends and failures count; a locked user is refused on every request operation.
    LOCKED = ("attempts/locked-user-refused", Stated, "[VERIFY]",
        "After the user meets their maximum login attempts, the user account is locked … 401 Response: … if the user is either locked, inactive, or not enrolled in MFA."),
    /// A resend answers a new requestState.
    RESEND_NEW_STATE = ("requests/resend-returns-a-new-state", Stated, "[VERIFY]",
        "The response contains the requestID and the requestState needed for the next request"),
    /// A requestState works only for its request, and only its latest generation.
    STATE_BOUND = ("requests/request-state-bound-to-request-and-generation", Captured, "[ERR]",
        "401: This is used when the requestState is invalid or expired (AUTH-1120)"),
    /// A request that was verified accepts nothing more (how it refuses: the reading
    /// `finished/answer`).
    COMPLETED_CLOSED = ("requests/completed-request-accepts-nothing", Inferred, "[VERIFY]",
        "Factor verification is a 2-step process … (a request that ended is complete; inferred, and how it refuses is the reading finished/answer)"),
    /// The right code verifies.
    RIGHT_CODE = ("verify/right-code-succeeds", Stated, "[VERIFY]",
        "200 Response: Indicates successful authentication."),
    /// A wrong code is refused.
    WRONG_CODE = ("verify/wrong-code-401", Stated, "[VERIFY]",
        "401 Response: Indicates unsuccessful authentication if the otpCode/security answer provided was invalid."),
    /// Wrong answers are 401 AUTH-1111 with an ecId.
    WRONG_ANSWERS = ("verify/wrong-answers-401-auth-1111", Stated, "[VERIFY]",
        "{\"status\": \"failed\", \"ecId\": …, \"cause\": [{\"code\": \"AUTH-1111\", \"message\": \"You entered invalid answer(s). Authentication failed.\"}]}"),
    /// A bypass code works once.
    BYPASS_ONCE = ("verify/bypass-code-works-once", Inferred, "[PM]",
        "bypass codes are single-use in the IDCS product (decided here for the API)"),
    /// A PUSH is pending until decided.
    PUSH_PENDING = ("push/pending-until-decided", Stated, "[STATUS]",
        "{\"status\": \"pending\", \"cause\": [{\"code\": \"AUTH-1108\", \"message\": \"Push Notification approval is pending.\"}]}"),
    /// An approved PUSH polls 200 success.
    PUSH_APPROVED = ("push/approved-is-200-success", Stated, "[STATUS]",
        "200 Response: Indicates that the user has approved the PUSH notification request."),
    /// A rejected PUSH polls 401 failed, and stays so.
    PUSH_REJECTED = ("push/rejected-is-401-failed", Stated, "[STATUS]",
        "401 Response: Indicates that the user has rejected the PUSH notification request."),
    /// A PUSH left undecided expires as the tenant's reading of `push/expiry` says.
    PUSH_EXPIRED = ("push/expired", Reading, "[STATUS]",
        "(no expiry is documented: what an expired PUSH answers is the reading push/expiry, docs/readings.md)"),
    /// Polling a request that is not a PUSH: as the tenant's reading says.
    POLL_OTHER = ("push/poll-of-another-method", Reading, "[STATUS]",
        "(a poll of a request that is not a PUSH: the reading poll/other-method, docs/readings.md)"),
    /// A request without a valid token is refused 401, and changes nothing.
    TOKEN_REQUIRED = ("auth/valid-token-required", Stated, "[VERIFY]",
        "401 Response: … Indicates unauthorized access if the token provided is invalid"),
    /// An expired token is refused 401 AUTH-1110.
    TOKEN_EXPIRED = ("auth/expired-token-auth-1110", Captured, "[ERR]",
        "AUTH-1110 (the token has expired)"),
    /// A token needs the Authenticator Client or the MFA Client app role.
    ROLE_REQUIRED = ("auth/app-role-required", Stated, "[STATUS]",
        "Provide a valid OAuth Access Token that has either the 'Authenticator Client' or 'MFA Client' scope."),
    /// A tenant keeps to the alternative it showed of a reading.
    READINGS_HELD = ("readings/held", Reading, "[READINGS]",
        "Where the documents leave the choice open, a tenant is one implementation: it answers the same question the same way for the whole run (docs/readings.md)"),
    /// Look-up by GUID and by name list the user's factors.
    LOOKUP = ("users/lookup-by-guid-and-by-name", Stated, "[FACTORS]",
        "a user can make a request to get their enrolled factors by using a \"filter\" with the user name"),
}
