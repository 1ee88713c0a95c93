//! `gureum completions SHELL` and `gureum man`: generated from the clap definition, so they
//! always match the commands of this build.

use crate::output::{write_stdout, Out};
use clap::Args;
use gureum::{Error, Result};
use std::path::PathBuf;

/// `gureum completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `gureum man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `gureum.1` and one page per subcommand (`gureum-queue-send.1`, ...) into this
    /// directory instead of printing `gureum.1` to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Print a completion script for `a.shell`.
pub fn completions(a: CompletionsArgs, _out: &Out) -> Result<()> {
    let mut cmd = crate::help::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "gureum", &mut buf);
    write_stdout(&buf)
}

/// Print the man page, or write every page into `a.dir`.
pub fn man(a: ManArgs, out: &Out) -> Result<()> {
    let cmd = crate::help::command();
    match a.dir {
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            write_stdout(&buf)
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| {
                Error::from(e).context_message(format!("creating {}", dir.display()))
            })?;
            clap_mangen::generate_to(cmd, &dir).map_err(|e| {
                Error::from(e).context_message(format!("writing man pages to {}", dir.display()))
            })?;
            let mut n = 0;
            for e in std::fs::read_dir(&dir)? {
                if e?.path().extension().is_some_and(|x| x == "1") {
                    n += 1;
                }
            }
            if out.json {
                out.json_line(&serde_json::json!({"dir": dir.display().to_string(), "pages": n}))
            } else {
                out.line(format!("wrote {n} man pages to {}", dir.display()))
            }
        }
    }
}
