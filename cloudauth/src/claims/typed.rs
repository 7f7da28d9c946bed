//! Builds the caller's claims type from members that the checks already read.
//!
//! The checks split the payload into members with their values left unparsed. A struct or a
//! map is then built from those members. Each value that the type requests is parsed once, and
//! members that the type ignores are never read again. Any other shape is read from the whole
//! payload by serde_json, which gives the same result as reading it without the split.

use std::cell::Cell;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::token::json::Members;

/// The reason claims do not fit the caller's type.
#[derive(Debug)]
pub(crate) struct TypeMismatch {
    /// The error from serde_json or from the caller's type.
    pub(crate) source: serde_json::Error,
    /// The member whose value did not fit, when the mismatch lies inside one value.
    pub(crate) member: Option<String>,
}

/// Deserializes `T` from `members`, the members of `payload`.
pub(crate) fn from_members<T: DeserializeOwned>(
    members: &Members<'_>,
    payload: &str,
) -> Result<T, TypeMismatch> {
    let current = Cell::new(None);
    let claims = ClaimsDeserializer {
        members,
        payload,
        current: &current,
    };

    T::deserialize(claims).map_err(|source| TypeMismatch {
        source,
        member: current
            .get()
            .and_then(|index| members.iter().nth(index))
            .map(|(name, _)| name.to_owned()),
    })
}

/// A deserializer over the members of a payload.
struct ClaimsDeserializer<'m, 'a> {
    members: &'m Members<'a>,
    payload: &'a str,
    /// The index of the member whose value is being read, kept for error messages.
    current: &'m Cell<Option<usize>>,
}

/// Requests for shapes other than a map or a struct go to serde_json with the whole payload.
macro_rules! read_whole_payload {
    ($($method:ident($($argument:ident: $type:ty),*))*) => {
        $(
            fn $method<V: Visitor<'de>>(
                self,
                $($argument: $type,)*
                visitor: V,
            ) -> Result<V::Value, Self::Error> {
                let payload: &'de str = self.payload;
                serde_json::Deserializer::from_str(payload).$method($($argument,)* visitor)
            }
        )*
    };
}

impl<'de, 'm: 'de, 'a: 'm> Deserializer<'de> for ClaimsDeserializer<'m, 'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let entries = self
            .members
            .iter()
            .map(|(name, raw): (&'m str, &'m RawValue)| (name, raw));
        let mut map = ClaimsMap {
            entries: entries.enumerate(),
            value: None,
            current: self.current,
        };
        let value = visitor.visit_map(&mut map)?;

        // serde_json fails when a visitor leaves members unread, and so does this. A visitor
        // that stops early would otherwise return claims other than the checked ones:
        // `serde_json::Value` does so for a first member named after serde_json's private
        // raw-value marker, and builds itself from that member's text alone.
        if map.value.is_some() || map.entries.next().is_some() {
            return Err(de::Error::custom(
                "the claims type did not read every claim",
            ));
        }
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        // The payload is an object, never `null`.
        visitor.visit_some(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    read_whole_payload! {
        deserialize_bool() deserialize_i8() deserialize_i16() deserialize_i32()
        deserialize_i64() deserialize_i128() deserialize_u8() deserialize_u16()
        deserialize_u32() deserialize_u64() deserialize_u128() deserialize_f32()
        deserialize_f64() deserialize_char() deserialize_str() deserialize_string()
        deserialize_bytes() deserialize_byte_buf() deserialize_unit() deserialize_seq()
        deserialize_identifier()
        deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str)
        deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
    }
}

/// The members, handed to the caller's type one name and one value at a time.
struct ClaimsMap<'m, I> {
    entries: I,
    value: Option<(usize, &'m RawValue)>,
    current: &'m Cell<Option<usize>>,
}

impl<'de, 'm: 'de, I> MapAccess<'de> for ClaimsMap<'m, I>
where
    I: Iterator<Item = (usize, (&'m str, &'m RawValue))>,
{
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((index, (name, value))) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((index, value));
        seed.deserialize(BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let Some((index, raw)) = self.value.take() else {
            return Err(de::Error::custom("a value was requested before its name"));
        };

        self.current.set(Some(index));
        let value = seed.deserialize(&mut serde_json::Deserializer::from_str(raw.get()))?;
        self.current.set(None);
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.entries.size_hint().1
    }
}
