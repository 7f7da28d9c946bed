//! The builder of [`RemoteKeySet`], with its defaults, checks and background task.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

#[cfg(feature = "reqwest")]
use super::ReqwestFetcher;
use super::engine::{Config, Shared, Since};
use super::fetch::Fetcher;
use super::freshness::FreshnessRules;
use super::{RemoteKeySet, url};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;

/// Configures a [`RemoteKeySet`]; settings are checked by [`RemoteKeySetBuilder::build`].
///
/// # Defaults
///
/// - fetcher: [`ReqwestFetcher::new`] (feature `reqwest`, on by default): rustls, no
///   redirects, connect timeout 5 s;
/// - request timeout: 10 s, body included;
/// - maximum response size: 1 MiB; maximum number of key set entries: 100;
/// - refresh interval without `Cache-Control` or `Expires`: 15 minutes; declared lifetimes are
///   clamped between 1 minute and 24 hours, and `no-cache` or `no-store` give the minimum;
/// - background refresh when nine tenths of the freshness lifetime have passed;
/// - stale period: 24 hours after the keys stop being fresh, while fetches fail;
/// - cooldown after a refetch for an unknown `kid`: 30 s; negative cache: 1,024 key ids that a
///   successful refetch did not find, each remembered for ten cooldowns or until the next
///   successful fetch; key ids longer than 256 bytes never cause a fetch;
/// - retry after a failed fetch: 5 s, doubling up to 5 minutes; requests start no fetch before
///   then;
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
    pub(super) fn new(url: String) -> Self {
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
        if config.freshness.min < Duration::from_secs(1)
            || config.freshness.default < Duration::from_secs(1)
        {
            return Err(Error::config(
                "refresh intervals must be at least one second",
            ));
        }
        if config.unknown_kid_cooldown < Duration::from_secs(1) {
            return Err(Error::config(
                "the cooldown for unknown key ids must be at least one second",
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
pub(crate) fn default_fetcher() -> Result<Arc<dyn Fetcher>, Error> {
    let fetcher = ReqwestFetcher::new()
        .map_err(|source| Error::config("failed to build the HTTP client").with_source(source))?;
    Ok(Arc::new(fetcher))
}

#[cfg(not(feature = "reqwest"))]
pub(crate) fn default_fetcher() -> Result<Arc<dyn Fetcher>, Error> {
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
            // The attempt count is read before the wait, so a fetch that a request makes in
            // the meantime counts as this one.
            let Some((delay, observed)) = shared
                .upgrade()
                .map(|shared| (shared.next_refresh_delay(), shared.attempts()))
            else {
                return;
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stopped.changed() => return,
            }
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let _ = shared.fetch_shared(Since::Completed(observed)).await;
        }
    });
}
