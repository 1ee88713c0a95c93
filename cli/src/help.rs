//! `--help` examples for every command, attached to the clap definition in one place so that
//! the help text, the man pages and the completions all come from [`command`].
//!
//! A new command adds a row to [`EXAMPLES`]; `tests::every_command_has_examples` fails until it
//! does.

use clap::CommandFactory;

/// (command path, examples shown under `Examples:` in its `--help`, one per line; each line
/// is indented by two spaces when shown).
pub const EXAMPLES: &[(&[&str], &str)] = &[
    (&[], "\
  gureum ls 'file:///srv/civic/storage#민원/'
  gureum cp ./pothole.jpg 's3://complaints?region=ap-northeast-2#2026/c-1041/pothole.jpg'
  gureum mb 'swift://open-data?cloud=sdc'
  gureum queue depth 'sqlite:///var/lib/civic/queue.db?queue=jobs'
  gureum conformance --storage 'file:///tmp/conformance'
  gureum completions bash > /etc/bash_completion.d/gureum"),
    (&["ls"], "\
  gureum ls 'file:///srv/civic/storage'                 # top level, prefixes as PRE lines
  gureum ls -r 's3://complaints?region=ap-northeast-2#2026/11/'
  gureum --json ls 'azblob://complaints?account=seoulcivic#민원/' | jq .key"),
    (&["cat"], "\
  gureum cat 'file:///srv/civic/storage#results/c-1041.json'
  gureum cat 'ncloud://open-data?region=gov#traffic/2026-11-26.csv' | head"),
    (&["cp"], "\
  gureum cp ./pothole.jpg 'file:///srv/civic/storage#민원/c-1041/pothole.jpg'
  gureum cp 'file:///srv/civic/storage#민원/c-1041/pothole.jpg' 's3://archive?region=ap-northeast-2#c-1041.jpg'
  echo '{}' | gureum cp - 'mem://scratch#empty.json' --content-type application/json --meta source=cli
  gureum cp 'swift://open-data?cloud=sdc#traffic.csv' ./   # into the current directory
  gureum cp -r ./photos 's3://archive?region=ap-northeast-2#photos/' --include '*.jpg'"),
    (&["sync"], "\
  gureum sync 'ncloud://old-archive?region=gov' 's3://new-archive?region=ap-northeast-2' --checksum
  gureum sync ./exports 'swift://open-data?cloud=sdc#exports/' --transfers 32 --exclude '*.tmp'
  gureum sync 's3://a?region=ap-northeast-2#2026/' 'azblob://b?account=seoulcivic#2026/' --delete --dry-run
  gureum --json sync 'file:///srv/civic/storage' 's3://backup?region=ap-northeast-2' | jq .failed
  gureum sync --shard 3/8 'swift://complaints?cloud=sdc' 'ncloud://complaints?region=gov'   # worker 3 of 8
  JOB_COMPLETION_INDEX=3 gureum sync --shards 8 'swift://complaints?cloud=sdc' 'ncloud://complaints?region=gov'"),
    (&["check"], "\
  gureum check 'ncloud://old-archive?region=gov' 's3://new-archive?region=ap-northeast-2'
  gureum check --size-only ./exports 'swift://open-data?cloud=sdc#exports/'"),
    (&["rm"], "\
  gureum rm 'file:///srv/civic/storage#tmp/upload.part'
  gureum rm -r 's3://scratch?region=ap-northeast-2#run-2026-11-26/'"),
    (&["stat"], "\
  gureum stat 'file:///srv/civic/storage#민원/c-1041/complaint.json'
  gureum --json stat 's3://complaints?region=ap-northeast-2#c-1041.json'"),
    (&["mb"], "\
  gureum mb 'file:///srv/civic/open-data'
  gureum mb 's3://seoul-open-data?region=ap-northeast-2'
  gureum mb -p 'azblob://open-data?account=seoulcivic'      # fine if it exists"),
    (&["rb"], "\
  gureum rb 'file:///srv/civic/scratch'                     # refused unless empty
  gureum rb --force 's3://conformance-run-42?region=ap-northeast-2'"),
    (&["buckets"], "\
  gureum buckets 's3://any-bucket?region=ap-northeast-2'
  gureum buckets 'file:///srv/civic/storage'                # its sibling directories
  gureum --json buckets 'swift://x?cloud=sdc'"),
    (&["queue"], "\
  gureum queue create 'sqlite:///var/lib/civic/queue.db?queue=ocr'
  gureum queue send 'sqlite:///var/lib/civic/queue.db?queue=ocr' 'c-1041'
  gureum queue receive --ack -n 10 'sqs://ocr?region=ap-northeast-2'
  gureum queue list 'sqlite:///var/lib/civic/queue.db?queue=ocr'"),
    (&["queue", "send"], "\
  gureum queue send 'sqlite:///var/lib/civic/queue.db?queue=jobs' 'reindex c-1041' --attr type=reindex
  gureum queue send 'sqs://jobs.fifo?region=ap-northeast-2' --file job.json --group c-1041
  gureum queue send 'azqueue://jobs?account=seoulcivic' 'later' --delay 60"),
    (&["queue", "receive"], "\
  gureum queue receive 'sqlite:///var/lib/civic/queue.db?queue=jobs'           # peek: redelivered after 30 s
  gureum queue receive --ack -n 10 --wait 20 'sqs://jobs?region=ap-northeast-2'
  gureum --json queue receive 'azqueue://jobs?account=seoulcivic' | jq .body"),
    (&["queue", "depth"], "\
  gureum queue depth 'sqlite:///var/lib/civic/queue.db?queue=jobs'
  gureum --json queue depth 'sqs://jobs?region=ap-northeast-2'"),
    (&["queue", "create"], "\
  gureum queue create 'sqlite:///var/lib/civic/queue.db?queue=ocr'
  gureum queue create 'sqs://ocr.fifo?region=ap-northeast-2&fifo=true'
  gureum queue create -p 'azqueue://ocr?account=seoulcivic'          # fine if it exists"),
    (&["queue", "delete"], "\
  gureum queue delete 'sqlite:///var/lib/civic/queue.db?queue=ocr'
  gureum queue delete 'sqs://ocr?region=ap-northeast-2'"),
    (&["queue", "purge"], "\
  gureum queue purge 'sqlite:///var/lib/civic/queue.db?queue=ocr'     # messages go, the queue stays
  gureum queue purge 'azqueue://ocr?account=seoulcivic'"),
    (&["queue", "list"], "\
  gureum queue list 'sqlite:///var/lib/civic/queue.db?queue=jobs'     # every queue in that file
  gureum --json queue list 'sqs://jobs?region=ap-northeast-2'"),
    (&["queue", "move"], "\
  gureum queue move 'sqs://ocr?region=ap-northeast-2' 'sqlite:///var/lib/civic/queue.db?queue=ocr'
  gureum queue move --max 1000 'azqueue://jobs?account=seoulcivic' 'amqp://civic@mq.sdc.seoul.go.kr/civic?queue=jobs'"),
    (&["queue", "drain"], "\
  gureum queue drain 'sqlite:///var/lib/civic/queue.db?queue=dead-letters' > dead-letters.jsonl
  gureum queue drain -o backup.jsonl 'sqs://old-jobs?region=ap-northeast-2'"),
    (&["compute"], "\
  gureum compute list 'local:///var/lib/civic/compute'
  gureum compute sizes 'ec2://ap-northeast-2'
  gureum compute images 'nova://?cloud=sdc'"),
    (&["compute", "list"], "\
  gureum compute list 'local:///var/lib/civic/compute'
  gureum compute list --tag fleet=nightly 'ncloud-server://?region=gov'"),
    (&["compute", "sizes"], "\
  gureum compute sizes 'local://'
  gureum compute sizes 'azvm://SUBSCRIPTION/civic-rg?location=koreacentral'"),
    (&["compute", "images"], "\
  gureum compute images 'local://'
  gureum --json compute images 'ec2://ap-northeast-2'"),
    (&["compute", "create"], "\
  gureum compute create 'local://' --name ocr-1 --vcpus 2 --memory-gib 4 --image ubuntu-22.04 --wait 60
  gureum compute create 'ec2://ap-northeast-2' --name batch --size-id t3.small --tag fleet=nightly --user-data-file init.yaml --token nightly-2026-11-27"),
    (&["compute", "start"], "\
  gureum compute start 'local://' 3f2a9c1e"),
    (&["compute", "stop"], "\
  gureum compute stop 'nova://?cloud=sdc' 8e1f0c2a-1b2c-4d5e-8f90-0a1b2c3d4e5f"),
    (&["compute", "reboot"], "\
  gureum compute reboot 'ec2://ap-northeast-2' i-0123456789abcdef0"),
    (&["compute", "terminate"], "\
  gureum compute terminate 'local://' 3f2a9c1e 77b0d4aa"),
    (&["compute", "wait"], "\
  gureum compute wait 'ec2://ap-northeast-2' i-0123456789abcdef0 --state stopped --timeout 120"),
    (&["compute", "export"], "\
  gureum compute export 'nova://?cloud=sdc' > inventory.json
  gureum compute export --tag fleet=ocr -o ocr.json 'ec2://ap-northeast-2'"),
    (&["compute", "import"], "\
  gureum compute import --dry-run inventory.json 'ncloud-server://?region=gov'
  gureum compute import inventory.json 'nova://?cloud=sdc'     # again: creates nothing new"),
    (&["doctor"], "\
  gureum doctor 'file:///srv/civic/storage'
  gureum doctor --service queue 'sqs://jobs?region=ap-northeast-2'"),
    (&["schemes"], "\
  gureum schemes
  gureum --json schemes | jq -r '.schemes[].scheme'"),
    (&["conformance"], "\
  gureum conformance --storage 'file:///tmp/conformance' --queue 'sqlite:///tmp/c.db?queue=c'
  gureum conformance --storage 's3://conformance?region=ap-northeast-2' --format markdown --output report.md
  gureum conformance --list-cases"),
    (&["policy"], "\
  gureum policy check 's3://archive?region=ap-northeast-2' --class personal
  gureum policy plan 'file:///srv/civic/storage#민원/' 'ncloud://civic?region=gov'"),
    (&["policy", "check"], "\
  gureum policy check 's3://archive?region=ap-northeast-2' --class personal   # exit 4: forbidden
  gureum policy check 'ncloud://civic?region=gov&encrypt=keyfile:///etc/civic/kek' --class sensitive
  gureum policy check --queue 'sqs://jobs?region=ap-northeast-2' --class internal"),
    (&["policy", "plan"], "\
  gureum policy plan 'file:///srv/civic/storage' 'ncloud://civic?region=gov'
  gureum policy plan --class personal 'swift://civic?cloud=sdc#민원/' 's3://archive?region=ap-northeast-2'"),
    (&["audit"], "\
  gureum audit verify 'file:///var/log/civic/audit.jsonl' --key env:CIVIC_AUDIT_KEY
  gureum audit query 'file:///var/log/civic/audit.jsonl' --prefix 민원/2026/ --op get"),
    (&["audit", "verify"], "\
  gureum audit verify 'file:///var/log/civic/audit.jsonl' --key file:///etc/civic/audit.key
  gureum audit verify 'sqlite:///var/lib/civic/audit.db'        # chain only, no key"),
    (&["audit", "query"], "\
  gureum audit query 'file:///var/log/civic/audit.jsonl' --prefix 민원/2026/ --op get --since 2026-11
  gureum audit query 'sqlite:///var/lib/civic/audit.db' --principal clerk@sdc | jq .key"),
    (&["audit", "public-key"], "\
  gureum audit public-key --key file:///etc/civic/audit-ed25519.key > /etc/civic/audit.pub
  gureum audit verify 'file:///var/log/civic/audit.jsonl' --key file:///etc/civic/audit.pub"),
    (&["plan"], "\
  gureum plan 'swift://complaints?cloud=sdc' 'ncloud://complaints?region=gov'
  gureum plan --depth 2 --metadata --class personal ./exports 's3://archive?region=ap-northeast-2#exports/'
  gureum plan --no-probe --rate 80 'file:///srv/civic/storage' 'azblob://civic?account=seoulcivic'
  gureum --json plan 'file:///srv/civic/storage' 'ncloud://civic?region=gov' | jq .cannot_hold"),
    (&["mirror"], "\
  M='mirror://?primary=swift%3A%2F%2Fcomplaints%3Fcloud%3Dsdc&secondary=ncloud%3A%2F%2Fcomplaints%3Fregion%3Dgov&mode=async'
  GUREUM_STORAGE_URL=\"$M\" civic-app                  # the application writes to both clouds
  gureum mirror drain \"$M\"                            # after a restart: apply queued repairs
  gureum mirror verify \"$M\"                           # exit 9 when the clouds differ"),
    (&["mirror", "verify"], "\
  gureum mirror verify 'swift://complaints?cloud=sdc' 'ncloud://complaints?region=gov'
  gureum mirror verify \"$M\"                           # the two sides of a mirror:// URL
  gureum --json mirror verify --size-only \"$M#민원/2026/\" | jq '.differences[]'"),
    (&["mirror", "drain"], "\
  gureum mirror drain \"$M\"
  gureum --json mirror drain --timeout 60 \"$M\" | jq .remaining"),
    (&["completions"], "\
  gureum completions bash > ~/.local/share/bash-completion/completions/gureum
  gureum completions zsh > ~/.zfunc/_gureum
  gureum completions fish > ~/.config/fish/completions/gureum.fish"),
    (&["man"], "\
  gureum man | man -l -
  gureum man --dir /usr/local/share/man/man1"),
    (&["encrypt"], "\
  gureum encrypt keygen /etc/gureum/records.key --id seoul-records
  gureum encrypt keygen /etc/gureum/records.key --add-version
  gureum encrypt rotate 's3://records?region=ap-northeast-2' --key keyfile:///etc/gureum/records.key"),
    (&["encrypt", "keygen"], "\
  gureum encrypt keygen /etc/gureum/records.key --id seoul-records   # new file, version 1
  gureum encrypt keygen /etc/gureum/records.key --add-version        # KEK rotation: version 2"),
    (&["encrypt", "rotate"], "\
  gureum encrypt rotate 'file:///srv/civic/storage#민원/' --key keyfile:///etc/gureum/records.key --dry-run
  gureum encrypt rotate 's3://records?region=ap-northeast-2' --key openbao://bao.city.local:8200/transit/records
  gureum encrypt rotate 'azblob://records?account=seoulcivic' --key 'awskms://alias/records-2027?region=ap-northeast-2' \\
      --from 'awskms://alias/records-2026?region=ap-northeast-2'"),
];

fn attach(cmd: clap::Command, path: &[&str], text: &'static str) -> clap::Command {
    match path.split_first() {
        None => {
            let lines: Vec<String> = text
                .lines()
                .map(|l| format!("  {}", l.trim_start()))
                .collect();
            cmd.after_help(format!("Examples:\n{}", lines.join("\n")))
        }
        Some((first, rest)) => {
            if cmd.find_subcommand(first).is_none() {
                return cmd;
            }
            cmd.mut_subcommand(*first, |sub| attach(sub, rest, text))
        }
    }
}

/// The `gureum` command definition with the examples attached.
pub fn command() -> clap::Command {
    EXAMPLES
        .iter()
        .fold(crate::args::Cli::command(), |cmd, (path, text)| {
            attach(cmd, path, text)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(cmd: &clap::Command, path: &mut Vec<String>, missing: &mut Vec<String>) {
        if cmd.get_name() != "help" && cmd.get_after_help().is_none() {
            missing.push(format!("gureum {}", path.join(" ")));
        }
        for sub in cmd.get_subcommands() {
            path.push(sub.get_name().to_string());
            walk(sub, path, missing);
            path.pop();
        }
    }

    #[test]
    fn every_command_has_examples() {
        let cmd = command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cmd, &mut Vec::new(), &mut missing);
        assert!(
            missing.is_empty(),
            "add rows to help::EXAMPLES for: {missing:?}"
        );
        // Every row names an existing command (no stale rows).
        for (path, _) in EXAMPLES {
            let mut c = &cmd;
            for p in *path {
                c = c
                    .find_subcommand(p)
                    .unwrap_or_else(|| panic!("EXAMPLES row for a missing command: {path:?}"));
            }
        }
    }
}
