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
#![warn(missing_docs)]

pub mod compute;
pub mod config;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
pub mod key;
pub mod queue;
pub mod registry;
pub mod storage;
pub mod transport;
pub mod url;

pub use compute::{
    Compute, ComputeCapabilities, ComputeDriver, ImageInfo, Instance, InstanceSpec, InstanceState,
    ListFilter, Size, SizeInfo, SizeSpec,
};
pub use error::{Error, ErrorKind, Result};
pub use queue::{
    DeadLetter, Message, ProcessOptions, ProcessStats, Queue, QueueAdmin, QueueCapabilities,
    QueueConfig, QueueDriver, ReceiveOptions, ReceivedMessage,
};
pub use registry::{
    CompiledProvider, ComputeOpener, MissingScheme, ProviderEntry, QueueOpener, Registry,
    SchemeInfo, Service, StorageOpener,
};
pub use storage::{
    BackendInfo, Bucket, BucketAdmin, ByteRange, ListOptions, ListPage, ObjectInfo, PresignMethod,
    Presigner, PutOptions, StorageCapabilities, WriteMode, WriteResult,
};
pub use url::ResourceUrl;

pub use async_trait::async_trait;
pub use bytes::Bytes;
pub use object_store;

/// Where a backend runs, for the data-classification placement policy.
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
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::OnPrem => "on-prem",
            Zone::DomesticCsap => "domestic-csap",
            Zone::Foreign => "foreign",
        }
    }
}
