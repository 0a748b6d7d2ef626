//! One module per subcommand; each is a thin edge over the runtime and the domain.

pub mod admin;
pub mod export;
pub mod graphql_schema;
pub mod import;
pub mod migrate;
pub mod plugins;
pub mod serve;
pub mod solve;
pub mod storage;
pub mod worker;
