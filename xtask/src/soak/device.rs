//! The discovery side of `cargo xtask soak`, run as a child process (`xtask soak-device`)
//! so that its memory is its own and the server's RSS is the echo server's alone.
//!
//! It hosts a DPWS device ([`DeviceHost`]: a `pub:Computer` metadata host on
//! `http://127.0.0.1:0/<uuid>` and a [`DiscoveryTarget`](soapwire::discovery::DiscoveryTarget)
//! with multicast off, answering directed Probe and Resolve on a UDP socket bound to
//! 127.0.0.1), as `soapwire demo` does: loopback has no multicast, and nothing here ever sends
//! to a group. The reply rate limits are raised far above the soak's rate (the defaults, 10
//! replies per second with a burst of 20, protect a LAN from a flood; the soak is the flood).
//!
//! It prints one line, `READY discovery=ADDR endpoint=URN xaddr=URL`, then serves until its
//! standard input closes, and stops the device gracefully.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use soapwire::discovery::{DiscoveryConfig, TargetOptions};
use soapwire::dpws::{DeviceConfig, DeviceHost, Membership, PubComputer};

/// `xtask soak-device`: see the module docs.
pub(crate) fn device(args: &[&str]) -> Result<()> {
    if !args.is_empty() {
        bail!("soak-device takes no arguments");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(serve())
}

async fn serve() -> Result<()> {
    let endpoint = endpoint_address();
    let mut config =
        DeviceConfig::computer(&endpoint, PubComputer::new("SOAK", Membership::Workgroup("WORKGROUP".into())));
    config.http_address = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.http_port = 0;
    config.discovery = DiscoveryConfig::directed_only();
    config.target = TargetOptions {
        unicast_listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        app_max_delay: Duration::ZERO,
        replies_per_second: 1_000_000,
        reply_burst: 100_000,
        max_pending_replies: 100_000,
        ..TargetOptions::default()
    };
    let device = DeviceHost::start(config).await.context("starting the DPWS device on 127.0.0.1")?;
    let discovery = device.unicast_addr().context("the device has no directed discovery socket")?;
    let xaddr = device.metadata_host().xaddr(IpAddr::V4(Ipv4Addr::LOCALHOST)).context("the device has no XAddr")?;
    println!("READY discovery={discovery} endpoint={endpoint} xaddr={xaddr}");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    // Standard input is read on a thread of its own (tokio's `io-std` is not enabled here).
    let (closed_tx, closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while std::io::Read::read(&mut stdin, &mut buf).unwrap_or(0) > 0 {}
        let _ = closed_tx.send(());
    });
    let _ = closed.await;
    device.stop().await.context("stopping the device")?;
    Ok(())
}

/// A fresh `urn:uuid:` (version 4 layout) from the clock and the pid; the soak needs it
/// unique per run, not unguessable.
fn endpoint_address() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let pid = u128::from(std::process::id());
    let v = nanos ^ (pid << 64);
    format!(
        "urn:uuid:{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (v >> 96) as u32,
        (v >> 80) as u16,
        (v >> 64) as u16 & 0xfff,
        (v >> 48) as u16 & 0xfff,
        v as u64 & 0xffff_ffff_ffff
    )
}

/// `(discovery address, endpoint, xaddr)` of the `READY ...` line.
pub(super) fn parse_ready(line: &str) -> Result<(String, String, String)> {
    let rest = line.trim().strip_prefix("READY ").context("no READY line")?;
    let field = |name: &str| -> Result<String> {
        rest.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
            .with_context(|| format!("no {name}= in {rest:?}"))
    };
    Ok((field("discovery")?, field("endpoint")?, field("xaddr")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_and_endpoint() {
        let (d, e, x) = parse_ready("READY discovery=127.0.0.1:4000 endpoint=urn:uuid:1 xaddr=http://127.0.0.1:5/1\n")
            .expect("parses");
        assert_eq!((d.as_str(), e.as_str(), x.as_str()), ("127.0.0.1:4000", "urn:uuid:1", "http://127.0.0.1:5/1"));
        assert!(parse_ready("hello").is_err());
        let a = endpoint_address();
        assert_eq!(a.len(), "urn:uuid:".len() + 36, "{a}");
        assert!(soapwire::dpws::MetadataHost::path_for(&a).is_ok(), "{a}");
    }
}
