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

async fn click(b: &Client, css: &str) {
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn sign_out(b: &Client) {
    click(b, "#sign-out").await;
    wait_for_text(b, "body", "You have signed out.").await;
}

/// Answers every criterion on the page with its best answer (yes, the top of a range, a custom
/// scale's first point), except the ones given.
async fn answer_all(b: &Client, except: &[(&str, &str)]) {
    let groups = b.find_all(Locator::Css(".choices")).await.unwrap();
    for group in groups {
        let first = group.find(Locator::Css("input")).await.unwrap();
        let name = first.attr("name").await.unwrap().unwrap();
        let key = name.trim_start_matches("answer:");
        let wanted = except.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let choice = match wanted {
            Some(v) => group
                .find(Locator::Css(&format!("input[value='{v}']")))
                .await
                .unwrap(),
            None => {
                let mut best = first;
                for v in ["yes", "5", "10"] {
                    if let Ok(el) = group
                        .find(Locator::Css(&format!("input[value='{v}']")))
                        .await
                    {
                        best = el;
                        break;
                    }
                }
                best
            }
        };
        choice.click().await.unwrap();
    }
}

/// A QA lead's day in the browser: a form from a template, published; an evaluation of a call;
/// the agent's self-evaluation beside it; the agent's dispute; the team lead's decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_is_published_a_call_evaluated_disputed_and_resolved() {
    let Some(d) = driver().await else { return };
    let app = spawn_sqlite().await;
    app.seed_demo().await;
    let ids = app
        .import_csv(
            "ACME-DE",
            "external_id,channel,agent,arrived,answered,ended\n\
             B-1,phone,agent@example.com,2026-03-02 09:00:00,2026-03-02 09:00:10,2026-03-02 09:05:00\n",
        )
        .await;
    let contact = ids["B-1"];
    let b = browser(&d).await;

    // The QA lead builds the form from the classic phone template and publishes it.
    sign_in(&b, &app, "admin@example.com").await;
    b.goto(&app.url("/quality")).await.unwrap();
    let program = app.program_id("ACME-DE").await.0.to_string();
    b.find(Locator::Id("program"))
        .await
        .unwrap()
        .select_by_value(&program)
        .await
        .unwrap();
    b.find(Locator::Id("template"))
        .await
        .unwrap()
        .select_by_value("classic-phone")
        .await
        .unwrap();
    b.find(Locator::Id("language"))
        .await
        .unwrap()
        .select_by_value("en")
        .await
        .unwrap();
    click(&b, "#create-form").await;
    wait_for_text(&b, "main", "Classic phone form").await;
    click(&b, "#publish").await;
    wait_for_text(&b, "main h2 .badge", "published").await;
    sign_out(&b).await;

    // QA evaluates the call: everything at its best but the relationship question.
    sign_in(&b, &app, "qa@example.com").await;
    b.goto(&app.url(&format!("/contacts/{contact}")))
        .await
        .unwrap();
    click(&b, "#evaluate").await;
    wait_for_text(&b, "#status", "Draft").await;
    answer_all(&b, &[("relationship", "no")]).await;
    b.find(Locator::Css("input[name='note:relationship']"))
        .await
        .unwrap()
        .send_keys("Polite, but the customer left unsure.")
        .await
        .unwrap();
    click(&b, "#submit").await;
    wait_for_text(&b, "#status", "Submitted").await;
    // Hand-computed: every criterion earns its full weight but the relationship question (3).
    let form = kalibra::quality::templates::find("classic-phone")
        .unwrap()
        .form(kalibra::domain::Locale::En);
    let total: u32 = form
        .criteria()
        .filter(|c| c.applies_to(kalibra::kpi::Channel::Phone))
        .map(|c| u32::from(c.spec.weight))
        .sum();
    let expected = format!("{:.1}", f64::from(total - 3) * 100.0 / f64::from(total));
    assert_eq!(text_of(&b, "#score").await, expected);
    let evaluation = b.current_url().await.unwrap().path().to_owned();
    sign_out(&b).await;

    // The agent scores the same call, then sees both views side by side and disputes.
    sign_in(&b, &app, "agent@example.com").await;
    b.goto(&app.url(&format!("/contacts/{contact}")))
        .await
        .unwrap();
    click(&b, "#self-evaluate").await;
    wait_for_text(&b, "#status", "Draft").await;
    answer_all(&b, &[]).await;
    click(&b, "#submit").await;
    wait_for_text(&b, "#status", "Submitted").await;
    b.goto(&app.url(&evaluation)).await.unwrap();
    wait_for_text(&b, "tr.differs", "Relationship").await;
    assert_eq!(
        b.find_all(Locator::Css("tr.differs")).await.unwrap().len(),
        1,
        "only the relationship question differs"
    );
    click(&b, "input[name='dispute:relationship']").await;
    b.find(Locator::Id("proposed-relationship"))
        .await
        .unwrap()
        .select_by_value("yes")
        .await
        .unwrap();
    b.find(Locator::Id("reason-relationship"))
        .await
        .unwrap()
        .send_keys("The customer thanked me and said they would stay.")
        .await
        .unwrap();
    click(&b, "#dispute").await;
    wait_for_text(&b, "#status", "Disputed").await;
    sign_out(&b).await;

    // The team lead finds it in the queue and upholds it: the score is computed again.
    sign_in(&b, &app, "lead@example.com").await;
    b.goto(&app.url("/quality/disputes")).await.unwrap();
    click(&b, "main table a").await;
    click(&b, "input[name='decision:relationship'][value='upheld']").await;
    b.find(Locator::Id("note"))
        .await
        .unwrap()
        .send_keys("Heard it on the recording.")
        .await
        .unwrap();
    click(&b, "#resolve").await;
    wait_for_text(&b, "#status", "Resolved").await;
    assert_eq!(text_of(&b, "#score").await, "100.0");
    let png = b.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("evaluation-resolved.png"),
        png,
    )
    .unwrap();

    // The quality dashboard counts the resolved evaluation, not the self-evaluation.
    b.goto(&app.url(&format!("/programs/{program}/quality?by=agent")))
        .await
        .unwrap();
    wait_for_text(&b, "#quality-lines", "agent@example.com").await;
    assert_eq!(text_of(&b, "[data-tile='1']").await, "100.0", "IQS");
    assert_eq!(text_of(&b, "[data-tile='4']").await, "1", "evaluations");
    let png = b.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("quality-dashboard.png"),
        png,
    )
    .unwrap();
    b.close().await.unwrap();
}
