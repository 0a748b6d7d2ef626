//! Job dispatch on a Redis stream with a consumer group: a delivered entry stays
//! pending until acknowledged, and entries left pending by a dead worker are claimed
//! by another after `claim_idle` (XAUTOCLAIM).

use std::time::Duration;

use async_trait::async_trait;
use entmoot_domain::ports::{JobDelivery, JobQueue, QueueError};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
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
        let mut commands = self.commands.clone();
        let reply: StreamAutoClaimReply = commands
            .xautoclaim_options(
                &self.stream,
                WORKER_GROUP,
                consumer,
                self.claim_idle.as_millis() as u64,
                "0-0",
                StreamAutoClaimOptions::default().count(1),
            )
            .await
            .map_err(unavailable)?;
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
        let mut commands = self.commands.clone();
        let _: String = commands
            .xadd(&self.stream, "*", &[(JOB_FIELD, job_id.to_string())])
            .await
            .map_err(unavailable)?;
        Ok(())
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
                // After a Redis restart the group is gone; recreate it for next time.
                if error.code() == Some("NOGROUP") {
                    self.ensure_group().await?;
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

    async fn ping(&self) -> Result<(), QueueError> {
        let mut commands = self.commands.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
