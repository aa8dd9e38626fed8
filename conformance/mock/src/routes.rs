//! The control API's URLs, one function per route, for a client in another process
//! (the conformance runner against `serve`, a test driving the API over HTTP): no
//! caller builds a `/_mock/v1` path by hand. `base_url` is the tenant's base URL; the
//! answers deserialize into [`OutboxEntry`](crate::OutboxEntry),
//! [`UserStatus`](crate::UserStatus) and [`Fixture`](crate::Fixture). A tenant in this
//! process is driven through [`MockTenant`](crate::MockTenant) instead.

/// The prefix of the control API.
pub const CONTROL_PREFIX: &str = "/_mock/v1";

fn url(base_url: &str, path: &str) -> String {
    format!("{}{CONTROL_PREFIX}{path}", base_url.trim_end_matches('/'))
}

/// `POST /_mock/v1/push/{requestId}/approve` (`approve`) or `…/reject`.
pub fn decide_push(base_url: &str, request_id: &str, approve: bool) -> String {
    let action = if approve { "approve" } else { "reject" };
    url(base_url, &format!("/push/{request_id}/{action}"))
}

/// `GET /_mock/v1/outbox?requestId=…`: the OTPs sent for one request, oldest first.
pub fn outbox_for_request(base_url: &str, request_id: &str) -> String {
    url(base_url, &format!("/outbox?requestId={request_id}"))
}

/// `GET /_mock/v1/users/{userGUID}`: the user's attempt count and lock.
pub fn user(base_url: &str, user_guid: &str) -> String {
    url(base_url, &format!("/users/{user_guid}"))
}

/// `POST /_mock/v1/users/{userGUID}/unlock`.
pub fn unlock_user(base_url: &str, user_guid: &str) -> String {
    url(base_url, &format!("/users/{user_guid}/unlock"))
}

/// `POST /_mock/v1/users/{userGUID}/lock`.
pub fn lock_user(base_url: &str, user_guid: &str) -> String {
    url(base_url, &format!("/users/{user_guid}/lock"))
}

/// `GET` or `PUT /_mock/v1/fixture`.
pub fn fixture(base_url: &str) -> String {
    url(base_url, "/fixture")
}

/// `POST /_mock/v1/tokens` with `{"roles": [...], "expiresIn"?: secs}`.
pub fn tokens(base_url: &str) -> String {
    url(base_url, "/tokens")
}

/// `GET` or `PUT /_mock/v1/faults`.
pub fn faults(base_url: &str) -> String {
    url(base_url, "/faults")
}

/// `POST /_mock/v1/reset`.
pub fn reset(base_url: &str) -> String {
    url(base_url, "/reset")
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_are_under_the_control_prefix() {
        assert_eq!(
            super::decide_push("http://h:1/", "r1", true),
            "http://h:1/_mock/v1/push/r1/approve"
        );
        assert_eq!(
            super::outbox_for_request("http://h:1", "r1"),
            "http://h:1/_mock/v1/outbox?requestId=r1"
        );
        assert_eq!(
            super::unlock_user("http://h:1", "g"),
            "http://h:1/_mock/v1/users/g/unlock"
        );
    }
}
