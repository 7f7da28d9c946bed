//! The refetch for an unknown `kid` under concurrency, on a scripted fetcher. The cases are
//! requests that arrive while a fetch is out, fetches that left before the issuer published a
//! key, floods of random key ids and a fetcher that panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudauth::testing::{TestKey, TokenBuilder, jwk_set};
use cloudauth::{Algorithm, ErrorKind, ManualClock, RemoteKeySet, Verifier};
use tokio::task::JoinHandle;

use crate::common::{NOW, verify, within};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";

/// Serves the key sets of `bodies` in turn, repeating the last. The request numbered
/// `gated_call` (from 1) waits until `release` is called, like a fetch that left before the
/// issuer published a key. From the request numbered `panic_from` on, the fetcher panics, as
/// a faulty custom fetcher may.
#[derive(Debug)]
struct ScriptedFetcher {
    bodies: Vec<String>,
    gated_call: Option<usize>,
    panic_from: Option<usize>,
    calls: AtomicUsize,
    gate: tokio::sync::Notify,
}

impl ScriptedFetcher {
    fn new(bodies: Vec<String>, gated_call: Option<usize>, panic_from: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            bodies,
            gated_call,
            panic_from,
            calls: AtomicUsize::new(0),
            gate: tokio::sync::Notify::new(),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn release(&self) {
        self.gate.notify_one();
    }
}

impl cloudauth::Fetcher for ScriptedFetcher {
    fn fetch<'a>(&'a self, _request: &'a cloudauth::FetchRequest) -> cloudauth::FetchFuture<'a> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if self.gated_call == Some(call) {
                self.gate.notified().await;
            }
            #[expect(clippy::panic, reason = "the fetcher plays a faulty custom fetcher")]
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

/// A loaded key set on a scripted fetcher, a verifier on it, and a token signed with a key
/// that only the later key sets publish.
struct Rotation {
    fetcher: Arc<ScriptedFetcher>,
    keys: RemoteKeySet,
    verifier: Verifier,
    token: String,
}

impl Rotation {
    /// Loads the old key set. The next `stale` requests get it again, and later requests get
    /// the new one. The request numbered `gated_call` waits for `release`.
    async fn start(stale: usize, gated_call: Option<usize>, panic_from: Option<usize>) -> Self {
        let old_key = TestKey::generate(Algorithm::ES256).with_kid("old");
        let new_key = TestKey::generate(Algorithm::ES256).with_kid("new");
        let mut bodies = vec![jwk_set([&old_key]).to_string(); stale + 1];
        bodies.push(jwk_set([&old_key, &new_key]).to_string());
        let fetcher = ScriptedFetcher::new(bodies, gated_call, panic_from);

        let clock = ManualClock::from_unix(NOW);
        let keys = RemoteKeySet::builder("https://issuer.example/jwks.json")
            .fetcher(Arc::clone(&fetcher))
            .background_refresh(false)
            .clock(clock.clone())
            .build()
            .expect("key set builds");
        let verifier = Verifier::builder(keys.clone())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .algorithms([Algorithm::ES256])
            .clock(clock)
            .build()
            .expect("verifier builds");
        keys.load().await.expect("keys load");

        let token = TokenBuilder::valid_at(ISSUER, AUDIENCE, NOW).sign(&new_key);
        Self {
            fetcher,
            keys,
            verifier,
            token,
        }
    }

    /// Starts a request with the token of the new key.
    fn request(&self) -> JoinHandle<Option<ErrorKind>> {
        self.request_with(self.token.clone())
    }

    fn request_with(&self, token: String) -> JoinHandle<Option<ErrorKind>> {
        let verifier = self.verifier.clone();
        tokio::spawn(async move { verify(&verifier, &token).await })
    }

    /// Starts a refresh of the key set.
    fn refresh(&self) -> JoinHandle<Result<(), cloudauth::Error>> {
        let keys = self.keys.clone();
        tokio::spawn(async move { keys.refresh().await })
    }
}

/// Returns a token for `kid` whose signature no key checks, because the key lookup fails
/// first.
fn token_with_kid(kid: &str) -> String {
    TokenBuilder::valid_at(ISSUER, AUDIENCE, NOW).with_signature("ES256", Some(kid), &[1; 64])
}

/// Waits for `request` and returns its outcome.
async fn outcome(request: JoinHandle<Option<ErrorKind>>) -> Option<ErrorKind> {
    within(request).await.expect("task completes")
}

#[tokio::test]
async fn joined_stale_fetch_allows_one_more() {
    let rotation = Rotation::start(1, Some(2), None).await;

    // A refresh is in flight and will bring the old keys only.
    let refreshing = rotation.refresh();
    settle().await;
    assert_eq!(rotation.fetcher.calls(), 2, "the refresh has started");

    // A token signed with the new key arrives while that refresh, which lacks its kid, is out.
    let request = rotation.request();
    settle().await;
    rotation.fetcher.release();

    assert_eq!(outcome(request).await, None, "the token verifies");
    assert_eq!(rotation.fetcher.calls(), 3, "one fetch after the refresh");
    let refreshed = within(refreshing).await.expect("task completes");
    refreshed.expect("refresh succeeds");
}

#[tokio::test]
async fn requests_beside_a_stale_fetch_share_one_more() {
    let rotation = Rotation::start(1, Some(2), None).await;
    let refreshing = rotation.refresh();
    settle().await;
    assert_eq!(rotation.fetcher.calls(), 2, "the refresh is in flight");

    // Two requests with the new kid arrive while the refresh is out. The first is granted a
    // refetch and the second shares it, because neither can use the refresh.
    let requests = [rotation.request(), rotation.request()];
    settle().await;
    rotation.fetcher.release();

    for request in requests {
        assert_eq!(outcome(request).await, None, "both requests verify");
    }
    assert_eq!(rotation.fetcher.calls(), 3, "one refetch for both");
    let refreshed = within(refreshing).await.expect("task completes");
    refreshed.expect("refresh succeeds");
}

#[tokio::test]
async fn granted_refetch_is_joined_before_it_starts() {
    let rotation = Rotation::start(0, None, None).await;

    // On this single-threaded runtime the first request is granted the refetch, and the
    // second reaches the key set before the fetch task has run.
    let requests = [rotation.request(), rotation.request()];
    for request in requests {
        assert_eq!(outcome(request).await, None, "both requests verify");
    }
    assert_eq!(rotation.fetcher.calls(), 2, "one refetch for both");
}

#[tokio::test]
async fn request_after_a_granted_refetch_waits_for_it() {
    let rotation = Rotation::start(0, Some(2), None).await;

    // The first request with the new kid is granted a refetch, which is now out.
    let first = rotation.request();
    settle().await;
    assert_eq!(rotation.fetcher.calls(), 2, "the refetch is in flight");

    // The second request takes its keys after that refetch started, and waits for it.
    let second = rotation.request();
    settle().await;
    rotation.fetcher.release();

    assert_eq!(outcome(first).await, None, "first");
    assert_eq!(outcome(second).await, None, "second");
    assert_eq!(
        rotation.fetcher.calls(),
        2,
        "no fetch beside the granted one"
    );
}

#[tokio::test]
async fn panicking_fetcher_costs_one_fetch_per_cooldown() {
    let rotation = Rotation::start(0, None, Some(2)).await;

    for index in 0..20 {
        let request = rotation.request_with(token_with_kid(&format!("random-{index}")));
        let found = outcome(request).await;
        assert_eq!(found, Some(ErrorKind::UnknownKeyId), "async {index}");
    }
    for index in 0..20 {
        let token = token_with_kid(&format!("other-{index}"));
        let error = rotation
            .verifier
            .verify::<serde_json::Value>(&token)
            .expect_err("unknown kid");
        assert_eq!(error.kind(), ErrorKind::UnknownKeyId, "sync {index}");
        settle().await;
    }
    assert_eq!(rotation.fetcher.calls(), 2, "one refetch in the cooldown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_random_kids_cost_one_fetch() {
    let mut extra_fetches = Vec::new();
    for round in 0..200 {
        let rotation = Rotation::start(usize::from(u8::MAX), None, None).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(8));
        let requests: Vec<_> = (0..8)
            .map(|index| {
                let token = token_with_kid(&format!("round-{round}-{index}"));
                let (verifier, barrier) = (rotation.verifier.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    verify(&verifier, &token).await
                })
            })
            .collect();
        for request in requests {
            assert_eq!(outcome(request).await, Some(ErrorKind::UnknownKeyId));
        }
        if rotation.fetcher.calls() != 2 {
            extra_fetches.push((round, rotation.fetcher.calls()));
        }
    }
    assert!(
        extra_fetches.is_empty(),
        "rounds with more than one refetch: {extra_fetches:?}"
    );
}
