//! How training examples are spread over nodes: IID, label skew by
//! Dirichlet(α), quantity skew (log-normal sizes) and "shards per client".
//!
//! Two modes: without `samples_per_node` the training set is split into
//! disjoint shards (some nodes may get none when nodes outnumber examples);
//! with it, each node draws its own shard of about that size from the pool
//! (examples may be shared between nodes), which scales to any node count.

use rand::Rng;
use rand::seq::SliceRandom;
use rand::seq::index::sample;
use rand_distr::{Distribution, LogNormal, multi::Dirichlet};

/// The partitioning scheme.
#[derive(Clone, Debug, PartialEq)]
pub enum Scheme {
    /// Uniformly random.
    Iid,
    /// Each class (disjoint mode) or each node's class mix (sampled mode)
    /// follows Dirichlet(α); small α gives few classes per node.
    Dirichlet {
        /// Concentration α > 0.
        alpha: f64,
    },
    /// Shard sizes proportional to log-normal(0, σ) draws.
    QuantitySkew {
        /// σ of the log of the sizes.
        sigma: f64,
    },
    /// Examples sorted by label and cut into `per_client` shards per node
    /// (sampled mode: each node draws from `per_client` random classes).
    Shards {
        /// Shards (classes) per node, ≥ 1.
        per_client: usize,
    },
}

fn by_class(labels: &[u32], classes: usize) -> Vec<Vec<u32>> {
    let mut c = vec![Vec::new(); classes];
    for (i, &y) in labels.iter().enumerate() {
        c[y as usize].push(i as u32);
    }
    c
}

/// Cuts `items` into consecutive pieces of the given (fractional) weights.
fn split_by_weights(items: &[u32], weights: &[f64], out: &mut [Vec<u32>]) {
    let total: f64 = weights.iter().sum();
    let n = items.len();
    let mut acc = 0.0;
    let mut start = 0;
    for (k, w) in weights.iter().enumerate() {
        acc += w;
        let end = if k + 1 == weights.len() {
            n
        } else {
            ((acc / total) * n as f64).round() as usize
        };
        let end = end.clamp(start, n);
        out[k].extend_from_slice(&items[start..end]);
        start = end;
    }
}

fn dirichlet<R: Rng + ?Sized>(alpha: f64, k: usize, rng: &mut R) -> Vec<f64> {
    if k == 1 {
        return vec![1.0];
    }
    let d = Dirichlet::new(&vec![alpha; k]).expect("validated alpha");
    d.sample(rng)
}

/// Example indices for each of `nodes` nodes, each list ascending.
pub fn partition<R: Rng + ?Sized>(
    scheme: &Scheme,
    labels: &[u32],
    classes: usize,
    nodes: usize,
    samples_per_node: Option<usize>,
    rng: &mut R,
) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); nodes];
    if nodes == 0 || labels.is_empty() {
        return out;
    }
    let classes_idx = by_class(labels, classes);
    match (scheme, samples_per_node) {
        (Scheme::Iid, None) => {
            let mut all: Vec<u32> = (0..labels.len() as u32).collect();
            all.shuffle(rng);
            split_by_weights(&all, &vec![1.0; nodes], &mut out);
        }
        (Scheme::QuantitySkew { sigma }, None) => {
            let mut all: Vec<u32> = (0..labels.len() as u32).collect();
            all.shuffle(rng);
            let ln = LogNormal::new(0.0, *sigma).expect("validated sigma");
            let w: Vec<f64> = (0..nodes).map(|_| ln.sample(rng)).collect();
            split_by_weights(&all, &w, &mut out);
        }
        (Scheme::Dirichlet { alpha }, None) => {
            for mut members in classes_idx {
                members.shuffle(rng);
                let p = dirichlet(*alpha, nodes, rng);
                split_by_weights(&members, &p, &mut out);
            }
        }
        (Scheme::Shards { per_client }, None) => {
            let mut sorted: Vec<u32> = (0..labels.len() as u32).collect();
            sorted.sort_by_key(|&i| (labels[i as usize], i));
            let shards = nodes * per_client;
            let mut pieces = vec![Vec::new(); shards];
            split_by_weights(&sorted, &vec![1.0; shards], &mut pieces);
            let mut order: Vec<usize> = (0..shards).collect();
            order.shuffle(rng);
            for (k, s) in order.into_iter().enumerate() {
                out[k % nodes].extend_from_slice(&pieces[s]);
            }
        }
        (scheme, Some(m)) => {
            let live: Vec<usize> = (0..classes)
                .filter(|&c| !classes_idx[c].is_empty())
                .collect();
            for shard in out.iter_mut() {
                let size = match scheme {
                    Scheme::QuantitySkew { sigma } => {
                        let ln = LogNormal::new(0.0, *sigma).expect("validated sigma");
                        ((m as f64 * ln.sample(rng)).round() as usize).max(1)
                    }
                    _ => m,
                };
                match scheme {
                    Scheme::Iid | Scheme::QuantitySkew { .. } => {
                        let take = size.min(labels.len());
                        shard.extend(sample(rng, labels.len(), take).iter().map(|i| i as u32));
                    }
                    Scheme::Dirichlet { alpha } => {
                        let p = dirichlet(*alpha, live.len(), rng);
                        let mut counts = vec![0usize; live.len()];
                        split_counts(size, &p, &mut counts);
                        for (k, &c) in live.iter().enumerate() {
                            draw_from(&classes_idx[c], counts[k], shard, rng);
                        }
                    }
                    Scheme::Shards { per_client } => {
                        let mut pick = live.clone();
                        let (chosen, _) = pick.partial_shuffle(rng, (*per_client).min(live.len()));
                        let chosen = chosen.to_vec();
                        let mut counts = vec![0usize; chosen.len()];
                        split_counts(size, &vec![1.0; chosen.len()], &mut counts);
                        for (k, &c) in chosen.iter().enumerate() {
                            draw_from(&classes_idx[c], counts[k], shard, rng);
                        }
                    }
                }
            }
        }
    }
    for s in &mut out {
        s.sort_unstable();
    }
    out
}

/// Splits `total` into integer counts proportional to `p` (largest remainders).
fn split_counts(total: usize, p: &[f64], counts: &mut [usize]) {
    let sum: f64 = p.iter().sum();
    let mut rem: Vec<(f64, usize)> = Vec::with_capacity(p.len());
    let mut given = 0;
    for (k, &pk) in p.iter().enumerate() {
        let exact = total as f64 * pk / sum;
        counts[k] = exact.floor() as usize;
        given += counts[k];
        rem.push((exact - exact.floor(), k));
    }
    rem.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, k) in rem.iter().take(total - given) {
        counts[k] += 1;
    }
}

/// Draws `count` examples from `members` without replacement where possible.
fn draw_from<R: Rng + ?Sized>(members: &[u32], count: usize, out: &mut Vec<u32>, rng: &mut R) {
    let mut left = count;
    while left > 0 {
        let take = left.min(members.len());
        out.extend(sample(rng, members.len(), take).iter().map(|i| members[i]));
        left -= take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn labels() -> Vec<u32> {
        (0..1000u32).map(|i| i % 10).collect()
    }

    fn distinct_classes(shard: &[u32], y: &[u32]) -> usize {
        let mut c: Vec<u32> = shard.iter().map(|&i| y[i as usize]).collect();
        c.sort_unstable();
        c.dedup();
        c.len()
    }

    #[test]
    fn disjoint_schemes_cover_every_example_once() {
        let y = labels();
        for scheme in [
            Scheme::Iid,
            Scheme::Dirichlet { alpha: 0.1 },
            Scheme::QuantitySkew { sigma: 1.0 },
            Scheme::Shards { per_client: 2 },
        ] {
            let p = partition(&scheme, &y, 10, 20, None, &mut stream(1, "p", 0));
            let mut all: Vec<u32> = p.concat();
            all.sort_unstable();
            assert_eq!(all, (0..1000).collect::<Vec<u32>>(), "{scheme:?}");
        }
    }

    #[test]
    fn skew_shows_in_the_shards() {
        let y = labels();
        let iid = partition(&Scheme::Iid, &y, 10, 20, None, &mut stream(1, "p", 0));
        assert!(
            iid.iter()
                .all(|s| s.len() == 50 && distinct_classes(s, &y) >= 8)
        );
        let shards = partition(
            &Scheme::Shards { per_client: 2 },
            &y,
            10,
            20,
            None,
            &mut stream(1, "p", 0),
        );
        assert!(shards.iter().all(|s| distinct_classes(s, &y) <= 2));
        let dir = partition(
            &Scheme::Dirichlet { alpha: 0.1 },
            &y,
            10,
            20,
            None,
            &mut stream(1, "p", 0),
        );
        let mean_classes: f64 = dir
            .iter()
            .map(|s| distinct_classes(s, &y) as f64)
            .sum::<f64>()
            / 20.0;
        assert!(
            mean_classes < 5.0,
            "α = 0.1 should concentrate classes, got {mean_classes}"
        );
    }

    #[test]
    fn sampled_mode_gives_every_node_a_shard() {
        let y = labels();
        let p = partition(
            &Scheme::Dirichlet { alpha: 0.5 },
            &y,
            10,
            5000,
            Some(20),
            &mut stream(1, "p", 0),
        );
        assert_eq!(p.len(), 5000);
        assert!(p.iter().all(|s| s.len() == 20));
        let q = partition(
            &Scheme::Shards { per_client: 1 },
            &y,
            10,
            100,
            Some(20),
            &mut stream(1, "p", 0),
        );
        assert!(q.iter().all(|s| distinct_classes(s, &y) == 1));
        let a = partition(&Scheme::Iid, &y, 10, 50, Some(30), &mut stream(9, "p", 0));
        let b = partition(&Scheme::Iid, &y, 10, 50, Some(30), &mut stream(9, "p", 0));
        assert_eq!(a, b);
    }
}
