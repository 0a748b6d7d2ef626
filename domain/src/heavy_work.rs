//! CPU-heavy geometry (reading uploaded site files, repairing polygons, the buildable
//! area, layout edit checks) runs here, never on a request thread: on tokio's blocking
//! pool, at most `HEAVY_WORK_SLOTS` pieces at once, each answered within
//! `HEAVY_WORK_BUDGET`. A request thread that ran a 200k-vertex parse would stall
//! every other request it serves, `/health/live` included.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

/// How long a request waits for its geometry work (queueing included) before it gets
/// an error. The work itself cannot be interrupted; the vertex limits keep it short.
pub const HEAVY_WORK_BUDGET: Duration = Duration::from_secs(30);

/// Pieces of heavy work running at once in this process; the others queue.
pub const HEAVY_WORK_SLOTS: usize = 2;

/// Most vertices a site (boundary and exclusions together) may have, whether it comes
/// as GraphQL input or in an uploaded file. Real parcels have hundreds. Reading and
/// checking a ring is O(n log n) (`entmoot_plugin_sdk::validity`: 200,000 vertices in
/// about a second), so this bounds what comes after, not the reading: every job, edit
/// check and export of the site works on its polygons again.
pub const MAX_SITE_VERTICES: usize = 5_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeavyWorkError {
    #[error(
        "the geometry was not processed within {} s; simplify it (at most {MAX_SITE_VERTICES} vertices)",
        HEAVY_WORK_BUDGET.as_secs()
    )]
    OverBudget,
    #[error("the geometry work stopped unexpectedly")]
    Failed,
}

/// Argon2 computations at once: each takes 19 MiB, so this bounds their memory too.
pub const PASSWORD_SLOTS: usize = 4;

/// Runs a password hash or verification on the blocking pool, at most PASSWORD_SLOTS
/// at once (the others wait their turn), within the budget.
pub async fn password_work<T, F>(work: F) -> Result<T, HeavyWorkError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| Semaphore::new(PASSWORD_SLOTS));
    run_in_slot(slots, work).await
}

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(HEAVY_WORK_SLOTS))
}

/// Runs `work` on the blocking pool within the budget. The slot is held until the work
/// really ends, even when the caller stopped waiting, so abandoned work still counts.
pub async fn off_the_request_thread<T, F>(work: F) -> Result<T, HeavyWorkError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    run_in_slot(slots(), work).await
}

async fn run_in_slot<T, F>(slots: &'static Semaphore, work: F) -> Result<T, HeavyWorkError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let run = async move {
        let permit = slots.acquire().await.map_err(|_| HeavyWorkError::Failed)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|_| HeavyWorkError::Failed)
    };
    tokio::time::timeout(HEAVY_WORK_BUDGET, run)
        .await
        .map_err(|_| HeavyWorkError::OverBudget)?
}

/// Positions in a GeoJSON value (arrays that start with a number), counted without
/// building any geometry, so an oversized input is refused before the work.
pub fn count_positions(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) if items.first().is_some_and(|first| first.is_number()) => {
            1
        }
        serde_json::Value::Array(items) => items.iter().map(count_positions).sum(),
        serde_json::Value::Object(fields) => fields.values().map(count_positions).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_off_the_thread_and_positions_are_counted() {
        assert_eq!(off_the_request_thread(|| 2 + 2).await, Ok(4));
        let polygon = serde_json::json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]});
        assert_eq!(count_positions(&polygon), 4);
    }
}
