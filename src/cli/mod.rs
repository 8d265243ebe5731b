//! The command line: `serve`, `demo`, `migrate`, and the administration commands.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::audit::Actor;
use crate::auth::routes::NewToken;
use crate::config::{Overrides, Settings};
use crate::domain::{Email, Role};
use crate::people::{GrantInput, PersonInput};
use crate::programs::ProgramInput;
use crate::startup::Application;
use crate::store::Db;

#[derive(Parser)]
#[command(
    name = "kalibra",
    version,
    about = "Quality and service management for contact centers"
)]
pub struct Cli {
    /// Settings file (TOML). Without it, ./kalibra.toml is read when present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database: sqlite:PATH or postgres://USER@HOST:PORT/DB [env: KALIBRA_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrations run first).
    Serve(ServeArgs),
    /// Run the web server with a demo organisation (default database: sqlite:kalibra-demo.db).
    Demo(DemoArgs),
    #[command(flatten)]
    OnDatabase(DatabaseCommand),
    /// Statistics on files, without a database.
    #[command(subcommand)]
    Stats(StatsCommand),
}

/// The commands that open the database, do one thing on it and close it.
#[derive(Subcommand)]
enum DatabaseCommand {
    /// Apply database migrations and exit.
    Migrate,
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage client programs.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Import contact records (CSV or JSON Lines, gzip accepted).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print a program's service KPIs for a period.
    Kpi(KpiArgs),
}

#[derive(Subcommand)]
enum StatsCommand {
    /// How well raters agree: Krippendorff's alpha (with a bootstrap interval), percent
    /// agreement, and for nominal data Fleiss' kappa and Gwet's AC1. FILE is a CSV with one row
    /// per rater and one column per unit; the first row and column are labels, empty = missing.
    Agreement(AgreementArgs),
}

#[derive(Args)]
struct AgreementArgs {
    /// nominal, ordinal, interval or ratio
    #[arg(long, default_value = "nominal")]
    level: crate::stats::ratings::Level,
    /// table or json
    #[arg(long, default_value = "table")]
    format: String,
    /// The ratings file (- for standard input)
    file: PathBuf,
}

#[derive(Args)]
struct KpiArgs {
    /// The program's code
    #[arg(long)]
    program: String,
    /// First day, YYYY-MM-DD, in the program's time zone
    #[arg(long)]
    from: chrono::NaiveDate,
    /// Last day (included), YYYY-MM-DD
    #[arg(long)]
    to: chrono::NaiveDate,
    /// interval (15 min), 30min, 60min, day, week, month, queue, channel or agent
    #[arg(long, default_value = "day")]
    by: String,
    /// table, csv or json
    #[arg(long, default_value = "table")]
    format: String,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import contacts of every channel into a program.
    Contacts(ImportArgs),
    /// Import survey answers (CSAT, NPS, RQ, effort, comment) about a program's contacts.
    Surveys(ImportArgs),
}

#[derive(Args)]
struct ImportArgs {
    /// The program's code
    #[arg(long)]
    program: String,
    /// Column mapping (TOML) for an ACD, telephony or helpdesk export; without it the generic format
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// csv or jsonl; by default from the mapping or the file name
    #[arg(long)]
    format: Option<String>,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
    /// Where to write the rejected rows (default: FILE.rejects.csv next to the input)
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// The file to import
    file: PathBuf,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// How many contacts to generate (over the last four weeks, for three programs)
    #[arg(long, default_value_t = crate::demo::DEFAULT_CONTACTS)]
    contacts: u64,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [env: KALIBRA_BIND; default 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a person with a role; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, evaluator, team_lead, planner, client_viewer or agent
        #[arg(long)]
        role: String,
        /// Program code, for evaluator, planner and client_viewer (and with --team)
        #[arg(long)]
        program: Option<String>,
        /// Team name within --program, for team_lead and agent
        #[arg(long)]
        team: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProgramCommand {
    /// Create a client program.
    Create {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// IANA time zone, e.g. Europe/Berlin
        #[arg(long)]
        timezone: String,
    },
    /// Show a program's KPI settings, or change those given (docs/kpis.md).
    Settings {
        #[arg(long)]
        program: String,
        /// T: answered within this many seconds counts as in time (1–3,600)
        #[arg(long)]
        answer_within_s: Option<u32>,
        /// S: abandons within this many seconds are short and left out (0–600)
        #[arg(long)]
        short_abandon_s: Option<u32>,
        /// Service-level target, a fraction 0–1
        #[arg(long)]
        sl_target: Option<f64>,
        /// over_offered, over_answered or ignore_early_abandons
        #[arg(long)]
        sl_variant: Option<String>,
        /// First-response SLA of e-mail, social and chat, seconds (60–2,592,000)
        #[arg(long)]
        response_sla_s: Option<u32>,
        /// FCR window, days (1–90)
        #[arg(long)]
        fcr_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new API token for a person.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value_t = 90)]
        expires_days: i64,
        /// What the token is for
        #[arg(long, default_value = "command line")]
        name: String,
    },
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let is_demo = matches!(cli.command, Command::Demo(_));
    let defaults = Settings {
        database_url: if is_demo {
            "sqlite:kalibra-demo.db".into()
        } else {
            Settings::default().database_url
        },
        ..Settings::default()
    };
    let bind = match &cli.command {
        Command::Serve(a) => a.bind.clone(),
        Command::Demo(a) => a.serve.bind.clone(),
        _ => None,
    };
    let flags = Overrides {
        database_url: cli.database_url.clone(),
        bind,
    };
    let settings = Settings::load(cli.config.as_deref(), defaults, flags)
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    crate::telemetry::init(&settings.log_format);

    match cli.command {
        Command::Serve(_) => serve(settings, None).await,
        Command::Demo(a) => serve(settings, Some(a.contacts)).await,
        Command::Stats(StatsCommand::Agreement(args)) => agreement(args),
        Command::OnDatabase(command) => {
            let db = open(&settings).await?;
            let done = on_database(&db, settings, command).await;
            // Closed before the process ends, so that the database file alone holds everything
            // written (SQLite's write-ahead log copied into it).
            db.close().await;
            done
        }
    }
}

/// Run a command that works on the database `db`.
async fn on_database(db: &Db, settings: Settings, command: DatabaseCommand) -> anyhow::Result<()> {
    match command {
        DatabaseCommand::Migrate => {
            println!(
                "migrations applied to {}",
                crate::store::redact(&settings.database_url)
            );
            Ok(())
        }
        DatabaseCommand::User(UserCommand::Create {
            email,
            name,
            role,
            program,
            team,
        }) => {
            let role = Role::parse(&role)?;
            let grant = grant_for(db, role, program.as_deref(), team.as_deref()).await?;
            let password = read_password()?;
            let input = PersonInput {
                email,
                name,
                password: Some(password),
                locale: None,
            };
            let actor = Actor::cli();
            let person = crate::people::create(db, &actor, &input)
                .await
                .map_err(explain)?;
            crate::people::add_grant(db, &actor, person.id, &grant)
                .await
                .map_err(explain)?;
            println!(
                "created {} <{}> (id {}) as {role}",
                person.name, person.email, person.id
            );
            Ok(())
        }
        DatabaseCommand::Program(ProgramCommand::Create {
            code,
            name,
            timezone,
        }) => {
            let input = ProgramInput {
                code,
                name,
                timezone,
            };
            let p = crate::programs::create(db, &Actor::cli(), &input)
                .await
                .map_err(explain)?;
            println!(
                "created program {} {} ({}), id {}",
                p.code, p.name, p.timezone, p.id
            );
            Ok(())
        }
        DatabaseCommand::Program(ProgramCommand::Settings {
            program,
            answer_within_s,
            short_abandon_s,
            sl_target,
            sl_variant,
            response_sla_s,
            fcr_days,
        }) => {
            let p = crate::programs::find_by_code(db, &program)
                .await?
                .with_context(|| format!("no program with code {program}"))?;
            let patch = crate::kpi::KpiSettingsPatch {
                answer_within_s,
                short_abandon_s,
                sl_target,
                sl_variant,
                response_sla_s,
                fcr_days,
            };
            let p = if patch == crate::kpi::KpiSettingsPatch::default() {
                p
            } else {
                let change = crate::programs::ProgramPatch {
                    kpi: Some(patch),
                    ..Default::default()
                };
                crate::programs::update(db, &Actor::cli(), p.id, &change)
                    .await
                    .map_err(explain)?
            };
            println!("{}", serde_json::to_string_pretty(&p.kpi)?);
            Ok(())
        }
        DatabaseCommand::Kpi(args) => print_kpis(db, args).await,
        DatabaseCommand::Import(ImportCommand::Contacts(args)) => {
            import_file(db, args, crate::contacts::mapping::CONTACTS).await
        }
        DatabaseCommand::Import(ImportCommand::Surveys(args)) => {
            import_file(db, args, crate::contacts::mapping::SURVEYS).await
        }
        DatabaseCommand::Token(TokenCommand::Create {
            email,
            expires_days,
            name,
        }) => {
            let person = crate::people::find_by_email(db, &Email::parse(&email)?)
                .await?
                .with_context(|| format!("no person with e-mail {email}"))?;
            if !person.active {
                bail!("{email} is deactivated");
            }
            let state = crate::startup::AppState {
                db: db.clone(),
                settings: std::sync::Arc::new(settings),
                limits: Default::default(),
            };
            let req = NewToken { name, expires_days };
            let (info, secret) =
                crate::auth::routes::issue_token(&state, &Actor::cli(), person.id, &req)
                    .await
                    .map_err(explain)?;
            eprintln!(
                "token {} for {email}, expires {} UTC; it is shown only now:",
                info.id,
                info.expires_utc()
            );
            println!("{secret}");
            Ok(())
        }
    }
}

fn explain(e: crate::web::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn open(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await.context("applying migrations")?;
    crate::contacts::rollup::ensure(&db)
        .await
        .context("building rollups")?;
    Ok(db)
}

async fn serve(settings: Settings, demo_contacts: Option<u64>) -> anyhow::Result<()> {
    crate::memory::keep_freed_memory();
    let db = open(&settings).await?;
    let demo = demo_contacts.is_some();
    if let Some(n) = demo_contacts {
        let added = crate::demo::seed(&db).await.map_err(explain)?;
        tracing::info!(added, "demo organisation ready");
        let started = std::time::Instant::now();
        let contacts = crate::demo::seed_contacts(&db, n).await.map_err(explain)?;
        crate::demo::seed_forms(&db).await.map_err(explain)?;
        crate::demo::seed_sampling(&db).await.map_err(explain)?;
        crate::demo::seed_evaluations(&db).await.map_err(explain)?;
        if contacts > 0 {
            println!(
                "generated {contacts} demo contacts in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let app = Application::build_with_db(settings.clone(), db).await?;
    let addr = app.local_addr()?;
    if demo {
        println!(
            "Kalibra demo at http://{addr}/  (database {})",
            crate::store::redact(&settings.database_url)
        );
        println!(
            "Sign in with any of these; the password is always {}:",
            crate::demo::PASSWORD
        );
        let mut seen = std::collections::BTreeSet::new();
        for (email, _, role, program, team) in crate::demo::PEOPLE {
            if seen.insert(*email) {
                let scope = match (program.is_empty(), team.is_empty()) {
                    (true, _) => "whole organisation".to_owned(),
                    (false, true) => (*program).to_owned(),
                    (false, false) => format!("{program} / {team}"),
                };
                println!("  {email:<24} {:<14} {scope}", role.as_str());
            }
        }
    } else {
        println!("Kalibra at http://{addr}/");
    }
    tracing::info!(%addr, backend = app_backend(&settings), "listening");
    app.run_until_stopped().await
}

fn app_backend(s: &Settings) -> &'static str {
    if s.database_url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// Resolve `--program` / `--team` into the scope the role needs.
async fn grant_for(
    db: &Db,
    role: Role,
    program: Option<&str>,
    team: Option<&str>,
) -> anyhow::Result<GrantInput> {
    let mut g = GrantInput {
        role,
        program_id: None,
        team_id: None,
    };
    if let Some(code) = program {
        let p = crate::programs::find_by_code(db, code)
            .await?
            .with_context(|| format!("no program with code {code}"))?;
        match team {
            Some(t) => {
                let team = crate::programs::find_team_by_name(db, p.id, t)
                    .await?
                    .with_context(|| format!("program {code} has no team {t:?}"))?;
                g.team_id = Some(team.id);
            }
            None => g.program_id = Some(p.id),
        }
    } else if team.is_some() {
        bail!("--team needs --program");
    }
    Ok(g)
}

/// The password: asked twice without echo on a terminal, else the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("Password: ")?;
        let b = rpassword::prompt_password("Repeat password: ")?;
        if a != b {
            bail!("the passwords differ");
        }
        Ok(a)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_owned();
        if pw.is_empty() {
            bail!("no password on standard input");
        }
        Ok(pw)
    }
}

async fn import_file(
    db: &Db,
    args: ImportArgs,
    kind: crate::contacts::mapping::Kind,
) -> anyhow::Result<()> {
    use crate::contacts::import::{self, ImportRequest};
    use crate::contacts::mapping::{Format, Mapping};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    crate::memory::return_freed_memory();
    let program = crate::programs::find_by_code(db, &args.program)
        .await?
        .with_context(|| format!("no program with code {}", args.program))?;
    let tz: chrono_tz::Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
    let mapping = match &args.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the mapping {}", path.display()))?;
            Mapping::parse_for(kind, &text, tz)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Mapping::generic_for(kind, tz),
    };
    let explicit = match args.format.as_deref() {
        None => None,
        Some("csv") => Some(Format::Csv),
        Some("jsonl") => Some(Format::Jsonl),
        Some(other) => bail!("--format {other}: use csv or jsonl"),
    };
    let format = import::detect_format(explicit, &mapping, &args.file)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bytes = Arc::new(AtomicU64::new(0));
    let input = import::open(&args.file, bytes.clone())?;
    let rejects_path = args.rejects.clone().unwrap_or_else(|| {
        let mut p = args.file.clone().into_os_string();
        p.push(".rejects.csv");
        PathBuf::from(p)
    });
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes}  {msg}  eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let req = ImportRequest {
        rejects_path: Some(rejects_path),
        ..ImportRequest::new(
            program.id,
            args.file.display().to_string(),
            format,
            mapping,
            "cli",
        )
    };
    let progress_bar = bar.clone();
    let progress = move |p: import::Progress| {
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        match p.stage {
            import::Stage::InFileOrder => {
                progress_bar.set_position(bytes.load(Ordering::Relaxed));
                let rate = p.rows_read as f64 / secs;
                progress_bar.set_message(format!("{} rows, {rate:.0} rows/s", p.rows_read));
            }
            import::Stage::Sorting => {
                progress_bar.set_position(bytes.load(Ordering::Relaxed));
                progress_bar.set_message(format!(
                    "{} rows read; out of time order, sorted by arrival before they are stored",
                    p.rows_read
                ));
            }
            // From here the bar counts the sorted rows stored.
            import::Stage::InArrivalOrder { stored, of } => {
                if progress_bar.length() != Some(of) {
                    progress_bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:30} {pos}/{len} rows  {msg}  eta {eta}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    progress_bar.set_length(of);
                    progress_bar.reset_eta();
                }
                progress_bar.set_position(stored);
                progress_bar.set_message("stored in order of arrival");
            }
        }
    };
    let summary = if kind == crate::contacts::mapping::SURVEYS {
        crate::contacts::surveys::import_surveys(db, req, input, progress).await
    } else {
        import::import_contacts(db, req, input, progress).await
    };
    bar.finish_and_clear();
    let summary = summary?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {} rows read in {:.1} s: {} accepted, {} updated, {} unchanged, {} skipped, {} rejected",
            args.file.display(),
            summary.rows_read,
            started.elapsed().as_secs_f64(),
            summary.accepted,
            summary.updated,
            summary.unchanged,
            summary.skipped,
            summary.rejected
        );
        for r in summary.first_rejects.iter().take(10) {
            println!(
                "  row {}: {}: {}",
                r.row,
                if r.field.is_empty() { "row" } else { &r.field },
                r.reason
            );
        }
        if let Some(f) = &summary.rejects_file {
            println!("every rejected row is listed in {f}");
        }
    }
    Ok(())
}

fn agreement(args: AgreementArgs) -> anyhow::Result<()> {
    use crate::agreement::AgreementReport;

    let name = args.file.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(&args.file).with_context(|| format!("reading {name}"))?
    };
    let report = AgreementReport::of_text(&text, args.level).with_context(|| name.clone())?;
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&report)?),
        "table" => print!("{}", report.table()),
        other => anyhow::bail!("--format {other}: table or json"),
    }
    Ok(())
}

async fn print_kpis(db: &Db, args: KpiArgs) -> anyhow::Result<()> {
    use crate::contacts::report::{Dimension, KpiLine, KpiQuery, kpis};

    let program = crate::programs::find_by_code(db, &args.program)
        .await?
        .with_context(|| format!("no program with code {}", args.program))?;
    let (dim, then) = Dimension::parse_pair(&args.by).map_err(|e| anyhow::anyhow!(e))?;
    let settings = program.kpi;
    let mut query = KpiQuery::new(args.from, args.to, dim);
    query.then = then;
    let (lines, total) = kpis(db, &program, &query, &settings)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    match args.format.as_str() {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "program": program.code,
                "from": args.from.to_string(),
                "to": args.to.to_string(),
                "by": args.by,
                "rows": lines,
                "total": total,
            }))?
        ),
        "csv" => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            for l in lines.iter().chain(std::iter::once(&total)) {
                w.serialize(l)?;
            }
            w.flush()?;
        }
        "table" => {
            let pct = |v: Option<f64>| {
                v.map(|v| format!("{:.1}%", v * 100.0))
                    .unwrap_or_else(|| "–".into())
            };
            let secs = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
            let width = lines
                .iter()
                .map(|l| l.label().chars().count())
                .max()
                .unwrap_or(5)
                .max(5);
            println!(
                "{:<width$} {:>8} {:>8} {:>9} {:>7} {:>7} {:>7} {:>8} {:>8} {:>7} {:>7} {:>6} {:>7} {:>8} {:>7}",
                args.by,
                "offered",
                "handled",
                "abandoned",
                "short",
                "SL",
                "ASA s",
                "AHT s",
                "aband.",
                "FCR",
                "CSAT",
                "NPS",
                "RQ",
                "resp SLA",
                "backlog"
            );
            let row = |l: &KpiLine| {
                println!(
                    "{:<width$} {:>8} {:>8} {:>9} {:>7} {:>7} {:>7} {:>8} {:>8} {:>7} {:>7} {:>6} {:>7} {:>8} {:>7}",
                    l.label(),
                    l.offered,
                    l.handled,
                    l.abandoned,
                    l.short_abandoned,
                    pct(l.service_level),
                    secs(l.asa_s),
                    secs(l.aht_s),
                    pct(l.abandon_rate),
                    pct(l.fcr),
                    pct(l.csat),
                    l.nps
                        .map(|n| format!("{:+.0}", n * 100.0))
                        .unwrap_or_else(|| "–".into()),
                    pct(l.rq),
                    pct(l.response_sla),
                    l.backlog.map_or_else(|| "–".into(), |n| n.to_string())
                )
            };
            lines.iter().for_each(row);
            row(&total);
        }
        other => bail!("--format {other}: use table, csv or json"),
    }
    Ok(())
}
