//! The "Adding a provider" recipe of docs/architecture.md, carried out in miniature: a provider
//! with one storage scheme (`tiny://`), described by its own `SCHEMES` and registered through
//! the same [`ProviderEntry`] the facade's one line per provider expands to.

use gureum::object_store::memory::InMemory;
use gureum::{
    CompiledProvider, ErrorKind, ProviderEntry, Registry, ResourceUrl, Service, StorageOpener, Zone,
};

/// What a provider crate exports: `SCHEMES` next to `register`.
mod tiny {
    use gureum::object_store::memory::InMemory;
    use gureum::{async_trait, BackendInfo, Bucket, Error, Registry, ResourceUrl, Result};
    use gureum::{SchemeInfo, Service, StorageOpener, Zone};
    use std::sync::Arc;

    /// The schemes this provider serves.
    pub const SCHEMES: &[SchemeInfo] = &[SchemeInfo {
        scheme: "tiny",
        service: Service::Storage,
        feature: "tiny",
        zone: Zone::OnPrem,
        description: "an in-memory bucket for the recipe test",
    }];

    /// Opens `tiny://NAME`.
    pub struct TinyStorageOpener;

    #[async_trait]
    impl StorageOpener for TinyStorageOpener {
        async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
            if url.host().is_empty() {
                return Err(Error::invalid(format!("{url}: tiny://NAME needs a name")));
            }
            let store = Arc::new(InMemory::new());
            Ok(Bucket::new(url.host(), store.clone())
                .with_info(BackendInfo {
                    scheme: "tiny".into(),
                    provider: "tiny".into(),
                    zone: SCHEMES[0].zone,
                })
                .with_native(store))
        }
    }

    /// Register the openers of [`SCHEMES`].
    pub fn register(registry: &mut Registry) {
        registry.register_storage("tiny", Arc::new(TinyStorageOpener));
    }
}

/// What `providers! { tiny = "tiny" => tiny [("tiny", Storage)] }` expands to in the facade
/// when the `tiny` feature is on ...
const COMPILED: ProviderEntry = ProviderEntry {
    feature: "tiny",
    schemes: &[("tiny", Service::Storage)],
    compiled: Some(CompiledProvider {
        register: tiny::register,
        schemes: tiny::SCHEMES,
    }),
};
/// ... and when it is off.
const NOT_COMPILED: ProviderEntry = ProviderEntry {
    feature: "tiny",
    schemes: &[("tiny", Service::Storage)],
    compiled: None,
};

#[tokio::test]
async fn a_registered_provider_opens_its_urls() {
    let mut r = gureum::registry();
    r.add_provider(&COMPILED);
    let b = r.open_bucket(Some("tiny://reports")).await.unwrap();
    assert_eq!(b.name(), "reports");
    assert_eq!(b.info().scheme, "tiny");
    b.put("2026/c-1.json", &b"{}"[..]).await.unwrap();
    assert_eq!(&b.get("2026/c-1.json").await.unwrap()[..], b"{}");
    assert!(b.native::<InMemory>().is_some());
    let info = r.scheme_info(Service::Storage, "tiny").unwrap();
    assert_eq!(info.zone, Zone::OnPrem);
    assert!(r.schemes(Service::Storage).contains(&"tiny".to_string()));
    // The provider's own checks run.
    let e = tiny::TinyStorageOpener
        .open_bucket(&ResourceUrl::parse("tiny://").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // The other URLs of the build still open.
    #[cfg(feature = "local")]
    r.open_bucket(Some("mem://x")).await.unwrap();
}

#[tokio::test]
async fn a_provider_that_is_not_compiled_in_is_named_in_the_hint() {
    let r = Registry::from_providers(&[NOT_COMPILED]);
    let e = r.open_bucket(Some("tiny://reports")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("not compiled in"), "{e}");
    assert!(e.message().contains("cargo feature \"tiny\""), "{e}");
    let e = r.open_bucket(Some("gopher://x")).await.unwrap_err();
    assert!(
        e.message().contains("tiny:// (cargo feature \"tiny\")"),
        "{e}"
    );
    // A queue URL is not hinted with a storage-only provider.
    let e = r.open_queue(Some("tiny://q")).await.unwrap_err();
    assert!(!e.message().contains("not compiled in"), "{e}");
}
