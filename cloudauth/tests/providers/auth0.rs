use cloudauth::providers::auth0::{AccessClaims, Auth0, IdClaims};
use cloudauth::testing::{LocalIssuer, TokenBuilder};
use cloudauth::{ErrorKind, ScopeRequirement, Verifier};
use serde_json::json;

use crate::common::{NOW, case, clock, issuer, run_cases};

const DOMAIN: &str = "tenant.eu.auth0.test";
const API: &str = "https://api.example.test";

fn auth0(local: &LocalIssuer, nonce: Option<&str>) -> Auth0 {
    let mut builder = Auth0::builder(DOMAIN)
        .api_identifier(API)
        .client_id("app-client")
        .jwks_url(local.jwks_url())
        .clock(clock());
    if let Some(nonce) = nonce {
        builder = builder.nonce(nonce);
    }
    builder.build().expect("preset builds")
}

fn access_verifier(auth0: &Auth0) -> &Verifier {
    auth0.access_tokens().expect("API identifier configured")
}

fn id_verifier(auth0: &Auth0) -> &Verifier {
    auth0.id_tokens().expect("client id configured")
}

fn access(permissions: &[&str]) -> TokenBuilder {
    TokenBuilder::new()
        .claim("iss", format!("https://{DOMAIN}/"))
        .claim("sub", "auth0|user-1")
        .claim("aud", json!([API, format!("https://{DOMAIN}/userinfo")]))
        .claim("azp", "app-client")
        .claim("scope", "openid profile read:reports")
        .claim("permissions", json!(permissions))
        .claim("https://example.test/roles", json!(["editor"]))
        .claim("iat", NOW - 10)
        .claim("exp", NOW + 3600)
}

fn id() -> TokenBuilder {
    TokenBuilder::new()
        .claim("iss", format!("https://{DOMAIN}/"))
        .claim("sub", "auth0|user-1")
        .claim("aud", "app-client")
        .claim("name", "Alice Example")
        .claim("email", "alice@example.test")
        .claim("iat", NOW - 10)
        .claim("exp", NOW + 3600)
}

#[tokio::test]
async fn access_tokens_and_permissions_are_checked() {
    let local = issuer().await;
    let auth0 = auth0(&local, None);
    let both = ScopeRequirement::all(["read:reports", "write:reports"]);
    let either = ScopeRequirement::any(["read:reports", "write:reports"]);
    let reader = local.token(&access(&["read:reports"]));
    let near_miss = local.token(&access(&["read:report"]));

    let all = access_verifier(&auth0).with_scopes(both);
    let cases = [
        case(
            "both permissions under all",
            local.token(&access(&["read:reports", "write:reports"])),
            None,
        ),
        case(
            "one of two under all",
            reader.clone(),
            Some(ErrorKind::InsufficientScope),
        ),
        case(
            "token for another API",
            local.token(
                &access(&["read:reports", "write:reports"]).claim("aud", "https://other.test"),
            ),
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "issuer without the trailing slash",
            local.token(
                &access(&["read:reports", "write:reports"])
                    .claim("iss", format!("https://{DOMAIN}")),
            ),
            Some(ErrorKind::InvalidIssuer),
        ),
    ];
    run_cases(&all, &cases).await;

    let any = access_verifier(&auth0).with_scopes(either);
    let cases = [
        case("one of two under any", reader, None),
        case(
            "prefix of a name under any",
            near_miss,
            Some(ErrorKind::InsufficientScope),
        ),
    ];
    run_cases(&any, &cases).await;
}

#[tokio::test]
async fn scope_claim_can_be_oauth_scope() {
    let local = issuer().await;
    let auth0 = Auth0::builder(format!("https://{DOMAIN}/"))
        .api_identifier(API)
        .scope_claim("scope")
        .jwks_url(local.jwks_url())
        .clock(clock())
        .build()
        .expect("preset builds");
    let verifier = access_verifier(&auth0).with_scopes(ScopeRequirement::all(["read:reports"]));

    let claims: AccessClaims = verifier
        .verify_async(&local.token(&access(&[])))
        .await
        .expect("scope string grants read:reports");
    assert_eq!(claims.scopes, ["openid", "profile", "read:reports"]);
    assert_eq!(claims.aud.len(), 2);
    assert_eq!(
        claims.custom["https://example.test/roles"],
        json!(["editor"])
    );
    assert!(auth0.id_tokens().is_none(), "no client id, no ID verifier");
}

#[tokio::test]
async fn nonce_is_checked_only_when_configured() {
    let local = issuer().await;
    let with_nonce = auth0(&local, Some("n-0S6_WzA2Mj"));
    let without_nonce = auth0(&local, None);

    let cases = [
        case(
            "right nonce",
            local.token(&id().claim("nonce", "n-0S6_WzA2Mj")),
            None,
        ),
        case(
            "other nonce",
            local.token(&id().claim("nonce", "other")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "missing nonce",
            local.token(&id()),
            Some(ErrorKind::MissingClaim),
        ),
    ];
    run_cases(id_verifier(&with_nonce), &cases).await;

    let cases = [
        case(
            "nonce present, none configured",
            local.token(&id().claim("nonce", "x")),
            None,
        ),
        case("no nonce, none configured", local.token(&id()), None),
        case(
            "ID token of another application",
            local.token(&id().claim("aud", "other-app")),
            Some(ErrorKind::InvalidAudience),
        ),
    ];
    run_cases(id_verifier(&without_nonce), &cases).await;
}

#[tokio::test]
async fn id_claims_keep_the_original_defaults() {
    let local = issuer().await;
    let auth0 = auth0(&local, None);

    let user: IdClaims = id_verifier(&auth0)
        .verify_async(&local.token(&id()))
        .await
        .expect("ID token verifies");
    assert_eq!(user.username.as_deref(), Some("Alice Example"));
    assert_eq!(user.email.as_deref(), Some("alice@example.test"));
}

#[tokio::test]
async fn custom_domain_is_a_second_issuer() {
    let local = issuer().await;
    let auth0 = Auth0::builder(DOMAIN)
        .api_identifier(API)
        .issuer(format!("https://{DOMAIN}/"))
        .issuer("https://login.example.test/")
        .jwks_url(local.jwks_url())
        .clock(clock())
        .build()
        .expect("preset builds");

    let cases = [
        case("tenant domain", local.token(&access(&[])), None),
        case(
            "custom domain",
            local.token(&access(&[]).claim("iss", "https://login.example.test/")),
            None,
        ),
    ];
    run_cases(access_verifier(&auth0), &cases).await;
}

#[test]
fn neither_api_nor_client_is_rejected() {
    let error = Auth0::builder(DOMAIN)
        .build()
        .expect_err("nothing to verify");
    assert_eq!(error.kind(), ErrorKind::InvalidConfiguration);
}
