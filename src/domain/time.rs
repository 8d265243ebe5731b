/// Milliseconds since the Unix epoch, UTC. Stored as BIGINT on both backends.
pub type Timestamp = i64;

pub fn now() -> Timestamp {
    chrono::Utc::now().timestamp_millis()
}

/// `2026-11-25 13:04` in UTC, for tables and exports.
pub fn format_utc(ts: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}
