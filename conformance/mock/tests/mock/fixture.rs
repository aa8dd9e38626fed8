//! The fixture file format: `conformance/mock/fixtures/default.json` is the built-in default.

use std::path::Path;

use idcs_mfa_mock::{Fixture, fixture::FixtureError};

fn default_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/default.json")
}

// Test case: the shipped file equals Fixture::default(). Set UPDATE_FIXTURE=1 to rewrite it.
#[test]
fn default_json_equals_the_built_in_default() {
    if std::env::var_os("UPDATE_FIXTURE").is_some() {
        let text = serde_json::to_string_pretty(&Fixture::default()).unwrap() + "\n";
        std::fs::write(default_file(), text).unwrap();
    }
    assert_eq!(Fixture::load(&default_file()).unwrap(), Fixture::default());
}

// Test case: the fixture file example of docs/mock.md is a valid fixture, and each user
// it shows is the default fixture's user as it is (its factors, their methods, its
// questions and codes), so the page shows no factor the user does not have.
#[test]
fn the_documented_fixture_example_is_the_default_users() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mock.md"))
            .unwrap();
    let section = &page[page.find("## The fixture file").expect("the section")..];
    let start = section.find("```json\n").expect("a json block") + "```json\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let shown: Fixture = serde_json::from_str(block).expect("the example is a fixture");
    shown.validate().expect("the example is consistent");
    let default = Fixture::default();
    assert!(!shown.users.is_empty());
    for user in &shown.users {
        assert_eq!(
            Some(user),
            default.user_by_guid(&user.user_guid),
            "docs/mock.md shows {} otherwise than the default fixture has them",
            user.user_name
        );
    }
}

// Test case: errors name the file and say what is wrong.
#[test]
fn load_errors_name_the_file_and_the_reason() {
    let dir = std::env::temp_dir().join(format!("mock-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.json");
    let e = Fixture::load(&missing).unwrap_err();
    assert!(matches!(e, FixtureError::Read { .. }));
    assert!(e.to_string().contains("missing.json"));
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"users": [{"userGUID": 1}]}"#).unwrap();
    let e = Fixture::load(&bad).unwrap_err();
    assert!(matches!(e, FixtureError::Parse { .. }));
    assert!(e.to_string().contains("bad.json") && e.to_string().contains("line 1"));
    let inconsistent = dir.join("inconsistent.json");
    std::fs::write(
        &inconsistent,
        r#"{"users": [{"userGUID": "a", "userName": "a", "factors": [{"factorId": "t", "methods": ["TOTP"]}]}]}"#,
    )
    .unwrap();
    let e = Fixture::load(&inconsistent).unwrap_err();
    assert!(e.to_string().contains("totpSecret"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

// Test case: secrets of the fixture never show in Debug.
#[test]
fn fixture_debug_shows_no_secret() {
    let text = format!("{:?}", Fixture::default());
    for secret in [
        "Ford Pinto",
        "397541940949",
        "conformance-secret",
        "GEZDGNBV",
    ] {
        assert!(!text.contains(secret), "{secret}");
    }
}
