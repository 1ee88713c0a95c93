//! Open-data publisher (공공데이터 개방): anonymised traffic statistics to a public bucket with
//! presigned download links.
//!
//! 1. **Readings**: road sensors report one reading per passing vehicle — road segment, hour,
//!    licence plate and speed. Plates are personal data and never leave this step.
//! 2. **Anonymise** ([`anonymise`]): readings are aggregated per segment and hour (vehicle
//!    count, mean speed), plates are dropped, and a cell with fewer than `k` vehicles is
//!    suppressed (k-anonymity: a small count could single out a person).
//! 3. **Publish** ([`publish`]): `traffic/<date>/segments.csv` (UTF-8 with BOM, so a
//!    spreadsheet opens Hangul road names correctly), `segments.json`, and `index.json` listing
//!    each file with a presigned download link (where the backend has them: S3, Azure Blob,
//!    Swift TempURL; `file://` has none and the index says so).

use gureum::{Bucket, Error, ErrorKind, PresignMethod, PutOptions, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One sensor reading (personal data: the plate).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Road segment (`세종대로 (광화문→시청)`).
    pub segment: String,
    /// Hour of the day, 0–23.
    pub hour: u8,
    /// Licence plate (`12가3456`).
    pub plate: String,
    /// Speed in km/h.
    pub speed_kmh: f64,
}

/// One published statistic: no plate, no single vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentStat {
    /// Road segment.
    pub segment: String,
    /// Hour of the day.
    pub hour: u8,
    /// Vehicles counted.
    pub vehicles: u64,
    /// Mean speed in km/h, one decimal.
    pub avg_speed_kmh: f64,
}

/// The anonymised data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Published cells, ordered by segment and hour.
    pub cells: Vec<SegmentStat>,
    /// Cells withheld because they counted fewer than `k` vehicles.
    pub suppressed_cells: usize,
    /// Vehicles in the withheld cells.
    pub suppressed_vehicles: u64,
    /// The threshold used.
    pub k: u64,
}

/// Road segments of the sample data.
pub const SEGMENTS: &[&str] = &[
    "세종대로 (광화문→시청)",
    "테헤란로 (강남역→삼성역)",
    "올림픽대로 (여의도→반포)",
    "종로 (종각→동대문)",
];

/// Deterministic sample readings for one day (`seed` varies the day): a few thousand
/// vehicles, with quiet night hours that fall under the k-anonymity threshold.
pub fn sample_readings(seed: u64) -> Vec<Reading> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u32
    };
    const HANGUL: &[&str] = &["가", "나", "다", "라", "마", "거", "너", "더", "러", "머"];
    let mut out = Vec::new();
    for (si, segment) in SEGMENTS.iter().enumerate() {
        for hour in 0u8..24 {
            // Rush hours are busy; 1–4 h sees only a couple of cars.
            let base = match hour {
                7..=9 | 17..=19 => 40,
                1..=4 => 1,
                _ => 12,
            };
            let n = base + (next() % 4) as usize + si;
            for _ in 0..n {
                let plate = format!(
                    "{:02}{}{:04}",
                    next() % 100,
                    HANGUL[(next() as usize) % HANGUL.len()],
                    next() % 10_000
                );
                let limit = if segment.starts_with("올림픽대로") {
                    80.0
                } else {
                    50.0
                };
                let speed = limit * (0.4 + (next() % 600) as f64 / 1000.0);
                out.push(Reading {
                    segment: segment.to_string(),
                    hour,
                    plate,
                    speed_kmh: speed,
                });
            }
        }
    }
    out
}

/// Aggregate per segment and hour and suppress cells under `k` vehicles.
pub fn anonymise(readings: &[Reading], k: u64) -> Result<Stats> {
    if k == 0 {
        return Err(Error::invalid("k-anonymity threshold must be at least 1"));
    }
    let mut acc: BTreeMap<(String, u8), (u64, f64)> = BTreeMap::new();
    for r in readings {
        if r.hour > 23 || !r.speed_kmh.is_finite() || r.speed_kmh < 0.0 {
            return Err(Error::invalid(format!(
                "bad reading on {}: hour {} speed {}",
                r.segment, r.hour, r.speed_kmh
            )));
        }
        let e = acc.entry((r.segment.clone(), r.hour)).or_default();
        e.0 += 1;
        e.1 += r.speed_kmh;
    }
    let mut stats = Stats {
        cells: Vec::new(),
        suppressed_cells: 0,
        suppressed_vehicles: 0,
        k,
    };
    for ((segment, hour), (n, sum)) in acc {
        if n < k {
            stats.suppressed_cells += 1;
            stats.suppressed_vehicles += n;
            continue;
        }
        stats.cells.push(SegmentStat {
            segment,
            hour,
            vehicles: n,
            avg_speed_kmh: (sum / n as f64 * 10.0).round() / 10.0,
        });
    }
    Ok(stats)
}

/// CSV of the cells: UTF-8 with a byte-order mark, `segment,hour,vehicles,avg_speed_kmh`.
pub fn to_csv(stats: &Stats) -> String {
    let mut s = String::from("\u{feff}segment,hour,vehicles,avg_speed_kmh\n");
    for c in &stats.cells {
        // Segment names contain spaces and arrows but never quotes; quote them anyway.
        s.push_str(&format!(
            "\"{}\",{},{},{:.1}\n",
            c.segment.replace('"', "\"\""),
            c.hour,
            c.vehicles,
            c.avg_speed_kmh
        ));
    }
    s
}

/// One published file in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedFile {
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Content type.
    pub content_type: String,
    /// Presigned GET link, if the backend supports them.
    pub download_url: Option<String>,
}

/// `index.json` of one publication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Data set title.
    pub title: String,
    /// Day the statistics cover (`YYYY-MM-DD`).
    pub date: String,
    /// Licence of the data (공공누리 제1유형: attribution).
    pub licence: String,
    /// How the data were anonymised.
    pub method: String,
    /// Published cells.
    pub cells: usize,
    /// Withheld cells.
    pub suppressed_cells: usize,
    /// The files.
    pub files: Vec<PublishedFile>,
    /// Link lifetime in seconds, when links are given.
    pub links_expire_secs: Option<u64>,
    /// Why there are no links, when there are none.
    pub links_note: Option<String>,
}

/// Write the statistics under `traffic/<date>/` and an `index.json` with download links valid
/// for `expires`. Returns the index.
pub async fn publish(
    bucket: &Bucket,
    date: &str,
    stats: &Stats,
    expires: Duration,
) -> Result<Index> {
    if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return Err(Error::invalid(format!("date {date:?} is not YYYY-MM-DD")));
    }
    let prefix = format!("traffic/{date}");
    let json =
        serde_json::to_vec_pretty(&stats.cells).map_err(|e| Error::other(format!("json: {e}")))?;
    let files = [
        (
            "segments.csv",
            "text/csv; charset=utf-8",
            to_csv(stats).into_bytes(),
        ),
        ("segments.json", "application/json", json),
    ];
    let mut index = Index {
        title: "서울시 도로 구간별 시간대 교통량 (익명화)".into(),
        date: date.to_string(),
        licence: "KOGL Type 1 (공공누리 제1유형)".into(),
        method: format!(
            "aggregated per road segment and hour, licence plates removed, cells with fewer than {} vehicles withheld",
            stats.k
        ),
        cells: stats.cells.len(),
        suppressed_cells: stats.suppressed_cells,
        files: Vec::new(),
        links_expire_secs: None,
        links_note: None,
    };
    for (name, content_type, body) in files {
        let key = format!("{prefix}/{name}");
        let bytes = body.len() as u64;
        bucket
            .put_with(
                &key,
                body,
                &PutOptions::default()
                    .content_type(content_type)
                    .metadata("dataset", "traffic-segments")
                    .metadata("date", date),
            )
            .await?;
        let download_url = match bucket.presign(PresignMethod::Get, &key, expires).await {
            Ok(u) => {
                index.links_expire_secs = Some(expires.as_secs());
                Some(u.to_string())
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                index.links_note = Some(format!(
                    "{}:// has no presigned URLs; publish on a cloud bucket (s3, azblob, swift) for download links",
                    bucket.info().scheme
                ));
                None
            }
            Err(e) => return Err(e),
        };
        index.files.push(PublishedFile {
            key,
            bytes,
            content_type: content_type.to_string(),
            download_url,
        });
    }
    let body = serde_json::to_vec_pretty(&index).map_err(|e| Error::other(format!("json: {e}")))?;
    bucket
        .put_with(
            &format!("{prefix}/index.json"),
            body,
            &PutOptions::default().content_type("application/json"),
        )
        .await?;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymises_and_suppresses_small_cells() {
        let r = sample_readings(1);
        let s = anonymise(&r, 5).unwrap();
        let published: u64 = s.cells.iter().map(|c| c.vehicles).sum();
        assert_eq!(published + s.suppressed_vehicles, r.len() as u64);
        assert!(s.suppressed_cells > 0, "night hours fall under k");
        assert!(s.cells.iter().all(|c| c.vehicles >= 5));
        let csv = to_csv(&s);
        assert!(r.iter().all(|x| !csv.contains(&x.plate)));
        assert_eq!(csv.lines().count(), s.cells.len() + 1);
        assert!(anonymise(&r, 0).is_err());
    }
}
