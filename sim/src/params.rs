//! Runtime parameters that may change during a run. Each is versioned: a
//! log of values with the simulated time each takes effect, so a
//! governance vote (or any subsystem's [`Effect::ChangeParam`]) changes a
//! parameter from a given time on, and the whole history stays readable.
//!
//! [`Effect::ChangeParam`]: crate::system::Effect::ChangeParam

use crate::economy::ChainParams;
use crate::economy::plan::Split;
use crate::engine::SimTime;

/// A value with its change log, ordered by the time each value takes effect.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    log: Vec<(SimTime, T)>,
}

impl<T> Versioned<T> {
    /// A parameter holding `initial` from time zero.
    pub fn new(initial: T) -> Self {
        Versioned {
            log: vec![(SimTime::ZERO, initial)],
        }
    }

    /// The value in effect at `t` (the latest change at or before `t`).
    pub fn at(&self, t: SimTime) -> &T {
        let i = self.log.partition_point(|(from, _)| *from <= t);
        &self.log[i.max(1) - 1].1
    }

    /// Sets `value` from `from` on. A change at the same time as an earlier
    /// one replaces it; changes keep time order (a change dated before the
    /// last one is applied after it, at the last one's time).
    pub fn set(&mut self, from: SimTime, value: T) {
        let last = self.log.last().expect("never empty").0;
        let from = from.max(last);
        if from == last {
            self.log.last_mut().expect("never empty").1 = value;
        } else {
            self.log.push((from, value));
        }
    }

    /// Changes a copy of the value in effect at `from` and sets it from then on.
    pub fn edit(&mut self, from: SimTime, change: impl FnOnce(&mut T))
    where
        T: Clone,
    {
        let mut value = self.at(from).clone();
        change(&mut value);
        self.set(from, value);
    }

    /// Every value with the time it took effect, oldest first.
    pub fn history(&self) -> &[(SimTime, T)] {
        &self.log
    }
}

/// The round settings of a training job.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundParams {
    /// Clients selected per round.
    pub clients_per_round: u32,
    /// Fewest online nodes to start a round.
    pub min_clients: u32,
    /// Wait before retrying selection.
    pub retry_after: SimTime,
    /// Deadline from round start.
    pub deadline: SimTime,
    /// Pause between rounds.
    pub gap: SimTime,
}

/// A change of one runtime parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamChange {
    /// `rounds.clients_per_round`.
    ClientsPerRound(u32),
    /// `rounds.min_clients`.
    MinClients(u32),
    /// `rounds.deadline`.
    Deadline(SimTime),
    /// `rounds.gap`.
    RoundGap(SimTime),
    /// `economics.staking.min_stake`, base units.
    MinStake(u128),
    /// `economics.fees.tokens_per_pflop`.
    FeePerPflop(f64),
    /// `economics.fees.burn_fraction`, parts per million.
    BurnPpm(u128),
    /// `economics.split`, parts per million.
    Split(Split),
    /// The emission curve's scale, parts per million of the curve.
    EmissionPpm(u128),
    /// A fixed slashing fraction replacing `verification.slashing`.
    SlashFraction(f64),
    /// `verification.strategy.spot_check.p`.
    SpotCheckP(f64),
}

impl ParamChange {
    /// The scenario path of the parameter it changes.
    pub fn path(&self) -> &'static str {
        match self {
            ParamChange::ClientsPerRound(_) => "rounds.clients_per_round",
            ParamChange::MinClients(_) => "rounds.min_clients",
            ParamChange::Deadline(_) => "rounds.deadline",
            ParamChange::RoundGap(_) => "rounds.gap",
            ParamChange::MinStake(_) => "economics.staking.min_stake",
            ParamChange::FeePerPflop(_) => "economics.fees.tokens_per_pflop",
            ParamChange::BurnPpm(_) => "economics.fees.burn_fraction",
            ParamChange::Split(_) => "economics.split",
            ParamChange::EmissionPpm(_) => "economics.emission",
            ParamChange::SlashFraction(_) => "verification.slashing",
            ParamChange::SpotCheckP(_) => "verification.strategy.spot_check.p",
        }
    }
}

/// The parameters of a run that may change while it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Round settings of the training job.
    pub rounds: Versioned<RoundParams>,
    /// The economy's changeable parameters, when the run has an economy.
    pub chain: Option<Versioned<ChainParams>>,
}

impl Params {
    /// Applies `change` from time `from` on. A change of an economy
    /// parameter in a run without an economy changes nothing and says so.
    pub fn apply(&mut self, from: SimTime, change: &ParamChange) -> Result<(), String> {
        match *change {
            ParamChange::ClientsPerRound(v) => self.rounds.edit(from, |r| r.clients_per_round = v),
            ParamChange::MinClients(v) => self.rounds.edit(from, |r| r.min_clients = v),
            ParamChange::Deadline(v) => self.rounds.edit(from, |r| r.deadline = v),
            ParamChange::RoundGap(v) => self.rounds.edit(from, |r| r.gap = v),
            ParamChange::MinStake(v) => self.chain(change)?.edit(from, |c| c.min_stake = v),
            ParamChange::FeePerPflop(v) => self
                .chain(change)?
                .edit(from, |c| c.fees.tokens_per_pflop = v),
            ParamChange::BurnPpm(v) => self.chain(change)?.edit(from, |c| c.fees.burn_ppm = v),
            ParamChange::Split(ref v) => self.chain(change)?.edit(from, |c| c.split = v.clone()),
            ParamChange::EmissionPpm(v) => self.chain(change)?.edit(from, |c| c.emission_ppm = v),
            ParamChange::SlashFraction(v) => self
                .chain(change)?
                .edit(from, |c| c.slash_fraction = Some(v)),
            ParamChange::SpotCheckP(v) => {
                let chain = self.chain(change)?;
                if chain.at(from).spot_check_p.is_none() {
                    return Err(format!(
                        "`{}` changed in a run that does not spot-check updates",
                        change.path()
                    ));
                }
                chain.edit(from, |c| c.spot_check_p = Some(v))
            }
        }
        Ok(())
    }

    /// The economy's parameters, for a change that needs them.
    fn chain(&mut self, change: &ParamChange) -> Result<&mut Versioned<ChainParams>, String> {
        self.chain
            .as_mut()
            .ok_or_else(|| format!("`{}` changed in a run without an economy", change.path()))
    }

    /// The economy's parameters in effect at `t` (panics without an economy,
    /// which only a run with one asks for).
    pub fn chain_at(&self, t: SimTime) -> &ChainParams {
        self.chain.as_ref().expect("the run has an economy").at(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_versioned_value_reads_the_latest_change_at_or_before_a_time() {
        let mut v = Versioned::new(10);
        v.set(SimTime(100), 20);
        v.set(SimTime(300), 30);
        assert_eq!(*v.at(SimTime(0)), 10);
        assert_eq!(*v.at(SimTime(99)), 10);
        assert_eq!(*v.at(SimTime(100)), 20);
        assert_eq!(*v.at(SimTime(299)), 20);
        assert_eq!(*v.at(SimTime::MAX), 30);
        // Same time replaces; an earlier time is clamped to the last change.
        v.set(SimTime(300), 31);
        v.set(SimTime(200), 40);
        assert_eq!(v.history().len(), 3);
        assert_eq!(*v.at(SimTime(300)), 40);
    }

    #[test]
    fn a_param_change_keeps_the_other_fields() {
        let base = RoundParams {
            clients_per_round: 10,
            min_clients: 1,
            retry_after: SimTime(5),
            deadline: SimTime(60),
            gap: SimTime(0),
        };
        let mut p = Params {
            rounds: Versioned::new(base.clone()),
            chain: None,
        };
        p.apply(SimTime(1_000), &ParamChange::ClientsPerRound(3))
            .unwrap();
        p.apply(SimTime(2_000), &ParamChange::Deadline(SimTime(90)))
            .unwrap();
        assert_eq!(
            p.apply(SimTime(3_000), &ParamChange::MinStake(5)),
            Err("`economics.staking.min_stake` changed in a run without an economy".into())
        );
        assert_eq!(*p.rounds.at(SimTime(999)), base);
        assert_eq!(p.rounds.at(SimTime(1_500)).clients_per_round, 3);
        let late = p.rounds.at(SimTime(2_000));
        assert_eq!((late.clients_per_round, late.deadline), (3, SimTime(90)));
    }
}
