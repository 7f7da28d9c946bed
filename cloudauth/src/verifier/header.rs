//! The header segment of the last accepted token, remembered in its encoded form.
//!
//! Tokens signed with the same key usually carry the same header, byte for byte, such as
//! `{"kid":"...","alg":"RS256"}`. When a token's header segment equals the remembered one, its
//! `alg` and `kid` are taken from memory instead of being decoded and parsed again. Only the
//! header of a token whose signature verified is remembered, and reading it takes no lock.

use std::borrow::Cow;
use std::sync::Arc;

use arc_swap::{ArcSwapOption, Guard};

use crate::algorithm::Algorithm;
use crate::token::Header;

/// A header segment that this verifier accepted, with what it declares.
#[derive(Debug)]
pub(crate) struct KnownHeader {
    segment: Box<str>,
    alg: Algorithm,
    kid: Option<Box<str>>,
}

impl KnownHeader {
    /// Returns the header that `segment` decodes to, when `segment` is this one.
    pub(crate) fn header_for(&self, segment: &str) -> Option<Header<'_>> {
        (*self.segment == *segment).then(|| Header {
            alg: self.alg,
            kid: self.kid.as_deref().map(Cow::Borrowed),
        })
    }
}

/// The memory of one accepted header segment.
#[derive(Debug, Default)]
pub(crate) struct HeaderMemo(ArcSwapOption<KnownHeader>);

impl HeaderMemo {
    /// Returns the remembered header, if any.
    pub(crate) fn load(&self) -> Guard<Option<Arc<KnownHeader>>> {
        self.0.load()
    }

    /// Remembers `segment`, the header of a token whose signature verified.
    pub(crate) fn remember(&self, segment: &str, header: &Header<'_>) {
        self.0.store(Some(Arc::new(KnownHeader {
            segment: segment.into(),
            alg: header.alg,
            kid: header.kid.as_deref().map(Into::into),
        })));
    }
}
