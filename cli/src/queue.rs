//! `gureum queue send|receive|depth`.

use crate::args::{QueueCommand, QueueReceiveArgs, QueueSendArgs};
use crate::output::{write_stdout, Out};
use base64::Engine;
use gureum::{Error, Message, ReceiveOptions, ReceivedMessage, Result};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Run a queue subcommand.
pub async fn run(cmd: QueueCommand, out: &Out) -> Result<()> {
    match cmd {
        QueueCommand::Send(a) => send(a, out).await,
        QueueCommand::Receive(a) => receive(a, out).await,
        QueueCommand::Create(a) => crate::queue_admin::create(a, out).await,
        QueueCommand::Delete(a) => crate::queue_admin::delete(a, out).await,
        QueueCommand::Purge(a) => crate::queue_admin::purge(a, out).await,
        QueueCommand::List(a) => crate::queue_admin::list(a, out).await,
        QueueCommand::Move(a) => crate::queue_move::run_move(a, out).await,
        QueueCommand::Drain(a) => crate::queue_move::run_drain(a, out).await,
        QueueCommand::Depth(a) => {
            let q = gureum::open_queue(&a.url).await?;
            let d = q.depth().await?;
            if out.json {
                out.json_line(&serde_json::json!({"queue": q.name(), "depth": d}))
            } else {
                out.line(d.to_string())
            }
        }
    }
}

async fn send(a: QueueSendArgs, out: &Out) -> Result<()> {
    let body: Vec<u8> = match (&a.body, &a.file) {
        (Some(b), None) => b.clone().into_bytes(),
        (None, Some(f)) if f == "-" => {
            let mut v = Vec::new();
            tokio::io::stdin().read_to_end(&mut v).await?;
            v
        }
        (None, Some(f)) => tokio::fs::read(f)
            .await
            .map_err(|e| Error::from(e).context_message(format!("reading {f}")))?,
        _ => return Err(Error::invalid("give either BODY or --file")),
    };
    let q = gureum::open_queue(&a.url).await?;
    let mut m = Message::new(body);
    for (k, v) in a.attrs {
        m = m.attribute(k, v);
    }
    if let Some(d) = a.delay {
        m = m.delay(Duration::from_secs(d));
    }
    if let Some(g) = a.group {
        m = m.group(g);
    }
    let id = q.send(m).await?;
    if out.json {
        out.json_line(&serde_json::json!({"id": id}))
    } else {
        out.line(id)
    }
}

fn message_json(m: &ReceivedMessage, acked: bool) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": m.id,
        "receipt": m.receipt,
        "receive_count": m.receive_count,
        "sent_at": m.sent_at,
        "attributes": m.attributes,
        "acked": acked,
    });
    let o = v.as_object_mut().expect("object literal");
    match std::str::from_utf8(&m.body) {
        Ok(s) => {
            o.insert("body".into(), s.into());
        }
        Err(_) => {
            o.insert(
                "body_base64".into(),
                base64::engine::general_purpose::STANDARD
                    .encode(&m.body)
                    .into(),
            );
        }
    }
    v
}

async fn receive(a: QueueReceiveArgs, out: &Out) -> Result<()> {
    if a.max == 0 {
        return Err(Error::invalid("--max must be at least 1"));
    }
    let q = gureum::open_queue(&a.url).await?;
    let batch = q.capabilities().max_batch_receive.max(1);
    let mut got = 0usize;
    let mut first = true;
    // Bounded: each round receives at least one message or stops.
    while got < a.max {
        let want = (a.max - got).min(batch);
        let msgs = q
            .receive_with(ReceiveOptions {
                max_messages: want,
                visibility: Duration::from_secs(a.visibility),
                // Long-poll only for the first batch; then drain what is there.
                wait: if first {
                    Duration::from_secs(a.wait)
                } else {
                    Duration::ZERO
                },
            })
            .await?;
        first = false;
        if msgs.is_empty() {
            break;
        }
        got += msgs.len();
        for m in &msgs {
            if out.json {
                out.json_line(&message_json(m, a.ack))?;
            } else {
                write_stdout(&m.body)?;
                if !m.body.ends_with(b"\n") {
                    write_stdout(b"\n")?;
                }
            }
        }
        // Ack only after the messages were written out (at-least-once).
        if a.ack {
            q.ack_all(&msgs).await?;
        }
    }
    Ok(())
}
