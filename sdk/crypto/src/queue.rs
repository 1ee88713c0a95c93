//! [`EncryptedQueue`]: a queue driver whose message bodies reach the backend only as
//! ciphertext.
//!
//! A stored body is `"GRMQ" ‖ version (1) ‖ key block ‖ salt (16) ‖ nonce (12) ‖
//! AES-256-GCM(body) ‖ tag (16)`, sealed with HKDF-SHA256(data key, salt, "gureum-crypto v1
//! message") and everything before the ciphertext as associated data. Message attributes,
//! group and deduplication ids stay in the clear (the backend routes on them). The queue name
//! is not bound into the body: a dead-letter queue receives bodies moved by the backend, and
//! they must still decrypt there.

use crate::format::{integrity, put_key_block, random, read_key_block, KEYBLOCK_MAX};
use crate::Keys;
use async_trait::async_trait;
use bytes::Bytes;
use gureum_core::{
    Error, Message, QueueCapabilities, QueueDriver, ReceiveOptions, ReceivedMessage, Result,
};
use ring::aead::{Aad, Nonce};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

const MAGIC: &[u8; 4] = b"GRMQ";
const VERSION: u8 = 1;
const SALT: usize = 16;
/// Largest number of bytes encryption adds to a message body.
///
/// ```
/// use gureum_crypto::queue::MESSAGE_OVERHEAD;
/// // An SQS message of 256 KiB carries a little less plaintext once encrypted.
/// assert!(MESSAGE_OVERHEAD < 1024);
/// ```
pub const MESSAGE_OVERHEAD: usize = 4 + 1 + KEYBLOCK_MAX + SALT + 12 + 16;

/// A queue driver that encrypts bodies before `inner` sees them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer, EncryptedQueue};
/// use std::sync::Arc;
/// let tmp = tempfile::tempdir()?;
/// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
/// let plain = gureum::open_queue("mem://encrypted-queue-struct-doc").await?;
/// let q = EncryptedQueue::new(plain.driver().clone(), layer.keys().clone());
/// let sealed = q.seal(b"call back 010-1234").await?;
/// assert!(!sealed.windows(8).any(|w| w == b"010-1234"));
/// assert_eq!(&q.open(&sealed).await?[..], b"call back 010-1234");
/// # Ok(()) }
/// ```
pub struct EncryptedQueue {
    inner: Arc<dyn QueueDriver>,
    keys: Arc<Keys>,
}

impl fmt::Debug for EncryptedQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedQueue")
            .field("inner", &self.inner)
            .field("provider", &self.keys.provider)
            .finish()
    }
}

impl EncryptedQueue {
    /// Encrypt the bodies sent to `inner`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{Message, Queue};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer, EncryptedQueue};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// let plain = gureum::open_queue("mem://encrypted-queue-new-doc").await?;
    /// let encrypted = Queue::new(Arc::new(EncryptedQueue::new(plain.driver().clone(), layer.keys().clone())));
    /// encrypted.send(Message::new("hello")).await?;
    /// assert_eq!(&encrypted.receive(1).await?[0].body[..], b"hello");
    /// # Ok(()) }
    /// ```
    pub fn new(inner: Arc<dyn QueueDriver>, keys: Arc<Keys>) -> Self {
        EncryptedQueue { inner, keys }
    }

    /// The driver underneath (sees ciphertext).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer, EncryptedQueue};
    /// let tmp = tempfile::tempdir()?;
    /// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// let plain = gureum::open_queue("mem://encrypted-queue-inner-doc").await?;
    /// let q = EncryptedQueue::new(plain.driver().clone(), layer.keys().clone());
    /// assert_eq!(q.inner().name(), "encrypted-queue-inner-doc");
    /// # Ok(()) }
    /// ```
    pub fn inner(&self) -> &Arc<dyn QueueDriver> {
        &self.inner
    }

    fn max_plain(&self) -> usize {
        self.inner
            .capabilities()
            .max_message_bytes
            .saturating_sub(MESSAGE_OVERHEAD)
    }

    /// Seal one body.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer, EncryptedQueue};
    /// let tmp = tempfile::tempdir()?;
    /// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// let q = EncryptedQueue::new(gureum::open_queue("mem://seal-doc").await?.driver().clone(), layer.keys().clone());
    /// let (a, b) = (q.seal(b"same").await?, q.seal(b"same").await?);
    /// assert_ne!(a, b); // a fresh nonce per message
    /// assert!(a.starts_with(b"GRMQ"));
    /// # Ok(()) }
    /// ```
    pub async fn seal(&self, body: &[u8]) -> Result<Bytes> {
        let (dek, wrapped) = self
            .keys
            .cache
            .for_encrypt(self.keys.provider.as_ref())
            .await?;
        let mut out = Vec::with_capacity(body.len() + 128 + wrapped.blob.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        let kb = out.len();
        put_key_block(&mut out, &wrapped)?;
        if out.len() - kb > KEYBLOCK_MAX {
            return Err(Error::invalid("wrapped data key too long for a message"));
        }
        let mut salt = [0u8; SALT];
        random(&mut salt)?;
        let mut nonce = [0u8; 12];
        random(&mut nonce)?;
        out.extend_from_slice(&salt);
        out.extend_from_slice(&nonce);
        let key = crate::format::derive(&dek, &salt, b"gureum-crypto v1 message")?;
        let aad_len = out.len();
        out.extend_from_slice(body);
        let (aad, ct) = out.split_at_mut(aad_len);
        let tag = key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&*aad), ct)
            .map_err(|_| Error::other("AES-GCM seal failed"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(Bytes::from(out))
    }

    /// Open one stored body.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ErrorKind;
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer, EncryptedQueue};
    /// let tmp = tempfile::tempdir()?;
    /// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// let q = EncryptedQueue::new(gureum::open_queue("mem://open-doc").await?.driver().clone(), layer.keys().clone());
    /// assert_eq!(q.open(b"plain text").await.unwrap_err().kind(), ErrorKind::Integrity);
    /// # Ok(()) }
    /// ```
    pub async fn open(&self, stored: &[u8]) -> Result<Bytes> {
        if stored.len() < 5 || &stored[..4] != MAGIC {
            return Err(integrity(
                "message body is not encrypted by the encryption layer",
            ));
        }
        if stored[4] != VERSION {
            return Err(integrity(format!(
                "message body: unknown format version {}",
                stored[4]
            )));
        }
        let (wrapped, used) = read_key_block(&stored[5..])?;
        let p = 5 + used;
        if stored.len() < p + SALT + 12 + 16 {
            return Err(integrity("message body: truncated"));
        }
        let salt = &stored[p..p + SALT];
        let nonce: [u8; 12] = stored[p + SALT..p + SALT + 12]
            .try_into()
            .map_err(|_| integrity("message body: truncated"))?;
        let aad = &stored[..p + SALT + 12];
        let dek = self
            .keys
            .cache
            .for_decrypt(self.keys.provider.as_ref(), &wrapped)
            .await?;
        let key = crate::format::derive(&dek, salt, b"gureum-crypto v1 message")?;
        let mut ct = stored[p + SALT + 12..].to_vec();
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut ct)
            .map_err(|_| integrity("message body failed authentication (tampered or truncated)"))?;
        let n = plain.len();
        ct.truncate(n);
        Ok(Bytes::from(ct))
    }
}

#[async_trait]
impl QueueDriver for EncryptedQueue {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> QueueCapabilities {
        let mut c = self.inner.capabilities();
        c.max_message_bytes = c.max_message_bytes.saturating_sub(MESSAGE_OVERHEAD);
        c
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        let max = self.max_plain();
        let mut sealed = Vec::with_capacity(messages.len());
        for mut m in messages {
            if m.body.len() > max {
                return Err(Error::invalid(format!(
                    "message body of {} bytes exceeds the {max}-byte limit of this encrypted queue",
                    m.body.len()
                )));
            }
            m.body = self.seal(&m.body).await?;
            sealed.push(m);
        }
        self.inner.send_batch(sealed).await
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let got = self.inner.receive(opts).await?;
        let mut out = Vec::with_capacity(got.len());
        for mut m in got {
            m.body = self
                .open(&m.body)
                .await
                .map_err(|e| Error::new(e.kind(), format!("message {}: {}", m.id, e.message())))?;
            out.push(m);
        }
        Ok(out)
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        self.inner.ack(receipts).await
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        self.inner.nack(receipt, delay).await
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        self.inner.extend_visibility(receipt, visibility).await
    }

    async fn depth(&self) -> Result<u64> {
        self.inner.depth().await
    }

    async fn purge(&self) -> Result<()> {
        self.inner.purge().await
    }
}
