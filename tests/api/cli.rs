//! The command line against the same database as a running server.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

fn kalibra(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kalibra"))
        .args(["--database-url", &app.database_url])
        .args(args)
        .current_dir(std::env::temp_dir())
        .env("KALIBRA_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails_with(o: &Output, needle: &str) {
    assert!(
        !o.status.success(),
        "should fail: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(needle), "stderr {err:?} should say {needle:?}");
}

both_backends! {
    async fn cli_creates_programs_people_and_tokens(app: TestApp) {
        ok(&kalibra(&app, &["migrate"], ""));
        let out = ok(&kalibra(&app, &["program", "create", "--code", "zed", "--name", "Zed Telecom", "--timezone", "Europe/Paris"], ""));
        assert!(out.contains("created program ZED Zed Telecom (Europe/Paris)"), "{out}");
        fails_with(&kalibra(&app, &["program", "create", "--code", "ZED", "--name", "Again", "--timezone", "UTC"], ""), "already exists");
        fails_with(&kalibra(&app, &["program", "create", "--code", "ZZ", "--name", "X", "--timezone", "Nowhere/City"], ""), "unknown time zone");
        let shown: serde_json::Value = serde_json::from_str(&ok(&kalibra(&app, &["program", "settings", "--program", "zed"], ""))).unwrap();
        assert_eq!(shown, serde_json::json!({"answer_within_s": 20, "short_abandon_s": 5, "sl_target": 0.8,
            "sl_variant": "over_offered", "response_sla_s": 86400, "fcr_days": 7}));
        let set: serde_json::Value = serde_json::from_str(&ok(&kalibra(&app, &["program", "settings", "--program", "ZED", "--answer-within-s", "15", "--sl-variant", "over_answered"], ""))).unwrap();
        assert_eq!((set["answer_within_s"].as_u64(), set["sl_variant"].as_str(), set["fcr_days"].as_u64()), (Some(15), Some("over_answered"), Some(7)));
        fails_with(&kalibra(&app, &["program", "settings", "--program", "ZED", "--fcr-days", "91"], ""), "fcr_days must be between 1 and 90, not 91");

        fails_with(&kalibra(&app, &["user", "create", "--email", "boss@zed.example", "--name", "Boss", "--role", "admin"], "short\n"),
            "at least 12 characters");
        fails_with(&kalibra(&app, &["user", "create", "--email", "a@zed.example", "--name", "A", "--role", "agent", "--program", "ZED", "--team", "Nope"], "long enough password\n"),
            "has no team");
        fails_with(&kalibra(&app, &["user", "create", "--email", "a@zed.example", "--name", "A", "--role", "wizard"], "long enough password\n"),
            "unknown role");
        let out = ok(&kalibra(&app, &["user", "create", "--email", "Boss@Zed.example", "--name", "Zed Boss", "--role", "admin"], "a long enough password\n"));
        assert!(out.contains("created Zed Boss <boss@zed.example>"), "{out}");

        // The password came from standard input and works.
        let c = app.client();
        assert_eq!(app.login(&c, "boss@zed.example", "a long enough password").await.status(), StatusCode::SEE_OTHER);

        let out = ok(&kalibra(&app, &["token", "create", "--email", "boss@zed.example", "--expires-days", "7"], ""));
        let token = out.trim();
        assert!(token.starts_with("kal_"), "{out}");
        let me: serde_json::Value = client().get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["email"], "boss@zed.example");
        assert_eq!(me["grants"][0]["role"], "admin");
        fails_with(&kalibra(&app, &["token", "create", "--email", "nobody@zed.example"], ""), "no person");
        fails_with(&kalibra(&app, &["token", "create", "--email", "boss@zed.example", "--expires-days", "9999"], ""), "1 to 730 days");
    }
}

#[test]
fn cli_reports_a_bad_database_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_kalibra"))
        .args(["--database-url", "mysql://x", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}
