//! Every route × {anonymous, each role, a grant on the wrong program} → the expected answer.
//! Program A is ACME-DE, program B is BLUE-NL. "wrong" holds a client-viewer grant on B only.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// Columns of every row, in this order. Mutations run in this order too, so the
/// administrator's successful change comes last.
const ACTORS: [(&str, Option<&str>); 8] = [
    ("anonymous", None),
    ("evaluator", Some("qa@example.com")),
    ("team_lead", Some("lead@example.com")),
    ("agent", Some("agent@example.com")),
    ("planner", Some("planner@example.com")),
    ("client_viewer", Some("client@example.com")),
    ("wrong_program", Some("client-nl@example.com")),
    ("admin", Some("admin@example.com")),
];

/// Shorthands for rows: [anonymous, evaluator, team_lead, agent, planner, client, wrong, admin].
const ALL_SIGNED_IN: [u16; 8] = [401, 200, 200, 200, 200, 200, 200, 200];
const ADMIN_ONLY: [u16; 8] = [401, 403, 403, 403, 403, 403, 403, 200];
const PROGRAM_A: [u16; 8] = [401, 200, 200, 200, 200, 200, 404, 200];
const PROGRAM_B: [u16; 8] = [401, 200, 404, 404, 404, 404, 200, 200];
const NOWHERE: [u16; 8] = [401, 404, 404, 404, 404, 404, 404, 404];
/// A program's sampling and calibration gate: its evaluators and the administrators.
const SAMPLING_A: [u16; 8] = [401, 200, 403, 403, 403, 403, 404, 200];
/// A program's figures: everybody in it; agents and team leads see only their own.
const PROGRAM_A_FIGURES: [u16; 8] = PROGRAM_A;

struct Ids {
    contact: i64,
    a: i64,
    b: i64,
    agent: i64,
    planner: i64,
    grant: i64,
}

async fn ids(app: &TestApp) -> Ids {
    let admin = app.token_for("admin@example.com").await;
    let b = app.program_id("BLUE-NL").await.0;
    let planner = app.person_id("planner@example.com").await.0;
    // A grant (of someone outside the matrix) for the administrator to withdraw at the end.
    let outsider = app.person_id("agent2@example.com").await.0;
    let c = client();
    let g: serde_json::Value = c
        .post(app.url(&format!("/api/v1/people/{outsider}/grants")))
        .bearer_auth(&admin)
        .json(&json!({"role": "evaluator", "program_id": b}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // One contact in program A.
    let contacts = app
        .import_csv("ACME-DE", "external_id,arrived\nM-1,2026-01-15 10:00:00\n")
        .await;
    let contact = contacts["M-1"];
    let a = app.program_id("ACME-DE").await;
    Ids {
        contact,
        a: a.0,
        b,
        agent: app.person_id("agent@example.com").await.0,
        planner,
        grant: g["id"].as_i64().expect("grant created"),
    }
}

fn api_rows(ids: &Ids) -> Vec<(Method, String, Option<serde_json::Value>, [u16; 8])> {
    let Ids {
        a,
        b,
        agent,
        planner,
        grant,
        contact,
    } = ids;
    let get = |p: String, e| (Method::GET, p, None, e);
    const CREATED_BY_ADMIN: [u16; 8] = [401, 403, 403, 403, 403, 403, 403, 201];
    vec![
        get("/api/v1/principles".into(), ALL_SIGNED_IN),
        get(format!("/api/v1/principles?program_id={b}"), PROGRAM_B),
        get("/api/v1/quality-kpis".into(), ALL_SIGNED_IN),
        get("/api/v1/form-templates".into(), ALL_SIGNED_IN),
        get("/api/v1/disputes".into(), ALL_SIGNED_IN),
        get("/api/v1/coaching".into(), ALL_SIGNED_IN),
        get("/api/v1/coaching/999999".into(), NOWHERE),
        get("/api/v1/notifications".into(), ALL_SIGNED_IN),
        // Sampling: run by the program's evaluators and administrators; everyone has a queue.
        get(format!("/api/v1/programs/{a}/sampling-plans"), SAMPLING_A),
        get(format!("/api/v1/assignments?program_id={a}"), SAMPLING_A),
        get(
            format!("/api/v1/programs/{a}/assignments/tracking"),
            SAMPLING_A,
        ),
        get("/api/v1/assignments".into(), ALL_SIGNED_IN),
        get("/api/v1/sampling-plans/999999".into(), NOWHERE),
        get("/api/v1/calibration/sessions".into(), ALL_SIGNED_IN),
        get("/api/v1/calibration/sessions/999999".into(), NOWHERE),
        get(format!("/api/v1/programs/{a}/calibration-gate"), SAMPLING_A),
        get(
            format!("/api/v1/programs/{a}/calibration-trends"),
            SAMPLING_A,
        ),
        get(format!("/api/v1/disputes?program_id={b}"), PROGRAM_B),
        get(format!("/api/v1/programs/{a}/forms"), PROGRAM_A),
        get(format!("/api/v1/programs/{a}/quality"), PROGRAM_A),
        get(format!("/api/v1/programs/{a}/quality/impact"), PROGRAM_A),
        get(format!("/api/v1/programs/{b}/quality"), PROGRAM_B),
        get(
            format!("/api/v1/programs/{a}/quality?by=agent"),
            [401, 200, 200, 200, 403, 403, 404, 200],
        ),
        get(
            format!("/api/v1/programs/{a}/evaluations.csv"),
            [401, 200, 200, 200, 403, 403, 404, 200],
        ),
        get(format!("/api/v1/programs/{b}/forms"), PROGRAM_B),
        get("/api/v1/form-versions/999999".into(), NOWHERE),
        get("/api/v1/evaluations/999999".into(), NOWHERE),
        // The contact has no agent: agents and team leads do not see it.
        get(
            format!("/api/v1/contacts/{contact}/evaluations"),
            [401, 200, 404, 404, 200, 200, 404, 200],
        ),
        (
            Method::POST,
            "/api/v1/principles".into(),
            Some(json!({"key": "matrix", "name": "Matrix"})),
            CREATED_BY_ADMIN,
        ),
        (
            Method::POST,
            format!("/api/v1/programs/{a}/forms"),
            Some(json!({"template": "classic-chat"})),
            CREATED_BY_ADMIN,
        ),
        // Evaluators and administrators may evaluate, but nothing is published to do it with.
        (
            Method::POST,
            format!("/api/v1/contacts/{contact}/evaluations"),
            Some(json!({})),
            [401, 409, 404, 404, 403, 403, 404, 409],
        ),
        get("/api/v1/me".into(), ALL_SIGNED_IN),
        get("/api/v1/programs".into(), ALL_SIGNED_IN),
        get(format!("/api/v1/programs/{a}"), PROGRAM_A),
        get(format!("/api/v1/programs/{b}"), PROGRAM_B),
        get(format!("/api/v1/programs/{a}/teams"), PROGRAM_A),
        get(format!("/api/v1/programs/{b}/teams"), PROGRAM_B),
        get("/api/v1/programs/999999".into(), NOWHERE),
        get("/api/v1/people".into(), ADMIN_ONLY),
        get(format!("/api/v1/people/{agent}"), ADMIN_ONLY),
        get(format!("/api/v1/people/{agent}/grants"), ADMIN_ONLY),
        get("/api/v1/audit".into(), ADMIN_ONLY),
        get("/api/v1/tokens".into(), ALL_SIGNED_IN),
        get(format!("/api/v1/programs/{a}/kpis"), PROGRAM_A_FIGURES),
        get(format!("/api/v1/programs/{b}/kpis"), PROGRAM_B),
        (
            Method::POST,
            "/api/v1/programs".into(),
            Some(json!({"code": "MATRIX", "name": "Matrix", "timezone": "UTC"})),
            [401, 403, 403, 403, 403, 403, 403, 201],
        ),
        (
            Method::PATCH,
            format!("/api/v1/programs/{a}"),
            Some(json!({"name": "Acme Energie"})),
            ADMIN_ONLY,
        ),
        (
            Method::POST,
            format!("/api/v1/programs/{a}/teams"),
            Some(json!({"name": "Matrix team"})),
            [401, 403, 403, 403, 403, 403, 403, 201],
        ),
        (
            Method::POST,
            "/api/v1/people".into(),
            Some(json!({"email": "matrix@example.com", "name": "Matrix"})),
            [401, 403, 403, 403, 403, 403, 403, 201],
        ),
        (
            Method::PATCH,
            format!("/api/v1/people/{agent}"),
            Some(json!({"name": "Arjen Bakker"})),
            ADMIN_ONLY,
        ),
        (
            Method::POST,
            format!("/api/v1/people/{planner}/grants"),
            Some(json!({"role": "planner", "program_id": b})),
            [401, 403, 403, 403, 403, 403, 403, 201],
        ),
        (
            Method::DELETE,
            format!("/api/v1/grants/{grant}"),
            None,
            [401, 403, 403, 403, 403, 403, 403, 204],
        ),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({"name": "matrix", "expires_days": 1})),
            [401, 201, 201, 201, 201, 201, 201, 201],
        ),
    ]
}

/// A page request: method, path, form fields, and per actor the answer: a status, or
/// `login` for a redirect to the sign-in page.
type PageRow = (
    Method,
    String,
    Vec<(&'static str, String)>,
    [&'static str; 8],
);

fn page_rows(ids: &Ids) -> Vec<PageRow> {
    let Ids {
        a,
        b,
        agent,
        planner,
        contact,
        ..
    } = ids;
    const SIGNED_IN: [&str; 8] = ["login", "200", "200", "200", "200", "200", "200", "200"];
    const ADMIN: [&str; 8] = ["login", "403", "403", "403", "403", "403", "403", "200"];
    const ADMIN_POST: [&str; 8] = ["login", "403", "403", "403", "403", "403", "403", "303"];
    const PUBLIC: [&str; 8] = ["200"; 8];
    let get = |p: String, e| (Method::GET, p, vec![], e);
    let post = |p: String, f: Vec<(&'static str, String)>, e| (Method::POST, p, f, e);
    vec![
        get("/".into(), SIGNED_IN),
        get("/programs".into(), SIGNED_IN),
        get(
            format!("/programs/{a}"),
            ["login", "200", "200", "200", "200", "200", "404", "200"],
        ),
        get(
            format!("/programs/{b}"),
            ["login", "200", "404", "404", "404", "404", "200", "200"],
        ),
        get(
            "/programs/999999".into(),
            ["login", "404", "404", "404", "404", "404", "404", "404"],
        ),
        get("/account".into(), SIGNED_IN),
        get(
            format!("/programs/{a}/service"),
            ["login", "200", "200", "200", "200", "200", "404", "200"],
        ),
        get(
            format!("/programs/{a}/service.csv"),
            ["login", "200", "200", "200", "200", "200", "404", "200"],
        ),
        get(
            format!("/programs/{b}/service"),
            ["login", "200", "404", "404", "404", "404", "200", "200"],
        ),
        get(
            format!("/programs/{a}/contacts"),
            ["login", "200", "200", "200", "200", "200", "404", "200"],
        ),
        get(
            format!("/programs/{a}/contacts.csv"),
            ["login", "200", "200", "200", "200", "200", "404", "200"],
        ),
        get(
            format!("/contacts/{contact}"),
            ["login", "200", "404", "404", "200", "200", "404", "200"],
        ),
        get(
            "/contacts/999999".into(),
            ["login", "404", "404", "404", "404", "404", "404", "404"],
        ),
        get("/quality".into(), SIGNED_IN),
        get("/coaching".into(), SIGNED_IN),
        get(
            "/coaching/999999".into(),
            ["login", "404", "404", "404", "404", "404", "404", "404"],
        ),
        get("/notifications".into(), SIGNED_IN),
        get("/assignments".into(), SIGNED_IN),
        get("/calibration".into(), SIGNED_IN),
        get(
            "/calibration/999999".into(),
            ["login", "404", "404", "404", "404", "404", "404", "404"],
        ),
        get(
            format!("/programs/{a}/sampling"),
            ["login", "200", "403", "403", "403", "403", "404", "200"],
        ),
        get(
            "/sampling-plans/999999".into(),
            ["login", "404", "404", "404", "404", "404", "404", "404"],
        ),
        get("/notifications/count".into(), SIGNED_IN),
        get("/my/quality".into(), SIGNED_IN),
        get("/quality/disputes".into(), SIGNED_IN),
        get(
            "/quality/versions/999999".into(),
            ["login", "404", "404", "404", "404", "404", "404", "404"],
        ),
        get(
            "/evaluations/999999".into(),
            ["login", "404", "404", "404", "404", "404", "404", "404"],
        ),
        get(
            format!("/programs/{a}/quality"),
            ["login", "200", "200", "200", "200", "200", "404", "200"],
        ),
        // Single evaluations: never for planners and client viewers.
        get(
            format!("/programs/{a}/quality/evaluations.csv"),
            ["login", "200", "200", "200", "403", "403", "404", "200"],
        ),
        get(
            format!("/programs/{b}/quality"),
            ["login", "200", "404", "404", "404", "404", "200", "200"],
        ),
        get(format!("/programs/{a}/imports"), ADMIN),
        get("/admin/programs".into(), ADMIN),
        get(format!("/admin/programs/{a}"), ADMIN),
        get("/admin/people".into(), ADMIN),
        get(format!("/admin/people/{agent}"), ADMIN),
        get("/admin/audit".into(), ADMIN),
        get("/admin/audit.csv".into(), ADMIN),
        get("/login".into(), PUBLIC),
        get("/healthz".into(), PUBLIC),
        get("/readyz".into(), PUBLIC),
        get("/api/docs/".into(), PUBLIC),
        get("/api/v1/openapi.json".into(), PUBLIC),
        post(
            "/admin/programs".into(),
            vec![
                ("code", "PAGE-M".into()),
                ("name", "Page matrix".into()),
                ("timezone", "UTC".into()),
            ],
            ADMIN_POST,
        ),
        post(
            format!("/admin/programs/{a}"),
            vec![
                ("name", "Acme Energie".into()),
                ("timezone", "Europe/Berlin".into()),
                ("active", "1".into()),
            ],
            ADMIN_POST,
        ),
        post(
            format!("/admin/programs/{a}/teams"),
            vec![("name", "Page team".into())],
            ADMIN_POST,
        ),
        post(
            "/admin/people".into(),
            vec![
                ("email", "page-matrix@example.com".into()),
                ("name", "Page".into()),
            ],
            ADMIN_POST,
        ),
        post(
            format!("/admin/people/{agent}"),
            vec![("name", "Arjen Bakker".into()), ("active", "1".into())],
            ADMIN_POST,
        ),
        post(
            format!("/admin/people/{planner}/grants"),
            vec![
                ("role", "client_viewer".into()),
                ("scope", format!("p:{b}")),
            ],
            ADMIN_POST,
        ),
        post(
            "/account/tokens".into(),
            vec![("name", "page".into()), ("expires_days", "1".into())],
            SIGNED_IN,
        ),
        post(
            "/account/language".into(),
            vec![("locale", "en".into()), ("next", "/".into())],
            ["login", "303", "303", "303", "303", "303", "303", "303"],
        ),
    ]
}

both_backends! {
    async fn api_matrix(app: TestApp) {
        app.seed_demo().await;
        let ids = ids(&app).await;
        let mut tokens = Vec::new();
        for (_, email) in ACTORS {
            tokens.push(match email { Some(e) => Some(app.token_for(e).await), None => None });
        }
        let c = client();
        let mut wrong = Vec::new();
        for (method, path, body, expected) in api_rows(&ids) {
            for (i, (actor, _)) in ACTORS.iter().enumerate() {
                let mut req = c.request(method.clone(), app.url(&path));
                if let Some(t) = &tokens[i] { req = req.bearer_auth(t); }
                if let Some(b) = &body { req = req.json(b); }
                let res = req.send().await.unwrap();
                let got = res.status().as_u16();
                if got != expected[i] {
                    wrong.push(format!("{method} {path} as {actor}: got {got}, expected {}", expected[i]));
                }
                if got >= 400 {
                    let e: serde_json::Value = res.json().await.unwrap_or_default();
                    if e.get("code").is_none() || e.get("message").is_none() {
                        wrong.push(format!("{method} {path} as {actor}: error body is not {{code, message, field}}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "access matrix on {}:\n{}", app.backend, wrong.join("\n"));
    }

    async fn page_matrix(app: TestApp) {
        app.seed_demo().await;
        let ids = ids(&app).await;
        let mut clients = Vec::new();
        for (_, email) in ACTORS {
            clients.push(match email { Some(e) => app.signed_in(e).await, None => app.client() });
        }
        let mut wrong = Vec::new();
        for (method, path, fields, expected) in page_rows(&ids) {
            for (i, (actor, _)) in ACTORS.iter().enumerate() {
                let c = &clients[i];
                let res = if method == Method::GET {
                    c.get(app.url(&path)).send().await.unwrap()
                } else {
                    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.post_form(c, "/account", &path, &f).await
                };
                let got = match (res.status(), location(&res)) {
                    (StatusCode::SEE_OTHER, l) if l.starts_with("/login") => "login".to_owned(),
                    (s, _) => s.as_u16().to_string(),
                };
                if got != expected[i] {
                    wrong.push(format!("{method} {path} as {actor}: got {got}, expected {}", expected[i]));
                }
            }
        }
        assert!(wrong.is_empty(), "page access matrix on {}:\n{}", app.backend, wrong.join("\n"));
    }

    async fn a_client_never_sees_another_clients_program(app: TestApp) {
        app.seed_demo().await;
        let b = app.program_id("BLUE-NL").await;
        let token = app.token_for("client@example.com").await;
        let c = client();
        let programs: Vec<serde_json::Value> = c.get(app.url("/api/v1/programs")).bearer_auth(&token)
            .send().await.unwrap().json().await.unwrap();
        let codes: Vec<&str> = programs.iter().map(|p| p["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["ACME-DE"]);
        let me = c.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
        assert!(!me.contains("BlueFiber"));
        let s = app.signed_in("client@example.com").await;
        for path in ["/", "/programs", "/account", &format!("/programs/{b}")] {
            let html = s.get(app.url(path)).send().await.unwrap().text().await.unwrap();
            assert!(!html.contains("BlueFiber") && !html.contains("BLUE-NL") && !html.contains("Klantenservice"),
                "{path} shows program B to the client of program A");
        }
        // The team lead sees only their own team, not the program's other teams.
        let lead = app.token_for("lead@example.com").await;
        let a = app.program_id("ACME-DE").await;
        let teams: Vec<serde_json::Value> = c.get(app.url(&format!("/api/v1/programs/{a}/teams"))).bearer_auth(&lead)
            .send().await.unwrap().json().await.unwrap();
        let names: Vec<&str> = teams.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Privatkunden"]);
        // The evaluator of the program sees all of its teams.
        let qa = app.token_for("qa@example.com").await;
        let teams: Vec<serde_json::Value> = c.get(app.url(&format!("/api/v1/programs/{a}/teams"))).bearer_auth(&qa)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(teams.len(), 2);
    }

    async fn navigation_follows_roles(app: TestApp) {
        app.seed_demo().await;
        let admin = app.signed_in("admin@example.com").await.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        let agent = app.signed_in("agent@example.com").await.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        for link in ["href=\"/admin/people\"", "href=\"/admin/audit\"", "href=\"/admin/programs\""] {
            assert!(admin.contains(link), "admin sees {link}");
            assert!(!agent.contains(link), "agent does not see {link}");
        }
        assert!(agent.contains("href=\"/account\""));
    }
}
