//! The control API: its own credential, and each route doing what it says; the token
//! endpoint.

use crate::support::*;
use idcs_mfa::Method;
use idcs_mfa_mock::{Fixture, MockConfig};
use reqwest::Method as M;
use serde_json::{Value, json};

// Test case: every control route refuses no token, the /mfa/v1 token and a wrong token.
#[tokio::test]
async fn control_routes_need_the_control_token() {
    let m = start_default().await;
    let routes = [
        (M::POST, "/push/x/approve"),
        (M::POST, "/push/x/reject"),
        (M::GET, "/outbox"),
        (M::GET, &*format!("/users/{TOM}")),
        (M::POST, &*format!("/users/{TOM}/unlock")),
        (M::POST, &*format!("/users/{TOM}/lock")),
        (M::GET, "/fixture"),
        (M::PUT, "/fixture"),
        (M::POST, "/tokens"),
        (M::GET, "/faults"),
        (M::PUT, "/faults"),
        (M::POST, "/reset"),
    ];
    for (method, path) in routes {
        for token in [None, Some(m.token().expose()), Some("wrong")] {
            let mut r = http().request(method.clone(), format!("{}{path}", m.control_url()));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let (status, body) = send(r).await;
            assert_eq!(status, 401, "{method} {path}");
            assert_eq!(body["error"], "unauthorized");
        }
    }
}

// Test case: the outbox filters by request and by user and shows every field.
#[tokio::test]
async fn outbox_filters_by_request_and_user() {
    let m = start_default().await;
    let a = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    let b = initiate(&m, TOM, TOM_CALL, Method::PhoneCall).await;
    let control = ControlApi(&m);
    let all: Vec<Value> = json_of(control.req(M::GET, "/outbox")).await;
    assert_eq!(all.len(), 2);
    let e = &all[0];
    assert_eq!(e["requestId"], a.request_id());
    assert_eq!(e["userGUID"], USER1);
    assert_eq!(e["method"], "SMS");
    assert_eq!(e["destination"], "+44XXXXXX455");
    assert!(
        e["otp"]
            .as_str()
            .is_some_and(|o| o.len() == 6 && o.bytes().all(|b| b.is_ascii_digit()))
    );
    assert!(e["sentAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    let by_user: Vec<Value> =
        json_of(control.req(M::GET, "/outbox").query(&[("userGUID", TOM)])).await;
    assert_eq!(by_user.len(), 1);
    assert_eq!(by_user[0]["requestId"], b.request_id());
    assert_eq!(control.outbox("nope").await.len(), 0);
}

// Test case: PUSH decisions need a pending PUSH request.
#[tokio::test]
async fn push_decisions_need_a_pending_push() {
    let m = start_default().await;
    let control = ControlApi(&m);
    assert_eq!(control.approve("unknown").await, 404);
    let sms = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    assert_eq!(control.approve(sms.request_id()).await, 409);
    let push = initiate(&m, TOM, TOM_PHONE, Method::Push).await;
    assert_eq!(control.approve(push.request_id()).await, 200);
    assert_eq!(control.reject(push.request_id()).await, 409);
}

// Test case: minted tokens carry the roles asked for.
#[tokio::test]
async fn minted_tokens_carry_their_roles() {
    let m = start_default().await;
    let control = ControlApi(&m);
    for (roles, expected) in [
        (vec!["MFA Client"], 200),
        (vec!["Authenticator Client"], 200),
        (vec![], 401),
        (vec!["Identity Domain Administrator"], 401),
    ] {
        let token = control.mint(&roles).await;
        let (status, _) = send(
            http()
                .get(format!("{}/mfa/v1/users/{TOM}/factors", m.base_url()))
                .bearer_auth(token),
        )
        .await;
        assert_eq!(status, expected, "{roles:?}");
    }
    let (status, _) = send(control.req(M::POST, "/tokens").json(&json!({"role": "x"}))).await;
    assert_eq!(status, 400);
}

// Test case: the fixture can be read and replaced; an invalid one is refused.
#[tokio::test]
async fn fixture_can_be_read_and_replaced() {
    let m = start_default().await;
    let control = ControlApi(&m);
    let current: Fixture = json_of(control.req(M::GET, "/fixture")).await;
    assert_eq!(current, Fixture::default());
    let mut smaller = current.clone();
    smaller.users.retain(|u| u.user_guid == USER1);
    let (status, _) = send(control.req(M::PUT, "/fixture").json(&smaller)).await;
    assert_eq!(status, 200);
    let c = client(&m);
    assert_eq!(
        c.get_user_factors(TOM).await.unwrap_err().status().unwrap(),
        404
    );
    c.get_user_factors(USER1).await.unwrap();
    // Invalid: the preferred factor is not enrolled.
    let mut broken = smaller.clone();
    broken.users[0].preferred_factor_id = Some("nope".into());
    let (status, body) = send(control.req(M::PUT, "/fixture").json(&broken)).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("nope"));
    let (status, _) = send(
        control
            .req(M::PUT, "/fixture")
            .json(&json!({"users": [], "typo": 1})),
    )
    .await;
    assert_eq!(status, 400);
}

// Test case: reset brings back the configured fixture and faults and forgets state;
// tokens stay valid.
#[tokio::test]
async fn reset_forgets_requests_attempts_outbox_and_fixture_changes() {
    let m = start(MockConfig {
        faults: vec![idcs_mfa_mock::Fault::Html404],
        ..MockConfig::default()
    })
    .await;
    let control = ControlApi(&m);
    let c = client(&m);
    let mut v = c
        .initiate(&idcs_mfa::Initiate::bypass_code(idcs_mfa::UserRef::Guid(
            USER1.into(),
        )))
        .await
        .unwrap();
    c.verify_bypass_code(&mut v, "397541940949").await.unwrap();
    let sms = initiate(&m, USER1, USER1_SMS, Method::Sms).await;
    assert_eq!(control.set_faults(&["no_auth"]).await, 200);
    let (status, _) = send(control.req(M::POST, "/reset")).await;
    assert_eq!(status, 200);
    assert_eq!(
        poll(&m, sms.request_id()).await.0,
        404,
        "requests are forgotten"
    );
    assert!(control.outbox(sms.request_id()).await.is_empty());
    let user = control.user(USER1).await;
    assert_eq!((user.attempts, user.bypass_codes_left), (0, 2));
    let faults: Vec<String> = json_of(control.req(M::GET, "/faults")).await;
    assert_eq!(faults, ["html_404"]);
    c.get_user_factors(USER1).await.unwrap();
}

// Test case: unknown fault names are refused with the list of known ones.
#[tokio::test]
async fn unknown_fault_names_are_refused() {
    let m = start_default().await;
    let (status, body) = send(
        ControlApi(&m)
            .req(M::PUT, "/faults")
            .json(&json!(["no_such"])),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("no_auth"));
}

// Test case: the token endpoint: Basic auth and grant type are checked.
#[tokio::test]
async fn token_endpoint_checks_client_and_grant() {
    let m = start_default().await;
    let url = format!("{}/oauth2/v1/token", m.base_url());
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "urn:opc:idm:__myscopes__"),
    ];
    let (status, body) = send(
        http()
            .post(&url)
            .basic_auth("conformance-client", Some("conformance-secret"))
            .form(&form),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    for (id, secret) in [
        ("conformance-client", "wrong"),
        ("nobody", "conformance-secret"),
    ] {
        let (status, body) = send(http().post(&url).basic_auth(id, Some(secret)).form(&form)).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    let (status, _) = send(http().post(&url).form(&form)).await;
    assert_eq!(status, 401);
    let (status, body) = send(
        http()
            .post(&url)
            .basic_auth("conformance-client", Some("conformance-secret"))
            .form(&[("grant_type", "password")]),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

// Test case: lock puts the user at the maximum and refuses their requests; unlock undoes
// it; an unknown user is 404.
#[tokio::test]
async fn lock_locks_and_unlock_unlocks() {
    let m = start_default().await;
    let control = ControlApi(&m);
    let (status, body) = send(control.req(M::POST, &format!("/users/{USER1}/lock"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["locked"].as_bool(), body["attempts"].as_u64()),
        (Some(true), Some(5))
    );
    let (status, body) = post_initiate(
        &m,
        json!({"userId": USER1, "userIdType": "USER_GUID", "factorId": USER1_SMS, "method": "SMS"}),
    )
    .await;
    assert_eq!((status.as_u16(), code(&body)), (401, "AUTH-1010"));
    assert!(!control.unlock(USER1).await.locked);
    let (status, _) = send(control.req(M::POST, "/users/nobody/lock")).await;
    assert_eq!(status, 404);
}
