//! Calibration sessions through the API: blind scoring, the reveal, reference answers, and the
//! agreement figures against Krippendorff (2011)'s published example.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::quality::Api;

/// A form with the example's 1–5 rating twice: once as a rating scale (ordinal), once as five
/// named categories (nominal), both allowing n/a for the missing values.
fn form() -> Value {
    let points: Vec<Value> = ["A", "B", "C", "D", "E"]
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"label": l, "percent": i * 25}))
        .collect();
    json!({
        "name": "Calibration example", "channels": ["phone"], "critical_mode": "zero",
        "sections": [{"key": "main", "title": "Main", "criteria": [
            {"key": "rating", "name": "Rating", "scale": "1-5", "weight": 1, "na_allowed": true},
            {"key": "category", "name": "Category", "scale": "custom", "points": points, "weight": 1, "na_allowed": true},
        ]}],
    })
}

/// Krippendorff (2011): four observers, twelve units, `.` missing.
const DATA: [&str; 4] = [
    "1 2 3 3 2 1 4 1 2 . . .",
    "1 2 3 3 2 2 4 1 2 5 . 3",
    ". 3 3 3 2 3 4 2 2 5 1 .",
    "1 2 3 3 2 4 4 1 2 5 1 .",
];

fn answers(v: &str) -> Value {
    let (rating, category) = match v {
        "." => (json!("n/a"), json!("n/a")),
        n => {
            let n: usize = n.parse().unwrap();
            (json!(n), json!(["A", "B", "C", "D", "E"][n - 1]))
        }
    };
    json!([{"criterion": "rating", "value": rating}, {"criterion": "category", "value": category}])
}

async fn setup(app: &TestApp, api: &Api<'_>, admin: &str) -> (i64, Vec<i64>) {
    let program = app.program_id("ACME-DE").await.0;
    let csv: String = (1..=12).map(|i| format!("K-{i},phone,agent@example.com,2026-03-02 09:{i:02}:00,2026-03-02 09:{i:02}:10,2026-03-02 09:{i:02}:50\n")).collect();
    let ids = app
        .import_csv(
            "ACME-DE",
            &format!("external_id,channel,agent,arrived,answered,ended\n{csv}"),
        )
        .await;
    let (s, v) = api
        .post(
            admin,
            &format!("/api/v1/programs/{program}/forms"),
            json!({"definition": form()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let version = v["id"].as_i64().unwrap();
    let (s, _) = api
        .post(
            admin,
            &format!("/api/v1/form-versions/{version}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    (version, (1..=12).map(|i| ids[&format!("K-{i}")]).collect())
}

both_backends! {
    async fn a_blind_session_matches_the_published_alphas(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let program = app.program_id("ACME-DE").await.0;
        let (version, contacts) = setup(&app, &api, &admin).await;
        let people = ["qa@example.com", "lead@example.com", "admin@example.com", "agent@example.com"];
        let mut ids = Vec::new();
        let mut tokens = Vec::new();
        for p in people {
            ids.push(app.person_id(p).await.0);
            tokens.push(app.token_for(p).await);
        }
        let roles = ["evaluator", "team_lead", "evaluator", "agent"];
        let participants: Vec<Value> = ids.iter().zip(roles).map(|(id, role)| json!({"person_id": id, "role": role})).collect();
        let session = |participants: Value| json!({
            "program_id": program, "title": "March calibration", "held_on": "2026-03-10", "due": "2026-03-09",
            "form_version_id": version, "participants": participants, "contact_ids": contacts, "focus": ["rating"],
        });

        // Who may plan one, and with whom.
        let planner = app.token_for("planner@example.com").await;
        let (s, _) = api.post(&planner, "/api/v1/calibration/sessions", session(json!(participants))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let outsider = app.person_id("agent2@example.com").await.0;
        let mut wrong = participants.clone();
        wrong.push(json!({"person_id": outsider, "role": "agent"}));
        let (s, err) = api.post(&admin, "/api/v1/calibration/sessions", session(json!(wrong))).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("participants[4].person_id")), "{err}");
        let (s, created) = api.post(&admin, "/api/v1/calibration/sessions", session(json!(participants))).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        assert_eq!((created["reveal_required"].as_bool(), created["results_visible"].as_bool()), (Some(true), Some(false)));
        let (_, n) = api.get(&tokens[3], "/api/v1/notifications").await;
        assert_eq!((n[0]["kind"].as_str(), n[0]["link"].as_str()), (Some("calibration_invited"), Some(format!("/calibration/{id}").as_str())));
        let (s, _) = api.get(&planner, &format!("/api/v1/calibration/sessions/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "not a participant");

        // Everyone scores blind; a draft first, then every contact handed in.
        let scores = format!("/api/v1/calibration/sessions/{id}/scores");
        let results = format!("/api/v1/calibration/sessions/{id}/results");
        let (s, err) = api.put(&tokens[0], &scores, json!({"contact_id": contacts[0], "answers": [{"criterion": "rating", "value": 1}], "submit": true})).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("answers")), "every criterion first: {err}");
        let (s, err) = api.put(&tokens[0], &scores, json!({"contact_id": contacts[0], "answers": [{"criterion": "rating", "value": 7}]})).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("answers[0].value")), "{err}");
        for (rater, row) in DATA.iter().enumerate() {
            for (unit, v) in row.split(' ').enumerate() {
                let (s, body) = api.put(&tokens[rater], &scores, json!({"contact_id": contacts[unit], "answers": answers(v), "submit": true})).await;
                assert_eq!(s, StatusCode::OK, "{body}");
            }
            let (s, err) = api.get(&tokens[rater], &results).await;
            assert_eq!(s, StatusCode::CONFLICT, "hidden until the reveal: {err}");
        }
        let (s, _) = api.put(&tokens[0], &scores, json!({"contact_id": contacts[0], "answers": answers("2"), "submit": true})).await;
        assert_eq!(s, StatusCode::CONFLICT, "handed in is final");
        let (s, _) = api.post(&tokens[0], &format!("/api/v1/calibration/sessions/{id}/reveal"), json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "only the facilitator reveals");
        let (s, revealed) = api.post(&admin, &format!("/api/v1/calibration/sessions/{id}/reveal"), json!({})).await;
        assert_eq!((s, revealed["results_visible"].as_bool()), (StatusCode::OK, Some(true)), "{revealed}");
        let (_, n) = api.get(&tokens[1], "/api/v1/notifications").await;
        assert_eq!(n[0]["kind"], "calibration_revealed");

        // The published values: ordinal 0.815 (108,577 / 133,160) for the rating scale, nominal
        // 0.743 (113 / 152) for the named categories; 11 pairable units, 40 pairable values.
        let (s, r) = api.get(&tokens[1], &results).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let criterion = |k: &str| r["criteria"].as_array().unwrap().iter().find(|c| c["criterion"] == k).unwrap()["agreement"].clone();
        let rating = criterion("rating");
        assert_eq!((rating["level"].as_str(), rating["pairable_units"].as_i64(), rating["pairable_values"].as_i64()), (Some("ordinal"), Some(11), Some(40)));
        assert!((rating["alpha"].as_f64().unwrap() - 108_577.0 / 133_160.0).abs() < 1e-9, "{rating}");
        let category = criterion("category");
        assert_eq!(category["level"], "nominal");
        assert!((category["alpha"].as_f64().unwrap() - 113.0 / 152.0).abs() < 1e-9, "{category}");
        assert!(category["gwet_ac1"].is_number() || category["gwet_ac1"].is_null());
        assert_eq!(category["categories"], json!(["A", "B", "C", "D", "E"]));
        assert!(r["criteria"].as_array().unwrap().iter().all(|c| c["flagged"] == false), "both above 0.667");
        // Unit 6 is where they part: 1, 2, 3, 4.
        let cell = r["cells"].as_array().unwrap().iter().find(|c| c["contact_id"] == contacts[5] && c["criterion"] == "rating").unwrap();
        assert_eq!((cell["answers"].as_array().unwrap().len(), cell["unanimous"].as_bool()), (4, Some(false)));

        // The reference the session agrees: the rating most gave (unit 6: 2). Quinn (row A)
        // then differs once in 9 answers, by 25 points: 2.78 on average, 8 of 9 exact; Alex
        // (row C) three times in 10: 7.5, 7 of 10.
        let agreed = ["1", "2", "3", "3", "2", "2", "4", "1", "2", "5", "1", "3"];
        let (s, err) = api.put(&tokens[0], &format!("/api/v1/calibration/sessions/{id}/references"), json!({"contact_id": contacts[0], "criterion": "rating", "value": 1})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{err}");
        let (s, err) = api.put(&admin, &format!("/api/v1/calibration/sessions/{id}/references"), json!({"contact_id": contacts[0], "criterion": "rating", "value": 9})).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("value")), "{err}");
        let mut last = Value::Null;
        for (unit, v) in agreed.iter().enumerate() {
            let (s, r) = api.put(&admin, &format!("/api/v1/calibration/sessions/{id}/references"), json!({"contact_id": contacts[unit], "criterion": "rating", "value": v.parse::<i64>().unwrap(), "note": "as discussed"})).await;
            assert_eq!(s, StatusCode::OK, "{r}");
            last = r;
        }
        let person = |who: i64| last["participants"].as_array().unwrap().iter().find(|p| p["person_id"] == who).unwrap()["vs_reference"].clone();
        let quinn = person(ids[0]);
        assert_eq!(quinn["items"], 9);
        assert!((quinn["mean_abs_diff"].as_f64().unwrap() - 25.0 / 9.0).abs() < 1e-9, "{quinn}");
        assert!((quinn["exact_share"].as_f64().unwrap() - 8.0 / 9.0).abs() < 1e-12);
        let alex = person(ids[2]);
        assert_eq!(alex["items"], 10);
        assert!((alex["mean_abs_diff"].as_f64().unwrap() - 7.5).abs() < 1e-9, "{alex}");
        assert!((alex["exact_share"].as_f64().unwrap() - 0.7).abs() < 1e-12);
        assert!(last["participants"].as_array().unwrap().iter().all(|p| p["flagged"] == false));

        // The trend: one session so far, its alphas and distances as above.
        let (s, t) = api.get(&admin, &format!("/api/v1/programs/{program}/calibration-trends")).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        assert_eq!(t["sessions"][0]["held_on"], "2026-03-10");
        let line = |list: &str, key: &str| t[list].as_array().unwrap().iter().find(|x| x["key"] == key).unwrap()["values"][0].as_f64().unwrap();
        assert!((line("criteria", "rating") - 108_577.0 / 133_160.0).abs() < 1e-9);
        assert!((line("participants", &ids[0].to_string()) - 25.0 / 9.0).abs() < 1e-9);
        let (s, _) = api.get(&tokens[1], &format!("/api/v1/programs/{program}/calibration-trends")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "for the QA side");
        let html = app.signed_in("admin@example.com").await.get(app.url("/calibration")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("trend-alpha") && html.contains(">0.815<") && html.contains(">2.8<"), "{html}");

        // Calibration scores never reach the quality figures.
        let (_, q) = api.get(&admin, &format!("/api/v1/programs/{program}/quality?from=2026-01-01&to=2027-12-31")).await;
        assert_eq!(q["total"]["evaluations"], 0, "{q}");
    }

    async fn without_a_reveal_each_sees_the_scores_once_their_own_are_in(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let lead = app.token_for("lead@example.com").await;
        let program = app.program_id("ACME-DE").await.0;
        let (version, contacts) = setup(&app, &api, &admin).await;
        let (qa_id, lead_id) = (app.person_id("qa@example.com").await.0, app.person_id("lead@example.com").await.0);
        let participants = json!([{"person_id": qa_id, "role": "evaluator"}, {"person_id": lead_id, "role": "team_lead"}]);
        let (s, created) = api.post(&qa, "/api/v1/calibration/sessions", json!({
            "program_id": program, "title": "Quick check", "held_on": "2026-03-10", "due": "2026-03-10",
            "form_version_id": version, "participants": participants, "contact_ids": [contacts[0], contacts[1]], "reveal_required": false,
        })).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        let scores = format!("/api/v1/calibration/sessions/{id}/scores");
        let results = format!("/api/v1/calibration/sessions/{id}/results");
        api.put(&qa, &scores, json!({"contact_id": contacts[0], "answers": answers("3"), "submit": true})).await;
        let (s, _) = api.get(&qa, &results).await;
        assert_eq!(s, StatusCode::CONFLICT, "one contact still to score");
        api.put(&qa, &scores, json!({"contact_id": contacts[1], "answers": answers("4"), "submit": true})).await;
        let (s, r) = api.get(&qa, &results).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["participants"].as_array().unwrap().len(), 1, "only handed-in scores count");
        let (s, _) = api.get(&lead, &results).await;
        assert_eq!(s, StatusCode::CONFLICT, "the lead has not scored yet");
        let (_, me) = api.get(&lead, &format!("/api/v1/calibration/sessions/{id}")).await;
        assert_eq!(me["mine"], json!([]));
        let (_, list) = api.get(&lead, "/api/v1/calibration/sessions").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
    }

    async fn the_gate_warns_who_fell_short_and_tells_the_facilitator(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let lead = app.token_for("lead@example.com").await;
        let program = app.program_id("ACME-DE").await.0;
        let (version, contacts) = setup(&app, &api, &admin).await;
        let gate = format!("/api/v1/programs/{program}/calibration-gate");
        let (s, _) = api.put(&lead, &gate, json!({"min_exact": 0.9})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the QA side sets the gate");
        let (s, err) = api.put(&admin, &gate, json!({"min_exact": 1.5})).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("min_exact")));
        let (s, _) = api.put(&admin, &gate, json!({"min_exact": 0.9})).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (qa_id, lead_id) = (app.person_id("qa@example.com").await.0, app.person_id("lead@example.com").await.0);
        let (_, created) = api.post(&admin, "/api/v1/calibration/sessions", json!({
            "program_id": program, "title": "Gate check", "held_on": "2026-03-10", "due": "2026-03-10",
            "form_version_id": version, "contact_ids": [contacts[0], contacts[1]],
            "participants": [{"person_id": qa_id, "role": "evaluator"}, {"person_id": lead_id, "role": "team_lead"}],
        })).await;
        let id = created["id"].as_i64().unwrap();
        let scores = format!("/api/v1/calibration/sessions/{id}/scores");
        // QA answers 3 / C on both; the lead 3 / C and 4 / C: one answer of four differs.
        for (token, second) in [(&qa, "3"), (&lead, "4")] {
            api.put(token, &scores, json!({"contact_id": contacts[0], "answers": answers("3"), "submit": true})).await;
            let mut a = answers(second);
            a[1] = json!({"criterion": "category", "value": "C"});
            let (s, b) = api.put(token, &scores, json!({"contact_id": contacts[1], "answers": a, "submit": true})).await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        api.post(&admin, &format!("/api/v1/calibration/sessions/{id}/reveal"), json!({})).await;
        let refs = format!("/api/v1/calibration/sessions/{id}/references");
        for (contact, criterion, value) in [(0, "rating", json!(3)), (0, "category", json!("C")), (1, "rating", json!(3))] {
            api.put(&admin, &refs, json!({"contact_id": contacts[contact], "criterion": criterion, "value": value})).await;
        }
        let (_, n) = api.get(&admin, "/api/v1/notifications").await;
        assert!(n.as_array().unwrap().iter().all(|x| x["kind"] != "calibration_gate"), "not before the reference is complete");
        api.put(&admin, &refs, json!({"contact_id": contacts[1], "criterion": "category", "value": "C"})).await;
        // The lead: 3 of 4 the same, 75 % under 90 %; QA 4 of 4.
        let (_, n) = api.get(&admin, "/api/v1/notifications").await;
        let told: Vec<&Value> = n.as_array().unwrap().iter().filter(|x| x["kind"] == "calibration_gate").collect();
        assert_eq!(told.len(), 1, "{n}");
        assert_eq!(told[0]["detail"], "Lena Hoffmann: 75 % < 90 % · Gate check");
        api.put(&admin, &refs, json!({"contact_id": contacts[1], "criterion": "category", "value": "C", "note": "again"})).await;
        let (_, n) = api.get(&admin, "/api/v1/notifications").await;
        assert_eq!(n.as_array().unwrap().iter().filter(|x| x["kind"] == "calibration_gate").count(), 1, "told once");
        let (s, g) = api.get(&qa, &gate).await;
        assert_eq!(s, StatusCode::OK, "{g}");
        assert_eq!(g["min_exact"], 0.9);
        assert_eq!(g["under"].as_array().unwrap().len(), 1);
        assert_eq!((g["under"][0]["person_id"].as_i64(), g["under"][0]["exact_share"].as_f64()), (Some(lead_id), Some(0.75)));

        // The lead's new evaluation carries the warning; QA's does not.
        for (email, warned) in [("lead@example.com", true), ("qa@example.com", false)] {
            let c = app.signed_in(email).await;
            let token = app.token_for(email).await;
            let (_, e) = api.post(&token, &format!("/api/v1/contacts/{}/evaluations", contacts[5]), json!({})).await;
            let html = c.get(app.url(&format!("/evaluations/{}", e["id"]))).send().await.unwrap().text().await.unwrap();
            assert_eq!(html.contains("id=\"gate-warning\"") && html.contains("75 %"), warned, "{email}: {html}");
        }
        let (s, _) = api.put(&admin, &gate, json!({"min_exact": null})).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (_, g) = api.get(&qa, &gate).await;
        assert_eq!((g["min_exact"].clone(), g["under"].as_array().unwrap().len()), (Value::Null, 0));
    }

    async fn evaluator_severity_from_everyday_evaluations(app: TestApp) {
        use crate::quality::{ans, evaluate, publish_example};
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let program = app.program_id("ACME-DE").await.0;
        let csv: String = ["P", "X"].iter().flat_map(|p| (1..=4).map(move |i| {
            let agent = if *p == "P" { "agent@example.com" } else { "someone.else" };
            format!("{p}-{i},phone,{agent},2026-03-02 09:0{i}:00,2026-03-02 09:0{i}:10,2026-03-02 09:0{i}:50\n")
        })).collect();
        let ids = app.import_csv("ACME-DE", &format!("external_id,channel,agent,arrived,answered,ended\n{csv}")).await;
        publish_example(&api, &admin, "fail").await;
        // QA: greeting yes, listening 3 (50 %), information Partly (50 %); the administrator:
        // yes, 5 (100 %), Fully (100 %). Each evaluates two calls of each agent.
        let strict = || json!([ans("greeting", json!("yes")), ans("listening", json!(3)), ans("information", json!("Partly")), ans("relationship", json!("yes"))]);
        let kind = || json!([ans("greeting", json!("yes")), ans("listening", json!(5)), ans("information", json!("Fully")), ans("relationship", json!("yes"))]);
        for (who, answers, calls) in [(&qa, strict(), ["P-1", "P-2", "X-1", "X-2"]), (&admin, kind(), ["P-3", "P-4", "X-3", "X-4"])] {
            for c in calls {
                evaluate(&api, who, ids[c], answers.clone()).await;
            }
        }
        // Balanced: the difference is the mean over the criteria of (0, 50, 50, 0) = 25 points,
        // so each is 12.5 from the middle.
        let (s, v) = api.get(&qa, &format!("/api/v1/programs/{program}/evaluator-severity")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let effect = |name: &str| v.as_array().unwrap().iter().find(|x| x["name"] == name).unwrap().clone();
        let (quinn, alex) = (effect("Quinn de Vries"), effect("Alex Admin"));
        assert!((quinn["effect"].as_f64().unwrap() + 12.5).abs() < 1e-6, "{v}");
        assert!((alex["effect"].as_f64().unwrap() - 12.5).abs() < 1e-6, "{v}");
        assert_eq!((quinn["evaluations"].as_i64(), quinn["answers"].as_i64(), quinn["shared_agents"].as_i64()), (Some(4), Some(16), Some(2)));
        assert!(quinn["ci_low"].as_f64().unwrap() < -12.5 && quinn["ci_high"].as_f64().unwrap() > -12.5);
        let (s, _) = api.get(&qa, &format!("/api/v1/programs/{program}/evaluator-severity?from=2020-01-01&to=2020-01-31")).await;
        assert_eq!(s, StatusCode::OK);
        let html = app.signed_in("qa@example.com").await.get(app.url("/calibration")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"severity-") && html.contains("−12.5"), "{html}");
    }
}
