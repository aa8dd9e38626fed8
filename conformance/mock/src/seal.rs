//! The `requestState`: opaque to the client, tamper-evident for the mock.
//!
//! Wire form: `base64url(payload ‖ tag)` without padding, where
//! `payload = requestId "\n" userGUID "\n" generation` and
//! `tag = HMAC-SHA256(key, payload)` with a 32-byte key drawn from the OS when the
//! server starts (so a state from another server instance never verifies).
//!
//! The generation starts at 0 and each resend bumps it; the request stores its current
//! generation, so an older state (same request, same user, valid tag) is recognisably
//! stale. The payload is not encrypted: the contract asks for "opaque", and nothing in
//! it is secret; what matters is that a client cannot forge or alter it.

use hmac::{Hmac, KeyInit, Mac};
use idcs_mfa::Secret;
use sha2::Sha256;

const TAG_LEN: usize = 32;

/// What a valid requestState says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub(crate) request_id: String,
    pub(crate) user_guid: String,
    pub(crate) generation: u32,
}

/// The per-server HMAC key.
#[derive(Clone)]
pub(crate) struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key([redacted])")
    }
}

impl Key {
    pub(crate) fn random() -> Self {
        let mut key = [0u8; 32];
        crate::random::fill(&mut key);
        Key(key)
    }

    fn mac(&self) -> Hmac<Sha256> {
        match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// The requestState of this request, user and generation.
    pub(crate) fn seal(&self, request_id: &str, user_guid: &str, generation: u32) -> Secret {
        let mut bytes = format!("{request_id}\n{user_guid}\n{generation}").into_bytes();
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        Secret::new(data_encoding::BASE64URL_NOPAD.encode(&bytes))
    }

    /// What `state` says, if this server sealed it unchanged. The tag is checked in
    /// constant time (`verify_slice`).
    pub(crate) fn open(&self, state: &str) -> Option<Sealed> {
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(state.as_bytes())
            .ok()?;
        if bytes.len() <= TAG_LEN {
            return None;
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let mut mac = self.mac();
        mac.update(payload);
        mac.verify_slice(tag).ok()?;
        let text = std::str::from_utf8(payload).ok()?;
        let mut parts = text.split('\n');
        let sealed = Sealed {
            request_id: parts.next()?.to_owned(),
            user_guid: parts.next()?.to_owned(),
            generation: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_state_opens_to_what_was_sealed() {
        let key = Key::random();
        let state = key.seal("r-1", "u-1", 3);
        assert_eq!(
            key.open(state.expose()),
            Some(Sealed {
                request_id: "r-1".into(),
                user_guid: "u-1".into(),
                generation: 3
            })
        );
    }

    #[test]
    fn any_changed_byte_or_another_key_is_refused() {
        let key = Key::random();
        let state = key.seal("r-1", "u-1", 0);
        let raw = data_encoding::BASE64URL_NOPAD
            .decode(state.expose().as_bytes())
            .unwrap();
        for i in 0..raw.len() {
            let mut changed = raw.clone();
            changed[i] ^= 1;
            let text = data_encoding::BASE64URL_NOPAD.encode(&changed);
            assert_eq!(key.open(&text), None, "byte {i}");
        }
        assert_eq!(Key::random().open(state.expose()), None);
        assert_eq!(key.open(""), None);
        assert_eq!(key.open("not base64 !"), None);
    }
}
