//! Imports over HTTP: the streamed API upload and the upload form with its job list.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

const CSV: &str = "external_id,arrived,wait_s\nU-1,2026-03-02 09:00:00,12\nU-2,2026-03-02 09:01:00,x\nU-3,2026-03-02 09:02:00,30\n";

both_backends! {
    async fn files_import_through_the_api_and_the_upload_form(app: TestApp) {
        app.seed_demo().await;
        let a = app.program_id("ACME-DE").await;
        let admin = app.token_for("admin@example.com").await;
        let c = client();
        let r = c.post(app.url(&format!("/api/v1/programs/{a}/imports/contacts?name=calls.csv")))
            .bearer_auth(&admin).header("content-type", "text/csv").body(CSV).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let s: serde_json::Value = r.json().await.unwrap();
        assert_eq!((s["accepted"].as_u64(), s["rejected"].as_u64()), (Some(2), Some(1)));
        assert_eq!(s["first_rejects"][0]["field"], "wait_s");
        assert_eq!(s["first_rejects"][0]["row"], 3);
        // Again: nothing changes.
        let s: serde_json::Value = c.post(app.url(&format!("/api/v1/programs/{a}/imports/contacts")))
            .bearer_auth(&admin).body(CSV).send().await.unwrap().json().await.unwrap();
        assert_eq!(s["unchanged"].as_u64(), Some(2));
        // Wrong kind, unknown mapping, a non-administrator.
        let r = c.post(app.url(&format!("/api/v1/programs/{a}/imports/calls"))).bearer_auth(&admin).body(CSV).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = c.post(app.url(&format!("/api/v1/programs/{a}/imports/contacts?mapping=avaya"))).bearer_auth(&admin).body(CSV).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let qa = app.token_for("qa@example.com").await;
        let r = c.post(app.url(&format!("/api/v1/programs/{a}/imports/contacts"))).bearer_auth(&qa).body(CSV).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The upload form, as htmx sends it (multipart, CSRF token in the header).
        let s = app.signed_in("admin@example.com").await;
        let page = s.get(app.url(&format!("/programs/{a}/imports"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("calls.csv"), "the API's job is listed");
        let csrf = hidden_csrf(&page).unwrap();
        let surveys = "contact,csat,nps\nU-1,5,10\nU-3,9,\n";
        let form = reqwest::multipart::Form::new()
            .text("kind", "surveys")
            .text("mapping", "")
            .part("file", reqwest::multipart::Part::bytes(surveys.as_bytes().to_vec()).file_name("survey.csv"));
        let r = s.post(app.url(&format!("/programs/{a}/imports"))).header("x-csrf-token", csrf).header("hx-request", "true")
            .multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("2 rows read: 1 accepted, 0 updated, 0 unchanged, 0 skipped, 1 rejected."), "{html}");
        assert!(html.contains("survey.csv") && html.contains("id=\"rejects\"") && html.contains("a CSAT answer is 1 to 5, not 9"), "the reject is shown");
        let log = kalibra::audit::list(&app.db, &kalibra::audit::Filter { action: Some("import.".into()), ..Default::default() }, 10)
            .await.unwrap().unwrap();
        assert_eq!(log.len(), 3);
        // Without the CSRF header the upload is refused.
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.csv"));
        let r = s.post(app.url(&format!("/programs/{a}/imports"))).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}
