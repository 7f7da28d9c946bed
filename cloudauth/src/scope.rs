//! Scope and group requirements: "all of" or "any of" a list of names.

use std::fmt;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::error::{Error, ErrorKind};
use crate::token::json::{JsonStr, Members};

/// Whether a [`ScopeRequirement`] needs every name or one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ScopeMatch {
    /// Every listed name must be granted; the default.
    #[default]
    All,
    /// At least one listed name must be granted.
    Any,
}

/// The scopes (or groups, or permissions) a request must carry.
///
/// Names match exactly: `read:report` does not satisfy `read:reports`. An empty list requires
/// nothing. The claim that grants the names is chosen on the verifier: Cognito presets read
/// `cognito:groups`, Auth0 presets `permissions`, and any claim can be chosen, such as the
/// space-separated `scope`.
///
/// ```
/// use cloudauth::ScopeRequirement;
///
/// let admin = ScopeRequirement::all(["read:users", "write:users"]);
/// let reader = ScopeRequirement::any(["read:users", "admin"]);
/// assert_eq!(admin.names(), ["read:users", "write:users"]);
/// assert!(ScopeRequirement::all(Vec::<String>::new()).is_empty());
/// # let _ = reader;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopeRequirement {
    names: Arc<[String]>,
    mode: ScopeMatch,
}

impl ScopeRequirement {
    /// Requires every name in `names`.
    pub fn all<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(names, ScopeMatch::All)
    }

    /// Requires at least one name in `names`.
    pub fn any<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(names, ScopeMatch::Any)
    }

    /// Creates a requirement with an explicit mode.
    pub fn new<I, S>(names: I, mode: ScopeMatch) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            names: names.into_iter().map(Into::into).collect(),
            mode,
        }
    }

    /// Returns the required names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Returns whether all names or any of them are required.
    pub fn mode(&self) -> ScopeMatch {
        self.mode
    }

    /// Returns `true` when the requirement requires nothing.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Returns `true` when the `granted` names satisfy the requirement.
    pub fn is_satisfied_by<S: AsRef<str>>(&self, granted: &[S]) -> bool {
        if self.names.is_empty() {
            return true;
        }
        let has = |name: &String| granted.iter().any(|g| g.as_ref() == name);
        match self.mode {
            ScopeMatch::All => self.names.iter().all(has),
            ScopeMatch::Any => self.names.iter().any(has),
        }
    }

    /// Checks the names granted by `claim` in claims that were already parsed.
    #[cfg(feature = "axum")]
    pub(crate) fn check_json(&self, claims: &serde_json::Value, claim: &str) -> Result<(), Error> {
        let granted: Vec<&str> = match claims.get(claim) {
            Some(serde_json::Value::String(text)) => text.split_ascii_whitespace().collect(),
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(serde_json::Value::as_str).collect()
            }
            _ => Vec::new(),
        };
        if self.is_satisfied_by(&granted) {
            return Ok(());
        }
        Err(self.insufficient())
    }

    /// Returns the error for a token that lacks these scopes.
    pub(crate) fn insufficient(&self) -> Error {
        Error::new(ErrorKind::InsufficientScope, self.to_string())
            .with_required_scopes(self.clone())
    }

    /// Checks the names granted by `claim` in `claims`.
    pub(crate) fn check(&self, claims: &Members<'_>, claim: &str) -> Result<(), Error> {
        if self.names.is_empty() {
            return Ok(());
        }
        let granted = granted_by(claims, claim);
        if self.is_satisfied_by(&granted) {
            return Ok(());
        }
        Err(Error::new(ErrorKind::InsufficientScope, self.to_string())
            .with_required_scopes(self.clone()))
    }
}

impl fmt::Display for ScopeRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            ScopeMatch::All => "all of",
            ScopeMatch::Any => "one of",
        };
        write!(
            f,
            "insufficient scope, requires {mode} \"{}\"",
            self.names.join(" ")
        )
    }
}

/// Returns the names that `claim` grants in `claims`.
pub(crate) fn granted_by(claims: &Members<'_>, claim: &str) -> Vec<String> {
    claims.get(claim).map(granted_names).unwrap_or_default()
}

/// Reads the names a scope claim grants: a space-separated string or an array of strings.
/// Any other JSON type grants nothing, and non-string array items are ignored.
fn granted_names(raw: &RawValue) -> Vec<String> {
    if let Some(text) = JsonStr::from_raw(raw) {
        return text.split_ascii_whitespace().map(str::to_owned).collect();
    }
    let items: Vec<&RawValue> = serde_json::from_str(raw.get()).unwrap_or_default();
    items
        .into_iter()
        .filter_map(JsonStr::from_raw)
        .map(|name| name.into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(requirement: &ScopeRequirement, payload: &str) -> Option<ErrorKind> {
        let claims = Members::parse(payload.as_bytes()).expect("test payload is an object");
        requirement.check(&claims, "scope").err().map(|e| e.kind())
    }

    #[test]
    fn scope_claim_forms() {
        let all = ScopeRequirement::all(["read:reports", "write:reports"]);
        let any = ScopeRequirement::any(["read:reports", "admin"]);
        let denied = Some(ErrorKind::InsufficientScope);
        let cases = [
            (
                "all, string with both",
                &all,
                r#"{"scope":"read:reports write:reports"}"#,
                None,
            ),
            (
                "all, array with both",
                &all,
                r#"{"scope":["write:reports","read:reports"]}"#,
                None,
            ),
            (
                "all, one missing",
                &all,
                r#"{"scope":"read:reports"}"#,
                denied,
            ),
            ("any, one present", &any, r#"{"scope":["admin"]}"#, None),
            (
                "any, none present",
                &any,
                r#"{"scope":"write:reports"}"#,
                denied,
            ),
            (
                "prefix does not match",
                &any,
                r#"{"scope":"read:report"}"#,
                denied,
            ),
            (
                "longer name does not match",
                &any,
                r#"{"scope":"read:reportsx"}"#,
                denied,
            ),
            ("claim missing", &any, r#"{}"#, denied),
            ("claim is a number", &any, r#"{"scope":5}"#, denied),
            ("claim is null", &any, r#"{"scope":null}"#, denied),
            (
                "array with non-strings",
                &any,
                r#"{"scope":[1,"admin"]}"#,
                None,
            ),
            (
                "extra spaces",
                &all,
                r#"{"scope":"  read:reports   write:reports "}"#,
                None,
            ),
        ];
        for (name, requirement, payload, expected) in cases {
            assert_eq!(check(requirement, payload), expected, "{name}");
        }
    }

    #[test]
    fn empty_requirement_requires_nothing() {
        let empty = ScopeRequirement::any(Vec::<String>::new());
        assert_eq!(check(&empty, "{}"), None);
    }

    #[test]
    fn failure_carries_required_names() {
        let requirement = ScopeRequirement::all(["read:users"]);
        let claims = Members::parse(br#"{"scope":"write:users"}"#).expect("object");

        let error = requirement
            .check(&claims, "scope")
            .expect_err("missing scope");
        assert_eq!(error.required_scopes(), Some(&requirement));
        assert_eq!(error.kind().bearer_error_code(), Some("insufficient_scope"));
        assert_eq!(
            error.to_string(),
            "insufficient scope, requires all of \"read:users\""
        );
    }
}
