//! The tenant's directory: users, their enrolled factors and secrets, and the
//! confidential applications that may ask for tokens.
//!
//! # File format (JSON)
//!
//! ```json
//! {
//!   "users": [
//!     {
//!       "userGUID": "589879c55b7340518141eab82493f0cc",
//!       "userName": "user1@example.com",
//!       "preferredFactorId": "88178d80636a428393a5674ba46dc867",
//!       "preferredMethod": "SMS",
//!       "factors": [
//!         {"factorId": "88178d80636a428393a5674ba46dc867", "displayName": "+44XXXXXX455", "methods": ["SMS"]},
//!         {"factorId": "06f15bf5778544c3ae2236c5fca9d9e8", "displayName": "Phone", "methods": ["TOTP", "PUSH"],
//!          "totpSecret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
//!         {"factorId": "SecurityQuestions", "methods": ["SECURITY_QUESTIONS"]},
//!         {"factorId": "BypassCode", "methods": ["BYPASSCODE"]}
//!       ],
//!       "securityQuestions": [
//!         {"id": "FirstCar", "localizedText": "What's the model of your first car?",
//!          "hintText": "Found on road", "answer": "Ford Pinto"}
//!       ],
//!       "bypassCodes": ["397541940949"]
//!     }
//!   ],
//!   "apps": [
//!     {"clientId": "conformance-client", "clientSecret": "…", "roles": ["MFA Client"]}
//!   ]
//! }
//! ```
//!
//! - `factors` is what `GET /mfa/v1/users/{userGUID}/factors` lists, in this order
//!   (`totpSecret` is never listed). A factor with the TOTP method needs `totpSecret`
//!   (RFC 4648 base32). An SMS, PHONE_CALL or EMAIL OTP is "sent" to the factor's
//!   `displayName` (the outbox's `destination`).
//! - `preferredFactorId` / `preferredMethod` are optional; without them an initiate
//!   that names no factor is refused (400, AUTH-1001).
//! - `securityQuestions` are all returned by a SECURITY_QUESTIONS initiate; answers
//!   compare without regard to ASCII case or surrounding spaces.
//! - `bypassCodes` are single use.
//! - `apps` are the confidential applications of `POST /oauth2/v1/token`.
//!
//! Unknown fields are refused, so a typo does not silently drop a setting.
//! [`Fixture::validate`] checks the rest (unique ids, known methods, the preferred
//! factor exists, TOTP secrets decode).

use std::path::Path;

use idcs_mfa::{Method, Secret};
use serde::{Deserialize, Serialize};

/// The app roles a token may hold (the model's, [`crate::model::access`]).
pub use idcs_mfa_model::access::{ROLE_AUTHENTICATOR_CLIENT, ROLE_MFA_CLIENT};

/// The fixed factor id of security questions (\[PM\], \[FACTORS\]).
pub const SECURITY_QUESTIONS_FACTOR: &str = "SecurityQuestions";
/// The fixed factor id of bypass codes (\[PM\], \[FACTORS\]).
pub const BYPASS_CODE_FACTOR: &str = "BypassCode";

/// The whole directory. See the [module docs](self) for the file format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The users.
    pub users: Vec<UserFixture>,
    /// The confidential applications that may get tokens.
    #[serde(default)]
    pub apps: Vec<AppFixture>,
}

/// One user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserFixture {
    /// The GUID.
    #[serde(rename = "userGUID")]
    pub user_guid: String,
    /// The user name (`userIdType: USER_NAME`).
    pub user_name: String,
    /// The enrolled factors, in listing order.
    pub factors: Vec<FactorFixture>,
    /// The factor used when an initiate names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_factor_id: Option<String>,
    /// The method used when an initiate names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_method: Option<Method>,
    /// Enrolled security questions with their answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_questions: Vec<QuestionFixture>,
    /// Unused bypass codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bypass_codes: Vec<Secret>,
}

/// One enrolled factor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FactorFixture {
    /// The factor id.
    pub factor_id: String,
    /// Device name, masked phone number or e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The methods it can be verified with.
    pub methods: Vec<Method>,
    /// The RFC 6238 secret (base32) of a factor with the TOTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<Secret>,
}

/// One enrolled security question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuestionFixture {
    /// The question's id (sent back with the answer).
    pub id: String,
    /// The question.
    pub localized_text: String,
    /// The user's hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_text: Option<String>,
    /// The answer.
    pub answer: Secret,
}

/// One confidential application of the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppFixture {
    /// The client id (HTTP Basic user name).
    pub client_id: String,
    /// The client secret (HTTP Basic password).
    pub client_secret: Secret,
    /// Its app roles ("MFA Client", "Authenticator Client").
    pub roles: Vec<String>,
}

/// Why a fixture cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file cannot be read.
    #[error("cannot read the fixture {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a fixture.
    #[error("the fixture {path} is not valid: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The serde error (line and column).
        source: serde_json::Error,
    },
    /// The fixture parses but is inconsistent.
    #[error("the fixture {path} is inconsistent: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl Fixture {
    /// Reads and validates a fixture file.
    pub fn load(path: &Path) -> Result<Fixture, FixtureError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
            path: name.clone(),
            source,
        })?;
        let fixture: Fixture =
            serde_json::from_str(&text).map_err(|source| FixtureError::Parse {
                path: name.clone(),
                source,
            })?;
        fixture
            .validate()
            .map_err(|reason| FixtureError::Invalid { path: name, reason })?;
        Ok(fixture)
    }

    /// Checks what serde cannot: unique GUIDs and names, known methods, a preferred
    /// factor that exists and has the preferred method, TOTP secrets that decode.
    pub fn validate(&self) -> Result<(), String> {
        let mut guids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for user in &self.users {
            let who = &user.user_guid;
            if !guids.insert(user.user_guid.as_str()) {
                return Err(format!("user {who} appears twice"));
            }
            if !names.insert(user.user_name.as_str()) {
                return Err(format!("user name {} appears twice", user.user_name));
            }
            let mut ids = std::collections::HashSet::new();
            for factor in &user.factors {
                if !ids.insert(factor.factor_id.as_str()) {
                    return Err(format!(
                        "user {who}: factor {} appears twice",
                        factor.factor_id
                    ));
                }
                if factor.methods.is_empty() {
                    return Err(format!(
                        "user {who}: factor {} has no method",
                        factor.factor_id
                    ));
                }
                if let Some(m) = factor.methods.iter().find(|m| !m.is_known()) {
                    return Err(format!(
                        "user {who}: factor {} has the unknown method {m}",
                        factor.factor_id
                    ));
                }
                if factor.methods.contains(&Method::Totp) {
                    let secret = factor.totp_secret.as_ref().ok_or_else(|| {
                        format!(
                            "user {who}: factor {} has TOTP but no totpSecret",
                            factor.factor_id
                        )
                    })?;
                    crate::totp::decode_secret(secret.expose())
                        .map_err(|e| format!("user {who}: factor {}: {e}", factor.factor_id))?;
                }
            }
            match (&user.preferred_factor_id, &user.preferred_method) {
                (None, None) => {}
                (Some(id), Some(method)) => {
                    let factor = user.factor(id).ok_or_else(|| {
                        format!("user {who}: the preferred factor {id} is not enrolled")
                    })?;
                    if !factor.methods.contains(method) {
                        return Err(format!(
                            "user {who}: the preferred factor {id} has no method {method}"
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "user {who}: give both preferredFactorId and preferredMethod, or neither"
                    ));
                }
            }
        }
        let mut clients = std::collections::HashSet::new();
        for app in &self.apps {
            if !clients.insert(app.client_id.as_str()) {
                return Err(format!("app {} appears twice", app.client_id));
            }
        }
        Ok(())
    }

    /// The user with this GUID.
    pub fn user_by_guid(&self, guid: &str) -> Option<&UserFixture> {
        self.users.iter().find(|u| u.user_guid == guid)
    }

    /// The user with this user name.
    pub fn user_by_name(&self, name: &str) -> Option<&UserFixture> {
        self.users.iter().find(|u| u.user_name == name)
    }
}

impl UserFixture {
    /// The enrolled factor with this id.
    pub fn factor(&self, factor_id: &str) -> Option<&FactorFixture> {
        self.factors.iter().find(|f| f.factor_id == factor_id)
    }
}

/// The client secret of the default app "conformance-client" (role "MFA Client").
pub const DEFAULT_CLIENT_SECRET: &str = "conformance-secret";
/// The client secret of the default app "authenticator-client" (role "Authenticator
/// Client").
pub const DEFAULT_AUTHENTICATOR_SECRET: &str = "authenticator-secret";
/// The TOTP secret of every TOTP factor of the default fixture: RFC 6238's SHA1 seed
/// "12345678901234567890" in base32.
pub const DEFAULT_TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn factor(id: &str, display: Option<&str>, methods: &[Method]) -> FactorFixture {
    FactorFixture {
        factor_id: id.into(),
        display_name: display.map(str::to_owned),
        methods: methods.to_vec(),
        totp_secret: methods
            .contains(&Method::Totp)
            .then(|| Secret::new(DEFAULT_TOTP_SECRET)),
    }
}

fn question(id: &str, text: &str, hint: Option<&str>, answer: &str) -> QuestionFixture {
    QuestionFixture {
        id: id.into(),
        localized_text: text.into(),
        hint_text: hint.map(str::to_owned),
        answer: Secret::new(answer),
    }
}

fn codes(codes: &[&str]) -> Vec<Secret> {
    codes.iter().map(|c| Secret::new(*c)).collect()
}

impl Default for Fixture {
    /// The users of the seed examples (\[FACTORS\]'s two users, and \[VERIFY\]'s / \[PM\]'s
    /// user1@example.com), [`conformance_user`], and the two default apps. Equal to
    /// `conformance/mock/fixtures/default.json` (a test proves it).
    fn default() -> Self {
        use Method::*;
        let first_car = || {
            question(
                "FirstCar",
                "What's the model of your first car?",
                Some("Found on road"),
                "Ford Pinto",
            )
        };
        Fixture {
            users: vec![
                // Seed 002, "Example Response (application/json)".
                UserFixture {
                    user_guid: "cc327268ff4d4e4a9b3e9f676215cfc7".into(),
                    user_name: "tom@example.com".into(),
                    factors: vec![
                        factor(
                            "06f15bf5778544c3ae2236c5fca9d9e8",
                            Some("tom's Phone-1"),
                            &[Totp, Push],
                        ),
                        factor(
                            "0778f15bf5778544c3ae2236c5fca9d9e8",
                            Some("91******003"),
                            &[Sms],
                        ),
                        factor(
                            "0778f15bf5778544c3af21336c5fca9d9e8",
                            Some("91******0123"),
                            &[PhoneCall],
                        ),
                        factor(
                            "0778f15bf5778544c3af21336c523459d9e8",
                            Some("91******0143"),
                            &[Sms, PhoneCall],
                        ),
                        factor(
                            "0878f15bf5778544c3ae2236c5fca9d9e8",
                            Some("Tom's IPhone 2"),
                            &[Totp],
                        ),
                        factor(SECURITY_QUESTIONS_FACTOR, None, &[SecurityQuestions]),
                        factor(BYPASS_CODE_FACTOR, None, &[Bypasscode]),
                    ],
                    preferred_factor_id: Some("0778f15bf5778544c3ae2236c5fca9d9e8".into()),
                    preferred_method: Some(Sms),
                    security_questions: vec![
                        first_car(),
                        question(
                            "FirstPet",
                            "What was the name of your first pet?",
                            None,
                            "Rex",
                        ),
                    ],
                    bypass_codes: codes(&["397541940949", "118263507364", "640259183725"]),
                },
                // Seed 002, "Example of Response Body".
                UserFixture {
                    user_guid: "7b3d902ab05b4214bae6b2924ca6be21".into(),
                    user_name: "tom.two@example.com".into(),
                    factors: vec![
                        factor(
                            "06f15bf5778544c3ae2236c5fca9d9e8",
                            Some("Tom's Phone-1"),
                            &[Totp, Push],
                        ),
                        factor(SECURITY_QUESTIONS_FACTOR, None, &[SecurityQuestions]),
                        factor(
                            "83889faeacaf4592a964405f87506fc6",
                            Some("155XXXXX555"),
                            &[Sms],
                        ),
                        factor(
                            "b3e04149d958437b9b801fa70c33ca70",
                            Some("uxxr1@example.com"),
                            &[Email],
                        ),
                        factor(BYPASS_CODE_FACTOR, None, &[Bypasscode]),
                    ],
                    preferred_factor_id: Some("b3e04149d958437b9b801fa70c33ca70".into()),
                    preferred_method: Some(Email),
                    security_questions: vec![first_car()],
                    bypass_codes: codes(&["572049318846", "903716452280"]),
                },
                // Seed 001's resend answer (EMAIL) and [PM]'s initiate answer (SMS).
                UserFixture {
                    user_guid: "589879c55b7340518141eab82493f0cc".into(),
                    user_name: "user1@example.com".into(),
                    factors: vec![
                        factor(
                            "88178d80636a428393a5674ba46dc867",
                            Some("+44XXXXXX455"),
                            &[Sms],
                        ),
                        factor(
                            "30db2274140043918edb033d9fe29ff3",
                            Some("user1@example.com"),
                            &[Email],
                        ),
                        factor(SECURITY_QUESTIONS_FACTOR, None, &[SecurityQuestions]),
                        factor(BYPASS_CODE_FACTOR, None, &[Bypasscode]),
                    ],
                    preferred_factor_id: Some("88178d80636a428393a5674ba46dc867".into()),
                    preferred_method: Some(Sms),
                    security_questions: vec![first_car()],
                    bypass_codes: codes(&["397541940949", "281640935571"]),
                },
                // This project's own: every method, for the conformance suite.
                conformance_user(),
            ],
            apps: vec![
                AppFixture {
                    client_id: "conformance-client".into(),
                    client_secret: Secret::new(DEFAULT_CLIENT_SECRET),
                    roles: vec![ROLE_MFA_CLIENT.into()],
                },
                AppFixture {
                    client_id: "authenticator-client".into(),
                    client_secret: Secret::new(DEFAULT_AUTHENTICATOR_SECRET),
                    roles: vec![ROLE_AUTHENTICATOR_CLIENT.into()],
                },
            ],
        }
    }
}

/// The conformance suite's own test user (`conformance@example.com`), in the default
/// fixture: every method enrolled, so that every check has something to work on.
pub const CONFORMANCE_USER_GUID: &str = "c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0";

/// The conformance suite's test user: every method, a TOTP secret, 64 bypass codes and
/// the answers.
pub fn conformance_user() -> UserFixture {
    let factor =
        |id: &str, name: Option<&str>, methods: &[Method], totp: Option<&str>| FactorFixture {
            factor_id: id.to_owned(),
            display_name: name.map(str::to_owned),
            methods: methods.to_vec(),
            totp_secret: totp.map(Secret::new),
        };
    UserFixture {
        user_guid: CONFORMANCE_USER_GUID.to_owned(),
        user_name: "conformance@example.com".to_owned(),
        factors: vec![
            factor(
                "c0f0a1a1a1a14a1a8a1aa1a1a1a1a1a1",
                Some("Conformance Phone"),
                &[Method::Totp, Method::Push],
                Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
            ),
            factor(
                "c0f0b2b2b2b24b2b8b2bb2b2b2b2b2b2",
                Some("91******0100"),
                &[Method::Sms],
                None,
            ),
            factor(
                "c0f0c3c3c3c34c3c8c3cc3c3c3c3c3c3",
                Some("91******0101"),
                &[Method::PhoneCall],
                None,
            ),
            factor(
                "c0f0d4d4d4d44d4d8d4dd4d4d4d4d4d4",
                Some("conformance@example.com"),
                &[Method::Email],
                None,
            ),
            factor(
                "SecurityQuestions",
                None,
                &[Method::SecurityQuestions],
                None,
            ),
            factor("BypassCode", None, &[Method::Bypasscode], None),
        ],
        preferred_factor_id: Some("c0f0b2b2b2b24b2b8b2bb2b2b2b2b2b2".to_owned()),
        preferred_method: Some(Method::Sms),
        security_questions: vec![QuestionFixture {
            id: "FirstCar".to_owned(),
            localized_text: "What's the model of your first car?".to_owned(),
            hint_text: Some("Found on road".to_owned()),
            answer: Secret::new("Ford Pinto"),
        }],
        bypass_codes: (1..=64)
            .map(|n| Secret::new(format!("39754194{n:04}")))
            .collect(),
    }
}
