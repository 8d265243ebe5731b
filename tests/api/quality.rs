//! Quality monitoring through the API: forms from templates and definitions, versions that never
//! change once published, evaluations scored by docs/scoring.md, and who reads them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

/// The form of docs/scoring.md's worked examples, with the critical mode asked for.
fn example_form(critical_mode: &str) -> Value {
    let mut form: Value =
        serde_json::from_str(include_str!("../fixtures/scoring-example-form.json")).unwrap();
    form["critical_mode"] = json!(critical_mode);
    form
}

const CONTACTS: &str = "\
external_id,channel,agent,arrived,answered,ended
P-1,phone,agent@example.com,2026-03-02 09:00:00,2026-03-02 09:00:10,2026-03-02 09:05:00
P-2,phone,agent@example.com,2026-03-02 10:00:00,2026-03-02 10:00:10,2026-03-02 10:05:00
P-3,phone,agent@example.com,2026-03-02 11:00:00,2026-03-02 11:00:10,2026-03-02 11:05:00
E-1,email,agent@example.com,2026-03-02 12:00:00,2026-03-02 14:00:00,
X-1,phone,someone.else,2026-03-02 13:00:00,2026-03-02 13:00:10,2026-03-02 13:05:00
X-2,phone,someone.else,2026-03-02 14:00:00,2026-03-02 14:00:10,2026-03-02 14:05:00
";

pub(crate) async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = c.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) struct Api<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) c: reqwest::Client,
}

impl Api<'_> {
    pub(crate) async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        call(
            &self.c,
            reqwest::Method::GET,
            self.app.url(path),
            token,
            None,
        )
        .await
    }
    pub(crate) async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        call(
            &self.c,
            reqwest::Method::POST,
            self.app.url(path),
            token,
            Some(body),
        )
        .await
    }
    pub(crate) async fn put(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        call(
            &self.c,
            reqwest::Method::PUT,
            self.app.url(path),
            token,
            Some(body),
        )
        .await
    }
}

/// The form builder's settings on a draft's page.
fn builder_settings(html: &str) -> Value {
    let start = "<script type=\"application/json\" id=\"form-builder-config\">";
    let from = html
        .find(start)
        .expect("the page has the builder's settings")
        + start.len();
    let to = from + html[from..].find("</script>").expect("the settings end");
    serde_json::from_str(&html[from..to]).expect("the settings are JSON")
}

/// Creates and publishes the worked example's form in ACME-DE; returns the version id.
pub(crate) async fn publish_example(api: &Api<'_>, admin: &str, mode: &str) -> i64 {
    let a = api.app.program_id("ACME-DE").await.0;
    let (s, _) = api
        .post(
            admin,
            "/api/v1/principles",
            json!({"key": "effective", "name": "Effective"}),
        )
        .await;
    assert!(s == StatusCode::CREATED || s == StatusCode::CONFLICT, "{s}");
    let (s, v) = api
        .post(
            admin,
            &format!("/api/v1/programs/{a}/forms"),
            json!({"definition": example_form(mode)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = api
        .post(
            admin,
            &format!("/api/v1/form-versions/{id}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

/// Starts, fills and submits an evaluation as `token`; returns the submitted evaluation.
pub(crate) async fn evaluate(api: &Api<'_>, token: &str, contact: i64, answers: Value) -> Value {
    let (s, e) = api
        .post(
            token,
            &format!("/api/v1/contacts/{contact}/evaluations"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = e["id"].as_i64().unwrap();
    assert_eq!(e["status"], "draft");
    let (s, e) = api
        .put(
            token,
            &format!("/api/v1/evaluations/{id}"),
            json!({"answers": answers, "comment": "ok"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = api
        .post(
            token,
            &format!("/api/v1/evaluations/{id}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["status"], "submitted");
    e
}

pub(crate) fn ans(criterion: &str, value: Value) -> Value {
    json!({"criterion": criterion, "value": value})
}

both_backends! {
    async fn each_step_answers_with_what_a_read_shows_after_it(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let a = app.program_id("ACME-DE").await.0;
        let ids = app.import_csv("ACME-DE", CONTACTS).await;
        publish_example(&api, &admin, "zero").await;

        let (s, started) = api.post(&qa, &format!("/api/v1/contacts/{}/evaluations", ids["P-1"]), json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{started}");
        let id = started["id"].as_i64().unwrap();
        let path = format!("/api/v1/evaluations/{id}");
        let (_, read) = api.get(&qa, &path).await;
        assert_eq!(started, read);
        assert_eq!(started["missing"], json!(["greeting", "listening", "information", "relationship"]));
        assert_eq!(started["history"][0]["action"], "created");

        // Answers given out of the form's order, one with a comment and spaces to trim.
        let answers = json!({"answers": [
            ans("relationship", json!("yes")), ans("listening", json!(4)),
            {"criterion": "greeting", "value": " yes ", "comment": "warm"},
        ], "comment": "first pass"});
        let (s, saved) = api.put(&qa, &path, answers.clone()).await;
        assert_eq!(s, StatusCode::OK, "{saved}");
        let (_, read) = api.get(&qa, &path).await;
        assert_eq!(saved, read);
        assert_eq!(saved["missing"], json!(["information"]));
        // Saved again within the same moment, it still counts as a change.
        let (_, again) = api.put(&qa, &path, answers).await;
        assert!(again["updated_at"].as_i64() > saved["updated_at"].as_i64(), "{again}");

        let full = json!({"answers": [
            ans("greeting", json!("yes")), ans("listening", json!(4)),
            ans("information", json!("Partly")), ans("relationship", json!("yes")),
        ], "comment": "done"});
        let (_, saved) = api.put(&qa, &path, full).await;
        assert!((saved["score"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-12, "{saved}");
        let (s, submitted) = api.post(&qa, &format!("{path}/submit"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{submitted}");
        let (_, read) = api.get(&qa, &path).await;
        assert_eq!(submitted, read);
        assert_eq!(submitted["status"], "submitted");
        assert_eq!(submitted["history"][1]["detail"], "66.7");
        let (s, _) = api.post(&qa, &format!("{path}/submit"), json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "submitted once");

        // A save racing a submission: what the figures count is what is stored.
        for contact in ["P-2", "P-3"] {
            let (_, e) = api.post(&qa, &format!("/api/v1/contacts/{}/evaluations", ids[contact]), json!({})).await;
            let path = format!("/api/v1/evaluations/{}", e["id"]);
            let all = |listening: i64| json!({"answers": [
                ans("greeting", json!("yes")), ans("listening", json!(listening)),
                ans("information", json!("Fully")), ans("relationship", json!("no")),
            ]});
            api.put(&qa, &path, all(1)).await;
            let submit_path = format!("{path}/submit");
            let (save, submit) = tokio::join!(
                api.put(&qa, &path, all(5)),
                api.post(&qa, &submit_path, json!({})),
            );
            assert_eq!(submit.0, StatusCode::OK, "{}", submit.1);
            assert!(save.0 == StatusCode::OK || save.0 == StatusCode::CONFLICT, "{}", save.1);
            let (_, read) = api.get(&qa, &path).await;
            assert_eq!(submit.1, read, "the submission shows what it stored");
        }
        let (_, q) = api.get(&admin, &format!("/api/v1/programs/{a}/quality?from=2000-01-01&to=2999-12-31")).await;
        let mut sum = 0.0;
        for contact in ["P-1", "P-2", "P-3"] {
            let (_, list) = api.get(&qa, &format!("/api/v1/contacts/{}/evaluations", ids[contact])).await;
            sum += list[0]["score"].as_f64().unwrap();
        }
        assert_eq!(q["total"]["evaluations"], 3, "{q}");
        assert!((q["total"]["iqs"]["value"].as_f64().unwrap() - sum / 3.0).abs() < 1e-9, "{q}");
    }

    async fn forms_start_from_a_template_and_published_versions_never_change(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let agent = app.token_for("agent@example.com").await;
        let a = app.program_id("ACME-DE").await.0;

        let (s, list) = api.get(&qa, "/api/v1/form-templates?language=de").await;
        assert_eq!(s, StatusCode::OK);
        let names: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names[0], "Qualitätsmonitoring 2.0");
        assert_eq!(names.len(), 4);
        assert_eq!(list[0]["id"], "quality-monitoring-2");

        let body = json!({"template": "quality-monitoring-2", "language": "de"});
        let (s, _) = api.post(&qa, &format!("/api/v1/programs/{a}/forms"), body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "only administrators build forms");
        let (s, draft) = api.post(&admin, &format!("/api/v1/programs/{a}/forms"), body).await;
        assert_eq!(s, StatusCode::CREATED, "{draft}");
        assert_eq!((draft["version"].as_i64(), draft["status"].as_str()), (Some(1), Some("draft")));
        assert_eq!(draft["definition"]["sections"][0]["title"], "Wirksam");
        let (s, bad) = api.post(&admin, &format!("/api/v1/programs/{a}/forms"), json!({"template": "nope"})).await;
        assert_eq!((s, bad["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template")));

        // The template's principles now exist, named in the template's language.
        let (_, principles) = api.get(&agent, "/api/v1/principles").await;
        let keys: Vec<&str> = principles.as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
        for k in ["effective", "connecting", "accessible", "surprising"] {
            assert!(keys.contains(&k), "{keys:?}");
        }
        let (_, kpis) = api.get(&agent, "/api/v1/quality-kpis").await;
        assert_eq!(kpis.as_array().unwrap().len(), 3);

        // Editing a draft; a wrong definition names the place.
        let id = draft["id"].as_i64().unwrap();
        let mut def = draft["definition"].clone();
        def["name"] = json!("Qualitätsmonitoring 2.0 — ACME");
        let (s, v) = api.put(&admin, &format!("/api/v1/form-versions/{id}"), def.clone()).await;
        assert_eq!((s, v["name"].as_str()), (StatusCode::OK, Some("Qualitätsmonitoring 2.0 — ACME")));
        let mut wrong = def.clone();
        wrong["sections"][1]["criteria"][0]["weight"] = json!(101);
        let (s, e) = api.put(&admin, &format!("/api/v1/form-versions/{id}"), wrong).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["field"], "definition.sections[1].criteria[0].weight");
        let mut unknown_kpi = def.clone();
        unknown_kpi["sections"][0]["criteria"][0]["kpi"] = json!("revenue");
        let (s, e) = api.put(&admin, &format!("/api/v1/form-versions/{id}"), unknown_kpi).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("definition.kpi")));
        assert!(e["message"].as_str().unwrap().contains("revenue"), "{e}");

        // Agents see published forms only.
        let (_, forms) = api.get(&agent, &format!("/api/v1/programs/{a}/forms")).await;
        assert_eq!(forms, json!([]));
        let (s, _) = api.get(&agent, &format!("/api/v1/form-versions/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        let (s, v) = api.post(&admin, &format!("/api/v1/form-versions/{id}/publish"), json!({})).await;
        assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("published")));
        let (s, _) = api.put(&admin, &format!("/api/v1/form-versions/{id}"), def.clone()).await;
        assert_eq!(s, StatusCode::CONFLICT, "a published version never changes");
        // Not even behind the application's back.
        let sql = "UPDATE form_versions SET definition = '{}' WHERE id = $1";
        let refused = kalibra::on_db!(&app.db, p => sqlx::query(sql).bind(id).execute(p).await.map(|_| ()));
        assert!(refused.is_err(), "the schema refuses to change a published version");
        let (s, v) = api.get(&agent, &format!("/api/v1/form-versions/{id}")).await;
        assert_eq!((s, v["version"].as_i64()), (StatusCode::OK, Some(1)));

        // Editing makes a new draft; publishing it retires version 1.
        let form = v["form_id"].as_i64().unwrap();
        let (s, v2) = api.post(&admin, &format!("/api/v1/forms/{form}/draft"), json!({})).await;
        assert_eq!((s, v2["version"].as_i64()), (StatusCode::CREATED, Some(2)));
        let (s, _) = api.post(&admin, &format!("/api/v1/forms/{form}/draft"), json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "one draft at a time");
        let id2 = v2["id"].as_i64().unwrap();
        api.post(&admin, &format!("/api/v1/form-versions/{id2}/publish"), json!({})).await;
        let (_, forms) = api.get(&agent, &format!("/api/v1/programs/{a}/forms")).await;
        let statuses: Vec<(i64, &str)> = forms[0]["versions"].as_array().unwrap().iter()
            .map(|v| (v["version"].as_i64().unwrap(), v["status"].as_str().unwrap())).collect();
        assert_eq!(statuses, [(2, "published"), (1, "retired")]);

        let (_, log) = api.get(&admin, "/api/v1/audit?action=form.published").await;
        assert_eq!(log.as_array().map(Vec::len), Some(2), "{log}");
    }

    async fn scores_match_the_worked_examples(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let a = app.program_id("ACME-DE").await.0;
        let ids = app.import_csv("ACME-DE", CONTACTS).await;

        // A form names only principles and KPIs that exist.
        let (s, e) = api.post(&admin, &format!("/api/v1/programs/{a}/forms"), json!({"definition": example_form("zero")})).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("definition.principle")), "{e}");
        // Nothing to evaluate with before a form is published.
        let (s, e) = api.post(&qa, &format!("/api/v1/contacts/{}/evaluations", ids["P-1"]), json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");
        publish_example(&api, &admin, "zero").await;

        // Example 1: 4.0 of 6 = 66.67 %, not passed, RQ yes.
        let e = evaluate(&api, &qa, ids["P-1"], json!([
            ans("greeting", json!("yes")), ans("listening", json!(4)),
            ans("information", json!("Partly")), ans("relationship", json!("yes")),
        ])).await;
        assert_eq!((e["earned"].as_f64(), e["possible"].as_f64()), (Some(4.0), Some(6.0)));
        assert!((e["score"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-12, "{e}");
        assert_eq!((e["passed"].as_bool(), e["rq"].as_bool(), e["failed"].as_bool()), (Some(false), Some(true), Some(false)));
        assert_eq!(e["answers"][1]["percent"].as_f64(), Some(75.0));

        // Example 2: n/a leaves both sides, 3 of 4 = 75 %.
        let e = evaluate(&api, &qa, ids["P-2"], json!([
            ans("greeting", json!("no")), ans("listening", json!("n/a")),
            ans("information", json!("Fully")), ans("relationship", json!("no")),
        ])).await;
        assert_eq!((e["score"].as_f64(), e["rq"].as_bool()), (Some(75.0), Some(false)));
        assert_eq!(e["answers"][1]["percent"], Value::Null);

        // Example 3: a critical failure sets the score to 0 on this form.
        let e = evaluate(&api, &qa, ids["P-3"], json!([
            ans("greeting", json!("yes")), ans("listening", json!(5)),
            ans("information", json!("Wrong")), ans("relationship", json!("yes")),
        ])).await;
        assert_eq!((e["score"].as_f64(), e["failed"].as_bool()), (Some(0.0), Some(true)));
        assert_eq!(e["critical_failures"], json!(["information"]));

        // Example 4: the relationship question is not asked of e-mails.
        let (_, draft) = api.post(&qa, &format!("/api/v1/contacts/{}/evaluations", ids["E-1"]), json!({})).await;
        let id = draft["id"].as_i64().unwrap();
        let (s, e) = api.put(&qa, &format!("/api/v1/evaluations/{id}"), json!({"answers": [ans("relationship", json!("yes"))]})).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("answers[0].criterion")), "{e}");
        let (s, e) = api.put(&qa, &format!("/api/v1/evaluations/{id}"), json!({"answers": [ans("greeting", json!("maybe"))]})).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("answers[0].value")));
        let (s, e) = api.put(&qa, &format!("/api/v1/evaluations/{id}"), json!({"answers": [ans("greeting", json!("yes"))]})).await;
        assert_eq!((s, e["missing"].clone()), (StatusCode::OK, json!(["listening", "information"])));
        let (s, e) = api.post(&qa, &format!("/api/v1/evaluations/{id}/submit"), json!({})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an incomplete draft is not submitted");
        assert!(e["message"].as_str().unwrap().contains("listening, information"), "{e}");
        let (s, again) = api.post(&qa, &format!("/api/v1/contacts/{}/evaluations", ids["E-1"]), json!({})).await;
        assert_eq!((s, again["id"].as_i64()), (StatusCode::OK, Some(id)), "starting again opens the draft");
        api.put(&qa, &format!("/api/v1/evaluations/{id}"), json!({"answers": [
            ans("greeting", json!("yes")), ans("listening", json!(5)), ans("information", json!("Fully")),
        ]})).await;
        let (s, e) = api.post(&qa, &format!("/api/v1/evaluations/{id}/submit"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{e}");
        assert_eq!((e["score"].as_f64(), e["passed"].as_bool(), e["rq"].clone()), (Some(100.0), Some(true), Value::Null));
        let (s, _) = api.put(&qa, &format!("/api/v1/evaluations/{id}"), json!({"answers": []})).await;
        assert_eq!(s, StatusCode::CONFLICT, "a submitted evaluation is not edited");
    }

    async fn a_long_form_keeps_every_answer(app: TestApp) {
        // Answers are stored a few hundred to a statement: 450 criteria take three.
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let a = app.program_id("ACME-DE").await.0;
        let ids = app.import_csv("ACME-DE", CONTACTS).await;
        let criteria: Vec<Value> = (0..450)
            .map(|i| json!({"key": format!("c{i:03}"), "name": format!("Criterion {i}"), "scale": "yes_no"}))
            .collect();
        let form = json!({"name": "Long", "channels": ["phone"], "sections": [
            {"key": "all", "title": "All", "criteria": criteria}]});
        let (s, v) = api.post(&admin, &format!("/api/v1/programs/{a}/forms"), json!({"definition": form})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = api.post(&admin, &format!("/api/v1/form-versions/{}/publish", v["id"]), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let answers: Vec<Value> = (0..450)
            .map(|i| ans(&format!("c{i:03}"), json!(if i == 321 { "no" } else { "yes" })))
            .collect();
        let e = evaluate(&api, &qa, ids["P-1"], json!(answers)).await;
        let stored = e["answers"].as_array().unwrap();
        assert_eq!(stored.len(), 450);
        let no: Vec<&str> = stored.iter().filter(|a| a["value"] == "no").map(|a| a["criterion"].as_str().unwrap()).collect();
        assert_eq!(no, ["c321"]);
        // 449 of 450 points.
        assert!((e["score"].as_f64().unwrap() - 449.0 / 450.0 * 100.0).abs() < 1e-9, "{}", e["score"]);
    }

    async fn evaluations_are_read_by_whom_they_concern(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let lead = app.token_for("lead@example.com").await;
        let agent = app.token_for("agent@example.com").await;
        let planner = app.token_for("planner@example.com").await;
        let client_viewer = app.token_for("client@example.com").await;
        let other_agent = app.token_for("agent2@example.com").await;
        let ids = app.import_csv("ACME-DE", CONTACTS).await;
        publish_example(&api, &admin, "fail").await;
        let p1 = ids["P-1"];
        let start = |kind: &str| json!({"kind": kind});

        let (s, draft) = api.post(&qa, &format!("/api/v1/contacts/{p1}/evaluations"), start("evaluation")).await;
        assert_eq!(s, StatusCode::CREATED);
        let id = draft["id"].as_i64().unwrap();
        let path = format!("/api/v1/evaluations/{id}");
        for (who, token) in [("agent", &agent), ("lead", &lead)] {
            let (s, _) = api.get(token, &path).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{who} does not see a draft about them");
        }
        let (s, _) = api.put(&admin, &path, json!({"answers": []})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "only its evaluator edits a draft");
        api.put(&qa, &path, json!({"answers": [
            ans("greeting", json!("yes")), ans("listening", json!(3)),
            ans("information", json!("Wrong")), ans("relationship", json!("no")),
        ]})).await;
        let (_, e) = api.post(&qa, &format!("{path}/submit"), json!({})).await;
        // Critical mode "fail" keeps the computed score: 1 + 1 + 0 of 6.
        assert_eq!((e["score"].as_f64(), e["failed"].as_bool()), (Some(100.0 / 3.0), Some(true)));
        for (who, token, expected) in [
            ("agent", &agent, StatusCode::OK),
            ("lead", &lead, StatusCode::OK),
            ("admin", &admin, StatusCode::OK),
            ("planner", &planner, StatusCode::NOT_FOUND),
            ("client viewer", &client_viewer, StatusCode::NOT_FOUND),
            ("agent of another program", &other_agent, StatusCode::NOT_FOUND),
        ] {
            let (s, _) = api.get(token, &path).await;
            assert_eq!(s, expected, "{who}");
        }

        // Who may start one.
        for (who, token, kind, expected) in [
            ("planner", &planner, "evaluation", StatusCode::FORBIDDEN),
            ("client viewer", &client_viewer, "evaluation", StatusCode::FORBIDDEN),
            ("evaluator, as self", &qa, "self", StatusCode::FORBIDDEN),
            ("agent, as evaluator", &agent, "evaluation", StatusCode::FORBIDDEN),
            ("team lead", &lead, "evaluation", StatusCode::CREATED),
            ("agent", &agent, "self", StatusCode::CREATED),
        ] {
            let (s, e) = api.post(token, &format!("/api/v1/contacts/{p1}/evaluations"), start(kind)).await;
            assert_eq!(s, expected, "{who}: {e}");
        }
        let (s, _) = api.post(&agent, &format!("/api/v1/contacts/{}/evaluations", ids["X-1"]), start("self")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "another agent's contact is not found");

        // The agent's self-evaluation draft is theirs alone; the contact lists what each may read.
        let (_, mine) = api.get(&agent, &format!("/api/v1/contacts/{p1}/evaluations")).await;
        let kinds: Vec<(&str, &str)> = mine.as_array().unwrap().iter()
            .map(|e| (e["kind"].as_str().unwrap(), e["status"].as_str().unwrap())).collect();
        assert_eq!(kinds, [("evaluation", "submitted"), ("self", "draft")]);
        let (_, seen) = api.get(&qa, &format!("/api/v1/contacts/{p1}/evaluations")).await;
        let kinds: Vec<(&str, &str)> = seen.as_array().unwrap().iter()
            .map(|e| (e["kind"].as_str().unwrap(), e["status"].as_str().unwrap())).collect();
        assert_eq!(kinds, [("evaluation", "submitted"), ("evaluation", "draft")], "the lead's draft, not the agent's");
        assert_eq!(seen[0]["agent_id"].as_i64(), Some(app.person_id("agent@example.com").await.0));
    }

    async fn agents_acknowledge_or_dispute_and_a_lead_resolves(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let lead = app.token_for("lead@example.com").await;
        let agent = app.token_for("agent@example.com").await;
        let ids = app.import_csv("ACME-DE", CONTACTS).await;
        publish_example(&api, &admin, "zero").await;
        let first = evaluate(&api, &qa, ids["P-1"], json!([
            ans("greeting", json!("yes")), ans("listening", json!(4)),
            ans("information", json!("Partly")), ans("relationship", json!("yes")),
        ])).await;
        let second = evaluate(&api, &qa, ids["P-2"], json!([
            ans("greeting", json!("no")), ans("listening", json!("n/a")),
            ans("information", json!("Fully")), ans("relationship", json!("no")),
        ])).await;
        let (one, two) = (first["id"].as_i64().unwrap(), second["id"].as_i64().unwrap());

        // Acknowledging is the agent's.
        let (s, _) = api.post(&lead, &format!("/api/v1/evaluations/{one}/acknowledge"), json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, e) = api.post(&agent, &format!("/api/v1/evaluations/{one}/acknowledge"), json!({})).await;
        assert_eq!((s, e["status"].as_str()), (StatusCode::OK, Some("acknowledged")));
        let (s, _) = api.post(&agent, &format!("/api/v1/evaluations/{one}/dispute"),
            json!({"items": [{"criterion": "greeting", "proposed": "no", "reason": "x"}]})).await;
        assert_eq!(s, StatusCode::CONFLICT, "an acknowledged evaluation is not disputed");

        // A dispute names criteria, reasons and answers on the scale.
        let dispute = |items: Value| json!({"items": items});
        let path = format!("/api/v1/evaluations/{two}/dispute");
        for (items, field) in [
            (json!([{"criterion": "greeting", "proposed": "no", "reason": "same"}]), "items[0].proposed"),
            (json!([{"criterion": "greeting", "proposed": "maybe", "reason": "x"}]), "items[0].proposed"),
            (json!([{"criterion": "greeting", "proposed": "yes", "reason": " "}]), "items[0].reason"),
            (json!([{"criterion": "tone", "proposed": "yes", "reason": "x"}]), "items[0].criterion"),
            (json!([]), "items"),
        ] {
            let (s, e) = api.post(&agent, &path, dispute(items)).await;
            assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{e}");
        }
        let (s, e) = api.post(&agent, &path, dispute(json!([
            {"criterion": "greeting", "proposed": "yes", "reason": "I greeted the customer by name at 0:03."},
            {"criterion": "relationship", "proposed": "yes", "reason": "The customer thanked us twice."},
        ]))).await;
        assert_eq!((s, e["status"].as_str()), (StatusCode::OK, Some("disputed")), "{e}");
        let disputed_at = e["disputed_at"].as_i64().unwrap();
        assert_eq!(e["resolve_by"].as_i64(), Some(disputed_at + 7 * 24 * 3600 * 1000));
        assert_eq!(e["disputes"][0]["original_value"], "no");

        // The queue: QA and the agent's lead see it, the agent does not.
        let (_, q) = api.get(&qa, "/api/v1/disputes").await;
        assert_eq!((q[0]["evaluation_id"].as_i64(), q[0]["criteria"].as_u64(), q[0]["overdue"].as_bool()),
                   (Some(two), Some(2), Some(false)), "{q}");
        let (_, q) = api.get(&lead, "/api/v1/disputes").await;
        assert_eq!(q.as_array().unwrap().len(), 1);
        let (_, q) = api.get(&agent, "/api/v1/disputes").await;
        assert_eq!(q, json!([]));

        let resolve = format!("/api/v1/evaluations/{two}/resolve");
        let (s, _) = api.post(&agent, &resolve, json!({"decisions": []})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "nobody resolves their own dispute");
        let (s, e) = api.post(&lead, &resolve, json!({"decisions": [{"criterion": "greeting", "upheld": true}]})).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("decisions")), "{e}");
        let (s, e) = api.post(&lead, &resolve, json!({"decisions": [
            {"criterion": "greeting", "upheld": true}, {"criterion": "relationship", "upheld": false},
        ], "note": "Greeting heard at 0:03."})).await;
        assert_eq!(s, StatusCode::OK, "{e}");
        // Greeting yes now: 1 + 3 of 1 + 3 (listening n/a) = 100 %; the relationship stays no.
        assert_eq!((e["status"].as_str(), e["resolution"].as_str()), (Some("resolved"), Some("partly_upheld")));
        assert_eq!((e["score"].as_f64(), e["passed"].as_bool(), e["rq"].as_bool()), (Some(100.0), Some(true), Some(false)));
        let outcomes: Vec<&str> = e["disputes"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["upheld", "rejected"]);
        let history: Vec<&str> = e["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
        assert_eq!(history, ["created", "submitted", "disputed", "resolved"]);
        assert!(e["history"][3]["detail"].as_str().unwrap().contains("score 75.0 → 100.0"), "{e}");
        let (_, q) = api.get(&qa, "/api/v1/disputes").await;
        assert_eq!(q, json!([]));
        let (s, _) = api.post(&lead, &resolve, json!({"decisions": []})).await;
        assert_eq!(s, StatusCode::CONFLICT);
    }

    async fn quality_figures_match_hand_computed_values(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let lead = app.token_for("lead@example.com").await;
        let agent = app.token_for("agent@example.com").await;
        let client_viewer = app.token_for("client@example.com").await;
        let program = app.program_id("ACME-DE").await.0;
        let ids = app.import_csv("ACME-DE", CONTACTS).await;
        publish_example(&api, &admin, "zero").await;
        let y = |c: &str| ans(c, json!("yes"));
        // The worked examples of docs/scoring.md for agent@example.com …
        evaluate(&api, &qa, ids["P-1"], json!([y("greeting"), ans("listening", json!(4)), ans("information", json!("Partly")), y("relationship")])).await;
        let p2 = evaluate(&api, &qa, ids["P-2"], json!([ans("greeting", json!("no")), ans("listening", json!("n/a")), ans("information", json!("Fully")), ans("relationship", json!("no"))])).await;
        evaluate(&api, &qa, ids["P-3"], json!([y("greeting"), ans("listening", json!(5)), ans("information", json!("Wrong")), y("relationship")])).await;
        evaluate(&api, &qa, ids["E-1"], json!([y("greeting"), ans("listening", json!(5)), ans("information", json!("Fully"))])).await;
        // … and two calls of another agent: 100 and (0 + 1 + 3) of 6.
        evaluate(&api, &qa, ids["X-1"], json!([y("greeting"), ans("listening", json!(5)), ans("information", json!("Fully")), y("relationship")])).await;
        evaluate(&api, &qa, ids["X-2"], json!([ans("greeting", json!("no")), ans("listening", json!(3)), ans("information", json!("Fully")), y("relationship")])).await;
        // Neither a draft nor a self-evaluation counts.
        api.post(&admin, &format!("/api/v1/contacts/{}/evaluations", ids["P-1"]), json!({})).await;
        let (s, own) = api.post(&agent, &format!("/api/v1/contacts/{}/evaluations", ids["P-1"]), json!({"kind": "self"})).await;
        assert_eq!(s, StatusCode::CREATED);
        let own = own["id"].as_i64().unwrap();
        api.put(&agent, &format!("/api/v1/evaluations/{own}"), json!({"answers": [y("greeting"), ans("listening", json!(5)), ans("information", json!("Fully")), y("relationship")]})).await;
        api.post(&agent, &format!("/api/v1/evaluations/{own}/submit"), json!({})).await;
        // P-2's greeting disputed and upheld: 1 + 3 of 1 + 3 = 100.
        let two = p2["id"].as_i64().unwrap();
        api.post(&agent, &format!("/api/v1/evaluations/{two}/dispute"), json!({"items": [{"criterion": "greeting", "proposed": "yes", "reason": "I did greet."}]})).await;
        let (s, _) = api.post(&lead, &format!("/api/v1/evaluations/{two}/resolve"), json!({"decisions": [{"criterion": "greeting", "upheld": true}]})).await;
        assert_eq!(s, StatusCode::OK);

        let today = chrono::Utc::now().date_naive();
        let path = |by: &str| format!("/api/v1/programs/{program}/quality?by={by}&from={}&to={}", today - chrono::Duration::days(1), today + chrono::Duration::days(1));
        let close = |a: &Value, b: f64| assert!((a.as_f64().unwrap() - b).abs() < 1e-9, "{a} ≠ {b}");
        let (s, r) = api.get(&qa, &path("agent")).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let mine = r["lines"].as_array().unwrap().iter().find(|l| l["group"] == "agent@example.com").unwrap();
        // Scores 66.67, 100, 0, 100: mean 66.67; the t interval (±75.0) is kept within 0–100.
        assert_eq!(mine["evaluations"], 4);
        close(&mine["iqs"]["value"], 200.0 / 3.0);
        assert_eq!((mine["iqs"]["low"].as_f64(), mine["iqs"]["high"].as_f64()), (Some(0.0), Some(100.0)));
        // Passed 2 of 4, Wilson (0.1500, 0.8500); RQ 2 of 3, Wilson (0.2077, 0.9385).
        close(&mine["pass_rate"]["value"], 0.5);
        close(&mine["pass_rate"]["low"], 0.150_038_989_152_149_47);
        close(&mine["pass_rate"]["high"], 0.849_961_010_847_850_6);
        close(&mine["rq"]["value"], 2.0 / 3.0);
        close(&mine["rq"]["low"], 0.207_659_600_802_047_7);
        close(&mine["rq"]["high"], 0.938_508_055_279_603_7);
        assert_eq!((mine["critical_failures"].as_i64(), mine["disputed"].as_i64(), mine["upheld"].as_i64()), (Some(1), Some(1), Some(1)));
        close(&mine["dispute_rate"], 0.25);
        // All six: mean 433.33 / 6, passed 3 of 6, RQ 4 of 5.
        let t = &r["total"];
        assert_eq!(t["evaluations"], 6);
        close(&t["iqs"]["value"], (200.0 / 3.0 + 100.0 + 0.0 + 100.0 + 100.0 + 200.0 / 3.0) / 6.0);
        close(&t["pass_rate"]["value"], 0.5);
        close(&t["rq"]["value"], 0.8);
        // Sample sizes for ±5 points: the six scores' SD is 38.968, ⌈(1.95996 · 38.968 / 5)²⌉
        // = ⌈233.33⌉ = 234; an agent with fewer than 5 scored evaluations is sized by it too.
        assert_eq!((t["suggested_evaluations"].as_u64(), mine["suggested_evaluations"].as_u64()), (Some(234), Some(234)));
        // Criteria: listening 75, n/a, 100, 100 and 2 × 50 (X-2: 3 of 5) → 5 answers, mean 75;
        // information 50, 100, 0, 100, 100, 100 → 75.
        let criterion = |k: &str| r["criteria"].as_array().unwrap().iter().find(|c| c["criterion"] == k).unwrap().clone();
        let listening = criterion("listening");
        assert_eq!((listening["answers"].as_i64(), listening["not_applicable"].as_i64()), (Some(5), Some(1)));
        close(&listening["mean"]["value"], (75.0 + 100.0 + 100.0 + 100.0 + 50.0) / 5.0);
        close(&criterion("information")["mean"]["value"], 75.0);
        assert_eq!(criterion("relationship")["answers"], 5, "not asked of the e-mail");
        // Principle "effective": greeting (weight 1) 6 answers, 5 yes; listening (weight 2)
        // earned 2 × (75 + 100 + 100 + 100 + 50) = 850 of 2 × 500: (500 + 850) / (6 + 10) = 84.375.
        let effective = r["principles"].as_array().unwrap().iter().find(|p| p["principle"] == "effective").unwrap();
        close(&effective["score"], 1350.0 / 16.0);
        assert_eq!(effective["name"], "Effective");

        // Scope: the team lead sees their agent's figures only; a client viewer the program as a whole.
        let (_, r) = api.get(&lead, &path("agent")).await;
        let groups: Vec<&str> = r["lines"].as_array().unwrap().iter().map(|l| l["group"].as_str().unwrap()).collect();
        assert_eq!(groups, ["agent@example.com"]);
        assert_eq!(r["total"]["evaluations"], 4);
        let (_, r) = api.get(&lead, &path("team")).await;
        assert_eq!(r["lines"][0]["group"], "Privatkunden");
        let (s, _) = api.get(&client_viewer, &path("agent")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "client viewers see no one person's quality");
        let (s, r) = api.get(&client_viewer, &path("month")).await;
        assert_eq!((s, r["total"]["evaluations"].as_i64()), (StatusCode::OK, Some(6)));
        // Unless the program lets them: then per agent too, but still no single evaluation.
        let (s, p) = call(&api.c, reqwest::Method::PATCH, app.url(&format!("/api/v1/programs/{program}")), &admin, Some(json!({"client_agent_detail": true}))).await;
        assert_eq!((s, p["client_agent_detail"].as_bool()), (StatusCode::OK, Some(true)), "{p}");
        let (s, r) = api.get(&client_viewer, &path("agent")).await;
        assert_eq!((s, r["lines"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
        let planner = app.token_for("planner@example.com").await;
        let (s, _) = api.get(&planner, &path("agent")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the switch is for client viewers");
        let (s, e) = api.get(&qa, &format!("/api/v1/programs/{program}/quality?by=queue")).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("by")));

        // The CSV: one row per evaluation and criterion, self-evaluation included, drafts not.
        let csv_path = path("agent").replace("/quality?", "/evaluations.csv?");
        let res = api.c.get(app.url(&csv_path)).bearer_auth(&qa).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].starts_with("evaluation_id,kind,status"), "{}", rows[0]);
        // 4 + 4 + 4 + 3 (e-mail) + 4 + 4 evaluated answers, and the self-evaluation's 4.
        assert_eq!(rows.len() - 1, 27);
        assert!(rows.iter().any(|r| r.contains(",self,submitted,")));
        let res = api.c.get(app.url(&csv_path)).bearer_auth(&agent).send().await.unwrap();
        let text = res.text().await.unwrap();
        assert!(!text.contains("someone.else"), "an agent's export holds their own evaluations");
        assert_eq!(text.lines().count() - 1, 19);
        let res = api.c.get(app.url(&csv_path)).bearer_auth(&client_viewer).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }

    async fn quality_rollups_equal_the_direct_computation(app: TestApp) {
        use rand::{Rng, SeedableRng};
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let lead = app.token_for("lead@example.com").await;
        let agent = app.token_for("agent@example.com").await;
        let program = app.program_id("ACME-DE").await.0;
        let mut csv = String::from("external_id,channel,agent,arrived,answered,ended\n");
        for i in 0..24 {
            let who = if i % 2 == 0 { "agent@example.com" } else { "someone.else" };
            let channel = if i % 3 == 0 { "email" } else { "phone" };
            csv += &format!("R-{i},{channel},{who},2026-03-02 09:{i:02}:00,2026-03-02 09:{i:02}:30,2026-03-02 09:{i:02}:50\n");
        }
        let ids = app.import_csv("ACME-DE", &csv).await;
        publish_example(&api, &admin, "fail").await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for i in 0..24 {
            let contact = ids[&format!("R-{i}")];
            let mut answers = vec![
                ans("greeting", json!(if rng.random_bool(0.7) { "yes" } else { "no" })),
                ans("listening", if rng.random_bool(0.2) { json!("n/a") } else { json!(rng.random_range(1..=5)) }),
                ans("information", json!(["Fully", "Partly", "Wrong"][rng.random_range(0..3)])),
            ];
            if i % 3 != 0 {
                answers.push(ans("relationship", json!(if rng.random_bool(0.6) { "yes" } else { "no" })));
            }
            let e = evaluate(&api, &qa, contact, json!(answers)).await;
            if i % 2 == 1 || rng.random_bool(0.3) {
                continue;
            }
            let id = e["id"].as_i64().unwrap();
            if rng.random_bool(0.3) {
                api.post(&agent, &format!("/api/v1/evaluations/{id}/acknowledge"), json!({})).await;
                continue;
            }
            let greeting = if e["answers"][0]["value"] == "yes" { "no" } else { "yes" };
            let information = if e["answers"][2]["value"] == "Fully" { "Partly" } else { "Fully" };
            let (s, d) = api.post(&agent, &format!("/api/v1/evaluations/{id}/dispute"), json!({"items": [
                {"criterion": "greeting", "proposed": greeting, "reason": "r"},
                {"criterion": "information", "proposed": information, "reason": "r"},
            ]})).await;
            assert_eq!(s, StatusCode::OK, "{d}");
            if rng.random_bool(0.8) {
                let (s, r) = api.post(&lead, &format!("/api/v1/evaluations/{id}/resolve"), json!({"decisions": [
                    {"criterion": "greeting", "upheld": rng.random_bool(0.5)},
                    {"criterion": "information", "upheld": rng.random_bool(0.5)},
                ]})).await;
                assert_eq!(s, StatusCode::OK, "{r}");
            }
        }

        // Directly from the evaluations, one by one.
        #[derive(Default, Debug)]
        struct Direct { n: i64, sum: f64, passed: i64, failed: i64, rq_yes: i64, rq: i64, disputed: i64, upheld: i64, partly: i64, rejected: i64 }
        let mut agents: std::collections::BTreeMap<String, Direct> = Default::default();
        let mut criteria: std::collections::BTreeMap<String, (i64, i64, f64)> = Default::default();
        for i in 0..24 {
            let (_, list) = api.get(&admin, &format!("/api/v1/contacts/{}/evaluations", ids[&format!("R-{i}")])).await;
            for e in list.as_array().unwrap().iter().filter(|e| e["kind"] == "evaluation" && e["status"] != "draft") {
                let d = agents.entry(e["agent_code"].as_str().unwrap().to_owned()).or_default();
                d.n += 1;
                d.sum += e["score"].as_f64().unwrap();
                d.passed += i64::from(e["passed"] == true);
                d.failed += i64::from(e["failed"] == true);
                d.rq_yes += i64::from(e["rq"] == true);
                d.rq += i64::from(!e["rq"].is_null());
                d.disputed += i64::from(!e["disputed_at"].is_null());
                d.upheld += i64::from(e["resolution"] == "upheld");
                d.partly += i64::from(e["resolution"] == "partly_upheld");
                d.rejected += i64::from(e["resolution"] == "rejected");
                for a in e["answers"].as_array().unwrap() {
                    let c = criteria.entry(a["criterion"].as_str().unwrap().to_owned()).or_default();
                    match a["percent"].as_f64() {
                        Some(p) => { c.0 += 1; c.2 += p; }
                        None => c.1 += 1,
                    }
                }
            }
        }
        let today = chrono::Utc::now().date_naive();
        let (_, r) = api.get(&qa, &format!("/api/v1/programs/{program}/quality?by=agent&from={}&to={}", today - chrono::Duration::days(1), today + chrono::Duration::days(1))).await;
        let lines = r["lines"].as_array().unwrap();
        assert_eq!(lines.len(), agents.len());
        for l in lines {
            let d = &agents[l["group"].as_str().unwrap()];
            let counts = |k: &str| l[k].as_i64().unwrap();
            assert_eq!(
                [counts("evaluations"), counts("critical_failures"), counts("rq_answered"), counts("disputed"), counts("upheld"), counts("partly_upheld"), counts("rejected")],
                [d.n, d.failed, d.rq, d.disputed, d.upheld, d.partly, d.rejected],
                "{l}"
            );
            assert!((l["iqs"]["value"].as_f64().unwrap() - d.sum / d.n as f64).abs() < 1e-9, "{l}");
            assert!((l["pass_rate"]["value"].as_f64().unwrap() - d.passed as f64 / d.n as f64).abs() < 1e-12);
            if d.rq > 0 {
                assert!((l["rq"]["value"].as_f64().unwrap() - d.rq_yes as f64 / d.rq as f64).abs() < 1e-12);
            }
        }
        assert!(agents["agent@example.com"].disputed > 0 && agents["agent@example.com"].upheld + agents["agent@example.com"].partly > 0, "the data has disputes: {agents:?}");
        for c in r["criteria"].as_array().unwrap() {
            let (answers, na, sum) = criteria[c["criterion"].as_str().unwrap()];
            assert_eq!((c["answers"].as_i64(), c["not_applicable"].as_i64()), (Some(answers), Some(na)), "{c}");
            assert!((c["mean"]["value"].as_f64().unwrap() - sum / answers as f64).abs() < 1e-9, "{c}");
        }

        // Over every agent, a report by period reads the program's own rows; they hold the
        // same sums as the agents' rows.
        let period = format!("from={}&to={}", today - chrono::Duration::days(1), today + chrono::Duration::days(1));
        let n: i64 = agents.values().map(|d| d.n).sum();
        let sum: f64 = agents.values().map(|d| d.sum).sum();
        let disputed: i64 = agents.values().map(|d| d.disputed).sum();
        for by in ["day", "week", "month"] {
            let (_, p) = api.get(&qa, &format!("/api/v1/programs/{program}/quality?by={by}&{period}")).await;
            let t = &p["total"];
            assert_eq!((t["evaluations"].as_i64(), t["disputed"].as_i64()), (Some(n), Some(disputed)), "{by}: {t}");
            assert!((t["iqs"]["value"].as_f64().unwrap() - sum / n as f64).abs() < 1e-9, "{by}: {t}");
            assert_eq!(p["criteria"], r["criteria"], "{by}");
        }
        // A lead's reach is some agents: their rows, added up.
        let (_, l) = api.get(&lead, &format!("/api/v1/programs/{program}/quality?by=agent&{period}")).await;
        let (_, w) = api.get(&lead, &format!("/api/v1/programs/{program}/quality?by=week&{period}")).await;
        let seen: Vec<&str> = l["lines"].as_array().unwrap().iter().map(|l| l["group"].as_str().unwrap()).collect();
        assert!(!seen.is_empty() && seen.len() < agents.len(), "{seen:?}");
        let theirs: i64 = seen.iter().map(|a| agents[*a].n).sum();
        assert_eq!(w["total"]["evaluations"].as_i64(), Some(theirs), "{w}");
        let answers = |r: &Value| -> i64 { r["criteria"].as_array().unwrap().iter().map(|c| c["answers"].as_i64().unwrap()).sum() };
        assert!(answers(&w) < answers(&r), "the lead's criteria count only their agents' answers");
    }

    async fn a_drafts_page_carries_the_form_builder_and_names_a_refused_field(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let token = app.token_for("admin@example.com").await;
        let a = app.program_id("ACME-DE").await.0;
        let body = json!({"key": "tricky", "name": "</script><b>Tricky</b>"});
        let (s, _) = api.post(&token, "/api/v1/principles", body).await;
        assert_eq!(s, StatusCode::CREATED);
        let body = json!({"template": "classic-phone", "language": "en"});
        let (s, draft) = api.post(&token, &format!("/api/v1/programs/{a}/forms"), body).await;
        assert_eq!(s, StatusCode::CREATED, "{draft}");
        let id = draft["id"].as_i64().unwrap();
        let page = format!("/quality/versions/{id}");

        // The administrator's draft page: the JSON to post, and the builder's settings.
        let admin = app.signed_in("admin@example.com").await;
        let html = admin.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("data-form-builder") && html.contains("name=\"definition\""));
        assert!(!html.contains("<b>Tricky"), "names cannot end the settings' script element");
        let config = builder_settings(&html);
        assert_eq!(config["texts"]["form_builder.move_up"], "Move up");
        assert_eq!(config["texts"]["quality.why"], "Why this criterion");
        let keys = |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap().to_owned()).collect() };
        for k in ["csat", "fcr", "commercial"] {
            assert!(keys(&config["kpis"]).contains(&k.to_owned()), "{config}");
        }
        assert!(keys(&config["principles"]).contains(&"tricky".to_owned()));
        assert!(config["principles"].as_array().unwrap().iter().any(|p| p["name"] == "</script><b>Tricky</b>"));
        assert_eq!(keys(&config["channels"]), ["phone", "email", "chat", "social", "bot"]);
        assert!(config["kept"]["criteria"].as_array().unwrap().contains(&json!("greeting")));
        assert_eq!(config["error"], Value::Null);

        // A refused save: the definition as sent comes back, with the place and the reason.
        let mut def = draft["definition"].clone();
        def["sections"][0]["criteria"][0]["weight"] = json!(101);
        let res = app.post_form(&admin, &page, &page, &[("definition", &def.to_string())]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("definition.sections[0].criteria[0].weight: must be 0 to 100"));
        assert!(html.contains("101"), "the definition as sent");
        let config = builder_settings(&html);
        assert_eq!(config["error"], json!({"path": "sections[0].criteria[0].weight", "message": "must be 0 to 100"}));

        // Without the builder's script, the textarea saves as it always did.
        def["sections"][0]["criteria"][0]["weight"] = json!(4);
        let res = app.post_form(&admin, &page, &page, &[("definition", &def.to_string())]).await;
        assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, page.clone()));
        let v = kalibra::quality::forms::version(&app.db, id).await.unwrap().unwrap();
        assert_eq!(v.definition.sections[0].criteria[0].weight, 4);

        // Only an administrator's draft has the builder.
        let qa = app.signed_in("qa@example.com").await;
        let res = qa.get(app.url(&page)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(!res.text().await.unwrap().contains("form-builder-config"));
        let (s, _) = api.post(&token, &format!("/api/v1/form-versions/{id}/publish"), json!({})).await;
        assert_eq!(s, StatusCode::OK);
        let html = admin.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Professional greeting") && !html.contains("form-builder-config"));
    }

    async fn coaching_sessions_actions_and_notifications(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let lead = app.token_for("lead@example.com").await;
        let agent = app.token_for("agent@example.com").await;
        let planner = app.token_for("planner@example.com").await;
        let agent_id = app.person_id("agent@example.com").await.0;
        let program = app.program_id("ACME-DE").await.0;
        let ids = app.import_csv("ACME-DE", CONTACTS).await;
        publish_example(&api, &admin, "zero").await;
        let e = evaluate(&api, &qa, ids["P-1"], json!([
            ans("greeting", json!("yes")), ans("listening", json!(4)),
            ans("information", json!("Partly")), ans("relationship", json!("yes")),
        ])).await;
        let other = evaluate(&api, &qa, ids["X-1"], json!([
            ans("greeting", json!("yes")), ans("listening", json!(4)),
            ans("information", json!("Partly")), ans("relationship", json!("yes")),
        ])).await;
        let evaluation = e["id"].as_i64().unwrap();

        // The agent hears of the new evaluation.
        let (_, n) = api.get(&agent, "/api/v1/notifications").await;
        assert_eq!((n[0]["kind"].as_str(), n[0]["read"].as_bool()), (Some("evaluation_submitted"), Some(false)));
        assert_eq!(n[0]["link"], format!("/evaluations/{evaluation}"));
        assert_eq!(n[0]["detail"], "66.7");

        let today = chrono::Utc::now().date_naive();
        let session = |evaluations: Value, actions: Value| json!({
            "program_id": program, "agent_id": agent_id, "strengths": "Listens well",
            "improvements": "Check the information", "evaluation_ids": evaluations, "actions": actions,
        });
        let actions = json!([
            {"description": "Check the tariff sheet before answering", "due": (today - chrono::Duration::days(1)).to_string()},
            {"description": "Summarise the next steps", "due": (today + chrono::Duration::days(10)).to_string()},
        ]);
        for (who, token, expected) in [("planner", &planner, StatusCode::FORBIDDEN), ("the agent", &agent, StatusCode::FORBIDDEN)] {
            let (s, _) = api.post(token, "/api/v1/coaching", session(json!([evaluation]), actions.clone())).await;
            assert_eq!(s, expected, "{who} does not coach");
        }
        let (s, err) = api.post(&lead, "/api/v1/coaching", session(json!([other["id"]]), actions.clone())).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("evaluation_ids[0]")), "{err}");
        let (s, err) = api.post(&lead, "/api/v1/coaching", session(json!([]), json!([{"description": "x", "due": "soon"}]))).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("actions[0].due")));
        let (s, created) = api.post(&lead, "/api/v1/coaching", session(json!([evaluation]), actions)).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["evaluation_ids"], json!([evaluation]));
        let overdue: Vec<bool> = created["actions"].as_array().unwrap().iter().map(|a| a["overdue"].as_bool().unwrap()).collect();
        assert_eq!(overdue, [true, false]);

        // Who reads it.
        let (_, mine) = api.get(&agent, "/api/v1/coaching").await;
        assert_eq!(mine.as_array().unwrap().len(), 1);
        let (s, _) = api.get(&planner, &format!("/api/v1/coaching/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = api.get(&qa, &format!("/api/v1/coaching/{id}")).await;
        assert_eq!(s, StatusCode::OK, "the program's evaluators read it");

        // The agent is told of the session and of the action that fell due, not of the later one.
        let (_, n) = api.get(&agent, "/api/v1/notifications").await;
        let kinds: Vec<&str> = n.as_array().unwrap().iter().map(|x| x["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["action_due", "coaching_session", "evaluation_submitted"]);
        assert!(n[0]["detail"].as_str().unwrap().contains("tariff sheet"), "{n}");

        let (s, _) = api.post(&lead, &format!("/api/v1/coaching/{id}/acknowledge"), json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the agent confirms, not the coach");
        let (s, ack) = api.post(&agent, &format!("/api/v1/coaching/{id}/acknowledge"), json!({})).await;
        assert_eq!(s, StatusCode::OK);
        assert!(ack["acknowledged_at"].is_i64());
        let action = created["actions"][0]["id"].as_i64().unwrap();
        let (s, done) = api.post(&agent, &format!("/api/v1/coaching-actions/{action}/done"), json!({"follow_up": "Done on Monday"})).await;
        assert_eq!(s, StatusCode::OK, "{done}");
        assert_eq!((done["actions"][0]["overdue"].as_bool(), done["actions"][0]["follow_up"].as_str()), (Some(false), Some("Done on Monday")));
        let (s, _) = api.post(&agent, "/api/v1/notifications/read", json!({})).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (_, n) = api.get(&agent, "/api/v1/notifications").await;
        assert!(n.as_array().unwrap().iter().all(|x| x["read"] == true), "{n}");

        // Disputes tell the evaluator, decisions the agent.
        api.post(&agent, &format!("/api/v1/evaluations/{evaluation}/dispute"), json!({"items": [{"criterion": "information", "proposed": "Fully", "reason": "It was right."}]})).await;
        let (_, n) = api.get(&qa, "/api/v1/notifications").await;
        assert_eq!(n[0]["kind"], "evaluation_disputed");
        api.post(&lead, &format!("/api/v1/evaluations/{evaluation}/resolve"), json!({"decisions": [{"criterion": "information", "upheld": false}]})).await;
        let (_, n) = api.get(&agent, "/api/v1/notifications").await;
        assert_eq!((n[0]["kind"].as_str(), n[0]["read"].as_bool()), (Some("dispute_resolved"), Some(false)));

        // "My quality": the agent's own figures, actions and evaluations.
        let page = app.signed_in("agent@example.com").await;
        let html = page.get(app.url("/my/quality")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"my-iqs\">66.7<"), "the IQS of the one evaluation");
        assert!(html.contains("Summarise the next steps") && !html.contains("Check the tariff sheet"), "open actions only");
        assert!(html.contains(&format!("/evaluations/{evaluation}")));
    }

    async fn criteria_are_related_to_the_customers_verdicts(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let program = app.program_id("ACME-DE").await.0;
        // Calls of yesterday, so the agent's contact KPIs fall in the dashboard's period too.
        let day = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let mut csv = String::from("external_id,channel,agent,customer,arrived,answered,ended\n");
        for i in 1..=5 {
            csv += &format!("I-{i},phone,agent@example.com,K-{i},{day} 09:0{i}:00,{day} 09:0{i}:10,{day} 09:0{i}:50\n");
        }
        let ids = app.import_csv("ACME-DE", &csv).await;
        // CSAT 2, 4, 5, 4, 5 and the customer's RQ no, no, yes, yes, yes.
        let surveys: String = [(1, 2, "no"), (2, 4, "no"), (3, 5, "yes"), (4, 4, "yes"), (5, 5, "yes")]
            .iter()
            .map(|(i, csat, rq)| format!("I-{i},{day} 10:00:00,{csat},{rq}\n"))
            .collect();
        app.import_surveys_csv("ACME-DE", &format!("contact,answered,csat,rq\n{surveys}")).await;
        publish_example(&api, &admin, "fail").await;
        for i in 1..=5 {
            evaluate(&api, &qa, ids[&format!("I-{i}")], json!([
                ans("greeting", json!("yes")), ans("listening", json!(i)),
                ans("information", json!("Fully")), ans("relationship", json!("yes")),
            ])).await;
        }
        let today = chrono::Utc::now().date_naive();
        let (s, r) = api.get(&qa, &format!("/api/v1/programs/{program}/quality/impact?from={}&to={}", today - chrono::Duration::days(1), today + chrono::Duration::days(1))).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let listening = r.as_array().unwrap().iter().find(|c| c["criterion"] == "listening").unwrap();
        // Listening 0, 25, 50, 75, 100 % against CSAT 2, 4, 5, 4, 5: r = 6 / √60 = √0.6.
        assert_eq!(listening["csat"]["pairs"], 5);
        assert!((listening["csat"]["r"]["value"].as_f64().unwrap() - 0.6f64.sqrt()).abs() < 1e-12, "{listening}");
        // … against the customer's RQ 0, 0, 1, 1, 1: r = 75 / √(6250 · 1.2) = √0.75.
        assert!((listening["rq"]["r"]["value"].as_f64().unwrap() - 0.75f64.sqrt()).abs() < 1e-12);
        // Every customer called once: first-contact resolution never varies, so no r.
        assert_eq!((listening["fcr"]["pairs"].as_u64(), listening["fcr"]["r"].clone()), (Some(5), Value::Null));
        // The strongest relation to CSAT first; a criterion answered the same way every time has none.
        assert_eq!(r[0]["criterion"], "listening");
        let greeting = r.as_array().unwrap().iter().find(|c| c["criterion"] == "greeting").unwrap();
        assert_eq!(greeting["csat"]["r"], Value::Null);
        let page = app.signed_in("qa@example.com").await;
        let html = page.get(app.url(&format!("/programs/{program}/quality?by=agent"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("+0.77 (n = 5)"), "the dashboard shows the relation");
        // Beside the agent's quality, their contact KPIs: talk 40 s each, CSAT 4 of 5 at 4–5.
        assert!(html.contains(">40 s<") && html.contains(">80.0 %<"), "AHT and CSAT beside the IQS");
    }

    async fn long_periods_read_weeks_and_months_and_match_the_days(app: TestApp) {
        use kalibra::quality::rollup::{self, CriterionSums, Share, Sums};
        use rand::{Rng, SeedableRng};
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let program = app.program_id("ACME-DE").await;
        // Random days of a third of a year (months and weeks of every length, edges mid-week),
        // written through the function every submission uses.
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let day_of = |d: chrono::NaiveDate| (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days();
        let mut shares = Vec::new();
        for i in 0..400 {
            let day = day_of(start) + rng.random_range(0..120);
            let score: f64 = rng.random_range(0.0..100.0);
            let mut criteria = std::collections::BTreeMap::new();
            let p: f64 = rng.random_range(0.0..100.0);
            criteria.insert(("listening".to_owned(), "effective".to_owned()), CriterionSums { answers: 1, not_applicable: 0, percent_sum: p, percent_sq_sum: p * p, weight_sum: 2.0, weighted_sum: 2.0 * p });
            shares.push(Share {
                program,
                day,
                agent_code: ["ann", "bob", "cem"][i % 3].to_owned(),
                sums: Sums { evaluations: 1, scored: 1, score_sum: score, score_sq_sum: score * score, passed: i64::from(score >= 50.0), ..Sums::default() },
                criteria,
            });
        }
        let mut tx = app.db.begin().await.unwrap();
        for s in &shares {
            rollup::replace(&mut tx, None, Some(s)).await.unwrap();
        }
        // One taken back again, as a dispute's decision does: its day, week and month all lose it.
        rollup::replace(&mut tx, Some(&shares[0]), None).await.unwrap();
        tx.commit().await.unwrap();
        let shares = &shares[1..];

        let week = |d: i64| d - (d + 3).rem_euclid(7);
        let date = |d: i64| chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(d);
        let month = |d: i64| { let x = date(d); day_of(x - chrono::Duration::days(i64::from(chrono::Datelike::day0(&x)))) };
        for _ in 0..12 {
            let a = day_of(start) + rng.random_range(-5..125);
            let b = a + rng.random_range(0..100);
            for by in ["day", "week", "month", "agent"] {
                let mut want: std::collections::BTreeMap<String, (i64, f64)> = Default::default();
                let mut listening = (0, 0.0);
                for s in shares.iter().filter(|s| (a..=b).contains(&s.day)) {
                    let key = match by {
                        "day" => date(s.day).to_string(),
                        "week" => date(week(s.day)).to_string(),
                        "month" => date(month(s.day)).format("%Y-%m").to_string(),
                        _ => s.agent_code.clone(),
                    };
                    let g = want.entry(key).or_default();
                    g.0 += 1;
                    g.1 += s.sums.score_sum;
                    let c = &s.criteria[&("listening".to_owned(), "effective".to_owned())];
                    listening.0 += 1;
                    listening.1 += c.percent_sum;
                }
                let (s, r) = api.get(&admin, &format!("/api/v1/programs/{}/quality?by={by}&from={}&to={}", program.0, date(a), date(b))).await;
                assert_eq!(s, StatusCode::OK, "{r}");
                let got: std::collections::BTreeMap<String, (i64, f64)> = r["lines"].as_array().unwrap().iter()
                    .map(|l| (l["group"].as_str().unwrap().to_owned(), (l["evaluations"].as_i64().unwrap(), l["iqs"]["value"].as_f64().unwrap() * l["evaluations"].as_f64().unwrap())))
                    .collect();
                assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{by} {}..{}", date(a), date(b));
                for (k, (n, sum)) in &want {
                    assert_eq!(got[k].0, *n, "{by} {k}");
                    assert!((got[k].1 - sum).abs() < 1e-6, "{by} {k}: {} vs {sum}", got[k].1);
                }
                let c = r["criteria"].as_array().unwrap().iter().find(|c| c["criterion"] == "listening");
                match c {
                    Some(c) => {
                        assert_eq!(c["answers"].as_i64(), Some(listening.0));
                        assert!((c["mean"]["value"].as_f64().unwrap() * listening.0 as f64 - listening.1).abs() < 1e-6);
                    }
                    None => assert_eq!(listening.0, 0),
                }
            }
        }
    }
}
