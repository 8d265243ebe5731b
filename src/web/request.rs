//! Facts about the request itself: client address, request id, user agent, language.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;

use crate::config::Settings;
use crate::domain::Locale;

pub const LANG_COOKIE: &str = "kalibra_lang";

#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub ip: String,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn from_parts(parts: &Parts, settings: &Settings) -> Self {
        let forwarded = settings
            .trust_proxy
            .then(|| header(&parts.headers, "x-forwarded-for"))
            .flatten()
            .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Self {
            ip: forwarded.or(peer).unwrap_or_else(|| "unknown".into()),
            request_id: header(&parts.headers, "x-request-id"),
            user_agent: header(&parts.headers, "user-agent"),
        }
    }
}

pub fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The interface language: the person's choice, else the language cookie, else the browser's
/// `Accept-Language`, else English.
pub fn pick_locale(person: Option<Locale>, headers: &HeaderMap) -> Locale {
    person
        .or_else(|| {
            CookieJar::from_headers(headers)
                .get(LANG_COOKIE)
                .and_then(|c| Locale::parse(c.value()))
        })
        .or_else(|| {
            header(headers, "accept-language").and_then(|h| Locale::from_accept_language(&h))
        })
        .unwrap_or_default()
}

/// An htmx request that wants only the page's partial (not a boosted navigation).
pub fn wants_partial(h: &HeaderMap) -> bool {
    h.contains_key("hx-request")
        && !h.contains_key("hx-boosted")
        && !h.contains_key("hx-history-restore-request")
}

/// A redirect target that stays on this site: a path, never `//host` or a full URL.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_local() {
        assert_eq!(local_path(Some("/admin/people")), "/admin/people");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
