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
///
/// ```
/// use gureum_crypto::CacheLimits;
/// use std::time::Duration;
/// let l = CacheLimits { max_uses: 100, ..CacheLimits::default() };
/// assert_eq!(l.max_age, Duration::from_secs(300));
/// ```
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
    ///
    /// ```
    /// use gureum_crypto::CacheLimits;
    /// let none = CacheLimits::none();
    /// assert_eq!((none.max_uses, none.max_entries), (1, 0));
    /// ```
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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, CacheLimits, KeyCache};
/// let tmp = tempfile::tempdir()?;
/// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
/// let cache = KeyCache::new(CacheLimits::default());
/// let (_, w) = cache.for_encrypt(&kek).await?;
/// cache.for_decrypt(&kek, &w).await?; // unwrapped by the key file
/// cache.for_decrypt(&kek, &w).await?; // from the cache
/// let s = cache.stats();
/// assert_eq!((s.wraps, s.unwraps, s.hits), (1, 1, 1));
/// # Ok(()) }
/// ```
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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, CacheLimits, KeyCache};
/// let tmp = tempfile::tempdir()?;
/// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
/// let cache = KeyCache::new(CacheLimits { max_uses: 2, ..CacheLimits::default() });
/// let (_, w1) = cache.for_encrypt(&kek).await?;
/// let (_, w2) = cache.for_encrypt(&kek).await?;
/// let (_, w3) = cache.for_encrypt(&kek).await?; // two uses per data key
/// assert_eq!(w1, w2);
/// assert_ne!(w2, w3);
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// use gureum_crypto::{CacheLimits, KeyCache};
    /// let cache = KeyCache::new(CacheLimits { max_uses: 0, ..CacheLimits::default() });
    /// assert_eq!(cache.limits().max_uses, 1); // at least one use
    /// ```
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
    ///
    /// ```
    /// use gureum_crypto::{CacheLimits, KeyCache};
    /// assert_eq!(KeyCache::new(CacheLimits::none()).limits(), CacheLimits::none());
    /// ```
    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// Counters so far.
    ///
    /// ```
    /// use gureum_crypto::{CacheLimits, CacheStats, KeyCache};
    /// assert_eq!(KeyCache::new(CacheLimits::default()).stats(), CacheStats::default());
    /// ```
    pub fn stats(&self) -> CacheStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A data key to encrypt one object or message with, and its wrapped form.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, CacheLimits, KeyCache};
    /// let tmp = tempfile::tempdir()?;
    /// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
    /// let cache = KeyCache::new(CacheLimits::none());
    /// let (a, _) = cache.for_encrypt(&kek).await?;
    /// let (b, _) = cache.for_encrypt(&kek).await?;
    /// assert_ne!(a.expose(), b.expose()); // no cache: a fresh data key each time
    /// assert_eq!(cache.stats().wraps, 2);
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, CacheLimits, KeyCache, KeyProvider, DataKey};
    /// let tmp = tempfile::tempdir()?;
    /// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
    /// let w = kek.wrap(&DataKey::generate()?).await?;
    /// let cache = KeyCache::new(CacheLimits::default());
    /// cache.for_decrypt(&kek, &w).await?; // unwrapped by the provider
    /// cache.for_decrypt(&kek, &w).await?; // from the cache
    /// assert_eq!((cache.stats().unwraps, cache.stats().hits), (1, 1));
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, CacheLimits, DataKey, KeyCache, KeyProvider};
    /// let tmp = tempfile::tempdir()?;
    /// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
    /// let dek = DataKey::generate()?;
    /// let w = kek.wrap(&dek).await?;
    /// let cache = KeyCache::new(CacheLimits::default());
    /// cache.remember(&w, &dek);
    /// assert_eq!(cache.for_decrypt(&kek, &w).await?.expose(), dek.expose());
    /// assert_eq!(cache.stats().unwraps, 0);
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, CacheLimits, KeyCache};
    /// let tmp = tempfile::tempdir()?;
    /// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
    /// let cache = KeyCache::new(CacheLimits::default());
    /// let (_, w1) = cache.for_encrypt(&kek).await?;
    /// cache.clear().await; // e.g. after a KEK rotation
    /// let (_, w2) = cache.for_encrypt(&kek).await?;
    /// assert_ne!(w1, w2);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self) {
        *self.current.lock().await = None;
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clear();
    }
}
