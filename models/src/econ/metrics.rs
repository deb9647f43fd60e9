//! Concentration of holdings (or of any non-negative amounts): the Gini
//! coefficient, Nakamoto coefficients and the Herfindahl–Hirschman index.

/// How concentrated a set of holdings is.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Concentration {
    /// Gini coefficient: 0 when everyone holds the same, (n−1)/n when one holds all.
    pub gini: f64,
    /// Fewest holders who together hold more than a third.
    pub nakamoto_33: u32,
    /// Fewest holders who together hold more than half.
    pub nakamoto_51: u32,
    /// Herfindahl–Hirschman index, Σ shares² (1/n for equal holdings, 1 for one holder).
    pub hhi: f64,
}

/// The concentration of `holdings` (all zeros or none: everything zero).
pub fn concentration(holdings: &[u128]) -> Concentration {
    let mut v: Vec<f64> = holdings.iter().map(|&h| h as f64).collect();
    let total: f64 = v.iter().sum();
    if v.is_empty() || total <= 0.0 {
        return Concentration::default();
    }
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    // Gini = Σ (2i − n − 1) x_i / (n Σ x), i from 1, ascending.
    let gini = v
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * x)
        .sum::<f64>()
        / (n * total);
    let hhi = v.iter().map(|x| (x / total).powi(2)).sum();
    let nakamoto = |threshold: f64| {
        let mut acc = 0.0;
        for (k, x) in v.iter().rev().enumerate() {
            acc += x;
            if acc > threshold * total {
                return k as u32 + 1;
            }
        }
        v.len() as u32
    };
    Concentration {
        gini,
        nakamoto_33: nakamoto(1.0 / 3.0),
        nakamoto_51: nakamoto(0.5),
        hhi,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concentration_of_known_distributions() {
        // Equal holdings: Gini 0, HHI 1/n.
        let c = concentration(&[5; 10]);
        assert!(c.gini.abs() < 1e-12 && (c.hhi - 0.1).abs() < 1e-12);
        assert_eq!((c.nakamoto_33, c.nakamoto_51), (4, 6));
        // One holder has everything: Gini (n−1)/n, HHI 1, Nakamoto 1.
        let c = concentration(&[0, 0, 0, 100]);
        assert!((c.gini - 0.75).abs() < 1e-12 && (c.hhi - 1.0).abs() < 1e-12);
        assert_eq!((c.nakamoto_33, c.nakamoto_51), (1, 1));
        // 1, 2, 3, 4: Gini = Σ(2i−5)x / (4·10) = (−3 −2 +3 +12)/40 = 0.25.
        let c = concentration(&[1, 2, 3, 4]);
        assert!((c.gini - 0.25).abs() < 1e-12);
        assert_eq!(c.nakamoto_51, 2); // 4 + 3 = 7 > 5
    }
}
