//! The generic discrete-event kernel: integer time, a FIFO-stable event queue,
//! the run loop, and seeded per-purpose random streams. Nothing here knows
//! about federated learning or networks.

pub mod id_hash;
pub mod kernel;
pub mod queue;
pub mod time;

/// Seeded per-purpose random streams (shared with the engine-free models).
pub use dmlsim_models::rng;
pub use kernel::{Kernel, Model, Scheduler, StopReason};
pub use queue::{EventId, EventQueue};
pub use time::SimTime;

/// A small deterministic generator for tests: `rnd(m)` draws from `0..m`.
#[cfg(test)]
pub(crate) fn test_rnd(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |m| {
        state = rng::splitmix64(state);
        state % m
    }
}
