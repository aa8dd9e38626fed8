//! Tokens and roles: whether a tenant serves a request at all, before any step of the
//! [`machine`](crate::machine) looks at it.
//!
//! The seeds answer a missing or invalid token 401 ("Indicates unauthorized access if
//! the token provided is invalid", \[STATUS\], \[VERIFY\]), ask for "a valid OAuth Access
//! Token that has either the 'Authenticator Client' or 'MFA Client' scope", and Oracle's
//! error table gives AUTH-1110 for an expired token (\[ERR\]). Both app roles may use
//! every operation of the contract (\[ROLE\]: the Authenticator Client may
//! `GET /mfa/v1/users`, and the contract has only GETs there).
//!
//! A refused request changes nothing: no request is opened, no OTP sent, no attempt
//! counted (the machine's `Step::Unauthenticated`).

use crate::rules::{self, Rule};

/// The role that may use every operation of the contract (\[ROLE\]).
pub const ROLE_MFA_CLIENT: &str = "MFA Client";
/// The role that may use the request operations and GET the user operations (\[ROLE\]).
pub const ROLE_AUTHENTICATOR_CLIENT: &str = "Authenticator Client";

/// A request's credential, as the tenant sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// No `Authorization` header, or not a bearer token.
    Missing,
    /// A bearer token the tenant did not issue.
    Unknown,
    /// A token it issued, now expired.
    Expired,
    /// A valid token with these app roles.
    Valid(&'a [String]),
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one the tenant does not know.
    NoToken,
    /// An expired token.
    Expired,
    /// A token with neither app role.
    NoRole,
}

impl Refusal {
    /// The rule the refusal comes from.
    pub fn rule(self) -> &'static Rule {
        match self {
            Refusal::NoToken => &rules::TOKEN_REQUIRED,
            Refusal::Expired => &rules::TOKEN_EXPIRED,
            Refusal::NoRole => &rules::ROLE_REQUIRED,
        }
    }
}

/// Whether a request with `credential` is served; every refusal is a 401.
pub fn authorize(credential: Credential<'_>) -> Result<(), Refusal> {
    match credential {
        Credential::Missing | Credential::Unknown => Err(Refusal::NoToken),
        Credential::Expired => Err(Refusal::Expired),
        Credential::Valid(roles)
            if roles
                .iter()
                .any(|r| r == ROLE_MFA_CLIENT || r == ROLE_AUTHENTICATOR_CLIENT) =>
        {
            Ok(())
        }
        Credential::Valid(_) => Err(Refusal::NoRole),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test case: a request is served only with a known, unexpired token holding one of
    // the two app roles; each refusal names its rule.
    #[test]
    fn only_a_valid_token_with_an_app_role_is_served() {
        let role = |r: &str| vec![r.to_owned()];
        assert_eq!(authorize(Credential::Valid(&role(ROLE_MFA_CLIENT))), Ok(()));
        assert_eq!(
            authorize(Credential::Valid(&role(ROLE_AUTHENTICATOR_CLIENT))),
            Ok(())
        );
        assert_eq!(
            authorize(Credential::Valid(&role("Identity Domain Administrator"))),
            Err(Refusal::NoRole)
        );
        assert_eq!(authorize(Credential::Valid(&[])), Err(Refusal::NoRole));
        assert_eq!(authorize(Credential::Missing), Err(Refusal::NoToken));
        assert_eq!(authorize(Credential::Unknown), Err(Refusal::NoToken));
        assert_eq!(authorize(Credential::Expired), Err(Refusal::Expired));
        assert_eq!(Refusal::NoRole.rule().id, "auth/app-role-required");
    }
}
