//! The clock, read once per request and passed down.
//!
//! A handler reads [`Now`] when the request reaches it, and everything the request does
//! happens at that instant: the token's expiry, a PUSH's expiry, the TOTP's time step,
//! the outbox's `sentAt`. Nothing below the handlers reads the clock itself (the state
//! never does); the few readers outside a request (a PUSH decision the behaviour
//! `delayed_push` applies later, a token minted by the control API or the handle, a
//! 429's `Retry-After` date) read it through [`Now::read`] too.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One reading of the clock: both clocks the mock needs, read together.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    /// The monotonic clock, for what lasts a while: a token's lifetime, a PUSH's expiry.
    pub(crate) instant: Instant,
    /// The wall clock, for what names the time: the TOTP's time step, the outbox's
    /// `sentAt`, a `Retry-After` date.
    pub(crate) system: SystemTime,
}

impl Now {
    /// Reads both clocks.
    pub(crate) fn read() -> Now {
        Now {
            instant: Instant::now(),
            system: SystemTime::now(),
        }
    }

    /// Seconds since the Unix epoch (0 before it).
    pub(crate) fn unix_secs(self) -> u64 {
        self.system
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// RFC 3339 UTC, to the second.
    pub(crate) fn rfc3339(self) -> String {
        rfc3339(self.system)
    }
}

/// RFC 3339 UTC, to the second, without a date crate.
fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_111_111_109)),
            "2005-03-18T01:58:29Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
