//! Subscription root: live job progress. A subscriber first receives the current
//! state (read after subscribing, so nothing falls between the two), then every event
//! from any worker, on every API instance, in time order, until the job ends.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::domain::ids::{decode_typed_id, encode_global_id};
use crate::domain::jobs::{
    self, active_jobs_of_project, ended_jobs_among, event_of, find_job, is_terminal,
    jobs_of_project_changed_since,
};
use crate::domain::projects::find_project;
use crate::graphql::errors::{IntoGraphqlError, database_error};
use crate::graphql::query::{app, caller};
use crate::ports::{BusMessage, JobEvent};

/// One step of a job's life.
#[derive(SimpleObject, Clone)]
pub struct JobProgress {
    pub job_id: ID,
    /// queued, running, succeeded, failed or cancelled.
    pub status: String,
    pub stage: Option<String>,
    /// 0 to 100.
    pub percent: f64,
    /// Best objective so far (strategy-defined, higher is better).
    pub best_objective: Option<f64>,
    /// Seconds since the current attempt started; 0 while queued.
    pub elapsed_seconds: f64,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<JobEvent> for JobProgress {
    fn from(event: JobEvent) -> Self {
        Self {
            job_id: ID(encode_global_id("Job", event.job_id)),
            elapsed_seconds: event
                .started_at
                .map(|started| (event.at - started).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0),
            percent: (event.progress * 100.0).clamp(0.0, 100.0),
            status: event.status,
            stage: event.stage,
            best_objective: event.best_objective,
            message: event.message,
            at: event.at,
        }
    }
}

/// Turns a broadcast receiver into a stream. A subscriber that fell behind gets a
/// resynchronisation, as after a reconnect, instead of silently missing events.
fn messages(receiver: broadcast::Receiver<BusMessage>) -> impl Stream<Item = BusMessage> + Send {
    stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(message) => Some((message, receiver)),
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::warn!(
                    skipped,
                    "a subscriber fell behind; resynchronising it from the database"
                );
                let since = Utc::now() - chrono::Duration::minutes(1);
                Some((BusMessage::Reconnected { since }, receiver))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

/// Events may have been lost shortly before a disconnect was noticed.
const RESYNC_MARGIN_SECONDS: i64 = 10;

/// How often a subscription checks the database for jobs it still believes open. The
/// bus is fast but not transactional: a worker killed between storing a result and
/// publishing it leaves no event, and this check is what still ends the job for the
/// subscriber.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

enum Incoming {
    Bus(BusMessage),
    Reconcile,
}

/// Bus messages interleaved with a periodic reconciliation tick.
fn incoming(receiver: broadcast::Receiver<BusMessage>) -> impl Stream<Item = Incoming> + Send {
    let ticks = stream::unfold((), |()| async {
        tokio::time::sleep(RECONCILE_EVERY).await;
        Some((Incoming::Reconcile, ()))
    });
    stream::select(messages(receiver).map(Incoming::Bus), ticks)
}

/// The set is only touched by one subscription's stream, so a poisoned lock means an
/// earlier panic in that same stream; its contents are still a valid set of ids.
fn lock_open_jobs(open: &Mutex<HashSet<Uuid>>) -> MutexGuard<'_, HashSet<Uuid>> {
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Ends right after the first terminal event (not when the next message would come),
/// and keeps time moving forwards: the current state is read after subscribing, so a
/// progress event published while it was read can arrive after it although it is
/// older. Such an event describes a state the subscriber has already been shown past,
/// and is dropped; a terminal one is never dropped, only dated no earlier than what
/// came before it.
fn until_terminal_in_time_order(
    events: futures::stream::BoxStream<'static, JobEvent>,
) -> impl Stream<Item = JobEvent> + Send {
    stream::unfold(
        (events, false, None::<DateTime<Utc>>),
        |(mut events, ended, mut last_at)| async move {
            if ended {
                return None;
            }
            loop {
                let mut event = events.next().await?;
                let terminal = is_terminal(&event.status);
                if let Some(last) = last_at
                    && event.at < last
                {
                    if !terminal {
                        continue;
                    }
                    event.at = last;
                }
                last_at = Some(event.at);
                return Some((event, (events, terminal, last_at)));
            }
        },
    )
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Progress of one job, current state first, ending after its terminal event.
    async fn job_progress(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
    ) -> Result<impl Stream<Item = JobProgress> + use<>> {
        let caller = caller(ctx)?.clone();
        let id: Uuid =
            decode_typed_id(&job_id, "Job").map_err(IntoGraphqlError::into_graphql_error)?;
        let app = app(ctx).clone();
        let receiver = app.event_bus.subscribe();
        let job = find_job(&app.database, &caller, id)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let initial = event_of(&job, None);
        let organization = caller.organization_id;
        let live = incoming(receiver)
            .then(move |message| {
                let app = app.clone();
                let caller = caller.clone();
                async move {
                    match message {
                        Incoming::Bus(BusMessage::Job(event))
                            if event.job_id == id && event.organization_id == organization =>
                        {
                            vec![event]
                        }
                        Incoming::Bus(BusMessage::Job(_)) => Vec::new(),
                        Incoming::Bus(BusMessage::Reconnected { .. }) => {
                            match find_job(&app.database, &caller, id).await {
                                Ok(job) => vec![event_of(&job, None)],
                                Err(error) => {
                                    tracing::warn!(%error, "resynchronising a job subscription failed");
                                    Vec::new()
                                }
                            }
                        }
                        Incoming::Reconcile => match ended_jobs_among(&app.database, &caller, vec![id]).await {
                            Ok(ended) => ended.iter().map(|job| event_of(job, None)).collect(),
                            Err(error) => {
                                tracing::warn!(%error, "reconciling a job subscription failed");
                                Vec::new()
                            }
                        },
                    }
                }
            })
            .flat_map(stream::iter);
        let events = stream::once(async move { initial }).chain(live).boxed();
        Ok(until_terminal_in_time_order(events).map(JobProgress::from))
    }

    /// Every job event of a project: the current state of its active jobs first.
    async fn job_updates(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
    ) -> Result<impl Stream<Item = JobProgress> + use<>> {
        let caller = caller(ctx)?.clone();
        let id = decode_typed_id(&project_id, "Project")
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let app = app(ctx).clone();
        let receiver = app.event_bus.subscribe();
        find_project(&app.database, &caller, id)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let current: Vec<JobEvent> = active_jobs_of_project(&app.database, &caller, id)
            .await
            .map_err(database_error)?
            .iter()
            .map(|job| jobs::event_of(job, None))
            .collect();
        let organization = caller.organization_id;
        // Jobs this subscriber has seen start but not end, for the reconciliation.
        let open: Arc<Mutex<HashSet<Uuid>>> = Arc::new(Mutex::new(
            current.iter().map(|event| event.job_id).collect(),
        ));
        let open_for_reconcile = open.clone();
        let live = incoming(receiver)
            .then(move |message| {
                let app = app.clone();
                let caller = caller.clone();
                let open = open_for_reconcile.clone();
                async move {
                    match message {
                        Incoming::Bus(BusMessage::Job(event))
                            if event.project_id == id && event.organization_id == organization =>
                        {
                            vec![event]
                        }
                        Incoming::Bus(BusMessage::Job(_)) => Vec::new(),
                        Incoming::Bus(BusMessage::Reconnected { since }) => {
                            let since = since - chrono::Duration::seconds(RESYNC_MARGIN_SECONDS);
                            match jobs_of_project_changed_since(&app.database, &caller, id, since).await {
                                Ok(jobs) => jobs.iter().map(|job| event_of(job, None)).collect(),
                                Err(error) => {
                                    tracing::warn!(%error, "resynchronising a project subscription failed");
                                    Vec::new()
                                }
                            }
                        }
                        Incoming::Reconcile => {
                            let ids: Vec<Uuid> = lock_open_jobs(&open).iter().copied().collect();
                            match ended_jobs_among(&app.database, &caller, ids).await {
                                Ok(ended) => ended.iter().map(|job| event_of(job, None)).collect(),
                                Err(error) => {
                                    tracing::warn!(%error, "reconciling a project subscription failed");
                                    Vec::new()
                                }
                            }
                        }
                    }
                }
            })
            .flat_map(stream::iter);
        Ok(stream::iter(current)
            .chain(live)
            .inspect(move |event| {
                let mut open = lock_open_jobs(&open);
                if is_terminal(&event.status) {
                    open.remove(&event.job_id);
                } else {
                    open.insert(event.job_id);
                }
            })
            .map(JobProgress::from))
    }
}
