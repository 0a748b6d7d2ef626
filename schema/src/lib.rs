//! Entmoot's application layer: the domain services (projects, sites, jobs, solving,
//! file formats) and the GraphQL layer that exposes them.
//!
//! Architecture invariant: nothing under `domain`, `formats` or `ports` imports
//! `async_graphql` or `actix`; only `graphql` knows about the transport, and it maps
//! each domain error to a GraphQL error exactly once (`graphql::errors`).

pub mod domain;
pub mod formats;
pub mod graphql;
pub mod ports;

pub use domain::caller::Caller;
pub use domain::context::AppContext;
