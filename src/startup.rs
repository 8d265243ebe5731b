//! One `Application::build / port / run_until_stopped`, shared by `serve`, `demo` and the tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::throttle::Limits;
use crate::config::Settings;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub limits: Limits,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Db,
}

impl Application {
    /// Connect, migrate, bind. The port is known before serving starts (`bind` may use port 0).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        Self::build_with_db(settings, db).await
    }

    pub async fn build_with_db(settings: Settings, db: Db) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let state = AppState {
            db: db.clone(),
            settings: Arc::new(settings),
            limits: Limits::default(),
        };
        Ok(Self {
            listener,
            router: router(state),
            db,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until Ctrl-C or SIGTERM, then finish the requests in flight and close the pool.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let db = self.db.clone();
        tokio::spawn(housekeeping(db.clone()));
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        tracing::info!("stopped; closing the database");
        db.close().await;
        Ok(())
    }
}

async fn housekeeping(db: Db) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = crate::auth::sessions::purge_expired(&db).await {
            tracing::warn!(error = %e, "could not purge expired sessions");
        }
        if let Err(e) = crate::auth::throttle::purge_old(&db).await {
            tracing::warn!(error = %e, "could not purge old sign-in attempts");
        }
        match crate::quality::sampling::store::run_due(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(plans = n, "sampled the last week"),
            Err(e) => tracing::warn!(error = %e, "could not run the sampling plans"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; finishing requests in flight");
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let (api, _) = crate::api::router().split_for_parts();
    Router::new()
        .merge(crate::web::routes())
        .merge(crate::auth::routes::pages())
        .merge(crate::programs::routes::pages())
        .merge(crate::people::routes::pages())
        .merge(crate::audit::routes::pages())
        .merge(crate::contacts::routes::pages())
        .merge(crate::quality::pages::pages())
        .merge(crate::quality::coaching_pages::pages())
        .merge(crate::quality::sampling::pages::pages())
        .merge(crate::calibration::pages::pages())
        .merge(api)
        .merge(crate::api::docs())
        .fallback(crate::web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::middleware::resolve,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ))
        .with_state(state)
}
