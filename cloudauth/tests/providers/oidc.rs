use cloudauth::providers::oidc::Oidc;
use cloudauth::{Algorithm, ErrorKind};

use crate::common::{NOW, clock, issuer};

#[tokio::test]
async fn discovery_configures_the_verifier() {
    let local = issuer().await;
    let oidc = Oidc::builder(local.issuer())
        .audience("my-api")
        .clock(clock())
        .discover()
        .await
        .expect("discovery succeeds");

    assert_eq!(oidc.metadata().jwks_uri, local.jwks_url());
    assert_eq!(oidc.metadata().algorithms, [Algorithm::RS256]);
    let token = local.token(&local.token_builder_at("my-api", NOW));
    let claims: serde_json::Value = oidc
        .verifier()
        .verify_async(&token)
        .await
        .expect("token verifies");
    assert_eq!(claims["aud"], "my-api");
}

#[tokio::test]
async fn discovered_issuer_must_match() {
    let local = issuer().await;
    let error = Oidc::builder(format!("{}/", local.issuer()))
        .audience("my-api")
        .discover()
        .await
        .expect_err("issuer differs by a trailing slash");

    assert_eq!(error.kind(), ErrorKind::InvalidConfiguration);
    assert!(
        error
            .to_string()
            .contains("discovery document names issuer"),
        "{error}"
    );
}

#[tokio::test]
async fn discovery_failure_is_unavailable() {
    let local = issuer().await;
    let url = format!("{}/missing", local.issuer());
    let error = Oidc::builder(url)
        .audience("my-api")
        .discover()
        .await
        .expect_err("no discovery document there");

    assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
}
