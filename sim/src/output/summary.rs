//! The `summary` block of `run.json`: the headline figures of each table,
//! so a sweep or a CI check can read a run's outcome without opening the
//! tables.

use crate::economy::{Economy, RoundEconomics};
use crate::protocol::RoundRecord;
use dmlsim_models::econ::as_tokens;
use serde::Serialize;
use std::collections::BTreeMap;

/// Headline figures of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Rows written per table.
    pub rows: BTreeMap<&'static str, u64>,
    /// The rounds.
    pub rounds: RoundsSummary,
    /// The economy, when the run has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub economy: Option<EconomySummary>,
    /// Whether the network collapsed: every operator left before the job
    /// finished (`stopped_by: no_operators`).
    pub network_collapsed: bool,
    /// With verification: each behaviour class's outcome and whether
    /// cheating paid (as behaviours.arrow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationSummary>,
    /// With governance: its votes and how concentrated power ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub governance: Option<GovernanceSummary>,
    /// With a market: where the agents' jobs went and what they cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market: Option<MarketSummary>,
}

/// Headline figures of the market (jobs.arrow).
#[derive(Clone, Debug, Serialize)]
pub struct MarketSummary {
    /// Jobs the agents submitted.
    pub jobs: u32,
    /// Of those whose venue was chosen: sent to the network.
    pub network_jobs: u32,
    /// Sent to the cloud.
    pub cloud_jobs: u32,
    /// Dropped or refused.
    pub dropped_jobs: u32,
    /// Network jobs ÷ jobs decided (None without decided jobs).
    pub network_share: Option<f64>,
    /// Network PFLOP ÷ PFLOP of decided jobs.
    pub network_pflop_share: Option<f64>,
    /// Mean price awarded per PFLOP over network jobs (PFLOP-weighted), tokens.
    pub mean_price_tokens_per_pflop: Option<f64>,
    /// What the agents spent, USD.
    pub spent_usd: f64,
    /// What the same decided jobs would have cost all in the cloud, USD.
    pub all_cloud_usd: f64,
    /// Tokens paid to providers.
    pub paid_tokens: f64,
    /// PFLOP of jobs that wanted the network and found too few providers.
    pub unfilled_pflop: f64,
    /// Agents' offences punished.
    pub agent_offences: u32,
    /// The data market's figures (with `market.data`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSummary>,
}

/// Headline figures of the data market (datasets.arrow, jobs.arrow).
#[derive(Clone, Debug, Serialize)]
pub struct DataSummary {
    /// Jobs that bought a dataset.
    pub purchases: u32,
    /// Tokens paid for datasets (every charge).
    pub paid_tokens: f64,
    /// USD paid for datasets.
    pub paid_usd: f64,
    /// Challenges that caught poisoned data.
    pub poison_caught: u32,
    /// Jobs that bought poisoned data (it slipped through).
    pub poison_bought: u32,
    /// Jobs dropped because no eligible dataset passed its challenge.
    pub no_clean_data: u32,
    /// Providers' stake slashed for poisoned data, tokens.
    pub slashed_tokens: f64,
}

impl DataSummary {
    fn of(m: &crate::market::Market, d: &crate::market::data::DataMarket) -> DataSummary {
        let r = &m.records;
        DataSummary {
            purchases: r.iter().filter(|x| x.data_provider.is_some()).count() as u32,
            paid_tokens: as_tokens(r.iter().map(|x| x.data_paid).sum()),
            paid_usd: r.iter().map(|x| x.data_usd).sum(),
            poison_caught: d.offences.len() as u32,
            poison_bought: r.iter().filter(|x| x.data_poisoned).count() as u32,
            no_clean_data: r.iter().filter(|x| x.reason == "no_clean_data").count() as u32,
            slashed_tokens: as_tokens(d.offences.iter().map(|o| o.penalty).sum()),
        }
    }
}

impl MarketSummary {
    /// The summary of a run's market.
    pub fn of(m: &crate::market::Market) -> MarketSummary {
        use crate::market::pricing::Venue;
        let r = &m.records;
        let decided: Vec<_> = r.iter().filter(|x| !x.reason.is_empty()).collect();
        let count = |v: Venue| decided.iter().filter(|x| x.venue == v).count() as u32;
        let network: Vec<_> = decided
            .iter()
            .filter(|x| x.venue == Venue::Network)
            .collect();
        let pflop: f64 = decided.iter().map(|x| x.pflop).sum();
        let net_pflop: f64 = network.iter().map(|x| x.pflop).sum();
        let awarded: f64 = network
            .iter()
            .map(|x| x.price_tokens_per_pflop.unwrap_or(0.0) * x.pflop)
            .sum();
        MarketSummary {
            jobs: r.len() as u32,
            network_jobs: network.len() as u32,
            cloud_jobs: count(Venue::Cloud),
            dropped_jobs: count(Venue::Dropped),
            network_share: (!decided.is_empty())
                .then(|| network.len() as f64 / decided.len() as f64),
            network_pflop_share: (pflop > 0.0).then(|| net_pflop / pflop),
            mean_price_tokens_per_pflop: (net_pflop > 0.0).then(|| awarded / net_pflop),
            spent_usd: decided.iter().map(|x| x.cost_usd).sum(),
            // A job that bought a dataset would have paid for it in the
            // cloud too.
            all_cloud_usd: decided.iter().map(|x| x.cloud_cost_usd + x.data_usd).sum(),
            paid_tokens: as_tokens(r.iter().map(|x| x.paid).sum()),
            unfilled_pflop: m.unfilled_pflop,
            agent_offences: m.offences.len() as u32,
            data: m.data.as_ref().map(|d| DataSummary::of(m, d)),
        }
    }
}

/// Headline figures of governance (proposals.arrow, concentration.arrow).
#[derive(Clone, Debug, Serialize)]
pub struct GovernanceSummary {
    /// Proposals created.
    pub proposals: u32,
    /// Proposals tallied.
    pub decided: u32,
    /// Proposals that passed.
    pub passed: u32,
    /// Tallied proposals decided by no more than `captured_at_most` owners.
    pub captured: u32,
    /// `passed / decided` (null before any tally).
    pub passed_share: Option<f64>,
    /// `captured / decided` (null before any tally).
    pub captured_share: Option<f64>,
    /// The fewest owners that decided any proposal.
    pub min_decided_by_owners: Option<u32>,
    /// Mean turnout of the tallied proposals.
    pub mean_turnout: Option<f64>,
    /// At the last settlement, over owners, the treasury counted as its
    /// owners': Nakamoto coefficient (51%) of holdings.
    pub final_owner_nakamoto_51: Option<u32>,
    /// The same: Gini of holdings.
    pub final_owner_gini: Option<f64>,
    /// At the last settlement: Nakamoto coefficient (51%) of voting power over owners.
    pub final_voting_nakamoto_51: Option<u32>,
    /// At the last settlement: the ten largest owners' share of voting power.
    pub final_voting_top10_share: Option<f64>,
    /// At the last settlement, over operators (validators left out): the
    /// Nakamoto coefficient (33%) of the stake bonded to them.
    pub final_stake_nakamoto_33: Option<u32>,
    /// The same: Gini of bonded stake.
    pub final_stake_gini: Option<f64>,
    /// The same: the ten largest operators' share of bonded stake.
    pub final_stake_top10_share: Option<f64>,
}

impl GovernanceSummary {
    /// The summary of a run's governance.
    pub fn of(g: &crate::governance::Governance) -> GovernanceSummary {
        let decided: Vec<_> = g.proposals.iter().filter(|p| p.passed.is_some()).collect();
        let n = decided.len() as u32;
        let passed = decided.iter().filter(|p| p.passed == Some(true)).count() as u32;
        let captured = decided.iter().filter(|p| p.captured).count() as u32;
        let share = |k: u32| (n > 0).then(|| f64::from(k) / f64::from(n));
        let last = |measure: &str, over: &str, with: bool| {
            g.concentration
                .iter()
                .rev()
                .find(|r| r.measure == measure && r.over == over && r.with_protocol == with)
        };
        let holdings = last("holdings", "owners", true);
        let votes = last("voting_power", "owners", false);
        let stake = last("bonded_stake", "operators", false);
        GovernanceSummary {
            proposals: g.proposals.len() as u32,
            decided: n,
            passed,
            captured,
            passed_share: share(passed),
            captured_share: share(captured),
            min_decided_by_owners: decided.iter().filter_map(|p| p.decided_by).min(),
            mean_turnout: (n > 0).then(|| {
                decided
                    .iter()
                    .map(|p| p.tally.turnout(p.eligible))
                    .sum::<f64>()
                    / f64::from(n)
            }),
            final_owner_nakamoto_51: holdings.map(|r| r.c.nakamoto_51),
            final_owner_gini: holdings.map(|r| r.c.gini),
            final_voting_nakamoto_51: votes.map(|r| r.c.nakamoto_51),
            final_voting_top10_share: votes.map(|r| r.top[2]),
            final_stake_nakamoto_33: stake.map(|r| r.c.nakamoto_33),
            final_stake_gini: stake.map(|r| r.c.gini),
            final_stake_top10_share: stake.map(|r| r.top[2]),
        }
    }
}

/// Whether cheating paid, per behaviour class.
#[derive(Clone, Debug, Serialize)]
pub struct VerificationSummary {
    /// Per class present (`honest`, `lazy`, …): its figures.
    #[serde(flatten)]
    pub classes: BTreeMap<&'static str, BehaviourSummary>,
    /// The best-paid cheating class's net profit per update minus the
    /// honest class's, USD: > 0 means cheating paid (null without both).
    pub cheating_premium_usd_per_update: Option<f64>,
}

/// One behaviour class's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct BehaviourSummary {
    /// Nodes of the class.
    pub nodes: u32,
    /// Updates they delivered.
    pub updates: u64,
    /// Invalid updates caught per update delivered.
    pub caught_rate: Option<f64>,
    /// Net profit per update delivered, USD.
    pub net_profit_usd_per_update: Option<f64>,
}

impl VerificationSummary {
    /// The summary of behaviours.arrow's figures.
    pub fn of(stats: &[super::econ_tables::BehaviourStat]) -> Self {
        let classes: BTreeMap<&'static str, BehaviourSummary> = stats
            .iter()
            .map(|s| {
                (
                    s.label,
                    BehaviourSummary {
                        nodes: s.nodes,
                        updates: s.updates,
                        caught_rate: s.per_update(s.caught as f64),
                        net_profit_usd_per_update: s.per_update(s.profit_usd),
                    },
                )
            })
            .collect();
        let honest = classes
            .get("honest")
            .and_then(|h| h.net_profit_usd_per_update);
        let best_cheat = classes
            .iter()
            .filter(|(k, _)| **k != "honest")
            .filter_map(|(_, c)| c.net_profit_usd_per_update)
            .reduce(f64::max);
        VerificationSummary {
            classes,
            cheating_premium_usd_per_update: honest.zip(best_cheat).map(|(h, c)| c - h),
        }
    }
}

/// Headline figures of `rounds.arrow`, accumulated as rounds stream out,
/// with the derived learning metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RoundsSummary {
    /// Rounds closed.
    pub rounds: u32,
    /// Updates that arrived in time, over all rounds.
    pub updates_completed: u64,
    /// Clients dropped (late or offline), over all rounds.
    pub clients_dropped: u64,
    /// Mean round duration, s (null without rounds).
    pub duration_s_mean: Option<f64>,
    /// Test accuracy after the last round (null when nothing is trained).
    pub final_test_accuracy: Option<f64>,
    /// Highest test accuracy after any round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_test_accuracy: Option<f64>,
    /// What the rounds cost the network (`rounds.cost_usd` summed), USD;
    /// null without economics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The same work on the cloud baseline (`rounds.cloud_cost_usd`
    /// summed), USD; null without a baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_cost_usd: Option<f64>,
    /// `cost_usd` per point of final test accuracy (accuracy × 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd_per_accuracy_point: Option<f64>,
    /// `cloud_cost_usd` per point of final test accuracy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_cost_usd_per_accuracy_point: Option<f64>,
    /// Time to each of `metrics.accuracy_targets`, keyed by the target in
    /// percent with `_` for a decimal point (`90`, `92_5`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub accuracy_targets: BTreeMap<String, TargetSummary>,
    #[serde(skip)]
    duration_s_sum: f64,
    #[serde(skip)]
    trackers: Vec<TargetTracker>,
    #[serde(skip)]
    sustained_rounds: u32,
}

/// When a run first reached a test accuracy, and first held it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TargetSummary {
    /// The target accuracy, in (0, 1].
    pub target: f64,
    /// Whether any round reached it (then 1, else 0 in `runs.arrow`).
    pub reached: bool,
    /// Simulated time at the end of the first round whose test accuracy
    /// was ≥ the target, s.
    pub time_s: Option<f64>,
    /// That round (`rounds.round`, from 0).
    pub round: Option<u32>,
    /// `rounds.cost_usd` summed through that round, USD.
    pub cost_usd: Option<f64>,
    /// `rounds.cloud_cost_usd` summed through that round, USD.
    pub cloud_cost_usd: Option<f64>,
    /// Simulated time at the end of the first round of the first run of
    /// `metrics.sustained_rounds` evaluated rounds in a row at or above the
    /// target, s (the target reached and then held).
    pub sustained_time_s: Option<f64>,
    /// That round.
    pub sustained_round: Option<u32>,
}

/// Progress of one target while rounds stream past.
#[derive(Clone, Debug, Default)]
struct TargetTracker {
    summary: TargetSummary,
    /// The first round of the current streak at or above the target: round,
    /// end time, and the streak's length so far.
    streak: Option<(u32, f64, u32)>,
}

/// The key of a target in `accuracy_targets`: percent, `_` for the point.
pub fn target_key(target: f64) -> String {
    let percent = (target * 100.0 * 1e9).round() / 1e9;
    format!("{percent}").replace('.', "_")
}

impl RoundsSummary {
    /// A summary measuring time to each of `metrics.accuracy_targets`.
    pub fn new(metrics: &crate::scenario::MetricsSpec) -> Self {
        RoundsSummary {
            trackers: metrics
                .accuracy_targets
                .iter()
                .map(|&target| TargetTracker {
                    summary: TargetSummary {
                        target,
                        ..TargetSummary::default()
                    },
                    streak: None,
                })
                .collect(),
            sustained_rounds: metrics.sustained_rounds.max(1),
            ..RoundsSummary::default()
        }
    }

    /// Adds rounds (in order) to the summary; `economy` holds (at least)
    /// their economy rows, in round order, when the run has an economy.
    pub fn add(&mut self, rounds: &[RoundRecord], economy: Option<&[RoundEconomics]>) {
        for r in rounds {
            self.rounds += 1;
            self.updates_completed += u64::from(r.completed);
            self.clients_dropped += u64::from(r.dropped_late + r.dropped_offline);
            self.duration_s_sum += r.t_end.saturating_sub(r.t_start).as_secs_f64();
            if let Some(rows) = economy {
                let row = rows
                    .binary_search_by_key(&r.round, |e| e.round)
                    .ok()
                    .map(|i| &rows[i]);
                if let Some(e) = row {
                    *self.cost_usd.get_or_insert(0.0) += e.cost_usd();
                    if let Some(c) = e.cloud_cost_usd {
                        *self.cloud_cost_usd.get_or_insert(0.0) += c;
                    }
                }
            }
            let accuracy = r.evaluation.map(|e| e.test_accuracy);
            self.final_test_accuracy = accuracy;
            if let Some(a) = accuracy.filter(|a| a.is_finite()) {
                self.best_test_accuracy = Some(self.best_test_accuracy.map_or(a, |b| b.max(a)));
                let t = r.t_end.as_secs_f64();
                let need = self.sustained_rounds;
                for tr in &mut self.trackers {
                    let s = &mut tr.summary;
                    if a >= s.target {
                        if !s.reached {
                            s.reached = true;
                            s.time_s = Some(t);
                            s.round = Some(r.round);
                            s.cost_usd = self.cost_usd;
                            s.cloud_cost_usd = self.cloud_cost_usd;
                        }
                        let streak = tr.streak.get_or_insert((r.round, t, 0));
                        streak.2 += 1;
                        if streak.2 >= need && s.sustained_time_s.is_none() {
                            s.sustained_time_s = Some(streak.1);
                            s.sustained_round = Some(streak.0);
                        }
                    } else {
                        tr.streak = None;
                    }
                }
            }
        }
        self.duration_s_mean =
            (self.rounds > 0).then(|| self.duration_s_sum / f64::from(self.rounds));
        let points = self
            .final_test_accuracy
            .filter(|a| *a > 0.0)
            .map(|a| a * 100.0);
        self.cost_usd_per_accuracy_point = self.cost_usd.zip(points).map(|(c, p)| c / p);
        self.cloud_cost_usd_per_accuracy_point =
            self.cloud_cost_usd.zip(points).map(|(c, p)| c / p);
        self.accuracy_targets = self
            .trackers
            .iter()
            .map(|t| (target_key(t.summary.target), t.summary.clone()))
            .collect();
    }
}

/// Headline figures of the economy's tables.
#[derive(Clone, Debug, Serialize)]
pub struct EconomySummary {
    /// Epochs settled.
    pub epochs: u64,
    /// Supply at the end, tokens.
    pub supply_tokens: f64,
    /// Minted over the run, tokens.
    pub minted_tokens: f64,
    /// Burned over the run, tokens.
    pub burned_tokens: f64,
    /// Gini of holdings at the last settlement (null before any).
    pub final_gini: Option<f64>,
    /// Nakamoto coefficient at 51% at the last settlement.
    pub final_nakamoto_51: Option<u32>,
    /// Operators in the network at the end.
    pub operators_in_network: u32,
    /// Offences punished.
    pub offences: u64,
    /// Stake slashed, tokens.
    pub slashed_tokens: f64,
    /// Fees the job owner could not pay, tokens.
    pub unpaid_fees_tokens: f64,
    /// Gini of holdings over operator accounts only, at the last
    /// settlement (`epochs.gini_operators`).
    pub final_gini_operators: Option<f64>,
    /// Gini of the last epoch's rewards over the operators that took part
    /// (`epochs.reward_gini`).
    pub final_reward_gini: Option<f64>,
    /// Mean of `epochs.reward_gini` over the epochs.
    pub mean_reward_gini: Option<f64>,
    /// Operator-epochs: Σ over epochs of the operators that took part.
    pub operator_epochs: u64,
    /// Operator-epochs with a positive epoch profit.
    pub operator_epochs_profitable: u64,
    /// Survival: `operator_epochs_profitable / operator_epochs`.
    pub profitable_share: Option<f64>,
}

impl Summary {
    /// The summary of a run; `rounds` are the rounds' figures accumulated
    /// as they streamed out. `rows` stays empty until the tables are
    /// finished ([`super::RunInfo::record_files`]).
    pub fn new(rounds: RoundsSummary, e: Option<&Economy>) -> Self {
        Summary {
            network_collapsed: false,
            verification: None,
            governance: None,
            market: None,
            rows: BTreeMap::new(),
            rounds,
            economy: e.map(|e| {
                let last = e.epochs.last();
                EconomySummary {
                    epochs: e.epochs.len() as u64,
                    supply_tokens: as_tokens(e.ledger.supply()),
                    minted_tokens: as_tokens(e.ledger.minted()),
                    burned_tokens: as_tokens(e.ledger.burned()),
                    final_gini: last.map(|x| x.gini),
                    final_nakamoto_51: last.map(|x| x.nakamoto_51),
                    operators_in_network: e.operators_in_network(),
                    offences: e.offences.len() as u64,
                    slashed_tokens: as_tokens(e.offences.iter().map(|o| o.penalty).sum()),
                    unpaid_fees_tokens: as_tokens(e.unpaid_fees),
                    final_gini_operators: last.map(|x| x.operators_holdings.gini),
                    final_reward_gini: last.map(|x| x.rewards.c.gini),
                    mean_reward_gini: (!e.epochs.is_empty()).then(|| {
                        e.epochs.iter().map(|x| x.rewards.c.gini).sum::<f64>()
                            / e.epochs.len() as f64
                    }),
                    operator_epochs: e.operator_epoch_counts.1,
                    operator_epochs_profitable: e.operator_epoch_counts.0,
                    profitable_share: (e.operator_epoch_counts.1 > 0).then(|| {
                        e.operator_epoch_counts.0 as f64 / e.operator_epoch_counts.1 as f64
                    }),
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::scenario::MetricsSpec;
    use dmlsim_models::learning::Evaluation;

    /// Rounds of 100 s each with these accuracies.
    fn rounds(accuracies: &[f64]) -> Vec<RoundRecord> {
        accuracies
            .iter()
            .enumerate()
            .map(|(i, &a)| RoundRecord {
                round: i as u32,
                t_start: SimTime::from_secs(100 * i as u64),
                t_end: SimTime::from_secs(100 * (i as u64 + 1)),
                evaluation: Some(Evaluation {
                    test_accuracy: a,
                    test_loss: 1.0,
                }),
                ..RoundRecord::default()
            })
            .collect()
    }

    #[test]
    fn time_to_accuracy_by_hand() {
        let metrics = MetricsSpec {
            accuracy_targets: vec![0.9, 0.925, 0.99],
            sustained_rounds: 3,
        };
        let mut s = RoundsSummary::new(&metrics);
        // Each round costs $10 on the network and $4 in the cloud.
        let economy: Vec<RoundEconomics> = (0..6)
            .map(|round| {
                let mut e = RoundEconomics::default();
                e.round = round;
                e.operator_cost_usd = 10.0;
                e.cloud_cost_usd = Some(4.0);
                e
            })
            .collect();
        let all = rounds(&[0.5, 0.92, 0.85, 0.91, 0.93, 0.95]);
        // Streamed in two parts, as the run drains them.
        s.add(&all[..2], Some(&economy));
        s.add(&all[2..], Some(&economy));
        let t90 = &s.accuracy_targets["90"];
        // First reached after round 1 (t = 200 s, $20 spent); held for three
        // rounds in a row from round 3 (t = 400 s): 0.91, 0.93, 0.95.
        assert_eq!(
            (t90.reached, t90.time_s, t90.round),
            (true, Some(200.0), Some(1))
        );
        assert_eq!((t90.cost_usd, t90.cloud_cost_usd), (Some(20.0), Some(8.0)));
        assert_eq!(
            (t90.sustained_time_s, t90.sustained_round),
            (Some(400.0), Some(3))
        );
        let t925 = &s.accuracy_targets["92_5"];
        // Reached at round 4 (0.93); held only two rounds: not sustained.
        assert_eq!((t925.time_s, t925.sustained_time_s), (Some(500.0), None));
        let t99 = &s.accuracy_targets["99"];
        assert_eq!((t99.reached, t99.time_s), (false, None));
        assert_eq!(s.best_test_accuracy, Some(0.95));
        assert_eq!(s.cost_usd, Some(60.0));
        // $60 for 95 points of accuracy; the cloud's $24 likewise.
        assert!((s.cost_usd_per_accuracy_point.unwrap() - 60.0 / 95.0).abs() < 1e-12);
        assert!((s.cloud_cost_usd_per_accuracy_point.unwrap() - 24.0 / 95.0).abs() < 1e-12);
        assert_eq!(s.duration_s_mean, Some(100.0));
    }

    #[test]
    fn target_keys_are_percent_without_a_dot() {
        assert_eq!(target_key(0.9), "90");
        assert_eq!(target_key(0.925), "92_5");
        assert_eq!(target_key(1.0), "100");
        assert_eq!(target_key(0.07), "7");
    }
}
