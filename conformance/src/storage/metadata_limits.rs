//! Storage cases: user-metadata size limits (S3's 2 KiB, header limits of Azure and Swift)
//! and shapes of names and values near them.

use super::*;
use gureum_core::storage::MAX_METADATA_BYTES;
use std::collections::BTreeMap;

/// Metadata of exactly `total` bytes (names and values) in `entries` entries.
fn sized_metadata(total: usize, entries: usize) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut used = 0;
    for i in 0..entries {
        let name = format!("m{i:02}");
        let left = total - used - name.len();
        let share = if i + 1 == entries {
            left
        } else {
            (total / entries).saturating_sub(name.len()).min(left)
        };
        let value: String = (0..share)
            .map(|j| (b'a' + ((i + j) % 26) as u8) as char)
            .collect();
        used += name.len() + value.len();
        m.insert(name, value);
    }
    m
}

async fn round_trip_metadata(s: &Scope<Ctx>, rel: &str, md: BTreeMap<String, String>) -> Outcome {
    let k = s.key(rel);
    let o = PutOptions {
        metadata: md.clone(),
        ..Default::default()
    };
    let w = s.b().put_with(&k, "m", &o).await;
    let h = match &w {
        Ok(_) => Some(s.b().head(&k).await),
        Err(_) => None,
    };
    s.cleanup().await;
    w.ctx("put with metadata")?;
    let h = h.expect("head after successful put").ctx("head")?;
    ensure_eq!(h.metadata, md, "metadata read back");
    Ok(())
}

/// The metadata limit cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!(
        "storage.metadata_at_size_limit",
        [user_metadata],
        |s| {
            // Ten entries of about 200 bytes: inside Swift's 256-byte limit per value.
            let md = sized_metadata(MAX_METADATA_BYTES, 10);
            let total: usize = md.iter().map(|(k, v)| k.len() + v.len()).sum();
            ensure_eq!(total, MAX_METADATA_BYTES, "fixture size");
            round_trip_metadata(&s, "at-limit", md).await
        }
    ));
    v.push(case!("storage.metadata_over_size_limit_refused", [], |s| {
        let md = sized_metadata(MAX_METADATA_BYTES + 1, 4);
        let k = s.key("over-limit");
        let r = s
            .b()
            .put_with(
                &k,
                "m",
                &PutOptions {
                    metadata: md,
                    ..Default::default()
                },
            )
            .await;
        let exists = s.b().exists(&k).await.ctx("exists")?;
        s.cleanup().await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "put with 2049 bytes of metadata",
        )?;
        ensure!(!exists, "a refused put left an object");
        Ok(())
    }));
    v.push(case!(
        "storage.metadata_many_entries",
        [user_metadata],
        |s| {
            let md: BTreeMap<String, String> = (0..40)
                .map(|i| (format!("k{i:02}"), format!("value-{i}")))
                .collect();
            round_trip_metadata(&s, "many", md).await
        }
    ));
    v.push(case!(
        "storage.metadata_long_value_exact_or_refused",
        [user_metadata],
        |s| {
            // One 1,900-byte value: S3 and Azure store it; Swift allows 256 bytes per value.
            // Either it comes back exactly, or the write is refused with InvalidArgument and
            // nothing is stored — never a silently truncated value.
            let md = sized_metadata(1900, 1);
            let k = s.key("long-value");
            let o = PutOptions {
                metadata: md.clone(),
                ..Default::default()
            };
            let w = s.b().put_with(&k, "m", &o).await;
            let head = s.b().head(&k).await;
            s.cleanup().await;
            match w {
                Ok(_) => {
                    let h = head.ctx("head")?;
                    ensure_eq!(h.metadata, md, "metadata read back");
                }
                Err(e) => {
                    ensure_eq!(
                        e.kind(),
                        ErrorKind::InvalidArgument,
                        "kind of the refusal ({e})"
                    );
                    ensure!(head.is_err(), "a refused write stored an object");
                    s.note(format!("refused: {}", e.message()));
                }
            }
            Ok(())
        }
    ));
    v.push(case!(
        "storage.metadata_hangul_value",
        [user_metadata],
        |s| {
            let md: BTreeMap<String, String> = [(
                "district".to_string(),
                "서울특별시 종로구 세종대로 209 (시청 민원실)".to_string(),
            )]
            .into();
            round_trip_metadata(&s, "hangul", md).await
        }
    ));
    v.push(case!(
        "storage.metadata_dash_digit_names",
        [user_metadata],
        |s| {
            let md: BTreeMap<String, String> = [
                ("x-1".to_string(), "a".to_string()),
                ("2nd".to_string(), "b".to_string()),
                ("a-b-c-d".to_string(), "c".to_string()),
            ]
            .into();
            round_trip_metadata(&s, "names", md).await
        }
    ));
    v.push(case!(
        "storage.metadata_survives_rename",
        [user_metadata, copy],
        |s| {
            let a = s.key("a");
            s.b()
                .put_with(&a, "v", &PutOptions::default().metadata("owner", "seoul"))
                .await
                .ctx("put")?;
            let b = s.key("b");
            s.b().rename(&a, &b).await.ctx("rename")?;
            let h = s.b().head(&b).await.ctx("head")?;
            s.cleanup().await;
            ensure_eq!(
                h.metadata.get("owner").map(String::as_str),
                Some("seoul"),
                "metadata after rename"
            );
            Ok(())
        }
    ));
    v.push(case!(
        "storage.metadata_removed_by_plain_overwrite",
        [user_metadata],
        |s| {
            let k = s.key("m");
            s.b()
                .put_with(&k, "v1", &PutOptions::default().metadata("stale", "yes"))
                .await
                .ctx("put with metadata")?;
            s.b()
                .put(&k, "v2")
                .await
                .ctx("overwrite without metadata")?;
            let h = s.b().head(&k).await.ctx("head")?;
            s.cleanup().await;
            ensure!(
                h.metadata.is_empty(),
                "metadata of the old object survived an overwrite: {:?}",
                h.metadata
            );
            Ok(())
        }
    ));
    v
}
