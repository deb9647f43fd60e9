//! Client selection among the nodes online now: uniform, or weighted by
//! the stake bonded to each node's operator.

use crate::engine::SimTime;
use crate::engine::id_hash::IdSet;
use crate::engine::rng::StreamRng;
use crate::world::Nodes;
use rand::RngExt;

/// A selected client and the end of its current online period.
pub struct Chosen {
    /// Node id.
    pub node: u32,
    /// When the node goes offline (SimTime::MAX: never).
    pub online_until: SimTime,
}

/// Ids drawn and warmed at a time while selecting.
const DRAW_BATCH: usize = 256;

/// Picks up to `k` distinct online nodes, ascending by id: uniformly at
/// random, or by stake when the nodes carry stake weights.
pub fn select_clients(
    nodes: &mut Nodes,
    now: SimTime,
    k: usize,
    rng: &mut StreamRng,
) -> Vec<Chosen> {
    match nodes.stake_weights.take() {
        Some(cumulative) => {
            let chosen = select_by_stake(nodes, now, k, rng, &cumulative);
            nodes.stake_weights = Some(cumulative);
            chosen
        }
        None => select_uniform(nodes, now, k, rng),
    }
}

/// Picks up to `k` distinct online nodes uniformly at random, ascending by id.
/// Draws random ids first (cheap when most nodes are online) and falls back to
/// a full scan when online nodes are scarce; both are uniform over online nodes.
fn select_uniform(nodes: &mut Nodes, now: SimTime, k: usize, rng: &mut StreamRng) -> Vec<Chosen> {
    let n = nodes.len();
    let mut taken: IdSet<u32> = IdSet::with_capacity_and_hasher(k * 2, Default::default());
    let mut chosen = Vec::with_capacity(k);
    let mut tries_left = 8 * k + 64;
    let mut batch = Vec::with_capacity(DRAW_BATCH);
    // Ids are drawn a batch at a time so that their availability entries
    // can be read in one pass (`Nodes::warm_availability`): in a large
    // population each is a cache miss, and a pass overlaps them. The
    // stream must end where drawing one id at a time would have ended, so
    // a batch cut short by a full selection is drawn again up to its cut.
    while chosen.len() < k && tries_left > 0 {
        let before = rng.get_word_pos();
        batch.clear();
        // About twice the ids still needed: few are drawn past the end.
        let size = DRAW_BATCH.min(tries_left).min(2 * (k - chosen.len()) + 8);
        batch.extend((0..size).map(|_| rng.random_range(0..n) as u32));
        nodes.warm_availability(&batch);
        let mut used = 0;
        for &id in &batch {
            if chosen.len() == k {
                break;
            }
            used += 1;
            consider(nodes, now, id, &mut taken, &mut chosen);
        }
        tries_left -= used;
        if used < batch.len() {
            rng.set_word_pos(before);
            for _ in 0..used {
                rng.random_range(0..n);
            }
        }
    }
    fill_by_scan(nodes, now, k, &taken, &mut chosen, rng);
    chosen.sort_by_key(|c| c.node);
    chosen
}

/// Picks up to `k` distinct online nodes by successive sampling in
/// proportion to their weights (`cumulative`: the running sum of the
/// nodes' weights): each pick is a node with probability ∝ its weight
/// among the online nodes not yet picked. Nodes of zero weight are never
/// picked. Draws a weight position first (a binary search each); when
/// those find too few, the rest are picked among all the eligible nodes by
/// Efraimidis–Spirakis keys (ln u ÷ w, largest first), which is the same
/// successive sampling.
fn select_by_stake(
    nodes: &mut Nodes,
    now: SimTime,
    k: usize,
    rng: &mut StreamRng,
    cumulative: &[u128],
) -> Vec<Chosen> {
    let total = cumulative.last().copied().unwrap_or(0);
    let mut taken: IdSet<u32> = IdSet::with_capacity_and_hasher(k * 2, Default::default());
    let mut chosen = Vec::with_capacity(k);
    if total > 0 {
        let mut tries_left = 8 * k + 64;
        while chosen.len() < k && tries_left > 0 {
            let x = rng.random_range(0..total);
            let id = cumulative.partition_point(|&c| c <= x) as u32;
            consider(nodes, now, id, &mut taken, &mut chosen);
            tries_left -= 1;
        }
    }
    if chosen.len() < k {
        let weight = |id: usize| cumulative[id] - if id == 0 { 0 } else { cumulative[id - 1] };
        let mut keyed: Vec<(f64, Chosen)> = Vec::new();
        for id in 0..nodes.len() as u32 {
            let w = weight(id as usize);
            if w == 0 || taken.contains(&id) || !nodes.selectable(id) {
                continue;
            }
            if let Some(until) = nodes.online_until(id, now) {
                let u: f64 = rng.random();
                keyed.push((
                    (1.0 - u).ln() / w as f64,
                    Chosen {
                        node: id,
                        online_until: until,
                    },
                ));
            }
        }
        // Largest key first; ties (never in practice) by id.
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.node.cmp(&b.1.node)));
        chosen.extend(keyed.into_iter().take(k - chosen.len()).map(|(_, c)| c));
    }
    chosen.sort_by_key(|c| c.node);
    chosen
}

/// Chooses the drawn node `id` if it is not taken, holds data and is
/// online `now`.
fn consider(
    nodes: &mut Nodes,
    now: SimTime,
    id: u32,
    taken: &mut IdSet<u32>,
    chosen: &mut Vec<Chosen>,
) {
    if taken.contains(&id) || !nodes.selectable(id) {
        return;
    }
    if let Some(until) = nodes.online_until(id, now) {
        taken.insert(id);
        chosen.push(Chosen {
            node: id,
            online_until: until,
        });
    }
}

/// Tops `chosen` up to `k` (or to every node available) with a uniform
/// sample of the online, selectable nodes not `taken`, found by scanning
/// all nodes: the fallback when random draws found too few.
fn fill_by_scan(
    nodes: &mut Nodes,
    now: SimTime,
    k: usize,
    taken: &IdSet<u32>,
    chosen: &mut Vec<Chosen>,
    rng: &mut StreamRng,
) {
    if chosen.len() >= k {
        return;
    }
    let mut rest: Vec<Chosen> = (0..nodes.len() as u32)
        .filter(|id| !taken.contains(id))
        .filter_map(|id| {
            if !nodes.selectable(id) {
                return None;
            }
            nodes.online_until(id, now).map(|until| Chosen {
                node: id,
                online_until: until,
            })
        })
        .collect();
    let need = (k - chosen.len()).min(rest.len());
    // Partial Fisher–Yates: a uniform sample of `need` from `rest`.
    for i in 0..need {
        let j = rng.random_range(i..rest.len());
        rest.swap(i, j);
    }
    rest.truncate(need);
    chosen.extend(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Topology;
    use crate::scenario::parse_scenario;
    use rand::SeedableRng;

    /// Nodes of which about two thirds are online at a time: diurnal
    /// consumers and churning ones, 40 of them out of data.
    fn population(count: u32) -> Nodes {
        let text = format!(
            r#"
name: selection
seed: 3
horizon: 7d
regions:
  - {{ name: a, utc_offset_h: -5 }}
  - {{ name: b, utc_offset_h: 8 }}
network:
  latency_ms: [[10, 90], [90, 10]]
profiles:
  - name: home
    gpu: {{ name: g, tflops: 10, efficiency: 0.5 }}
    link: {{ up_mbps: 50, down_mbps: 200 }}
    availability:
      diurnal: {{ busy_start_h: 9, busy_end_h: {{ choice: {{ values: [17, 23] }} }} }}
  - name: churner
    gpu: {{ name: g, tflops: 10, efficiency: 0.5 }}
    link: {{ up_mbps: 50, down_mbps: 200 }}
    availability: {{ churn: {{ mean_up: 2h, mean_down: 1h }} }}
populations:
  - {{ profile: home, count: {home}, regions: {{ a: 0.5, b: 0.5 }} }}
  - {{ profile: churner, count: {churn}, regions: {{ a: 0.5, b: 0.5 }} }}
aggregator: {{ region: a, up_mbps: 1000, down_mbps: 1000 }}
rounds: {{ count: 1, clients_per_round: 1, deadline: 1m, model_bytes: 1 MB, client_flops: 1.0e9 }}
"#,
            home = count / 2,
            churn = count - count / 2
        );
        let s = parse_scenario(&text, "selection.yaml").expect("valid");
        let mut nodes =
            Nodes::instantiate(&s, &Topology::build(&s), std::path::Path::new(".")).unwrap();
        nodes.without_data = (0..nodes.len()).map(|i| i % 97 == 5).collect();
        nodes
    }

    /// Selection as it was written before batching: one id drawn at a
    /// time (the fallback scan is shared).
    fn one_at_a_time(
        nodes: &mut Nodes,
        now: SimTime,
        k: usize,
        rng: &mut StreamRng,
    ) -> Vec<(u32, SimTime)> {
        let n = nodes.len();
        let mut taken = IdSet::default();
        let mut chosen = Vec::new();
        for _ in 0..8 * k + 64 {
            if chosen.len() == k {
                break;
            }
            let id = rng.random_range(0..n) as u32;
            consider(nodes, now, id, &mut taken, &mut chosen);
        }
        fill_by_scan(nodes, now, k, &taken, &mut chosen, rng);
        let mut out: Vec<(u32, SimTime)> =
            chosen.iter().map(|c| (c.node, c.online_until)).collect();
        out.sort_by_key(|c| c.0);
        out
    }

    /// `weights.len()` always-on nodes, one per operator, with the
    /// operators' bonded stakes `weights` (node 0 offline when asked).
    fn staked(weights: &[u128], first_offline: bool) -> Nodes {
        let text = format!(
            r#"
name: staked
seed: 3
horizon: 1d
regions: [{{ name: a, utc_offset_h: 0 }}]
network: {{ latency_ms: [[10]] }}
profiles:
  - name: box
    gpu: {{ name: g, tflops: 10, efficiency: 0.5 }}
    link: {{ up_mbps: 50, down_mbps: 200 }}
populations:
  - {{ profile: box, count: {}, regions: {{ a: 1 }} }}
aggregator: {{ region: a, up_mbps: 1000, down_mbps: 1000 }}
rounds: {{ count: 1, clients_per_round: 1, deadline: 1m, model_bytes: 1 MB, client_flops: 1.0e9 }}
"#,
            weights.len()
        );
        let s = parse_scenario(&text, "staked.yaml").expect("valid");
        let mut nodes =
            Nodes::instantiate(&s, &Topology::build(&s), std::path::Path::new(".")).unwrap();
        assert_eq!(nodes.operators as usize, weights.len());
        nodes.set_stake_weights(weights);
        if first_offline {
            nodes.operator_active[0] = false;
        }
        nodes
    }

    /// Successive sampling's inclusion probability of item `i` in a
    /// sample of two: p_i + Σ_{j≠i} p_j · p_i / (1 − p_j).
    fn inclusion_of_two(w: &[f64], i: usize) -> f64 {
        let total: f64 = w.iter().sum();
        let p: Vec<f64> = w.iter().map(|x| x / total).collect();
        p[i] + (0..p.len())
            .filter(|&j| j != i)
            .map(|j| p[j] * p[i] / (1.0 - p[j]))
            .sum::<f64>()
    }

    /// Picks two of `nodes` `trials` times; how often each was picked.
    fn pick_counts(nodes: &mut Nodes, trials: u32) -> Vec<u32> {
        let mut rng = StreamRng::seed_from_u64(5);
        let mut count = vec![0u32; nodes.len()];
        for _ in 0..trials {
            let chosen = select_clients(nodes, SimTime::ZERO, 2, &mut rng);
            assert_eq!(chosen.len(), 2);
            assert!(chosen[0].node < chosen[1].node, "distinct, ascending");
            for c in chosen {
                count[c.node as usize] += 1;
            }
        }
        count
    }

    /// Asserts that `count` (picks of nodes `first..`, in `trials`
    /// samples of two) is within 4σ of successive sampling by `weights`.
    fn assert_successive_sampling(count: &[u32], first: usize, weights: &[f64], trials: u32) {
        for (i, &picked) in count.iter().enumerate().skip(first).take(weights.len()) {
            let want = inclusion_of_two(weights, i - first);
            let got = f64::from(picked) / f64::from(trials);
            let sigma = (want * (1.0 - want) / f64::from(trials)).sqrt();
            assert!(
                (got - want).abs() < 4.0 * sigma,
                "node {i}: picked {got:.4} of the time, successive sampling gives {want:.4}"
            );
        }
    }

    #[test]
    fn stake_weighted_picks_match_successive_sampling_in_closed_form() {
        let trials = 40_000;
        let count = pick_counts(&mut staked(&[1, 2, 3, 4, 0], false), trials);
        assert_eq!(count[4], 0, "a node without stake is never picked");
        assert_successive_sampling(&count, 0, &[1.0, 2.0, 3.0, 4.0], trials);
    }

    #[test]
    fn the_scan_when_draws_miss_samples_by_stake_as_well() {
        // Node 0 holds almost all the stake but is offline: the draws miss,
        // and the Efraimidis–Spirakis scan picks among the others.
        let trials = 20_000;
        let count = pick_counts(&mut staked(&[1_000_000_000, 1, 2, 3], true), trials);
        assert_eq!(count[0], 0, "an offline node is never picked");
        assert_successive_sampling(&count, 1, &[1.0, 2.0, 3.0], trials);
    }

    #[test]
    fn batched_draws_select_and_leave_the_stream_exactly_as_single_draws() {
        let (mut batched, mut single) = (population(3_000), population(3_000));
        let mut rng_b = StreamRng::seed_from_u64(11);
        let mut rng_s = StreamRng::seed_from_u64(11);
        // Sizes below, at and across a batch, and beyond the online nodes
        // (the full scan), at times of day with more and fewer online.
        let mut rounds = 0;
        for (hour, k) in [
            (1, 1),
            (3, 255),
            (10, 256),
            (12, 257),
            (14, 1_000),
            (20, 2_900),
            (22, 40),
        ] {
            let now = SimTime::from_secs_f64_ceil(hour as f64 * 3_600.0);
            let got: Vec<(u32, SimTime)> = select_clients(&mut batched, now, k, &mut rng_b)
                .into_iter()
                .map(|c| (c.node, c.online_until))
                .collect();
            let want = one_at_a_time(&mut single, now, k, &mut rng_s);
            assert_eq!(got, want, "k = {k} at hour {hour}");
            assert_eq!(
                rng_b.random::<u64>(),
                rng_s.random::<u64>(),
                "the stream goes on from the same place (k = {k})"
            );
            rounds += usize::from(got.len() == k);
        }
        assert!(rounds >= 5, "most selections are full");
    }
}
