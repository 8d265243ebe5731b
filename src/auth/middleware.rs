//! Resolves the person behind each request once (bearer token or session cookie), enforces
//! CSRF on state-changing requests made with a session, and turns errors on pages into HTML.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::access::{AuthVia, Principal, principal_of};
use super::secret::same_secret;
use super::{sessions, tokens};
use crate::audit::{self, Actor, Event};
use crate::i18n::Tr;
use crate::startup::AppState;
use crate::web::error::{AppError, ErrorBody};
use crate::web::page;
use crate::web::request::{RequestMeta, pick_locale};

/// The signed-in person, if any; put in the request extensions by [`resolve`].
#[derive(Clone)]
pub struct CurrentUser(pub Option<Arc<Principal>>);

/// The form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Forms shown before sign-in check their own double-submit token (see `auth::routes`).
const OWN_CSRF_CHECK: [&str; 2] = ["/login", "/language"];
/// Largest form body read for the CSRF check.
const FORM_LIMIT: usize = 1 << 20;

fn bearer(h: &HeaderMap) -> Option<&str> {
    h.get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

async fn principal_for(
    app: &AppState,
    headers: &HeaderMap,
    meta: &RequestMeta,
) -> Result<Option<Principal>, AppError> {
    if let Some(secret) = bearer(headers) {
        let mut c = app.db.acquire().await?;
        let Some((tok, audit_use)) = tokens::resolve(&mut c.conn(), secret).await? else {
            return Err(AppError::Unauthenticated);
        };
        let via = AuthVia::Token { id: tok.id };
        let p = principal_of(&mut c.conn(), tok.person_id, tok.person, via)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        drop(c);
        if audit_use {
            let actor = actor_of(&p, meta);
            audit::record_alone(
                &app.db,
                &actor,
                Event::new("token.used").object("token", tok.id),
            )
            .await?;
        }
        return Ok(Some(p));
    }
    let jar = CookieJar::from_headers(headers);
    let Some(cookie) = jar.get(sessions::COOKIE) else {
        return Ok(None);
    };
    let mut c = app.db.acquire().await?;
    let Some(s) = sessions::resolve(&mut c.conn(), cookie.value()).await? else {
        return Ok(None);
    };
    let via = AuthVia::Session {
        id_hash: s.id_hash,
        csrf: s.csrf_token,
    };
    Ok(principal_of(&mut c.conn(), s.person_id, s.person, via).await?)
}

pub fn actor_of(p: &Principal, meta: &RequestMeta) -> Actor {
    Actor {
        person: Some(p.person_id),
        label: p.label(),
        ip: Some(meta.ip.clone()),
        request_id: meta.request_id.clone(),
    }
}

fn is_form(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Check the CSRF token of a state-changing request; returns the body to pass on.
async fn check_csrf(expected: &str, headers: &HeaderMap, body: Body) -> Result<Body, AppError> {
    if let Some(v) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same_secret(v, expected) {
            Ok(body)
        } else {
            Err(AppError::Csrf)
        };
    }
    if !is_form(headers) {
        return Err(AppError::Csrf);
    }
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::BadRequest("the form is too large".into()))?;
    let sent = form_urlencoded_value(&bytes, CSRF_FIELD);
    match sent {
        Some(v) if same_secret(&v, expected) => Ok(Body::from(bytes)),
        _ => Err(AppError::Csrf),
    }
}

pub fn form_urlencoded_value(bytes: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub async fn resolve(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let meta = RequestMeta::from_parts(&parts, &app.settings);
    let is_api = parts.uri.path().starts_with("/api/");
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let principal = match principal_for(&app, &parts.headers, &meta).await {
        Ok(p) => p.map(Arc::new),
        Err(e) => return e.into_response(),
    };
    let locale = pick_locale(principal.as_ref().and_then(|p| p.locale), &parts.headers);
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !OWN_CSRF_CHECK.contains(&parts.uri.path());
    let body = match principal.as_deref().and_then(Principal::csrf_token) {
        Some(expected) if unsafe_method => match check_csrf(expected, &parts.headers, body).await {
            Ok(b) => b,
            Err(e) => {
                return page_error(
                    e.into_response(),
                    is_api,
                    principal.as_deref(),
                    locale,
                    &path_and_query,
                );
            }
        },
        _ => body,
    };
    parts.extensions.insert(CurrentUser(principal.clone()));
    parts.extensions.insert(meta);
    let res = next.run(Request::from_parts(parts, body)).await;
    page_error(res, is_api, principal.as_deref(), locale, &path_and_query)
}

/// On pages, replace a JSON error by an HTML page, or a sign-in redirect for a missing sign-in.
fn page_error(
    res: Response,
    is_api: bool,
    principal: Option<&Principal>,
    locale: crate::domain::Locale,
    path: &str,
) -> Response {
    let err = res.extensions().get::<ErrorBody>().cloned();
    if is_api {
        return match (err, res.status()) {
            // The router's own answer to a wrong method, in the API's error shape.
            (None, StatusCode::METHOD_NOT_ALLOWED) => {
                let body = ErrorBody {
                    code: "method_not_allowed".into(),
                    message: "this path does not take that method".into(),
                    field: None,
                };
                let mut json = (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response();
                if let Some(allow) = res.headers().get(header::ALLOW) {
                    json.headers_mut().insert(header::ALLOW, allow.clone());
                }
                json
            }
            _ => res,
        };
    }
    let Some(err) = err else {
        return res;
    };
    page::error_page(res.status(), &err, principal, Tr::new(locale), path)
}
