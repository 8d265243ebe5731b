//! The rollups equal a direct computation on the raw contacts: random contacts and survey
//! answers, imported in random batches, partly re-imported with changes, reported every way.

use chrono::NaiveDate;
use kalibra::contacts::import::{ImportRequest, import_contacts};
use kalibra::contacts::mapping::{Format, Mapping, SURVEYS};
use kalibra::contacts::report::{Dimension, KpiQuery, KpiSettings, kpis, kpis_direct};
use kalibra::contacts::surveys::import_surveys;
use kalibra::kpi::Bucket;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::both_backends;

fn contacts_csv(rng: &mut StdRng, ids: std::ops::Range<u32>, day_shift: i64) -> String {
    let mut out = String::from(
        "external_id,channel,queue,agent,customer,reason,arrived,wait_s,talk_s,hold_s,acw_s,first_response_s,outcome\n",
    );
    for i in ids {
        let channel =
            ["phone", "phone", "phone", "chat", "email", "social", "bot"][rng.random_range(0..7)];
        let outcome = match channel {
            "bot" => "bot_resolved",
            _ => ["handled", "handled", "handled", "transferred", "abandoned"]
                [rng.random_range(0..5)],
        };
        let customer = if rng.random_bool(0.15) {
            String::new()
        } else {
            format!("K{}", rng.random_range(0..40))
        };
        let reason = ["", "invoice", "move"][rng.random_range(0..3)];
        let minute = rng.random_range(0..(3 * 24 * 60)) + day_shift * 24 * 60;
        let arrived = NaiveDate::from_ymd_opt(2026, 2, 2)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::Duration::minutes(minute)
            + chrono::Duration::seconds(rng.random_range(0..60));
        let answered = outcome == "handled" || outcome == "transferred";
        let talk = if answered {
            rng.random_range(30..900)
        } else {
            0
        };
        // A quarter of the answered e-mails and social posts are still waiting for a response.
        let first =
            if (channel == "email" || channel == "social") && answered && rng.random_bool(0.75) {
                rng.random_range(60..200_000).to_string()
            } else {
                String::new()
            };
        out.push_str(&format!(
            "C{i},{channel},{},{},{customer},{reason},{},{},{talk},{},{},{first},{outcome}\n",
            ["Billing", "Sales", "Tech"][rng.random_range(0..3)],
            if answered {
                ["anna", "bert", "carl", "dora"][rng.random_range(0..4)]
            } else {
                ""
            },
            arrived.format("%Y-%m-%d %H:%M:%S"),
            rng.random_range(0..120),
            if answered { rng.random_range(0..60) } else { 0 },
            if answered {
                rng.random_range(0..120)
            } else {
                0
            },
        ));
    }
    out
}

fn surveys_csv(rng: &mut StdRng, n: u32) -> String {
    let mut out = String::from("contact,csat,nps,rq\n");
    for _ in 0..n {
        let contact = rng.random_range(0..260);
        let csat = if rng.random_bool(0.8) {
            rng.random_range(1..=5).to_string()
        } else {
            String::new()
        };
        let nps = if rng.random_bool(0.7) {
            rng.random_range(0..=10).to_string()
        } else {
            String::new()
        };
        let rq = ["yes", "no", ""][rng.random_range(0..3)];
        if csat.is_empty() && nps.is_empty() && rq.is_empty() {
            continue;
        }
        out.push_str(&format!("C{contact},{csat},{nps},{rq}\n"));
    }
    out
}

fn request(
    program: kalibra::domain::ProgramId,
    mapping: Mapping,
    batch_rows: usize,
) -> ImportRequest {
    ImportRequest {
        program,
        source_name: "random.csv".into(),
        format: Format::Csv,
        mapping,
        created_by: "test".into(),
        rejects_path: None,
        batch_rows,
    }
}

fn input(s: String) -> Box<dyn std::io::Read + Send> {
    Box::new(std::io::Cursor::new(s.into_bytes()))
}

both_backends! {
    async fn rollups_equal_the_direct_computation(app: TestApp) {
        app.seed_demo().await;
        let program = kalibra::programs::find_by_code(&app.db, "ACME-DE").await.unwrap().unwrap();
        let tz = chrono_tz::Europe::Berlin;
        let contacts = || Mapping::generic(tz);
        for seed in [7_u64, 8, 9] {
            let mut rng = StdRng::seed_from_u64(seed);
            // Surveys first for some contacts, then the contacts in two files, then changes.
            let s = import_surveys(&app.db, request(program.id, Mapping::generic_for(SURVEYS, tz), 7), input(surveys_csv(&mut rng, 40)), |_| {}).await.unwrap();
            assert_eq!(s.rejected, 0);
            for (ids, shift) in [(0..150, 0), (150..260, 0)] {
                let batch = rng.random_range(1..60);
                let text = contacts_csv(&mut rng, ids, shift);
                let s = import_contacts(&app.db, request(program.id, contacts(), batch), input(text), |_| {}).await.unwrap();
                assert_eq!(s.rejected, 0, "{:?}", s.first_rejects);
            }
            // Re-import a slice with new values, some moved to another day.
            let text = contacts_csv(&mut rng, 100..180, 1);
            let s = import_contacts(&app.db, request(program.id, contacts(), rng.random_range(1..40)), input(text), |_| {}).await.unwrap();
            assert!(s.updated > 0);
            let s = import_surveys(&app.db, request(program.id, Mapping::generic_for(SURVEYS, tz), 5), input(surveys_csv(&mut rng, 60)), |_| {}).await.unwrap();
            assert_eq!(s.rejected, 0);

            let settings = KpiSettings::default();
            let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
            // Whole weeks and months are read from their own rollup rows, the edges from days.
            let days = [(day(2, 1), day(2, 8)), (day(2, 3), day(2, 3)), (day(2, 2), day(2, 15)), (day(1, 15), day(3, 10))];
            let (min15, min60) = (Dimension::Time(Bucket::Min15), Dimension::Time(Bucket::Min60));
            let (by_day, week, month) = (Dimension::Time(Bucket::Day), Dimension::Time(Bucket::Week), Dimension::Time(Bucket::Month));
            let groupings = [
                (min15, None), (min60, None), (by_day, None), (week, None), (month, None),
                (Dimension::Queue, None), (Dimension::Channel, None), (Dimension::Agent, None),
                (by_day, Some(Dimension::Queue)), (Dimension::Agent, Some(week)), (Dimension::Queue, Some(min60)),
                (Dimension::Channel, Some(Dimension::Agent)), (month, Some(Dimension::Channel)),
            ];
            for (from, to) in days {
                for (by, then) in groupings {
                    let mut q = KpiQuery::new(from, to, by);
                    q.then = then;
                    let filters: [fn(&mut KpiQuery); 5] = [
                        |_| {},
                        |q| { q.channel = Some("phone".into()); q.queue = Some("Billing".into()); },
                        |q| { q.channel = Some("social".into()); q.queue = Some("Tech".into()); },
                        |q| q.agent = Some("bert".into()),
                        |q| q.agents = Some(["anna".to_string(), "dora".to_string()].into()),
                    ];
                    for filter in filters {
                        let mut q = q.clone();
                        filter(&mut q);
                        let rolled = kpis(&app.db, &program, &q, &settings).await.unwrap();
                        let direct = kpis_direct(&app.db, &program, &q, &settings).await.unwrap();
                        assert_eq!(rolled, direct, "seed {seed}, {q:?} on {}", app.backend);
                    }
                }
            }
            let q = KpiQuery::new(days[0].0, days[0].1, Dimension::Channel);
            let (_, total) = kpis(&app.db, &program, &q, &settings).await.unwrap();
            assert!(total.offered > 0 && total.fcr.is_some() && total.csat.is_some());
            assert!(total.backlog.is_some_and(|b| b > 0), "some e-mails are still open");
        }
        // Another time zone moves local days: the rollups follow.
        let patch = kalibra::programs::ProgramPatch { timezone: Some("America/New_York".into()), ..Default::default() };
        let moved = kalibra::programs::update(&app.db, &kalibra::audit::Actor::cli(), program.id, &patch).await.unwrap();
        let settings = KpiSettings::default();
        for by in [Dimension::Time(Bucket::Day), Dimension::Time(Bucket::Week), Dimension::Agent] {
            let q = KpiQuery::new(NaiveDate::from_ymd_opt(2026, 1, 28).unwrap(), NaiveDate::from_ymd_opt(2026, 2, 20).unwrap(), by);
            let rolled = kpis(&app.db, &moved, &q, &settings).await.unwrap();
            let direct = kpis_direct(&app.db, &moved, &q, &settings).await.unwrap();
            assert_eq!(rolled, direct, "after the time zone changed, {by:?} on {}", app.backend);
        }
    }
}
