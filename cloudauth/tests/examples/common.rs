use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};

/// How long an example may take to listen, or a fixture to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long an example with a configuration error may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The folder of an issuer fixture under `tests/issuers`.
pub(crate) fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/issuers")
        .join(name)
}

/// Returns the path of an example binary, building the examples first if needed. Cargo puts
/// test binaries in `target/<profile>/deps` and examples in `target/<profile>/examples`.
pub(crate) fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps");
    if let Err(error) = BUILT_EXAMPLES.get_or_init(|| build_examples(profile_dir)) {
        panic!("{error}");
    }

    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "example binary {} not found",
        path.display()
    );
    path
}

/// The outcome of building the examples, once per run of this test binary.
static BUILT_EXAMPLES: OnceLock<Result<(), String>> = OnceLock::new();

/// Builds the examples with the features of `scripts/test.sh`. After `cargo test
/// --all-features` this finds them fresh. `cargo test --test examples` builds only this test
/// binary, so without this step the tests would run stale examples or none.
fn build_examples(profile_dir: &Path) -> Result<(), String> {
    let mut command = Command::new(env!("CARGO"));
    command.args([
        "build",
        "--quiet",
        "--examples",
        "--all-features",
        "--manifest-path",
    ]);
    command.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => {}
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }

    let output = command
        .output()
        .map_err(|error| format!("failed to run cargo to build the examples: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "cargo failed to build the examples ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Returns a port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// The text a child process wrote, collected by threads as it arrives.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<String>>);

impl Output {
    fn collect(&self, mut stream: impl Read + Send + 'static) {
        let output = self.clone();
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(read) = stream.read(&mut buffer) {
                let Some(bytes) = buffer.get(..read).filter(|bytes| !bytes.is_empty()) else {
                    break;
                };
                output
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&String::from_utf8_lossy(bytes));
            }
        });
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A child process whose output is collected, killed by its process id when dropped.
pub(crate) struct Process {
    name: String,
    child: Child,
    // Held open because the moto fixture stops when its stdin reaches end of file.
    _stdin: Option<ChildStdin>,
    stdout: Output,
    stderr: Output,
}

impl Process {
    /// Starts `command` with all three standard streams piped.
    pub(crate) fn spawn(name: &str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {name}: {error}"));
        let (stdout, stderr) = (Output::default(), Output::default());
        if let Some(stream) = child.stdout.take() {
            stdout.collect(stream);
        }
        if let Some(stream) = child.stderr.take() {
            stderr.collect(stream);
        }
        let stdin = child.stdin.take();
        Self {
            name: name.to_owned(),
            child,
            _stdin: stdin,
            stdout,
            stderr,
        }
    }

    /// Returns what the process wrote to stdout so far.
    pub(crate) fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Waits until `ready` holds for stdout, failing the test when the process exits first
    /// or [`START_TIMEOUT`] passes.
    pub(crate) async fn wait_for_stdout(&mut self, what: &str, ready: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if ready(&self.stdout()) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before {what}\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not reach {what} within {START_TIMEOUT:?}\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Reads the first line of stdout as JSON, the ready line of the issuer fixtures.
    pub(crate) async fn ready_line(&mut self) -> serde_json::Value {
        self.wait_for_stdout("its ready line", |text| text.contains('\n'))
            .await;
        let stdout = self.stdout();
        let line = stdout.lines().next().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|error| {
            panic!("{}: ready line is not JSON ({error}): {line:?}", self.name)
        })
    }

    /// Waits until something accepts connections on `address`, failing the test when the
    /// process exits first or [`START_TIMEOUT`] passes.
    async fn wait_until_listening(&mut self, address: SocketAddr) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before listening on {address}\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {address} within {START_TIMEOUT:?}\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits for the process to exit by itself, for at most [`EXIT_TIMEOUT`].
    async fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("the exit status is readable") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} was expected to exit but still ran after {EXIT_TIMEOUT:?}\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Returns stdout and stderr, for failure messages.
    pub(crate) fn log(&self) -> String {
        format!(
            "--- stdout of {name} ---\n{}\n--- stderr of {name} ---\n{}",
            self.stdout.text(),
            self.stderr.text(),
            name = self.name
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // `Child::kill` sends SIGKILL to this child's process id only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an issuer fixture: `program` with `args` in `tests/issuers/<fixture>`.
pub(crate) fn start_fixture(fixture: &str, program: &str, args: &[&str]) -> Process {
    let mut command = Command::new(program);
    command.args(args).current_dir(fixture_dir(fixture));
    Process::spawn(fixture, command)
}

/// A running example, listening on its own port of 127.0.0.1.
pub(crate) struct Example {
    process: Process,
    base_url: String,
}

impl Example {
    /// Starts the example `name` with only the variables `vars` and `BIND` set, and waits
    /// until it listens.
    pub(crate) async fn start(name: &str, vars: &[(&str, &str)]) -> Self {
        let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut process = Process::spawn(name, example_command(name, vars, Some(address)));
        process.wait_until_listening(address).await;
        Self {
            process,
            base_url: format!("http://{address}"),
        }
    }

    /// Returns the URL of `path` on the example, such as `/user/`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub(crate) fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    /// Sends `GET path` with `token` as a bearer token, if any.
    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        get(&self.url(path), token).await
    }

    /// Runs `cases` and fails the test with every mismatch, and the example's output.
    pub(crate) async fn check(&self, cases: &[Case]) {
        let mut failures = Vec::new();
        for case in cases {
            let reply = self.get(case.path, case.token.as_deref()).await;
            failures.extend(case.mismatches(&reply));
        }
        assert!(
            failures.is_empty(),
            "{} failed cases:\n{}\n{}",
            self.process.name,
            failures.join("\n"),
            self.process.log()
        );
    }
}

/// Runs the example `name` with only `vars` set, which must make it exit; returns the exit
/// status and stderr.
pub(crate) async fn run_to_exit(name: &str, vars: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut process = Process::spawn(name, example_command(name, vars, None));
    let status = process.wait_for_exit().await;
    // The collecting threads end at end of file, right after the exit.
    tokio::time::sleep(Duration::from_millis(100)).await;
    (status, process.stderr.text())
}

/// Checks that the example `name`, run with `vars`, reports a configuration error naming
/// `expected` and exits with status 2.
pub(crate) async fn assert_config_error(name: &str, vars: &[(&str, &str)], expected: &str) {
    let (status, stderr) = run_to_exit(name, vars).await;
    assert_eq!(status.code(), Some(2), "{name} with {vars:?}: {stderr}");
    assert!(
        stderr.contains(expected),
        "{name} with {vars:?}: stderr does not name {expected:?}: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "{name} with {vars:?} panicked: {stderr}"
    );
}

/// Builds the example's command with an empty environment apart from `vars`, so that no
/// variable of the test's environment, proxies included, changes what it does.
fn example_command(name: &str, vars: &[(&str, &str)], bind: Option<SocketAddr>) -> Command {
    let mut command = Command::new(example_binary(name));
    command.env_clear().envs(vars.iter().copied());
    if let Some(address) = bind {
        command.env("BIND", address.to_string());
    }
    command
}

/// What the example answered.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) challenge: Option<String>,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: String,
}

/// Sends `GET url` with `token` as a bearer token, if any.
pub(crate) async fn get(url: &str, token: Option<&str>) -> Reply {
    let mut request = http_client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap_or("<not ASCII>").to_owned())
    };
    let challenge = header(WWW_AUTHENTICATE);
    let retry_after = header(RETRY_AFTER);
    Reply {
        status: response.status(),
        challenge,
        retry_after,
        body: response
            .text()
            .await
            .expect("the response body is readable"),
    }
}

/// Builds a client that connects directly, whatever proxy the environment names.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("the HTTP client builds")
}

/// The `WWW-Authenticate` header a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// No header, as on success.
    Absent,
    /// Exactly `Bearer`: no token was sent, so no error code (RFC 6750 section 3.1).
    Bare,
    /// `Bearer error="invalid_token"` with a description.
    InvalidToken,
    /// `Bearer error="insufficient_scope"` naming `read:users`.
    InsufficientScope,
}

impl Challenge {
    fn accepts(self, header: Option<&str>) -> bool {
        match self {
            Self::Absent => header.is_none(),
            Self::Bare => header == Some("Bearer"),
            Self::InvalidToken => header.is_some_and(|value| {
                value.starts_with("Bearer error=\"invalid_token\", error_description=\"")
            }),
            Self::InsufficientScope => {
                header == Some("Bearer error=\"insufficient_scope\", scope=\"read:users\"")
            }
        }
    }
}

/// A named request and the response it must get.
pub(crate) struct Case {
    name: String,
    path: &'static str,
    token: Option<String>,
    status: StatusCode,
    body: String,
    challenge: Challenge,
}

impl Case {
    fn new(
        name: &str,
        path: &'static str,
        token: Option<&str>,
        status: StatusCode,
        body: &str,
        challenge: Challenge,
    ) -> Self {
        Self {
            name: name.to_owned(),
            path,
            token: token.map(str::to_owned),
            status,
            body: body.to_owned(),
            challenge,
        }
    }

    fn mismatches(&self, reply: &Reply) -> Vec<String> {
        let mut found = Vec::new();
        let name = format!("{} (GET {})", self.name, self.path);
        if reply.status != self.status {
            found.push(format!(
                "{name}: status {}, expected {}",
                reply.status, self.status
            ));
        }
        if reply.body != self.body {
            found.push(format!(
                "{name}: body {:?}, expected {:?}",
                reply.body, self.body
            ));
        }
        if !self.challenge.accepts(reply.challenge.as_deref()) {
            found.push(format!(
                "{name}: WWW-Authenticate {:?}, expected {:?}",
                reply.challenge, self.challenge
            ));
        }
        found
    }
}

/// Builds a case whose request with `token` must succeed with `body`.
pub(crate) fn ok(name: &str, path: &'static str, token: &str, body: &str) -> Case {
    Case::new(
        name,
        path,
        Some(token),
        StatusCode::OK,
        body,
        Challenge::Absent,
    )
}

/// Builds a case without a token, which must get 401 with a bare challenge.
pub(crate) fn no_token(name: &str, path: &'static str) -> Case {
    Case::new(
        name,
        path,
        None,
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"Not authenticated"}"#,
        Challenge::Bare,
    )
}

/// Builds a case whose token must be rejected with 401 `invalid_token`.
pub(crate) fn invalid(name: &str, path: &'static str, token: &str) -> Case {
    Case::new(
        name,
        path,
        Some(token),
        StatusCode::UNAUTHORIZED,
        r#"{"detail":"Not verified"}"#,
        Challenge::InvalidToken,
    )
}

/// Builds a case whose valid token lacks `read:users`, which must get 403
/// `insufficient_scope`.
pub(crate) fn forbidden(name: &str, path: &'static str, token: &str) -> Case {
    Case::new(
        name,
        path,
        Some(token),
        StatusCode::FORBIDDEN,
        r#"{"detail":"Scope not matched"}"#,
        Challenge::InsufficientScope,
    )
}

/// Checks that `path` with `token` gets 503 with `Retry-After` in whole seconds, as when no
/// key set could be loaded.
pub(crate) async fn assert_key_set_unavailable(example: &Example, path: &str, token: &str) {
    let reply = example.get(path, Some(token)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    assert_eq!(reply.body, r#"{"detail":"Key set unavailable"}"#);
    assert_eq!(reply.challenge, None, "503 carries no challenge");
    let seconds = reply
        .retry_after
        .as_deref()
        .and_then(|value| value.parse::<u64>().ok());
    assert!(
        seconds.is_some_and(|seconds| seconds >= 1),
        "Retry-After {:?} is not a positive number of seconds",
        reply.retry_after
    );
}

/// Returns the claims of `token` without verifying it, to learn what the example should
/// answer.
pub(crate) fn payload(token: &str) -> serde_json::Value {
    let segment = token.split('.').nth(1).expect("the token has a payload");
    let json = URL_SAFE_NO_PAD
        .decode(segment)
        .expect("the payload is base64url");
    serde_json::from_slice(&json).expect("the payload is JSON")
}

/// Returns the current time in seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(elapsed.as_secs()).expect("the time fits in i64")
}

/// Returns a string member of a fixture's ready line.
pub(crate) fn text<'a>(value: &'a serde_json::Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("the fixture's ready line has no string at {pointer}"))
}
