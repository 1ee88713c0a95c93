//! The access record through the facade's registry on the embedded backends: every data
//! operation is recorded (never contents or secrets), the chain verifies, and tampering with
//! the record (edit, delete, reorder, truncate) is named at the first bad entry. Sinks: file,
//! sqlite, bucket.
#![cfg(feature = "layers")]

use gureum::layers::audit::{self, load_key, query_spec, verify_spec, Entry, Query};
use gureum::{Message, PutOptions};

const CONTENT_MARKER: &str = "CONTENT-MARKER-0d6f";

fn key_file(dir: &std::path::Path) -> String {
    let p = dir.join("audit.key");
    std::fs::write(&p, "city-audit-key-0123456789abcdef\n").unwrap();
    format!("file://{}", p.display())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn entries(path: &std::path::Path) -> Vec<Entry> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_file_record_of_bucket_operations_verifies_and_shows_tampering() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("log/audit.jsonl");
    let key = key_file(d.path());
    let url = format!(
        "file://{}/data?audit=file://{}&audit_key={}&audit_principal=clerk-17&audit_checkpoint=4",
        d.path().display(),
        rec.display(),
        enc(&key)
    );
    {
        let b = gureum::open_bucket(&url).await.unwrap();
        assert_eq!(b.layers(), ["audit"]);
        b.put("민원/2026/11/c-1.json", CONTENT_MARKER.as_bytes().to_vec())
            .await
            .unwrap();
        b.put_with(
            "공지/a.txt",
            b"hello".to_vec(),
            &PutOptions::default().metadata("owner", "x"),
        )
        .await
        .unwrap();
        assert_eq!(
            &b.get("민원/2026/11/c-1.json").await.unwrap()[..],
            CONTENT_MARKER.as_bytes()
        );
        assert!(b.get("missing").await.is_err());
        assert_eq!(b.list_all(Some("민원/")).await.unwrap().len(), 1);
        b.copy("공지/a.txt", "공지/b.txt").await.unwrap();
        b.delete("공지/b.txt").await.unwrap();
        let mut w = b.writer("big.bin", &PutOptions::default()).await.unwrap();
        w.write(&[7u8; 1000]).await.unwrap();
        w.finish().await.unwrap();
    } // The last handle closes the record with a checkpoint.

    let text = std::fs::read_to_string(&rec).unwrap();
    assert!(!text.contains(CONTENT_MARKER), "contents in the record");
    assert!(!text.contains("city-audit-key"), "the key in the record");
    let es = entries(&rec);
    let ops: Vec<(String, Option<String>, Option<String>)> = es
        .iter()
        .filter(|e| e.kind == "op")
        .map(|e| (e.op.clone().unwrap(), e.key.clone(), e.outcome.clone()))
        .collect();
    let has = |op: &str, key: &str, outcome: &str| {
        ops.iter().any(|(o, k, out)| {
            o == op && k.as_deref() == Some(key) && out.as_deref() == Some(outcome)
        })
    };
    assert!(has("put", "민원/2026/11/c-1.json", "ok"), "{ops:?}");
    assert!(has("get", "민원/2026/11/c-1.json", "ok"), "{ops:?}");
    assert!(has("get", "missing", "not_found"), "{ops:?}");
    assert!(
        has("list", "민원", "ok") || has("list", "민원/", "ok"),
        "{ops:?}"
    );
    assert!(has("copy", "공지/a.txt", "ok"), "{ops:?}");
    assert!(has("delete", "공지/b.txt", "ok"), "{ops:?}");
    assert!(has("put", "big.bin", "ok"), "{ops:?}");
    let put = es
        .iter()
        .find(|e| e.op.as_deref() == Some("put") && e.key.as_deref() == Some("big.bin"))
        .unwrap();
    assert_eq!(put.bytes, Some(1000));
    let p = put.principal.as_ref().unwrap();
    assert_eq!(p.id.as_deref(), Some("clerk-17"));
    assert!(!p.user.is_empty() && !p.host.is_empty());
    assert!(put.resource.as_deref().unwrap().starts_with("file://"));
    assert!(
        !put.resource.as_deref().unwrap().contains("audit"),
        "layer parameters are not part of the resource"
    );
    assert!(es.iter().filter(|e| e.kind == "checkpoint").count() >= 2);
    assert_eq!(
        es.last().unwrap().kind,
        "checkpoint",
        "closed with a checkpoint"
    );

    let reg = gureum::registry();
    let spec = format!("file://{}", rec.display());
    let k = load_key(&key).unwrap();
    let v = verify_spec(&spec, Some(&k), &reg).await.unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.unsigned_tail, 0);

    // Query: who read 민원/2026/ (by principal and prefix, this month).
    let q = Query {
        principal: Some("clerk-17".into()),
        prefix: Some("민원/2026/".into()),
        op: Some("get".into()),
        since: Some(audit::parse_time(&chrono_month()).unwrap()),
        until: None,
    };
    let hits = query_spec(&spec, &q, &reg).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let q = Query {
        principal: Some("somebody-else".into()),
        ..Query::default()
    };
    assert!(query_spec(&spec, &q, &reg).await.unwrap().is_empty());

    // Tampering, each on a fresh copy of the record, is named.
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let head = std::fs::read(format!("{}.head", rec.display())).unwrap();
    let check = |lines: Vec<String>, want: &'static str| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        std::fs::write(format!("{}.head", p.display()), &head).unwrap();
        let reg = gureum::registry();
        let k = load_key(&key).unwrap();
        async move {
            let _keep = dir;
            let v = verify_spec(&format!("file://{}", p.display()), Some(&k), &reg)
                .await
                .unwrap();
            let shown = format!("{v:?}");
            let prob = v
                .problem
                .unwrap_or_else(|| panic!("{want}: not detected: {shown}"));
            assert!(prob.reason.contains(want), "{want}: {prob:?}");
            prob.expected_seq
        }
    };
    let mut edited = lines.clone();
    edited[2] = edited[2].replace("\"time\":\"2", "\"time\":\"1");
    assert_ne!(edited[2], lines[2]);
    assert_eq!(check(edited, "edited").await, 3);
    let mut deleted = lines.clone();
    deleted.remove(1);
    assert_eq!(check(deleted, "missing").await, 2);
    let mut reordered = lines.clone();
    reordered.swap(0, 1);
    assert_eq!(check(reordered, "reordered").await, 1);
    let n = lines.len();
    let truncated = lines[..n - 2].to_vec();
    assert_eq!(check(truncated, "truncated").await, n as u64 - 1);
}

fn chrono_month() -> String {
    // The first of this month, from the record's own clock format.
    let now = gureum::layers::audit::chain::now();
    now[..7].to_string()
}

#[tokio::test]
async fn sqlite_and_bucket_sinks_record_queue_and_storage_operations() {
    let d = tempfile::tempdir().unwrap();
    let key = key_file(d.path());
    // Queue with an sqlite record.
    let db = d.path().join("audit.db");
    let qurl = format!(
        "sqlite://{}/q.db?queue=jobs&audit=sqlite://{}&audit_key={}",
        d.path().display(),
        db.display(),
        enc(&key)
    );
    {
        let q = gureum::open_queue(&qurl).await.unwrap();
        q.send(Message::new(CONTENT_MARKER.as_bytes().to_vec()))
            .await
            .unwrap();
        let got = q.receive(10).await.unwrap();
        assert_eq!(got.len(), 1);
        q.ack(&got[0]).await.unwrap();
    }
    let reg = gureum::registry();
    let k = load_key(&key).unwrap();
    let spec = format!("sqlite://{}", db.display());
    let v = verify_spec(&spec, Some(&k), &reg).await.unwrap();
    assert!(v.ok(), "{v:?}");
    let all = query_spec(&spec, &Query::default(), &reg).await.unwrap();
    let ops: Vec<&str> = all.iter().filter_map(|e| e.op.as_deref()).collect();
    assert_eq!(ops, ["send", "receive", "ack"]);
    assert_eq!(all[0].bytes, Some(CONTENT_MARKER.len() as u64));
    assert!(!std::fs::read(&db)
        .unwrap()
        .windows(CONTENT_MARKER.len())
        .any(|w| w == CONTENT_MARKER.as_bytes()));

    // Storage with the record in another bucket (create-only segments).
    let sink = format!("bucket+file://{}/audit-bucket#app1", d.path().display());
    let url = format!(
        "file://{}/data?audit={}&audit_key={}&audit_checkpoint=3",
        d.path().display(),
        enc(&sink),
        enc(&key)
    );
    let b = gureum::open_bucket(&url).await.unwrap();
    for i in 0..7 {
        b.put(&format!("k{i}"), vec![1u8; 10]).await.unwrap();
    }
    // Checkpoints after 3 and 6 entries sent two segments; flush sends the rest.
    let segs = std::fs::read_dir(d.path().join("audit-bucket/app1/segments"))
        .unwrap()
        .count();
    assert_eq!(segs, 2);
    let v = verify_spec(&sink, Some(&k), &reg).await.unwrap();
    assert!(v.ok(), "{v:?}");
    drop(b);
}
