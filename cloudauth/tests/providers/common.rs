use cloudauth::testing::LocalIssuer;
use cloudauth::{ErrorKind, ManualClock, Verifier};

pub(crate) const NOW: i64 = 1_700_000_000;

pub(crate) async fn issuer() -> LocalIssuer {
    LocalIssuer::start().await.expect("local issuer starts")
}

pub(crate) fn clock() -> ManualClock {
    ManualClock::from_unix(NOW)
}

/// A named token and the outcome it must have.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) token: String,
    pub(crate) expected: Option<ErrorKind>,
}

pub(crate) fn case(name: &'static str, token: String, expected: Option<ErrorKind>) -> Case {
    Case {
        name,
        token,
        expected,
    }
}

/// Verifies every case and reports all mismatches at once.
pub(crate) async fn run_cases(verifier: &Verifier, cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let actual = verifier
            .verify_async::<serde_json::Value>(&case.token)
            .await
            .err()
            .map(|error| error.kind());
        if actual != case.expected {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expected, actual
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );
}
