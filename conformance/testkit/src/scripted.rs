//! A scripted loopback HTTP/1.1 server for retry and error-mapping tests: request `n` is
//! answered with whatever the script returns for it, one request per connection.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The request heads (request line and headers, lossily decoded) a scripted server saw.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// Start a loopback HTTP/1.1 server on 127.0.0.1 that answers request `n` (counting from 0)
/// with `script(n, base_url)` = (status, extra header lines each ending in `\r\n`, body), one
/// request per connection (`connection: close`). Returns the base URL (`http://127.0.0.1:PORT`)
/// and the request heads it saw, in order. The server runs until the test's runtime ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (base, seen) = gureum_testkit::scripted::serve(|n, _| match n {
///     0 => (503, "retry-after: 0\r\n".into(), String::new()),
///     _ => (200, String::new(), "ok".into()),
/// })
/// .await;
/// assert!(base.starts_with("http://127.0.0.1:"));
/// assert!(seen.lock().unwrap().is_empty());
/// # }
/// ```
pub async fn serve<F>(script: F) -> (String, Seen)
where
    F: Fn(usize, &str) -> (u16, String, String) + Send + Sync + 'static,
{
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", l.local_addr().expect("local address"));
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let (s2, b2) = (seen.clone(), base.clone());
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Bounded: a head larger than 64 KiB is answered as it is.
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
                match c.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            if let Ok(mut s) = s2.lock() {
                s.push(String::from_utf8_lossy(&buf).to_string());
            }
            let (status, headers, body) = script(n, &b2);
            n += 1;
            let resp = format!(
                "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = c.write_all(resp.as_bytes()).await;
            let _ = c.shutdown().await;
        }
    });
    (base, seen)
}
