//! The certification levels in docs/providers.md are generated from the committed results in
//! docs/conformance/results/: this test fails when the table is stale. Refresh it with
//! `gureum conformance --certify --results-dir docs/conformance/results --publish docs/providers.md`
//! (or `GUREUM_PUBLISH=1 cargo test -p gureum-conformance --test published`, which writes it).

use gureum_conformance::certify::{self, ResultsDir, BEGIN_MARK, END_MARK};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn providers_md_levels_match_committed_results() {
    let results = root().join("docs/conformance/results");
    let rd = ResultsDir::new(&results);
    let assessments = rd.assessments().expect("read the committed history");
    assert!(
        !assessments.is_empty(),
        "no run history in {}",
        results.display()
    );
    let doc_path = root().join("docs/providers.md");
    if std::env::var("GUREUM_PUBLISH").as_deref() == Ok("1") {
        certify::publish(&results, &doc_path).expect("publish");
    }
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    assert!(
        doc.contains(BEGIN_MARK) && doc.contains(END_MARK),
        "docs/providers.md has no generated levels block"
    );
    let want = certify::splice(&doc, &certify::levels_table(&assessments));
    assert!(
        want == doc,
        "docs/providers.md levels are stale; run: gureum conformance --certify \
         --results-dir docs/conformance/results --publish docs/providers.md"
    );
    // Every latest report parses and states its target.
    for r in rd.latest().expect("read the latest reports") {
        for s in &r.sections {
            assert!(
                s.target.is_some(),
                "{} {} has no target kind",
                s.area,
                s.backend
            );
        }
    }
}
