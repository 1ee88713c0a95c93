//! `gureum doctor URL` and `gureum schemes`.

use crate::args::{DoctorArgs, ServiceArg};
use crate::location::{redact, ObjectUrl};
use crate::output::{exit_code_of, to_json, Out};
use gureum::{Error, ListOptions, Result, Service};
use std::time::Instant;

/// Result of checking one service.
struct Check {
    service: Service,
    open_ms: Option<f64>,
    probe: &'static str,
    probe_ms: Option<f64>,
    details: serde_json::Value,
    error: Option<Error>,
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

/// `gureum doctor URL [--service S]`: open, probe, print capabilities. Returns the exit code.
pub async fn run(a: DoctorArgs, out: &Out) -> Result<i32> {
    let u = ObjectUrl::parse(&a.url)?;
    let url = u.bucket.clone();
    let scheme = url.split("://").next().unwrap_or("").to_string();
    let reg = gureum::registry();
    let services: Vec<Service> = match a.service {
        Some(ServiceArg::Storage) => vec![Service::Storage],
        Some(ServiceArg::Queue) => vec![Service::Queue],
        Some(ServiceArg::Compute) => vec![Service::Compute],
        None => [Service::Storage, Service::Queue, Service::Compute]
            .into_iter()
            .filter(|s| reg.schemes(*s).contains(&scheme))
            .collect(),
    };
    if services.is_empty() {
        // Let the registry produce its "unknown scheme, known schemes are ..." error.
        reg.open_bucket(Some(&url)).await?;
        return Err(Error::invalid(format!(
            "no service is registered for {scheme}://"
        )));
    }
    let mut checks = Vec::new();
    for s in services {
        checks.push(check(&reg, s, &url).await);
    }
    let shown = redact(&url);
    if out.json {
        let list: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "service": c.service.as_str(),
                    "ok": c.error.is_none(),
                    "open_ms": c.open_ms,
                    "probe": c.probe,
                    "probe_ms": c.probe_ms,
                    "details": c.details,
                    "error": c.error.as_ref().map(|e| serde_json::json!({
                        "kind": e.kind().as_str(), "message": e.message(),
                        "provider_code": e.provider_code(), "request_id": e.request_id(),
                    })),
                })
            })
            .collect();
        out.json_line(&serde_json::json!({"url": shown, "checks": list}))?;
    } else {
        out.line(format!("gureum doctor {shown}"))?;
        for c in &checks {
            let status = match &c.error {
                None => "ok".to_string(),
                Some(e) => format!("FAILED error[{}]: {}", e.kind().as_str(), e.message()),
            };
            out.line(format!("{:<8} {status}", c.service.as_str()))?;
            if let Some(t) = c.open_ms {
                out.line(format!("  open:  {t} ms"))?;
            }
            if let Some(t) = c.probe_ms {
                out.line(format!("  probe: {} ({t} ms)", c.probe))?;
            }
            if let Some(m) = c.details.as_object() {
                for (k, v) in m {
                    out.line(format!("  {k}: {}", flat(v)))?;
                }
            }
        }
    }
    Ok(checks
        .iter()
        .find_map(|c| c.error.as_ref().map(exit_code_of))
        .unwrap_or(0))
}

fn flat(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", flat(v)))
            .collect::<Vec<_>>()
            .join(" "),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn check(reg: &gureum::Registry, service: Service, url: &str) -> Check {
    let mut c = Check {
        service,
        open_ms: None,
        probe: "",
        probe_ms: None,
        details: serde_json::json!({}),
        error: None,
    };
    let t = Instant::now();
    let r: Result<()> = async {
        match service {
            Service::Storage => {
                let b = reg.open_bucket(Some(url)).await?;
                c.open_ms = Some(ms(t));
                c.details = serde_json::json!({
                    "bucket": b.name(),
                    "backend": to_json(b.info()),
                    "capabilities": to_json(b.capabilities()),
                });
                c.probe = "list one object";
                let t = Instant::now();
                b.list_page(&ListOptions {
                    page_size: Some(1),
                    ..Default::default()
                })
                .await?;
                c.probe_ms = Some(ms(t));
            }
            Service::Queue => {
                let q = reg.open_queue(Some(url)).await?;
                c.open_ms = Some(ms(t));
                let caps = q.capabilities();
                c.details = serde_json::json!({
                    "queue": q.name(),
                    "capabilities": caps_json(&caps),
                });
                if caps.depth {
                    c.probe = "approximate depth";
                    let t = Instant::now();
                    let d = q.depth().await?;
                    c.probe_ms = Some(ms(t));
                    if let Some(m) = c.details.as_object_mut() {
                        m.insert("depth".into(), d.into());
                    }
                } else {
                    c.probe = "none (no depth capability)";
                }
            }
            Service::Compute => {
                let cp = reg.open_compute(Some(url)).await?;
                c.open_ms = Some(ms(t));
                c.details = serde_json::json!({ "capabilities": to_json(&cp.capabilities()) });
                c.probe = "list sizes";
                let t = Instant::now();
                let n = cp.sizes().await?.len();
                c.probe_ms = Some(ms(t));
                if let Some(m) = c.details.as_object_mut() {
                    m.insert("sizes".into(), n.into());
                }
            }
        }
        Ok(())
    }
    .await;
    c.error = r.err();
    c
}

fn caps_json(c: &gureum::QueueCapabilities) -> serde_json::Value {
    // Durations as seconds, which read better than serde's {secs, nanos}.
    let mut v = to_json(c);
    if let Some(m) = v.as_object_mut() {
        m.insert("max_visibility".into(), c.max_visibility.as_secs().into());
        m.insert("max_wait".into(), c.max_wait.as_secs().into());
    }
    v
}

/// `gureum schemes`: what this build can open (with each provider's own description), and
/// the schemes of providers that are not compiled in.
pub fn schemes(out: &Out) -> Result<()> {
    let reg = gureum::registry();
    for s in [Service::Storage, Service::Queue, Service::Compute] {
        let list = reg.schemes(s);
        let missing = reg.missing(s);
        if out.json {
            let details: Vec<serde_json::Value> = list
                .iter()
                .filter_map(|x| reg.scheme_info(s, x))
                .map(|i| {
                    serde_json::json!({"scheme": i.scheme, "feature": i.feature,
                        "zone": i.zone.as_str(), "description": i.description})
                })
                .collect();
            let not_compiled: Vec<serde_json::Value> = missing
                .iter()
                .map(|m| serde_json::json!({"scheme": m.scheme, "feature": m.feature}))
                .collect();
            out.json_line(&serde_json::json!({"service": s.as_str(), "schemes": list,
                "details": details, "not_compiled": not_compiled}))?;
        } else {
            let shown: Vec<String> = list.iter().map(|x| format!("{x}://")).collect();
            out.line(format!("{:<8} {}", s.as_str(), shown.join(" ")))?;
            if !missing.is_empty() {
                let m: Vec<String> = missing
                    .iter()
                    .map(|m| format!("{}:// (feature {})", m.scheme, m.feature))
                    .collect();
                out.line(format!("{:<8} not compiled in: {}", "", m.join(" ")))?;
            }
        }
    }
    Ok(())
}
