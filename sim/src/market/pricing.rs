//! The agents' accounting and the operators' asks: what a job costs in the
//! cloud, what the network's awards cost, and which venue an agent picks
//! and why. Pure functions of their inputs.

use crate::economy::plan::CloudBaseline;
use crate::scenario::AgentPolicy;

/// A job's size, as the agent prices it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobSize {
    /// Rounds.
    pub rounds: u32,
    /// Nodes it trains on.
    pub clients: u32,
    /// Work per client per round, PFLOP.
    pub pflop_per_client_round: f64,
    /// Model bytes (the cloud pays egress for the final one).
    pub model_bytes: u64,
    /// Training data moved to where it trains, bytes.
    pub data_bytes: u64,
}

impl JobSize {
    /// Total work, PFLOP.
    pub fn pflop(&self) -> f64 {
        f64::from(self.rounds) * f64::from(self.clients) * self.pflop_per_client_round
    }
}

/// The cloud's price and time for a job.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CloudQuote {
    /// GPU-hours × price + data staging + the final model's egress, USD.
    pub cost_usd: f64,
    /// Of that, the data staging, USD.
    pub staging_usd: f64,
    /// Time on as many cloud GPUs as the job has clients, s (staging time
    /// not counted).
    pub time_s: f64,
}

/// PFLOP one cloud GPU achieves in an hour.
pub fn cloud_pflop_per_gpu_hour(cloud: &CloudBaseline) -> f64 {
    cloud.tflops * 1e12 * cloud.efficiency * 3600.0 / 1e15
}

/// Prices `job` on the cloud baseline.
pub fn cloud_quote(cloud: &CloudBaseline, job: &JobSize) -> CloudQuote {
    let gpu_hours = job.pflop() / cloud_pflop_per_gpu_hour(cloud);
    let staging_usd = job.data_bytes as f64 / 1e9 * cloud.staging_usd_per_gb;
    let egress = job.model_bytes as f64 / 1e9 * cloud.egress_usd_per_gb;
    CloudQuote {
        cost_usd: gpu_hours * cloud.usd_per_gpu_hour + staging_usd + egress,
        staging_usd,
        time_s: gpu_hours / f64::from(job.clients.max(1)) * 3600.0,
    }
}

/// The USD an agent counts for a network job: `tokens` paid at
/// `price_usd`, plus staging the data out of where it lives (the same
/// per-GB price the cloud pays; on the network it moves to the nodes as
/// real traffic), plus its aggregator's internet egress of every round's
/// model to every client (the cloud's egress price) — traffic training in
/// one datacenter does not have.
pub fn network_cost_usd(tokens: f64, price_usd: f64, job: &JobSize, cloud: &CloudBaseline) -> f64 {
    tokens * price_usd
        + job.data_bytes as f64 / 1e9 * cloud.staging_usd_per_gb
        + broadcast_usd(job.clients, job, cloud) * f64::from(job.rounds)
}

/// One round's model broadcast to `clients` nodes at the cloud's egress
/// price, USD.
pub fn broadcast_usd(clients: u32, job: &JobSize, cloud: &CloudBaseline) -> f64 {
    f64::from(clients) * job.model_bytes as f64 / 1e9 * cloud.egress_usd_per_gb
}

/// An operator's USD cost of one PFLOP on a node: electricity while
/// computing plus the node's share of its hardware's amortization over the
/// hours the PFLOP takes.
pub fn node_usd_per_pflop(
    effective_flops: f64,
    watts: f64,
    usd_per_kwh: f64,
    amortization_usd_per_hour: f64,
) -> f64 {
    let hours = 1e15 / effective_flops.max(1e-9) / 3600.0;
    hours * (watts / 1000.0 * usd_per_kwh + amortization_usd_per_hour)
}

/// Where a job goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Venue {
    /// Trained on the network's hired nodes.
    Network,
    /// Trained on rented cloud GPUs.
    Cloud,
    /// Not trained: neither venue was affordable.
    Dropped,
}

impl Venue {
    /// Name used in `jobs.arrow`.
    pub fn label(self) -> &'static str {
        match self {
            Venue::Network => "network",
            Venue::Cloud => "cloud",
            Venue::Dropped => "none",
        }
    }
}

/// What the network can offer a job, as the agent sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NetworkOffer {
    /// Enough providers were awarded: the job's cost in tokens and USD.
    Priced {
        /// Tokens for the whole job.
        tokens: f64,
        /// USD by the agent's accounting.
        cost_usd: f64,
    },
    /// Fewer eligible providers than the job needs.
    TooFewProviders,
    /// The agent may not deploy: its stake is below the minimum.
    NoStake,
    /// The agent was barred for breaking a rule.
    Barred,
}

/// What the agent may spend on this job.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// USD left in its budget.
    pub budget_left_usd: f64,
    /// Largest share of it one network job may cost (its on-chain rule).
    pub max_budget_share: f64,
    /// Tokens it holds (unstaked).
    pub tokens: f64,
    /// What a finished model is worth to it, USD.
    pub value_usd: f64,
    /// What waiting for the network's model costs it, USD (its
    /// `usd_per_hour` × the network's estimated hours).
    pub network_wait_usd: f64,
    /// What waiting for the cloud's model costs it, USD.
    pub cloud_wait_usd: f64,
}

/// A provider's speeds, for the estimate of a network job's time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProviderSpeed {
    /// Download, bit/s.
    pub down_bps: f64,
    /// Upload, bit/s.
    pub up_bps: f64,
    /// Achieved FLOP/s.
    pub flops: f64,
}

/// The agent's estimate of a network job's time, s: every round waits for
/// its slowest provider (model down, its work, update up, over the
/// provider's own link), and round 0 also for the slowest shard download
/// — over the provider's downlink, or, for a dataset staged from hosts
/// (uplinks `host_up_bps`, client `i` served by host `i % hosts`), over
/// the busiest host's uplink shared by the shards it serves. Shared
/// links elsewhere, latency and availability are not counted: the run's
/// `t_end_s` says what really happened.
pub fn network_time_s(
    providers: &[ProviderSpeed],
    job: &JobSize,
    update_bytes: u64,
    host_up_bps: &[f64],
) -> f64 {
    let shard = job.data_bytes as f64 / f64::from(job.clients.max(1)) * 8.0;
    let hosts = host_up_bps.len();
    let host_time = (0..hosts)
        .map(|h| {
            let served = (h..providers.len()).step_by(hosts).count();
            served as f64 * shard / host_up_bps[h].max(1.0)
        })
        .fold(0.0, f64::max);
    let work = job.pflop_per_client_round * 1e15;
    let (mut round, mut staging) = (0.0f64, 0.0f64);
    for p in providers {
        let down = p.down_bps.max(1.0);
        round = round.max(
            job.model_bytes as f64 * 8.0 / down
                + work / p.flops.max(1.0)
                + update_bytes as f64 * 8.0 / p.up_bps.max(1.0),
        );
        staging = staging.max(shard / down);
    }
    staging.max(host_time) + f64::from(job.rounds) * round
}

/// A venue and the reason for it (written to `jobs.arrow`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The venue.
    pub venue: Venue,
    /// Why: `network_cheaper`, `cloud_cheaper`, `too_few_providers`,
    /// `no_stake`, `barred`, `over_budget_share`, `too_few_tokens`,
    /// `policy`, `over_value`, `over_budget`.
    pub reason: &'static str,
}

/// Picks a venue under `policy`: the network when the offer is priced,
/// allowed by the rules and (for `cheapest`) strictly cheaper, waiting
/// counted at the agent's price of time; otherwise
/// the cloud when it fits the budget and the model's value; otherwise none.
pub fn choose(policy: AgentPolicy, offer: NetworkOffer, cloud_usd: f64, limits: &Limits) -> Choice {
    let network = match offer {
        _ if policy == AgentPolicy::CloudOnly => Err("policy"),
        NetworkOffer::TooFewProviders => Err("too_few_providers"),
        NetworkOffer::NoStake => Err("no_stake"),
        NetworkOffer::Barred => Err("barred"),
        NetworkOffer::Priced { tokens, cost_usd } => {
            if cost_usd > limits.value_usd {
                Err("over_value")
            } else if cost_usd > limits.max_budget_share * limits.budget_left_usd {
                Err("over_budget_share")
            } else if tokens > limits.tokens {
                Err("too_few_tokens")
            } else {
                Ok(cost_usd)
            }
        }
    };
    let cloud_ok = cloud_usd <= limits.budget_left_usd && cloud_usd <= limits.value_usd;
    let pick = |venue, reason| Choice { venue, reason };
    match network {
        Ok(_) if policy == AgentPolicy::NetworkOnly => pick(Venue::Network, "policy"),
        Ok(net_usd)
            if net_usd + limits.network_wait_usd < cloud_usd + limits.cloud_wait_usd
                || !cloud_ok =>
        {
            pick(Venue::Network, "network_cheaper")
        }
        Ok(_) => pick(Venue::Cloud, "cloud_cheaper"),
        Err(why) if cloud_ok => pick(Venue::Cloud, why),
        Err(_) if cloud_usd > limits.value_usd => pick(Venue::Dropped, "over_value"),
        Err(_) => pick(Venue::Dropped, "over_budget"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud() -> CloudBaseline {
        CloudBaseline {
            tflops: 1000.0,
            efficiency: 0.5,
            usd_per_gpu_hour: 3.6,
            egress_usd_per_gb: 0.1,
            data_staging_gb: 0.0,
            staging_usd_per_gb: 0.05,
        }
    }

    fn job() -> JobSize {
        JobSize {
            rounds: 10,
            clients: 4,
            pflop_per_client_round: 1800.0,
            model_bytes: 2_000_000_000,
            data_bytes: 50_000_000_000,
        }
    }

    const LIMITS: Limits = Limits {
        budget_left_usd: 1000.0,
        max_budget_share: 0.5,
        tokens: 1e6,
        value_usd: 500.0,
        network_wait_usd: 0.0,
        cloud_wait_usd: 0.0,
    };

    #[test]
    fn waiting_counts_at_the_agents_price_of_time() {
        let priced = NetworkOffer::Priced {
            tokens: 10.0,
            cost_usd: 100.0,
        };
        // $46.70 cheaper on the network, but an hour's wait at $60/h more.
        let waiting = Limits {
            network_wait_usd: 65.0,
            cloud_wait_usd: 5.0,
            ..LIMITS
        };
        let c = choose(AgentPolicy::Cheapest, priced, 146.7, &waiting);
        assert_eq!((c.venue, c.reason), (Venue::Cloud, "cloud_cheaper"));
    }

    #[test]
    fn a_network_job_waits_for_its_slowest_provider_each_round() {
        // 10 rounds, 2 clients, 1 PFLOP each, 100 MB model and update,
        // 2 GB of data (1 GB shards). Provider A: 100 Mbit/s both ways,
        // 1e14 FLOP/s: 8 + 10 + 8 = 26 s a round, 80 s for its shard.
        // Provider B: 1 Gbit/s, 1e13 FLOP/s: 0.8 + 100 + 0.8 = 101.6 s.
        let job = JobSize {
            rounds: 10,
            clients: 2,
            pflop_per_client_round: 1.0,
            model_bytes: 100_000_000,
            data_bytes: 2_000_000_000,
        };
        let a = ProviderSpeed {
            down_bps: 1e8,
            up_bps: 1e8,
            flops: 1e14,
        };
        let b = ProviderSpeed {
            down_bps: 1e9,
            up_bps: 1e9,
            flops: 1e13,
        };
        let t = network_time_s(&[a, b], &job, 100_000_000, &[]);
        assert!((t - (80.0 + 10.0 * 101.6)).abs() < 1e-9, "{t}");
        // Staged from one host with a 50 Mbit/s uplink: both 1 GB shards
        // share it, 2 × 8e9 / 5e7 = 320 s; from two hosts at 1 Gbit/s the
        // slower downlink (A's, 80 s) bounds it again.
        let t = network_time_s(&[a, b], &job, 100_000_000, &[5e7]);
        assert!((t - (320.0 + 10.0 * 101.6)).abs() < 1e-9, "{t}");
        let t = network_time_s(&[a, b], &job, 100_000_000, &[1e9, 1e9]);
        assert!((t - (80.0 + 10.0 * 101.6)).abs() < 1e-9, "{t}");
    }

    #[test]
    fn the_cloud_quote_matches_hand_arithmetic() {
        // 72,000 PFLOP at 500 TFLOP/s achieved = 1,800 PFLOP per GPU-hour:
        // 40 GPU-hours × 3.6 = 144; staging 50 GB × 0.05 = 2.5; egress
        // 2 GB × 0.1 = 0.2; 10 GPU-hours each on 4 GPUs = 36,000 s.
        let q = cloud_quote(&cloud(), &job());
        assert!((q.cost_usd - 146.7).abs() < 1e-9, "{q:?}");
        assert!((q.staging_usd - 2.5).abs() < 1e-12);
        assert!((q.time_s - 36_000.0).abs() < 1e-6);
    }

    #[test]
    fn an_operator_asks_its_electricity_and_amortization_per_pflop() {
        // 1e14 FLOP/s: a PFLOP takes 10 s = 1/360 h; 360 W at 0.2 USD/kWh
        // is 0.072 USD/h, plus 0.288 USD/h of hardware: 0.36/360 = 0.001.
        let usd = node_usd_per_pflop(1e14, 360.0, 0.2, 0.288);
        assert!((usd - 0.001).abs() < 1e-15);
    }

    #[test]
    fn a_cost_minimising_agent_takes_the_cheaper_venue() {
        let priced = |cost_usd| NetworkOffer::Priced {
            tokens: 10.0,
            cost_usd,
        };
        let c = choose(AgentPolicy::Cheapest, priced(100.0), 146.7, &LIMITS);
        assert_eq!((c.venue, c.reason), (Venue::Network, "network_cheaper"));
        let c = choose(AgentPolicy::Cheapest, priced(200.0), 146.7, &LIMITS);
        assert_eq!((c.venue, c.reason), (Venue::Cloud, "cloud_cheaper"));
        // A tie goes to the cloud.
        let c = choose(AgentPolicy::Cheapest, priced(146.7), 146.7, &LIMITS);
        assert_eq!(c.venue, Venue::Cloud);
    }

    #[test]
    fn rules_and_budgets_close_the_network_or_both_venues() {
        let priced = |tokens, cost_usd| NetworkOffer::Priced { tokens, cost_usd };
        let cheapest = |offer, cloud| choose(AgentPolicy::Cheapest, offer, cloud, &LIMITS);
        // Over the budget share (0.5 × 1000): the cloud, though dearer.
        let c = cheapest(priced(10.0, 501.0), 502.0);
        assert_eq!((c.venue, c.reason), (Venue::Dropped, "over_value"));
        let c = cheapest(priced(10.0, 499.0), 450.0);
        assert_eq!((c.venue, c.reason), (Venue::Cloud, "cloud_cheaper"));
        let low_share = Limits {
            max_budget_share: 0.1,
            ..LIMITS
        };
        let c = choose(
            AgentPolicy::Cheapest,
            priced(10.0, 120.0),
            146.7,
            &low_share,
        );
        assert_eq!((c.venue, c.reason), (Venue::Cloud, "over_budget_share"));
        let c = cheapest(priced(2e6, 10.0), 146.7);
        assert_eq!((c.venue, c.reason), (Venue::Cloud, "too_few_tokens"));
        let c = cheapest(NetworkOffer::NoStake, 146.7);
        assert_eq!((c.venue, c.reason), (Venue::Cloud, "no_stake"));
        let c = choose(AgentPolicy::CloudOnly, priced(1.0, 1.0), 146.7, &LIMITS);
        assert_eq!((c.venue, c.reason), (Venue::Cloud, "policy"));
        let c = choose(AgentPolicy::NetworkOnly, priced(1.0, 300.0), 146.7, &LIMITS);
        assert_eq!((c.venue, c.reason), (Venue::Network, "policy"));
        // Nothing affordable: dropped.
        let broke = Limits {
            budget_left_usd: 100.0,
            ..LIMITS
        };
        let c = choose(
            AgentPolicy::Cheapest,
            NetworkOffer::TooFewProviders,
            146.7,
            &broke,
        );
        assert_eq!((c.venue, c.reason), (Venue::Dropped, "over_budget"));
        // The network affordable and the cloud not: the network.
        let c = choose(AgentPolicy::Cheapest, priced(1.0, 40.0), 146.7, &broke);
        assert_eq!((c.venue, c.reason), (Venue::Network, "network_cheaper"));
    }
}
