//! Rater agreement: the published worked examples through the command line and the API, and
//! random matrices against the Python reference packages.

use std::process::Command;

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

/// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers × 12 units,
/// with missing values.
const KRIPPENDORFF_2011: &str = "observer,1,2,3,4,5,6,7,8,9,10,11,12
A,1,2,3,3,2,1,4,1,2,,,
B,1,2,3,3,2,2,4,1,2,5,,3
C,,3,3,3,2,3,4,2,2,5,1,
D,1,2,3,3,2,4,4,1,2,5,1,
";

fn agreement(args: &[&str], file: &str) -> std::process::Output {
    let path = std::env::temp_dir().join(format!("kalibra-agreement-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(&path, file).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kalibra"))
        .args(["stats", "agreement"])
        .args(args)
        .arg(&path)
        .output()
        .expect("binary runs");
    let _ = std::fs::remove_file(path);
    out
}

fn report(level: &str, file: &str) -> serde_json::Value {
    let out = agreement(&["--level", level, "--format", "json"], file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn published_alphas_from_the_command_line() {
    // The published values (the stats module's tests check the exact fractions).
    for (level, published) in [
        ("nominal", 0.743),
        ("ordinal", 0.815),
        ("interval", 0.849),
        ("ratio", 0.797),
    ] {
        let r = report(level, KRIPPENDORFF_2011);
        let alpha = r["alpha"].as_f64().unwrap();
        assert!((alpha - published).abs() < 5e-4, "{level}: {alpha}");
        assert_eq!(r["units"], 12);
        assert_eq!(r["pairable_units"], 11);
        assert_eq!(r["raters"], 4);
        assert_eq!(r["pairable_values"], 40);
        let (lo, hi) = (
            r["ci_low"].as_f64().unwrap(),
            r["ci_high"].as_f64().unwrap(),
        );
        assert!(
            lo < alpha && alpha < hi && hi <= 1.0,
            "{level}: {lo} {alpha} {hi}"
        );
        assert_eq!(r["fleiss_kappa"].is_null(), level != "nominal");
        assert_eq!(
            r,
            report(level, KRIPPENDORFF_2011),
            "the same seed, the same interval"
        );
    }
    // Nominal: 34 of the 40 pairable values' pairings agree (A_o = 0.8).
    assert_eq!(
        report("nominal", KRIPPENDORFF_2011)["percent_agreement"],
        0.8
    );
    let table = agreement(&["--level", "ordinal"], KRIPPENDORFF_2011);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("Krippendorff's alpha  0.815"), "{text}");
}

#[test]
fn bad_files_are_refused_with_where() {
    let out = agreement(&["--level", "interval"], "r,u1,u2\nA,1,2\nB,3,x\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3 (B), unit u2: \"x\" is not a number"),
        "{err}"
    );
    let out = agreement(&["--level", "ratio"], "r,u1,u2\nA,1,2\nB,3,-1\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rater B, unit u2: -1 is negative"), "{err}");
    // Yes / no answers are categories at the nominal level.
    let r = report("nominal", "r,c1,c2,c3\nA,yes,no,yes\nB,yes,no,no\n");
    assert_eq!(r["categories"], serde_json::json!(["no", "yes"]));
    assert_eq!(r["percent_agreement"].as_f64().unwrap(), 2.0 / 3.0);
}

/// Random matrices at every level against `krippendorff` and `statsmodels` (and `irrCAC` when
/// installed), to 1e-9: `tests/agreement/crosscheck.py`.
#[test]
fn random_matrices_match_the_python_packages() {
    let python = std::env::var("KALIBRA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python)
        .args(["-c", "import numpy, krippendorff, statsmodels"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        assert!(
            !require_all(),
            "KALIBRA_TEST_REQUIRE_ALL is set but {python} lacks numpy, krippendorff or statsmodels"
        );
        eprintln!(
            "NOT RUN: pip install numpy krippendorff statsmodels (or set KALIBRA_TEST_PYTHON)"
        );
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/agreement/crosscheck.py");
    let out = Command::new(&python)
        .args([script, env!("CARGO_BIN_EXE_kalibra")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("all match"));
}

both_backends! {
    async fn agreement_over_the_api(app: TestApp) {
        app.seed_demo().await;
        let token = app.token_for("agent@example.com").await;
        let c = client();
        let url = app.url("/api/v1/stats/agreement?level=ordinal");
        let r = c.post(&url).body(KRIPPENDORFF_2011).header("content-type", "text/csv")
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = c.post(&url).bearer_auth(&token).header("content-type", "text/csv")
            .body(KRIPPENDORFF_2011).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let api: serde_json::Value = r.json().await.unwrap();
        assert_eq!(api, report("ordinal", KRIPPENDORFF_2011), "the API and the CLI agree");
        // The same ratings as JSON, missing values as null.
        let rows: Vec<Vec<Option<f64>>> = KRIPPENDORFF_2011.lines().skip(1).map(|l| {
            l.split(',').skip(1).map(|v| v.parse().ok()).collect()
        }).collect();
        let body = serde_json::json!({"level": "ordinal", "ratings": rows});
        let r = c.post(app.url("/api/v1/stats/agreement")).bearer_auth(&token).json(&body)
            .send().await.unwrap();
        let json: serde_json::Value = r.json().await.unwrap();
        assert_eq!(json["alpha"], api["alpha"]);
        assert_eq!(json["ci_low"], api["ci_low"]);
        // A bad file: 422 with where.
        let r = c.post(&url).bearer_auth(&token).header("content-type", "text/csv")
            .body("r,u1\nA,1\nB,1,2,3\n").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["message"], "line 3 (B): 3 values for 1 units");
        let r = c.post(app.url("/api/v1/stats/agreement?level=fuzzy")).bearer_auth(&token)
            .header("content-type", "text/csv").body(KRIPPENDORFF_2011).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
