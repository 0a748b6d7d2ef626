//! Subscription root: live job progress. A subscriber first receives the current
//! state (read after subscribing, so nothing falls between the two), then every event
//! from any worker, on every API instance, until the job ends. Each job's events carry
//! its `event_sequence`: a subscription passes on only events newer than the last one
//! it delivered for that job, so late, repeated and resynchronised events (after a
//! Redis reconnect, or the process-wide check of ended jobs) never show a job going
//! back, and its end is delivered once.

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
use crate::types::JobStatus;
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
    /// Where the job is in its life after this step.
    pub status: JobStatus,
    /// Orders the job's events: each step has a higher number than the one before (a
    /// retry continues the count). A client that reconnects can drop what it has seen.
    pub sequence: i64,
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
            status: event.status.into(),
            sequence: event.sequence,
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

/// What a subscription has delivered of each job: the last sequence, whether that
/// event was an end, and its time. One entry per job the subscription has seen (a few
/// dozen bytes each).
#[derive(Default)]
struct Delivered {
    last: HashMap<Uuid, (i64, bool, DateTime<Utc>)>,
}

impl Delivered {
    /// The event if it is news to this subscriber: `None` for a state it has already
    /// been shown, or shown past. An end is news after a state that was not one even
    /// at the same sequence (a row ended outside the state machine, by hand, keeps its
    /// sequence). Time never goes backwards either: an event stamped by a host whose
    /// clock is behind is dated no earlier than the one before it.
    fn admit(&mut self, mut event: JobEvent) -> Option<JobEvent> {
        let terminal = is_terminal(event.status);
        if let Some((sequence, ended, at)) = self.last.get(&event.job_id) {
            let newer = event.sequence > *sequence;
            let ends_now = event.sequence == *sequence && terminal && !*ended;
            if !(newer || ends_now) {
                return None;
            }
            if event.at < *at {
                event.at = *at;
            }
        }
        self.last
            .insert(event.job_id, (event.sequence, terminal, event.at));
        Some(event)
    }
}

/// Passes on each job's news once and in order, and ends right after the first
/// terminal event when `end_with_job` (not when the next message would come).
fn in_sequence(
    events: futures::stream::BoxStream<'static, JobEvent>,
    end_with_job: bool,
) -> impl Stream<Item = JobEvent> + Send {
    stream::unfold(
        (events, Delivered::default(), false),
        move |(mut events, mut delivered, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let event = events.next().await?;
                if let Some(event) = delivered.admit(event) {
                    let ended = end_with_job && is_terminal(event.status);
                    return Some((event, (events, delivered, ended)));
                }
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
        let app = app(ctx);
        let watch = ctx.data_unchecked::<Arc<EndedJobWatch>>().clone();
        let receiver = app.event_bus.subscribe();
        let ended = watch.subscribe();
        let job = find_job(&app.database, &caller, id)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let initial = event_of(&job, None);
        let organization = caller.organization_id;
        // Followed for as long as the stream lives (the closure below owns it).
        let following = watch.follow(app, organization, id);
        // Only the database connection is held (not the whole context): every idle
        // subscription carries it.
        let database = app.database.clone();
        let live = incoming(receiver, ended)
            .then(move |message| {
                let _following = &following;
                let database = database.clone();
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
                            // Boxed: an idle subscription holds this future's slot
                            // inline, so the query's state is kept out of it.
                            match Box::pin(find_job(&database, &caller, id)).await {
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
        Ok(in_sequence(events, true).map(JobProgress::from))
    }

    /// Every job event of a project: the current state of its active jobs first (and,
    /// with `since`, of every job that ended since then), each job's events once and in
    /// order.
    async fn job_updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's global id.")] project_id: ID,
        #[graphql(
            desc = "Also replay the current state of the jobs that ended at or after this time: what a client that reconnects missed (pass the time of the last event it saw, minus a few seconds; drop repeats by `sequence`)."
        )]
        since: Option<DateTime<Utc>>,
    ) -> Result<impl Stream<Item = JobProgress> + use<>> {
        let caller = caller(ctx)?.clone();
        let id = decode_typed_id(&project_id, "Project")
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let app = app(ctx);
        let receiver = app.event_bus.subscribe();
        find_project(&app.database, &caller, id)
            .await
            .map_err(IntoGraphqlError::into_graphql_error)?;
        let current_jobs = match since {
            Some(since) => jobs_of_project_changed_since(&app.database, &caller, id, since).await,
            None => active_jobs_of_project(&app.database, &caller, id).await,
        };
        let current: Vec<JobEvent> = current_jobs
            .map_err(database_error)?
            .iter()
            .map(|job| jobs::event_of(job, None))
            .collect();
        let organization = caller.organization_id;
        let watch = ctx.data_unchecked::<Arc<EndedJobWatch>>().clone();
        let ended = watch.subscribe();
        let database = app.database.clone();
        let app_for_follow = Arc::new(app.clone());
        // Jobs this subscriber has seen start but not end, followed by the process-wide
        // check until their end arrives (or the subscription ends).
        let mut open: HashMap<Uuid, Following> = HashMap::new();
        let live = incoming(receiver, ended)
            .then(move |message| {
                let database = database.clone();
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
                            match Box::pin(jobs_of_project_changed_since(&database, &caller, id, since)).await {
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
        let events = stream::iter(current).chain(live).boxed();
        Ok(in_sequence(events, false)
            .inspect(move |event| {
                if is_terminal(event.status) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use entmoot_domain::jobs::JobStatus;

    fn event(job_id: Uuid, sequence: i64, status: JobStatus, at_seconds: i64) -> JobEvent {
        JobEvent {
            job_id,
            organization_id: Uuid::nil(),
            project_id: Uuid::nil(),
            status,
            sequence,
            stage: None,
            progress: 0.0,
            best_objective: None,
            message: None,
            cancel_requested: false,
            started_at: None,
            at: DateTime::from_timestamp(at_seconds, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn each_state_passes_once_in_sequence_and_the_end_once() {
        let job = Uuid::now_v7();
        let mut delivered = Delivered::default();
        assert!(
            delivered
                .admit(event(job, 1, JobStatus::Queued, 10))
                .is_some()
        );
        assert!(
            delivered
                .admit(event(job, 3, JobStatus::Running, 12))
                .is_some()
        );
        // Late, repeated: dropped.
        assert!(
            delivered
                .admit(event(job, 2, JobStatus::Running, 11))
                .is_none()
        );
        assert!(
            delivered
                .admit(event(job, 3, JobStatus::Running, 12))
                .is_none()
        );
        // A newer event stamped by a slower clock is dated after the one before.
        let progress = delivered
            .admit(event(job, 4, JobStatus::Running, 5))
            .map(|event| event.at.timestamp());
        assert_eq!(progress, Some(12));
        // Ended by hand at the same sequence: still news, once.
        assert!(
            delivered
                .admit(event(job, 4, JobStatus::Cancelled, 20))
                .is_some()
        );
        assert!(
            delivered
                .admit(event(job, 4, JobStatus::Cancelled, 21))
                .is_none()
        );
        // Another job is independent.
        assert!(
            delivered
                .admit(event(Uuid::now_v7(), 1, JobStatus::Queued, 0))
                .is_some()
        );
    }
}
