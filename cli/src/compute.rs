//! `gureum compute list|sizes|images`; the lifecycle and inventory verbs are in
//! `compute_ops`.

use crate::args::ComputeCommand;
use crate::output::{to_json, Out};
use crate::table::Table;
use gureum::Result;

/// Run a compute subcommand.
pub async fn run(cmd: ComputeCommand, out: &Out) -> Result<()> {
    use crate::compute_ops::{self as ops, Verb};
    match cmd {
        ComputeCommand::Create(a) => ops::create(a, out).await,
        ComputeCommand::Start(a) => ops::lifecycle(Verb::Start, a, out).await,
        ComputeCommand::Stop(a) => ops::lifecycle(Verb::Stop, a, out).await,
        ComputeCommand::Reboot(a) => ops::lifecycle(Verb::Reboot, a, out).await,
        ComputeCommand::Terminate(a) => ops::lifecycle(Verb::Terminate, a, out).await,
        ComputeCommand::Wait(a) => ops::wait(a, out).await,
        ComputeCommand::Export(a) => ops::export(a, out).await,
        ComputeCommand::Import(a) => ops::import(a, out).await,
        ComputeCommand::List(a) => {
            let c = gureum::open_compute(&a.url).await?;
            let tags = a.tags.into_iter().collect();
            let list = c.list_by_tags(&tags).await?;
            let mut t = Table::new(["ID", "NAME", "STATE", "SIZE", "IMAGE", "ADDRESSES"]);
            for i in &list {
                if out.json {
                    out.json_line(&to_json(i))?;
                } else {
                    t.row([
                        i.id.clone(),
                        i.name.clone(),
                        i.state.as_str().to_string(),
                        i.size.clone().unwrap_or_else(|| "-".into()),
                        i.image.clone().unwrap_or_else(|| "-".into()),
                        i.addresses.join(","),
                    ]);
                }
            }
            if out.json {
                Ok(())
            } else {
                t.print(out)
            }
        }
        ComputeCommand::Sizes(a) => {
            let c = gureum::open_compute(&a.url).await?;
            let sizes = c.sizes().await?;
            let mut t = Table::new(["ID", "VCPUS", "MEMORY_MIB"]).right(1).right(2);
            for s in &sizes {
                if out.json {
                    out.json_line(&to_json(s))?;
                } else {
                    t.row([s.id.clone(), s.vcpus.to_string(), s.memory_mib.to_string()]);
                }
            }
            if out.json {
                Ok(())
            } else {
                t.print(out)
            }
        }
        ComputeCommand::Images(a) => {
            let c = gureum::open_compute(&a.url).await?;
            let images = c.images().await?;
            let mut t = Table::new(["ID", "NAME", "ALIAS"]);
            for i in &images {
                if out.json {
                    out.json_line(&to_json(i))?;
                } else {
                    t.row([
                        i.id.clone(),
                        i.name.clone(),
                        i.alias.clone().unwrap_or_else(|| "-".into()),
                    ]);
                }
            }
            if out.json {
                Ok(())
            } else {
                t.print(out)
            }
        }
    }
}
