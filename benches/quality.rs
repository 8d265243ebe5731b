//! Quality monitoring under load, on SQLite and PostgreSQL:
//!
//! 1. **Submitting evaluations over HTTP**: 32 concurrent clients (evaluators' API tokens, one
//!    kept-alive connection each) each start, fill and submit evaluations of their own contacts;
//!    the table gives p50 / p99 of the submit call and of a whole evaluation (start + save +
//!    submit), and evaluations per second.
//! 2. **The quality dashboard at 1 million evaluations**: a year of submitted evaluations of 250
//!    agents is written straight to the database, with the rollups `rollup::share` computes for
//!    each (the function every submission uses), then `GET /api/v1/programs/{id}/quality` is
//!    timed by week, by agent and by month: 3 warm-up calls, then 30 timed, median and p95.
//!
//!     cargo bench --bench quality [-- --evaluations N --clients N --submits N --skip-postgres]
//!
//! PostgreSQL: the server at `KALIBRA_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`), in a database `kalibra_bench_quality` made afresh.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kalibra::audit::Actor;
use kalibra::auth::routes::{NewToken, issue_token};
use kalibra::config::Settings;
use kalibra::domain::{Email, Locale, PersonId, ProgramId};
use kalibra::quality::evaluations::{Evaluation, Kind, Status, StoredAnswer};
use kalibra::quality::forms::{self, NewForm};
use kalibra::quality::rollup::{self, Share};
use kalibra::startup::{AppState, Application};
use kalibra::store::Db;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

/// The allocator of the `kalibra` binary, so that the server measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    evaluations: usize,
    clients: usize,
    submits: usize,
    postgres: bool,
}

fn options() -> Options {
    let mut o = Options {
        evaluations: 1_000_000,
        clients: 32,
        submits: 3_200,
        postgres: true,
    };
    let args: Vec<String> = std::env::args().collect();
    let value = |i: usize| args.get(i + 1).and_then(|v| v.parse().ok());
    for (i, a) in args.iter().enumerate() {
        match a.as_str() {
            "--evaluations" => o.evaluations = value(i).unwrap_or(o.evaluations),
            "--clients" => o.clients = value(i).unwrap_or(o.clients),
            "--submits" => o.submits = value(i).unwrap_or(o.submits),
            "--skip-postgres" => o.postgres = false,
            _ => {}
        }
    }
    o
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

async fn person(db: &Db, email: &str) -> PersonId {
    kalibra::people::find_by_email(db, &Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn token(state: &AppState, email: &str) -> String {
    let req = NewToken {
        name: "bench".into(),
        expires_days: 1,
    };
    let who = person(&state.db, email).await;
    issue_token(state, &Actor::cli(), who, &req)
        .await
        .unwrap()
        .1
}

/// The form of docs/scoring.md's worked examples, published in `program`.
async fn publish_form(db: &Db, program: ProgramId) -> forms::FormVersion {
    let actor = Actor::cli();
    let spec =
        serde_json::from_str(include_str!("../tests/fixtures/scoring-example-form.json")).unwrap();
    let input = NewForm {
        template: None,
        language: Some(Locale::En),
        definition: Some(spec),
    };
    let _ = kalibra::quality::catalogue::create(
        db,
        &actor,
        kalibra::quality::catalogue::Catalogue::Principles,
        &kalibra::quality::catalogue::EntryInput {
            program_id: None,
            key: "effective".into(),
            name: "Effective".into(),
            description: String::new(),
        },
    )
    .await;
    let draft = forms::create(db, &actor, program, input).await.unwrap();
    forms::publish(db, &actor, draft.id).await.unwrap()
}

async fn import(db: &Db, program: ProgramId, csv: String) {
    let req = kalibra::contacts::import::ImportRequest {
        batch_rows: 10_000,
        ..kalibra::contacts::import::ImportRequest::new(
            program,
            "bench.csv",
            kalibra::contacts::mapping::Format::Csv,
            kalibra::contacts::mapping::Mapping::generic(chrono_tz::UTC),
            "bench",
        )
    };
    let s = kalibra::contacts::import::import_contacts(
        db,
        req,
        Box::new(std::io::Cursor::new(csv.into_bytes())),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(s.rejected, 0);
}

struct Submits {
    submit: Vec<Duration>,
    whole: Vec<Duration>,
    seconds: f64,
}

/// `clients` evaluators' clients, each evaluating its own share of the program's contacts.
async fn submit_load(base: &str, tokens: &[String], contacts: &[i64]) -> Submits {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let mine: Vec<i64> = contacts
            .iter()
            .skip(k)
            .step_by(tokens.len())
            .copied()
            .collect();
        let (base, token) = (base.to_owned(), token.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder().build().unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
            let (mut submit, mut whole) = (Vec::new(), Vec::new());
            for contact in mine {
                let t0 = Instant::now();
                let e: serde_json::Value = c
                    .post(format!("{base}/api/v1/contacts/{contact}/evaluations"))
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let id = e["id"].as_i64().expect("evaluation started");
                let greeting = if rng.random_bool(0.8) { "yes" } else { "no" };
                let listening = rng.random_range(1..=5);
                let information = ["Fully", "Partly", "Wrong"][rng.random_range(0..3)];
                let relationship = if rng.random_bool(0.7) { "yes" } else { "no" };
                let answers = json!({"answers": [
                    {"criterion": "greeting", "value": greeting},
                    {"criterion": "listening", "value": listening},
                    {"criterion": "information", "value": information},
                    {"criterion": "relationship", "value": relationship},
                ], "comment": "bench"});
                let r = c
                    .put(format!("{base}/api/v1/evaluations/{id}"))
                    .bearer_auth(&token)
                    .json(&answers)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "save: {}", r.status());
                let t1 = Instant::now();
                let r = c
                    .post(format!("{base}/api/v1/evaluations/{id}/submit"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "submit: {}", r.status());
                r.bytes().await.unwrap();
                submit.push(t1.elapsed());
                whole.push(t0.elapsed());
            }
            (submit, whole)
        }));
    }
    let (mut submit, mut whole) = (Vec::new(), Vec::new());
    for t in tasks {
        let (s, w) = t.await.unwrap();
        submit.extend(s);
        whole.extend(w);
    }
    let seconds = started.elapsed().as_secs_f64();
    submit.sort();
    whole.sort();
    Submits {
        submit,
        whole,
        seconds,
    }
}

/// A year of submitted evaluations of 250 agents, written straight to the database with the
/// rollups their shares add up to.
async fn seed_evaluations(db: &Db, program: ProgramId, version: &forms::FormVersion, n: usize) {
    let evaluator = person(db, "qa@example.com").await;
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let mut rng = ChaCha8Rng::seed_from_u64(2025);
    let mut rollups: BTreeMap<(i64, String), Share> = BTreeMap::new();
    let batch = 20_000;
    let mut done = 0;
    while done < n {
        let count = batch.min(n - done);
        let mut tx = db.begin().await.unwrap();
        for i in done..done + count {
            let agent = format!("agent{:03}", rng.random_range(0..250));
            let at = start + (i as i64) * (365 * 86_400_000 / n as i64);
            let greeting = rng.random_bool(0.8);
            let listening = rng.random_range(1..=5_i64);
            let information = rng.random_range(0..3_usize);
            let rq = rng.random_bool(0.7);
            let percents = [
                if greeting { 100.0 } else { 0.0 },
                (listening - 1) as f64 * 25.0,
                [100.0, 50.0, 0.0][information],
                if rq { 100.0 } else { 0.0 },
            ];
            let earned =
                percents[0] / 100.0 + 2.0 * percents[1] / 100.0 + 3.0 * percents[2] / 100.0;
            let failed = information == 2;
            let score = if failed { 0.0 } else { earned * 100.0 / 6.0 };
            let answers: Vec<StoredAnswer> =
                ["greeting", "listening", "information", "relationship"]
                    .iter()
                    .zip(percents)
                    .map(|(k, p)| StoredAnswer {
                        criterion: (*k).into(),
                        value: String::new(),
                        percent: Some(p),
                        comment: String::new(),
                    })
                    .collect();
            let ext = format!("Q-{i:07}");
            let contact: i64 = kalibra::on_tx!(&mut tx, t => sqlx::query_scalar(
                "INSERT INTO contacts (program_id, external_id, channel, agent, arrived_at, outcome, row_hash, imported_at) \
                 VALUES ($1, $2, 'phone', $3, $4, 'handled', '', $4) RETURNING id")
                .bind(program).bind(&ext).bind(&agent).bind(at).fetch_one(t).await).unwrap();
            let id: i64 = kalibra::on_tx!(&mut tx, t => sqlx::query_scalar(
                "INSERT INTO evaluations (program_id, contact_id, form_version_id, kind, evaluator_id, agent_code, \
                 channel, status, score, earned, possible, failed, passed, rq, created_at, updated_at, submitted_at) \
                 VALUES ($1, $2, $3, 'evaluation', $4, $5, 'phone', 'submitted', $6, $7, 6, $8, $9, $10, $11, $11, $11) RETURNING id")
                .bind(program).bind(contact).bind(version.id).bind(evaluator).bind(&agent)
                .bind(score).bind(earned).bind(failed).bind(!failed && score >= 80.0).bind(rq).bind(at)
                .fetch_one(t).await).unwrap();
            for a in &answers {
                kalibra::on_tx!(&mut tx, t => sqlx::query(
                    "INSERT INTO evaluation_answers (evaluation_id, criterion_key, value, percent) VALUES ($1, $2, $3, $4)")
                    .bind(id).bind(&a.criterion).bind(a.percent.unwrap_or(0.0).to_string()).bind(a.percent)
                    .execute(t).await.map(|_| ())).unwrap();
            }
            let e = Evaluation {
                id,
                program_id: program,
                contact_id: contact,
                form_version_id: version.id,
                kind: Kind::Evaluation,
                evaluator_id: evaluator,
                evaluator_name: String::new(),
                agent_id: None,
                agent_code: agent.clone(),
                channel: "phone".into(),
                status: Status::Submitted,
                score: Some(score),
                earned,
                possible: 6.0,
                failed,
                passed: Some(!failed && score >= 80.0),
                rq: Some(rq),
                comment: String::new(),
                created_at: at,
                updated_at: at,
                submitted_at: Some(at),
                answers,
                missing: Vec::new(),
                critical_failures: Vec::new(),
                acknowledged_at: None,
                disputed_at: None,
                resolve_by: None,
                resolved_at: None,
                resolution: None,
                resolution_note: String::new(),
                disputes: Vec::new(),
                history: Vec::new(),
            };
            let share = rollup::share(&e, &version.form, chrono_tz::UTC).unwrap();
            match rollups.entry((share.day, agent)) {
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let sum = o.get_mut();
                    sum.sums.merge(&share.sums);
                    for (k, c) in &share.criteria {
                        sum.criteria.entry(k.clone()).or_default().merge(c);
                    }
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(share);
                }
            }
        }
        tx.commit().await.unwrap();
        done += count;
    }
    let shares: Vec<Share> = rollups.into_values().collect();
    for chunk in shares.chunks(5_000) {
        let mut tx = db.begin().await.unwrap();
        for s in chunk {
            rollup::replace(&mut tx, None, Some(s)).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}

async fn time_get(c: &reqwest::Client, url: &str, token: &str) -> (f64, f64) {
    for _ in 0..3 {
        c.get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let r = c.get(url).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95))
}

async fn run(backend: &str, database_url: String, db: Db, o: &Options) -> Vec<String> {
    db.migrate().await.unwrap();
    kalibra::demo::seed(&db).await.unwrap();
    let settings = Settings {
        database_url: database_url.clone(),
        bind: "127.0.0.1:0".into(),
        ..Settings::default()
    };
    let state = AppState {
        db: db.clone(),
        settings: Arc::new(settings.clone()),
        limits: Default::default(),
    };
    let program = kalibra::programs::find_by_code(&db, "ACME-DE")
        .await
        .unwrap()
        .unwrap()
        .id;
    publish_form(&db, program).await;
    let mut csv = String::from("external_id,channel,agent,arrived,answered,ended\n");
    for i in 0..o.submits {
        csv += &format!(
            "L-{i:06},phone,agent{:03},2026-03-02 09:00:00,2026-03-02 09:00:10,2026-03-02 09:05:00\n",
            i % 250
        );
    }
    import(&db, program, csv).await;
    let filter = kalibra::contacts::store::ContactFilter {
        start: 0,
        end: i64::MAX,
        ..Default::default()
    };
    let contacts: Vec<i64> = kalibra::contacts::store::list(&db, program, &filter, 1_000_000, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    kalibra::memory::keep_freed_memory();
    let app = Application::build_with_db(settings, db.clone())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let mut tokens = Vec::new();
    for _ in 0..o.clients {
        tokens.push(token(&state, "qa@example.com").await);
    }
    // Every client evaluates contacts of its own.
    let s = submit_load(&base, &tokens, &contacts).await;
    let mut out = vec![format!(
        "| {backend} | submit | {} | {:.1} | {:.1} | {:.0} evaluations/s |",
        s.submit.len(),
        percentile(&s.submit, 0.5),
        percentile(&s.submit, 0.99),
        s.whole.len() as f64 / s.seconds
    )];
    out.push(format!(
        "| {backend} | start + save + submit | {} | {:.1} | {:.1} | |",
        s.whole.len(),
        percentile(&s.whole, 0.5),
        percentile(&s.whole, 0.99)
    ));

    let seeded = Instant::now();
    let big = kalibra::programs::find_by_code(&db, "BLUE-NL")
        .await
        .unwrap()
        .unwrap()
        .id;
    let big_version = publish_form(&db, big).await;
    seed_evaluations(&db, big, &big_version, o.evaluations).await;
    eprintln!(
        "{backend}: {} evaluations written in {:.1} s",
        o.evaluations,
        seeded.elapsed().as_secs_f64()
    );
    // A database in use has its statistics; a million rows written a moment ago do not yet.
    kalibra::on_db!(&db, p => sqlx::query("ANALYZE").execute(p).await.map(|_| ())).unwrap();
    let admin = token(&state, "admin@example.com").await;
    let c = reqwest::Client::new();
    for by in ["week", "agent", "month"] {
        let url =
            format!("{base}/api/v1/programs/{big}/quality?from=2025-01-01&to=2025-12-31&by={by}");
        let (median, p95) = time_get(&c, &url, &admin).await;
        out.push(format!(
            "| {backend} | dashboard by {by}, {} evaluations | 30 | {median:.1} | {p95:.1} (p95) | |",
            o.evaluations
        ));
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = options();
    let mut lines = vec![
        "| database | what | calls | median ms | p99 ms | throughput |".to_owned(),
        "| --- | --- | ---: | ---: | ---: | ---: |".to_owned(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let db = Db::connect(&url).await.unwrap();
    lines.extend(run("SQLite", url, db, &o).await);
    if o.postgres {
        let server = std::env::var("KALIBRA_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let admin = Db::connect(&format!("{server}/postgres")).await.unwrap();
        kalibra::on_db!(&admin, p => {
            sqlx::query("DROP DATABASE IF EXISTS kalibra_bench_quality").execute(p).await.unwrap();
            sqlx::query("CREATE DATABASE kalibra_bench_quality").execute(p).await.unwrap();
        });
        let url = format!("{server}/kalibra_bench_quality");
        let db = Db::connect(&url).await.unwrap();
        lines.extend(run("PostgreSQL", url, db, &o).await);
    }
    println!("{}", lines.join("\n"));
}
