//! The self-interested voter's estimator: what an owner expects to earn in
//! the next epoch under a set of economy parameters, from the state after
//! the last settlement.
//!
//! - The pool is the next epoch's emission (the curve's, scaled by the
//!   proposed emission scale) plus the last epoch's fees,
//!   scaled by the proposed fee per PFLOP over the current one, less the
//!   burned share.
//! - The operators' part (compute + data shares) is divided as the last
//!   epoch's operator rewards were, among the operators that could hold the
//!   minimum stake (stake + balance); an operator that could not is out.
//!   With no rewards last epoch, each such operator counts equally.
//! - The treasury's part (the treasury share, plus the validators' share
//!   when there are no validators) goes to the owners who control the
//!   treasury, equally.
//! - A treasury spend adds its amount to the receiving owner's income.
//!
//! It ignores what a change does to the network later (operators leaving,
//! the price): owners vote on the next epoch's income as things stand. A
//! new slashing fraction or spot-check probability changes no honest
//! owner's income in this estimate: self-interested owners abstain.

use crate::economy::ChainParams;
use dmlsim_models::econ::split::PPM;

/// The state after the last settlement that the estimate starts from.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomeBasis {
    /// The next epoch's emission, tokens.
    pub emission: f64,
    /// Fees paid in the last epoch, tokens.
    pub fees: f64,
    /// Each operator's rewards in the last epoch, tokens.
    pub rewards: Vec<f64>,
    /// Each operator's tokens that could back its stake (balance + stake), base units.
    pub capacity: Vec<u128>,
    /// Whether validators take the validators' share.
    pub validators: bool,
    /// The parameters in effect.
    pub current: ChainParams,
}

/// The estimate under one set of parameters, shared by every owner.
#[derive(Clone, Debug, PartialEq)]
pub struct Outlook {
    /// Tokens the operators' part holds.
    operators_part: f64,
    /// Tokens the treasury's part holds.
    treasury_part: f64,
    /// Which operators stay in (could hold the minimum stake).
    serving: Vec<bool>,
    /// Their rewards last epoch, summed.
    serving_rewards: f64,
    /// How many stay in.
    serving_count: usize,
}

impl IncomeBasis {
    /// The outlook under `params`.
    pub fn outlook(&self, params: &ChainParams) -> Outlook {
        let fee_ratio = if self.current.fees.tokens_per_pflop > 0.0 {
            params.fees.tokens_per_pflop / self.current.fees.tokens_per_pflop
        } else {
            1.0
        };
        let kept = 1.0 - params.fees.burn_ppm as f64 / PPM as f64;
        let emission = self.emission * params.emission_ppm as f64 / PPM as f64;
        let pool = emission + self.fees * fee_ratio * kept;
        let sp = &params.split;
        let share = |ppm: u128| pool * ppm as f64 / PPM as f64;
        let treasury_ppm = sp.treasury_ppm
            + if self.validators {
                0
            } else {
                sp.validators_ppm
            };
        let serving: Vec<bool> = self
            .capacity
            .iter()
            .map(|&c| c >= params.min_stake)
            .collect();
        let serving_rewards = self
            .rewards
            .iter()
            .zip(&serving)
            .filter(|(_, s)| **s)
            .map(|(r, _)| r)
            .sum();
        Outlook {
            operators_part: share(sp.compute_ppm + sp.data_ppm + sp.storage_ppm + sp.relay_ppm),
            treasury_part: share(treasury_ppm),
            serving_count: serving.iter().filter(|s| **s).count(),
            serving,
            serving_rewards,
        }
    }

    /// The income of an owner running `operators` and holding
    /// `treasury_share` of the treasury's income, under `outlook`.
    pub fn income(&self, outlook: &Outlook, operators: &[usize], treasury_share: f64) -> f64 {
        let mine = operators.iter().filter(|&&o| outlook.serving[o]);
        let operator_share = if outlook.serving_rewards > 0.0 {
            mine.map(|&o| self.rewards[o]).sum::<f64>() / outlook.serving_rewards
        } else if outlook.serving_count > 0 {
            mine.count() as f64 / outlook.serving_count as f64
        } else {
            0.0
        };
        outlook.operators_part * operator_share + outlook.treasury_part * treasury_share
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::economy::plan::{Fees, Split};
    use crate::engine::SimTime;
    use dmlsim_models::econ::TOKEN;

    fn params(compute: u128, treasury: u128, min_stake: u128) -> ChainParams {
        ChainParams {
            fees: Fees {
                tokens_per_pflop: 20.0,
                tokens_per_gpu_hour: 0.0,
                burn_ppm: 300_000,
            },
            split: Split {
                compute_ppm: compute,
                data_ppm: 0,
                storage_ppm: 0,
                relay_ppm: 0,
                validators_ppm: PPM - compute - treasury,
                treasury_ppm: treasury,
            },
            min_stake,
            min_self_stake: 0,
            unbonding: SimTime::ZERO,
            emission_ppm: PPM,
            slash_fraction: None,
            spot_check_p: None,
        }
    }

    #[test]
    fn incomes_follow_the_split_the_stake_test_and_the_treasury() {
        // Emission 1,000 + fees 100 × 0.7 kept = a pool of 1,070 tokens.
        let current = params(700_000, 200_000, 100 * TOKEN);
        let basis = IncomeBasis {
            emission: 1_000.0,
            fees: 100.0,
            rewards: vec![30.0, 10.0, 0.0],
            capacity: vec![150 * TOKEN, 150 * TOKEN, 500 * TOKEN],
            validators: false,
            current: current.clone(),
        };
        let now = basis.outlook(&current);
        // Operators take 70% split 3:1:0; the treasury 20% + 10% (no validators).
        assert!((basis.income(&now, &[0], 0.0) - 1_070.0 * 0.7 * 0.75).abs() < 1e-9);
        assert!((basis.income(&now, &[1, 2], 0.0) - 1_070.0 * 0.7 * 0.25).abs() < 1e-9);
        assert!((basis.income(&now, &[], 0.5) - 1_070.0 * 0.3 * 0.5).abs() < 1e-9);
        // Moving emission to the treasury: operators lose, its owners gain.
        let grab = basis.outlook(&params(400_000, 500_000, 100 * TOKEN));
        assert!(basis.income(&grab, &[0], 0.0) < basis.income(&now, &[0], 0.0));
        assert!(basis.income(&grab, &[], 0.5) > basis.income(&now, &[], 0.5));
        // A minimum stake of 200 leaves only operator 2 in: it takes it all.
        let high = basis.outlook(&params(700_000, 200_000, 200 * TOKEN));
        assert_eq!(basis.income(&high, &[0, 1], 0.0), 0.0);
        assert!((basis.income(&high, &[2], 0.0) - 1_070.0 * 0.7).abs() < 1e-9);
        // Doubling the fee doubles the fees' part of the pool.
        let mut dearer = current.clone();
        dearer.fees.tokens_per_pflop = 40.0;
        let pool = basis.outlook(&dearer);
        assert!((basis.income(&pool, &[], 1.0) - (1_000.0 + 140.0) * 0.3).abs() < 1e-9);
        // Halving the emission halves the emission's part only.
        let mut leaner = current.clone();
        leaner.emission_ppm = PPM / 2;
        let pool = basis.outlook(&leaner);
        assert!((basis.income(&pool, &[], 1.0) - (500.0 + 70.0) * 0.3).abs() < 1e-9);
        // Slashing and spot checks change no honest income.
        let mut stricter = current.clone();
        stricter.slash_fraction = Some(0.5);
        stricter.spot_check_p = Some(0.9);
        assert_eq!(basis.outlook(&stricter), now);
    }
}
