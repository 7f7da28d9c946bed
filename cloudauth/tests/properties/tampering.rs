//! A valid token changed anywhere, by one character or several, never verifies.

use std::ops::Range;
use std::sync::OnceLock;

use cloudauth::Verifier;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::common::{builder, config, is_token_kind, keys, outcome, valid, verifier};

/// Where an edit lands: inside one segment, or anywhere including the dots.
#[derive(Debug, Clone, Copy)]
enum Target {
    Header,
    Payload,
    Signature,
    Anywhere,
}

#[derive(Debug, Clone)]
enum Change {
    /// Flips one of the low seven bits of a character's code point, so ASCII stays ASCII.
    FlipBit(u8),
    Replace(char),
    Insert(char),
    Delete,
}

#[derive(Debug, Clone)]
struct Edit {
    target: Target,
    position: Index,
    change: Change,
}

fn edit() -> impl Strategy<Value = Edit> {
    let target = prop_oneof![
        Just(Target::Header),
        Just(Target::Payload),
        Just(Target::Signature),
        Just(Target::Anywhere),
    ];
    let change = prop_oneof![
        (0_u8..7).prop_map(Change::FlipBit),
        any::<char>().prop_map(Change::Replace),
        any::<char>().prop_map(Change::Insert),
        Just(Change::Delete),
    ];
    (target, any::<Index>(), change).prop_map(|(target, position, change)| Edit {
        target,
        position,
        change,
    })
}

/// Returns the byte range of `target` in `token`.
fn range(token: &str, target: Target) -> Range<usize> {
    let dots: Vec<usize> = token.match_indices('.').map(|(at, _)| at).collect();
    let (first, second) = match dots.as_slice() {
        [first, second, ..] => (*first, *second),
        _ => return 0..token.len(),
    };
    match target {
        Target::Header => 0..first,
        Target::Payload => first + 1..second,
        Target::Signature => second + 1..token.len(),
        Target::Anywhere => 0..token.len(),
    }
}

/// Applies `edit` to `token`, at a character boundary inside the edit's target.
fn apply(token: &str, edit: &Edit) -> String {
    let range = range(token, edit.target);
    let boundaries: Vec<usize> = token
        .char_indices()
        .map(|(at, _)| at)
        .chain([token.len()])
        .filter(|at| range.contains(at) || *at == range.end)
        .collect();
    let at = *edit.position.get(&boundaries);
    let next = token[at..].chars().next();

    let mut edited = token[..at].to_owned();
    match (&edit.change, next) {
        (Change::Insert(c), _) => {
            edited.push(*c);
            edited.push_str(&token[at..]);
        }
        (_, None) => edited.push_str(&token[at..]),
        (Change::FlipBit(bit), Some(c)) => {
            let flipped = u32::from(c) ^ (1 << bit);
            edited.push(char::from_u32(flipped).unwrap_or(c));
            edited.push_str(&token[at + c.len_utf8()..]);
        }
        (Change::Replace(replacement), Some(c)) => {
            edited.push(*replacement);
            edited.push_str(&token[at + c.len_utf8()..]);
        }
        (Change::Delete, Some(c)) => edited.push_str(&token[at + c.len_utf8()..]),
    }
    edited
}

fn check_rejected(verifier: &Verifier, original: &str, edited: &str) -> Result<(), TestCaseError> {
    let kind = outcome(verifier, edited);
    prop_assert!(
        kind.is_some(),
        "edited token verified:\n{original}\n{edited}"
    );
    prop_assert!(kind.is_some_and(is_token_kind), "kind {kind:?}");
    Ok(())
}

/// Returns one valid token for each test key, signed once per test binary.
fn tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let claims = valid().claim("scope", "read write");
        keys().iter().map(|key| claims.sign(key)).collect()
    })
}

/// Returns a verifier without a cache and one that caches verified tokens.
fn verifiers() -> &'static [Verifier; 2] {
    static VERIFIERS: OnceLock<[Verifier; 2]> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let cached = builder().cache_verified_tokens(16).build();
        [verifier(), cached.expect("verifier builds")]
    })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn edited_tokens_never_verify(
        token in any::<Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let original = token.get(tokens());
        let edited = edits.iter().fold(original.clone(), |token, edit| apply(&token, edit));
        prop_assume!(&edited != original, "the edits cancel out");

        // The original goes first, so the caching verifier contains it when the edited token
        // arrives. A cache hit must not accept a token that merely resembles a cached one.
        for verifier in verifiers() {
            prop_assert_eq!(outcome(verifier, original), None, "the original verifies");
            check_rejected(verifier, original, &edited)?;
        }
    }
}
