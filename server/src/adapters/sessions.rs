//! Sign-in session stores: Redis (`<prefix>:session:<hash>` with a TTL renewed on use,
//! plus `<prefix>:user-sessions:<user>` to end them all), or process memory for the
//! embedded default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use entmoot_domain::ports::{SessionRecord, SessionStore, SessionStoreError};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use uuid::Uuid;

fn unavailable(error: impl std::fmt::Display) -> SessionStoreError {
    SessionStoreError(error.to_string())
}

#[derive(Default)]
pub struct InProcessSessions {
    sessions: Mutex<HashMap<String, (SessionRecord, Instant)>>,
}

impl InProcessSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SessionRecord, Instant)>> {
        // A poisoned lock means a panic elsewhere mid-update of a plain map; the map
        // itself is still consistent.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for InProcessSessions {
    async fn create(
        &self,
        token_hash: &str,
        session: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), SessionStoreError> {
        let mut sessions = self.lock();
        let now = Instant::now();
        sessions.retain(|_, (_, expires)| *expires > now);
        sessions.insert(token_hash.to_owned(), (session.clone(), now + ttl));
        Ok(())
    }

    async fn touch(
        &self,
        token_hash: &str,
        ttl: Duration,
    ) -> Result<Option<SessionRecord>, SessionStoreError> {
        let mut sessions = self.lock();
        let now = Instant::now();
        match sessions.get_mut(token_hash) {
            Some((record, expires)) if *expires > now => {
                *expires = now + ttl;
                Ok(Some(record.clone()))
            }
            Some(_) => {
                sessions.remove(token_hash);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn end(&self, token_hash: &str) -> Result<(), SessionStoreError> {
        self.lock().remove(token_hash);
        Ok(())
    }

    async fn end_all_of_user(&self, user_id: Uuid) -> Result<usize, SessionStoreError> {
        let mut sessions = self.lock();
        let before = sessions.len();
        sessions.retain(|_, (record, _)| record.user_id != user_id);
        Ok(before - sessions.len())
    }
}

pub struct RedisSessions {
    commands: ConnectionManager,
    prefix: String,
}

impl RedisSessions {
    pub fn new(commands: ConnectionManager, key_prefix: &str) -> Self {
        Self {
            commands,
            prefix: key_prefix.to_owned(),
        }
    }

    fn session_key(&self, token_hash: &str) -> String {
        format!("{}:session:{token_hash}", self.prefix)
    }

    fn user_key(&self, user_id: Uuid) -> String {
        format!("{}:user-sessions:{user_id}", self.prefix)
    }
}

fn seconds(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

#[async_trait]
impl SessionStore for RedisSessions {
    async fn create(
        &self,
        token_hash: &str,
        session: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), SessionStoreError> {
        let value = serde_json::to_string(session).map_err(unavailable)?;
        let user_key = self.user_key(session.user_id);
        let mut commands = self.commands.clone();
        let _: () = redis::pipe()
            .atomic()
            .set_ex(self.session_key(token_hash), value, seconds(ttl))
            .ignore()
            .sadd(&user_key, token_hash)
            .ignore()
            // The index lives as long as the longest session could.
            .expire(&user_key, seconds(ttl) as i64 * 30)
            .ignore()
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn touch(
        &self,
        token_hash: &str,
        ttl: Duration,
    ) -> Result<Option<SessionRecord>, SessionStoreError> {
        let mut commands = self.commands.clone();
        // GETEX reads and renews in one step, so a session cannot expire in between.
        let value: Option<String> = redis::cmd("GETEX")
            .arg(self.session_key(token_hash))
            .arg("EX")
            .arg(seconds(ttl))
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        match value {
            None => Ok(None),
            Some(value) => serde_json::from_str(&value).map(Some).map_err(unavailable),
        }
    }

    async fn end(&self, token_hash: &str) -> Result<(), SessionStoreError> {
        let mut commands = self.commands.clone();
        let _: i64 = commands
            .del(self.session_key(token_hash))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn end_all_of_user(&self, user_id: Uuid) -> Result<usize, SessionStoreError> {
        let user_key = self.user_key(user_id);
        let mut commands = self.commands.clone();
        let hashes: Vec<String> = commands.smembers(&user_key).await.map_err(unavailable)?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for hash in &hashes {
            pipe.del(self.session_key(hash));
        }
        pipe.del(&user_key);
        let deleted: Vec<i64> = pipe.query_async(&mut commands).await.map_err(unavailable)?;
        // The last reply is the index itself.
        Ok(deleted
            .iter()
            .take(hashes.len())
            .filter(|count| **count > 0)
            .count())
    }
}
