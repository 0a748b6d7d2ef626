//! One reconciliation for all the subscriptions of a process: the jobs they follow are
//! checked against the database every `RECONCILE_EVERY` by a single task, in one query
//! per organization, and the ones found ended are broadcast to the subscriptions.
//!
//! The bus is fast but not transactional: a worker killed between storing a result and
//! publishing it leaves no event, and this check is what still ends the job for its
//! subscribers. Done per subscription, it cost one query every 10 s each (500 queries a
//! second for 5,000 idle subscribers, BENCHMARKS.md "GraphQL API"); done here, it costs
//! one query every 10 s per organization with followed jobs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::broadcast;
use uuid::Uuid;

use entmoot_domain::caller::{Caller, Role};
use entmoot_domain::context::AppContext;
use entmoot_domain::jobs::{ended_jobs_among, event_of};
use entmoot_domain::ports::JobEvent;

/// How often the followed jobs are checked.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(10);

/// The jobs this process's subscriptions follow, with how many follow each.
pub struct EndedJobWatch {
    followed: Mutex<HashMap<Uuid, (Uuid, usize)>>,
    ended: broadcast::Sender<JobEvent>,
    task: OnceLock<()>,
}

/// Following one job; dropping it stops following.
pub struct Following {
    watch: Arc<EndedJobWatch>,
    job_id: Uuid,
}

impl Drop for Following {
    fn drop(&mut self) {
        let mut followed = self.watch.lock();
        if let Some((_, count)) = followed.get_mut(&self.job_id) {
            *count -= 1;
            if *count == 0 {
                followed.remove(&self.job_id);
            }
        }
    }
}

impl EndedJobWatch {
    pub fn new() -> Arc<Self> {
        // Few jobs end unannounced; a subscriber that lags behind this channel still has
        // the bus's own terminal event or the next check.
        let (ended, _) = broadcast::channel(256);
        Arc::new(Self {
            followed: Mutex::new(HashMap::new()),
            ended,
            task: OnceLock::new(),
        })
    }

    /// The map is only changed under this lock by whole operations, so a poisoned lock
    /// (a panic elsewhere while holding it) still holds a consistent map.
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, (Uuid, usize)>> {
        self.followed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Jobs found ended by the checks, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.ended.subscribe()
    }

    /// Follows `job_id` (of `organization_id`) until the returned value is dropped. The
    /// first call starts the checking task on the current runtime.
    pub fn follow(
        self: &Arc<Self>,
        app: &AppContext,
        organization_id: Uuid,
        job_id: Uuid,
    ) -> Following {
        self.lock().entry(job_id).or_insert((organization_id, 0)).1 += 1;
        self.task.get_or_init(|| {
            let watch = Arc::downgrade(self);
            let app = app.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RECONCILE_EVERY).await;
                    let Some(watch) = watch.upgrade() else { return };
                    watch.check(&app).await;
                }
            });
        });
        Following {
            watch: self.clone(),
            job_id,
        }
    }

    async fn check(&self, app: &AppContext) {
        let mut by_organization: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (job_id, (organization_id, _)) in self.lock().iter() {
            by_organization
                .entry(*organization_id)
                .or_default()
                .push(*job_id);
        }
        for (organization_id, job_ids) in by_organization {
            // Read as the organization itself: the ids came from its own subscribers.
            let reader = Caller::acting_for(organization_id, Role::Viewer);
            match ended_jobs_among(&app.database, &reader, job_ids).await {
                Ok(ended) => {
                    for job in &ended {
                        // No receiver is not an error: the subscriptions ended meanwhile.
                        let _ = self.ended.send(event_of(job, None));
                    }
                }
                Err(error) => tracing::warn!(%error, "checking followed jobs failed"),
            }
        }
    }
}
