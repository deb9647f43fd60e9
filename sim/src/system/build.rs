//! Building a run's root model from a validated scenario: the world is
//! instantiated, then everything else is lowered (`crate::lower`) into
//! runtime parameters and built from those.

use super::{Effect, JobId, System};
use crate::chain::Chain;
use crate::economy::Economy;
use crate::governance::Governance;
use crate::learning_setup::build_learner;
use crate::lower;
use crate::market::Market;
use crate::network::{Network, Topology};
use crate::params::{Params, Versioned};
use crate::protocol::job::{Job, JobPlan};
use crate::run::RunError;
use crate::scenario::{LoadedScenario, Scenario};
use crate::verification::Verifier;
use crate::world::Nodes;
use dmlsim_models::learning::Learner;

/// Builds the root model of `scenario` (the loaded scenario, possibly with
/// overrides applied), tracing transfers when `trace` is set.
pub fn build(
    scenario: &Scenario,
    loaded: &LoadedScenario,
    trace: bool,
) -> Result<System<Box<dyn Learner + Send>>, RunError> {
    let s = scenario;
    let seeds = s.seeds();
    let topo = Topology::build(s);
    let mut nodes = Nodes::instantiate(s, &topo, &loaded.dir)
        .map_err(|p| RunError::Scenario(loaded.error(vec![p])))?;
    if s.nodes.is_some() {
        let problems = crate::scenario::validate::validate_node_count(s, nodes.len() as u64);
        if !problems.is_empty() {
            return Err(RunError::Scenario(loaded.error(problems)));
        }
    }
    let learner = build_learner(s, &loaded.dir, &nodes)
        .map_err(|p| RunError::Scenario(loaded.error(vec![p])))?;
    if (0..nodes.len() as u32).any(|n| !learner.holds_data(n)) {
        nodes.without_data = (0..nodes.len() as u32)
            .map(|n| !learner.holds_data(n))
            .collect();
    }
    let mut effects: Vec<Effect> = Vec::new();
    let mut chain_params = None;
    let mut chain = match &s.economics {
        Some(spec) => {
            let (plan, params) = lower::economy(spec, s, &nodes, &loaded.dir)
                .map_err(|p| RunError::Scenario(loaded.error(vec![p])))?;
            let economy = Economy::new(plan, &params, &nodes, &mut effects).map_err(|e| {
                RunError::Check(format!("the genesis distribution was refused: {e}"))
            })?;
            chain_params = Some(Versioned::new(params));
            Some(Chain::new(economy))
        }
        None => None,
    };
    let agg_region = s
        .regions
        .iter()
        .position(|r| r.name == s.aggregator.region)
        .expect("validated") as u16;
    let net = Network::new(
        topo,
        nodes
            .up_bps
            .iter()
            .copied()
            .zip(nodes.down_bps.iter().copied()),
        agg_region,
        (s.aggregator.up_mbps * 1e6, s.aggregator.down_mbps * 1e6),
        trace,
    );
    let r = &s.rounds;
    // The learner sets message sizes when it trains a real model.
    let model_bytes = learner
        .model_bytes()
        .or(r.model_bytes.map(|b| b.0))
        .unwrap_or(1);
    let update_bytes = learner
        .update_bytes()
        .or(r.update_bytes.map(|b| b.0))
        .unwrap_or(model_bytes);
    let plan = JobPlan {
        count: r.count,
        model_bytes,
        update_bytes,
        settle: chain.is_some(),
        clients: None,
        first_broadcast_extra: 0,
        stage: None,
    };
    let params = Params {
        rounds: Versioned::new(lower::round_params(r)),
        chain: chain_params,
    };
    let job = Job::new(JobId(0), plan, learner, seeds.selection);
    let verifier = s
        .verification
        .as_ref()
        .map(|v| Verifier::new(lower::verifier(v), seeds.verification));
    let governance = match (&s.governance, &chain) {
        (Some(spec), Some(chain)) => Some(Governance::new(lower::governance(
            spec,
            &chain.economy,
            &nodes,
            seeds.governance,
        ))),
        _ => None,
    };
    let market = match (&s.market, chain.as_mut()) {
        (Some(spec), Some(chain)) => Some(
            Market::new(spec, &mut chain.economy, &mut nodes, seeds.market).map_err(|e| {
                RunError::Check(format!("the agents' genesis tokens were refused: {e}"))
            })?,
        ),
        _ => None,
    };
    let mut sys = System::new(nodes, net, job, chain, verifier, params, effects);
    sys.governance = governance;
    sys.market = market;
    Ok(sys)
}
