//! The administrator's work: programs, teams, people, grants, and the audit log.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn administrator_builds_the_organisation_through_the_pages(app: TestApp) {
        app.seed_demo().await;
        let c = app.signed_in("admin@example.com").await;
        // A bad code is refused with a clear message, and the typed values stay in the form.
        let r = app.post_form(&c, "/admin/programs", "/admin/programs",
            &[("code", "a b"), ("name", "Zeta Bank"), ("timezone", "Europe/Vienna")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("A program code has 2 to 32 letters"), "{html}");
        assert!(html.contains("value=\"Zeta Bank\""));
        let r = app.post_form(&c, "/admin/programs", "/admin/programs",
            &[("code", "zeta-at"), ("name", "Zeta Bank"), ("timezone", "Mars/Base")]).await;
        assert!(r.text().await.unwrap().contains("Unknown time zone"));

        let r = app.post_form(&c, "/admin/programs", "/admin/programs",
            &[("code", "zeta-at"), ("name", "Zeta Bank"), ("timezone", "Europe/Vienna")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let program_page = location(&r);
        let p = kalibra::programs::find_by_code(&app.db, "ZETA-AT").await.unwrap().expect("stored upper-case");
        assert_eq!(program_page, format!("/admin/programs/{}", p.id));
        assert_eq!(p.timezone, "Europe/Vienna");

        let r = app.post_form(&c, &program_page, &format!("{program_page}/teams"), &[("name", "Retail")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = app.post_form(&c, &program_page, &format!("{program_page}/teams"), &[("name", "Retail")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("already has a team called Retail"));
        let team = kalibra::programs::find_team_by_name(&app.db, p.id, "Retail").await.unwrap().unwrap();

        let r = app.post_form(&c, "/admin/people", "/admin/people",
            &[("email", "Eva.Meier@Zeta.example"), ("name", "Eva Meier"), ("password", "eva's long password")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let person_page = location(&r);
        let r = app.post_form(&c, "/admin/people", "/admin/people",
            &[("email", "eva.meier@zeta.example"), ("name", "Eva again"), ("password", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("already has an account"));

        // A team role needs a team; an agent grant on a program is refused.
        let r = app.post_form(&c, &person_page, &format!("{person_page}/grants"),
            &[("role", "agent"), ("scope", &format!("p:{}", p.id))]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("granted on a team"));
        let r = app.post_form(&c, &person_page, &format!("{person_page}/grants"),
            &[("role", "agent"), ("scope", &format!("t:{}", team.id))]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        // Eva signs in and sees her program and her role.
        let eva = app.client();
        assert_eq!(app.login(&eva, "eva.meier@zeta.example", "eva's long password").await.status(), StatusCode::SEE_OTHER);
        let home = eva.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("Zeta Bank / Retail") && home.contains("Agent"), "{home}");
        assert!(!home.contains("Acme Energie"));

        // Every change is in the audit log, with who made it.
        let entries = kalibra::audit::list(&app.db, &Default::default(), 1000).await.unwrap().unwrap();
        for action in ["program.created", "team.created", "person.created", "grant.added"] {
            assert!(
                entries.iter().any(|e| e.action == action && e.actor_label == "admin@example.com"),
                "{action} logged with the administrator as actor"
            );
        }
    }

    async fn people_list_shows_roles_and_searches(app: TestApp) {
        app.seed_demo().await;
        let c = app.signed_in("admin@example.com").await;
        let all = c.get(app.url("/admin/people")).send().await.unwrap().text().await.unwrap();
        assert_eq!(all.matches("href=\"/admin/people/").count(), 8);
        assert!(all.contains("Client viewer") && all.contains("Acme Energie / Privatkunden"));
        let found = c.get(app.url("/admin/people?q=HOFF")).header("hx-request", "true")
            .send().await.unwrap().text().await.unwrap();
        assert!(found.contains("Lena Hoffmann") && found.contains("Team lead"));
        assert!(!found.contains("Arjen Bakker") && !found.contains("<nav"));
        let by_mail = c.get(app.url("/admin/people?q=client-nl")).send().await.unwrap().text().await.unwrap();
        assert_eq!(by_mail.matches("href=\"/admin/people/").count(), 1);
        let none = c.get(app.url("/admin/people?q=zzz")).send().await.unwrap().text().await.unwrap();
        assert!(none.contains("Nobody matches."));
    }

    async fn malformed_forms_get_a_clear_page(app: TestApp) {
        app.seed_demo().await;
        let c = app.signed_in("admin@example.com").await;
        let agent = app.person_id("agent@example.com").await;
        let page = format!("/admin/people/{agent}");
        let r = app.post_form(&c, &page, &format!("{page}/agent-codes"), &[("program_id", "abc"), ("code", "x")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("program_id") && html.contains("<nav"), "a page that names the field: {html}");
        let r = c.get(app.url("/admin/audit?limit=lots")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("limit"));
    }

    async fn the_last_administrator_stays(app: TestApp) {
        app.seed_demo().await;
        let token = app.token_for("admin@example.com").await;
        let admin_id = app.person_id("admin@example.com").await;
        let c = client();
        let grants: Vec<serde_json::Value> = c.get(app.url(&format!("/api/v1/people/{admin_id}/grants")))
            .bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let admin_grant = grants.iter().find(|g| g["role"] == "admin").unwrap()["id"].as_i64().unwrap();
        let r = c.delete(app.url(&format!("/api/v1/grants/{admin_grant}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(e["message"].as_str().unwrap().contains("last active administrator"));
        let r = c.patch(app.url(&format!("/api/v1/people/{admin_id}"))).bearer_auth(&token)
            .json(&json!({"active": false})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        // With a second administrator, the first may go.
        let qa = app.person_id("qa@example.com").await;
        let r = c.post(app.url(&format!("/api/v1/people/{qa}/grants"))).bearer_auth(&token)
            .json(&json!({"role": "admin"})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = c.delete(app.url(&format!("/api/v1/grants/{admin_grant}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        // The token carries the person's grants as they are now: no longer an administrator.
        let r = c.get(app.url("/api/v1/people")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    async fn api_validation_names_the_field(app: TestApp) {
        app.seed_demo().await;
        let token = app.token_for("admin@example.com").await;
        let c = client();
        let cases = [
            ("/api/v1/programs", json!({"code": "OK-1", "name": "", "timezone": "UTC"}), 422, "name"),
            ("/api/v1/programs", json!({"code": "ACME-DE", "name": "Dup", "timezone": "UTC"}), 409, "code"),
            ("/api/v1/people", json!({"email": "not-an-address", "name": "X"}), 422, "email"),
            ("/api/v1/people", json!({"email": "x@example.com", "name": "X", "password": "short"}), 422, "password"),
            ("/api/v1/people", json!({"email": "y@example.com", "name": "Y", "locale": "fr"}), 422, "locale"),
        ];
        for (path, body, status, field) in cases {
            let r = c.post(app.url(path)).bearer_auth(&token).json(&body).send().await.unwrap();
            assert_eq!(r.status().as_u16(), status, "{path} {body}");
            let e: serde_json::Value = r.json().await.unwrap();
            assert_eq!(e["field"], field, "{path} {body}: {e}");
        }
        // Malformed JSON and unknown roles are reported, not crashed on.
        let r = c.post(app.url("/api/v1/programs")).bearer_auth(&token)
            .header("content-type", "application/json").body("{\"code\": ").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["code"], "bad_request");
        let agent = app.person_id("agent@example.com").await;
        let r = c.post(app.url(&format!("/api/v1/people/{agent}/grants"))).bearer_auth(&token)
            .json(&json!({"role": "superuser"})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = c.post(app.url(&format!("/api/v1/people/{agent}/grants"))).bearer_auth(&token)
            .json(&json!({"role": "evaluator", "program_id": 424242})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Nothing half-made: no program, person or grant came from the refused requests.
        assert!(kalibra::programs::find_by_code(&app.db, "OK-1").await.unwrap().is_none());
        assert_eq!(kalibra::people::list(&app.db).await.unwrap().len(), 8);
    }

    async fn audit_log_filters_exports_and_refuses_changes(app: TestApp) {
        app.seed_demo().await;
        let c = app.signed_in("admin@example.com").await;
        let _ = app.login(&app.client(), "admin@example.com", "wrong password").await;
        let page = c.get(app.url("/admin/audit?action=signin")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("signin.success") && page.contains("signin.failure"));
        assert!(!page.contains("program.created"));
        let partial = c.get(app.url("/admin/audit?action=program")).header("hx-request", "true")
            .send().await.unwrap().text().await.unwrap();
        assert!(partial.contains("program.created") && !partial.contains("<nav"), "htmx gets the partial alone");

        let csv = c.get(app.url("/admin/audit.csv?action=program.created")).send().await.unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().await.unwrap();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let header = rows.headers().unwrap().clone();
        assert_eq!(&header[4], "action");
        let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 3, "three demo programs created");
        assert!(records.iter().all(|r| &r[4] == "program.created" && &r[3] == "demo"));

        let r = c.get(app.url("/admin/audit?from=yesterday")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("expected a date as YYYY-MM-DD"));

        // Append-only, whatever the SQL.
        let update = "UPDATE audit_log SET action = 'x'";
        let delete = "DELETE FROM audit_log";
        for sql in [update, delete] {
            let res = match &app.db {
                kalibra::store::Db::Sqlite(p, _) => sqlx::query(sql).execute(p).await.map(|_| ()),
                kalibra::store::Db::Pg(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            };
            let err = res.expect_err("the audit log refuses changes");
            assert!(err.to_string().contains("append-only"), "{err}");
        }
    }
}
