//! The data-key cache: bounds how often the key manager is asked, and how long and how widely
//! a plaintext data key lives in memory.
//!
//! * Encrypting: one data key (and its wrapped form) is reused for at most
//!   [`CacheLimits::max_uses`] objects or messages and [`CacheLimits::max_age`], whichever comes
//!   first; then a new one is generated and wrapped. Each object still gets its own segment key
//!   (HKDF with a random 256-bit salt and the object's bucket and key), so reuse never repeats
//!   a (key, nonce) pair. `max_uses = 1` gives a fresh data key per object.
//! * Decrypting: unwrapped data keys are kept for [`CacheLimits::max_age`], at most
//!   [`CacheLimits::max_entries`] of them (least recently used dropped first), so reading the
//!   same object's ranges, or objects written with the same cached key, asks the key manager
//!   once.

use crate::keys::{DataKey, KeyProvider, WrappedKey};
use gureum_core::Result;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of the data-key cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Objects or messages encrypted with one data key before a new one is made (≥ 1).
    pub max_uses: u64,
    /// Longest time a data key is used or kept.
    pub max_age: Duration,
    /// Most unwrapped data keys kept for reading (0 disables the read cache).
    pub max_entries: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_uses: 1000,
            max_age: Duration::from_secs(300),
            max_entries: 1000,
        }
    }
}

impl CacheLimits {
    /// No caching: a fresh data key for every object and an unwrap for every read.
    pub fn none() -> Self {
        CacheLimits {
            max_uses: 1,
            max_age: Duration::ZERO,
            max_entries: 0,
        }
    }
}

struct Current {
    key: DataKey,
    wrapped: WrappedKey,
    uses: u64,
    born: Instant,
}

struct Entry {
    key: DataKey,
    born: Instant,
    used: u64,
}

/// Counters of the cache (for tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Data keys generated and wrapped.
    pub wraps: u64,
    /// Data keys unwrapped by the key manager.
    pub unwraps: u64,
    /// Reads served from the cache.
    pub hits: u64,
}

/// A data-key cache in front of a [`KeyProvider`].
pub struct KeyCache {
    limits: CacheLimits,
    current: tokio::sync::Mutex<Option<Current>>,
    read: Mutex<(HashMap<WrappedKey, Entry>, u64)>,
    stats: Mutex<CacheStats>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("limits", &self.limits)
            .finish()
    }
}

impl KeyCache {
    /// An empty cache with `limits`.
    pub fn new(limits: CacheLimits) -> Self {
        KeyCache {
            limits: CacheLimits {
                max_uses: limits.max_uses.max(1),
                ..limits
            },
            current: tokio::sync::Mutex::new(None),
            read: Mutex::new((HashMap::new(), 0)),
            stats: Mutex::new(CacheStats::default()),
        }
    }

    /// The limits.
    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A data key to encrypt one object or message with, and its wrapped form.
    pub async fn for_encrypt(&self, p: &dyn KeyProvider) -> Result<(DataKey, WrappedKey)> {
        let mut cur = self.current.lock().await;
        if let Some(c) = cur.as_mut() {
            if c.uses < self.limits.max_uses && c.born.elapsed() < self.limits.max_age {
                c.uses += 1;
                return Ok((c.key.clone(), c.wrapped.clone()));
            }
        }
        let key = DataKey::generate()?;
        let wrapped = p.wrap(&key).await?;
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).wraps += 1;
        tracing::debug!(kind = %wrapped.kind, kek = %wrapped.kek_id, version = wrapped.version, "new data key");
        *cur = if self.limits.max_uses > 1 && !self.limits.max_age.is_zero() {
            Some(Current {
                key: key.clone(),
                wrapped: wrapped.clone(),
                uses: 1,
                born: Instant::now(),
            })
        } else {
            None
        };
        Ok((key, wrapped))
    }

    /// The data key of `w`, from the cache or unwrapped by the provider.
    pub async fn for_decrypt(&self, p: &dyn KeyProvider, w: &WrappedKey) -> Result<DataKey> {
        if self.limits.max_entries > 0 && !self.limits.max_age.is_zero() {
            let mut g = self.read.lock().unwrap_or_else(|e| e.into_inner());
            let (map, clock) = &mut *g;
            *clock += 1;
            let now = *clock;
            if let Some(e) = map.get_mut(w) {
                if e.born.elapsed() < self.limits.max_age {
                    e.used = now;
                    let k = e.key.clone();
                    drop(g);
                    self.stats.lock().unwrap_or_else(|e| e.into_inner()).hits += 1;
                    return Ok(k);
                }
                map.remove(w);
            }
        }
        let key = p.unwrap(w).await?;
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).unwraps += 1;
        self.remember(w, &key);
        Ok(key)
    }

    /// Keep an unwrapped (or just generated) key for reads.
    pub fn remember(&self, w: &WrappedKey, key: &DataKey) {
        if self.limits.max_entries == 0 || self.limits.max_age.is_zero() {
            return;
        }
        let mut g = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let (map, clock) = &mut *g;
        *clock += 1;
        let now = *clock;
        let max_age = self.limits.max_age;
        map.retain(|_, e| e.born.elapsed() < max_age);
        while map.len() >= self.limits.max_entries {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(
            w.clone(),
            Entry {
                key: key.clone(),
                born: Instant::now(),
                used: now,
            },
        );
    }

    /// Drop every cached key (after a KEK rotation, or to bound exposure).
    pub async fn clear(&self) {
        *self.current.lock().await = None;
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clear();
    }
}
