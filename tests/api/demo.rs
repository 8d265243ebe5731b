//! The demo's generated traffic goes through the real import and looks like a contact center.

use chrono::NaiveDate;
use kalibra::contacts::report::{Dimension, KpiQuery, KpiSettings, kpis};

use crate::both_backends;

both_backends! {
    async fn demo_traffic_is_plausible_and_imports_cleanly(app: TestApp) {
        app.seed_demo().await;
        let added = kalibra::demo::seed_contacts(&app.db, 3_000).await.unwrap();
        assert!((2_700..3_400).contains(&added), "about 3,000 contacts, got {added}");
        // A second run adds nothing: programs with contacts are left alone.
        assert_eq!(kalibra::demo::seed_contacts(&app.db, 3_000).await.unwrap(), 0);

        let program = kalibra::programs::find_by_code(&app.db, "ACME-DE").await.unwrap().unwrap();
        let today = chrono::Utc::now().date_naive();
        let q = KpiQuery::new(today - chrono::Duration::days(40), today, Dimension::Channel);
        let (rows, total) = kpis(&app.db, &program, &q, &KpiSettings::default()).await.unwrap();
        let channels: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
        assert_eq!(channels, ["bot", "chat", "email", "phone"]);
        let sl = total.service_level.unwrap();
        assert!((0.3..0.98).contains(&sl), "service level {sl}");
        let abandon = total.abandon_rate.unwrap();
        assert!((0.01..0.4).contains(&abandon), "abandonment {abandon}");
        let fcr = total.fcr.unwrap();
        assert!((0.6..0.99).contains(&fcr), "FCR {fcr}");
        let response = total.response_rate.unwrap();
        assert!((0.10..0.20).contains(&response), "about 15 % answer a survey: {response}");
        assert!(total.csat.is_some() && total.nps.is_some() && total.rq.is_some());

        // Weekdays are busier than Sundays; nights are quiet.
        let by_hour = kpis(&app.db, &program, &KpiQuery { by: Dimension::Time(kalibra::kpi::Bucket::Min60), ..q.clone() },
            &KpiSettings::default()).await.unwrap().0;
        assert!(by_hour.iter().all(|r| {
            let hour: u32 = r.group[11..13].parse().unwrap();
            (7..21).contains(&hour)
        }), "no traffic at night");
        let by_day = kpis(&app.db, &program, &KpiQuery { by: Dimension::Time(kalibra::kpi::Bucket::Day), ..q }, &KpiSettings::default())
            .await.unwrap().0;
        let weekday = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap().format("%u").to_string();
        let mondays: Vec<u64> = by_day.iter().filter(|r| weekday(&r.group) == "1").map(|r| r.offered).collect();
        let sundays: Vec<u64> = by_day.iter().filter(|r| weekday(&r.group) == "7").map(|r| r.offered).collect();
        assert!(mondays.iter().sum::<u64>() > 3 * sundays.iter().sum::<u64>(), "{mondays:?} vs {sundays:?}");

        // A weekly sampling plan per program, its two finished weeks sampled: the evaluator's
        // queue holds the earlier week overdue and the last one open; once is enough.
        assert_eq!(kalibra::demo::seed_sampling(&app.db).await.unwrap(), 3);
        assert_eq!(kalibra::demo::seed_sampling(&app.db).await.unwrap(), 0);
        let qa = app.token_for("qa@example.com").await;
        let queue: serde_json::Value = crate::helpers::client().get(app.url("/api/v1/assignments")).bearer_auth(&qa)
            .send().await.unwrap().json().await.unwrap();
        let states: std::collections::BTreeSet<&str> = queue.as_array().unwrap().iter().map(|a| a["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["open", "overdue"].into(), "{queue}");
    }
}

both_backends! {
    async fn demo_quality_has_a_month_of_evaluations_disputes_and_coaching(app: TestApp) {
        use kalibra::demo::{quality::PER_AGENT, traffic::PROFILES};
        app.seed_demo().await;
        kalibra::demo::seed_contacts(&app.db, 3_000).await.unwrap();
        kalibra::demo::seed_forms(&app.db).await.unwrap();
        let agents: usize = PROFILES.iter().map(|p| p.agents.len()).sum();
        assert_eq!(kalibra::demo::seed_evaluations(&app.db).await.unwrap(), agents * PER_AGENT);
        // Programs with evaluations are left alone.
        assert_eq!(kalibra::demo::seed_evaluations(&app.db).await.unwrap(), 0);

        let api = crate::quality::Api { app: &app, c: crate::helpers::client() };
        let qa = app.token_for("qa@example.com").await;
        let acme = app.program_id("ACME-DE").await.0;
        // The report's days are the program's own: late in the evening (UTC) Berlin's today is
        // already tomorrow, and so are the last evaluations' days.
        let zone = kalibra::programs::find_by_code(&app.db, "ACME-DE").await.unwrap().unwrap().zone();
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        let period = format!("from={}&to={today}", today - chrono::Duration::days(40));
        let report = |by: &str| format!("/api/v1/programs/{acme}/quality?by={by}&{period}");
        let acme_agents = PROFILES.iter().find(|p| p.code == "ACME-DE").unwrap().agents;

        // Every agent evaluated as often, scores spread below full marks.
        let (_, by_agent) = api.get(&qa, &report("agent")).await;
        let lines = by_agent["lines"].as_array().unwrap();
        assert_eq!(lines.len(), acme_agents.len(), "{by_agent}");
        assert!(lines.iter().all(|l| l["evaluations"] == PER_AGENT as i64), "{by_agent}");
        let iqs = by_agent["total"]["iqs"]["value"].as_f64().unwrap();
        assert!((50.0..95.0).contains(&iqs), "IQS {iqs}");

        // Submitted in the days after their contacts, not all today: the trend has weeks, and
        // the program's rows (by day and week) add up to the agents' rows after the move.
        let (_, by_day) = api.get(&qa, &report("day")).await;
        let days: Vec<&str> = by_day["lines"].as_array().unwrap().iter().filter(|l| l["evaluations"].as_i64() > Some(0))
            .map(|l| l["group"].as_str().unwrap()).collect();
        assert!(days.len() >= 10, "{days:?}");
        let first = (today - chrono::Duration::days(i64::from(kalibra::demo::DAYS) + 1)).to_string();
        assert!(days.iter().all(|d| *d >= first.as_str() && *d <= today.to_string().as_str()), "{days:?}");
        let (_, by_week) = api.get(&qa, &report("week")).await;
        assert!(by_week["lines"].as_array().unwrap().len() >= 4, "{by_week}");
        for r in [&by_day, &by_week] {
            assert_eq!(r["total"]["evaluations"], by_agent["total"]["evaluations"]);
            assert_eq!(r["total"]["disputed"], by_agent["total"]["disputed"]);
            assert!((r["total"]["iqs"]["value"].as_f64().unwrap() - iqs).abs() < 1e-9);
        }

        // The agent who signs in acknowledged all but the latest, which they dispute: one open
        // dispute in the queue of each program with such an agent.
        let mine = lines.iter().find(|l| l["group"] == "agent@example.com").unwrap();
        assert_eq!(mine["disputed"], 1, "{mine}");
        assert_eq!(by_agent["total"]["disputed"], 1);
        let (_, queue) = api.get(&qa, "/api/v1/disputes").await;
        let programs: std::collections::BTreeSet<i64> = queue.as_array().unwrap().iter()
            .map(|d| d["program_id"].as_i64().unwrap()).collect();
        assert_eq!(programs.len(), 2, "{queue}");

        // Each of those agents had a coaching session about their two weakest evaluations,
        // with one action due in a week, waiting for their acknowledgement.
        for agent in ["agent@example.com", "agent2@example.com"] {
            let token = app.token_for(agent).await;
            let (_, sessions) = api.get(&token, "/api/v1/coaching").await;
            let sessions = sessions.as_array().unwrap();
            assert_eq!(sessions.len(), 1, "{agent}: {sessions:?}");
            let s = &sessions[0];
            assert_eq!(s["evaluation_ids"].as_array().unwrap().len(), 2, "{s}");
            assert!(s["acknowledged_at"].is_null(), "{s}");
            let actions = s["actions"].as_array().unwrap();
            assert_eq!(actions.len(), 1, "{s}");
            assert!(actions[0]["done_at"].is_null() && actions[0]["overdue"] == false, "{s}");
        }
        // Coached by the team lead where the agent has one, else by the program's evaluator.
        let lead = app.token_for("lead@example.com").await;
        for (token, agent) in [(&lead, "Arjen Bakker"), (&qa, "Sophie Jansen")] {
            let (_, theirs) = api.get(token, "/api/v1/coaching").await;
            let names: Vec<&str> = theirs.as_array().unwrap().iter().map(|s| s["agent_name"].as_str().unwrap()).collect();
            assert_eq!(names, [agent], "{theirs}");
        }
    }
}
