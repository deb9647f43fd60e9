//! Semantic checks on a typed scenario: ranges, cross references and sizes.
//! Returns every problem as `(field path, message)`.

use super::param::{Param, Range, ranges, show};
use super::types::{Availability, Generator, Scenario};
use dmlsim_models::econ::MAX_SUPPLY_TOKENS;
use std::collections::BTreeSet;

/// Most nodes a scenario may declare (keeps a typo from eating the machine).
pub const MAX_NODES: u64 = 10_000_000;
/// Most routers in a generated topology.
pub const MAX_ROUTERS: u32 = 100_000;
/// Most routers for Waxman, whose generation considers every router pair.
pub const MAX_WAXMAN_ROUTERS: u32 = 5_000;

const INF: f64 = f64::INFINITY;

pub(super) struct Checker {
    problems: Vec<(String, String)>,
}

impl Checker {
    pub(super) fn err(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.problems.push((path.into(), msg.into()));
    }

    /// A number in `(lo, hi]` style ranges: `lo_open` excludes `lo`.
    pub(super) fn num(&mut self, path: &str, v: f64, lo: f64, lo_open: bool, hi: f64) {
        let bad_lo = if lo_open { v <= lo } else { v < lo };
        if !v.is_finite() || bad_lo || v > hi {
            let open = if lo_open { "(" } else { "[" };
            self.err(
                path,
                format!(
                    "expected a value in {open}{}, {}], found {}",
                    show(lo),
                    show(hi),
                    show(v)
                ),
            );
        }
    }

    fn param(&mut self, path: &str, p: &Param, lo: f64, lo_open: bool, hi: f64) {
        if let Some(m) = p.check_range(lo, lo_open, hi, false) {
            self.err(path, m);
        }
    }

    /// A physical quantity: see [`Range`].
    fn quantity(&mut self, path: &str, p: &Param, range: Range) {
        if let Some(m) = p.check_in(range) {
            self.err(path, m);
        }
    }

    pub(super) fn positive_duration(&mut self, path: &str, d: super::Duration) {
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
/// Most accuracy targets one scenario may name.
const MAX_ACCURACY_TARGETS: usize = 32;

fn check_metrics(c: &mut Checker, s: &Scenario) {
    let m = &s.metrics;
    for (i, &t) in m.accuracy_targets.iter().enumerate() {
        let path = format!("metrics.accuracy_targets[{i}]");
        c.num(&path, t, 0.0, true, 1.0);
        let key = crate::output::summary::target_key(t);
        if let Some(other) = m.accuracy_targets[..i]
            .iter()
            .find(|&&o| crate::output::summary::target_key(o) == key)
        {
            c.err(&path, format!("{t} is listed twice (as {other})"));
        }
    }
    if m.accuracy_targets.len() > MAX_ACCURACY_TARGETS {
        c.err(
            "metrics.accuracy_targets",
            format!("expected at most {MAX_ACCURACY_TARGETS} targets"),
        );
    }
    if !m.accuracy_targets.is_empty() && s.learning.is_none() {
        c.err(
            "metrics.accuracy_targets",
            "accuracy targets need a `learning` section (nothing is trained, so no accuracy is measured)",
        );
    }
    if m.sustained_rounds == 0 {
        c.err("metrics.sustained_rounds", "expected at least 1 round");
    }
    let mut names: Vec<String> = Vec::new();
    for (i, check) in s.checks.iter().enumerate() {
        let named = check.named();
        let path = match check {
            crate::check::CheckEntry::Plain(_) => format!("checks[{i}]"),
            crate::check::CheckEntry::Named(_) => format!("checks[{i}].expr"),
        };
        if let Err(e) = crate::check::expr::parse(&named.expr) {
            c.err(path, format!("not a valid check:\n{}", e.show(&named.expr)));
        }
        if names.contains(&named.name) {
            c.err(
                format!("checks[{i}]"),
                format!("a check named `{}` comes twice", named.name),
            );
        }
        names.push(named.name);
    }
}

pub fn validate(s: &Scenario) -> Vec<(String, String)> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    if s.name.trim().is_empty() {
        c.err("name", "expected a non-empty name");
    }
    c.positive_duration("horizon", s.horizon);
    check_metrics(&mut c, s);

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
        // USD per kWh: bounded so energy costs stay finite (retail ~0.1–0.5).
        c.num(
            &format!("regions[{i}].electricity_usd_per_kwh"),
            r.electricity_usd_per_kwh,
            0.0,
            false,
            1e6,
        );
    }

    check_network(&mut c, s);

    if s.profiles.is_empty() && s.nodes.is_none() {
        c.err("profiles", "expected at least one profile");
    }
    let profiles = unique_names(
        &mut c,
        "profiles",
        s.profiles.iter().map(|p| p.name.as_str()),
    );
    for (i, p) in s.profiles.iter().enumerate() {
        let at = |f: &str| format!("profiles[{i}].{f}");
        c.quantity(&at("gpu.tflops"), &p.gpu.tflops, ranges::GPU_TFLOPS);
        c.quantity(
            &at("gpu.memory_gb"),
            &p.gpu.memory_gb,
            ranges::GPU_MEMORY_GB,
        );
        c.quantity(&at("gpu.watts"), &p.gpu.watts, ranges::GPU_WATTS);
        // A fraction, not a physical tail: a draw above 1 is an error, not clamped.
        c.param(&at("gpu.efficiency"), &p.gpu.efficiency, 0.0, true, 1.0);
        c.quantity(&at("link.up_mbps"), &p.link.up_mbps, ranges::LINK_MBPS);
        c.quantity(&at("link.down_mbps"), &p.link.down_mbps, ranges::LINK_MBPS);
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

    if s.populations.is_empty() && s.nodes.is_none() {
        c.err(
            "populations",
            "expected at least one population (or a `nodes` table)",
        );
    }
    if let Some(t) = &s.nodes {
        for (field, path) in [
            ("nodes.table", Some(&t.table)),
            ("nodes.traces", t.traces.as_ref()),
            ("nodes.patterns", t.patterns.as_ref()),
        ] {
            if path.is_some_and(|p| p.trim().is_empty()) {
                c.err(field, "expected a file path");
            }
        }
        if let Some(p) = t.trace_period {
            c.positive_duration("nodes.trace_period", p);
            if t.traces.is_none() {
                c.err("nodes.trace_period", "set without `nodes.traces`");
            }
        }
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
    let link = ranges::LINK_MBPS;
    c.num(
        "aggregator.up_mbps",
        s.aggregator.up_mbps,
        0.0,
        true,
        link.hi,
    );
    c.num(
        "aggregator.down_mbps",
        s.aggregator.down_mbps,
        0.0,
        true,
        link.hi,
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
    } else if total > 0 && s.nodes.is_none() && u64::from(r.clients_per_round) > total {
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
    match &s.learning {
        None => {
            match r.model_bytes {
                None => c.err(
                    "rounds",
                    "missing field `model_bytes` (needed when there is no `learning` section)",
                ),
                Some(b) if b.0 == 0 => c.err(
                    "rounds.model_bytes",
                    "expected a model of at least 1 byte, found 0",
                ),
                Some(_) => {}
            }
            match r.client_flops {
                None => c.err(
                    "rounds",
                    "missing field `client_flops` (needed when there is no `learning` section)",
                ),
                Some(f) => c.num("rounds.client_flops", f, 0.0, false, INF),
            }
            if r.update_bytes.is_some_and(|b| b.0 == 0) {
                c.err(
                    "rounds.update_bytes",
                    "expected an update of at least 1 byte, found 0",
                );
            }
            for (i, p) in s.profiles.iter().enumerate() {
                if p.behaviour
                    .iter()
                    .any(|(name, w)| name != "honest" && *w > 0.0)
                {
                    c.err(
                        format!("profiles[{i}].behaviour"),
                        "behaviours other than `honest` need a `learning` section",
                    );
                }
            }
        }
        Some(l) => {
            for (field, given) in [
                ("model_bytes", r.model_bytes.is_some()),
                ("update_bytes", r.update_bytes.is_some()),
                ("client_flops", r.client_flops.is_some()),
            ] {
                if given {
                    c.err(format!("rounds.{field}"), format!(
                        "`{field}` is set by the `learning` section (model, data and `logical_model`); remove it here"));
                }
            }
            check_learning(&mut c, l, s);
        }
    }
    for (i, p) in s.profiles.iter().enumerate() {
        for (name, w) in &p.behaviour {
            let path = format!("profiles[{i}].behaviour.{name}");
            if dmlsim_models::behaviour::Behaviour::from_label(name).is_none() {
                let names: Vec<&str> = dmlsim_models::behaviour::ALL
                    .iter()
                    .map(|b| b.label())
                    .collect();
                c.err(
                    &path,
                    format!(
                        "unknown behaviour `{name}`; known behaviours are {}",
                        names.join(", ")
                    ),
                );
            }
            c.num(&path, *w, 0.0, false, INF);
        }
        if !p.behaviour.is_empty() && p.behaviour.values().all(|w| *w == 0.0) {
            c.err(
                format!("profiles[{i}].behaviour"),
                "behaviour weights must not all be zero",
            );
        }
    }
    if let Some(e) = &s.economics {
        check_economics(&mut c, e, s);
    }
    if let Some(v) = &s.verification {
        check_verification(&mut c, v, s);
    }
    if let Some(g) = &s.governance {
        check_governance(&mut c, g, s);
    }
    if let Some(m) = &s.market {
        super::market::check(&mut c, m, s);
    }
    c.problems
}

/// The first wallet name of the last group in `groups` that another
/// account would also have: a wallet of an earlier group, or a protocol
/// account (treasury, pool, job owner, operators, validators).
fn wallet_name_clash(groups: &[super::HolderSpec]) -> Option<String> {
    let (last, earlier) = groups.split_last()?;
    let names = |h: &super::HolderSpec| -> Vec<String> {
        let mut names = match h.wallets {
            0 | 1 => vec![h.name.clone()],
            n => (0..n.min(MAX_GROUP_WALLETS))
                .map(|w| format!("{}-{w}", h.name))
                .collect(),
        };
        if h.vesting.is_some() {
            names.push(format!("{}-vesting", h.name));
        }
        names
    };
    let taken: BTreeSet<String> = earlier.iter().flat_map(names).collect();
    let reserved = |n: &str| {
        [
            "treasury",
            "reward-pool",
            "job-owner",
            "amm-pool",
            "amm-buyers",
        ]
        .contains(&n)
            || ["operator-", "validator-"].iter().any(|p| {
                n.strip_prefix(p)
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            })
    };
    names(last)
        .into_iter()
        .find(|n| taken.contains(n) || reserved(n))
}

/// Most wallets one genesis group may be split across.
const MAX_GROUP_WALLETS: u32 = 1_000_000;

/// Shares of a reward split: each in [0, 1], adding up to 1.
fn check_split(c: &mut Checker, path: &str, sp: &super::SplitSpec) {
    for (name, v) in [
        ("compute", sp.compute),
        ("data", sp.data),
        ("storage", sp.storage),
        ("relay", sp.relay),
        ("validators", sp.validators),
        ("treasury", sp.treasury),
    ] {
        c.num(&format!("{path}.{name}"), v, 0.0, false, 1.0);
    }
    let total = sp.compute + sp.data + sp.storage + sp.relay + sp.validators + sp.treasury;
    if (total - 1.0).abs() > 1e-9 {
        c.err(path, format!("shares must add up to 1, found {total}"));
    }
}

/// The `governance` section: its numbers, and every group it names is a
/// genesis group (or `operators` where operators may stand).
fn check_governance(c: &mut Checker, g: &super::GovernanceSpec, s: &Scenario) {
    let Some(e) = &s.economics else {
        c.err(
            "governance",
            "governance needs an `economics` section (its owners hold the economy's tokens)",
        );
        return;
    };
    let groups: BTreeSet<&str> = e.genesis.holders.iter().map(|h| h.name.as_str()).collect();
    if let Some(i) = e.genesis.holders.iter().position(|h| h.name == "operators") {
        c.err(
            format!("economics.genesis.holders[{i}].name"),
            "`operators` stands for every operator in `governance`: name the group otherwise",
        );
    }
    let mut with_operators = groups.clone();
    with_operators.insert("operators");
    let profiles: BTreeSet<&str> = s.profiles.iter().map(|p| p.name.as_str()).collect();
    let mut pooled = BTreeSet::new();
    for (i, p) in g.pools.iter().enumerate() {
        let path = format!("governance.pools[{i}]");
        let taken = p.name.trim().is_empty()
            || p.name.starts_with("operator-")
            || with_operators.contains(p.name.as_str())
            || e.genesis.holders.iter().any(|h| {
                // A genesis owner's name: the group's, or `group-k`.
                h.name == p.name
                    || p.name
                        .strip_prefix(&format!("{}-", h.name))
                        .is_some_and(|k| k.parse::<u32>().is_ok_and(|k| k < h.owners))
            });
        if taken {
            c.err(
                format!("{path}.name"),
                format!(
                    "`{}` is empty or names another group, owner or account (`operators`, `operator-N`, the genesis groups and their wallets)",
                    p.name
                ),
            );
        }
        if !profiles.contains(p.profile.as_str()) {
            c.err(
                format!("{path}.profile"),
                format!(
                    "unknown profile `{}`, expected one of {}",
                    p.profile,
                    known(&profiles)
                ),
            );
        } else if !pooled.insert(p.profile.as_str()) {
            c.err(
                format!("{path}.profile"),
                format!("profile `{}` is pooled twice", p.profile),
            );
        }
        with_operators.insert(p.name.as_str());
    }
    let group = |c: &mut Checker, path: String, name: &str, allowed: &BTreeSet<&str>| {
        if !allowed.contains(name) {
            c.err(
                path,
                format!(
                    "unknown group `{name}`, expected one of {}",
                    if allowed.is_empty() {
                        "the genesis holders' names (there are none)".to_string()
                    } else {
                        known(allowed)
                    }
                ),
            );
        }
    };
    c.num("governance.quorum", g.quorum, 0.0, false, 1.0);
    c.num("governance.threshold", g.threshold, 0.0, false, 1.0);
    if g.threshold >= 1.0 {
        c.err(
            "governance.threshold",
            "expected a value below 1 (yes must be more than this share of yes + no)",
        );
    }
    c.positive_duration("governance.voting_period", g.voting_period);
    if let Some(t) = &g.treasury_owner {
        group(c, "governance.treasury_owner".into(), t, &groups);
    }
    let mut seen = BTreeSet::new();
    for (i, v) in g.voters.iter().enumerate() {
        group(
            c,
            format!("governance.voters[{i}].group"),
            &v.group,
            &with_operators,
        );
        if !seen.insert(v.group.as_str()) {
            c.err(
                format!("governance.voters[{i}].group"),
                format!("`{}` is listed twice", v.group),
            );
        }
        c.num(
            &format!("governance.voters[{i}].abstain_probability"),
            v.abstain_probability,
            0.0,
            false,
            1.0,
        );
    }
    c.num(
        "governance.others.abstain_probability",
        g.others.abstain_probability,
        0.0,
        false,
        1.0,
    );
    // The same ranges as the `economics` fields they change.
    let tok = |c: &mut Checker, path: &str, v: f64| c.num(path, v, 0.0, false, 1e20);
    for (i, p) in g.proposals.iter().enumerate() {
        let path = format!("governance.proposals[{i}]");
        if let Some(by) = &p.by {
            group(c, format!("{path}.by"), by, &with_operators);
        }
        if let Some(r) = &p.retry {
            c.positive_duration(&format!("{path}.retry.after"), r.after);
            if r.attempts == 0 || r.attempts > 1000 {
                c.err(
                    format!("{path}.retry.attempts"),
                    format!("expected 1 to 1000 attempts, found {}", r.attempts),
                );
            }
        }
        let change = format!("{path}.change");
        match &p.change {
            super::ChangeSpec::Split(sp) => check_split(c, &format!("{change}.split"), sp),
            super::ChangeSpec::TokensPerPflop(v) => {
                c.num(&format!("{change}.tokens_per_pflop"), *v, 0.0, false, 1e15)
            }
            super::ChangeSpec::BurnFraction(v) => {
                c.num(&format!("{change}.burn_fraction"), *v, 0.0, false, 1.0)
            }
            super::ChangeSpec::MinStake(v) => tok(c, &format!("{change}.min_stake"), *v),
            super::ChangeSpec::EmissionScale(v) => {
                c.num(&format!("{change}.emission_scale"), *v, 0.0, false, 1e6)
            }
            super::ChangeSpec::SlashFraction(v) => {
                c.num(&format!("{change}.slash_fraction"), *v, 0.0, false, 1.0);
                if s.verification.is_none() {
                    c.err(
                        format!("{change}.slash_fraction"),
                        "a slashing fraction needs a `verification` section (nothing is slashed without one)",
                    );
                }
            }
            super::ChangeSpec::SpotCheckProbability(v) => {
                c.num(
                    &format!("{change}.spot_check_probability"),
                    *v,
                    0.0,
                    false,
                    1.0,
                );
                let spot_checks = s
                    .verification
                    .as_ref()
                    .is_some_and(|v| matches!(v.strategy, super::StrategySpec::SpotCheck { .. }));
                if !spot_checks {
                    c.err(
                        format!("{change}.spot_check_probability"),
                        "a spot-check probability needs `verification.strategy: { spot_check: … }`",
                    );
                }
            }
            super::ChangeSpec::TreasurySpend { tokens, to } => {
                // No run holds more than this many tokens in all.
                c.num(
                    &format!("{change}.treasury_spend.tokens"),
                    *tokens,
                    0.0,
                    false,
                    dmlsim_models::econ::MAX_SUPPLY_TOKENS,
                );
                group(c, format!("{change}.treasury_spend.to"), to, &groups);
            }
        }
    }
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
            c.quantity(
                "network.topology.link_gbps",
                &t.link_gbps,
                ranges::ROUTER_LINK_GBPS,
            );
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

fn check_learning(c: &mut Checker, l: &super::LearningSpec, s: &Scenario) {
    use super::{AggregationSpec, CompressionSpec, DatasetSpec, ModelSpec, PartitionSpec};
    let at = |f: &str| format!("learning.{f}");
    match &l.dataset {
        DatasetSpec::Digits
        | DatasetSpec::Csv(_)
        | DatasetSpec::Arrow(_)
        | DatasetSpec::Parquet(_) => {}
        DatasetSpec::GaussianMixture {
            classes,
            dim,
            separation,
            samples,
        } => {
            check_synthetic(c, "gaussian_mixture", *classes, *dim, *samples);
            c.num(
                "learning.dataset.gaussian_mixture.separation",
                *separation,
                0.0,
                false,
                INF,
            );
        }
        DatasetSpec::TeacherStudent {
            classes,
            dim,
            hidden,
            samples,
        } => {
            check_synthetic(c, "teacher_student", *classes, *dim, *samples);
            c.num(
                "learning.dataset.teacher_student.hidden",
                f64::from(*hidden),
                1.0,
                false,
                100_000.0,
            );
        }
    }
    if !(l.test_fraction > 0.0 && l.test_fraction < 1.0) {
        c.err(
            at("test_fraction"),
            format!("expected a value in (0, 1), found {}", l.test_fraction),
        );
    }
    match &l.partition {
        PartitionSpec::Iid => {}
        PartitionSpec::Dirichlet { alpha } => {
            c.num("learning.partition.dirichlet.alpha", *alpha, 0.0, true, 1e6)
        }
        PartitionSpec::QuantitySkew { sigma } => c.num(
            "learning.partition.quantity_skew.sigma",
            *sigma,
            0.0,
            false,
            10.0,
        ),
        PartitionSpec::Shards { per_client } => c.num(
            "learning.partition.shards.per_client",
            f64::from(*per_client),
            1.0,
            false,
            1_000_000.0,
        ),
    }
    if l.samples_per_node == Some(0) {
        c.err(
            at("samples_per_node"),
            "expected at least 1 example per node, found 0",
        );
    }
    if let ModelSpec::Mlp { hidden } = &l.model {
        if hidden.is_empty() {
            c.err(
                "learning.model.mlp.hidden",
                "expected at least one hidden layer (use `logistic` for none)",
            );
        }
        for (i, h) in hidden.iter().enumerate() {
            c.num(
                &format!("learning.model.mlp.hidden[{i}]"),
                f64::from(*h),
                1.0,
                false,
                65_536.0,
            );
        }
    }
    if let Some(m) = &l.logical_model {
        c.num(
            "learning.logical_model.parameters",
            m.parameters,
            1.0,
            false,
            1e15,
        );
        if let Some(f) = m.flops_per_sample {
            c.num(
                "learning.logical_model.flops_per_sample",
                f,
                0.0,
                true,
                1e20,
            );
        }
    }
    c.num(
        &at("precision_bytes"),
        f64::from(l.precision_bytes),
        1.0,
        false,
        8.0,
    );
    c.num(
        "learning.local.epochs",
        f64::from(l.local.epochs),
        1.0,
        false,
        10_000.0,
    );
    c.num(
        "learning.local.batch_size",
        f64::from(l.local.batch_size),
        1.0,
        false,
        1e7,
    );
    c.num(
        "learning.local.learning_rate",
        l.local.learning_rate,
        0.0,
        true,
        100.0,
    );
    if !(l.local.momentum >= 0.0 && l.local.momentum < 1.0) {
        c.err(
            "learning.local.momentum",
            format!("expected a value in [0, 1), found {}", l.local.momentum),
        );
    }
    c.num(
        "learning.local.weight_decay",
        l.local.weight_decay,
        0.0,
        false,
        100.0,
    );
    c.num("learning.local.prox_mu", l.local.prox_mu, 0.0, false, 1e6);
    match &l.aggregation {
        AggregationSpec::Fedavg | AggregationSpec::Median => {}
        AggregationSpec::TrimmedMean { beta } => {
            if !(*beta >= 0.0 && *beta < 0.5) {
                c.err(
                    "learning.aggregation.trimmed_mean.beta",
                    format!("expected a value in [0, 0.5), found {beta}"),
                );
            }
        }
        AggregationSpec::Krum { f } => check_krum(c, "krum", *f, 1, s),
        AggregationSpec::MultiKrum { f, m } => check_krum(c, "multi_krum", *f, *m, s),
    }
    c.num(
        &at("server_learning_rate"),
        l.server_learning_rate,
        0.0,
        true,
        10.0,
    );
    if let CompressionSpec::TopK { fraction } = &l.compression {
        c.num(
            "learning.compression.top_k.fraction",
            *fraction,
            0.0,
            true,
            1.0,
        );
    }
    c.num(
        "learning.attacks.sign_flip_scale",
        l.attacks.sign_flip_scale,
        0.0,
        false,
        1e6,
    );
    c.num(
        "learning.attacks.scale_factor",
        l.attacks.scale_factor,
        0.0,
        false,
        1e6,
    );
    c.num(
        "learning.attacks.noise_std",
        l.attacks.noise_std,
        0.0,
        false,
        1e6,
    );
}

fn check_krum(c: &mut Checker, name: &str, f: u32, m: u32, s: &Scenario) {
    let k = s.rounds.clients_per_round;
    if m == 0 || m > k {
        c.err(
            format!("learning.aggregation.{name}.m"),
            format!("expected 1 ≤ m ≤ clients_per_round ({k}), found {m}"),
        );
    }
    if f >= k {
        c.err(
            format!("learning.aggregation.{name}.f"),
            format!("expected f < clients_per_round ({k}), found {f}"),
        );
    }
}

/// Most feature values a generated dataset may hold (4 bytes each).
pub const MAX_SYNTHETIC_VALUES: u64 = 250_000_000;

/// Checks the fields every generated dataset has, and its total size.
fn check_synthetic(c: &mut Checker, kind: &str, classes: u32, dim: u32, samples: u32) {
    let p = |f: &str| format!("learning.dataset.{kind}.{f}");
    c.num(&p("classes"), f64::from(classes), 2.0, false, 10_000.0);
    c.num(&p("dim"), f64::from(dim), 1.0, false, 100_000.0);
    c.num(&p("samples"), f64::from(samples), 2.0, false, 100_000_000.0);
    let values = u64::from(samples) * u64::from(dim);
    if values > MAX_SYNTHETIC_VALUES {
        c.err(
            format!("learning.dataset.{kind}"),
            format!("samples × dim = {values} feature values; at most {MAX_SYNTHETIC_VALUES} are supported"),
        );
    }
}

/// Why genesis and emission could exceed the supply the tables can hold
/// with `nodes` nodes, if they could.
fn supply_problem(e: &super::EconomicsSpec, s: &Scenario, nodes: f64) -> Option<String> {
    let bound = supply_bound(e, s, nodes);
    (bound > MAX_SUPPLY_TOKENS).then(|| {
        format!(
            "genesis and emission over the horizon could reach {} tokens; a run may hold at most {MAX_SUPPLY_TOKENS:e} in all, so every amount and sum fits the tables' exact Decimal128(38, 0) base units (lower the amounts, the horizon or set `emission_budget`)",
            super::param::show(bound)
        )
    })
}

/// The checks that need the number of nodes, for a scenario whose node
/// table has been read: `nodes` nodes in all (table and populations).
pub fn validate_node_count(s: &Scenario, nodes: u64) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if u64::from(s.rounds.clients_per_round) > nodes {
        problems.push((
            "rounds.clients_per_round".to_string(),
            format!(
                "{} clients per round, but the node table and populations hold only {nodes} nodes",
                s.rounds.clients_per_round
            ),
        ));
    }
    if let Some(e) = &s.economics
        && let Some(problem) = supply_problem(e, s, nodes as f64)
    {
        problems.push(("economics".to_string(), problem));
    }
    if let Some(d) = s.market.as_ref().and_then(|m| m.data.as_ref()) {
        problems.extend(super::data_market::node_count_problems(d, nodes));
    }
    problems
}

/// An upper bound on the tokens a run can ever hold, in tokens: genesis
/// (with every node its own operator) plus the emission over the horizon's
/// epochs (or the budget).
fn supply_bound(e: &super::EconomicsSpec, s: &Scenario, nodes: f64) -> f64 {
    use super::EmissionSpec;
    let genesis = e.genesis.holders.iter().map(|h| h.tokens).sum::<f64>()
        + e.genesis.job_owner
        + e.genesis.per_operator * nodes;
    let n = crate::lower::epochs_in_horizon(s.horizon.time(), e.epoch.time()) as f64;
    let emission = match (&e.emission_budget, &e.emission) {
        (Some(b), _) => *b,
        (None, EmissionSpec::Constant { per_epoch }) => per_epoch * n,
        (None, EmissionSpec::LinearDecay { initial, decrement }) => {
            let epochs = if *decrement > 0.0 {
                (initial / decrement).ceil()
            } else {
                n
            };
            initial * n.min(epochs)
        }
        (
            None,
            EmissionSpec::ExponentialDecay {
                initial,
                half_life_epochs,
            },
        ) => {
            // Σ initial·r^e ≤ initial / (1 − r), r = 2^(−1/half-life).
            let r = 0.5f64.powf(1.0 / half_life_epochs.max(f64::MIN_POSITIVE));
            initial * n.min(1.0 / (1.0 - r).max(f64::MIN_POSITIVE))
        }
        (
            None,
            EmissionSpec::Halving {
                initial,
                every_epochs,
            },
        ) => initial * n.min(2.0 * *every_epochs as f64),
        (None, EmissionSpec::Capped { cap, .. }) => *cap,
        (None, EmissionSpec::Piecewise { steps }) => {
            steps.iter().map(|st| st.per_epoch).fold(0.0, f64::max) * n
        }
    };
    genesis + emission
}

fn check_economics(c: &mut Checker, e: &super::EconomicsSpec, s: &Scenario) {
    use super::{EmissionSpec, PriceSpec};
    let tok = |c: &mut Checker, path: &str, v: f64| c.num(path, v, 0.0, false, 1e20);
    c.positive_duration("economics.block_time", e.block_time);
    c.positive_duration("economics.epoch", e.epoch);
    if e.epoch.time() < e.block_time.time() {
        c.err(
            "economics.epoch",
            "an epoch must be at least one block long",
        );
    }
    match &e.emission {
        EmissionSpec::Constant { per_epoch } => {
            tok(c, "economics.emission.constant.per_epoch", *per_epoch)
        }
        EmissionSpec::LinearDecay { initial, decrement } => {
            tok(c, "economics.emission.linear_decay.initial", *initial);
            tok(c, "economics.emission.linear_decay.decrement", *decrement);
        }
        EmissionSpec::ExponentialDecay {
            initial,
            half_life_epochs,
        } => {
            tok(c, "economics.emission.exponential_decay.initial", *initial);
            c.num(
                "economics.emission.exponential_decay.half_life_epochs",
                *half_life_epochs,
                0.0,
                true,
                1e12,
            );
        }
        EmissionSpec::Halving {
            initial,
            every_epochs,
        } => {
            tok(c, "economics.emission.halving.initial", *initial);
            c.num(
                "economics.emission.halving.every_epochs",
                *every_epochs as f64,
                1.0,
                false,
                1e15,
            );
        }
        EmissionSpec::Capped {
            cap,
            half_life_epochs,
        } => {
            tok(c, "economics.emission.capped.cap", *cap);
            c.num(
                "economics.emission.capped.half_life_epochs",
                *half_life_epochs,
                0.0,
                true,
                1e12,
            );
        }
        EmissionSpec::Piecewise { steps } => {
            if steps.is_empty() {
                c.err(
                    "economics.emission.piecewise.steps",
                    "expected at least one step",
                );
            }
            for (i, st) in steps.iter().enumerate() {
                tok(
                    c,
                    &format!("economics.emission.piecewise.steps[{i}].per_epoch"),
                    st.per_epoch,
                );
                if i > 0 && st.from_epoch <= steps[i - 1].from_epoch {
                    c.err(
                        format!("economics.emission.piecewise.steps[{i}].from_epoch"),
                        "steps must be sorted by `from_epoch`, each later than the one before",
                    );
                }
            }
        }
    }
    if let Some(b) = e.emission_budget {
        tok(c, "economics.emission_budget", b);
        let epochs = crate::lower::epochs_in_horizon(s.horizon.time(), e.epoch.time());
        if b > 0.0 && crate::lower::curve_of(&e.emission).cumulative(epochs) == 0 {
            c.err(
                "economics.emission_budget",
                format!(
                    "the emission curve emits nothing in the horizon's {epochs} epochs, so no scale reaches the budget"
                ),
            );
        }
    }
    check_split(c, "economics.split", &e.split);
    c.num(
        "economics.fees.tokens_per_pflop",
        e.fees.tokens_per_pflop,
        0.0,
        false,
        1e15,
    );
    c.num(
        "economics.fees.burn_fraction",
        e.fees.burn_fraction,
        0.0,
        false,
        1.0,
    );
    c.num(
        "economics.fees.tokens_per_gpu_hour",
        e.fees.tokens_per_gpu_hour,
        0.0,
        false,
        1e15,
    );
    tok(c, "economics.staking.min_stake", e.staking.min_stake);
    if e.staking.min_stake > e.genesis.per_operator {
        c.err(
            "economics.staking.min_stake",
            format!(
                "operators get {} tokens at genesis (genesis.per_operator) but must stake {}",
                e.genesis.per_operator, e.staking.min_stake
            ),
        );
    }
    let nodes: f64 = s.populations.iter().map(|p| f64::from(p.count)).sum();
    check_staking(c, e, nodes);
    tok(c, "economics.genesis.job_owner", e.genesis.job_owner);
    tok(c, "economics.genesis.per_operator", e.genesis.per_operator);
    if let Some(problem) = supply_problem(e, s, nodes) {
        c.err("economics", problem);
    }
    let mut names = BTreeSet::new();
    for (i, h) in e.genesis.holders.iter().enumerate() {
        tok(
            c,
            &format!("economics.genesis.holders[{i}].tokens"),
            h.tokens,
        );
        if h.name.trim().is_empty() || !names.insert(h.name.as_str()) {
            c.err(
                format!("economics.genesis.holders[{i}].name"),
                format!("expected a unique non-empty name, found `{}`", h.name),
            );
        }
        if h.wallets == 0 || h.wallets > MAX_GROUP_WALLETS {
            c.err(
                format!("economics.genesis.holders[{i}].wallets"),
                format!(
                    "expected 1 to {MAX_GROUP_WALLETS} wallets, found {}",
                    h.wallets
                ),
            );
        }
        if let Some(clash) = wallet_name_clash(&e.genesis.holders[..=i]) {
            c.err(
                format!("economics.genesis.holders[{i}].name"),
                format!("its wallet `{clash}` would share an account name with another account (the protocol's are `treasury`, `reward-pool`, `job-owner`, `operator-N` and `validator-N`)"),
            );
        }
        if let Some(v) = &h.vesting {
            c.positive_duration(
                &format!("economics.genesis.holders[{i}].vesting.duration"),
                v.duration,
            );
            if v.cliff > v.duration {
                c.err(
                    format!("economics.genesis.holders[{i}].vesting.cliff"),
                    "the cliff must not come after the end of vesting (`duration`)",
                );
            }
        }
        if let super::WalletSplit::Zipf { exponent } = h.split {
            c.num(
                &format!("economics.genesis.holders[{i}].split.zipf.exponent"),
                exponent,
                0.0,
                false,
                10.0,
            );
        }
        if h.owners == 0 || h.owners > h.wallets.max(1) {
            c.err(
                format!("economics.genesis.holders[{i}].owners"),
                format!(
                    "expected 1 to {} owners (no more than wallets), found {}",
                    h.wallets.max(1),
                    h.owners
                ),
            );
        }
    }
    match &e.token_price {
        PriceSpec::Constant { usd } => {
            c.num("economics.token_price.constant.usd", *usd, 0.0, false, 1e12)
        }
        PriceSpec::Gbm {
            initial_usd,
            mu,
            sigma,
            step,
        } => {
            if step.time() < crate::engine::SimTime::from_secs(1) {
                c.err(
                    "economics.token_price.gbm.step",
                    "expected a grid step of at least 1s",
                );
            }
            c.num(
                "economics.token_price.gbm.initial_usd",
                *initial_usd,
                0.0,
                true,
                1e12,
            );
            c.num("economics.token_price.gbm.mu", *mu, -10.0, false, 10.0);
            c.num("economics.token_price.gbm.sigma", *sigma, 0.0, false, 10.0);
        }
        PriceSpec::Csv { .. } => {}
        PriceSpec::Amm {
            initial_usd,
            pool_tokens,
            fee,
            operator_sell_fraction,
            exogenous_buy_usd_per_epoch,
        } => {
            let p = "economics.token_price.amm";
            c.num(&format!("{p}.initial_usd"), *initial_usd, 0.0, true, 1e9);
            c.num(
                &format!("{p}.pool_tokens"),
                *pool_tokens,
                0.0,
                true,
                MAX_SUPPLY_TOKENS,
            );
            c.num(&format!("{p}.fee"), *fee, 0.0, false, 0.5);
            c.num(
                &format!("{p}.operator_sell_fraction"),
                *operator_sell_fraction,
                0.0,
                false,
                1.0,
            );
            c.num(
                &format!("{p}.exogenous_buy_usd_per_epoch"),
                *exogenous_buy_usd_per_epoch,
                0.0,
                false,
                1e12,
            );
        }
        PriceSpec::Series { points } => {
            if points.is_empty() {
                c.err(
                    "economics.token_price.series.points",
                    "expected at least one point",
                );
            }
            for (i, p) in points.iter().enumerate() {
                c.num(
                    &format!("economics.token_price.series.points[{i}].usd"),
                    p.usd,
                    0.0,
                    false,
                    1e12,
                );
                if i > 0 && p.t <= points[i - 1].t {
                    c.err(
                        format!("economics.token_price.series.points[{i}].t"),
                        "points must be sorted by time, each later than the one before",
                    );
                }
            }
        }
    }
    c.num(
        "economics.costs.bandwidth_usd_per_gb",
        e.costs.bandwidth_usd_per_gb,
        0.0,
        false,
        1e6,
    );
    for (i, h) in e.costs.hardware.iter().enumerate() {
        if !s.profiles.iter().any(|p| p.name == h.profile) {
            c.err(
                format!("economics.costs.hardware[{i}].profile"),
                format!("unknown profile `{}`", h.profile),
            );
        }
        c.num(
            &format!("economics.costs.hardware[{i}].price_usd"),
            h.price_usd,
            0.0,
            false,
            1e9,
        );
        c.num(
            &format!("economics.costs.hardware[{i}].lifetime_years"),
            h.lifetime_years,
            0.0,
            true,
            100.0,
        );
    }
    for (i, r) in e.operator_rules.iter().enumerate() {
        if !s.profiles.iter().any(|p| p.name == r.profile) {
            c.err(
                format!("economics.operator_rules[{i}].profile"),
                format!("unknown profile `{}`", r.profile),
            );
        }
        if r.exit_after_unprofitable_epochs == Some(0) {
            c.err(
                format!("economics.operator_rules[{i}].exit_after_unprofitable_epochs"),
                "expected at least 1 epoch, found 0",
            );
        }
        if let Some(en) = &r.entry {
            c.num(
                &format!("economics.operator_rules[{i}].entry.horizon_epochs"),
                f64::from(en.horizon_epochs),
                1.0,
                false,
                1e9,
            );
            c.num(
                &format!("economics.operator_rules[{i}].entry.min_profit_usd"),
                en.min_profit_usd,
                -1e12,
                false,
                1e12,
            );
        }
    }
    if let Some(cl) = &e.cloud {
        c.num("economics.cloud.tflops", cl.tflops, 0.0, true, 1e9);
        c.num("economics.cloud.efficiency", cl.efficiency, 0.0, true, 1.0);
        c.num(
            "economics.cloud.usd_per_gpu_hour",
            cl.usd_per_gpu_hour,
            0.0,
            false,
            1e6,
        );
        c.num(
            "economics.cloud.egress_usd_per_gb",
            cl.egress_usd_per_gb,
            0.0,
            false,
            1e6,
        );
        c.num(
            "economics.cloud.data_staging_gb",
            cl.data_staging_gb,
            0.0,
            false,
            1e12,
        );
        c.num(
            "economics.cloud.staging_usd_per_gb",
            cl.staging_usd_per_gb,
            0.0,
            false,
            1e6,
        );
    }
}

fn check_verification(c: &mut Checker, v: &super::VerificationSpec, s: &Scenario) {
    use super::{SlashingSpec, StrategySpec};
    if s.learning.is_none() {
        c.err(
            "verification",
            "verification checks trained updates: add a `learning` section",
        );
    }
    if s.economics.is_none() {
        c.err(
            "verification",
            "slashing and withheld rewards go through the ledger: add an `economics` section",
        );
    }
    match &v.strategy {
        StrategySpec::None => {}
        StrategySpec::SpotCheck { p } => {
            c.num("verification.strategy.spot_check.p", *p, 0.0, false, 1.0)
        }
        StrategySpec::Redundancy { r, .. } => {
            c.num(
                "verification.strategy.redundancy.r",
                f64::from(*r),
                2.0,
                false,
                1000.0,
            );
        }
        StrategySpec::Screening { threshold } => c.num(
            "verification.strategy.screening.threshold",
            *threshold,
            0.0,
            true,
            1e6,
        ),
    }
    c.num(
        "verification.validators.count",
        f64::from(v.validators.count),
        1.0,
        false,
        1e6,
    );
    c.num(
        "verification.validators.stake",
        v.validators.stake,
        0.0,
        false,
        1e20,
    );
    c.num(
        "verification.validators.tflops",
        v.validators.tflops,
        0.0,
        true,
        1e9,
    );
    if v.validators.colluding > v.validators.count {
        c.err(
            "verification.validators.colluding",
            format!(
                "{} colluding validators, but only {} validators",
                v.validators.colluding, v.validators.count
            ),
        );
    }
    c.num(
        "verification.validators.audit_p",
        v.validators.audit_p,
        0.0,
        false,
        1.0,
    );
    match &v.slashing {
        SlashingSpec::Fixed { fraction } => c.num(
            "verification.slashing.fixed.fraction",
            *fraction,
            0.0,
            false,
            1.0,
        ),
        SlashingSpec::Severity {
            invalid_update,
            liveness,
            equivocation,
            bad_approval,
        } => {
            for (name, f) in [
                ("invalid_update", invalid_update),
                ("liveness", liveness),
                ("equivocation", equivocation),
                ("bad_approval", bad_approval),
            ] {
                c.num(
                    &format!("verification.slashing.severity.{name}"),
                    *f,
                    0.0,
                    false,
                    1.0,
                );
            }
        }
        SlashingSpec::Correlated {
            base,
            multiplier,
            window,
        } => {
            c.num(
                "verification.slashing.correlated.base",
                *base,
                0.0,
                false,
                1.0,
            );
            c.num(
                "verification.slashing.correlated.multiplier",
                *multiplier,
                0.0,
                false,
                1e6,
            );
            c.positive_duration("verification.slashing.correlated.window", *window);
        }
    }
}

/// Most wallet-operator bonds `spread` delegations may make.
const MAX_SPREAD_BONDS: f64 = 1e7;

/// Restaking, stake-weighted selection, commission and delegations
/// (`nodes`: the scenario's node count, a bound on its operators).
fn check_staking(c: &mut Checker, e: &super::EconomicsSpec, nodes: f64) {
    let st = &e.staking;
    c.num(
        "economics.staking.min_self_stake",
        st.min_self_stake,
        0.0,
        false,
        1e20,
    );
    if st.min_self_stake > st.min_stake {
        c.err(
            "economics.staking.min_self_stake",
            format!(
                "an operator stakes {} tokens at genesis (min_stake), less than the {} of its own it must keep",
                st.min_stake, st.min_self_stake
            ),
        );
    }
    c.num(
        "economics.staking.restake",
        st.restake.fraction(),
        0.0,
        false,
        1.0,
    );
    c.num(
        "economics.staking.commission",
        st.commission,
        0.0,
        false,
        1.0,
    );
    let mut seen = BTreeSet::new();
    for (i, d) in st.delegations.iter().enumerate() {
        let path = format!("economics.staking.delegations[{i}]");
        c.num(&format!("{path}.fraction"), d.fraction, 0.0, true, 1.0);
        c.num(
            &format!("{path}.restake"),
            d.restake.fraction(),
            0.0,
            false,
            1.0,
        );
        match e.genesis.holders.iter().find(|h| h.name == d.group) {
            None => c.err(
                format!("{path}.group"),
                format!(
                    "unknown group `{}`, expected one of the genesis holders' names{}",
                    d.group,
                    if e.genesis.holders.is_empty() {
                        " (there are none)".to_string()
                    } else {
                        format!(
                            ": {}",
                            known(&e.genesis.holders.iter().map(|h| h.name.as_str()).collect())
                        )
                    }
                ),
            ),
            Some(h) if h.vesting.is_some() => c.err(
                format!("{path}.group"),
                format!(
                    "group `{}` vests: its tokens are locked in escrow and cannot be delegated",
                    d.group
                ),
            ),
            Some(_) => {}
        }
        if !seen.insert(d.group.as_str()) {
            c.err(
                format!("{path}.group"),
                format!("group `{}` delegates twice: give it one entry", d.group),
            );
        }
        // `spread` bonds every wallet to every operator: keep it in memory.
        let wallets = e
            .genesis
            .holders
            .iter()
            .find(|h| h.name == d.group)
            .map_or(0.0, |h| f64::from(h.wallets));
        if d.choose == super::DelegateChoice::Spread && wallets * nodes > MAX_SPREAD_BONDS {
            c.err(
                format!("{path}.choose"),
                format!(
                    "`spread` would bond each of {wallets} wallets to each of up to {nodes} operators (over {MAX_SPREAD_BONDS:e} bonds): use `random` or `largest`, or fewer wallets"
                ),
            );
        }
    }
    if st.selection == super::SelectionRule::StakeWeighted
        && st.min_stake == 0.0
        && st.delegations.is_empty()
    {
        c.err(
            "economics.staking.selection",
            "`stake_weighted` selection needs stake to weigh: set `min_stake` or `delegations`",
        );
    }
}
