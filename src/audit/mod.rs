//! The append-only audit log: sign-ins, changes to people, grants and programs, token creation
//! and use. Rows are only ever inserted; triggers on both backends refuse updates and deletes.

pub mod routes;

use crate::domain::{PersonId, ProgramId, Timestamp, format_utc, now};
use crate::on_db;
use crate::store::{Db, Tx};

/// Who did something, from where. Built once per request.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub person: Option<PersonId>,
    pub label: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The command line, acting on the operator's behalf.
    pub fn cli() -> Self {
        Self {
            person: None,
            label: "cli".into(),
            ip: None,
            request_id: None,
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: &'static str,
    pub object_kind: Option<&'static str>,
    pub object_id: Option<String>,
    pub program_id: Option<ProgramId>,
    pub detail: String,
}

impl Event {
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            object_kind: None,
            object_id: None,
            program_id: None,
            detail: String::new(),
        }
    }
    pub fn object(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.object_kind = Some(kind);
        self.object_id = Some(id.to_string());
        self
    }
    pub fn program(mut self, p: ProgramId) -> Self {
        self.program_id = Some(p);
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = d.into();
        self
    }
}

const INSERT: &str = "INSERT INTO audit_log (at, actor_id, actor_label, action, object_kind, object_id, program_id, detail, ip, request_id) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Record an event inside the transaction that makes the change, so neither lands alone.
pub async fn record(tx: &mut Tx, actor: &Actor, e: Event) -> Result<(), sqlx::Error> {
    let values = vec![
        now().into(),
        actor.person.into(),
        actor.label.as_str().into(),
        e.action.into(),
        e.object_kind.into(),
        e.object_id.into(),
        e.program_id.into(),
        e.detail.into(),
        actor.ip.clone().into(),
        actor.request_id.clone().into(),
    ];
    tx.later(INSERT, values).await
}

/// Record an event that changes nothing else (a failed sign-in, a token use).
pub async fn record_alone(db: &Db, actor: &Actor, e: Event) -> Result<(), sqlx::Error> {
    on_db!(db, c => sqlx::query(INSERT)
        .bind(now()).bind(actor.person).bind(&actor.label).bind(e.action).bind(e.object_kind)
        .bind(&e.object_id).bind(e.program_id).bind(&e.detail).bind(&actor.ip).bind(&actor.request_id)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: Timestamp,
    pub actor_id: Option<PersonId>,
    pub actor_label: String,
    pub action: String,
    pub object_kind: Option<String>,
    pub object_id: Option<String>,
    pub program_id: Option<ProgramId>,
    pub detail: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Entry {
    pub fn at_utc(&self) -> String {
        format_utc(self.at)
    }
}

/// Filters for reading the log; every field optional.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Entries at or after this day (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Entries before the end of this day (`YYYY-MM-DD`, UTC).
    pub to: Option<String>,
    /// Action prefix, e.g. `signin` or `person.`.
    pub action: Option<String>,
    /// Part of the actor's e-mail address.
    pub actor: Option<String>,
    /// Only entries with an id below this (for paging back).
    pub before: Option<i64>,
    /// At most this many entries (default 100, at most 1000; the CSV export has no limit).
    pub limit: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("{field}: expected a date as YYYY-MM-DD, got {value:?}")]
    Date { field: &'static str, value: String },
}

fn day_start(field: &'static str, raw: &str) -> Result<Timestamp, FilterError> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc()
                .timestamp_millis()
        })
        .map_err(|_| FilterError::Date {
            field,
            value: raw.to_owned(),
        })
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filter {
    /// Bind values in the order the SQL names them: from, to, action prefix, actor, before.
    fn bounds(&self) -> Result<(i64, i64, String, String, i64), FilterError> {
        let from = nonempty(&self.from)
            .map(|f| day_start("from", f))
            .transpose()?
            .unwrap_or(0);
        let to = nonempty(&self.to)
            .map(|t| day_start("to", t).map(|d| d + 86_400_000))
            .transpose()?
            .unwrap_or(i64::MAX);
        let action = format!("{}%", escape_like(nonempty(&self.action).unwrap_or("")));
        let actor = format!(
            "%{}%",
            escape_like(&nonempty(&self.actor).unwrap_or("").to_lowercase())
        );
        Ok((from, to, action, actor, self.before.unwrap_or(i64::MAX)))
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

const SELECT: &str = "SELECT id, at, actor_id, actor_label, action, object_kind, object_id, program_id, detail, ip, request_id \
    FROM audit_log WHERE at >= $1 AND at < $2 AND action LIKE $3 ESCAPE '\\' \
    AND LOWER(actor_label) LIKE $4 ESCAPE '\\' AND id < $5 ORDER BY id DESC LIMIT $6";

pub async fn list(
    db: &Db,
    f: &Filter,
    max: i64,
) -> Result<Result<Vec<Entry>, FilterError>, sqlx::Error> {
    let (from, to, action, actor, before) = match f.bounds() {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    let limit = f.limit.unwrap_or(100).clamp(1, max);
    let rows = on_db!(db, p => sqlx::query_as(SELECT)
        .bind(from).bind(to).bind(action).bind(actor).bind(before).bind(limit)
        .fetch_all(p).await)?;
    Ok(Ok(rows))
}

/// The entries as CSV, header first, newest first.
pub fn to_csv(entries: &[Entry]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "at_utc",
        "actor_id",
        "actor",
        "action",
        "object_kind",
        "object_id",
        "program_id",
        "detail",
        "ip",
        "request_id",
    ])?;
    for e in entries {
        w.write_record([
            e.id.to_string(),
            e.at_utc(),
            e.actor_id.map(|p| p.to_string()).unwrap_or_default(),
            e.actor_label.clone(),
            e.action.clone(),
            e.object_kind.clone().unwrap_or_default(),
            e.object_id.clone().unwrap_or_default(),
            e.program_id.map(|p| p.to_string()).unwrap_or_default(),
            e.detail.clone(),
            e.ip.clone().unwrap_or_default(),
            e.request_id.clone().unwrap_or_default(),
        ])?;
    }
    Ok(w.into_inner()?)
}
