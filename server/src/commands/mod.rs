//! One module per subcommand; each is a thin edge over the runtime and the domain.

pub mod graphql_schema;
pub mod migrate;
pub mod plugins;
pub mod serve;
pub mod solve;
pub mod worker;
