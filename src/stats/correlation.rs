//! Pearson's correlation with its 95 % interval (Fisher's z), from running sums, so it can be
//! accumulated row by row. With a yes / no variable coded 1 / 0 it is the point-biserial
//! correlation.

use super::interval::{Estimate, Z_95};

/// Running sums of pairs (x, y).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pairs {
    pub n: u64,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Pairs {
    pub fn add(&mut self, x: f64, y: f64) {
        self.n += 1;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.syy += y * y;
        self.sxy += x * y;
    }

    /// r with its interval; `None` under 4 pairs or when either side never varies.
    pub fn correlation(&self) -> Option<Estimate> {
        if self.n < 4 {
            return None;
        }
        let n = self.n as f64;
        let cov = n * self.sxy - self.sx * self.sy;
        let vx = n * self.sxx - self.sx * self.sx;
        let vy = n * self.syy - self.sy * self.sy;
        // Relative to the scale of the sums: a spread that is only rounding is none.
        if vx <= 1e-12 * n * self.sxx.abs().max(1.0) || vy <= 1e-12 * n * self.syy.abs().max(1.0) {
            return None;
        }
        let r = (cov / (vx.sqrt() * vy.sqrt())).clamp(-1.0, 1.0);
        let z = r.clamp(-0.999_999_999, 0.999_999_999).atanh();
        let half = Z_95 / (n - 3.0).sqrt();
        Some(Estimate {
            value: r,
            low: (z - half).tanh(),
            high: (z + half).tanh(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_and_fisher_interval() {
        // x = 1..5, y = 2, 4, 5, 4, 5: r = 0.7745966692414834 (= √0.6), as numpy.corrcoef;
        // Fisher: atanh(r) ± 1.96 / √2 → (-0.34008, 0.98424).
        let mut p = Pairs::default();
        for (x, y) in [(1.0, 2.0), (2.0, 4.0), (3.0, 5.0), (4.0, 4.0), (5.0, 5.0)] {
            p.add(x, y);
        }
        let e = p.correlation().unwrap();
        assert!((e.value - 0.6f64.sqrt()).abs() < 1e-12, "{e:?}");
        let z = 0.6f64.sqrt().atanh();
        let half = Z_95 / 2f64.sqrt();
        assert!((e.low - (z - half).tanh()).abs() < 1e-12);
        assert!((e.high - (z + half).tanh()).abs() < 1e-12);
        assert!(
            (e.low - -0.340_082).abs() < 1e-6 && (e.high - 0.984_236).abs() < 1e-6,
            "{e:?}"
        );
    }

    #[test]
    fn no_correlation_without_spread_or_pairs() {
        let mut p = Pairs::default();
        for x in [1.0, 2.0, 3.0, 4.0] {
            p.add(x, 1.0);
        }
        assert_eq!(p.correlation(), None);
        let mut few = Pairs::default();
        few.add(1.0, 1.0);
        few.add(2.0, 2.0);
        assert_eq!(few.correlation(), None);
    }
}
