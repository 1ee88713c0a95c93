//! `gureum compute list|sizes|images`.

use crate::args::ComputeCommand;
use crate::output::{to_json, Out};
use gureum::Result;

/// Run a compute subcommand.
pub async fn run(cmd: ComputeCommand, out: &Out) -> Result<()> {
    match cmd {
        ComputeCommand::List(a) => {
            let c = gureum::open_compute(&a.url).await?;
            let tags = a.tags.into_iter().collect();
            let list = c.list_by_tags(&tags).await?;
            if !out.json {
                out.line(format!(
                    "{:<38} {:<20} {:<11} {:<16} {:<20} ADDRESSES",
                    "ID", "NAME", "STATE", "SIZE", "IMAGE"
                ))?;
            }
            for i in &list {
                if out.json {
                    out.json_line(&to_json(i))?;
                } else {
                    out.line(format!(
                        "{:<38} {:<20} {:<11} {:<16} {:<20} {}",
                        i.id,
                        i.name,
                        i.state.as_str(),
                        i.size.as_deref().unwrap_or("-"),
                        i.image.as_deref().unwrap_or("-"),
                        i.addresses.join(",")
                    ))?;
                }
            }
            Ok(())
        }
        ComputeCommand::Sizes(a) => {
            let c = gureum::open_compute(&a.url).await?;
            let sizes = c.sizes().await?;
            if !out.json {
                out.line(format!("{:<24} {:>6} {:>12}", "ID", "VCPUS", "MEMORY_MIB"))?;
            }
            for s in &sizes {
                if out.json {
                    out.json_line(&to_json(s))?;
                } else {
                    out.line(format!("{:<24} {:>6} {:>12}", s.id, s.vcpus, s.memory_mib))?;
                }
            }
            Ok(())
        }
        ComputeCommand::Images(a) => {
            let c = gureum::open_compute(&a.url).await?;
            let images = c.images().await?;
            if !out.json {
                out.line(format!("{:<40} {:<30} ALIAS", "ID", "NAME"))?;
            }
            for i in &images {
                if out.json {
                    out.json_line(&to_json(i))?;
                } else {
                    out.line(format!(
                        "{:<40} {:<30} {}",
                        i.id,
                        i.name,
                        i.alias.as_deref().unwrap_or("-")
                    ))?;
                }
            }
            Ok(())
        }
    }
}
