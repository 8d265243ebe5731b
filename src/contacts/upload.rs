//! Imports over HTTP: a streamed upload through the API, and the imports page with its upload
//! form and the list of import jobs. The upload is spooled to a temporary file as it arrives,
//! then imported like a file on the command line.

use std::path::{Path, PathBuf};

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::import::{self, ImportRequest, Summary};
use super::mapping::{CONTACTS, Format, Kind, Mapping, SURVEYS};
use super::store::{self, Job};
use crate::api::{ApiUser, IdPath, QueryParams};
use crate::audit::{self, Actor, Event};
use crate::auth::Capability;
use crate::auth::middleware::actor_of;
use crate::domain::{InvalidValue, ProgramId};
use crate::i18n::Tr;
use crate::programs::Program;
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult, ErrorBody};
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

/// Mappings that ship with Kalibra, by name.
const SHIPPED: [(&str, &str); 1] = [(
    "anonymous-bank",
    include_str!("../../mappings/anonymous-bank.toml"),
)];

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `csv` (default) or `jsonl`.
    pub format: Option<String>,
    /// A shipped mapping (`anonymous-bank`); without it the generic format.
    pub mapping: Option<String>,
    /// A name for the job list (default: `upload`).
    pub name: Option<String>,
}

fn kind_of(raw: &str) -> AppResult<Kind> {
    match raw {
        "contacts" => Ok(CONTACTS),
        "surveys" => Ok(SURVEYS),
        other => Err(InvalidValue::new(
            "kind",
            "kind",
            format!("kind: {other:?} is not contacts or surveys"),
        )
        .into()),
    }
}

fn mapping_for(kind: Kind, name: Option<&str>, program: &Program) -> AppResult<Mapping> {
    let tz: chrono_tz::Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(Mapping::generic_for(kind, tz)),
        Some(n) => {
            let text = SHIPPED
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    AppError::from(InvalidValue::new(
                        "mapping",
                        "mapping",
                        format!("mapping: no shipped mapping called {n:?}"),
                    ))
                })?;
            Mapping::parse_for(kind, text, tz).map_err(AppError::BadRequest)
        }
    }
}

fn format_of(raw: Option<&str>) -> AppResult<Format> {
    match raw.map(str::trim).unwrap_or("csv") {
        "" | "csv" => Ok(Format::Csv),
        "jsonl" => Ok(Format::Jsonl),
        other => Err(InvalidValue::new(
            "format",
            "format",
            format!("format: {other:?} is not csv or jsonl"),
        )
        .into()),
    }
}

/// Run an import from a spooled file and record it in the audit log.
async fn run(
    app: &AppState,
    actor: &Actor,
    program: &Program,
    kind: Kind,
    req: ImportRequest,
    path: &Path,
) -> AppResult<Summary> {
    let input =
        import::open(path, Default::default()).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let result = if kind == SURVEYS {
        super::surveys::import_surveys(&app.db, req, input, |_| {}).await
    } else {
        import::import_contacts(&app.db, req, input, |_| {}).await
    };
    let summary = result.map_err(|e| AppError::BadRequest(e.to_string()))?;
    audit::record_alone(
        &app.db,
        actor,
        Event::new("import.finished")
            .object("import", summary.job_id)
            .program(program.id)
            .detail(format!(
                "{}: {} accepted, {} updated, {} unchanged, {} rejected",
                kind.name, summary.accepted, summary.updated, summary.unchanged, summary.rejected
            )),
    )
    .await?;
    Ok(summary)
}

fn spool_path() -> PathBuf {
    std::env::temp_dir().join(format!("kalibra-upload-{}", uuid::Uuid::new_v4().simple()))
}

/// Removes the spooled file however the request ends.
struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn program_to_import(
    app: &AppState,
    user: &crate::auth::Principal,
    id: ProgramId,
) -> AppResult<Program> {
    user.check(Capability::ManageOrganisation)?;
    crate::programs::find(&app.db, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Import contacts or survey answers into a program (administrators). Send the file as the
/// request body (CSV or JSON Lines, gzip accepted), streamed; the answer is the import summary.
#[utoipa::path(post, path = "/api/v1/programs/{id}/imports/{kind}", tag = "contacts",
    params(("id" = i64, Path, description = "Program id"), ("kind" = String, Path, description = "contacts or surveys"), UploadParams),
    request_body(content = String, content_type = "text/csv", description = "the file"),
    responses((status = 201, description = "the import summary"), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_upload(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath((id, kind)): IdPath<(ProgramId, String)>,
    QueryParams(p): QueryParams<UploadParams>,
    body: Body,
) -> AppResult<(StatusCode, Json<Summary>)> {
    let program = program_to_import(&app, &user.0, id).await?;
    let kind = kind_of(&kind)?;
    let mapping = mapping_for(kind, p.mapping.as_deref(), &program)?;
    let format = format_of(p.format.as_deref())?;
    let spool = Spool(spool_path());
    let mut file = tokio::fs::File::create(&spool.0)
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("the upload broke off: {e}")))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| AppError::Unexpected(e.into()))?;
    }
    file.flush()
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?;
    let req = ImportRequest::new(
        program.id,
        p.name.clone().unwrap_or_else(|| "upload".into()),
        format,
        mapping,
        user.0.label(),
    );
    let summary = run(
        &app,
        &actor_of(&user.0, &meta),
        &program,
        kind,
        req,
        &spool.0,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

#[derive(Template)]
#[template(path = "contacts/imports.html")]
struct ImportsTemplate<'a> {
    tr: Tr,
    program: &'a Program,
    jobs: Vec<Job>,
    summary: Option<Summary>,
    rejects: Vec<(i64, String, String)>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct JobQuery {
    job: Option<i64>,
}

async fn imports_view(
    app: &AppState,
    ctx: &PageCtx,
    program: &Program,
    summary: Option<Summary>,
    job: Option<i64>,
    error: Option<String>,
) -> AppResult<Response> {
    let jobs = store::jobs(&app.db, program.id, 50).await?;
    let job = job
        .or(summary.as_ref().map(|s| s.job_id))
        .filter(|j| jobs.iter().any(|x| x.id == *j));
    let rejects = match job {
        Some(j) => store::rejects(&app.db, j).await?,
        None => Vec::new(),
    };
    let title = format!("{} · {}", ctx.tr.t("imports.title"), program.name);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.render_status(
        status,
        &title,
        ImportsTemplate {
            tr: ctx.tr,
            program,
            jobs,
            summary,
            rejects,
            error,
        },
    )
}

pub async fn imports_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(q): QueryParams<JobQuery>,
) -> AppResult<Response> {
    let program = program_to_import(&app, &ctx.user, id).await?;
    imports_view(&app, &ctx, &program, None, q.job, None).await
}

/// The upload form: a file, what it holds, and a mapping.
pub async fn upload_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    mut form: Multipart,
) -> AppResult<Response> {
    let program = program_to_import(&app, &ctx.user, id).await?;
    let (mut kind, mut mapping, mut name) =
        ("contacts".to_owned(), String::new(), String::from("upload"));
    let spool = Spool(spool_path());
    let mut got_file = false;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(e.to_string()))?
    {
        match field.name().unwrap_or("") {
            "kind" => {
                kind = field
                    .text()
                    .await
                    .map_err(|e| AppError::BadRequest(e.to_string()))?
            }
            "mapping" => {
                mapping = field
                    .text()
                    .await
                    .map_err(|e| AppError::BadRequest(e.to_string()))?
            }
            "file" => {
                name = field.file_name().unwrap_or("upload").to_owned();
                let mut file = tokio::fs::File::create(&spool.0)
                    .await
                    .map_err(|e| AppError::Unexpected(e.into()))?;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| AppError::BadRequest(e.to_string()))?
                {
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| AppError::Unexpected(e.into()))?;
                }
                file.flush()
                    .await
                    .map_err(|e| AppError::Unexpected(e.into()))?;
                got_file = true;
            }
            _ => {}
        }
    }
    let outcome: AppResult<Summary> = async {
        if !got_file {
            return Err(AppError::BadRequest(ctx.tr.t("imports.no_file")));
        }
        let kind = kind_of(&kind)?;
        let mapping = mapping_for(kind, Some(&mapping), &program)?;
        let format = import::detect_format(None, &mapping, Path::new(&name)).unwrap_or(Format::Csv);
        let req = ImportRequest::new(program.id, name.clone(), format, mapping, ctx.user.label());
        run(
            &app,
            &actor_of(&ctx.user, &meta),
            &program,
            kind,
            req,
            &spool.0,
        )
        .await
    }
    .await;
    match outcome {
        Ok(summary) => imports_view(&app, &ctx, &program, Some(summary), None, None).await,
        Err(AppError::Unexpected(e)) => Err(AppError::Unexpected(e)),
        Err(e) => imports_view(&app, &ctx, &program, None, None, Some(e.to_string())).await,
    }
}
