//! What the protocol reports: one record per round and, when tracing, one
//! per transfer. Output writers turn these into Arrow tables.

use crate::engine::SimTime;
use dmlsim_models::learning::Evaluation;

/// A closed round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundRecord {
    /// Round number from 0.
    pub round: u32,
    /// When clients were selected.
    pub t_start: SimTime,
    /// When the last update arrived or the deadline passed.
    pub t_end: SimTime,
    /// Clients selected.
    pub selected: u32,
    /// Updates that arrived before the deadline.
    pub completed: u32,
    /// Clients still busy at the deadline.
    pub dropped_late: u32,
    /// Clients that went offline during the round.
    pub dropped_offline: u32,
    /// Bytes uploaded by clients (partial transfers included).
    pub bytes_up: u64,
    /// Bytes downloaded by clients (partial transfers included).
    pub bytes_down: u64,
    /// Mean model download time of clients that completed, in s.
    pub download_s_mean: Option<f64>,
    /// Mean local compute time of clients that completed, in s.
    pub compute_s_mean: Option<f64>,
    /// Mean update upload time of clients that completed, in s.
    pub upload_s_mean: Option<f64>,
    /// Global model quality after the round, when a model is trained.
    pub evaluation: Option<Evaluation>,
    /// Mean local training loss of the contributors, when a model is trained.
    pub train_loss: Option<f64>,
    /// FLOPs the contributors really spent training.
    pub flops: f64,
    /// Bytes of one client update on the wire.
    pub update_bytes: u64,
    /// Contributions by behaviour (order of `dmlsim_models::behaviour::ALL`).
    pub by_behaviour: [u32; 6],
    /// Updates a validator checked.
    pub verified: u32,
    /// Updates rejected as invalid.
    pub rejected: u32,
    /// Updates withheld without blame (no redundancy majority).
    pub withheld: u32,
    /// Extra FLOPs spent on verification.
    pub verification_flops: f64,
    /// Stake slashed for this round's offences, base units.
    pub slashed: u128,
    /// Validators' re-execution time delaying settlement, s.
    pub settlement_delay_s: f64,
}

/// Direction of a transfer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TransferKind {
    /// Global model, aggregator → client.
    Broadcast,
    /// Client update, client → aggregator.
    Upload,
    /// A training-data shard, hosting node → client (before round 0's
    /// model, on a market job that bought a dataset).
    Stage,
}

impl TransferKind {
    /// Name used in `transfers.arrow`.
    pub fn label(self) -> &'static str {
        match self {
            TransferKind::Broadcast => "broadcast",
            TransferKind::Upload => "upload",
            TransferKind::Stage => "stage",
        }
    }
}

/// One flow, for `transfers.arrow`.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferRecord {
    /// The job it belongs to (0: the protocol's; market jobs from 1).
    pub job: u16,
    /// Round the transfer belongs to.
    pub round: u32,
    /// Broadcast or upload.
    pub kind: TransferKind,
    /// Sender node id, or None for the aggregator.
    pub src: Option<u32>,
    /// Receiver node id, or None for the aggregator.
    pub dst: Option<u32>,
    /// Bytes the transfer was to move.
    pub bytes: u64,
    /// Bytes actually moved (less when abandoned at the deadline).
    pub bytes_moved: u64,
    /// When the flow started.
    pub start: SimTime,
    /// When the last byte arrived (transmission end plus one-way latency),
    /// or when the flow was abandoned.
    pub end: SimTime,
    /// One-way latency of the path.
    pub latency: SimTime,
    /// Whether the receiver got it while it still counted: false when
    /// abandoned at the deadline, arriving after it, or arriving at a node
    /// that had gone offline (the same clients `rounds.arrow` drops).
    pub delivered: bool,
}
