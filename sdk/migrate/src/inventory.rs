//! Compute inventory: export instances to JSON, recreate them on another cloud.
//!
//! [`export`] records, per instance, what a move needs and nothing provider-internal that a
//! destination could not use: the name, the portable size (vCPUs and memory of the source's
//! flavor), the image (the portable alias when the source maps one, and the provider's own
//! name), tags, state and user data. [`import`] recreates each instance through the
//! destination's portable size and image mapping (the smallest size with at least the same
//! vCPUs and memory; the image by alias, else by name) with an idempotency token derived from
//! the source instance, so importing the same inventory twice creates nothing new. What cannot
//! be mapped is reported per instance, never silently approximated.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use gureum_migrate::inventory::{export, import, ImportOptions, ImportStatus};
//! # let a = tempfile::tempdir().unwrap();
//! # let b = tempfile::tempdir().unwrap();
//! # let reg = gureum::registry();
//! let src = reg.open_compute(Some(&format!("local://{}", a.path().display()))).await.unwrap();
//! let dst = reg.open_compute(Some(&format!("local://{}", b.path().display()))).await.unwrap();
//! # let i = src.create(gureum_core::InstanceSpec::new("ocr-1").image("idle")).await.unwrap();
//! let inv = export(&src, &Default::default()).await.unwrap();
//! let report = import(&inv, &dst, &ImportOptions::default()).await.unwrap();
//! assert!(matches!(report.entries[0].status, ImportStatus::Created { .. }));
//! # for c in [&src, &dst] { for i in c.list().await.unwrap() { c.terminate(&i.id).await.unwrap(); } }
//! # });
//! ```

use base64::Engine;
use gureum_core::compute::{resolve_image, resolve_size};
use gureum_core::{
    Compute, Error, ErrorKind, ImageInfo, InstanceSpec, InstanceState, Result, Size, SizeInfo,
    SizeSpec,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// The format tag written into every inventory (checked on import).
///
/// ```
/// use gureum_migrate::inventory::FORMAT;
/// assert_eq!(FORMAT, "gureum-compute-inventory/1");
/// ```
pub const FORMAT: &str = "gureum-compute-inventory/1";

/// A compute inventory: what `gureum compute export` writes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_migrate::inventory::{export, ExportOptions, Inventory};
/// let tmp = tempfile::tempdir()?;
/// let compute = gureum::open_compute(&format!("local://{}", tmp.path().display())).await?;
/// compute.create(gureum_core::InstanceSpec::new("ocr-1").image("idle").tag("app", "ocr")).await?;
/// let inv: Inventory = export(&compute, &ExportOptions::default()).await?;
/// // Written as JSON by `gureum compute export`.
/// let json = serde_json::to_string(&inv).unwrap();
/// let back: Inventory = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.instances[0].name, "ocr-1");
/// # for vm in compute.list().await? { compute.terminate(&vm.id).await?; }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Always [`FORMAT`].
    pub format: String,
    /// Where it was exported from (a URL with secrets redacted, or a label): part of every
    /// idempotency token, so two different sources never collide.
    pub source: String,
    /// When.
    pub exported_at: chrono::DateTime<chrono::Utc>,
    /// The instances.
    pub instances: Vec<InventoryInstance>,
}

/// One instance in an [`Inventory`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_migrate::inventory::{export, ExportOptions};
/// let tmp = tempfile::tempdir()?;
/// let compute = gureum::open_compute(&format!("local://{}", tmp.path().display())).await?;
/// compute.create(gureum_core::InstanceSpec::new("w").image("idle").tag("fleet", "nightly")).await?;
/// let i = &export(&compute, &ExportOptions::default()).await?.instances[0];
/// assert_eq!((i.name.as_str(), i.tags["fleet"].as_str()), ("w", "nightly"));
/// assert!(i.size.is_some() && i.image.is_some());
/// # for vm in compute.list().await? { compute.terminate(&vm.id).await?; }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryInstance {
    /// The source's instance id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Portable state at export.
    pub state: InstanceState,
    /// The source flavor and its resources (None when the source did not report one).
    pub size: Option<InventorySize>,
    /// The source image (None when the source did not report one).
    pub image: Option<InventoryImage>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// User data, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data_base64: Option<String>,
}

/// A size in an inventory: the source's flavor id and, when known, its resources.
///
/// ```
/// use gureum_migrate::inventory::InventorySize;
/// let s: InventorySize = serde_json::from_str(r#"{"id":"t3.small","vcpus":2,"memory_mib":2048}"#).unwrap();
/// assert_eq!((s.vcpus, s.memory_mib), (Some(2), Some(2048)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySize {
    /// The source's flavor / instance type id.
    pub id: String,
    /// vCPUs (None when the source does not list this flavor).
    pub vcpus: Option<u32>,
    /// Memory in MiB.
    pub memory_mib: Option<u64>,
}

/// An image in an inventory.
///
/// ```
/// use gureum_migrate::inventory::InventoryImage;
/// let i: InventoryImage = serde_json::from_str(r#"{"id":"ami-0abc","name":null,"alias":"ubuntu-22.04"}"#).unwrap();
/// assert_eq!(i.alias.as_deref(), Some("ubuntu-22.04")); // mapped by alias on import
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryImage {
    /// The source's image id.
    pub id: String,
    /// The source's image name, when listed.
    pub name: Option<String>,
    /// The portable alias (`ubuntu-22.04`), when the source maps one.
    pub alias: Option<String>,
}

/// What to export.
///
/// ```
/// use gureum_migrate::inventory::ExportOptions;
/// let opts = ExportOptions { tags: [("fleet".to_string(), "nightly".to_string())].into(), source: Some("ec2://ap-northeast-2".into()) };
/// assert_eq!(opts.tags.len(), 1);
/// assert!(ExportOptions::default().source.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only instances carrying all of these tags.
    pub tags: BTreeMap<String, String>,
    /// A label for [`Inventory::source`] (e.g. the redacted URL). Default: `"unnamed"`.
    pub source: Option<String>,
}

/// Export the instances of `compute` (terminated ones are left out).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::InstanceSpec;
/// use gureum_migrate::inventory::{export, ExportOptions, FORMAT};
/// let tmp = tempfile::tempdir()?;
/// let compute = gureum::open_compute(&format!("local://{}", tmp.path().display())).await?;
/// compute.create(InstanceSpec::new("a").image("idle").tag("fleet", "nightly")).await?;
/// compute.create(InstanceSpec::new("b").image("idle")).await?;
/// let opts = ExportOptions { tags: [("fleet".to_string(), "nightly".to_string())].into(), source: Some("local-test".into()) };
/// let inv = export(&compute, &opts).await?;
/// assert_eq!((inv.format.as_str(), inv.source.as_str(), inv.instances.len()), (FORMAT, "local-test", 1));
/// # for vm in compute.list().await? { compute.terminate(&vm.id).await?; }
/// # Ok(()) }
/// ```
pub async fn export(compute: &Compute, opts: &ExportOptions) -> Result<Inventory> {
    let sizes = compute.sizes().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "listing sizes failed; sizes are exported by id only");
        Vec::new()
    });
    let images = compute.images().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "listing images failed; images are exported by id only");
        Vec::new()
    });
    let caps = compute.capabilities();
    let mut out = Vec::new();
    for i in compute.list_by_tags(&opts.tags).await? {
        if matches!(
            i.state,
            InstanceState::Terminated | InstanceState::Terminating
        ) {
            continue;
        }
        let user_data = if caps.user_data {
            match compute.user_data(&i.id).await {
                Ok(d) => d,
                Err(e) if e.kind() == ErrorKind::Unsupported => None,
                Err(e) => return Err(e.context_message(format!("user data of {}", i.id))),
            }
        } else {
            None
        };
        out.push(InventoryInstance {
            size: i.size.as_ref().map(|id| size_entry(id, &sizes)),
            image: i.image.as_ref().map(|id| image_entry(id, &images)),
            id: i.id,
            name: i.name,
            state: i.state,
            tags: i.tags,
            user_data_base64: user_data
                .map(|d| base64::engine::general_purpose::STANDARD.encode(&d)),
        });
    }
    out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Ok(Inventory {
        format: FORMAT.to_string(),
        source: opts.source.clone().unwrap_or_else(|| "unnamed".into()),
        exported_at: chrono::Utc::now(),
        instances: out,
    })
}

fn size_entry(id: &str, sizes: &[SizeInfo]) -> InventorySize {
    let s = sizes.iter().find(|s| s.id == id);
    InventorySize {
        id: id.to_string(),
        vcpus: s.map(|s| s.vcpus),
        memory_mib: s.map(|s| s.memory_mib),
    }
}

fn image_entry(id: &str, images: &[ImageInfo]) -> InventoryImage {
    // Several entries may share an id (one per alias): prefer one with an alias.
    let matching: Vec<&ImageInfo> = images.iter().filter(|i| i.id == id).collect();
    let best = matching
        .iter()
        .find(|i| i.alias.is_some())
        .or(matching.first());
    InventoryImage {
        id: id.to_string(),
        name: best.map(|i| i.name.clone()),
        alias: best.and_then(|i| i.alias.clone()),
    }
}

/// How an import runs.
///
/// ```
/// use gureum_migrate::inventory::ImportOptions;
/// let o = ImportOptions::default();
/// assert!(!o.dry_run && o.restore_stopped);
/// assert_eq!(o.provenance_tag.as_deref(), Some("gureum-migrated-from"));
/// ```
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Only map and report; create nothing.
    pub dry_run: bool,
    /// Recreate instances that were stopped at export as stopped (create, wait until
    /// running, stop). Default true.
    pub restore_stopped: bool,
    /// How long to wait for a created instance to run before stopping it again.
    pub wait: Duration,
    /// A tag naming the source instance on every created one (`None`: no tag). Default
    /// `gureum-migrated-from`.
    pub provenance_tag: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dry_run: false,
            restore_stopped: true,
            wait: Duration::from_secs(300),
            provenance_tag: Some("gureum-migrated-from".into()),
        }
    }
}

/// What happened to one instance of the inventory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::InstanceSpec;
/// use gureum_migrate::inventory::{export, import, ExportOptions, ImportOptions, ImportStatus};
/// let tmp = tempfile::tempdir()?;
/// let src = gureum::open_compute(&format!("local://{}/a", tmp.path().display())).await?;
/// let dst = gureum::open_compute(&format!("local://{}/b", tmp.path().display())).await?;
/// src.create(InstanceSpec::new("w").image("idle")).await?;
/// let inv = export(&src, &ExportOptions::default()).await?;
/// let plan = import(&inv, &dst, &ImportOptions { dry_run: true, ..ImportOptions::default() }).await?;
/// assert!(matches!(plan.entries[0].status, ImportStatus::Planned { .. }));
/// assert!(dst.list().await?.is_empty()); // a dry run creates nothing
/// # for vm in src.list().await? { src.terminate(&vm.id).await?; }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ImportStatus {
    /// Created (or found: the idempotency token matched an earlier import).
    Created {
        /// The destination's instance id.
        id: String,
        /// The destination size chosen.
        size: String,
        /// The destination image chosen.
        image: String,
    },
    /// Mapped and would be created (dry run).
    Planned {
        /// The destination size chosen.
        size: String,
        /// The destination image chosen.
        image: String,
    },
    /// Could not be mapped to the destination: nothing created.
    Unmapped {
        /// Why.
        reason: String,
    },
    /// The destination refused or failed.
    Failed {
        /// The error's kind.
        kind: String,
        /// The error.
        error: String,
    },
}

/// One line of an [`ImportReport`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_migrate::inventory::{import, ImportOptions, ImportStatus, Inventory, InventoryImage, InventoryInstance, FORMAT};
/// let tmp = tempfile::tempdir()?;
/// let dst = gureum::open_compute(&format!("local://{}", tmp.path().display())).await?;
/// let inv = Inventory {
///     format: FORMAT.into(),
///     source: "doc".into(),
///     exported_at: chrono::Utc::now(),
///     instances: vec![InventoryInstance {
///         id: "i-1".into(),
///         name: "legacy".into(),
///         state: gureum_core::InstanceState::Running,
///         size: None,
///         image: Some(InventoryImage { id: "ami-0abc".into(), name: Some("windows-2012".into()), alias: None }),
///         tags: Default::default(),
///         user_data_base64: None,
///     }],
/// };
/// let report = import(&inv, &dst, &ImportOptions { dry_run: true, ..ImportOptions::default() }).await?;
/// let entry = &report.entries[0];
/// assert_eq!((entry.source_id.as_str(), entry.name.as_str()), ("i-1", "legacy"));
/// assert!(matches!(entry.status, ImportStatus::Unmapped { .. })); // no such image here
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportEntry {
    /// The source instance id.
    pub source_id: String,
    /// Its name.
    pub name: String,
    /// Outcome.
    #[serde(flatten)]
    pub status: ImportStatus,
    /// Things carried over only partly (e.g. user data the destination cannot take).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The result of [`import`].
///
/// ```
/// use gureum_migrate::inventory::ImportReport;
/// let r = ImportReport::default();
/// assert!(r.entries.is_empty());
/// assert_eq!(r.problems(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// One entry per inventory instance, in inventory order.
    pub entries: Vec<ImportEntry>,
}

impl ImportReport {
    /// Entries that were not created (unmapped or failed); a dry run counts planned ones as
    /// fine.
    ///
    /// ```
    /// use gureum_migrate::inventory::{ImportEntry, ImportReport, ImportStatus};
    /// let unmapped = ImportEntry { source_id: "i-1".into(), name: "a".into(), status: ImportStatus::Unmapped { reason: "no image".into() }, warnings: vec![] };
    /// let planned = ImportEntry { source_id: "i-2".into(), name: "b".into(), status: ImportStatus::Planned { size: "local.small".into(), image: "local-idle".into() }, warnings: vec![] };
    /// assert_eq!(ImportReport { entries: vec![unmapped, planned] }.problems(), 1);
    /// ```
    pub fn problems(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| {
                matches!(
                    e.status,
                    ImportStatus::Unmapped { .. } | ImportStatus::Failed { .. }
                )
            })
            .count()
    }
}

/// The idempotency token of one inventory instance: stable across runs, different for
/// every source and instance, at most 64 ASCII characters (EC2's `ClientToken` limit).
///
/// ```
/// use gureum_migrate::inventory::{import_token, Inventory, InventoryInstance, FORMAT};
/// let vm = InventoryInstance { id: "i-1".into(), name: "w".into(), state: gureum_core::InstanceState::Running, size: None, image: None, tags: Default::default(), user_data_base64: None };
/// let inv = Inventory { format: FORMAT.into(), source: "ec2://kr".into(), exported_at: chrono::Utc::now(), instances: vec![vm] };
/// let t = import_token(&inv, &inv.instances[0]);
/// assert!(t.starts_with("gureum-import-") && t.len() <= 64);
/// assert_eq!(t, import_token(&inv, &inv.instances[0])); // stable across runs
/// let other = Inventory { source: "nova://old".into(), ..inv.clone() };
/// assert_ne!(t, import_token(&other, &other.instances[0])); // differs per source
/// ```
pub fn import_token(inv: &Inventory, i: &InventoryInstance) -> String {
    let mut h = Sha256::new();
    h.update(inv.source.as_bytes());
    h.update([0]);
    h.update(i.id.as_bytes());
    format!("gureum-import-{}", &hex::encode(h.finalize())[..40])
}

/// Recreate the inventory's instances on `dst` (see the module docs).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::InstanceSpec;
/// use gureum_migrate::inventory::{export, import, ExportOptions, ImportOptions};
/// let tmp = tempfile::tempdir()?;
/// let src = gureum::open_compute(&format!("local://{}/a", tmp.path().display())).await?;
/// let dst = gureum::open_compute(&format!("local://{}/b", tmp.path().display())).await?;
/// src.create(InstanceSpec::new("batch-1").image("idle").tag("fleet", "nightly")).await?;
/// let inv = export(&src, &ExportOptions { source: Some("old-dc".into()), ..ExportOptions::default() }).await?;
/// let first = import(&inv, &dst, &ImportOptions::default()).await?;
/// assert_eq!(first.problems(), 0);
/// // A second import creates nothing new (idempotency tokens).
/// import(&inv, &dst, &ImportOptions::default()).await?;
/// assert_eq!(dst.list().await?.len(), 1);
/// # for c in [&src, &dst] { for vm in c.list().await? { c.terminate(&vm.id).await?; } }
/// # Ok(()) }
/// ```
pub async fn import(inv: &Inventory, dst: &Compute, opts: &ImportOptions) -> Result<ImportReport> {
    if inv.format != FORMAT {
        return Err(Error::invalid(format!(
            "not a gureum compute inventory: format {:?} (expected {FORMAT:?})",
            inv.format
        )));
    }
    let sizes = dst.sizes().await?;
    let images = dst.images().await?;
    let caps = dst.capabilities();
    let mut report = ImportReport::default();
    for i in &inv.instances {
        let mut warnings = Vec::new();
        let status = match map_one(i, &sizes, &images) {
            Err(reason) => ImportStatus::Unmapped { reason },
            Ok((size, image)) => {
                let mut spec = InstanceSpec::new(i.name.clone())
                    .size(SizeSpec::Native(size.id.clone()))
                    .image(image.id.clone());
                if caps.tags {
                    spec.tags = i.tags.clone();
                    if let Some(t) = &opts.provenance_tag {
                        spec.tags.insert(t.clone(), i.id.clone());
                    }
                } else if !i.tags.is_empty() {
                    warnings.push("the destination cannot hold tags: tags not carried over".into());
                }
                match &i.user_data_base64 {
                    Some(ud) if caps.user_data => {
                        match base64::engine::general_purpose::STANDARD.decode(ud) {
                            Ok(d) => spec.user_data = Some(d.into()),
                            Err(e) => {
                                report.entries.push(ImportEntry {
                                    source_id: i.id.clone(),
                                    name: i.name.clone(),
                                    status: ImportStatus::Unmapped {
                                        reason: format!("user_data_base64 is not base64: {e}"),
                                    },
                                    warnings,
                                });
                                continue;
                            }
                        }
                    }
                    Some(_) => warnings.push(
                        "the destination does not deliver user data: user data not carried over"
                            .into(),
                    ),
                    None => {}
                }
                if caps.idempotent_create {
                    spec.idempotency_token = Some(import_token(inv, i));
                } else {
                    warnings.push(
                        "the destination has no idempotent create: importing twice creates twice"
                            .into(),
                    );
                }
                if opts.dry_run {
                    ImportStatus::Planned {
                        size: size.id.clone(),
                        image: image.id.clone(),
                    }
                } else {
                    match create_one(dst, spec, i, opts, &mut warnings).await {
                        Ok(id) => ImportStatus::Created {
                            id,
                            size: size.id.clone(),
                            image: image.id.clone(),
                        },
                        Err(e) => ImportStatus::Failed {
                            kind: e.kind().to_string(),
                            error: e.to_string(),
                        },
                    }
                }
            }
        };
        report.entries.push(ImportEntry {
            source_id: i.id.clone(),
            name: i.name.clone(),
            status,
            warnings,
        });
    }
    Ok(report)
}

/// The destination size and image for one instance, or why there is none.
fn map_one(
    i: &InventoryInstance,
    sizes: &[SizeInfo],
    images: &[ImageInfo],
) -> std::result::Result<(SizeInfo, ImageInfo), String> {
    let size = match &i.size {
        Some(InventorySize {
            vcpus: Some(v),
            memory_mib: Some(m),
            ..
        }) => resolve_size(
            &SizeSpec::Portable(Size {
                vcpus: *v,
                memory_mib: *m,
            }),
            sizes,
        )
        .map_err(|e| format!("size {v} vCPU / {m} MiB: {}", e.message()))?,
        Some(s) => {
            return Err(format!(
                "size {:?}: the source did not list its vCPUs and memory, so it has no portable equivalent",
                s.id
            ))
        }
        None => return Err("the source reported no size".into()),
    };
    let image = match &i.image {
        Some(img) => {
            let candidates = img.alias.iter().chain(img.name.iter());
            let mut found = None;
            for c in candidates {
                if let Ok(x) = resolve_image(c, images) {
                    found = Some(x);
                    break;
                }
            }
            found.ok_or_else(|| {
                format!(
                    "image {:?} (alias {:?}, name {:?}) has no match at the destination",
                    img.id, img.alias, img.name
                )
            })?
        }
        None => return Err("the source reported no image".into()),
    };
    Ok((size, image))
}

async fn create_one(
    dst: &Compute,
    spec: InstanceSpec,
    i: &InventoryInstance,
    opts: &ImportOptions,
    warnings: &mut Vec<String>,
) -> Result<String> {
    let created = dst.create(spec).await?;
    if opts.restore_stopped && i.state == InstanceState::Stopped {
        if dst.capabilities().stop_start {
            if created.state != InstanceState::Stopped {
                dst.wait_until(&created.id, InstanceState::Running, opts.wait)
                    .await?;
                dst.stop(&created.id).await?;
            }
        } else {
            warnings.push(
                "stopped at the source, but the destination cannot stop instances: left running"
                    .into(),
            );
        }
    }
    Ok(created.id)
}
