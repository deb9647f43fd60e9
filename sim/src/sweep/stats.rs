//! Statistics across a cell's replicates: mean, sample standard deviation
//! and the 95% confidence interval of the mean (Student's t).

/// Two-sided 95% quantiles of Student's t, t(0.975, ν) for ν = 1 … 30.
const T975: [f64; 30] = [
    12.706_204_736,
    4.302_652_730,
    3.182_446_305,
    2.776_445_105,
    2.570_581_836,
    2.446_911_851,
    2.364_624_252,
    2.306_004_135,
    2.262_157_163,
    2.228_138_852,
    2.200_985_160,
    2.178_812_830,
    2.160_368_656,
    2.144_786_688,
    2.131_449_546,
    2.119_905_299,
    2.109_815_578,
    2.100_922_040,
    2.093_024_054,
    2.085_963_447,
    2.079_613_845,
    2.073_873_068,
    2.068_657_610,
    2.063_898_562,
    2.059_538_553,
    2.055_529_439,
    2.051_830_516,
    2.048_407_142,
    2.045_229_642,
    2.042_272_456,
];

/// t(0.975, ν): the table up to 30 degrees of freedom, then the
/// Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5), within 1e-6.
pub fn t975(dof: u64) -> f64 {
    if dof == 0 {
        return f64::NAN;
    }
    if let Some(&t) = T975.get(dof as usize - 1) {
        return t;
    }
    let z: f64 = 1.959_963_984_540_054;
    let n = dof as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    let g4 = (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5)
        - 1920.0 * z.powi(3)
        - 945.0 * z)
        / 92_160.0;
    z + g1 / n + g2 / n.powi(2) + g3 / n.powi(3) + g4 / n.powi(4)
}

/// Mean, spread and 95% interval of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    /// Values in the sample (non-null, finite).
    pub n: u64,
    /// Arithmetic mean (None when empty).
    pub mean: Option<f64>,
    /// Sample standard deviation, n − 1 in the denominator (None below 2).
    pub sd: Option<f64>,
    /// Half-width of the 95% confidence interval of the mean:
    /// t(0.975, n − 1) · sd / √n (None below 2).
    pub ci95: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Moments {
    /// The moments of the finite values (NaN and infinities are left out).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Moments {
        let xs: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        let n = xs.len() as u64;
        if n == 0 {
            return Moments {
                n,
                mean: None,
                sd: None,
                ci95: None,
                min: None,
                max: None,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let (sd, ci95) = if n >= 2 {
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let sd = var.sqrt();
            (Some(sd), Some(t975(n - 1) * sd / (n as f64).sqrt()))
        } else {
            (None, None)
        };
        Moments {
            n,
            mean: Some(mean),
            sd,
            ci95,
            min: xs.iter().copied().reduce(f64::min),
            max: xs.iter().copied().reduce(f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_published_tables() {
        // Published t(0.975, ν) values.
        for (dof, t) in [
            (1, 12.7062),
            (5, 2.5706),
            (30, 2.0423),
            (40, 2.021_075),
            (60, 2.000_298),
            (120, 1.979_930),
        ] {
            assert!((t975(dof) - t).abs() < 1e-4, "ν = {dof}: {}", t975(dof));
        }
        assert!((t975(31) - 2.039_513).abs() < 1e-5);
        assert!((t975(1_000_000) - 1.959_966).abs() < 1e-5);
    }

    #[test]
    fn moments_of_a_small_sample_by_hand() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7.
        let m = Moments::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, f64::NAN]);
        assert_eq!(m.n, 8);
        assert_eq!(m.mean, Some(5.0));
        let sd = (32.0f64 / 7.0).sqrt();
        assert!((m.sd.unwrap() - sd).abs() < 1e-12);
        assert!((m.ci95.unwrap() - 2.364_624_252 * sd / 8f64.sqrt()).abs() < 1e-12);
        assert_eq!((m.min, m.max), (Some(2.0), Some(9.0)));
        let one = Moments::of([3.0]);
        assert_eq!((one.mean, one.sd, one.ci95), (Some(3.0), None, None));
        assert_eq!(Moments::of([]).mean, None);
    }
}
