//! What several modules of the client's tests build the same way.

use idcs_mfa::types;

/// A PATCH body that verifies `code` with the requestState `state`.
pub fn otp_body(code: &str, state: &str) -> types::CompleteFactorVerification {
    types::CompleteFactorVerification {
        otp_code: Some(code.into()),
        request_state: state.into(),
        bypass_code: None,
        resend_otp: None,
        security_questions: Vec::new(),
    }
}
