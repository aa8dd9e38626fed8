//! Profiles: what the runner knows about a tenant, in a TOML file.
//!
//! ```toml
//! base_url = "https://idcs-abc123.identity.oraclecloud.com"   # or --base-url
//! content_type = "json"                  # or "scim+json"
//!
//! [auth]
//! token_env = "IDCS_TOKEN"               # default; or token_file, or client credentials:
//! # token_file = "/run/secrets/idcs-token"
//! # client_id = "conformance-client"
//! # client_secret_env = "IDCS_CLIENT_SECRET"
//! roles = ["MFA Client"]                 # what the token holds, when known
//! # authenticator_token_env = "IDCS_AUTHENTICATOR_TOKEN"
//!
//! [user]
//! guid = "cc327268ff4d4e4a9b3e9f676215cfc7"
//! name = "tom@example.com"
//!
//! [fixtures]                             # all optional: a check whose fixture is absent is skipped
//! totp_factor_id = "06f15bf5778544c3ae2236c5fca9d9e8"
//! totp_secret_env = "IDCS_TOTP_SECRET"   # base32
//! bypass_codes_env = "IDCS_BYPASS_CODES" # comma-separated, each used once
//! security_answers_env = "IDCS_ANSWERS"  # JSON object {"FirstCar": "Ford Pinto"}
//! otp_command = "./read-otp.sh"          # prints the OTP; gets IDCS_REQUEST_ID, IDCS_METHOD, …
//! push_command = "./push.sh"             # gets IDCS_REQUEST_ID and IDCS_PUSH_ACTION=approve|reject
//! push_poll_secs = 3.0                   # poll a PUSH this often until the decision is in
//! push_decision_secs = 60.0              # how long a PUSH may stay pending after push_command
//! otp_retry_secs = 30.0                  # ask otp_command again while it prints nothing (exit 0)
//! unlock_command = "./unlock.sh"         # unlocks the user, count to 0; gets IDCS_USER_GUID
//!
//! [mock_control]                         # the mock tenant's control API, instead of commands
//! token_env = "MOCK_CONTROL_TOKEN"
//!
//! [safety]
//! rate_limit = 5.0                       # requests per second (0: no limit)
//! timeout_secs = 15                      # per request
//! attempt_budget = 2                     # the highest attempt count the run may bring the user to
//! max_attempts = 5                       # the tenant's lockout threshold (assumed 3 when absent)
//! backoff_secs = 1.0                     # first wait after a 429 without Retry-After (doubles, jitter, ≤ 30 s)
//! ```
//!
//! Secrets never sit in the file itself: the file names environment variables (or a
//! token file) that hold them, so a profile can be committed.

mod mock_control;

use std::{
    collections::{BTreeMap, VecDeque},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use idcs_mfa::{Client, ClientCredentials, ContentType, RateLimitPolicy, RateLimiter, Secret};
use serde::Deserialize;

use crate::{
    ledger::Ledger,
    source::{ControlError, Source},
    target::{
        Findings, Fixtures, Patience, PropConfig, RunSettings, Safety, TargetBuilder, Tenant,
        TestUser,
    },
};

/// A profile file. See the [module docs](self).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The tenant's base URL (the command line's `--base-url` wins).
    pub base_url: Option<String>,
    /// `json` (default) or `scim+json`.
    pub content_type: Option<String>,
    /// How to get a token.
    #[serde(default)]
    pub auth: AuthSection,
    /// The test user.
    pub user: Option<UserSection>,
    /// Fixtures.
    #[serde(default)]
    pub fixtures: FixtureSection,
    /// The mock tenant's control API.
    pub mock_control: Option<MockControlSection>,
    /// Safety settings.
    #[serde(default)]
    pub safety: SafetySection,
}

/// `[auth]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Environment variable holding the token (default `IDCS_TOKEN`).
    pub token_env: Option<String>,
    /// File holding the token.
    pub token_file: Option<PathBuf>,
    /// Client id for the client-credentials grant.
    pub client_id: Option<String>,
    /// Environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Scope of the grant (default `urn:opc:idm:__myscopes__`).
    pub scope: Option<String>,
    /// The roles the token holds, when known.
    pub roles: Option<Vec<String>>,
    /// Environment variable holding a token with only the "Authenticator Client" role.
    pub authenticator_token_env: Option<String>,
}

/// `[user]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSection {
    /// The test user's GUID.
    pub guid: String,
    /// The test user's name.
    pub name: Option<String>,
}

/// `[fixtures]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureSection {
    /// The TOTP factor's id.
    pub totp_factor_id: Option<String>,
    /// Environment variable holding its base32 secret.
    pub totp_secret_env: Option<String>,
    /// Environment variable holding comma-separated bypass codes.
    pub bypass_codes_env: Option<String>,
    /// Environment variable holding a JSON object of answers by question id.
    pub security_answers_env: Option<String>,
    /// Command printing a delivered OTP.
    pub otp_command: Option<String>,
    /// Command approving or rejecting a PUSH.
    pub push_command: Option<String>,
    /// Seconds between two polls of a PUSH whose decision is not in yet (default 3,
    /// the interval of Oracle's sign-in sample).
    pub push_poll_secs: Option<f64>,
    /// Seconds a PUSH may stay pending after the push command before the answer is
    /// judged (default 60).
    pub push_decision_secs: Option<f64>,
    /// Seconds during which an OTP source that answered with nothing yet (a command
    /// that exited 0 and printed nothing) is asked again, every second (default 30). A
    /// failing command is not asked again.
    pub otp_retry_secs: Option<f64>,
    /// Command unlocking the test user and setting their attempt count to 0 (an
    /// administrator's action), given `IDCS_USER_GUID`. With it, lockout checks run
    /// one after another, and a user found locked is unlocked.
    pub unlock_command: Option<String>,
}

/// `[mock_control]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockControlSection {
    /// The control API's base URL when not the tenant's.
    pub base_url: Option<String>,
    /// Environment variable holding the control token (default `MOCK_CONTROL_TOKEN`).
    pub token_env: Option<String>,
}

/// `[safety]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetySection {
    /// Requests per second.
    pub rate_limit: Option<f64>,
    /// Per-request timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// The highest MFA attempt count the run may bring the test user to (OTPs sent and
    /// failed verifications since the last success); never the maximum itself. Default
    /// 2, or `max_attempts - 1` when the runner can unlock the user.
    pub attempt_budget: Option<u32>,
    /// The tenant's lockout threshold (when absent the runner assumes 3, the lowest
    /// plausible setting, and says so).
    pub max_attempts: Option<u32>,
    /// Seconds of the first wait after a 429 without `Retry-After` (doubled after each
    /// further 429, with jitter, up to 30 s; default 1). A `Retry-After` is honoured
    /// as sent, and 429s are retried until the run's deadline.
    pub backoff_secs: Option<f64>,
}

/// Why a profile cannot be used. Each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file cannot be read.
    #[error("cannot read the profile {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid profile.
    #[error("the profile {path} is not valid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// Something is missing or inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// The mock tenant's control API (`[mock_control]`) did not give what the profile
    /// leaves out.
    #[error(transparent)]
    Control(#[from] ControlError),
}

/// Settings the command line can override.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--rate-limit`.
    pub rate_limit: Option<f64>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--allow-lockout`.
    pub allow_lockout: bool,
    /// `--attempt-budget`.
    pub attempt_budget: Option<u32>,
    /// `--insecure`.
    pub accept_invalid_certs: bool,
}

/// Default rate limit against a tenant given by URL.
pub const DEFAULT_RATE_LIMIT: f64 = 5.0;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

impl Profile {
    /// Reads a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ProfileError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Resolves the profile into a target: the token, the fixtures, the safety
    /// settings (the run's own settings are the builder's to add). `env` reads
    /// environment variables (the process's, or a test's map).
    pub async fn resolve(
        self,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<TargetBuilder, ProfileError> {
        let base_url = overrides
            .base_url
            .clone()
            .or(self.base_url.clone())
            .ok_or_else(|| {
                ProfileError::Invalid(
                    "no tenant: give --base-url URL or base_url in the profile".into(),
                )
            })?;
        let user = self.user.clone().ok_or_else(|| {
            ProfileError::Invalid(
                "no test user: give --user-guid GUID and --user-name NAME, or guid and name under [user] in a profile (--profile FILE; docs/profile.md)"
                    .into(),
            )
        })?;
        let content_type = match self.content_type.as_deref() {
            None | Some("json") => ContentType::Json,
            Some("scim+json") => ContentType::ScimJson,
            Some(other) => {
                return Err(ProfileError::Invalid(format!(
                    "content_type {other:?} is not \"json\" or \"scim+json\""
                )));
            }
        };
        let limiter = RateLimiter::per_second(
            overrides
                .rate_limit
                .or(self.safety.rate_limit)
                .unwrap_or(DEFAULT_RATE_LIMIT),
        );
        let timeout = overrides
            .timeout
            .or(self.safety.timeout_secs.map(Duration::from_secs))
            .unwrap_or(DEFAULT_TIMEOUT);
        let patience = self.patience()?;
        let backoff = seconds("safety.backoff_secs", self.safety.backoff_secs)?
            .unwrap_or(idcs_mfa::policy::DEFAULT_INITIAL_BACKOFF);
        let observations = Arc::new(crate::observe::Observations::default());
        let base = Client::builder(base_url.clone())
            .content_type(content_type)
            .request_timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .rate_limiter(limiter.clone())
            // The run's deadline is the only stop: any Retry-After that ends before it
            // is waited out (observe::give_up_before sets it).
            .rate_limit_policy(
                RateLimitPolicy::default()
                    .initial_backoff(backoff)
                    .max_retry_after(Duration::MAX),
            )
            .observer(observations.clone())
            .danger_accept_invalid_certs(overrides.accept_invalid_certs)
            .build()
            .map_err(|e| ProfileError::Invalid(e.to_string()))?;

        let token = self.token(&base, env).await?;
        let client = base.with_token(Some(token.clone()));
        let authenticator_token = match &self.auth.authenticator_token_env {
            Some(var) => Some(Secret::new(required_env(
                env,
                var,
                "auth.authenticator_token_env",
            )?)),
            None => None,
        };
        let (fixtures, mock) = self.fixtures(&base_url, env)?;
        let user = TestUser {
            guid: user.guid,
            name: user.name,
        };
        let mut target = TargetBuilder {
            safety: Safety {
                limiter,
                allow_lockout: overrides.allow_lockout,
                max_attempts: self.safety.max_attempts,
                attempt_budget: overrides.attempt_budget.or(self.safety.attempt_budget),
                ledger: Ledger::new(&user.guid, user.name.as_deref()),
            },
            tenant: Tenant {
                base_url: base_url.trim_end_matches('/').to_owned(),
                client,
                token: Some(token),
                authenticator_token,
                token_roles: self.auth.roles.clone(),
                user,
                fixtures,
                shared: Default::default(),
            },
            settings: RunSettings {
                props: PropConfig::default(),
                patience,
            },
            findings: Findings {
                observations,
                readings: Default::default(),
            },
        };
        if let Some(Source::Mock { base_url, token }) = mock {
            mock_control::fill(&mut target, &base_url, &token).await?;
        }
        Ok(target)
    }

    async fn token(
        &self,
        client: &Client,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, ProfileError> {
        let auth = &self.auth;
        if let Some(path) = &auth.token_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ProfileError::Invalid(format!(
                    "cannot read the token file {}: {e}",
                    path.display()
                ))
            })?;
            let token = text.trim();
            if token.is_empty() {
                return Err(ProfileError::Invalid(format!(
                    "the token file {} is empty",
                    path.display()
                )));
            }
            return Ok(Secret::new(token));
        }
        if let Some(client_id) = &auth.client_id {
            let var = auth
                .client_secret_env
                .as_deref()
                .unwrap_or("IDCS_CLIENT_SECRET");
            let secret = required_env(env, var, "auth.client_secret_env")?;
            let mut credentials = ClientCredentials::new(client_id.clone(), secret);
            if let Some(scope) = &auth.scope {
                credentials.scope = scope.clone();
            }
            let issued = client.fetch_token(&credentials).await.map_err(|e| {
                ProfileError::Invalid(format!(
                    "cannot get a token with the client credentials of {client_id:?}: {e}"
                ))
            })?;
            return Ok(issued.token);
        }
        let var = auth.token_env.as_deref().unwrap_or("IDCS_TOKEN");
        Ok(Secret::new(required_env(env, var, "auth.token_env")?))
    }

    /// The `[fixtures]` waits, defaults filled in.
    fn patience(&self) -> Result<Patience, ProfileError> {
        let f = &self.fixtures;
        let default = Patience::default();
        Ok(Patience {
            push_poll: seconds("fixtures.push_poll_secs", f.push_poll_secs)?
                .unwrap_or(default.push_poll),
            push_decision: seconds("fixtures.push_decision_secs", f.push_decision_secs)?
                .unwrap_or(default.push_decision),
            otp_retry: seconds("fixtures.otp_retry_secs", f.otp_retry_secs)?
                .unwrap_or(default.otp_retry),
        })
    }

    /// The fixtures, and the mock's control API when `[mock_control]` names one.
    fn fixtures(
        &self,
        base_url: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Fixtures, Option<Source>), ProfileError> {
        let f = &self.fixtures;
        let mut fixtures = Fixtures::default();
        if let Some(var) = &f.totp_secret_env {
            let factor = f.totp_factor_id.clone().ok_or_else(|| {
                ProfileError::Invalid(
                    "fixtures.totp_secret_env needs fixtures.totp_factor_id".into(),
                )
            })?;
            let secret = required_env(env, var, "fixtures.totp_secret_env")?;
            idcs_mfa_mock::totp::code(&secret, 0).map_err(|e| {
                ProfileError::Invalid(format!(
                    "the TOTP secret in ${var} is not usable base32: {e}"
                ))
            })?;
            fixtures.totp = Some((factor, Secret::new(secret)));
        }
        if let Some(var) = &f.bypass_codes_env {
            let codes = required_env(env, var, "fixtures.bypass_codes_env")?;
            fixtures.bypass_codes = Mutex::new(
                codes
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(Secret::new)
                    .collect::<VecDeque<_>>(),
            );
        }
        if let Some(var) = &f.security_answers_env {
            let text = required_env(env, var, "fixtures.security_answers_env")?;
            let answers: BTreeMap<String, String> = serde_json::from_str(&text).map_err(|e| {
                ProfileError::Invalid(format!(
                    "${var} must hold a JSON object of answers by question id: {e}"
                ))
            })?;
            fixtures.answers = answers
                .into_iter()
                .map(|(k, v)| (k, Secret::new(v)))
                .collect();
        }
        fixtures.otp = f.otp_command.clone().map(Source::Command);
        fixtures.push = f.push_command.clone().map(Source::Command);
        fixtures.unlock = f.unlock_command.clone().map(Source::Command);
        let mut control = None;
        if let Some(mock) = &self.mock_control {
            let var = mock.token_env.as_deref().unwrap_or("MOCK_CONTROL_TOKEN");
            let source = Source::Mock {
                base_url: mock
                    .base_url
                    .clone()
                    .unwrap_or_else(|| base_url.trim_end_matches('/').to_owned()),
                token: Secret::new(required_env(env, var, "mock_control.token_env")?),
            };
            fixtures.otp.get_or_insert(source.clone());
            fixtures.push.get_or_insert(source.clone());
            fixtures.unlock.get_or_insert(source.clone());
            control = Some(source);
        }
        Ok((fixtures, control))
    }
}

/// A duration key in seconds: positive and at most a day.
fn seconds(key: &str, value: Option<f64>) -> Result<Option<Duration>, ProfileError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => {
            Ok(Some(Duration::from_secs_f64(v)))
        }
        Some(v) => Err(ProfileError::Invalid(format!(
            "{key} = {v} is not a number of seconds between 0 (excluded) and 86400"
        ))),
    }
}

fn required_env(
    env: &dyn Fn(&str) -> Option<String>,
    var: &str,
    key: &str,
) -> Result<String, ProfileError> {
    env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
        ProfileError::Invalid(format!(
            "the environment variable {var} (named by {key}) is not set"
        ))
    })
}

/// Reads the process environment.
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

#[cfg(test)]
mod tests {
    //! Every profile key and every environment variable the README names reaches the
    //! effective settings: none is parsed and then dropped.

    use std::{collections::BTreeMap, time::Duration};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::source::Source;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn parse(text: &str) -> Profile {
        toml::from_str(text).expect("the profile parses")
    }

    /// A token endpoint that records the one request it gets.
    async fn token_endpoint() -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = socket.read(&mut buf).await.expect("read");
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).to_string();
                if let Some(head) = text.find("\r\n\r\n") {
                    let length = text[..head]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if seen.len() >= head + 4 + length || n == 0 {
                        break;
                    }
                }
            }
            let body = r#"{"access_token":"minted-token","token_type":"Bearer","expires_in":3600}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&seen).to_string()
        });
        (url, task)
    }

    // Test case: a profile with every key set to a value other than its default; each
    // shows in the target it builds, and each command-line override wins over its key.
    #[tokio::test]
    async fn every_key_reaches_the_effective_settings() {
        let profile = parse(
            r#"
base_url = "http://127.0.0.1:1/"
content_type = "scim+json"
[auth]
token_env = "MY_TOKEN"
roles = ["MFA Client", "Authenticator Client"]
authenticator_token_env = "MY_AUTH_TOKEN"
[user]
guid = "u-guid"
name = "u@example.com"
[fixtures]
totp_factor_id = "totp-factor"
totp_secret_env = "MY_TOTP"
bypass_codes_env = "MY_CODES"
security_answers_env = "MY_ANSWERS"
otp_command = "otp-cmd"
push_command = "push-cmd"
unlock_command = "unlock-cmd"
[safety]
rate_limit = 2.0
timeout_secs = 7
attempt_budget = 1
max_attempts = 9
"#,
        );
        let env = env_of(&[
            ("MY_TOKEN", "tok"),
            ("MY_AUTH_TOKEN", "auth-tok"),
            ("MY_TOTP", "JBSWY3DPEHPK3PXP"),
            ("MY_CODES", "111, 222,333"),
            ("MY_ANSWERS", r#"{"FirstCar": "Pinto"}"#),
        ]);
        let target = profile
            .clone()
            .resolve(&Overrides::default(), &env)
            .await
            .expect("target")
            .build();
        assert_eq!(target.tenant().base_url, "http://127.0.0.1:1");
        assert!(format!("{:?}", target.tenant().client).contains("ScimJson"));
        assert_eq!(
            target.tenant().token.as_ref().map(|t| t.expose()),
            Some("tok")
        );
        assert_eq!(
            target.tenant().token_roles.as_deref(),
            Some(&["MFA Client".to_owned(), "Authenticator Client".to_owned()][..])
        );
        assert_eq!(
            target
                .tenant()
                .authenticator_token
                .as_ref()
                .map(|t| t.expose()),
            Some("auth-tok")
        );
        assert_eq!(
            (
                target.tenant().user.guid.as_str(),
                target.tenant().user.name.as_deref()
            ),
            ("u-guid", Some("u@example.com"))
        );
        let (factor, secret) = target.tenant().fixtures.totp.clone().expect("totp");
        assert_eq!(
            (factor.as_str(), secret.expose()),
            ("totp-factor", "JBSWY3DPEHPK3PXP")
        );
        let codes: Vec<String> = target
            .tenant()
            .fixtures
            .bypass_codes
            .lock()
            .expect("codes")
            .iter()
            .map(|c| c.expose().to_owned())
            .collect();
        assert_eq!(codes, ["111", "222", "333"]);
        assert_eq!(
            target
                .tenant()
                .fixtures
                .answers
                .get("FirstCar")
                .map(|a| a.expose()),
            Some("Pinto")
        );
        for (source, want) in [
            (&target.tenant().fixtures.otp, "otp-cmd"),
            (&target.tenant().fixtures.push, "push-cmd"),
            (&target.tenant().fixtures.unlock, "unlock-cmd"),
        ] {
            assert!(
                matches!(source, Some(Source::Command(c)) if c == want),
                "{want}"
            );
        }
        assert!(
            format!("{:?}", target.safety().limiter).contains("500ms"),
            "{:?}",
            target.safety().limiter
        );
        assert_eq!(
            target.tenant().client.request_timeout(),
            Duration::from_secs(7)
        );
        assert_eq!(
            (target.safety().attempt_budget, target.safety().max_attempts),
            (Some(1), Some(9))
        );
        assert!(!target.safety().allow_lockout);

        // The command line wins over the profile.
        let overrides = Overrides {
            base_url: Some("http://127.0.0.1:2".into()),
            rate_limit: Some(4.0),
            timeout: Some(Duration::from_secs(3)),
            allow_lockout: true,
            attempt_budget: Some(0),
            accept_invalid_certs: true,
        };
        let target = profile
            .resolve(&overrides, &env)
            .await
            .expect("target")
            .build();
        assert_eq!(target.tenant().base_url, "http://127.0.0.1:2");
        assert!(format!("{:?}", target.safety().limiter).contains("250ms"));
        assert_eq!(
            target.tenant().client.request_timeout(),
            Duration::from_secs(3)
        );
        assert_eq!(target.safety().attempt_budget, Some(0));
        assert!(target.safety().allow_lockout);
    }

    // Test case: the token sources other than token_env: a token file, and the client
    // credentials grant with client_id, client_secret_env and scope (seen on the wire).
    #[tokio::test]
    async fn token_file_and_client_credentials_reach_the_token() {
        let dir = std::env::temp_dir().join(format!("idcs-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("token");
        std::fs::write(&file, "file-token\n").expect("write");
        let profile = parse(&format!(
            "base_url = \"http://127.0.0.1:1\"\n[auth]\ntoken_file = {:?}\n[user]\nguid = \"g\"\n",
            file.display().to_string()
        ));
        let target = profile
            .resolve(&Overrides::default(), &env_of(&[]))
            .await
            .expect("target")
            .build();
        assert_eq!(
            target.tenant().token.as_ref().map(|t| t.expose()),
            Some("file-token")
        );

        // The README's default variable names: IDCS_TOKEN, IDCS_CLIENT_SECRET.
        let bare = "base_url = \"http://127.0.0.1:1\"\n[user]\nguid = \"g\"\n";
        let target = parse(bare)
            .resolve(
                &Overrides::default(),
                &env_of(&[("IDCS_TOKEN", "env-token")]),
            )
            .await
            .expect("target")
            .build();
        assert_eq!(
            target.tenant().token.as_ref().map(|t| t.expose()),
            Some("env-token")
        );
        let missing = parse(bare)
            .resolve(&Overrides::default(), &env_of(&[]))
            .await;
        assert!(matches!(missing, Err(ProfileError::Invalid(m)) if m.contains("IDCS_TOKEN")));

        let default_secret = parse(
            "base_url = \"http://127.0.0.1:1\"\n[auth]\nclient_id = \"c\"\n[user]\nguid = \"g\"\n",
        )
        .resolve(&Overrides::default(), &env_of(&[]))
        .await;
        assert!(
            matches!(default_secret, Err(ProfileError::Invalid(m)) if m.contains("IDCS_CLIENT_SECRET"))
        );
        let (url, seen) = token_endpoint().await;
        let profile = parse(&format!(
            "base_url = \"{url}\"\n[auth]\nclient_id = \"my-client\"\nclient_secret_env = \"MY_SECRET\"\nscope = \"my-scope\"\n[user]\nguid = \"g\"\n"
        ));
        let target = profile
            .resolve(&Overrides::default(), &env_of(&[("MY_SECRET", "s3cret")]))
            .await
            .expect("target")
            .build();
        assert_eq!(
            target.tenant().token.as_ref().map(|t| t.expose()),
            Some("minted-token")
        );
        let request = seen.await.expect("the endpoint saw the request");
        assert!(request.contains("scope=my-scope"), "{request}");
        // HTTP Basic of my-client:s3cret.
        assert!(request.contains("bXktY2xpZW50OnMzY3JldA=="), "{request}");
        let _ = std::fs::remove_dir_all(dir);
    }

    // Test case: [mock_control] base_url and token_env reach the fixture sources, and
    // fill what the profile leaves out from the mock (here: its lockout threshold).
    #[tokio::test]
    async fn mock_control_keys_reach_the_sources() {
        let handle = idcs_mfa_mock::MockTenant::start_with(idcs_mfa_mock::MockConfig {
            fixture: idcs_mfa_mock::Fixture::default(),
            max_attempts: 7,
            ..idcs_mfa_mock::MockConfig::default()
        })
        .await
        .expect("mock");
        let profile = parse(&format!(
            "base_url = \"http://127.0.0.1:1\"\n[user]\nguid = \"{}\"\n[mock_control]\nbase_url = \"{}\"\ntoken_env = \"MY_CONTROL\"\n",
            crate::embedded::CONFORMANCE_USER_GUID,
            handle.base_url()
        ));
        let env = env_of(&[
            ("IDCS_TOKEN", handle.token().expose()),
            ("MY_CONTROL", handle.control_token().expose()),
        ]);
        let target = profile
            .resolve(&Overrides::default(), &env)
            .await
            .expect("target")
            .build();
        match &target.tenant().fixtures.unlock {
            Some(Source::Mock { base_url, token }) => {
                assert_eq!(base_url, handle.base_url());
                assert_eq!(token.expose(), handle.control_token().expose());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(target.safety().max_attempts, Some(7));
        let _ = handle.shutdown().await;
    }
}
