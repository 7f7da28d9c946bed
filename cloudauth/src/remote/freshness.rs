//! How long a fetched key set stays fresh, from `Cache-Control` and `Expires` (RFC 9111).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::fetch::FetchResponse;

/// Bounds and fallback for freshness lifetimes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FreshnessRules {
    pub(crate) default: Duration,
    pub(crate) min: Duration,
    pub(crate) max: Duration,
}

impl FreshnessRules {
    /// Returns how long `response` stays fresh, clamped to the bounds.
    ///
    /// `max-age` wins over `Expires` (RFC 9111 section 5.3), an `Age` header is subtracted, and
    /// `no-cache` or `no-store` give the minimum. Without either header the default applies.
    pub(crate) fn lifetime(&self, response: &FetchResponse, now_unix: i64) -> Duration {
        let lifetime = self
            .declared_lifetime(response, now_unix)
            .unwrap_or(self.default);
        lifetime.clamp(self.min, self.max)
    }

    fn declared_lifetime(&self, response: &FetchResponse, now_unix: i64) -> Option<Duration> {
        if let Some(cache_control) = &response.cache_control {
            let directives = cache_control.split(',').map(str::trim);
            let mut max_age = None;
            for directive in directives {
                let lower = directive.to_ascii_lowercase();
                if lower == "no-cache" || lower == "no-store" {
                    return Some(Duration::ZERO);
                }
                if let Some(seconds) = lower.strip_prefix("max-age=") {
                    max_age = seconds.trim_matches('"').parse::<u64>().ok();
                }
            }
            if let Some(max_age) = max_age {
                let age = response
                    .age
                    .as_deref()
                    .and_then(|age| age.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                return Some(Duration::from_secs(max_age.saturating_sub(age)));
            }
        }

        let expires = http_date(response.expires.as_deref()?)?;
        // Measured against the server's Date when it sent one, so clock skew between the
        // provider and this host does not shorten or stretch the lifetime.
        let reference = response
            .date
            .as_deref()
            .and_then(http_date)
            .unwrap_or(now_unix);
        let seconds = expires.saturating_sub(reference).max(0);
        Some(Duration::from_secs(seconds.unsigned_abs()))
    }
}

fn http_date(text: &str) -> Option<i64> {
    let time: SystemTime = httpdate::parse_http_date(text.trim()).ok()?;
    let seconds = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn rules() -> FreshnessRules {
        FreshnessRules {
            default: Duration::from_secs(900),
            min: Duration::from_secs(60),
            max: Duration::from_secs(86_400),
        }
    }

    fn response(cache_control: Option<&str>, expires: Option<&str>) -> FetchResponse {
        FetchResponse {
            status: 200,
            cache_control: cache_control.map(str::to_owned),
            expires: expires.map(str::to_owned),
            ..FetchResponse::default()
        }
    }

    fn http(seconds: i64) -> String {
        let time = UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs());
        httpdate::fmt_http_date(time)
    }

    #[test]
    fn lifetime_from_headers() {
        let cases = [
            ("no headers", response(None, None), 900),
            (
                "max-age",
                response(Some("public, max-age=3600"), None),
                3600,
            ),
            (
                "max-age upper case",
                response(Some("Max-Age=300"), None),
                300,
            ),
            (
                "max-age below minimum",
                response(Some("max-age=5"), None),
                60,
            ),
            (
                "max-age above maximum",
                response(Some("max-age=999999"), None),
                86_400,
            ),
            ("no-cache", response(Some("no-cache"), None), 60),
            (
                "max-age over Expires",
                response(Some("max-age=120"), Some(&http(NOW + 7200))),
                120,
            ),
            ("Expires", response(None, Some(&http(NOW + 7200))), 7200),
            (
                "Expires in the past",
                response(None, Some(&http(NOW - 10))),
                60,
            ),
            ("Expires unreadable", response(None, Some("tomorrow")), 900),
            (
                "max-age unreadable",
                response(Some("max-age=soon"), None),
                900,
            ),
        ];
        for (name, response, expected) in cases {
            let lifetime = rules().lifetime(&response, NOW);
            assert_eq!(lifetime, Duration::from_secs(expected), "{name}");
        }
    }

    #[test]
    fn age_is_subtracted() {
        let mut response = response(Some("max-age=3600"), None);
        response.age = Some("600".to_owned());
        assert_eq!(rules().lifetime(&response, NOW), Duration::from_secs(3000));
    }

    #[test]
    fn expires_is_measured_from_date() {
        let mut response = response(None, Some(&http(NOW + 3600)));
        response.date = Some(http(NOW + 1800));
        assert_eq!(rules().lifetime(&response, NOW), Duration::from_secs(1800));
    }
}
