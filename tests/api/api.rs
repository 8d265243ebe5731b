//! The OpenAPI document against the routes, and the browsable docs page.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

/// The API as built: every method and path the server answers under /api/v1.
const EXPECTED: &[(&str, &str)] = &[
    ("get", "/api/v1/me"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/programs"),
    ("post", "/api/v1/programs"),
    ("get", "/api/v1/programs/{id}"),
    ("patch", "/api/v1/programs/{id}"),
    ("get", "/api/v1/programs/{id}/teams"),
    ("post", "/api/v1/programs/{id}/teams"),
    ("get", "/api/v1/people"),
    ("post", "/api/v1/people"),
    ("get", "/api/v1/people/{id}"),
    ("patch", "/api/v1/people/{id}"),
    ("get", "/api/v1/people/{id}/grants"),
    ("post", "/api/v1/people/{id}/grants"),
    ("delete", "/api/v1/grants/{id}"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/programs/{id}/kpis"),
    ("post", "/api/v1/programs/{id}/imports/{kind}"),
    ("post", "/api/v1/stats/agreement"),
    ("get", "/api/v1/principles"),
    ("post", "/api/v1/principles"),
    ("patch", "/api/v1/principles/{id}"),
    ("get", "/api/v1/quality-kpis"),
    ("post", "/api/v1/quality-kpis"),
    ("patch", "/api/v1/quality-kpis/{id}"),
    ("get", "/api/v1/form-templates"),
    ("get", "/api/v1/programs/{id}/forms"),
    ("post", "/api/v1/programs/{id}/forms"),
    ("get", "/api/v1/form-versions/{id}"),
    ("put", "/api/v1/form-versions/{id}"),
    ("post", "/api/v1/form-versions/{id}/publish"),
    ("post", "/api/v1/form-versions/{id}/retire"),
    ("post", "/api/v1/forms/{id}/draft"),
    ("get", "/api/v1/contacts/{id}/evaluations"),
    ("post", "/api/v1/contacts/{id}/evaluations"),
    ("get", "/api/v1/evaluations/{id}"),
    ("put", "/api/v1/evaluations/{id}"),
    ("post", "/api/v1/evaluations/{id}/submit"),
    ("post", "/api/v1/evaluations/{id}/acknowledge"),
    ("post", "/api/v1/evaluations/{id}/dispute"),
    ("post", "/api/v1/evaluations/{id}/resolve"),
    ("get", "/api/v1/disputes"),
    ("get", "/api/v1/programs/{id}/quality"),
    ("get", "/api/v1/programs/{id}/evaluations.csv"),
    ("get", "/api/v1/programs/{id}/quality/impact"),
    ("get", "/api/v1/coaching"),
    ("post", "/api/v1/coaching"),
    ("get", "/api/v1/coaching/{id}"),
    ("post", "/api/v1/coaching/{id}/acknowledge"),
    ("post", "/api/v1/coaching-actions/{id}/done"),
    ("get", "/api/v1/notifications"),
    ("post", "/api/v1/notifications/read"),
    ("get", "/api/v1/programs/{id}/sampling-plans"),
    ("post", "/api/v1/programs/{id}/sampling-plans"),
    ("get", "/api/v1/sampling-plans/{id}"),
    ("put", "/api/v1/sampling-plans/{id}"),
    ("post", "/api/v1/sampling-plans/{id}/runs"),
    ("get", "/api/v1/assignments"),
    ("patch", "/api/v1/assignments/{id}"),
    ("get", "/api/v1/programs/{id}/assignments/tracking"),
    ("get", "/api/v1/calibration/sessions"),
    ("post", "/api/v1/calibration/sessions"),
    ("get", "/api/v1/calibration/sessions/{id}"),
    ("put", "/api/v1/calibration/sessions/{id}/scores"),
    ("post", "/api/v1/calibration/sessions/{id}/reveal"),
    ("put", "/api/v1/calibration/sessions/{id}/references"),
    ("get", "/api/v1/calibration/sessions/{id}/results"),
    ("get", "/api/v1/programs/{id}/calibration-gate"),
    ("put", "/api/v1/programs/{id}/calibration-gate"),
    ("get", "/api/v1/programs/{id}/calibration-trends"),
    ("get", "/api/v1/programs/{id}/evaluator-severity"),
];

/// A published form, its principle, a contact and an evaluation of it, by the path prefix that
/// names each.
async fn quality_ids(app: &TestApp, admin: &str) -> Vec<(&'static str, i64)> {
    let c = client();
    let program = app.program_id("ACME-DE").await.0;
    let contacts = app
        .import_csv(
            "ACME-DE",
            "external_id,agent,arrived,answered\nQ-1,,2026-01-15 10:00:00,\nQ-2,agent@example.com,2026-01-15 11:00:00,2026-01-15 11:00:09\n",
        )
        .await;
    let form: serde_json::Value = c
        .post(app.url(&format!("/api/v1/programs/{program}/forms")))
        .bearer_auth(admin)
        .json(&serde_json::json!({"template": "quality-monitoring-2"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let version = form["id"].as_i64().unwrap();
    c.post(app.url(&format!("/api/v1/form-versions/{version}/publish")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    let evaluation: serde_json::Value = c
        .post(app.url(&format!("/api/v1/contacts/{}/evaluations", contacts["Q-1"])))
        .bearer_auth(admin)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = |list: serde_json::Value| list[0]["id"].as_i64().unwrap();
    let principles = c
        .get(app.url("/api/v1/principles"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    let kpis = c
        .get(app.url("/api/v1/quality-kpis"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    let agent = app.person_id("agent@example.com").await.0;
    let session: serde_json::Value = c
        .post(app.url("/api/v1/coaching"))
        .bearer_auth(admin)
        .json(
            &serde_json::json!({"program_id": program, "agent_id": agent,
            "actions": [{"description": "Summarise before closing", "due": "2026-12-01"}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = app.person_id("admin@example.com").await.0;
    let plan: serde_json::Value = c
        .post(app.url(&format!("/api/v1/programs/{program}/sampling-plans")))
        .bearer_auth(admin)
        .json(&serde_json::json!({"name": "Weekly", "per_agent": 1, "channels": ["phone"], "evaluator_ids": [me]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let plan = plan["id"].as_i64().expect("plan created");
    c.post(app.url(&format!("/api/v1/sampling-plans/{plan}/runs")))
        .bearer_auth(admin)
        .json(&serde_json::json!({"week": "2026-01-15"}))
        .send()
        .await
        .unwrap();
    let queue: serde_json::Value = c
        .get(app.url("/api/v1/assignments"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let qa = app.person_id("qa@example.com").await.0;
    let calibration: serde_json::Value = c
        .post(app.url("/api/v1/calibration/sessions"))
        .bearer_auth(admin)
        .json(&serde_json::json!({"program_id": program, "title": "Calibration", "held_on": "2026-01-20",
            "due": "2026-01-19", "form_version_id": version, "contact_ids": [contacts["Q-2"]],
            "participants": [{"person_id": me, "role": "evaluator"}, {"person_id": qa, "role": "evaluator"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    vec![
        (
            "/api/v1/calibration/sessions/",
            calibration["id"].as_i64().expect("session planned"),
        ),
        ("/api/v1/sampling-plans/", plan),
        (
            "/api/v1/assignments/",
            queue[0]["id"].as_i64().expect("Q-2 assigned"),
        ),
        (
            "/api/v1/coaching/",
            session["id"].as_i64().expect("session recorded"),
        ),
        (
            "/api/v1/coaching-actions/",
            session["actions"][0]["id"].as_i64().unwrap(),
        ),
        (
            "/api/v1/principles/",
            first(principles.json().await.unwrap()),
        ),
        ("/api/v1/quality-kpis/", first(kpis.json().await.unwrap())),
        ("/api/v1/form-versions/", version),
        ("/api/v1/forms/", form["form_id"].as_i64().unwrap()),
        ("/api/v1/contacts/", contacts["Q-1"]),
        (
            "/api/v1/evaluations/",
            evaluation["id"].as_i64().expect("evaluation started"),
        ),
    ]
}

both_backends! {
    async fn openapi_document_matches_the_routes(app: TestApp) {
        app.seed_demo().await;
        let c = client();
        let doc: serde_json::Value = c.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                documented.insert((method.clone(), path.clone()));
                assert!(op.get("responses").is_some(), "{method} {path} documents its responses");
            }
        }
        let expected: BTreeSet<(String, String)> =
            EXPECTED.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        assert_eq!(documented, expected, "the document lists exactly the API's routes");
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());

        // Every documented operation is answered by a route (not the 404 fallback, not 405),
        // called as an administrator with ids that exist.
        let token = app.token_for("admin@example.com").await;
        let _spare = app.token_for("admin@example.com").await; // the one the DELETE revokes
        let program = app.program_id("ACME-DE").await.0;
        let person = app.person_id("agent@example.com").await.0;
        let quality = quality_ids(&app, &token).await;
        for (method, path) in &expected {
            let id = match path.as_str() {
                p if p.starts_with("/api/v1/programs/") => program,
                p if p.starts_with("/api/v1/people/") => person,
                p if p.starts_with("/api/v1/grants/") => {
                    let grants = kalibra::auth::access::load_grants(&app.db, kalibra::domain::PersonId(person)).await.unwrap();
                    grants[0].id.0
                }
                p if p.starts_with("/api/v1/tokens/") => {
                    let list = kalibra::auth::tokens::list(&app.db, app.person_id("admin@example.com").await).await.unwrap();
                    list.first().unwrap().id.0
                }
                p => quality.iter().find(|(prefix, _)| p.starts_with(prefix)).map(|(_, id)| *id).unwrap_or(0),
            };
            let url = app.url(&path.replace("{id}", &id.to_string()).replace("{kind}", "contacts"));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = serde_json::json!({});
            let r = c.request(m, url).bearer_auth(&token).json(&body).send().await.unwrap();
            assert_ne!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            if r.status() == StatusCode::NOT_FOUND {
                panic!("{method} {path} answered 404 for an id that exists");
            }
        }
    }

    async fn docs_page_is_browsable_without_a_cdn(app: TestApp) {
        let c = client();
        let r = c.get(app.url("/api/docs/")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("swagger-ui"));
        assert!(!html.contains("https://"), "no asset from another host");
        let init = c.get(app.url("/api/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
        assert!(init.contains("/api/v1/openapi.json"));
    }
}
