use cloudauth::providers::firebase::{Firebase, IdClaims};
use cloudauth::testing::{KeySetFormat, LocalIssuer, TokenBuilder};
use cloudauth::{ErrorKind, Verifier};
use serde_json::json;

use crate::common::{NOW, case, clock, issuer, run_cases};

const PROJECT: &str = "demo-project";

fn firebase(local: &LocalIssuer) -> Firebase {
    local.set_format(KeySetFormat::CertificateMap);
    Firebase::builder(PROJECT)
        .jwks_url(local.jwks_url())
        .clock(clock())
        .build()
        .expect("preset builds")
}

fn id() -> TokenBuilder {
    TokenBuilder::new()
        .claim("iss", Firebase::issuer_for(PROJECT))
        .claim("aud", PROJECT)
        .claim("sub", "uid-1")
        .claim("user_id", "uid-1")
        .claim("email", "alice@example.test")
        .claim("email_verified", false)
        .claim("auth_time", NOW - 60)
        .claim("iat", NOW - 60)
        .claim("exp", NOW + 3540)
        .claim("role", "admin")
        .claim(
            "firebase",
            json!({"identities": {"email": ["alice@example.test"]}, "sign_in_provider": "password"}),
        )
}

#[tokio::test]
async fn id_tokens_are_checked() {
    let local = issuer().await;
    let firebase = firebase(&local);
    let sign = |token: TokenBuilder| local.token(&token);

    let cases = [
        case("valid ID token from a certificate map", sign(id()), None),
        case(
            "token of another project",
            sign(id().claim("aud", "other-project")),
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "issuer of another project",
            sign(id().claim("iss", Firebase::issuer_for("other-project"))),
            Some(ErrorKind::InvalidIssuer),
        ),
        case(
            "empty sub",
            sign(id().claim("sub", "")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "sub of 129 characters",
            sign(id().claim("sub", "u".repeat(129))),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "sub of 128 characters",
            sign(id().claim("sub", "u".repeat(128))),
            None,
        ),
        case(
            "sub missing",
            sign(id().remove_claim("sub")),
            Some(ErrorKind::MissingClaim),
        ),
        case(
            "auth_time ten minutes ahead",
            sign(id().claim("auth_time", NOW + 600)),
            Some(ErrorKind::IssuedInFuture),
        ),
        case(
            "auth_time as a string",
            sign(id().claim("auth_time", "yesterday")),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "expired",
            sign(id().claim("exp", NOW - 61)),
            Some(ErrorKind::Expired),
        ),
        case(
            "unsigned token",
            id().header("kid", local.signing_key().kid())
                .unsigned("none"),
            Some(ErrorKind::DisallowedAlgorithm),
        ),
    ];
    run_cases(firebase.id_tokens(), &cases).await;
}

#[tokio::test]
async fn claims_deserialize_into_firebase_type() {
    let local = issuer().await;
    let firebase = firebase(&local);

    let user: IdClaims = firebase
        .id_tokens()
        .verify_async(&local.token(&id()))
        .await
        .expect("token verifies");
    assert_eq!(user.user_id, "uid-1");
    assert_eq!(user.email.as_deref(), Some("alice@example.test"));
    assert_eq!(user.firebase.sign_in_provider, "password");
    assert_eq!(user.firebase.tenant, None);
    assert_eq!(user.custom["role"], "admin");
}

fn emulator() -> Verifier {
    Firebase::builder(PROJECT)
        .insecure_emulator()
        .clock(clock())
        .build()
        .expect("preset builds")
        .id_tokens()
        .clone()
}

#[tokio::test]
async fn emulator_mode_accepts_only_unsigned_tokens() {
    let local = issuer().await;
    let verifier = emulator();

    let cases = [
        case("unsigned emulator token", id().unsigned("none"), None),
        case(
            "unsigned token of another project",
            id().claim("aud", "other-project").unsigned("none"),
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "unsigned and expired",
            id().claim("exp", NOW - 61).unsigned("none"),
            Some(ErrorKind::Expired),
        ),
        case(
            "alg None in another letter case",
            id().unsigned("None"),
            Some(ErrorKind::DisallowedAlgorithm),
        ),
        case(
            "unsigned with a signature",
            id().with_signature("none", None, b"sig"),
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "signed token",
            local.token(&id()),
            Some(ErrorKind::DisallowedAlgorithm),
        ),
    ];
    run_cases(&verifier, &cases).await;
    assert!(
        Firebase::builder(PROJECT)
            .insecure_emulator()
            .build()
            .expect("preset builds")
            .key_set()
            .is_none(),
        "emulator mode fetches no keys"
    );
}

#[tokio::test]
async fn tenant_is_checked_when_configured() {
    let local = issuer().await;
    local.set_format(KeySetFormat::CertificateMap);
    let firebase = Firebase::builder(PROJECT)
        .tenant("tenant-a")
        .jwks_url(local.jwks_url())
        .clock(clock())
        .build()
        .expect("preset builds");
    let with_tenant = |tenant: &str| {
        id().claim(
            "firebase",
            json!({"sign_in_provider": "password", "tenant": tenant}),
        )
    };

    let cases = [
        case(
            "user of the tenant",
            local.token(&with_tenant("tenant-a")),
            None,
        ),
        case(
            "user of another tenant",
            local.token(&with_tenant("tenant-b")),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "user of no tenant",
            local.token(&id()),
            Some(ErrorKind::MissingClaim),
        ),
        case(
            "firebase claim is a string",
            local.token(&id().claim("firebase", "tenant-a")),
            Some(ErrorKind::InvalidClaimType),
        ),
    ];
    run_cases(firebase.id_tokens(), &cases).await;
}
