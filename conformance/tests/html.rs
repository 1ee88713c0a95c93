//! The HTML report in a real headless browser (Debian `chromium`): the page loads without
//! network, its script runs, and the numbers it shows — rendered by us and recomputed by the
//! page's own script from the embedded JSON — match the report's JSON. A screenshot is taken
//! and checked to be a real PNG.
//!
//! Without chromium the test is skipped visibly, or fails when `GUREUM_REQUIRE_EMULATORS=1`
//! (scripts/test.sh; `scripts/emulators.sh install` installs chromium).

use clap::Parser;
use gureum_conformance::certify::{ResultsDir, Target};
use gureum_conformance::runner::{self, Args, EXIT_OK};
use gureum_conformance::{storage, Options, Report};
use gureum_core::Bucket;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GUREUM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

async fn browser(bin: &Path, profile: &Path, args: &[String]) -> (String, String) {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-sync",
        "--metrics-recording-only",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("chromium did not finish within 90 s")
        .expect("run chromium");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The text of the element with `id` in a serialized DOM (up to the next `<`).
fn by_id<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let rest = &dom[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(rest[start..end].trim())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else {
        if std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() == Ok("1") {
            panic!("chromium is required (scripts/emulators.sh install installs it)");
        }
        eprintln!("SKIPPED html_report_renders_in_headless_chromium: no chromium on PATH");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    // Two recorded runs of a real (in-memory) backend, one with a deliberately failing case
    // from a store that drops metadata is not needed: a failed section is synthesized from
    // the second run's JSON so the page shows failure details.
    let b = Bucket::new(
        "html",
        Arc::new(gureum_core::object_store::memory::InMemory::new()),
    );
    let rd = ResultsDir::new(&results);
    for _ in 0..2 {
        let r = storage::run(
            &b,
            &Options::default()
                .backend("mem (html test)")
                .target(Target::Embedded)
                .only("storage.put_get_small,storage.range_*,storage.presign_get"),
        )
        .await;
        rd.record(&r).unwrap();
    }
    let mut failing = storage::run(
        &b,
        &Options::default()
            .backend("broken <b>")
            .only("storage.put_get_small,storage.range_bounded"),
    )
    .await;
    failing.sections[0].cases[1].status = gureum_conformance::Status::Failed;
    failing.sections[0].cases[1].message = Some("range 2..5: got \"xyz\" <script>".into());
    // Write it as a "latest" JSON so the matrix and case table show a second backend.
    std::fs::write(results.join("storage-broken.json"), failing.to_json()).unwrap();

    // The page for the failing run, with the results directory's matrix and history.
    let page = dir.path().join("report.html");
    let json_path = dir.path().join("report.json");
    std::fs::write(&json_path, failing.to_json()).unwrap();
    let extra = gureum_conformance::html::Extra {
        latest: rd.latest().unwrap(),
        history: rd.history().unwrap(),
        assessments: rd.assessments().unwrap(),
    };
    std::fs::write(&page, gureum_conformance::html::render(&failing, &extra)).unwrap();
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();

    let profile = dir.path().join("profile");
    let url = format!("file://{}", page.display());
    let (dom, err) = browser(&bin, &profile, &["--dump-dom".into(), url.clone()]).await;
    assert!(dom.contains("</html>"), "no DOM from chromium: {err}");
    // The page's own script ran.
    assert!(
        dom.contains("data-ok=\"1\""),
        "the page script did not run: {err}"
    );
    // Numbers rendered by us and recomputed by the page match the JSON.
    for (name, want) in [
        ("passed", report.passed()),
        ("failed", report.failed()),
        ("unsupported", report.unsupported()),
        ("cases", report.cases().count()),
    ] {
        assert_eq!(
            by_id(&dom, &format!("total-{name}")),
            Some(want.to_string().as_str()),
            "server-rendered total {name}"
        );
        assert_eq!(
            by_id(&dom, &format!("js-total-{name}")),
            Some(format!("{name}={want}").as_str()),
            "total {name} recomputed by the page"
        );
    }
    assert_eq!(report.failed(), 1);
    // Failure details, escaped; both backends in the matrix; the history rows.
    assert!(
        dom.contains("range 2..5: got \"xyz\" &lt;script&gt;"),
        "failure details"
    );
    assert!(dom.contains("broken &lt;b&gt;") && dom.contains("mem (html test)"));
    assert_eq!(dom.matches("class=\"run\"").count(), 2, "history rows");
    assert!(dom.contains("class=\"badge lvl-"), "levels table");

    // A screenshot: a real PNG of a real size.
    let shot = dir.path().join("shot.png");
    let (_, err) = browser(
        &bin,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400".into(),
            url,
        ],
    )
    .await;
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {err}"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG");
    assert!(png.len() > 20_000, "screenshot of {} bytes", png.len());
    if let Ok(d) = std::env::var("GUREUM_CONFORMANCE_RESULTS_DIR") {
        std::fs::create_dir_all(&d).ok();
        std::fs::copy(&shot, Path::new(&d).join("html-report-screenshot.png")).ok();
    }

    // The runner writes the same kind of page from a results directory alone.
    let out = dir.path().join("from-results.html");
    let cli = Cli::parse_from([
        "conformance",
        "--results-dir",
        results.to_str().unwrap(),
        "--format",
        "html",
        "--certify",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        runner::run(&cli.args, &gureum_core::Registry::new())
            .await
            .unwrap(),
        EXIT_OK
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("id=\"report-data\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "page must not load anything"
    );
}
