//! Shared helpers for the Azurite tests.
#![allow(dead_code)]

/// The Azurite blob URL, or `None` (test skipped) when the emulator is not configured.
/// With `GUREUM_REQUIRE_EMULATORS=1` a missing variable fails the test.
pub fn azurite(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() == Ok("1") {
                panic!("{var} not set and GUREUM_REQUIRE_EMULATORS=1");
            }
            eprintln!("skipping: {var} not set");
            None
        }
    }
}

/// A unique, valid container / queue name.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}
