//! Command-line syntax (clap derive).

use clap::{Args, Parser, Subcommand};

/// gureum (구름): one command for object storage, queues and VMs on any cloud.
///
/// Storage locations are a bucket URL with `#KEY` naming an object (or a prefix), a local
/// file path, or `-` for stdin/stdout. Exit codes: 0 ok, 1 error, 2 usage / invalid
/// argument, 3 not found, 4 permission / policy, 5 conformance failures, 6 unsupported,
/// 7 unavailable / timeout, 8 conflict (exists / precondition), 9 integrity (for `check`:
/// the trees differ), 10 some objects of a `sync`/`cp -r`/`check` failed, the rest went on.
#[derive(Debug, Parser)]
#[command(name = "gureum", version, about, long_about = None)]
pub struct Cli {
    /// Machine-readable output: one JSON document, or JSON Lines for listings.
    #[arg(long, global = true)]
    pub json: bool,
    /// More diagnostics on stderr: `-v` info (retries, timings), `-vv` debug, `-vvv` trace.
    /// `GUREUM_LOG` (tracing filter syntax, e.g. `gureum_core=debug`) overrides it. Logs never
    /// carry secrets or object contents.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List objects under a prefix: `gureum ls 'file:///data/bkt#2026/'`.
    Ls(LsArgs),
    /// Write an object to stdout.
    Cat(CatArgs),
    /// Copy between local files, stdin/stdout (`-`) and bucket objects, streaming.
    Cp(CpArgs),
    /// Delete an object (or, with -r, every object under a prefix).
    Rm(RmArgs),
    /// Make DST like SRC: copy what is missing or changed (verified, resumable), optionally
    /// delete what SRC lacks. SRC and DST are `BUCKET_URL[#PREFIX]` or local directories.
    Sync(crate::sync::SyncArgs),
    /// Compare two trees without copying (sizes and content MD5s).
    Check(crate::sync::CheckArgs),
    /// Show an object's size, etag, content type and metadata.
    Stat(CatArgs),
    /// Queue operations.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Compute operations.
    #[command(subcommand)]
    Compute(ComputeCommand),
    /// Open a URL, run a harmless probe and print its capabilities.
    Doctor(DoctorArgs),
    /// List the URL schemes this build can open.
    Schemes,
    /// Run the conformance suite against storage, queue and compute URLs (exit 5 on failures).
    Conformance(gureum_conformance::runner::Args),
    /// Make a bucket: the one the URL names.
    Mb(crate::bucket_admin::MbArgs),
    /// Remove a bucket (refused unless empty; --force deletes its objects first).
    Rb(crate::bucket_admin::RbArgs),
    /// List the buckets of the account a bucket URL belongs to.
    #[command(visible_alias = "lb")]
    Buckets(crate::bucket_admin::BucketsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(crate::completions::CompletionsArgs),
    /// Print the man page (or write one page per command with --dir).
    Man(crate::completions::ManArgs),
    /// Client-side encryption: key files and KEK rotation (rewrap data keys).
    #[command(subcommand)]
    Encrypt(crate::encrypt::EncryptCommand),
    /// Placement policy: may a class of data live where a URL points; what may move where.
    #[command(subcommand)]
    Policy(crate::policy::PolicyCommand),
    /// Access record: verify its chain and signatures, query who did what.
    #[command(subcommand)]
    Audit(crate::audit::AuditCommand),
    /// What a migration would move (objects, bytes, per prefix), how long it would take,
    /// what the destination cannot hold and what the placement policy forbids; copies nothing.
    Plan(crate::plan::PlanArgs),
    /// Dual-run mirror (`mirror://`): list divergences between the two sides, drain the
    /// repair queue of an async mirror.
    #[command(subcommand)]
    Mirror(crate::mirror::MirrorCommand),
}

/// `gureum ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Bucket URL, optionally with `#PREFIX` (character prefix, S3 semantics).
    pub url: String,
    /// List every object under the prefix instead of grouping at `/`.
    #[arg(short, long)]
    pub recursive: bool,
}

/// `gureum cat` / `gureum stat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// Object URL: `BUCKET_URL#KEY`.
    pub url: String,
}

/// `gureum cp`.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Source: `BUCKET_URL#KEY`, a local file, or `-` for stdin.
    pub src: String,
    /// Destination: `BUCKET_URL#KEY`, a local file or directory, or `-` for stdout. A
    /// destination key that is empty or ends in `/` gets the source's file name appended.
    pub dst: String,
    /// Content-Type to store with an uploaded object.
    #[arg(long)]
    pub content_type: Option<String>,
    /// User metadata `NAME=VALUE` to store with an uploaded object (repeatable).
    #[arg(long = "meta", value_parser = parse_kv)]
    pub meta: Vec<(String, String)>,
    /// Copy every object under SRC (`BUCKET_URL[#PREFIX]` or a directory) to DST, like
    /// `gureum sync` without --delete (objects already up to date are skipped).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Options of `-r`.
    #[command(flatten)]
    pub transfer: crate::sync::TransferFlags,
}

/// `gureum rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Object URL `BUCKET_URL#KEY` (with -r: `BUCKET_URL#PREFIX`).
    pub url: String,
    /// Delete every object whose key starts with the prefix (the prefix must not be empty).
    #[arg(short, long)]
    pub recursive: bool,
}

/// `gureum queue ...`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Send one message; prints its id.
    Send(QueueSendArgs),
    /// Receive up to N messages; prints their bodies (with --json: ids, receipts, attributes).
    Receive(QueueReceiveArgs),
    /// Print the approximate number of messages.
    Depth(QueueUrlArgs),
    /// Create the queue the URL names.
    Create(crate::queue_admin::QueueCreateArgs),
    /// Delete the queue the URL names, with its messages.
    Delete(crate::queue_admin::QueueAdminArgs),
    /// Delete every message of the queue; the queue stays.
    Purge(crate::queue_admin::QueueAdminArgs),
    /// List the queues next to the one the URL names, with their depth.
    List(crate::queue_admin::QueueAdminArgs),
    /// Move every message to another queue, at least once (acked on the source only after
    /// the destination took it); bodies and attributes kept exactly.
    Move(crate::queue_move::QueueMoveArgs),
    /// Receive every message and print it as a JSON line (or append to --output), acking
    /// each batch only after it was written.
    Drain(crate::queue_move::QueueDrainArgs),
}

/// `gureum queue send`.
#[derive(Debug, Args)]
pub struct QueueSendArgs {
    /// Queue URL (`sqlite:///var/lib/app/q.db?queue=jobs`, `sqs://...`).
    pub url: String,
    /// Message body (text). Use --file for binary bodies.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub body: Option<String>,
    /// Read the body from a file (`-` for stdin).
    #[arg(long, short)]
    pub file: Option<String>,
    /// Message attribute `NAME=VALUE` (repeatable).
    #[arg(long = "attr", value_parser = parse_kv)]
    pub attrs: Vec<(String, String)>,
    /// Deliver no earlier than this many seconds after sending.
    #[arg(long)]
    pub delay: Option<u64>,
    /// Ordering group (FIFO queues).
    #[arg(long)]
    pub group: Option<String>,
}

/// `gureum queue receive`.
#[derive(Debug, Args)]
pub struct QueueReceiveArgs {
    /// Queue URL.
    pub url: String,
    /// Most messages to receive.
    #[arg(long, short = 'n', default_value_t = 1)]
    pub max: usize,
    /// Acknowledge (delete) the messages after printing them. Without it they become
    /// visible again when the visibility timeout expires.
    #[arg(long)]
    pub ack: bool,
    /// Long-poll: wait up to this many seconds for a first message.
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
    /// Visibility timeout in seconds for the received messages.
    #[arg(long, default_value_t = 30)]
    pub visibility: u64,
}

/// A command that takes only a URL.
#[derive(Debug, Args)]
pub struct QueueUrlArgs {
    /// URL.
    pub url: String,
}

/// `gureum compute ...`.
#[derive(Debug, Subcommand)]
pub enum ComputeCommand {
    /// List instances.
    List(ComputeListArgs),
    /// List the provider's sizes (flavors / instance types).
    Sizes(QueueUrlArgs),
    /// List the provider's images.
    Images(QueueUrlArgs),
    /// Create an instance from a portable size and image.
    Create(crate::compute_ops::CreateArgs),
    /// Start stopped instances.
    Start(crate::compute_ops::IdsArgs),
    /// Stop running instances.
    Stop(crate::compute_ops::IdsArgs),
    /// Reboot instances.
    Reboot(crate::compute_ops::IdsArgs),
    /// Terminate (delete) instances.
    Terminate(crate::compute_ops::IdsArgs),
    /// Wait until an instance reaches a state.
    Wait(crate::compute_ops::WaitArgs),
    /// Write the instances (names, portable sizes, images, tags, states, user data) as a
    /// JSON inventory.
    Export(crate::compute_ops::ExportArgs),
    /// Recreate the instances of an inventory on another cloud, idempotently; reports what
    /// could not be mapped.
    Import(crate::compute_ops::ImportArgs),
}

/// `gureum compute list`.
#[derive(Debug, Args)]
pub struct ComputeListArgs {
    /// Compute URL (`local:///var/lib/app/compute`, `ec2://ap-northeast-2`, ...).
    pub url: String,
    /// Only instances with this tag `NAME=VALUE` (repeatable).
    #[arg(long = "tag", value_parser = parse_kv)]
    pub tags: Vec<(String, String)>,
}

/// Which service `doctor` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceArg {
    /// Object storage.
    Storage,
    /// Queue.
    Queue,
    /// Compute.
    Compute,
}

/// `gureum doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// URL to check.
    pub url: String,
    /// Service to check (default: every service the URL scheme is registered for).
    #[arg(long)]
    pub service: Option<ServiceArg>,
}

pub fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}
