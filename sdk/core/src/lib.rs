//! # gureum-core
//!
//! The portable half of gureum: types and driver traits for object storage ([`storage`]),
//! message queues ([`queue`]) and virtual machines ([`compute`]), the one [`Error`] type,
//! the portable key space ([`key`]), URL parsing ([`url`]), layered configuration
//! ([`config`]), the scheme → opener registry ([`registry`]) and transport rules
//! ([`transport`]). No vendor SDK is a dependency of this crate, and no vendor is named in it:
//! providers describe their own schemes ([`SchemeInfo`]).
//!
//! Applications normally depend on the `gureum` facade crate, which re-exports this one
//! and registers the providers enabled by cargo features.
#![deny(missing_docs)]

pub mod compute;
pub mod config;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
pub mod key;
pub mod layering;
pub mod queue;
pub mod registry;
pub mod storage;
pub mod tls;
pub mod transport;
pub mod url;

pub use compute::{
    Compute, ComputeCapabilities, ComputeDriver, ImageInfo, Instance, InstanceSpec, InstanceState,
    ListFilter, Size, SizeInfo, SizeSpec,
};
pub use error::{Error, ErrorKind, Result};
pub use layering::{LayerOpener, LayerParams, LayerSlot, OpenTarget};
pub use queue::{
    DeadLetter, Message, ProcessOptions, ProcessStats, Queue, QueueAdmin, QueueCapabilities,
    QueueConfig, QueueDriver, ReceiveOptions, ReceivedMessage,
};
pub use registry::{
    CompiledProvider, ComputeOpener, MissingScheme, ProviderEntry, QueueOpener, Registry,
    SchemeInfo, Service, StorageOpener,
};
pub use storage::{
    BackendInfo, Bucket, BucketAdmin, BucketCopier, ByteRange, ListOptions, ListPage, ObjectInfo,
    PresignMethod, Presigner, PutOptions, StorageCapabilities, WriteMode, WriteResult,
};
pub use url::ResourceUrl;

pub use async_trait::async_trait;
pub use bytes::Bytes;
pub use object_store;
pub use secrecy;

/// Where a backend runs, for the data-classification placement policy.
///
/// ```
/// use gureum_core::Zone;
/// assert_eq!(Zone::default(), Zone::OnPrem);
/// assert_eq!(Zone::DomesticCsap.to_string(), "domestic-csap");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Zone {
    /// The city's own data center (or this host).
    #[default]
    OnPrem,
    /// A domestic cloud with CSAP certification.
    DomesticCsap,
    /// A foreign cloud.
    Foreign,
}

impl Zone {
    /// Kebab-case name.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// assert_eq!(Zone::Foreign.as_str(), "foreign");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::OnPrem => "on-prem",
            Zone::DomesticCsap => "domestic-csap",
            Zone::Foreign => "foreign",
        }
    }
    /// Parse `on-prem`, `domestic-csap` or `foreign` (case-insensitive, `_` for `-` allowed);
    /// anything else is `InvalidArgument` listing the zones.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// assert_eq!(Zone::parse("on-prem").unwrap(), Zone::OnPrem);
    /// assert!(Zone::parse("moon").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Zone> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "on-prem" | "onprem" => Ok(Zone::OnPrem),
            "domestic-csap" => Ok(Zone::DomesticCsap),
            "foreign" => Ok(Zone::Foreign),
            _ => Err(Error::invalid(format!(
                "zone {s:?}: use on-prem, domestic-csap or foreign"
            ))),
        }
    }
    /// Every zone, nearest first.
    ///
    /// ```
    /// use gureum_core::Zone;
    /// assert_eq!(Zone::ALL[0], Zone::OnPrem);
    /// assert!(Zone::ALL.iter().all(|z| Zone::parse(z.as_str()).unwrap() == *z));
    /// ```
    pub const ALL: [Zone; 3] = [Zone::OnPrem, Zone::DomesticCsap, Zone::Foreign];
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
