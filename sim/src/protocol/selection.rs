//! Uniform client selection among the nodes online now.

use crate::engine::SimTime;
use crate::engine::rng::StreamRng;
use crate::world::Nodes;
use rand::RngExt;
use std::collections::HashSet;

/// A selected client and the end of its current online period.
pub struct Chosen {
    /// Node id.
    pub node: u32,
    /// When the node goes offline (SimTime::MAX: never).
    pub online_until: SimTime,
}

/// Picks up to `k` distinct online nodes uniformly at random, ascending by id.
/// Draws random ids first (cheap when most nodes are online) and falls back to
/// a full scan when online nodes are scarce; both are uniform over online nodes.
pub fn select_clients(
    nodes: &mut Nodes,
    now: SimTime,
    k: usize,
    rng: &mut StreamRng,
) -> Vec<Chosen> {
    let n = nodes.len();
    let mut taken: HashSet<u32> = HashSet::with_capacity(k * 2);
    let mut chosen = Vec::with_capacity(k);
    let max_tries = 8 * k + 64;
    for _ in 0..max_tries {
        if chosen.len() == k {
            break;
        }
        let id = rng.random_range(0..n) as u32;
        if taken.contains(&id) || !nodes.selectable(id) {
            continue;
        }
        if let Some(until) = nodes.online_until(id, now) {
            taken.insert(id);
            chosen.push(Chosen {
                node: id,
                online_until: until,
            });
        }
    }
    if chosen.len() < k {
        let mut rest: Vec<Chosen> = (0..n as u32)
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
    chosen.sort_by_key(|c| c.node);
    chosen
}
