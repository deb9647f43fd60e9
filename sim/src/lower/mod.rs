//! Lowering: the one boundary where a validated scenario becomes runtime
//! parameters — ids instead of names, [`SimTime`] instead of durations,
//! base units instead of decimal tokens, parts per million instead of
//! fractions, the models' own enums instead of the YAML's. Nothing built
//! from these reads a spec type again.

mod governance;
pub mod price_file;

pub use governance::{OPERATORS, governance, owners};
pub use price_file::price_model;

use crate::economy::plan::{
    ChainParams, CloudBaseline, DelegateChoice, DelegationPlan, EconomyPlan, EntryRule, Fees,
    Genesis, HolderGroup, OperatorRule, SlashDestination, SlashingRules, Split, StakingPlan,
    Validators, Vesting,
};
use crate::engine::SimTime;
use crate::params::RoundParams;
use crate::scenario::{
    EconomicsSpec, EmissionSpec, Rounds, Scenario, SlashingSpec, SplitSpec, StrategySpec,
    VerificationSpec,
};
use crate::verification::VerifierPlan;
use crate::world::Nodes;
use dmlsim_models::econ::emission::Curve;
use dmlsim_models::econ::slashing::Policy;
use dmlsim_models::econ::split::PPM;
use dmlsim_models::econ::tokens;
use dmlsim_models::econ::verify::Strategy;

/// Decimal tokens to base units (validation keeps them in range).
pub fn amount(v: f64) -> u128 {
    tokens(v).unwrap_or(0)
}

/// A fraction to parts per million.
pub fn ppm(f: f64) -> u128 {
    (f * PPM as f64).round() as u128
}

/// The round settings of a scenario.
pub fn round_params(r: &Rounds) -> RoundParams {
    RoundParams {
        clients_per_round: r.clients_per_round,
        min_clients: r.min_clients,
        retry_after: r.retry_after.time(),
        deadline: r.deadline.time(),
        gap: r.gap.time(),
    }
}

/// Whole epochs that settle within a horizon (settlements at each
/// multiple of the epoch length up to the horizon).
pub fn epochs_in_horizon(horizon: SimTime, epoch: SimTime) -> u64 {
    horizon.nanos().checked_div(epoch.nanos()).unwrap_or(0)
}

/// The emission curve of an economics section in base units, scaled to its
/// `emission_budget` over `horizon` when it has one.
pub fn budgeted_curve(spec: &EconomicsSpec, horizon: SimTime) -> Curve {
    let curve = curve_of(&spec.emission);
    match spec.emission_budget {
        Some(budget) => curve
            .with_budget(
                amount(budget),
                epochs_in_horizon(horizon, spec.epoch.time()),
            )
            .unwrap_or(curve),
        None => curve,
    }
}

/// The emission curve in base units.
pub fn curve_of(spec: &EmissionSpec) -> Curve {
    match spec {
        EmissionSpec::Constant { per_epoch } => Curve::Constant {
            per_epoch: amount(*per_epoch),
        },
        EmissionSpec::LinearDecay { initial, decrement } => Curve::LinearDecay {
            initial: amount(*initial),
            decrement: amount(*decrement),
        },
        EmissionSpec::ExponentialDecay {
            initial,
            half_life_epochs,
        } => Curve::ExponentialDecay {
            initial: amount(*initial),
            half_life: *half_life_epochs,
        },
        EmissionSpec::Halving {
            initial,
            every_epochs,
        } => Curve::Halving {
            initial: amount(*initial),
            every: *every_epochs,
        },
        EmissionSpec::Capped {
            cap,
            half_life_epochs,
        } => Curve::Capped {
            cap: amount(*cap),
            rate: std::f64::consts::LN_2 / half_life_epochs,
        },
        EmissionSpec::Piecewise { steps } => Curve::Piecewise {
            steps: steps
                .iter()
                .map(|s| (s.from_epoch, amount(s.per_epoch)))
                .collect(),
        },
    }
}

/// The economy's fixed plan and its initial changeable parameters. Rules
/// and hardware costs named by profile become per-operator values (an
/// operator follows its first node's profile); the price file is read.
pub fn economy(
    spec: &EconomicsSpec,
    s: &Scenario,
    nodes: &Nodes,
    base_dir: &std::path::Path,
) -> Result<(EconomyPlan, ChainParams), (String, String)> {
    let ops = nodes.operators as usize;
    let profile_of = |node: usize| &nodes.profile_names[nodes.profile[node] as usize];
    let operator_rules = nodes
        .first_node_of_operators()
        .into_iter()
        .map(|first| {
            let profile = profile_of(first as usize);
            spec.operator_rules
                .iter()
                .find(|r| &r.profile == profile)
                .map(|r| OperatorRule {
                    exit_after_unprofitable_epochs: r.exit_after_unprofitable_epochs,
                    entry: r.entry.as_ref().map(|e| EntryRule {
                        horizon_epochs: e.horizon_epochs,
                        min_profit_usd: e.min_profit_usd,
                    }),
                })
        })
        .collect();
    let mut amortization = vec![0.0; ops];
    for (i, &op) in nodes.operator.iter().enumerate() {
        let profile = profile_of(i);
        if let Some(h) = spec.costs.hardware.iter().find(|h| &h.profile == profile) {
            amortization[op as usize] += h.price_usd / (h.lifetime_years * 365.25 * 24.0);
        }
    }
    let v = s.verification.as_ref();
    let plan = EconomyPlan {
        block_time: spec.block_time.time(),
        epoch: spec.epoch.time(),
        curve: budgeted_curve(spec, s.horizon.time()),
        price: price_model(spec, base_dir, s.seeds().price)?,
        genesis: Genesis {
            holders: spec
                .genesis
                .holders
                .iter()
                .map(|h| HolderGroup {
                    name: h.name.clone(),
                    tokens: amount(h.tokens),
                    wallets: h.wallets,
                    owners: h.owners,
                    kind: h.kind.label(),
                    vesting: h.vesting.as_ref().map(|v| Vesting {
                        cliff: v.cliff.time(),
                        duration: v.duration.time(),
                    }),
                    zipf_exponent: match h.split {
                        crate::scenario::WalletSplit::Equal => 0.0,
                        crate::scenario::WalletSplit::Zipf { exponent } => exponent,
                    },
                })
                .collect(),
            job_owner: amount(spec.genesis.job_owner),
            per_operator: amount(spec.genesis.per_operator),
        },
        bandwidth_usd_per_gb: spec.costs.bandwidth_usd_per_gb,
        cloud: spec.cloud.as_ref().map(|c| CloudBaseline {
            tflops: c.tflops,
            efficiency: c.efficiency,
            usd_per_gpu_hour: c.usd_per_gpu_hour,
            egress_usd_per_gb: c.egress_usd_per_gb,
            data_staging_gb: c.data_staging_gb,
            staging_usd_per_gb: c.staging_usd_per_gb,
        }),
        operator_rules,
        amortization_usd_per_hour: amortization,
        region_usd_per_kwh: s
            .regions
            .iter()
            .map(|r| r.electricity_usd_per_kwh)
            .collect(),
        validators: v.map(|v| Validators {
            count: v.validators.count,
            stake: amount(v.validators.stake),
        }),
        slashing: v.map(slashing_rules),
        staking: staking(spec, s),
        amm: match &spec.token_price {
            crate::scenario::PriceSpec::Amm {
                initial_usd,
                pool_tokens,
                fee,
                operator_sell_fraction,
                exogenous_buy_usd_per_epoch,
            } => Some(crate::economy::plan::AmmPlan {
                pool_tokens: amount(*pool_tokens),
                initial_usd: *initial_usd,
                fee_ppm: ppm(*fee) as u32,
                sell_ppm: ppm(*operator_sell_fraction),
                exogenous_usd: *exogenous_buy_usd_per_epoch,
            }),
            _ => None,
        },
    };
    let params = ChainParams {
        fees: Fees {
            tokens_per_pflop: spec.fees.tokens_per_pflop,
            tokens_per_gpu_hour: spec.fees.tokens_per_gpu_hour,
            burn_ppm: ppm(spec.fees.burn_fraction),
        },
        split: split(&spec.split),
        min_stake: amount(spec.staking.min_stake),
        min_self_stake: amount(spec.staking.min_self_stake),
        unbonding: spec.staking.unbonding.time(),
        emission_ppm: PPM,
        slash_fraction: None,
        spot_check_p: v.and_then(|v| match v.strategy {
            StrategySpec::SpotCheck { p } => Some(p),
            _ => None,
        }),
    };
    Ok((plan, params))
}

/// Restaking, delegation and selection by stake.
fn staking(spec: &EconomicsSpec, s: &Scenario) -> StakingPlan {
    let st = &spec.staking;
    StakingPlan {
        restake_ppm: ppm(st.restake.fraction()),
        stake_weighted: st.selection == crate::scenario::SelectionRule::StakeWeighted,
        commission_ppm: ppm(st.commission),
        delegations: st
            .delegations
            .iter()
            .filter_map(|d| {
                Some(DelegationPlan {
                    group: spec
                        .genesis
                        .holders
                        .iter()
                        .position(|h| h.name == d.group)?,
                    fraction_ppm: ppm(d.fraction),
                    choice: match d.choose {
                        crate::scenario::DelegateChoice::Spread => DelegateChoice::Spread,
                        crate::scenario::DelegateChoice::Random => DelegateChoice::Random,
                        crate::scenario::DelegateChoice::Largest => DelegateChoice::Largest,
                    },
                    restake_ppm: ppm(d.restake.fraction()),
                })
            })
            .collect(),
        seed: s.seeds().world,
    }
}

/// A reward split in parts per million.
pub fn split(sp: &SplitSpec) -> Split {
    Split {
        compute_ppm: ppm(sp.compute),
        data_ppm: ppm(sp.data),
        storage_ppm: ppm(sp.storage),
        relay_ppm: ppm(sp.relay),
        validators_ppm: ppm(sp.validators),
        treasury_ppm: ppm(sp.treasury),
    }
}

fn slashing_rules(v: &VerificationSpec) -> SlashingRules {
    let (policy, window) = match &v.slashing {
        SlashingSpec::Fixed { fraction } => (
            Policy::Fixed {
                fraction: *fraction,
            },
            SimTime::ZERO,
        ),
        SlashingSpec::Severity {
            invalid_update,
            liveness,
            equivocation,
            bad_approval,
        } => (
            Policy::Severity {
                fractions: [*invalid_update, *liveness, *equivocation, *bad_approval],
            },
            SimTime::ZERO,
        ),
        SlashingSpec::Correlated {
            base,
            multiplier,
            window,
        } => (
            Policy::Correlated {
                base: *base,
                multiplier: *multiplier,
            },
            window.time(),
        ),
    };
    SlashingRules {
        policy,
        window,
        destination: match v.slash_to {
            crate::scenario::SlashDestination::Burn => SlashDestination::Burn,
            crate::scenario::SlashDestination::Treasury => SlashDestination::Treasury,
        },
        jail: v.jail.duration.time(),
        eject_after: v.jail.eject_after,
    }
}

/// The verifier's plan.
pub fn verifier(v: &VerificationSpec) -> VerifierPlan {
    VerifierPlan {
        strategy: match &v.strategy {
            StrategySpec::None => Strategy::None,
            StrategySpec::SpotCheck { p } => Strategy::SpotCheck { p: *p },
            StrategySpec::Redundancy { r, colluding_lazy } => Strategy::Redundancy {
                r: *r,
                colluding_lazy: *colluding_lazy,
            },
            StrategySpec::Screening { threshold } => Strategy::Screening {
                threshold: *threshold,
            },
        },
        validators: v.validators.count,
        colluding: v.validators.colluding,
        audit_p: v.validators.audit_p,
        capacity_flops: f64::from(v.validators.count) * v.validators.tflops * 1e12,
    }
}
