//! Event fan-out through Redis pub/sub: every API instance subscribes to the job events
//! channel and the access changes channel and re-broadcasts what it hears to its local
//! subscribers.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use entmoot_domain::ports::{BusMessage, EventBus, EventBusError, JobEvent};
use futures::StreamExt;
use redis::AsyncCommands;
use redis::Client;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;

use crate::adapters::in_process::ACCESS_CHANGE_BUFFER;

const EVENT_BUFFER: usize = 1024;
/// 100 ms doubling: about 3 s of retries before an event is given up.
const PUBLISH_ATTEMPTS: u32 = 6;

pub struct RedisEventBus {
    commands: ConnectionManager,
    /// `<prefix>:job-events`.
    channel: String,
    local: broadcast::Sender<BusMessage>,
    /// `<prefix>:access-changed`.
    access_channel: String,
    access: broadcast::Sender<()>,
}

impl RedisEventBus {
    /// Connects and starts the subscriber task, which reconnects by itself after
    /// Redis restarts.
    pub async fn connect(client: Client, key_prefix: &str) -> Result<Self, EventBusError> {
        let channel = format!("{key_prefix}:job-events");
        let access_channel = access_channel_of(key_prefix);
        let commands = ConnectionManager::new(client.clone())
            .await
            .map_err(|error| EventBusError::Unavailable(error.to_string()))?;
        let local = broadcast::channel(EVENT_BUFFER).0;
        let access = broadcast::channel(ACCESS_CHANGE_BUFFER).0;
        let (ready_sender, ready) = tokio::sync::oneshot::channel();
        tokio::spawn(forward_events(
            client,
            Channels {
                events: channel.clone(),
                access: access_channel.clone(),
            },
            local.clone(),
            access.clone(),
            Some(ready_sender),
        ));
        // Wait for the first subscription so that events published right after start
        // are not missed by this instance.
        let _ = tokio::time::timeout(Duration::from_secs(5), ready).await;
        Ok(Self {
            commands,
            channel,
            local,
            access_channel,
            access,
        })
    }

    async fn publish_with_retries(
        &self,
        channel: &str,
        payload: &str,
    ) -> Result<(), EventBusError> {
        // Right after a Redis restart the first command on the old connection fails
        // while the connection manager reconnects. Retrying for a few seconds keeps a
        // job's final event from being lost in that window, which a subscriber that
        // already resynchronised after its own reconnect would never see otherwise.
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            let mut commands = self.commands.clone();
            let published: Result<i64, _> = commands.publish(channel, payload).await;
            match published {
                Ok(_) => return Ok(()),
                Err(error) if attempt >= PUBLISH_ATTEMPTS => {
                    return Err(EventBusError::Unavailable(error.to_string()));
                }
                Err(error) => {
                    tracing::debug!(%error, attempt, "publishing to Redis failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
            }
        }
    }
}

/// The channel access changes travel on; `entmoot admin` publishes there too.
pub fn access_channel_of(key_prefix: &str) -> String {
    format!("{key_prefix}:access-changed")
}

struct Channels {
    events: String,
    access: String,
}

async fn forward_events(
    client: Client,
    channels: Channels,
    local: broadcast::Sender<BusMessage>,
    access: broadcast::Sender<()>,
    mut ready: Option<tokio::sync::oneshot::Sender<()>>,
) {
    // Set when the subscription dropped: the time from which events may be missing.
    let mut lost_since: Option<chrono::DateTime<Utc>> = None;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                let subscribed = pubsub
                    .subscribe(&[channels.events.as_str(), channels.access.as_str()])
                    .await;
                if let Err(error) = subscribed {
                    tracing::warn!(%error, "subscribing to job events failed; retrying");
                } else {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                    if let Some(since) = lost_since.take() {
                        tracing::info!(%since, "job events reconnected; subscribers resynchronise");
                        let _ = local.send(BusMessage::Reconnected { since });
                        // An access change may have been published meanwhile.
                        let _ = access.send(());
                    }
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        if message.get_channel_name() == channels.access {
                            let _ = access.send(());
                            continue;
                        }
                        let payload: Vec<u8> = message.get_payload_bytes().to_vec();
                        match serde_json::from_slice::<JobEvent>(&payload) {
                            Ok(event) => {
                                let _ = local.send(BusMessage::Job(event));
                            }
                            Err(error) => tracing::warn!(%error, "ignoring a malformed job event"),
                        }
                    }
                    tracing::warn!("job event subscription closed; reconnecting");
                    lost_since.get_or_insert_with(Utc::now);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "connecting for job events failed; retrying");
                lost_since.get_or_insert_with(Utc::now);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[async_trait]
impl EventBus for RedisEventBus {
    fn backend_name(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, event: &JobEvent) -> Result<(), EventBusError> {
        let payload = serde_json::to_string(event)
            .map_err(|error| EventBusError::Encoding(error.to_string()))?;
        self.publish_with_retries(&self.channel, &payload).await
    }

    fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.local.subscribe()
    }

    async fn ping(&self) -> Result<(), EventBusError> {
        let mut commands = self.commands.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut commands)
            .await
            .map_err(|error| EventBusError::Unavailable(error.to_string()))?;
        Ok(())
    }

    async fn publish_access_changed(&self) -> Result<(), EventBusError> {
        self.publish_with_retries(&self.access_channel, "changed")
            .await
    }

    fn access_changes(&self) -> broadcast::Receiver<()> {
        self.access.subscribe()
    }
}
