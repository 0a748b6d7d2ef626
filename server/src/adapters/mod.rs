//! Adapters from configuration to the concrete services behind the domain's ports:
//! the database, object storage, the job queue and the event bus.

pub mod database;
pub mod in_process;
pub mod redis_bus;
pub mod redis_queue;
pub mod storage;
