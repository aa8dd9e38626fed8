//! Getting a bearer token: the client-credentials grant of the tenant's OAuth endpoint.
//!
//! IDCS issues tokens at `POST {base}/oauth2/v1/token` to a confidential application
//! that authenticates with HTTP Basic (client id and secret) and holds the
//! "Authenticator Client" or "MFA Client" app role. The scope asked for is
//! `urn:opc:idm:__myscopes__` (inferred from Oracle's general IDCS documentation; the
//! MFA documents do not say).

use std::time::Duration;

use crate::{Client, Error, Secret, wire::describe_reqwest};

/// The scope asked for by default.
pub const DEFAULT_SCOPE: &str = "urn:opc:idm:__myscopes__";

/// A confidential application's credentials. `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: Secret,
    /// The scope to ask for. Default: [`DEFAULT_SCOPE`].
    pub scope: String,
}

impl ClientCredentials {
    /// Credentials with the default scope.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: DEFAULT_SCOPE.into(),
        }
    }
}

/// An issued token. `Debug` never shows it.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// Its lifetime, when the tenant said.
    pub expires_in: Option<Duration>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

impl Client {
    /// Asks the tenant for a token with the client-credentials grant. Use it with
    /// [`Client::with_token`].
    pub async fn fetch_token(&self, credentials: &ClientCredentials) -> Result<AccessToken, Error> {
        let url = format!("{}/oauth2/v1/token", self.base_url());
        let response = self
            .http()
            .post(&url)
            .basic_auth(
                &credentials.client_id,
                Some(credentials.client_secret.expose()),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", credentials.scope.as_str()),
            ])
            .send()
            .await
            .map_err(|e| Error::Transport {
                status: None,
                message: describe_reqwest(&e),
                source: Some(e),
            })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Under the client's size limit, like every answer of the operations.
        let bytes = self.read_body(response).await?;
        let raw = crate::error::RawBody {
            bytes: bytes.clone(),
            content_type,
        };
        if !status.is_success() {
            return Err(Error::Status {
                status,
                body: serde_json::from_slice(&bytes).ok().map(Box::new),
                raw,
                retry_after: None,
            });
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&bytes).map_err(|e| Error::InvalidBody {
                status,
                reason: format!("not a token answer: {e}"),
                raw: raw.clone(),
            })?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(Error::InvalidBody {
                status,
                reason: format!("token_type is {kind:?}, not Bearer"),
                raw,
            });
        }
        Ok(AccessToken {
            token: answer.access_token,
            expires_in: answer.expires_in.map(Duration::from_secs),
        })
    }
}
