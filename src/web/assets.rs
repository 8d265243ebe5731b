//! Static files (stylesheet, htmx, uPlot, icon), embedded in the binary. No CDN.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $mime:literal) => {
        Asset {
            path: $path,
            mime: $mime,
            body: include_bytes!(concat!("../../assets/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("kalibra.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("kalibra.js", "text/javascript; charset=utf-8"),
    asset!("vendor/htmx.min.js", "text/javascript; charset=utf-8"),
    asset!("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    asset!("vendor/uPlot.min.css", "text/css; charset=utf-8"),
];

fn respond(a: &Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, a.mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        a.body,
    )
        .into_response()
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == file) {
        Some(a) => respond(a),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub async fn favicon() -> Response {
    respond(&ASSETS[1])
}
