//! The root model of a run. It owns every subsystem's state — the world
//! (nodes), the network, the training job, the chain (token economy and
//! its clock), the verifier, the runtime parameters and any listening
//! policies — and routes each [`Event`] to the subsystem it belongs to.
//!
//! ```text
//!            Event::Job ─▶ Job ──(round ended)──▶ Verifier ─▶ Job::close_round
//!            Event::Net ─▶ Network ─(flow finished)─▶ Job        │ Fact::RoundClosed
//!          Event::Chain ─▶ Chain ─(epoch settled)─┐              ▼
//!                                                  └──▶ Chain, Listeners ──▶ Effects
//!                                                                             │
//!                   world (operators active, jailed) ◀── root applies ◀───────┘
//!                   params (versioned changes)       ◀──
//! ```
//!
//! Subsystems never call each other. The world and the network are
//! resources a job uses through activities (transfers, selection); the
//! deciding subsystems report typed [`Fact`]s and return typed [`Effect`]s,
//! which the root applies before the next event.

mod build;
mod event;
mod fact;

pub use build::build;
pub use event::{ChainEvent, Event, JobEvent, JobId, MarketEvent, NetEvent};
pub use fact::{BadApproval, Contribution, Effect, Fact, Listener, Misconduct, RoundClosed};

use crate::chain::{Chain, ChainStep};
use crate::engine::{Model, Scheduler, SimTime};
use crate::governance::Governance;
use crate::market::Market;
use crate::network::Network;
use crate::params::{Params, RoundParams, Versioned};
use crate::protocol::job::{Job, JobCtx, RoundEnded};
use crate::verification::{RoundChecks, Verifier};
use crate::world::Nodes;
use dmlsim_models::learning::Learner;

/// The root model: every subsystem of a run.
pub struct System<L: Learner> {
    /// The nodes, with their run counters.
    pub nodes: Nodes,
    /// Links, flows and the transfer trace.
    pub net: Network,
    /// The training job.
    pub job: Job<L>,
    /// The token economy and its clock, when the scenario has one.
    pub chain: Option<Chain>,
    /// The verifier, when the scenario has a `verification` section.
    pub verifier: Option<Verifier>,
    /// On-chain governance, when the scenario has a `governance` section.
    pub governance: Option<Governance>,
    /// Agents and the compute market, when the scenario has a `market` section.
    pub market: Option<Market>,
    /// Runtime parameters, versioned.
    pub params: Params,
    listeners: Vec<Box<dyn Listener>>,
    effects: Vec<Effect>,
    /// Why the run failed, if it did (exit code 1).
    pub failure: Option<String>,
    /// Parameter changes that could not apply (reported, not fatal).
    pub param_errors: Vec<String>,
}

impl<L: Learner> System<L> {
    /// A root over its subsystems; `effects` are those decided while
    /// building them (e.g. operators that start outside the network).
    pub fn new(
        nodes: Nodes,
        net: Network,
        job: Job<L>,
        chain: Option<Chain>,
        verifier: Option<Verifier>,
        params: Params,
        effects: Vec<Effect>,
    ) -> System<L> {
        let mut s = System {
            nodes,
            net,
            job,
            chain,
            verifier,
            governance: None,
            market: None,
            params,
            listeners: Vec::new(),
            effects,
            failure: None,
            param_errors: Vec::new(),
        };
        s.apply_effects(SimTime::ZERO);
        s
    }

    /// Adds a policy that listens to facts and answers with effects.
    pub fn add_listener(&mut self, listener: Box<dyn Listener>) {
        self.listeners.push(listener);
    }

    /// Schedules the first events: the chain's clock, then the first
    /// round, then the agents' first jobs.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        if let Some(chain) = &self.chain {
            chain.start(sched);
        }
        sched.schedule_at(
            SimTime::ZERO,
            Event::Job(JobEvent::StartRound { job: self.job.id() }),
        );
        if let Some(market) = self.market.as_mut() {
            market.start(sched);
        }
    }

    /// Routes an event of a market job (job ids from 1); a stopped job's
    /// events are dropped.
    fn on_market_job(&mut self, e: JobEvent, sched: &mut Scheduler<Event>) {
        let Some(market) = self.market.as_mut() else {
            return;
        };
        let Some((job, rounds)) = market.job_mut(e.job()) else {
            return;
        };
        let mut ctx = Self::job_ctx(sched, &mut self.net, &mut self.nodes, rounds);
        if let Some(ended) = job.handle(e, &mut ctx) {
            self.close_market_round(e.job(), ended, sched);
        }
    }

    /// A market job's transfer finished.
    fn on_market_flow(&mut self, f: crate::network::FlowFinished, sched: &mut Scheduler<Event>) {
        let Some((job, rounds)) = self.market.as_mut().and_then(|m| m.job_mut(f.tag.job)) else {
            return;
        };
        let mut ctx = Self::job_ctx(sched, &mut self.net, &mut self.nodes, rounds);
        job.on_flow_finished(f, &mut ctx);
    }

    /// Closes a market job's round (its updates are not verified) and has
    /// the market pay for it.
    fn close_market_round(&mut self, id: JobId, ended: RoundEnded, sched: &mut Scheduler<Event>) {
        let (Some(market), Some(chain)) = (self.market.as_mut(), self.chain.as_mut()) else {
            return;
        };
        let Some((job, rounds)) = market.job_mut(id) else {
            return;
        };
        let checks = RoundChecks {
            accepted: ended.contributors().to_vec(),
            ..RoundChecks::default()
        };
        let mut ctx = Self::job_ctx(sched, &mut self.net, &mut self.nodes, rounds);
        let closed = job.close_round(ended, checks, &mut ctx);
        if let Err(message) =
            market.on_round_closed(id, &closed, &mut self.nodes, &mut chain.economy)
        {
            self.fail(sched, message);
        }
    }

    fn on_market(&mut self, e: MarketEvent, sched: &mut Scheduler<Event>) {
        let (Some(market), Some(chain)) = (self.market.as_mut(), self.chain.as_mut()) else {
            return;
        };
        if let Err(message) = market.handle(e, sched, &mut self.nodes, &mut chain.economy) {
            self.fail(sched, message);
        }
    }

    fn job_ctx<'a>(
        sched: &'a mut Scheduler<Event>,
        net: &'a mut Network,
        nodes: &'a mut Nodes,
        rounds: &'a Versioned<RoundParams>,
    ) -> JobCtx<'a> {
        JobCtx {
            sched,
            net,
            nodes,
            rounds,
        }
    }

    fn fail(&mut self, sched: &mut Scheduler<Event>, message: String) {
        self.failure.get_or_insert(message);
        sched.stop();
    }

    /// Verifies an ended round, has the job aggregate it, settles it on the
    /// chain and tells the listeners.
    fn close_round(&mut self, ended: RoundEnded, sched: &mut Scheduler<Event>) {
        let spot_check_p = self
            .params
            .chain
            .as_ref()
            .and_then(|c| c.at(sched.now()).spot_check_p);
        let checks = match self.verifier.as_mut() {
            Some(v) => v.check(self.job.updates(&ended), spot_check_p),
            None => RoundChecks {
                accepted: ended.contributors().to_vec(),
                ..RoundChecks::default()
            },
        };
        let mut ctx = Self::job_ctx(sched, &mut self.net, &mut self.nodes, &self.params.rounds);
        let closed = self.job.close_round(ended, checks, &mut ctx);
        let mut punished = 0..0;
        if let Some(chain) = self.chain.as_mut() {
            let before = chain.economy.offences.len();
            let params = self.params.chain_at(sched.now());
            let settled =
                chain
                    .economy
                    .settle_round(&closed, &self.nodes, params, &mut self.effects);
            punished = before..chain.economy.offences.len();
            match settled {
                Ok(slashed) => self.job.note_slashed(closed.round, slashed),
                Err(message) => self.fail(sched, message),
            }
        }
        let now = sched.now();
        notify(
            &mut self.listeners,
            &mut self.effects,
            now,
            Fact::RoundClosed(&closed),
        );
        if let Some(chain) = &self.chain {
            for o in &chain.economy.offences[punished] {
                notify(
                    &mut self.listeners,
                    &mut self.effects,
                    now,
                    Fact::OffencePunished(o),
                );
            }
        }
        self.apply_effects(now);
    }

    /// Applies the pending effects in the order they were decided.
    fn apply_effects(&mut self, now: SimTime) {
        for effect in self.effects.drain(..) {
            match effect {
                Effect::SetOperatorActive { operator, active } => {
                    self.nodes.operator_active[operator as usize] = active;
                }
                Effect::SetSelectionStake { bonded } => {
                    self.nodes.set_stake_weights(&bonded);
                }
                Effect::JailOperator { operator, until } => {
                    let jailed = &mut self.nodes.operator_jailed_until[operator as usize];
                    *jailed = (*jailed).max(until);
                }
                Effect::TreasurySpend { to, amount } => {
                    let spent = self
                        .chain
                        .as_mut()
                        .map(|c| c.economy.spend_treasury(to, amount));
                    if let Some(Err(why)) = spent {
                        self.param_errors.push(format!(
                            "a passed treasury spend of {} tokens at {:.0} s was not paid: {why}",
                            dmlsim_models::econ::as_tokens(amount),
                            now.as_secs_f64()
                        ));
                    }
                }
                Effect::ChangeParam { from, change } => {
                    if let Err(message) = self.params.apply(from.max(now), &change) {
                        self.param_errors.push(message);
                    }
                }
            }
        }
    }

    fn on_chain(&mut self, event: ChainEvent, sched: &mut Scheduler<Event>) {
        let Some(chain) = self.chain.as_mut() else {
            return;
        };
        let params = self.params.chain_at(sched.now());
        let jobs_done =
            self.job.is_done() && self.market.as_ref().is_none_or(|m| m.is_done(sched.now()));
        let step = chain.handle(
            event,
            sched,
            &self.nodes,
            params,
            jobs_done,
            &mut self.effects,
        );
        match step {
            Ok(ChainStep::Continue) => {}
            Ok(step) => {
                let now = sched.now();
                if let (Some(market), Some(chain)) = (self.market.as_mut(), self.chain.as_mut())
                    && let Err(message) =
                        market.close_epoch(now, &mut self.nodes, &mut chain.economy)
                {
                    self.fail(sched, message);
                    return;
                }
                if let Some(record) = self.chain.as_ref().and_then(|c| c.economy.epochs.last()) {
                    notify(
                        &mut self.listeners,
                        &mut self.effects,
                        now,
                        Fact::EpochSettled(record),
                    );
                }
                if let (Some(gov), Some(chain)) = (self.governance.as_mut(), self.chain.as_ref()) {
                    let params = self.params.chain_at(now);
                    let closing = step != ChainStep::EpochSettled;
                    gov.on_epoch(now, &chain.economy, params, closing, &mut self.effects);
                }
                self.apply_effects(now);
                if matches!(step, ChainStep::Finished | ChainStep::Collapsed) {
                    sched.stop();
                }
            }
            Err(message) => self.fail(sched, message),
        }
    }
}

/// Tells every listener a fact, collecting the effects they decide on.
fn notify(
    listeners: &mut [Box<dyn Listener>],
    effects: &mut Vec<Effect>,
    now: SimTime,
    fact: Fact,
) {
    for l in listeners {
        l.on_fact(now, fact, effects);
    }
}

impl<L: Learner> Model for System<L> {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::Job(e) if e.job().0 > 0 => self.on_market_job(e, sched),
            Event::Job(e) => {
                let mut ctx =
                    Self::job_ctx(sched, &mut self.net, &mut self.nodes, &self.params.rounds);
                if let Some(ended) = self.job.handle(e, &mut ctx) {
                    self.close_round(ended, sched);
                }
            }
            Event::Net(e) => {
                if let Some(finished) = self.net.handle(e, sched) {
                    if finished.tag.job.0 > 0 {
                        self.on_market_flow(finished, sched);
                        return;
                    }
                    let mut ctx =
                        Self::job_ctx(sched, &mut self.net, &mut self.nodes, &self.params.rounds);
                    self.job.on_flow_finished(finished, &mut ctx);
                }
            }
            Event::Chain(e) => self.on_chain(e, sched),
            Event::Market(e) => self.on_market(e, sched),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
