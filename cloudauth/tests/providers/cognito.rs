use cloudauth::providers::cognito::{AccessClaims, Cognito, IdClaims};
use cloudauth::testing::{LocalIssuer, TokenBuilder};
use cloudauth::{ErrorKind, ScopeRequirement};
use serde::Deserialize;
use serde_json::json;

use crate::common::{NOW, case, clock, issuer, run_cases};

const REGION: &str = "eu-west-1";
const POOL: &str = "eu-west-1_TestPool1";

fn pool_issuer() -> String {
    Cognito::issuer_for(REGION, POOL)
}

fn cognito(local: &LocalIssuer) -> Cognito {
    Cognito::builder(REGION, POOL)
        .client_id("client-a")
        .client_id("client-b")
        .jwks_url(local.jwks_url())
        .clock(clock())
        .build()
        .expect("preset builds")
}

fn access(client: &str) -> TokenBuilder {
    TokenBuilder::new()
        .claim("iss", pool_issuer())
        .claim("sub", "user-sub-1")
        .claim("client_id", client)
        .claim("token_use", "access")
        .claim("username", "alice")
        .claim("scope", "aws.cognito.signin.user.admin")
        .claim("cognito:groups", json!(["read:users"]))
        .claim("auth_time", NOW - 10)
        .claim("iat", NOW - 10)
        .claim("exp", NOW + 3600)
}

fn id(client: &str) -> TokenBuilder {
    TokenBuilder::new()
        .claim("iss", pool_issuer())
        .claim("sub", "user-sub-1")
        .claim("aud", client)
        .claim("token_use", "id")
        .claim("cognito:username", "alice")
        .claim("email", "alice@example.test")
        .claim("email_verified", true)
        .claim("custom:department", "research")
        .claim("at_hash", "q0mcs1lN5y1Ivna1uxg9Kw")
        .claim("auth_time", NOW - 10)
        .claim("iat", NOW - 10)
        .claim("exp", NOW + 3600)
}

#[tokio::test]
async fn access_tokens_are_checked() {
    let local = issuer().await;
    let cognito = cognito(&local);
    let sign = |token: TokenBuilder| local.token(&token);

    let cases = [
        case("access token of client a", sign(access("client-a")), None),
        case("access token of client b", sign(access("client-b")), None),
        case(
            "access token of another app client",
            sign(access("client-c")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "ID token on the access verifier",
            sign(id("client-a")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "token_use id with a client_id",
            sign(access("client-a").claim("token_use", "id")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "token_use missing",
            sign(access("client-a").remove_claim("token_use")),
            Some(ErrorKind::MissingClaim),
        ),
        case(
            "token_use in another letter case",
            sign(access("client-a").claim("token_use", "Access")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "token of another pool",
            sign(access("client-a").claim("iss", Cognito::issuer_for(REGION, "eu-west-1_Other"))),
            Some(ErrorKind::InvalidIssuer),
        ),
        case(
            "expired",
            sign(access("client-a").claim("exp", NOW - 120)),
            Some(ErrorKind::Expired),
        ),
        case(
            "iat one second ahead",
            sign(access("client-a").claim("iat", NOW + 1)),
            None,
        ),
    ];
    run_cases(cognito.access_tokens(), &cases).await;
}

#[tokio::test]
async fn id_tokens_are_checked() {
    let local = issuer().await;
    let cognito = cognito(&local);
    let sign = |token: TokenBuilder| local.token(&token);

    let cases = [
        case(
            "ID token of client a, with at_hash",
            sign(id("client-a")),
            None,
        ),
        case(
            "ID token of another client",
            sign(id("client-c")),
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "access token on the ID verifier",
            sign(access("client-a")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "token_use access with an audience",
            sign(id("client-a").claim("token_use", "access")),
            Some(ErrorKind::InvalidClaimValue),
        ),
    ];
    run_cases(cognito.id_tokens(), &cases).await;
}

#[tokio::test]
async fn groups_grant_scopes() {
    let local = issuer().await;
    let cognito = cognito(&local);
    let member = local.token(&access("client-a"));
    let outsider = local.token(&access("client-a").remove_claim("cognito:groups"));

    let all = cognito
        .access_tokens()
        .with_scopes(ScopeRequirement::all(["read:users"]));
    let any = cognito
        .access_tokens()
        .with_scopes(ScopeRequirement::any(["read:users", "admin"]));
    let cases = [
        case("member under all", member.clone(), None),
        case(
            "outsider under all",
            outsider.clone(),
            Some(ErrorKind::InsufficientScope),
        ),
    ];
    run_cases(&all, &cases).await;
    let cases = [
        case("member under any", member, None),
        case(
            "outsider under any",
            outsider,
            Some(ErrorKind::InsufficientScope),
        ),
    ];
    run_cases(&any, &cases).await;
}

#[tokio::test]
async fn scope_claim_can_be_oauth_scope() {
    let local = issuer().await;
    let cognito = Cognito::builder(REGION, POOL)
        .client_id("client-a")
        .jwks_url(local.jwks_url())
        .scope_claim("scope")
        .clock(clock())
        .build()
        .expect("preset builds");
    let verifier = cognito
        .access_tokens()
        .with_scopes(ScopeRequirement::all(["aws.cognito.signin.user.admin"]));

    let token = local.token(&access("client-a"));
    let claims: AccessClaims = verifier.verify_async(&token).await.expect("scope granted");
    assert_eq!(claims.scopes, ["aws.cognito.signin.user.admin"]);
    assert_eq!(verifier.scope_claim(), "scope");
}

#[derive(Debug, Deserialize, PartialEq)]
struct Department {
    #[serde(rename = "custom:department")]
    department: String,
}

#[tokio::test]
async fn claims_deserialize_into_provider_types() {
    let local = issuer().await;
    let cognito = cognito(&local);

    let access_token = local.token(&access("client-a"));
    let claims: AccessClaims = cognito
        .access_tokens()
        .verify_async(&access_token)
        .await
        .expect("access token verifies");
    assert_eq!(claims.sub, "user-sub-1");
    assert_eq!(claims.client_id, "client-a");
    assert_eq!(claims.username.as_deref(), Some("alice"));
    assert_eq!(claims.groups, ["read:users"]);

    let id_token = local.token(&id("client-a"));
    let user: IdClaims = cognito
        .id_tokens()
        .verify_async(&id_token)
        .await
        .expect("ID token verifies");
    assert_eq!(user.username, "alice");
    assert_eq!(user.email.as_deref(), Some("alice@example.test"));
    assert_eq!(user.custom_attribute("department"), Some("research"));

    let typed: IdClaims<Department> = cognito
        .id_tokens()
        .verify_async(&id_token)
        .await
        .expect("ID token verifies");
    assert_eq!(typed.custom.department, "research");
}

#[tokio::test]
async fn machine_token_has_no_username() {
    let local = issuer().await;
    let cognito = cognito(&local);
    let token = local.token(
        &access("client-a")
            .remove_claim("username")
            .remove_claim("cognito:groups")
            .claim("sub", "client-a"),
    );

    let claims: AccessClaims = cognito
        .access_tokens()
        .verify_async(&token)
        .await
        .expect("machine token verifies");
    assert_eq!(claims.username, None);
    assert!(claims.groups.is_empty());
}

#[test]
fn invalid_settings_are_rejected() {
    let cases = [
        ("no client", Cognito::builder(REGION, POOL)),
        ("empty region", Cognito::builder("", POOL).client_id("a")),
        (
            "pool with a slash",
            Cognito::builder(REGION, "eu-west-1_a/b").client_id("a"),
        ),
        (
            "region with a dot",
            Cognito::builder("eu.west", POOL).client_id("a"),
        ),
        (
            "pool of another region",
            Cognito::builder(REGION, "us-east-1_AbCdEf123").client_id("a"),
        ),
        (
            "pool without an id",
            Cognito::builder(REGION, "eu-west-1_").client_id("a"),
        ),
        (
            "pool without a region",
            Cognito::builder(REGION, "AbCdEf123").client_id("a"),
        ),
    ];
    for (name, builder) in cases {
        let error = builder.build().expect_err(name);
        assert_eq!(error.kind(), ErrorKind::InvalidConfiguration, "{name}");
    }
}
