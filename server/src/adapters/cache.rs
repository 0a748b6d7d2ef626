//! A cache for expensive reads (a layout's GeoJSON, a site's buildable area): Redis
//! when `REDIS_URL` is set, shared by every API instance, otherwise a bounded map in
//! this process. Every read counts as a hit or a miss in
//! `entmoot_cache_hits_total{cache}` / `entmoot_cache_misses_total{cache}`.
//!
//! The cache is never the source of truth: a failing backend is logged, counted in
//! `entmoot_cache_errors_total{cache}` and served as a miss, so callers fall back to
//! the database. Writers call `invalidate` after changing what a key describes.
//!
//! Keys are `<ENTMOOT_REDIS_PREFIX>:cache:<kind>:<id>`; the kind is also the metric
//! label, so label values are bounded by `CacheKind`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::metrics_registry;

/// What is cached. Each kind has its own metric label and time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// The RFC 7946 FeatureCollection of a stored layout (immutable once stored).
    LayoutGeojson,
    /// A site's buildable area after setbacks and exclusions (changes with the site).
    SiteBuildableArea,
    /// A site's slope map from its DEM (changes when the terrain is linked or unlinked).
    SiteSlopeClasses,
}

impl CacheKind {
    pub const ALL: [Self; 3] = [
        Self::LayoutGeojson,
        Self::SiteBuildableArea,
        Self::SiteSlopeClasses,
    ];

    /// The `cache` label of the metrics and the kind part of the key.
    pub fn label(self) -> &'static str {
        match self {
            Self::LayoutGeojson => "layout_geojson",
            Self::SiteBuildableArea => "site_buildable_area",
            Self::SiteSlopeClasses => "site_slope_classes",
        }
    }

    /// How long an entry lives without being invalidated.
    pub fn time_to_live(self) -> Duration {
        match self {
            // A stored layout never changes; the TTL only bounds memory.
            Self::LayoutGeojson => Duration::from_secs(24 * 3600),
            // Sites change; writers invalidate, the TTL bounds a missed invalidation.
            Self::SiteBuildableArea | Self::SiteSlopeClasses => Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("the in-process cache lock is poisoned")]
    Poisoned,
    #[error("encoding or decoding a cached value: {0}")]
    Codec(#[from] serde_json::Error),
}

/// A byte store with expiry; the two backends implement it.
#[async_trait]
pub trait CacheStore: Send + Sync {
    fn backend_name(&self) -> &'static str;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    async fn ping(&self) -> Result<(), CacheError>;
}

/// The cache handle the application uses; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    store: Arc<dyn CacheStore>,
    prefix: String,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.store.backend_name())
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Memory the in-process cache may use before it evicts entries.
pub const IN_PROCESS_CAPACITY_BYTES: usize = 64 * 1024 * 1024;

impl Cache {
    /// Redis when `REDIS_URL` is set, else the in-process map.
    pub fn in_process(capacity_bytes: usize) -> Self {
        Self {
            store: Arc::new(InProcessStore::new(capacity_bytes)),
            prefix: "entmoot".to_owned(),
        }
    }

    pub async fn redis(client: redis::Client, key_prefix: &str) -> Result<Self, CacheError> {
        // A cache must answer fast or not at all: a slow Redis becomes a miss.
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_millis(250)))
            .set_connection_timeout(Some(Duration::from_secs(2)));
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            store: Arc::new(RedisStore { connection }),
            prefix: key_prefix.to_owned(),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        self.store.backend_name()
    }

    // Only the tests call it so far; the readiness check does not include the cache,
    // which is never the source of truth.
    #[allow(dead_code)]
    pub async fn ping(&self) -> Result<(), CacheError> {
        self.store.ping().await
    }

    fn key(&self, kind: CacheKind, id: &str) -> String {
        format!("{}:cache:{}:{id}", self.prefix, kind.label())
    }

    /// The cached value, or `None` on a miss (also when the backend fails or the
    /// stored bytes no longer decode).
    pub async fn get_json<T: DeserializeOwned>(&self, kind: CacheKind, id: &str) -> Option<T> {
        let key = self.key(kind, id);
        let found = match self.store.get(&key).await {
            Ok(found) => found,
            Err(error) => {
                self.failed(kind, "read", &error);
                None
            }
        };
        let value = found.and_then(|bytes| match serde_json::from_slice(&bytes) {
            Ok(value) => Some(value),
            Err(error) => {
                self.failed(kind, "decode", &CacheError::Codec(error));
                None
            }
        });
        metrics_registry::cache_read(kind.label(), value.is_some());
        value
    }

    /// Stores `value` for the kind's time to live. Failures are logged, not returned.
    pub async fn put_json<T: Serialize + ?Sized>(&self, kind: CacheKind, id: &str, value: &T) {
        let key = self.key(kind, id);
        let result = match serde_json::to_vec(value) {
            Ok(bytes) => self.store.set(&key, &bytes, kind.time_to_live()).await,
            Err(error) => Err(CacheError::Codec(error)),
        };
        if let Err(error) = result {
            self.failed(kind, "write", &error);
        }
    }

    /// Forgets a key; call after changing what it describes.
    pub async fn invalidate(&self, kind: CacheKind, id: &str) {
        if let Err(error) = self.store.delete(&self.key(kind, id)).await {
            self.failed(kind, "invalidate", &error);
        }
    }

    /// The cached value, or `load()`'s value, stored on the way out. Errors of
    /// `load` are returned and not cached.
    // The typed loader the tests exercise; the domain reaches the cache through the
    // `ReadCache` port instead.
    #[allow(dead_code)]
    pub async fn get_or_load<T, E, F, Fut>(
        &self,
        kind: CacheKind,
        id: &str,
        load: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get_json(kind, id).await {
            return Ok(value);
        }
        let value = load().await?;
        self.put_json(kind, id, &value).await;
        Ok(value)
    }

    fn failed(&self, kind: CacheKind, operation: &str, error: &CacheError) {
        metrics_registry::cache_error(kind.label());
        tracing::warn!(cache = kind.label(), backend = self.backend_name(), operation, %error, "cache operation failed; serving from the database");
    }
}

struct RedisStore {
    connection: ConnectionManager,
}

#[async_trait]
impl CacheStore for RedisStore {
    fn backend_name(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut connection = self.connection.clone();
        Ok(redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await?)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        let milliseconds = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(milliseconds)
            .query_async(&mut connection)
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut connection)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }
}

/// A map with expiry, bounded by the bytes it holds: when full, expired entries go
/// first, then those closest to expiry.
struct InProcessStore {
    capacity_bytes: usize,
    state: Mutex<InProcessState>,
}

#[derive(Default)]
struct InProcessState {
    entries: HashMap<String, (Vec<u8>, Instant)>,
    bytes: usize,
}

impl InProcessState {
    fn remove(&mut self, key: &str) {
        if let Some((value, _)) = self.entries.remove(key) {
            self.bytes -= value.len() + key.len();
        }
    }
}

impl InProcessStore {
    fn new(capacity_bytes: usize) -> Self {
        Self {
            capacity_bytes,
            state: Mutex::new(InProcessState::default()),
        }
    }
}

#[async_trait]
impl CacheStore for InProcessStore {
    fn backend_name(&self) -> &'static str {
        "in-process"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut state = self.state.lock().map_err(|_| CacheError::Poisoned)?;
        match state.entries.get(key) {
            Some((value, expires)) if *expires > Instant::now() => Ok(Some(value.clone())),
            Some(_) => {
                state.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let size = value.len() + key.len();
        let mut state = self.state.lock().map_err(|_| CacheError::Poisoned)?;
        state.remove(key);
        if size > self.capacity_bytes / 8 {
            // One entry may not push out most of the cache.
            return Ok(());
        }
        if state.bytes + size > self.capacity_bytes {
            let now = Instant::now();
            let expired: Vec<String> = state
                .entries
                .iter()
                .filter(|(_, (_, expires))| *expires <= now)
                .map(|(key, _)| key.clone())
                .collect();
            for key in expired {
                state.remove(&key);
            }
            while state.bytes + size > self.capacity_bytes {
                let Some(soonest) = state
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(key, _)| key.clone())
                else {
                    break;
                };
                state.remove(&soonest);
            }
        }
        state
            .entries
            .insert(key.to_owned(), (value.to_vec(), Instant::now() + ttl));
        state.bytes += size;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.state
            .lock()
            .map_err(|_| CacheError::Poisoned)?
            .remove(key);
        Ok(())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}

fn kind_of(read: entmoot_domain::ports::CachedRead) -> CacheKind {
    match read {
        entmoot_domain::ports::CachedRead::LayoutGeojson => CacheKind::LayoutGeojson,
        entmoot_domain::ports::CachedRead::SiteBuildableArea => CacheKind::SiteBuildableArea,
        entmoot_domain::ports::CachedRead::SiteSlopeClasses => CacheKind::SiteSlopeClasses,
    }
}

#[async_trait]
impl entmoot_domain::ports::ReadCache for Cache {
    async fn get(
        &self,
        kind: entmoot_domain::ports::CachedRead,
        key: &str,
    ) -> Option<serde_json::Value> {
        self.get_json(kind_of(kind), key).await
    }

    async fn put(
        &self,
        kind: entmoot_domain::ports::CachedRead,
        key: &str,
        value: &serde_json::Value,
    ) {
        self.put_json(kind_of(kind), key, value).await;
    }

    async fn invalidate(&self, kind: entmoot_domain::ports::CachedRead, key: &str) {
        Cache::invalidate(self, kind_of(kind), key).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use serde_json::{Value, json};

    fn counts(kind: CacheKind) -> (u64, u64) {
        let text = String::from_utf8(
            metrics_registry::install()
                .expect("metrics")
                .encode()
                .expect("encode"),
        )
        .expect("utf-8");
        let read = |family: &str| {
            let prefix = format!("{family}{{cache=\"{}\"}} ", kind.label());
            text.lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .and_then(|value| value.parse::<f64>().ok())
                .unwrap_or(0.0) as u64
        };
        (
            read("entmoot_cache_hits_total"),
            read("entmoot_cache_misses_total"),
        )
    }

    async fn exercise(cache: &Cache, id: &str) {
        let kind = CacheKind::LayoutGeojson;
        let (hits, misses) = counts(kind);
        assert_eq!(cache.get_json::<Value>(kind, id).await, None);
        let mut loads = 0;
        for _ in 0..3 {
            let value: Result<Value, std::convert::Infallible> = cache
                .get_or_load(kind, id, || {
                    loads += 1;
                    async { Ok(json!({"type": "FeatureCollection", "features": []})) }
                })
                .await;
            assert_eq!(value.expect("loaded")["type"], "FeatureCollection");
        }
        assert_eq!(loads, 1, "loaded once, then served from the cache");
        cache.invalidate(kind, id).await;
        assert_eq!(cache.get_json::<Value>(kind, id).await, None);
        let (hits_after, misses_after) = counts(kind);
        // Other tests share the process registry: compare at least.
        assert!(hits_after >= hits + 2, "{hits} → {hits_after}");
        assert!(misses_after >= misses + 3, "{misses} → {misses_after}");
    }

    #[tokio::test]
    async fn in_process_cache_hits_misses_and_invalidates() {
        exercise(&Cache::in_process(1 << 20), "layout-1").await;
    }

    #[tokio::test]
    async fn in_process_cache_expires_and_evicts() {
        let store = InProcessStore::new(1000);
        store
            .set("short", b"x", Duration::from_millis(1))
            .await
            .expect("set");
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.get("short").await.expect("get"), None);
        for index in 0..20 {
            store
                .set(
                    &format!("k{index}"),
                    &[0u8; 100],
                    Duration::from_secs(60 + index),
                )
                .await
                .expect("set");
        }
        let state = store.state.lock().expect("lock");
        assert!(state.bytes <= 1000, "bounded: {}", state.bytes);
        assert!(state.entries.contains_key("k19"), "the newest entry stays");
        assert!(
            !state.entries.contains_key("k0"),
            "the soonest to expire went"
        );
    }

    /// Runs against the Redis that `tests/run` starts; fails (never skips) without it.
    #[tokio::test]
    async fn redis_cache_hits_misses_and_invalidates() {
        let url = std::env::var("ENTMOOT_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let client = redis::Client::open(url.as_str()).expect("Redis URL");
        let prefix = format!("entmoot-test-{}", uuid::Uuid::new_v4().simple());
        let cache = Cache::redis(client, &prefix)
            .await
            .expect("Redis must be reachable (tests/run starts it)");
        assert_eq!(cache.backend_name(), "redis");
        cache.ping().await.expect("ping");
        exercise(&cache, "layout-2").await;
    }
}
