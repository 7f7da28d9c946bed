//! Parsing of compact JWS tokens, done before any cryptography.

mod base64url;
pub(crate) mod json;

use std::borrow::Cow;

use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};
use json::{JsonStr, Members, ObjectError};

/// The largest signature any supported algorithm produces: RSA with an 8192-bit modulus.
const MAX_SIGNATURE_LEN: usize = 1024;

/// The length of [`MAX_SIGNATURE_LEN`] bytes in unpadded base64url.
const MAX_SIGNATURE_SEGMENT_LEN: usize = (MAX_SIGNATURE_LEN * 4).div_ceil(3);

/// The size of a [`SignatureBuffer`].
pub(crate) const SIGNATURE_BUFFER_LEN: usize = MAX_SIGNATURE_LEN;

/// A stack buffer for a decoded signature.
pub(crate) type SignatureBuffer = [u8; SIGNATURE_BUFFER_LEN];

/// A compact JWS split into its segments; nothing is decoded yet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segments<'t> {
    /// `header.payload` as sent, the input of the signature.
    pub(crate) signing_input: &'t [u8],
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
}

/// The protected header members that verification uses.
#[derive(Debug)]
pub(crate) struct Header<'h> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'h, str>>,
}

/// Splits `token` into its three segments after checking its length.
///
/// # Errors
///
/// [`ErrorKind::TokenTooLong`] above `max_len` bytes, [`ErrorKind::MalformedToken`] unless there
/// are exactly three segments and the first two are non-empty.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Segments<'_>, Error> {
    if token.len() > max_len {
        return Err(Error::new(
            ErrorKind::TokenTooLong,
            format!("token is longer than the maximum of {max_len} bytes"),
        ));
    }

    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::malformed(
            "token must have three segments separated by dots",
        ));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(Error::malformed("token has an empty header or payload"));
    }

    let signing_len = header.len() + 1 + payload.len();
    let signing_input = token.as_bytes().get(..signing_len).unwrap_or_default();
    Ok(Segments {
        signing_input,
        header,
        payload,
        signature,
    })
}

/// Decodes one segment as unpadded base64url text. Padding, non-zero trailing bits and bytes
/// that are not UTF-8 are rejected.
pub(crate) fn decode_segment(segment: &str, name: &'static str) -> Result<String, Error> {
    let bytes = base64url::decode(segment.as_bytes()).map_err(|source| {
        Error::malformed(format!("{name} is not base64url")).with_source(source)
    })?;
    String::from_utf8(bytes).map_err(|_| Error::malformed(format!("{name} is not UTF-8 text")))
}

/// The size of a [`HeaderBuffer`]: room for the decoded form of [`MAX_STACK_HEADER_LEN`]
/// characters.
pub(crate) const HEADER_BUFFER_LEN: usize = 384;

/// The maximum length of a header segment that [`decode_header`] decodes on the stack. Longer headers,
/// such as those that carry a certificate chain, are decoded onto the heap.
const MAX_STACK_HEADER_LEN: usize = HEADER_BUFFER_LEN / 3 * 4;

/// A stack buffer for a decoded header.
pub(crate) type HeaderBuffer = [u8; HEADER_BUFFER_LEN];

/// Decodes the header segment like [`decode_segment`], into `buffer` when it fits.
pub(crate) fn decode_header<'b>(
    segment: &str,
    buffer: &'b mut HeaderBuffer,
) -> Result<Cow<'b, str>, Error> {
    const NAME: &str = "token header";
    if segment.len() > MAX_STACK_HEADER_LEN {
        return decode_segment(segment, NAME).map(Cow::Owned);
    }

    let length = base64url::decode_to_slice(segment.as_bytes(), buffer).map_err(|source| {
        Error::malformed(format!("{NAME} is not base64url")).with_source(source)
    })?;
    let bytes = buffer.get(..length).unwrap_or_default();
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|_| Error::malformed(format!("{NAME} is not UTF-8 text")))
}

/// Decodes the signature into `buffer` and returns its length.
pub(crate) fn decode_signature(
    segment: &str,
    buffer: &mut SignatureBuffer,
) -> Result<usize, Error> {
    if segment.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidSignature,
            "token has no signature",
        ));
    }
    if segment.len() > MAX_SIGNATURE_SEGMENT_LEN {
        return Err(Error::new(
            ErrorKind::InvalidSignature,
            "signature is too long",
        ));
    }
    base64url::decode_to_slice(segment.as_bytes(), buffer)
        .map_err(|source| Error::malformed("signature is not base64url").with_source(source))
}

/// Parses the decoded protected header.
///
/// # Errors
///
/// [`ErrorKind::MalformedToken`] for anything but a JSON object without duplicate members, with a
/// string `alg` and, when present, a string `kid`; [`ErrorKind::DisallowedAlgorithm`] for `none`,
/// HMAC and unknown algorithms; [`ErrorKind::CriticalHeader`] when `crit` is present. The
/// members `jwk`, `jku`, `x5u` and `x5c` are ignored: keys never come from the token.
pub(crate) fn parse_header(json: &str) -> Result<Header<'_>, Error> {
    let members = parse_object(json, "token header")?;

    let Some(alg) = members.get("alg") else {
        return Err(Error::malformed("token header has no alg"));
    };
    let Some(alg) = JsonStr::from_raw(alg) else {
        return Err(Error::malformed("token header alg is not a string"));
    };
    let alg = parse_algorithm(&alg)?;

    // RFC 7515 4.1.11: a recipient must reject a token whose `crit` names an extension it does
    // not understand, and cloudauth understands none.
    if members.get("crit").is_some() {
        return Err(Error::new(
            ErrorKind::CriticalHeader,
            "token header has a crit member, and no critical extension is supported",
        ));
    }

    let kid = match members.get("kid") {
        None => None,
        Some(raw) => match JsonStr::from_raw(raw) {
            Some(kid) => Some(kid),
            None => return Err(Error::malformed("token header kid is not a string")),
        },
    };

    Ok(Header { alg, kid })
}

/// Checks the header of an unsigned token: `alg` exactly `none` and no `crit`.
pub(crate) fn parse_unsigned_header(json: &str) -> Result<(), Error> {
    let members = parse_object(json, "token header")?;
    let alg = members.get("alg").and_then(JsonStr::from_raw);
    if alg.as_deref() != Some("none") {
        return Err(Error::new(
            ErrorKind::DisallowedAlgorithm,
            "verifier accepts unsigned tokens (alg none) only",
        ));
    }
    if members.get("crit").is_some() {
        return Err(Error::new(
            ErrorKind::CriticalHeader,
            "token header has a crit member, and no critical extension is supported",
        ));
    }
    Ok(())
}

/// Parses a decoded header or payload as a JSON object without duplicate member names.
pub(crate) fn parse_object<'a>(
    json: &'a str,
    segment_name: &'static str,
) -> Result<Members<'a>, Error> {
    Members::parse_str(json).map_err(|error| match error {
        ObjectError::Duplicate(name) => {
            Error::malformed(format!("{segment_name} has a duplicate member name {name}"))
        }
        ObjectError::Json(source) => {
            Error::malformed(format!("{segment_name} is not a JSON object")).with_source(source)
        }
        ObjectError::NotUtf8 => Error::malformed(format!("{segment_name} is not UTF-8 text")),
    })
}

fn parse_algorithm(name: &str) -> Result<Algorithm, Error> {
    if let Some(alg) = Algorithm::from_name(name) {
        return Ok(alg);
    }

    let message = if name.eq_ignore_ascii_case("none") {
        "unsigned tokens (alg none) are never accepted"
    } else if name.len() == 5 && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("hs")) {
        "HMAC algorithms are never accepted with a public key set"
    } else {
        "token alg is not a supported signature algorithm"
    };
    Err(Error::new(ErrorKind::DisallowedAlgorithm, message))
}
