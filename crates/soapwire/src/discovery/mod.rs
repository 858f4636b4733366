//! Ad-hoc WS-Discovery on the network: multicast sockets per interface, a discovery client
//! ([`DiscoveryClient`], WSDAPI's `IWSDiscoveryProvider`) and a discovery target responder
//! ([`DiscoveryTarget`], the discovery half of `IWSDiscoveryPublisher` / `IWSDDeviceHost`);
//! and directed discovery: Probe and Resolve sent by UDP unicast to a known address and
//! answered there, which works on any address, loopback included.
//!
//! The messages, the matching rules, `AppSequence` and the SOAP-over-UDP schedules are sans-IO
//! code in [`soapwire_proto::discovery`] and [`soapwire_proto::udp`]; this module owns what
//! touches the network and the clock:
//!
//! * `interfaces`: which local interfaces and addresses discovery runs on ([`LocalInterface`],
//!   [`local_interfaces`]), with an allow list and a deny list by name.
//! * `transport`: one *link* per interface and address family, each a pair of UDP sockets. The
//!   group socket is bound to port 3702, joins 239.255.255.250 or `FF02::C` on that interface
//!   only, and sends the unicast replies (from port 3702, as wsdd and WSDAPI do). The local socket
//!   is bound to the interface's address on an ephemeral port, sends the multicast messages
//!   (`IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`, loop off, hop limit 1) and receives the unicast
//!   answers. A *directed* link is one unicast socket on a given address that never sees
//!   multicast. Every datagram is decoded with `MAX_ENVELOPE_SIZE` and `MAX_URI_SIZE`; malformed,
//!   oversized, wrong-version, duplicate (by `MessageID`, per link) and misaddressed datagrams
//!   are dropped with a `debug` log line and counted in [`DiscoveryStats`]. Sends follow the
//!   SOAP-over-UDP retransmission schedule. The interface list is re-read every
//!   [`DiscoveryConfig::rescan_interval`], so address changes are picked up without a restart.
//! * `client`: [`DiscoveryClient`]: `probe`, `resolve`, `search` (probe, then resolve the
//!   matches that came without XAddrs, as wsdd and Windows targets require) and a stream of
//!   Hello and Bye ([`Announcements`]); `probe_directed` and `resolve_directed` send to one
//!   unicast address from a socket of their own. Answers are accepted only when their
//!   `RelatesTo` names a request this client sent on the same link.
//! * `target`: [`DiscoveryTarget`]: Hello on start, multicast Probe and Resolve answered after a
//!   random delay within `APP_MAX_DELAY` (capped at 2.5 s as WSDAPI does) with exactly one
//!   XAddr built from the address of the interface the request arrived on, a bounded reply
//!   rate, and Bye on [`DiscoveryTarget::stop`]. With [`TargetOptions::unicast_listen`] it also
//!   answers directed Probe and Resolve on that socket, at once, under the same rate limit.
//!
//! Every wait is bounded: a probe or resolve (multicast or directed) lasts at most its
//! timeout, `stop` at most the length of the multicast retransmission schedule (under 2 s with
//! the defaults), and nothing waits on the network otherwise.
//!
//! ```no_run
//! # async fn demo() -> soapwire::Result<()> {
//! use soapwire::discovery::{DiscoveryClient, DiscoveryConfig, MATCH_TIMEOUT};
//! use soapwire::QName;
//!
//! let client = DiscoveryClient::open(DiscoveryConfig::default()).await?;
//! let device = QName::new("http://schemas.xmlsoap.org/ws/2006/02/devprof", "Device");
//! for found in client.search(&[device], &[], MATCH_TIMEOUT).await? {
//!     println!("{} at {:?} on {}", found.info.endpoint.address, found.info.xaddrs, found.interface.name);
//! }
//! # Ok(()) }
//! ```
//!
//! Directed discovery is what runs where multicast cannot: on loopback (which has no multicast
//! here, and which WSDAPI and wsdd skip) and across routers. WS-Discovery lets a client send a
//! Probe straight to a target service whose transport address it knows (1.1: a Probe sent to a
//! target service directly; 2005/04: a unicast Probe to a known transport address); the answer
//! comes back by unicast, correlated by `RelatesTo`. A Resolve sent the same way is answered
//! too. [`DiscoveryConfig::directed_only`] opens no multicast socket at all, so nothing but
//! the directed traffic leaves the process:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> soapwire::Result<()> {
//! use std::time::Duration;
//! use soapwire::discovery::{DiscoveryClient, DiscoveryConfig, DiscoveryTarget, TargetOptions, TargetService};
//!
//! let service = TargetService::new("urn:uuid:a4c3e9b2-2f6b-4cf4-8c54-6a4b5c0f7c1d");
//! let listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
//! let options = TargetOptions { unicast_listen: listen, ..TargetOptions::default() };
//! let target = DiscoveryTarget::start(service, DiscoveryConfig::directed_only(), options).await?;
//! let address = target.unicast_addr().expect("a target started with unicast_listen has one");
//!
//! let client = DiscoveryClient::open(DiscoveryConfig::directed_only()).await?;
//! let found = client.probe_directed(address, &[], &[], Duration::from_millis(200)).await?;
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].info.xaddrs, ["http://127.0.0.1:5357/a4c3e9b2-2f6b-4cf4-8c54-6a4b5c0f7c1d"]);
//! target.stop().await;
//! # Ok(()) }
//! ```

mod client;
mod interfaces;
mod target;
mod transport;

#[cfg(test)]
mod tests;

use std::time::Duration;

use soapwire_proto::discovery::{DiscoveryQuotas, DiscoveryVersion};
use soapwire_proto::udp::RetransmitParams;

pub use client::{Announcement, Announcements, DiscoveredEndpoint, DiscoveryClient};
pub use interfaces::{AddressFamily, LocalInterface, local_interfaces};
pub use soapwire_proto::discovery::{
    AppSequence, DISCOVERY_MULTICAST_V4, DISCOVERY_MULTICAST_V6, DISCOVERY_PORT, DPWS_1_1_NAMESPACE,
    DPWS_2006_02_NAMESPACE, EndpointInfo, MATCH_TIMEOUT, MAX_ENVELOPE_SIZE, MAX_URI_SIZE, MatchBy, Probe, Scopes,
    WINDOWS_PUB_NAMESPACE,
};
pub use target::{DiscoveryTarget, TargetOptions, TargetService, TargetStats};
pub use transport::DiscoveryStats;

/// Where and how discovery runs: interfaces, address families, version, socket options,
/// retransmission and decoding limits. Shared by [`DiscoveryClient`] and [`DiscoveryTarget`].
#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    /// The version the client sends Probe and Resolve in, and the target its Hello and Bye.
    /// Received messages of either version are understood (a target answers in the version
    /// of the request). Default: 2005/04, what Windows and wsdd speak.
    pub version: DiscoveryVersion,
    /// Allow list: interface names (or addresses, as text) to run on. Empty (the default) means
    /// every interface that is up and not a loopback.
    pub interfaces: Vec<String>,
    /// Deny list: interface names (or addresses) never used, even when allowed.
    pub exclude_interfaces: Vec<String>,
    /// Run over IPv4 (239.255.255.250). Default true.
    pub ipv4: bool,
    /// Run over IPv6 (`FF02::C`, from the interface's link-local address). Default true.
    pub ipv6: bool,
    /// `IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP` on the sending sockets. Default false, as
    /// WSDAPI and wsdd: this host's own multicast is not looped back to it.
    pub multicast_loop: bool,
    /// Multicast TTL / hop limit. Default 1 (the link only).
    pub multicast_hops: u32,
    /// The schedule of multicast messages (Hello, Bye, Probe, Resolve). Default
    /// [`RetransmitParams::multicast`].
    pub multicast_retransmit: RetransmitParams,
    /// The schedule of unicast replies (ProbeMatches, ResolveMatches); the target replaces
    /// its `send_delay` with the random reply delay. Default [`RetransmitParams::unicast`].
    pub unicast_retransmit: RetransmitParams,
    /// Run ad-hoc multicast discovery on the selected interfaces. Default true. False opens no
    /// multicast socket, joins no group, sends no Hello or Bye and rescans nothing: only
    /// directed discovery runs ([`DiscoveryClient::probe_directed`],
    /// [`TargetOptions::unicast_listen`]); [`DiscoveryConfig::directed_only`].
    pub multicast: bool,
    /// Limits applied to every received datagram (`MAX_ENVELOPE_SIZE`, `MAX_URI_SIZE`, …).
    pub quotas: DiscoveryQuotas,
    /// How often the interface list is read again, so that new and removed addresses are picked
    /// up without a restart (`None`: never). Default 5 s.
    pub rescan_interval: Option<Duration>,
    /// How many received datagrams may wait for processing; more are dropped (and counted), so
    /// a flood costs bounded memory. Default 256.
    pub inbound_queue: usize,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            version: DiscoveryVersion::V2005_04,
            interfaces: Vec::new(),
            exclude_interfaces: Vec::new(),
            ipv4: true,
            ipv6: true,
            multicast_loop: false,
            multicast_hops: 1,
            multicast: true,
            multicast_retransmit: RetransmitParams::multicast(),
            unicast_retransmit: RetransmitParams::unicast(),
            quotas: DiscoveryQuotas::default(),
            rescan_interval: Some(Duration::from_secs(5)),
            inbound_queue: 256,
        }
    }
}

impl DiscoveryConfig {
    /// The default configuration without multicast ([`DiscoveryConfig::multicast`] false): a
    /// client that only sends directed requests, a target that only answers on its
    /// [`TargetOptions::unicast_listen`] socket. No interface is looked at and nothing is sent
    /// but the directed traffic.
    pub fn directed_only() -> DiscoveryConfig {
        DiscoveryConfig { multicast: false, rescan_interval: None, ..DiscoveryConfig::default() }
    }

    /// `InvalidArgument` when no address family is enabled, a retransmission schedule is
    /// invalid, or the queue is empty.
    fn validate(&self) -> soapwire_proto::Result<()> {
        use soapwire_proto::{Error, ErrorKind};
        if !self.ipv4 && !self.ipv6 {
            return Err(Error::new(ErrorKind::InvalidArgument, "discovery needs IPv4 or IPv6 enabled"));
        }
        if self.inbound_queue == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "inbound_queue must be at least 1"));
        }
        self.multicast_retransmit.validate()?;
        self.unicast_retransmit.validate()
    }
}

/// A fresh `urn:uuid:` message id.
fn new_message_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// A random 64-bit value for the schedules' draws (from the OS generator, through `uuid`).
fn random_u64() -> u64 {
    // A v4 UUID has fixed version and variant bits in each half; mixing the halves spreads them.
    let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
    high ^ low.rotate_left(32)
}
