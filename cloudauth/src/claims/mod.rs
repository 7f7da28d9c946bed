//! Checks of the registered claims (RFC 7519 section 4.1) and of configured claim values.

mod time;
mod typed;

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::value::RawValue;

use crate::error::{Error, ErrorKind};
use crate::token::json::{JsonStr, Members};

pub(crate) use time::{TimeRules, expiry_and_not_before};
pub(crate) use typed::from_members;

/// A claim that must be a string equal to one of a set of values.
#[derive(Debug, Clone)]
pub(crate) struct RequiredClaim {
    /// The claim name, followed by member names for a claim inside an object, such as
    /// `firebase` then `tenant`.
    pub(crate) path: Vec<String>,
    pub(crate) values: Vec<String>,
}

impl RequiredClaim {
    /// Returns the name of the top-level claim.
    pub(crate) fn claim_name(&self) -> &str {
        self.path.first().map_or("", String::as_str)
    }

    /// Returns the path joined with dots, for messages.
    pub(crate) fn display_name(&self) -> String {
        self.path.join(".")
    }
}

/// Everything the claims of a token are checked against.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    pub(crate) issuers: Vec<String>,
    /// `None` when the audience is deliberately not checked.
    pub(crate) audiences: Option<Vec<String>>,
    pub(crate) time: TimeRules,
    pub(crate) required: Vec<RequiredClaim>,
    /// When set, `sub` must be a non-empty string of at most this many characters.
    pub(crate) subject_max_chars: Option<usize>,
}

impl ClaimRules {
    /// Checks `claims` at time `now`, in seconds since the Unix epoch.
    pub(crate) fn check(&self, claims: &Members<'_>, now: i64) -> Result<(), Error> {
        self.check_issuer(claims)?;
        // A required claim that is present with another value, such as `token_use`, is checked
        // before the audience, so a token of the other kind is reported as such rather than as
        // a missing `aud`. Absent required claims are reported after the audience.
        let mut absent = None;
        for rule in &self.required {
            match claims.get(rule.claim_name()) {
                Some(raw) => check_required(raw, rule)?,
                None => {
                    absent.get_or_insert(rule);
                }
            }
        }
        self.check_audience(claims)?;
        self.time.check(claims, now)?;
        if let Some(rule) = absent {
            return Err(missing(&rule.display_name()));
        }
        if let Some(max_chars) = self.subject_max_chars {
            check_subject(claims, max_chars)?;
        }
        Ok(())
    }

    fn check_issuer(&self, claims: &Members<'_>) -> Result<(), Error> {
        let issuer = required_string(claims, "iss")?;
        if self.issuers.iter().any(|accepted| *accepted == issuer) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidIssuer,
            format!("invalid issuer, expected {}", one_of(&self.issuers)),
        ))
    }

    fn check_audience(&self, claims: &Members<'_>) -> Result<(), Error> {
        let Some(accepted) = &self.audiences else {
            return Ok(());
        };
        let Some(raw) = claims.get("aud") else {
            return Err(missing("aud"));
        };

        let found = match JsonStr::from_raw(raw) {
            Some(audience) => accepted.iter().any(|a| *a == audience),
            None => audience_array(raw)?
                .iter()
                .any(|audience| accepted.iter().any(|a| a == audience)),
        };
        if found {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidAudience,
            format!("invalid audience, expected {}", one_of(accepted)),
        ))
    }
}

fn check_subject(claims: &Members<'_>, max_chars: usize) -> Result<(), Error> {
    let subject = required_string(claims, "sub")?;
    let chars = subject.chars().count();
    if chars == 0 || chars > max_chars {
        return Err(Error::new(
            ErrorKind::InvalidClaimValue,
            format!("claim \"sub\" must have 1 to {max_chars} characters"),
        ));
    }
    Ok(())
}

/// Checks the value `raw` of the top-level claim that `rule` starts at.
fn check_required(raw: &RawValue, rule: &RequiredClaim) -> Result<(), Error> {
    let accepted = match rule.path.as_slice() {
        [name] => {
            let value = string_value(raw, name)?;
            rule.values.iter().any(|accepted| *accepted == value)
        }
        [name, members @ ..] => {
            let value = nested_string(raw, name, members, &rule.display_name())?;
            rule.values.contains(&value)
        }
        [] => true,
    };
    if accepted {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidClaimValue,
        format!(
            "invalid claim \"{}\", expected {}",
            rule.display_name(),
            one_of(&rule.values)
        ),
    ))
}

/// Reads the string at `members` inside `raw`, the value of the object claim `name`.
fn nested_string(
    raw: &RawValue,
    name: &str,
    members: &[String],
    display_name: &str,
) -> Result<String, Error> {
    let mut value: serde_json::Value = serde_json::from_str(raw.get()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidClaimType,
            format!("claim \"{name}\" is not JSON"),
        )
    })?;
    for member in members {
        value = match value {
            serde_json::Value::Object(mut object) => match object.remove(member) {
                Some(inner) => inner,
                None => return Err(missing(display_name)),
            },
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidClaimType,
                    format!("claim \"{display_name}\" is not inside an object"),
                ));
            }
        };
    }
    match value {
        serde_json::Value::String(text) => Ok(text),
        _ => Err(Error::new(
            ErrorKind::InvalidClaimType,
            format!("claim \"{display_name}\" is not a string"),
        )),
    }
}

fn required_string<'a>(claims: &Members<'a>, name: &str) -> Result<Cow<'a, str>, Error> {
    let Some(raw) = claims.get(name) else {
        return Err(missing(name));
    };
    string_value(raw, name)
}

/// Reads `raw`, the value of claim `name`, as a string.
fn string_value<'a>(raw: &'a RawValue, name: &str) -> Result<Cow<'a, str>, Error> {
    JsonStr::from_raw(raw).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidClaimType,
            format!("claim \"{name}\" is not a string"),
        )
    })
}

fn audience_array(raw: &RawValue) -> Result<Vec<Cow<'_, str>>, Error> {
    let items: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|_| audience_type())?;
    items
        .into_iter()
        .map(|item| JsonStr::from_raw(item).ok_or_else(audience_type))
        .collect()
}

fn audience_type() -> Error {
    Error::new(
        ErrorKind::InvalidClaimType,
        "claim \"aud\" is neither a string nor an array of strings",
    )
}

pub(crate) fn missing(name: &str) -> Error {
    Error::new(
        ErrorKind::MissingClaim,
        format!("missing required claim \"{name}\""),
    )
}

/// Formats accepted values as `"a"` or `one of "a", "b"`.
fn one_of(values: &[String]) -> String {
    let mut text = String::new();
    if values.len() > 1 {
        text.push_str("one of ");
    }
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            text.push_str(", ");
        }
        let _ = write!(text, "\"{}\"", value.escape_debug());
    }
    text
}
