//! In-process job queue and event bus: the embedded default, for one process.
//!
//! Nothing here survives a restart; that is acceptable because the database is the
//! source of truth and the worker re-enqueues queued jobs from it at start.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use async_trait::async_trait;
use entmoot_domain::ports::{
    BusMessage, EventBus, EventBusError, JobDelivery, JobEvent, JobQueue, QueueError,
};
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

pub struct InProcessQueue {
    waiting: std::sync::Mutex<VecDeque<Uuid>>,
    arrived: Notify,
}

impl InProcessQueue {
    pub fn new() -> Self {
        Self {
            waiting: std::sync::Mutex::new(VecDeque::new()),
            arrived: Notify::new(),
        }
    }

    /// The queue is changed only by whole push/pop operations under this lock, so a
    /// poisoned lock (a panic elsewhere while holding it) still holds a consistent queue.
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Uuid>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for InProcessQueue {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl JobQueue for InProcessQueue {
    fn backend_name(&self) -> &'static str {
        "in-process"
    }

    async fn enqueue(&self, job_id: Uuid) -> Result<(), QueueError> {
        self.lock().push_back(job_id);
        self.arrived.notify_one();
        Ok(())
    }

    async fn receive(
        &self,
        _consumer: &str,
        wait: Duration,
    ) -> Result<Option<JobDelivery>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so an enqueue in between is not missed.
            let arrived = self.arrived.notified();
            if let Some(job_id) = self.lock().pop_front() {
                return Ok(Some(JobDelivery {
                    job_id,
                    receipt: String::new(),
                }));
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Ok(None);
            }
        }
    }

    async fn acknowledge(&self, _delivery: &JobDelivery) -> Result<(), QueueError> {
        Ok(())
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        Ok(self.lock().len() as u64)
    }

    async fn waiting_jobs(&self, limit: usize) -> Result<HashSet<Uuid>, QueueError> {
        Ok(self.lock().iter().take(limit).copied().collect())
    }

    async fn ping(&self) -> Result<(), QueueError> {
        Ok(())
    }
}

/// Subscribers that fall this far behind lose the oldest events (they can re-read
/// the job's state from the database).
const EVENT_BUFFER: usize = 1024;
/// Access changes carry nothing; a receiver that lags behind forgets all the same.
pub const ACCESS_CHANGE_BUFFER: usize = 16;

pub struct InProcessEventBus {
    sender: broadcast::Sender<BusMessage>,
    access: broadcast::Sender<()>,
}

impl InProcessEventBus {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(EVENT_BUFFER).0,
            access: broadcast::channel(ACCESS_CHANGE_BUFFER).0,
        }
    }
}

impl Default for InProcessEventBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EventBus for InProcessEventBus {
    fn backend_name(&self) -> &'static str {
        "in-process"
    }

    async fn publish(&self, event: &JobEvent) -> Result<(), EventBusError> {
        // No subscriber is not an error: nobody is watching this job right now.
        let _ = self.sender.send(BusMessage::Job(event.clone()));
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.sender.subscribe()
    }

    async fn ping(&self) -> Result<(), EventBusError> {
        Ok(())
    }

    async fn publish_access_changed(&self) -> Result<(), EventBusError> {
        let _ = self.access.send(());
        Ok(())
    }

    fn access_changes(&self) -> broadcast::Receiver<()> {
        self.access.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queue_delivers_in_order_and_times_out_when_empty() {
        let queue = InProcessQueue::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        queue.enqueue(a).await.expect("enqueue");
        queue.enqueue(b).await.expect("enqueue");
        let wait = Duration::from_millis(50);
        assert_eq!(
            queue
                .receive("w", wait)
                .await
                .expect("receive")
                .map(|d| d.job_id),
            Some(a)
        );
        assert_eq!(
            queue
                .receive("w", wait)
                .await
                .expect("receive")
                .map(|d| d.job_id),
            Some(b)
        );
        assert_eq!(queue.receive("w", wait).await.expect("receive"), None);
    }
}
