//! The HTML report: one self-contained page (inline CSS and script, no network) with the
//! summary, certification levels, the capability matrix across backends, per-case outcomes
//! with timings and failure details, and the history of runs.
//!
//! The page embeds its numbers as JSON (`<script id="report-data">`); a small inline script
//! recomputes the totals from that JSON into `#js-totals` and adds a case filter, so a
//! headless browser can check that the page loaded and that its numbers match the report.

use crate::certify::{Assessment, RunRecord};
use crate::report::{cap_value, one_line, Report, Section, Status};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What the page shows besides the report itself.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// The latest reports of other backends (their sections join the matrix and case
    /// tables; a section of the main report wins over one with the same area and backend).
    pub latest: Vec<Report>,
    /// Run history per `(area, backend)`.
    pub history: BTreeMap<(String, String), Vec<RunRecord>>,
    /// Certification levels.
    pub assessments: Vec<Assessment>,
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Passed => "pass",
        Status::Failed => "fail",
        Status::Unsupported => "unsup",
        Status::UnexpectedlyWorks => "unexp",
        Status::Skipped => "skip",
    }
}

const STATUSES: [Status; 5] = [
    Status::Passed,
    Status::Failed,
    Status::Unsupported,
    Status::UnexpectedlyWorks,
    Status::Skipped,
];

const CSS: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#57606a}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#dafbe1}.fail{background:#ffebe9;font-weight:600}.unsup{background:#f6f8fa;color:#57606a}
.unexp{background:#fff8c5}.skip{background:#eef1f4;color:#57606a}.yes{color:#1a7f37}.no{color:#8c959f}
.lvl-stable{background:#1a7f37;color:#fff}.lvl-beta{background:#0969da;color:#fff}.lvl-alpha{background:#bf8700;color:#fff}.lvl-none{background:#cf222e;color:#fff}
.badge{border-radius:10px;padding:1px 8px;font-weight:600}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:22px}code{font:12px ui-monospace,monospace}
details{margin:2px 0}summary{cursor:pointer}#filter{padding:4px 8px;width:320px;margin:4px 0}
.bar{display:inline-block;height:10px;background:#2da44e;vertical-align:middle}.barf{background:#cf222e}
"#;

const SCRIPT: &str = r#"
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var t = {passed:0,failed:0,unsupported:0,unexpectedly_works:0,skipped:0,cases:0};
  data.sections.forEach(function(s){
    Object.keys(t).forEach(function(k){ t[k] += s[k]; });
  });
  var el = document.getElementById('js-totals');
  el.setAttribute('data-ok', '1');
  Object.keys(t).forEach(function(k){
    var span = document.createElement('span');
    span.id = 'js-total-' + k;
    span.textContent = k + '=' + t[k] + ' ';
    el.appendChild(span);
  });
  var f = document.getElementById('filter');
  if (f) f.addEventListener('input', function(){
    var q = f.value.toLowerCase();
    document.querySelectorAll('tr.case').forEach(function(r){
      r.style.display = r.getAttribute('data-name').indexOf(q) >= 0 ? '' : 'none';
    });
  });
})();
"#;

/// Render `report` (and `extra`) as one self-contained HTML page.
pub fn render(report: &Report, extra: &Extra) -> String {
    // Sections shown in the matrix and case tables: the report's, then the latest of others.
    let mut all: Vec<&Section> = report.sections.iter().collect();
    for r in &extra.latest {
        for s in &r.sections {
            if !all
                .iter()
                .any(|x| x.area == s.area && x.backend == s.backend)
            {
                all.push(s);
            }
        }
    }
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>gureum conformance {}</title><style>{CSS}</style></head><body>\n",
        esc(&report.run_id)
    );
    let _ = writeln!(h, "<h1>gureum conformance</h1>");
    let _ = writeln!(
        h,
        "<p class=\"meta\">Run <code id=\"run-id\">{}</code> started {} · {} section(s) in this run, {} backend section(s) on the page · {:.1} s</p>",
        esc(&report.run_id),
        report.started_at.format("%Y-%m-%d %H:%M UTC"),
        report.sections.len(),
        all.len(),
        report.duration_ms as f64 / 1000.0
    );
    // Summary cards (this report's totals).
    let _ = writeln!(h, "<div class=\"cards\" id=\"totals\">");
    let total = report.cases().count();
    let _ = writeln!(
        h,
        "<div class=\"card\"><b id=\"total-cases\">{total}</b>cases</div>"
    );
    for st in STATUSES {
        let _ = writeln!(
            h,
            "<div class=\"card {}\"><b id=\"total-{}\">{}</b>{}</div>",
            status_class(st),
            st.as_str(),
            report.count(st),
            st.as_str().replace('_', " ")
        );
    }
    let _ = writeln!(h, "</div>");
    let _ = writeln!(
        h,
        "<p class=\"meta\">Recomputed in the browser from the embedded JSON: <span id=\"js-totals\" data-ok=\"0\"></span></p>"
    );
    // Per-section summary.
    let _ = writeln!(h, "<h2 id=\"sections\">Sections of this run</h2><table><tr><th>area</th><th>backend</th><th>target</th><th>passed</th><th>failed</th><th>unsupported</th><th>unexpectedly works</th><th>skipped</th><th>time</th></tr>");
    for s in &report.sections {
        let ms: u64 = s.cases.iter().map(|c| c.duration_ms).sum();
        let _ = writeln!(
            h,
            "<tr class=\"section\" data-area=\"{}\" data-backend=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1} s</td></tr>",
            esc(&s.area),
            esc(&s.backend),
            esc(&s.area),
            esc(&s.backend),
            s.target.map(|t| t.as_str()).unwrap_or("—"),
            s.count(Status::Passed),
            if s.count(Status::Failed) > 0 { " fail" } else { "" },
            s.count(Status::Failed),
            s.count(Status::Unsupported),
            s.count(Status::UnexpectedlyWorks),
            s.count(Status::Skipped),
            ms as f64 / 1000.0
        );
    }
    let _ = writeln!(h, "</table>");
    // Levels.
    if !extra.assessments.is_empty() {
        let _ = writeln!(h, "<h2 id=\"levels\">Certification levels</h2><table><tr><th>area</th><th>backend</th><th>target</th><th>level</th><th>clean runs</th><th>for the next level</th></tr>");
        for a in &extra.assessments {
            let _ = writeln!(
                h,
                "<tr class=\"level\"><td>{}</td><td>{}</td><td>{}</td><td><span class=\"badge lvl-{}\">{}</span></td><td class=\"num\">{} of {}</td><td>{}</td></tr>",
                esc(&a.area),
                esc(&a.backend),
                a.target.as_str(),
                a.level.as_str(),
                a.level.as_str(),
                a.clean_streak,
                a.runs,
                if a.next.is_empty() {
                    "—".into()
                } else {
                    esc(&a.next.join("; "))
                }
            );
        }
        let _ = writeln!(h, "</table>");
    }
    // Matrix and cases per area.
    let mut areas: Vec<&str> = Vec::new();
    for s in &all {
        if !areas.contains(&s.area.as_str()) {
            areas.push(&s.area);
        }
    }
    let _ = writeln!(
        h,
        "<h2 id=\"cases\">Cases</h2><input id=\"filter\" placeholder=\"filter cases, e.g. pages_ or dead_letter\">"
    );
    for area in &areas {
        let secs: Vec<&&Section> = all.iter().filter(|s| &s.area == area).collect();
        let _ = writeln!(
            h,
            "<h3 id=\"matrix-{area}\">{area}: capability matrix</h3><table class=\"matrix\"><tr><th>capability</th>"
        );
        for s in &secs {
            let _ = write!(h, "<th>{}</th>", esc(&s.backend));
        }
        let _ = writeln!(h, "</tr>");
        let mut flags: Vec<&String> = Vec::new();
        for s in &secs {
            for k in s.capabilities.keys() {
                if !flags.contains(&k) {
                    flags.push(k);
                }
            }
        }
        for f in flags {
            let _ = write!(h, "<tr><td><code>{}</code></td>", esc(f));
            for s in &secs {
                let v = s.capabilities.get(f).map(cap_value).unwrap_or_default();
                let cls = match v.as_str() {
                    "yes" => "yes",
                    "no" => "no",
                    _ => "",
                };
                let _ = write!(h, "<td class=\"{cls}\">{}</td>", esc(&v));
            }
            let _ = writeln!(h, "</tr>");
        }
        let _ = writeln!(h, "</table>");
        let _ = writeln!(
            h,
            "<h3>{area}: outcomes</h3><table class=\"outcomes\" id=\"outcomes-{area}\"><tr><th>case</th><th>requirement</th>"
        );
        for s in &secs {
            let _ = write!(h, "<th>{}</th>", esc(&s.backend));
        }
        let _ = writeln!(h, "</tr>");
        let mut names: Vec<(&str, String)> = Vec::new();
        for s in &secs {
            for c in &s.cases {
                if !names.iter().any(|(n, _)| *n == c.name) {
                    names.push((&c.name, c.requirement.label()));
                }
            }
        }
        for (n, req) in &names {
            let _ = write!(
                h,
                "<tr class=\"case\" data-name=\"{}\"><td><code>{}</code></td><td>{}</td>",
                esc(n),
                esc(n),
                esc(req)
            );
            for s in &secs {
                match s.cases.iter().find(|c| c.name == *n) {
                    Some(c) => {
                        let _ = write!(
                            h,
                            "<td class=\"{}\" data-status=\"{}\" title=\"{} ms\">{} <small>{} ms</small>",
                            status_class(c.status),
                            c.status.as_str(),
                            c.duration_ms,
                            c.status.as_str().replace('_', " "),
                            c.duration_ms
                        );
                        if let Some(m) = &c.message {
                            let _ = write!(
                                h,
                                "<details><summary>details</summary>{}</details>",
                                esc(&one_line(m))
                            );
                        }
                        let _ = write!(h, "</td>");
                    }
                    None => {
                        let _ = write!(h, "<td></td>");
                    }
                }
            }
            let _ = writeln!(h, "</tr>");
        }
        let _ = writeln!(h, "</table>");
    }
    // History.
    if !extra.history.is_empty() {
        let _ = writeln!(h, "<h2 id=\"history\">History of runs</h2><table><tr><th>area</th><th>backend</th><th>run</th><th>started</th><th>target</th><th>full</th><th>passed</th><th>failed</th><th>time</th><th></th></tr>");
        for runs in extra.history.values() {
            for r in runs.iter().rev() {
                let passed = r
                    .statuses
                    .values()
                    .filter(|s| **s == Status::Passed)
                    .count();
                let failed = r
                    .statuses
                    .values()
                    .filter(|s| **s == Status::Failed)
                    .count();
                let n = r.statuses.len().max(1);
                let _ = writeln!(
                    h,
                    "<tr class=\"run\"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{passed}</td><td class=\"num{}\">{failed}</td><td class=\"num\">{:.1} s</td><td><span class=\"bar\" style=\"width:{}px\"></span><span class=\"bar barf\" style=\"width:{}px\"></span></td></tr>",
                    esc(&r.area),
                    esc(&r.backend),
                    esc(&r.run_id),
                    r.started_at.format("%Y-%m-%d %H:%M"),
                    r.target.as_str(),
                    if r.full { "yes" } else { "partial" },
                    if failed > 0 { " fail" } else { "" },
                    r.duration_ms as f64 / 1000.0,
                    passed * 120 / n,
                    failed * 120 / n
                );
            }
        }
        let _ = writeln!(h, "</table>");
    }
    // Embedded data for the script and for machines.
    let data = serde_json::json!({
        "run_id": report.run_id,
        "sections": report.sections.iter().map(|s| serde_json::json!({
            "area": s.area,
            "backend": s.backend,
            "passed": s.count(Status::Passed),
            "failed": s.count(Status::Failed),
            "unsupported": s.count(Status::Unsupported),
            "unexpectedly_works": s.count(Status::UnexpectedlyWorks),
            "skipped": s.count(Status::Skipped),
            "cases": s.cases.len(),
        })).collect::<Vec<_>>(),
    });
    let json = data.to_string().replace("</", "<\\/");
    let _ = writeln!(
        h,
        "<script id=\"report-data\" type=\"application/json\">{json}</script>\n<script>{SCRIPT}</script>\n</body></html>"
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_escaped() {
        let mut r = Report::new("run<1>");
        r.sections.push(Section {
            area: "storage".into(),
            backend: "b&</script>".into(),
            capabilities: [("presign".to_string(), serde_json::Value::Bool(true))].into(),
            cases: vec![crate::report::CaseResult {
                name: "storage.x".into(),
                requirement: crate::report::Requirement::Required,
                advertised: true,
                status: Status::Failed,
                duration_ms: 12,
                message: Some("<b>boom</b>".into()),
            }],
            notes: vec![],
            target: None,
        });
        let h = render(&r, &Extra::default());
        assert!(h.contains("id=\"total-failed\">1<"), "{h}");
        assert!(h.contains("&lt;b&gt;boom&lt;/b&gt;"));
        assert!(!h.contains("b&</script>"));
        assert!(
            !h.contains("http://") && !h.contains("https://"),
            "no network"
        );
    }
}
