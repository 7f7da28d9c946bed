use cloudauth::providers::cognito::{AccessClaims, Cognito, IdClaims};
use cloudauth::{ErrorKind, ScopeRequirement};

use crate::common::{Process, case, fixture_dir, run_cases, text, two_hours_later};

#[tokio::test]
async fn cognito_preset_against_moto() {
    let mut moto = Process::spawn(
        "python3",
        &["fixture.py", "--port", "0"],
        &fixture_dir("moto"),
    );
    let fixture = moto.ready_line().await;
    let region = text(&fixture, "/region");
    let pool = text(&fixture, "/pools/main/id");
    let jwks_url = text(&fixture, "/pools/main/jwks_url");
    let client_a = text(&fixture, "/pools/main/clients/a");
    let client_b = text(&fixture, "/pools/main/clients/b");
    let token = |sign_in: &str, kind: &str| {
        text(&fixture, &format!("/sign_ins/{sign_in}/{kind}")).to_owned()
    };
    let member_access = token("member_client_a", "access_token");
    let member_id = token("member_client_a", "id_token");
    let outsider_access = token("non_member_client_a", "access_token");
    let client_b_access = token("member_client_b", "access_token");
    let client_b_id = token("member_client_b", "id_token");
    let other_pool_access = token("other_pool_user", "access_token");
    let other_pool_id = token("other_pool_user", "id_token");
    assert_eq!(
        text(&fixture, "/pools/main/issuer"),
        Cognito::issuer_for(region, pool),
        "moto issues tokens with the real AWS issuer"
    );

    let cognito = Cognito::builder(region, pool)
        .client_id(client_a)
        .jwks_url(jwks_url)
        .build()
        .expect("preset builds");
    let access = cognito.access_tokens();
    let cases = [
        case("access token of the app client", &member_access, None),
        case(
            "access token of another app client of the pool",
            &client_b_access,
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "ID token where an access token is required",
            &member_id,
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "access token of another pool",
            &other_pool_access,
            Some(ErrorKind::InvalidIssuer),
        ),
    ];
    run_cases(access, &cases).await;

    let cases = [
        case("ID token of the app client", &member_id, None),
        case(
            "ID token of another app client of the pool",
            &client_b_id,
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "access token where an ID token is required",
            &member_access,
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "ID token of another pool",
            &other_pool_id,
            Some(ErrorKind::InvalidIssuer),
        ),
    ];
    run_cases(cognito.id_tokens(), &cases).await;

    let all = access.with_scopes(ScopeRequirement::all(["read:users"]));
    let any = access.with_scopes(ScopeRequirement::any(["read:users", "admin"]));
    for (name, verifier) in [("all", &all), ("any", &any)] {
        let cases = [
            case("group member", &member_access, None),
            case(
                "user in no group",
                &outsider_access,
                Some(ErrorKind::InsufficientScope),
            ),
        ];
        run_cases(verifier, &cases).await;
        let error = verifier
            .verify_async::<AccessClaims>(&outsider_access)
            .await
            .expect_err(name);
        assert_eq!(
            error
                .required_scopes()
                .map(|scopes| scopes.names().to_vec()),
            Some(verifier.scope_requirement().expect("set").names().to_vec()),
            "{name}: the error names the required groups"
        );
    }

    let both_clients = Cognito::builder(region, pool)
        .client_id(client_a)
        .client_id(client_b)
        .jwks_url(jwks_url)
        .build()
        .expect("preset builds");
    let cases = [case("second configured app client", &client_b_access, None)];
    run_cases(both_clients.access_tokens(), &cases).await;

    let claims: AccessClaims = access.verify_async(&member_access).await.expect("verifies");
    assert_eq!(claims.client_id, client_a);
    assert_eq!(claims.groups, ["read:users"]);
    assert!(claims.username.is_some());
    let user: IdClaims = cognito
        .id_tokens()
        .verify_async(&member_id)
        .await
        .expect("verifies");
    assert_eq!(Some(user.username.as_str()), claims.username.as_deref());
    assert!(user.email.is_some(), "moto includes the email attribute");
    assert_eq!(
        user.email_verified,
        Some(true),
        "moto sends the string \"true\""
    );
    assert!(user.custom_attribute("tenant").is_some());

    let later = Cognito::builder(region, pool)
        .client_id(client_a)
        .jwks_url(jwks_url)
        .clock(two_hours_later())
        .build()
        .expect("preset builds");
    let cases = [case(
        "expired access token",
        &member_access,
        Some(ErrorKind::Expired),
    )];
    run_cases(later.access_tokens(), &cases).await;
}
