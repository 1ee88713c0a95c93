//! Storage cases: round trips.

use super::*;

/// The round trips cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.put_get_small", [], |s| {
        let k = s.key("small.txt");
        s.round_trip_key(&k, b"hello, gureum").await
    }));
    v.push(case!("storage.empty_object", [], |s| {
        let k = s.key("empty");
        s.round_trip_key(&k, b"").await
    }));
    v.push(case!("storage.one_byte_object", [], |s| {
        let k = s.key("one");
        s.round_trip_key(&k, b"x").await
    }));
    v.push(case!("storage.all_byte_values", [], |s| {
        let data: Vec<u8> = (0..=255u8).collect();
        let k = s.key("bytes.bin");
        s.round_trip_key(&k, &data).await
    }));
    v.push(case!("storage.five_mib_plus_one", [], |s| {
        let data = pattern(5 * 1024 * 1024 + 1, 5);
        let k = s.key("big.bin");
        s.round_trip_key(&k, &data).await
    }));
    v
}
