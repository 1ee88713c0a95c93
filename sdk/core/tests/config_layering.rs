//! Profile layering of `gureum.toml` (issue 19): an explicit URL does not read
//! `./gureum.toml`; service tables keep one service's parameters away from the others; a
//! service-specific parameter in the shared table is refused; a missing `GUREUM_PROFILE` is
//! an error; profile parameters layer under the URL query; unknown query parameters are
//! refused with the valid ones listed, profile parameters never are.
//!
//! One test (this file is its own process): it changes the working directory and the
//! environment, which are process-wide.

use gureum_core::config::{resolve_url, resolve_with, ConfigFile};
use gureum_core::registry::{Registry, Service, StorageOpener};
use gureum_core::storage::Bucket;
use gureum_core::{ErrorKind, ResourceUrl, Result};
use std::sync::{Arc, Mutex};

/// Opens an in-memory bucket and records the parameters it was given.
#[derive(Default)]
struct Recording {
    seen: Mutex<Vec<(Option<String>, Option<String>)>>,
}

#[async_trait::async_trait]
impl StorageOpener for Recording {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        let endpoint = url.param("endpoint").map(str::to_string);
        let region = url.param("region").map(str::to_string);
        self.seen.lock().unwrap().push((endpoint, region));
        Ok(Bucket::new(
            url.host(),
            Arc::new(object_store::memory::InMemory::new()),
        ))
    }
}

fn clear_env() {
    for k in [
        "GUREUM_CONFIG",
        "GUREUM_PROFILE",
        "GUREUM_STORAGE_URL",
        "GUREUM_QUEUE_URL",
        "GUREUM_COMPUTE_URL",
    ] {
        // SAFETY: this file holds a single test; nothing else reads the environment meanwhile.
        unsafe { std::env::remove_var(k) };
    }
}

#[tokio::test]
async fn profile_layering() {
    clear_env();
    let d = tempfile::tempdir().unwrap();
    std::env::set_current_dir(d.path()).unwrap();
    // SAFETY: single-test process (see the module docs).
    unsafe { std::env::set_var("XDG_CONFIG_HOME", d.path().join("xdg")) };

    // 1. A malformed ./gureum.toml does not break an open with an explicit URL ...
    std::fs::write("gureum.toml", "[profiles.default\nstorage = ").unwrap();
    let (u, p) = resolve_url(Service::Storage, Some("mem://explicit")).unwrap();
    assert_eq!(u, "mem://explicit");
    assert!(p.is_empty(), "{p:?}");
    // ... but it does when the file is what chooses the URL,
    let e = resolve_url(Service::Storage, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // ... and when a profile is asked for explicitly.
    unsafe { std::env::set_var("GUREUM_PROFILE", "default") };
    assert!(resolve_url(Service::Storage, Some("mem://explicit")).is_err());
    clear_env();

    // 2. Service tables: a storage endpoint never reaches the queue or compute URL.
    let cfg_path = d.path().join("profiles.toml");
    std::fs::write(
        &cfg_path,
        r#"
[profiles.default]
storage = "s3://archive"
queue = "sqs://jobs"
params = { region = "ap-northeast-2", timeout = "30s" }
storage_params = { endpoint = "http://127.0.0.1:9", region = "kr-storage" }
queue_params = { visibility = "60" }

[profiles.bad]
params = { endpoint = "http://127.0.0.1:9" }
"#,
    )
    .unwrap();
    unsafe { std::env::set_var("GUREUM_CONFIG", &cfg_path) };
    let (u, sp) = resolve_url(Service::Storage, None).unwrap();
    assert_eq!(u, "s3://archive");
    assert_eq!(sp["endpoint"], "http://127.0.0.1:9");
    assert_eq!(sp["region"], "kr-storage", "the service table wins");
    assert_eq!(sp["timeout"], "30s");
    let (u, qp) = resolve_url(Service::Queue, None).unwrap();
    assert_eq!(u, "sqs://jobs");
    assert!(
        !qp.contains_key("endpoint"),
        "storage endpoint leaked: {qp:?}"
    );
    assert_eq!(qp["region"], "ap-northeast-2");
    assert_eq!(qp["visibility"], "60");
    let (_, cp) = resolve_url(Service::Compute, Some("ec2://ap-northeast-2")).unwrap();
    assert!(
        !cp.contains_key("endpoint") && !cp.contains_key("visibility"),
        "{cp:?}"
    );

    // 3. A service-specific parameter in the shared table is refused, naming the fix.
    unsafe { std::env::set_var("GUREUM_PROFILE", "bad") };
    let e = resolve_url(Service::Queue, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("storage_params"), "{e}");

    // 4. A profile that does not exist is an error listing the profiles.
    unsafe { std::env::set_var("GUREUM_PROFILE", "nope") };
    let e = resolve_url(Service::Storage, None).unwrap_err();
    assert!(
        e.message().contains("nope") && e.message().contains("default"),
        "{e}"
    );
    clear_env();

    // 5. Through a registry: the query wins over the profile, profile parameters the opener
    //    does not read are not "unknown", a misspelt query parameter is.
    unsafe { std::env::set_var("GUREUM_CONFIG", &cfg_path) };
    let rec = Arc::new(Recording::default());
    let mut r = Registry::new();
    r.register_storage("s3", rec.clone());
    r.open_bucket(Some("s3://archive?region=us-east-1"))
        .await
        .unwrap();
    assert_eq!(
        rec.seen.lock().unwrap().last().unwrap(),
        &(
            Some("http://127.0.0.1:9".to_string()),
            Some("us-east-1".to_string())
        )
    );
    let e = r
        .open_bucket(Some("s3://archive?regoin=kr"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("\"regoin\""), "{e}");
    assert!(
        e.message().contains("region") && e.message().contains("endpoint"),
        "{e}"
    );
    clear_env();

    // 6. The same resolution from a parsed file, without the environment.
    let c = ConfigFile::parse(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    let (_, p) = resolve_with(Service::Queue, Some("sqs://other"), Some(&c)).unwrap();
    assert!(!p.contains_key("endpoint"));
    let (u, _) = resolve_with(Service::Storage, None, None).unwrap();
    assert!(u.starts_with("file://"), "{u}");
}
