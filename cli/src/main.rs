//! `gureum`: the command-line tool of gureum.
//!
//! Storage objects are named by a bucket URL plus `#KEY` (see `docs/cli.md`):
//! `gureum cp ./photo.jpg 'file:///srv/data/complaints#2026/11/c-1041/photo.jpg'`.
#![warn(missing_docs)]

mod args;
mod audit;
mod bucket_admin;
mod completions;
mod compute;
mod compute_ops;
mod doctor;
mod encrypt;
mod help;
mod location;
mod mirror;
mod output;
mod plan;
mod policy;
mod queue;
mod queue_admin;
mod queue_move;
mod storage;
mod sync;
mod table;

use clap::FromArgMatches;
use output::{exit_code_of, print_error, Out};

/// Transfer buffers are multipart parts of several MiB. Under glibc's dynamic mmap threshold
/// freed parts stay in the heap arenas: a 2 GiB upload with a 40 MiB buffer budget peaked at
/// 152 MiB RSS. With a fixed 1 MiB threshold they go back to the system when freed (measured:
/// 64 MiB with the same budget, same speed; docs/benchmarks/sync.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets a parameter of the C allocator; called once at start, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// Diagnostics on stderr. Without `-v` only errors logged by the SDK appear (failures of a
/// command are reported by the command itself); `GUREUM_LOG` takes a full tracing filter.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("GUREUM_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(spec.trim()) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("gureum: ignoring GUREUM_LOG ({e})");
                EnvFilter::new("error")
            }
        },
        // -v raises gureum's own crates only: other libraries stay at `error`, their
        // debug output is theirs to vouch for (GUREUM_LOG can still ask for it).
        _ => EnvFilter::new(match verbose {
            0 => "error",
            1 => "error,gureum=info",
            2 => "error,gureum=debug",
            _ => "error,gureum=trace",
        }),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true)
        .try_init();
}

fn main() {
    tune_allocator();
    // Parsed from help::command(), the definition with the `--help` examples attached.
    let cli = match help::command()
        .try_get_matches()
        .and_then(|m| args::Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => {
            // --help / --version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                output::EXIT_USAGE
            } else {
                0
            });
        }
    };
    init_logging(cli.verbose);
    let out = Out::new(cli.json);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = gureum::Error::from(e);
            print_error(&out, &e);
            std::process::exit(exit_code_of(&e));
        }
    };
    let code = rt.block_on(run(cli.command, out.clone()));
    // Do not wait for stray blocking tasks (e.g. a stdin reader) at exit.
    rt.shutdown_background();
    std::process::exit(code);
}

async fn run(cmd: args::Command, out: Out) -> i32 {
    use args::Command as C;
    let r: gureum::Result<i32> = match cmd {
        C::Ls(a) => storage::ls(a, &out).await.map(|_| 0),
        C::Cat(a) => storage::cat(a, &out).await.map(|_| 0),
        C::Cp(a) if a.recursive => sync::cp_recursive(a, &out).await,
        C::Cp(a) => storage::cp(a, &out).await.map(|_| 0),
        C::Sync(a) => sync::sync(a, &out).await,
        C::Check(a) => sync::check(a, &out).await,
        C::Rm(a) => storage::rm(a, &out).await.map(|_| 0),
        C::Stat(a) => storage::stat(a, &out).await.map(|_| 0),
        C::Queue(q) => queue::run(q, &out).await.map(|_| 0),
        C::Compute(c) => compute::run(c, &out).await.map(|_| 0),
        C::Doctor(a) => doctor::run(a, &out).await,
        C::Schemes => doctor::schemes(&out).map(|_| 0),
        C::Mb(a) => bucket_admin::mb(a, &out).await.map(|_| 0),
        C::Rb(a) => bucket_admin::rb(a, &out).await.map(|_| 0),
        C::Buckets(a) => bucket_admin::buckets(a, &out).await.map(|_| 0),
        C::Completions(a) => completions::completions(a, &out).map(|_| 0),
        C::Man(a) => completions::man(a, &out).map(|_| 0),
        C::Encrypt(e) => encrypt::run(e, &out).await,
        C::Policy(a) => policy::run(a, &out).await,
        C::Audit(a) => audit::run(a, &out).await,
        C::Mirror(a) => mirror::run(a, &out).await,
        C::Plan(a) => plan::run(a, &out).await,
        C::Conformance(mut a) => {
            // The global --json selects the JSON report unless --format says otherwise.
            if out.json && a.format == gureum_conformance::Format::Text {
                a.format = gureum_conformance::Format::Json;
            }
            gureum_conformance::runner::run(&a, &gureum::registry()).await
        }
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            print_error(&out, &e);
            exit_code_of(&e)
        }
    }
}
