//! With no URL and no configuration, the embedded defaults serve under GUREUM_DATA_DIR; the
//! URL environment variables switch backends. One test per file: it changes the process
//! environment.
#![cfg(feature = "local")]

#[tokio::test]
async fn embedded_defaults_and_env_urls() {
    let dir = tempfile::tempdir().unwrap();
    // Single-threaded test binary section: no other test in this file reads the environment.
    std::env::set_var("GUREUM_DATA_DIR", dir.path());
    std::env::set_var("GUREUM_CONFIG", dir.path().join("no-such-gureum.toml"));
    for v in [
        "GUREUM_STORAGE_URL",
        "GUREUM_QUEUE_URL",
        "GUREUM_COMPUTE_URL",
        "GUREUM_PROFILE",
    ] {
        std::env::remove_var(v);
    }

    let b = gureum::open_bucket_default().await.unwrap();
    assert_eq!(b.info().scheme, "file");
    b.put("hello.txt", &b"hi"[..]).await.unwrap();
    assert!(dir.path().join("storage").is_dir());

    let q = gureum::open_queue_default().await.unwrap();
    q.send(gureum::Message::new(&b"x"[..])).await.unwrap();
    assert!(dir.path().join("queue.db").is_file());
    assert_eq!(q.depth().await.unwrap(), 1);

    let c = gureum::open_compute_default().await.unwrap();
    assert!(!c.sizes().await.unwrap().is_empty());

    // The URL variables switch the backend; code stays the same.
    std::env::set_var("GUREUM_STORAGE_URL", "mem://from-env");
    let b = gureum::open_bucket_default().await.unwrap();
    assert_eq!(b.info().scheme, "mem");
    assert!(!b.exists("hello.txt").await.unwrap());
    std::env::set_var("GUREUM_QUEUE_URL", "mem://from-env");
    let q = gureum::open_queue_default().await.unwrap();
    assert_eq!(q.depth().await.unwrap(), 0);
    std::env::remove_var("GUREUM_STORAGE_URL");
    std::env::remove_var("GUREUM_QUEUE_URL");
}
