//! Krippendorff's alpha, timed beside the Python `krippendorff` package on the same matrices in
//! the same run: 5 × 100, 20 × 1,000 and 50 × 10,000 raters × units with 10 % missing, ratings
//! 1–5 at every level and continuous ratings at the interval and ratio levels.
//!
//!     cargo bench --bench agreement
//!
//! The matrices are written to CSV files that `bench/agreement_anchor.py` times with the Python
//! package (the interpreter: `KALIBRA_BENCH_PYTHON`, else `bench/.venv/bin/python` when it
//! exists, else `python3`). Kalibra's time covers building the matrix from rater rows and
//! computing alpha, as the CLI and API do; both sides report the best of seven batches. The
//! table gives microseconds per call, the ratio, and the largest difference of the two alphas.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kalibra::stats::alpha::krippendorff_alpha;
use kalibra::stats::ratings::{Level, Ratings};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SIZES: [(usize, usize); 3] = [(5, 100), (20, 1_000), (50, 10_000)];

type Rows = Vec<Vec<Option<f64>>>;

fn matrix(raters: usize, units: usize, continuous: bool, seed: u64) -> Rows {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..raters)
        .map(|_| {
            (0..units)
                .map(|_| {
                    let v = if continuous {
                        rng.random_range(0.0..100.0)
                    } else {
                        f64::from(rng.random_range(1..=5_u8))
                    };
                    (rng.random::<f64>() >= 0.1).then_some(v)
                })
                .collect()
        })
        .collect()
}

fn write_csv(path: &Path, rows: &Rows) -> std::io::Result<()> {
    let mut out = String::from("rater");
    for u in 0..rows[0].len() {
        out += &format!(",u{u}");
    }
    out.push('\n');
    for (r, row) in rows.iter().enumerate() {
        out += &format!("r{r}");
        for v in row {
            out.push(',');
            if let Some(v) = v {
                out += &format!("{v:?}");
            }
        }
        out.push('\n');
    }
    std::fs::write(path, out)
}

/// Microseconds per call of `f`: the best of seven batches of about `budget / 10` each.
fn time(budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(100));
    let per_batch = ((budget / 10).as_secs_f64() / once.as_secs_f64()).max(1.0) as u64;
    let mut best = f64::INFINITY;
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    best
}

fn python() -> String {
    if let Ok(p) = std::env::var("KALIBRA_BENCH_PYTHON") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/.venv/bin/python");
    if Path::new(venv).exists() {
        venv.to_owned()
    } else {
        "python3".to_owned()
    }
}

struct Case {
    raters: usize,
    units: usize,
    values: &'static str,
    level: Level,
    file: PathBuf,
    rust_us: f64,
    alpha: f64,
}

fn main() {
    let dir = std::env::temp_dir().join(format!("kalibra-agreement-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let budget = Duration::from_millis(1_500);
    let mut cases = Vec::new();
    for (i, (raters, units)) in SIZES.into_iter().enumerate() {
        for (continuous, values, levels) in [
            (false, "1–5", &Level::ALL[..]),
            (true, "continuous", &[Level::Interval, Level::Ratio][..]),
        ] {
            let rows = matrix(raters, units, continuous, 7 + i as u64);
            let file = dir.join(format!("{raters}x{units}-{}.csv", u8::from(continuous)));
            write_csv(&file, &rows).expect("the matrix written");
            for &level in levels {
                let ratings = Ratings::from_rows(&rows).expect("valid ratings");
                let alpha = krippendorff_alpha(&ratings, level).expect("alpha").alpha;
                let rust_us = time(budget, || {
                    let r = Ratings::from_rows(black_box(&rows)).ok();
                    black_box(r.map(|r| krippendorff_alpha(&r, level).ok()));
                });
                cases.push(Case {
                    raters,
                    units,
                    values,
                    level,
                    file: file.clone(),
                    rust_us,
                    alpha,
                });
            }
        }
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/agreement_anchor.py");
    let mut cmd = Command::new(python());
    cmd.arg(script);
    for c in &cases {
        cmd.arg(format!("{}:{}", c.file.display(), c.level.as_str()));
    }
    let out = cmd.output().expect("the Python anchor runs");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(1);
    }
    let anchor: Vec<(f64, f64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f = l
                .split_whitespace()
                .map(|v| v.parse::<f64>().unwrap_or(f64::NAN));
            (f.next().unwrap_or(f64::NAN), f.next().unwrap_or(f64::NAN))
        })
        .collect();
    println!(
        "| raters × units | values | level | Kalibra µs | Python krippendorff µs | ratio | largest |Δα| |"
    );
    println!("| --- | --- | --- | ---: | ---: | ---: | ---: |");
    let (mut worst_ratio, mut worst_diff) = (f64::INFINITY, 0.0_f64);
    for (c, (py_us, py_alpha)) in cases.iter().zip(&anchor) {
        let size = format!("{} × {}", c.raters, c.units);
        let (level, ours) = (c.level.as_str(), c.rust_us);
        if py_us.is_nan() {
            println!(
                "| {size} | {} | {level} | {ours:.1} | n/a (needs > 2 GB) | | |",
                c.values
            );
            continue;
        }
        let ratio = py_us / c.rust_us;
        // A difference that is not a number (an unreadable answer) counts as the largest.
        let diff = (c.alpha - py_alpha).abs();
        let diff = if diff.is_nan() { f64::INFINITY } else { diff };
        worst_ratio = worst_ratio.min(ratio);
        worst_diff = worst_diff.max(diff);
        println!(
            "| {size} | {} | {level} | {ours:.1} | {py_us:.1} | {ratio:.1}× | {diff:.1e} |",
            c.values
        );
    }
    println!();
    println!(
        "Smallest speed-up {worst_ratio:.1}× (goal ≥ 10×); largest difference {worst_diff:.1e} (goal ≤ 1e-9)."
    );
    let _ = std::fs::remove_dir_all(&dir);
    if anchor.len() != cases.len() || worst_diff > 1e-9 || worst_diff.is_nan() {
        eprintln!("the alphas differ from the Python package's");
        std::process::exit(1);
    }
}
