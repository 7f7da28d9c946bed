//! Key sets fetched over HTTP: caching, rotation and provider outages.

mod builder;
mod engine;
mod fetch;
mod freshness;
mod negative;
mod url;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::{Shared, Since, Snapshot, unavailable};

use crate::error::Error;

pub use builder::RemoteKeySetBuilder;
pub(crate) use builder::default_fetcher;
#[cfg(feature = "reqwest")]
pub use fetch::{DEFAULT_CONNECT_TIMEOUT, ReqwestFetcher};
pub use fetch::{FetchError, FetchErrorKind, FetchFuture, FetchRequest, FetchResponse, Fetcher};
pub(crate) use url::parse_key_set_url;

/// A key set that is fetched from a URL, cached and refreshed beside the verification path.
///
/// Verification reads an immutable snapshot of parsed keys without taking a lock; a refresh
/// parses the new document and swaps the snapshot in. Handles are cheap to clone and share one
/// cache. A background task, started when the set is built inside a Tokio runtime, refreshes
/// the keys before they expire and ends when the last handle is dropped.
///
/// - Freshness comes from the response's `Cache-Control: max-age` or `Expires`, clamped between
///   the minimum and maximum refresh intervals. Refreshes are conditional (`If-None-Match`,
///   `If-Modified-Since`), and a 304 renews the freshness of the keys in use.
/// - A token whose `kid` is unknown triggers one refetch, shared by all concurrent requests,
///   then a cooldown during which tokens with unknown key ids are rejected from the snapshot without a fetch. Key ids still
///   absent after a refetch are remembered in a bounded negative cache.
/// - When fetches fail, the last good keys stay in use until the stale period after their
///   freshness ends. With no usable keys, verification fails with
///   [`ErrorKind::KeySetUnavailable`](crate::ErrorKind::KeySetUnavailable).
#[derive(Clone)]
pub struct RemoteKeySet {
    shared: Arc<Shared>,
    /// Dropped with the last handle, which signals the background task to stop.
    _lifetime: Arc<tokio::sync::watch::Sender<()>>,
}

/// Keys to check a token with again after its `kid` was not found.
pub(crate) struct Refetched {
    pub(crate) snapshot: Arc<Snapshot>,
    /// `true` when a fetch that started after the request saw its `kid` missing loaded them,
    /// so an absent `kid` may be remembered.
    pub(crate) fetched: bool,
}

/// The state of a remote key set, for health checks and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeySetStatus {
    /// When the keys were last confirmed by a successful fetch (a 200 or a 304).
    pub last_success: Option<SystemTime>,
    /// How long ago that was.
    pub key_age: Option<Duration>,
    /// Until when the keys are fresh; a refresh is due after it.
    pub fresh_until: Option<SystemTime>,
    /// Fetches that failed since the last success.
    pub consecutive_failures: u32,
    /// `true` while keys past their freshness are in use, within the stale period.
    pub serving_stale: bool,
    /// The number of keys that verification may use now; 0 past the stale period.
    pub key_count: usize,
    /// The message of the last failed fetch, cleared by a success.
    pub last_error: Option<String>,
}

impl RemoteKeySet {
    /// Starts a key set fetched from `url`, which must use `https://`, or `http://` with a
    /// loopback host.
    pub fn builder(url: impl Into<String>) -> RemoteKeySetBuilder {
        RemoteKeySetBuilder::new(url.into())
    }

    /// Returns the key set URL.
    pub fn url(&self) -> &str {
        self.shared.url.as_str()
    }

    /// Waits until usable keys are loaded, fetching them if needed; the fetch is shared with
    /// every other caller waiting at the same time. After a failed fetch, no new fetch starts
    /// before the retry interval ends.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeySetUnavailable`](crate::ErrorKind::KeySetUnavailable) when the fetch fails
    /// and no usable keys are cached.
    pub async fn load(&self) -> Result<(), Error> {
        self.usable_snapshot().await.map(|_| ())
    }

    /// Fetches the key set now, even when the cached keys are fresh or a fetch failed a moment
    /// ago. A fetch already in flight is awaited first, so the keys come from a request that
    /// started after this call.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeySetUnavailable`](crate::ErrorKind::KeySetUnavailable) when the fetch
    /// fails; cached keys stay in use within their stale period.
    pub async fn refresh(&self) -> Result<(), Error> {
        if self.shared.is_fetching() {
            let _ = self.fetch(Since::Completed(self.shared.attempts())).await;
        }
        self.fetch(Since::Completed(self.shared.attempts())).await
    }

    /// Returns the state of the cache.
    pub fn status(&self) -> KeySetStatus {
        let now = self.shared.clock.now_unix();
        let snapshot = self.shared.snapshot();
        let usable = snapshot.as_ref().filter(|s| now <= s.stale_until);
        KeySetStatus {
            last_success: snapshot.as_ref().map(|s| system_time(s.validated_at)),
            key_age: snapshot.as_ref().map(|s| {
                Duration::from_secs(now.saturating_sub(s.validated_at).max(0).unsigned_abs())
            }),
            fresh_until: snapshot.as_ref().map(|s| system_time(s.fresh_until)),
            consecutive_failures: self.shared.consecutive_failures(),
            serving_stale: usable.is_some_and(|s| now > s.fresh_until),
            key_count: usable.map_or(0, |s| s.keys.len()),
            last_error: self.shared.last_error(),
        }
    }

    /// Returns usable keys, waiting for a fetch only when none are cached or the cached ones are
    /// past their stale period. Past their freshness, they are used while a refresh runs in the
    /// background.
    pub(crate) async fn usable_snapshot(&self) -> Result<Arc<Snapshot>, Error> {
        let now = self.shared.clock.now_unix();
        if let Some(snapshot) = self.shared.usable_snapshot(now) {
            if now > snapshot.fresh_until {
                self.refresh_in_background(now);
            }
            return Ok(snapshot);
        }
        if !self.shared.may_fetch(now) {
            return Err(self.unavailable());
        }

        let fetched = self.fetch(Since::Completed(self.shared.attempts())).await;
        let now = self.shared.clock.now_unix();
        let error = match (self.shared.usable_snapshot(now), fetched) {
            (Some(snapshot), _) => return Ok(snapshot),
            (None, Err(error)) => error,
            (None, Ok(())) => unavailable("key set is not loaded"),
        };
        Err(error.with_retry_after(self.shared.retry_after()))
    }

    /// Returns the cached keys without waiting, and starts a background fetch when they are
    /// missing or due for a refresh. Outside a Tokio runtime no fetch can start, so keys must
    /// have been loaded before.
    pub(crate) fn snapshot_now(&self) -> Result<Arc<Snapshot>, Error> {
        let now = self.shared.clock.now_unix();
        match self.shared.usable_snapshot(now) {
            Some(snapshot) => {
                if now > snapshot.fresh_until {
                    self.refresh_in_background(now);
                }
                Ok(snapshot)
            }
            None => {
                self.refresh_in_background(now);
                Err(self.unavailable())
            }
        }
    }

    /// Returns the number of fetches started so far. A request reads it before it takes the
    /// snapshot in which it looks for a `kid`, and passes it to
    /// [`RemoteKeySet::refetch_for_unknown_kid`] when the kid is missing.
    pub(crate) fn fetches_started(&self) -> u64 {
        self.shared.started()
    }

    /// Refetches for a token whose `kid` is not in `checked`, the snapshot taken after
    /// `observed` fetches had started, unless the cooldown, the negative cache or a recent
    /// failure forbids it. Returns the new keys when a fetch succeeded.
    pub(crate) async fn refetch_for_unknown_kid(
        &self,
        kid: &str,
        checked: &Arc<Snapshot>,
        observed: u64,
    ) -> Option<Refetched> {
        let now = self.shared.clock.now_unix();
        let Some(since) = self.shared.may_refetch_for(kid, now, observed) else {
            // Another request's refetch may have loaded newer keys since the caller took its
            // snapshot; those are worth a second look, though not a fetch.
            return self
                .shared
                .usable_snapshot(now)
                .filter(|current| !Arc::ptr_eq(current, checked))
                .map(|snapshot| Refetched {
                    snapshot,
                    fetched: false,
                });
        };

        // Only a fetch that started after `since` counts, because an earlier one may have left
        // before the issuer published the key. After a failed refetch the cached keys stay in
        // use and the caller checks the token with them. The kid is not remembered, so a
        // later success can still find it.
        if !self.shared.completed_since(since) {
            self.fetch(Since::Started(since)).await.ok()?;
        }
        self.shared
            .usable_snapshot(self.shared.clock.now_unix())
            .map(|snapshot| Refetched {
                snapshot,
                // A refetch granted before this request took its keys may predate its kid.
                fetched: since >= observed,
            })
    }

    /// Records that `kid` is absent from `snapshot`, which a refetch just loaded, unless a key
    /// with that id exists for another algorithm.
    pub(crate) fn remember_absent(&self, kid: &str, snapshot: &Snapshot) {
        if snapshot.keys.contains_kid(kid) {
            return;
        }
        self.shared
            .remember_absent(kid, self.shared.clock.now_unix());
    }

    /// Starts a refetch for an unknown `kid` in the background, for callers that cannot wait.
    /// `observed` is as for [`RemoteKeySet::refetch_for_unknown_kid`].
    pub(crate) fn refetch_for_unknown_kid_in_background(&self, kid: &str, observed: u64) {
        let now = self.shared.clock.now_unix();
        if let Some(since) = self.shared.may_refetch_for(kid, now, observed)
            && !self.shared.completed_since(since)
        {
            self.spawn_fetch(Since::Started(since));
        }
    }

    fn unavailable(&self) -> Error {
        let message = self
            .shared
            .last_error()
            .unwrap_or_else(|| "key set is not loaded yet".to_owned());
        unavailable(message).with_retry_after(self.shared.retry_after())
    }

    fn refresh_in_background(&self, now: i64) {
        if !self.shared.is_fetching() && self.shared.may_fetch(now) {
            self.spawn_fetch(Since::Completed(self.shared.attempts()));
        }
    }

    /// Runs a shared fetch in a task of its own, so a caller that goes away, such as a request
    /// whose client disconnected, does not cancel the fetch that others wait for.
    async fn fetch(&self, since: Since) -> Result<(), Error> {
        let shared = Arc::clone(&self.shared);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return shared.fetch_shared(since).await;
        };
        let task = runtime.spawn(async move { shared.fetch_shared(since).await });
        match task.await {
            Ok(result) => result,
            Err(error) => Err(unavailable("key set fetch task failed").with_source(error)),
        }
    }

    fn spawn_fetch(&self, since: Since) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        runtime.spawn(async move {
            let _ = shared.fetch_shared(since).await;
        });
    }
}

impl fmt::Debug for RemoteKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeySet")
            .field("url", &self.shared.url.as_str())
            .field("status", &self.status())
            .finish()
    }
}

fn system_time(unix_seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix_seconds.max(0).unsigned_abs())
}
