//! Survey answers (CSAT 1–5, NPS 0–10, RQ yes/no, effort 1–7, free text), each about one contact.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use sha2::{Digest, Sha256};

use super::import::{ImportError, ImportRequest, ImportRow, RowParser, Summary, import};
use super::mapping::{FieldError, Mapping};
use super::record::Record;
use super::rollup::{Delta, Key, SurveyShare};
use crate::domain::{ProgramId, now};
use crate::kpi::{Csat, Nps};
use crate::on_tx;
use crate::store::{Db, Tx};

/// A survey answer as read from a row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewSurvey {
    pub contact: String,
    pub answered_ms: Option<i64>,
    pub csat: Option<u8>,
    pub nps: Option<u8>,
    pub rq: Option<bool>,
    pub effort: Option<u8>,
    pub comment: Option<String>,
}

fn field_err(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn whole(field: &str, v: &str) -> Result<i64, FieldError> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| field_err(field, format!("{v:?} is not a whole number")))
}

/// Read one survey row with a mapping of kind [`super::mapping::SURVEYS`].
pub fn apply(m: &Mapping, rec: &dyn Record) -> Result<NewSurvey, FieldError> {
    let contact = m
        .text_of(rec, "contact")
        .ok_or_else(|| field_err("contact", "missing: every answer names its contact"))?;
    let csat = match m.text_of(rec, "csat") {
        Some(v) => Some(
            Csat::parse(whole("csat", &v)?)
                .map_err(|e| field_err("csat", e.to_string()))?
                .get(),
        ),
        None => None,
    };
    let nps = match m.text_of(rec, "nps") {
        Some(v) => Some(
            Nps::parse(whole("nps", &v)?)
                .map_err(|e| field_err("nps", e.to_string()))?
                .get(),
        ),
        None => None,
    };
    let rq = match m.text_of(rec, "rq") {
        Some(v) => Some(
            super::mapping::parse_bool(&v)
                .ok_or_else(|| field_err("rq", format!("{v:?} is not yes or no")))?,
        ),
        None => None,
    };
    let effort = match m.text_of(rec, "effort") {
        Some(v) => {
            let e = whole("effort", &v)?;
            if !(1..=7).contains(&e) {
                return Err(field_err("effort", format!("{e} is outside the 1–7 scale")));
            }
            Some(e as u8)
        }
        None => None,
    };
    let comment = m.text_of(rec, "comment");
    if csat.is_none() && nps.is_none() && rq.is_none() && effort.is_none() && comment.is_none() {
        return Err(field_err(
            "",
            "the row answers no question (csat, nps, rq, effort or comment)",
        ));
    }
    Ok(NewSurvey {
        contact,
        answered_ms: m.instant_of(rec, "answered")?,
        csat,
        nps,
        rq,
        effort,
        comment,
    })
}

/// A survey answer ready to store.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PreparedSurvey {
    pub survey: NewSurvey,
    pub hash: String,
}

impl PreparedSurvey {
    pub fn new(survey: NewSurvey) -> Self {
        let json = serde_json::to_vec(&survey).unwrap_or_default();
        let hash = Sha256::digest(&json)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self { survey, hash }
    }
}

const COLUMNS: [&str; 11] = [
    "program_id",
    "contact_external_id",
    "answered_at",
    "csat",
    "nps",
    "rq",
    "effort",
    "comment",
    "row_hash",
    "import_id",
    "imported_at",
];

macro_rules! bind_survey {
    ($q:expr, $program:expr, $job:expr, $at:expr, $p:expr) => {{
        let s = &$p.survey;
        $q.bind($program)
            .bind(s.contact.clone())
            .bind(s.answered_ms)
            .bind(s.csat.map(i16::from))
            .bind(s.nps.map(i16::from))
            .bind(s.rq)
            .bind(s.effort.map(i16::from))
            .bind(s.comment.clone())
            .bind($p.hash.clone())
            .bind($job)
            .bind($at)
    }};
}

impl ImportRow for PreparedSurvey {
    const KIND: &'static str = "surveys";
    fn key(&self) -> &str {
        &self.survey.contact
    }
    fn fingerprint(&self) -> &str {
        &self.hash
    }
    type Carried = ();
    fn carried(_: &super::import::ImportRequest) {}
    async fn upsert(
        tx: &mut Tx,
        program: ProgramId,
        job: i64,
        rows: &[Self],
        (): &mut (),
    ) -> Result<(u64, u64, u64), sqlx::Error> {
        if rows.is_empty() {
            return Ok((0, 0, 0));
        }
        let at = now();
        // Looked up in small chunks: SQLite binds many parameters slowly.
        let mut existing: Vec<StoredAnswer> = Vec::new();
        for part in rows.chunks(100) {
            let ids: Vec<String> = (0..part.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT contact_external_id, row_hash, csat, nps, rq FROM surveys \
                 WHERE program_id = $1 AND contact_external_id IN ({})",
                ids.join(", ")
            );
            let found: Vec<StoredAnswer> = on_tx!(tx, t => {
                let mut q = sqlx::query_as(&sql).bind(program);
                for r in part {
                    q = q.bind(r.survey.contact.clone());
                }
                q.fetch_all(t).await
            })?;
            existing.extend(found);
        }
        let existing: HashMap<String, StoredAnswer> = existing
            .into_iter()
            .map(|a| (a.contact_external_id.clone(), a))
            .collect();
        let (mut accepted, mut updated, mut unchanged) = (0, 0, 0);
        // Each answered contact with its answer before (if any) and now.
        let mut touched: HashMap<&str, (Option<SurveyShare>, SurveyShare)> = HashMap::new();
        let values: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO surveys ({}) VALUES ({})",
            COLUMNS.join(", "),
            values.join(", ")
        );
        let sets: Vec<String> = COLUMNS
            .iter()
            .enumerate()
            .skip(2)
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let update = format!(
            "UPDATE surveys SET {} WHERE program_id = $1 AND contact_external_id = $2",
            sets.join(", ")
        );
        for r in rows {
            let (sql, before) = match existing.get(&r.survey.contact) {
                Some(a) if a.row_hash == r.hash => {
                    unchanged += 1;
                    continue;
                }
                Some(a) => {
                    updated += 1;
                    (&update, Some(a.share))
                }
                None => {
                    accepted += 1;
                    (&insert, None)
                }
            };
            on_tx!(tx, t => {
                let q = sqlx::query(sql);
                bind_survey!(q, program, job, at, r).execute(t).await.map(|_| ())
            })?;
            let answer = SurveyShare {
                csat: r.survey.csat.map(i16::from),
                nps: r.survey.nps.map(i16::from),
                rq: r.survey.rq,
            };
            touched.insert(&r.survey.contact, (before, answer));
        }
        add_to_rollups(tx, program, &touched).await?;
        Ok((accepted, updated, unchanged))
    }
}

/// A stored survey answer, as the import compares and replaces it.
#[derive(sqlx::FromRow)]
struct StoredAnswer {
    contact_external_id: String,
    row_hash: String,
    #[sqlx(flatten)]
    share: SurveyShare,
}

/// The contact an answer is about, as the rollups key it.
#[derive(sqlx::FromRow)]
struct AnsweredContact {
    external_id: String,
    arrived_at: i64,
    channel: String,
    queue: String,
    agent: String,
}

/// Add the answers to the rollup rows of their contacts, taking replaced answers out. Answers
/// about contacts not imported yet count when their contact arrives.
async fn add_to_rollups(
    tx: &mut Tx,
    program: ProgramId,
    touched: &HashMap<&str, (Option<SurveyShare>, SurveyShare)>,
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = touched.keys().copied().collect();
    let mut cal = super::rollup::calendar(tx, program).await?;
    let mut deltas: BTreeMap<Key, Delta> = BTreeMap::new();
    for part in ids.chunks(100) {
        let list: Vec<String> = (0..part.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT external_id, arrived_at, channel, queue, agent FROM contacts \
             WHERE program_id = $1 AND external_id IN ({})",
            list.join(", ")
        );
        let found: Vec<AnsweredContact> = on_tx!(tx, t => {
            let mut q = sqlx::query_as(&sql).bind(program);
            for c in part {
                q = q.bind(*c);
            }
            q.fetch_all(t).await
        })?;
        for c in found {
            let Some(&(before, answer)) = touched.get(c.external_id.as_str()) else {
                continue;
            };
            let at = (
                c.arrived_at,
                c.channel.as_str(),
                c.queue.as_str(),
                c.agent.as_str(),
            );
            super::rollup::add_answer(&mut deltas, &mut cal, at, answer, before);
        }
    }
    super::rollup::add(tx, program, &deltas).await
}

/// Import survey answers from `input`.
pub async fn import_surveys(
    db: &Db,
    req: ImportRequest,
    input: Box<dyn Read + Send>,
    progress: impl FnMut(super::import::Progress),
) -> Result<Summary, ImportError> {
    let mapping = req.mapping.clone();
    let parse: RowParser<PreparedSurvey> =
        Box::new(move |rec| apply(&mapping, rec).map(|s| Some(PreparedSurvey::new(s))));
    import(db, req, input, parse, progress).await
}

/// The answers about a program's contacts that arrived in `[from, to)`, with the contact's groups.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnswerRow {
    pub arrived_at: i64,
    pub channel: String,
    pub queue: String,
    pub agent: String,
    pub csat: Option<i16>,
    pub nps: Option<i16>,
    pub rq: Option<bool>,
}

pub async fn answers(
    db: &Db,
    program: ProgramId,
    from: i64,
    to: i64,
) -> Result<Vec<AnswerRow>, sqlx::Error> {
    const SQL: &str = "SELECT c.arrived_at, c.channel, c.queue, c.agent, s.csat, s.nps, s.rq \
        FROM surveys s JOIN contacts c ON c.program_id = s.program_id AND c.external_id = s.contact_external_id \
        WHERE s.program_id = $1 AND c.arrived_at >= $2 AND c.arrived_at < $3";
    crate::on_db!(db, p => sqlx::query_as(SQL).bind(program).bind(from).bind(to).fetch_all(p).await)
}
