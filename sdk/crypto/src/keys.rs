//! Data keys, wrapped data keys, and the [`KeyProvider`] trait every key manager implements.

use async_trait::async_trait;
use gureum_core::Result;
use std::fmt;
use zeroize::Zeroizing;

/// Bytes of a data key (AES-256).
pub const DATA_KEY_LEN: usize = 32;

/// A plaintext data key. Zeroed on drop; never printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; DATA_KEY_LEN]>);

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; DATA_KEY_LEN]);
        crate::format::random(&mut k[..])?;
        Ok(DataKey(k))
    }
    /// A data key from its bytes (what a key manager returned); `None` unless 32 bytes.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let arr: [u8; DATA_KEY_LEN] = b.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }
    /// The key bytes, for a key provider that wraps it.
    pub fn expose(&self) -> &[u8] {
        &self.0[..]
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(redacted)")
    }
}

/// A data key wrapped (encrypted) by a key-encryption key (KEK), and which KEK did it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WrappedKey {
    /// The key provider kind (`keyfile`, `openbao`, `awskms`).
    pub kind: String,
    /// The KEK id within the provider (a key name, an alias or key ARN).
    pub kek_id: String,
    /// The KEK version that wrapped it (0 where the provider does not expose versions).
    pub version: u32,
    /// The wrapped key as the provider returned it.
    pub blob: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kind", &self.kind)
            .field("kek_id", &self.kek_id)
            .field("version", &self.version)
            .field("blob_len", &self.blob.len())
            .finish()
    }
}

/// The KEK a provider wraps new data keys with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekInfo {
    /// Provider kind.
    pub kind: String,
    /// KEK id.
    pub kek_id: String,
    /// Current version (0 where the provider does not expose versions).
    pub version: u32,
}

impl KekInfo {
    /// Whether `w` was wrapped by an older version of this KEK or by another KEK (so
    /// `gureum encrypt rotate` should rewrap it).
    pub fn is_stale(&self, w: &WrappedKey) -> bool {
        w.kind != self.kind || w.kek_id != self.kek_id || w.version < self.version
    }
}

/// A key manager holding key-encryption keys: wraps and unwraps data keys.
///
/// Errors: a KEK this provider does not hold, or a key manager that refuses access, is
/// `PermissionDenied`; a wrapped key that fails authentication under the right KEK
/// (tampered) is `Integrity`; an unreachable key manager is `Unavailable`.
#[async_trait]
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// The provider kind written into every header (`keyfile`, `openbao`, `awskms`).
    fn kind(&self) -> &str;
    /// The KEK that [`KeyProvider::wrap`] uses now (asks the key manager for its version).
    async fn current(&self) -> Result<KekInfo>;
    /// Wrap a data key with the current KEK.
    async fn wrap(&self, key: &DataKey) -> Result<WrappedKey>;
    /// Unwrap a data key.
    async fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey>;
}
