//! `gureum compute create|start|stop|reboot|terminate|wait|export|import`: the instance
//! lifecycle, and moving instances between clouds through a JSON inventory
//! (`gureum_migrate::inventory`).

use crate::args::parse_kv;
use crate::location::redact;
use crate::output::{to_json, Out};
use clap::Args;
use gureum::{Error, ErrorKind, Instance, InstanceSpec, InstanceState, Result, Size, SizeSpec};
use gureum_migrate::inventory::{self, ExportOptions, ImportOptions, ImportStatus, Inventory};
use std::time::Duration;

/// `gureum compute create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Compute URL.
    pub url: String,
    /// Instance name.
    #[arg(long)]
    pub name: String,
    /// At least this many vCPUs (portable size; the smallest provider size that fits).
    #[arg(long, default_value_t = 1, conflicts_with = "size_id")]
    pub vcpus: u32,
    /// At least this much memory in GiB (default: 1 GiB per vCPU).
    #[arg(long, conflicts_with = "size_id")]
    pub memory_gib: Option<u64>,
    /// The provider's own size id instead (`t3.micro`, a Nova flavor id, ...).
    #[arg(long)]
    pub size_id: Option<String>,
    /// Image: a portable alias (`ubuntu-22.04`) or the provider's image id.
    #[arg(long, default_value = "ubuntu-22.04")]
    pub image: String,
    /// Tag `NAME=VALUE` (repeatable).
    #[arg(long = "tag", value_parser = parse_kv)]
    pub tags: Vec<(String, String)>,
    /// File whose contents become the user data (cloud-init).
    #[arg(long)]
    pub user_data_file: Option<String>,
    /// Idempotency token: running the same create again returns the same instance.
    #[arg(long)]
    pub token: Option<String>,
    /// Wait until the instance runs (seconds; 0 = do not wait).
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
}

/// `gureum compute start|stop|reboot|terminate`.
#[derive(Debug, Args)]
pub struct IdsArgs {
    /// Compute URL.
    pub url: String,
    /// Instance ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `gureum compute wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Compute URL.
    pub url: String,
    /// Instance id.
    pub id: String,
    /// The state to wait for: running, stopped or terminated.
    #[arg(long, default_value = "running")]
    pub state: String,
    /// Give up after this many seconds (exit code 7, timeout).
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// `gureum compute export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Compute URL.
    pub url: String,
    /// Only instances with this tag `NAME=VALUE` (repeatable).
    #[arg(long = "tag", value_parser = parse_kv)]
    pub tags: Vec<(String, String)>,
    /// Write the inventory to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

/// `gureum compute import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Inventory file written by `gureum compute export` (`-` for standard input).
    pub inventory: String,
    /// Destination compute URL.
    pub dst: String,
    /// Map and report only; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Leave instances that were stopped at the source running.
    #[arg(long)]
    pub no_restore_stopped: bool,
    /// Seconds to wait for a created instance to run before stopping it again.
    #[arg(long, default_value_t = 300)]
    pub wait: u64,
}

fn parse_state(s: &str) -> Result<InstanceState> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "running" => InstanceState::Running,
        "stopped" => InstanceState::Stopped,
        "terminated" => InstanceState::Terminated,
        other => {
            return Err(Error::invalid(format!(
                "--state {other:?}: expected running, stopped or terminated"
            )))
        }
    })
}

fn print_instance(out: &Out, i: &Instance) -> Result<()> {
    if out.json {
        out.json_line(&to_json(i))
    } else {
        out.line(format!(
            "{}  {}  {}  {}  {}",
            i.id,
            i.name,
            i.state.as_str(),
            i.size.as_deref().unwrap_or("-"),
            i.image.as_deref().unwrap_or("-")
        ))
    }
}

/// Run `gureum compute create`.
pub async fn create(a: CreateArgs, out: &Out) -> Result<()> {
    let c = gureum::open_compute(&a.url).await?;
    let size = match a.size_id {
        Some(id) => SizeSpec::Native(id),
        None => {
            if a.vcpus == 0 {
                return Err(Error::invalid("--vcpus must be at least 1"));
            }
            let s = Size::vcpus(a.vcpus);
            SizeSpec::Portable(match a.memory_gib {
                Some(g) => s.memory_gib(g),
                None => s,
            })
        }
    };
    let mut spec = InstanceSpec::new(a.name).size(size).image(a.image);
    for (k, v) in a.tags {
        spec = spec.tag(k, v);
    }
    if let Some(f) = &a.user_data_file {
        let d = tokio::fs::read(f)
            .await
            .map_err(|e| Error::from(e).context_message(format!("reading {f}")))?;
        spec = spec.user_data(d);
    }
    if let Some(t) = a.token {
        spec = spec.idempotency_token(t);
    }
    let mut i = c.create(spec).await?;
    if a.wait > 0 {
        i = c
            .wait_until(&i.id, InstanceState::Running, Duration::from_secs(a.wait))
            .await?;
    }
    print_instance(out, &i)
}

/// The lifecycle verbs that take ids.
#[derive(Debug, Clone, Copy)]
pub enum Verb {
    /// Start.
    Start,
    /// Stop.
    Stop,
    /// Reboot.
    Reboot,
    /// Terminate.
    Terminate,
}

/// Run `gureum compute start|stop|reboot|terminate` on every id; the first failure is the
/// exit status, but every id is tried.
pub async fn lifecycle(verb: Verb, a: IdsArgs, out: &Out) -> Result<()> {
    let c = gureum::open_compute(&a.url).await?;
    let mut first_err = None;
    for id in &a.ids {
        let r = match verb {
            Verb::Start => c.start(id).await,
            Verb::Stop => c.stop(id).await,
            Verb::Reboot => c.reboot(id).await,
            Verb::Terminate => c.terminate(id).await,
        };
        let name = format!("{verb:?}").to_lowercase();
        match r {
            Ok(()) if out.json => out.json_line(&serde_json::json!({"id": id, name: "ok"}))?,
            Ok(()) => out.line(format!("{id}  {name}: ok"))?,
            Err(e) => {
                eprintln!("error[{}]: {id}: {e}", e.kind());
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Run `gureum compute wait`.
pub async fn wait(a: WaitArgs, out: &Out) -> Result<()> {
    let state = parse_state(&a.state)?;
    let c = gureum::open_compute(&a.url).await?;
    let i = c
        .wait_until(&a.id, state, Duration::from_secs(a.timeout))
        .await?;
    print_instance(out, &i)
}

/// Run `gureum compute export`.
pub async fn export(a: ExportArgs, out: &Out) -> Result<()> {
    let c = gureum::open_compute(&a.url).await?;
    let inv = inventory::export(
        &c,
        &ExportOptions {
            tags: a.tags.into_iter().collect(),
            source: Some(redact(&a.url)),
        },
    )
    .await?;
    let text = serde_json::to_string_pretty(&inv)
        .map_err(|e| Error::new(ErrorKind::Other, format!("encoding the inventory: {e}")))?;
    match a.output {
        Some(path) => {
            tokio::fs::write(&path, format!("{text}\n"))
                .await
                .map_err(|e| Error::from(e).context_message(format!("writing {path}")))?;
            if !out.json {
                eprintln!("{} instances exported to {path}", inv.instances.len());
            }
            Ok(())
        }
        None => out.line(text),
    }
}

/// Run `gureum compute import`.
pub async fn import(a: ImportArgs, out: &Out) -> Result<()> {
    let text = if a.inventory == "-" {
        use tokio::io::AsyncReadExt;
        let mut s = String::new();
        tokio::io::stdin().read_to_string(&mut s).await?;
        s
    } else {
        tokio::fs::read_to_string(&a.inventory)
            .await
            .map_err(|e| Error::from(e).context_message(format!("reading {}", a.inventory)))?
    };
    let inv: Inventory = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(format!(
            "{} is not a gureum compute inventory: {e}",
            a.inventory
        ))
    })?;
    let c = gureum::open_compute(&a.dst).await?;
    let opts = ImportOptions {
        dry_run: a.dry_run,
        restore_stopped: !a.no_restore_stopped,
        wait: Duration::from_secs(a.wait),
        ..Default::default()
    };
    let report = inventory::import(&inv, &c, &opts).await?;
    for e in &report.entries {
        if out.json {
            out.json_line(&to_json(e))?;
            continue;
        }
        let what = match &e.status {
            ImportStatus::Created { id, size, image } => {
                format!("created {id} (size {size}, image {image})")
            }
            ImportStatus::Planned { size, image } => {
                format!("would create (size {size}, image {image})")
            }
            ImportStatus::Unmapped { reason } => format!("NOT MAPPED: {reason}"),
            ImportStatus::Failed { kind, error } => format!("FAILED [{kind}]: {error}"),
        };
        out.line(format!("{}  {}  {what}", e.source_id, e.name))?;
        for w in &e.warnings {
            out.line(format!("    warning: {w}"))?;
        }
    }
    match report.problems() {
        0 => Ok(()),
        n => Err(Error::new(
            ErrorKind::Other,
            format!(
                "{n} of {} instances were not imported (see above)",
                report.entries.len()
            ),
        )),
    }
}
