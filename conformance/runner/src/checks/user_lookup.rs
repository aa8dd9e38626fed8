//! `GET /mfa/v1/users?userId=…&userIdType=…&attributes=factors` — [PM], and \[FACTORS\]'s
//! "get their enrolled factors by using a 'filter' with the user name".

use idcs_mfa::{
    Response, Status,
    types::{UserFactors, UserIdType},
};

use idcs_mfa_model::readings::unknown_by_name;

use crate::{
    check,
    checks::unknown_id,
    harness::{Auth, Ctx},
    harness::{
        Check, CheckResult, Fail, describe, ensure, expect_error, expect_ok, expect_status_member,
    },
};

/// The checks of this operation.
pub const CHECKS: &[Check] = &[
    check! {
        id: "users.lookup/by-name-200",
        operation: LookupUserFactors,
        quote: "a user can make a request to get their enrolled factors by using a \"filter\" with the user name",
        source: "[FACTORS]",
        evidence: Stated,
        run: by_name_200,
    },
    check! {
        id: "users.lookup/same-shape-as-factors",
        operation: LookupUserFactors,
        quote: "The 200 body has the same shape as GET /mfa/v1/users/{userGUID}/factors.",
        source: "[PM]",
        evidence: Captured,
        run: same_as_factors,
    },
    check! {
        id: "users.lookup/unknown-name-finds-nobody",
        operation: LookupUserFactors,
        quote: "A 404 for an unknown user: {\"status\":\"failed\", …, \"cause\":[{\"code\":\"AUTH-3018\",\"message\":\"User not found.\"}]} (or, the look-up being a query, 200 with no factors: the reading users/unknown-by-name)",
        source: "[OD]",
        evidence: Captured,
        run: unknown_name_finds_nobody,
    },
    check! {
        id: "users.lookup/by-guid-200",
        operation: LookupUserFactors,
        quote: "userIdType is USER_NAME (the default) or USER_GUID; the 200 body has the same shape as GET /mfa/v1/users/{userGUID}/factors.",
        source: "[PM]",
        evidence: Captured,
        run: by_guid_200,
    },
    check! {
        id: "users.lookup/preferred-method-is-listed",
        operation: LookupUserFactors,
        quote: "\"preferredFactorId\":\"0778f15bf5778544c3ae2236c5fca9d9e8\", \"preferredMethod\":\"SMS\" (a listing that names a preferred factor names its method, one of that factor's)",
        source: "[FACTORS]",
        evidence: Stated,
        run: preferred_method_is_listed,
    },
    check! {
        id: "users.lookup/missing-user-id-400",
        operation: LookupUserFactors,
        quote: "AUTH-1001: a required parameter is missing; 400 invalid attribute value",
        source: "[ERR]",
        evidence: Captured,
        run: missing_user_id_400,
    },
    check! {
        id: "users.lookup/authenticator-client-may-get",
        operation: LookupUserFactors,
        quote: "the app role \"Authenticator Client\" may … only GET /mfa/v1/users",
        source: "[ROLE]",
        evidence: Captured,
        needs: [AuthenticatorToken],
        run: authenticator_may_get,
    },
    check! {
        id: "users.lookup/missing-token-401",
        operation: LookupUserFactors,
        quote: "a confidential application that holds one of the two app roles",
        source: "[ROLE]",
        evidence: Inferred,
        run: missing_token_401,
    },
];

fn user_name(cx: &Ctx) -> Result<String, Fail> {
    cx.target
        .tenant()
        .user
        .name
        .clone()
        .ok_or_else(|| Fail::skip("the profile gives no user name (user.name)"))
}

/// The look-up of the test user by name (skipped without one), documented to answer
/// 200; the name and the answer.
async fn by_name(cx: &Ctx) -> Result<(String, Response<UserFactors>), Fail> {
    let name = user_name(cx)?;
    let r = lookup_200(cx, &name, UserIdType::UserName).await?;
    Ok((name, r))
}

/// The look-up of `id`, a `kind` of user id, documented to answer 200.
async fn lookup_200(cx: &Ctx, id: &str, kind: UserIdType) -> Result<Response<UserFactors>, Fail> {
    expect_ok(cx.client().lookup_user_factors(id, kind).await, 200)
}

async fn by_name_200(cx: &Ctx) -> CheckResult {
    let (name, r) = by_name(cx).await?;
    expect_status_member(&r.value.status, Status::Success)?;
    let guid = &cx.target.tenant().user.guid;
    ensure(
        &r.value.user_guid == guid,
        format!("\"userGUID\": {guid:?} (the user named {name:?})"),
        || format!("\"userGUID\": {:?}", r.value.user_guid),
    )
}

async fn same_as_factors(cx: &Ctx) -> CheckResult {
    let (_, by_name) = by_name(cx).await?;
    let by_guid = expect_ok(
        cx.client()
            .get_user_factors(&cx.target.tenant().user.guid)
            .await,
        200,
    )?;
    let ids = |f: &UserFactors| {
        let mut ids: Vec<String> = f.factors.iter().map(|f| f.factor_id.clone()).collect();
        ids.sort();
        ids
    };
    ensure(
        ids(&by_name.value) == ids(&by_guid.value),
        "the same factors as by GUID",
        || {
            format!(
                "{:?} by name, {:?} by GUID",
                ids(&by_name.value),
                ids(&by_guid.value)
            )
        },
    )?;
    ensure(
        by_name.value.preferred_factor_id == by_guid.value.preferred_factor_id,
        "the same preferred factor as by GUID",
        || {
            format!(
                "{:?} vs {:?}",
                by_name.value.preferred_factor_id, by_guid.value.preferred_factor_id
            )
        },
    )
}

/// A name the tenant does not have: 404 with AUTH-3018, or 200 listing no factor (the
/// reading `users/unknown-by-name`); which one is recorded. Never another user's factors.
async fn unknown_name_finds_nobody(cx: &Ctx) -> CheckResult {
    let name = format!("no-such-user-{}@example.invalid", unknown_id());
    let result = cx
        .client()
        .lookup_user_factors(&name, UserIdType::UserName)
        .await;
    let alt = match &result {
        Ok(r) if r.status.as_u16() == 200 && r.value.factors.is_empty() => {
            unknown_by_name::EMPTY_200
        }
        Err(e) if e.status().is_some_and(|s| s == 404) => {
            expect_error(result, 404, Some("AUTH-3018"))?;
            unknown_by_name::NOT_FOUND_404
        }
        _ => {
            return Err(Fail::mismatch(
                "404 with AUTH-3018, or 200 with no factors (users/unknown-by-name)",
                describe(&result),
            ));
        }
    };
    cx.record_reading(
        alt,
        "users.lookup/unknown-name-finds-nobody: a look-up of a name the tenant does not have",
    )
}

/// The look-up with `userIdType=USER_GUID` finds the test user by GUID.
async fn by_guid_200(cx: &Ctx) -> CheckResult {
    let guid = cx.target.tenant().user.guid.clone();
    let r = lookup_200(cx, &guid, UserIdType::UserGuid).await?;
    expect_status_member(&r.value.status, Status::Success)?;
    ensure(
        r.value.user_guid == guid,
        format!("\"userGUID\": {guid:?}"),
        || format!("\"userGUID\": {:?}", r.value.user_guid),
    )
}

async fn preferred_method_is_listed(cx: &Ctx) -> CheckResult {
    let (_, r) = by_name(cx).await?;
    crate::checks::user_factors::preferred_method_of(&r.value)
}

async fn missing_user_id_400(cx: &Ctx) -> CheckResult {
    let r = cx
        .raw(
            reqwest::Method::GET,
            "/mfa/v1/users?attributes=factors",
            Auth::Token,
            None,
            None,
        )
        .await?;
    r.expect(400)
}

async fn authenticator_may_get(cx: &Ctx) -> CheckResult {
    let name = user_name(cx)?;
    let client = cx.client_with(cx.target.tenant().authenticator_token.clone());
    expect_ok(
        client
            .lookup_user_factors(&name, UserIdType::UserName)
            .await,
        200,
    )
    .map(|_| ())
}

async fn missing_token_401(cx: &Ctx) -> CheckResult {
    let name = user_name(cx)?;
    let result = cx
        .client_with(None)
        .lookup_user_factors(&name, UserIdType::UserName)
        .await;
    expect_error(result, 401, None).map(|_| ())
}
