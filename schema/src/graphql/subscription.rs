//! Subscription root: live job progress. A subscriber first receives the current
//! state (read after subscribing, so nothing falls between the two), then every event
//! from any worker, on every API instance, until the job ends.

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::domain::ids::{decode_typed_id, encode_global_id};
use crate::domain::jobs::{
    self, active_jobs_of_project, event_of, find_job, is_terminal, jobs_of_project_changed_since,
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
        let finished = is_terminal(&initial.status);
        let organization = caller.organization_id;
        let live = messages(receiver)
            .then(move |message| {
                let app = app.clone();
                let caller = caller.clone();
                async move {
                    match message {
                        BusMessage::Job(event) if event.job_id == id && event.organization_id == organization => {
                            vec![event]
                        }
                        BusMessage::Job(_) => Vec::new(),
                        BusMessage::Reconnected { .. } => match find_job(&app.database, &caller, id).await {
                            Ok(job) => vec![event_of(&job, None)],
                            Err(error) => {
                                tracing::warn!(%error, "resynchronising a job subscription failed");
                                Vec::new()
                            }
                        },
                    }
                }
            })
            .flat_map(stream::iter);
        let live = if finished {
            live.take(0).boxed()
        } else {
            live.boxed()
        };
        // Stop after the first terminal event.
        let stream = stream::once(async move { initial })
            .chain(live)
            .scan(false, |ended, event| {
                if *ended {
                    return std::future::ready(None);
                }
                *ended = is_terminal(&event.status);
                std::future::ready(Some(event))
            })
            .map(JobProgress::from);
        Ok(stream)
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
        let live = messages(receiver)
            .then(move |message| {
                let app = app.clone();
                let caller = caller.clone();
                async move {
                    match message {
                        BusMessage::Job(event) if event.project_id == id && event.organization_id == organization => {
                            vec![event]
                        }
                        BusMessage::Job(_) => Vec::new(),
                        BusMessage::Reconnected { since } => {
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
        Ok(stream::iter(current).chain(live).map(JobProgress::from))
    }
}
