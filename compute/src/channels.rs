//! One shared gRPC channel per compute node address and runtime.
//!
//! Channels multiplex many calls over one HTTP/2 connection and reconnect on their own, so every
//! client of a node (Flight reads and writes, control calls) shares one. HTTP/2 keep-alives make a
//! dead node surface as an error within seconds instead of a hung stream.
//!
//! A channel's connection task runs on the runtime that created it and dies with it, after which
//! every call fails with "Service was not ready: transport error". So channels are shared within
//! a runtime only: a process that runs several runtimes in turn (the test suite, one per test,
//! whose nodes may get a port an earlier test's node had) never gets a dead one.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use tokio::runtime::{Handle, Id};
use tonic::transport::{Channel, Endpoint};

static CHANNELS: LazyLock<Mutex<HashMap<(Id, String), Channel>>> = LazyLock::new(Default::default);

/// How long a call waits for a TCP connection to a node before failing.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The channel to `address` (`http://host:port`), created on first use.
pub fn channel(address: &str) -> Result<Channel, tonic::transport::Error> {
    let key = (Handle::current().id(), address.to_string());
    let mut channels = CHANNELS.lock().unwrap();
    if let Some(channel) = channels.get(&key) {
        return Ok(channel.clone());
    }
    let channel = Endpoint::from_shared(address.to_string())?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(2))
        // Generous: a node busy on every core (or a loaded test machine) can answer a ping late,
        // and a dropped channel fails the next call on it. A dead process resets its
        // connections at once anyway; the timeout only catches a hung one.
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .connect_lazy();
    channels.insert(key, channel.clone());
    Ok(channel)
}
