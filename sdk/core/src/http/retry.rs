//! Back-off with full jitter and `Retry-After`.

use super::config::RetryConfig;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// A uniformly random number in `[0, 1)` (std only: a randomly keyed SipHash of a counter).
fn unit_random() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The upper bound of the back-off before retry `retry` (1-based):
/// `min(max_backoff, initial_backoff * 2^(retry-1))`.
///
/// ```
/// use gureum_core::http::{backoff_cap, RetryConfig};
/// use std::time::Duration;
/// let r = RetryConfig { max_retries: 10, initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1) };
/// assert_eq!(backoff_cap(&r, 1), Duration::from_millis(100));
/// assert_eq!(backoff_cap(&r, 10), Duration::from_secs(1)); // capped
/// ```
pub fn backoff_cap(cfg: &RetryConfig, retry: u32) -> Duration {
    let exp = retry.saturating_sub(1).min(30);
    cfg.initial_backoff
        .saturating_mul(1u32 << exp)
        .min(cfg.max_backoff)
}

/// The full-jitter back-off before retry `retry` (1-based): uniform in `[0, backoff_cap]`.
///
/// ```
/// use gureum_core::http::{backoff, backoff_cap, RetryConfig};
/// let r = RetryConfig::default();
/// for retry in 1..=5 {
///     assert!(backoff(&r, retry) <= backoff_cap(&r, retry)); // full jitter: anywhere below the cap
/// }
/// ```
pub fn backoff(cfg: &RetryConfig, retry: u32) -> Duration {
    backoff_cap(cfg, retry).mul_f64(unit_random())
}

/// Parse a `Retry-After` value: delay seconds (`120`) or an HTTP-date
/// (`Fri, 31 Dec 1999 23:59:59 GMT`, relative to `now`; a date in the past is zero).
///
/// ```
/// use gureum_core::http::parse_retry_after;
/// use std::time::{Duration, SystemTime};
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_790); // 1999-12-31 23:59:50 UTC
/// assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", now), Some(Duration::from_secs(9)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(f) = v.parse::<f64>() {
        // not in the RFC, but some services send fractions
        if f.is_finite() && (0.0..1e9).contains(&f) {
            return Some(Duration::from_secs_f64(f));
        }
        return None;
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let when: SystemTime = when.with_timezone(&chrono::Utc).into();
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let cfg = RetryConfig {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        assert_eq!(backoff_cap(&cfg, 1), Duration::from_millis(100));
        assert_eq!(backoff_cap(&cfg, 2), Duration::from_millis(200));
        assert_eq!(backoff_cap(&cfg, 4), Duration::from_millis(800));
        assert_eq!(backoff_cap(&cfg, 5), Duration::from_secs(1));
        assert_eq!(backoff_cap(&cfg, 400), Duration::from_secs(1));
        let mut distinct = std::collections::BTreeSet::new();
        for r in 1..200 {
            let b = backoff(&cfg, 3);
            assert!(b <= Duration::from_millis(400), "{r}: {b:?}");
            distinct.insert(b);
        }
        // full jitter: the sleeps are spread, not one fixed value
        assert!(distinct.len() > 100, "{}", distinct.len());
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // 2001-09-09T01:46:40Z is 1e9; a date in the past means "now"
        assert_eq!(
            parse_retry_after("Sun, 09 Sep 2001 01:46:50 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 09 Sep 2001 01:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
