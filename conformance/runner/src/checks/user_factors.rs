//! `GET /mfa/v1/users/{userGUID}/factors` — seed \[FACTORS\].

use idcs_mfa::{Method, Secret, Status};

use crate::{
    check,
    checks::{bogus_token, unknown_id},
    harness::{Auth, Ctx},
    harness::{Check, CheckResult, Fail, ensure, expect_error, expect_ok, expect_status_member},
};

/// The checks of this operation.
pub const CHECKS: &[Check] = &[
    check! {
        id: "users.factors/200-lists-enrolled-factors",
        operation: GetUserFactors,
        quote: "200 Response … {\"status\":\"success\", \"userGUID\": …, \"factors\": [{\"factorId\", \"methods\"}], …}",
        source: "[FACTORS]",
        evidence: Stated,
        run: lists_enrolled_factors,
    },
    check! {
        id: "users.factors/fixed-factor-ids",
        operation: GetUserFactors,
        quote: "{\"factorId\":\"SecurityQuestions\", \"methods\":[\"SECURITY_QUESTIONS\"]}, {\"factorId\":\"BypassCode\", \"methods\":[\"BYPASSCODE\"]}",
        source: "[FACTORS]",
        evidence: Stated,
        run: fixed_factor_ids,
    },
    check! {
        id: "users.factors/preferred-factor-is-enrolled",
        operation: GetUserFactors,
        quote: "\"preferredFactorId\":\"0778f15bf5778544c3ae2236c5fca9d9e8\", \"preferredMethod\":\"SMS\" (a factor of the list, with that method)",
        source: "[FACTORS]",
        evidence: Inferred,
        run: preferred_is_enrolled,
    },
    check! {
        id: "users.factors/preferred-method-is-listed",
        operation: GetUserFactors,
        quote: "\"preferredFactorId\":\"0778f15bf5778544c3ae2236c5fca9d9e8\", \"preferredMethod\":\"SMS\" (a listing that names a preferred factor names its method, one of that factor's)",
        source: "[FACTORS]",
        evidence: Stated,
        run: preferred_method_is_listed,
    },
    check! {
        id: "users.factors/unknown-guid-404",
        operation: GetUserFactors,
        quote: "404 {\"status\":\"failed\", \"cause\":[{\"code\":\"AUTH-3018\", \"message\":\"User not found.\"}]}",
        source: "[OD]",
        evidence: Captured,
        run: unknown_guid_404,
    },
    check! {
        id: "users.factors/missing-token-401",
        operation: GetUserFactors,
        quote: "Provide a valid OAuth Access Token that has the 'Authenticator Client' or 'MFA Client' scope.",
        source: "[FACTORS]",
        evidence: Inferred,
        run: factors_with_401(None),
    },
    check! {
        id: "users.factors/invalid-token-401",
        operation: GetUserFactors,
        quote: "Provide a valid OAuth Access Token that has the 'Authenticator Client' or 'MFA Client' scope.",
        source: "[FACTORS]",
        evidence: Inferred,
        run: factors_with_401(Some(bogus_token())),
    },
    check! {
        id: "users.factors/authenticator-client-may-get",
        operation: GetUserFactors,
        quote: "Provide a valid OAuth Access Token that has the 'Authenticator Client' or 'MFA Client' scope.",
        source: "[FACTORS]",
        evidence: Stated,
        needs: [AuthenticatorToken],
        run: authenticator_client_may_get,
    },
    check! {
        id: "users.factors/scim-json-request-accepted",
        operation: GetUserFactors,
        quote: "curl -X GET -H \"Content-Type:application/scim+json\" … https://tenant-base-url/mfa/v1/users/{userGUID}/factors",
        source: "[FACTORS]",
        evidence: Stated,
        run: scim_json_accepted,
    },
];

async fn lists_enrolled_factors(cx: &Ctx) -> CheckResult {
    let guid = cx.target.tenant().user.guid.clone();
    let r = expect_ok(cx.client().get_user_factors(&guid).await, 200)?;
    expect_status_member(&r.value.status, Status::Success)?;
    ensure(
        r.value.user_guid == guid,
        format!("\"userGUID\": {guid:?}"),
        || format!("\"userGUID\": {:?}", r.value.user_guid),
    )?;
    ensure(
        !r.value.factors.is_empty(),
        "at least one enrolled factor",
        || "an empty factors list".into(),
    )?;
    for f in &r.value.factors {
        ensure(
            !f.methods.is_empty(),
            format!("factor {} to list its methods", f.factor_id),
            || "no methods".into(),
        )?;
    }
    Ok(())
}

/// The test user's listing as the run read it once (the preflight's, or the first
/// check's): the checks that only read it share it, and `200-lists-enrolled-factors`
/// sends its own request (and so judges the answer against the contract).
async fn listing(cx: &Ctx) -> Result<&idcs_mfa::types::UserFactors, Fail> {
    cx.target.tenant().factors().await.ok_or_else(|| {
        Fail::skip(
            "the test user's listing could not be read (users.factors/200-lists-enrolled-factors judges that answer)",
        )
    })
}

async fn fixed_factor_ids(cx: &Ctx) -> CheckResult {
    let listing = listing(cx).await?;
    let mut seen = 0;
    for (method, id) in [
        (Method::SecurityQuestions, "SecurityQuestions"),
        (Method::Bypasscode, "BypassCode"),
    ] {
        for f in listing
            .factors
            .iter()
            .filter(|f| f.methods.contains(&method))
        {
            seen += 1;
            ensure(
                f.factor_id == id,
                format!("the {method} factor to have factorId {id:?}"),
                || format!("factorId {:?}", f.factor_id),
            )?;
        }
    }
    if seen == 0 {
        return Err(Fail::skip(
            "the test user has neither SECURITY_QUESTIONS nor BYPASSCODE enrolled",
        ));
    }
    Ok(())
}

async fn preferred_is_enrolled(cx: &Ctx) -> CheckResult {
    let listing = listing(cx).await?;
    if listing.preferred_method.is_none() {
        // Whether it must be there is users.factors/preferred-method-is-listed.
        return Err(Fail::skip("the answer names no preferred factor"));
    }
    preferred_method_of(listing)
}

/// A listing that names a preferred factor names its method too, one of that factor's
/// (the look-up's check shares it).
pub(crate) fn preferred_method_of(listing: &idcs_mfa::types::UserFactors) -> CheckResult {
    let Some(id) = &listing.preferred_factor_id else {
        return Err(Fail::skip("the listing names no preferred factor"));
    };
    let Some(method) = &listing.preferred_method else {
        return Err(Fail::mismatch(
            format!("\"preferredMethod\" beside \"preferredFactorId\": {id:?}"),
            "no preferredMethod",
        ));
    };
    let factor = listing.factors.iter().find(|f| &f.factor_id == id);
    ensure(
        factor.is_some_and(|f| f.methods.contains(method)),
        format!("\"preferredMethod\" {method} to be a method of the preferred factor {id}"),
        || match factor {
            Some(f) => format!("its methods are {:?}", f.methods),
            None => "the preferred factor is not listed".into(),
        },
    )
}

async fn preferred_method_is_listed(cx: &Ctx) -> CheckResult {
    preferred_method_of(listing(cx).await?)
}

async fn unknown_guid_404(cx: &Ctx) -> CheckResult {
    let result = cx.client().get_user_factors(&unknown_id()).await;
    expect_error(result, 404, Some("AUTH-3018")).map(|_| ())
}

/// The test user's factors with `token` (none, or one the tenant never issued): 401.
async fn factors_with_401(cx: &Ctx, token: Option<Secret>) -> CheckResult {
    let guid = cx.target.tenant().user.guid.clone();
    let result = cx.client_with(token).get_user_factors(&guid).await;
    expect_error(result, 401, None).map(|_| ())
}

async fn authenticator_client_may_get(cx: &Ctx) -> CheckResult {
    let guid = cx.target.tenant().user.guid.clone();
    let token = cx.target.tenant().authenticator_token.clone();
    let result = cx.client_with(token).get_user_factors(&guid).await;
    expect_ok(result, 200).map(|_| ())
}

async fn scim_json_accepted(cx: &Ctx) -> CheckResult {
    let path = format!("/mfa/v1/users/{}/factors", cx.target.tenant().user.guid);
    let r = cx
        .raw(
            reqwest::Method::GET,
            &path,
            Auth::Token,
            Some("application/scim+json"),
            None,
        )
        .await?;
    r.expect(200)
}
