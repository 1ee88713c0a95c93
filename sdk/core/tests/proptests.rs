//! Hostile input (issue 19): property tests over URL parsing, profiles, keys and metadata.
//! Whatever the input, the public functions return a value or a typed error; they never
//! panic, and what they accept round-trips.

use gureum_core::config::{resolve_with, ConfigFile};
use gureum_core::key::{check_key, decode_key, encode_key, split_prefix};
use gureum_core::registry::Service;
use gureum_core::storage::{validate_metadata, Bucket, PutOptions};
use gureum_core::{ErrorKind, ResourceUrl};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

fn cases() -> u32 {
    std::env::var("GUREUM_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(512)
}

/// Strings biased towards what breaks parsers: URL syntax, percent signs, controls,
/// non-ASCII, slashes and dots.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9+.-]{0,8}://[^\\s]{0,40}",
        "[a-z]{1,6}://[a-z0-9.-]{0,20}(:[0-9]{0,7})?(/[a-zA-Z0-9%./?&=#~ -]{0,30})?",
        "(\\.|/|%|\\\\|\\?|#|[\\x00-\\x1f]|민원|a|b){0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn url_parsing_never_panics(s in hostile()) {
        match ResourceUrl::parse(&s) {
            Ok(u) => {
                // Everything on a parsed URL is total.
                let _ = (u.scheme(), u.host(), u.path(), u.redacted(), format!("{u:?}"));
                for (k, _) in u.params().clone() {
                    let _ = u.bool_param(&k);
                    let _ = u.u64_param(&k);
                }
                let _ = u.check_unknown(&[]);
            }
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        }
    }

    #[test]
    fn url_parameters_round_trip(
        key in "[a-z_]{1,12}",
        value in any::<String>(),
    ) {
        let enc: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let u = ResourceUrl::parse(&format!("s3://bucket?{key}={enc}")).unwrap();
        prop_assert_eq!(u.param(&key), Some(value.as_str()));
        // Secrets never show in the Display form.
        if key.contains("key") || key.contains("secret") || key.contains("token") {
            let shown = u.to_string();
            prop_assert!(value.len() < 4 || !shown.contains(&enc) || enc == "***");
        }
    }

    #[test]
    fn profiles_never_panic_and_never_leak(text in any::<String>(), svc in 0..3u8) {
        let service = [Service::Storage, Service::Queue, Service::Compute][svc as usize];
        if let Ok(c) = ConfigFile::parse(&text) {
            let _ = resolve_with(service, Some("mem://x"), Some(&c));
        }
    }

    #[test]
    fn service_tables_stay_with_their_service(
        shared in proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..5),
        storage in proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..5),
    ) {
        let esc = |m: &BTreeMap<String, String>| {
            m.iter().map(|(k, v)| format!("{k} = \"{v}\"")).collect::<Vec<_>>().join(", ")
        };
        let text = format!(
            "[profiles.default]\nparams = {{ {} }}\nstorage_params = {{ {} }}\n",
            esc(&shared),
            esc(&storage)
        );
        let c = ConfigFile::parse(&text).unwrap();
        match resolve_with(Service::Queue, Some("mem://q"), Some(&c)) {
            Ok((_, p)) => {
                for (k, v) in &p {
                    // Only shared values reach the queue.
                    prop_assert_eq!(shared.get(k), Some(v));
                }
            }
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        }
    }

    #[test]
    fn keys_are_checked_without_panics_and_round_trip(k in hostile()) {
        let _ = split_prefix(&k);
        match encode_key(&k) {
            Ok(p) => {
                prop_assert!(check_key(&k).is_ok());
                prop_assert_eq!(decode_key(&p), k);
            }
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        }
    }

    #[test]
    fn metadata_is_validated_without_panics(
        m in proptest::collection::btree_map(hostile(), hostile(), 0..6),
    ) {
        match validate_metadata(&m) {
            Ok(()) => {}
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases() / 4, ..ProptestConfig::default() })]

    /// Accepted keys, bodies and metadata round-trip byte for byte through a bucket.
    #[test]
    fn accepted_objects_round_trip(
        k in hostile(),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        m in proptest::collection::btree_map("[a-z0-9_-]{1,10}", "[^\\x00-\\x1f\\x7f]{0,20}", 0..4),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let b = Bucket::new("p", Arc::new(object_store::memory::InMemory::new()));
            let opts = PutOptions {
                metadata: m.clone(),
                ..Default::default()
            };
            match b.put_with(&k, body.clone(), &opts).await {
                Ok(_) => {
                    prop_assert_eq!(&b.get(&k).await.unwrap()[..], &body[..]);
                    prop_assert_eq!(b.head(&k).await.unwrap().metadata, m);
                }
                Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument),
            }
            Ok(())
        })?;
    }
}
