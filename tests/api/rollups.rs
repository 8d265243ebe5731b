//! The rollups equal a direct computation on the raw contacts: random contacts and survey
//! answers, imported in random batches, partly re-imported with changes, reported every way.

use chrono::NaiveDate;
use kalibra::contacts::import::{ImportRequest, Sorting, Stage, import_contacts};
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
        batch_rows,
        ..ImportRequest::new(program, "random.csv", Format::Csv, mapping, "test")
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
            // Before any change recounts their days: the answers stored before their contacts
            // count once the contacts arrive.
            let first_days = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()..=NaiveDate::from_ymd_opt(2026, 2, 8).unwrap();
            let q = KpiQuery::new(*first_days.start(), *first_days.end(), Dimension::Time(Bucket::Day));
            let (rolled, direct) = (kpis(&app.db, &program, &q, &KpiSettings::default()).await.unwrap(), kpis_direct(&app.db, &program, &q, &KpiSettings::default()).await.unwrap());
            assert_eq!(rolled, direct, "seed {seed}, new contacts after their answers, on {}", app.backend);
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

/// Two months of contacts in time order: 120 customers who come back now and then, most often
/// within a few days, about the same reason or another.
fn returning_customers_csv(rng: &mut StdRng) -> Vec<String> {
    let start = NaiveDate::from_ymd_opt(2025, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut minute = 0_i64;
    (0..1500)
        .map(|i| {
            minute += rng.random_range(0..90);
            let arrived = start + chrono::Duration::minutes(minute);
            let customer = if rng.random_bool(0.1) {
                String::new()
            } else {
                format!("R{}", rng.random_range(0..120))
            };
            let reason = ["", "invoice", "move", "invoice"][rng.random_range(0..4)];
            let (outcome, agent) = if rng.random_bool(0.1) {
                ("abandoned", "")
            } else {
                ("handled", ["anna", "bert"][rng.random_range(0..2)])
            };
            format!(
                "F{i},phone,Billing,{agent},{customer},{reason},{},5,100,0,10,,{outcome}\n",
                arrived.format("%Y-%m-%d %H:%M:%S")
            )
        })
        .collect()
}

both_backends! {
    async fn first_contact_resolution_is_the_same_however_earlier_contacts_are_read(app: TestApp) {
        app.seed_demo().await;
        let header = "external_id,channel,queue,agent,customer,reason,arrived,wait_s,talk_s,hold_s,acw_s,first_response_s,outcome\n";
        let rows = returning_customers_csv(&mut StdRng::seed_from_u64(11));
        // Times in UTC: no local hour is missing when the clocks go forward.
        let tz = chrono_tz::UTC;
        let file = |rows: &[String]| input(format!("{header}{}", rows.concat()));
        let mut programs = Vec::new();
        for code in ["ACME-DE", "BLUE-NL", "NORD-UK"] {
            programs.push(kalibra::programs::find_by_code(&app.db, code).await.unwrap().unwrap());
        }
        // In time order, 120 rows a batch: each batch reads what its span adds to what is held,
        // and on SQLite stores its rows in two statements of fifty and one of twenty, whose ids
        // the held contacts take.
        let s = import_contacts(&app.db, request(programs[0].id, Mapping::generic(tz), 120), file(&rows), |_| {}).await.unwrap();
        assert_eq!((s.accepted, s.rejected), (1500, 0));
        // Out of order and nothing held: every customer looked up in the database.
        let mut shuffled = rows.clone();
        shuffled.reverse();
        shuffled.swap(10, 900);
        let mut req = request(programs[1].id, Mapping::generic(tz), 25);
        req.held_contacts = 0;
        import_contacts(&app.db, req, file(&shuffled), |_| {}).await.unwrap();
        // Two imports at once, each of half the rows: each batch finds the other's rows new.
        let (even, odd): (Vec<_>, Vec<_>) = rows.iter().cloned().enumerate().partition(|(i, _)| i % 2 == 0);
        let half = |v: Vec<(usize, String)>| file(&v.into_iter().map(|(_, r)| r).collect::<Vec<_>>());
        let (a, b) = tokio::join!(
            import_contacts(&app.db, request(programs[2].id, Mapping::generic(tz), 20), half(even), |_| {}),
            import_contacts(&app.db, request(programs[2].id, Mapping::generic(tz), 30), half(odd), |_| {}),
        );
        assert_eq!(a.unwrap().accepted + b.unwrap().accepted, 1500);
        // In time order but for one block of a hundred rows that comes later in the file: the
        // span held moves forward past it, then back over it.
        let input_program = kalibra::programs::ProgramInput { code: "SWAP".into(), name: "Swap".into(), timezone: "UTC".into() };
        programs.push(kalibra::programs::create(&app.db, &kalibra::audit::Actor::cli(), &input_program).await.unwrap());
        let swapped: Vec<String> = [&rows[..400], &rows[500..800], &rows[400..500], &rows[800..]].concat();
        let s = import_contacts(&app.db, request(programs[3].id, Mapping::generic(tz), 50), file(&swapped), |_| {}).await.unwrap();
        assert_eq!((s.accepted, s.rejected), (1500, 0));
        // Sorted by arrival before it is stored, in runs of 97 rows on disk.
        let input_program = kalibra::programs::ProgramInput { code: "SORTED".into(), name: "Sorted".into(), timezone: "UTC".into() };
        programs.push(kalibra::programs::create(&app.db, &kalibra::audit::Actor::cli(), &input_program).await.unwrap());
        let mut req = request(programs[4].id, Mapping::generic(tz), 25);
        req.sorting = Sorting { overlap_rows: 0, run_rows: 97 };
        let mut last = None;
        let s = import_contacts(&app.db, req, file(&shuffled), |p| last = Some(p.stage)).await.unwrap();
        assert_eq!((s.accepted, s.rejected), (1500, 0));
        assert_eq!(last, Some(Stage::InArrivalOrder { stored: 1500, of: 1500 }));

        let settings = KpiSettings::default();
        let q = KpiQuery::new(NaiveDate::from_ymd_opt(2025, 2, 20).unwrap(), NaiveDate::from_ymd_opt(2025, 6, 10).unwrap(), Dimension::Time(Bucket::Day));
        let mut figures = Vec::new();
        for program in &programs {
            let rolled = kpis(&app.db, program, &q, &settings).await.unwrap();
            let direct = kpis_direct(&app.db, program, &q, &settings).await.unwrap();
            assert_eq!(rolled, direct, "{} on {}", program.code, app.backend);
            figures.push(rolled);
        }
        // The programs' days differ with their time zones; the whole period's figures do not.
        assert_eq!(figures[0].1, figures[1].1, "held and looked up, {}", app.backend);
        assert_eq!(figures[0].1, figures[2].1, "held and read again after another import, {}", app.backend);
        assert_eq!(figures[0].1, figures[3].1, "held while the file went back, {}", app.backend);
        assert_eq!(figures[0].1, figures[4].1, "sorted by arrival first, {}", app.backend);
        let fcr = figures[0].1.fcr.expect("the period has answered contacts with customers");
        assert!(fcr > 0.3 && fcr < 0.9, "customers come back often enough to test: FCR {fcr}");
    }
}
