use cloudauth::providers::auth0::{AccessClaims, Auth0, IdClaims};
use cloudauth::providers::oidc::Oidc;
use cloudauth::{ErrorKind, ScopeRequirement};

use crate::common::{Process, case, fixture_dir, run_cases, text};

const API: &str = "https://api.example.test";
const OTHER_API: &str = "https://other-api.example.test";

/// Requests an access token with the client credentials grant and a resource indicator.
async fn access_token(
    http: &reqwest::Client,
    endpoint: &str,
    client: &str,
    resource: &str,
) -> String {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client)
        .append_pair("client_secret", &format!("{client}-secret"))
        .append_pair("resource", resource)
        .finish();
    let response = http
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token request succeeds");
    let status = response.status();
    let text = response.text().await.expect("token response body");
    assert!(
        status.is_success(),
        "token endpoint answered {status}: {text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).expect("token response is JSON");
    json["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

async fn id_token(http: &reqwest::Client, issuer: &str, nonce: &str) -> String {
    let url = format!("{issuer}test/id-token?nonce={nonce}");
    let json: serde_json::Value = serde_json::from_str(
        &http
            .get(url)
            .send()
            .await
            .expect("ID token request succeeds")
            .text()
            .await
            .expect("ID token response body"),
    )
    .expect("ID token response is JSON");
    json["id_token"].as_str().expect("id_token").to_owned()
}

#[tokio::test]
async fn auth0_preset_against_oidc_provider() {
    let mut server = Process::spawn(
        "node",
        &["server.mjs", "--port", "0"],
        &fixture_dir("oidc-provider"),
    );
    let ready = server.ready_line().await;
    let issuer = text(&ready, "/issuer").to_owned();
    let endpoint = text(&ready, "/token_endpoint").to_owned();
    let http = reqwest::Client::new();

    let reader_writer = access_token(&http, &endpoint, "cloudauth-m2m-a", API).await;
    let reader = access_token(&http, &endpoint, "cloudauth-m2m-b", API).await;
    let other_api = access_token(&http, &endpoint, "cloudauth-m2m-a", OTHER_API).await;
    let expired = access_token(&http, &endpoint, "cloudauth-m2m-expired", API).await;
    let with_nonce = id_token(&http, &issuer, "n-0S6_WzA2Mj").await;
    let other_nonce = id_token(&http, &issuer, "other-nonce").await;

    let domain = issuer.trim_start_matches("http://").trim_end_matches('/');
    let auth0 = Auth0::builder(domain)
        .api_identifier(API)
        .client_id("cloudauth-app")
        .nonce("n-0S6_WzA2Mj")
        .issuer(issuer.clone())
        .jwks_url(text(&ready, "/jwks_uri"))
        .build()
        .expect("preset builds");
    let access = auth0.access_tokens().expect("API identifier set");
    let id = auth0.id_tokens().expect("client id set");

    let cases = [
        case("access token for the API", &reader_writer, None),
        case(
            "access token for another API",
            &other_api,
            Some(ErrorKind::InvalidAudience),
        ),
        case("expired access token", &expired, Some(ErrorKind::Expired)),
        case(
            "ID token where an access token is required",
            &with_nonce,
            Some(ErrorKind::InvalidAudience),
        ),
    ];
    run_cases(access, &cases).await;

    let all = access.with_scopes(ScopeRequirement::all(["read:users", "write:users"]));
    let cases = [
        case("both permissions under all", &reader_writer, None),
        case(
            "one of two permissions under all",
            &reader,
            Some(ErrorKind::InsufficientScope),
        ),
    ];
    run_cases(&all, &cases).await;
    let any = access.with_scopes(ScopeRequirement::any(["read:users", "write:users"]));
    let cases = [case("one of two permissions under any", &reader, None)];
    run_cases(&any, &cases).await;

    let cases = [
        case("ID token with the configured nonce", &with_nonce, None),
        case(
            "ID token with another nonce",
            &other_nonce,
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "access token where an ID token is required",
            &reader_writer,
            Some(ErrorKind::InvalidAudience),
        ),
    ];
    run_cases(id, &cases).await;

    let claims: AccessClaims = access.verify_async(&reader_writer).await.expect("verifies");
    assert_eq!(claims.permissions, ["read:users", "write:users"]);
    assert_eq!(claims.sub, "cloudauth-m2m-a@clients");
    let user: IdClaims = id.verify_async(&with_nonce).await.expect("verifies");
    assert_eq!(user.nonce.as_deref(), Some("n-0S6_WzA2Mj"));

    let discovered = Oidc::builder(issuer.clone())
        .audience(API)
        .discover()
        .await
        .expect("discovery succeeds");
    assert_eq!(discovered.metadata().jwks_uri, text(&ready, "/jwks_uri"));
    let cases = [
        case("access token through discovery", &reader_writer, None),
        case(
            "other API through discovery",
            &other_api,
            Some(ErrorKind::InvalidAudience),
        ),
    ];
    run_cases(discovered.verifier(), &cases).await;
}
