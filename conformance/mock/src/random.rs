//! OS randomness for keys, tokens, OTPs and ids.

use idcs_mfa::Secret;

/// Fills `buf` from the OS. The OS generator failing is not something a test server can
/// recover from sensibly; rather than answer with predictable values, it aborts the
/// request's task (tokio catches it; the client sees the connection close).
pub(crate) fn fill(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        panic!("the OS random generator failed: {e}");
    }
}

/// A random 6-digit OTP, uniform over 000000..=999999.
pub(crate) fn otp() -> Secret {
    loop {
        let mut b = [0u8; 4];
        fill(&mut b);
        let n = u32::from_le_bytes(b);
        // Rejection sampling keeps the distribution uniform.
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return Secret::new(format!("{:06}", n % 1_000_000));
        }
    }
}

/// A random bearer token: 32 bytes, base64url without padding.
pub fn token() -> Secret {
    let mut b = [0u8; 32];
    fill(&mut b);
    Secret::new(data_encoding::BASE64URL_NOPAD.encode(&b))
}

/// A UUID v4 request id.
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
