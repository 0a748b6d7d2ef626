//! Subscription root: live job progress. A subscriber first receives the current
//! state (read after subscribing, so nothing falls between the two), then every event
//! from any worker, on every API instance, in time order, until the job ends.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::ended_jobs::{EndedJobWatch, Following};
use crate::errors::{IntoGraphqlError, database_error};
use crate::query::{app, caller};
use entmoot_domain::ids::{decode_typed_id, encode_global_id};
use entmoot_domain::jobs::{
    self, active_jobs_of_project, event_of, find_job, is_terminal, jobs_of_project_changed_since,
};
use entmoot_domain::ports::{BusMessage, JobEvent};
use entmoot_domain::projects::find_project;

/// One step of a job's life.
#[derive(SimpleObject, Clone)]
pub struct JobProgress {
    /// The job's global id.
    pub job_id: ID,
    /// queued, running, succeeded, failed or cancelled.
    pub status: String,
    /// What the attempt is doing (preparing, searching, validating, …).
    pub stage: Option<String>,
    /// 0 to 100.
    pub percent: f64,
    /// Best objective so far (strategy-defined, higher is better).
    pub best_objective: Option<f64>,
    /// Seconds since the current attempt started; 0 while queued.
    pub elapsed_seconds: f64,
    /// The strategy's or the host's words about this step.
    pub message: Option<String>,
    /// When this step happened.
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

enum Incoming {
    Bus(BusMessage),
    /// A followed job the process-wide check found ended (`graphql::ended_jobs`).
    FoundEnded(JobEvent),
}

/// Jobs the process-wide check found ended, as a stream; a lagging receiver skips ahead
/// (the bus's own terminal events and the next check still reach it).
fn found_ended(receiver: broadcast::Receiver<JobEvent>) -> impl Stream<Item = JobEvent> + Send {
    stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

/// Bus messages interleaved with the process-wide check's findings.
fn incoming(
    bus: broadcast::Receiver<BusMessage>,
    ended: broadcast::Receiver<JobEvent>,
) -> impl Stream<Item = Incoming> + Send {
    stream::select(
        messages(bus).map(Incoming::Bus),
        found_ended(ended).map(Incoming::FoundEnded),
    )
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

/// Live job events.
#[derive(Default)]
pub struct SubscriptionRoot;

/// Live job events.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Progress of one job, current state first, ending after its terminal event.
    async fn job_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's global id.")] job_id: ID,
    ) -> Result<impl Stream<Item = JobProgress> + use<>> {
        let caller = caller(ctx)?.clone();
        let id: Uuid =
            decode_typed_id(&job_id, "Job").map_err(IntoGraphqlError::into_graphql_error)?;
        let app = app(ctx).clone();
        let watch = ctx.data_unchecked::<Arc<EndedJobWatch>>().clone();
        let receiver = app.event_bus.subscribe();
        let ended = watch.subscribe();
        let job = find_job(&app.database, &caller, id)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let initial = event_of(&job, None);
        let organization = caller.organization_id;
        // Followed for as long as the stream lives (the closure below owns it).
        let following = watch.follow(&app, organization, id);
        let live = incoming(receiver, ended)
            .then(move |message| {
                let _following = &following;
                let app = app.clone();
                let caller = caller.clone();
                async move {
                    match message {
                        Incoming::Bus(BusMessage::Job(event)) | Incoming::FoundEnded(event)
                            if event.job_id == id && event.organization_id == organization =>
                        {
                            vec![event]
                        }
                        Incoming::Bus(BusMessage::Job(_)) | Incoming::FoundEnded(_) => Vec::new(),
                        Incoming::Bus(BusMessage::Reconnected { .. }) => {
                            match find_job(&app.database, &caller, id).await {
                                Ok(job) => vec![event_of(&job, None)],
                                Err(error) => {
                                    tracing::warn!(%error, "resynchronising a job subscription failed");
                                    Vec::new()
                                }
                            }
                        }
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
        #[graphql(desc = "The project's global id.")] project_id: ID,
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
        let watch = ctx.data_unchecked::<Arc<EndedJobWatch>>().clone();
        let ended = watch.subscribe();
        let app_for_follow = app.clone();
        // Jobs this subscriber has seen start but not end, followed by the process-wide
        // check until their end arrives (or the subscription ends).
        let mut open: HashMap<Uuid, Following> = HashMap::new();
        let live = incoming(receiver, ended)
            .then(move |message| {
                let app = app.clone();
                let caller = caller.clone();
                async move {
                    match message {
                        Incoming::Bus(BusMessage::Job(event)) | Incoming::FoundEnded(event)
                            if event.project_id == id && event.organization_id == organization =>
                        {
                            vec![event]
                        }
                        Incoming::Bus(BusMessage::Job(_)) | Incoming::FoundEnded(_) => Vec::new(),
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
                    }
                }
            })
            .flat_map(stream::iter);
        Ok(stream::iter(current)
            .chain(live)
            .inspect(move |event| {
                if is_terminal(&event.status) {
                    open.remove(&event.job_id);
                } else {
                    open.entry(event.job_id).or_insert_with(|| {
                        watch.follow(&app_for_follow, organization, event.job_id)
                    });
                }
            })
            .map(JobProgress::from))
    }
}
