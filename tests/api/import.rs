//! Importing contact records: bad rows reported and good rows kept, idempotent re-imports,
//! whole batches only after a failure, gzip and JSON Lines through the command line.

use std::io::{Cursor, Read, Write};
use std::process::Command;

use kalibra::contacts::import::{ImportRequest, Sorting, Stage, import_contacts};
use kalibra::contacts::mapping::{Format, Mapping};
use kalibra::contacts::store;

use crate::both_backends;
use crate::helpers::*;

const GOOD_AND_BAD: &str = "\
external_id,channel,queue,agent,customer,arrived,answered,ended,wait_s,talk_s,outcome
P-1,phone,Billing,anna,C1,2026-01-15 10:00:00,2026-01-15 10:00:15,2026-01-15 10:05:15,15,300,handled
P-2,phone,Billing,,C2,2026-01-15 10:01:00,,,40,,abandoned
P-3,fax,Billing,,C3,2026-01-15 10:02:00,,,,,
,phone,Billing,,C4,2026-01-15 10:03:00,,,,,
P-5,phone,Billing,,C5,not-a-time,,,,,
P-6,phone,Billing,anna,C1,2026-01-15 10:04:00,2026-01-15 10:04:05,,5,-20,handled
P-7,phone,Billing
P-8,email,Mail,bert,C6,2026-01-15 11:00:00,2026-01-15 15:00:00,,,,
";

fn request(
    program: kalibra::domain::ProgramId,
    rejects: Option<std::path::PathBuf>,
    batch_rows: usize,
) -> ImportRequest {
    ImportRequest {
        rejects_path: rejects,
        batch_rows,
        ..ImportRequest::new(
            program,
            "test.csv",
            Format::Csv,
            Mapping::generic(chrono_tz::Europe::Berlin),
            "test",
        )
    }
}

fn input(text: &str) -> Box<dyn Read + Send> {
    Box::new(Cursor::new(text.as_bytes().to_vec()))
}

/// A source that breaks after `ok_bytes`, like a crash or a lost connection mid-import.
struct Breaks {
    data: Cursor<Vec<u8>>,
    ok_bytes: u64,
}

impl Read for Breaks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.position() >= self.ok_bytes {
            return Err(std::io::Error::other("the source went away"));
        }
        let room = (self.ok_bytes - self.data.position()) as usize;
        let n = buf.len().min(room).min(64);
        self.data.read(&mut buf[..n])
    }
}

async fn contact_count(app: &TestApp, code: &str) -> i64 {
    store::count(&app.db, app.program_id(code).await)
        .await
        .unwrap()
}

both_backends! {
    async fn bad_rows_are_reported_and_good_rows_kept(app: TestApp) {
        app.seed_demo().await;
        let program = app.program_id("ACME-DE").await;
        let dir = tempfile::tempdir().unwrap();
        let rejects = dir.path().join("rejects.csv");
        let s = import_contacts(&app.db, request(program, Some(rejects.clone()), 3), input(GOOD_AND_BAD), |_| {})
            .await
            .unwrap();
        assert_eq!((s.rows_read, s.accepted, s.rejected, s.updated, s.unchanged), (8, 3, 5, 0, 0));
        let where_and_what: Vec<(u64, &str)> = s.first_rejects.iter().map(|r| (r.row, r.field.as_str())).collect();
        assert_eq!(where_and_what, [(4, "channel"), (5, "external_id"), (6, "arrived"), (7, "talk_s"), (8, "")]);
        assert!(s.first_rejects[0].reason.contains("\"fax\" is not one of phone"));
        assert!(s.first_rejects[4].reason.contains("the row has 3 fields, the header 11"));
        let file = std::fs::read_to_string(&rejects).unwrap();
        assert_eq!(file.lines().count(), 6, "header and five rejects:\n{file}");
        assert!(file.lines().nth(3).unwrap().starts_with("6,arrived,"));
        assert_eq!(contact_count(&app, "ACME-DE").await, 3);

        // What was stored: the e-mail's first response, and no customer reference in the clear.
        let facts = store::facts(&app.db, program, 0, i64::MAX).await.unwrap();
        let email = facts.iter().find(|f| f.channel == "email").unwrap();
        assert_eq!(email.first_response_s, Some(4 * 3600));
        assert_eq!(email.outcome, "handled");
        assert!(facts.iter().all(|f| f.customer_ref.len() == 32 && !f.customer_ref.starts_with('C')));
        let anna: Vec<_> = facts.iter().filter(|f| f.agent == "anna").collect();
        assert_eq!(anna.len(), 1);
        assert_eq!((anna[0].wait_s, anna[0].talk_s), (15, 300));
    }

    async fn every_field_is_stored_as_read(app: TestApp) {
        app.seed_demo().await;
        let program = app.program_id("BLUE-NL").await;
        // Tabs, line breaks, backslashes, quotes and letters beyond ASCII in every text, and a
        // contact with nothing but what is required beside it.
        let lines = concat!(
            r#"{"external_id": "Zoë-1\t\\", "channel": "chat", "queue": "Fac\ttuur\\nl", "agent": "zoë \"z\"", "#,
            r#""customer": "C\n1", "reason": "line\nbreak \\ and \"quotes\"", "direction": "outbound", "#,
            r#""arrived": "2026-03-02T09:00:00+01:00", "answered": "2026-03-02T09:00:45+01:00", "ended": "2026-03-02T09:07:00+01:00", "#,
            r#""wait_s": 45, "talk_s": 345, "hold_s": 6, "acw_s": 78, "first_response_s": 40, "outcome": "transferred", "#,
            r#""resolved": true, "recording_url": "https://rec.example/a?b=1&c=\\d", "#,
            r#""transcript": [{"speaker": "customer", "at": "09:00:50", "text": "tab\there, ümlaut"}, {"speaker": "agent", "text": "\\n is no line"}], "#,
            r#""tier": "gold\tplus"}"#, "\n",
            r#"{"external_id": "bare", "arrived": "2026-03-02T09:05:00+01:00"}"#, "\n",
        );
        let req = ImportRequest { format: Format::Jsonl, ..request(program, None, 10) };
        let started = kalibra::domain::now();
        let s = import_contacts(&app.db, req, input(lines), |_| {}).await.unwrap();
        let finished = kalibra::domain::now();
        assert_eq!((s.accepted, s.rejected), (2, 0), "{:?}", s.first_rejects);
        // Each row names the import job that stored it, and when.
        const TRACES: &str = "SELECT import_id, imported_at FROM contacts WHERE program_id = $1";
        let traces: Vec<(i64, i64)> = kalibra::on_db!(&app.db, p => sqlx::query_as(TRACES).bind(program).fetch_all(p).await).unwrap();
        assert_eq!(traces.len(), 2);
        for (job, at) in traces {
            assert_eq!(job, s.job_id);
            assert!((started..=finished).contains(&at), "stored at {at}, import ran {started}..={finished}");
        }
        let id = |external: &'static str| {
            let db = app.db.clone();
            async move {
                const SQL: &str = "SELECT id FROM contacts WHERE program_id = $1 AND external_id = $2";
                let id: i64 = kalibra::on_db!(&db, p => sqlx::query_scalar(SQL).bind(program).bind(external).fetch_one(p).await).unwrap();
                store::find(&db, id).await.unwrap().unwrap()
            }
        };
        let c = id("Zoë-1\t\\").await;
        assert_eq!((c.program_id, c.channel.as_str(), c.queue.as_str(), c.agent.as_str()), (program, "chat", "Fac\ttuur\\nl", "zoë \"z\""));
        assert_eq!(c.reason.as_deref(), Some("line\nbreak \\ and \"quotes\""));
        assert_eq!(c.direction, "outbound");
        assert_eq!((c.arrived_at, c.answered_at, c.ended_at), (1772438400000, Some(1772438445000), Some(1772438820000)));
        assert_eq!((c.wait_s, c.talk_s, c.hold_s, c.acw_s, c.first_response_s), (45, 345, 6, 78, Some(40)));
        assert_eq!((c.outcome.as_str(), c.resolved), ("transferred", Some(true)));
        assert_eq!(c.recording_url.as_deref(), Some("https://rec.example/a?b=1&c=\\d"));
        let transcript: serde_json::Value = serde_json::from_str(c.transcript.as_deref().unwrap()).unwrap();
        assert_eq!(transcript[0]["text"], "tab\there, ümlaut");
        assert_eq!(transcript[0]["at"], "09:00:50");
        assert_eq!(transcript[1]["text"], "\\n is no line");
        let attributes: serde_json::Value = serde_json::from_str(c.attributes.as_deref().unwrap()).unwrap();
        assert_eq!(attributes, serde_json::json!({"tier": "gold\tplus"}));
        assert_eq!(c.customer_ref.len(), 32);
        assert_eq!(c.fcr_repeat, Some(false), "the customer's only contact");

        let b = id("bare").await;
        assert_eq!((b.channel.as_str(), b.queue.as_str(), b.agent.as_str(), b.customer_ref.as_str()), ("phone", "", "", ""));
        assert_eq!((b.reason, b.answered_at, b.ended_at, b.first_response_s), (None, None, None, None));
        assert_eq!((b.wait_s, b.talk_s, b.hold_s, b.acw_s), (0, 0, 0, 0));
        assert_eq!((b.outcome.as_str(), b.resolved, b.fcr_repeat), ("abandoned", None, None));
        assert_eq!((b.recording_url, b.transcript, b.attributes), (None, None, None));
        assert!(b.id > c.id, "ids in the order of the file");
    }

    async fn importing_again_changes_nothing_and_changed_rows_update(app: TestApp) {
        app.seed_demo().await;
        let program = app.program_id("ACME-DE").await;
        let first = import_contacts(&app.db, request(program, None, 2), input(GOOD_AND_BAD), |_| {}).await.unwrap();
        assert_eq!(first.accepted, 3);
        let again = import_contacts(&app.db, request(program, None, 2), input(GOOD_AND_BAD), |_| {}).await.unwrap();
        assert_eq!((again.accepted, again.updated, again.unchanged, again.rejected), (0, 0, 3, 5));
        let changed = GOOD_AND_BAD.replace(",,,40,,abandoned", ",,,45,,abandoned");
        let third = import_contacts(&app.db, request(program, None, 2), input(&changed), |_| {}).await.unwrap();
        assert_eq!((third.accepted, third.updated, third.unchanged), (0, 1, 2));
        assert_eq!(contact_count(&app, "ACME-DE").await, 3);
        let facts = store::facts(&app.db, program, 0, i64::MAX).await.unwrap();
        assert!(facts.iter().any(|f| f.wait_s == 45) && !facts.iter().any(|f| f.wait_s == 40));
        // The same external id in another program is another contact.
        let other = app.program_id("BLUE-NL").await;
        let s = import_contacts(&app.db, request(other, None, 2), input(GOOD_AND_BAD), |_| {}).await.unwrap();
        assert_eq!(s.accepted, 3);
    }

    async fn a_program_with_contacts_cannot_be_deleted(app: TestApp) {
        let input_program = kalibra::programs::ProgramInput { code: "GUARD".into(), name: "Guard".into(), timezone: "UTC".into() };
        let program = kalibra::programs::create(&app.db, &kalibra::audit::Actor::cli(), &input_program).await.unwrap();
        let s = import_contacts(&app.db, request(program.id, None, 2), input(GOOD_AND_BAD), |_| {}).await.unwrap();
        assert_eq!(s.accepted, 3);
        // Without the import's other traces, its contacts and rollups hold the program.
        let db = &app.db;
        let run = |sql: &'static str| async move {
            match db {
                kalibra::store::Db::Sqlite(p, _) => sqlx::query(sql).bind(program.id.0).execute(p).await.map(|_| ()),
                kalibra::store::Db::Pg(p) => sqlx::query(sql).bind(program.id.0).execute(p).await.map(|_| ()),
            }
        };
        for sql in [
            "DELETE FROM import_rejects WHERE job_id IN (SELECT id FROM import_jobs WHERE program_id = $1)",
            "DELETE FROM import_jobs WHERE program_id = $1",
            "DELETE FROM contact_backlog WHERE program_id = $1",
        ] {
            run(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let err = run("DELETE FROM programs WHERE id = $1").await.expect_err("the contacts keep their program");
        assert!(err.to_string().contains("has contacts"), "{err}");
        // Kept by triggers, not a foreign key: with one, SQLite would journal every statement
        // that writes several contacts (migration 0021).
        if let kalibra::store::Db::Sqlite(p, _) = db {
            let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_foreign_key_list('contacts')")
                .fetch_one(p)
                .await
                .unwrap();
            assert_eq!(keys, 0);
        }
        assert_eq!(contact_count(&app, "GUARD").await, 3);
        run("DELETE FROM contacts WHERE program_id = $1").await.unwrap();
        // Its rollups hold it too (a foreign key on SQLite, the trigger on PostgreSQL).
        run("DELETE FROM programs WHERE id = $1").await.expect_err("the rollups keep their program");
        run("DELETE FROM contact_rollups WHERE program_id = $1").await.unwrap();
        run("DELETE FROM programs WHERE id = $1").await.expect("a program without contacts can go");
    }

    async fn a_broken_import_leaves_whole_batches_and_a_rerun_completes_it(app: TestApp) {
        app.seed_demo().await;
        let program = app.program_id("ACME-DE").await;
        let mut csv = String::from("external_id,arrived,wait_s\n");
        for i in 0..9 {
            csv.push_str(&format!("B-{i},2026-02-0{} 09:00:00,{i}\n", i + 1));
        }
        // Breaks in the middle of the seventh row.
        let ok_bytes = csv.find("B-6").unwrap() as u64 + 5;
        let source = Breaks { data: Cursor::new(csv.clone().into_bytes()), ok_bytes };
        let err = import_contacts(&app.db, request(program, None, 3), Box::new(source), |_| {}).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("the source went away") && msg.contains("running the import again completes it"), "{msg}");
        let stored = contact_count(&app, "ACME-DE").await;
        assert_eq!(stored, 6, "two whole batches of three, nothing of the third");
        let s = import_contacts(&app.db, request(program, None, 3), input(&csv), |_| {}).await.unwrap();
        assert_eq!((s.accepted, s.unchanged), (3, 6));
        assert_eq!(contact_count(&app, "ACME-DE").await, 9);
    }

    async fn a_file_out_of_time_order_is_stored_in_order_of_arrival(app: TestApp) {
        let mut programs = Vec::new();
        for code in ["TIMED", "SORTED", "NEWEST"] {
            let p = kalibra::programs::ProgramInput { code: code.into(), name: code.into(), timezone: "Europe/Berlin".into() };
            programs.push(kalibra::programs::create(&app.db, &kalibra::audit::Actor::cli(), &p).await.unwrap().id);
        }
        // Three agents' twelve days, sorted by agent; customers come back within the week.
        let mut rows = Vec::new();
        // A minute apart: of two contacts of one customer at one instant, the later in the file
        // is the repeat (docs/kpis.md), which a file newest first would turn round.
        for (minute, agent) in ["anna", "bert", "cem"].into_iter().enumerate() {
            for day in 1..=12 {
                let customer = (day + agent.len()) % 5;
                rows.push((day, format!("{agent}-{day},{agent},C{customer},2026-02-{day:02} 09:0{minute}:00,10,60,handled\n")));
            }
        }
        let header = "external_id,agent,customer,arrived,wait_s,talk_s,outcome\n";
        // Row 38 is bad; row 39 changes bert-3 at the same arrival, so it wins.
        let extra = "bad,anna,C1,not-a-time,,,\nbert-3,bert,C3,2026-02-03 09:01:00,10,99,handled\n";
        let by_agent = format!("{header}{}{extra}", rows.iter().map(|(_, r)| r.as_str()).collect::<String>());
        let mut timed = rows.clone();
        timed.sort_by_key(|(day, _)| *day);
        let in_time_order = format!("{header}{}{extra}", timed.iter().map(|(_, r)| r.as_str()).collect::<String>());

        let t = import_contacts(&app.db, request(programs[0], None, 5), input(&in_time_order), |_| {}).await.unwrap();
        // Newest first: each batch's days are its own but for the seam, so nothing is sorted.
        let newest_first = format!("{header}{}{extra}", timed.iter().rev().map(|(_, r)| r.as_str()).collect::<String>());
        let mut stages = Vec::new();
        let req = ImportRequest { sorting: Sorting { overlap_rows: 3, run_rows: 7 }, ..request(programs[2], None, 5) };
        let n = import_contacts(&app.db, req, input(&newest_first), |p| stages.push(p.stage)).await.unwrap();
        assert!(stages.iter().all(|s| *s == Stage::InFileOrder), "{stages:?}");
        let mut stages = Vec::new();
        let req = ImportRequest { sorting: Sorting { overlap_rows: 3, run_rows: 7 }, ..request(programs[1], None, 5) };
        let s = import_contacts(&app.db, req, input(&by_agent), |p| stages.push(p.stage)).await.unwrap();
        let counts = |s: &kalibra::contacts::import::Summary| (s.rows_read, s.accepted, s.updated, s.unchanged, s.rejected);
        assert_eq!(counts(&s), (38, 36, 1, 0, 1));
        assert_eq!(counts(&t), counts(&s));
        assert_eq!(counts(&n), counts(&s));
        assert_eq!(s.first_rejects.iter().map(|r| (r.row, r.field.as_str())).collect::<Vec<_>>(), [(38, "arrived")]);
        // Anna's first ten rows went in the file's order, two batches of five; the third batch
        // (anna's last two days, bert's first three) came back over them, and it and the rest
        // were sorted: 27 rows in runs of 7, then batches of five.
        assert_eq!(&stages[..2], [Stage::InFileOrder, Stage::InFileOrder]);
        let sorting = stages.iter().filter(|s| **s == Stage::Sorting).count();
        assert_eq!(sorting, 5, "{stages:?}");
        assert_eq!(stages.last(), Some(&Stage::InArrivalOrder { stored: 27, of: 27 }), "{stages:?}");

        const ROWS: &str = "SELECT external_id, arrived_at, talk_s, fcr_repeat FROM contacts WHERE program_id = $1 ORDER BY id";
        let mut stored = Vec::new();
        for program in &programs {
            let r: Vec<(String, i64, i64, Option<bool>)> =
                kalibra::on_db!(&app.db, p => sqlx::query_as(ROWS).bind(*program).fetch_all(p).await).unwrap();
            stored.push(r);
        }
        let (timed, sorted, newest) = (&stored[0], &stored[1], &stored[2]);
        assert_eq!(sorted.len(), 36);
        // After anna's first ten, stored in order of arrival.
        let firsts: Vec<&str> = sorted[..10].iter().map(|r| r.0.as_str()).collect();
        assert_eq!(firsts, (1..=10).map(|d| format!("anna-{d}")).collect::<Vec<_>>());
        assert!(sorted[10..].windows(2).all(|w| w[0].1 <= w[1].1), "{sorted:?}");
        // The same contacts, figures and first-contact flags as the file in time order.
        let by_id = |rows: &[(String, i64, i64, Option<bool>)]| {
            let mut v = rows.to_vec();
            v.sort();
            v
        };
        assert_eq!(by_id(sorted), by_id(timed));
        assert_eq!(by_id(newest), by_id(timed));
        assert!(sorted.iter().any(|r| r.0 == "bert-3" && r.2 == 99), "the later row of bert-3 wins");
        assert!(sorted.iter().filter(|r| r.3 == Some(true)).count() >= 5, "customers come back: {sorted:?}");
    }

    async fn gzip_json_lines_through_the_command_line(app: TestApp) {
        app.seed_demo().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chats.jsonl.gz");
        let lines = concat!(
            r#"{"external_id": "CH-1", "channel": "chat", "arrived": "2026-03-02T09:00:00+01:00", "answered": "2026-03-02T09:00:45+01:00", "transcript": [{"speaker": "customer", "text": "Mijn factuur klopt niet"}, {"speaker": "agent", "text": "Ik kijk even mee"}]}"#, "\n",
            r#"{"external_id": "CH-2", "channel": "chat", "arrived": "2026-03-02T09:05:00+01:00"}"#, "\n",
            "not json\n",
        );
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::default());
        gz.write_all(lines.as_bytes()).unwrap();
        gz.finish().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kalibra"))
            .args(["--database-url", &app.database_url, "import", "contacts", "--program", "BLUE-NL", "--json"])
            .arg(&path)
            .env("KALIBRA_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["accepted"], 2);
        assert_eq!(summary["rejected"], 1);
        assert_eq!(summary["updated"], 0);
        assert_eq!(summary["unchanged"], 0);
        let rejects = summary["rejects_file"].as_str().unwrap();
        assert!(std::fs::read_to_string(rejects).unwrap().contains("3,,not a JSON object"));
        let facts = store::facts(&app.db, app.program_id("BLUE-NL").await, 0, i64::MAX).await.unwrap();
        let answered: Vec<_> = facts.iter().map(|f| (f.outcome.as_str(), f.first_response_s)).collect();
        assert_eq!(answered, [("handled", Some(45)), ("abandoned", None)]);

        // A mapping that names a column the file lacks stops before reading any row.
        let mapping = dir.path().join("m.toml");
        std::fs::write(&mapping, "[fields]\nexternal_id = \"call\"\narrived = \"start\"\n").unwrap();
        let csv = dir.path().join("calls.csv");
        std::fs::write(&csv, "id,start\n1,2026-01-01 10:00\n").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kalibra"))
            .args(["--database-url", &app.database_url, "import", "contacts", "--program", "BLUE-NL", "--mapping"])
            .arg(&mapping)
            .arg(&csv)
            .env("KALIBRA_LOG", "warn")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("column \"call\", which the file's header does not have"));
    }
}
