//! Seeded synthetic datasets for scale: a Gaussian mixture and labels from a
//! random teacher network.

use super::Dataset;
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// `samples` points in `dim` dimensions from `classes` Gaussians with unit
/// covariance; class means are drawn N(0, I) and scaled to length
/// `separation` (larger is easier). Labels are balanced (round robin).
pub fn gaussian_mixture<R: Rng + ?Sized>(
    classes: usize,
    dim: usize,
    separation: f64,
    samples: usize,
    rng: &mut R,
) -> Dataset {
    let mut means = Array2::<f64>::zeros((classes, dim));
    for c in 0..classes {
        let v: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(rng)).collect();
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
        for j in 0..dim {
            means[[c, j]] = v[j] / norm * separation;
        }
    }
    let mut x = Array2::<f32>::zeros((samples, dim));
    let mut y = Vec::with_capacity(samples);
    for i in 0..samples {
        let c = i % classes;
        for j in 0..dim {
            let z: f64 = StandardNormal.sample(rng);
            x[[i, j]] = (means[[c, j]] + z) as f32;
        }
        y.push(c as u32);
    }
    Dataset {
        name: "gaussian_mixture".into(),
        x,
        y,
        classes,
        class_labels: Vec::new(),
    }
}

/// `samples` standard-normal inputs labelled by a random teacher network
/// (`dim` → `hidden` ReLU units → `classes`, weights N(0, 1/fan-in)): the
/// arg-max of its output. Learnable by a student of similar size.
pub fn teacher_student<R: Rng + ?Sized>(
    classes: usize,
    dim: usize,
    hidden: usize,
    samples: usize,
    rng: &mut R,
) -> Dataset {
    let w1: Vec<f64> = (0..dim * hidden)
        .map(|_| StandardNormal.sample(rng))
        .map(|z: f64| z / (dim as f64).sqrt())
        .collect();
    let w2: Vec<f64> = (0..hidden * classes)
        .map(|_| StandardNormal.sample(rng))
        .map(|z: f64| z / (hidden as f64).sqrt())
        .collect();
    // The first layer's weights by hidden unit, so each unit's dot product
    // reads memory in order (it was strided: 94% of a 40,000 × 784 run).
    let w1_by_unit: Vec<f64> = (0..hidden)
        .flat_map(|k| (0..dim).map(move |j| (j, k)))
        .map(|(j, k)| w1[j * hidden + k])
        .collect();
    let mut x = Array2::<f32>::zeros((samples, dim));
    let mut y = Vec::with_capacity(samples);
    // Samples in blocks: the inputs are drawn in sample order as before,
    // and each unit's sum still runs over j in order for every sample (so
    // the labels are the same bits), but BLOCK sums proceed side by side.
    const BLOCK: usize = 8;
    let mut inputs = vec![0f64; BLOCK * dim];
    let mut h = vec![0f64; BLOCK * hidden];
    for start in (0..samples).step_by(BLOCK) {
        let n = BLOCK.min(samples - start);
        for v in inputs[..n * dim].iter_mut() {
            *v = StandardNormal.sample(rng);
        }
        for k in 0..hidden {
            let w = &w1_by_unit[k * dim..(k + 1) * dim];
            // −0.0 is the identity `Iterator::sum` starts from.
            let mut acc = [-0.0f64; BLOCK];
            for (j, wj) in w.iter().enumerate() {
                for (b, a) in acc.iter_mut().enumerate().take(n) {
                    *a += inputs[b * dim + j] * wj;
                }
            }
            for (b, a) in acc.iter().enumerate().take(n) {
                h[b * hidden + k] = a.max(0.0);
            }
        }
        for b in 0..n {
            let hb = &h[b * hidden..(b + 1) * hidden];
            let label = (0..classes)
                .map(|c| {
                    (0..hidden)
                        .map(|k| hb[k] * w2[k * classes + c])
                        .sum::<f64>()
                })
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(c, _)| c)
                .unwrap_or(0);
            for j in 0..dim {
                x[[start + b, j]] = inputs[b * dim + j] as f32;
            }
            y.push(label as u32);
        }
    }
    Dataset {
        name: "teacher_student".into(),
        x,
        y,
        classes,
        class_labels: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn generators_are_seeded_and_shaped() {
        let a = gaussian_mixture(4, 8, 3.0, 400, &mut stream(1, "data", 0));
        let b = gaussian_mixture(4, 8, 3.0, 400, &mut stream(1, "data", 0));
        assert_eq!(a, b);
        assert_eq!((a.len(), a.dim(), a.classes), (400, 8, 4));
        assert_eq!(a.class_counts(), vec![100; 4]);
        let t = teacher_student(3, 10, 16, 600, &mut stream(2, "data", 0));
        assert_eq!((t.len(), t.dim(), t.classes), (600, 10, 3));
        // Every class is used by the teacher.
        assert!(
            t.class_counts().iter().all(|&c| c > 0),
            "{:?}",
            t.class_counts()
        );
    }
}
