//! Sign-in, sign-out, language, the account page (password, API tokens) and their API.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

use super::access::{AuthVia, GrantView};
use super::middleware::actor_of;
use super::secret::{random_token, same_secret};
use super::signin::{self, SignInError};
use super::tokens::{self, TokenInfo};
use super::{Principal, sessions};
use crate::audit::{self, Actor, Event};
use crate::domain::{InvalidValue, Locale, PersonId, TokenId};
use crate::i18n::Tr;
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::extract::{FormBody, QueryParams};
use crate::web::page::{AnonCtx, PageCtx, bare_page};
use crate::web::request::{LANG_COOKIE, RequestMeta, local_path};

/// Double-submit cookie protecting the forms shown before sign-in.
pub const ANON_CSRF_COOKIE: &str = "kalibra_csrf";

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/language", post(anon_language))
        .route("/account", get(account_page))
        .route("/account/language", post(set_language))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token_page))
        .route("/account/tokens/{id}/revoke", post(revoke_token_page))
}

fn cookie<'a>(app: &AppState, name: &'a str, value: String, max_age_s: Option<i64>) -> Cookie<'a> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(app.settings.secure_cookies());
    if let Some(s) = max_age_s {
        c.set_max_age(time_duration(s));
    }
    c
}

fn time_duration(seconds: i64) -> time::Duration {
    time::Duration::seconds(seconds)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate<'a> {
    tr: Tr,
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<String>,
    notice: Option<String>,
    locales: [Locale; 3],
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// The anonymous CSRF token: the cookie's, or a new one set with the answer.
fn anon_csrf(app: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(ANON_CSRF_COOKIE).map(|c| c.value().to_owned()) {
        Some(v) if !v.is_empty() => (jar, v),
        _ => {
            let v = random_token();
            (jar.add(cookie(app, ANON_CSRF_COOKIE, v.clone(), None)), v)
        }
    }
}

/// What the sign-in form shows besides its fields.
struct LoginView<'a> {
    status: StatusCode,
    next: &'a str,
    email: &'a str,
    error: Option<String>,
    notice: Option<String>,
}

fn login_form(app: &AppState, jar: CookieJar, tr: Tr, v: LoginView<'_>) -> AppResult<Response> {
    let (jar, csrf) = anon_csrf(app, jar);
    let page = bare_page(
        v.status,
        tr,
        &tr.t("auth.sign_in"),
        LoginTemplate {
            tr,
            csrf: &csrf,
            next: v.next,
            email: v.email,
            error: v.error,
            notice: v.notice,
            locales: Locale::ALL,
        },
    )?;
    Ok((jar, page).into_response())
}

/// The sign-in form again, with an error.
fn login_refused(
    app: &AppState,
    jar: CookieJar,
    tr: Tr,
    status: StatusCode,
    f: &LoginForm,
    next: &str,
    key: &str,
) -> AppResult<Response> {
    let v = LoginView {
        status,
        next,
        email: &f.email,
        error: Some(tr.t(key)),
        notice: None,
    };
    login_form(app, jar, tr, v)
}

async fn login_page(
    State(app): State<AppState>,
    ctx: AnonCtx,
    jar: CookieJar,
    QueryParams(q): QueryParams<NextQuery>,
) -> AppResult<Response> {
    let next = local_path(q.next.as_deref());
    // Signed in already: the form stays, to sign in as someone else.
    let notice = match &ctx.user {
        Some(u) => Some(ctx.tr.f("auth.signed_in_as", &[("name", &u.name)])),
        None => q.signed_out.map(|_| ctx.tr.t("auth.signed_out")),
    };
    let v = LoginView {
        status: StatusCode::OK,
        next,
        email: "",
        error: None,
        notice,
    };
    login_form(&app, jar, ctx.tr, v)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
    password: String,
    next: Option<String>,
}

fn anon_csrf_ok(jar: &CookieJar, sent: &str) -> bool {
    jar.get(ANON_CSRF_COOKIE)
        .is_some_and(|c| !sent.is_empty() && same_secret(c.value(), sent))
}

async fn login(
    State(app): State<AppState>,
    ctx: AnonCtx,
    Extension(meta): Extension<RequestMeta>,
    jar: CookieJar,
    FormBody(f): FormBody<LoginForm>,
) -> AppResult<Response> {
    let next = local_path(f.next.as_deref()).to_owned();
    let tr = ctx.tr;
    if !anon_csrf_ok(&jar, &f.csrf_token) {
        let status = StatusCode::FORBIDDEN;
        return login_refused(&app, jar, tr, status, &f, &next, "error.csrf");
    }
    match signin::sign_in(&app, &f.email, &f.password, &meta).await {
        Ok((_, session)) => {
            // A new session id at every sign-in; the old session, if any, ends.
            if let Some(old) = jar.get(sessions::COOKIE) {
                sessions::delete(&app.db, &super::secret::fingerprint(old.value())).await?;
            }
            let max_age = app.settings.session_ttl_ms() / 1000;
            let jar = jar.add(cookie(
                &app,
                sessions::COOKIE,
                session.cookie_value,
                Some(max_age),
            ));
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(SignInError::Rejected) => {
            let status = StatusCode::UNAUTHORIZED;
            login_refused(&app, jar, tr, status, &f, &next, "auth.rejected")
        }
        Err(SignInError::Throttled) => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            login_refused(&app, jar, tr, status, &f, &next, "auth.throttled")
        }
        Err(SignInError::Unexpected(e)) => Err(AppError::Unexpected(e)),
    }
}

async fn logout(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    jar: CookieJar,
) -> AppResult<Response> {
    if let AuthVia::Session { id_hash, .. } = &ctx.user.via {
        sessions::delete(&app.db, id_hash).await?;
        audit::record_alone(&app.db, &actor_of(&ctx.user, &meta), Event::new("signout")).await?;
    }
    let jar = jar.remove(cookie(&app, sessions::COOKIE, String::new(), None));
    Ok((jar, Redirect::to("/login?signed_out=1")).into_response())
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    csrf_token: String,
    locale: String,
    next: Option<String>,
}

/// Language switch before sign-in: remembered in a cookie.
async fn anon_language(
    State(app): State<AppState>,
    jar: CookieJar,
    FormBody(f): FormBody<LanguageForm>,
) -> AppResult<Response> {
    if !anon_csrf_ok(&jar, &f.csrf_token) {
        return Err(AppError::Csrf);
    }
    let locale = Locale::parse(&f.locale).ok_or_else(|| unknown_locale(&f.locale))?;
    let jar = jar.add(cookie(
        &app,
        LANG_COOKIE,
        locale.code().into(),
        Some(365 * 86_400),
    ));
    let back = format!(
        "/login?next={}",
        crate::web::page::url_encode(local_path(f.next.as_deref()))
    );
    Ok((jar, Redirect::to(&back)).into_response())
}

fn unknown_locale(raw: &str) -> AppError {
    AppError::Invalid(InvalidValue::new(
        "locale",
        "locale",
        format!("unknown language {raw:?}; one of en, de, nl"),
    ))
}

/// Store a person's interface language.
pub async fn store_locale(
    app: &AppState,
    actor: &Actor,
    person: PersonId,
    locale: Locale,
) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    const SQL: &str = "UPDATE people SET locale = $1 WHERE id = $2";
    crate::on_tx!(&mut tx, c => sqlx::query(SQL).bind(locale.code()).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("person.language")
            .object("person", person)
            .detail(locale.code()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn set_language(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    FormBody(f): FormBody<LanguageForm>,
) -> AppResult<Response> {
    let locale = Locale::parse(&f.locale).ok_or_else(|| unknown_locale(&f.locale))?;
    store_locale(
        &app,
        &actor_of(&ctx.user, &meta),
        ctx.user.person_id,
        locale,
    )
    .await?;
    let jar = jar.add(cookie(
        &app,
        LANG_COOKIE,
        locale.code().into(),
        Some(365 * 86_400),
    ));
    // Back to the page the switch was used on.
    let referer = crate::web::request::header(&headers, "referer")
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest.to_owned()))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()));
    let back = local_path(f.next.as_deref().or(referer.as_deref())).to_owned();
    Ok((jar, Redirect::to(&back)).into_response())
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    tokens: Vec<TokenInfo>,
    new_token: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

async fn account_view(
    app: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    new_token: Option<String>,
    error: Option<String>,
    notice: Option<String>,
) -> AppResult<Response> {
    let tokens = tokens::list(&app.db, ctx.user.person_id).await?;
    ctx.render_status(
        status,
        &ctx.tr.t("nav.account"),
        AccountTemplate {
            tr: ctx.tr,
            ctx,
            tokens,
            new_token,
            error,
            notice,
        },
    )
}

/// The account page again, with the reason a change was refused.
async fn account_refused(app: &AppState, ctx: &PageCtx, e: AppError) -> AppResult<Response> {
    let msg = Some(form_error(ctx.tr, e)?);
    account_view(app, ctx, StatusCode::UNPROCESSABLE_ENTITY, None, msg, None).await
}

async fn account_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    account_view(&app, &ctx, StatusCode::OK, None, None, None).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

/// Turn a validation error into a message shown on the form it came from.
pub fn form_error(tr: Tr, e: AppError) -> AppResult<String> {
    match e {
        AppError::Invalid(v) => {
            Ok(tr.f(&format!("invalid.{}", v.reason), &[("detail", &v.message)]))
        }
        AppError::Conflict { message, .. } => Ok(message),
        e @ AppError::InvalidAt { .. } => Ok(e.to_string()),
        other => Err(other),
    }
}

async fn change_password(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(f): FormBody<PasswordForm>,
) -> AppResult<Response> {
    let tr = ctx.tr;
    if f.new_password != f.confirm_password {
        let msg = Some(tr.t("account.password_mismatch"));
        return account_view(
            &app,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            msg,
            None,
        )
        .await;
    }
    let keep = match &ctx.user.via {
        AuthVia::Session { id_hash, .. } => Some(id_hash.as_str()),
        AuthVia::Token { .. } => None,
    };
    let actor = actor_of(&ctx.user, &meta);
    match signin::change_own_password(
        &app,
        &actor,
        ctx.user.person_id,
        &f.current_password,
        &f.new_password,
        keep,
    )
    .await
    {
        Ok(()) => {
            let msg = Some(tr.t("account.password_changed"));
            account_view(&app, &ctx, StatusCode::OK, None, None, msg).await
        }
        Err(e) => account_refused(&app, &ctx, e).await,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    /// What the token is for, e.g. `ACD nightly import`.
    pub name: String,
    /// Days until it stops working (1 to 730).
    pub expires_days: i64,
}

/// Create an API token for a person, audited. The secret is returned once and never stored.
pub async fn issue_token(
    app: &AppState,
    actor: &Actor,
    person: PersonId,
    req: &NewToken,
) -> AppResult<(TokenInfo, String)> {
    let name = crate::domain::TeamName::parse(&req.name).map_err(|_| {
        InvalidValue::new(
            "name",
            "required",
            "a token needs a name of at most 120 characters",
        )
    })?;
    if !(1..=tokens::MAX_DAYS).contains(&req.expires_days) {
        return Err(InvalidValue::new(
            "expires_days",
            "expires_days",
            format!("a token expires after 1 to {} days", tokens::MAX_DAYS),
        )
        .into());
    }
    let mut tx = app.db.begin().await?;
    let (info, secret) = tokens::create(&mut tx, person, name.as_str(), req.expires_days).await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("token.created")
            .object("token", info.id)
            .detail(format!(
                "for person {person}, {} days: {}",
                req.expires_days, info.name
            )),
    )
    .await?;
    tx.commit().await?;
    Ok((info, secret))
}

async fn revoke(app: &AppState, actor: &Actor, person: PersonId, id: TokenId) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    if !tokens::revoke(&mut tx, person, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("token.revoked").object("token", id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
    expires_days: String,
}

async fn create_token_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(f): FormBody<TokenForm>,
) -> AppResult<Response> {
    let days = f.expires_days.trim().parse().unwrap_or(0);
    let req = NewToken {
        name: f.name,
        expires_days: days,
    };
    match issue_token(&app, &actor_of(&ctx.user, &meta), ctx.user.person_id, &req).await {
        Ok((_, secret)) => account_view(&app, &ctx, StatusCode::OK, Some(secret), None, None).await,
        Err(e) => account_refused(&app, &ctx, e).await,
    }
}

async fn revoke_token_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<TokenId>,
) -> AppResult<Response> {
    revoke(&app, &actor_of(&ctx.user, &meta), ctx.user.person_id, id).await?;
    Ok(Redirect::to("/account").into_response())
}

// ---- API ----

/// The caller as the API sees them.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: PersonId,
    pub email: String,
    pub name: String,
    pub locale: Option<Locale>,
    pub grants: Vec<GrantView>,
}

impl From<&Principal> for Me {
    fn from(p: &Principal) -> Self {
        Self {
            id: p.person_id,
            email: p.email.to_string(),
            name: p.name.clone(),
            locale: p.locale,
            grants: p.grants.clone(),
        }
    }
}

/// Who am I: the signed-in person (session or token) and their role grants.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = crate::web::error::ErrorBody)))]
pub async fn api_me(user: crate::api::ApiUser) -> Json<Me> {
    Json(Me::from(&*user.0))
}

/// The caller's own API tokens (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "account",
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = crate::web::error::ErrorBody)))]
pub async fn api_list_tokens(
    State(app): State<AppState>,
    user: crate::api::ApiUser,
) -> AppResult<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&app.db, user.0.person_id).await?))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The secret, shown this once. Send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub info: TokenInfo,
}

/// Create an API token for oneself; it carries one's own grants.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "account", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn api_create_token(
    State(app): State<AppState>,
    user: crate::api::ApiUser,
    Extension(meta): Extension<RequestMeta>,
    Json(req): Json<NewToken>,
) -> AppResult<(StatusCode, Json<CreatedToken>)> {
    let (info, token) =
        issue_token(&app, &actor_of(&user.0, &meta), user.0.person_id, &req).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, info })))
}

/// Revoke one of one's own tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "account",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn api_revoke_token(
    State(app): State<AppState>,
    user: crate::api::ApiUser,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<TokenId>,
) -> AppResult<StatusCode> {
    revoke(&app, &actor_of(&user.0, &meta), user.0.person_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
