//! Where latency comes from and which core links a transfer crosses: either
//! a region-to-region latency matrix (no core bottlenecks), or a generated
//! router graph (Waxman or Barabási–Albert) with shortest-latency paths.

use crate::engine::SimTime;
use crate::engine::rng::stream;
use crate::scenario::{Generator, Scenario, TopologySpec};
use petgraph::algo::dijkstra;
use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};
use petgraph::unionfind::UnionFind;
use petgraph::visit::EdgeRef;
use rand::RngExt;
use std::collections::BTreeMap;

use super::flows::LinkId;

/// A router link: its one-way latency and its capacity each way.
#[derive(Clone, Debug)]
pub struct RouterLink {
    /// One-way latency.
    pub latency: SimTime,
    /// Capacity in bit/s in each direction.
    pub capacity_bps: f64,
}

/// A generated router graph and the routes computed on it so far.
pub struct RouterGraph {
    graph: UnGraph<(f64, f64), RouterLink>,
    /// Region index of each router.
    pub router_region: Vec<u16>,
    /// Routers of each region, ascending.
    pub routers_of_region: Vec<Vec<u32>>,
    /// Fixed latency added at each end for the node's access hop.
    access_latency: SimTime,
    /// Shortest-path trees by source router: predecessor edge and distance.
    trees: BTreeMap<u32, Vec<(Option<EdgeIndex>, u64)>>,
}

/// Latency and core-path model of a run.
pub enum Topology {
    /// One-way latency by (sender region, receiver region), row-major.
    Regions {
        /// Number of regions.
        n: usize,
        /// Latency matrix.
        latency: Vec<SimTime>,
    },
    /// A router graph; flows also cross its links.
    Graph(RouterGraph),
}

impl Topology {
    /// Builds the scenario's topology (generating the router graph, if any).
    pub fn build(s: &Scenario) -> Topology {
        match (&s.network.topology, &s.network.latency_ms) {
            (Some(t), _) => {
                Topology::Graph(RouterGraph::generate(t, s.regions.len(), s.seeds().world))
            }
            (None, Some(m)) => Topology::Regions {
                n: m.len(),
                latency: m
                    .iter()
                    .flatten()
                    .map(|ms| SimTime::from_secs_f64_ceil(ms / 1e3))
                    .collect(),
            },
            (None, None) => Topology::Regions {
                n: 1,
                latency: vec![SimTime::ZERO],
            },
        }
    }

    /// Number of core links flows may cross (two directed links per router edge).
    pub fn core_links(&self) -> usize {
        match self {
            Topology::Regions { .. } => 0,
            Topology::Graph(g) => 2 * g.graph.edge_count(),
        }
    }

    /// Capacities of the core links in `LinkId` order from 0.
    pub fn core_capacities(&self) -> Vec<f64> {
        match self {
            Topology::Regions { .. } => Vec::new(),
            Topology::Graph(g) => g
                .graph
                .edge_weights()
                .flat_map(|e| [e.capacity_bps, e.capacity_bps])
                .collect(),
        }
    }

    /// One-way latency between two endpoints given their region and router,
    /// and the core links the path crosses (offset by `core_base`) into `path`.
    pub fn route(
        &mut self,
        (src_region, src_router): (u16, u32),
        (dst_region, dst_router): (u16, u32),
        core_base: LinkId,
        path: &mut Vec<LinkId>,
    ) -> SimTime {
        match self {
            Topology::Regions { n, latency } => {
                latency[src_region as usize * *n + dst_region as usize]
            }
            Topology::Graph(g) => g.route(src_router, dst_router, core_base, path),
        }
    }

    /// Picks a router for a node of `region` from a uniform draw in [0, 1).
    pub fn attach(&self, region: u16, u: f64) -> u32 {
        match self {
            Topology::Regions { .. } => 0,
            Topology::Graph(g) => {
                let list = &g.routers_of_region[region as usize];
                list[((u * list.len() as f64) as usize).min(list.len() - 1)]
            }
        }
    }

    /// Number of routers (zero for a region matrix).
    pub fn routers(&self) -> usize {
        match self {
            Topology::Regions { .. } => 0,
            Topology::Graph(g) => g.graph.node_count(),
        }
    }
}

impl RouterGraph {
    /// Generates the graph for `spec` deterministically from the seed.
    pub fn generate(spec: &TopologySpec, regions: usize, seed: u64) -> RouterGraph {
        let n = spec.routers as usize;
        let mut rng = stream(seed, "topology", 0);
        let mut graph: UnGraph<(f64, f64), RouterLink> = UnGraph::with_capacity(n, 0);
        for _ in 0..n {
            let p = (rng.random::<f64>(), rng.random::<f64>());
            graph.add_node(p);
        }
        let pos = |g: &UnGraph<(f64, f64), RouterLink>, i: usize| g[NodeIndex::new(i)];
        let dist =
            |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let mut edges: Vec<(usize, usize)> = Vec::new();
        match spec.generator {
            Generator::Waxman { alpha, beta } => {
                let scale = alpha * std::f64::consts::SQRT_2;
                for u in 0..n {
                    for v in u + 1..n {
                        let d = dist(pos(&graph, u), pos(&graph, v));
                        if rng.random::<f64>() < beta * (-d / scale).exp() {
                            edges.push((u, v));
                        }
                    }
                }
            }
            Generator::BarabasiAlbert { m } => {
                let m = (m as usize).min(n - 1);
                // Start from a clique of m + 1 routers.
                let mut ends: Vec<usize> = Vec::new();
                for u in 0..=m {
                    for v in u + 1..=m {
                        edges.push((u, v));
                        ends.extend([u, v]);
                    }
                }
                for u in m + 1..n {
                    let mut targets: Vec<usize> = Vec::with_capacity(m);
                    while targets.len() < m {
                        let t = ends[rng.random_range(0..ends.len())];
                        if !targets.contains(&t) {
                            targets.push(t);
                        }
                    }
                    for t in targets {
                        edges.push((t, u));
                        ends.extend([t, u]);
                    }
                }
            }
        }
        // Join disconnected pieces: link each component to its nearest router
        // in the part already connected to router 0.
        let mut uf = UnionFind::<usize>::new(n);
        for &(u, v) in &edges {
            uf.union(u, v);
        }
        let mut in_main: Vec<bool> = (0..n).map(|i| uf.equiv(i, 0)).collect();
        for i in 0..n {
            if in_main[i] {
                continue;
            }
            let pi = pos(&graph, i);
            let nearest = (0..n)
                .filter(|&a| in_main[a])
                .min_by(|&a, &b| {
                    dist(pos(&graph, a), pi)
                        .total_cmp(&dist(pos(&graph, b), pi))
                        .then(a.cmp(&b))
                })
                .expect("router 0 is connected");
            edges.push((nearest, i));
            uf.union(nearest, i);
            for (j, flag) in in_main.iter_mut().enumerate() {
                if !*flag && uf.equiv(j, i) {
                    *flag = true;
                }
            }
        }
        let mut link_rng = stream(seed, "topology-links", 0);
        for (u, v) in edges {
            let d = dist(pos(&graph, u), pos(&graph, v));
            let latency =
                SimTime::from_secs_f64_ceil((spec.link_base_ms + spec.link_ms_per_unit * d) / 1e3);
            let capacity_bps = spec.link_gbps.sample_in(
                crate::scenario::param::ranges::ROUTER_LINK_GBPS,
                &mut link_rng,
            ) * 1e9;
            graph.add_edge(
                NodeIndex::new(u),
                NodeIndex::new(v),
                RouterLink {
                    latency,
                    capacity_bps,
                },
            );
        }
        // Regions are vertical strips: routers sorted by x, cut into equal blocks.
        let mut by_x: Vec<usize> = (0..n).collect();
        by_x.sort_by(|&a, &b| {
            pos(&graph, a)
                .0
                .total_cmp(&pos(&graph, b).0)
                .then(a.cmp(&b))
        });
        let mut router_region = vec![0u16; n];
        let mut routers_of_region = vec![Vec::new(); regions.max(1)];
        for (rank, &r) in by_x.iter().enumerate() {
            let region = rank * regions.max(1) / n;
            router_region[r] = region as u16;
            routers_of_region[region].push(r as u32);
        }
        for list in &mut routers_of_region {
            list.sort_unstable();
        }
        RouterGraph {
            graph,
            router_region,
            routers_of_region,
            access_latency: SimTime::from_secs_f64_ceil(spec.link_base_ms / 1e3),
            trees: BTreeMap::new(),
        }
    }

    /// Number of router edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    fn route(&mut self, src: u32, dst: u32, core_base: LinkId, path: &mut Vec<LinkId>) -> SimTime {
        let access = self.access_latency.nanos() * 2;
        let graph = &self.graph;
        let tree = self
            .trees
            .entry(src)
            .or_insert_with(|| shortest_path_tree(graph, src));
        let start = path.len();
        let mut v = NodeIndex::new(dst as usize);
        while v.index() != src as usize {
            let Some(e) = tree[v.index()].0 else { break };
            let (a, b) = graph.edge_endpoints(e).expect("edge exists");
            // Direction 0 is a → b.
            let (from, dir) = if b == v { (a, 0) } else { (b, 1) };
            path.push(core_base + 2 * e.index() as LinkId + dir);
            v = from;
        }
        path[start..].reverse();
        SimTime(tree[dst as usize].1.saturating_add(access))
    }
}

/// Dijkstra from `src`: each router's predecessor edge and latency in ns.
fn shortest_path_tree(
    graph: &UnGraph<(f64, f64), RouterLink>,
    src: u32,
) -> Vec<(Option<EdgeIndex>, u64)> {
    let dist = dijkstra(graph, NodeIndex::new(src as usize), None, |e| {
        e.weight().latency.nanos()
    });
    let mut tree = vec![(None, u64::MAX); graph.node_count()];
    for v in graph.node_indices() {
        let Some(&dv) = dist.get(&v) else { continue };
        // Predecessor: the lowest-index edge on a shortest path.
        let pred = graph
            .edges(v)
            .filter(|e| {
                let u = if e.source() == v {
                    e.target()
                } else {
                    e.source()
                };
                dist.get(&u)
                    .is_some_and(|du| du + e.weight().latency.nanos() == dv)
                    && v.index() != src as usize
            })
            .map(|e| e.id())
            .min();
        tree[v.index()] = (pred, dv);
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Param;

    fn spec(generator: Generator, routers: u32) -> TopologySpec {
        TopologySpec {
            generator,
            routers,
            link_gbps: Param::Const(10.0),
            link_base_ms: 1.0,
            link_ms_per_unit: 100.0,
        }
    }

    #[test]
    fn generated_graphs_are_connected_and_routable() {
        for g in [
            Generator::Waxman {
                alpha: 0.2,
                beta: 0.1,
            },
            Generator::BarabasiAlbert { m: 2 },
        ] {
            let mut topo = Topology::Graph(RouterGraph::generate(&spec(g, 200), 3, 7));
            let mut path = Vec::new();
            for dst in [1u32, 50, 199] {
                path.clear();
                let lat = topo.route((0, 0), (0, dst), 0, &mut path);
                assert!(!path.is_empty(), "route to {dst}");
                assert!(lat > SimTime::ZERO);
                // Reverse route has the same latency and the same number of hops.
                let mut back = Vec::new();
                assert_eq!(topo.route((0, dst), (0, 0), 0, &mut back), lat);
                assert_eq!(back.len(), path.len());
            }
        }
    }

    #[test]
    fn barabasi_albert_has_the_expected_edge_count() {
        // Clique of m+1 has m(m+1)/2 edges, then m per added router.
        let g = RouterGraph::generate(&spec(Generator::BarabasiAlbert { m: 3 }, 100), 2, 1);
        assert_eq!(g.edge_count(), 6 + 3 * 96);
        assert!(g.routers_of_region.iter().all(|r| !r.is_empty()));
    }

    #[test]
    fn region_matrix_latency() {
        let mut t = Topology::Regions {
            n: 2,
            latency: vec![SimTime(1), SimTime(2), SimTime(3), SimTime(4)],
        };
        let mut p = Vec::new();
        assert_eq!(t.route((1, 0), (0, 0), 0, &mut p), SimTime(3));
        assert!(p.is_empty());
    }
}
