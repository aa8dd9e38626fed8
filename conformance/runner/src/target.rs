//! The tenant under test and its fixtures. (The context each check runs in, [`Ctx`],
//! is the harness's: `crate::harness`.)
//!
//! [`Ctx`]: crate::harness::Ctx
//!
//! A [`Target`] is a base URL, a token, the test user and whatever [`Fixtures`] the
//! tenant can give: a TOTP secret, bypass codes, security answers, and a way to read a
//! delivered OTP and to approve or reject a PUSH. Those last two are [`Source`]s: a
//! command the runner calls (real tenants) or the mock tenant's control API (the
//! embedded default, and `serve` in another process). Both go through this one module,
//! so the embedded run exercises the same fixture path as a real one.
//!
//! A check that needs a fixture the target lacks is skipped with the reason; it never
//! passes.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use idcs_mfa::{Client, RateLimiter, Secret, Verification, types};
use tokio::sync::OnceCell;

use crate::{ledger::Ledger, observe::Observations};

/// How long the runner waits for people and phones. Set from the profile's
/// `[fixtures]` keys `push_poll_secs`, `push_decision_secs` and `otp_retry_secs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Patience {
    /// Between two polls of a PUSH whose decision is not in yet (Oracle's sign-in
    /// sample polls every 3 s: [`idcs_mfa::DEFAULT_PUSH_INTERVAL`]).
    pub push_poll: Duration,
    /// How long after the push command a PUSH may stay pending before the answer is
    /// judged as it is.
    pub push_decision: Duration,
    /// How long an OTP source is asked again while it answers with nothing yet (a
    /// command that exited 0 and printed nothing); a failing one is not asked again.
    pub otp_retry: Duration,
}

/// Default [`Patience::push_decision`]: a person taps within a minute.
pub const DEFAULT_PUSH_DECISION: Duration = Duration::from_secs(60);
/// Default [`Patience::otp_retry`]: an SMS or e-mail usually arrives within 30 s.
pub const DEFAULT_OTP_RETRY: Duration = Duration::from_secs(30);

impl Default for Patience {
    fn default() -> Self {
        Self {
            push_poll: idcs_mfa::DEFAULT_PUSH_INTERVAL,
            push_decision: DEFAULT_PUSH_DECISION,
            otp_retry: DEFAULT_OTP_RETRY,
        }
    }
}

/// The user the checks verify.
#[derive(Clone, Debug)]
pub struct TestUser {
    /// The user's GUID.
    pub guid: String,
    /// The user's name (for the look-up by name).
    pub name: Option<String>,
}

/// Where a fixture that needs the outside world comes from.
#[derive(Clone)]
pub enum Source {
    /// A shell command (`sh -c`), given the request in environment variables:
    /// `IDCS_REQUEST_ID`, `IDCS_USER_GUID`, `IDCS_FACTOR_ID`, `IDCS_METHOD`, and for a
    /// PUSH `IDCS_PUSH_ACTION` (`approve` or `reject`). An OTP command prints the OTP.
    Command(String),
    /// The mock tenant's control API.
    Mock {
        /// Its base URL (the tenant's base URL; routes are under `/_mock/v1`).
        base_url: String,
        /// Its credential.
        token: Secret,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Command(c) => f.debug_tuple("Command").field(c).finish(),
            Source::Mock { base_url, .. } => f
                .debug_struct("Mock")
                .field("base_url", base_url)
                .finish_non_exhaustive(),
        }
    }
}

/// What the tenant can give the checks. Secrets stay [`Secret`]s.
#[derive(Debug, Default)]
pub struct Fixtures {
    /// A TOTP factor of the test user and its base32 secret.
    pub totp: Option<(String, Secret)>,
    /// A verification with a code of [`Fixtures::totp`] failed: the runner no longer
    /// resets the attempt count with it (each try might spend an attempt).
    pub totp_failed: std::sync::atomic::AtomicBool,
    /// Unused bypass codes, used in order, each once.
    pub bypass_codes: Mutex<VecDeque<Secret>>,
    /// Answers by question id.
    pub answers: BTreeMap<String, Secret>,
    /// Reads a delivered OTP (SMS, EMAIL, PHONE_CALL).
    pub otp: Option<Source>,
    /// Approves or rejects a PUSH.
    pub push: Option<Source>,
    /// Unlocks the test user and sets their attempt count to 0: the mock's control
    /// API, or `fixtures.unlock_command` (given `IDCS_USER_GUID`).
    pub unlock: Option<Source>,
}

/// The tenant under test.
pub struct Target {
    /// Its base URL.
    pub base_url: String,
    /// The client every documented request goes through (token, timeouts, rate limit).
    pub client: Client,
    /// The token, for raw requests.
    pub token: Option<Secret>,
    /// A token holding only the "Authenticator Client" role, when there is one.
    pub authenticator_token: Option<Secret>,
    /// The roles the token holds, when known.
    pub token_roles: Option<Vec<String>>,
    /// The test user.
    pub user: TestUser,
    /// Fixtures.
    pub fixtures: Fixtures,
    /// The rate limit shared by every request of the run.
    pub limiter: RateLimiter,
    /// Whether checks may drive the user into lockout.
    pub allow_lockout: bool,
    /// The tenant's maximum of MFA attempts, when known.
    pub max_attempts: Option<u32>,
    /// The highest attempt count the run may bring the test user to, when set
    /// (`--attempt-budget`, `safety.attempt_budget`); see [`crate::guard`].
    pub attempt_budget: Option<u32>,
    /// The accounting of the test user's attempt count, fed by every exchange.
    pub ledger: Ledger,
    /// Property-check settings.
    pub props: PropConfig,
    /// What the run saw of the tenant's habits (the client reports to it).
    pub observations: Arc<Observations>,
    /// The readings the tenant showed so far ([`crate::readings`]).
    pub readings: crate::readings::Observed,
    /// How long to wait for PUSH decisions and delivered OTPs.
    pub patience: Patience,
    /// The test user's factors, fetched once.
    factors: OnceCell<Option<types::UserFactors>>,
    /// Requests initiated once per run for the checks that only read a request (see
    /// [`crate::harness::Ctx::shared_quiet`]): one whose initiate sends nothing, and a
    /// PUSH.
    pub(crate) shared_quiet: OnceCell<Result<Verification, crate::harness::Fail>>,
    pub(crate) shared_push: OnceCell<Result<Verification, crate::harness::Fail>>,
}

impl Target {
    /// A target; fixtures and options are set on the returned value.
    pub fn new(
        base_url: String,
        client: Client,
        token: Option<Secret>,
        user: TestUser,
        limiter: RateLimiter,
    ) -> Self {
        let ledger = Ledger::new(&user.guid, user.name.as_deref());
        Self {
            base_url,
            client,
            token,
            authenticator_token: None,
            token_roles: None,
            user,
            fixtures: Fixtures::default(),
            limiter,
            allow_lockout: false,
            max_attempts: None,
            attempt_budget: None,
            ledger,
            props: Default::default(),
            observations: Arc::default(),
            readings: Default::default(),
            patience: Patience::default(),
            factors: OnceCell::new(),
            shared_quiet: OnceCell::new(),
            shared_push: OnceCell::new(),
        }
    }

    /// The test user's factors (fetched once per run; `None` if the tenant refused).
    pub async fn factors(&self) -> Option<&types::UserFactors> {
        self.factors
            .get_or_init(|| async {
                self.client
                    .get_user_factors(&self.user.guid)
                    .await
                    .ok()
                    .map(|r| r.value)
            })
            .await
            .as_ref()
    }

    /// Keeps the factors the preflight read, so the checks do not read them again.
    pub fn remember_factors(&self, factors: types::UserFactors) {
        let _ = self.factors.set(Some(factors));
    }

    /// Whether the runner can unlock the test user (and set the count to 0).
    pub fn can_unlock(&self) -> bool {
        self.fixtures.unlock.is_some()
    }

    /// Unlocks the test user and sets their attempt count to 0, where the target
    /// allows it (the mock's control API, or `fixtures.unlock_command`).
    pub async fn unlock_user(&self) -> Result<(), String> {
        match &self.fixtures.unlock {
            Some(Source::Mock { base_url, token }) => {
                let url = idcs_mfa_mock::routes::unlock_user(base_url, &self.user.guid);
                control_post(&self.client, &url, token).await?;
            }
            Some(Source::Command(cmd)) => {
                run_command(cmd, &[("IDCS_USER_GUID", &self.user.guid)]).await?;
            }
            None => {
                return Err(
                    "the profile gives no way to unlock the test user (fixtures.unlock_command)"
                        .into(),
                );
            }
        }
        self.ledger.unlocked();
        Ok(())
    }
}

pub(crate) fn request_env<'a>(
    v: &'a Verification,
    action: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut env = vec![
        ("IDCS_REQUEST_ID", v.request_id()),
        ("IDCS_USER_GUID", v.user_guid()),
        ("IDCS_FACTOR_ID", v.factor_id()),
        ("IDCS_METHOD", v.method().as_str()),
    ];
    if let Some(action) = action {
        env.push(("IDCS_PUSH_ACTION", action));
    }
    env
}

/// Runs a fixture command with a 30 s limit; returns its standard output.
pub(crate) async fn run_command(cmd: &str, env: &[(&str, &str)]) -> Result<String, String> {
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg(cmd).kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .map_err(|_| format!("the fixture command `{cmd}` did not finish within 30 s"))?
        .map_err(|e| format!("cannot run the fixture command `{cmd}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the fixture command `{cmd}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| format!("the fixture command `{cmd}` printed invalid UTF-8"))
}

/// One request to the mock's control API whose answer is JSON.
pub(crate) async fn control_json(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let answer = control(client, method, url, token, body).await?;
    serde_json::from_slice(&answer)
        .map_err(|e| format!("the mock's control API answered non-JSON: {e}"))
}

pub(crate) async fn control_post(
    client: &Client,
    url: &str,
    token: &Secret,
) -> Result<Bytes, String> {
    control(client, reqwest::Method::POST, url, token, None).await
}

/// A request for [`Client::execute`] (which sends it on the client's own connections,
/// under its policy): `method url`, a bearer token (a header marked sensitive, so it is
/// never recorded), a `Content-Type`, a body.
pub(crate) fn raw_request(
    method: reqwest::Method,
    url: &str,
    token: Option<&Secret>,
    content_type: Option<&str>,
    body: Option<Bytes>,
) -> Result<reqwest::Request, String> {
    use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
    let mut request = reqwest::Request::new(method, parsed);
    if let Some(token) = token {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| "the token is not a valid header value".to_owned())?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    if let Some(ct) = content_type {
        let value = HeaderValue::from_str(ct)
            .map_err(|_| format!("{ct:?} is not a valid Content-Type value"))?;
        request.headers_mut().insert(CONTENT_TYPE, value);
    }
    if let Some(body) = body {
        *request.body_mut() = Some(body.into());
    }
    Ok(request)
}

/// One request to the mock's control API (with a JSON body when given); a non-2xx
/// answer is an error.
pub(crate) async fn control(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&serde_json::Value>,
) -> Result<Bytes, String> {
    let body = body.map(|b| Bytes::from(b.to_string()));
    let content_type = body.as_ref().map(|_| "application/json");
    let request = raw_request(method.clone(), url, Some(token), content_type, body)
        .map_err(|e| format!("cannot build a control API request: {e}"))?;
    // Through the client's policy too: a control call is a request like any other.
    let (status, _, answer) = client
        .execute(request)
        .await
        .map_err(|e| format!("the mock's control API did not answer: {e}"))?;
    if !status.is_success() {
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
            " (is the control token the one `serve` printed?)"
        } else {
            ""
        };
        return Err(format!(
            "the mock's control API answered {status} to {method} {url}{hint}"
        ));
    }
    Ok(answer)
}

/// How many cases each property runs, and from which seed; how many sequences the
/// sequence checks draw, how long, and whether inferred rules are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropConfig {
    /// Cases per property.
    pub cases: u32,
    /// The RNG seed.
    pub seed: u64,
    /// Sequences the sequence checks draw.
    pub sequences: u32,
    /// Steps per sequence at most.
    pub max_steps: usize,
    /// Judge the rules this project decided (`--strict`).
    pub strict: bool,
}

/// Cases per property when not told otherwise.
pub const DEFAULT_CASES: u32 = 64;

/// Cases per property against a tenant (not the embedded mock) when not told
/// otherwise: at a real tenant's pace every request is time, and the properties catch
/// what they are for with the first case (the fault matrix runs them at this size).
pub const TENANT_CASES: u32 = 8;

/// Sequences per run against a tenant when not told otherwise (see [`TENANT_CASES`]).
pub const TENANT_SEQUENCES: u32 = 8;

impl Default for PropConfig {
    fn default() -> Self {
        Self {
            cases: DEFAULT_CASES,
            seed: 0x1dc5_0f1a,
            sequences: DEFAULT_SEQUENCES,
            max_steps: DEFAULT_MAX_STEPS,
            strict: false,
        }
    }
}

/// Sequences per run when not told otherwise.
pub const DEFAULT_SEQUENCES: u32 = 32;

/// Steps per sequence at most, when not told otherwise.
pub const DEFAULT_MAX_STEPS: usize = 12;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use idcs_mfa::Method;

    use super::Source;
    use crate::harness::Ctx;

    // Test case: the fixture commands get the documented environment: IDCS_REQUEST_ID,
    // IDCS_USER_GUID, IDCS_FACTOR_ID, IDCS_METHOD, and for a PUSH IDCS_PUSH_ACTION.
    #[tokio::test]
    async fn fixture_commands_get_the_documented_environment() {
        let (handle, mut target) = crate::embedded::start(Vec::new()).await.expect("mock");
        let dir = std::env::temp_dir().join(format!("idcs-target-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let seen = dir.join("push-env");
        target.fixtures.otp = Some(Source::Command(
            "printf '%s|%s|%s|%s' \"$IDCS_REQUEST_ID\" \"$IDCS_USER_GUID\" \"$IDCS_FACTOR_ID\" \"$IDCS_METHOD\"".into(),
        ));
        target.fixtures.push = Some(Source::Command(format!(
            "printf '%s|%s' \"$IDCS_REQUEST_ID\" \"$IDCS_PUSH_ACTION\" > '{}'",
            seen.display()
        )));
        let cx = Ctx::new(Arc::new(target));
        let v = cx.initiate(Method::Sms).await.expect("initiate");
        let printed = cx.delivered_otp(&v).await.expect("the command ran");
        assert_eq!(
            printed.expose(),
            format!("{}|{}|{}|SMS", v.request_id(), v.user_guid(), v.factor_id())
        );
        let push = cx.initiate(Method::Push).await.expect("initiate");
        cx.act_on_push(&push, false).await.expect("the command ran");
        assert_eq!(
            std::fs::read_to_string(&seen).expect("written"),
            format!("{}|reject", push.request_id())
        );
        let _ = std::fs::remove_dir_all(dir);
        let _ = handle.shutdown().await;
    }
}
