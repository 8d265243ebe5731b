//! 95 % confidence intervals for the figures quality reports show: a mean (Student's t) and a
//! share (Wilson score), and the sample size a margin of error needs.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The two-sided 95 % normal quantile.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// A figure with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// The t quantile for a two-sided 95 % interval with `df` degrees of freedom.
fn t_95(df: u64) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    Some(t.inverse_cdf(0.975))
}

/// Mean of `n` values from their sum and sum of squares, with its t interval. `None` for no
/// values; one value has no interval (low = high = the value).
pub fn mean(n: u64, sum: f64, sum_sq: f64) -> Option<Estimate> {
    if n == 0 {
        return None;
    }
    let m = sum / n as f64;
    if n == 1 {
        return Some(Estimate {
            value: m,
            low: m,
            high: m,
        });
    }
    // Rounding can make a tiny negative variance out of equal values.
    let var = ((sum_sq - n as f64 * m * m) / (n - 1) as f64).max(0.0);
    let half = t_95(n - 1)? * (var / n as f64).sqrt();
    Some(Estimate {
        value: m,
        low: m - half,
        high: m + half,
    })
}

/// The share `k / n` with its Wilson score interval. `None` for `n = 0`.
pub fn share(k: u64, n: u64) -> Option<Estimate> {
    if n == 0 || k > n {
        return None;
    }
    let (nf, p, z2) = (n as f64, k as f64 / n as f64, Z_95 * Z_95);
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = Z_95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / (1.0 + z2 / nf);
    Some(Estimate {
        value: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// How many evaluations give a mean within ±`margin` at 95 %, for values with standard
/// deviation `sd`: ⌈(z · sd / margin)²⌉.
pub fn sample_size(sd: f64, margin: f64) -> Option<u64> {
    if !(sd >= 0.0 && margin > 0.0) {
        return None;
    }
    Some(((Z_95 * sd / margin).powi(2)).ceil().max(1.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_interval_uses_students_t() {
        // 1, 2, …, 10: mean 5.5, s = 3.0276503540974917, t(9) = 2.262157162798205.
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let e = mean(10, xs.iter().sum(), xs.iter().map(|x| x * x).sum()).unwrap();
        let half = 2.262_157_162_798_205 * 3.027_650_354_097_491_7 / 10f64.sqrt();
        assert_eq!(e.value, 5.5);
        assert!((e.high - (5.5 + half)).abs() < 1e-9, "{e:?}");
        assert!((e.low - (5.5 - half)).abs() < 1e-9, "{e:?}");
        assert_eq!(mean(0, 0.0, 0.0), None);
        let one = mean(1, 80.0, 6400.0).unwrap();
        assert_eq!((one.low, one.high), (80.0, 80.0));
        let same = mean(3, 150.0, 7500.0).unwrap();
        assert_eq!((same.low, same.high), (50.0, 50.0));
    }

    #[test]
    fn share_interval_is_wilsons() {
        // 8 of 10: (0.49016247153664183, 0.9433178485456247), as statsmodels' proportion_confint.
        let e = share(8, 10).unwrap();
        assert_eq!(e.value, 0.8);
        assert!((e.low - 0.490_162_471_536_641_83).abs() < 1e-12);
        assert!((e.high - 0.943_317_848_545_624_7).abs() < 1e-12);
        assert_eq!(share(0, 0), None);
        assert_eq!(share(0, 5).unwrap().low, 0.0);
    }

    #[test]
    fn sample_size_for_a_margin() {
        // sd 15 points, ±5 points: (1.96 · 15 / 5)² = 34.57… → 35.
        assert_eq!(sample_size(15.0, 5.0), Some(35));
        assert_eq!(sample_size(15.0, 0.0), None);
    }
}
