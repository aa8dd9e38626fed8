//! Secrets: bearer tokens, client secrets, OTPs, bypass codes, security answers and

use std::fmt;

/// A string that is never shown.
///
/// Secrets: bearer tokens, client secrets, OTPs, bypass codes, security answers and
/// `requestState`s.
///
/// Every such value in this crate, in hand-written and in generated types, is a
/// [`Secret`]. Its `Debug` and `Display` print `[redacted]`, so a secret cannot reach a
/// log line or a report by accident; reading it takes an explicit
/// [`Secret::expose`]. On the wire (serde) it is the plain string, because the API
/// needs the value itself.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself. Call it only where the value must leave the process (a header,
    /// a request body) or be compared.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `other` in time that depends only on the lengths, not on where the
    /// values first differ.
    pub fn ct_eq(&self, other: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), other.as_bytes())
    }
}

/// Compares two byte strings in time independent of their contents.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(&other.0)
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// So that a computed code in a `String` can be passed by reference, as
/// `verify_otp(&mut v, &code)`.
impl From<&String> for Secret {
    fn from(value: &String) -> Self {
        Self(value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("629084");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
    }

    #[test]
    fn serde_is_the_plain_string() {
        let s = Secret::new("397541940949");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"397541940949\"");
        let back: Secret = serde_json::from_str("\"397541940949\"").unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn strings_convert_by_value_and_by_reference() {
        let code = String::from("629084");
        let by_ref: Secret = (&code).into();
        let by_value: Secret = code.clone().into();
        let by_str: Secret = code.as_str().into();
        assert_eq!(by_ref.expose(), "629084");
        assert!(by_ref == by_value && by_value == by_str);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
