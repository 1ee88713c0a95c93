//! Civic-complaints intake (민원 접수).
//!
//! 1. **Intake**: a citizen files a complaint with attachments. The attachments and the
//!    complaint record go to a bucket under `complaints/<id>/`, and a job naming the
//!    complaint goes on a queue.
//! 2. **Worker**: [`Queue::process`] runs jobs with bounded concurrency. For each job the
//!    worker reads the complaint, verifies every attachment's size against the record,
//!    routes the complaint to a department and writes `results/<id>.json`. Jobs are
//!    idempotent (a redelivered job rewrites the same result), as at-least-once queues
//!    require.
//!
//! 3. **OCR workers**: [`start_ocr_workers`] provisions worker instances for scanned
//!    attachments from a portable size and image alias on whatever compute the city uses
//!    (local processes, EC2, Nova, Naver Cloud servers, Azure VMs), tagged with the run;
//!    [`stop_ocr_workers`] terminates them and waits until they are gone.
//!
//! Nothing here names a vendor; the caller opens the [`Bucket`], [`Queue`] and [`Compute`]
//! from URLs.

use gureum::{
    Bucket, Compute, Error, InstanceSpec, InstanceState, Message, ProcessOptions, PutOptions,
    Queue, ReceivedMessage, Result, Size,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The data class of complaint records and attachments for the placement policy: they carry
/// citizens' names, addresses and photos.
pub const DATA_CLASS: &str = "personal";

/// One attachment as filed.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name (`photo.jpg`).
    pub name: String,
    /// Content type.
    pub content_type: String,
    /// Bytes.
    pub data: Vec<u8>,
}

/// A complaint as filed by a citizen.
#[derive(Debug, Clone)]
pub struct Complaint {
    /// Receipt number (`2026-1125-0001`).
    pub id: String,
    /// District (구).
    pub district: String,
    /// Complaint text.
    pub text: String,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// The stored complaint record (`complaints/<id>/complaint.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ComplaintRecord {
    /// Receipt number.
    pub id: String,
    /// District.
    pub district: String,
    /// Text.
    pub text: String,
    /// Attachment keys and their sizes in bytes.
    pub attachments: BTreeMap<String, u64>,
    /// When it was filed (RFC 3339).
    pub filed_at: String,
}

/// The job on the queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Job {
    /// Receipt number.
    pub complaint_id: String,
    /// Which intake run filed it (a demo run waits for its own jobs).
    pub run: String,
}

/// The worker's result (`results/<id>.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcome {
    /// Receipt number.
    pub complaint_id: String,
    /// Department code the complaint is routed to.
    pub department: String,
    /// Department name.
    pub department_name: String,
    /// Number of attachments.
    pub attachments: usize,
    /// Their total size.
    pub attachment_bytes: u64,
    /// Every attachment exists with the size recorded at intake.
    pub attachments_verified: bool,
    /// When the worker finished (RFC 3339).
    pub processed_at: String,
}

/// Key of a complaint record.
pub fn record_key(id: &str) -> String {
    format!("complaints/{id}/complaint.json")
}
/// Key of a result.
pub fn result_key(id: &str) -> String {
    format!("results/{id}.json")
}

/// File a complaint: store attachments and the record, then enqueue the job.
pub async fn intake(bucket: &Bucket, queue: &Queue, c: &Complaint, run: &str) -> Result<String> {
    let mut attachments = BTreeMap::new();
    for a in &c.attachments {
        let key = format!("complaints/{}/attachments/{}", c.id, a.name);
        bucket
            .put_with(
                &key,
                a.data.clone(),
                &PutOptions::default()
                    .content_type(a.content_type.clone())
                    .metadata("complaint-id", c.id.clone()),
            )
            .await?;
        attachments.insert(key, a.data.len() as u64);
    }
    let record = ComplaintRecord {
        id: c.id.clone(),
        district: c.district.clone(),
        text: c.text.clone(),
        attachments,
        filed_at: chrono::Utc::now().to_rfc3339(),
    };
    bucket
        .put_with(
            &record_key(&c.id),
            to_vec(&record)?,
            &PutOptions::default().content_type("application/json"),
        )
        .await?;
    let job = Job {
        complaint_id: c.id.clone(),
        run: run.to_string(),
    };
    queue
        .send(Message::new(to_vec(&job)?).attribute("type", "complaint.filed"))
        .await
}

/// Route by keywords in the text: (code, name).
pub fn route(text: &str) -> (&'static str, &'static str) {
    const RULES: &[(&[&str], &str, &str)] = &[
        (&["포트홀", "도로", "보도블록"], "ROADS", "도로과"),
        (
            &["쓰레기", "무단투기", "분리수거"],
            "SANITATION",
            "자원순환과",
        ),
        (&["가로등", "신호등"], "SAFETY", "안전총괄과"),
        (&["소음", "공사"], "ENVIRONMENT", "환경정책과"),
    ];
    for (words, code, name) in RULES {
        if words.iter().any(|w| text.contains(w)) {
            return (code, name);
        }
    }
    ("GENERAL", "민원여권과")
}

/// Handle one job: read the record, verify attachments, write the result.
pub async fn handle(bucket: &Bucket, job: &Job) -> Result<Outcome> {
    let raw = bucket.get(&record_key(&job.complaint_id)).await?;
    let record: ComplaintRecord = serde_json::from_slice(&raw).map_err(|e| {
        Error::new(
            gureum::ErrorKind::Integrity,
            format!("complaint record: {e}"),
        )
    })?;
    let mut verified = true;
    let mut total = 0;
    for (key, size) in &record.attachments {
        let info = bucket.head(key).await?;
        verified &= info.size == *size;
        total += info.size;
    }
    let (code, name) = route(&record.text);
    let outcome = Outcome {
        complaint_id: record.id.clone(),
        department: code.to_string(),
        department_name: name.to_string(),
        attachments: record.attachments.len(),
        attachment_bytes: total,
        attachments_verified: verified,
        processed_at: chrono::Utc::now().to_rfc3339(),
    };
    bucket
        .put_with(
            &result_key(&record.id),
            to_vec(&outcome)?,
            &PutOptions::default().content_type("application/json"),
        )
        .await?;
    Ok(outcome)
}

/// What a demo run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Complaints filed by this run.
    pub filed: usize,
    /// Of those, processed by the worker.
    pub processed: usize,
    /// Jobs from earlier runs that the worker also handled.
    pub earlier_jobs: u64,
    /// Results read back from the bucket.
    pub results_read_back: usize,
    /// Attachment bytes stored.
    pub attachment_bytes: u64,
    /// Complaints per department.
    pub by_department: BTreeMap<String, usize>,
    /// All attachments verified.
    pub all_verified: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: u128,
    /// Storage backend scheme.
    pub storage_scheme: String,
    /// Queue name.
    pub queue_name: String,
}

/// Sample complaints.
pub fn sample_complaints(prefix: &str) -> Vec<Complaint> {
    let photo = |seed: u8, n: usize| {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
        v.extend((0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
        v
    };
    vec![
        Complaint {
            id: format!("{prefix}-0001"),
            district: "중구".into(),
            text: "시청 앞 도로에 포트홀이 생겨 차량 통행이 위험합니다.".into(),
            attachments: vec![Attachment {
                name: "pothole.jpg".into(),
                content_type: "image/jpeg".into(),
                data: photo(1, 48 * 1024),
            }],
        },
        Complaint {
            id: format!("{prefix}-0002"),
            district: "동구".into(),
            text: "공원 입구에 쓰레기 무단투기가 계속됩니다.".into(),
            attachments: vec![
                Attachment {
                    name: "photo 1.jpg".into(),
                    content_type: "image/jpeg".into(),
                    data: photo(2, 20 * 1024),
                },
                Attachment {
                    name: "위치.txt".into(),
                    content_type: "text/plain; charset=utf-8".into(),
                    data: "동구 공원로 12 입구 앞".as_bytes().to_vec(),
                },
            ],
        },
        Complaint {
            id: format!("{prefix}-0003"),
            district: "서구".into(),
            text: "골목 가로등이 일주일째 꺼져 있습니다.".into(),
            attachments: vec![],
        },
        Complaint {
            id: format!("{prefix}-0004"),
            district: "남구".into(),
            text: "주민센터 운영 시간을 알고 싶습니다.".into(),
            attachments: vec![Attachment {
                name: "문의서.pdf".into(),
                content_type: "application/pdf".into(),
                data: b"%PDF-1.4\n% civic complaint form\n".to_vec(),
            }],
        },
    ]
}

/// File the sample complaints, run the worker until they are all processed (or `deadline`
/// passes), read the results back and summarize.
pub async fn run_demo(bucket: &Bucket, queue: &Queue, deadline: Duration) -> Result<Summary> {
    let started = Instant::now();
    let run = format!("run-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    let complaints = sample_complaints(&run);
    let mut summary = Summary {
        storage_scheme: bucket.info().scheme.clone(),
        queue_name: queue.name().to_string(),
        ..Default::default()
    };
    for c in &complaints {
        intake(bucket, queue, c, &run).await?;
        summary.filed += 1;
        summary.attachment_bytes += c
            .attachments
            .iter()
            .map(|a| a.data.len() as u64)
            .sum::<u64>();
    }

    // Worker.
    let mine = Arc::new(AtomicU64::new(0));
    let earlier = Arc::new(AtomicU64::new(0));
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let done = Arc::new(tokio::sync::Notify::new());
    let wanted = complaints.len() as u64;
    let handler = {
        let (bucket, run) = (bucket.clone(), run.clone());
        let (mine, earlier, outcomes, done) = (
            mine.clone(),
            earlier.clone(),
            outcomes.clone(),
            done.clone(),
        );
        move |m: ReceivedMessage| {
            let (bucket, run) = (bucket.clone(), run.clone());
            let (mine, earlier, outcomes, done) = (
                mine.clone(),
                earlier.clone(),
                outcomes.clone(),
                done.clone(),
            );
            async move {
                let job: Job = serde_json::from_slice(&m.body)?;
                let outcome = handle(&bucket, &job).await?;
                if job.run == run {
                    outcomes.lock().map_err(|_| "poisoned")?.push(outcome);
                    if mine.fetch_add(1, Ordering::SeqCst) + 1 >= wanted {
                        done.notify_one();
                    }
                } else {
                    earlier.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        }
    };
    let opts = ProcessOptions {
        concurrency: 2,
        visibility: Duration::from_secs(30),
        wait: Duration::from_millis(500),
        retry_delay: Duration::from_millis(100),
        max_messages: None,
    };
    let remaining = deadline.saturating_sub(started.elapsed());
    let shutdown = async move {
        tokio::select! {
            _ = done.notified() => {}
            _ = tokio::time::sleep(remaining) => {}
        }
    };
    let stats = queue.process(opts, shutdown, handler).await?;
    summary.processed = mine.load(Ordering::SeqCst) as usize;
    summary.earlier_jobs = earlier.load(Ordering::SeqCst);
    if summary.processed < summary.filed {
        return Err(Error::new(
            gureum::ErrorKind::Timeout,
            format!(
                "worker processed {} of {} complaints within {deadline:?} ({} handler failures)",
                summary.processed, summary.filed, stats.failed
            ),
        ));
    }

    // Read the results back, as a clerk's dashboard would.
    summary.all_verified = true;
    for c in &complaints {
        let o: Outcome = serde_json::from_slice(&bucket.get(&result_key(&c.id)).await?)
            .map_err(|e| Error::new(gureum::ErrorKind::Integrity, format!("result: {e}")))?;
        summary.results_read_back += 1;
        summary.all_verified &= o.attachments_verified;
        *summary.by_department.entry(o.department_name).or_default() += 1;
    }
    summary.elapsed_ms = started.elapsed().as_millis();
    Ok(summary)
}

/// The OCR worker pool of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OcrWorkers {
    /// Instance ids.
    pub ids: Vec<String>,
    /// Provider size the portable size resolved to (e.g. `local.small`, `t2.micro`).
    pub size: Option<String>,
    /// Provider image the alias resolved to.
    pub image: Option<String>,
    /// How many reached `Running`.
    pub running: usize,
}

/// The portable image alias of the OCR workers (every provider maps it to its own image).
pub const OCR_IMAGE: &str = "ubuntu-22.04";

/// Start `n` OCR workers (1 vCPU, 1 GiB, [`OCR_IMAGE`]) tagged `app=civic-complaints`,
/// `role=ocr`, `run=RUN`, and wait until each runs. The user data tells a worker which queue
/// to serve (its name only: user data is readable by anyone who can describe the instance,
/// so it never carries a URL with credentials). On failure, what was created is terminated.
pub async fn start_ocr_workers(
    compute: &Compute,
    queue: &Queue,
    run: &str,
    n: usize,
    timeout: Duration,
) -> Result<OcrWorkers> {
    let mut w = OcrWorkers::default();
    let r = async {
        for i in 1..=n {
            let user_data = format!(
                "#!/bin/sh\n# civic-complaints OCR worker {i} of run {run}\nexec civic-ocr-worker --queue '{}'\n",
                queue.name()
            );
            let spec = InstanceSpec::new(format!("civic-ocr-{i}"))
                .size(Size::vcpus(1).memory_gib(1))
                .image(OCR_IMAGE)
                .tag("app", "civic-complaints")
                .tag("role", "ocr")
                .tag("run", run)
                .user_data(user_data.into_bytes())
                .idempotency_token(format!("{run}-ocr-{i}"));
            let inst = compute.create(spec).await?;
            w.size = w.size.take().or(inst.size.clone());
            w.image = w.image.take().or(inst.image.clone());
            w.ids.push(inst.id);
        }
        for id in &w.ids {
            compute.wait_until(id, InstanceState::Running, timeout).await?;
            w.running += 1;
        }
        Ok::<(), Error>(())
    }
    .await;
    match r {
        Ok(()) => Ok(w),
        Err(e) => {
            let _ = stop_ocr_workers(compute, &w, timeout).await;
            Err(e)
        }
    }
}

/// Terminate the workers and wait until each is `Terminated` (or gone). Returns how many.
pub async fn stop_ocr_workers(
    compute: &Compute,
    w: &OcrWorkers,
    timeout: Duration,
) -> Result<usize> {
    for id in &w.ids {
        compute.terminate(id).await?;
    }
    for id in &w.ids {
        compute
            .wait_until(id, InstanceState::Terminated, timeout)
            .await?;
    }
    Ok(w.ids.len())
}

fn to_vec<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::other(format!("json: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_keyword() {
        assert_eq!(route("도로에 포트홀").0, "ROADS");
        assert_eq!(route("쓰레기 무단투기").0, "SANITATION");
        assert_eq!(route("안녕하세요").0, "GENERAL");
    }
}
