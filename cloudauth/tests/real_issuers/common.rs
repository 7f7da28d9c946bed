use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use cloudauth::{ErrorKind, Verifier};

/// The folder of an issuer fixture under `tests/issuers`.
pub(crate) fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/issuers")
        .join(name)
}

/// A child process that is killed by its process id when dropped.
pub(crate) struct Process {
    child: Child,
    _stdin: Option<ChildStdin>,
}

impl Process {
    /// Starts `program` in `dir` with stdin and stdout piped; stderr goes to the test output.
    pub(crate) fn spawn(program: &str, args: &[&str], dir: &PathBuf) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("failed to start {program} in {}: {error}", dir.display())
            });
        let stdin = child.stdin.take();
        Self {
            child,
            _stdin: stdin,
        }
    }

    /// Reads the first line of stdout as JSON, waiting at most two minutes.
    pub(crate) async fn ready_line(&mut self) -> serde_json::Value {
        let stdout = self.child.stdout.take().expect("stdout is piped");
        let reading = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(Duration::from_secs(120), reading)
            .await
            .expect("fixture printed its ready line within two minutes")
            .expect("reader task completes")
            .expect("stdout is readable");
        serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("fixture ready line is not JSON ({error}): {line:?}"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns a port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// A named token and the outcome it must have.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) token: String,
    pub(crate) expected: Option<ErrorKind>,
}

pub(crate) fn case(name: &'static str, token: &str, expected: Option<ErrorKind>) -> Case {
    Case {
        name,
        token: token.to_owned(),
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

/// Returns the text of a string member, failing the test when it is absent.
pub(crate) fn text<'a>(value: &'a serde_json::Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("fixture output has no string at {pointer}"))
}

/// A clock two hours ahead of the system clock, past the one-hour lifetime of the tokens.
pub(crate) fn two_hours_later() -> cloudauth::ManualClock {
    cloudauth::ManualClock::new(std::time::SystemTime::now() + Duration::from_secs(7200))
}
