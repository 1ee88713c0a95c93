//! The compute suite against a small in-test compute driver (correct), and against broken
//! variants of it, to prove the cases can fail.

use gureum_conformance::{compute, Options, Status};
use gureum_core::compute::{resolve_image, resolve_size};
use gureum_core::{
    async_trait, Bytes, Compute, ComputeCapabilities, ComputeDriver, Error, ImageInfo, Instance,
    InstanceSpec, InstanceState, ListFilter, Result, SizeInfo,
};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// Create ignores the idempotency token.
    ignore_token: bool,
    /// Stop never finishes (the instance stays Stopping).
    stuck_stopping: bool,
    /// Accept unknown images (falls back to the first one).
    accept_any_image: bool,
    /// Forget user data.
    drop_user_data: bool,
}

#[derive(Debug, Clone)]
struct Vm {
    inst: Instance,
    /// (state reached at, when)
    target: InstanceState,
    ready_at: Instant,
    user_data: Option<Bytes>,
}

#[derive(Debug, Default)]
struct FakeCompute {
    vms: Mutex<HashMap<String, Vm>>,
    tokens: Mutex<HashMap<String, String>>,
    next: Mutex<u64>,
    faults: Faults,
}

const STEP: Duration = Duration::from_millis(60);

fn sizes() -> Vec<SizeInfo> {
    vec![
        SizeInfo {
            id: "t.small".into(),
            vcpus: 1,
            memory_mib: 1024,
        },
        SizeInfo {
            id: "t.medium".into(),
            vcpus: 2,
            memory_mib: 4096,
        },
    ]
}
fn images() -> Vec<ImageInfo> {
    vec![
        ImageInfo {
            id: "img-1".into(),
            name: "Ubuntu 22.04".into(),
            alias: Some("ubuntu-22.04".into()),
        },
        ImageInfo {
            id: "img-2".into(),
            name: "Rocky 9".into(),
            alias: Some("rocky-9".into()),
        },
    ]
}

impl FakeCompute {
    fn settle(vm: &mut Vm) {
        if vm.inst.state != vm.target && Instant::now() >= vm.ready_at {
            vm.inst.state = vm.target;
        }
        vm.inst.provider_state = vm.inst.state.as_str().to_uppercase();
    }
    fn transition(
        &self,
        id: &str,
        via: InstanceState,
        to: InstanceState,
        from: &[InstanceState],
    ) -> Result<()> {
        let mut vms = self.vms.lock().unwrap();
        let vm = vms
            .get_mut(id)
            .ok_or_else(|| Error::not_found(format!("instance {id}")))?;
        Self::settle(vm);
        if !from.contains(&vm.inst.state) {
            return Err(Error::new(
                gureum_core::ErrorKind::PreconditionFailed,
                format!("instance {id} is {}", vm.inst.state),
            ));
        }
        vm.inst.state = via;
        vm.target = to;
        vm.ready_at = Instant::now() + STEP;
        Ok(())
    }
}

#[async_trait]
impl ComputeDriver for FakeCompute {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities::default()
    }
    async fn create(&self, spec: &InstanceSpec) -> Result<Instance> {
        if spec.name.is_empty() {
            return Err(Error::invalid("empty name"));
        }
        let size = resolve_size(&spec.size, &sizes())?;
        let image = match resolve_image(&spec.image, &images()) {
            Ok(i) => i,
            Err(_) if self.faults.accept_any_image => images()[0].clone(),
            Err(e) => return Err(e),
        };
        if let (Some(t), false) = (&spec.idempotency_token, self.faults.ignore_token) {
            let known = self.tokens.lock().unwrap().get(t).cloned();
            if let Some(id) = known {
                return self.get(&id).await;
            }
        }
        let id = {
            let mut n = self.next.lock().unwrap();
            *n += 1;
            format!("i-{:08x}", *n)
        };
        let inst = Instance {
            id: id.clone(),
            name: spec.name.clone(),
            state: InstanceState::Pending,
            provider_state: "PENDING".into(),
            size: Some(size.id),
            image: Some(image.id),
            tags: spec.tags.clone(),
            addresses: vec!["10.0.0.1".into()],
            created_at: Some(chrono::Utc::now()),
        };
        let vm = Vm {
            inst: inst.clone(),
            target: InstanceState::Running,
            ready_at: Instant::now() + STEP,
            user_data: if self.faults.drop_user_data {
                None
            } else {
                spec.user_data.clone()
            },
        };
        self.vms.lock().unwrap().insert(id.clone(), vm);
        if let Some(t) = &spec.idempotency_token {
            self.tokens.lock().unwrap().insert(t.clone(), id);
        }
        Ok(inst)
    }
    async fn get(&self, id: &str) -> Result<Instance> {
        let mut vms = self.vms.lock().unwrap();
        let vm = vms
            .get_mut(id)
            .ok_or_else(|| Error::not_found(format!("instance {id}")))?;
        Self::settle(vm);
        Ok(vm.inst.clone())
    }
    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        let mut vms = self.vms.lock().unwrap();
        let mut out = Vec::new();
        for vm in vms.values_mut() {
            Self::settle(vm);
            if !filter.include_terminated && vm.inst.state == InstanceState::Terminated {
                continue;
            }
            if filter
                .tags
                .iter()
                .all(|(k, v)| vm.inst.tags.get(k) == Some(v))
            {
                out.push(vm.inst.clone());
            }
        }
        Ok(out)
    }
    async fn start(&self, id: &str) -> Result<()> {
        self.transition(
            id,
            InstanceState::Pending,
            InstanceState::Running,
            &[InstanceState::Stopped],
        )
    }
    async fn stop(&self, id: &str) -> Result<()> {
        let to = if self.faults.stuck_stopping {
            InstanceState::Stopping
        } else {
            InstanceState::Stopped
        };
        self.transition(id, InstanceState::Stopping, to, &[InstanceState::Running])
    }
    async fn reboot(&self, id: &str) -> Result<()> {
        self.transition(
            id,
            InstanceState::Pending,
            InstanceState::Running,
            &[InstanceState::Running],
        )
    }
    async fn terminate(&self, id: &str) -> Result<()> {
        let mut vms = self.vms.lock().unwrap();
        let Some(vm) = vms.get_mut(id) else {
            return Ok(());
        };
        Self::settle(vm);
        if matches!(
            vm.inst.state,
            InstanceState::Terminated | InstanceState::Terminating
        ) {
            return Ok(());
        }
        vm.inst.state = InstanceState::Terminating;
        vm.target = InstanceState::Terminated;
        vm.ready_at = Instant::now() + STEP;
        Ok(())
    }
    async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        Ok(sizes())
    }
    async fn images(&self) -> Result<Vec<ImageInfo>> {
        Ok(images())
    }
    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        let vms = self.vms.lock().unwrap();
        let vm = vms
            .get(id)
            .ok_or_else(|| Error::not_found(format!("instance {id}")))?;
        Ok(vm.user_data.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn fake(faults: Faults) -> (Compute, Arc<FakeCompute>) {
    let d = Arc::new(FakeCompute {
        faults,
        ..Default::default()
    });
    (
        Compute::new(d.clone()).with_poll_interval(Duration::from_millis(20)),
        d,
    )
}

fn opts() -> Options {
    Options {
        compute_timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_double_passes_everything() {
    let (c, d) = fake(Faults::default());
    let report = compute::run(&c, &opts().backend("in-test compute")).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
    assert!(report.cases().count() >= 25);
    // Every instance the run created is terminated.
    let alive: Vec<_> = d
        .list(&ListFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(alive.is_empty(), "{alive:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_that_ignores_the_token_fails() {
    let (c, _) = fake(Faults {
        ignore_token: true,
        ..Default::default()
    });
    let report = compute::run(&c, &opts().only("idempotent_create")).await;
    println!("{}", report.to_text());
    assert_eq!(
        report.status("compute.idempotent_create_same_token"),
        Some(Status::Failed)
    );
    // And cleanup still terminates both instances.
    assert_eq!(report.status("compute.cleanup"), Some(Status::Passed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_faults_are_caught() {
    let (c, _) = fake(Faults {
        stuck_stopping: true,
        accept_any_image: true,
        drop_user_data: true,
        ..Default::default()
    });
    let o = Options {
        compute_timeout: Duration::from_millis(800),
        ..opts()
    }
    .only("stop_reaches_stopped,invalid_image,user_data_delivered");
    let report = compute::run(&c, &o).await;
    println!("{}", report.to_text());
    for case in [
        "compute.stop_reaches_stopped",
        "compute.invalid_image_rejected",
        "compute.user_data_delivered",
    ] {
        assert_eq!(report.status(case), Some(Status::Failed), "{case}");
    }
}
