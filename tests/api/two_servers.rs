//! Two app servers on one PostgreSQL: a session made on one works on the other.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_server_works_on_the_other() {
    let Some(first) = spawn_postgres().await else {
        return;
    };
    first.seed_demo().await;
    let second_address = launch(
        first.database_url.clone(),
        kalibra::store::Db::connect(&first.database_url)
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(first.address, second_address);

    let c = first.client();
    let r = first.login(&c, "qa@example.com", DEMO_PASSWORD).await;
    let cookie = session_cookie(&r);
    let page = c
        .get(first.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_csrf(&page).unwrap();
    // Take the session cookie to the second server.
    let other = client();
    let me: serde_json::Value = other
        .get(format!("{second_address}/api/v1/me"))
        .header("cookie", format!("kalibra_session={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "qa@example.com");
    // A state change through the second server, with the CSRF token from the first.
    let r = other
        .post(format!("{second_address}/logout"))
        .header("cookie", format!("kalibra_session={cookie}"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Signed out on the second server means signed out on the first.
    assert_eq!(
        c.get(first.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let schema = first.schema_name();
    drop_schema(first.db.clone(), schema).await;
}
