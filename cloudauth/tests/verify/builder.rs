use std::time::Duration;

use cloudauth::{ErrorCategory, ErrorKind};

use crate::common::{builder, builder_without_audience};

#[test]
fn invalid_settings_are_rejected_at_build() {
    let cases = [
        (
            "no issuer",
            cloudauth::Verifier::builder(crate::common::key_set()).audience("a"),
        ),
        ("empty issuer", builder().issuer("")),
        ("no audience", builder_without_audience()),
        ("empty audience", builder().audience("")),
        (
            "audience and skip",
            builder().insecure_skip_audience_check(),
        ),
        ("no algorithm", builder().algorithms([])),
        (
            "leeway over ten minutes",
            builder().leeway(Duration::from_secs(601)),
        ),
        ("tiny maximum length", builder().max_token_length(10)),
        (
            "exp required by value",
            builder().require_claim("exp", ["1"]),
        ),
        (
            "required claim without values",
            builder().require_claim("token_use", Vec::<String>::new()),
        ),
        (
            "required claim with an empty value",
            builder().require_claim("token_use", [""]),
        ),
    ];
    for (name, builder) in cases {
        let error = builder.build().expect_err(name);
        assert_eq!(error.kind(), ErrorKind::InvalidConfiguration, "{name}");
        assert_eq!(
            error.kind().category(),
            ErrorCategory::Configuration,
            "{name}"
        );
        assert_eq!(error.kind().bearer_error_code(), None, "{name}");
    }
}

#[test]
fn token_kinds_map_to_invalid_token() {
    let kinds = [
        ErrorKind::TokenTooLong,
        ErrorKind::MalformedToken,
        ErrorKind::DisallowedAlgorithm,
        ErrorKind::CriticalHeader,
        ErrorKind::MissingKeyId,
        ErrorKind::UnknownKeyId,
        ErrorKind::InvalidSignature,
        ErrorKind::MissingClaim,
        ErrorKind::InvalidClaimType,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::IssuedInFuture,
        ErrorKind::InvalidIssuer,
        ErrorKind::InvalidAudience,
        ErrorKind::InvalidClaimValue,
        ErrorKind::InvalidClaims,
    ];
    for kind in kinds {
        assert_eq!(kind.category(), ErrorCategory::Token, "{kind:?}");
        assert_eq!(kind.bearer_error_code(), Some("invalid_token"), "{kind:?}");
    }
    assert_eq!(ErrorKind::InvalidKeySet.category(), ErrorCategory::KeySet);
    assert_eq!(
        ErrorKind::KeySetUnavailable.category(),
        ErrorCategory::KeySet
    );
    assert_eq!(ErrorKind::KeySetUnavailable.bearer_error_code(), None);
}

#[test]
fn leeway_at_maximum_is_accepted() {
    builder()
        .leeway(cloudauth::MAX_LEEWAY)
        .build()
        .expect("leeway of ten minutes is accepted");
}
