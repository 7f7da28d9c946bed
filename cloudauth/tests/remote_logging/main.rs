//! The logging of key set failures, in a binary of its own because it installs a global
//! `tracing` subscriber.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudauth::testing::{Behavior, LocalIssuer};
use cloudauth::{ManualClock, RemoteKeySet};

#[tokio::test]
async fn failure_streak_warns_once() {
    let warnings = WarnCounter::default();
    tracing::subscriber::set_global_default(warnings.subscriber())
        .expect("no other global subscriber in this binary");
    let issuer = LocalIssuer::start().await.expect("local issuer starts");
    let keys = RemoteKeySet::builder(issuer.jwks_url())
        .clock(ManualClock::from_unix(1_700_000_000))
        .background_refresh(false)
        .build_and_load()
        .await
        .expect("keys load");
    issuer.set_behavior(Behavior::Status(500));

    for _ in 0..5 {
        keys.refresh().await.expect_err("refresh fails");
    }
    assert_eq!(warnings.count(), 1, "one warning for five failures");

    issuer.set_behavior(Behavior::Normal);
    keys.refresh().await.expect("refresh succeeds");
    issuer.set_behavior(Behavior::Status(500));
    keys.refresh().await.expect_err("refresh fails");
    assert_eq!(warnings.count(), 2, "a new streak warns again");
    assert_eq!(keys.status().consecutive_failures, 1);
}

/// Counts `warn` events of the key set engine.
#[derive(Clone, Default)]
struct WarnCounter {
    count: Arc<AtomicUsize>,
}

impl WarnCounter {
    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        use tracing_subscriber::layer::SubscriberExt as _;
        tracing_subscriber::registry().with(self.clone())
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for WarnCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let metadata = event.metadata();
        if *metadata.level() == tracing::Level::WARN && metadata.target() == "cloudauth::key_set" {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }
}
