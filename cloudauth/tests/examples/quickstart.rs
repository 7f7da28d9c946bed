use reqwest::StatusCode;

use crate::common::{Example, assert_config_error, get, invalid, no_token, ok};
use crate::firebase::{as_vars, certificate_issuer, firebase_token, settings};

/// A command the quickstart printed, with the outcome its comment promises.
#[derive(Debug)]
pub(crate) struct Printed {
    pub(crate) comment: String,
    pub(crate) status: StatusCode,
    pub(crate) token: Option<String>,
    pub(crate) url: String,
    pub(crate) path: String,
}

/// Reads the `# <status> ...` comments and the `curl` command below each.
pub(crate) fn printed_commands(stdout: &str) -> Vec<Printed> {
    let lines: Vec<&str> = stdout.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| match pair {
            [comment, command] if command.starts_with("curl ") => {
                let comment = comment.strip_prefix("# ")?;
                let status = comment.split(' ').next()?.parse::<u16>().ok()?;
                let token = command
                    .split_once("Bearer ")
                    .and_then(|(_, rest)| rest.split_once('\''))
                    .map(|(token, _)| token.to_owned());
                let url = command.rsplit(' ').next()?.to_owned();
                Some(Printed {
                    comment: comment.to_owned(),
                    status: StatusCode::from_u16(status).ok()?,
                    token,
                    path: url::Url::parse(&url).ok()?.path().to_owned(),
                    url,
                })
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn quickstart_answers_its_printed_commands() {
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
    assert_eq!(commands.len(), 6, "six commands with comments:\n{stdout}");

    for command in &commands {
        let reply = get(&command.url, command.token.as_deref()).await;
        assert_eq!(reply.status, command.status, "{command:?}: {reply:?}");
        if command.status == StatusCode::OK {
            // "200 Hello, Jane Doe: the name in an ID token" promises the body "Hello, Jane Doe".
            let promised = command.comment["200 ".len()..]
                .split_once(':')
                .map(|(body, _)| body);
            assert_eq!(Some(reply.body.as_str()), promised, "{command:?}");
        }
    }

    let find = |prefix: &str, path: &str| {
        commands
            .iter()
            .find(|command| command.comment.starts_with(prefix) && command.path == path)
            .unwrap_or_else(|| panic!("no printed command for {prefix} on {path}:\n{stdout}"))
    };
    let scoped = find("200", "/");
    let unscoped = find("403", "/");
    let user = find("200", "/user/");
    assert!(scoped.token.is_some(), "the 200 command on / sends a token");
    assert!(
        unscoped.token.is_some(),
        "the 403 command on / sends a token"
    );
    assert!(user.token.is_some(), "the command on /user/ sends a token");

    let reply = get(&unscoped.url, unscoped.token.as_deref()).await;
    assert_eq!(
        reply.challenge.as_deref(),
        Some("Bearer error=\"insufficient_scope\", scope=\"read:users\"")
    );
    let without_token = find("401 without", "/");
    let reply = get(&without_token.url, None).await;
    assert_eq!(reply.challenge.as_deref(), Some("Bearer"));
    assert!(
        stdout.contains("listening on http://127.0.0.1:"),
        "the quickstart logs its address:\n{stdout}"
    );

    example
        .check(&[
            no_token("no token", "/user/"),
            invalid("garbage", "/", "not-a-token"),
            invalid(
                "access token",
                "/user/",
                scoped.token.as_deref().unwrap_or_default(),
            ),
        ])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn quickstart_runs_firebase_when_configured() {
    let issuer = certificate_issuer().await;
    let token = issuer.token(&firebase_token(&issuer, "user-9", 0));

    let settings = settings(&issuer);
    let example = Example::start("quickstart", &as_vars(&settings)).await;
    example
        .check(&[ok("Firebase ID token", "/user/", &token, "Hello, user-9")])
        .await;
    let reply = example.get("/", Some(&token)).await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "the Firebase example serves only /user/"
    );
}

#[tokio::test]
async fn quickstart_configuration_errors() {
    let two_providers = [
        ("PROJECT_ID", "demo-project"),
        ("DOMAIN", "tenant.eu.auth0.com"),
    ];
    assert_config_error("quickstart", &two_providers, "Auth0, Firebase").await;
    assert_config_error("quickstart", &[("REGION", "eu-west-1")], "USERPOOLID").await;
    assert_config_error("quickstart", &[("BIND", "localhost")], "BIND").await;
}
