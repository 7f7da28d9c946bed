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

/// Serves the key sets of `bodies` in turn, repeating the last. The request numbered
/// `gated_call` (from 1) waits until `release` is called, like a refresh that left before the
/// issuer published a key. From the request numbered `panic_from` on, the fetcher panics, as a
/// faulty custom fetcher may.
#[derive(Debug)]
struct ScriptedFetcher {
    bodies: Vec<String>,
    gated_call: Option<usize>,
    panic_from: Option<usize>,
    calls: std::sync::atomic::AtomicUsize,
    gate: tokio::sync::Notify,
}

impl ScriptedFetcher {
    fn new(bodies: Vec<String>, gated_call: Option<usize>) -> Arc<Self> {
        Self::panicking_from(bodies, gated_call, None)
    }

    fn panicking_from(
        bodies: Vec<String>,
        gated_call: Option<usize>,
        panic_from: Option<usize>,
    ) -> Arc<Self> {
        Arc::new(Self {
            bodies,
            gated_call,
            panic_from,
            calls: 0.into(),
            gate: tokio::sync::Notify::new(),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn release(&self) {
        self.gate.notify_one();
    }
}

impl cloudauth::Fetcher for ScriptedFetcher {
    fn fetch<'a>(&'a self, _request: &'a cloudauth::FetchRequest) -> cloudauth::FetchFuture<'a> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Box::pin(async move {
            if self.gated_call == Some(call) {
                self.gate.notified().await;
            }
            #[expect(clippy::panic, reason = "the fetcher stands for a faulty one")]
            if self.panic_from.is_some_and(|from| call >= from) {
                panic!("scripted fetcher fails on request {call}");
            }
            let body = self
                .bodies
                .get(call - 1)
                .or(self.bodies.last())
                .map_or("", String::as_str);
            Ok(cloudauth::FetchResponse::new(200, body.as_bytes()))
        })
    }
}

/// Lets spawned tasks run until each waits on something outside the runtime's ready queue.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// Returns a key set on `fetcher` and a verifier of ES256 tokens that uses it.
fn scripted_verifier(
    fetcher: &Arc<ScriptedFetcher>,
) -> (cloudauth::RemoteKeySet, cloudauth::Verifier) {
    let clock = cloudauth::ManualClock::from_unix(NOW);
    let keys = cloudauth::RemoteKeySet::builder("https://issuer.example/jwks.json")
        .fetcher(Arc::clone(fetcher))
        .background_refresh(false)
        .clock(clock.clone())
        .build()
        .expect("key set builds");
    let verifier = cloudauth::Verifier::builder(keys.clone())
        .issuer("https://issuer.example")
        .audience("api")
        .algorithms([cloudauth::Algorithm::ES256])
        .clock(clock)
        .build()
        .expect("verifier builds");
    (keys, verifier)
}

/// Returns the old key, the new key and the key sets before and after the new one appears.
fn rotated_keys() -> (cloudauth::testing::TestKey, String, String) {
    use cloudauth::testing::{TestKey, jwk_set};

    let old_key = TestKey::generate(cloudauth::Algorithm::ES256).with_kid("old");
    let new_key = TestKey::generate(cloudauth::Algorithm::ES256).with_kid("new");
    let before = jwk_set([&old_key]).to_string();
    let after = jwk_set([&old_key, &new_key]).to_string();
    (new_key, before, after)
}

#[tokio::test]
async fn joined_stale_fetch_allows_one_more() {
    let (new_key, before, after) = rotated_keys();
    let fetcher = ScriptedFetcher::new(vec![before.clone(), before, after], Some(2));
    let (keys, verifier) = scripted_verifier(&fetcher);
    keys.load().await.expect("keys load");

    // A refresh is in flight and will bring the old keys only.
    let refreshing = tokio::spawn({
        let keys = keys.clone();
        async move { keys.refresh().await }
    });
    settle().await;
    assert_eq!(fetcher.calls(), 2, "the refresh has started");

    // A token signed with the new key joins that refresh, which does not have its kid.
    let token = cloudauth::testing::TokenBuilder::valid_at("https://issuer.example", "api", NOW)
        .sign(&new_key);
    let verifying = tokio::spawn({
        let verifier = verifier.clone();
        async move { verify(&verifier, &token).await }
    });
    settle().await;
    fetcher.release();

    let outcome = within(verifying).await.expect("task completes");
    assert_eq!(outcome, None, "the token verifies after one more fetch");
    assert_eq!(fetcher.calls(), 3, "exactly one fetch after the joined one");
    within(refreshing)
        .await
        .expect("task completes")
        .expect("refresh succeeds");
}

#[tokio::test]
async fn granted_refetch_is_joined_before_it_starts() {
    let (new_key, before, after) = rotated_keys();
    let fetcher = ScriptedFetcher::new(vec![before, after], None);
    let (keys, verifier) = scripted_verifier(&fetcher);
    keys.load().await.expect("keys load");
    let token = cloudauth::testing::TokenBuilder::valid_at("https://issuer.example", "api", NOW)
        .sign(&new_key);

    // On this single-threaded runtime the first request is granted the refetch and the second
    // asks before the fetch task has run.
    let requests: Vec<_> = (0..2)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verify(&verifier, &token).await })
        })
        .collect();
    for request in requests {
        let outcome = within(request).await.expect("task completes");
        assert_eq!(outcome, None, "both requests verify");
    }
    assert_eq!(fetcher.calls(), 2, "one refetch for both");
}

#[tokio::test]
async fn requests_beside_a_stale_fetch_share_one_more() {
    let (new_key, before, after) = rotated_keys();
    let fetcher = ScriptedFetcher::new(vec![before.clone(), before, after], Some(2));
    let (keys, verifier) = scripted_verifier(&fetcher);
    keys.load().await.expect("keys load");
    let token = cloudauth::testing::TokenBuilder::valid_at("https://issuer.example", "api", NOW)
        .sign(&new_key);

    // A refresh is out and will bring the old keys.
    let refreshing = tokio::spawn({
        let keys = keys.clone();
        async move { keys.refresh().await }
    });
    settle().await;
    assert_eq!(fetcher.calls(), 2, "the refresh is in flight");

    // Two requests with the new kid arrive while it is out: the first is granted a refetch
    // and the second shares it, although neither can use the refresh.
    let requests: Vec<_> = (0..2)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verify(&verifier, &token).await })
        })
        .collect();
    settle().await;
    fetcher.release();

    for request in requests {
        let outcome = within(request).await.expect("task completes");
        assert_eq!(outcome, None, "both requests verify");
    }
    assert_eq!(fetcher.calls(), 3, "one refetch for both");
    within(refreshing)
        .await
        .expect("task completes")
        .expect("refresh succeeds");
}

/// Returns a token for `kid` whose signature no key checks; the key lookup fails first.
fn token_with_kid(kid: &str) -> String {
    cloudauth::testing::TokenBuilder::valid_at("https://issuer.example", "api", NOW).with_signature(
        "ES256",
        Some(kid),
        &[1; 64],
    )
}

#[tokio::test]
async fn panicking_fetcher_costs_one_fetch_per_cooldown() {
    let (_, before, _) = rotated_keys();
    let fetcher = ScriptedFetcher::panicking_from(vec![before], None, Some(2));
    let (keys, verifier) = scripted_verifier(&fetcher);
    keys.load().await.expect("keys load");

    for index in 0..20 {
        let outcome = within(verify(
            &verifier,
            &token_with_kid(&format!("random-{index}")),
        ))
        .await;
        assert_eq!(outcome, Some(ErrorKind::UnknownKeyId), "async {index}");
    }
    for index in 0..20 {
        let token = token_with_kid(&format!("other-{index}"));
        let error = verifier
            .verify::<serde_json::Value>(&token)
            .expect_err("unknown kid");
        assert_eq!(error.kind(), ErrorKind::UnknownKeyId, "sync {index}");
        settle().await;
    }
    assert_eq!(fetcher.calls(), 2, "one refetch in the cooldown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_random_kids_cost_one_fetch() {
    let (_, before, _) = rotated_keys();
    let mut extra_fetches = Vec::new();
    for round in 0..200 {
        let fetcher = ScriptedFetcher::new(vec![before.clone()], None);
        let (keys, verifier) = scripted_verifier(&fetcher);
        keys.load().await.expect("keys load");
        let barrier = Arc::new(tokio::sync::Barrier::new(8));
        let requests: Vec<_> = (0..8)
            .map(|index| {
                let token = token_with_kid(&format!("round-{round}-{index}"));
                let (verifier, barrier) = (verifier.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    verify(&verifier, &token).await
                })
            })
            .collect();
        for request in requests {
            let outcome = within(request).await.expect("task completes");
            assert_eq!(outcome, Some(ErrorKind::UnknownKeyId));
        }
        if fetcher.calls() != 2 {
            extra_fetches.push((round, fetcher.calls()));
        }
    }
    assert!(
        extra_fetches.is_empty(),
        "rounds with more than one refetch: {extra_fetches:?}"
    );
}

#[tokio::test]
async fn request_after_a_granted_refetch_waits_for_it() {
    let (new_key, before, after) = rotated_keys();
    let fetcher = ScriptedFetcher::new(vec![before, after], Some(2));
    let (keys, verifier) = scripted_verifier(&fetcher);
    keys.load().await.expect("keys load");
    let token = cloudauth::testing::TokenBuilder::valid_at("https://issuer.example", "api", NOW)
        .sign(&new_key);

    // The first request with the new kid is granted a refetch, which is now out.
    let spawn_request = || {
        let (verifier, token) = (verifier.clone(), token.clone());
        tokio::spawn(async move { verify(&verifier, &token).await })
    };
    let first = spawn_request();
    settle().await;
    assert_eq!(fetcher.calls(), 2, "the refetch is in flight");

    // The second request takes its keys after that refetch started, and waits for it.
    let second = spawn_request();
    settle().await;
    fetcher.release();

    assert_eq!(within(first).await.expect("task completes"), None, "first");
    assert_eq!(
        within(second).await.expect("task completes"),
        None,
        "second"
    );
    assert_eq!(fetcher.calls(), 2, "no fetch beside the granted one");
}
