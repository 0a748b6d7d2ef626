//! Adapters from configuration to the concrete services behind the domain's ports:
//! the database, object storage, the job queue and the event bus; and the cache and
//! e-mail adapters the application calls directly.

pub mod cache;
pub mod database;
pub mod email;
pub mod in_process;
pub mod rate_limit;
pub mod redis_bus;
pub mod redis_queue;
pub mod sessions;
pub mod storage;
