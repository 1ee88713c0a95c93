//! A local key file holding the versions of one key-encryption key (tests and small
//! deployments; `encrypt=keyfile:///etc/gureum/city.key`).
//!
//! ```toml
//! # gureum key file: keep it secret (mode 0600), back it up offline
//! id = "seoul-records"
//!
//! [[key]]
//! version = 1
//! secret = "<32 bytes, base64>"
//!
//! [[key]]
//! version = 2
//! secret = "<32 bytes, base64>"
//! ```
//!
//! The highest version wraps new data keys; every version listed can unwrap. A wrapped data key
//! is `check value (8) ‖ nonce (12) ‖ AES-256-GCM(KEK, data key) (32 + 16)`, with the KEK id
//! and version as associated data. The check value (the first 8 bytes of
//! HMAC-SHA256(KEK, "gureum keyfile check")) tells a wrong key (`PermissionDenied`) from a
//! tampered wrapped key (`Integrity`).

use crate::format::{integrity, random};
use crate::keys::{DataKey, KekInfo, KeyProvider, WrappedKey};
use async_trait::async_trait;
use base64::Engine;
use gureum_core::{Error, ErrorKind, Result};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The provider kind of key files.
///
/// ```
/// use gureum_crypto::keyfile::KIND;
/// assert_eq!(KIND, "keyfile");
/// ```
pub const KIND: &str = "keyfile";

#[derive(serde::Deserialize, serde::Serialize)]
struct FileRepr {
    id: String,
    #[serde(default)]
    key: Vec<VersionRepr>,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct VersionRepr {
    version: u32,
    secret: String,
}

/// A key-encryption key with its versions, read from a key file.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::keyfile::KeyFile;
/// let tmp = tempfile::tempdir()?;
/// let kek = KeyFile::create(tmp.path().join("city.key"), "seoul-records")?;
/// assert_eq!((kek.id(), kek.current_version()), ("seoul-records", 1));
/// assert!(!format!("{kek:?}").contains("secret")); // key bytes never in Debug
/// # Ok(()) }
/// ```
pub struct KeyFile {
    path: PathBuf,
    id: String,
    versions: BTreeMap<u32, Zeroizing<[u8; 32]>>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("path", &self.path)
            .field("id", &self.id)
            .field("versions", &self.versions.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn check_value(kek: &[u8]) -> [u8; 8] {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, kek);
    let t = ring::hmac::sign(&k, b"gureum keyfile check");
    let mut out = [0u8; 8];
    out.copy_from_slice(&t.as_ref()[..8]);
    out
}

fn wrap_aad(id: &str, version: u32) -> Vec<u8> {
    let mut v = b"gureum keyfile v1".to_vec();
    v.extend_from_slice(&(id.len() as u32).to_be_bytes());
    v.extend_from_slice(id.as_bytes());
    v.extend_from_slice(&version.to_be_bytes());
    v
}

fn aes(kek: &[u8]) -> Result<LessSafeKey> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, kek).map_err(|_| Error::other("AES key setup failed"))?,
    ))
}

fn valid_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
    {
        return Err(Error::invalid(
            "a key id is 1 to 128 characters of ASCII letters, digits, '-', '_', '.', ':' and '/'",
        ));
    }
    Ok(())
}

impl KeyFile {
    /// Read a key file.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ErrorKind;
    /// use gureum_crypto::keyfile::KeyFile;
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("city.key");
    /// KeyFile::create(&path, "city")?;
    /// assert_eq!(KeyFile::open(&path)?.id(), "city");
    /// assert_eq!(KeyFile::open(tmp.path().join("none.key")).unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let kind = match e.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
                _ => ErrorKind::Other,
            };
            Error::new(
                kind,
                format!("key file {}: cannot read it: {}", path.display(), e.kind()),
            )
        })?;
        let repr: FileRepr = toml::from_str(&text).map_err(|e| {
            // The parser's message may quote a line of the file: give only its position.
            let at = e
                .span()
                .map(|s| format!(" at byte {}", s.start))
                .unwrap_or_default();
            Error::invalid(format!("key file {}: not a key file{at}", path.display()))
        })?;
        valid_id(&repr.id)?;
        let mut versions = BTreeMap::new();
        for v in repr.key {
            let bytes = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(v.secret.trim())
                    .map_err(|_| {
                        Error::invalid(format!(
                            "key file {}: version {} is not base64",
                            path.display(),
                            v.version
                        ))
                    })?,
            );
            let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                Error::invalid(format!(
                    "key file {}: version {} is not 32 bytes",
                    path.display(),
                    v.version
                ))
            })?;
            if versions.insert(v.version, Zeroizing::new(arr)).is_some() {
                return Err(Error::invalid(format!(
                    "key file {}: version {} appears twice",
                    path.display(),
                    v.version
                )));
            }
        }
        if versions.is_empty() {
            return Err(Error::invalid(format!(
                "key file {}: no [[key]] versions",
                path.display()
            )));
        }
        Ok(KeyFile {
            path,
            id: repr.id,
            versions,
        })
    }

    /// Create a new key file with version 1 of a fresh random KEK (mode 0600); fails with
    /// `AlreadyExists` if the file exists.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ErrorKind;
    /// use gureum_crypto::keyfile::KeyFile;
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("city.key");
    /// KeyFile::create(&path, "city")?;
    /// // Never overwrites an existing key file.
    /// assert_eq!(KeyFile::create(&path, "city").unwrap_err().kind(), ErrorKind::AlreadyExists);
    /// # Ok(()) }
    /// ```
    pub fn create(path: impl AsRef<Path>, id: &str) -> Result<Self> {
        valid_id(id)?;
        let path = path.as_ref();
        let mut k = Zeroizing::new([0u8; 32]);
        random(&mut k[..])?;
        let mut versions = BTreeMap::new();
        versions.insert(1, k);
        let f = KeyFile {
            path: path.to_path_buf(),
            id: id.to_string(),
            versions,
        };
        f.write(true)?;
        Ok(f)
    }

    /// Add a new version (the next number) of a fresh random KEK to the file and use it for new
    /// data keys from now on. Existing versions stay, so old objects still decrypt; run
    /// `gureum encrypt rotate` to rewrap them, then an old version may be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer};
    /// use gureum_layers::BucketLayerExt;
    /// use std::sync::Arc;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("city.key");
    /// let store = Arc::new(InMemory::new());
    /// let kek = KeyFile::create(&path, "city").unwrap();
    /// Bucket::new("b", store.clone()).layer(EncryptionLayer::new(kek)).put("old", b"v1".to_vec()).await.unwrap();
    /// // Rotate: new data keys use version 2, objects under version 1 still open.
    /// let mut kek = KeyFile::open(&path).unwrap();
    /// assert_eq!(kek.add_version().unwrap(), 2);
    /// assert_eq!(kek.versions(), [1, 2]);
    /// let bucket = Bucket::new("b", store).layer(EncryptionLayer::new(KeyFile::open(&path).unwrap()));
    /// assert_eq!(&bucket.get("old").await.unwrap()[..], b"v1");
    /// # });
    /// ```
    pub fn add_version(&mut self) -> Result<u32> {
        let next = self.current_version() + 1;
        let mut k = Zeroizing::new([0u8; 32]);
        random(&mut k[..])?;
        self.versions.insert(next, k);
        self.write(false)?;
        Ok(next)
    }

    fn write(&self, create_new: bool) -> Result<()> {
        let repr = FileRepr {
            id: self.id.clone(),
            key: self
                .versions
                .iter()
                .map(|(v, k)| VersionRepr {
                    version: *v,
                    secret: base64::engine::general_purpose::STANDARD.encode(&k[..]),
                })
                .collect(),
        };
        let body = Zeroizing::new(format!(
            "# gureum key file: keep it secret (mode 0600) and backed up offline.\n\
             # Losing a version makes every object whose data key it wrapped unreadable.\n{}",
            toml::to_string(&repr).map_err(|e| Error::other(format!("key file: {e}")))?
        ));
        let tmp = self.path.with_extension("tmp-gureum");
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        if create_new && self.path.exists() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("key file {} already exists", self.path.display()),
            ));
        }
        let io = |e: std::io::Error| {
            Error::new(
                ErrorKind::Other,
                format!("key file {}: {}", self.path.display(), e.kind()),
            )
        };
        {
            use std::io::Write;
            let mut f = o.open(&tmp).map_err(io)?;
            f.write_all(body.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        Ok(())
    }

    /// The KEK id.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let kek = gureum_crypto::keyfile::KeyFile::create(tmp.path().join("k"), "health-records")?;
    /// assert_eq!(kek.id(), "health-records");
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The highest version (used for new data keys).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let mut kek = gureum_crypto::keyfile::KeyFile::create(tmp.path().join("k"), "city")?;
    /// kek.add_version()?;
    /// assert_eq!(kek.current_version(), 2);
    /// # Ok(()) }
    /// ```
    pub fn current_version(&self) -> u32 {
        self.versions.keys().next_back().copied().unwrap_or(0)
    }

    /// The versions held.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let kek = gureum_crypto::keyfile::KeyFile::create(tmp.path().join("k"), "city")?;
    /// assert_eq!(kek.versions(), [1]);
    /// # Ok(()) }
    /// ```
    pub fn versions(&self) -> Vec<u32> {
        self.versions.keys().copied().collect()
    }
}

#[async_trait]
impl KeyProvider for KeyFile {
    fn kind(&self) -> &str {
        KIND
    }

    async fn current(&self) -> Result<KekInfo> {
        Ok(KekInfo {
            kind: KIND.into(),
            kek_id: self.id.clone(),
            version: self.current_version(),
        })
    }

    async fn wrap(&self, key: &DataKey) -> Result<WrappedKey> {
        let version = self.current_version();
        let kek = &self.versions[&version];
        let mut nonce = [0u8; 12];
        random(&mut nonce)?;
        let mut buf = key.expose().to_vec();
        let tag = aes(&kek[..])?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(&self.id, version)),
                &mut buf,
            )
            .map_err(|_| Error::other("AES-GCM seal failed"))?;
        let mut blob = Vec::with_capacity(8 + 12 + 48);
        blob.extend_from_slice(&check_value(&kek[..]));
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&buf);
        blob.extend_from_slice(tag.as_ref());
        Ok(WrappedKey {
            kind: KIND.into(),
            kek_id: self.id.clone(),
            version,
            blob,
        })
    }

    async fn unwrap(&self, w: &WrappedKey) -> Result<DataKey> {
        let denied = |why: String| Error::new(ErrorKind::PermissionDenied, why);
        if w.kind != KIND {
            return Err(denied(format!(
                "the data key was wrapped by a {} key manager, not by a key file",
                w.kind
            )));
        }
        if w.kek_id != self.id {
            return Err(denied(format!(
                "the data key was wrapped by KEK {:?}; key file {} holds {:?}",
                w.kek_id,
                self.path.display(),
                self.id
            )));
        }
        let Some(kek) = self.versions.get(&w.version) else {
            return Err(denied(format!(
                "key file {} does not hold version {} of KEK {:?} (it holds {:?})",
                self.path.display(),
                w.version,
                self.id,
                self.versions()
            )));
        };
        if w.blob.len() != 8 + 12 + 32 + 16 {
            return Err(integrity("wrapped data key: wrong length"));
        }
        if w.blob[..8] != check_value(&kek[..]) {
            return Err(denied(format!(
                "version {} of KEK {:?} in key file {} is not the key that wrapped this data key (wrong key)",
                w.version,
                self.id,
                self.path.display()
            )));
        }
        let nonce: [u8; 12] = w.blob[8..20].try_into().map_err(|_| integrity("nonce"))?;
        let mut buf = Zeroizing::new(w.blob[20..].to_vec());
        let plain = aes(&kek[..])?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(&self.id, w.version)),
                &mut buf[..],
            )
            .map_err(|_| integrity("wrapped data key failed authentication (tampered)"))?;
        DataKey::from_slice(plain).ok_or_else(|| integrity("wrapped data key: wrong length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wrap_unwrap_rotate_and_wrong_key() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.toml");
        let mut f = KeyFile::create(&p, "city").unwrap();
        assert!(KeyFile::create(&p, "city").is_err());
        let dk = DataKey::generate().unwrap();
        let w1 = f.wrap(&dk).await.unwrap();
        assert_eq!(w1.version, 1);
        assert_eq!(f.add_version().unwrap(), 2);
        let f2 = KeyFile::open(&p).unwrap();
        assert_eq!(f2.versions(), vec![1, 2]);
        assert_eq!(f2.unwrap(&w1).await.unwrap().expose(), dk.expose());
        let w2 = f2.wrap(&dk).await.unwrap();
        assert_eq!(w2.version, 2);
        // A different key file with the same id: wrong key.
        let other = KeyFile::create(d.path().join("o.toml"), "city").unwrap();
        let e = other.unwrap(&w1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        // Tampered wrapped key: integrity.
        let mut t = w1.clone();
        t.blob[30] ^= 1;
        assert_eq!(
            f2.unwrap(&t).await.unwrap_err().kind(),
            ErrorKind::Integrity
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Debug shows no secret.
        let dbg = format!("{f2:?}");
        assert!(!dbg.contains("secret") && dbg.contains("city"));
    }
}
