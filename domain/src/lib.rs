//! Entmoot's domain services: plain async functions over the database and the ports,
//! shared by the GraphQL resolvers, the CLI and the worker.
//!
//! Architecture invariant: this crate depends on neither `async_graphql` nor `actix`
//! (Cargo enforces it: neither is in its manifest); transports call into it and map its
//! errors once.

pub mod access;
pub mod accounts;
pub mod administration;
pub mod audit;
pub mod batched_reads;
pub mod caller;
pub mod context;
pub mod download_links;
pub mod email_address;
pub mod files;
pub mod geometry_storage;
pub mod heavy_work;
pub mod ids;
pub mod jobs;
pub mod layout_edits;
pub mod layout_storage;
pub mod organizations;
pub mod paging;
pub mod ports;
pub mod projects;
pub mod secrets;
pub mod sites;
pub mod solve;
pub mod spatial;
pub mod strategies;
pub mod terrain;
pub mod verified_keys;

pub use caller::Caller;
pub use context::AppContext;
