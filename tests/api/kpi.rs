//! Service KPIs against figures computed by hand, through the command line, on both databases.

use std::process::Command;

use kalibra::contacts::import::{ImportRequest, import_contacts};
use kalibra::contacts::mapping::{Format, Mapping};

use crate::both_backends;
use crate::helpers::*;

/// Berlin local times. P5 lies after the reported day; it only tells that P1's customer came back.
const FIXTURE: &str = "\
external_id,channel,queue,agent,customer,reason,arrived,answered,wait_s,talk_s,hold_s,acw_s,outcome
P1,phone,Billing,anna,A,invoice,2026-01-15 10:00:00,,10,200,0,20,handled
P2,phone,Billing,anna,B,,2026-01-15 10:05:00,,25,100,30,0,handled
P3,phone,Billing,,C,,2026-01-15 10:10:00,,3,,,,abandoned
P4,phone,Sales,,A,,2026-01-15 10:20:00,,40,,,,abandoned
P5,phone,Sales,bert,A,invoice,2026-01-18 09:00:00,,5,300,0,0,handled
P6,email,Mail,carl,D,,2026-01-15 11:00:00,2026-01-15 13:00:00,,,,,
";

/// P5's answer is about a contact outside the reported day; the last two rows are refused.
const SURVEYS: &str = "\
contact,answered,csat,nps,rq,comment
P1,2026-01-15 12:00:00,5,10,yes,
P2,2026-01-15 12:00:00,3,6,no,Lange wachttijd
P6,2026-01-16 09:00:00,4,9,yes,
P5,2026-01-18 10:00:00,1,0,no,
X9,,7,,,
X10,,,,,
";

fn kpi_json(app: &TestApp, by: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_kalibra"))
        .args([
            "--database-url",
            &app.database_url,
            "kpi",
            "--program",
            "ACME-DE",
        ])
        .args([
            "--from",
            "2026-01-15",
            "--to",
            "2026-01-15",
            "--by",
            by,
            "--format",
            "json",
        ])
        .env("KALIBRA_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(v: &serde_json::Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-12)
}

/// Import generic CSV contacts into ACME-DE (Berlin time).
async fn import_csv(app: &TestApp, text: &str) -> kalibra::contacts::import::Summary {
    let req = ImportRequest {
        batch_rows: 100,
        ..ImportRequest::new(
            app.program_id("ACME-DE").await,
            "fixture.csv",
            Format::Csv,
            Mapping::generic(chrono_tz::Europe::Berlin),
            "test",
        )
    };
    let input = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
    import_contacts(&app.db, req, input, |_| {}).await.unwrap()
}

async fn load_fixture(app: &TestApp) {
    let s = import_csv(app, FIXTURE).await;
    assert_eq!((s.accepted, s.rejected), (6, 0));
}

both_backends! {
    async fn dashboard_api_and_csv_show_the_same_figures(app: TestApp) {
        app.seed_demo().await;
        load_fixture(&app).await;
        let a = app.program_id("ACME-DE").await;
        let token = app.token_for("client@example.com").await;
        let q = "from=2026-01-15&to=2026-01-15&by=channel";
        let api: serde_json::Value = client().get(app.url(&format!("/api/v1/programs/{a}/kpis?{q}")))
            .bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(api["total"], kpi_json(&app, "channel")["total"], "API and CLI agree");
        assert!(close(&api["total"]["service_level"], 0.5));

        let c = app.signed_in("client@example.com").await;
        let html = c.get(app.url(&format!("/programs/{a}/service?{q}"))).send().await.unwrap().text().await.unwrap();
        for shown in ["50.0 %", "33.3 %", "25.0 %", "66.7 %", "117 s", "12 s"] {
            assert!(html.contains(shown), "the dashboard shows {shown}");
        }
        assert!(html.contains("class=\"chart-data\""));
        // Without dates: the week ending on the latest day with contacts (2026-01-18).
        let html = c.get(app.url(&format!("/programs/{a}/service"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("value=\"2026-01-12\"") && html.contains("value=\"2026-01-18\""));
        // Filters: phone only.
        let phone: serde_json::Value = client().get(app.url(&format!("/api/v1/programs/{a}/kpis?{q}&channel=phone")))
            .bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert!(close(&phone["total"]["service_level"], 1.0 / 3.0));

        let csv = c.get(app.url(&format!("/programs/{a}/service.csv?{q}"))).send().await.unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().await.unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let header = r.headers().unwrap().clone();
        assert_eq!(&header[0], "group");
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3, "email, phone, total");
        assert_eq!(&rows[2][0], "total");
        let sl = header.iter().position(|h| h == "service_level").unwrap();
        assert_eq!(rows[2][sl].parse::<f64>().unwrap(), 0.5);

        // Bad parameters answer with the field at fault.
        let r = client().get(app.url(&format!("/api/v1/programs/{a}/kpis?from=15.01.2026"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["field"], "from");
        let r = client().get(app.url(&format!("/api/v1/programs/{a}/kpis?by=year"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn kpis_match_hand_computed_figures(app: TestApp) {
        app.seed_demo().await;
        let program = app.program_id("ACME-DE").await;
        load_fixture(&app).await;

        let by_channel = kpi_json(&app, "channel");
        let rows = by_channel["rows"].as_array().unwrap();
        let phone = rows.iter().find(|r| r["group"] == "phone").unwrap();
        // Phone: answered P1 (wait 10) and P2 (25); P4 abandoned after 40 s; P3 a short abandon (3 s < 5 s).
        assert_eq!((phone["offered"].as_u64(), phone["handled"].as_u64(), phone["abandoned"].as_u64(),
                    phone["short_abandoned"].as_u64()), (Some(3), Some(2), Some(1), Some(1)));
        assert!(close(&phone["service_level"], 1.0 / 3.0), "only P1 within 20 s, of 3 offered");
        assert!(close(&phone["asa_s"], 17.5), "(10 + 25) / 2");
        assert!(close(&phone["aht_s"], 175.0), "(200 + 0 + 20 + 100 + 30 + 0) / 2");
        assert!(close(&phone["abandon_rate"], 1.0 / 3.0));
        assert!(close(&phone["fcr"], 0.5), "A came back (P4, P5), B did not");
        assert_eq!(phone["longest_wait_s"].as_u64(), Some(40), "P4 waited 40 s");
        assert_eq!(phone["transfers"].as_u64(), Some(0));
        assert!(phone["first_response_s"].is_null());
        let email = rows.iter().find(|r| r["group"] == "email").unwrap();
        assert_eq!(email["handled"].as_u64(), Some(1));
        assert!(close(&email["first_response_s"], 7200.0), "answered two hours later");
        assert!(close(&email["response_sla"], 1.0), "within 24 h");
        assert!(close(&email["fcr"], 1.0));
        let total = &by_channel["total"];
        assert_eq!(total["offered"].as_u64(), Some(4));
        assert!(close(&total["service_level"], 0.5), "P1 and the e-mail of 4 offered");
        assert!(close(&total["asa_s"], 35.0 / 3.0));
        assert!(close(&total["aht_s"], 350.0 / 3.0));
        assert!(close(&total["abandon_rate"], 0.25));
        assert!(close(&total["fcr"], 2.0 / 3.0));
        for key in ["csat", "nps", "rq"] {
            assert!(total[key].is_null(), "{key}: no surveys yet");
        }
        assert!(close(&total["response_rate"], 0.0));

        let req = ImportRequest {
            batch_rows: 100,
            ..ImportRequest::new(program, "surveys.csv", Format::Csv, Mapping::generic_for(kalibra::contacts::mapping::SURVEYS, chrono_tz::Europe::Berlin), "test")
        };
        let s = kalibra::contacts::surveys::import_surveys(
            &app.db, req, Box::new(std::io::Cursor::new(SURVEYS.as_bytes().to_vec())), |_| {},
        ).await.unwrap();
        assert_eq!((s.accepted, s.rejected), (4, 2));
        assert_eq!((s.first_rejects[0].row, s.first_rejects[0].field.as_str()), (6, "csat"));
        assert!(s.first_rejects[1].reason.contains("answers no question"));
        let with_surveys = kpi_json(&app, "channel");
        let total = &with_surveys["total"];
        assert_eq!(total["surveys"].as_u64(), Some(3));
        assert!(close(&total["response_rate"], 1.0), "3 answers about 3 answered contacts");
        assert!(close(&total["csat"], 2.0 / 3.0), "5 and 4 of 5, 3, 4");
        assert!(close(&total["nps"], 1.0 / 3.0), "promoters 10, 9; detractor 6; of 3");
        assert!(close(&total["rq"], 2.0 / 3.0));
        let phone = with_surveys["rows"].as_array().unwrap().iter().find(|r| r["group"] == "phone").unwrap();
        assert!(close(&phone["csat"], 0.5));
        assert!(close(&phone["nps"], 0.0), "one promoter, one detractor");
        assert!(close(&phone["rq"], 0.5));

        let by_interval = kpi_json(&app, "interval");
        let groups: Vec<(&str, u64)> = by_interval["rows"].as_array().unwrap().iter()
            .map(|r| (r["group"].as_str().unwrap(), r["offered"].as_u64().unwrap() + r["short_abandoned"].as_u64().unwrap()))
            .collect();
        assert_eq!(groups, [("2026-01-15 10:00", 3), ("2026-01-15 10:15", 1), ("2026-01-15 11:00", 1)]);
        let by_agent = kpi_json(&app, "agent");
        let anna = by_agent["rows"].as_array().unwrap().iter().find(|r| r["group"] == "anna").unwrap();
        assert_eq!(anna["handled"].as_u64(), Some(2));
    }
}

both_backends! {
    async fn every_figure_drills_down_to_its_contacts(app: TestApp) {
        app.seed_demo().await;
        load_fixture(&app).await;
        let a = app.program_id("ACME-DE").await;
        // One chat with a transcript.
        let chat = r#"{"external_id": "T1", "channel": "chat", "queue": "Billing", "arrived": "2026-01-15 16:00:00", "answered": "2026-01-15 16:00:20", "transcript": [{"speaker": "customer", "text": "Wo bleibt meine Gutschrift?"}, {"speaker": "agent", "text": "Sie ist unterwegs."}]}"#;
        let req = ImportRequest {
            batch_rows: 10,
            ..ImportRequest::new(a, "chat.jsonl", Format::Jsonl, Mapping::generic(chrono_tz::Europe::Berlin), "test")
        };
        import_contacts(&app.db, req, Box::new(std::io::Cursor::new(chat.as_bytes().to_vec())), |_| {}).await.unwrap();

        let c = app.signed_in("qa@example.com").await;
        let page = c.get(app.url(&format!("/programs/{a}/service?from=2026-01-15&to=2026-01-15&by=interval")))
            .send().await.unwrap().text().await.unwrap();
        let link = page.split("href=\"").map(|s| s.split('"').next().unwrap_or(""))
            .find(|l| l.contains("start=2026-01-15+10%3A00")).expect("the 10:00 row links to its contacts")
            .replace("&amp;", "&").replace("&#38;", "&");
        let list = c.get(app.url(&link)).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("3 contacts"), "P1, P2 and P3 arrived 10:00–10:15; {link}: {}", &list[list.find("data-testid").unwrap_or(0)..][..300.min(list.len())]);
        for id in ["P1", "P2", "P3"] {
            assert!(list.contains(&format!(">{id}</a>")), "{id} listed");
        }
        assert!(!list.contains(">P4</a>"), "P4 arrived at 10:20");
        let by_queue = c.get(app.url(&format!("/programs/{a}/contacts?from=2026-01-15&to=2026-01-15&queue=Sales")))
            .send().await.unwrap().text().await.unwrap();
        assert!(by_queue.contains("1 contacts") && by_queue.contains(">P4</a>"));
        let csv = c.get(app.url(&format!("/programs/{a}/contacts.csv?from=2026-01-15&to=2026-01-15")))
            .send().await.unwrap().text().await.unwrap();
        assert_eq!(csv.lines().count(), 1 + 6, "header and the six contacts of the day");

        // The contact page, and its transcript view on record.
        let t1 = kalibra::contacts::store::list(&app.db, a, &kalibra::contacts::store::ContactFilter {
            start: 0, end: i64::MAX, ..Default::default() }, 100, 0).await.unwrap()
            .into_iter().find(|c| c.external_id == "T1").unwrap().id;
        let client = app.signed_in("client@example.com").await;
        let html = client.get(app.url(&format!("/contacts/{t1}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Wo bleibt meine Gutschrift?") && html.contains("2026-01-15 16:00:00"));
        let log = kalibra::audit::list(&app.db, &kalibra::audit::Filter { action: Some("transcript.viewed".into()), ..Default::default() }, 10)
            .await.unwrap().unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].actor_label, "client@example.com");
        assert_eq!(log[0].detail, "T1");
        // Agents do not browse the program's contacts; another client does not find them.
        let agent = app.signed_in("agent@example.com").await;
        assert_eq!(agent.get(app.url(&format!("/contacts/{t1}"))).send().await.unwrap().status(), reqwest::StatusCode::NOT_FOUND);
        let other = app.signed_in("client-nl@example.com").await;
        assert_eq!(other.get(app.url(&format!("/contacts/{t1}"))).send().await.unwrap().status(), reqwest::StatusCode::NOT_FOUND);
        assert_eq!(other.get(app.url(&format!("/programs/{a}/contacts"))).send().await.unwrap().status(), reqwest::StatusCode::NOT_FOUND);
    }
}

both_backends! {
    async fn agents_and_team_leads_see_their_own_figures(app: TestApp) {
        app.seed_demo().await;
        load_fixture(&app).await;
        let a = app.program_id("ACME-DE").await;
        let q = "from=2026-01-15&to=2026-01-18&by=agent";
        let kpis = |token: String| {
            let url = app.url(&format!("/api/v1/programs/{a}/kpis?{q}"));
            async move { client().get(url).bearer_auth(token).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
        };
        // The demo links agent@example.com to its own address as code; this file calls the agent "anna".
        let agent = app.token_for("agent@example.com").await;
        let none = kpis(agent.clone()).await;
        assert_eq!(none["rows"].as_array().unwrap().len(), 0, "no contact of the agent's codes yet");
        let admin = app.signed_in("admin@example.com").await;
        let agent_id = app.person_id("agent@example.com").await;
        let page = format!("/admin/people/{agent_id}");
        let add = format!("/admin/people/{agent_id}/agent-codes");
        let program = a.to_string();
        let r = app.post_form(&admin, &page, &add, &[("program_id", &program), ("code", "anna")]).await;
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
        let r = app.post_form(&admin, &page, &add, &[("program_id", &program), ("code", "anna")]).await;
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY, "a code belongs to one person");

        let mine = kpis(agent.clone()).await;
        let groups: Vec<&str> = mine["rows"].as_array().unwrap().iter().map(|r| r["group"].as_str().unwrap()).collect();
        assert_eq!(groups, ["anna"]);
        assert_eq!(mine["total"]["handled"].as_u64(), Some(2), "P1 and P2");
        // The lead of the agent's team sees the same; the evaluator sees everybody.
        let lead = kpis(app.token_for("lead@example.com").await).await;
        assert_eq!(lead["total"], mine["total"]);
        let qa = app.token_for("qa@example.com").await;
        let all = kpis(qa.clone()).await;
        assert_eq!(all["total"]["handled"].as_u64(), Some(4), "anna 2, bert 1, carl 1");

        // The team filter: the agents of a team, within one's own scope.
        let team_id = |name: &'static str| {
            let db = app.db.clone();
            async move { kalibra::programs::find_team_by_name(&db, a, name).await.unwrap().unwrap().id }
        };
        let (private, business) = (team_id("Privatkunden").await, team_id("Geschäftskunden").await);
        let by_team = |token: String, team: String| {
            let url = app.url(&format!("/api/v1/programs/{a}/kpis?{q}&team={team}"));
            async move { client().get(url).bearer_auth(token).send().await.unwrap() }
        };
        let r: serde_json::Value = by_team(qa.clone(), private.to_string()).await.json().await.unwrap();
        assert_eq!(r["total"], mine["total"], "only anna is linked to an agent of the team");
        let r: serde_json::Value = by_team(qa.clone(), business.to_string()).await.json().await.unwrap();
        assert_eq!(r["total"]["offered"].as_u64(), Some(0));
        let r: serde_json::Value = by_team(agent.clone(), business.to_string()).await.json().await.unwrap();
        assert_eq!(r["total"]["offered"].as_u64(), Some(0), "a team filter never widens the scope");
        let r = by_team(qa.clone(), "999999".into()).await;
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["field"], "team");
        let page = app.signed_in("qa@example.com").await
            .get(app.url(&format!("/programs/{a}/service?{q}&team={private}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("<option value=\"{private}\" selected>Privatkunden</option>")), "{page}");

        // Contacts follow the same scope.
        let s = app.signed_in("agent@example.com").await;
        let list = s.get(app.url(&format!("/programs/{a}/contacts?from=2026-01-15&to=2026-01-18"))).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("2 contacts") && list.contains(">P1</a>") && !list.contains(">P5</a>"));
        let every = kalibra::contacts::store::ContactFilter { start: 0, end: i64::MAX, ..Default::default() };
        let all_contacts = kalibra::contacts::store::list(&app.db, a, &every, 100, 0).await.unwrap();
        let id_of = |ext: &str| all_contacts.iter().find(|c| c.external_id == ext).unwrap().id;
        let status = |id: i64| {
            let url = app.url(&format!("/contacts/{id}"));
            let s = s.clone();
            async move { s.get(url).send().await.unwrap().status() }
        };
        assert_eq!(status(id_of("P1")).await, reqwest::StatusCode::OK);
        assert_eq!(status(id_of("P5")).await, reqwest::StatusCode::NOT_FOUND);
    }
}

/// Customer E comes back 2 days and 1.5 hours later: a repeat within 7 days, not within 2.
const RETURNING: &str = "\
external_id,channel,queue,agent,customer,reason,arrived,answered,wait_s,talk_s,hold_s,acw_s,outcome
P7,phone,Billing,anna,E,,2026-01-15 10:30:00,,15,60,0,0,handled
P8,phone,Billing,anna,E,,2026-01-17 12:00:00,,15,60,0,0,handled
";

both_backends! {
    async fn a_programs_kpi_settings_change_its_figures(app: TestApp) {
        app.seed_demo().await;
        load_fixture(&app).await;
        let a = app.program_id("ACME-DE").await;
        import_csv(&app, RETURNING).await;
        let phone_of = |v: &serde_json::Value| {
            v["rows"].as_array().unwrap().iter().find(|r| r["group"] == "phone").unwrap().clone()
        };
        // Defaults (T 20 s, S 5 s, over offered, 7 days): P1 (10 s) and P7 (15 s) of P1, P2, P7,
        // P4 in time; P3 (3 s) is short; P1 and P7 are repeats, P2 is not.
        let before = kpi_json(&app, "channel");
        let phone = phone_of(&before);
        assert_eq!((phone["offered"].as_u64(), phone["short_abandoned"].as_u64()), (Some(4), Some(1)));
        assert!(close(&phone["service_level"], 0.5));
        assert!(close(&phone["fcr"], 1.0 / 3.0));

        let admin = app.token_for("admin@example.com").await;
        let patch = serde_json::json!({"kpi": {"answer_within_s": 30, "short_abandon_s": 2,
            "sl_variant": "over_answered", "sl_target": 0.9, "response_sla_s": 3600, "fcr_days": 2}});
        let r = client().patch(app.url(&format!("/api/v1/programs/{a}"))).bearer_auth(&admin)
            .json(&patch).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["kpi"], serde_json::json!({"answer_within_s": 30, "short_abandon_s": 2,
            "sl_target": 0.9, "sl_variant": "over_answered", "response_sla_s": 3600, "fcr_days": 2}));

        // T 30 s: all three answered in time, over answered = 3 / 3. S 2 s: P3 (3 s) is now an
        // abandon, so 2 of 5 offered abandoned. P7's return is 2 days 1.5 h later: outside 2 days.
        // The e-mail's first response took 2 h: outside a 1 h SLA.
        let after = kpi_json(&app, "channel");
        let phone = phone_of(&after);
        assert_eq!((phone["offered"].as_u64(), phone["abandoned"].as_u64(), phone["short_abandoned"].as_u64()),
                   (Some(5), Some(2), Some(0)));
        assert!(close(&phone["service_level"], 1.0));
        assert!(close(&phone["abandon_rate"], 0.4));
        assert!(close(&phone["fcr"], 2.0 / 3.0), "P2 and P7 resolved, P1 not (P4 20 min later)");
        let email = after["rows"].as_array().unwrap().iter().find(|r| r["group"] == "email").unwrap();
        assert!(close(&email["response_sla"], 0.0));
        // The formula variant only changes how stored counts are read: abandons within T
        // (P3 after 3 s) count neither way, P4 after 40 s does: 3 / (3 + 1).
        let r = client().patch(app.url(&format!("/api/v1/programs/{a}"))).bearer_auth(&admin)
            .json(&serde_json::json!({"kpi": {"sl_variant": "ignore_early_abandons"}})).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        assert!(close(&phone_of(&kpi_json(&app, "channel"))["service_level"], 0.75));

        // Out of range or unknown: refused with the field, nothing changed.
        for (bad, field) in [(serde_json::json!({"fcr_days": 0}), "fcr_days"),
                             (serde_json::json!({"sl_target": 80}), "sl_target"),
                             (serde_json::json!({"sl_variant": "over_everything"}), "sl_variant")] {
            let r = client().patch(app.url(&format!("/api/v1/programs/{a}"))).bearer_auth(&admin)
                .json(&serde_json::json!({"kpi": bad})).send().await.unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
            let e: serde_json::Value = r.json().await.unwrap();
            assert_eq!(e["field"], field, "{e}");
        }
        let kept = kalibra::programs::find(&app.db, a).await.unwrap().unwrap().kpi;
        assert_eq!((kept.fcr_days, kept.service.answer_within_s), (2, 30));
        let audit: i64 = match &app.db {
            kalibra::store::Db::Sqlite(p, _) => sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'program.updated' AND detail LIKE '%fcr_days: 7 → 2%'").fetch_one(p).await.unwrap(),
            kalibra::store::Db::Pg(p) => sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'program.updated' AND detail LIKE '%fcr_days: 7 → 2%'").fetch_one(p).await.unwrap(),
        };
        assert_eq!(audit, 1, "the change is in the audit log");

        // The administrator's form: target in percent, SLA in hours; back to the defaults.
        let c = app.signed_in("admin@example.com").await;
        let page = format!("/admin/programs/{a}");
        let html = c.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("name=\"sl_target_pct\" type=\"number\" min=\"0\" max=\"100\" step=\"any\" required value=\"90\""), "{html}");
        assert!(html.contains("name=\"response_sla_h\" type=\"number\" min=\"0.0167\" max=\"720\" step=\"any\" required value=\"1\""));
        let form = [("answer_within_s", "20"), ("short_abandon_s", "5"), ("sl_target_pct", "80"),
                    ("sl_variant", "over_offered"), ("response_sla_h", "24"), ("fcr_days", "7")];
        let mut bad = form;
        bad[5].1 = "seven";
        let r = app.post_form(&c, &page, &format!("{page}/kpi"), &bad).await;
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("Please enter a number: fcr_days: seven"));
        let mut negative = form;
        negative[1].1 = "-5";
        let r = app.post_form(&c, &page, &format!("{page}/kpi"), &negative).await;
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("A value is out of range: short_abandon_s may not be -5"));
        let r = app.post_form(&c, &page, &format!("{page}/kpi"), &form).await;
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
        assert_eq!(kpi_json(&app, "channel"), before, "the defaults give the first figures again");
    }
}

/// M1 waits from 14 January until its answer on the 16th; M2 is never answered. With the
/// fixture's P6 (answered two hours after it arrived on the 15th), open at the end of each day:
/// 14th 1 (M1), 15th 2 (M1, M2), 16th and later 1 (M2).
const MAIL: &str = "\
external_id,channel,queue,agent,customer,reason,arrived,answered,outcome
M1,email,Mail,carl,G,,2026-01-14 09:00:00,2026-01-16 10:00:00,handled
M2,social,Social,,H,,2026-01-15 18:00:00,,
";

both_backends! {
    async fn the_open_backlog_is_counted_at_each_periods_end(app: TestApp) {
        app.seed_demo().await;
        load_fixture(&app).await;
        let a = app.program_id("ACME-DE").await;
        let s = import_csv(&app, MAIL).await;
        assert_eq!((s.accepted, s.rejected), (2, 0));
        let token = app.token_for("client@example.com").await;
        let get = |q: String| {
            let (app, token) = (&app, &token);
            async move {
                let v: serde_json::Value = client().get(app.url(&format!("/api/v1/programs/{a}/kpis?{q}")))
                    .bearer_auth(token).send().await.unwrap().json().await.unwrap();
                v
            }
        };
        let by_day = get("from=2026-01-14&to=2026-01-18&by=day".into()).await;
        let days: Vec<(&str, u64)> = by_day["rows"].as_array().unwrap().iter()
            .map(|r| (r["group"].as_str().unwrap(), r["backlog"].as_u64().unwrap())).collect();
        assert_eq!(days, [("2026-01-14", 1), ("2026-01-15", 2), ("2026-01-18", 1)]);
        assert_eq!(by_day["total"]["backlog"].as_u64(), Some(1));
        // A period ending on the 15th ends with both open.
        let to_15 = get("from=2026-01-14&to=2026-01-15&by=week".into()).await;
        assert_eq!(to_15["rows"][0]["backlog"].as_u64(), Some(2), "the week is cut at the period's end");
        let by_channel = get("from=2026-01-14&to=2026-01-15&by=channel".into()).await;
        let of = |ch: &str| by_channel["rows"].as_array().unwrap().iter().find(|r| r["group"] == ch).unwrap()["backlog"].clone();
        assert_eq!((of("email"), of("social"), of("phone")), (1.into(), 1.into(), serde_json::Value::Null));
        let by_queue = get("from=2026-01-14&to=2026-01-18&by=queue&channel=email".into()).await;
        assert_eq!(by_queue["total"]["backlog"].as_u64(), Some(0), "M1 was answered on the 16th");
        let by_agent = get("from=2026-01-14&to=2026-01-18&by=agent".into()).await;
        assert!(by_agent["rows"][0]["backlog"].is_null(), "no backlog per agent");

        // The dashboard shows it, and a changed row moves it: M2 answered on the 17th.
        let c = app.signed_in("client@example.com").await;
        let html = c.get(app.url(&format!("/programs/{a}/service?from=2026-01-14&to=2026-01-15&by=day"))).send().await.unwrap().text().await.unwrap();
        // E-mail and social of the 14th and 15th: M1 answered after 49 h, P6 after 2 h, M2 not
        // yet: (176,400 + 7,200) / 2 s = 25.5 h, one of two within 24 h; two open at the end.
        let tile = |label: &str| {
            let at = html.find(&format!(">{label}</div>")).unwrap_or_else(|| panic!("{label} shown"));
            let value = &html[at..][html[at..].find("tile-value\">").unwrap() + 12..];
            value[..value.find('<').unwrap()].to_owned()
        };
        assert_eq!(tile("First response"), "25.5 h");
        assert!(html.contains("50.0 % within the SLA of 24.0 h"));
        assert_eq!(tile("Open backlog"), "2");
        let changed = MAIL.replace("2026-01-15 18:00:00,,", "2026-01-15 18:00:00,2026-01-17 08:00:00,handled");
        let s = import_csv(&app, &changed).await;
        assert_eq!((s.updated, s.unchanged), (1, 1));
        let after = get("from=2026-01-14&to=2026-01-18&by=day".into()).await;
        let days: Vec<u64> = after["rows"].as_array().unwrap().iter().map(|r| r["backlog"].as_u64().unwrap()).collect();
        assert_eq!(days, [1, 2, 0]);
    }
}
