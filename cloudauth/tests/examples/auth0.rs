use crate::common::{
    Example, assert_config_error, forbidden, http_client, invalid, no_token, ok, start_fixture,
    text,
};

const API: &str = "https://api.example.test";
const OTHER_API: &str = "https://other-api.example.test";
/// The account the fixture signs in when asked for an ID token; it becomes `sub`.
const LOGIN: &str = "auth0|cloudauth-test-user";

/// Requests an access token for `resource` with the client credentials grant of the fixture
/// client `client`, whose secret is `<client>-secret`.
async fn access_token(endpoint: &str, client: &str, resource: &str, scope: Option<&str>) -> String {
    let secret = format!("{client}-secret");
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_secret", secret.as_str()),
        ("resource", resource),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = http_client()
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the token request is sent");
    let status = response.status();
    let body = response
        .text()
        .await
        .expect("the token response has a body");
    let json: serde_json::Value = serde_json::from_str(&body).expect("the token response is JSON");
    assert!(
        status.is_success(),
        "the token endpoint answered {status}: {json}"
    );
    text(&json, "/access_token").to_owned()
}

/// Signs `LOGIN` in through the fixture's authorization code flow and returns the ID token.
async fn id_token(issuer: &str) -> String {
    let url = format!("{issuer}test/id-token?login={}", LOGIN.replace('|', "%7C"));
    let response = http_client()
        .get(url)
        .send()
        .await
        .expect("the ID token request is sent");
    let status = response.status();
    let body = response
        .text()
        .await
        .expect("the flow's response has a body");
    let json: serde_json::Value = serde_json::from_str(&body).expect("the flow's response is JSON");
    assert!(
        status.is_success(),
        "the ID token flow answered {status}: {json}"
    );
    text(&json, "/id_token").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn auth0_example_against_oidc_provider() {
    let mut server = start_fixture("oidc-provider", "node", &["server.mjs", "--port", "0"]);
    let ready = server.ready_line().await;
    let issuer = text(&ready, "/issuer");
    let endpoint = text(&ready, "/token_endpoint");
    let jwks_url = text(&ready, "/jwks_uri");

    let reader_writer = access_token(endpoint, "cloudauth-m2m-a", API, None).await;
    let reader = access_token(endpoint, "cloudauth-m2m-b", API, None).await;
    let writer = access_token(endpoint, "cloudauth-m2m-a", API, Some("write:users")).await;
    let other_api = access_token(endpoint, "cloudauth-m2m-a", OTHER_API, None).await;
    let expired = access_token(endpoint, "cloudauth-m2m-expired", API, None).await;
    let user = id_token(issuer).await;

    // The fixture's issuer is http://127.0.0.1:PORT/, so DOMAIN alone cannot describe it.
    let domain = issuer.trim_start_matches("http://").trim_end_matches('/');
    let settings = [
        ("DOMAIN", domain),
        ("CUSTOMAPI", API),
        ("CLIENTID", "cloudauth-app"),
        ("ISSUER", issuer),
        ("JWKS_URL", jwks_url),
    ];
    let example = Example::start("auth0", &settings).await;
    example
        .check(&[
            ok("read:users and write:users", "/", &reader_writer, "Hello"),
            ok("read:users", "/", &reader, "Hello"),
            forbidden("only write:users", "/", &writer),
            no_token("no token", "/"),
            invalid("garbage", "/", "not-a-token"),
            invalid("ID token", "/", &user),
            invalid("other API", "/", &other_api),
            invalid("expired", "/", &expired),
            ok(
                "client",
                "/access/",
                &reader,
                "Hello, cloudauth-m2m-b@clients",
            ),
            ok(
                "without read:users",
                "/access/",
                &writer,
                "Hello, cloudauth-m2m-a@clients",
            ),
            invalid("ID token", "/access/", &user),
            invalid("other API", "/access/", &other_api),
            invalid("expired", "/access/", &expired),
            no_token("no token", "/access/"),
            // The fixture's ID tokens have no `name`, so the example greets the subject.
            ok("ID token", "/user/", &user, &format!("Hello, {LOGIN}")),
            invalid("access token", "/user/", &reader_writer),
            invalid("garbage", "/user/", "a.b.c"),
            no_token("no token", "/user/"),
        ])
        .await;

    // The same tokens against a service configured for the other API and another client.
    let settings = [
        ("DOMAIN", domain),
        ("CUSTOMAPI", OTHER_API),
        ("CLIENTID", "another-app"),
        ("ISSUER", issuer),
        ("JWKS_URL", jwks_url),
    ];
    let example = Example::start("auth0", &settings).await;
    example
        .check(&[
            ok(
                "token for this API",
                "/access/",
                &other_api,
                "Hello, cloudauth-m2m-a@clients",
            ),
            invalid("token for another API", "/access/", &reader_writer),
            invalid("ID token of another client", "/user/", &user),
        ])
        .await;

    // Without ISSUER the example expects https://DOMAIN/, which the fixture's tokens lack.
    let settings = [
        ("DOMAIN", domain),
        ("CUSTOMAPI", API),
        ("CLIENTID", "cloudauth-app"),
        ("JWKS_URL", jwks_url),
    ];
    let example = Example::start("auth0", &settings).await;
    example
        .check(&[invalid("issuer of another tenant", "/", &reader_writer)])
        .await;
}

#[tokio::test]
async fn auth0_example_configuration_errors() {
    assert_config_error("auth0", &[], "DOMAIN").await;
    assert_config_error("auth0", &[("DOMAIN", "tenant.eu.auth0.com")], "CUSTOMAPI").await;
    let without_client = [("DOMAIN", "tenant.eu.auth0.com"), ("CUSTOMAPI", API)];
    assert_config_error("auth0", &without_client, "CLIENTID").await;
    let bad_domain = [
        ("DOMAIN", "tenant/eu"),
        ("CUSTOMAPI", API),
        ("CLIENTID", "app"),
    ];
    assert_config_error("auth0", &bad_domain, "domain").await;
}
