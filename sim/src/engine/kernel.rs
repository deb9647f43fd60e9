//! The run loop: pops events in `(time, sequence)` order and hands them to a
//! [`Model`], skipping cancelled ones, until a horizon, an empty queue, an
//! event budget or a stop request.

use super::id_hash::IdSet;
use super::queue::{EventId, EventQueue};
use super::time::SimTime;

/// Cancelled events not yet popped. A pop checks one cell of a small
/// counting filter (indexed by the sequence number's low bits) and touches
/// the set only when that cell is non-zero, so runs with cancelled events
/// pending pay no hash probe per event.
struct Cancelled {
    /// Number of pending cancelled ids per cell (`id % CELLS`).
    cells: Vec<u32>,
    ids: IdSet<EventId>,
}

const CELLS: usize = 4096;

impl Cancelled {
    fn new() -> Cancelled {
        Cancelled {
            cells: vec![0; CELLS],
            ids: IdSet::default(),
        }
    }

    fn insert(&mut self, id: EventId) {
        if self.ids.insert(id) {
            self.cells[id.seq() as usize % CELLS] += 1;
        }
    }

    /// Whether `id` was cancelled; forgets it (it has been popped).
    fn take(&mut self, id: EventId) -> bool {
        let cell = &mut self.cells[id.seq() as usize % CELLS];
        if *cell == 0 || !self.ids.remove(&id) {
            return false;
        }
        *cell -= 1;
        true
    }
}

/// A simulated system driven by events of type `Self::Event`.
pub trait Model {
    /// The event type; an enum of small variants keeps the hot loop cheap.
    type Event;

    /// Reacts to `event` at the scheduler's current time, scheduling more.
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);
}

/// The handle a model uses to read the clock and schedule or cancel events.
pub struct Scheduler<E> {
    queue: EventQueue<E>,
    now: SimTime,
    /// Ids of cancelled events not yet popped.
    cancelled: Cancelled,
    stop_requested: bool,
}

impl<E> Scheduler<E> {
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `at`; times in the past are a
    /// model bug and are clamped to now (and caught by debug assertions).
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> EventId {
        debug_assert!(at >= self.now, "event scheduled in the past");
        self.queue.push(at.max(self.now), event)
    }

    /// Schedules `event` after a delay from now.
    pub fn schedule_in(&mut self, delay: SimTime, event: E) -> EventId {
        self.queue.push(self.now.saturating_add(delay), event)
    }

    /// Cancels a pending event; it will be dropped when it reaches the front.
    pub fn cancel(&mut self, id: EventId) {
        self.cancelled.insert(id);
    }

    /// Takes `n` consecutive sequence numbers for events the model keeps
    /// outside the queue for now; returns the first. An event finally
    /// queued under one of them with [`Scheduler::schedule_reserved`] runs
    /// exactly where it would have run had it been queued now (among the
    /// events at its time).
    pub fn reserve_many(&mut self, n: u64) -> u64 {
        self.queue.reserve_seqs(n)
    }

    /// Queues `event` at `at` under a sequence number taken with
    /// [`Scheduler::reserve_many`]; `(at, seq)` must not precede the event
    /// being handled (checked in debug builds). If an event with this very
    /// key was cancelled and is still pending, it is revived instead, so
    /// keys stay unique in the queue.
    pub fn schedule_reserved(&mut self, at: SimTime, seq: u64, event: E) -> EventId {
        debug_assert!(at >= self.now, "event scheduled in the past");
        let id = EventId::new(at.max(self.now), seq);
        if self.cancelled.take(id) {
            return id;
        }
        self.queue.push_with_seq(id.time(), seq, event)
    }

    /// Asks the kernel to stop after the current event.
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }

    /// Number of pending events, cancelled ones included.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// Why [`Kernel::run`] returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The next event lies beyond the horizon (it stays queued).
    Horizon,
    /// No events are left.
    Empty,
    /// The per-call event budget was used up; call `run` again to go on.
    Budget,
    /// The model called [`Scheduler::stop`].
    Stopped,
    /// The caller's `go_on` check said to pause (see [`Kernel::run_while`]);
    /// call again to go on.
    Paused,
}

/// The event loop that owns the queue and the clock.
pub struct Kernel<E> {
    sched: Scheduler<E>,
    processed: u64,
}

impl<E> Default for Kernel<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Kernel<E> {
    /// A kernel at time zero with an empty queue.
    pub fn new() -> Self {
        Kernel {
            sched: Scheduler {
                queue: EventQueue::new(),
                now: SimTime::ZERO,
                cancelled: Cancelled::new(),
                stop_requested: false,
            },
            processed: 0,
        }
    }

    /// The scheduler, for seeding initial events before running.
    pub fn scheduler(&mut self) -> &mut Scheduler<E> {
        &mut self.sched
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.sched.now
    }

    /// Events handed to the model so far (cancelled ones not counted).
    pub fn events_processed(&self) -> u64 {
        self.processed
    }

    /// Runs events with time ≤ `horizon`, at most `budget` of them.
    pub fn run<M: Model<Event = E>>(
        &mut self,
        model: &mut M,
        horizon: SimTime,
        budget: u64,
    ) -> StopReason {
        self.run_while(model, horizon, budget, |_| true)
    }

    /// Like [`Kernel::run`], and pauses after any event that makes
    /// `go_on(model)` false (a round closed, a stop was asked for), so the
    /// caller can report progress or stop between events.
    pub fn run_while<M: Model<Event = E>>(
        &mut self,
        model: &mut M,
        horizon: SimTime,
        budget: u64,
        mut go_on: impl FnMut(&M) -> bool,
    ) -> StopReason {
        let mut handled = 0u64;
        loop {
            if self.sched.stop_requested {
                return StopReason::Stopped;
            }
            if handled >= budget {
                return StopReason::Budget;
            }
            match self.sched.queue.peek_time() {
                None => return StopReason::Empty,
                Some(t) if t > horizon => return StopReason::Horizon,
                Some(_) => {}
            }
            let (time, id, event) = self.sched.queue.pop().expect("peeked");
            if self.sched.cancelled.take(id) {
                continue;
            }
            self.sched.now = time;
            model.handle(event, &mut self.sched);
            handled += 1;
            self.processed += 1;
            if !go_on(model) {
                return StopReason::Paused;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order it saw events in and reschedules a chain.
    struct Recorder {
        seen: Vec<(u64, u32)>,
    }

    impl Model for Recorder {
        type Event = u32;
        fn handle(&mut self, event: u32, sched: &mut Scheduler<u32>) {
            self.seen.push((sched.now().nanos(), event));
            if event == 1 {
                sched.schedule_in(SimTime(0), 100);
            }
        }
    }

    #[test]
    fn same_time_events_run_first_in_first_out() {
        let mut k = Kernel::new();
        for e in [1u32, 2, 3] {
            k.scheduler().schedule_at(SimTime(10), e);
        }
        let mut m = Recorder { seen: vec![] };
        assert_eq!(k.run(&mut m, SimTime::MAX, u64::MAX), StopReason::Empty);
        // 100 was scheduled at time 10 while 2 and 3 were pending: it goes last.
        assert_eq!(m.seen, vec![(10, 1), (10, 2), (10, 3), (10, 100)]);
        assert_eq!(k.events_processed(), 4);
    }

    #[test]
    fn cancelled_events_are_skipped_and_horizon_stops() {
        let mut k = Kernel::new();
        let a = k.scheduler().schedule_at(SimTime(5), 7);
        k.scheduler().schedule_at(SimTime(6), 8);
        k.scheduler().schedule_at(SimTime(50), 9);
        k.scheduler().cancel(a);
        let mut m = Recorder { seen: vec![] };
        assert_eq!(k.run(&mut m, SimTime(20), u64::MAX), StopReason::Horizon);
        assert_eq!(m.seen, vec![(6, 8)]);
        assert_eq!(k.scheduler().pending(), 1);
    }

    #[test]
    fn budget_pauses_and_resumes() {
        let mut k = Kernel::new();
        for i in 0..10u32 {
            k.scheduler().schedule_at(SimTime(u64::from(i)), i + 10);
        }
        let mut m = Recorder { seen: vec![] };
        assert_eq!(k.run(&mut m, SimTime::MAX, 4), StopReason::Budget);
        assert_eq!(m.seen.len(), 4);
        assert_eq!(k.run(&mut m, SimTime::MAX, 100), StopReason::Empty);
        assert_eq!(m.seen.len(), 10);
    }

    #[test]
    fn a_false_check_pauses_after_the_event_and_the_run_resumes() {
        let mut k = Kernel::new();
        for i in 0..6u32 {
            k.scheduler().schedule_at(SimTime(u64::from(i)), i + 2);
        }
        let mut m = Recorder { seen: vec![] };
        let even = |m: &Recorder| m.seen.last().is_none_or(|s| s.1 % 2 == 1);
        assert_eq!(
            k.run_while(&mut m, SimTime::MAX, 100, even),
            StopReason::Paused
        );
        assert_eq!(m.seen, vec![(0, 2)]);
        assert_eq!(
            k.run_while(&mut m, SimTime::MAX, 100, even),
            StopReason::Paused
        );
        assert_eq!(m.seen.len(), 3, "paused after event 2");
        assert_eq!(k.run(&mut m, SimTime::MAX, 100), StopReason::Empty);
        assert_eq!(m.seen.len(), 6);
    }
}
