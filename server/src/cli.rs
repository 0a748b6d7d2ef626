//! The command line: subcommands and the flags that override configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "entmoot",
    version,
    about = "Automated site layout: parcels and programs in, optimized layouts out"
)]
pub struct Cli {
    /// Read configuration from this file instead of ./.env (the environment wins over it).
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: ConfigFlags,
    #[command(subcommand)]
    pub command: Command,
}

// Flags that override the environment variable named in their help. Typed, so that clap
// refuses a malformed value before anything starts; the range checks (a port of 0, an
// empty worker pool) are `Settings`' own, the same for a flag and for its variable.
//
// Why not clap's `env`: every other setting (some sixty) comes from the environment or a
// `.env` file only, and `Settings::from_sources` reads all of them the same way with one
// error line per bad value naming the variable. A flag is folded into those sources as the
// value of its variable, so a flag and its variable can never be parsed differently.
#[derive(Debug, Args, Default)]
pub struct ConfigFlags {
    /// Address to listen on (overrides API_HOST).
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one (overrides API_PORT).
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// HTTP worker threads (overrides API_WORKERS).
    #[arg(long, global = true, value_name = "COUNT")]
    pub workers: Option<u32>,
    /// Database URL: sqlite://… or postgres://… (overrides DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Redis URL; without one, queue, events and sessions stay in this process (overrides REDIS_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Directory of the embedded database and local files (overrides ENTMOOT_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log level (overrides LOG_LEVEL).
    #[arg(long, global = true, ignore_case = true)]
    pub log_level: Option<LogLevelFlag>,
    /// Where uploads and exports are stored (overrides STORAGE_PROVIDER).
    #[arg(long, global = true, ignore_case = true)]
    pub storage_provider: Option<StorageProviderFlag>,
    /// Directory of strategy plugins (overrides ENTMOOT_PLUGIN_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// Jobs one worker runs at once (overrides MAX_CONCURRENT_JOBS).
    #[arg(long, global = true, value_name = "COUNT")]
    pub max_concurrent_jobs: Option<u32>,
}

/// `--log-level`: the values LOG_LEVEL accepts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevelFlag {
    Trace,
    Debug,
    Info,
    #[value(alias = "warning")]
    Warn,
    #[value(alias = "critical")]
    Error,
}

/// `--storage-provider`: the values STORAGE_PROVIDER accepts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StorageProviderFlag {
    /// Files under the data directory.
    #[value(alias = "fs")]
    Local,
    /// In memory, gone at exit (tests, trials).
    Memory,
    /// Amazon S3 (or an S3-compatible endpoint).
    #[value(alias = "s3")]
    Aws,
    /// Google Cloud Storage.
    #[value(alias = "gcs")]
    Gcp,
    /// Azure Blob Storage.
    #[value(alias = "azblob")]
    Azure,
}

/// The canonical name clap shows for a value, which the variable accepts too.
fn value_name(value: impl ValueEnum) -> Option<String> {
    value
        .to_possible_value()
        .map(|possible| possible.get_name().to_owned())
}

impl ConfigFlags {
    /// Pairs of (variable, flag value as the variable would hold it) for
    /// `Sources::override_with`.
    pub fn as_overrides(&self) -> Vec<(&'static str, Option<String>)> {
        let path = |path: &Option<PathBuf>| path.as_ref().map(|p| p.display().to_string());
        vec![
            ("API_HOST", self.host.clone()),
            ("API_PORT", self.port.map(|port| port.to_string())),
            ("API_WORKERS", self.workers.map(|count| count.to_string())),
            ("DATABASE_URL", self.database_url.clone()),
            ("REDIS_URL", self.redis_url.clone()),
            ("ENTMOOT_DATA_DIR", path(&self.data_dir)),
            ("LOG_LEVEL", self.log_level.and_then(value_name)),
            (
                "STORAGE_PROVIDER",
                self.storage_provider.and_then(value_name),
            ),
            ("ENTMOOT_PLUGIN_DIR", path(&self.plugin_dir)),
            (
                "MAX_CONCURRENT_JOBS",
                self.max_concurrent_jobs.map(|count| count.to_string()),
            ),
        ]
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (GraphQL, /health, /metrics) with an in-process worker.
    Serve {
        /// Do not run jobs in this process (use separate `entmoot worker` processes).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run optimization jobs from the queue, without serving the API.
    Worker,
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Inspect strategy plugins.
    Plugins {
        #[command(subcommand)]
        action: PluginsAction,
    },
    /// Solve one site and program offline and write the layout.
    Solve(SolveArgs),
    /// Export a layout to GeoJSON, KML, KMZ, DXF, zipped Shapefile, SVG or PDF.
    Export(ExportArgs),
    /// Read a parcel file or a GeoTIFF DEM as an upload would be read; print what was found.
    Import(ImportArgs),
    /// Check the configured object storage.
    Storage {
        #[command(subcommand)]
        action: StorageAction,
    },
    /// Manage organizations, users and API keys (operators, with database access).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Print the GraphQL schema (SDL); `--check FILE` fails when FILE differs.
    GraphqlSchema {
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Organizations own every object.
    Organizations {
        #[command(subcommand)]
        action: OrganizationsAction,
    },
    /// People in an organization, each with a role.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// API keys: bearer tokens for scripts and third parties.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Jobs of every organization, for an operator: list the ones that have not ended,
    /// end a stuck one, delete one.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// The newest entries of an organization's audit log of mutations.
    Audit {
        #[arg(long, default_value = "local")]
        organization: String,
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// The jobs that have not ended (queued or running), oldest first, one JSON object
    /// a line: who holds each, until when, and whether it was asked to stop.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// End a job that has not ended, whatever holds it: it becomes cancelled with the
    /// reason as its error. A worker still running it stops at its next lease renewal
    /// and stores nothing.
    End {
        /// The job's id (the UUID, or the API's global id).
        job: String,
        #[arg(long, default_value = "stuck")]
        reason: String,
    },
    /// Delete a job and its layouts. A job a live worker holds is refused: end it first.
    Delete {
        /// The job's id (the UUID, or the API's global id).
        job: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrganizationsAction {
    /// Create an organization.
    Create {
        #[arg(long)]
        name: String,
        /// Lowercase letters, digits and dashes; how commands refer to it.
        #[arg(long)]
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Add a person to an organization.
    Create {
        #[arg(long, default_value = "local")]
        organization: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// viewer, editor or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
    /// Give a member another role (refused if it leaves the organization without an
    /// admin).
    SetRole {
        #[arg(long, default_value = "local")]
        organization: String,
        #[arg(long)]
        email: String,
        /// viewer, editor or admin.
        #[arg(long)]
        role: String,
    },
    /// Remove a person from an organization (refused for its last admin); their
    /// sessions and keys there stop working.
    Remove {
        #[arg(long, default_value = "local")]
        organization: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Issue a key and print its token (shown only this once).
    Create {
        #[arg(long, default_value = "local")]
        organization: String,
        /// What the key is for, e.g. "CI deploy script".
        #[arg(long)]
        name: String,
        /// viewer, editor or admin; a key of a user never exceeds the user's role.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// The key stops working after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Tie the key to this user of the organization.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON (`{"token": …, "id": …, …}`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List an organization's keys (never their tokens).
    List {
        #[arg(long, default_value = "local")]
        organization: String,
    },
    /// Revoke a key by id or by its visible prefix (`emk_xxxxxxxxxxxx`).
    Revoke {
        #[arg(long, default_value = "local")]
        organization: String,
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Revert the last `steps` migrations (default 1).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum StorageAction {
    /// Write, read back, stat, presign (where offered), list and delete a probe object.
    Check {
        /// Leave the probe object (to try its presigned URL); remove it with `delete`.
        #[arg(long)]
        keep: bool,
    },
    /// Delete one object by key.
    Delete { key: String },
}

#[derive(Debug, Subcommand)]
pub enum PluginsAction {
    /// List the strategies found, and the plugin files refused with the reason.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the conformance suite on one plugin file (what a plugin author runs in CI):
    /// handshake, manifest and parameter schema, runs on standard problems, valid layouts,
    /// reproducibility, progress, cancellation and time limit. Exits non-zero on a failure.
    Check {
        /// The plugin library (.so / .dylib).
        path: PathBuf,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SolveArgs {
    /// The parcel: KML, KMZ, GeoJSON, zipped Shapefile or DXF (as `import` reads them).
    #[arg(long, value_name = "FILE")]
    pub site: PathBuf,
    /// CRS of a site file that does not declare one (DXF, a Shapefile without .prj,
    /// GeoJSON without a `crs` member): EPSG:32613, utm:13N, wgs84, +proj=…
    #[arg(long)]
    pub crs: Option<String>,
    /// Take this polygon of the site file as the boundary: its 0-based index, or its name.
    #[arg(long)]
    pub boundary: Option<String>,
    /// Which other polygons of the site file become exclusion zones: `suggested` (those
    /// whose name or attributes say what they are: wetland, pond, easement, …), `all`
    /// (the rest as `custom`) or `none`.
    #[arg(long, value_name = "suggested|all|none", default_value = "suggested")]
    pub exclusions: String,
    /// Use exactly these polygons of the site file as exclusion zones (repeatable):
    /// NAME_OR_INDEX[=KIND[:BUFFER_M]], e.g. "Stock pond=wetland:15". Replaces --exclusions.
    #[arg(long = "exclusion", value_name = "NAME[=KIND[:BUFFER_M]]")]
    pub exclusion: Vec<String>,
    /// The program: JSON (the format is described in docs/program.md).
    #[arg(long, value_name = "FILE")]
    pub program: PathBuf,
    /// A GeoTIFF DEM of the site: steep ground is excluded, road grades are checked
    /// and earthwork is measured (reported as unknown without one).
    #[arg(long, value_name = "FILE.tif")]
    pub terrain: Option<PathBuf>,
    /// Strategy name; the best built-in strategy when omitted.
    #[arg(long)]
    pub strategy: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop the search after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// How many distinct layouts to ask for.
    #[arg(long, default_value_t = 1)]
    pub alternatives: u32,
    /// Where to write the best layout; the extension picks the format (.geojson, .kml,
    /// .kmz, .dxf, .shp.zip, .gpkg, .svg, .pdf, .layout.json).
    #[arg(long, value_name = "FILE.geojson")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// KML, KMZ, GeoJSON, zipped Shapefile, DXF or GeoTIFF; recognised by content.
    pub file: PathBuf,
    /// CRS of a file that does not declare one (DXF, a Shapefile without .prj, GeoJSON
    /// without a `crs` member): EPSG:32613, utm:13N, wgs84, +proj=…
    #[arg(long)]
    pub crs: Option<String>,
    /// Take this polygon as the boundary: its 0-based index in the file, or its name.
    #[arg(long)]
    pub boundary: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A layout document, as `entmoot solve --out FILE.layout.json` writes it.
    #[arg(long, value_name = "FILE.layout.json", conflicts_with_all = ["site", "program"])]
    pub layout: Option<PathBuf>,
    /// Solve this parcel (any format `import` reads) first, with --program; the
    /// polygons of the file whose names say what they are become exclusion zones.
    #[arg(long, value_name = "FILE", requires = "program")]
    pub site: Option<PathBuf>,
    /// CRS of a --site file that does not declare one (see `solve --crs`).
    #[arg(long, requires = "site")]
    pub crs: Option<String>,
    /// The program to solve with --site.
    #[arg(long, value_name = "FILE", requires = "site")]
    pub program: Option<PathBuf>,
    /// Strategy name when solving; the best built-in strategy when omitted.
    #[arg(long)]
    pub strategy: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Format name instead of the extension (geojson, kml, kmz, dxf, shapefile_zip, geopackage, svg,
    /// pdf, layout_json).
    #[arg(long)]
    pub format: Option<String>,
    /// Units of a DXF drawing: m or ft.
    #[arg(long, default_value = "m")]
    pub units: String,
    /// Title of the report, plan and KML document.
    #[arg(long)]
    pub title: Option<String>,
    /// The file to write; its extension picks the format.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}
