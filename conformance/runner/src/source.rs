//! Where a fixture that needs the outside world comes from: a command the runner runs
//! (real tenants), or the mock tenant's control API (the embedded default, and `serve`
//! in another process). Both go through this one module, so the embedded run exercises
//! the same fixture path as a real one. Also the raw requests the generated client
//! cannot express (no token, malformed bodies), which the control API's calls are too.

use std::{process::ExitStatus, time::Duration};

use bytes::Bytes;
use idcs_mfa::{Client, Secret, Verification};

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

/// Why a fixture source did not give what was asked of it.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A fixture command failed.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The mock's control API failed.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// Nothing can unlock the test user.
    #[error("the profile gives no way to unlock the test user (fixtures.unlock_command)")]
    NoUnlock,
}

/// Why a fixture command gave no output.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// It ran for 30 s without finishing.
    #[error("the fixture command `{0}` did not finish within 30 s")]
    TimedOut(String),
    /// `sh` could not be started.
    #[error("cannot run the fixture command `{command}`: {source}")]
    CannotRun {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// It exited with a failure.
    #[error("the fixture command `{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// Its standard output is not UTF-8.
    #[error("the fixture command `{0}` printed invalid UTF-8")]
    NotUtf8(String),
}

/// Why a call to the mock's control API did not give what was asked of it.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The request could not be built.
    #[error("cannot build a control API request: {0}")]
    Request(#[from] RequestError),
    /// No answer came.
    #[error("the mock's control API did not answer: {0}")]
    NoAnswer(idcs_mfa::Error),
    /// It answered with something other than a success.
    #[error("the mock's control API answered {status} to {method} {url}{}", refusal_hint(*.status))]
    Refused {
        /// Its status.
        status: reqwest::StatusCode,
        /// The request's method.
        method: reqwest::Method,
        /// The request's URL.
        url: String,
    },
    /// It answered with something other than JSON.
    #[error("the mock's control API answered non-JSON: {0}")]
    NotJson(serde_json::Error),
}

fn refusal_hint(status: reqwest::StatusCode) -> &'static str {
    if status == reqwest::StatusCode::UNAUTHORIZED {
        " (is the control token the one `serve` printed?)"
    } else {
        ""
    }
}

/// Why a raw request could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The URL does not parse.
    #[error("{url} is not a URL: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The token cannot be sent in a header.
    #[error("the token is not a valid header value")]
    Token,
    /// The content type cannot be sent in a header.
    #[error("{0:?} is not a valid Content-Type value")]
    ContentType(String),
}

/// How long a fixture command may run.
pub(crate) const COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// The environment a fixture command gets for the request `v` (and, for a PUSH, the
/// `action`).
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
pub(crate) async fn run_command(cmd: &str, env: &[(&str, &str)]) -> Result<String, CommandError> {
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg(cmd).kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = tokio::time::timeout(COMMAND_LIMIT, command.output())
        .await
        .map_err(|_| CommandError::TimedOut(cmd.to_owned()))?
        .map_err(|source| CommandError::CannotRun {
            command: cmd.to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(CommandError::Failed {
            command: cmd.to_owned(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| CommandError::NotUtf8(cmd.to_owned()))
}

/// One request to the mock's control API whose answer is JSON.
pub(crate) async fn control_json(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, ControlError> {
    let answer = control(client, method, url, token, body).await?;
    serde_json::from_slice(&answer).map_err(ControlError::NotJson)
}

/// One `POST` without a body to the mock's control API.
pub(crate) async fn control_post(
    client: &Client,
    url: &str,
    token: &Secret,
) -> Result<Bytes, ControlError> {
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
) -> Result<reqwest::Request, RequestError> {
    use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
    let parsed = reqwest::Url::parse(url).map_err(|e| RequestError::Url {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let mut request = reqwest::Request::new(method, parsed);
    if let Some(token) = token {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| RequestError::Token)?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    if let Some(ct) = content_type {
        let value =
            HeaderValue::from_str(ct).map_err(|_| RequestError::ContentType(ct.to_owned()))?;
        request.headers_mut().insert(CONTENT_TYPE, value);
    }
    if let Some(body) = body {
        *request.body_mut() = Some(body.into());
    }
    Ok(request)
}

/// One request to the mock's control API (with a JSON body when given); a non-2xx
/// answer is an error.
async fn control(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&serde_json::Value>,
) -> Result<Bytes, ControlError> {
    let body = body.map(|b| Bytes::from(b.to_string()));
    let content_type = body.as_ref().map(|_| "application/json");
    let request = raw_request(method.clone(), url, Some(token), content_type, body)?;
    // Through the client's policy too: a control call is a request like any other.
    let (status, _, answer) = client
        .execute(request)
        .await
        .map_err(ControlError::NoAnswer)?;
    if !status.is_success() {
        return Err(ControlError::Refused {
            status,
            method,
            url: url.to_owned(),
        });
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use idcs_mfa::Method;

    use super::{CommandError, ControlError, RequestError, Source};
    use crate::{embedded::EmbeddedMock, harness::Ctx};

    // Test case: the fixture commands get the documented environment: IDCS_REQUEST_ID,
    // IDCS_USER_GUID, IDCS_FACTOR_ID, IDCS_METHOD, and for a PUSH IDCS_PUSH_ACTION.
    #[tokio::test]
    async fn fixture_commands_get_the_documented_environment() {
        let (handle, mut target) = crate::embedded::start(EmbeddedMock::default())
            .await
            .expect("mock");
        let dir = std::env::temp_dir().join(format!("idcs-target-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let seen = dir.join("push-env");
        target.tenant.fixtures.otp = Some(Source::Command(
            "printf '%s|%s|%s|%s' \"$IDCS_REQUEST_ID\" \"$IDCS_USER_GUID\" \"$IDCS_FACTOR_ID\" \"$IDCS_METHOD\"".into(),
        ));
        target.tenant.fixtures.push = Some(Source::Command(format!(
            "printf '%s|%s' \"$IDCS_REQUEST_ID\" \"$IDCS_PUSH_ACTION\" > '{}'",
            seen.display()
        )));
        let cx = Ctx::new(Arc::new(target.build()));
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

    // Test case: the errors say what they said as strings: the fixture command's, the
    // control API's (with the hint at a 401), a raw request's.
    #[tokio::test]
    async fn errors_read_as_before() {
        let failed = super::run_command("echo oops >&2; exit 3", &[])
            .await
            .expect_err("exit 3");
        assert!(matches!(failed, CommandError::Failed { .. }));
        assert_eq!(
            failed.to_string(),
            "the fixture command `echo oops >&2; exit 3` failed (exit status: 3): oops"
        );
        let refused = ControlError::Refused {
            status: reqwest::StatusCode::UNAUTHORIZED,
            method: reqwest::Method::GET,
            url: "http://x/_mock/v1/fixture".into(),
        };
        assert_eq!(
            refused.to_string(),
            "the mock's control API answered 401 Unauthorized to GET http://x/_mock/v1/fixture (is the control token the one `serve` printed?)"
        );
        let bad = super::raw_request(reqwest::Method::GET, "nope", None, None, None)
            .expect_err("not a URL");
        assert!(matches!(bad, RequestError::Url { .. }));
        assert_eq!(
            ControlError::from(bad).to_string(),
            "cannot build a control API request: nope is not a URL: relative URL without a base"
        );
    }
}
