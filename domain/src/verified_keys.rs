//! A short memory, per process, of API keys the database has just accepted, so that a
//! client sending many requests with one key pays the key's two reads (the key row and
//! its user's membership) once every few seconds instead of on every request.
//!
//! What may be remembered is bounded three ways, so that the memory can never keep a
//! key working after the key lost its power:
//! - an entry lives `VERIFIED_KEY_LIFETIME` at most, and never past the key's own expiry;
//! - every change that can take power away from a key (revoking it, changing or ending
//!   a membership) calls `access_changed`, which forgets everything here and asks every
//!   other process, through the event bus, to do the same;
//! - when the bus was cut off (a Redis restart), a process cannot know what it missed
//!   and forgets everything too (`server::runtime` does it on `BusMessage::Reconnected`).
//!
//! Only keys that verified are remembered, under the SHA-256 of the whole token, so a
//! caller cannot fill the memory with made-up tokens and a memory dump holds no token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::caller::Caller;
use crate::context::AppContext;

/// How long a verified key is taken on trust by default (ENTMOOT_VERIFIED_KEY_SECONDS).
/// A change made where no bus reaches (an operator's `entmoot admin` against the
/// database, with no Redis configured) takes effect within this time.
pub const VERIFIED_KEY_LIFETIME: Duration = Duration::from_secs(5);
/// More distinct keys than any organization uses at once; past it the memory starts
/// over rather than grow.
const MAX_VERIFIED_KEYS: usize = 10_000;

/// The SHA-256 of a token: what the memory is keyed by.
pub type TokenDigest = [u8; 32];

pub fn digest_of(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

struct VerifiedKey {
    caller: Caller,
    verified_at: Instant,
    expires_at: Option<DateTime<Utc>>,
}

/// The memory itself; one per process, in `AppContext::verified_keys`.
pub struct VerifiedKeys {
    lifetime: Duration,
    entries: Mutex<HashMap<TokenDigest, VerifiedKey>>,
    /// Counts `forget_all` calls. A verification that started before a forget must not
    /// be remembered after it (it may have read the key just before its revocation).
    generation: AtomicU64,
}

/// Taken before a key is read from the database and handed back to `remember`.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl Default for VerifiedKeys {
    fn default() -> Self {
        Self::with_lifetime(VERIFIED_KEY_LIFETIME)
    }
}

impl VerifiedKeys {
    /// A lifetime of zero remembers nothing (every request reads the database).
    pub fn with_lifetime(lifetime: Duration) -> Self {
        Self {
            lifetime,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// To be taken before reading the key whose verification will be remembered.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::SeqCst))
    }

    /// The caller a recently verified token stands for, if it is still within its
    /// lifetime and the key's expiry.
    pub fn recall(&self, digest: &TokenDigest) -> Option<Caller> {
        let entries = self.lock();
        let entry = entries.get(digest)?;
        let fresh = entry.verified_at.elapsed() < self.lifetime
            && entry.expires_at.is_none_or(|expiry| expiry > Utc::now());
        fresh.then(|| entry.caller.clone())
    }

    /// Remembers a verification made after `read_at` was taken, unless everything was
    /// forgotten since.
    pub fn remember(
        &self,
        read_at: Generation,
        digest: TokenDigest,
        caller: Caller,
        expires_at: Option<DateTime<Utc>>,
    ) {
        if self.lifetime.is_zero() {
            return;
        }
        let mut entries = self.lock();
        // Compared under the lock that `forget_all` takes, so a forget cannot slip in
        // between this check and the insert.
        if self.generation.load(Ordering::SeqCst) != read_at.0 {
            return;
        }
        if entries.len() >= MAX_VERIFIED_KEYS {
            entries.retain(|_, entry| entry.verified_at.elapsed() < self.lifetime);
            if entries.len() >= MAX_VERIFIED_KEYS {
                entries.clear();
            }
        }
        entries.insert(
            digest,
            VerifiedKey {
                caller,
                verified_at: Instant::now(),
                expires_at,
            },
        );
    }

    /// Forgets every key: the next request of each reads the database again.
    pub fn forget_all(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenDigest, VerifiedKey>> {
        // A panic while holding the lock cannot leave the map half-changed in a way
        // that grants anything (entries are inserted whole), so a poisoned lock is
        // still safe to use.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Called after any change that can take power away from a key: this process forgets
/// at once, the others when the bus delivers (within milliseconds), and the lifetime
/// bounds the case where it does not.
pub async fn access_changed(app: &AppContext) {
    app.verified_keys.forget_all();
    if let Err(error) = app.event_bus.publish_access_changed().await {
        tracing::warn!(
            %error,
            "telling other instances that access changed failed; they forget within {} s",
            app.verified_keys.lifetime().as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Role;
    use uuid::Uuid;

    fn caller() -> Caller {
        Caller {
            organization_id: Uuid::nil(),
            role: Role::Editor,
            api_key_id: Some(Uuid::nil()),
            user_id: None,
        }
    }

    #[test]
    fn a_key_is_recalled_within_its_lifetime_and_not_after_forgetting() {
        let keys = VerifiedKeys::default();
        let digest = digest_of("emk_abcdefghij12_secret");
        assert_eq!(keys.recall(&digest), None);
        keys.remember(keys.generation(), digest, caller(), None);
        assert_eq!(keys.recall(&digest), Some(caller()));
        assert_eq!(keys.recall(&digest_of("emk_abcdefghij12_other")), None);
        keys.forget_all();
        assert_eq!(keys.recall(&digest), None);
    }

    #[test]
    fn a_verification_that_started_before_a_forget_is_not_remembered() {
        let keys = VerifiedKeys::default();
        let digest = digest_of("emk_abcdefghij12_secret");
        let read_at = keys.generation();
        keys.forget_all();
        keys.remember(read_at, digest, caller(), None);
        assert_eq!(keys.recall(&digest), None);
    }

    #[test]
    fn a_key_is_not_recalled_past_its_lifetime_or_its_expiry() {
        let keys = VerifiedKeys::with_lifetime(Duration::from_millis(20));
        let digest = digest_of("emk_abcdefghij12_secret");
        keys.remember(keys.generation(), digest, caller(), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(keys.recall(&digest), None);

        let keys = VerifiedKeys::default();
        keys.remember(
            keys.generation(),
            digest,
            caller(),
            Some(Utc::now() - chrono::Duration::seconds(1)),
        );
        assert_eq!(keys.recall(&digest), None);

        let nothing = VerifiedKeys::with_lifetime(Duration::ZERO);
        nothing.remember(nothing.generation(), digest, caller(), None);
        assert_eq!(nothing.recall(&digest), None);
    }
}
