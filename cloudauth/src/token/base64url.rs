//! Strict decoding of unpadded base64url (RFC 4648 section 5), the encoding of token segments.
//!
//! Padding, characters outside the alphabet, a length of one more than a multiple of four and
//! non-zero bits after the last byte are all rejected. Each byte string thus has exactly one
//! accepted encoding.

use std::fmt;

/// The marker for a character outside the alphabet. It sets bits above the 24 that four
/// characters fill, so one comparison after combining them finds any invalid character.
const INVALID: u32 = 0xFF00_0000;

/// The value of each alphabet character, placed for its position in a group of four.
const TABLES: [[u32; 256]; 4] = [table(18), table(12), table(6), table(0)];

#[expect(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "the index runs over 0..256, the length of the table and the range of a byte"
)]
const fn table(shift: u32) -> [u32; 256] {
    let mut table = [INVALID; 256];
    let mut index = 0;
    while index < 256 {
        let value = match index as u8 {
            byte @ b'A'..=b'Z' => Some(byte - b'A'),
            byte @ b'a'..=b'z' => Some(byte - b'a' + 26),
            byte @ b'0'..=b'9' => Some(byte - b'0' + 52),
            b'-' => Some(62),
            b'_' => Some(63),
            _ => None,
        };
        if let Some(value) = value {
            table[index] = (value as u32) << shift;
        }
        index += 1;
    }
    table
}

/// The input is not unpadded, canonical base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidBase64;

impl fmt::Display for InvalidBase64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid unpadded base64url")
    }
}

impl std::error::Error for InvalidBase64 {}

/// Returns the number of bytes that `length` characters decode to, or `None` for a length
/// that no encoding has.
pub(crate) fn decoded_len(length: usize) -> Option<usize> {
    match length % 4 {
        1 => None,
        rest => Some(length / 4 * 3 + rest.saturating_sub(1)),
    }
}

/// Decodes `text` into a new vector.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, InvalidBase64> {
    let mut bytes = vec![0; decoded_len(text.len()).ok_or(InvalidBase64)?];
    decode_to_slice(text, &mut bytes)?;
    Ok(bytes)
}

/// Decodes `text` into the start of `out` and returns the number of bytes written.
pub(crate) fn decode_to_slice(text: &[u8], out: &mut [u8]) -> Result<usize, InvalidBase64> {
    let length = decoded_len(text.len()).ok_or(InvalidBase64)?;
    let out = out.get_mut(..length).ok_or(InvalidBase64)?;

    let groups = text.chunks_exact(4);
    let tail = groups.remainder();
    let mut outputs = out.chunks_exact_mut(3);
    // Invalid characters are collected and checked once, which keeps branches out of the loop.
    let mut seen = 0;
    for (group, output) in groups.zip(&mut outputs) {
        let bits = combine(group);
        seen |= bits;
        let [_, first, second, third] = bits.to_be_bytes();
        output.copy_from_slice(&[first, second, third]);
    }
    if seen & INVALID != 0 {
        return Err(InvalidBase64);
    }

    // Two or three characters remain for one or two bytes, and the bits past those bytes must
    // be zero.
    let last = outputs.into_remainder();
    if !tail.is_empty() {
        let bits = combine(tail);
        let unused = if tail.len() == 2 { 0xFFFF } else { 0xFF };
        if bits & INVALID != 0 || bits & unused != 0 {
            return Err(InvalidBase64);
        }
        let [_, first, second, _] = bits.to_be_bytes();
        let bytes = [first, second];
        last.copy_from_slice(bytes.get(..last.len()).ok_or(InvalidBase64)?);
    }
    Ok(length)
}

/// Combines up to four characters into 24 bits, with [`INVALID`] bits for a bad character.
fn combine(group: &[u8]) -> u32 {
    group.iter().zip(&TABLES).fold(0, |bits, (&byte, table)| {
        bits | table.get(usize::from(byte)).copied().unwrap_or(INVALID)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_lengths_and_invalid_input() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("QQ", Some(b"A")),
            ("QUI", Some(b"AB")),
            ("QUJD", Some(b"ABC")),
            ("QUJDRA", Some(b"ABCD")),
            ("-_-_", Some(&[0xFB, 0xFF, 0xBF])),
            ("Q", None),
            ("QR", None),
            ("QUJ", None),
            ("QQ==", None),
            ("QU+D", None),
            ("QU/D", None),
            ("QU D", None),
            ("QUJD.", None),
        ];
        for (text, expected) in cases {
            let decoded = decode(text.as_bytes()).ok();
            assert_eq!(decoded.as_deref(), *expected, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_base64_crate(
            text in "[A-Za-z0-9_=+/. -]{0,40}",
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            use base64::Engine as _;
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;

            let expected = URL_SAFE_NO_PAD.decode(&text).ok();
            proptest::prop_assert_eq!(decode(text.as_bytes()).ok(), expected, "{:?}", text);

            let encoded = URL_SAFE_NO_PAD.encode(&bytes);
            proptest::prop_assert_eq!(decode(encoded.as_bytes()), Ok(bytes));
        }
    }

    #[test]
    fn short_output_is_an_error() {
        let mut out = [0; 2];
        assert_eq!(decode_to_slice(b"QUJD", &mut out), Err(InvalidBase64));
        assert_eq!(decode_to_slice(b"QUI", &mut out), Ok(2));
        assert_eq!(&out, b"AB");
    }
}
