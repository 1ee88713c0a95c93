//! Compute inventory export/import: local → EC2 (moto) and EC2 (moto) → Nova (spec
//! simulator). EC2 cases skip without moto, and fail when GUREUM_REQUIRE_EMULATORS=1.

use gureum::{Compute, InstanceSpec, InstanceState, Size};
use gureum_migrate::inventory::{
    export, import, ExportOptions, ImportOptions, ImportStatus, Inventory, InventoryImage,
    InventoryInstance, InventorySize,
};
use gureum_testkit::env::{unique, var};
use gureum_testkit::sim::openstack::{SimConfig, Simulator};
use std::collections::BTreeMap;
use std::time::Duration;

async fn open(url: &str) -> Compute {
    gureum::registry().open_compute(Some(url)).await.unwrap()
}

fn ec2_url(ep: &str) -> String {
    format!("ec2://us-east-1?endpoint={ep}&allow_http=true&image.ubuntu-22.04=ami-12c6146b")
}

fn tags(run: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("run".to_string(), run.to_string())])
}

async fn cleanup(c: &Compute, run: &str) {
    for i in c.list_by_tags(&tags(run)).await.unwrap_or_default() {
        let _ = c.terminate(&i.id).await;
    }
}

#[tokio::test]
async fn export_import_local_to_ec2_idempotent_and_state_kept() {
    let Some(ep) = var("AWS_ENDPOINT_URL") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let local = open(&format!("local://{}", d.path().display())).await;
    let run = unique("inv");
    let a = local
        .create(
            InstanceSpec::new("ocr-1")
                .size(Size::vcpus(1))
                .image("ubuntu-22.04")
                .tag("run", &run)
                .tag("부서", "민원과")
                .user_data(b"#cloud-config\nruncmd: [ocr]\n".to_vec()),
        )
        .await
        .unwrap();
    let b = local
        .create(
            InstanceSpec::new("ocr-2")
                .size(Size::vcpus(2).memory_gib(4))
                .image("ubuntu-22.04")
                .tag("run", &run),
        )
        .await
        .unwrap();
    local
        .wait_until(&b.id, InstanceState::Running, Duration::from_secs(20))
        .await
        .unwrap();
    local.stop(&b.id).await.unwrap();
    local
        .wait_until(&b.id, InstanceState::Stopped, Duration::from_secs(20))
        .await
        .unwrap();

    let inv = export(
        &local,
        &ExportOptions {
            tags: tags(&run),
            source: Some("local-test".into()),
        },
    )
    .await
    .unwrap();
    // The inventory is plain JSON and survives a round trip through text.
    let inv: Inventory =
        serde_json::from_str(&serde_json::to_string_pretty(&inv).unwrap()).unwrap();
    assert_eq!(inv.instances.len(), 2);
    let e1 = inv.instances.iter().find(|i| i.id == a.id).unwrap();
    assert_eq!(e1.size.as_ref().unwrap().vcpus, Some(1));
    assert_eq!(
        e1.image.as_ref().unwrap().alias.as_deref(),
        Some("ubuntu-22.04")
    );
    assert!(e1.user_data_base64.is_some());
    let e2 = inv.instances.iter().find(|i| i.id == b.id).unwrap();
    assert_eq!(e2.state, InstanceState::Stopped);
    assert_eq!(e2.size.as_ref().unwrap().memory_mib, Some(4096));

    let ec2 = open(&ec2_url(&ep)).await;
    let opts = ImportOptions {
        wait: Duration::from_secs(60),
        ..Default::default()
    };
    let dry = import(
        &inv,
        &ec2,
        &ImportOptions {
            dry_run: true,
            ..opts.clone()
        },
    )
    .await
    .unwrap();
    assert!(
        dry.entries
            .iter()
            .all(|e| matches!(e.status, ImportStatus::Planned { .. })),
        "{dry:?}"
    );
    assert!(
        ec2.list_by_tags(&tags(&run)).await.unwrap().is_empty(),
        "a dry run created something"
    );

    let r = import(&inv, &ec2, &opts).await.unwrap();
    assert_eq!(r.problems(), 0, "{r:?}");
    let created: BTreeMap<String, String> = r
        .entries
        .iter()
        .map(|e| match &e.status {
            ImportStatus::Created { id, .. } => (e.source_id.clone(), id.clone()),
            s => panic!("{s:?}"),
        })
        .collect();
    let on_ec2 = ec2.list_by_tags(&tags(&run)).await.unwrap();
    assert_eq!(on_ec2.len(), 2, "{on_ec2:?}");
    let i1 = ec2.get(&created[&a.id]).await.unwrap();
    assert_eq!(i1.name, "ocr-1");
    assert_eq!(i1.tags.get("부서").map(String::as_str), Some("민원과"));
    assert_eq!(i1.tags.get("gureum-migrated-from"), Some(&a.id));
    assert_eq!(i1.image.as_deref(), Some("ami-12c6146b"));
    let ud = ec2.user_data(&i1.id).await.unwrap().unwrap();
    assert_eq!(&ud[..], b"#cloud-config\nruncmd: [ocr]\n");
    let i2 = ec2
        .wait_until(
            &created[&b.id],
            InstanceState::Stopped,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(i2.state, InstanceState::Stopped);

    // Importing again creates nothing new: same ids by idempotency token.
    let again = import(&inv, &ec2, &opts).await.unwrap();
    for e in &again.entries {
        match &e.status {
            ImportStatus::Created { id, .. } => assert_eq!(id, &created[&e.source_id]),
            s => panic!("{s:?}"),
        }
    }
    assert_eq!(ec2.list_by_tags(&tags(&run)).await.unwrap().len(), 2);

    cleanup(&ec2, &run).await;
    cleanup(&local, &run).await;
}

#[tokio::test]
async fn unmappable_entries_are_reported_not_approximated() {
    let d = tempfile::tempdir().unwrap();
    let dst = open(&format!("local://{}", d.path().display())).await;
    let inv = Inventory {
        format: gureum_migrate::inventory::FORMAT.into(),
        source: "hand-written".into(),
        exported_at: chrono::Utc::now(),
        instances: vec![
            InventoryInstance {
                id: "i-1".into(),
                name: "too-big".into(),
                state: InstanceState::Running,
                size: Some(InventorySize {
                    id: "x9.metal".into(),
                    vcpus: Some(512),
                    memory_mib: Some(4 << 20),
                }),
                image: Some(InventoryImage {
                    id: "ami-1".into(),
                    name: None,
                    alias: Some("ubuntu-22.04".into()),
                }),
                tags: BTreeMap::new(),
                user_data_base64: None,
            },
            InventoryInstance {
                id: "i-2".into(),
                name: "odd-image".into(),
                state: InstanceState::Running,
                size: Some(InventorySize {
                    id: "m1".into(),
                    vcpus: Some(1),
                    memory_mib: Some(1024),
                }),
                image: Some(InventoryImage {
                    id: "ami-2".into(),
                    name: Some("plan9-4th".into()),
                    alias: None,
                }),
                tags: BTreeMap::new(),
                user_data_base64: None,
            },
        ],
    };
    let r = import(&inv, &dst, &ImportOptions::default()).await.unwrap();
    assert_eq!(r.problems(), 2);
    assert!(
        matches!(&r.entries[0].status, ImportStatus::Unmapped { reason } if reason.contains("512 vCPU")),
        "{r:?}"
    );
    assert!(
        matches!(&r.entries[1].status, ImportStatus::Unmapped { reason } if reason.contains("plan9")),
        "{r:?}"
    );
    assert!(dst.list().await.unwrap().is_empty());
    let mut bad = inv.clone();
    bad.format = "something-else".into();
    assert_eq!(
        import(&bad, &dst, &ImportOptions::default())
            .await
            .unwrap_err()
            .kind(),
        gureum::ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn export_from_ec2_import_to_nova_simulator() {
    let Some(ep) = var("AWS_ENDPOINT_URL") else {
        return;
    };
    let ec2 = open(&ec2_url(&ep)).await;
    let run = unique("inv");
    let src = ec2
        .create(
            InstanceSpec::new("batch-1")
                .size(Size::vcpus(1))
                .image("ubuntu-22.04")
                .tag("run", &run),
        )
        .await
        .unwrap();
    ec2.wait_until(&src.id, InstanceState::Running, Duration::from_secs(60))
        .await
        .unwrap();
    let inv = export(
        &ec2,
        &ExportOptions {
            tags: tags(&run),
            source: Some("ec2-test".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(inv.instances.len(), 1);

    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let nova = open(&format!(
        "nova://?auth_url={}&username=ocr&password=ocr-pass&project_name=civic&user_domain_name=Default&project_domain_name=Default",
        sim.v3_auth_url()
    ))
    .await
    .with_poll_interval(Duration::from_millis(50));
    let r = import(&inv, &nova, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(r.problems(), 0, "{r:?}");
    let id = match &r.entries[0].status {
        ImportStatus::Created { id, .. } => id.clone(),
        s => panic!("{s:?}"),
    };
    let got = nova.get(&id).await.unwrap();
    assert_eq!(got.name, "batch-1");
    assert_eq!(got.tags.get("gureum-migrated-from"), Some(&src.id));
    let again = import(&inv, &nova, &ImportOptions::default())
        .await
        .unwrap();
    assert!(matches!(&again.entries[0].status, ImportStatus::Created { id: i, .. } if *i == id));
    assert_eq!(nova.list_by_tags(&tags(&run)).await.unwrap().len(), 1);
    cleanup(&ec2, &run).await;
}
