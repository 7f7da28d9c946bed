//! Scope and group requirements: "all of" or "any of" a list of names.

use std::fmt;
use std::sync::Arc;

use serde::Deserializer as _;
use serde::de::{SeqAccess, Visitor};
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
        let satisfied = claims
            .get(claim)
            .is_some_and(|raw| self.is_satisfied_by_claim(raw));
        if satisfied {
            return Ok(());
        }
        Err(self.insufficient())
    }

    /// Checks the names that the unparsed scope claim `raw` grants, without collecting them.
    fn is_satisfied_by_claim(&self, raw: &RawValue) -> bool {
        // Each required name has one bit. Longer lists, which no real route has, take the
        // general path.
        if self.names.len() > MATCHED_BITS {
            return self.is_satisfied_by(&granted_names(raw));
        }

        let mut matched: u64 = 0;
        for_each_granted(raw, |granted| {
            for (index, name) in self.names.iter().enumerate() {
                if name == granted {
                    matched |= 1 << index;
                }
            }
        });
        match self.mode {
            ScopeMatch::All => matched == u64::MAX >> (MATCHED_BITS - self.names.len()),
            ScopeMatch::Any => matched != 0,
        }
    }
}

/// The number of required names that [`ScopeRequirement::is_satisfied_by_claim`] tracks in
/// one `u64`.
const MATCHED_BITS: usize = 64;

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

/// Scope requirements that a request must meet beside its verifier's own: those of a layer and
/// of an extractor.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ExtraScopes<'a> {
    /// The requirements a layer adds.
    pub(crate) layer: &'a [ScopeRequirement],
    /// The requirement an extractor adds.
    pub(crate) extractor: Option<&'a ScopeRequirement>,
}

impl<'a> ExtraScopes<'a> {
    /// Returns every requirement, the layer's first.
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a ScopeRequirement> {
        self.layer.iter().chain(self.extractor)
    }
}

/// Returns the names that `claim` grants in `claims`.
pub(crate) fn granted_by(claims: &Members<'_>, claim: &str) -> Vec<String> {
    claims.get(claim).map(granted_names).unwrap_or_default()
}

fn granted_names(raw: &RawValue) -> Vec<String> {
    let mut names = Vec::new();
    for_each_granted(raw, |name| names.push(name.to_owned()));
    names
}

/// Calls `grant` with each name a scope claim grants: the words of a space-separated string
/// or the strings of an array. Any other JSON type grants nothing, and non-string array items
/// are ignored.
fn for_each_granted(raw: &RawValue, mut grant: impl FnMut(&str)) {
    if let Some(text) = JsonStr::from_raw(raw) {
        text.split_ascii_whitespace().for_each(grant);
        return;
    }
    if raw.get().starts_with('[') {
        let mut items = serde_json::Deserializer::from_str(raw.get());
        // `raw` passed serde_json when the members were split, so no error is expected here,
        // and an error would grant nothing.
        let _ = items.deserialize_seq(GrantedItems(&mut grant));
    }
}

/// Reads the items of a JSON array one at a time and passes the strings on.
struct GrantedItems<'g, F>(&'g mut F);

impl<'de, F: FnMut(&str)> Visitor<'de> for GrantedItems<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of names")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while let Some(item) = items.next_element::<&'de RawValue>()? {
            if let Some(name) = JsonStr::from_raw(item) {
                (self.0)(&name);
            }
        }
        Ok(())
    }
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
    fn repeated_and_many_required_names() {
        let repeated = ScopeRequirement::all(["admin", "admin"]);
        assert_eq!(check(&repeated, r#"{"scope":"admin"}"#), None);

        // Around the 64 names that are tracked in one word, and past them.
        for count in [1, 63, 64, 65, 70] {
            let names: Vec<String> = (0..count).map(|index| format!("s{index}")).collect();
            let all = ScopeRequirement::all(names.clone());
            let every_name = format!(r#"{{"scope":"{}"}}"#, names.join(" "));
            assert_eq!(check(&all, &every_name), None, "{count} names");

            let last_missing = format!(
                r#"{{"scope":{}}}"#,
                serde_json::json!(names.get(..count - 1))
            );
            let denied = Some(ErrorKind::InsufficientScope);
            assert_eq!(check(&all, &last_missing), denied, "{count} names");
            let any_expected = if count == 1 { denied } else { None };
            assert_eq!(
                check(&ScopeRequirement::any(names), &last_missing),
                any_expected,
                "{count} names"
            );
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
