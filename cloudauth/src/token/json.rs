//! JSON objects read member by member, with duplicate member names rejected.
//!
//! serde_json keeps the last of two members with the same name. RFC 7515 section 5.2 lets a
//! JWS parser either reject such input or keep the last member. cloudauth rejects it, so that no
//! two components can disagree about which `sub` or `alg` a token carries.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Above this many members, duplicates are found through a hash set instead of pairwise.
const PAIRWISE_LIMIT: usize = 16;

/// Room for the members of a typical token payload, so parsing one allocates once.
const INITIAL_CAPACITY: usize = 16;

/// The members of one JSON object, in document order, with their values left unparsed.
pub(crate) struct Members<'a> {
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Members<'a> {
    /// Parses `json` as one JSON object.
    ///
    /// Only the names of this object are checked for duplicates, not those of nested objects,
    /// whose values are read by the caller's own types.
    ///
    /// # Errors
    ///
    /// Fails when `json` is not a single JSON object or names a member twice.
    pub(crate) fn parse(json: &'a [u8]) -> Result<Self, ObjectError> {
        match std::str::from_utf8(json) {
            Ok(text) => Self::parse_str(text),
            // serde_json's byte reader reports where the input stops being UTF-8.
            Err(_) => Err(serde_json::from_slice::<Self>(json)
                .err()
                .map_or(ObjectError::NotUtf8, ObjectError::json)),
        }
    }

    /// Parses `json` as one JSON object, like [`Members::parse`]. Reading from a `str` spares
    /// serde_json a UTF-8 check of every string and raw value.
    pub(crate) fn parse_str(json: &'a str) -> Result<Self, ObjectError> {
        let members: Self = serde_json::from_str(json).map_err(ObjectError::json)?;
        match members.duplicate() {
            Some(name) => Err(ObjectError::Duplicate(Quoted(name).to_string())),
            None => Ok(members),
        }
    }

    /// Returns the unparsed value of the member called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.entries
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| *value)
    }

    /// Returns the member names, in document order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(key, _)| key.as_ref())
    }

    /// Returns the members, in document order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_ref(), *value))
    }

    /// Returns the number of members.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn duplicate(&self) -> Option<&str> {
        if self.entries.len() <= PAIRWISE_LIMIT {
            // Each name sets one bit, chosen by its length and its first and last bytes. Names are
            // only compared when their bit was set before, which is rare for distinct names.
            let mut seen: u64 = 0;
            for (index, (name, _)) in self.entries.iter().enumerate() {
                let bit = 1 << (name_bits(name) % 64);
                if seen & bit != 0 {
                    let mut earlier = self.entries.iter().take(index);
                    if earlier.any(|(other, _)| other == name) {
                        return Some(name);
                    }
                }
                seen |= bit;
            }
            return None;
        }

        let mut seen = HashSet::with_capacity(self.entries.len());
        self.names().find(|name| !seen.insert(*name))
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(INITIAL_CAPACITY));
        while let Some(JsonStr(name)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            entries.push((name, value));
        }
        Ok(Members { entries })
    }
}

/// Mixes the length and the first and last bytes of `name`. Equal names give equal results.
fn name_bits(name: &str) -> usize {
    let bytes = name.as_bytes();
    let first = usize::from(bytes.first().copied().unwrap_or(0));
    let last = usize::from(bytes.last().copied().unwrap_or(0));
    name.len().wrapping_mul(31) ^ first ^ (last << 2)
}

/// The reason a document is not a JSON object with unique member names.
#[derive(Debug)]
pub(crate) enum ObjectError {
    /// Not JSON, or JSON of another type than object.
    Json(JsonError),
    /// A member name that occurs twice, quoted and shortened.
    Duplicate(String),
    /// Bytes that are not UTF-8.
    NotUtf8,
}

impl ObjectError {
    fn json(error: serde_json::Error) -> Self {
        Self::Json(JsonError::from(error))
    }
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(error) => error.fmt(f),
            Self::Duplicate(name) => write!(f, "duplicate member name {name}"),
            Self::NotUtf8 => f.write_str("not UTF-8"),
        }
    }
}

impl std::error::Error for ObjectError {}

/// A serde_json error reduced to its category and position.
///
/// serde_json's messages quote values from the input, such as a claim that has the wrong type.
/// The input is a token, so its text must not reach error messages or logs.
#[derive(Debug)]
pub(crate) struct JsonError {
    category: serde_json::error::Category,
    line: usize,
    column: usize,
    /// The name of a missing field of the caller's type, which comes from that type and not
    /// from the input.
    missing_field: Option<String>,
    /// The member whose value failed, quoted and shortened, when only that value was read.
    member: Option<String>,
}

impl JsonError {
    /// Records that the error lies in the value of member `name`, which was read on its own.
    /// The line and column then count from the start of that value, so they are left out.
    pub(crate) fn in_member(mut self, name: &str) -> Self {
        self.member = Some(Quoted(name).to_string());
        self.line = 0;
        self
    }
}

impl From<serde_json::Error> for JsonError {
    fn from(error: serde_json::Error) -> Self {
        let message = error.to_string();
        let missing_field = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_owned());
        Self {
            category: error.classify(),
            line: error.line(),
            column: error.column(),
            missing_field,
            member: None,
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use serde_json::error::Category;
        if let Some(member) = &self.member {
            write!(f, "claim {member}: ")?;
        }
        if let Some(field) = &self.missing_field {
            return write!(f, "missing field \"{field}\"");
        }
        let what = match self.category {
            Category::Io => "read error",
            Category::Syntax => "invalid JSON",
            Category::Data => "unexpected JSON type or value",
            Category::Eof => "JSON ends early",
        };
        if self.line == 0 {
            return f.write_str(what);
        }
        write!(f, "{what} at line {}, column {}", self.line, self.column)
    }
}

impl std::error::Error for JsonError {}

/// A JSON string that borrows from the input unless it contains escapes.
pub(crate) struct JsonStr<'a>(pub(crate) Cow<'a, str>);

impl<'a> JsonStr<'a> {
    /// Reads `raw` as a JSON string; `None` when it is another JSON type.
    pub(crate) fn from_raw(raw: &'a RawValue) -> Option<Cow<'a, str>> {
        // `raw` is valid JSON, so a quoted text without backslashes is the string itself.
        let text = raw.get();
        if !text.starts_with('"') {
            return None;
        }
        if let Some(inner) = text
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            && !inner.contains('\\')
        {
            return Some(Cow::Borrowed(inner));
        }
        serde_json::from_str::<JsonStr<'a>>(text)
            .ok()
            .map(|JsonStr(text)| text)
    }
}

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(JsonStrVisitor)
    }
}

struct JsonStrVisitor;

impl<'de> Visitor<'de> for JsonStrVisitor {
    type Value = JsonStr<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(JsonStr(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(JsonStr(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(JsonStr(Cow::Owned(text)))
    }
}

/// Displays a name from untrusted input quoted and cut to a short prefix, with control
/// characters escaped, so it is safe in an error message or a log line.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

/// The number of characters of untrusted text that [`Quoted`] shows.
const QUOTED_MAX_CHARS: usize = 40;

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars().take(QUOTED_MAX_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if self.0.chars().nth(QUOTED_MAX_CHARS).is_some() {
            f.write_str("...")?;
        }
        f.write_str("\"")
    }
}
