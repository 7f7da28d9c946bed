use std::process::Command;

use reqwest::StatusCode;

use crate::common::{Example, http_client};
use crate::quickstart::printed_commands;

/// Runs `tests/browser/swagger.mjs` in Debian's Chromium against the quickstart's Swagger UI:
/// Authorize with a token that has the scope of `GET /`, then with one that lacks it.
#[tokio::test(flavor = "multi_thread")]
async fn swagger_ui_authorizes_and_enforces_scopes() {
    let mut example = Example::start("quickstart", &[]).await;
    let process = example.process();
    process
        .wait_for_stdout("the last curl command", |text| {
            text.lines()
                .filter(|line| line.starts_with("curl "))
                .count()
                >= 6
        })
        .await;
    let stdout = process.stdout();
    let commands = printed_commands(&stdout);
    let token = |status: StatusCode| {
        commands
            .iter()
            .find(|command| command.status == status && command.path == "/")
            .and_then(|command| command.token.clone())
            .unwrap_or_else(|| panic!("no printed {status} command on /:\n{stdout}"))
    };
    let (scoped, unscoped) = (token(StatusCode::OK), token(StatusCode::FORBIDDEN));

    let body = http_client()
        .get(example.url("/openapi.json"))
        .send()
        .await
        .expect("the API description answers")
        .text()
        .await
        .expect("the API description has a body");
    let document: serde_json::Value =
        serde_json::from_str(&body).expect("the API description is JSON");
    assert_eq!(
        document["paths"]["/"]["get"]["security"][0]["local"],
        serde_json::json!(["read:users"]),
        "the API description lists the scope of GET /"
    );
    assert_eq!(
        document["components"]["securitySchemes"]["local"]["bearerFormat"],
        "JWT"
    );

    let screenshot = std::env::temp_dir().join("cloudauth-swagger-ui.png");
    let base = example.url("");
    let base = base.trim_end_matches('/').to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("swagger.mjs")
            .args([&base, &scoped, &unscoped])
            .arg(&screenshot)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/browser"))
            .output()
    })
    .await
    .expect("the browser task completes")
    .expect("node runs; scripts/test.sh installs it with Chromium and playwright-core");
    assert!(
        output.status.success(),
        "the Swagger UI check failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
