//! Settings, merged from defaults, a TOML file, `KALIBRA_…` environment variables and flags,
//! each overriding the one before.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`.
    pub database_url: String,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// How long a sign-in lasts, in hours.
    pub session_hours: i64,
    /// The address people reach Kalibra at, e.g. `https://quality.example.com`.
    pub public_url: Option<String>,
    /// Mark cookies `Secure`. Unset: on when `public_url` starts with `https://`.
    pub cookie_secure: Option<bool>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_proxy: bool,
    /// `text` or `json` log lines.
    pub log_format: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite:kalibra.db".into(),
            bind: "127.0.0.1:8080".into(),
            session_hours: 12,
            public_url: None,
            cookie_secure: None,
            trust_proxy: false,
            log_format: "text".into(),
        }
    }
}

/// The settings read from `KALIBRA_<KEY>`; other `KALIBRA_` variables belong to the tests.
const ENV_KEYS: [&str; 7] = [
    "database_url",
    "bind",
    "session_hours",
    "public_url",
    "cookie_secure",
    "trust_proxy",
    "log_format",
];

/// Values given as command-line flags; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
}

impl Settings {
    /// Defaults < `file` (when given, or `kalibra.toml` when present) < environment < flags.
    pub fn load(
        file: Option<&Path>,
        defaults: Settings,
        flags: Overrides,
    ) -> Result<Settings, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(defaults));
        match file {
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None => fig = fig.merge(Toml::file("kalibra.toml")),
        }
        fig.merge(Env::prefixed("KALIBRA_").only(&ENV_KEYS))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(Box::new)
    }

    pub fn secure_cookies(&self) -> bool {
        self.cookie_secure.unwrap_or_else(|| {
            self.public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        })
    }

    pub fn session_ttl_ms(&self) -> i64 {
        self.session_hours.clamp(1, 24 * 30) * 3_600_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type
    fn layers_override_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("k.toml", "bind = \"127.0.0.1:9000\"\nsession_hours = 4\n")?;
            jail.set_env("KALIBRA_SESSION_HOURS", "6");
            let s = Settings::load(
                Some(Path::new("k.toml")),
                Settings::default(),
                Overrides {
                    database_url: Some("sqlite:x.db".into()),
                    bind: None,
                },
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(s.bind, "127.0.0.1:9000");
            assert_eq!(s.session_hours, 6);
            assert_eq!(s.database_url, "sqlite:x.db");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type
    fn unknown_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("k.toml", "bnd = \"x\"\n")?;
            let e = Settings::load(
                Some(Path::new("k.toml")),
                Settings::default(),
                Overrides::default(),
            );
            assert!(e.unwrap_err().to_string().contains("bnd"));
            Ok(())
        });
    }

    #[test]
    fn secure_cookies_follow_public_url() {
        let mut s = Settings::default();
        assert!(!s.secure_cookies());
        s.public_url = Some("https://q.example.com".into());
        assert!(s.secure_cookies());
        s.cookie_secure = Some(false);
        assert!(!s.secure_cookies());
    }
}
