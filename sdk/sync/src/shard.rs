//! Splitting one migration over several workers: `gureum sync --shard I/N`, or `--shards N`
//! with the index from `JOB_COMPLETION_INDEX` (what a Kubernetes Indexed Job sets in each pod).
//!
//! A key belongs to shard `mix(fnv1a64(key)) mod N`, over the key relative to the endpoint
//! prefix (`mix` is MurmurHash3's 64-bit finaliser: FNV-1a alone leaves its low bits weakly
//! mixed — its lowest bit is just the parity of the bytes — and `mod N` reads the low bits).
//! Why a hash and not key ranges from a sampled listing: it needs no coordination and no
//! listing before the work starts (every worker decides alone, from the key alone), it stays
//! the same when a pod is retried, and it spreads hot prefixes (`2026/11/...` holding most of
//! a city's new objects) across every worker. The cost: every worker lists the whole source
//! (listing is cheap next to copying; ranges would let each list only its part). The balance
//! is measured in `tests` below (docs/migration.md has the figures): on 200,000 keys (100,000
//! realistic city keys with a hot month, plus 100,000 sequential names `c-0000000` …) the
//! largest shard is +0.9 % over the mean with 8 shards and +2.2 % with 32: the binomial noise
//! of any uniform split (standard deviation ±0.6 % at 25,000 keys a shard, ±1.3 % at 6,250).
//!
//! Both listings pass through the shard filter, so `--delete` in shard I only removes
//! destination objects of shard I; the union of the N shards is the whole tree.

use crate::filter::KeyFilter;
use gureum_core::{Error, Result};

/// The environment variable a Kubernetes Indexed Job sets to the pod's completion index.
///
/// ```
/// use gureum_sync::shard::JOB_COMPLETION_INDEX;
/// std::env::set_var(JOB_COMPLETION_INDEX, "3"); // what a Kubernetes Indexed Job sets
/// assert_eq!(gureum_sync::Shard::from_job_index(8).unwrap().index(), 3);
/// ```
pub const JOB_COMPLETION_INDEX: &str = "JOB_COMPLETION_INDEX";

/// Shard `index` of `count`: accepts the keys whose FNV-1a 64-bit hash is `index` mod `count`.
///
/// ```
/// use gureum_sync::Shard;
/// let shards: Vec<Shard> = (0..4).map(|i| Shard::new(i, 4).unwrap()).collect();
/// // Every key is in exactly one shard.
/// for key in ["민원/c-1.json", "2026/11/a.csv", "x"] {
///     assert_eq!(shards.iter().filter(|s| gureum_sync::KeyFilter::accept(*s, key)).count(), 1);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// FNV-1a, 64 bit: stable across platforms, builds and Rust versions (std's hasher is not).
///
/// ```
/// use gureum_sync::shard::fnv1a64;
/// assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
/// assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
/// ```
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
///
/// ```
/// use gureum_sync::shard::fmix64;
/// assert_eq!(fmix64(0), 0);
/// assert_ne!(fmix64(1), 1);
/// assert_ne!(fmix64(1), fmix64(2));
/// ```
pub fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

impl Shard {
    /// Shard `index` (0-based) of `count`.
    ///
    /// ```
    /// use gureum_sync::Shard;
    /// assert!(Shard::new(7, 8).is_ok());
    /// assert!(Shard::new(8, 8).is_err());
    /// assert!(Shard::new(0, 0).is_err());
    /// ```
    pub fn new(index: u32, count: u32) -> Result<Self> {
        if count == 0 {
            return Err(Error::invalid("the number of shards must be at least 1"));
        }
        if index >= count {
            return Err(Error::invalid(format!(
                "shard index {index} is out of range for {count} shards (0..{})",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// Parse `I/N` (`--shard 3/8`).
    ///
    /// ```
    /// use gureum_sync::Shard;
    /// let s = Shard::parse("3/8").unwrap();
    /// assert_eq!((s.index(), s.count()), (3, 8));
    /// assert_eq!(s.to_string(), "3/8");
    /// assert!(Shard::parse("3").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| Error::invalid(format!("--shard {s:?}: expected I/N, e.g. 0/8")))?;
        let num = |x: &str, what: &str| {
            x.trim()
                .parse::<u32>()
                .map_err(|_| Error::invalid(format!("--shard {s:?}: {what} {x:?} is not a number")))
        };
        Shard::new(num(i, "index")?, num(n, "count")?)
    }

    /// Shard `JOB_COMPLETION_INDEX` of `count` (a Kubernetes Indexed Job). A missing or bad
    /// variable is an `InvalidArgument` naming it.
    ///
    /// ```
    /// use gureum_sync::{shard::JOB_COMPLETION_INDEX, Shard};
    /// std::env::remove_var(JOB_COMPLETION_INDEX);
    /// assert!(Shard::from_job_index(4).is_err()); // names the variable
    /// std::env::set_var(JOB_COMPLETION_INDEX, "1");
    /// assert_eq!(Shard::from_job_index(4).unwrap(), Shard::new(1, 4).unwrap());
    /// ```
    pub fn from_job_index(count: u32) -> Result<Self> {
        let v = std::env::var(JOB_COMPLETION_INDEX).map_err(|_| {
            Error::invalid(format!(
                "--shards {count} takes the shard index from {JOB_COMPLETION_INDEX}, which is not set (a Kubernetes Indexed Job sets it; or use --shard I/N)"
            ))
        })?;
        let i = v
            .trim()
            .parse::<u32>()
            .map_err(|_| Error::invalid(format!("{JOB_COMPLETION_INDEX}={v:?} is not a number")))?;
        Shard::new(i, count)
    }

    /// The index.
    ///
    /// ```
    /// assert_eq!(gureum_sync::Shard::new(2, 5).unwrap().index(), 2);
    /// ```
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The number of shards.
    ///
    /// ```
    /// assert_eq!(gureum_sync::Shard::new(2, 5).unwrap().count(), 5);
    /// ```
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The shard of a key.
    ///
    /// ```
    /// use gureum_sync::Shard;
    /// let s = Shard::of("민원/c-1041.json", 8);
    /// assert!(s < 8);
    /// assert_eq!(s, Shard::of("민원/c-1041.json", 8)); // stable: every worker agrees
    /// ```
    pub fn of(key: &str, count: u32) -> u32 {
        (fmix64(fnv1a64(key.as_bytes())) % count.max(1) as u64) as u32
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl KeyFilter for Shard {
    fn accept(&self, rel_key: &str) -> bool {
        Shard::of(rel_key, self.count) == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_errors() {
        assert_eq!(Shard::parse("3/8").unwrap(), Shard::new(3, 8).unwrap());
        for bad in ["8/8", "1/0", "x/2", "2", "-1/3", ""] {
            let e = Shard::parse(bad).unwrap_err();
            assert_eq!(e.kind(), gureum_core::ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn every_key_in_exactly_one_shard() {
        let shards: Vec<Shard> = (0..5).map(|i| Shard::new(i, 5).unwrap()).collect();
        for k in ["a", "민원/2026/11/c-1041.json", "", "x/y/z", "사진 1.jpg"] {
            assert_eq!(shards.iter().filter(|s| s.accept(k)).count(), 1, "{k}");
        }
    }

    /// Realistic city keys: dated complaint folders, a hot month, photos and JSON.
    fn keys(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let month = if i % 3 == 0 { 11 } else { 1 + i % 12 };
                let ext = if i % 4 == 0 { "jpg" } else { "json" };
                format!("민원/2026/{month:02}/c-{i:07}/첨부-{}.{ext}", i % 7)
            })
            .collect()
    }

    #[test]
    fn balance_is_within_five_percent_of_the_mean() {
        let mut ks = keys(100_000);
        ks.extend((0..100_000).map(|i| format!("c-{i:07}")));
        for n in [2u32, 8, 32] {
            let mut counts = vec![0usize; n as usize];
            for k in &ks {
                counts[Shard::of(k, n) as usize] += 1;
            }
            let mean = ks.len() as f64 / n as f64;
            let max = *counts.iter().max().unwrap() as f64;
            let min = *counts.iter().min().unwrap() as f64;
            eprintln!(
                "n={n}: largest {:+.2} %, smallest {:+.2} % of the mean",
                (max / mean - 1.0) * 100.0,
                (min / mean - 1.0) * 100.0
            );
            assert!(max / mean < 1.05 && min / mean > 0.95, "n={n}: {counts:?}");
        }
    }

    const PINNED: u32 = 842;

    #[test]
    fn stable_hash_values() {
        // Pinned: a changed hash would move keys between shards of a running migration.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Shard::of("민원/2026/11/c-1041.json", 1000), PINNED);
    }
}
