//! Classifiers with flat parameter vectors: multinomial logistic regression
//! and multilayer perceptrons (ReLU hidden layers, softmax cross-entropy),
//! with an exact count of the floating-point operations they perform.
//!
//! Parameters are one `Vec<f32>` (layer by layer: weights `in × out`
//! row-major, then biases), which is what clients send and aggregators
//! average.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand_distr::{Distribution, Normal};

/// A feed-forward classifier: `sizes = [inputs, hidden…, classes]`.
/// No hidden layer is multinomial logistic regression.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    sizes: Vec<usize>,
}

/// Loss and accuracy of a model on a dataset.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Scores {
    /// Mean softmax cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
}

/// Examples per batch when a model is evaluated (every backend sums the
/// loss per batch of this size, then over batches).
pub const EVAL_BATCH: usize = 1024;

/// The cross-entropy of an example whose label has probability `p`:
/// −ln p in f64, capped at −ln 1e−30 ≈ 69 for a confident miss; a NaN
/// probability (a diverged model) stays NaN, not 69. Every backend scores
/// with it.
pub fn cross_entropy(p: f32) -> f64 {
    -f64::from(if p.is_nan() { p } else { p.max(1e-30) }).ln()
}

impl Mlp {
    /// A network with the given layer sizes (at least inputs and classes).
    pub fn new(sizes: Vec<usize>) -> Mlp {
        assert!(
            sizes.len() >= 2 && sizes.iter().all(|&s| s > 0),
            "bad layer sizes {sizes:?}"
        );
        Mlp { sizes }
    }

    /// Multinomial logistic regression.
    pub fn logistic(inputs: usize, classes: usize) -> Mlp {
        Mlp::new(vec![inputs, classes])
    }

    /// Layer sizes.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// `logistic` or `mlp`.
    pub fn kind(&self) -> &'static str {
        if self.sizes.len() == 2 {
            "logistic"
        } else {
            "mlp"
        }
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.layers().map(|(i, o)| i * o + o).sum()
    }

    fn layers(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.sizes.windows(2).map(|w| (w[0], w[1]))
    }

    /// He-normal weights for ReLU layers (N(0, 2/in)), N(0, 1/in) for the
    /// output layer, zero biases.
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f32> {
        let mut p = Vec::with_capacity(self.num_params());
        let last = self.sizes.len() - 2;
        for (l, (i, o)) in self.layers().enumerate() {
            let var = if l == last {
                1.0 / i as f64
            } else {
                2.0 / i as f64
            };
            let n = Normal::new(0.0, var.sqrt()).expect("positive variance");
            p.extend((0..i * o).map(|_| n.sample(rng) as f32));
            p.extend(std::iter::repeat_n(0.0f32, o));
        }
        p
    }

    /// FLOPs of one forward pass for one example (a multiply-add counts 2).
    pub fn forward_flops_per_sample(&self) -> f64 {
        let hidden_layers = self.sizes.len() - 2;
        let mut f = 0.0;
        for (l, (i, o)) in self.layers().enumerate() {
            f += (2 * i * o + o) as f64; // matmul + bias
            if l < hidden_layers {
                f += o as f64; // ReLU
            }
        }
        let c = *self.sizes.last().expect("classes") as f64;
        f + 4.0 * c + 1.0 // softmax (max, exp, sum, divide) and the log of the target
    }

    /// FLOPs of a forward and backward pass for one example (the SGD update
    /// is counted per step by the trainer).
    pub fn train_flops_per_sample(&self) -> f64 {
        let mut f = self.forward_flops_per_sample();
        let c = *self.sizes.last().expect("classes") as f64;
        f += 2.0 * c; // dZ = (p − onehot) / B
        for (l, (i, o)) in self.layers().enumerate() {
            f += (2 * i * o + o) as f64; // weight and bias gradients
            if l > 0 {
                f += (2 * i * o + i) as f64; // input gradient and ReLU mask
            }
        }
        f
    }

    fn views<'a>(&self, params: &'a [f32]) -> Vec<(ArrayView2<'a, f32>, &'a [f32])> {
        let mut off = 0;
        self.layers()
            .map(|(i, o)| {
                let w =
                    ArrayView2::from_shape((i, o), &params[off..off + i * o]).expect("layer shape");
                let b = &params[off + i * o..off + i * o + o];
                off += i * o + o;
                (w, b)
            })
            .collect()
    }

    /// Forward pass: the activations of every layer (the last are logits).
    fn forward(&self, params: &[f32], x: ArrayView2<f32>) -> Vec<Array2<f32>> {
        let views = self.views(params);
        let n_layers = views.len();
        let mut acts: Vec<Array2<f32>> = Vec::with_capacity(n_layers);
        for (l, (w, b)) in views.iter().enumerate() {
            let input = if l == 0 { x.view() } else { acts[l - 1].view() };
            let mut z = input.dot(w);
            for mut row in z.rows_mut() {
                for (v, bias) in row.iter_mut().zip(b.iter()) {
                    *v += bias;
                    if l + 1 < n_layers && *v < 0.0 {
                        *v = 0.0;
                    }
                }
            }
            acts.push(z);
        }
        acts
    }

    /// Softmax probabilities in place; returns the summed cross-entropy and
    /// the number of correct arg-max predictions.
    fn softmax_loss(logits: &mut Array2<f32>, y: &[u32]) -> (f64, usize) {
        let mut loss = 0.0f64;
        let mut correct = 0;
        for (mut row, &label) in logits.rows_mut().into_iter().zip(y) {
            let (arg, max) =
                row.iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |(ai, am), (i, &v)| {
                        if v > am { (i, v) } else { (ai, am) }
                    });
            if arg == label as usize {
                correct += 1;
            }
            let mut sum = 0.0f32;
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            for v in row.iter_mut() {
                *v /= sum;
            }
            loss += cross_entropy(row[label as usize]);
        }
        (loss, correct)
    }

    /// Mean cross-entropy over the batch; the mean gradient is written to `grad`.
    pub fn loss_grad(
        &self,
        params: &[f32],
        x: ArrayView2<f32>,
        y: &[u32],
        grad: &mut [f32],
    ) -> f64 {
        let batch = y.len();
        let mut acts = self.forward(params, x);
        let mut dz = acts.pop().expect("output layer");
        let (loss, _) = Self::softmax_loss(&mut dz, y);
        let inv = 1.0 / batch as f32;
        for (mut row, &label) in dz.rows_mut().into_iter().zip(y) {
            row[label as usize] -= 1.0;
            row.mapv_inplace(|v| v * inv);
        }
        let views = self.views(params);
        let mut offsets: Vec<usize> = Vec::with_capacity(views.len());
        let mut off = 0;
        for (i, o) in self.layers() {
            offsets.push(off);
            off += i * o + o;
        }
        for l in (0..views.len()).rev() {
            let (w, _) = views[l];
            let (i, o) = (w.nrows(), w.ncols());
            let input = if l == 0 { x.view() } else { acts[l - 1].view() };
            let dw = input.t().dot(&dz);
            let start = offsets[l];
            grad[start..start + i * o].copy_from_slice(dw.as_slice().expect("standard layout"));
            let db = dz.sum_axis(Axis(0));
            grad[start + i * o..start + i * o + o]
                .copy_from_slice(db.as_slice().expect("contiguous"));
            if l > 0 {
                let mut da = dz.dot(&w.t());
                // ReLU: pass gradients only where the unit was active.
                ndarray::Zip::from(&mut da)
                    .and(&acts[l - 1])
                    .for_each(|g, &a| {
                        if a <= 0.0 {
                            *g = 0.0;
                        }
                    });
                dz = da;
            }
        }
        loss / batch as f64
    }

    /// Loss and accuracy on a dataset, in batches of [`EVAL_BATCH`] examples.
    pub fn evaluate(&self, params: &[f32], x: ArrayView2<f32>, y: &[u32]) -> Scores {
        let mut loss = 0.0;
        let mut correct = 0;
        let n = y.len();
        let mut start = 0;
        while start < n {
            let end = (start + EVAL_BATCH).min(n);
            let mut acts = self.forward(params, x.slice(ndarray::s![start..end, ..]));
            let mut logits = acts.pop().expect("output layer");
            let (l, c) = Self::softmax_loss(&mut logits, &y[start..end]);
            loss += l;
            correct += c;
            start = end;
        }
        Scores {
            loss: loss / n.max(1) as f64,
            accuracy: correct as f64 / n.max(1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use rand::RngExt;

    fn random_batch(m: &Mlp, n: usize, seed: u64) -> (Array2<f32>, Vec<u32>) {
        let mut rng = stream(seed, "batch", 0);
        let d = m.sizes()[0];
        let c = *m.sizes().last().unwrap() as u32;
        let x = Array2::from_shape_fn((n, d), |_| rng.random::<f32>() * 2.0 - 1.0);
        let y = (0..n).map(|_| rng.random_range(0..c)).collect();
        (x, y)
    }

    fn gradient_check(m: &Mlp) {
        let mut rng = stream(3, "init", 0);
        let params = m.init(&mut rng);
        let (x, y) = random_batch(m, 7, 5);
        let mut grad = vec![0f32; m.num_params()];
        m.loss_grad(&params, x.view(), &y, &mut grad);
        let eps = 1e-3f32;
        let mut worst = 0.0f64;
        for k in 0..m.num_params() {
            let mut p = params.clone();
            p[k] += eps;
            let up = m.evaluate(&p, x.view(), &y).loss;
            p[k] -= 2.0 * eps;
            let down = m.evaluate(&p, x.view(), &y).loss;
            let numeric = (up - down) / (2.0 * f64::from(eps));
            let err = (numeric - f64::from(grad[k])).abs()
                / (numeric.abs() + f64::from(grad[k]).abs() + 1e-3);
            worst = worst.max(err);
        }
        eprintln!("{:?}: worst relative gradient error {worst:.2e}", m.sizes());
        assert!(
            worst < 1e-2,
            "{:?}: worst relative gradient error {worst}",
            m.sizes()
        );
    }

    #[test]
    fn logistic_gradient_matches_finite_differences() {
        gradient_check(&Mlp::logistic(6, 4));
    }

    #[test]
    fn mlp_gradient_matches_finite_differences() {
        gradient_check(&Mlp::new(vec![5, 8, 3]));
        gradient_check(&Mlp::new(vec![5, 8, 6, 3]));
    }

    #[test]
    fn flop_counts_follow_the_layer_sizes() {
        let m = Mlp::new(vec![64, 32, 10]);
        assert_eq!(m.num_params(), 64 * 32 + 32 + 32 * 10 + 10);
        // Forward: 2·64·32+32 + 32 (ReLU) + 2·32·10+10 + softmax 4·10+1.
        assert_eq!(
            m.forward_flops_per_sample(),
            (4096 + 32 + 32 + 640 + 10 + 41) as f64
        );
        // Backward adds 2·10, weight+bias grads of both layers, input grad of layer 2.
        let backward = 20 + (4096 + 32) + (640 + 10) + (640 + 32);
        assert_eq!(
            m.train_flops_per_sample(),
            m.forward_flops_per_sample() + backward as f64
        );
    }
}
