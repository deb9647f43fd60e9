//! Building a run's root model from a validated scenario: nodes, network,
//! learner, job, economy, verifier and parameters, in the order that keeps
//! every random stream where it was.

use super::{Effect, JobId, System};
use crate::chain::Chain;
use crate::economy::{Economy, price_model};
use crate::learning_setup::build_learner;
use crate::network::{Network, Topology};
use crate::params::{Params, RoundParams, Versioned};
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
    let topo = Topology::build(s);
    let nodes = Nodes::instantiate(s, &topo);
    let learner = build_learner(s, &loaded.dir, &nodes)
        .map_err(|p| RunError::Scenario(loaded.error(vec![p])))?;
    let mut effects: Vec<Effect> = Vec::new();
    let chain = match &s.economics {
        Some(spec) => {
            let prices = price_model(spec, &loaded.dir, s.seeds().price)
                .map_err(|p| RunError::Scenario(loaded.error(vec![p])))?;
            let economy = Economy::new(spec, s, &nodes, prices, &mut effects).map_err(|e| {
                RunError::Check(format!("the genesis distribution was refused: {e}"))
            })?;
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
    };
    let params = Params {
        rounds: Versioned::new(RoundParams {
            clients_per_round: r.clients_per_round,
            min_clients: r.min_clients,
            retry_after: r.retry_after.time(),
            deadline: r.deadline.time(),
            gap: r.gap.time(),
        }),
    };
    let job = Job::new(JobId(0), plan, learner, s.seeds().selection);
    let verifier = s
        .verification
        .as_ref()
        .map(|v| Verifier::new(v, s.seeds().verification));
    Ok(System::new(
        nodes, net, job, chain, verifier, params, effects,
    ))
}
