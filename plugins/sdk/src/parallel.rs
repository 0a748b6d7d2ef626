//! Running independent pieces of a strategy's search on several threads while the calling
//! thread keeps talking to the host: it polls cancellation and the time limit (the `RunContext` belongs to
//! the calling thread) and raises the flags of a [`Stop`] that the workers check between moves.
//!
//! Results come back in item order whatever thread ran them, which keeps a seeded run
//! reproducible for a given thread count.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use entmoot_plugin_sdk::RunContext;
//! use entmoot_plugin_sdk::parallel::{Stop, map_in_parallel};
//!
//! let stop = Stop::new(Instant::now() + Duration::from_secs(5));
//! let squares = map_in_parallel(vec![1, 2, 3], 2, &stop, &RunContext::detached(), |x, _| x * x);
//! assert_eq!(squares, vec![1, 4, 9]);
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::strategy::RunContext;

/// How often the calling thread asks the host whether to stop.
const POLL: Duration = Duration::from_millis(20);

/// Why workers should wrap up: the host cancelled (the run fails with `Cancelled`), or the
/// time is up (the run returns its best so far).
#[derive(Debug)]
pub struct Stop {
    cancelled: AtomicBool,
    out_of_time: AtomicBool,
    deadline: Instant,
}

impl Stop {
    /// Nothing raised yet; time is up at `deadline`.
    pub fn new(deadline: Instant) -> Stop {
        Stop {
            cancelled: AtomicBool::new(false),
            out_of_time: AtomicBool::new(false),
            deadline,
        }
    }

    /// Raises the flags the host's context calls for (call it on the host's thread).
    pub fn poll(&self, ctx: &RunContext<'_>) {
        if ctx.is_cancelled() {
            self.cancelled.store(true, Ordering::Relaxed);
        }
        if ctx.is_out_of_time() {
            self.out_of_time.store(true, Ordering::Relaxed);
        }
    }

    /// The host cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Cancelled or out of time.
    pub fn should_stop(&self) -> bool {
        self.is_cancelled()
            || self.out_of_time.load(Ordering::Relaxed)
            || Instant::now() >= self.deadline
    }

    /// A context for work on a worker thread: cancelled with the host, out of time at the
    /// deadline, progress discarded. (The packer truncates when its context is out of time;
    /// a host deadline earlier than ours reaches the workers through `should_stop`.)
    pub fn worker_context(&self) -> RunContext<'_> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        RunContext::new(|_| {}, || self.is_cancelled())
            .with_time_limit(Some(remaining.as_millis() as u64))
    }
}

/// Applies `work` to every item on up to `threads` threads and returns the results in item
/// order. `work` gets the stop flag, raised when the host cancels or the time runs out; it
/// should return soon after. Runs on the calling thread when `threads` is 1 or a thread
/// cannot be started (a sandbox may limit them).
pub fn map_in_parallel<T, R, F>(
    items: Vec<T>,
    threads: usize,
    stop: &Stop,
    ctx: &RunContext<'_>,
    work: F,
) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T, &Stop) -> R + Sync,
{
    let count = items.len();
    let threads = threads.clamp(1, count.max(1));
    if threads == 1 {
        return items
            .into_iter()
            .map(|item| {
                stop.poll(ctx);
                work(item, stop)
            })
            .collect();
    }
    // Each slot is taken once (by index from the shared counter) and filled once.
    let inputs: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let outputs: Vec<Mutex<Option<R>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let take_items = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                break;
            }
            let item = inputs[i].lock().ok().and_then(|mut slot| slot.take());
            if let Some(item) = item {
                let result = work(item, stop);
                if let Ok(mut slot) = outputs[i].lock() {
                    *slot = Some(result);
                }
            }
        }
    };
    std::thread::scope(|scope| {
        let (done, finished) = mpsc::channel::<()>();
        let mut started = 0;
        for _ in 0..threads {
            let done = done.clone();
            let take_items = &take_items;
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                take_items();
                // The receiver outlives the scope's threads; a failed send changes nothing.
                let _ = done.send(());
            });
            if spawned.is_ok() {
                started += 1;
            }
        }
        drop(done);
        if started == 0 {
            // No thread could be started: work here (stop checks happen between items).
            take_items();
            return;
        }
        let mut ended = 0;
        while ended < started {
            stop.poll(ctx);
            match finished.recv_timeout(POLL) {
                Ok(()) => ended += 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    outputs
        .into_iter()
        .filter_map(|slot| slot.into_inner().ok().flatten())
        .collect()
}
