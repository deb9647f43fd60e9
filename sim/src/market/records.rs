//! What the market writes: one record per submitted job (`jobs.arrow`),
//! per settled epoch (the market columns of `epochs.arrow`) and per agent
//! offence (rows of `offences.arrow`).

use super::pricing::Venue;
use crate::engine::SimTime;

/// How a submitted job ended (or stands when the run ends).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every round ran.
    Finished,
    /// Still training on the network when the run ended.
    Running,
    /// Stopped by the protocol: its agent did not pay for a round.
    AbortedDefault,
    /// Refused by the protocol at deployment: the agent broke a rule.
    Refused,
    /// Not trained anywhere.
    Dropped,
}

impl Outcome {
    /// Name used in `jobs.arrow`.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Finished => "finished",
            Outcome::Running => "running",
            Outcome::AbortedDefault => "aborted_default",
            Outcome::Refused => "refused",
            Outcome::Dropped => "dropped",
        }
    }
}

/// One submitted job: the agent's choice, its price and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// Submission order, from 0.
    pub job: u32,
    /// The agent (index over all agents).
    pub agent: u32,
    /// Its population.
    pub population: u16,
    /// When the order was published.
    pub t_submit: SimTime,
    /// When the venue was chosen (the bid window closed).
    pub t_decided: SimTime,
    /// When it finished or stopped (None while running or if dropped).
    pub t_end: Option<SimTime>,
    /// Where it went.
    pub venue: Venue,
    /// Why.
    pub reason: &'static str,
    /// Nodes hired (network jobs), ascending.
    pub providers: Vec<u32>,
    /// Mean price awarded per PFLOP, tokens (network offers only).
    pub price_tokens_per_pflop: Option<f64>,
    /// Rounds asked for.
    pub rounds: u32,
    /// Rounds that closed.
    pub rounds_done: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// Tokens paid to providers, base units.
    pub paid: u128,
    /// USD the agent counted for the network (None without a priced offer).
    pub network_cost_usd: Option<f64>,
    /// USD it spent (network: tokens paid × price + data staging + its
    /// aggregator's egress of each round's model; cloud: the quote).
    pub cost_usd: f64,
    /// The cloud's price for the job, USD.
    pub cloud_cost_usd: f64,
    /// Of that, data staging, USD.
    pub cloud_staging_usd: f64,
    /// The cloud's time for the job, s.
    pub cloud_time_s: f64,
    /// The agent's estimate of the network's time for the job, s (with
    /// awards only).
    pub network_time_est_s: Option<f64>,
    /// Total work asked for, PFLOP.
    pub pflop: f64,
    /// Training data moved, bytes.
    pub data_bytes: u64,
    /// Token price when the venue was chosen, USD.
    pub token_price_usd: f64,
    /// Ledger sequence of its first payment (None if nothing was paid).
    pub first_payment_seq: Option<u64>,
    /// The data provider whose dataset it bought (with a dataset).
    pub data_provider: Option<u32>,
    /// Providers' datasets its agent challenged before buying.
    pub data_challenges: u32,
    /// Tokens paid for the dataset (every charge), base units.
    pub data_paid: u128,
    /// USD paid for the dataset.
    pub data_usd: f64,
    /// Whether the dataset it bought was poisoned (slipped through the
    /// challenge): the model is worthless.
    pub data_poisoned: bool,
    /// Its attempt: 0 for a new job, k for its k-th resubmission.
    pub attempt: u32,
    /// The dropped job it resubmits (None for a new job).
    pub retry_of: Option<u32>,
}

/// The market over one epoch (written beside the economy's epoch row).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MarketEpoch {
    /// Jobs whose venue was chosen in the epoch.
    pub jobs: u32,
    /// Of those, sent to the network.
    pub network_jobs: u32,
    /// Sent to the cloud.
    pub cloud_jobs: u32,
    /// Dropped or refused.
    pub dropped_jobs: u32,
    /// Work awarded to the network, PFLOP.
    pub volume_pflop: f64,
    /// Tokens awarded for it (price × PFLOP), for the mean clearing price.
    pub awarded_tokens: f64,
    /// Work of jobs that wanted the network and found too few providers, PFLOP.
    pub unfilled_pflop: f64,
    /// Tokens paid to providers in the epoch, base units.
    pub paid: u128,
    /// Tokens agents paid data providers for datasets, base units.
    pub data_paid: u128,
    /// The epoch's data, storage and relay reward payouts, base units.
    pub data_rewards: [u128; 3],
}

impl MarketEpoch {
    /// Mean price awarded per PFLOP, tokens (None without awards).
    pub fn clearing_price(&self) -> Option<f64> {
        (self.volume_pflop > 0.0).then(|| self.awarded_tokens / self.volume_pflop)
    }

    /// Share of the epoch's decided jobs the network won (None without jobs).
    pub fn network_share(&self) -> Option<f64> {
        (self.jobs > 0).then(|| f64::from(self.network_jobs) / f64::from(self.jobs))
    }
}

/// A rule an agent broke.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AgentOffenceKind {
    /// Deployed at a price above its on-chain cap.
    PriceCapBreach,
    /// Did not pay for a round its providers delivered.
    PaymentDefault,
}

impl AgentOffenceKind {
    /// Name used in `offences.arrow`.
    pub fn label(self) -> &'static str {
        match self {
            AgentOffenceKind::PriceCapBreach => "price_cap_breach",
            AgentOffenceKind::PaymentDefault => "payment_default",
        }
    }
}

/// An agent's offence and its punishment.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentOffence {
    /// When it was punished.
    pub t: SimTime,
    /// The agent.
    pub agent: u32,
    /// The job it happened in.
    pub job: u32,
    /// What it did.
    pub kind: AgentOffenceKind,
    /// Stake slashed, base units.
    pub penalty: u128,
    /// The `slash` ledger entry (None with no stake to take).
    pub ledger_seq: Option<u64>,
}
