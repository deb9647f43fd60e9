//! Datasets: features and labels, the train/test split and feature
//! standardisation. Sources: the shipped UCI digits, synthetic generators,
//! and tables (CSV text here; Arrow and Parquet files are read by `dmlsim`).

pub mod digits;
pub mod synthetic;
pub mod table;

use ndarray::{Array2, Axis};
use rand::Rng;
use rand::seq::SliceRandom;

/// A classification dataset: one row of features per example, labels in `0..classes`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Where it came from (`digits`, `gaussian_mixture`, a file name …).
    pub name: String,
    /// Features, one row per example.
    pub x: Array2<f32>,
    /// Labels in `0..classes`.
    pub y: Vec<u32>,
    /// Number of classes.
    pub classes: usize,
    /// What each class stands for in the source table (class `i` is
    /// `class_labels[i]`); empty for generated data.
    pub class_labels: Vec<String>,
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether the dataset has no examples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// The examples at `rows`, in that order.
    pub fn select(&self, rows: &[u32]) -> Dataset {
        let idx: Vec<usize> = rows.iter().map(|&r| r as usize).collect();
        Dataset {
            name: self.name.clone(),
            x: self.x.select(Axis(0), &idx),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            classes: self.classes,
            class_labels: self.class_labels.clone(),
        }
    }

    /// Splits off a shuffled test set holding `test_fraction` of the examples
    /// (at least one example on each side when there are two or more).
    pub fn split<R: Rng + ?Sized>(&self, test_fraction: f64, rng: &mut R) -> (Dataset, Dataset) {
        let n = self.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(rng);
        let mut n_test = (test_fraction * n as f64).round() as usize;
        if n >= 2 {
            n_test = n_test.clamp(1, n - 1);
        }
        let (test, train) = order.split_at(n_test);
        (self.select(train), self.select(test))
    }

    /// Examples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes];
        for &y in &self.y {
            c[y as usize] += 1;
        }
        c
    }
}

/// Per-feature standardisation fitted on the training set and applied to
/// both sets (constant features are left centred, not divided by zero).
#[derive(Clone, Debug)]
pub struct Standardizer {
    mean: Vec<f32>,
    scale: Vec<f32>,
}

impl Standardizer {
    /// Fits means and standard deviations on `train`.
    pub fn fit(train: &Dataset) -> Standardizer {
        let n = train.len().max(1) as f64;
        let d = train.dim();
        let mut mean = vec![0f64; d];
        let mut sq = vec![0f64; d];
        for row in train.x.rows() {
            for (j, &v) in row.iter().enumerate() {
                mean[j] += f64::from(v);
                sq[j] += f64::from(v) * f64::from(v);
            }
        }
        let mut scale = vec![1f32; d];
        for j in 0..d {
            mean[j] /= n;
            let var = (sq[j] / n - mean[j] * mean[j]).max(0.0);
            if var > 1e-12 {
                scale[j] = (1.0 / var.sqrt()) as f32;
            }
        }
        Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale,
        }
    }

    /// Standardises `data` in place.
    pub fn apply(&self, data: &mut Dataset) {
        for mut row in data.x.rows_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v - self.mean[j]) * self.scale[j];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn split_is_disjoint_and_complete() {
        let d = digits::load();
        let (train, test) = d.split(0.2, &mut stream(1, "split", 0));
        assert_eq!(train.len() + test.len(), d.len());
        assert_eq!(test.len(), 359);
        assert_eq!(train.class_counts().iter().sum::<usize>(), train.len());
    }

    #[test]
    fn standardised_training_features_have_zero_mean_unit_variance() {
        let mut d = digits::load();
        let s = Standardizer::fit(&d);
        s.apply(&mut d);
        let col = d.x.column(20);
        let n = col.len() as f64;
        let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = col
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
        // Column 0 is constant zero in digits: centred, not blown up.
        assert!(d.x.column(0).iter().all(|&v| v == 0.0));
    }
}
