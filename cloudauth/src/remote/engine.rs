//! The shared state of a remote key set: the current snapshot, single-flight fetching,
//! freshness and failure tracking.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use url::Url;

use super::fetch::{FetchRequest, FetchResponse, Fetcher};
use super::freshness::FreshnessRules;
use super::negative::{MAX_REMEMBERED_KID_LEN, NegativeCache};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::key::KeySet;

/// How many cooldowns a key id stays in the negative cache. Repeated tokens of another pool or
/// tenant then cost one fetch per this period instead of one per cooldown.
// NOTE: a genuine new kid that arrives before the provider publishes it is rejected until this
// period ends or the next successful fetch, such as the background refresh, clears the cache.
pub(crate) const NEGATIVE_TTL_COOLDOWNS: i64 = 10;

/// Settings of a remote key set; defaults are listed on `RemoteKeySetBuilder`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) max_keys: usize,
    pub(crate) freshness: FreshnessRules,
    pub(crate) max_stale: Duration,
    pub(crate) unknown_kid_cooldown: Duration,
    pub(crate) negative_cache_capacity: usize,
    pub(crate) retry_min: Duration,
    pub(crate) retry_max: Duration,
}

/// One loaded key set with the times that govern its use, in seconds since the Unix epoch.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) keys: KeySet,
    /// When the keys were last confirmed by a 200 or a 304.
    pub(crate) validated_at: i64,
    /// Until when the keys are fresh; a refresh is due after it.
    pub(crate) fresh_until: i64,
    /// Until when the keys may be used while refreshes fail.
    pub(crate) stale_until: i64,
    etag: Option<String>,
    last_modified: Option<String>,
}

#[derive(Debug)]
struct State {
    consecutive_failures: u32,
    last_error: Option<String>,
    /// When the last fetch for an unknown kid was granted, and the number of started fetches
    /// that the granted request had seen.
    last_unknown_kid_fetch: Option<(i64, u64)>,
    /// Until when requests start no fetch after a failure; the background task retries.
    retry_at: Option<i64>,
    negative: NegativeCache,
}

/// Everything the handles of one remote key set share.
pub(crate) struct Shared {
    pub(crate) url: Url,
    pub(crate) config: Config,
    fetcher: Arc<dyn Fetcher>,
    pub(crate) clock: Arc<dyn Clock>,
    snapshot: ArcSwapOption<Snapshot>,
    /// The number of completed fetch attempts, so that waiters can tell whether a fetch
    /// finished while they waited for the fetch lock.
    attempts: AtomicU64,
    /// The number of started fetch attempts, so that a request with an unknown kid can tell
    /// whether a fetch began after it saw the kid missing.
    started: AtomicU64,
    /// `true` while a fetch runs; read without taking the fetch lock.
    fetching: AtomicBool,
    fetch_lock: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(
        url: Url,
        config: Config,
        fetcher: Arc<dyn Fetcher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let negative = NegativeCache::new(config.negative_cache_capacity);
        Self {
            url,
            config,
            fetcher,
            clock,
            snapshot: ArcSwapOption::empty(),
            attempts: AtomicU64::new(0),
            started: AtomicU64::new(0),
            fetching: AtomicBool::new(false),
            fetch_lock: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                consecutive_failures: 0,
                last_error: None,
                last_unknown_kid_fetch: None,
                retry_at: None,
                negative,
            }),
        }
    }

    /// Returns the current snapshot, whatever its age.
    pub(crate) fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshot.load_full()
    }

    /// Returns the current snapshot when it may still be used at `now`.
    pub(crate) fn usable_snapshot(&self, now: i64) -> Option<Arc<Snapshot>> {
        self.snapshot()
            .filter(|snapshot| now <= snapshot.stale_until)
    }

    pub(crate) fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Acquire)
    }

    pub(crate) fn started(&self) -> u64 {
        self.started.load(Ordering::Acquire)
    }

    pub(crate) fn is_fetching(&self) -> bool {
        self.fetching.load(Ordering::Acquire)
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.lock_state().consecutive_failures
    }

    /// Fetches once, unless a fetch that `since` accepts has completed, in which case its
    /// outcome is returned. Concurrent callers share one fetch.
    pub(crate) async fn fetch_shared(&self, since: Since) -> Result<(), Error> {
        let _guard = self.fetch_lock.lock().await;
        // No fetch runs while the lock is held, so every started fetch has completed.
        let done = match since {
            Since::Completed(observed) => self.attempts() != observed,
            Since::Started(observed) => self.started() != observed,
        };
        if done {
            return match &self.lock_state().last_error {
                None => Ok(()),
                Some(message) => Err(unavailable(message.clone())),
            };
        }

        let _running = Running::start(&self.fetching, &self.attempts);
        self.started.fetch_add(1, Ordering::AcqRel);
        self.fetch_once().await
    }

    /// Returns `true` when a request may start a fetch at `now`: always, unless a fetch failed
    /// less than one retry interval ago. The fetch in flight may always be joined.
    pub(crate) fn may_fetch(&self, now: i64) -> bool {
        self.is_fetching()
            || self
                .lock_state()
                .retry_at
                .is_none_or(|retry_at| now >= retry_at)
    }

    /// Decides whether a request that saw `kid` missing, after `observed` fetches had
    /// started, may have a refetch. Returns the start count that the refetch must follow: the
    /// request's own `observed` when it is granted a new refetch, or the count of the refetch
    /// granted within the cooldown, which every request then shares. `None` during a retry
    /// interval and for a kid in the negative cache.
    pub(crate) fn may_refetch_for(&self, kid: &str, now: i64, observed: u64) -> Option<u64> {
        if kid.len() > MAX_REMEMBERED_KID_LEN {
            return None;
        }
        let mut state = self.lock_state();
        let cooldown = seconds(self.config.unknown_kid_cooldown);
        let backing_off = state.retry_at.is_some_and(|retry_at| now < retry_at);
        let remembered =
            state
                .negative
                .contains(kid, now, cooldown.saturating_mul(NEGATIVE_TTL_COOLDOWNS));
        if backing_off || remembered {
            return None;
        }

        match state.last_unknown_kid_fetch {
            Some((granted, seen)) if now.saturating_sub(granted) < cooldown => Some(seen),
            _ => {
                state.last_unknown_kid_fetch = Some((now, observed));
                Some(observed)
            }
        }
    }

    /// Returns `true` when a fetch that started after `since` fetches had started has
    /// completed, so there is nothing to wait for.
    pub(crate) fn completed_since(&self, since: u64) -> bool {
        // `fetching` is set before the start count moves and cleared after the completion
        // count moves, so a moved start count without a running fetch means it completed.
        self.started() != since && !self.is_fetching()
    }

    /// Records that `kid` was absent from keys that a refetch loaded successfully, so it
    /// triggers no fetch for [`NEGATIVE_TTL_COOLDOWNS`] cooldowns or until the next successful
    /// fetch, whichever comes first.
    pub(crate) fn remember_absent(&self, kid: &str, now: i64) {
        self.lock_state().negative.insert(kid, now);
    }

    /// Returns the delay to announce in `Retry-After` while no usable keys are loaded: the wait
    /// before the next fetch attempt, at least one second.
    pub(crate) fn retry_after(&self) -> Duration {
        self.next_refresh_delay()
            .clamp(Duration::from_secs(1), self.config.retry_max)
    }

    /// Returns how long the background task waits before its next fetch.
    pub(crate) fn next_refresh_delay(&self) -> Duration {
        let failures = self.consecutive_failures();
        if failures > 0 {
            let factor = 2_u32.saturating_pow(failures.saturating_sub(1).min(16));
            return self
                .config
                .retry_min
                .saturating_mul(factor)
                .min(self.config.retry_max);
        }

        let Some(snapshot) = self.snapshot() else {
            return Duration::ZERO;
        };
        // Refresh when nine tenths of the freshness lifetime have passed, so the keys are
        // renewed before they expire.
        let lifetime = snapshot.fresh_until.saturating_sub(snapshot.validated_at);
        let refresh_at = snapshot
            .validated_at
            .saturating_add(lifetime - lifetime / 10);
        let wait = refresh_at.saturating_sub(self.clock.now_unix()).max(0);
        Duration::from_secs(wait.unsigned_abs())
    }

    async fn fetch_once(&self) -> Result<(), Error> {
        let previous = self.snapshot();
        let request = FetchRequest {
            url: self.url.clone(),
            if_none_match: previous.as_ref().and_then(|s| s.etag.clone()),
            if_modified_since: previous.as_ref().and_then(|s| s.last_modified.clone()),
            timeout: self.config.timeout,
            max_bytes: self.config.max_bytes,
        };

        // The engine applies the timeout itself, so a custom fetcher cannot hang the fetch.
        let fetched = tokio::time::timeout(self.config.timeout, self.fetcher.fetch(&request)).await;
        let (outcome, source) = match fetched {
            Ok(Ok(response)) => (self.apply(response, &request, previous.as_deref()), None),
            Ok(Err(error)) => {
                let message = format!("key set fetch from {} failed: {error}", self.url);
                (Err(message), Some(error))
            }
            Err(_) => {
                let message = format!(
                    "key set fetch from {} timed out after {} ms",
                    self.url,
                    self.config.timeout.as_millis()
                );
                (Err(message), None)
            }
        };

        match outcome {
            Ok(snapshot) => {
                self.snapshot.store(Some(Arc::new(snapshot)));
                self.record_success();
                Ok(())
            }
            Err(message) => {
                self.record_failure(&message);
                let error = unavailable(message);
                Err(match source {
                    Some(source) => error.with_source(source),
                    None => error,
                })
            }
        }
    }

    /// Turns a response into the next snapshot, or the reason it cannot be used.
    fn apply(
        &self,
        response: FetchResponse,
        request: &FetchRequest,
        previous: Option<&Snapshot>,
    ) -> Result<Snapshot, String> {
        let now = self.clock.now_unix();
        let fresh_until =
            now.saturating_add(seconds(self.config.freshness.lifetime(&response, now)));
        let stale_until = fresh_until.saturating_add(seconds(self.config.max_stale));

        match response.status {
            200 => {}
            304 => {
                let conditional =
                    request.if_none_match.is_some() || request.if_modified_since.is_some();
                let (Some(previous), true) = (previous, conditional) else {
                    return Err(format!(
                        "key set endpoint {} answered 304 with no keys cached",
                        self.url
                    ));
                };
                return Ok(Snapshot {
                    keys: previous.keys.clone(),
                    validated_at: now,
                    fresh_until,
                    stale_until,
                    etag: response.etag.or_else(|| previous.etag.clone()),
                    last_modified: response
                        .last_modified
                        .or_else(|| previous.last_modified.clone()),
                });
            }
            status => {
                return Err(format!(
                    "key set endpoint {} answered with HTTP status {status}",
                    self.url
                ));
            }
        }

        if response.body.len() > self.config.max_bytes {
            return Err(format!(
                "key set from {} exceeds the maximum of {} bytes",
                self.url, self.config.max_bytes
            ));
        }
        let keys = KeySet::from_json_limited(&response.body, self.config.max_keys)
            .map_err(|error| format!("key set from {} is invalid: {error}", self.url))?;
        if keys.is_empty() {
            return Err(format!("key set from {} has no usable key", self.url));
        }

        Ok(Snapshot {
            keys,
            validated_at: now,
            fresh_until,
            stale_until,
            etag: response.etag,
            last_modified: response.last_modified,
        })
    }

    fn record_success(&self) {
        let failures = {
            let mut state = self.lock_state();
            let failures = state.consecutive_failures;
            state.consecutive_failures = 0;
            state.last_error = None;
            state.retry_at = None;
            state.negative.clear();
            failures
        };
        if failures > 0 {
            tracing::info!(
                target: "cloudauth::key_set",
                url = %self.url,
                failures,
                "key set fetch succeeded again"
            );
        }
    }

    fn record_failure(&self, message: &str) {
        let failures = {
            let mut state = self.lock_state();
            state.consecutive_failures = state.consecutive_failures.saturating_add(1);
            state.last_error = Some(message.to_owned());
            state.consecutive_failures
        };
        let retry_at = self
            .clock
            .now_unix()
            .saturating_add(seconds(self.next_refresh_delay()));
        self.lock_state().retry_at = Some(retry_at);

        // One warning per failure streak; the rest of the streak is logged at debug level.
        if failures == 1 && self.snapshot().is_none() {
            tracing::warn!(
                target: "cloudauth::key_set",
                url = %self.url,
                error = message,
                "key set fetch failed and no keys are loaded; requests get 503 until a fetch succeeds"
            );
        } else if failures == 1 {
            tracing::warn!(
                target: "cloudauth::key_set",
                url = %self.url,
                error = message,
                "key set fetch failed; cached keys stay in use while they are within their stale period"
            );
        } else {
            tracing::debug!(
                target: "cloudauth::key_set",
                url = %self.url,
                error = message,
                failures,
                "key set fetch failed again"
            );
        }
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.lock_state().last_error.clone()
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // The state contains counters only, which stay consistent even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The fetches that a waiting caller accepts in place of one of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Since {
    /// Any fetch that completed after this many fetches had completed.
    Completed(u64),
    /// Only a fetch that started after this many fetches had started.
    Started(u64),
}

/// Marks a fetch as running until dropped, and then counts it as completed, also when the
/// fetching future panics or is cancelled.
struct Running<'a> {
    fetching: &'a AtomicBool,
    completed: &'a AtomicU64,
}

impl<'a> Running<'a> {
    fn start(fetching: &'a AtomicBool, completed: &'a AtomicU64) -> Self {
        fetching.store(true, Ordering::Release);
        Self {
            fetching,
            completed,
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.completed.fetch_add(1, Ordering::AcqRel);
        self.fetching.store(false, Ordering::Release);
    }
}

pub(crate) fn unavailable(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::KeySetUnavailable, message.into())
}

pub(crate) fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
