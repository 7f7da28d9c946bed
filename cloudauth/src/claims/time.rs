//! The time claims `exp`, `nbf` and `iat`.

use serde_json::Number;

use crate::error::{Error, ErrorKind, TimeCheck};
use crate::token::json::Members;

/// The largest NumericDate accepted: 9999-12-31T23:59:59Z. Larger values are taken as garbage,
/// not as tokens that never expire.
const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// The rules for the time claims.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeRules {
    /// Allowed clock skew in seconds, applied in the token's favour to every time check.
    pub(crate) leeway: u64,
}

impl TimeRules {
    /// Checks that `exp` is present and still ahead, and that `nbf` and `iat`, when present, are not
    /// in the future, each within the leeway.
    pub(crate) fn check(self, claims: &Members<'_>, now: i64) -> Result<(), Error> {
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        let times = |claim| TimeCheck {
            now,
            claim,
            leeway: self.leeway,
        };

        // A fractional `exp` is rounded down and `nbf`/`iat` up, so rounding never extends a
        // token's life.
        let Some(exp) = numeric_date(claims, "exp", Rounding::Down)? else {
            return Err(super::missing("exp"));
        };
        // RFC 7519 4.1.4: the token is rejected on or after `exp`.
        if now >= exp.saturating_add(leeway) {
            let ago = now.saturating_sub(exp);
            return Err(Error::new(
                ErrorKind::Expired,
                format!("token expired {ago} s ago (leeway {leeway} s)"),
            )
            .with_times(times(exp)));
        }

        if let Some(nbf) = numeric_date(claims, "nbf", Rounding::Up)?
            && nbf > now.saturating_add(leeway)
        {
            let ahead = nbf.saturating_sub(now);
            return Err(Error::new(
                ErrorKind::NotYetValid,
                format!("token is not valid for another {ahead} s (leeway {leeway} s)"),
            )
            .with_times(times(nbf)));
        }

        // `auth_time` (OpenID Connect Core 1.0 section 2) is when the user signed in.
        if let Some(auth_time) = numeric_date(claims, "auth_time", Rounding::Up)?
            && auth_time > now.saturating_add(leeway)
        {
            let ahead = auth_time.saturating_sub(now);
            return Err(Error::new(
                ErrorKind::IssuedInFuture,
                format!("token auth_time is {ahead} s in the future (leeway {leeway} s)"),
            )
            .with_times(times(auth_time)));
        }

        if let Some(iat) = numeric_date(claims, "iat", Rounding::Up)?
            && iat > now.saturating_add(leeway)
        {
            let ahead = iat.saturating_sub(now);
            return Err(Error::new(
                ErrorKind::IssuedInFuture,
                format!("token was issued {ahead} s in the future (leeway {leeway} s)"),
            )
            .with_times(times(iat)));
        }

        Ok(())
    }
}

/// Reads `exp` and `nbf` of claims that passed [`TimeRules::check`], rounded as the check
/// rounds them.
pub(crate) fn expiry_and_not_before(claims: &Members<'_>) -> Option<(i64, Option<i64>)> {
    let exp = numeric_date(claims, "exp", Rounding::Down).ok()??;
    let nbf = numeric_date(claims, "nbf", Rounding::Up).ok()?;
    Some((exp, nbf))
}

#[derive(Clone, Copy)]
enum Rounding {
    Down,
    Up,
}

/// Reads a NumericDate (RFC 7519 section 2): a JSON integer or float of seconds since the epoch.
/// Absent is `None`; any other JSON type, a negative value or one past year 9999 is an error.
fn numeric_date(
    claims: &Members<'_>,
    name: &str,
    rounding: Rounding,
) -> Result<Option<i64>, Error> {
    let Some(raw) = claims.get(name) else {
        return Ok(None);
    };
    let invalid = || {
        Error::new(
            ErrorKind::InvalidClaimType,
            format!("claim \"{name}\" is not a number of seconds between 1970 and 9999"),
        )
    };

    // Most dates are plain integers, which need no JSON number parser.
    if let Ok(seconds) = raw.get().parse::<i64>() {
        if !(0..=MAX_NUMERIC_DATE).contains(&seconds) {
            return Err(invalid());
        }
        return Ok(Some(seconds));
    }
    let number: Number = serde_json::from_str(raw.get()).map_err(|_| invalid())?;
    let seconds = if let Some(seconds) = number.as_i64() {
        seconds
    } else {
        let Some(float) = number.as_f64().filter(|f| f.is_finite()) else {
            return Err(invalid());
        };
        let rounded = match rounding {
            Rounding::Down => float.floor(),
            Rounding::Up => float.ceil(),
        };
        if !(0.0..=MAX_NUMERIC_DATE as f64).contains(&rounded) {
            return Err(invalid());
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the value is whole and within 0..=MAX_NUMERIC_DATE"
        )]
        let whole = rounded as i64;
        whole
    };

    if !(0..=MAX_NUMERIC_DATE).contains(&seconds) {
        return Err(invalid());
    }
    Ok(Some(seconds))
}
