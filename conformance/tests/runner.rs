//! The CLI runner: argument parsing, registry opening, report files and exit codes.

use clap::Parser;
use gureum_conformance::runner::{self, Args, EXIT_FAILURES, EXIT_OK};
use gureum_core::url::StorageOpener;
use gureum_core::{async_trait, Bucket, Registry, ResourceUrl, Result};
use std::sync::Arc;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

struct MemOpener;

#[async_trait]
impl StorageOpener for MemOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        Ok(Bucket::new(
            url.host(),
            Arc::new(gureum_core::object_store::memory::InMemory::new()),
        ))
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register_storage("testmem", Arc::new(MemOpener));
    r
}

#[tokio::test]
async fn runs_selected_cases_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.xml");
    let cli = Cli::parse_from([
        "conformance",
        "--storage",
        "testmem://bkt",
        "--only",
        "storage.put_get_small,storage.key_*",
        "--format",
        "junit",
        "--output",
        out.to_str().unwrap(),
    ]);
    let code = runner::run(&cli.args, &registry()).await.unwrap();
    assert_eq!(code, EXIT_OK);
    let xml = std::fs::read_to_string(&out).unwrap();
    assert!(
        xml.contains("<testsuite name=\"storage (testmem://bkt)\""),
        "{xml}"
    );
    assert!(xml.contains("name=\"storage.key_hangul\""), "{xml}");
    assert!(!xml.contains("storage.range_bounded"), "filter ignored");
}

#[tokio::test]
async fn unknown_scheme_is_a_failed_case_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let cli = Cli::parse_from([
        "conformance",
        "--queue",
        "nosuch://q",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    let code = runner::run(&cli.args, &registry()).await.unwrap();
    assert_eq!(code, EXIT_FAILURES);
    let r: gureum_conformance::Report =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r.failures(), vec!["queue.open"]);
}

#[tokio::test]
async fn no_url_is_an_error_and_list_cases_works() {
    let cli = Cli::parse_from(["conformance"]);
    assert!(runner::run(&cli.args, &registry()).await.is_err());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cases.txt");
    let cli = Cli::parse_from([
        "conformance",
        "--list-cases",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(runner::run(&cli.args, &registry()).await.unwrap(), EXIT_OK);
    let names = std::fs::read_to_string(&out).unwrap();
    assert!(names.lines().count() >= 155, "{}", names.lines().count());
    assert!(names.contains("queue.dead_letter_after_max_receives"));
}
