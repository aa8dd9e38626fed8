//! The typed handle: every action a test needs, without a URL or a JSON body.

use std::time::Duration;

use idcs_mfa::{AuthCode, Initiate, Method, PushStatus, PushWait, UserRef};
use idcs_mfa_mock::{ControlError, Fault, MockTenant};

use crate::support::{TOM, TOM_PHONE, USER1};

// Test case: the README's "Use the mock tenant in your tests" example, verbatim: start
// in one line, the user the README names is served, the OTP is read from the outbox and
// verifies.
#[tokio::test]
async fn readme_example() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockTenant::start().await?;
    let client = mock.client()?;

    let user = UserRef::Name("user1@example.com".into());
    let mut v = client.initiate(&Initiate::preferred(user)).await?;
    let otp = mock
        .last_otp(v.user_guid())
        .expect("the tenant sent an OTP");
    client.verify_otp(&mut v, otp.expose()).await?;

    assert_eq!(mock.attempts(v.user_guid()), Some(0));
    Ok(())
}

// Test case: the README's TOTP example, verbatim: the fixture's secret gives the code
// (`totp::code`), which verifies passed as a `&String`.
#[tokio::test]
async fn readme_totp_example() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockTenant::start().await?;
    let client = mock.client()?;

    // tom@example.com has a TOTP factor; the fixture holds its secret.
    let fixture = mock.fixture();
    let tom = fixture
        .user_by_name("tom@example.com")
        .expect("a default user");
    let factor = tom
        .factors
        .iter()
        .find(|f| f.totp_secret.is_some())
        .expect("TOTP");
    let secret = factor.totp_secret.as_ref().expect("its secret");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let code: String = idcs_mfa_mock::totp::code(secret.expose(), now.as_secs())?;

    let user = UserRef::Guid(tom.user_guid.clone());
    let totp = Initiate::factor(user, factor.factor_id.clone(), Method::Totp);
    let mut v = client.initiate(&totp).await?;
    client.verify_otp(&mut v, &code).await?;

    assert_eq!(mock.attempts(&tom.user_guid), Some(0));
    Ok(())
}

// Test case: approve and reject decide a PUSH; a second decision is a conflict, an
// unknown request is not found, and the client sees each decision.
#[tokio::test]
async fn push_decisions() {
    let mock = MockTenant::start().await.unwrap();
    let client = mock.client().unwrap();
    let push = Initiate::factor(UserRef::Guid(TOM.into()), TOM_PHONE, Method::Push);
    let wait = PushWait {
        interval: Duration::from_millis(10),
        deadline: Duration::from_secs(5),
    };

    let v = client.initiate(&push).await.unwrap();
    assert_eq!(mock.approve_push(v.request_id()), Ok(None));
    assert_eq!(
        client.wait_for_push(&v, wait).await.unwrap(),
        PushStatus::Approved
    );
    assert!(matches!(
        mock.reject_push(v.request_id()),
        Err(ControlError::Conflict(_))
    ));

    let v = client.initiate(&push).await.unwrap();
    assert_eq!(mock.reject_push(v.request_id()), Ok(None));
    assert!(matches!(
        client.wait_for_push(&v, wait).await.unwrap(),
        PushStatus::Rejected { .. }
    ));
    assert!(matches!(
        mock.approve_push("no-such-request"),
        Err(ControlError::NotFound(_))
    ));
}

// Test case: the attempt count, lock, unlock and reset reach the tenant's answers.
#[tokio::test]
async fn attempts_lock_unlock_reset() {
    let mock = MockTenant::start().await.unwrap();
    let client = mock.client().unwrap();
    let sms = Initiate::preferred(UserRef::Guid(USER1.into()));

    let mut v = client.initiate(&sms).await.unwrap();
    let e = client.verify_otp(&mut v, "000000").await.unwrap_err();
    assert!(e.has_code(&AuthCode::InvalidPasscode), "{e}");
    // The SMS sent and the wrong code both count (docs/decisions.md).
    assert_eq!(mock.attempts(USER1), Some(2));

    let status = mock.lock_user(USER1).unwrap();
    assert!(status.locked);
    let e = client.initiate(&sms).await.unwrap_err();
    assert!(e.has_code(&AuthCode::AccountLocked), "{e}");

    let status = mock.unlock_user(USER1).unwrap();
    assert!(!status.locked);
    assert_eq!(status.attempts, 0);
    client.initiate(&sms).await.unwrap();
    assert_eq!(mock.outbox().len(), 2);

    mock.reset();
    assert!(mock.outbox().is_empty());
    assert_eq!(mock.user("nobody"), None);
    assert!(matches!(
        mock.unlock_user("nobody"),
        Err(ControlError::NotFound(_))
    ));
}

// Test case: faults switch on and off through the handle, and take effect.
#[tokio::test]
async fn faults_switch() {
    let mock = MockTenant::start().await.unwrap();
    let client = mock.client().unwrap().with_token(None);
    assert!(mock.faults().is_empty());
    assert_eq!(
        client
            .factors(&UserRef::Guid(USER1.into()))
            .await
            .unwrap_err()
            .status(),
        Some(reqwest::StatusCode::UNAUTHORIZED)
    );
    mock.set_faults(&[Fault::NoAuth]);
    assert_eq!(mock.faults(), [Fault::NoAuth]);
    client.factors(&UserRef::Guid(USER1.into())).await.unwrap();
    mock.set_faults(&[]);
    assert!(mock.faults().is_empty());
}

// Test case: a minted token carries its roles and its lifetime; a replaced fixture is
// validated first.
#[tokio::test]
async fn tokens_and_fixture() {
    let mock = MockTenant::start().await.unwrap();
    let authenticator = mock.mint_token(&["Authenticator Client"], None);
    let client = mock.client().unwrap().with_token(Some(authenticator));
    client.factors(&UserRef::Guid(USER1.into())).await.unwrap();
    let expired = mock.mint_token(&["MFA Client"], Some(Duration::ZERO));
    let client = client.with_token(Some(expired));
    let e = client
        .factors(&UserRef::Guid(USER1.into()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(reqwest::StatusCode::UNAUTHORIZED));

    let mut fixture = mock.fixture();
    fixture.users.retain(|u| u.user_guid == USER1);
    mock.replace_fixture(fixture.clone()).unwrap();
    assert_eq!(mock.fixture(), fixture);
    fixture.users.push(fixture.users[0].clone());
    assert!(matches!(
        mock.replace_fixture(fixture),
        Err(ControlError::Invalid(_))
    ));
    mock.shutdown().await.unwrap();
}
