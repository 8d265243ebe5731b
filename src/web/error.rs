//! One error type for every handler, mapped to an HTTP status in one place. API callers get
//! the JSON shape `{code, message, field}`; the page middleware turns the same error into an
//! HTML page in the person's language.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::access::Denied;
use crate::domain::InvalidValue;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("you do not have access to this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    /// A value inside a nested document, at a path such as `sections[1].criteria[0].weight`.
    #[error("{field}: {message}")]
    InvalidAt { field: String, message: String },
    #[error("{message}")]
    Conflict {
        field: Option<&'static str>,
        message: String,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("the form has expired or was not sent from Kalibra; reload the page and try again")]
    Csrf,
    #[error("too many sign-in attempts; wait a few minutes and try again")]
    Throttled,
    /// Other writes kept the database past the wait allowed: nothing was changed.
    #[error("the database is busy with other changes; nothing was changed, try again in a moment")]
    Busy,
    #[error("something went wrong on our side; the error has been logged")]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if crate::store::is_busy(&e) {
            AppError::Busy
        } else {
            AppError::Unexpected(e.into())
        }
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Forbidden => AppError::Forbidden,
            Denied::NotFound => AppError::NotFound,
        }
    }
}

/// The one JSON shape of every API error.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `invalid`, `conflict`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::InvalidAt { .. } | AppError::BadRequest(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Invalid(_) | AppError::InvalidAt { .. } => "invalid",
            AppError::Conflict { .. } => "conflict",
            AppError::BadRequest(_) => "bad_request",
            AppError::Csrf => "csrf",
            AppError::Throttled => "throttled",
            AppError::Busy => "busy",
            AppError::Unexpected(_) => "internal",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid(v) => Some(v.field),
            AppError::InvalidAt { field, .. } => Some(field),
            AppError::Conflict { field, .. } => *field,
            _ => None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().into(),
            message: self.to_string(),
            field: self.field().map(str::to_owned),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Unexpected(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let body = self.body();
        let mut res = (self.status(), Json(body.clone())).into_response();
        if let AppError::Busy = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        res.extensions_mut().insert(body);
        res
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::AppError;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    /// A database kept busy by other writers answers 503 with a hint to retry, not 500: no
    /// write turn in time, or SQLite finding the database locked past its busy timeout.
    #[tokio::test]
    async fn a_database_kept_busy_answers_503() {
        use sqlx::{ConnectOptions, Connection};
        use std::str::FromStr;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("b.db").display());
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO);
        let mut holder = opts.connect().await.unwrap();
        let mut other = opts.connect().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let locked = sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap_err();
        for e in [locked, sqlx::Error::PoolTimedOut] {
            let res = AppError::from(e).into_response();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(res.headers()["retry-after"], "1");
        }
        let other_error = AppError::from(sqlx::Error::RowNotFound);
        assert_eq!(other_error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        holder.close().await.unwrap();
        other.close().await.unwrap();
    }
}
