//! The words of the contract (`openapi/idcs-mfa.yaml`) as open enumerations:
//! [`Method`], [`Status`] and [`AuthCode`]. The client (`idcs-mfa`, which re-exports
//! them and puts them in its generated types), the model of the documented behaviour
//! (`idcs-mfa-model`, which must not depend on an HTTP stack) and the mock tenant share
//! them; a test of the contract crate holds them equal to the spec's enums.
//!
//! The contract documents these as closed `enum`s, and the conformance suite holds a
//! tenant to them. The library does not: a tenant that is newer than this crate may add
//! a method or an error code, and an integration should keep working. So each type has
//! the documented variants plus `Other(String)`, which keeps the value as sent. Values
//! are matched case-sensitively, as documented.

use std::fmt;

/// Defines an open string enum with its wire names, `Display`, `FromStr` and serde.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                ///
                #[doc = concat!("On the wire: `", $wire, "`.")]
                $variant,
            )+
            /// A value this version of the crate does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Every documented value, in the contract's order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(other) => other,
                }
            }

            /// Whether the value is one the contract documents.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(value.into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(value.as_ref().into())
            }
        }
    };
}

open_enum! {
    /// A verification method (contract schema `MfaMethod`).
    pub enum Method {
        /// A one-time passcode sent by text message.
        Sms = "SMS",
        /// A one-time passcode read out in a voice call.
        PhoneCall = "PHONE_CALL",
        /// A time-based one-time passcode from the Oracle Mobile Authenticator app.
        Totp = "TOTP",
        /// A notification the user approves or rejects in the Oracle Mobile Authenticator app.
        Push = "PUSH",
        /// A one-time passcode sent by e-mail.
        Email = "EMAIL",
        /// Answers to the user's enrolled security questions.
        SecurityQuestions = "SECURITY_QUESTIONS",
        /// A pre-generated, single-use bypass code.
        Bypasscode = "BYPASSCODE",
    }
}

impl Method {
    /// Whether verifying this method takes an `otpCode` (\[VERIFY\]: "only applicable for
    /// TOTP, SMS, PHONE_CALL and EMAIL methods").
    pub fn takes_otp(&self) -> bool {
        matches!(
            self,
            Method::Sms | Method::PhoneCall | Method::Totp | Method::Email
        )
    }

    /// Whether the OTP of this method can be resent (\[VERIFY\]: "considered only for
    /// EMAIL, PHONE_CALL and SMS factors").
    pub fn can_resend(&self) -> bool {
        matches!(self, Method::Sms | Method::PhoneCall | Method::Email)
    }
}

open_enum! {
    /// The `status` of a response body (contract schema `ResponseStatus`).
    pub enum Status {
        /// The operation succeeded.
        Success = "success",
        /// A PUSH notification the user has not acted on yet (\[STATUS\]).
        Pending = "pending",
        /// The operation failed; `cause` says why.
        Failed = "failed",
    }
}

open_enum! {
    /// The IDCS error codes this API documents (\[ERR\], \[OD\], \[STATUS\] and \[VERIFY\]).
    pub enum AuthCode {
        /// A required parameter is missing.
        MissingParameter = "AUTH-1001",
        /// Authentication failed.
        AuthenticationFailed = "AUTH-1007",
        /// The account is locked.
        AccountLocked = "AUTH-1010",
        /// No MFA factors are enabled.
        NoFactorsEnabled = "AUTH-1011",
        /// Wrong answer.
        WrongAnswer = "AUTH-1026",
        /// The maximum number of 2-step verification attempts was exceeded.
        MaxAttemptsExceeded = "AUTH-1027",
        /// The maximum number of 2-step verification attempts was exceeded.
        MaxAttemptsExceededAlt = "AUTH-1028",
        /// The payload is empty or cannot be parsed.
        UnparseablePayload = "AUTH-1033",
        /// The SMS factor is not enabled.
        SmsNotEnabled = "AUTH-1100",
        /// The PUSH factor is not enabled.
        PushNotEnabled = "AUTH-1101",
        /// The OTP factor is not enabled.
        OtpNotEnabled = "AUTH-1102",
        /// The security-question factor is not enabled.
        SecurityQuestionsNotEnabled = "AUTH-1103",
        /// The bypass-code factor is not enabled.
        BypassCodeNotEnabled = "AUTH-1104",
        /// Invalid passcode (\[VERIFY\]).
        InvalidPasscode = "AUTH-1105",
        /// Use a backup method.
        UseBackupMethod = "AUTH-1106",
        /// Push notification approval is pending, or was rejected (\[STATUS\]).
        PushPending = "AUTH-1108",
        /// OTP enrolment is pending verification.
        OtpEnrollmentPending = "AUTH-1109",
        /// The authentication token has expired.
        TokenExpired = "AUTH-1110",
        /// The request is invalid / invalid answers (\[VERIFY\]).
        InvalidRequest = "AUTH-1111",
        /// Unexpected error.
        Unexpected = "AUTH-1112",
        /// The requestState has expired.
        RequestStateExpired = "AUTH-1117",
        /// The requestState is invalid or expired.
        RequestStateInvalid = "AUTH-1120",
        /// Invalid JSON payload.
        InvalidJson = "AUTH-1121",
        /// The EMAIL factor has been disabled.
        EmailDisabled = "AUTH-1125",
        /// User not found (\[OD\]).
        UserNotFound = "AUTH-3018",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip() {
        for m in Method::KNOWN {
            let json = serde_json::to_string(m).unwrap();
            assert_eq!(&serde_json::from_str::<Method>(&json).unwrap(), m);
        }
    }

    #[test]
    fn unknown_values_are_kept_not_refused() {
        let m: Method = serde_json::from_str("\"FIDO_KEY\"").unwrap();
        assert_eq!(m, Method::Other("FIDO_KEY".into()));
        assert!(!m.is_known());
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"FIDO_KEY\"");
        assert_eq!(
            AuthCode::from("AUTH-9999"),
            AuthCode::Other("AUTH-9999".into())
        );
        assert_eq!(AuthCode::from("AUTH-1105"), AuthCode::InvalidPasscode);
    }

    #[test]
    fn values_are_case_sensitive() {
        assert_eq!(Status::from("Success"), Status::Other("Success".into()));
    }
}
