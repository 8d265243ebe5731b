//! The web shell: health, assets, errors, languages, request ids.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn health_and_readiness(app: TestApp) {
        let c = app.client();
        let r = c.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = c.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), "ready");
    }

    async fn assets_are_embedded(app: TestApp) {
        let c = app.client();
        for (path, mime) in [
            ("/assets/kalibra.css", "text/css"),
            ("/assets/vendor/htmx.min.js", "text/javascript"),
            ("/assets/vendor/uPlot.iife.min.js", "text/javascript"),
            ("/assets/favicon.svg", "image/svg+xml"),
        ] {
            let r = c.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with(mime), "{path}");
        }
        let r = c.get(app.url("/assets/../Cargo.toml")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    async fn pages_need_sign_in_and_api_answers_401(app: TestApp) {
        let c = app.client();
        let r = c.get(app.url("/admin/people?x=1")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/login?next=%2Fadmin%2Fpeople%3Fx%3D1");
        let r = c.get(app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "unauthenticated");
        assert!(body["message"].as_str().unwrap().contains("sign in"));
        assert!(body.get("field").is_some());
    }

    async fn unknown_routes_answer_404_in_the_right_shape(app: TestApp) {
        app.seed_demo().await;
        let c = app.signed_in("agent@example.com").await;
        let r = c.get(app.url("/no/such/page")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let html = r.text().await.unwrap();
        assert!(html.contains("This page does not exist"), "{html}");
        assert!(html.contains("<nav"), "signed-in error pages keep the navigation");
        let r = c.get(app.url("/api/v1/nothing")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
        // A wrong method and bad query parameters answer in the same shape.
        let token = app.token_for("admin@example.com").await;
        let r = c.put(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
        let r = c.get(app.url("/api/v1/audit?limit=lots")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("limit"), "{body}");
        // A malformed id is "not found", like an id outside one's scope.
        let r = c.get(app.url("/programs/abc")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    async fn language_follows_browser_then_choice(app: TestApp) {
        let c = app.client();
        let de = c.get(app.url("/login")).header("accept-language", "de-DE,de;q=0.9,en;q=0.5")
            .send().await.unwrap().text().await.unwrap();
        assert!(de.contains("lang=\"de\""));
        assert!(de.contains("Anmelden"));
        let nl = c.get(app.url("/login")).header("accept-language", "nl-BE")
            .send().await.unwrap().text().await.unwrap();
        assert!(nl.contains("Inloggen"));
        let en = c.get(app.url("/login")).header("accept-language", "fr-FR")
            .send().await.unwrap().text().await.unwrap();
        assert!(en.contains("Sign in"));

        // Before sign-in the choice is kept in a cookie.
        let csrf = hidden_csrf(&en).unwrap();
        let r = c.post(app.url("/language")).form(&[("csrf_token", csrf.as_str()), ("locale", "nl"), ("next", "/")])
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = c.get(app.url("/login")).header("accept-language", "de").send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Inloggen"), "the chosen language beats the browser's");

        // After sign-in the person's own choice is stored and wins everywhere.
        app.seed_demo().await;
        let c = app.signed_in("lead@example.com").await;
        let r = app.post_form(&c, "/account", "/account/language", &[("locale", "de"), ("next", "/account")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let fresh = app.client();
        app.login(&fresh, "lead@example.com", DEMO_PASSWORD).await;
        let home = fresh.get(app.url("/")).header("accept-language", "nl").send().await.unwrap().text().await.unwrap();
        assert!(home.contains("Willkommen, Lena Hoffmann"), "{home}");
        assert!(home.contains("Teamleitung"));
    }

    async fn responses_carry_request_ids_and_security_headers(app: TestApp) {
        let c = app.client();
        let r = c.get(app.url("/login")).send().await.unwrap();
        let id = r.headers().get("x-request-id").expect("request id").to_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
        let r = c.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "abc-123");
    }
}
