//! Readings: every point where the documents are silent or can be read more than one
//! way, and a tenant has to decide. Each [`Reading`] names its alternatives, each with
//! the sentences it rests on.
//!
//! # Why a reading is a set, never a guess
//!
//! Two tenants that keep every documented sentence may still answer differently where
//! the documents say nothing (what does a poll of an SMS request answer?) or where a
//! sentence allows two readings ("the user account is locked if the user doesn't make a
//! successful login after requesting the OTP": locked at the send that meets the
//! maximum, or at the next attempt after it?). A conformance verdict that picked one
//! answer would fail every tenant that picked another: a false failure, which costs an
//! operator's trust in every other verdict.
//!
//! So, as Jepsen's checkers do with the outcomes a specification allows, the
//! [machine](crate::machine) keeps every alternative of every reading open as a
//! possible "world", and narrows the set as the tenant's answers rule worlds out. A
//! history fails only when *no* combination of alternatives explains it. Once an answer
//! shows which alternative the tenant took, the model holds it to that one for the rest
//! of the run: a tenant is one implementation and keeps to its own reading, which is
//! what keeps the model's power to detect deviations.
//!
//! The mock tenant plays any combination ([`Choices`]): `serve --reading NAME=ALT`,
//! `serve --readings FILE`, `MockConfig::readings` of the mock tenant. Alternative 0 of each
//! reading is the mock's default (this project's earlier single decision).
//!
//! `docs/readings.md` is [`describe`]'s output; a test keeps the two equal.

use std::{collections::BTreeMap, fmt};

use serde::Deserialize;

/// One alternative of a [`Reading`].
#[derive(Debug, PartialEq, Eq)]
pub struct Alternative {
    /// Stable id, unique within the reading (`at-the-maximum`).
    pub id: &'static str,
    /// What a tenant that takes it does.
    pub says: &'static str,
    /// The sentence(s) or the argument it rests on.
    pub rests_on: &'static str,
}

/// One point the documents leave open. See the [module docs](self).
#[derive(Debug, PartialEq, Eq)]
pub struct Reading {
    /// Its position in [`ALL`].
    pub index: u8,
    /// Stable id, `<area>/<question>` (`lock/when`).
    pub id: &'static str,
    /// The question, in words.
    pub question: &'static str,
    /// Where the documents speak nearest to it (tags of docs/sources.md).
    pub source: &'static str,
    /// What they say there, quoted (or why they are silent).
    pub quote: &'static str,
    /// Its alternatives; the first is the mock's default.
    pub alternatives: &'static [Alternative],
    /// Who takes a position on it: the model (sequence checks), named checks, the mock.
    pub judged_by: &'static str,
}

/// An alternative of a reading, by position: what code matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Alt {
    /// The reading's index in [`ALL`].
    pub reading: u8,
    /// The alternative's index in its reading.
    pub index: u8,
}

impl Alt {
    /// Its reading.
    pub fn reading(self) -> &'static Reading {
        ALL[usize::from(self.reading)]
    }

    /// Its alternative.
    pub fn alternative(self) -> &'static Alternative {
        &self.reading().alternatives[usize::from(self.index)]
    }

    /// `lock/when=at-the-maximum`.
    pub fn name(self) -> String {
        format!("{}={}", self.reading().id, self.alternative().id)
    }
}

impl fmt::Display for Alt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Reading {
    /// The alternative with `id`.
    pub fn alt(&'static self, id: &str) -> Option<Alt> {
        self.alternatives
            .iter()
            .position(|a| a.id == id)
            .map(|i| Alt {
                reading: self.index,
                index: i as u8,
            })
    }

    /// Its alternatives, as [`Alt`]s.
    pub fn alts(&'static self) -> impl Iterator<Item = Alt> {
        (0..self.alternatives.len()).map(|i| Alt {
            reading: self.index,
            index: i as u8,
        })
    }

    /// The reading with `id`.
    pub fn by_id(id: &str) -> Option<&'static Reading> {
        ALL.iter().copied().find(|r| r.id == id)
    }
}

macro_rules! readings {
    ($(
        $(#[$doc:meta])*
        $index:literal $konst:ident in $module:ident = {
            id: $id:literal,
            question: $question:literal,
            source: $source:literal,
            quote: $quote:literal,
            judged_by: $judged:literal,
            alternatives: [ $( $aindex:literal $akonst:ident = ($aid:literal, $says:literal, $rests:literal) ),+ $(,)? ],
        }
    )+) => {
        $(
            $(#[$doc])*
            pub const $konst: Reading = Reading {
                index: $index,
                id: $id,
                question: $question,
                source: $source,
                quote: $quote,
                alternatives: &[ $( Alternative { id: $aid, says: $says, rests_on: $rests } ),+ ],
                judged_by: $judged,
            };
            #[doc = concat!("The alternatives of `", $id, "`.")]
            pub mod $module {
                use super::Alt;
                $(
                    #[doc = concat!("`", $aid, "`: ", $says)]
                    pub const $akonst: Alt = Alt { reading: $index, index: $aindex };
                )+
            }
        )+
        /// Every reading, in order (a reading's `index` is its position).
        pub const ALL: &[&Reading] = &[ $( &$konst ),+ ];
    };
}

readings! {
    /// When the lock falls around the maximum.
    0 LOCK_WHEN in lock_when = {
        id: "lock/when",
        question: "When does the lock fall around the maximum, and what does a request that counts nothing get in between?",
        source: "[VERIFY]",
        quote: "Every SMS/EMAIL sent increments the user's MFA login attempt count. After the user meets their maximum login attempts, the user account is locked if the user doesn't make a successful login after requesting the OTP.",
        judged_by: "the model (sequences/model), requests.post/otp-sends-count-toward-lockout, requests.patch/resend-counts-toward-lockout, requests.patch/lockout-after-max-attempts, the mock",
        alternatives: [
            0 AT_THE_MAXIMUM = ("at-the-maximum",
                "the attempt that meets the maximum gets its own answer (the OTP goes out, the wrong code is refused) and locks the user: from then on every request operation is refused 401 AUTH-1010, a request that sends nothing included",
                "\"After the user meets their maximum login attempts, the user account is locked\": the lock falls when the count meets the maximum"),
            1 AT_THE_NEXT_ATTEMPT = ("at-the-next-attempt",
                "at the maximum the user may still succeed: a request that counts nothing is served and a right code verifies; the next attempt that would count is refused 401 AUTH-1010 and locks the user",
                "\"locked if the user doesn't make a successful login after requesting the OTP\": the send that meets the maximum goes out and may still be used; the lock falls at the next attempt"),
            2 ONE_PAST_THE_MAXIMUM = ("one-past-the-maximum",
                "at the maximum the user may still succeed; the next attempt that counts still gets its own answer (the OTP goes out, the wrong code is refused 401) and then the user is locked",
                "the same sentence, with the lock falling after the attempt past the maximum is served"),
        ],
    }

    /// A poll of a request that is not a PUSH.
    1 POLL_OTHER in poll_other = {
        id: "poll/other-method",
        question: "What does GET /mfa/v1/requests/{requestId} answer for a request that is not a PUSH?",
        source: "[STATUS]",
        quote: "Since PUSH notifications must be accepted or rejected by the user on the Oracle Mobile Authenticator (OMA) app, we provide a \"polling\" API for the client to use if the user has acted on this notification. (Nothing is said of other methods.)",
        judged_by: "the model (sequences/model), the mock",
        alternatives: [
            0 PENDING_UNTIL_VERIFIED = ("pending-until-verified",
                "200 \"status\": \"pending\" (AUTH-1108) until the request is verified, then 200 \"status\": \"success\"; a locked user's poll is refused 401 AUTH-1010 as for a PUSH",
                "the poll reports the state of any request; AUTH-1108 is the only pending body documented"),
            1 REFUSED = ("refused",
                "refused with an error (\"status\": \"failed\"): 400, 401 or 404, whatever the request's state",
                "the polling API is provided for PUSH notifications; any other request is not something to poll (400 invalid, or 404: \"the requestId provided is invalid\" for this API)"),
        ],
    }

    /// A locked user presenting a refused requestState.
    2 ORDER_LOCK_STATE in order_lock_state = {
        id: "order/lock-or-state",
        question: "A locked user's PATCH presents a requestState the tenant refuses (replaced, another request's, tampered): which refusal comes first?",
        source: "[VERIFY], [ERR]",
        quote: "401 Response: … if the user is either locked, inactive, or not enrolled in MFA. / 401: This is used when the requestState is invalid or expired (AUTH-1120). (Both apply; no order is documented.)",
        judged_by: "the model (sequences/model, with --allow-lockout), the mock",
        alternatives: [
            0 LOCK_FIRST = ("lock-first", "401 AUTH-1010: the lock is checked before the requestState", "the user is locked whatever the request says"),
            1 STATE_FIRST = ("state-first", "401 for the requestState (AUTH-1120 or another code), not AUTH-1010: the requestState is opened first, then the user it names", "the requestState carries the context the tenant needs to find the user"),
        ],
    }

    /// A locked user's PATCH on a finished request.
    3 ORDER_LOCK_FINISHED in order_lock_finished = {
        id: "order/lock-or-finished",
        question: "A locked user's PATCH goes to a request that already ended: which refusal comes first?",
        source: "[VERIFY]",
        quote: "401 Response: … if the user is either locked … (Nothing is said of a request that ended.)",
        judged_by: "the model (sequences/model, --strict with --allow-lockout), the mock",
        alternatives: [
            0 LOCK_FIRST = ("lock-first", "401 AUTH-1010", "the user is locked whatever the request"),
            1 FINISHED_FIRST = ("finished-first", "the answer of a finished request (finished/answer), not AUTH-1010", "the request is looked at before its user"),
        ],
    }

    /// A replaced or foreign requestState on a finished request.
    4 ORDER_STATE_FINISHED in order_state_finished = {
        id: "order/state-or-finished",
        question: "A PATCH on a request that already ended presents a requestState the tenant refuses: which refusal comes first?",
        source: "[ERR]",
        quote: "401: This is used when the requestState is invalid or expired (AUTH-1120). (Nothing is said of a request that ended.)",
        judged_by: "the model (sequences/model, --strict), the mock",
        alternatives: [
            0 STATE_FIRST = ("state-first", "the requestState's refusal (401)", "the requestState is checked first: it says which request is meant"),
            1 FINISHED_FIRST = ("finished-first", "the answer of a finished request (finished/answer)", "the request named in the path is looked at first"),
        ],
    }

    /// An unknown requestId with a requestState of another request.
    5 ORDER_UNKNOWN_STATE in order_unknown_state = {
        id: "order/unknown-request-or-state",
        question: "A PATCH names a requestId the tenant never issued, with the requestState of a real request: 404 or a requestState refusal?",
        source: "[VERIFY], [ERR]",
        quote: "404 Response: Indicates that the requestId provided is invalid. / 401: This is used when the requestState is invalid or expired (AUTH-1120).",
        judged_by: "requests.patch/unknown-request-404, the mock",
        alternatives: [
            0 NOT_FOUND_FIRST = ("not-found-first", "404: the requestId is looked up first", "\"404 Response: Indicates that the requestId provided is invalid\""),
            1 STATE_FIRST = ("state-first", "401: the requestState (which names another request) is refused first", "the requestState carries the request's context and is opened before the request is looked up"),
        ],
    }

    /// What a failed verification does to its request.
    6 AFTER_WRONG in after_wrong = {
        id: "verify/after-a-wrong-code",
        question: "After a wrong code (OTP, bypass code, answers) is refused, does the request stay open with its requestState?",
        source: "[VERIFY]",
        quote: "401 Response: Indicates unsuccessful authentication if the otpCode/security answer provided was invalid. (The failure bodies carry no requestState; nothing is said of a second try.)",
        judged_by: "the model (sequences/model), requests.patch/lockout-after-max-attempts, the mock",
        alternatives: [
            0 OPEN = ("open", "the request stays open with the same requestState: a second try is answered like a first one", "the user may try again; the requestState was not replaced"),
            1 CLOSED = ("closed", "the request ends with the failure: what follows on it is answered like a finished request (finished/answer)", "a verification that failed has completed step 2 of the \"2-step process\""),
        ],
    }

    /// What a PATCH on a finished request answers.
    7 FINISHED_ANSWER in finished_answer = {
        id: "finished/answer",
        question: "What does a PATCH on a request that already ended (verified, or closed by a failure) answer?",
        source: "[VERIFY], [ERR]",
        quote: "Factor verification is a 2-step process … / 401: This is used when the requestState is invalid or expired (AUTH-1120). / 404 Response: Indicates that the requestId provided is invalid. (Nothing is said of a request that ended; that it accepts nothing is inferred, judged with --strict.)",
        judged_by: "the model (sequences/model), requests.patch/verified-request-is-not-verified-again (--strict), the mock",
        alternatives: [
            0 REFUSED_401 = ("refused-401", "401 \"status\": \"failed\" (the mock: AUTH-1120, its requestState is spent)", "the requestState is \"invalid or expired\" once its request ended"),
            1 GONE_404 = ("gone-404", "404: the request no longer exists", "\"404 Response: Indicates that the requestId provided is invalid\": an ended request is no longer a valid one"),
        ],
    }

    /// Whether a refused PATCH on a finished request spends an attempt.
    8 FINISHED_COUNTS in finished_counts = {
        id: "finished/refusal-counts",
        question: "Does a PATCH refused 401 because its request already ended spend an attempt?",
        source: "[VERIFY]",
        quote: "401 Response: Indicates unsuccessful authentication … (Whether every 401 is an unsuccessful authentication is not said.)",
        judged_by: "the model (sequences/model, --strict, where the lock shows it), the mock",
        alternatives: [
            0 NOT_COUNTED = ("not-counted", "no attempt is spent", "nothing was verified: no authentication was tried"),
            1 COUNTED = ("counted", "one attempt is spent", "a 401 to a verification is an unsuccessful authentication"),
        ],
    }

    /// Whether a refused requestState spends an attempt.
    9 STATE_COUNTS in state_counts = {
        id: "request-state/refusal-counts",
        question: "Does a PATCH whose requestState is refused (replaced, another request's, tampered) spend an attempt?",
        source: "[ERR], [VERIFY]",
        quote: "401: This is used when the requestState is invalid or expired (AUTH-1120). (Whether it counts is not said.)",
        judged_by: "the model (sequences/model, where the lock shows it), the mock",
        alternatives: [
            0 NOT_COUNTED = ("not-counted", "no attempt is spent", "the request could not be opened, so nothing was verified"),
            1 COUNTED = ("counted", "one attempt is spent", "a verification was tried and refused with 401: an unsuccessful authentication"),
        ],
    }

    /// A PATCH without a requestState.
    10 STATE_MISSING in state_missing = {
        id: "request-state/missing",
        question: "What does a PATCH without a requestState answer?",
        source: "[VERIFY], [ERR]",
        quote: "requestState: This contains the context/request related details in encrypted form, which needs to be passed back and forth between server and client. / 400 Response: Indicates that the request payload is invalid. / 401: … the requestState is invalid or expired.",
        judged_by: "requests.patch/missing-request-state-refused, the mock",
        alternatives: [
            0 PAYLOAD_INVALID_400 = ("payload-invalid-400", "400: the payload lacks a member the tenant needs", "\"400 Response: Indicates that the request payload is invalid\""),
            1 STATE_INVALID_401 = ("state-invalid-401", "401: an absent requestState is an invalid one", "\"401: This is used when the requestState is invalid or expired\""),
        ],
    }

    /// Whether a rejected PUSH spends an attempt.
    11 PUSH_REJECTED_COUNTS in push_rejected_counts = {
        id: "push/rejected-counts",
        question: "Does a PUSH the user rejects on the phone spend an attempt?",
        source: "[STATUS], [VERIFY]",
        quote: "401 Response: Indicates that the user has rejected the PUSH notification request. (Only SMS/EMAIL sends and failed verifications are said to count.)",
        judged_by: "the model (sequences/model, where the lock shows it), the mock",
        alternatives: [
            0 COUNTED = ("counted", "one attempt is spent", "the user refused the sign-in: an unsuccessful authentication"),
            1 NOT_COUNTED = ("not-counted", "no attempt is spent", "only sends and wrong codes are said to count"),
        ],
    }

    /// When and how a PUSH left undecided expires.
    12 PUSH_EXPIRY in push_expiry = {
        id: "push/expiry",
        question: "What does a poll answer once a PUSH was left undecided for long (the mock: 2 minutes, `serve --push-expiry`)?",
        source: "[STATUS]",
        quote: "(No expiry is documented for /mfa/v1. Oracle's authentication API says a PUSH stays pending for two minutes and then fails.)",
        judged_by: "the mock (the runner never waits two minutes)",
        alternatives: [
            0 FAILED_401 = ("failed-401", "401 \"status\": \"failed\" with AUTH-1108 \"Expired\", like a rejection", "Oracle's authentication API: a PUSH pending for two minutes fails"),
            1 GONE_404 = ("gone-404", "404: the request no longer exists", "\"404 Response: Indicates that the requestId provided is invalid\""),
            2 NEVER = ("never", "it stays pending until the phone decides", "no expiry is documented for /mfa/v1"),
        ],
    }

    /// Whether an expired PUSH spends an attempt.
    13 PUSH_EXPIRED_COUNTS in push_expired_counts = {
        id: "push/expired-counts",
        question: "Does a PUSH that expires undecided spend an attempt?",
        source: "[VERIFY]",
        quote: "(Only SMS/EMAIL sends and failed verifications are said to count.)",
        judged_by: "the mock",
        alternatives: [
            0 NOT_COUNTED = ("not-counted", "no attempt is spent", "nobody tried"),
            1 COUNTED = ("counted", "one attempt is spent", "the sign-in did not succeed"),
        ],
    }

    /// A poll of a PUSH whose outcome a poll already showed.
    14 PUSH_AFTER_OUTCOME in push_after_outcome = {
        id: "push/after-the-outcome",
        question: "Once a poll has shown a PUSH's outcome (approved, rejected), what does the next poll answer?",
        source: "[STATUS]",
        quote: "200 Response: Indicates that the user has approved the PUSH notification request. 401 Response: Indicates that the user has rejected the PUSH notification request. 404 Response: Indicates that the requestId provided is invalid.",
        judged_by: "the model (sequences/model), the mock",
        alternatives: [
            0 KEPT = ("kept", "the same outcome again (200 success, or 401 failed)", "the request still exists and its outcome has not changed"),
            1 GONE_404 = ("gone-404", "404: the request is gone once its outcome was read", "a finished request is no longer a valid requestId"),
        ],
    }

    /// A resend after a wrong code.
    15 RESEND_AFTER_WRONG in resend_after_wrong = {
        id: "resend/after-a-wrong-code",
        question: "On a request that stays open after a wrong code, is a resend served?",
        source: "[VERIFY]",
        quote: "If the factor is SMS/EMAIL and the user hasn't received the OTP, the client can request that the server to send it again.",
        judged_by: "the model (sequences/model), the mock",
        alternatives: [
            0 SERVED = ("served", "a new OTP goes out and a new requestState comes back, as for a first resend", "a resend is allowed while the request is open"),
            1 REFUSED = ("refused", "refused with an error (400, 401 or 404), nothing sent", "a resend is for an OTP the user \"hasn't received\"; one that was tried was received"),
        ],
    }

    /// Which code a resend sends.
    16 RESEND_CODE in resend_code = {
        id: "resend/code",
        question: "Does a resend send a new OTP (the old one no longer works) or the same one again?",
        source: "[VERIFY]",
        quote: "the client can request that the server to send it again.",
        judged_by: "the mock (no check sends a replaced OTP)",
        alternatives: [
            0 NEW_CODE = ("new-code", "a new OTP; the one it replaces is refused", "a one-time passcode is generated per send"),
            1 SAME_CODE = ("same-code", "the same OTP again", "\"send it again\": the same passcode"),
        ],
    }

    /// Whether a PHONE_CALL send counts.
    17 PHONE_CALL_COUNTS in phone_call_counts = {
        id: "attempts/phone-call-counts",
        question: "Does an OTP sent by PHONE_CALL spend an attempt, as SMS and EMAIL do?",
        source: "[VERIFY]",
        quote: "Every SMS/EMAIL sent increments the user's MFA login attempt count. (PHONE_CALL is not named.)",
        judged_by: "the model (sequences/model, where the lock shows it), the mock",
        alternatives: [
            0 COUNTED = ("counted", "one attempt is spent", "a voice call delivers the same one-time passcode as an SMS"),
            1 NOT_COUNTED = ("not-counted", "no attempt is spent", "only SMS and EMAIL are named"),
        ],
    }

    /// A locked user's factor listing.
    18 LOCK_LOOKUP in lock_lookup = {
        id: "lock/lookup",
        question: "Are a locked user's factors still listed (by GUID and by name)?",
        source: "[FACTORS], [VERIFY]",
        quote: "(The 401 for a locked user is documented for the request operations, not for the factor listing.)",
        judged_by: "the model (sequences/model, with --allow-lockout), the mock",
        alternatives: [
            0 SERVED = ("served", "200 with the listing", "the listing is not a verification"),
            1 REFUSED_401 = ("refused-401", "401 (AUTH-1010)", "\"401 … if the user is either locked, inactive, or not enrolled in MFA\" read for every operation"),
        ],
    }

    /// The default of userIdType in the look-up.
    19 ID_TYPE_DEFAULT in id_type_default = {
        id: "users/id-type-default",
        question: "What does GET /mfa/v1/users?userId=… do without userIdType?",
        source: "[PM]",
        quote: "userIdType is USER_NAME (the default) or USER_GUID (from the Postman collection's requests; no reference page documents the default).",
        judged_by: "the mock (no check omits userIdType)",
        alternatives: [
            0 USER_NAME = ("user-name", "the userId is a user name", "the collection's default"),
            1 USER_GUID = ("user-guid", "the userId is a GUID", "a user is \"uniquely identified … using the GUID\" [FACTORS]"),
            2 REQUIRED = ("required", "400: userIdType is required", "it \"indicates what type of credential the user is passing\" [UC]"),
        ],
    }

    /// A look-up by name of a user the tenant does not have.
    20 UNKNOWN_BY_NAME in unknown_by_name = {
        id: "users/unknown-by-name",
        question: "What does the look-up by name answer for a name the tenant does not have?",
        source: "[OD], [PM]",
        quote: "A 404 for an unknown user: {\"status\":\"failed\",\"cause\":[{\"code\":\"AUTH-3018\",\"message\":\"User not found.\"}]} (captured for a user resource; the look-up is a query)",
        judged_by: "users.lookup/unknown-name-404, the mock",
        alternatives: [
            0 NOT_FOUND_404 = ("not-found-404", "404 with AUTH-3018", "[OD]'s answer for an unknown user"),
            1 EMPTY_200 = ("empty-200", "200 with no factors", "a query that matches nobody lists nothing"),
        ],
    }

    /// An initiate for a user the tenant does not have.
    21 INITIATE_UNKNOWN_USER in initiate_unknown_user = {
        id: "initiate/unknown-user",
        question: "What does POST /mfa/v1/requests answer for a user the tenant does not have?",
        source: "[OD], [VERIFY]",
        quote: "A 404 for an unknown user … AUTH-3018 (captured for another operation; no error of the initiate is documented) / 401 … if the user is either locked, inactive, or not enrolled in MFA.",
        judged_by: "the model (sequences/model), requests.post/unknown-user-refused, the mock",
        alternatives: [
            0 NOT_FOUND_404 = ("not-found-404", "404 with AUTH-3018", "[OD]'s answer for an unknown user"),
            1 UNAUTHORIZED_401 = ("unauthorized-401", "401", "an unknown user is \"not enrolled in MFA\""),
            2 BAD_REQUEST_400 = ("bad-request-400", "400", "a userId that names nobody is an invalid payload"),
        ],
    }

    /// Where error bodies carry an ecId.
    22 EC_ID in ec_id = {
        id: "errors/ec-id",
        question: "Which error bodies carry an ecId?",
        source: "[VERIFY], [OD]",
        quote: "{\"status\": \"failed\", \"ecId\": \"0000MGIHrvfF8DKpISDCif1R9rrp00000G\", \"cause\": [{\"code\": \"AUTH-1111\", …}]} / {\"status\": \"failed\", \"cause\": [{\"message\": \"Invalid passcode.\", \"code\": \"AUTH-1105\"}]} (one example with, one without)",
        judged_by: "recorded only (wrong answers must carry one: stated)",
        alternatives: [
            0 WHERE_SHOWN = ("where-the-examples-show-it", "only the errors whose examples show one (wrong answers, an unknown user)", "the examples"),
            1 EVERY_ERROR = ("on-every-error", "every error body", "an execution-context id is useful for every failure"),
        ],
    }
}

/// How many readings there are.
pub const COUNT: usize = ALL.len();

const OPEN: u8 = u8::MAX;

/// A choice of alternatives, some readings possibly still open: what a tenant is known
/// (or, for the mock, configured) to take.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Choices([u8; COUNT]);

impl Default for Choices {
    /// Every reading open.
    fn default() -> Self {
        Choices([OPEN; COUNT])
    }
}

impl fmt::Debug for Choices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.taken().map(Alt::name)).finish()
    }
}

impl Choices {
    /// Every reading open.
    pub fn open() -> Self {
        Self::default()
    }

    /// Alternative 0 of every reading: the mock's default.
    pub fn defaults() -> Self {
        Choices([0; COUNT])
    }

    /// The alternative taken for `reading`, if decided.
    pub fn get(&self, reading: &Reading) -> Option<Alt> {
        let index = self.0[usize::from(reading.index)];
        (index != OPEN).then_some(Alt {
            reading: reading.index,
            index,
        })
    }

    /// Whether `alt` is the alternative taken.
    pub fn is(&self, alt: Alt) -> bool {
        self.0[usize::from(alt.reading)] == alt.index
    }

    /// Takes `alt`.
    pub fn set(&mut self, alt: Alt) {
        self.0[usize::from(alt.reading)] = alt.index;
    }

    /// The same, with `alt` taken.
    pub fn with(mut self, alt: Alt) -> Self {
        self.set(alt);
        self
    }

    /// Opens `reading` again.
    pub fn clear(&mut self, reading: &Reading) {
        self.0[usize::from(reading.index)] = OPEN;
    }

    /// The decided alternatives, in reading order.
    pub fn taken(&self) -> impl Iterator<Item = Alt> + '_ {
        self.0.iter().enumerate().filter_map(|(i, &index)| {
            (index != OPEN).then_some(Alt {
                reading: i as u8,
                index,
            })
        })
    }

    /// Those of `self` that are not the default (for a short description).
    pub fn non_default(&self) -> Vec<Alt> {
        self.taken().filter(|a| a.index != 0).collect()
    }

    /// `self`, with every reading `other` decides taken from `other`.
    pub fn overlaid(mut self, other: &Choices) -> Self {
        for alt in other.taken() {
            self.set(alt);
        }
        self
    }

    /// Parses `NAME=ALT` (`lock/when=at-the-next-attempt`).
    pub fn parse_one(s: &str) -> Result<Alt, UnknownReading> {
        let (name, alt) = s.split_once('=').ok_or_else(|| UnknownReading::Syntax {
            given: s.to_owned(),
        })?;
        Self::lookup(name.trim(), alt.trim())
    }

    /// The alternative `alt` of the reading `name`.
    pub fn lookup(name: &str, alt: &str) -> Result<Alt, UnknownReading> {
        let reading = Reading::by_id(name).ok_or_else(|| UnknownReading::Reading {
            given: name.to_owned(),
            known: ALL.iter().map(|r| r.id).collect::<Vec<_>>().join(", "),
        })?;
        reading.alt(alt).ok_or_else(|| UnknownReading::Alternative {
            reading: reading.id,
            given: alt.to_owned(),
            known: reading
                .alternatives
                .iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Reads a readings file: TOML with one table `[readings]` of `"NAME" = "ALT"`
    /// (what `idcs-mfa-conformance calibrate` writes). Readings it does not name stay as
    /// they are in `base`.
    pub fn from_toml(text: &str, base: Choices) -> Result<Choices, UnknownReading> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            readings: BTreeMap<String, String>,
        }
        let file: File = toml::from_str(text).map_err(|e| UnknownReading::File {
            reason: e.to_string(),
        })?;
        let mut choices = base;
        for (name, alt) in &file.readings {
            choices.set(Self::lookup(name, alt)?);
        }
        Ok(choices)
    }

    /// Reads the readings file at `path` (see [`Choices::from_toml`]).
    pub fn load(path: &std::path::Path, base: Choices) -> Result<Choices, UnknownReading> {
        let text = std::fs::read_to_string(path).map_err(|e| UnknownReading::File {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::from_toml(&text, base).map_err(|e| match e {
            UnknownReading::File { reason } => UnknownReading::File {
                reason: format!("{}: {reason}", path.display()),
            },
            other => other,
        })
    }

    /// Writes the decided readings as a readings file (the inverse of [`Choices::from_toml`]).
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[readings]\n");
        for alt in self.taken() {
            out.push_str(&format!(
                "{:?} = {:?}\n",
                alt.reading().id,
                alt.alternative().id
            ));
        }
        out
    }

    /// Checks that the orders of refusals this choice takes can be one tenant's: no
    /// three of them in a circle (a lock before the requestState, the requestState
    /// before a finished request, a finished request before the lock).
    pub fn check_orders(&self) -> Result<(), UnknownReading> {
        let lock_before_state = self.is(order_lock_state::LOCK_FIRST);
        let state_before_finished = self.is(order_state_finished::STATE_FIRST);
        let lock_before_finished = self.is(order_lock_finished::LOCK_FIRST);
        let decided = [
            &ORDER_LOCK_STATE,
            &ORDER_STATE_FINISHED,
            &ORDER_LOCK_FINISHED,
        ]
        .iter()
        .all(|r| self.get(r).is_some());
        // A circle: lock < state < finished < lock, or the reverse.
        let circle = decided
            && ((lock_before_state && state_before_finished && !lock_before_finished)
                || (!lock_before_state && !state_before_finished && lock_before_finished));
        if circle {
            return Err(UnknownReading::Circle);
        }
        Ok(())
    }
}

/// A reading, an alternative or a readings file that cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnknownReading {
    /// Not `NAME=ALT`.
    #[error("{given:?} is not NAME=ALT (e.g. lock/when=at-the-next-attempt)")]
    Syntax {
        /// What was given.
        given: String,
    },
    /// No such reading.
    #[error("unknown reading {given:?}; known readings: {known}")]
    Reading {
        /// What was given.
        given: String,
        /// The readings.
        known: String,
    },
    /// No such alternative.
    #[error("reading {reading} has no alternative {given:?}; its alternatives: {known}")]
    Alternative {
        /// The reading.
        reading: &'static str,
        /// What was given.
        given: String,
        /// Its alternatives.
        known: String,
    },
    /// The file is not a readings file.
    #[error("not a readings file ({reason}); expected a table [readings] of \"NAME\" = \"ALT\"")]
    File {
        /// Why.
        reason: String,
    },
    /// Three orders of refusals in a circle.
    #[error(
        "the orders of refusals order/lock-or-state, order/state-or-finished and order/lock-or-finished form a circle, which no tenant can implement"
    )]
    Circle,
}

/// `docs/readings.md`'s generated part: every reading, its alternatives and what they
/// rest on.
pub fn describe() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "## Inventory\n\n| reading | alternatives (the first is the mock's default) | judged by |\n| --- | --- | --- |\n",
    );
    for r in ALL {
        let alts: Vec<String> = r
            .alternatives
            .iter()
            .map(|a| format!("`{}`", a.id))
            .collect();
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} |",
            r.id,
            anchor(r.id),
            alts.join(", "),
            r.judged_by
        );
    }
    for r in ALL {
        let _ = write!(
            out,
            "\n### {}\n\n{}\n\n{}: \"{}\"\n\n| alternative | a tenant that takes it | rests on |\n| --- | --- | --- |\n",
            r.id,
            r.question,
            r.source.replace('[', "\\[").replace(']', "\\]"),
            r.quote.replace('|', "\\|")
        );
        for (i, a) in r.alternatives.iter().enumerate() {
            let _ = writeln!(
                out,
                "| `{}`{} | {} | {} |",
                a.id,
                if i == 0 { " (mock default)" } else { "" },
                a.says.replace('|', "\\|"),
                a.rests_on.replace('|', "\\|")
            );
        }
        let _ = writeln!(out, "\nJudged by: {}.", r.judged_by);
    }
    out
}

/// The GitHub anchor of a heading `### id`.
fn anchor(id: &str) -> String {
    id.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test case: the registry is well formed: each reading's index is its position,
    // ids are unique, every reading has at least two alternatives with unique ids, and
    // every generated alternative constant points at its own alternative.
    #[test]
    fn the_registry_is_well_formed() {
        let mut ids = std::collections::BTreeSet::new();
        for (i, r) in ALL.iter().enumerate() {
            assert_eq!(usize::from(r.index), i, "{}", r.id);
            assert!(ids.insert(r.id), "duplicate {}", r.id);
            assert!(r.alternatives.len() >= 2, "{}", r.id);
            let mut alts = std::collections::BTreeSet::new();
            for a in r.alts() {
                assert!(alts.insert(a.alternative().id), "{}", a);
                assert_eq!(Choices::parse_one(&a.name()), Ok(a));
            }
        }
        assert_eq!(
            lock_when::AT_THE_NEXT_ATTEMPT.alternative().id,
            "at-the-next-attempt"
        );
        assert_eq!(poll_other::REFUSED.reading().id, "poll/other-method");
        assert_eq!(ec_id::EVERY_ERROR.name(), "errors/ec-id=on-every-error");
    }

    // Test case: a readings file round-trips, names what it does not know, and a
    // circle of refusal orders is refused.
    #[test]
    fn files_round_trip_and_bad_input_is_named() {
        let choices = Choices::defaults()
            .with(lock_when::ONE_PAST_THE_MAXIMUM)
            .with(poll_other::REFUSED);
        let text = choices.to_toml();
        assert_eq!(Choices::from_toml(&text, Choices::open()), Ok(choices));
        let partial = "[readings]\n\"poll/other-method\" = \"refused\"\n";
        let read = Choices::from_toml(partial, Choices::defaults()).unwrap();
        assert!(read.is(poll_other::REFUSED) && read.is(lock_when::AT_THE_MAXIMUM));
        assert!(matches!(
            Choices::from_toml("[readings]\n\"lock/when\" = \"never\"\n", Choices::open()),
            Err(UnknownReading::Alternative { .. })
        ));
        assert!(matches!(
            Choices::from_toml("[readings]\n\"nope\" = \"x\"\n", Choices::open()),
            Err(UnknownReading::Reading { .. })
        ));
        assert!(matches!(
            Choices::from_toml("readings = 3", Choices::open()),
            Err(UnknownReading::File { .. })
        ));
        assert!(matches!(
            Choices::parse_one("lock/when"),
            Err(UnknownReading::Syntax { .. })
        ));
        let circle = Choices::defaults().with(order_lock_finished::FINISHED_FIRST);
        assert_eq!(circle.check_orders(), Err(UnknownReading::Circle));
        assert_eq!(Choices::defaults().check_orders(), Ok(()));
    }
}
