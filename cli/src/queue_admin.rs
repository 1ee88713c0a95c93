//! `gureum queue create|delete|purge|list`: queue administration through the portable
//! `QueueAdmin` of whatever backend the URL names.
//!
//! Every queue scheme gureum ships (`mem`, `sqlite`, `sqs`, `azqueue`) takes the URL parameter
//! `create=true|false`; the commands set it so that `delete` and `purge` never create a queue
//! by opening it and `create` can tell "created" from "already there". A scheme that does not
//! know the parameter is opened with the URL as given.

use crate::location::redact;
use crate::output::Out;
use crate::table::Table;
use clap::Args;
use gureum::{Error, ErrorKind, Queue, Result};

/// A queue admin command that takes only the queue URL.
#[derive(Debug, Args)]
pub struct QueueAdminArgs {
    /// Queue URL (`sqlite:///var/lib/app/q.db?queue=jobs`, `sqs://jobs?region=...`,
    /// `azqueue://jobs?account=...`).
    pub url: String,
}

/// `gureum queue create`.
#[derive(Debug, Args)]
pub struct QueueCreateArgs {
    /// URL of the queue to create. Backend settings (FIFO, default visibility, ...) are URL
    /// parameters of the provider (`fifo=true`, `visibility=30`), as for opening it.
    pub url: String,
    /// Succeed when the queue already exists.
    #[arg(short = 'p', long)]
    pub exist_ok: bool,
}

/// `url` with `create=VALUE` set. Refuses a URL that sets `create` itself (the command decides).
fn with_create(url: &str, value: bool) -> Result<String> {
    if let Ok(u) = gureum::ResourceUrl::parse(url) {
        if u.param("create").is_some() {
            return Err(Error::invalid(
                "leave the create= parameter out: the queue commands set it",
            ));
        }
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}create={value}"))
}

/// Open with `create=VALUE`, or as given when the scheme refuses the parameter.
async fn open_with_create(url: &str, value: bool) -> Result<Queue> {
    match gureum::open_queue(&with_create(url, value)?).await {
        Err(e) if e.kind() == ErrorKind::InvalidArgument && e.message().contains("create") => {
            gureum::open_queue(url).await
        }
        r => r,
    }
}

/// `gureum queue create URL`.
pub async fn create(a: QueueCreateArgs, out: &Out) -> Result<()> {
    let created = match open_with_create(&a.url, false).await {
        Ok(q) => {
            if !a.exist_ok {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("queue {:?} already exists", q.name()),
                ));
            }
            false
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            open_with_create(&a.url, true).await?;
            true
        }
        Err(e) => return Err(e),
    };
    let q = open_with_create(&a.url, false).await?;
    if out.json {
        out.json_line(&serde_json::json!({"queue": q.name(), "created": created}))
    } else if created {
        out.line(format!("created queue {} ({})", q.name(), redact(&a.url)))
    } else {
        out.line(format!("queue {} already exists", q.name()))
    }
}

/// `gureum queue delete URL`: delete the queue and its messages.
pub async fn delete(a: QueueAdminArgs, out: &Out) -> Result<()> {
    let q = open_with_create(&a.url, false).await?;
    let name = q.name().to_string();
    q.admin()?.delete_queue(&name).await?;
    if out.json {
        out.json_line(&serde_json::json!({"queue": name, "deleted": true}))
    } else {
        out.line(format!("deleted queue {name}"))
    }
}

/// `gureum queue purge URL`: delete every message, keep the queue.
pub async fn purge(a: QueueAdminArgs, out: &Out) -> Result<()> {
    let q = open_with_create(&a.url, false).await?;
    let before = q.depth().await.ok();
    q.purge().await?;
    if out.json {
        out.json_line(
            &serde_json::json!({"queue": q.name(), "purged": true, "depth_before": before}),
        )
    } else {
        match before {
            Some(n) => out.line(format!("purged queue {} (about {n} messages)", q.name())),
            None => out.line(format!("purged queue {}", q.name())),
        }
    }
}

/// `gureum queue list URL`: the queues next to the one the URL names, with their depth.
pub async fn list(a: QueueAdminArgs, out: &Out) -> Result<()> {
    let q = open_with_create(&a.url, false).await?;
    let admin = q.admin()?.clone();
    let mut names = admin.list_queues().await?;
    names.sort();
    let mut t = Table::new(["QUEUE", "DEPTH"]).right(1);
    for n in names {
        // Depth is informative; a queue that cannot be opened or counted shows "-".
        let depth = match admin.open(&n).await {
            Ok(q) => q.depth().await.ok(),
            Err(_) => None,
        };
        if out.json {
            out.json_line(&serde_json::json!({"queue": n, "depth": depth}))?;
        } else {
            t.row([
                n,
                depth.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    if out.json {
        Ok(())
    } else {
        t.print(out)
    }
}
