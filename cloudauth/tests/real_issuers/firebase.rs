use std::time::Duration;

use cloudauth::ErrorKind;
use cloudauth::providers::firebase::{Firebase, IdClaims};
use cloudauth::testing::{KeySetFormat, LocalIssuer};
use serde_json::json;

use crate::common::{Process, case, fixture_dir, free_port, run_cases, two_hours_later};

const PROJECT: &str = "demo-cloudauth";

/// Sends a JSON request to the emulator and returns the JSON response.
async fn call(
    http: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
    owner: bool,
) -> serde_json::Value {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if owner {
        request = request.header("authorization", "Bearer owner");
    }
    let response = request.send().await.expect("emulator request succeeds");
    let status = response.status();
    let text = response.text().await.expect("emulator response body");
    assert!(
        status.is_success(),
        "emulator answered {status} to {url}: {text}"
    );
    serde_json::from_str(&text).expect("emulator response is JSON")
}

async fn wait_until_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if let Ok(response) = http.get(base).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Firebase Auth emulator at {base} did not become ready within 60 s");
}

#[tokio::test]
async fn firebase_preset_against_the_emulator() {
    let port = free_port();
    let _emulator = Process::spawn(
        "./start.sh",
        &[&port.to_string(), PROJECT],
        &fixture_dir("firebase"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_until_ready(&http, &base).await;
    let api = format!("{base}/identitytoolkit.googleapis.com/v1");

    let credentials =
        json!({"email": "alice@example.test", "password": "secret-pw", "returnSecureToken": true});
    let signed_up = call(
        &http,
        &format!("{api}/accounts:signUp?key=any"),
        credentials.clone(),
        false,
    )
    .await;
    let user_id = signed_up["localId"].as_str().expect("localId").to_owned();
    call(
        &http,
        &format!("{api}/projects/{PROJECT}/accounts:update"),
        json!({"localId": user_id, "customAttributes": "{\"role\":\"admin\"}"}),
        true,
    )
    .await;
    let signed_in = call(
        &http,
        &format!("{api}/accounts:signInWithPassword?key=any"),
        credentials,
        false,
    )
    .await;
    let token = signed_in["idToken"].as_str().expect("idToken").to_owned();

    let keys = LocalIssuer::start().await.expect("local issuer starts");
    keys.set_format(KeySetFormat::CertificateMap);
    let production = Firebase::builder(PROJECT)
        .jwks_url(keys.jwks_url())
        .build()
        .expect("preset builds");
    let cases = [case(
        "emulator token without emulator mode",
        &token,
        Some(ErrorKind::DisallowedAlgorithm),
    )];
    run_cases(production.id_tokens(), &cases).await;

    let emulator = Firebase::builder(PROJECT)
        .insecure_emulator()
        .build()
        .expect("preset builds");
    let cases = [case("emulator token in emulator mode", &token, None)];
    run_cases(emulator.id_tokens(), &cases).await;
    let user: IdClaims = emulator
        .id_tokens()
        .verify_async(&token)
        .await
        .expect("verifies");
    assert_eq!(user.user_id, user_id);
    assert_eq!(user.email.as_deref(), Some("alice@example.test"));
    assert_eq!(user.firebase.sign_in_provider, "password");
    assert_eq!(user.custom["role"], "admin", "custom claims are top-level");

    let other_project = Firebase::builder("demo-other")
        .insecure_emulator()
        .build()
        .expect("preset builds");
    let cases = [case(
        "token of another project",
        &token,
        Some(ErrorKind::InvalidIssuer),
    )];
    run_cases(other_project.id_tokens(), &cases).await;

    let later = Firebase::builder(PROJECT)
        .insecure_emulator()
        .clock(two_hours_later())
        .build()
        .expect("preset builds");
    let cases = [case(
        "expired emulator token",
        &token,
        Some(ErrorKind::Expired),
    )];
    run_cases(later.id_tokens(), &cases).await;

    let tenant = call(
        &http,
        &format!("{base}/identitytoolkit.googleapis.com/v2/projects/{PROJECT}/tenants"),
        json!({"displayName": "tenant-a", "allowPasswordSignup": true}),
        true,
    )
    .await;
    let tenant_id = tenant["name"]
        .as_str()
        .and_then(|name| name.rsplit('/').next())
        .or_else(|| tenant["tenantId"].as_str())
        .expect("tenant id")
        .to_owned();
    let tenant_user = call(
        &http,
        &format!("{api}/accounts:signUp?key=any"),
        json!({"email": "bob@example.test", "password": "secret-pw", "returnSecureToken": true, "tenantId": tenant_id}),
        false,
    )
    .await;
    let tenant_token = tenant_user["idToken"].as_str().expect("idToken").to_owned();

    let tenant_verifier = Firebase::builder(PROJECT)
        .insecure_emulator()
        .tenant(tenant_id.clone())
        .build()
        .expect("preset builds");
    let cases = [
        case("user of the tenant", &tenant_token, None),
        case("user of no tenant", &token, Some(ErrorKind::MissingClaim)),
    ];
    run_cases(tenant_verifier.id_tokens(), &cases).await;
    let other_tenant = Firebase::builder(PROJECT)
        .insecure_emulator()
        .tenant("tenant-other")
        .build()
        .expect("preset builds");
    let cases = [case(
        "user of another tenant",
        &tenant_token,
        Some(ErrorKind::InvalidClaimValue),
    )];
    run_cases(other_tenant.id_tokens(), &cases).await;
}
