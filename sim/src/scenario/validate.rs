//! Semantic checks on a typed scenario: ranges, cross references and sizes.
//! Returns every problem as `(field path, message)`.

use super::param::Param;
use super::types::{Availability, Generator, Scenario};
use std::collections::BTreeSet;

/// Most nodes a scenario may declare (keeps a typo from eating the machine).
pub const MAX_NODES: u64 = 10_000_000;
/// Most routers in a generated topology.
pub const MAX_ROUTERS: u32 = 100_000;
/// Most routers for Waxman, whose generation considers every router pair.
pub const MAX_WAXMAN_ROUTERS: u32 = 5_000;

const INF: f64 = f64::INFINITY;

struct Checker {
    problems: Vec<(String, String)>,
}

impl Checker {
    fn err(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.problems.push((path.into(), msg.into()));
    }

    /// A number in `(lo, hi]` style ranges: `lo_open` excludes `lo`.
    fn num(&mut self, path: &str, v: f64, lo: f64, lo_open: bool, hi: f64) {
        let bad_lo = if lo_open { v <= lo } else { v < lo };
        if !v.is_finite() || bad_lo || v > hi {
            let open = if lo_open { "(" } else { "[" };
            self.err(
                path,
                format!("expected a value in {open}{lo}, {hi}], found {v}"),
            );
        }
    }

    fn param(&mut self, path: &str, p: &Param, lo: f64, lo_open: bool, hi: f64) {
        if let Some(m) = p.check_range(lo, lo_open, hi, false) {
            self.err(path, m);
        }
    }

    fn positive_duration(&mut self, path: &str, d: super::Duration) {
        if d.time().nanos() == 0 {
            self.err(path, "expected a duration greater than zero, found 0");
        }
    }
}

fn unique_names<'a>(
    c: &mut Checker,
    section: &str,
    names: impl Iterator<Item = &'a str>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for (i, n) in names.enumerate() {
        if n.trim().is_empty() {
            c.err(format!("{section}[{i}].name"), "expected a non-empty name");
        } else if !seen.insert(n) {
            c.err(
                format!("{section}[{i}].name"),
                format!("duplicate name `{n}`"),
            );
        }
    }
    seen
}

fn known(set: &BTreeSet<&str>) -> String {
    set.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every semantic problem in the scenario.
pub fn validate(s: &Scenario) -> Vec<(String, String)> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    if s.name.trim().is_empty() {
        c.err("name", "expected a non-empty name");
    }
    c.positive_duration("horizon", s.horizon);

    if s.regions.is_empty() {
        c.err("regions", "expected at least one region");
    }
    let regions = unique_names(&mut c, "regions", s.regions.iter().map(|r| r.name.as_str()));
    for (i, r) in s.regions.iter().enumerate() {
        c.num(
            &format!("regions[{i}].utc_offset_h"),
            r.utc_offset_h,
            -12.0,
            false,
            14.0,
        );
        c.num(
            &format!("regions[{i}].electricity_usd_per_kwh"),
            r.electricity_usd_per_kwh,
            0.0,
            false,
            INF,
        );
    }

    check_network(&mut c, s);

    if s.profiles.is_empty() {
        c.err("profiles", "expected at least one profile");
    }
    let profiles = unique_names(
        &mut c,
        "profiles",
        s.profiles.iter().map(|p| p.name.as_str()),
    );
    for (i, p) in s.profiles.iter().enumerate() {
        let at = |f: &str| format!("profiles[{i}].{f}");
        c.param(&at("gpu.tflops"), &p.gpu.tflops, 0.0, true, INF);
        c.param(&at("gpu.memory_gb"), &p.gpu.memory_gb, 0.0, false, INF);
        c.param(&at("gpu.watts"), &p.gpu.watts, 0.0, false, INF);
        c.param(&at("gpu.efficiency"), &p.gpu.efficiency, 0.0, true, 1.0);
        c.param(&at("link.up_mbps"), &p.link.up_mbps, 0.0, true, INF);
        c.param(&at("link.down_mbps"), &p.link.down_mbps, 0.0, true, INF);
        match &p.availability {
            Availability::AlwaysOn => {}
            Availability::Diurnal {
                busy_start_h,
                busy_end_h,
            } => {
                c.param(
                    &at("availability.diurnal.busy_start_h"),
                    busy_start_h,
                    0.0,
                    false,
                    24.0,
                );
                c.param(
                    &at("availability.diurnal.busy_end_h"),
                    busy_end_h,
                    0.0,
                    false,
                    24.0,
                );
            }
            Availability::Churn { mean_up, mean_down } => {
                c.positive_duration(&at("availability.churn.mean_up"), *mean_up);
                c.positive_duration(&at("availability.churn.mean_down"), *mean_down);
            }
        }
    }

    if s.populations.is_empty() {
        c.err("populations", "expected at least one population");
    }
    let mut total: u64 = 0;
    for (i, pop) in s.populations.iter().enumerate() {
        if !profiles.contains(pop.profile.as_str()) {
            c.err(
                format!("populations[{i}].profile"),
                format!(
                    "unknown profile `{}`; defined profiles are {}",
                    pop.profile,
                    known(&profiles)
                ),
            );
        }
        if pop.count == 0 {
            c.err(
                format!("populations[{i}].count"),
                "expected at least 1 node, found 0",
            );
        }
        total += u64::from(pop.count);
        if pop.regions.is_empty() {
            c.err(
                format!("populations[{i}].regions"),
                "expected at least one `region: weight` entry",
            );
        }
        for (name, w) in &pop.regions {
            let path = format!("populations[{i}].regions.{name}");
            if !regions.contains(name.as_str()) {
                c.err(
                    &path,
                    format!(
                        "unknown region `{name}`; defined regions are {}",
                        known(&regions)
                    ),
                );
            }
            c.num(&path, *w, 0.0, false, INF);
        }
        if !pop.regions.is_empty() && pop.regions.values().all(|w| *w == 0.0) {
            c.err(
                format!("populations[{i}].regions"),
                "region weights must not all be zero",
            );
        }
        c.param(
            &format!("populations[{i}].nodes_per_operator"),
            &pop.nodes_per_operator,
            1.0,
            false,
            INF,
        );
    }
    if total > MAX_NODES {
        c.err(
            "populations",
            format!("the populations declare {total} nodes; at most {MAX_NODES} are supported"),
        );
    }

    if !regions.contains(s.aggregator.region.as_str()) {
        c.err(
            "aggregator.region",
            format!(
                "unknown region `{}`; defined regions are {}",
                s.aggregator.region,
                known(&regions)
            ),
        );
    }
    c.num("aggregator.up_mbps", s.aggregator.up_mbps, 0.0, true, INF);
    c.num(
        "aggregator.down_mbps",
        s.aggregator.down_mbps,
        0.0,
        true,
        INF,
    );

    let r = &s.rounds;
    if r.count == 0 {
        c.err("rounds.count", "expected at least 1 round, found 0");
    }
    if r.clients_per_round == 0 {
        c.err(
            "rounds.clients_per_round",
            "expected at least 1 client per round, found 0",
        );
    } else if total > 0 && u64::from(r.clients_per_round) > total {
        c.err(
            "rounds.clients_per_round",
            format!(
                "{} clients per round, but the populations declare only {total} nodes",
                r.clients_per_round
            ),
        );
    }
    if r.min_clients > r.clients_per_round {
        c.err(
            "rounds.min_clients",
            format!(
                "min_clients ({}) is larger than clients_per_round ({})",
                r.min_clients, r.clients_per_round
            ),
        );
    }
    c.positive_duration("rounds.deadline", r.deadline);
    c.positive_duration("rounds.retry_after", r.retry_after);
    if r.model_bytes.0 == 0 {
        c.err(
            "rounds.model_bytes",
            "expected a model of at least 1 byte, found 0",
        );
    }
    if r.update_bytes.is_some_and(|b| b.0 == 0) {
        c.err(
            "rounds.update_bytes",
            "expected an update of at least 1 byte, found 0",
        );
    }
    c.num("rounds.client_flops", r.client_flops, 0.0, false, INF);
    c.problems
}

fn check_network(c: &mut Checker, s: &Scenario) {
    let n = s.regions.len();
    match (&s.network.latency_ms, &s.network.topology) {
        (None, None) => c.err(
            "network",
            "expected `latency_ms` (a region latency matrix) or `topology`",
        ),
        (Some(_), Some(_)) => c.err(
            "network",
            "give either `latency_ms` or `topology`, not both",
        ),
        (Some(m), None) => {
            if m.len() != n {
                c.err(
                    "network.latency_ms",
                    format!("expected {n} rows (one per region), found {}", m.len()),
                );
            }
            for (i, row) in m.iter().enumerate() {
                if row.len() != n {
                    c.err(
                        format!("network.latency_ms[{i}]"),
                        format!("expected {n} entries (one per region), found {}", row.len()),
                    );
                }
                for (j, v) in row.iter().enumerate() {
                    c.num(
                        &format!("network.latency_ms[{i}][{j}]"),
                        *v,
                        0.0,
                        false,
                        60_000.0,
                    );
                }
            }
        }
        (None, Some(t)) => {
            if t.routers < 2 || t.routers > MAX_ROUTERS {
                c.err(
                    "network.topology.routers",
                    format!("expected 2 to {MAX_ROUTERS} routers, found {}", t.routers),
                );
            } else if (t.routers as usize) < n {
                c.err(
                    "network.topology.routers",
                    format!(
                        "expected at least one router per region ({n}), found {}",
                        t.routers
                    ),
                );
            }
            c.param("network.topology.link_gbps", &t.link_gbps, 0.0, true, INF);
            c.num(
                "network.topology.link_base_ms",
                t.link_base_ms,
                0.0,
                false,
                60_000.0,
            );
            c.num(
                "network.topology.link_ms_per_unit",
                t.link_ms_per_unit,
                0.0,
                false,
                60_000.0,
            );
            match t.generator {
                Generator::Waxman { alpha, beta } => {
                    if t.routers > MAX_WAXMAN_ROUTERS {
                        c.err("network.topology.routers", format!(
                            "Waxman considers every router pair: at most {MAX_WAXMAN_ROUTERS} routers, found {} (use barabasi_albert for more)",
                            t.routers));
                    }
                    c.num(
                        "network.topology.generator.waxman.alpha",
                        alpha,
                        0.0,
                        true,
                        1.0,
                    );
                    c.num(
                        "network.topology.generator.waxman.beta",
                        beta,
                        0.0,
                        true,
                        1.0,
                    );
                }
                Generator::BarabasiAlbert { m } => {
                    if m == 0 || m >= t.routers {
                        c.err(
                            "network.topology.generator.barabasi_albert.m",
                            format!("expected 1 ≤ m < routers ({}), found {m}", t.routers),
                        );
                    }
                }
            }
        }
    }
}
