//! A real browser (Debian's headless Chromium through chromedriver): sign in, see the role's
//! navigation, switch language, sign out.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start chromedriver, or say plainly that the browser test did not run.
async fn driver() -> Option<Driver> {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            !require_all(),
            "KALIBRA_TEST_REQUIRE_ALL is set but {CHROMEDRIVER} or {CHROMIUM} is missing"
        );
        eprintln!("NOT RUN in a browser: install Debian's chromium and chromium-driver to run it");
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let d = Driver {
        child,
        url,
        _profile: tempfile::tempdir().unwrap(),
    };
    for _ in 0..100 {
        if client()
            .get(format!("{}/status", d.url))
            .send()
            .await
            .is_ok()
        {
            return Some(d);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not come up");
}

async fn browser(d: &Driver) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ];
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", d._profile.path().display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"binary": CHROMIUM, "args": args}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("browser session")
}

async fn text_of(b: &Client, css: &str) -> String {
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn wait_for_text(b: &Client, css: &str, needle: &str) {
    for _ in 0..100 {
        if let Ok(el) = b.find(Locator::Css(css)).await
            && el.text().await.unwrap_or_default().contains(needle)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = b
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    panic!("{css} never showed {needle:?}; the page shows:\n{shown}");
}

async fn sign_in(b: &Client, app: &TestApp, email: &str) {
    b.goto(&app.url("/")).await.unwrap();
    // Not signed in: the sign-in page, remembering where we wanted to go.
    assert!(b.current_url().await.unwrap().path().starts_with("/login"));
    b.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(DEMO_PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_switch_language_see_role_navigation_sign_out() {
    let Some(d) = driver().await else { return };
    let app = spawn_sqlite().await;
    app.seed_demo().await;
    let b = browser(&d).await;

    sign_in(&b, &app, "lead@example.com").await;
    assert_eq!(
        text_of(&b, "[data-testid=user-name]").await,
        "Lena Hoffmann"
    );
    let nav = text_of(&b, "nav").await;
    assert!(nav.contains("Programs") && nav.contains("Account"), "{nav}");
    assert!(
        !nav.contains("People") && !nav.contains("Audit log"),
        "a team lead has no administration: {nav}"
    );
    wait_for_text(&b, "[data-testid=roles]", "Team lead").await;

    // Switch to German with the language buttons in the top bar.
    b.find(Locator::Css(".lang-switch button[value=de]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&b, "nav", "Programme").await;
    wait_for_text(&b, "[data-testid=roles]", "Teamleitung").await;
    let png = b.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("home-team-lead-de.png"),
        png,
    )
    .unwrap();

    // Sign out: back at the sign-in page, still in German.
    b.find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&b, "body", "Sie haben sich abgemeldet.").await;
    b.goto(&app.url("/account")).await.unwrap();
    assert!(
        b.current_url().await.unwrap().path().starts_with("/login"),
        "signed out for real"
    );

    // An administrator sees the administration.
    sign_in(&b, &app, "admin@example.com").await;
    wait_for_text(&b, "nav", "Personen").await; // the stored choice stayed with Lena, the cookie with the browser
    b.find(Locator::Css(".lang-switch button[value=en]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&b, "nav", "People").await;
    b.find(Locator::Css("a[href='/admin/people']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&b, "main", "agent@example.com").await;
    let png = b.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-people-en.png"),
        png,
    )
    .unwrap();
    b.close().await.unwrap();
}
