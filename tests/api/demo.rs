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
