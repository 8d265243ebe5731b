//! Acceptance: the Anonymous Bank call records of February 1999, imported unedited through the
//! shipped mapping, give the same month's figures as an independent computation in Python
//! (`tests/reference/anonymous_bank_kpis.py`).

use std::path::PathBuf;
use std::process::Command;

use crate::both_backends;
use crate::helpers::*;

fn data_file() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/anonymous-bank-1999/february_1999.txt");
    if p.exists() {
        return Some(p);
    }
    assert!(
        !require_all(),
        "KALIBRA_TEST_REQUIRE_ALL is set but {} is missing",
        p.display()
    );
    eprintln!(
        "NOT RUN: the Anonymous Bank records are not at {}",
        p.display()
    );
    None
}

fn kalibra(app: &TestApp, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kalibra"))
        .args(["--database-url", &app.database_url])
        .args(args)
        .env("KALIBRA_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

both_backends! {
    async fn anonymous_bank_february_1999(app: TestApp) {
        let Some(file) = data_file() else { return };
        let mapping = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings/anonymous-bank.toml");
        let file_s = file.display().to_string();
        let mapping_s = mapping.display().to_string();
        kalibra(&app, &["program", "create", "--code", "BANK", "--name", "Anonymous Bank", "--timezone", "Asia/Jerusalem"]);
        let dir = tempfile::tempdir().unwrap();
        let rejects = dir.path().join("rejects.csv").display().to_string();
        let summary: serde_json::Value = serde_json::from_str(&kalibra(&app, &[
            "import", "contacts", "--program", "BANK", "--mapping", &mapping_s, "--json", "--rejects", &rejects, &file_s,
        ])).unwrap();
        assert_eq!(summary["rows_read"], 33_344);
        assert_eq!(summary["accepted"], 33_066);
        assert_eq!(summary["skipped"], 278, "PHANTOM records");
        assert_eq!(summary["rejected"], 0);

        let ours: serde_json::Value = serde_json::from_str(&kalibra(&app, &[
            "kpi", "--program", "BANK", "--from", "1999-02-01", "--to", "1999-02-28", "--by", "month", "--format", "json",
        ])).unwrap();
        let month = &ours["rows"][0];
        assert_eq!(month["group"], "1999-02");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/anonymous_bank_kpis.py");
        let out = Command::new("python3").arg(&script).arg(&file).output().expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let reference: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for key in ["offered", "handled", "abandoned", "short_abandoned"] {
            assert_eq!(month[key], reference[key], "{key}");
        }
        for key in ["service_level", "asa_s", "aht_s", "abandon_rate"] {
            let (a, b) = (month[key].as_f64().unwrap(), reference[key].as_f64().unwrap());
            assert!((a - b).abs() < 1e-9, "{key}: {a} vs {b}");
        }
        // The published figures for the month, as the test prints them.
        println!(
            "Anonymous Bank, February 1999 ({}): offered {}, handled {}, abandoned {} (+{} short), \
             service level {:.1} % (20 s), ASA {:.1} s, AHT {:.1} s, abandonment {:.1} %",
            app.backend, month["offered"], month["handled"], month["abandoned"], month["short_abandoned"],
            month["service_level"].as_f64().unwrap() * 100.0, month["asa_s"].as_f64().unwrap(),
            month["aht_s"].as_f64().unwrap(), month["abandon_rate"].as_f64().unwrap() * 100.0,
        );
        // Importing it again changes nothing.
        let again: serde_json::Value = serde_json::from_str(&kalibra(&app, &[
            "import", "contacts", "--program", "BANK", "--mapping", &mapping_s, "--json", &file_s,
        ])).unwrap();
        assert_eq!((again["accepted"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(33_066)));
    }
}
