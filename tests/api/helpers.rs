//! `spawn_app()`: the real server on 127.0.0.1, port 0, on a fresh database, and a client
//! that keeps cookies. SQLite by default; PostgreSQL (a fresh schema per test) when
//! `KALIBRA_TEST_POSTGRES_URL` is set. With `KALIBRA_TEST_REQUIRE_ALL=1` a missing
//! PostgreSQL or browser fails the test instead of skipping it.

use std::sync::Arc;

use kalibra::audit::Actor;
use kalibra::auth::routes::{NewToken, issue_token};
use kalibra::config::Settings;
use kalibra::domain::{Email, PersonId, ProgramId};
use kalibra::startup::{AppState, Application};
use kalibra::store::Db;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

pub const DEMO_PASSWORD: &str = kalibra::demo::PASSWORD;

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub database_url: String,
    pub backend: &'static str,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub fn require_all() -> bool {
    std::env::var("KALIBRA_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1" || v == "true")
}

pub fn postgres_base_url() -> Option<String> {
    std::env::var("KALIBRA_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Start a server on its own database.
pub async fn launch(database_url: String, db: Db) -> String {
    let settings = Settings {
        database_url,
        bind: "127.0.0.1:0".into(),
        ..Settings::default()
    };
    let app = Application::build_with_db(settings, db)
        .await
        .expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

pub async fn spawn_sqlite() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("kalibra-test.db").display());
    let db = Db::connect(&url).await.expect("sqlite opens");
    db.migrate().await.expect("sqlite migrates");
    let address = launch(url.clone(), db.clone()).await;
    TestApp {
        address,
        db,
        database_url: url,
        backend: "sqlite",
        schema: None,
        _dir: Some(dir),
    }
}

/// A fresh schema on the test PostgreSQL, or `None` (with a notice) when there is none.
pub async fn spawn_postgres() -> Option<TestApp> {
    let Some(base) = postgres_base_url() else {
        assert!(
            !require_all(),
            "KALIBRA_TEST_REQUIRE_ALL is set but KALIBRA_TEST_POSTGRES_URL is not"
        );
        eprintln!(
            "NOT RUN on PostgreSQL: set KALIBRA_TEST_POSTGRES_URL to run this test there too"
        );
        return None;
    };
    let schema = format!("kt_{}", uuid::Uuid::new_v4().simple());
    let admin = Db::connect(&base).await.expect("test PostgreSQL answers");
    if let Db::Pg(pool) = &admin {
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(pool)
            .await
            .expect("create schema");
    }
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let db = Db::connect(&url).await.expect("postgres opens");
    db.migrate().await.expect("postgres migrates");
    let address = launch(url.clone(), db.clone()).await;
    Some(TestApp {
        address,
        db,
        database_url: url,
        backend: "postgres",
        schema: Some(schema),
        _dir: None,
    })
}

/// Run a test body on SQLite and, when configured, on PostgreSQL: `name::sqlite` and
/// `name::postgres` in the test list.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::helpers::TestApp) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::helpers::spawn_sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::spawn_postgres().await {
                    let db = app.db.clone();
                    let schema = app.schema_name();
                    run(app).await;
                    $crate::helpers::drop_schema(db, schema).await;
                }
            }
        }
    )*};
}

pub async fn drop_schema(db: Db, schema: Option<String>) {
    db.close().await;
    if let (Some(schema), Some(base)) = (schema, postgres_base_url()) {
        let admin = Db::connect(&base).await.expect("test PostgreSQL answers");
        if let Db::Pg(pool) = &admin {
            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(pool)
                .await;
        }
        admin.close().await;
    }
}

impl TestApp {
    pub fn schema_name(&self) -> Option<String> {
        self.schema.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        client()
    }

    pub async fn seed_demo(&self) {
        kalibra::demo::seed(&self.db).await.expect("demo seed");
    }

    pub fn state(&self) -> AppState {
        AppState {
            db: self.db.clone(),
            settings: Arc::new(Settings::default()),
            limits: Default::default(),
        }
    }

    pub async fn person_id(&self, email: &str) -> PersonId {
        kalibra::people::find_by_email(&self.db, &Email::parse(email).unwrap())
            .await
            .unwrap()
            .expect("person exists")
            .id
    }

    pub async fn program_id(&self, code: &str) -> ProgramId {
        kalibra::programs::find_by_code(&self.db, code)
            .await
            .unwrap()
            .expect("program exists")
            .id
    }

    /// Imports contacts in the generic CSV format into a program; returns their ids by external id.
    pub async fn import_csv(
        &self,
        program: &str,
        csv: &str,
    ) -> std::collections::BTreeMap<String, i64> {
        let program = self.program_id(program).await;
        let req = kalibra::contacts::import::ImportRequest {
            batch_rows: 10,
            ..kalibra::contacts::import::ImportRequest::new(
                program,
                "fixture.csv",
                kalibra::contacts::mapping::Format::Csv,
                kalibra::contacts::mapping::Mapping::generic(chrono_tz::Europe::Berlin),
                "test",
            )
        };
        let summary = kalibra::contacts::import::import_contacts(
            &self.db,
            req,
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(summary.rejected, 0, "the fixture imports whole");
        let filter = kalibra::contacts::store::ContactFilter {
            start: 0,
            end: i64::MAX,
            ..Default::default()
        };
        kalibra::contacts::store::list(&self.db, program, &filter, 100_000, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.external_id, c.id))
            .collect()
    }

    /// Imports survey answers in the generic CSV format into a program.
    pub async fn import_surveys_csv(&self, program: &str, csv: &str) {
        use kalibra::contacts::mapping::{Format, Mapping, SURVEYS};
        let req = kalibra::contacts::import::ImportRequest {
            batch_rows: 10,
            ..kalibra::contacts::import::ImportRequest::new(
                self.program_id(program).await,
                "surveys.csv",
                Format::Csv,
                Mapping::generic_for(SURVEYS, chrono_tz::Europe::Berlin),
                "test",
            )
        };
        let summary = kalibra::contacts::surveys::import_surveys(
            &self.db,
            req,
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(summary.rejected, 0, "the survey fixture imports whole");
    }

    /// A fresh API token for a person.
    pub async fn token_for(&self, email: &str) -> String {
        let person = self.person_id(email).await;
        let req = NewToken {
            name: "test".into(),
            expires_days: 1,
        };
        issue_token(&self.state(), &Actor::cli(), person, &req)
            .await
            .expect("token")
            .1
    }

    /// Sign in through the real form; returns the client holding the session.
    pub async fn signed_in(&self, email: &str) -> reqwest::Client {
        let c = self.client();
        let res = self.login(&c, email, DEMO_PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email} redirects"
        );
        c
    }

    pub async fn login(
        &self,
        c: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = c
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_csrf(&page).expect("sign-in form has a CSRF token");
        c.post(self.url("/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", email),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// POST a form the way the page does: with the CSRF token found on `from_page`.
    pub async fn post_form(
        &self,
        c: &reqwest::Client,
        from_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let page = c
            .get(self.url(from_page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_csrf(&page).unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        c.post(self.url(path)).form(&form).send().await.unwrap()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of the first `csrf_token` hidden input in a page.
pub fn hidden_csrf(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[i + "name=\"csrf_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The value of the `kalibra_session` cookie a response sets.
pub fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("kalibra_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned()
}
