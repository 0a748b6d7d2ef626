//! In-process job queue and event bus: the embedded default, for one process.
//!
//! Nothing here survives a restart; that is acceptable because the database is the
//! source of truth and the worker re-enqueues queued jobs from it at start.

use std::time::Duration;

use async_trait::async_trait;
use entmoot_domain::ports::{
    BusMessage, EventBus, EventBusError, JobDelivery, JobEvent, JobQueue, QueueError,
};
use tokio::sync::{Mutex, broadcast, mpsc};
use uuid::Uuid;

pub struct InProcessQueue {
    sender: mpsc::UnboundedSender<Uuid>,
    receiver: Mutex<mpsc::UnboundedReceiver<Uuid>>,
}

impl InProcessQueue {
    pub fn new() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender,
            receiver: Mutex::new(receiver),
        }
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
        self.sender
            .send(job_id)
            .map_err(|_| QueueError::Unavailable("the in-process queue is closed".into()))
    }

    async fn receive(
        &self,
        _consumer: &str,
        wait: Duration,
    ) -> Result<Option<JobDelivery>, QueueError> {
        let mut receiver = self.receiver.lock().await;
        match tokio::time::timeout(wait, receiver.recv()).await {
            Ok(Some(job_id)) => Ok(Some(JobDelivery {
                job_id,
                receipt: String::new(),
            })),
            Ok(None) => Err(QueueError::Unavailable(
                "the in-process queue is closed".into(),
            )),
            Err(_elapsed) => Ok(None),
        }
    }

    async fn acknowledge(&self, _delivery: &JobDelivery) -> Result<(), QueueError> {
        Ok(())
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        Ok(self.receiver.lock().await.len() as u64)
    }

    async fn ping(&self) -> Result<(), QueueError> {
        Ok(())
    }
}

/// Subscribers that fall this far behind lose the oldest events (they can re-read
/// the job's state from the database).
const EVENT_BUFFER: usize = 1024;

pub struct InProcessEventBus {
    sender: broadcast::Sender<BusMessage>,
}

impl InProcessEventBus {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(EVENT_BUFFER).0,
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
