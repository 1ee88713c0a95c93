//! `gureum queue move SRC DST` and `gureum queue drain SRC`: at least once, acknowledged on the
//! source only after the destination (or the output file) took the message.

use crate::location::redact;
use crate::output::Out;
use clap::Args;
use gureum::{Error, Result};
use gureum_migrate::queue_move::{drain, move_messages, JsonLinesSink, MoveOptions, MoveReport};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Options shared by `move` and `drain`.
#[derive(Debug, Args)]
pub struct MoveFlags {
    /// Messages per receive (capped by the source's batch limit).
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Visibility timeout on the source in seconds: how long a received batch stays hidden
    /// while it is handed over (it reappears if this process dies).
    #[arg(long, default_value_t = 60)]
    pub visibility: u64,
    /// Long-poll seconds per receive.
    #[arg(long, default_value_t = 1)]
    pub wait: u64,
    /// Empty receives in a row that mean the source is drained.
    #[arg(long, default_value_t = 2)]
    pub empty_polls: u32,
    /// Stop after this many messages.
    #[arg(long)]
    pub max: Option<u64>,
}

impl MoveFlags {
    fn options(&self) -> MoveOptions {
        MoveOptions {
            batch: self.batch,
            visibility: Duration::from_secs(self.visibility),
            wait: Duration::from_secs(self.wait),
            empty_polls: self.empty_polls,
            max_messages: self.max,
        }
    }
}

/// `gureum queue move`.
#[derive(Debug, Args)]
pub struct QueueMoveArgs {
    /// Source queue URL.
    pub src: String,
    /// Destination queue URL.
    pub dst: String,
    #[command(flatten)]
    flags: MoveFlags,
}

/// `gureum queue drain`.
#[derive(Debug, Args)]
pub struct QueueDrainArgs {
    /// Source queue URL.
    pub src: String,
    /// Append the messages as JSON lines to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    #[command(flatten)]
    flags: MoveFlags,
}

/// Progress on standard error, at most twice a second, only when it is a terminal.
fn progress_printer(label: &'static str) -> impl FnMut(&MoveReport) {
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    move |r: &MoveReport| {
        if tty && last.elapsed() >= Duration::from_millis(500) {
            last = Instant::now();
            eprint!("\r{label}: {} messages, {} bytes", r.moved, r.bytes);
        }
    }
}

fn summary(out: &Out, verb: &str, src: &str, dst: &str, r: &MoveReport) -> Result<()> {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    // Draining to stdout: stdout carries the messages, so the summary goes to stderr.
    let to_stderr = verb == "drained";
    if out.json {
        let v = serde_json::json!({
            "operation": verb, "source": redact(src), "destination": dst,
            "moved": r.moved, "bytes": r.bytes, "ack_failures": r.ack_failures,
            "batches": r.batches, "elapsed_ms": r.elapsed_ms,
        });
        if to_stderr {
            eprintln!("{v}");
            Ok(())
        } else {
            out.json_line(&v)
        }
    } else {
        let mut line = format!(
            "{verb}: {} messages ({} bytes) from {} to {dst} in {:.1} s",
            r.moved,
            r.bytes,
            redact(src),
            r.elapsed_ms as f64 / 1000.0
        );
        if r.ack_failures > 0 {
            line.push_str(&format!(
                "; {} acks on the source failed (those messages will be delivered again)",
                r.ack_failures
            ));
        }
        if to_stderr {
            eprintln!("{line}");
            Ok(())
        } else {
            out.line(line)
        }
    }
}

/// Run `gureum queue move`.
pub async fn run_move(a: QueueMoveArgs, out: &Out) -> Result<()> {
    let src = gureum::open_queue(&a.src).await?;
    let dst = gureum::open_queue(&a.dst).await?;
    let r = move_messages(&src, &dst, &a.flags.options(), progress_printer("moved")).await?;
    summary(out, "moved", &a.src, &redact(&a.dst), &r)
}

/// Run `gureum queue drain`.
pub async fn run_drain(a: QueueDrainArgs, out: &Out) -> Result<()> {
    let src = gureum::open_queue(&a.src).await?;
    let opts = a.flags.options();
    match &a.output {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::from(e).context_message(format!("opening {path}")))?;
            let mut sink = JsonLinesSink::new(std::io::BufWriter::new(f));
            let r = drain(&src, &mut sink, &opts, progress_printer("drained")).await?;
            // File output: the summary may go to stdout.
            summary(out, "drained to file", &a.src, path, &r)
        }
        None => {
            let mut sink = JsonLinesSink::new(std::io::stdout().lock());
            let r = drain(&src, &mut sink, &opts, |_| {}).await?;
            drop(sink);
            summary(out, "drained", &a.src, "stdout", &r)
        }
    }
}
