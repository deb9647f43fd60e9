//! The seam between a federated round's timing (simulated by `dmlsim`) and
//! the learning it stands for. A [`Learner`] says how much work a client
//! does and, when a round closes, turns the updates that arrived in time
//! into the next global model and its evaluation.

/// The quality of the global model on the held-out test set after a round.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Fraction of test examples classified correctly, in [0, 1].
    pub test_accuracy: f64,
    /// Mean test loss.
    pub test_loss: f64,
}

/// What the learner reports when a round closes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundLearning {
    /// The global model's evaluation, or None when nothing is trained.
    pub evaluation: Option<Evaluation>,
}

/// The learning behind federated rounds.
///
/// Training is deterministic given the global model, a node's data and the
/// round, so the learner may train the contributors' updates lazily when
/// the round closes (in parallel, combined in node-id order).
pub trait Learner {
    /// Short name recorded in `run.json`.
    fn name(&self) -> &str;

    /// FLOPs `node` spends on local work in `round`; simulated compute time
    /// is this divided by the node's effective FLOP/s.
    fn client_work_flops(&self, round: u32, node: u32) -> f64;

    /// Closes `round`: `contributors` (ascending node ids) are the clients
    /// whose updates arrived before the deadline.
    fn complete_round(&mut self, round: u32, contributors: &[u32]) -> RoundLearning;
}

/// Timing only: clients spend a fixed amount of work and no model is
/// trained, so rounds report no accuracy (null, never a made-up number).
#[derive(Clone, Debug, PartialEq)]
pub struct TimingOnly {
    /// FLOPs per client per round.
    pub work_flops: f64,
}

impl Learner for TimingOnly {
    fn name(&self) -> &str {
        "timing-only"
    }

    fn client_work_flops(&self, _round: u32, _node: u32) -> f64 {
        self.work_flops
    }

    fn complete_round(&mut self, _round: u32, _contributors: &[u32]) -> RoundLearning {
        RoundLearning { evaluation: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_only_reports_work_and_no_accuracy() {
        let mut l = TimingOnly { work_flops: 5e12 };
        assert_eq!(l.client_work_flops(3, 9), 5e12);
        assert_eq!(l.complete_round(0, &[1, 2]).evaluation, None);
        assert_eq!(l.name(), "timing-only");
    }
}
