//! Data keys, wrapped data keys, and the [`KeyProvider`] trait every key manager implements.

use async_trait::async_trait;
use gureum_core::Result;
use std::fmt;
use zeroize::Zeroizing;

/// Bytes of a data key (AES-256).
///
/// ```
/// use gureum_crypto::keys::{DataKey, DATA_KEY_LEN};
/// assert_eq!(DataKey::generate().unwrap().expose().len(), DATA_KEY_LEN);
/// ```
pub const DATA_KEY_LEN: usize = 32;

/// A plaintext data key. Zeroed on drop; never printed.
///
/// ```
/// use gureum_crypto::DataKey;
/// let k = DataKey::generate().unwrap();
/// assert_eq!(format!("{k:?}"), "DataKey(redacted)"); // never printed
/// ```
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; DATA_KEY_LEN]>);

impl DataKey {
    /// A fresh random data key.
    ///
    /// ```
    /// use gureum_crypto::DataKey;
    /// let (a, b) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
    /// assert_ne!(a.expose(), b.expose());
    /// ```
    pub fn generate() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; DATA_KEY_LEN]);
        crate::format::random(&mut k[..])?;
        Ok(DataKey(k))
    }
    /// A data key from its bytes (what a key manager returned); `None` unless 32 bytes.
    ///
    /// ```
    /// use gureum_crypto::DataKey;
    /// assert!(DataKey::from_slice(&[7u8; 32]).is_some());
    /// assert!(DataKey::from_slice(&[7u8; 16]).is_none()); // AES-256 keys only
    /// ```
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let arr: [u8; DATA_KEY_LEN] = b.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }
    /// The key bytes, for a key provider that wraps it.
    ///
    /// ```
    /// use gureum_crypto::DataKey;
    /// let k = DataKey::from_slice(&[1u8; 32]).unwrap();
    /// assert_eq!(k.expose(), [1u8; 32]);
    /// ```
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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, DataKey, KeyProvider};
/// let tmp = tempfile::tempdir()?;
/// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
/// let w = kek.wrap(&DataKey::generate()?).await?;
/// assert_eq!((w.kind.as_str(), w.kek_id.as_str(), w.version), ("keyfile", "city", 1));
/// assert!(!format!("{w:?}").contains(&format!("{:?}", w.blob))); // Debug shows the length only
/// # Ok(()) }
/// ```
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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, KeyProvider};
/// let tmp = tempfile::tempdir()?;
/// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
/// let info = kek.current().await?;
/// assert_eq!((info.kind.as_str(), info.kek_id.as_str(), info.version), ("keyfile", "city", 1));
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// use gureum_crypto::{KekInfo, WrappedKey};
    /// let now = KekInfo { kind: "keyfile".into(), kek_id: "city".into(), version: 2 };
    /// let old = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![] };
    /// assert!(now.is_stale(&old)); // rewrap with `gureum encrypt rotate`
    /// assert!(!now.is_stale(&WrappedKey { version: 2, ..old }));
    /// ```
    pub fn is_stale(&self, w: &WrappedKey) -> bool {
        w.kind != self.kind || w.kek_id != self.kek_id || w.version < self.version
    }
}

/// A key manager holding key-encryption keys: wraps and unwraps data keys.
///
/// Errors: a KEK this provider does not hold, or a key manager that refuses access, is
/// `PermissionDenied`; a wrapped key that fails authentication under the right KEK
/// (tampered) is `Integrity`; an unreachable key manager is `Unavailable`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, DataKey, KeyProvider};
/// let tmp = tempfile::tempdir()?;
/// let kek: Box<dyn KeyProvider> = Box::new(KeyFile::create(tmp.path().join("k"), "city")?);
/// let dek = DataKey::generate()?;
/// let wrapped = kek.wrap(&dek).await?;
/// assert_eq!(kek.unwrap(&wrapped).await?.expose(), dek.expose());
/// # Ok(()) }
/// ```
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
