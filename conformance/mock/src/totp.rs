//! RFC 6238 time-based one-time passcodes (HMAC-SHA1, 30-second steps, 6 digits), the
//! codes the Oracle Mobile Authenticator app shows.
//!
//! The mock tenant checks TOTP verifications with [`code`]; the conformance runner
//! computes the codes it sends with the same function, so both sides share one
//! definition.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The length of a time step, in seconds (RFC 6238's default, used by the app).
pub const STEP_SECONDS: u64 = 30;
/// The number of digits of a code.
pub const DIGITS: u32 = 6;

/// Why a code cannot be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    /// The secret is not RFC 4648 base32 (upper or lower case, padding optional).
    #[error("the TOTP secret is not base32: {0}")]
    NotBase32(String),
    /// The secret decodes to nothing.
    #[error("the TOTP secret is empty")]
    Empty,
}

/// The 6-digit code of `secret_base32` at `unix_time` (seconds since the epoch).
///
/// ```
/// // RFC 6238 appendix B, SHA1 row for T = 59 (the secret is "12345678901234567890").
/// let code = idcs_mfa_mock::totp::code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59).unwrap();
/// assert_eq!(code, "287082");
/// ```
pub fn code(secret_base32: &str, unix_time: u64) -> Result<String, TotpError> {
    let key = decode_secret(secret_base32)?;
    Ok(code_for_step(&key, unix_time / STEP_SECONDS, DIGITS))
}

/// Decodes a base32 secret, ignoring case, spaces and `=` padding.
pub fn decode_secret(secret_base32: &str) -> Result<Vec<u8>, TotpError> {
    let cleaned: String = secret_base32
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let key = data_encoding::BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|e| TotpError::NotBase32(e.to_string()))?;
    if key.is_empty() {
        return Err(TotpError::Empty);
    }
    Ok(key)
}

/// The HOTP value (RFC 4226) of `key` at counter `step`, with `digits` digits.
pub fn code_for_step(key: &[u8], step: u64, digits: u32) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha1> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    let modulus = 10u64.pow(digits);
    format!(
        "{:0width$}",
        u64::from(binary) % modulus,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "12345678901234567890" in base32: the SHA1 seed of RFC 6238 appendix B.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_appendix_b_sha1_vectors_truncated_to_six_digits() {
        // The RFC lists 8-digit values; the last six digits are the 6-digit code.
        let vectors = [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, eight) in vectors {
            assert_eq!(code(RFC_SECRET, time).unwrap(), &eight[2..], "T = {time}");
            let key = decode_secret(RFC_SECRET).unwrap();
            assert_eq!(code_for_step(&key, time / 30, 8), eight, "T = {time}");
        }
    }

    #[test]
    fn secrets_are_case_and_padding_insensitive() {
        let lower = RFC_SECRET.to_ascii_lowercase();
        assert_eq!(code(&lower, 59).unwrap(), "287082");
        assert_eq!(code("GEZDGNBV GY3TQOJQ", 59), code("GEZDGNBVGY3TQOJQ", 59));
    }

    #[test]
    fn bad_secrets_are_errors_not_panics() {
        assert!(matches!(
            code("not base32!", 0),
            Err(TotpError::NotBase32(_))
        ));
        assert_eq!(code("", 0), Err(TotpError::Empty));
    }
}
