//! Entmoot's sea-orm entities, one module per table.
//!
//! Geometry is stored portably as WKB bytes (`Vec<u8>`: `bytea` on PostgreSQL, `BLOB`
//! on SQLite) together with a bounding box (`min_x`, `min_y`, `max_x`, `max_y`, in the
//! geometry's coordinates, WGS84 degrees). On PostgreSQL the migrations add a generated
//! PostGIS `geom` column (SRID 4326) with a GIST index next to each WKB column; it is
//! deliberately *not* part of these entities, so the same entities work on both backends.
//! Query it with `Expr::cust_with_values("ST_Intersects(geom, ...)")` on PostgreSQL only.

pub mod account_tokens;
pub mod api_keys;
pub mod audit_log;
pub mod buildings;
pub mod exclusion_zones;
pub mod files;
pub mod jobs;
pub mod layouts;
pub mod memberships;
pub mod organizations;
pub mod prelude;
pub mod projects;
pub mod sites;
pub mod users;
