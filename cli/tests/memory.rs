//! `gureum cp` streams: copying an object larger than the memory bound keeps the process's
//! peak RSS under it. One test in this file, so RUSAGE_CHILDREN only sees its own children.

use std::process::Command;

const MIB: usize = 1024 * 1024;
/// Object size, well above the bound.
const SIZE: usize = 128 * MIB;
/// Peak RSS bound per process (design goal: under 100 MiB whatever the object size).
const BOUND_KIB: i64 = 80 * 1024;

fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    assert_eq!(rc, 0);
    u.ru_maxrss
}

fn run(dir: &std::path::Path, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_gureum"))
        .current_dir(dir)
        .env("GUREUM_CONFIG", dir.join("none.toml"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn large_copies_have_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).unwrap());
        let chunk: Vec<u8> = (0..MIB as u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect();
        for i in 0..SIZE / MIB {
            let mut c = chunk.clone();
            c[0] = i as u8;
            f.write_all(&c).unwrap();
        }
    }
    let bucket = format!("file://{}/bkt", dir.path().display());
    run(dir.path(), &["cp", "big.bin", &format!("{bucket}#big.bin")]);
    let up = children_max_rss_kib();
    run(
        dir.path(),
        &["cp", &format!("{bucket}#big.bin"), "back.bin"],
    );
    let peak = children_max_rss_kib();
    println!(
        "peak RSS of upload/download of a {} MiB object: {up} / {peak} KiB (max so far)",
        SIZE / MIB
    );
    assert!(up < BOUND_KIB, "upload peak RSS {up} KiB");
    assert!(peak < BOUND_KIB, "download peak RSS {peak} KiB");
    let (a, b) = (
        std::fs::read(&src).unwrap(),
        std::fs::read(dir.path().join("back.bin")).unwrap(),
    );
    assert!(a == b, "round trip differs");
}
