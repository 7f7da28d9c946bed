use std::time::Duration;

use cloudauth::ErrorKind;
use cloudauth::testing::Behavior;

use crate::common::{Fixture, verify};

/// Loads keys that are fresh for 10 minutes and stale-usable for one more hour.
async fn loaded(fixture: &Fixture) -> (cloudauth::RemoteKeySet, cloudauth::Verifier) {
    fixture.issuer.set_cache_control(Some("max-age=600"));
    let keys = fixture
        .key_set_builder()
        .max_stale(Duration::from_secs(3600))
        .build()
        .expect("key set builds");
    keys.load().await.expect("keys load");
    let verifier = fixture.verifier(keys.clone());
    (keys, verifier)
}

#[tokio::test]
async fn cached_keys_serve_until_the_stale_period_ends() {
    let failures = [
        Behavior::Status(500),
        Behavior::Garbage,
        Behavior::Oversized(2 * 1024 * 1024),
    ];
    for behavior in failures {
        let fixture = Fixture::start().await;
        let (keys, verifier) = loaded(&fixture).await;
        fixture.issuer.set_behavior(behavior);

        fixture.clock.advance(Duration::from_secs(601));
        assert_eq!(
            verify(&verifier, &fixture.token()).await,
            None,
            "{behavior:?}: stale keys serve"
        );
        keys.refresh().await.expect_err("refresh fails");
        let status = keys.status();
        assert!(
            status.serving_stale,
            "{behavior:?}: status reports stale keys"
        );
        assert!(status.consecutive_failures >= 1, "{behavior:?}");
        assert!(status.last_error.is_some(), "{behavior:?}");

        fixture.clock.advance(Duration::from_secs(3600));
        assert_eq!(
            verify(&verifier, &fixture.token()).await,
            Some(ErrorKind::KeySetUnavailable),
            "{behavior:?}: past the stale period"
        );
    }
}

#[tokio::test]
async fn cold_start_failure_recovers() {
    let fixture = Fixture::start().await;
    fixture.issuer.set_behavior(Behavior::Status(503));
    let verifier = fixture.verifier(fixture.key_set());
    let token = fixture.token();

    let error = verifier
        .verify_async::<serde_json::Value>(&token)
        .await
        .expect_err("cold start fails");
    assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
    assert_eq!(
        error.retry_after(),
        Some(Duration::from_secs(5)),
        "retry after the first backoff step"
    );
    fixture.issuer.set_behavior(Behavior::Normal);
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::KeySetUnavailable),
        "no new fetch before the retry interval ends"
    );
    assert_eq!(fixture.issuer.fetch_count(), 1);

    fixture.clock.advance(Duration::from_secs(5));
    assert_eq!(
        verify(&verifier, &token).await,
        None,
        "first success recovers"
    );
    assert_eq!(fixture.issuer.fetch_count(), 2);
}

#[tokio::test]
async fn outage_costs_one_fetch_per_retry_interval() {
    let fixture = Fixture::start().await;
    let (keys, verifier) = loaded(&fixture).await;
    fixture.issuer.set_behavior(Behavior::Status(500));
    fixture.clock.advance(Duration::from_secs(601));

    keys.refresh().await.expect_err("refresh fails");
    for _ in 0..20 {
        assert_eq!(
            verify(&verifier, &fixture.token()).await,
            None,
            "stale keys serve"
        );
    }
    tokio::task::yield_now().await;
    assert_eq!(
        fixture.issuer.fetch_count(),
        2,
        "no request fetches during the retry interval"
    );

    fixture.clock.advance(Duration::from_secs(5));
    assert_eq!(verify(&verifier, &fixture.token()).await, None);
    crate::common::within(async {
        while keys.status().consecutive_failures < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(
        fixture.issuer.fetch_count(),
        3,
        "one retry after the interval"
    );
}

#[tokio::test]
async fn cancelled_request_does_not_cancel_the_fetch() {
    let fixture = Fixture::start().await;
    fixture
        .issuer
        .set_behavior(Behavior::Slow(Duration::from_millis(300)));
    let keys = fixture.key_set();
    let verifier = fixture.verifier(keys.clone());
    let token = fixture.token();

    let impatient =
        tokio::time::timeout(Duration::from_millis(50), verify(&verifier, &token)).await;
    assert!(
        impatient.is_err(),
        "the first request gives up while the fetch runs"
    );
    assert_eq!(
        verify(&verifier, &token).await,
        None,
        "the second request joins the fetch"
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        1,
        "the abandoned fetch was not repeated"
    );
}
