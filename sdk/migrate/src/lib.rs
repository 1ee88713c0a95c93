//! # gureum-migrate
//!
//! The parts of a city's move between clouds that are not objects: queues and virtual
//! machines. (Objects move with `gureum sync`, crate `gureum-sync`.)
//!
//! * [`queue_move`]: move every message of one queue into another, or drain it into a
//!   writer, **at least once**: a message is acknowledged on the source only after the
//!   destination accepted it, so a crash or a failing destination never loses one (it may
//!   deliver one twice). Bodies and attributes arrive exactly.
//! * [`inventory`]: export a compute service's instances (names, portable sizes, images,
//!   tags, states, user data) to a JSON inventory and recreate them elsewhere through the
//!   portable size and image mapping, idempotently (a second import creates nothing new)
//!   and with a report of what could not be mapped.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use gureum_core::{Message, Queue};
//! use gureum_migrate::queue_move::{move_messages, MoveOptions};
//! # let dir = tempfile::tempdir().unwrap();
//! # let reg = gureum::registry();
//! # let url = |q: &str| format!("sqlite://{}/q.db?queue={q}", dir.path().display());
//! let src: Queue = reg.open_queue(Some(&url("old"))).await.unwrap();
//! let dst: Queue = reg.open_queue(Some(&url("new"))).await.unwrap();
//! src.send(Message::new("민원 1041").attribute("ward", "종로구")).await.unwrap();
//!
//! let report = move_messages(&src, &dst, &MoveOptions::default(), |_| {}).await.unwrap();
//! assert_eq!(report.moved, 1);
//! let got = dst.receive(1).await.unwrap();
//! assert_eq!(&got[0].body[..], "민원 1041".as_bytes());
//! assert_eq!(got[0].attributes["ward"], "종로구");
//! # });
//! ```
#![deny(missing_docs)]

pub mod inventory;
pub mod queue_move;
