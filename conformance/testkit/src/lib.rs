//! # gureum-testkit
//!
//! Test support for the gureum workspace. **Never a normal dependency**: provider crates, the
//! conformance suite and the CLI use it as a `[dev-dependencies]` entry only, so no
//! application build contains a simulator, a test server or a test proxy.
//!
//! * [`sim`]: in-process API simulators written from the providers' published API references
//!   (Azure Resource Manager + Entra ID, OpenStack Keystone + Nova + Glance, NCP Server API).
//!   They share no code or types with the drivers they test: a simulator that decoded requests
//!   with the driver's own structs would only prove that the driver agrees with itself.
//! * [`proxy`]: loopback test proxies (an S3 proxy that refuses `ListObjectsV2`).
//! * [`fault`]: a loopback fault-injection proxy (5xx/429 with `Retry-After`, resets,
//!   truncated bodies, stalls; bounded and seeded).
//! * [`keystone`]: the real Keystone test server (port 15001) and an admin client for
//!   per-test fixtures (domains, projects, users, application credentials, catalog entries).
//! * [`secrets`]: the marker-secret scan shared by every provider family's test (errors,
//!   `Debug`, redacted URLs, reports and TRACE log lines).
//! * [`env`](mod@env): the emulator gate (`GUREUM_REQUIRE_EMULATORS`), endpoints of the shared test
//!   servers (moto, Azurite, Swift SAIO and its s3api) from the environment written by
//!   `scripts/emulators.sh env`, and unique resource names.
//!
//! ```no_run
//! # async fn demo() {
//! // Skipped (None) without moto unless GUREUM_REQUIRE_EMULATORS=1, which makes it fail.
//! let Some(moto) = gureum_testkit::env::moto() else { return };
//! let bucket = gureum_testkit::unique("demo");
//! println!("{} {bucket}", moto.endpoint);
//! # }
//! ```
#![warn(missing_docs)]

pub mod env;
pub mod fault;
pub mod keystone;
pub mod proxy;
pub mod scripted;
pub mod secrets;
pub mod sim;
pub mod tls;

pub use env::unique;
