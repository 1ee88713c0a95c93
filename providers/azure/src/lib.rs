//! # gureum-azure
//!
//! Azure provider for gureum:
//!
//! * **Blob Storage** — `azblob://container?account=NAME[&endpoint=URL]` ([`blob`]): objects
//!   through `object_store`'s `MicrosoftAzure`, containers and SAS presigned URLs through
//!   signed REST calls made here.
//! * **Queue Storage** — `azqueue://queue?account=NAME` ([`queue`]): the Queue REST API with
//!   Shared Key / SAS / Entra ID auth, a poison-queue dead-letter emulation and QueueAdmin.
//! * **Virtual Machines** — `azvm://SUBSCRIPTION/RESOURCE-GROUP?location=...` ([`compute`]):
//!   Azure Resource Manager REST with Entra ID client-credentials tokens.
//!
//! Credentials follow Azure conventions: URL parameters, then
//! `AZURE_STORAGE_CONNECTION_STRING` (including `UseDevelopmentStorage=true`),
//! `AZURE_STORAGE_ACCOUNT_NAME` / `AZURE_STORAGE_ACCOUNT_KEY` / `AZURE_STORAGE_SAS_TOKEN`, then
//! Entra ID (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`,
//! `AZURE_FEDERATED_TOKEN_FILE`, managed identity). `?emulator=true` targets Azurite.
#![deny(missing_docs)]

pub mod auth;
pub mod blob;
pub mod compute;
pub mod config;
pub mod error;
pub mod queue;
pub mod rest;
pub mod store;
mod xml;

use gureum_core::{SchemeInfo, Service, Zone};
use std::sync::Arc;

/// The schemes this crate serves (feature `azure` of the `gureum` crate).
///
/// ```
/// let q = gureum_azure::SCHEMES.iter().find(|s| s.scheme == "azqueue").unwrap();
/// assert_eq!(q.service, gureum_core::Service::Queue);
/// ```
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "azblob",
        service: Service::Storage,
        feature: "azure",
        zone: Zone::Foreign,
        description: "Azure Blob Storage containers",
    },
    SchemeInfo {
        scheme: "azqueue",
        service: Service::Queue,
        feature: "azure",
        zone: Zone::Foreign,
        description: "Azure Queue Storage queues",
    },
    SchemeInfo {
        scheme: "azvm",
        service: Service::Compute,
        feature: "azure",
        zone: Zone::Foreign,
        description: "Azure Virtual Machines (Resource Manager)",
    },
];

/// Register the `azblob`, `azqueue` and `azvm` openers (see [`SCHEMES`]).
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_azure::register(&mut registry);
/// assert_eq!(registry.schemes(gureum_core::Service::Compute), ["azvm"]);
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_storage("azblob", Arc::new(blob::AzblobStorageOpener));
    registry.register_queue("azqueue", Arc::new(queue::AzqueueQueueOpener));
    registry.register_compute("azvm", Arc::new(compute::AzvmComputeOpener));
}
