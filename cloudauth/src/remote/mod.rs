//! Key sets fetched over HTTP: caching, rotation and provider outages.

mod engine;
mod fetch;
mod freshness;
mod negative;
mod url;

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::{Config, Shared, Snapshot, unavailable};
use freshness::FreshnessRules;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;

#[cfg(feature = "reqwest")]
pub use fetch::{DEFAULT_CONNECT_TIMEOUT, ReqwestFetcher};
pub use fetch::{FetchError, FetchErrorKind, FetchFuture, FetchRequest, FetchResponse, Fetcher};

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
///   then a cooldown during which unknown key ids are answered from the snapshot. Key ids still
///   absent after a refetch are remembered in a bounded negative cache.
/// - When fetches fail, the last good keys stay in use until the stale period after their
///   freshness ends. With no usable keys, verification fails with
///   [`ErrorKind::KeySetUnavailable`](crate::ErrorKind::KeySetUnavailable).
#[derive(Clone)]
pub struct RemoteKeySet {
    shared: Arc<Shared>,
    /// Dropped with the last handle, which tells the background task to stop.
    _lifetime: Arc<tokio::sync::watch::Sender<()>>,
}

/// The state of a remote key set, for health checks and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeySetStatus {
    /// When the keys were last confirmed by a successful fetch (a 200 or a 304).
    pub last_success: Option<SystemTime>,
    /// How long ago that was.
    pub key_age: Option<Duration>,
    /// Fetches that failed since the last success.
    pub consecutive_failures: u32,
    /// `true` while the keys in use are past their freshness because fetches fail.
    pub serving_stale: bool,
    /// The number of usable keys.
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
    /// every other caller waiting at the same time.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeySetUnavailable`](crate::ErrorKind::KeySetUnavailable) when the fetch fails
    /// and no usable keys are cached.
    pub async fn load(&self) -> Result<(), Error> {
        self.usable_snapshot().await.map(|_| ())
    }

    /// Fetches the key set now, even when the cached keys are fresh; joins a fetch in flight.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeySetUnavailable`](crate::ErrorKind::KeySetUnavailable) when the fetch
    /// fails; cached keys stay in use within their stale period.
    pub async fn refresh(&self) -> Result<(), Error> {
        let observed = self.shared.attempts();
        self.shared.fetch_shared(observed).await
    }

    /// Returns the state of the cache.
    pub fn status(&self) -> KeySetStatus {
        let now = self.shared.clock.now_unix();
        let snapshot = self.shared.snapshot();
        let failures = self.shared.consecutive_failures();
        KeySetStatus {
            last_success: snapshot.as_ref().map(|s| system_time(s.validated_at)),
            key_age: snapshot.as_ref().map(|s| {
                Duration::from_secs(now.saturating_sub(s.validated_at).max(0).unsigned_abs())
            }),
            consecutive_failures: failures,
            serving_stale: snapshot
                .as_ref()
                .is_some_and(|s| now > s.fresh_until && now <= s.stale_until && failures > 0),
            key_count: snapshot.as_ref().map_or(0, |s| s.keys.len()),
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
                self.refresh_in_background();
            }
            return Ok(snapshot);
        }

        let observed = self.shared.attempts();
        let fetched = self.shared.fetch_shared(observed).await;
        let now = self.shared.clock.now_unix();
        match (self.shared.usable_snapshot(now), fetched) {
            (Some(snapshot), _) => Ok(snapshot),
            (None, Err(error)) => Err(error),
            (None, Ok(())) => Err(unavailable("key set is not loaded")),
        }
    }

    /// Returns the cached keys without waiting, and starts a background fetch when they are
    /// missing or due for a refresh.
    pub(crate) fn snapshot_now(&self) -> Result<Arc<Snapshot>, Error> {
        let now = self.shared.clock.now_unix();
        match self.shared.usable_snapshot(now) {
            Some(snapshot) => {
                if now > snapshot.fresh_until {
                    self.refresh_in_background();
                }
                Ok(snapshot)
            }
            None => {
                self.refresh_in_background();
                let message = self
                    .shared
                    .last_error()
                    .unwrap_or_else(|| "key set is not loaded yet".to_owned());
                Err(unavailable(message))
            }
        }
    }

    /// Refetches for a token whose `kid` is not in `snapshot`, unless the cooldown or the
    /// negative cache says not to. Returns the new snapshot when one was fetched.
    pub(crate) async fn refetch_for_unknown_kid(&self, kid: &str) -> Option<Arc<Snapshot>> {
        let observed = self.shared.attempts();
        let now = self.shared.clock.now_unix();
        if !self.shared.may_refetch_for(kid, now) {
            return None;
        }

        // A failed refetch leaves the cached keys in use; the caller answers from them.
        let _ = self.shared.fetch_shared(observed).await;
        self.shared.usable_snapshot(self.shared.clock.now_unix())
    }

    /// Records that `kid` was absent from keys that a refetch just loaded.
    pub(crate) fn remember_absent(&self, kid: &str) {
        self.shared.remember_absent(kid);
    }

    /// Starts a refetch for an unknown `kid` in the background, for callers that cannot wait.
    pub(crate) fn refetch_for_unknown_kid_in_background(&self, kid: &str) {
        let observed = self.shared.attempts();
        let now = self.shared.clock.now_unix();
        if self.shared.may_refetch_for(kid, now) {
            self.spawn_fetch(observed);
        }
    }

    fn refresh_in_background(&self) {
        if !self.shared.is_fetching() {
            self.spawn_fetch(self.shared.attempts());
        }
    }

    fn spawn_fetch(&self, observed: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        runtime.spawn(async move {
            let _ = shared.fetch_shared(observed).await;
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

/// Configures a [`RemoteKeySet`]; settings are checked by [`RemoteKeySetBuilder::build`].
///
/// # Defaults
///
/// - fetcher: [`ReqwestFetcher::new`] (feature `reqwest`, on by default): rustls, no
///   redirects, connect timeout 5 s;
/// - request timeout: 10 s, body included;
/// - maximum response size: 1 MiB; maximum number of key set entries: 100;
/// - refresh interval without `Cache-Control` or `Expires`: 15 minutes; declared lifetimes are
///   clamped between 1 minute and 24 hours;
/// - stale period: 24 hours after the keys stop being fresh, while fetches fail;
/// - cooldown after a refetch for an unknown `kid`: 30 s; negative cache: 1,024 key ids;
/// - retry after a failed fetch: 5 s, doubling up to 5 minutes;
/// - background refresh: on when built inside a Tokio runtime;
/// - clock: [`SystemClock`].
#[must_use]
pub struct RemoteKeySetBuilder {
    url: String,
    config: Config,
    fetcher: Option<Arc<dyn Fetcher>>,
    clock: Arc<dyn Clock>,
    background_refresh: bool,
}

impl RemoteKeySetBuilder {
    fn new(url: String) -> Self {
        Self {
            url,
            config: Config {
                timeout: Duration::from_secs(10),
                max_bytes: 1024 * 1024,
                max_keys: 100,
                freshness: FreshnessRules {
                    default: Duration::from_secs(15 * 60),
                    min: Duration::from_secs(60),
                    max: Duration::from_secs(24 * 3600),
                },
                max_stale: Duration::from_secs(24 * 3600),
                unknown_kid_cooldown: Duration::from_secs(30),
                negative_cache_capacity: 1024,
                retry_min: Duration::from_secs(5),
                retry_max: Duration::from_secs(5 * 60),
            },
            fetcher: None,
            clock: Arc::new(SystemClock),
            background_refresh: true,
        }
    }

    /// Sets the fetcher, such as a [`ReqwestFetcher`] with the application's client or a
    /// substitute in tests.
    pub fn fetcher(mut self, fetcher: impl Fetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// Fetches with the application's own [`reqwest::Client`].
    #[cfg(feature = "reqwest")]
    pub fn http_client(self, client: reqwest::Client) -> Self {
        self.fetcher(ReqwestFetcher::with_client(client))
    }

    /// Sets the total time allowed for one fetch, body included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Sets the largest key set response accepted, in bytes.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.config.max_bytes = bytes;
        self
    }

    /// Sets the largest number of entries a key set may have.
    pub fn max_keys(mut self, count: usize) -> Self {
        self.config.max_keys = count;
        self
    }

    /// Sets how long keys stay fresh when the response declares no lifetime.
    pub fn default_refresh_interval(mut self, interval: Duration) -> Self {
        self.config.freshness.default = interval;
        self
    }

    /// Sets the bounds that a declared lifetime is clamped to.
    pub fn refresh_interval_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.config.freshness.min = min;
        self.config.freshness.max = max;
        self
    }

    /// Sets how long keys stay in use after their freshness ends while fetches fail.
    pub fn max_stale(mut self, period: Duration) -> Self {
        self.config.max_stale = period;
        self
    }

    /// Sets the time after a refetch for an unknown `kid` during which unknown key ids trigger
    /// no further fetch.
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.config.unknown_kid_cooldown = cooldown;
        self
    }

    /// Sets the delays between retries after failed fetches: the first, doubling up to the
    /// second.
    pub fn retry_interval_bounds(mut self, first: Duration, max: Duration) -> Self {
        self.config.retry_min = first;
        self.config.retry_max = max;
        self
    }

    /// Sets whether a background task loads the keys at once and refreshes them before they
    /// expire. Without it, fetches happen only when verification needs them.
    pub fn background_refresh(mut self, enabled: bool) -> Self {
        self.background_refresh = enabled;
        self
    }

    /// Sets the clock that freshness is measured with.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds the key set without fetching; inside a Tokio runtime, the background task starts
    /// the first fetch at once, and verifications that need keys wait for it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfiguration`](crate::ErrorKind::InvalidConfiguration) for a URL
    /// that is not `https://` (or `http://` to a loopback host), a zero timeout, size or key
    /// limit, a minimum refresh interval above the maximum, or no fetcher while the `reqwest`
    /// feature is off.
    pub fn build(self) -> Result<RemoteKeySet, Error> {
        let url = url::parse_key_set_url(&self.url)?;
        self.validate()?;
        let fetcher = match self.fetcher {
            Some(fetcher) => fetcher,
            None => default_fetcher()?,
        };

        let shared = Arc::new(Shared::new(url, self.config, fetcher, self.clock));
        let (lifetime, stopped) = tokio::sync::watch::channel(());
        if self.background_refresh {
            spawn_background_refresh(Arc::downgrade(&shared), stopped);
        }
        Ok(RemoteKeySet {
            shared,
            _lifetime: Arc::new(lifetime),
        })
    }

    /// Builds the key set and waits for the first fetch, failing fast when it fails.
    ///
    /// # Errors
    ///
    /// The errors of [`RemoteKeySetBuilder::build`], and
    /// [`ErrorKind::KeySetUnavailable`](crate::ErrorKind::KeySetUnavailable) when the first
    /// fetch fails.
    pub async fn build_and_load(self) -> Result<RemoteKeySet, Error> {
        let key_set = self.build()?;
        key_set.load().await?;
        Ok(key_set)
    }

    fn validate(&self) -> Result<(), Error> {
        let config = &self.config;
        if config.timeout.is_zero() {
            return Err(Error::config("key set timeout is zero"));
        }
        if config.max_bytes == 0 || config.max_keys == 0 {
            return Err(Error::config(
                "key set size and key limits must be above zero",
            ));
        }
        if config.freshness.min > config.freshness.max {
            return Err(Error::config(
                "minimum refresh interval exceeds the maximum",
            ));
        }
        if config.retry_min.is_zero() || config.retry_min > config.retry_max {
            return Err(Error::config(
                "first retry interval must be above zero and at most the maximum",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for RemoteKeySetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeySetBuilder")
            .field("url", &self.url)
            .field("config", &self.config)
            .field("background_refresh", &self.background_refresh)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "reqwest")]
fn default_fetcher() -> Result<Arc<dyn Fetcher>, Error> {
    let fetcher = ReqwestFetcher::new()
        .map_err(|source| Error::config("failed to build the HTTP client").with_source(source))?;
    Ok(Arc::new(fetcher))
}

#[cfg(not(feature = "reqwest"))]
fn default_fetcher() -> Result<Arc<dyn Fetcher>, Error> {
    Err(Error::config(
        "no key set fetcher; enable the reqwest feature or call fetcher()",
    ))
}

/// Loads the keys at once, then refreshes them before they expire, until the key set's last
/// handle is dropped. Does nothing outside a Tokio runtime.
fn spawn_background_refresh(shared: Weak<Shared>, mut stopped: tokio::sync::watch::Receiver<()>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        loop {
            let Some(delay) = shared.upgrade().map(|shared| shared.next_refresh_delay()) else {
                return;
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stopped.changed() => return,
            }
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let observed = shared.attempts();
            let _ = shared.fetch_shared(observed).await;
        }
    });
}

fn system_time(unix_seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix_seconds.max(0).unsigned_abs())
}
