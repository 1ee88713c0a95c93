//! Hostile input (issue 19): arbitrary queue bodies and attributes round-trip byte for byte
//! through the embedded queues (mem://, sqlite://), or are refused with a typed error; and
//! arbitrary keys and bodies through file:// either round-trip or are refused, never panic.

use gureum_core::{ErrorKind, Message, ReceiveOptions, Registry};
use proptest::prelude::*;
use std::time::Duration;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::register(&mut r);
    r
}

fn cases() -> u32 {
    std::env::var("GUREUM_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn queue_bodies_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..4096),
        attrs in proptest::collection::btree_map("[a-zA-Z0-9_.-]{1,12}", any::<String>(), 0..4),
        sqlite in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let url = if sqlite {
                format!("sqlite://{}/q.db?queue=p", dir.path().display())
            } else {
                format!("mem://{}", gureum_testkit_unique())
            };
            let q = registry().open_queue(Some(&url)).await.unwrap();
            let m = Message {
                attributes: attrs.clone(),
                ..Message::new(body.clone())
            };
            match q.send(m).await {
                Ok(id) => {
                    let got = q
                        .receive_with(ReceiveOptions {
                            max_messages: 1,
                            visibility: Duration::from_secs(30),
                            wait: Duration::from_secs(1),
                        })
                        .await
                        .unwrap();
                    prop_assert_eq!(got.len(), 1);
                    prop_assert_eq!(&got[0].id, &id);
                    prop_assert_eq!(&got[0].body[..], &body[..]);
                    prop_assert_eq!(&got[0].attributes, &attrs);
                    q.ack(&got[0]).await.unwrap();
                }
                Err(e) => prop_assert!(
                    matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::Unsupported),
                    "{e}"
                ),
            }
            Ok(())
        })?;
    }

    #[test]
    fn file_keys_round_trip_or_are_refused(
        k in "(\\.|/|%|\\+|\\\\|a|b|민원| |#|\\?|[\\x00-\\x1f]){1,24}",
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let b = registry()
                .open_bucket(Some(&format!("file://{}/b", dir.path().display())))
                .await
                .unwrap();
            match b.put(&k, body.clone()).await {
                Ok(_) => {
                    prop_assert_eq!(&b.get(&k).await.unwrap()[..], &body[..]);
                    let listed: Vec<String> =
                        b.list_all(None).await.unwrap().into_iter().map(|o| o.key).collect();
                    prop_assert_eq!(listed, vec![k.clone()]);
                }
                Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{}", e),
            }
            Ok(())
        })?;
    }
}

fn gureum_testkit_unique() -> String {
    format!("p-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
