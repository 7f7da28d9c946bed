use std::sync::Arc;

use cloudauth::testing::{Behavior, KeySetFormat};
use cloudauth::{ErrorKind, RemoteKeySet};

use crate::common::{Fixture, verify, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_cache_shares_one_fetch() {
    let fixture = Fixture::start().await;
    fixture
        .issuer
        .set_behavior(Behavior::Slow(std::time::Duration::from_millis(200)));
    let verifier = Arc::new(fixture.verifier(fixture.key_set()));
    let token = Arc::new(fixture.token());

    let mut tasks = Vec::new();
    for _ in 0..200 {
        let verifier = Arc::clone(&verifier);
        let token = Arc::clone(&token);
        tasks.push(tokio::spawn(async move { verify(&verifier, &token).await }));
    }
    let mut failures = 0;
    for task in tasks {
        if within(task).await.expect("task completes").is_some() {
            failures += 1;
        }
    }

    assert_eq!(failures, 0, "every verification succeeds");
    assert_eq!(
        fixture.issuer.fetch_count(),
        1,
        "one fetch for 200 requests"
    );
}

#[tokio::test]
async fn build_and_load_fails_fast() {
    let fixture = Fixture::start().await;
    fixture.issuer.set_behavior(Behavior::Status(500));

    let error = fixture
        .key_set_builder()
        .build_and_load()
        .await
        .expect_err("endpoint fails");
    assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
    assert!(error.to_string().contains("HTTP status 500"), "{error}");
}

#[tokio::test]
async fn certificate_map_and_jwk_set_both_load() {
    for format in [KeySetFormat::Jwks, KeySetFormat::CertificateMap] {
        let fixture = Fixture::start().await;
        fixture.issuer.set_format(format);
        let verifier = fixture.verifier(fixture.key_set());

        assert_eq!(
            verify(&verifier, &fixture.token()).await,
            None,
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let fixture = Fixture::start().await;
    fixture.issuer.set_behavior(Behavior::Redirect);

    let error = fixture
        .key_set_builder()
        .build_and_load()
        .await
        .expect_err("redirect is refused");
    assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
    assert!(error.to_string().contains("HTTP status 302"), "{error}");
    assert_eq!(fixture.issuer.redirected_fetch_count(), 0);
}

#[tokio::test]
async fn slow_endpoint_hits_the_timeout() {
    let fixture = Fixture::start().await;
    fixture.issuer.set_behavior(Behavior::Hang);

    let loading = fixture
        .key_set_builder()
        .timeout(std::time::Duration::from_millis(300))
        .build_and_load();
    let error = within(loading).await.expect_err("request times out");
    assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test]
async fn unusable_responses_are_errors() {
    let cases = [
        ("garbage", Behavior::Garbage, "is invalid"),
        (
            "oversized",
            Behavior::Oversized(2 * 1024 * 1024),
            "exceeds the maximum",
        ),
        ("status 404", Behavior::Status(404), "HTTP status 404"),
    ];
    for (name, behavior, message) in cases {
        let fixture = Fixture::start().await;
        fixture.issuer.set_behavior(behavior);

        let error = fixture
            .key_set_builder()
            .build_and_load()
            .await
            .expect_err(name);
        assert_eq!(error.kind(), ErrorKind::KeySetUnavailable, "{name}");
        assert!(error.to_string().contains(message), "{name}: {error}");
    }
}

#[tokio::test]
async fn key_count_limit_applies() {
    let fixture = Fixture::start().await;
    fixture.issuer.rotate();

    let error = fixture
        .key_set_builder()
        .max_keys(1)
        .build_and_load()
        .await
        .expect_err("two keys over a limit of one");
    assert!(
        error.to_string().contains("more than the maximum of 1"),
        "{error}"
    );
}

#[test]
fn insecure_urls_are_rejected_at_build() {
    let urls = [
        "http://issuer.example/.well-known/jwks.json",
        "http://192.168.1.10/jwks.json",
        "file:///etc/jwks.json",
        "not a url",
    ];
    for url in urls {
        let error = RemoteKeySet::builder(url).build().expect_err(url);
        assert_eq!(error.kind(), ErrorKind::InvalidConfiguration, "{url}");
    }
}

#[test]
fn invalid_limits_are_rejected_at_build() {
    let url = "https://issuer.example/jwks.json";
    let cases = [
        (
            "zero timeout",
            RemoteKeySet::builder(url).timeout(std::time::Duration::ZERO),
        ),
        (
            "zero size",
            RemoteKeySet::builder(url).max_response_bytes(0),
        ),
        ("zero keys", RemoteKeySet::builder(url).max_keys(0)),
        (
            "inverted refresh bounds",
            RemoteKeySet::builder(url).refresh_interval_bounds(
                std::time::Duration::from_secs(60),
                std::time::Duration::from_secs(10),
            ),
        ),
    ];
    for (name, builder) in cases {
        let error = builder.build().expect_err(name);
        assert_eq!(error.kind(), ErrorKind::InvalidConfiguration, "{name}");
    }
}

/// A fetcher that never responds.
#[derive(Debug)]
struct HangingFetcher;

impl cloudauth::Fetcher for HangingFetcher {
    fn fetch<'a>(&'a self, _request: &'a cloudauth::FetchRequest) -> cloudauth::FetchFuture<'a> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn custom_fetcher_is_bounded_by_the_timeout() {
    let loading = RemoteKeySet::builder("https://issuer.example/jwks.json")
        .fetcher(HangingFetcher)
        .timeout(std::time::Duration::from_millis(100))
        .background_refresh(false)
        .build_and_load();

    let error = within(loading).await.expect_err("fetch times out");
    assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
    assert!(
        error.to_string().contains("timed out after 100 ms"),
        "{error}"
    );
}

#[test]
fn sub_second_intervals_are_rejected_at_build() {
    let url = "https://issuer.example/jwks.json";
    let zero = std::time::Duration::ZERO;
    let hour = std::time::Duration::from_secs(3600);
    let cases = [
        (
            "zero minimum refresh",
            RemoteKeySet::builder(url).refresh_interval_bounds(zero, hour),
        ),
        (
            "zero default refresh",
            RemoteKeySet::builder(url).default_refresh_interval(zero),
        ),
        (
            "zero cooldown",
            RemoteKeySet::builder(url).unknown_kid_cooldown(zero),
        ),
    ];
    for (name, builder) in cases {
        let error = builder.build().expect_err(name);
        assert_eq!(error.kind(), ErrorKind::InvalidConfiguration, "{name}");
    }
}
