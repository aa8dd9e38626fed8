//! Tokens, and who is served: the tokens the mock issued, read against the model's
//! rule ([`idcs_mfa_model::access`]).

use std::time::Duration;

use idcs_mfa::{AuthCode, Secret};
use idcs_mfa_model::access::{self, Credential, Refusal};
use sha2::{Digest, Sha256};

use super::{State, TokenInfo};
use crate::{clock::Now, deviate, reply::ApiError};

/// The key a token is kept under: its SHA-256, so looking one up reveals nothing
/// through timing.
fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl State {
    /// Registers `token` with `roles`; it expires `lifetime` after `now` when given.
    pub(crate) fn add_token(
        &mut self,
        token: &Secret,
        roles: Vec<String>,
        lifetime: Option<Duration>,
        now: Now,
    ) {
        self.tokens.insert(
            token_key(token.expose()),
            TokenInfo {
                roles,
                expires_at: lifetime.map(|l| now.instant + l),
            },
        );
    }

    /// Checks the `Authorization` header of a /mfa/v1 request at `now`.
    ///
    /// - no header, not `Bearer`, or an unknown token: 401 AUTH-1007;
    /// - an expired token: 401 AUTH-1110;
    /// - a token with neither "MFA Client" nor "Authenticator Client": 401 AUTH-1007
    ///   (the contract has no 403). Both roles may use all five operations of the
    ///   contract (\[ROLE\]: Authenticator Client may GET /mfa/v1/users, and the contract
    ///   has only GETs there).
    ///
    /// The answer is as the faults make it (`deviate`: `no_auth` lets every request in).
    pub(crate) fn authorize(&self, header: Option<&str>, now: Now) -> Result<(), ApiError> {
        deviate::authorization(self.faults, self.documented_authorization(header, now))
    }

    /// The documented authorization: the model's rule ([`idcs_mfa_model::access`]), with
    /// the credential read from the header and the tokens issued.
    fn documented_authorization(&self, header: Option<&str>, now: Now) -> Result<(), ApiError> {
        let token = header
            .and_then(|h| {
                let (scheme, rest) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty());
        let credential = match token.map(|t| self.tokens.get(&token_key(t))) {
            None => Credential::Missing,
            Some(None) => Credential::Unknown,
            Some(Some(info)) if info.expires_at.is_some_and(|at| now.instant >= at) => {
                Credential::Expired
            }
            Some(Some(info)) => Credential::Valid(&info.roles),
        };
        access::authorize(credential).map_err(|refusal| {
            let (code, message) = match (refusal, credential) {
                (Refusal::NoToken, Credential::Missing) => (
                    AuthCode::AuthenticationFailed,
                    "Authentication failed: a bearer token is required.",
                ),
                (Refusal::NoToken, _) => (
                    AuthCode::AuthenticationFailed,
                    "Authentication failed: the bearer token is not valid.",
                ),
                (Refusal::Expired, _) => (
                    AuthCode::TokenExpired,
                    "The authentication token has expired.",
                ),
                (Refusal::NoRole, _) => (
                    AuthCode::AuthenticationFailed,
                    "Authentication failed: the token holds neither the 'MFA Client' nor the 'Authenticator Client' app role.",
                ),
            };
            ApiError::unauthorized(code, message)
        })
    }
}
