use crate::common::{
    Example, assert_config_error, assert_key_set_unavailable, forbidden, free_port, invalid,
    no_token, ok, payload, start_fixture, text,
};

#[tokio::test(flavor = "multi_thread")]
async fn cognito_example_against_moto() {
    let mut moto = start_fixture("moto", "python3", &["fixture.py", "--port", "0"]);
    let fixture = moto.ready_line().await;
    let region = text(&fixture, "/region");
    let pool = text(&fixture, "/pools/main/id");
    let jwks_url = text(&fixture, "/pools/main/jwks_url");
    let client_a = text(&fixture, "/pools/main/clients/a");
    let client_b = text(&fixture, "/pools/main/clients/b");
    let token = |sign_in: &str, kind: &str| text(&fixture, &format!("/sign_ins/{sign_in}/{kind}"));
    let member_access = token("member_client_a", "access_token");
    let member_id = token("member_client_a", "id_token");
    let outsider_access = token("non_member_client_a", "access_token");
    let client_b_access = token("member_client_b", "access_token");
    let client_b_id = token("member_client_b", "id_token");
    let other_pool_access = token("other_pool_user", "access_token");
    let other_pool_id = token("other_pool_user", "id_token");
    let tampered = cloudauth::testing::tamper_payload(
        member_access,
        &serde_json::json!({"sub": "someone-else", "token_use": "access"}),
    );
    let hello = |access_token: &str| {
        let claims = payload(access_token);
        format!("Hello, {}", text(&claims, "/sub"))
    };

    // moto's tokens carry the real AWS issuer, so only the key set URL is overridden.
    let settings = [
        ("REGION", region),
        ("USERPOOLID", pool),
        ("APPCLIENTID", client_a),
        ("JWKS_URL", jwks_url),
    ];
    let example = Example::start("cognito", &settings).await;
    example
        .check(&[
            ok("member of read:users", "/", member_access, "Hello"),
            forbidden("user in no group", "/", outsider_access),
            no_token("no token", "/"),
            invalid("garbage", "/", "not-a-token"),
            invalid("ID token", "/", member_id),
            invalid("other app client", "/", client_b_access),
            invalid("other pool", "/", other_pool_access),
            invalid("tampered payload", "/", &tampered),
            ok("member", "/access/", member_access, &hello(member_access)),
            ok(
                "user in no group",
                "/access/",
                outsider_access,
                &hello(outsider_access),
            ),
            invalid("ID token", "/access/", member_id),
            invalid("other app client", "/access/", client_b_access),
            no_token("no token", "/access/"),
            ok("ID token", "/user/", member_id, "Hello, member"),
            invalid("access token", "/user/", member_access),
            invalid("other app client", "/user/", client_b_id),
            invalid("other pool", "/user/", other_pool_id),
            invalid("garbage", "/user/", "a.b.c"),
            no_token("no token", "/user/"),
        ])
        .await;

    let both_clients = format!("{client_a}, {client_b}");
    let settings = [
        ("REGION", region),
        ("USERPOOLID", pool),
        ("APPCLIENTID", both_clients.as_str()),
        ("JWKS_URL", jwks_url),
    ];
    let example = Example::start("cognito", &settings).await;
    example
        .check(&[
            ok("second app client", "/", client_b_access, "Hello"),
            ok("second app client", "/user/", client_b_id, "Hello, member"),
            ok("first app client", "/user/", member_id, "Hello, member"),
        ])
        .await;

    // A key set URL where nothing listens: a cold start with the provider unreachable.
    let unreachable = format!("http://127.0.0.1:{}/.well-known/jwks.json", free_port());
    let settings = [
        ("REGION", region),
        ("USERPOOLID", pool),
        ("APPCLIENTID", client_a),
        ("JWKS_URL", unreachable.as_str()),
    ];
    let example = Example::start("cognito", &settings).await;
    assert_key_set_unavailable(&example, "/", member_access).await;
    assert_key_set_unavailable(&example, "/user/", member_id).await;
    example
        .check(&[no_token("no token while keys are unavailable", "/")])
        .await;
}

#[tokio::test]
async fn cognito_example_configuration_errors() {
    assert_config_error("cognito", &[], "REGION").await;
    assert_config_error("cognito", &[("REGION", "eu-west-1")], "USERPOOLID").await;
    let without_client = [
        ("REGION", "eu-west-1"),
        ("USERPOOLID", "eu-west-1_AbCdEf123"),
    ];
    assert_config_error("cognito", &without_client, "APPCLIENTID").await;
    let bad_region = [
        ("REGION", "eu west 1"),
        ("USERPOOLID", "eu-west-1_AbCdEf123"),
        ("APPCLIENTID", "client"),
    ];
    assert_config_error("cognito", &bad_region, "region").await;
    let bad_url = [
        ("REGION", "eu-west-1"),
        ("USERPOOLID", "eu-west-1_AbCdEf123"),
        ("APPCLIENTID", "client"),
        ("JWKS_URL", "ftp://127.0.0.1/jwks.json"),
    ];
    assert_config_error("cognito", &bad_url, "ftp").await;
    let bad_bind = [
        ("REGION", "eu-west-1"),
        ("USERPOOLID", "eu-west-1_AbCdEf123"),
        ("APPCLIENTID", "client"),
        ("JWKS_URL", "http://127.0.0.1:9/jwks.json"),
        ("BIND", "port 8000"),
    ];
    assert_config_error("cognito", &bad_bind, "BIND").await;
}
