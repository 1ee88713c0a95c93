//! Storage cases: concurrency.

use super::*;

/// The concurrency cases, in run order.
#[allow(clippy::vec_init_then_push)]
pub(super) fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();
    v.push(case!("storage.concurrent_writers_one_key", [], |s| {
        let k = s.key("contended");
        let size = 512 * 1024;
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let (b, k) = (s.b().clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                b.put(&k, vec![b'a' + i; size]).await
            }));
        }
        // Racing writers may be refused by the server (Swift answers colliding timestamps
        // with a conflict); that is allowed as long as one writer wins and nothing is torn.
        let mut ok = 0;
        let mut refused = Vec::new();
        for t in tasks {
            match t.await {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(e)) => refused.push(format!("{}: {}", e.kind(), e.message())),
                Err(e) => return fail(format!("task: {e}")),
            }
        }
        if ok == 0 {
            return fail(format!("every concurrent put failed: {refused:?}"));
        }
        if !refused.is_empty() {
            s.note(format!(
                "{} of 8 racing writers were refused by the backend: {}",
                refused.len(),
                refused[0]
            ));
        }
        let g = s.b().get(&k).await.ctx("get")?;
        s.cleanup().await;
        ensure_eq!(g.len(), size, "size (torn write?)");
        let first = g[0];
        ensure!(
            (b'a'..b'a' + 8).contains(&first),
            "content is none of the written values"
        );
        ensure!(
            g.iter().all(|&x| x == first),
            "object mixes bytes of different writers (torn write)"
        );
        Ok(())
    }));
    v.push(case!("storage.concurrent_distinct_keys", [], |s| {
        let mut tasks = Vec::new();
        for i in 0..50u32 {
            let (b, k) = (s.b().clone(), s.key(&format!("c{i:02}")));
            tasks.push(tokio::spawn(async move { b.put(&k, i.to_string()).await }));
        }
        for t in tasks {
            match t.await {
                Ok(r) => {
                    r.ctx("put")?;
                }
                Err(e) => return fail(format!("task: {e}")),
            }
        }
        for i in 0..50u32 {
            let g = s.b().get(&s.key(&format!("c{i:02}"))).await.ctx("get")?;
            ensure_eq!(g, Bytes::from(i.to_string()), "content of c{i:02}");
        }
        let n = s.b().list_all(Some(&s.dir())).await.ctx("list")?.len();
        s.cleanup().await;
        ensure_eq!(n, 50, "objects listed");
        Ok(())
    }));
    v.push(case!("storage.read_your_write", [], |s| {
        let k = s.key("ryw");
        for i in 0..10 {
            s.b().put(&k, format!("v{i}")).await.ctx("put")?;
            let g = s.b().get(&k).await.ctx("get")?;
            ensure_eq!(g, Bytes::from(format!("v{i}")), "read after write #{i}");
        }
        s.cleanup().await;
        Ok(())
    }));
    v
}
