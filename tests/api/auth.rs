//! Signing in and out, sessions, CSRF, throttling, passwords and API tokens.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let entries = kalibra::audit::list(&app.db, &Default::default(), 1000)
        .await
        .unwrap()
        .unwrap();
    entries.into_iter().map(|e| e.action).collect()
}

both_backends! {
    async fn sign_in_sets_a_safe_session_cookie(app: TestApp) {
        app.seed_demo().await;
        let c = app.client();
        let r = app.login(&c, "Admin@Example.com ", DEMO_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/");
        let cookie = r.headers().get_all("set-cookie").iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("kalibra_session="))
            .expect("session cookie");
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax"));
        assert!(!cookie.contains("Secure"), "plain HTTP on loopback: not Secure");
        let me: serde_json::Value = c.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["email"], "admin@example.com");
        assert!(audit_actions(&app).await.contains(&"signin.success".to_owned()));
    }

    async fn wrong_password_and_unknown_account_get_one_answer(app: TestApp) {
        app.seed_demo().await;
        let c = app.client();
        let wrong = app.login(&c, "agent@example.com", "not the password").await;
        let wrong_status = wrong.status();
        let wrong_body = wrong.text().await.unwrap();
        let unknown = app.login(&c, "nobody@example.com", "not the password").await;
        assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status(), wrong_status);
        let unknown_body = unknown.text().await.unwrap();
        let msg = "The e-mail address or password is not right.";
        assert!(wrong_body.contains(msg) && unknown_body.contains(msg));
        let failures = audit_actions(&app).await.iter().filter(|a| *a == "signin.failure").count();
        assert_eq!(failures, 2);
    }

    async fn sign_in_is_throttled_per_account(app: TestApp) {
        app.seed_demo().await;
        let c = app.client();
        for _ in 0..5 {
            let r = app.login(&c, "planner@example.com", "wrong password!").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        // Even the right password is refused while throttled.
        let r = app.login(&c, "planner@example.com", DEMO_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.text().await.unwrap().contains("Too many sign-in attempts"));
        // Other accounts from the same address still sign in.
        let r = app.login(&c, "agent@example.com", DEMO_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(audit_actions(&app).await.contains(&"signin.throttled".to_owned()));
    }

    async fn sign_in_rotates_the_session_and_sign_out_ends_it(app: TestApp) {
        app.seed_demo().await;
        let c = app.client();
        let first = app.login(&c, "qa@example.com", DEMO_PASSWORD).await;
        let first_cookie = session_cookie(&first);
        let second = app.login(&c, "qa@example.com", DEMO_PASSWORD).await;
        let second_cookie = session_cookie(&second);
        assert_ne!(first_cookie, second_cookie, "a new session id at every sign-in");
        // The earlier session is gone.
        let stale = client();
        let r = stale.get(app.url("/api/v1/me")).header("cookie", format!("kalibra_session={first_cookie}"))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let r = app.post_form(&c, "/", "/logout", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/login?signed_out=1");
        let r = stale.get(app.url("/api/v1/me")).header("cookie", format!("kalibra_session={second_cookie}"))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "signed out means the session is gone on the server");
    }

    async fn state_changes_need_the_csrf_token(app: TestApp) {
        app.seed_demo().await;
        let c = app.signed_in("admin@example.com").await;
        // Form without token.
        let r = c.post(app.url("/admin/programs")).form(&[("code", "X1"), ("name", "X"), ("timezone", "UTC")])
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("The form has expired"));
        // Form with a wrong token.
        let r = c.post(app.url("/admin/programs"))
            .form(&[("csrf_token", "forged"), ("code", "X1"), ("name", "X"), ("timezone", "UTC")])
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // JSON through the session without the header.
        let r = c.post(app.url("/api/v1/programs")).json(&serde_json::json!({"code": "X1", "name": "X", "timezone": "UTC"}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "csrf");
        // With the page's token (as htmx sends it in a header) it goes through.
        let page = c.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
        let token = hidden_csrf(&page).unwrap();
        let r = c.post(app.url("/api/v1/programs")).header("x-csrf-token", token)
            .json(&serde_json::json!({"code": "X1", "name": "X", "timezone": "UTC"}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(kalibra::programs::find_by_code(&app.db, "X1").await.unwrap().is_some());
        // Nothing was created by the refused requests: exactly one program X1.
        // The sign-in form needs its own token (double-submit cookie).
        let fresh = app.client();
        let r = fresh.post(app.url("/login"))
            .form(&[("csrf_token", "x"), ("email", "admin@example.com"), ("password", DEMO_PASSWORD)])
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    async fn changing_the_password_ends_other_sessions(app: TestApp) {
        app.seed_demo().await;
        let here = app.signed_in("agent@example.com").await;
        let elsewhere = app.signed_in("agent@example.com").await;
        let r = app.post_form(&here, "/account", "/account/password", &[
            ("current_password", "wrong-current-pw"), ("new_password", "a new long password"),
            ("confirm_password", "a new long password"),
        ]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("The current password is not right."));
        let r = app.post_form(&here, "/account", "/account/password", &[
            ("current_password", DEMO_PASSWORD), ("new_password", "short"), ("confirm_password", "short"),
        ]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("at least 12 characters"));
        let r = app.post_form(&here, "/account", "/account/password", &[
            ("current_password", DEMO_PASSWORD), ("new_password", "a new long password"),
            ("confirm_password", "a new long password"),
        ]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(here.get(app.url("/api/v1/me")).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(elsewhere.get(app.url("/api/v1/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let c = app.client();
        assert_eq!(app.login(&c, "agent@example.com", DEMO_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.login(&c, "agent@example.com", "a new long password").await.status(), StatusCode::SEE_OTHER);
    }

    async fn api_tokens_are_shown_once_stored_hashed_and_revocable(app: TestApp) {
        app.seed_demo().await;
        let bearer = app.token_for("qa@example.com").await;
        let c = client();
        let r = c.post(app.url("/api/v1/tokens")).bearer_auth(&bearer)
            .json(&serde_json::json!({"name": "ACD import", "expires_days": 30})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let created: serde_json::Value = r.json().await.unwrap();
        let secret = created["token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("kal_"));
        let id = created["info"]["id"].as_i64().unwrap();
        let expires = created["info"]["expires_at"].as_i64().unwrap() - created["info"]["created_at"].as_i64().unwrap();
        assert_eq!(expires, 30 * 86_400_000);

        // The secret works, is never listed, and is not in the database.
        let me: serde_json::Value = c.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["email"], "qa@example.com");
        let list = c.get(app.url("/api/v1/tokens")).bearer_auth(&secret).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("ACD import") && !list.contains(&secret));
        let stored: Vec<String> = match &app.db {
            kalibra::store::Db::Sqlite(p, _) => sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_all(p).await.unwrap(),
            kalibra::store::Db::Pg(p) => sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_all(p).await.unwrap(),
        };
        assert!(stored.iter().all(|h| h.len() == 64 && !h.contains(&secret)));

        // Bad input answers in the API's error shape.
        let r = c.post(app.url("/api/v1/tokens")).bearer_auth(&secret)
            .json(&serde_json::json!({"name": "x", "expires_days": 0})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["field"], "expires_days");

        // Someone else cannot revoke it; its owner can, and then it stops working.
        let other = app.token_for("agent@example.com").await;
        let r = c.delete(app.url(&format!("/api/v1/tokens/{id}"))).bearer_auth(&other).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = c.delete(app.url(&format!("/api/v1/tokens/{id}"))).bearer_auth(&bearer).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = c.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = c.get(app.url("/api/v1/me")).bearer_auth("kal_made-up").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let actions = audit_actions(&app).await;
        for a in ["token.created", "token.used", "token.revoked"] {
            assert!(actions.contains(&a.to_owned()), "{a} in the audit log");
        }
    }

    async fn expired_tokens_stop_working(app: TestApp) {
        app.seed_demo().await;
        let secret = app.token_for("planner@example.com").await;
        let c = client();
        assert_eq!(c.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap().status(), StatusCode::OK);
        let sql = "UPDATE api_tokens SET expires_at = 1";
        match &app.db {
            kalibra::store::Db::Sqlite(p, _) => { sqlx::query(sql).execute(p).await.unwrap(); }
            kalibra::store::Db::Pg(p) => { sqlx::query(sql).execute(p).await.unwrap(); }
        }
        assert_eq!(c.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }

    async fn deactivation_ends_sessions_and_tokens(app: TestApp) {
        app.seed_demo().await;
        let agent = app.signed_in("agent2@example.com").await;
        let token = app.token_for("agent2@example.com").await;
        let admin = app.token_for("admin@example.com").await;
        let id = app.person_id("agent2@example.com").await;
        let c = client();
        let r = c.patch(app.url(&format!("/api/v1/people/{id}"))).bearer_auth(&admin)
            .json(&serde_json::json!({"active": false})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(agent.get(app.url("/api/v1/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(c.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let fresh = app.client();
        assert_eq!(app.login(&fresh, "agent2@example.com", DEMO_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    }
}
