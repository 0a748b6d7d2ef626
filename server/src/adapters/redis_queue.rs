//! Job dispatch on a Redis stream with a consumer group: a delivered entry stays
//! pending until acknowledged (workers do so at once), and entries left pending by a
//! dead worker are claimed by another after `claim_idle` (XAUTOCLAIM).
//!
//! Redis may lose everything (a restart without persistence): every command that
//! finds the stream or the group missing (NOGROUP) recreates them and tries once more,
//! so running workers heal by themselves; what the lost stream held is dispatched
//! again by recovery, which compares the database with `waiting_jobs`.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use entmoot_domain::ports::{JobDelivery, JobQueue, QueueError};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamRangeReply, StreamReadOptions,
    StreamReadReply,
};
use redis::{AsyncCommands, AsyncConnectionConfig, Client};
use tokio::sync::Mutex;
use uuid::Uuid;

pub const WORKER_GROUP: &str = "entmoot-workers";
const JOB_FIELD: &str = "job_id";

pub struct RedisQueue {
    client: Client,
    commands: ConnectionManager,
    /// `<prefix>:jobs`; the prefix lets several deployments share one Redis.
    stream: String,
    /// XREADGROUP BLOCK needs a connection without the default 500 ms response
    /// timeout; it is opened lazily and replaced after an error.
    blocking: Mutex<Option<MultiplexedConnection>>,
    claim_idle: Duration,
}

fn unavailable(error: redis::RedisError) -> QueueError {
    QueueError::Unavailable(error.to_string())
}

/// The stream or its consumer group is gone (Redis restarted without persistence, or
/// the key was deleted).
fn group_missing(error: &redis::RedisError) -> bool {
    error.code() == Some("NOGROUP")
}

/// Attempts of a command that fails on a connection Redis dropped: the connection
/// manager reconnects in the background, so a retry shortly after usually succeeds.
const COMMAND_ATTEMPTS: u32 = 5;

impl RedisQueue {
    pub async fn connect(
        client: Client,
        key_prefix: &str,
        claim_idle: Duration,
    ) -> Result<Self, QueueError> {
        let commands = ConnectionManager::new(client.clone())
            .await
            .map_err(unavailable)?;
        let queue = Self {
            client,
            commands,
            stream: format!("{key_prefix}:jobs"),
            blocking: Mutex::new(None),
            claim_idle,
        };
        queue.ensure_group().await?;
        Ok(queue)
    }

    async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut commands = self.commands.clone();
        let created: Result<(), redis::RedisError> = commands
            .xgroup_create_mkstream(&self.stream, WORKER_GROUP, "0")
            .await;
        match created {
            Ok(()) => Ok(()),
            Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn blocking_connection(&self) -> Result<MultiplexedConnection, QueueError> {
        let mut slot = self.blocking.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new().set_response_timeout(None);
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(unavailable)?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    async fn forget_blocking_connection(&self) {
        *self.blocking.lock().await = None;
    }

    fn delivery_from(
        entry_id: &str,
        map: &std::collections::HashMap<String, redis::Value>,
    ) -> Result<JobDelivery, QueueError> {
        let raw = map
            .get(JOB_FIELD)
            .and_then(|value| redis::from_redis_value::<String>(value.clone()).ok())
            .ok_or_else(|| {
                QueueError::Malformed(format!("stream entry {entry_id} has no {JOB_FIELD}"))
            })?;
        let job_id = Uuid::parse_str(&raw).map_err(|_| {
            QueueError::Malformed(format!("stream entry {entry_id}: `{raw}` is not a uuid"))
        })?;
        Ok(JobDelivery {
            job_id,
            receipt: entry_id.to_owned(),
        })
    }

    async fn claim_abandoned(&self, consumer: &str) -> Result<Option<JobDelivery>, QueueError> {
        let mut healed = false;
        let reply: StreamAutoClaimReply = loop {
            let mut commands = self.commands.clone();
            let reply: Result<StreamAutoClaimReply, _> = commands
                .xautoclaim_options(
                    &self.stream,
                    WORKER_GROUP,
                    consumer,
                    self.claim_idle.as_millis() as u64,
                    "0-0",
                    StreamAutoClaimOptions::default().count(1),
                )
                .await;
            match reply {
                Ok(reply) => break reply,
                Err(error) if group_missing(&error) && !healed => {
                    tracing::warn!(
                        "the job stream's consumer group is gone (Redis lost its data?); recreating it"
                    );
                    self.ensure_group().await?;
                    healed = true;
                }
                Err(error) => return Err(unavailable(error)),
            }
        };
        match reply.claimed.first() {
            Some(entry) => Self::delivery_from(&entry.id, &entry.map).map(Some),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    fn backend_name(&self) -> &'static str {
        "redis"
    }

    async fn enqueue(&self, job_id: Uuid) -> Result<(), QueueError> {
        // Right after a Redis restart the first command on the old connection fails
        // while the connection manager reconnects: retry for about 3 s, so that a
        // dispatch does not wait for recovery's next pass.
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            let mut commands = self.commands.clone();
            let added: Result<String, _> = commands
                .xadd(&self.stream, "*", &[(JOB_FIELD, job_id.to_string())])
                .await;
            match added {
                Ok(_) => return Ok(()),
                Err(error) if attempt >= COMMAND_ATTEMPTS => return Err(unavailable(error)),
                Err(error) => {
                    tracing::debug!(%error, attempt, "dispatching a job failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
            }
        }
    }

    async fn receive(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> Result<Option<JobDelivery>, QueueError> {
        if let Some(delivery) = self.claim_abandoned(consumer).await? {
            return Ok(Some(delivery));
        }
        let mut connection = self.blocking_connection().await?;
        let options = StreamReadOptions::default()
            .group(WORKER_GROUP, consumer)
            .count(1)
            .block(wait.as_millis().max(1) as usize);
        let reply: Result<Option<StreamReadReply>, redis::RedisError> = connection
            .xread_options(&[self.stream.as_str()], &[">"], &options)
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                self.forget_blocking_connection().await;
                // After a Redis restart the group is gone: recreate it and report
                // nothing received, so the next receive reads from the new group.
                if group_missing(&error) {
                    tracing::warn!(
                        "the job stream's consumer group is gone (Redis lost its data?); recreating it"
                    );
                    self.ensure_group().await?;
                    return Ok(None);
                }
                return Err(unavailable(error));
            }
        };
        let Some(reply) = reply else { return Ok(None) };
        for key in reply.keys {
            if let Some(entry) = key.ids.first() {
                return Self::delivery_from(&entry.id, &entry.map).map(Some);
            }
        }
        Ok(None)
    }

    async fn acknowledge(&self, delivery: &JobDelivery) -> Result<(), QueueError> {
        let mut commands = self.commands.clone();
        let _: i64 = commands
            .xack(&self.stream, WORKER_GROUP, &[&delivery.receipt])
            .await
            .map_err(unavailable)?;
        let _: i64 = commands
            .xdel(&self.stream, &[&delivery.receipt])
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        let mut commands = self.commands.clone();
        commands.xlen(&self.stream).await.map_err(unavailable)
    }

    async fn waiting_jobs(&self, limit: usize) -> Result<HashSet<Uuid>, QueueError> {
        // Acknowledged entries are deleted, so what the stream still holds is exactly
        // what is waiting: not yet delivered, or delivered and not yet acknowledged
        // (for at most `claim_idle` if its consumer died).
        let mut commands = self.commands.clone();
        let reply: StreamRangeReply = commands
            .xrange_count(&self.stream, "-", "+", limit)
            .await
            .map_err(unavailable)?;
        Ok(reply
            .ids
            .iter()
            .filter_map(|entry| Self::delivery_from(&entry.id, &entry.map).ok())
            .map(|delivery| delivery.job_id)
            .collect())
    }

    async fn ping(&self) -> Result<(), QueueError> {
        let mut commands = self.commands.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
