//! A real browser (Debian's headless Chromium through chromedriver): sign in, see the role's
//! navigation, switch language, sign out; evaluate with a form; build a form with the builder.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use kalibra::quality::form::{CriterionKind, CriterionSpec, FormSpec};
use kalibra::quality::scale::ScaleKind;

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
    // Signed in once the page names the person: only then go elsewhere.
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-testid=user-name]"))
        .await
        .unwrap_or_else(|e| panic!("{email} is not signed in: {e}"));
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

/// Types into a field once the page shows it.
async fn type_into(b: &Client, css: &str, text: &str) {
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

async fn sign_out(b: &Client) {
    click(b, "#sign-out").await;
    wait_for_text(b, "body", "You have signed out.").await;
}

/// Creates a form for ACME-DE from the classic phone template in English on /quality, as the
/// signed-in administrator; the browser is left on the new draft's page.
async fn create_classic_phone_form(b: &Client, app: &TestApp) {
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
    click(b, "#create-form").await;
    for _ in 0..100 {
        if b.current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/quality/versions/")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_text(b, "main h2", "Classic phone form").await;
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

/// A QA lead's day in the browser: a form from a template, published; a sampling plan that puts
/// a call in QA's queue; its evaluation;
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
    create_classic_phone_form(&b, &app).await;
    click(&b, "#publish").await;
    wait_for_text(&b, "main h2 .badge", "published").await;

    // A weekly sampling plan puts the call in QA's queue.
    let program = app.program_id("ACME-DE").await.0;
    let qa = app.person_id("qa@example.com").await.0;
    b.goto(&app.url(&format!("/programs/{program}/sampling")))
        .await
        .unwrap();
    type_into(&b, "#plan-name", "Weekly sample").await;
    let per_agent = b.find(Locator::Id("per-agent")).await.unwrap();
    per_agent.clear().await.unwrap();
    per_agent.send_keys("1").await.unwrap();
    click(&b, &format!("input[name='evaluator'][value='{qa}']")).await;
    click(&b, "#rule-low_csat").await;
    click(&b, "#save-plan").await;
    wait_for_text(&b, "#plans", "Weekly sample").await;
    b.execute(
        "document.querySelector(\"#plans input[name='week']\").value = '2026-03-04';",
        vec![],
    )
    .await
    .unwrap();
    click(&b, "#plans button[type='submit']").await;
    wait_for_text(&b, "#run-notice", "Week of 2026-03-02: 1 contacts assigned").await;
    sign_out(&b).await;

    // QA evaluates the call from the queue: everything at its best but the relationship question.
    sign_in(&b, &app, "qa@example.com").await;
    b.goto(&app.url("/assignments")).await.unwrap();
    wait_for_text(&b, "#assignments", "B-1").await;
    click(&b, "#assignments button[type='submit']").await;
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
    let program = app.program_id("ACME-DE").await;
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

    // The lead coaches the agent on the evaluation, with one action.
    b.goto(&app.url(&evaluation)).await.unwrap();
    click(&b, "#coach").await;
    type_into(&b, "#strengths", "Warm, clear, takes ownership.").await;
    type_into(
        &b,
        "#action-1",
        "Ask whether the customer feels helped before closing",
    )
    .await;
    type_into(&b, "#due-1", "12312030").await;
    click(&b, "#save-session").await;
    wait_for_text(&b, "main", "Warm, clear, takes ownership.").await;
    let session = b.current_url().await.unwrap().path().to_owned();
    sign_out(&b).await;

    // The agent sees the news, confirms the session and finds the action on "My quality".
    sign_in(&b, &app, "agent@example.com").await;
    wait_for_text(&b, "[data-testid=unread]", "").await;
    b.goto(&app.url("/notifications")).await.unwrap();
    wait_for_text(&b, "main", "A coaching session was recorded with you").await;
    b.goto(&app.url(&session)).await.unwrap();
    click(&b, "#acknowledge-session").await;
    wait_for_text(&b, "#acknowledged", "yes").await;
    b.goto(&app.url("/my/quality")).await.unwrap();
    wait_for_text(&b, "main", "2030-12-31").await;
    assert_eq!(text_of(&b, "#my-iqs").await, "100.0");
    b.close().await.unwrap();
}

/// The stored definition of a form version.
async fn stored(app: &TestApp, id: i64) -> FormSpec {
    kalibra::quality::forms::version(&app.db, id)
        .await
        .unwrap()
        .expect("the version exists")
        .definition
}

/// Waits until the stored definition is no longer `before`, as a save goes through.
async fn saved(app: &TestApp, id: i64, before: &FormSpec) -> FormSpec {
    for _ in 0..100 {
        let now = stored(app, id).await;
        if &now != before {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the definition was never saved");
}

/// The field of a criterion in the builder whose path ends in `field` (`.weight`).
async fn criterion_field(b: &Client, key: &str, field: &str) -> fantoccini::elements::Element {
    let css = format!("li.builder-criterion[data-key='{key}'] [data-path$='{field}']");
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// Clicks an element of the builder once scrolled to the middle of the window, clear of the
/// save bar that stays at the bottom.
async fn click_centred(b: &Client, css: &str) {
    let el = b
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    let arg = serde_json::to_value(&el).unwrap();
    b.execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
        .await
        .unwrap();
    el.click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Adds a criterion to a section with the builder and names it; the new criterion opens with
/// its name in focus.
async fn add_criterion(b: &Client, section: &str, name: &str) {
    click_centred(
        b,
        &format!(
            "li.builder-section[data-key='{section}'] > .builder-body > .builder-row > button"
        ),
    )
    .await;
    let focused = b.active_element().await.unwrap();
    assert_eq!(
        focused
            .attr("data-path")
            .await
            .unwrap()
            .map(|p| p.ends_with(".name")),
        Some(true),
        "the new criterion's name has the focus"
    );
    focused.send_keys(name).await.unwrap();
}

/// What has the focus: the key of its item in the builder and what it is (`up`, `down`).
async fn focus_in_builder(b: &Client) -> String {
    let js = "const a = document.activeElement; const li = a.closest('li[data-key]'); \
              return (li ? li.dataset.key : '') + ':' + (a.dataset.move || a.id);";
    b.execute(js, vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// An administrator builds a draft with the form builder: a new criterion with its fields,
/// moved with the keyboard, a section moved by dragging it with the mouse, then saved; a save
/// the server refuses shows why and marks the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_edited_with_the_form_builder_by_keyboard_and_mouse() {
    let Some(d) = driver().await else { return };
    let app = spawn_sqlite().await;
    app.seed_demo().await;
    let b = browser(&d).await;
    sign_in(&b, &app, "admin@example.com").await;
    create_classic_phone_form(&b, &app).await;
    let id: i64 = b
        .current_url()
        .await
        .unwrap()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let before = stored(&app, id).await;

    // The builder stands in for the JSON, which stays folded away below it.
    wait_for_text(&b, ".builder", "Needs analysis").await;
    let raw = b.find(Locator::Css("[data-raw-definition]")).await.unwrap();
    assert_eq!(raw.prop("open").await.unwrap().as_deref(), Some("false"));

    // A new criterion in "Needs analysis", after its two: name, definition, scale 1–5, weight 2.
    add_criterion(&b, "needs", "Checks understanding").await;
    let key = criterion_field(&b, "checks-understanding", ".key").await;
    assert_eq!(
        key.prop("value").await.unwrap().as_deref(),
        Some("checks-understanding"),
        "the key is made from the name"
    );
    criterion_field(&b, "checks-understanding", ".definition")
        .await
        .send_keys("Sums up the question and asks whether that is right.")
        .await
        .unwrap();
    criterion_field(&b, "checks-understanding", ".scale")
        .await
        .select_by_value("1-5")
        .await
        .unwrap();
    let weight = criterion_field(&b, "checks-understanding", ".weight").await;
    weight.clear().await.unwrap();
    weight.send_keys("2").await.unwrap();
    wait_for_text(&b, "[data-form-preview]", "Checks understanding").await;
    wait_for_text(
        &b,
        "[data-form-preview] .criterion[data-key='checks-understanding']",
        "1 · 2 · 3 · 4 · 5",
    )
    .await;

    // The same name again elsewhere gets a key of its own.
    add_criterion(&b, "closing", "Checks understanding").await;
    criterion_field(&b, "checks-understanding-2", ".key").await;

    // Up with the keyboard: Enter on "Move up", then Alt+↑; the focus stays on the button.
    let up = "li.builder-criterion[data-key='checks-understanding'] button[data-move='up']";
    b.find(Locator::Css(up))
        .await
        .unwrap()
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    wait_for_text(
        &b,
        "#builder-status",
        "“Checks understanding” is now 2 of 3 in “Needs analysis”.",
    )
    .await;
    assert_eq!(focus_in_builder(&b).await, "checks-understanding:up");
    let alt_up = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: Key::Alt.into(),
        })
        .then(KeyAction::Down {
            value: Key::Up.into(),
        })
        .then(KeyAction::Up {
            value: Key::Up.into(),
        })
        .then(KeyAction::Up {
            value: Key::Alt.into(),
        });
    b.perform_actions(alt_up).await.unwrap();
    wait_for_text(
        &b,
        "#builder-status",
        "“Checks understanding” is now 1 of 3 in “Needs analysis”.",
    )
    .await;
    assert_eq!(focus_in_builder(&b).await, "checks-understanding:up");

    // "Closing" goes above "Solution" by dragging its handle with the mouse.
    click_centred(&b, "#fb-collapse-all").await;
    drag_onto(
        &b,
        "li.builder-section[data-key='closing'] > .builder-head > .builder-handle",
        "li.builder-section[data-key='solution'] > .builder-head",
        "center",
        -4,
    )
    .await;
    wait_for_text(&b, "#builder-status", "Section “Closing” is now 3 of 5.").await;

    let png = b.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("form-builder.png"),
        png,
    )
    .unwrap();

    // Saved: the new criteria where they were put, with their fields; the rest as it was.
    click(&b, "#save-definition").await;
    let after = saved(&app, id, &before).await;
    let section_keys: Vec<&str> = after.sections.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        section_keys,
        ["opening", "needs", "closing", "solution", "relationship"]
    );
    let needs: Vec<&str> = after.sections[1]
        .criteria
        .iter()
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(needs, ["checks-understanding", "questioning", "listening"]);
    let added = &after.sections[1].criteria[0];
    assert_eq!(added.name, "Checks understanding");
    assert_eq!(
        added.definition,
        "Sums up the question and asks whether that is right."
    );
    assert_eq!(added.scale, ScaleKind::OneToFive);
    assert_eq!(added.weight, 2);
    assert_eq!(added.kind, CriterionKind::Standard);
    assert!(!added.critical && !added.na_allowed && added.kpi.is_none());
    assert!(added.channels.is_empty() && added.examples.is_empty());
    let closing = &after.sections[2];
    assert_eq!(
        closing.criteria.last().map(|c| c.key.as_str()),
        Some("checks-understanding-2")
    );
    for was in &before.sections {
        let now = after.sections.iter().find(|s| s.key == was.key).unwrap();
        assert_eq!(
            (&now.title, &now.description, &now.principle),
            (&was.title, &was.description, &was.principle)
        );
        let kept: Vec<&CriterionSpec> = now
            .criteria
            .iter()
            .filter(|c| !c.key.starts_with("checks-understanding"))
            .collect();
        let untouched: Vec<&CriterionSpec> = was.criteria.iter().collect();
        assert_eq!(kept, untouched, "the criteria of {} kept", was.key);
    }

    // A weight of 150 is refused: the page says why and marks the field, and nothing is saved.
    wait_for_text(&b, ".builder", "Professional greeting").await;
    click_centred(
        &b,
        "li.builder-criterion[data-key='greeting'] .builder-toggle",
    )
    .await;
    let weight = criterion_field(&b, "greeting", ".weight").await;
    weight.clear().await.unwrap();
    weight.send_keys("150").await.unwrap();
    click(&b, "#save-definition").await;
    wait_for_text(
        &b,
        ".flash-error",
        "definition.sections[0].criteria[0].weight: must be 0 to 100",
    )
    .await;
    let marked = criterion_field(&b, "greeting", ".weight").await;
    assert_eq!(
        marked.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(marked.prop("value").await.unwrap().as_deref(), Some("150"));
    wait_for_text(
        &b,
        "li.builder-criterion[data-key='greeting'] .field-error",
        "must be 0 to 100",
    )
    .await;
    assert_eq!(
        focus_in_builder(&b).await,
        format!("greeting:{}", marked.attr("id").await.unwrap().unwrap())
    );
    assert_eq!(
        stored(&app, id).await,
        after,
        "the refused definition is not saved"
    );
    let png = b.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("form-builder-refused.png"),
        png,
    )
    .unwrap();
    b.close().await.unwrap();
}

/// The definition the builder has written into the form's textarea.
async fn written(b: &Client) -> serde_json::Value {
    let js = "return document.getElementById('definition').value;";
    let json = b.execute(js, vec![]).await.unwrap();
    serde_json::from_str(json.as_str().unwrap()).unwrap()
}

/// The keys of the criteria in the builder, in order.
async fn builder_criteria(b: &Client) -> String {
    let js = "return Array.from(document.querySelectorAll('li.builder-criterion'))\
              .map(l => l.dataset.key).join(',');";
    b.execute(js, vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// Custom points, removing with undo, a criterion dragged into another section, and the JSON
/// edited by hand — all before anything is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_builder_edits_points_undoes_removals_and_follows_the_json() {
    let Some(d) = driver().await else { return };
    let app = spawn_sqlite().await;
    app.seed_demo().await;
    let b = browser(&d).await;
    sign_in(&b, &app, "admin@example.com").await;
    create_classic_phone_form(&b, &app).await;
    wait_for_text(&b, ".builder", "Needs analysis").await;

    // A custom scale starts with two points; a third one is added and filled in.
    click_centred(
        &b,
        "li.builder-criterion[data-key='greeting'] .builder-toggle",
    )
    .await;
    criterion_field(&b, "greeting", ".scale")
        .await
        .select_by_value("custom")
        .await
        .unwrap();
    click_centred(
        &b,
        "li.builder-criterion[data-key='greeting'] .builder-points > button",
    )
    .await;
    b.active_element()
        .await
        .unwrap()
        .send_keys("Partly")
        .await
        .unwrap();
    criterion_field(&b, "greeting", ".points[2].percent")
        .await
        .send_keys("50")
        .await
        .unwrap();
    let greeting = written(&b).await["sections"][0]["criteria"][0].clone();
    assert_eq!(greeting["scale"], "custom");
    assert_eq!(
        greeting["points"],
        serde_json::json!([
            {"label": "", "percent": 100},
            {"label": "", "percent": 0},
            {"label": "Partly", "percent": 50}
        ])
    );
    wait_for_text(&b, "[data-form-preview]", "Partly (50 %)").await;

    // A removed criterion comes back with Undo, where it was.
    let all = builder_criteria(&b).await;
    click_centred(
        &b,
        "li.builder-criterion[data-key='listening'] .builder-remove",
    )
    .await;
    wait_for_text(
        &b,
        "#builder-status",
        "Removed “Listening and understanding”.",
    )
    .await;
    assert!(!builder_criteria(&b).await.contains("listening"));
    click(&b, "#builder-undo").await;
    wait_for_text(
        &b,
        "#builder-status",
        "“Listening and understanding” is back.",
    )
    .await;
    assert_eq!(builder_criteria(&b).await, all);

    // A criterion dragged onto the lower half of another lands after it, in that section.
    drag_onto(
        &b,
        "li.builder-criterion[data-key='questioning'] > .builder-head > .builder-handle",
        "li.builder-criterion[data-key='identification'] > .builder-head",
        "start",
        5,
    )
    .await;
    wait_for_text(
        &b,
        "#builder-status",
        "“Targeted questioning” is now 2 of 3 in “Opening”.",
    )
    .await;
    let opening = written(&b).await["sections"][0]["criteria"].clone();
    let keys: Vec<&str> = opening
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["greeting", "questioning", "identification"]);

    // The JSON edited by hand is taken over; JSON that does not parse is said so.
    let edit = "document.querySelector('[data-raw-definition]').open = true; \
                const t = document.getElementById('definition'); \
                const v = JSON.parse(t.value); v.sections[0].title = 'Begin'; \
                t.value = JSON.stringify(v); t.dispatchEvent(new Event('change'));";
    b.execute(edit, vec![]).await.unwrap();
    wait_for_text(
        &b,
        "li.builder-section[data-key='opening'] .builder-toggle",
        "Begin",
    )
    .await;
    let broken = "const t = document.getElementById('definition'); \
                  t.value = '{oops'; t.dispatchEvent(new Event('change'));";
    b.execute(broken, vec![]).await.unwrap();
    wait_for_text(&b, "#definition-error", "The JSON could not be read").await;
    b.close().await.unwrap();
}

/// Drags the element `handle` with the mouse onto `target`, `y` pixels off its centre, after
/// scrolling the target into view (`block`: `start` or `center`).
async fn drag_onto(b: &Client, handle: &str, target: &str, block: &str, y: i64) {
    let handle = b.find(Locator::Css(handle)).await.unwrap();
    let target = b.find(Locator::Css(target)).await.unwrap();
    let arg = serde_json::to_value(&target).unwrap();
    let scroll = format!("arguments[0].scrollIntoView({{block: '{block}'}});");
    b.execute(&scroll, vec![arg]).await.unwrap();
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: handle,
            duration: None,
            x: 0,
            y: 0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 0,
            y: -10,
        })
        .then(PointerAction::MoveToElement {
            element: target,
            duration: Some(Duration::from_millis(300)),
            x: 0,
            y,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    b.perform_actions(drag).await.unwrap();
}

/// A facilitator runs a calibration session in the browser: plans it and invites two
/// evaluators, who score two calls blind; reveals the scores; records the reference agreed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calibration_session_from_invitation_to_reveal_to_reference() {
    let Some(d) = driver().await else { return };
    let app = spawn_sqlite().await;
    app.seed_demo().await;
    app.import_csv(
        "ACME-DE",
        "external_id,channel,agent,arrived,answered,ended\n\
         CAL-1,phone,agent@example.com,2026-03-02 09:00:00,2026-03-02 09:00:10,2026-03-02 09:05:00\n\
         CAL-2,phone,agent@example.com,2026-03-02 10:00:00,2026-03-02 10:00:10,2026-03-02 10:05:00\n",
    )
    .await;
    let program = app.program_id("ACME-DE").await.0;
    let admin = app.token_for("admin@example.com").await;
    let c = client();
    let form: serde_json::Value = c
        .post(app.url(&format!("/api/v1/programs/{program}/forms")))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"template": "classic-phone", "language": "en"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let version = form["id"].as_i64().unwrap();
    c.post(app.url(&format!("/api/v1/form-versions/{version}/publish")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let qa = app.person_id("qa@example.com").await.0;
    let lead = app.person_id("lead@example.com").await.0;
    let b = browser(&d).await;

    // The facilitator plans the session and invites QA and the team lead.
    sign_in(&b, &app, "admin@example.com").await;
    b.goto(&app.url("/calibration")).await.unwrap();
    click(&b, "#new-session").await;
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("program"))
        .await
        .unwrap()
        .select_by_value(&program.to_string())
        .await
        .unwrap();
    click(&b, "#choose-program").await;
    type_into(&b, "#title", "March calibration").await;
    click(&b, &format!("input[name='participant'][value='{qa}']")).await;
    click(&b, &format!("input[name='participant'][value='{lead}']")).await;
    type_into(&b, "#contacts", "CAL-1, CAL-2").await;
    // The session is about the relationship question.
    click(&b, "input[name='focus'][value$=':relationship']").await;
    click(&b, "#create-session").await;
    wait_for_text(&b, "#session-state", "hidden until revealed").await;
    wait_for_text(&b, "#session-focus", "Relationship").await;
    let session = b.current_url().await.unwrap().path().to_owned();
    sign_out(&b).await;

    // Each scores both calls blind; the lead says the relationship was not kept on CAL-1.
    for (who, except) in [
        ("qa@example.com", vec![]),
        ("lead@example.com", vec![("relationship", "no")]),
    ] {
        sign_in(&b, &app, who).await;
        b.goto(&app.url(&session)).await.unwrap();
        click(&b, "a.score-link").await;
        wait_for_text(&b, "main", "CAL-1").await;
        if !except.is_empty() {
            // Handing in half a form is refused; the answer given stays on the page.
            click(&b, "input[name='answer:relationship'][value='no']").await;
            click(&b, "#hand-in").await;
            b.wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css(".flash-error"))
                .await
                .unwrap();
            let kept = b
                .find(Locator::Css(
                    "input[name='answer:relationship'][value='no']",
                ))
                .await
                .unwrap()
                .prop("checked")
                .await
                .unwrap();
            assert_eq!(
                kept.as_deref(),
                Some("true"),
                "the answer survives the refusal"
            );
        }
        answer_all(&b, &except).await;
        click(&b, "#hand-in").await;
        wait_for_text(&b, "main", "CAL-2").await;
        answer_all(&b, &[]).await;
        click(&b, "#hand-in").await;
        wait_for_text(&b, "#results-hidden", "until the facilitator reveals").await;
        sign_out(&b).await;
    }

    // The facilitator reveals: agreement per criterion, and the one difference marked.
    sign_in(&b, &app, "admin@example.com").await;
    b.goto(&app.url(&session)).await.unwrap();
    click(&b, "#reveal").await;
    wait_for_text(&b, "#session-state", "Revealed").await;
    wait_for_text(&b, "#agreement", "Relationship").await;
    let first = b
        .find(Locator::Css("#agreement tbody tr"))
        .await
        .unwrap()
        .attr("data-criterion")
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("relationship"), "the focus leads");
    let differs = b.find_all(Locator::Css("tr.differs")).await.unwrap().len();
    assert_eq!(
        differs, 1,
        "only the relationship question on CAL-1 differs"
    );

    // The session agrees the relationship was kept, and says why.
    let block = b
        .find(Locator::Css("section[id^='contact-']"))
        .await
        .unwrap();
    block
        .find(Locator::Css("select[name='ref:relationship']"))
        .await
        .unwrap()
        .select_by_value("yes")
        .await
        .unwrap();
    block
        .find(Locator::Css("input[name='note:relationship']"))
        .await
        .unwrap()
        .send_keys("The customer thanked the agent twice.")
        .await
        .unwrap();
    block
        .find(Locator::Css("button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Saved once the page comes back at the contact's block.
    for _ in 0..100 {
        let url = b.current_url().await.unwrap();
        if url.fragment().is_some_and(|f| f.starts_with("contact-")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_text(&b, "#deviation", "Lena Hoffmann").await;
    let stored = kalibra::calibration::session::references(
        &app.db,
        session.trim_start_matches("/calibration/").parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(stored.len(), 1);
    let ((_, key), (value, note)) = stored.into_iter().next().unwrap();
    assert_eq!(
        (key.as_str(), value.as_str(), note.as_str()),
        (
            "relationship",
            "yes",
            "The customer thanked the agent twice."
        )
    );
}
