//! One shared gRPC channel per compute node address.
//!
//! Channels multiplex many calls over one HTTP/2 connection and reconnect on their own, so every
//! client of a node (Flight reads and writes, control calls) shares one. HTTP/2 keep-alives make a
//! dead node surface as an error within seconds instead of a hung stream.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

static CHANNELS: LazyLock<Mutex<HashMap<String, Channel>>> = LazyLock::new(Default::default);

/// How long a call waits for a TCP connection to a node before failing.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The channel to `address` (`http://host:port`), created on first use.
pub fn channel(address: &str) -> Result<Channel, tonic::transport::Error> {
    let mut channels = CHANNELS.lock().unwrap();
    if let Some(channel) = channels.get(address) {
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
    channels.insert(address.to_string(), channel.clone());
    Ok(channel)
}
