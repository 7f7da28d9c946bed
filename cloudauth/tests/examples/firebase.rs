use cloudauth::Algorithm;
use cloudauth::testing::{Behavior, KeySetFormat, LocalIssuer, TestKey, TokenBuilder};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{
    Example, assert_config_error, assert_key_set_unavailable, invalid, no_token, now, ok,
};

pub(crate) const PROJECT: &str = "demo-project";

/// Starts an issuer that publishes its keys as Google does for Firebase: a map of key id to
/// PEM certificate.
pub(crate) async fn certificate_issuer() -> LocalIssuer {
    let issuer = LocalIssuer::start().await.expect("the local issuer starts");
    issuer.set_format(KeySetFormat::CertificateMap);
    issuer
}

/// Builds a token shaped like a Firebase ID token of `user_id` for `PROJECT`, issued `age` seconds
/// ago and valid for one hour from then.
pub(crate) fn firebase_token(issuer: &LocalIssuer, user_id: &str, age: i64) -> TokenBuilder {
    let issued = now() - age;
    TokenBuilder::valid_at(&issuer.issuer(), PROJECT, issued)
        .claim("sub", user_id)
        .claim("user_id", user_id)
        .claim("auth_time", issued)
        .claim(
            "firebase",
            json!({"sign_in_provider": "password", "identities": {"email": ["user@example.com"]}}),
        )
}

/// Returns the variables that point the Firebase example at `issuer`.
pub(crate) fn settings(issuer: &LocalIssuer) -> [(&'static str, String); 3] {
    [
        ("PROJECT_ID", PROJECT.to_owned()),
        ("JWKS_URL", issuer.jwks_url()),
        ("ISSUER", issuer.issuer()),
    ]
}

pub(crate) fn as_vars<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn firebase_example_against_local_issuer() {
    let issuer = certificate_issuer().await;
    let valid = issuer.token(&firebase_token(&issuer, "user-7", 0));
    let expired = issuer.token(&firebase_token(&issuer, "user-7", 7200));
    let other_project = issuer.token(&firebase_token(&issuer, "user-7", 0).claim("aud", "other"));
    let real_issuer = issuer.token(
        &firebase_token(&issuer, "user-7", 0)
            .claim("iss", "https://securetoken.google.com/demo-project"),
    );
    let empty_subject = issuer.token(&firebase_token(&issuer, "", 0));
    let long_subject = issuer.token(&firebase_token(&issuer, &"u".repeat(129), 0));
    let without_firebase =
        issuer.token(&firebase_token(&issuer, "user-7", 0).remove_claim("firebase"));
    let unknown_key =
        firebase_token(&issuer, "user-7", 0).sign(&TestKey::generate(Algorithm::RS256));

    let settings = settings(&issuer);
    let example = Example::start("firebase", &as_vars(&settings)).await;
    example
        .check(&[
            ok("ID token", "/user/", &valid, "Hello, user-7"),
            no_token("no token", "/user/"),
            invalid("garbage", "/user/", "not-a-token"),
            invalid("expired", "/user/", &expired),
            invalid("other project", "/user/", &other_project),
            invalid("issuer not configured", "/user/", &real_issuer),
            invalid("empty subject", "/user/", &empty_subject),
            invalid("subject of 129 characters", "/user/", &long_subject),
            invalid("no firebase claim", "/user/", &without_firebase),
            invalid("key not published", "/user/", &unknown_key),
        ])
        .await;
    assert!(
        issuer.fetch_count() >= 1,
        "the example fetched its keys from JWKS_URL"
    );

    let reply = example.get("/", Some(&valid)).await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "Firebase has only /user/"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn firebase_example_with_failing_key_endpoint() {
    let issuer = certificate_issuer().await;
    issuer.set_behavior(Behavior::Status(500));
    let token = issuer.token(&firebase_token(&issuer, "user-7", 0));

    let settings = settings(&issuer);
    let example = Example::start("firebase", &as_vars(&settings)).await;
    assert_key_set_unavailable(&example, "/user/", &token).await;
    example
        .check(&[no_token("no token while keys are unavailable", "/user/")])
        .await;
    assert!(issuer.fetch_count() >= 1, "the example tried JWKS_URL");
}

#[tokio::test]
async fn firebase_example_configuration_errors() {
    assert_config_error("firebase", &[], "PROJECT_ID").await;
    assert_config_error("firebase", &[("PROJECT_ID", "  ")], "PROJECT_ID").await;
    let bad_project = [
        ("PROJECT_ID", "my project"),
        ("JWKS_URL", "http://127.0.0.1:9/certs"),
    ];
    assert_config_error("firebase", &bad_project, "project id").await;
}
