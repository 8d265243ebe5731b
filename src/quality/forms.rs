//! Evaluation forms and their versions: draft → published → retired. A published version never
//! changes (the schema refuses it too); editing starts a new draft, and every evaluation keeps the
//! version it was made with.

use serde::Deserialize;

use super::catalogue::{self, Catalogue, EntryInput};
use super::form::{Form, FormError, FormSpec};
use super::templates;
use crate::audit::{self, Actor, Event};
use crate::domain::{Locale, PersonId, ProgramId, Timestamp, now};
use crate::kpi::Channel;
use crate::store::{Conn, Db, Tx};
use crate::web::error::{AppError, AppResult};
use crate::{on_conn, on_db, on_tx};

impl From<FormError> for AppError {
    fn from(e: FormError) -> Self {
        AppError::InvalidAt {
            field: format!("definition.{}", e.path),
            message: e.message,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Draft,
    Published,
    Retired,
}

impl VersionStatus {
    /// The interface text's key for the status.
    pub fn label_key(self) -> &'static str {
        match self {
            VersionStatus::Draft => "quality.version_draft",
            VersionStatus::Published => "quality.version_published",
            VersionStatus::Retired => "quality.version_retired",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(VersionStatus::Draft),
            "published" => Some(VersionStatus::Published),
            "retired" => Some(VersionStatus::Retired),
            _ => None,
        }
    }
}

/// One version of a form, with its definition.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FormVersion {
    pub id: i64,
    pub form_id: i64,
    pub program_id: ProgramId,
    pub version: i64,
    pub status: VersionStatus,
    pub name: String,
    pub created_at: Timestamp,
    pub published_at: Option<Timestamp>,
    pub retired_at: Option<Timestamp>,
    pub definition: FormSpec,
    #[serde(skip)]
    pub form: Form,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    form_id: i64,
    program_id: ProgramId,
    version: i64,
    status: String,
    name: String,
    definition: String,
    created_at: Timestamp,
    published_at: Option<Timestamp>,
    retired_at: Option<Timestamp>,
}

impl TryFrom<VersionRow> for FormVersion {
    type Error = sqlx::Error;

    fn try_from(r: VersionRow) -> Result<Self, sqlx::Error> {
        let bad = |index: &str, message: String| sqlx::Error::ColumnDecode {
            index: index.to_owned(),
            source: message.into(),
        };
        let status = VersionStatus::parse(&r.status)
            .ok_or_else(|| bad("status", format!("unknown status {:?}", r.status)))?;
        let form = Form::from_json(&r.definition).map_err(|e| bad("definition", e.to_string()))?;
        Ok(FormVersion {
            id: r.id,
            form_id: r.form_id,
            program_id: r.program_id,
            version: r.version,
            status,
            name: r.name,
            created_at: r.created_at,
            published_at: r.published_at,
            retired_at: r.retired_at,
            definition: form.spec().clone(),
            form,
        })
    }
}

const VERSION_COLUMNS: &str = "v.id, v.form_id, f.program_id, v.version, v.status, v.name, \
    v.definition, v.created_at, v.published_at, v.retired_at";

/// A form with its versions, newest first.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FormSummary {
    pub id: i64,
    pub program_id: ProgramId,
    /// The template it started from, if any.
    pub template: Option<String>,
    /// The name of its newest version.
    pub name: String,
    pub versions: Vec<VersionSummary>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub id: i64,
    pub version: i64,
    pub status: VersionStatus,
    pub name: String,
    pub published_at: Option<Timestamp>,
}

/// A new form: from a template in a language, or from a definition.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewForm {
    /// A template id from `GET /api/v1/form-templates`.
    #[serde(default)]
    pub template: Option<String>,
    /// The template's language: `en`, `de` or `nl` (default `en`).
    #[serde(default)]
    pub language: Option<Locale>,
    /// A whole definition, when not starting from a template.
    #[serde(default)]
    pub definition: Option<FormSpec>,
}

async fn version_in(tx: &mut Tx, id: i64) -> Result<Option<FormVersion>, sqlx::Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM form_versions v JOIN forms f ON f.id = v.form_id WHERE v.id = $1"
    );
    let row: Option<VersionRow> =
        on_tx!(tx, t => sqlx::query_as(&sql).bind(id).fetch_optional(t).await)?;
    row.map(FormVersion::try_from).transpose()
}

pub async fn version(db: &Db, id: i64) -> Result<Option<FormVersion>, sqlx::Error> {
    version_on(&mut db.acquire().await?.conn(), id).await
}

/// [`version`], read on `c`.
pub async fn version_on(c: &mut Conn<'_>, id: i64) -> Result<Option<FormVersion>, sqlx::Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM form_versions v JOIN forms f ON f.id = v.form_id WHERE v.id = $1"
    );
    let row: Option<VersionRow> =
        on_conn!(c, t => sqlx::query_as(&sql).bind(id).fetch_optional(t).await)?;
    row.map(FormVersion::try_from).transpose()
}

/// The published versions of a program's forms that are meant for a channel, newest first.
pub async fn published_for(
    db: &Db,
    program: ProgramId,
    channel: Channel,
) -> Result<Vec<FormVersion>, sqlx::Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM form_versions v JOIN forms f ON f.id = v.form_id \
         WHERE f.program_id = $1 AND v.status = 'published' ORDER BY v.published_at DESC, v.id DESC"
    );
    let rows: Vec<VersionRow> =
        on_db!(db, p => sqlx::query_as(&sql).bind(program).fetch_all(p).await)?;
    let mut out = Vec::new();
    for row in rows {
        let v = FormVersion::try_from(row)?;
        if v.form.channels().contains(&channel) {
            out.push(v);
        }
    }
    Ok(out)
}

/// A program's forms with their versions, by name.
pub async fn list(db: &Db, program: ProgramId) -> Result<Vec<FormSummary>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        form_id: i64,
        template: Option<String>,
        id: i64,
        version: i64,
        status: String,
        name: String,
        published_at: Option<Timestamp>,
    }
    const SQL: &str = "SELECT f.id AS form_id, f.template, v.id, v.version, v.status, v.name, v.published_at \
        FROM forms f JOIN form_versions v ON v.form_id = f.id WHERE f.program_id = $1 \
        ORDER BY f.id, v.version DESC";
    let rows: Vec<Row> = on_db!(db, p => sqlx::query_as(SQL).bind(program).fetch_all(p).await)?;
    let mut forms: Vec<FormSummary> = Vec::new();
    for r in rows {
        let status = VersionStatus::parse(&r.status).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "status".into(),
            source: format!("unknown status {:?}", r.status).into(),
        })?;
        let v = VersionSummary {
            id: r.id,
            version: r.version,
            status,
            name: r.name.clone(),
            published_at: r.published_at,
        };
        match forms.last_mut() {
            Some(f) if f.id == r.form_id => f.versions.push(v),
            _ => forms.push(FormSummary {
                id: r.form_id,
                program_id: program,
                template: r.template,
                name: r.name,
                versions: vec![v],
            }),
        }
    }
    forms.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(forms)
}

/// Refuses a definition whose principles or KPIs the organisation and program do not have.
async fn check_references(tx: &mut Tx, program: ProgramId, form: &Form) -> AppResult<()> {
    for (which, field, keys) in [
        (Catalogue::Principles, "principle", form.principle_keys()),
        (Catalogue::Kpis, "kpi", form.kpi_keys()),
    ] {
        let missing = catalogue::missing_keys(tx, which, program, keys).await?;
        if let Some(key) = missing.first() {
            return Err(AppError::InvalidAt {
                field: format!("definition.{field}"),
                message: format!("there is no {field} with key {key:?}; create it first"),
            });
        }
    }
    Ok(())
}

/// The principles a template's sections serve, created for the organisation where missing,
/// named after the section.
async fn ensure_principles(
    tx: &mut Tx,
    actor: &Actor,
    program: ProgramId,
    form: &Form,
) -> AppResult<()> {
    let missing =
        catalogue::missing_keys(tx, Catalogue::Principles, program, form.principle_keys()).await?;
    for section in &form.spec().sections {
        let Some(key) = &section.principle else {
            continue;
        };
        if missing.contains(key) {
            let input = EntryInput {
                program_id: None,
                key: key.clone(),
                name: section.title.clone(),
                description: section.description.clone(),
            };
            catalogue::insert(tx, actor, Catalogue::Principles, &input).await?;
        }
    }
    Ok(())
}

async fn insert_version(
    tx: &mut Tx,
    form_id: i64,
    version: i64,
    form: &Form,
    by: Option<PersonId>,
) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO form_versions (form_id, version, status, name, definition, created_at, created_by) \
        VALUES ($1, $2, 'draft', $3, $4, $5, $6) RETURNING id";
    on_tx!(tx, t => sqlx::query_scalar(SQL)
        .bind(form_id).bind(version).bind(form.name()).bind(form.to_json()).bind(now()).bind(by)
        .fetch_one(t).await)
}

/// Creates a form with a first draft.
pub async fn create(
    db: &Db,
    actor: &Actor,
    program: ProgramId,
    input: NewForm,
) -> AppResult<FormVersion> {
    let (form, template) = match (input.template, input.definition) {
        (Some(id), None) => {
            let t = templates::find(&id).ok_or_else(|| AppError::InvalidAt {
                field: "template".into(),
                message: format!("there is no template {id:?}"),
            })?;
            (t.form(input.language.unwrap_or_default()), Some(t.id))
        }
        (None, Some(spec)) => (Form::try_from(spec)?, None),
        _ => {
            return Err(AppError::BadRequest(
                "give either a template or a definition".into(),
            ));
        }
    };
    crate::programs::find(db, program)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = db.begin().await?;
    if template.is_some() {
        ensure_principles(&mut tx, actor, program, &form).await?;
    }
    check_references(&mut tx, program, &form).await?;
    const FORM: &str =
        "INSERT INTO forms (program_id, template, created_at) VALUES ($1, $2, $3) RETURNING id";
    let form_id: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(FORM)
        .bind(program).bind(template).bind(now()).fetch_one(t).await)?;
    let id = insert_version(&mut tx, form_id, 1, &form, actor.person).await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("form.created")
            .object("form_version", id)
            .program(program)
            .detail(match template {
                Some(t) => format!("{} (template {t})", form.name()),
                None => form.name().to_owned(),
            }),
    )
    .await?;
    let created = version_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(created)
}

/// A version in a transaction, for a change: not found, or refused unless it has `status`.
async fn version_with(
    tx: &mut Tx,
    id: i64,
    status: VersionStatus,
    doing: &str,
) -> AppResult<FormVersion> {
    let v = version_in(tx, id).await?.ok_or(AppError::NotFound)?;
    if v.status != status {
        return Err(AppError::Conflict {
            field: None,
            message: format!(
                "version {} is {:?}, not {:?}: only a {:?} version can be {doing}",
                v.version, v.status, status, status
            )
            .to_lowercase(),
        });
    }
    Ok(v)
}

/// Replaces a draft's definition.
pub async fn update_draft(
    db: &Db,
    actor: &Actor,
    id: i64,
    spec: FormSpec,
) -> AppResult<FormVersion> {
    let form = Form::try_from(spec)?;
    let mut tx = db.begin().await?;
    let v = version_with(&mut tx, id, VersionStatus::Draft, "edited").await?;
    check_references(&mut tx, v.program_id, &form).await?;
    const SQL: &str = "UPDATE form_versions SET name = $1, definition = $2 WHERE id = $3";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(form.name()).bind(form.to_json()).bind(id).execute(t).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("form.edited")
            .object("form_version", id)
            .program(v.program_id)
            .detail(format!("{} v{}", form.name(), v.version)),
    )
    .await?;
    let updated = version_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(updated)
}

/// Publishes a draft; the form's previously published version is retired.
pub async fn publish(db: &Db, actor: &Actor, id: i64) -> AppResult<FormVersion> {
    let mut tx = db.begin().await?;
    let v = version_with(&mut tx, id, VersionStatus::Draft, "published").await?;
    let at = now();
    const RETIRE: &str = "UPDATE form_versions SET status = 'retired', retired_at = $1 \
        WHERE form_id = $2 AND status = 'published'";
    const PUBLISH: &str =
        "UPDATE form_versions SET status = 'published', published_at = $1 WHERE id = $2";
    on_tx!(&mut tx, t => sqlx::query(RETIRE).bind(at).bind(v.form_id).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, t => sqlx::query(PUBLISH).bind(at).bind(id).execute(t).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("form.published")
            .object("form_version", id)
            .program(v.program_id)
            .detail(format!("{} v{}", v.name, v.version)),
    )
    .await?;
    let published = version_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(published)
}

/// Retires a published version: no new evaluations use it; the old ones keep it.
pub async fn retire(db: &Db, actor: &Actor, id: i64) -> AppResult<FormVersion> {
    let mut tx = db.begin().await?;
    let v = version_with(&mut tx, id, VersionStatus::Published, "retired").await?;
    const SQL: &str = "UPDATE form_versions SET status = 'retired', retired_at = $1 WHERE id = $2";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(now()).bind(id).execute(t).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("form.retired")
            .object("form_version", id)
            .program(v.program_id)
            .detail(format!("{} v{}", v.name, v.version)),
    )
    .await?;
    let retired = version_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(retired)
}

/// Starts the next draft of a form from its newest version; the form may have one draft.
pub async fn new_draft(db: &Db, actor: &Actor, form_id: i64) -> AppResult<FormVersion> {
    let mut tx = db.begin().await?;
    const NEWEST: &str =
        "SELECT id FROM form_versions WHERE form_id = $1 ORDER BY version DESC LIMIT 1";
    let newest: Option<i64> =
        on_tx!(&mut tx, t => sqlx::query_scalar(NEWEST).bind(form_id).fetch_optional(t).await)?;
    let newest = version_in(&mut tx, newest.ok_or(AppError::NotFound)?)
        .await?
        .ok_or(AppError::NotFound)?;
    if newest.status == VersionStatus::Draft {
        return Err(AppError::Conflict {
            field: None,
            message: format!(
                "version {} is still a draft: edit it (id {})",
                newest.version, newest.id
            ),
        });
    }
    let id = insert_version(
        &mut tx,
        form_id,
        newest.version + 1,
        &newest.form,
        actor.person,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("form.draft_started")
            .object("form_version", id)
            .program(newest.program_id)
            .detail(format!("{} v{}", newest.name, newest.version + 1)),
    )
    .await?;
    let draft = version_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(draft)
}

/// The program a form belongs to, for access checks.
pub async fn program_of_form(db: &Db, form_id: i64) -> Result<Option<ProgramId>, sqlx::Error> {
    const SQL: &str = "SELECT program_id FROM forms WHERE id = $1";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(form_id).fetch_optional(p).await)
}
