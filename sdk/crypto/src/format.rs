//! The stored format of an encrypted object: a fixed-size header, then the plaintext in
//! 64 KiB segments, each sealed with AES-256-GCM (the STREAM construction of age and Tink's
//! streaming AEAD).
//!
//! ```text
//! offset  size  field
//!      0     8  magic "GRMCRYPT"
//!      8     1  format version (1)
//!      9     1  log2 of the segment size (16: 64 KiB)
//!     10     2  reserved, zero
//!     12    32  salt (random per object)
//!     44     7  nonce prefix (random per object)
//!     51    16  header tag
//!     67     …  key block: kind (u8 length + UTF-8), KEK id (u16 length + UTF-8),
//!               KEK version (u32), wrapped data key (u16 length + bytes)
//!      …     …  zero padding up to HEADER_LEN (512)
//!    512     …  segments: ciphertext ‖ 16-byte tag; every segment but the last holds
//!               exactly 64 KiB of plaintext, the last 0..=64 KiB (an empty object has one
//!               empty last segment)
//! ```
//!
//! * The segment key is HKDF-SHA256(data key, salt, info = "gureum-crypto v1" ‖ binding ‖
//!   object path), so the same data key (a cached one) never encrypts two objects under the
//!   same key, and an object copied to another key or bucket does not decrypt.
//! * Segment `i` uses the nonce `prefix ‖ i (u32 BE) ‖ last (0 or 1)`: a reordered, dropped or
//!   duplicated segment fails its tag, and a stream cut at a segment boundary ends in a
//!   segment that was not sealed as the last one.
//! * The header tag is an AES-GCM tag under the segment key (nonce `prefix ‖ FFFFFFFF ‖ 02`)
//!   over the whole header with the tag field zeroed: any change of a header byte, padding
//!   included, is detected once the data key is unwrapped.
//! * The header has a fixed size, so the plaintext size is a function of the stored size
//!   ([`plain_size`]): listings report plaintext sizes without reading any object.

use crate::keys::{DataKey, WrappedKey};
use gureum_core::{Error, ErrorKind, Result};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

/// First bytes of every encrypted object.
///
/// ```
/// use gureum_crypto::format::MAGIC;
/// assert_eq!(MAGIC, b"GRMCRYPT"); // the first bytes of every stored object
/// ```
pub const MAGIC: &[u8; 8] = b"GRMCRYPT";
/// Format version written by this crate.
///
/// ```
/// assert_eq!(gureum_crypto::format::FORMAT_VERSION, 1);
/// ```
pub const FORMAT_VERSION: u8 = 1;
/// Size of the header in bytes.
///
/// ```
/// use gureum_crypto::format::{stored_size, HEADER_LEN};
/// assert_eq!(HEADER_LEN, 512);
/// assert_eq!(stored_size(0), HEADER_LEN as u64 + 16); // header and one tag
/// ```
pub const HEADER_LEN: usize = 512;
/// Plaintext bytes per segment (64 KiB).
///
/// ```
/// use gureum_crypto::format::{segment_count, SEGMENT_LEN};
/// assert_eq!(SEGMENT_LEN, 64 * 1024);
/// assert_eq!(segment_count(SEGMENT_LEN as u64 + 1), 2);
/// ```
pub const SEGMENT_LEN: usize = 1 << SEGMENT_LOG2;
const SEGMENT_LOG2: u8 = 16;
/// Bytes of an AES-GCM tag.
///
/// ```
/// use gureum_crypto::format::{STORED_SEGMENT_LEN, SEGMENT_LEN, TAG_LEN};
/// assert_eq!(STORED_SEGMENT_LEN - SEGMENT_LEN, TAG_LEN);
/// ```
pub const TAG_LEN: usize = 16;
/// Stored bytes per full segment.
///
/// ```
/// use gureum_crypto::format::{stored_size, HEADER_LEN, SEGMENT_LEN, STORED_SEGMENT_LEN};
/// assert_eq!(stored_size(2 * SEGMENT_LEN as u64), (HEADER_LEN + 2 * STORED_SEGMENT_LEN) as u64);
/// ```
pub const STORED_SEGMENT_LEN: usize = SEGMENT_LEN + TAG_LEN;
const SALT_LEN: usize = 32;
const PREFIX_LEN: usize = 7;
const TAG_OFF: usize = 51;
const KEYBLOCK_OFF: usize = TAG_OFF + TAG_LEN;
/// Room in the header for the key block.
///
/// ```
/// use gureum_crypto::format::{HEADER_LEN, KEYBLOCK_MAX};
/// assert!(KEYBLOCK_MAX < HEADER_LEN);
/// assert!(KEYBLOCK_MAX >= 400); // room for a KMS ciphertext blob and its key id
/// ```
pub const KEYBLOCK_MAX: usize = HEADER_LEN - KEYBLOCK_OFF;

/// Stored size of an object of `plain` bytes.
///
/// ```
/// use gureum_crypto::format::{plain_size, stored_size};
/// for n in [0u64, 1, 65_536, 65_537, 1 << 20] {
///     assert_eq!(plain_size(stored_size(n)), Some(n)); // listings report plaintext sizes
/// }
/// ```
pub fn stored_size(plain: u64) -> u64 {
    let seg = SEGMENT_LEN as u64;
    let n = plain.div_ceil(seg).max(1);
    HEADER_LEN as u64 + plain + n * TAG_LEN as u64
}

/// Plaintext size of an object stored in `stored` bytes, or `None` when no plaintext has that
/// stored size (not an object of this format, or truncated).
///
/// ```
/// use gureum_crypto::format::{plain_size, HEADER_LEN};
/// assert_eq!(plain_size(HEADER_LEN as u64 + 16 + 5), Some(5));
/// assert_eq!(plain_size(100), None); // shorter than a header: not this format
/// ```
pub fn plain_size(stored: u64) -> Option<u64> {
    let rest = stored.checked_sub(HEADER_LEN as u64)?;
    if rest < TAG_LEN as u64 {
        return None;
    }
    let full = STORED_SEGMENT_LEN as u64;
    let n = rest.div_ceil(full);
    let plain = rest - n * TAG_LEN as u64;
    // A last segment is never empty unless it is the only one.
    if n > 1 && rest % full != 0 && rest % full <= TAG_LEN as u64 {
        return None;
    }
    Some(plain)
}

/// Number of segments of an object of `plain` bytes.
///
/// ```
/// use gureum_crypto::format::segment_count;
/// assert_eq!(segment_count(0), 1); // an empty object still has one (empty, authenticated) segment
/// assert_eq!(segment_count(65_536), 1);
/// ```
pub fn segment_count(plain: u64) -> u64 {
    plain.div_ceil(SEGMENT_LEN as u64).max(1)
}

/// The parsed header of an encrypted object.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{format::{Header, SegmentKeys, HEADER_LEN}, keyfile::KeyFile, DataKey, KeyProvider};
/// let tmp = tempfile::tempdir()?;
/// let kek = KeyFile::create(tmp.path().join("k"), "city")?;
/// let dek = DataKey::generate()?;
/// let mut header = Header::new(kek.wrap(&dek).await?)?;
/// let keys = SegmentKeys::derive(&dek, &header, "records", "민원/c-1.json")?;
/// let bytes = header.seal(&keys)?;
/// assert_eq!(bytes.len(), HEADER_LEN);
/// let parsed = Header::parse(&bytes)?;
/// assert_eq!(parsed.key.kek_id, "city");
/// parsed.verify(&keys, &bytes)?;
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// Random salt of the segment-key derivation.
    pub salt: [u8; SALT_LEN],
    /// Random nonce prefix.
    pub prefix: [u8; PREFIX_LEN],
    /// The header tag as stored.
    pub tag: [u8; TAG_LEN],
    /// The wrapped data key and which KEK wrapped it.
    pub key: WrappedKey,
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header").field("key", &self.key).finish()
    }
}

pub(crate) fn integrity(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Integrity, msg)
}

pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::other("the system random number generator failed"))
}

/// Write the key block (kind, KEK id, version, wrapped key) at the start of `out`.
pub(crate) fn put_key_block(out: &mut Vec<u8>, k: &WrappedKey) -> Result<()> {
    let kind = k.kind.as_bytes();
    let id = k.kek_id.as_bytes();
    if kind.len() > u8::MAX as usize || id.len() > u16::MAX as usize {
        return Err(Error::invalid("key provider kind or KEK id too long"));
    }
    if k.blob.len() > u16::MAX as usize {
        return Err(Error::invalid("wrapped data key too long"));
    }
    out.push(kind.len() as u8);
    out.extend_from_slice(kind);
    out.extend_from_slice(&(id.len() as u16).to_be_bytes());
    out.extend_from_slice(id);
    out.extend_from_slice(&k.version.to_be_bytes());
    out.extend_from_slice(&(k.blob.len() as u16).to_be_bytes());
    out.extend_from_slice(&k.blob);
    Ok(())
}

/// Read a key block; returns it and the bytes it took.
pub(crate) fn read_key_block(b: &[u8]) -> Result<(WrappedKey, usize)> {
    let bad = || integrity("encrypted data: malformed key block");
    let mut p = 0usize;
    let take = |p: &mut usize, n: usize| -> Result<&[u8]> {
        let s = b.get(*p..*p + n).ok_or_else(bad)?;
        *p += n;
        Ok(s)
    };
    let kl = take(&mut p, 1)?[0] as usize;
    let kind = std::str::from_utf8(take(&mut p, kl)?)
        .map_err(|_| bad())?
        .to_string();
    let il = u16::from_be_bytes(take(&mut p, 2)?.try_into().map_err(|_| bad())?) as usize;
    let kek_id = std::str::from_utf8(take(&mut p, il)?)
        .map_err(|_| bad())?
        .to_string();
    let version = u32::from_be_bytes(take(&mut p, 4)?.try_into().map_err(|_| bad())?);
    let bl = u16::from_be_bytes(take(&mut p, 2)?.try_into().map_err(|_| bad())?) as usize;
    let blob = take(&mut p, bl)?.to_vec();
    Ok((
        WrappedKey {
            kind,
            kek_id,
            version,
            blob,
        },
        p,
    ))
}

impl Header {
    /// A new header with fresh salt and nonce prefix for `key`.
    ///
    /// ```
    /// use gureum_crypto::{format::Header, WrappedKey};
    /// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
    /// let (a, b) = (Header::new(w.clone()).unwrap(), Header::new(w).unwrap());
    /// assert_ne!(a.salt, b.salt); // fresh salt per object
    /// ```
    pub fn new(key: WrappedKey) -> Result<Self> {
        let mut salt = [0u8; SALT_LEN];
        let mut prefix = [0u8; PREFIX_LEN];
        random(&mut salt)?;
        random(&mut prefix)?;
        Ok(Header {
            salt,
            prefix,
            tag: [0; TAG_LEN],
            key,
        })
    }

    /// The header bytes with the tag field zeroed (what the header tag authenticates).
    fn unsealed_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.push(SEGMENT_LOG2);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&[0; TAG_LEN]);
        put_key_block(&mut out, &self.key)?;
        if out.len() > HEADER_LEN {
            return Err(Error::invalid(format!(
                "the wrapped data key of {} ({} bytes) and its KEK id do not fit the {HEADER_LEN}-byte header",
                self.key.kind,
                self.key.blob.len()
            )));
        }
        out.resize(HEADER_LEN, 0);
        Ok(out)
    }

    /// Seal the header with `keys` (sets the tag) and return its bytes.
    ///
    /// ```
    /// use gureum_crypto::{format::{Header, SegmentKeys, MAGIC}, DataKey, WrappedKey};
    /// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
    /// let mut h = Header::new(w).unwrap();
    /// let keys = SegmentKeys::derive(&DataKey::generate().unwrap(), &h, "b", "k").unwrap();
    /// assert!(h.seal(&keys).unwrap().starts_with(MAGIC));
    /// ```
    pub fn seal(&mut self, keys: &SegmentKeys) -> Result<Vec<u8>> {
        let mut b = self.unsealed_bytes()?;
        let tag = keys.header_tag(&b)?;
        self.tag = tag;
        b[TAG_OFF..TAG_OFF + TAG_LEN].copy_from_slice(&tag);
        Ok(b)
    }

    /// Parse the first [`HEADER_LEN`] bytes of an object (not yet authenticated: call
    /// [`Header::verify`] once the data key is known).
    ///
    /// ```
    /// use gureum_core::ErrorKind;
    /// use gureum_crypto::format::Header;
    /// let e = Header::parse(&[0u8; 512]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Integrity); // not an encrypted object
    /// ```
    pub fn parse(b: &[u8]) -> Result<Self> {
        if b.len() < HEADER_LEN {
            return Err(integrity(
                "encrypted data: shorter than its header (truncated, or not written by the encryption layer)",
            ));
        }
        if &b[..8] != MAGIC {
            return Err(integrity(
                "encrypted data: no gureum encryption header (a plaintext object, or not written by the encryption layer)",
            ));
        }
        if b[8] != FORMAT_VERSION {
            return Err(integrity(format!(
                "encrypted data: unknown format version {}",
                b[8]
            )));
        }
        if b[9] != SEGMENT_LOG2 || b[10] != 0 || b[11] != 0 {
            return Err(integrity("encrypted data: unknown segment size or flags"));
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&b[12..44]);
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&b[44..51]);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&b[TAG_OFF..TAG_OFF + TAG_LEN]);
        let (key, _) = read_key_block(&b[KEYBLOCK_OFF..HEADER_LEN])?;
        Ok(Header {
            salt,
            prefix,
            tag,
            key,
        })
    }

    /// Check the header tag of the stored header bytes `raw` (what [`Header::parse`] read)
    /// against `keys` (derived from the unwrapped data key). Every byte counts, padding too.
    ///
    /// ```
    /// use gureum_core::ErrorKind;
    /// use gureum_crypto::{format::{Header, SegmentKeys}, DataKey, WrappedKey};
    /// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
    /// let dek = DataKey::generate().unwrap();
    /// let mut h = Header::new(w).unwrap();
    /// let keys = SegmentKeys::derive(&dek, &h, "b", "k").unwrap();
    /// let mut bytes = h.seal(&keys).unwrap();
    /// bytes[500] ^= 1; // even padding is authenticated
    /// let parsed = Header::parse(&bytes).unwrap();
    /// assert_eq!(parsed.verify(&keys, &bytes).unwrap_err().kind(), ErrorKind::Integrity);
    /// ```
    pub fn verify(&self, keys: &SegmentKeys, raw: &[u8]) -> Result<()> {
        let mut b = raw
            .get(..HEADER_LEN)
            .ok_or_else(|| integrity("encrypted data: truncated header"))?
            .to_vec();
        b[TAG_OFF..TAG_OFF + TAG_LEN].fill(0);
        let want = keys.header_tag(&b)?;
        // Constant time: every byte is compared.
        let diff = want
            .iter()
            .zip(self.tag.iter())
            .fold(0u8, |d, (a, b)| d | (a ^ b));
        if diff != 0 {
            return Err(integrity(
                "encrypted data: header authentication failed (tampered, or stored under another bucket or key)",
            ));
        }
        Ok(())
    }
}

/// The per-object segment key and nonce prefix.
///
/// ```
/// use gureum_crypto::{format::{Header, SegmentKeys, TAG_LEN}, DataKey, WrappedKey};
/// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
/// let dek = DataKey::generate().unwrap();
/// let h = Header::new(w).unwrap();
/// let keys = SegmentKeys::derive(&dek, &h, "records", "a.json").unwrap();
/// let mut seg = b"{\"name\":\"Kim\"}".to_vec();
/// keys.seal_segment(0, true, &mut seg).unwrap();
/// assert_eq!(seg.len(), 14 + TAG_LEN);
/// let n = keys.open_segment(0, true, &mut seg).unwrap();
/// assert_eq!(&seg[..n], b"{\"name\":\"Kim\"}");
/// ```
pub struct SegmentKeys {
    key: LessSafeKey,
    prefix: [u8; PREFIX_LEN],
}

impl std::fmt::Debug for SegmentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SegmentKeys(..)")
    }
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// The HKDF `info` that binds a segment key to a bucket (binding) and an object path.
fn info(domain: &[u8], binding: &str, path: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(domain.len() + binding.len() + path.len() + 8);
    v.extend_from_slice(domain);
    v.extend_from_slice(&(binding.len() as u32).to_be_bytes());
    v.extend_from_slice(binding.as_bytes());
    v.extend_from_slice(&(path.len() as u32).to_be_bytes());
    v.extend_from_slice(path.as_bytes());
    v
}

/// HKDF-SHA256(`dek`, `salt`, `info`) as an AES-256-GCM key.
pub(crate) fn derive(dek: &DataKey, salt: &[u8], info: &[u8]) -> Result<LessSafeKey> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(dek.expose());
    let parts = [info];
    let okm = prk
        .expand(&parts, Len32)
        .map_err(|_| Error::other("HKDF expand failed"))?;
    let mut k = zeroize::Zeroizing::new([0u8; 32]);
    okm.fill(&mut k[..])
        .map_err(|_| Error::other("HKDF fill failed"))?;
    let unbound =
        UnboundKey::new(&AES_256_GCM, &k[..]).map_err(|_| Error::other("AES key setup failed"))?;
    Ok(LessSafeKey::new(unbound))
}

impl SegmentKeys {
    /// The segment keys of the object `path` in the bucket bound as `binding`.
    ///
    /// ```
    /// use gureum_crypto::{format::{Header, SegmentKeys}, DataKey, WrappedKey};
    /// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
    /// let dek = DataKey::generate().unwrap();
    /// let h = Header::new(w).unwrap();
    /// let mut seg = b"x".to_vec();
    /// SegmentKeys::derive(&dek, &h, "b", "a").unwrap().seal_segment(0, true, &mut seg).unwrap();
    /// // Keys of another object path do not open it (an object moved by the cloud fails).
    /// assert!(SegmentKeys::derive(&dek, &h, "b", "moved").unwrap().open_segment(0, true, &mut seg).is_err());
    /// ```
    pub fn derive(dek: &DataKey, header: &Header, binding: &str, path: &str) -> Result<Self> {
        let key = derive(
            dek,
            &header.salt,
            &info(b"gureum-crypto v1 object", binding, path),
        )?;
        Ok(SegmentKeys {
            key,
            prefix: header.prefix,
        })
    }

    fn nonce(&self, counter: u32, flag: u8) -> Nonce {
        let mut n = [0u8; 12];
        n[..PREFIX_LEN].copy_from_slice(&self.prefix);
        n[PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
        n[11] = flag;
        Nonce::assume_unique_for_key(n)
    }

    fn header_tag(&self, header: &[u8]) -> Result<[u8; TAG_LEN]> {
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(u32::MAX, 2), Aad::from(header), &mut [])
            .map_err(|_| Error::other("AES-GCM seal failed"))?;
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag.as_ref());
        Ok(t)
    }

    /// Encrypt segment `index` in place (`buf` holds its plaintext) and append its tag.
    ///
    /// ```
    /// use gureum_crypto::{format::{Header, SegmentKeys}, DataKey, WrappedKey};
    /// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
    /// let dek = DataKey::generate().unwrap();
    /// let keys = SegmentKeys::derive(&dek, &Header::new(w).unwrap(), "b", "a").unwrap();
    /// let mut seg = b"segment 0".to_vec();
    /// keys.seal_segment(0, false, &mut seg).unwrap();
    /// // Opened as the last segment it fails: truncation shows.
    /// assert!(keys.open_segment(0, true, &mut seg.clone()).is_err());
    /// assert_eq!(keys.open_segment(0, false, &mut seg).unwrap(), 9);
    /// ```
    pub fn seal_segment(&self, index: u64, last: bool, buf: &mut Vec<u8>) -> Result<()> {
        let counter = segment_counter(index)?;
        let tag: Tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(counter, last as u8), Aad::empty(), buf)
            .map_err(|_| Error::other("AES-GCM seal failed"))?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Encrypt segment `index` in place: `seg[..len]` holds its plaintext, and its tag is
    /// written to `seg[len..len + TAG_LEN]`.
    ///
    /// ```
    /// use gureum_crypto::{format::{Header, SegmentKeys, TAG_LEN}, DataKey, WrappedKey};
    /// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
    /// let dek = DataKey::generate().unwrap();
    /// let keys = SegmentKeys::derive(&dek, &Header::new(w).unwrap(), "b", "a").unwrap();
    /// let mut buf = vec![0u8; 5 + TAG_LEN];
    /// buf[..5].copy_from_slice(b"hello");
    /// keys.seal_segment_at(3, true, &mut buf, 5).unwrap();
    /// assert_eq!(keys.open_segment(3, true, &mut buf).unwrap(), 5);
    /// assert_eq!(&buf[..5], b"hello");
    /// ```
    pub fn seal_segment_at(
        &self,
        index: u64,
        last: bool,
        seg: &mut [u8],
        len: usize,
    ) -> Result<()> {
        let counter = segment_counter(index)?;
        if seg.len() < len + TAG_LEN {
            return Err(Error::other("segment buffer too small"));
        }
        let tag: Tag = self
            .key
            .seal_in_place_separate_tag(
                self.nonce(counter, last as u8),
                Aad::empty(),
                &mut seg[..len],
            )
            .map_err(|_| Error::other("AES-GCM seal failed"))?;
        seg[len..len + TAG_LEN].copy_from_slice(tag.as_ref());
        Ok(())
    }

    /// Decrypt segment `index` (ciphertext and tag in `buf`) in place; returns the plaintext
    /// length (the plaintext is `buf[..len]`).
    ///
    /// ```
    /// use gureum_core::ErrorKind;
    /// use gureum_crypto::{format::{Header, SegmentKeys}, DataKey, WrappedKey};
    /// let w = WrappedKey { kind: "keyfile".into(), kek_id: "city".into(), version: 1, blob: vec![0; 60] };
    /// let dek = DataKey::generate().unwrap();
    /// let keys = SegmentKeys::derive(&dek, &Header::new(w).unwrap(), "b", "a").unwrap();
    /// let mut seg = b"abc".to_vec();
    /// keys.seal_segment(0, true, &mut seg).unwrap();
    /// seg[0] ^= 1; // tampered
    /// assert_eq!(keys.open_segment(0, true, &mut seg).unwrap_err().kind(), ErrorKind::Integrity);
    /// ```
    pub fn open_segment(&self, index: u64, last: bool, buf: &mut [u8]) -> Result<usize> {
        let counter = segment_counter(index)?;
        let plain = self
            .key
            .open_in_place(self.nonce(counter, last as u8), Aad::empty(), buf)
            .map_err(|_| {
                integrity(format!(
                    "encrypted data: segment {index} failed authentication (tampered, truncated, reordered or swapped)"
                ))
            })?;
        Ok(plain.len())
    }
}

fn segment_counter(index: u64) -> Result<u32> {
    u32::try_from(index)
        .ok()
        .filter(|c| *c != u32::MAX)
        .ok_or_else(|| Error::invalid("object too large for the encryption format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_invert() {
        for p in [
            0u64,
            1,
            15,
            16,
            17,
            65535,
            65536,
            65537,
            65536 * 2,
            65536 * 2 + 16,
            65536 * 2 + 17,
            10_000_000,
        ] {
            let s = stored_size(p);
            assert_eq!(plain_size(s), Some(p), "plain {p}");
        }
        assert_eq!(plain_size(0), None);
        assert_eq!(plain_size(HEADER_LEN as u64 + 15), None);
        // Full segment then an empty last segment: never written.
        assert_eq!(
            plain_size(HEADER_LEN as u64 + STORED_SEGMENT_LEN as u64 + 16),
            None
        );
    }
}
