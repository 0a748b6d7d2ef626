//! Fixed-window request counters for rate limits: in Redis, so that every API instance
//! counts against the same budget, or in-process for the embedded default.
//!
//! A window is one minute. Fixed windows can let up to twice the limit through across a
//! window boundary; that is the accepted price for one INCR per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;

const WINDOW_SECONDS: u64 = 60;

pub enum RateLimiter {
    InProcess(Mutex<HashMap<String, (u64, u32)>>),
    Redis {
        commands: ConnectionManager,
        /// `<prefix>:rate`.
        key_prefix: String,
    },
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit; the window ends in this many seconds.
    Limited {
        retry_after_seconds: u64,
    },
}

fn current_window() -> (u64, u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    (now / WINDOW_SECONDS, WINDOW_SECONDS - now % WINDOW_SECONDS)
}

impl RateLimiter {
    pub fn in_process() -> Self {
        Self::InProcess(Mutex::new(HashMap::new()))
    }

    pub fn redis(commands: ConnectionManager, key_prefix: &str) -> Self {
        Self::Redis {
            commands,
            key_prefix: format!("{key_prefix}:rate"),
        }
    }

    /// Counts one request against `bucket` (e.g. `key:<id>` or `address:<ip>`). A limit
    /// of 0 is no limit. When Redis cannot be reached the request is allowed and a
    /// warning logged: an outage of the counter should not become an outage of the API.
    pub async fn hit(&self, bucket: &str, limit: u32) -> Decision {
        if limit == 0 {
            return Decision::Allowed;
        }
        let bucket = &bounded_bucket(bucket);
        let (window, remaining_seconds) = current_window();
        let count = match self {
            Self::InProcess(counters) => {
                // A poisoned lock only means another request panicked mid-count; the
                // counters are still plain numbers.
                let mut counters = counters
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if counters.len() > 100_000 {
                    counters.retain(|_, (counted_window, _)| *counted_window == window);
                }
                let entry = counters.entry(bucket.to_owned()).or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                entry.1 = entry.1.saturating_add(1);
                entry.1
            }
            Self::Redis {
                commands,
                key_prefix,
            } => {
                let key = format!("{key_prefix}:{bucket}:{window}");
                let mut commands = commands.clone();
                let counted: redis::RedisResult<(u32, i64)> = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, (WINDOW_SECONDS * 2) as i64)
                    .query_async(&mut commands)
                    .await;
                match counted {
                    Ok((count, _)) => count,
                    Err(error) => {
                        tracing::warn!(%error, "rate limit counter unavailable; allowing the request");
                        return Decision::Allowed;
                    }
                }
            }
        };
        if count > limit {
            Decision::Limited {
                retry_after_seconds: remaining_seconds,
            }
        } else {
            Decision::Allowed
        }
    }
}

/// Buckets longer than this are replaced by their SHA-256, so that what a caller sends
/// (an e-mail of a megabyte, say) never decides how much memory or Redis a counter
/// takes.
const MAX_BUCKET_BYTES: usize = 96;

fn bounded_bucket(bucket: &str) -> String {
    if bucket.len() <= MAX_BUCKET_BYTES {
        bucket.to_owned()
    } else {
        format!("sha256:{}", entmoot_domain::secrets::sha256_hex(bucket))
    }
}

impl RateLimiter {
    /// The current window's count of `bucket`, without counting a request.
    pub async fn count(&self, bucket: &str) -> u32 {
        let bucket = bounded_bucket(bucket);
        let (window, _) = current_window();
        match self {
            Self::InProcess(counters) => counters
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get(&bucket)
                .filter(|(counted_window, _)| *counted_window == window)
                .map_or(0, |(_, count)| *count),
            Self::Redis {
                commands,
                key_prefix,
            } => {
                let mut commands = commands.clone();
                let counted: redis::RedisResult<Option<u32>> = redis::cmd("GET")
                    .arg(format!("{key_prefix}:{bucket}:{window}"))
                    .query_async(&mut commands)
                    .await;
                counted.ok().flatten().unwrap_or(0)
            }
        }
    }
}

#[async_trait::async_trait]
impl entmoot_domain::ports::AttemptLimiter for RateLimiter {
    async fn allow(&self, bucket: &str, per_minute: u32) -> Result<(), u64> {
        match self.hit(bucket, per_minute).await {
            Decision::Allowed => Ok(()),
            Decision::Limited {
                retry_after_seconds,
            } => Err(retry_after_seconds),
        }
    }

    async fn count(&self, bucket: &str) -> u32 {
        RateLimiter::count(self, bucket).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RateLimiter::InProcess;

    #[tokio::test]
    async fn the_in_process_counter_limits_each_bucket_separately() {
        let limiter = RateLimiter::in_process();
        // Stay inside one window: if the minute is about to turn, wait for it.
        if current_window().1 < 5 {
            tokio::time::sleep(std::time::Duration::from_secs(6)).await;
        }
        for _ in 0..3 {
            assert_eq!(limiter.hit("key:a", 3).await, Decision::Allowed);
        }
        assert!(matches!(
            limiter.hit("key:a", 3).await,
            Decision::Limited { .. }
        ));
        assert_eq!(limiter.hit("key:b", 3).await, Decision::Allowed);
        assert_eq!(limiter.hit("key:a", 0).await, Decision::Allowed);
        assert_eq!(limiter.count("key:a").await, 4);
        let long = format!("sign-in:{}", "x".repeat(1_000_000));
        assert_eq!(limiter.hit(&long, 3).await, Decision::Allowed);
        assert_eq!(limiter.count(&long).await, 1);
        let InProcess(counters) = &limiter else {
            unreachable!("made in process")
        };
        let longest = counters.lock().expect("lock").keys().map(String::len).max();
        assert!(longest.is_some_and(|length| length <= MAX_BUCKET_BYTES));
    }
}
