use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cloudauth::testing::{TestKey, jwk_set};
use cloudauth::{
    Algorithm, Clock, FetchFuture, FetchRequest, FetchResponse, Fetcher, RemoteKeySet,
};

/// A clock that follows Tokio's time, which a paused test runtime advances by hand.
#[derive(Debug)]
struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now_unix(&self) -> i64 {
        crate::common::NOW + i64::try_from(self.start.elapsed().as_secs()).unwrap_or(i64::MAX)
    }
}

/// Serves one key set from memory with `Cache-Control: max-age=600` and counts requests.
#[derive(Debug, Clone)]
struct MemoryFetcher {
    body: Arc<String>,
    fetches: Arc<AtomicUsize>,
}

impl Fetcher for MemoryFetcher {
    fn fetch<'a>(&'a self, _request: &'a FetchRequest) -> FetchFuture<'a> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let mut response = FetchResponse::new(200, self.body.as_bytes());
        response.cache_control = Some("max-age=600".to_owned());
        Box::pin(async move { Ok(response) })
    }
}

/// Lets spawned tasks run until they wait on a timer again.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn background_refresh_runs_before_expiry_and_stops_on_drop() {
    let key = TestKey::generate(Algorithm::RS256);
    let fetches = Arc::new(AtomicUsize::new(0));
    let fetcher = MemoryFetcher {
        body: Arc::new(jwk_set([&key]).to_string()),
        fetches: Arc::clone(&fetches),
    };
    let keys = RemoteKeySet::builder("https://issuer.example/jwks.json")
        .fetcher(fetcher)
        .clock(TokioClock {
            start: tokio::time::Instant::now(),
        })
        .build()
        .expect("key set builds");

    settle().await;
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the first fetch starts at once"
    );
    assert_eq!(keys.status().key_count, 1);

    tokio::time::advance(Duration::from_secs(539)).await;
    settle().await;
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "no refresh before nine tenths of max-age"
    );

    tokio::time::advance(Duration::from_secs(2)).await;
    settle().await;
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "refresh before the keys expire"
    );

    drop(keys);
    tokio::time::advance(Duration::from_secs(3600)).await;
    settle().await;
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "no refresh after the last handle is gone"
    );
}
