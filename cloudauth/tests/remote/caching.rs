use std::sync::Arc;
use std::time::Duration;

use cloudauth::ErrorKind;
use cloudauth::testing::Behavior;
use futures_util::FutureExt as _;

use crate::common::{Fixture, NOW, verify, within};

#[tokio::test]
async fn rotation_is_picked_up_with_one_refetch() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = fixture.verifier(keys.clone());
    keys.load().await.expect("keys load");
    let old_token = fixture.token();
    let old_kid = fixture.issuer.signing_key().kid().to_owned();

    fixture.issuer.rotate();
    let new_token = fixture.token();
    assert_eq!(
        verify(&verifier, &new_token).await,
        None,
        "new key verifies"
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        2,
        "one refetch for the new kid"
    );
    assert_eq!(
        verify(&verifier, &old_token).await,
        None,
        "old key still published"
    );

    fixture.issuer.retire(&old_kid);
    keys.refresh().await.expect("refresh succeeds");
    assert_eq!(
        verify(&verifier, &old_token).await,
        Some(ErrorKind::UnknownKeyId),
        "retired key no longer verifies"
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        3,
        "retired kid inside the cooldown costs no fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kids_cost_one_fetch_per_cooldown() {
    let fixture = Arc::new(Fixture::start().await);
    let keys = fixture.key_set();
    let verifier = Arc::new(fixture.verifier(keys.clone()));
    keys.load().await.expect("keys load");
    let valid = Arc::new(fixture.token());

    let flood = |round: usize| {
        let fixture = Arc::clone(&fixture);
        let verifier = Arc::clone(&verifier);
        let valid = Arc::clone(&valid);
        async move {
            let mut tasks = Vec::new();
            for index in 0..5_000 {
                let token = fixture.token_with_kid(&format!("bogus-{round}-{index}"));
                let verifier = Arc::clone(&verifier);
                let valid = Arc::clone(&valid);
                tasks.push(tokio::spawn(async move {
                    let bogus = verify(&verifier, &token).await;
                    let known = verify(&verifier, &valid).await;
                    (bogus, known)
                }));
            }
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.expect("task completes"));
            }
            outcomes
        }
    };

    let outcomes = within(flood(1)).await;
    assert!(
        outcomes
            .iter()
            .all(|(bogus, _)| *bogus == Some(ErrorKind::UnknownKeyId))
    );
    assert!(
        outcomes.iter().all(|(_, known)| known.is_none()),
        "known kid unaffected"
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        2,
        "one refetch in the first cooldown"
    );

    fixture.clock.advance(Duration::from_secs(31));
    let outcomes = within(flood(2)).await;
    assert!(
        outcomes.iter().all(|(_, known)| known.is_none()),
        "known kid unaffected"
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        3,
        "one refetch in the second cooldown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_kid_never_waits_for_a_refetch() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = Arc::new(fixture.verifier(keys.clone()));
    keys.load().await.expect("keys load");
    let valid = fixture.token();
    fixture
        .issuer
        .set_behavior(Behavior::Slow(Duration::from_secs(3)));

    let bogus = fixture.token_with_kid("bogus");
    let refetching = {
        let verifier = Arc::clone(&verifier);
        tokio::spawn(async move { verify(&verifier, &bogus).await })
    };
    within(async {
        while fixture.issuer.fetch_count() < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await;

    let known = verifier
        .verify_async::<serde_json::Value>(&valid)
        .now_or_never();
    assert!(
        matches!(known, Some(Ok(_))),
        "a known kid completes at once while the refetch is in flight"
    );
    assert_eq!(
        within(refetching).await.expect("task completes"),
        Some(ErrorKind::UnknownKeyId)
    );
}

#[tokio::test]
async fn overlong_kid_triggers_no_fetch() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = fixture.verifier(keys.clone());
    keys.load().await.expect("keys load");

    let token = fixture.token_with_kid(&format!("../../{}", "k".repeat(4096)));
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(fixture.issuer.fetch_count(), 1);
}

#[tokio::test]
async fn absent_kid_is_remembered_after_the_cooldown() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = fixture.verifier(keys.clone());
    keys.load().await.expect("keys load");
    let token = fixture.token_with_kid("other-pool-kid");

    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(fixture.issuer.fetch_count(), 2, "first sight refetches");

    fixture.clock.advance(Duration::from_secs(31));
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        2,
        "negative cache answers after the cooldown"
    );

    let other = fixture.token_with_kid("never-seen");
    assert_eq!(
        verify(&verifier, &other).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        3,
        "a new kid refetches after the cooldown"
    );

    fixture.clock.advance(Duration::from_secs(301));
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        4,
        "the entry expires after ten cooldowns"
    );
}

#[tokio::test]
async fn failed_refetch_does_not_hide_a_new_kid() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = fixture.verifier(keys.clone());
    keys.load().await.expect("keys load");

    fixture.issuer.set_behavior(Behavior::Status(500));
    fixture.issuer.rotate();
    let new_token = fixture.token();
    assert_eq!(
        verify(&verifier, &new_token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(fixture.issuer.fetch_count(), 2);

    fixture.issuer.set_behavior(Behavior::Normal);
    fixture.clock.advance(Duration::from_secs(31));
    assert_eq!(
        verify(&verifier, &new_token).await,
        None,
        "picked up after one cooldown"
    );
    assert_eq!(fixture.issuer.fetch_count(), 3);
}

#[tokio::test]
async fn kid_of_another_algorithm_is_not_remembered_absent() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = cloudauth::Verifier::builder(keys.clone())
        .issuer(fixture.issuer.issuer())
        .audience(crate::common::AUDIENCE)
        .algorithms([cloudauth::Algorithm::RS256, cloudauth::Algorithm::ES256])
        .clock(fixture.clock.clone())
        .build()
        .expect("verifier builds");
    keys.load().await.expect("keys load");
    let kid = fixture.issuer.signing_key().kid().to_owned();

    // The kid exists for RS256, so an ES256 token with it fits no key and causes a refetch.
    let token = fixture
        .issuer
        .token_builder_at(crate::common::AUDIENCE, NOW)
        .with_signature("ES256", Some(&kid), &[1; 64]);
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(fixture.issuer.fetch_count(), 2);

    fixture.clock.advance(Duration::from_secs(31));
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        3,
        "a present kid is never cached as absent"
    );
}

#[tokio::test]
async fn not_modified_renews_freshness() {
    let fixture = Fixture::start().await;
    fixture.issuer.set_cache_control(Some("max-age=600"));
    let keys = fixture.key_set();
    keys.load().await.expect("keys load");

    fixture.clock.advance(Duration::from_secs(700));
    assert_eq!(keys.status().key_age, Some(Duration::from_secs(700)));
    keys.refresh().await.expect("refresh succeeds");

    assert_eq!(
        fixture.issuer.not_modified_count(),
        1,
        "conditional request got a 304"
    );
    let fresh_until = std::time::UNIX_EPOCH + Duration::from_secs((NOW + 700 + 600).unsigned_abs());
    assert_eq!(
        keys.status().fresh_until,
        Some(fresh_until),
        "304 renews freshness"
    );
    assert!(!keys.status().serving_stale);
    let status = keys.status();
    assert_eq!(status.key_age, Some(Duration::ZERO), "304 renews the keys");
    assert_eq!(status.key_count, 1);
    assert_eq!(
        status.last_success,
        Some(std::time::UNIX_EPOCH + Duration::from_secs((NOW + 700).unsigned_abs()))
    );
}

#[tokio::test]
async fn blocking_verify_uses_the_snapshot() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = fixture.verifier(keys.clone());
    let token = fixture.token();

    let before = verifier
        .verify::<serde_json::Value>(&token)
        .map_err(|e| e.kind());
    assert_eq!(
        before.err(),
        Some(ErrorKind::KeySetUnavailable),
        "nothing loaded yet"
    );

    keys.load().await.expect("keys load");
    let after = verifier
        .verify::<serde_json::Value>(&token)
        .map_err(|e| e.kind());
    assert!(after.is_ok(), "loaded keys verify: {after:?}");
}

#[tokio::test]
async fn cached_token_is_dropped_when_its_key_leaves() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = cloudauth::Verifier::builder(keys.clone())
        .issuer(fixture.issuer.issuer())
        .audience(crate::common::AUDIENCE)
        .clock(fixture.clock.clone())
        .cache_verified_tokens(100)
        .build()
        .expect("verifier builds");
    keys.load().await.expect("keys load");
    let token = fixture.token();
    assert_eq!(verify(&verifier, &token).await, None, "verified and cached");

    let old_kid = fixture.issuer.signing_key().kid().to_owned();
    fixture.issuer.rotate();
    fixture.issuer.retire(&old_kid);
    keys.refresh().await.expect("refresh succeeds");
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId),
        "the cache does not outlive the key"
    );
}

#[tokio::test]
async fn header_key_urls_are_never_fetched() {
    let fixture = Fixture::start().await;
    let keys = fixture.key_set();
    let verifier = fixture.verifier(keys.clone());
    keys.load().await.expect("keys load");
    let attacker = cloudauth::testing::LocalIssuer::start()
        .await
        .expect("second issuer starts");

    let token = attacker.token(
        &fixture
            .issuer
            .token_builder_at(crate::common::AUDIENCE, NOW)
            .header("jku", attacker.jwks_url())
            .header("x5u", attacker.jwks_url())
            .header("jwk", attacker.signing_key().to_jwk()),
    );
    assert_eq!(
        verify(&verifier, &token).await,
        Some(ErrorKind::UnknownKeyId)
    );
    assert_eq!(
        attacker.fetch_count(),
        0,
        "nothing is fetched because a token says so"
    );
    assert_eq!(
        fixture.issuer.fetch_count(),
        2,
        "one refetch from the configured URL only"
    );
}
