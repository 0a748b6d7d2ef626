//! Subscription root: live job progress. A subscriber first receives the current
//! state (read after subscribing, so nothing falls between the two), then every event
//! from any worker, on every API instance, until the job ends.

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::domain::ids::{decode_typed_id, encode_global_id};
use crate::domain::jobs::{self, active_jobs_of_project, event_of, find_job, is_terminal};
use crate::domain::projects::find_project;
use crate::graphql::errors::{IntoGraphqlError, database_error};
use crate::graphql::query::{app, caller};
use crate::ports::JobEvent;

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

/// Turns a broadcast receiver into a stream of the events `keep` accepts. A lagging
/// subscriber skips what it missed rather than ending.
fn events(
    receiver: broadcast::Receiver<JobEvent>,
    keep: impl Fn(&JobEvent) -> bool + Send + 'static,
) -> impl Stream<Item = JobEvent> + Send {
    stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a subscriber fell behind and skipped job events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .filter(move |event| std::future::ready(keep(event)))
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
        let finished = is_terminal(&initial.status);
        let organization = caller.organization_id;
        let live = events(receiver, move |event| {
            event.job_id == id && event.organization_id == organization
        });
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
        let live = events(receiver, move |event| {
            event.project_id == id && event.organization_id == organization
        });
        Ok(stream::iter(current).chain(live).map(JobProgress::from))
    }
}
