//! The `[mock_control]` source: what a profile leaves out, read from a mock tenant's
//! control API (`serve` in another process, or the embedded mock).

use idcs_mfa::Secret;
use idcs_mfa_mock::routes;

use super::ProfileError;
use crate::{source::control_json, target::TargetBuilder};

/// With `[mock_control]`, what the profile leaves out comes from the mock itself:
/// the test user's TOTP secret, bypass codes and security answers (from
/// `GET /_mock/v1/fixture`), its lockout threshold (`GET /_mock/v1/users/{guid}`), and a
/// token with only the "Authenticator Client" role (`POST /_mock/v1/tokens`). Lockout
/// checks are allowed: the mock unlocks the user after them.
pub(super) async fn fill(
    target: &mut TargetBuilder,
    mock_url: &str,
    token: &Secret,
) -> Result<(), ProfileError> {
    let fixture: idcs_mfa_mock::Fixture = serde_json::from_value(
        mock_json(
            target,
            reqwest::Method::GET,
            &routes::fixture(mock_url),
            token,
            None,
        )
        .await?,
    )
    .map_err(|e| ProfileError::Invalid(format!("the mock's fixture does not parse: {e}")))?;
    let guid = target.tenant.user.guid.clone();
    let user = fixture.user_by_guid(&guid).ok_or_else(|| {
        ProfileError::Invalid(format!(
            "the mock tenant has no user {guid}; name one of its users in [user] guid"
        ))
    })?;
    let fixtures = &mut target.tenant.fixtures;
    if fixtures.totp.is_none() {
        fixtures.totp = user
            .factors
            .iter()
            .find_map(|f| Some((f.factor_id.clone(), f.totp_secret.clone()?)));
    }
    if let Ok(mut codes) = fixtures.bypass_codes.lock()
        && codes.is_empty()
    {
        codes.extend(user.bypass_codes.iter().cloned());
    }
    if fixtures.answers.is_empty() {
        fixtures.answers = user
            .security_questions
            .iter()
            .map(|q| (q.id.clone(), q.answer.clone()))
            .collect();
    }
    if target.safety.max_attempts.is_none() {
        let status = mock_json(
            target,
            reqwest::Method::GET,
            &routes::user(mock_url, &guid),
            token,
            None,
        )
        .await?;
        target.safety.max_attempts = status
            .get("maxAttempts")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok());
    }
    if target.tenant.authenticator_token.is_none() {
        let body = serde_json::json!({ "roles": ["Authenticator Client"] });
        let minted = mock_json(
            target,
            reqwest::Method::POST,
            &routes::tokens(mock_url),
            token,
            Some(body),
        )
        .await?;
        target.tenant.authenticator_token = Some(
            minted
                .get("access_token")
                .and_then(serde_json::Value::as_str)
                .map(Secret::new)
                .ok_or_else(|| {
                    ProfileError::Invalid("the mock's token answer has no access_token".into())
                })?,
        );
    }
    target.safety.allow_lockout = true;
    Ok(())
}

/// One JSON request to the mock's control API, through the target's client.
async fn mock_json(
    target: &TargetBuilder,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, ProfileError> {
    control_json(&target.tenant.client, method, url, token, body.as_ref())
        .await
        .map_err(ProfileError::from)
}
