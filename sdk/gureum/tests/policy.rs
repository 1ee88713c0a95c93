//! The placement policy through the facade's registry, on the embedded backends: `class=` and
//! `policy=` are taken out of the URL before the provider sees it, a forbidden zone is
//! refused before anything is written, and a mixed bucket is policed per object.
#![cfg(feature = "layers")]

use gureum::layers::policy::{check_destination, Policy};
use gureum::{ErrorKind, PutOptions, Service};

fn policy_file(dir: &std::path::Path) -> String {
    let p = dir.join("policy.toml");
    std::fs::write(
        &p,
        r#"
metadata = "classification"

[classes]
sensitive = { zones = ["on-prem"], encrypted_zones = ["domestic-csap"] }
health = { zones = ["on-prem"] }

[zones]
"file:///city" = "on-prem"

[[prefix]]
prefix = "민원/"
class = "personal"
"#,
    )
    .unwrap();
    p.to_string_lossy().into_owned()
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(files_under(&e.path()));
            } else {
                out.push(e.path().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_forbidden_zone_refuses_to_open_and_names_rule_class_and_zone() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("store");
    let url = format!("file://{}?zone=foreign&class=personal", store.display());
    let e = gureum::open_bucket(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    let m = e.message();
    assert!(m.contains("classes.personal"), "rule: {m}");
    assert!(m.contains("\"personal\""), "class: {m}");
    assert!(m.contains("\"foreign\""), "zone: {m}");
    assert!(
        !store.exists(),
        "nothing was created: the provider never ran"
    );

    // On-prem (file:// default zone) personal data opens and writes.
    let url = format!("file://{}?class=personal", store.display());
    let b = gureum::open_bucket(&url).await.unwrap();
    assert_eq!(b.layers(), ["policy"]);
    b.put("a.txt", b"x".to_vec()).await.unwrap();
    assert_eq!(&b.get("a.txt").await.unwrap()[..], b"x");
    // An unknown class is an argument error listing the classes.
    let e = gureum::open_bucket(&format!("file://{}?class=secret", store.display()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("personal"), "{e}");
}

#[tokio::test]
async fn a_mixed_bucket_is_policed_per_object_before_any_byte_is_written() {
    let d = tempfile::tempdir().unwrap();
    let pf = policy_file(d.path());
    let store = d.path().join("mixed");
    // A domestic cloud zone: internal data may go there, personal not.
    let url = format!(
        "file://{}?zone=domestic-csap&policy={pf}&class=internal",
        store.display()
    );
    let b = gureum::open_bucket(&url).await.unwrap();
    b.put("공지/notice.txt", b"hello".to_vec()).await.unwrap();
    // The prefix rule makes 민원/ personal: refused, and nothing lands on disk.
    let e = b
        .put("민원/2026/c-1.json", b"{}".to_vec())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    assert!(e.message().contains("prefix rule \"민원/\""), "{e}");
    // Metadata classification: sensitive only with encryption in domestic-csap.
    let e = b
        .put_with(
            "x/report.pdf",
            b"%PDF".to_vec(),
            &PutOptions::default().metadata("classification", "sensitive"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.message().contains("client-side encryption"), "{e}");
    // Streaming writes are checked too (a writer opens lazily: the refusal comes at the
    // first request it makes, and nothing is stored).
    let streamed = async {
        let mut w = b.writer("민원/big.bin", &PutOptions::default()).await?;
        w.write(&[7u8; 1024]).await?;
        w.finish().await.map(|_| ())
    }
    .await;
    assert_eq!(streamed.unwrap_err().kind(), ErrorKind::PolicyViolation);
    assert!(b.head("민원/big.bin").await.is_err());
    // A copy into a personal prefix is refused.
    let e = b
        .copy("공지/notice.txt", "민원/copy.txt")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    let files: Vec<String> = files_under(&store)
        .into_iter()
        .filter(|f| !f.contains(".gureum-meta"))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "only the allowed object was written: {files:?}"
    );
    // Reads are not refused.
    assert_eq!(&b.get("공지/notice.txt").await.unwrap()[..], b"hello");
}

#[tokio::test]
async fn the_policy_zone_override_and_queues() {
    let d = tempfile::tempdir().unwrap();
    let pf = policy_file(d.path());
    // The policy says file:///city... is on-prem even though the URL claims foreign.
    let city = d.path().join("city");
    std::fs::create_dir_all(&city).unwrap();
    let placement = check_destination(
        &gureum::registry(),
        Service::Storage,
        &format!("file:///city/x?zone=foreign&policy={pf}"),
        Some("health"),
    )
    .unwrap();
    assert_eq!(placement.zone(), gureum::Zone::OnPrem);
    // Per-object checks for a sync: the prefix rule applies.
    let e = check_destination(
        &gureum::registry(),
        Service::Storage,
        &format!("file://{}?zone=foreign&policy={pf}", d.path().display()),
        Some("public"),
    )
    .unwrap()
    .check_object("민원/a", &Default::default())
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    // Encryption named in the URL counts for encrypted_zones.
    assert!(check_destination(
        &gureum::registry(),
        Service::Storage,
        &format!("file:///d?zone=domestic-csap&policy={pf}&encrypt=keyfile:///k"),
        Some("sensitive"),
    )
    .is_ok());

    // Queues: a class refused in the zone, and the classifying attribute per message.
    let qdb = d.path().join("q.db");
    let e = gureum::open_queue(&format!(
        "sqlite://{}?queue=jobs&zone=foreign&class=personal",
        qdb.display()
    ))
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    let q = gureum::open_queue(&format!(
        "sqlite://{}?queue=jobs&zone=domestic-csap&class=internal",
        qdb.display()
    ))
    .await
    .unwrap();
    assert_eq!(q.info().zone, gureum::Zone::DomesticCsap);
    q.send(gureum::Message::new(&b"ok"[..])).await.unwrap();
    let e = q
        .send(gureum::Message::new(&b"no"[..]).attribute("classification", "personal"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert_eq!(q.depth().await.unwrap(), 1);
}

#[test]
fn the_default_policy_is_safe_and_files_extend_it() {
    let p = Policy::default();
    let h = gureum::layers::policy::ClassSource::Handle;
    for class in ["personal", "sensitive"] {
        assert!(p.check(class, gureum::Zone::OnPrem, false, &h, "r").is_ok());
        for z in [gureum::Zone::DomesticCsap, gureum::Zone::Foreign] {
            assert!(p.check(class, z, true, &h, "r").is_err(), "{class} {z}");
        }
    }
    assert!(p
        .check("public", gureum::Zone::Foreign, false, &h, "r")
        .is_ok());
    // A file that names only a new class keeps the defaults.
    let f = Policy::parse("[classes]\nhealth = { zones = [\"on-prem\"] }\n", "t").unwrap();
    assert!(f
        .check("personal", gureum::Zone::Foreign, false, &h, "r")
        .is_err());
    assert!(f.class_rule("health").is_some());
    // Typos are errors, not silently ignored rules.
    assert!(Policy::parse("[clases]\n", "t").is_err());
    assert!(Policy::parse("[[prefix]]\nprefix = \"a/\"\nclass = \"nope\"\n", "t").is_err());
    assert!(Policy::parse("[zones]\n\"s3\" = \"mars\"\n", "t").is_err());
}
