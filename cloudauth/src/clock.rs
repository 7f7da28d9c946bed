//! Sources of the current time, so that tests set the time instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch.
///
/// Verifiers read it once per token. Implement it to control time in tests, or use
/// [`ManualClock`].
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Returns the current time as seconds since the Unix epoch; negative before 1970.
    fn now_unix(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_unix(&self) -> i64 {
        (**self).now_unix()
    }
}

/// The operating system's wall clock; the default clock of every verifier.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        unix_seconds(SystemTime::now())
    }
}

/// A clock that does not move until it is set or advanced, for tests.
///
/// Clones share the same time, so a test can keep one handle and give another to a verifier.
#[derive(Clone, Default)]
pub struct ManualClock {
    seconds: std::sync::Arc<AtomicI64>,
}

impl ManualClock {
    /// Creates a clock showing `time`.
    pub fn new(time: SystemTime) -> Self {
        Self::from_unix(unix_seconds(time))
    }

    /// Creates a clock showing `seconds` since the Unix epoch.
    pub fn from_unix(seconds: i64) -> Self {
        Self {
            seconds: std::sync::Arc::new(AtomicI64::new(seconds)),
        }
    }

    /// Sets the time to `seconds` since the Unix epoch.
    pub fn set_unix(&self, seconds: i64) {
        self.seconds.store(seconds, Ordering::Relaxed);
    }

    /// Moves the time forward by `duration`, rounded down to whole seconds; the time stops at
    /// `i64::MAX` instead of wrapping.
    pub fn advance(&self, duration: Duration) {
        let seconds = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        let _ = self
            .seconds
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                Some(now.saturating_add(seconds))
            });
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.seconds.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("unix_seconds", &self.now_unix())
            .finish()
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}
