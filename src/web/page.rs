//! Page = layout + partial. A handler renders its partial; a full request gets it inside the
//! layout (navigation by role, language switch), an htmx request gets the partial alone.

use std::sync::Arc;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::error::{AppError, AppResult, ErrorBody};
use super::request::{pick_locale, wants_partial};
use crate::auth::Principal;
use crate::auth::middleware::CurrentUser;
use crate::domain::Locale;
use crate::i18n::Tr;

/// A signed-in person on a page: who, in which language, full page or partial.
pub struct PageCtx {
    pub user: Arc<Principal>,
    pub tr: Tr,
    pub partial: bool,
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let user = parts
            .extensions
            .get::<CurrentUser>()
            .and_then(|c| c.0.clone())
            .ok_or(AppError::Unauthenticated)?;
        Ok(Self {
            tr: Tr::new(pick_locale(user.locale, &parts.headers)),
            partial: wants_partial(&parts.headers),
            path: parts.uri.path().to_owned(),
            user,
        })
    }
}

/// A page anybody may see (sign-in): only the language.
pub struct AnonCtx {
    pub tr: Tr,
    pub user: Option<Arc<Principal>>,
}

impl<S: Send + Sync> FromRequestParts<S> for AnonCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let user = parts
            .extensions
            .get::<CurrentUser>()
            .and_then(|c| c.0.clone());
        Ok(Self {
            tr: Tr::new(pick_locale(
                user.as_ref().and_then(|u| u.locale),
                &parts.headers,
            )),
            user,
        })
    }
}

pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
    /// Where a count shown beside the item is loaded from.
    pub badge: Option<&'static str>,
}

pub struct NavSection {
    pub title: String,
    pub items: Vec<NavItem>,
}

/// JSON to embed in a page's `<script type="application/json">`: no `</` can end the element.
pub fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
}

/// The navigation a person sees follows their roles.
pub fn navigation(user: &Principal, tr: Tr, path: &str) -> Vec<NavSection> {
    let item = |href: &'static str, key: &str| NavItem {
        href,
        label: tr.t(key),
        current: if href == "/" {
            path == "/"
        } else {
            path.starts_with(href)
        },
        badge: None,
    };
    let mut sections = vec![NavSection {
        title: tr.t("nav.section_work"),
        items: vec![item("/", "nav.home"), item("/programs", "nav.programs")],
    }];
    let resolves = user.grants.iter().any(|g| {
        matches!(
            g.role,
            crate::domain::Role::Admin
                | crate::domain::Role::Evaluator
                | crate::domain::Role::TeamLead
        )
    });
    let mut quality = Vec::new();
    if user.has_role(crate::domain::Role::Agent) {
        quality.push(item("/my/quality", "nav.my_quality"));
    }
    quality.push(item("/quality", "nav.quality_forms"));
    if user.is_admin() || user.has_role(crate::domain::Role::Evaluator) {
        quality.push(item("/assignments", "nav.assignments"));
    }
    if resolves {
        quality.push(item("/quality/disputes", "nav.disputes"));
    }
    if resolves || user.has_role(crate::domain::Role::Agent) {
        quality.push(item("/coaching", "nav.coaching"));
    }
    quality.push(item("/calibration", "nav.calibration"));
    sections.push(NavSection {
        title: tr.t("nav.section_quality"),
        items: quality,
    });
    if user.is_admin() {
        sections.push(NavSection {
            title: tr.t("nav.section_admin"),
            items: vec![
                item("/admin/programs", "nav.admin_programs"),
                item("/admin/people", "nav.admin_people"),
                item("/admin/audit", "nav.admin_audit"),
            ],
        });
    }
    sections.push(NavSection {
        title: tr.t("nav.section_you"),
        items: vec![
            NavItem {
                badge: Some("/notifications/count"),
                ..item("/notifications", "nav.notifications")
            },
            item("/account", "nav.account"),
            item("/api/docs/", "nav.api_docs"),
        ],
    });
    sections
}

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    tr: Tr,
    title: &'a str,
    user: &'a Principal,
    nav: Vec<NavSection>,
    csrf: &'a str,
    locales: [Locale; 3],
    body: &'a str,
}

#[derive(Template)]
#[template(path = "bare.html")]
struct Bare<'a> {
    tr: Tr,
    title: &'a str,
    body: &'a str,
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

fn render_to_string(t: &impl Template) -> AppResult<String> {
    t.render().map_err(|e| AppError::Unexpected(e.into()))
}

impl PageCtx {
    pub fn render(&self, title: &str, partial: impl Template) -> AppResult<Response> {
        self.render_status(StatusCode::OK, title, partial)
    }

    pub fn render_status(
        &self,
        status: StatusCode,
        title: &str,
        partial: impl Template,
    ) -> AppResult<Response> {
        let body = render_to_string(&partial)?;
        if self.partial {
            return Ok(html(status, body));
        }
        Ok(html(
            status,
            layout(&self.user, self.tr, &self.path, title, &body)?,
        ))
    }

    pub fn csrf(&self) -> &str {
        self.user.csrf_token().unwrap_or("")
    }
}

fn layout(user: &Principal, tr: Tr, path: &str, title: &str, body: &str) -> AppResult<String> {
    render_to_string(&Layout {
        tr,
        title,
        user,
        nav: navigation(user, tr, path),
        csrf: user.csrf_token().unwrap_or(""),
        locales: Locale::ALL,
        body,
    })
}

/// A page outside the signed-in layout (sign-in, errors for visitors).
pub fn bare_page(
    status: StatusCode,
    tr: Tr,
    title: &str,
    partial: impl Template,
) -> AppResult<Response> {
    let body = render_to_string(&partial)?;
    Ok(html(
        status,
        render_to_string(&Bare {
            tr,
            title,
            body: &body,
        })?,
    ))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    tr: Tr,
    status: u16,
    message: &'a str,
    signed_in: bool,
}

/// The HTML answer for an error on a page. A missing sign-in becomes a redirect to the
/// sign-in page that comes back here afterwards.
pub fn error_page(
    status: StatusCode,
    err: &ErrorBody,
    user: Option<&Principal>,
    tr: Tr,
    path: &str,
) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        let next: String = url_encode(path);
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    let message = match err.code.as_str() {
        "not_found" => tr.t("error.not_found"),
        "forbidden" => tr.t("error.forbidden"),
        "csrf" => tr.t("error.csrf"),
        "internal" => tr.t("error.internal"),
        "busy" => tr.t("error.busy"),
        _ => err.message.clone(),
    };
    let title = tr.t("error.title");
    let partial = ErrorTemplate {
        tr,
        status: status.as_u16(),
        message: &message,
        signed_in: user.is_some(),
    };
    let rendered = match user {
        Some(u) => render_to_string(&partial)
            .and_then(|b| layout(u, tr, path, &title, &b))
            .map(|page| html(status, page)),
        None => bare_page(status, tr, &title, partial),
    };
    rendered.unwrap_or_else(|e| (status, e.to_string()).into_response())
}

pub fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
