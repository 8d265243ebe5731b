//! Sampling plans through the API: a week's contacts drawn per agent by rule and by channel,
//! assigned to the least-loaded evaluator, once per week; queues, overdue tracking, reassigning.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::quality::{Api, ans, call, evaluate, publish_example};

/// The week of Monday 2026-03-02 in ACME-DE (Europe/Berlin), with the contacts each rule looks
/// for. agent@example.com is Arjen's code; someone.else is nobody's.
const WEEK: &str = "\
external_id,channel,agent,customer,arrived,answered,ended,wait_s,outcome
OLD-1,phone,agent@example.com,,2026-03-01 23:30:00,2026-03-01 23:30:05,2026-03-01 23:35:00,5,handled
P-1,phone,agent@example.com,K4,2026-03-02 09:00:00,2026-03-02 09:00:10,2026-03-02 09:05:00,10,handled
P-2,phone,agent@example.com,,2026-03-02 10:00:00,2026-03-02 10:00:10,2026-03-02 10:05:00,10,handled
P-3,phone,agent@example.com,,2026-03-03 10:00:00,2026-03-03 10:00:10,2026-03-03 10:05:00,10,handled
P-4,phone,agent@example.com,,2026-03-04 10:00:00,2026-03-04 10:00:10,2026-03-04 10:05:00,10,handled
P-5,phone,agent@example.com,,2026-03-05 10:00:00,2026-03-05 10:00:10,2026-03-05 10:05:00,10,handled
P-6,phone,agent@example.com,,2026-03-08 23:00:00,2026-03-08 23:00:10,2026-03-08 23:05:00,10,handled
E-1,email,agent@example.com,,2026-03-03 12:00:00,2026-03-03 14:00:00,,,handled
E-2,email,agent@example.com,,2026-03-04 12:00:00,2026-03-04 14:00:00,,,handled
C-1,chat,agent@example.com,,2026-03-04 15:00:00,2026-03-04 15:00:20,2026-03-04 15:10:00,20,handled
A-1,phone,,,2026-03-04 16:00:00,,2026-03-04 16:01:00,60,abandoned
X-1,phone,someone.else,,2026-03-02 13:00:00,2026-03-02 13:05:00,2026-03-02 13:10:00,300,handled
X-2,phone,someone.else,K2,2026-03-02 14:00:00,2026-03-02 14:00:10,2026-03-02 14:05:00,10,handled
B-1,bot,,K3,2026-03-03 09:00:00,,2026-03-03 09:05:00,0,transferred
X-3,chat,someone.else,K3,2026-03-03 09:10:00,2026-03-03 09:10:20,2026-03-03 09:20:00,20,handled
R-1,phone,someone.else,K4,2026-03-03 11:00:00,2026-03-03 11:00:10,2026-03-03 11:05:00,10,handled
S-1,social,someone.else,,2026-03-03 11:00:00,2026-03-03 11:30:00,,,handled
N-1,phone,agent@example.com,,2026-03-09 00:10:00,2026-03-09 00:10:10,2026-03-09 00:15:00,10,handled
";

fn plan(qa: i64, admin: i64) -> Value {
    json!({
        "name": "Weekly sample",
        "per_agent": 3,
        "channels": ["phone", "email", "chat"],
        "evaluator_ids": [qa, admin],
        "due_days": 7,
        "rules": [
            {"kind": "low_csat"},
            {"kind": "long_wait", "threshold": 300},
            {"kind": "repeat_contact"},
            {"kind": "bot_handover"},
        ],
    })
}

fn count(v: &Value, pred: impl Fn(&Value) -> bool) -> usize {
    v.as_array().unwrap().iter().filter(|x| pred(x)).count()
}

both_backends! {
    async fn a_week_is_drawn_by_rule_and_channel_and_assigned_once(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let admin = app.token_for("admin@example.com").await;
        let qa = app.token_for("qa@example.com").await;
        let agent = app.token_for("agent@example.com").await;
        let planner = app.token_for("planner@example.com").await;
        let qa_id = app.person_id("qa@example.com").await.0;
        let admin_id = app.person_id("admin@example.com").await.0;
        let agent_id = app.person_id("agent@example.com").await.0;
        let program = app.program_id("ACME-DE").await.0;
        let ids = app.import_csv("ACME-DE", WEEK).await;
        app.import_surveys_csv("ACME-DE", "contact,answered,csat,rq\nX-2,2026-03-02 15:00:00,1,no\n").await;
        let plans = format!("/api/v1/programs/{program}/sampling-plans");

        // Who may plan, and what a plan may say.
        let (s, _) = api.post(&planner, &plans, plan(qa_id, admin_id)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = api.get(&agent, &plans).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, err) = api.post(&qa, &plans, plan(qa_id, agent_id)).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("evaluator_ids[1]")), "{err}");
        let mut bad = plan(qa_id, admin_id);
        bad["rules"][2]["threshold"] = json!(3);
        let (s, err) = api.post(&qa, &plans, bad).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rules[2].threshold")), "{err}");
        let (s, p) = api.post(&qa, &plans, plan(qa_id, admin_id)).await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let id = p["id"].as_i64().unwrap();
        assert_eq!(p["rules"][0], json!({"kind": "low_csat", "threshold": null, "per_agent": 1}));
        let runs = format!("/api/v1/sampling-plans/{id}/runs");

        // A week that has not ended is refused.
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
        let (s, err) = api.post(&qa, &runs, json!({"week": today.to_string()})).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("week")), "{err}");

        // Any day names its week. Arjen: P-1 came back (R-1, same customer, next day) → repeat
        // contact; then 3 of his other 8 (5 phone, 2 e-mail, 1 chat): quotas 1.875 / 0.75 /
        // 0.375 → 1 / 0 / 0, the two left to the largest remainders → 2 phone, 1 e-mail.
        // someone.else: X-2 (CSAT 1) low CSAT, X-1 (waited 300 s) long wait, X-3 after the bot
        // → bot hand-over, and R-1, the one phone left, at random; social is not in the plan.
        let (s, run) = api.post(&qa, &runs, json!({"week": "2026-03-05"})).await;
        assert_eq!(s, StatusCode::CREATED, "{run}");
        assert_eq!(run["week"], "2026-03-02");
        assert_eq!(run["due"], "2026-03-15");
        assert_eq!(run["candidates"], 13);
        assert_eq!(run["assigned"], 8);
        assert_eq!(run["by_reason"], json!({"random": 4, "repeat_contact": 1, "low_csat": 1, "long_wait": 1, "bot_handover": 1}));

        let (s, all) = api.get(&qa, &format!("/api/v1/assignments?program_id={program}")).await;
        assert_eq!(s, StatusCode::OK, "{all}");
        let reason_of = |ext: &str| all.as_array().unwrap().iter()
            .find(|a| a["contact_external_id"] == ext).map(|a| a["reason"].as_str().unwrap().to_owned());
        assert_eq!(reason_of("P-1").as_deref(), Some("repeat_contact"));
        assert_eq!(reason_of("X-2").as_deref(), Some("low_csat"));
        assert_eq!(reason_of("X-1").as_deref(), Some("long_wait"));
        assert_eq!(reason_of("X-3").as_deref(), Some("bot_handover"));
        assert_eq!(reason_of("R-1").as_deref(), Some("random"));
        for outside in ["OLD-1", "N-1", "A-1", "S-1", "B-1"] {
            assert_eq!(reason_of(outside), None, "{outside} is not in the sample");
        }
        let arjen = |pred: &dyn Fn(&str) -> bool| count(&all, |a| a["agent_code"] == "agent@example.com" && a["reason"] == "random" && pred(a["channel"].as_str().unwrap()));
        assert_eq!((arjen(&|c| c == "phone"), arjen(&|c| c == "email"), arjen(&|c| c == "chat")), (2, 1, 0));
        assert_eq!(all[0]["agent_name"], "Arjen Bakker");
        // Alternately to the least loaded: four each; the week is long past its due date.
        assert_eq!(count(&all, |a| a["evaluator_id"] == qa_id), 4);
        assert_eq!(count(&all, |a| a["evaluator_id"] == admin_id), 4);
        assert_eq!(count(&all, |a| a["state"] == "overdue"), 8);

        // A second run of the week draws nothing new.
        let (s, again) = api.post(&admin, &runs, json!({"week": "2026-03-08"})).await;
        assert_eq!(s, StatusCode::OK, "{again}");
        assert_eq!((again["already_sampled"].as_bool(), again["assigned"].as_i64()), (Some(true), Some(8)));
        assert_eq!(again["by_reason"], run["by_reason"]);
        let (_, same) = api.get(&qa, &format!("/api/v1/assignments?program_id={program}")).await;
        assert_eq!(same.as_array().unwrap().len(), 8);

        // The evaluator's queue and notification.
        let (_, mine) = api.get(&qa, "/api/v1/assignments").await;
        assert_eq!(mine.as_array().unwrap().len(), 4);
        assert!(mine.as_array().unwrap().iter().all(|a| a["evaluator_id"] == qa_id));
        let (_, n) = api.get(&qa, "/api/v1/notifications").await;
        assert_eq!((n[0]["kind"].as_str(), n[0]["link"].as_str()), (Some("samples_assigned"), Some("/assignments")));
        assert_eq!(n[0]["detail"], "4 · Weekly sample · 2026-03-15");
        let (_, theirs) = api.get(&agent, "/api/v1/assignments").await;
        assert_eq!(theirs, json!([]), "agents have no queue");
        let (s, _) = api.get(&agent, &format!("/api/v1/assignments?program_id={program}")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = api.get(&qa, &format!("/api/v1/assignments?evaluator_id={admin_id}")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "another's queue only through the program");

        // Evaluating the contact marks it done — late, so not on time.
        publish_example(&api, &admin, "zero").await;
        let first = mine[0].clone();
        evaluate(&api, &qa, first["contact_id"].as_i64().unwrap(), json!([
            ans("greeting", json!("yes")), ans("listening", json!(4)),
            ans("information", json!("Partly")), ans("relationship", json!("yes")),
        ])).await;
        let (_, done) = api.get(&qa, "/api/v1/assignments?state=done").await;
        assert_eq!(done.as_array().unwrap().len(), 1);
        assert_eq!((done[0]["id"].clone(), done[0]["on_time"].as_bool()), (first["id"].clone(), Some(false)));
        assert!(done[0]["evaluation_id"].is_i64());
        let (_, tracking) = api.get(&qa, &format!("/api/v1/programs/{program}/assignments/tracking")).await;
        let row = |who: i64| tracking.as_array().unwrap().iter().find(|t| t["evaluator_id"] == who).unwrap().clone();
        assert_eq!((row(qa_id)["overdue"].as_i64(), row(qa_id)["done"].as_i64(), row(qa_id)["on_time"].as_i64()), (Some(3), Some(1), Some(0)));
        assert_eq!((row(admin_id)["overdue"].as_i64(), row(admin_id)["open"].as_i64()), (Some(4), Some(0)));

        // Reassigning: not what is done, not to the agent, to another evaluator.
        let patch = |id: &Value, to: i64| call(&api.c, reqwest::Method::PATCH, app.url(&format!("/api/v1/assignments/{id}")), &qa, Some(json!({"evaluator_id": to})));
        let (s, _) = patch(&first["id"], admin_id).await;
        assert_eq!(s, StatusCode::CONFLICT);
        let arjens = all.as_array().unwrap().iter().find(|a| a["agent_code"] == "agent@example.com" && a["evaluator_id"] == admin_id).unwrap();
        let (s, err) = patch(&arjens["id"], agent_id).await;
        assert_eq!((s, err["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("evaluator_id")));
        let (s, moved) = patch(&arjens["id"], qa_id).await;
        assert_eq!(s, StatusCode::OK, "{moved}");
        assert_eq!(moved["evaluator_id"], qa_id);

        // A contact evaluated already is never drawn: a second plan over the same week finds
        // only what the first left.
        let (_, p2) = api.post(&admin, &plans, json!({"name": "Social", "per_agent": 5, "channels": ["social", "phone"], "evaluator_ids": [qa_id]})).await;
        let (s, run2) = api.post(&admin, &format!("/api/v1/sampling-plans/{}/runs", p2["id"]), json!({"week": "2026-03-02"})).await;
        assert_eq!(s, StatusCode::CREATED, "{run2}");
        // Arjen's 3 phone contacts left (P-2..P-6 less the 2 drawn) and someone.else's S-1.
        assert_eq!((run2["candidates"].as_i64(), run2["assigned"].as_i64()), (Some(4), Some(4)));
        let _ = ids;
    }

    async fn the_last_finished_week_is_the_default_and_its_assignments_are_open(app: TestApp) {
        app.seed_demo().await;
        let api = Api { app: &app, c: client() };
        let qa = app.token_for("qa@example.com").await;
        let qa_id = app.person_id("qa@example.com").await.0;
        let program = app.program_id("ACME-DE").await.0;
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
        let monday = today - chrono::Duration::days(i64::from(chrono::Datelike::weekday(&today).num_days_from_monday()) + 7);
        let csv: String = (0..6).map(|i| format!(
            "L-{i},phone,agent@example.com,{d} 10:00:00,{d} 10:00:10,{d} 10:05:00\n",
            d = monday + chrono::Duration::days(i)
        )).collect();
        app.import_csv("ACME-DE", &format!("external_id,channel,agent,arrived,answered,ended\n{csv}")).await;
        let (_, p) = api.post(&qa, &format!("/api/v1/programs/{program}/sampling-plans"), json!({
            "name": "Two a week", "per_agent": 2, "channels": ["phone"], "evaluator_ids": [qa_id], "due_days": 14,
        })).await;
        let (s, run) = api.post(&qa, &format!("/api/v1/sampling-plans/{}/runs", p["id"]), json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{run}");
        assert_eq!(run["week"], monday.to_string());
        assert_eq!(run["due"], (monday + chrono::Duration::days(20)).to_string());
        assert_eq!(run["assigned"], 2);
        let (_, open) = api.get(&qa, "/api/v1/assignments?state=open").await;
        assert_eq!(open.as_array().unwrap().len(), 2, "due on {}, today is {today}", run["due"]);

        // The schedule finds the week sampled and changes nothing.
        assert_eq!(kalibra::quality::sampling::store::run_due(&app.db).await.unwrap(), 0);
        let (_, all) = api.get(&qa, "/api/v1/assignments").await;
        assert_eq!(all.as_array().unwrap().len(), 2);
    }

    async fn a_qa_lead_plans_samples_and_works_the_queue_in_the_pages(app: TestApp) {
        app.seed_demo().await;
        let program = app.program_id("ACME-DE").await.0;
        let qa_id = app.person_id("qa@example.com").await.0;
        let admin_id = app.person_id("admin@example.com").await.0;
        app.import_csv("ACME-DE", WEEK).await;
        let qa = app.signed_in("qa@example.com").await;
        let page = format!("/programs/{program}/sampling");
        let html = qa.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"plan-form\"") && html.contains("Quinn de Vries") && html.contains("Alex Admin"));
        assert!(!html.contains("Arjen Bakker</label>"), "agents are not offered as evaluators");

        // A faulty form keeps what was typed and names the field.
        let qa_s = qa_id.to_string();
        let res = app.post_form(&qa, &page, &page, &[("name", "Weekly"), ("per_agent", "three"), ("due_days", "7"), ("channel", "phone"), ("evaluator", &qa_s)]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("per_agent: expected a whole number") && html.contains("value=\"three\""), "{html}");

        let admin_s = admin_id.to_string();
        let fields = [("name", "Weekly"), ("per_agent", "3"), ("due_days", "7"), ("channel", "phone"), ("channel", "email"), ("channel", "chat"),
            ("evaluator", qa_s.as_str()), ("evaluator", admin_s.as_str()), ("rule", "low_csat"), ("threshold_low_csat", "2"), ("rule_per_agent_low_csat", "1"),
            ("rule", "long_wait"), ("threshold_long_wait", "300"), ("rule_per_agent_long_wait", "1"), ("active", "on")];
        let res = app.post_form(&qa, &page, &page, &fields).await;
        assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, page.clone()));
        let c = client();
        let token = app.token_for("qa@example.com").await;
        let plans: Value = c.get(app.url(&format!("/api/v1/programs/{program}/sampling-plans"))).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let id = plans[0]["id"].as_i64().unwrap();
        assert_eq!(plans[0]["rules"], json!([{"kind": "low_csat", "threshold": 2, "per_agent": 1}, {"kind": "long_wait", "threshold": 300, "per_agent": 1}]));
        assert_eq!(plans[0]["evaluator_ids"], json!([qa_id, admin_id]));

        // The plan's page shows what is stored.
        let html = qa.get(app.url(&format!("/sampling-plans/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"rule-long_wait\" checked") && html.contains("name=\"threshold_long_wait\" type=\"number\" min=\"1\" value=\"300\""));

        // Sampling the week from the page: no repeat or bot rule now, so are random
        // picks with X-1 (long wait) and X-2 (low CSAT) by rule; Arjen 3 at random + nothing by rule.
        let res = app.post_form(&qa, &page, &format!("/sampling-plans/{id}/run"), &[("week", "2026-03-04")]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("Week of 2026-03-02: 7 contacts assigned, due on 2026-03-15."), "{html}");
        let res = app.post_form(&qa, &page, &format!("/sampling-plans/{id}/run"), &[("week", "2026-03-02")]).await;
        assert!(res.text().await.unwrap().contains("was sampled before: 7 contacts"));
        let res = app.post_form(&qa, &page, &format!("/sampling-plans/{id}/run"), &[("week", "2099-01-05")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // The queue: every row overdue, each with a button that starts the evaluation.
        let html = qa.get(app.url("/assignments")).send().await.unwrap().text().await.unwrap();
        let rows = html.matches("data-state=\"overdue\"").count();
        let (_, mine): (StatusCode, Value) = { let r = c.get(app.url("/api/v1/assignments")).bearer_auth(&token).send().await.unwrap(); (r.status(), r.json().await.unwrap()) };
        assert_eq!(rows, mine.as_array().unwrap().len());
        assert!(rows >= 3, "{rows}");
        assert!(html.contains(&format!("action=\"/contacts/{}/evaluations\"", mine[0]["contact_id"])));

        // Reassigning from the program page.
        let first = mine[0]["id"].as_i64().unwrap();
        let res = app.post_form(&qa, &page, &format!("/assignments/{first}/reassign"), &[("evaluator_id", &admin_s)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let html = qa.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"tracking\"") && html.contains("id=\"open-assignments\""));
        let theirs: Value = c.get(app.url(&format!("/api/v1/assignments?program_id={program}&evaluator_id={admin_id}"))).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert!(theirs.as_array().unwrap().iter().any(|a| a["id"] == first));
    }
}
