//! The discovery sockets: one *link* per interface and address family, the receive tasks that
//! decode and filter datagrams, the retransmission schedule on the clock, and the periodic
//! interface rescan.
//!
//! A multicast link has two UDP sockets:
//!
//! | socket | bound to | joins | sends | receives |
//! | --- | --- | --- | --- | --- |
//! | group | `239.255.255.250:3702` / `[ff02::c%if]:3702` (`SO_REUSEADDR`, `SO_REUSEPORT`) | the group, on this interface only (`IP_MULTICAST_ALL` off) | unicast replies, from port 3702 | Hello, Bye, Probe, Resolve |
//! | local | the interface address, ephemeral port | — | multicast (`IP_MULTICAST_IF`, loop off by default, hop limit 1) | the unicast answers to what it sent |
//!
//! A *directed* link has one unicast socket, bound to a given address (any address, loopback
//! included; `IP_MULTICAST_ALL` off, so it never sees multicast): a target's
//! [`TargetOptions::unicast_listen`](super::TargetOptions::unicast_listen) socket, which
//! receives directed Probe and Resolve and sends the answers, or the socket a client opens for
//! one directed request, which sends it and receives the answers. Directed links are not in
//! [`Transport::links`]: nothing is multicast from them.
//!
//! Each received datagram is decoded within the configured quotas and dropped, with a `debug`
//! log line and a count in [`DiscoveryStats`], when it is malformed or oversized, has no
//! `MessageID`, is a multicast message not addressed to the discovery URN of its version, is a
//! directed request without `To`, repeats a `MessageID` already seen on the link
//! (retransmissions), or finds the processing queue full.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use soapwire_proto::discovery::{
    DISCOVERY_MULTICAST_V4, DISCOVERY_MULTICAST_V6, DISCOVERY_PORT, DiscoveryMessage, DuplicateFilter,
    ReceivedDiscovery,
};
use soapwire_proto::udp::{RetransmitParams, RetransmitSchedule};
use soapwire_proto::{Error, ErrorKind, Result};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::interfaces::{self, LocalInterface, is_link_local};
use super::{DiscoveryConfig, random_u64};

/// The receive buffer: the largest UDP payload. Anything above `MAX_ENVELOPE_SIZE` is refused
/// by the decoder, so a datagram cut at this size is refused too.
const RECEIVE_BUFFER: usize = 65536;

/// Pause after a failed receive, so that a socket in a persistent error state cannot spin.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Counters of what the sockets received and what was dropped before processing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiscoveryStats {
    /// Datagrams read from the sockets.
    pub received: u64,
    /// Datagrams handed to the client or target.
    pub accepted: u64,
    /// Dropped: not a discovery message of a known version within the quotas (malformed XML,
    /// oversized, a URI over `MAX_URI_SIZE`, a SOAP fault, another protocol).
    pub malformed: u64,
    /// Dropped: a `MessageID` already seen on this link (a retransmission).
    pub duplicates: u64,
    /// Dropped: no `MessageID`, a multicast message whose `To` is not the discovery URN, or a
    /// directed request whose `To` is neither the discovery URN nor the target's endpoint
    /// address.
    pub misaddressed: u64,
    /// Dropped: answers whose `RelatesTo` names no outstanding request of this client on that
    /// link (unsolicited or spoofed), Hello and Bye sent to a client's directed socket, and
    /// requests a target does not answer (a request sent by unicast to a multicast link's
    /// socket, or from an address no answer can go to, an unsupported matching rule).
    pub unsolicited: u64,
    /// Dropped: the processing queue was full ([`DiscoveryConfig::inbound_queue`]).
    pub queue_full: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    received: AtomicU64,
    accepted: AtomicU64,
    malformed: AtomicU64,
    duplicates: AtomicU64,
    misaddressed: AtomicU64,
    unsolicited: AtomicU64,
    queue_full: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> DiscoveryStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DiscoveryStats {
            received: get(&self.received),
            accepted: get(&self.accepted),
            malformed: get(&self.malformed),
            duplicates: get(&self.duplicates),
            misaddressed: get(&self.misaddressed),
            unsolicited: get(&self.unsolicited),
            queue_full: get(&self.queue_full),
        }
    }
}

/// Which socket of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// The port-3702 socket of a multicast link that joined the group.
    Group,
    /// The ephemeral-port socket of a multicast link, bound to the interface address.
    Local,
    /// The unicast socket of a directed link.
    Directed,
}

/// The sockets of a link.
#[derive(Debug)]
enum Sockets {
    /// Ad-hoc multicast on one interface and address family.
    Multicast {
        group: UdpSocket,
        local: UdpSocket,
        /// Where multicast goes: the group on port 3702 (scope = the interface for IPv6).
        multicast_dest: SocketAddr,
    },
    /// Directed (unicast) discovery on one socket.
    Directed(UdpSocket),
}

/// One interface and address family with its two multicast sockets, or one directed socket.
#[derive(Debug)]
pub(crate) struct Link {
    /// Unique within the process (keys the duplicate filter and pending requests).
    pub(crate) id: u64,
    pub(crate) interface: LocalInterface,
    sockets: Sockets,
    /// Cancelled when the link goes away (its address vanished, the directed request ended,
    /// or the transport closed).
    cancel: CancellationToken,
}

static NEXT_LINK_ID: AtomicU64 = AtomicU64::new(1);

impl Link {
    /// Opens the sockets of `interface`.
    fn open(interface: &LocalInterface, config: &DiscoveryConfig, cancel: CancellationToken) -> std::io::Result<Link> {
        let group = UdpSocket::from_std(group_socket(interface)?.into())?;
        let local = UdpSocket::from_std(local_socket(interface, config)?.into())?;
        let multicast_dest = match interface.address {
            IpAddr::V4(_) => SocketAddr::V4(SocketAddrV4::new(DISCOVERY_MULTICAST_V4, DISCOVERY_PORT)),
            IpAddr::V6(_) => {
                SocketAddr::V6(SocketAddrV6::new(DISCOVERY_MULTICAST_V6, DISCOVERY_PORT, 0, interface.index))
            }
        };
        Ok(Link::from_sockets(interface.clone(), group, local, multicast_dest, cancel))
    }

    /// A link over given sockets (the tests use plain loopback sockets, with `multicast_dest`
    /// standing for the group).
    pub(crate) fn from_sockets(
        interface: LocalInterface,
        group: UdpSocket,
        local: UdpSocket,
        multicast_dest: SocketAddr,
        cancel: CancellationToken,
    ) -> Link {
        let id = NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed);
        Link { id, interface, sockets: Sockets::Multicast { group, local, multicast_dest }, cancel }
    }

    /// A directed link over `socket` ([`open_unicast_socket`]).
    fn directed(interface: LocalInterface, socket: UdpSocket, cancel: CancellationToken) -> Link {
        let id = NEXT_LINK_ID.fetch_add(1, Ordering::Relaxed);
        Link { id, interface, sockets: Sockets::Directed(socket), cancel }
    }

    /// Where multicast goes from this link; `None` for a directed link.
    pub(crate) fn multicast_dest(&self) -> Option<SocketAddr> {
        match &self.sockets {
            Sockets::Multicast { multicast_dest, .. } => Some(*multicast_dest),
            Sockets::Directed(_) => None,
        }
    }

    /// True for a directed (unicast) link.
    pub(crate) fn is_directed(&self) -> bool {
        matches!(self.sockets, Sockets::Directed(_))
    }

    /// The sockets this link has.
    fn vias(&self) -> &'static [Via] {
        match self.sockets {
            Sockets::Multicast { .. } => &[Via::Group, Via::Local],
            Sockets::Directed(_) => &[Via::Directed],
        }
    }

    fn socket(&self, via: Via) -> Option<&UdpSocket> {
        match (&self.sockets, via) {
            (Sockets::Multicast { group, .. }, Via::Group) => Some(group),
            (Sockets::Multicast { local, .. }, Via::Local) => Some(local),
            (Sockets::Directed(socket), Via::Directed) => Some(socket),
            _ => None,
        }
    }

    /// The local address of one of the sockets.
    pub(crate) fn local_addr(&self, via: Via) -> std::io::Result<SocketAddr> {
        let socket = self.socket(via).ok_or_else(|| std::io::Error::other("the link has no such socket"))?;
        socket.local_addr()
    }

    /// Closes the link: its receive tasks end and its scheduled sends stop.
    pub(crate) fn close(&self) {
        self.cancel.cancel();
    }

    /// Sends `bytes` to `dest` at the times of `params`' schedule, from the `via` socket, and
    /// returns when the last transmission has gone (or the link went away). Send failures are
    /// logged and the schedule goes on.
    pub(crate) async fn send_scheduled(
        &self,
        via: Via,
        dest: SocketAddr,
        bytes: &[u8],
        params: &RetransmitParams,
        rng: &mut impl FnMut() -> u64,
    ) {
        let start = Instant::now();
        let schedule = match RetransmitSchedule::new(params, rng, start.into_std()) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "discovery: invalid retransmission parameters; nothing sent");
                return;
            }
        };
        let Some(socket) = self.socket(via) else {
            warn!(interface = %self.interface, ?via, "discovery: the link has no such socket; nothing sent");
            return;
        };
        let run = async {
            for at in schedule {
                tokio::time::sleep_until(Instant::from_std(at)).await;
                if let Err(e) = socket.send_to(bytes, dest).await {
                    debug!(interface = %self.interface, %dest, error = %e, "discovery: send failed");
                }
            }
        };
        tokio::select! {
            () = self.cancel.cancelled() => {}
            () = run => {}
        }
    }

    /// [`Link::send_scheduled`] in a task of its own, with the process's random source.
    pub(crate) fn spawn_scheduled(
        self: &Arc<Self>,
        via: Via,
        dest: SocketAddr,
        bytes: Vec<u8>,
        params: RetransmitParams,
    ) -> tokio::task::JoinHandle<()> {
        let link = Arc::clone(self);
        tokio::spawn(async move { link.send_scheduled(via, dest, &bytes, &params, &mut random_u64).await })
    }
}

/// The port-3702 socket that joins the group on `interface` only.
fn group_socket(interface: &LocalInterface) -> std::io::Result<Socket> {
    let socket = match interface.address {
        IpAddr::V4(_) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            share_port(&s)?;
            #[cfg(target_os = "linux")]
            s.set_multicast_all_v4(false)?;
            // Bound to the group, the socket sees no unicast sent to port 3702; some systems
            // refuse that, and then the wildcard address does.
            let group = SocketAddr::from((DISCOVERY_MULTICAST_V4, DISCOVERY_PORT));
            if s.bind(&group.into()).is_err() {
                s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, DISCOVERY_PORT)).into())?;
            }
            s.join_multicast_v4_n(&DISCOVERY_MULTICAST_V4, &InterfaceIndexOrAddress::Index(interface.index))?;
            s
        }
        IpAddr::V6(_) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_only_v6(true)?;
            share_port(&s)?;
            // IPV6_MULTICAST_ALL exists from Linux 4.20; before, the bound scope id still keeps
            // other interfaces' traffic out.
            #[cfg(target_os = "linux")]
            if let Err(e) = s.set_multicast_all_v6(false) {
                debug!(%interface, error = %e, "discovery: cannot turn IPV6_MULTICAST_ALL off");
            }
            // The scope id binds the socket to the interface (Stevens, UNP §21.6).
            let group = SocketAddrV6::new(DISCOVERY_MULTICAST_V6, DISCOVERY_PORT, 0, interface.index);
            if s.bind(&SocketAddr::V6(group).into()).is_err() {
                let any = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, DISCOVERY_PORT, 0, interface.index);
                s.bind(&SocketAddr::V6(any).into())?;
            }
            s.join_multicast_v6(&DISCOVERY_MULTICAST_V6, interface.index)?;
            s
        }
    };
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Port 3702 is shared with every other discovery user on the host (WSDAPI: "an app binding
/// 3702 exclusively breaks WSDAPI apps").
fn share_port(socket: &Socket) -> std::io::Result<()> {
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    Ok(())
}

/// The ephemeral-port socket bound to the interface address that sends multicast.
fn local_socket(interface: &LocalInterface, config: &DiscoveryConfig) -> std::io::Result<Socket> {
    let socket = match interface.address {
        IpAddr::V4(address) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            s.bind(&SocketAddr::from((address, 0)).into())?;
            s.set_multicast_if_v4(&address)?;
            s.set_multicast_loop_v4(config.multicast_loop)?;
            s.set_multicast_ttl_v4(config.multicast_hops)?;
            s
        }
        IpAddr::V6(address) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_only_v6(true)?;
            let scope = if is_link_local(interface.address) { interface.index } else { 0 };
            s.bind(&SocketAddr::V6(SocketAddrV6::new(address, 0, 0, scope)).into())?;
            s.set_multicast_if_v6(interface.index)?;
            s.set_multicast_loop_v6(config.multicast_loop)?;
            s.set_multicast_hops_v6(config.multicast_hops)?;
            s
        }
    };
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A directed link's socket bound to `address` (port 0 picks a free port), with
/// `IP_MULTICAST_ALL` / `IPV6_MULTICAST_ALL` off so that multicast stays out of it: what it
/// receives was sent to it directly. It does not share its address and port (no
/// `SO_REUSEADDR`): two sockets on one unicast address would split the datagrams between them,
/// so a taken address is `AddrInUse` instead. Port 3702 on an interface address stays free
/// for it while the multicast links run where their group sockets bind the group address (as
/// on Linux), not where they fall back to the wildcard address.
pub(crate) fn open_unicast_socket(address: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = match address {
        SocketAddr::V4(_) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            #[cfg(target_os = "linux")]
            s.set_multicast_all_v4(false)?;
            s
        }
        SocketAddr::V6(_) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_only_v6(true)?;
            #[cfg(target_os = "linux")]
            if let Err(e) = s.set_multicast_all_v6(false) {
                debug!(%address, error = %e, "discovery: cannot turn IPV6_MULTICAST_ALL off");
            }
            s
        }
    };
    socket.bind(&address.into())?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

/// A datagram that passed the transport's checks.
#[derive(Debug)]
pub(crate) struct Inbound {
    /// The link it arrived on.
    pub(crate) link: Arc<Link>,
    /// Which socket of the link.
    pub(crate) via: Via,
    /// The sender.
    pub(crate) from: SocketAddr,
    /// The decoded message; `addressing.message_id` is always present.
    pub(crate) message: ReceivedDiscovery,
}

impl Inbound {
    /// The `MessageID` (checked present by the transport).
    pub(crate) fn message_id(&self) -> &str {
        self.message.addressing.message_id.as_deref().unwrap_or_default()
    }
}

/// What the transport hands to its owner, in order.
#[derive(Debug)]
pub(crate) enum Event {
    /// A received message.
    Datagram(Box<Inbound>),
    /// A link was opened after start (a new interface or address).
    LinkUp(Arc<Link>),
    /// A link was closed (its address vanished).
    LinkDown(Arc<Link>),
}

/// The next event for an owner's task, or `None` once `cancel` fires or the transport is gone.
pub(crate) async fn next_event(events: &mut mpsc::Receiver<Event>, cancel: &CancellationToken) -> Option<Event> {
    tokio::select! {
        () = cancel.cancelled() => None,
        e = events.recv() => e,
    }
}

/// The receiving side shared by every receive task.
#[derive(Debug)]
struct Intake {
    config: DiscoveryConfig,
    events: mpsc::Sender<Event>,
    duplicates: Mutex<DuplicateFilter>,
    counters: Counters,
}

impl Intake {
    /// Decodes and filters one datagram; queues it when it passes.
    fn accept(&self, link: &Arc<Link>, via: Via, from: SocketAddr, bytes: &[u8]) {
        Counters::bump(&self.counters.received);
        let message = match DiscoveryMessage::parse(bytes, &self.config.quotas) {
            Ok(m) => m,
            Err(e) => {
                Counters::bump(&self.counters.malformed);
                debug!(interface = %link.interface, %from, len = bytes.len(), error = %e, "discovery: ignoring datagram");
                return;
            }
        };
        let kind = message.message.kind();
        let Some(message_id) = message.addressing.message_id.as_deref() else {
            Counters::bump(&self.counters.misaddressed);
            debug!(interface = %link.interface, %from, ?kind, "discovery: ignoring a message without MessageID");
            return;
        };
        if !kind.is_reply() {
            let to = message.addressing.to.as_deref();
            let misaddressed = match via {
                Via::Group => to != Some(message.version.multicast_to()),
                // The target compares it with the discovery URN and its endpoint address.
                Via::Directed => to.is_none(),
                Via::Local => false,
            };
            if misaddressed {
                Counters::bump(&self.counters.misaddressed);
                debug!(interface = %link.interface, %from, ?kind, ?to, ?via, "discovery: ignoring a request whose To does not fit the socket");
                return;
            }
        }
        let key = format!("{} {message_id}", link.id);
        let first =
            self.duplicates.lock().unwrap_or_else(PoisonError::into_inner).first_seen(&key, Instant::now().into_std());
        if !first {
            Counters::bump(&self.counters.duplicates);
            debug!(interface = %link.interface, %from, ?kind, message_id, "discovery: ignoring a duplicate");
            return;
        }
        let inbound = Inbound { link: Arc::clone(link), via, from, message };
        match self.events.try_send(Event::Datagram(Box::new(inbound))) {
            Ok(()) => Counters::bump(&self.counters.accepted),
            Err(_) => {
                Counters::bump(&self.counters.queue_full);
                debug!(interface = %link.interface, %from, ?kind, "discovery: queue full; ignoring");
            }
        }
    }
}

/// Reads one socket of `link` until the link goes away.
async fn receive_loop(intake: Arc<Intake>, link: Arc<Link>, via: Via) {
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    let Some(socket) = link.socket(via) else { return };
    loop {
        let received = tokio::select! {
            () = link.cancel.cancelled() => return,
            r = socket.recv_from(&mut buffer) => r,
        };
        match received {
            Ok((len, from)) => intake.accept(&link, via, from, buffer.get(..len).unwrap_or_default()),
            Err(e) => {
                debug!(interface = %link.interface, ?via, error = %e, "discovery: receive failed");
                tokio::select! {
                    () = link.cancel.cancelled() => return,
                    () = tokio::time::sleep(RECEIVE_ERROR_PAUSE) => {}
                }
            }
        }
    }
}

/// The sockets of every selected interface, their receive tasks and the rescan task. Dropping
/// it closes everything.
#[derive(Debug)]
pub(crate) struct Transport {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    links: Mutex<Vec<Arc<Link>>>,
    cancel: CancellationToken,
    intake: Arc<Intake>,
}

impl Transport {
    /// Opens a link on every interface `config` selects and starts receiving. Returns the
    /// transport and the receiver of its events.
    ///
    /// Errors: `InvalidArgument` for an invalid configuration; `AddressNotAvailable` when no
    /// interface is selected; when no selected link could be opened, the error of the first
    /// (`AddressInUse`, `AddressNotAvailable`, …). With [`DiscoveryConfig::multicast`] off:
    /// no link, no rescan, no error.
    pub(crate) async fn open(config: DiscoveryConfig) -> Result<(Transport, mpsc::Receiver<Event>)> {
        config.validate()?;
        if !config.multicast {
            return Ok(Transport::new(config));
        }
        let selected = interfaces::local_interfaces(&config)?;
        if selected.is_empty() {
            return Err(interfaces::nothing_selected(&config));
        }
        let (transport, events) = Transport::new(config);
        let mut first_error = None;
        for interface in &selected {
            match transport.add_link(interface) {
                Ok(_) => {}
                Err(e) => {
                    warn!(%interface, error = %e, "discovery: cannot open this interface; skipping it");
                    first_error.get_or_insert(e);
                }
            }
        }
        if transport.links().is_empty() {
            return Err(first_error.unwrap_or_else(|| interfaces::nothing_selected(&transport.shared.intake.config)));
        }
        if let Some(interval) = transport.shared.intake.config.rescan_interval {
            tokio::spawn(rescan_loop(Arc::clone(&transport.shared), interval));
        }
        Ok((transport, events))
    }

    /// A transport over given links (no rescan): the tests' loopback links.
    #[cfg(test)]
    pub(crate) fn with_links(
        config: DiscoveryConfig,
        links: impl FnOnce(&CancellationToken) -> Vec<Link>,
    ) -> (Transport, mpsc::Receiver<Event>) {
        let (transport, events) = Transport::new(config);
        for link in links(&transport.shared.cancel) {
            transport.shared.start_link(Arc::new(link));
        }
        (transport, events)
    }

    fn new(config: DiscoveryConfig) -> (Transport, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(config.inbound_queue.max(1));
        let intake = Intake { config, events: tx, duplicates: Mutex::default(), counters: Counters::default() };
        let shared = Shared { links: Mutex::default(), cancel: CancellationToken::new(), intake: Arc::new(intake) };
        (Transport { shared: Arc::new(shared) }, rx)
    }

    fn add_link(&self, interface: &LocalInterface) -> Result<Arc<Link>> {
        let config = &self.shared.intake.config;
        let link = Link::open(interface, config, self.shared.cancel.child_token())
            .map_err(|e| crate::http::io_error(e, &format!("opening discovery sockets on {interface}")))?;
        let link = Arc::new(link);
        self.shared.start_link(Arc::clone(&link));
        Ok(link)
    }

    /// Opens a directed link on `socket` and starts receiving on it. It stays out of
    /// [`Transport::links`] and closes with [`Link::close`] or with the transport.
    pub(crate) fn add_directed(&self, interface: LocalInterface, socket: UdpSocket) -> Arc<Link> {
        let link = Arc::new(Link::directed(interface, socket, self.shared.cancel.child_token()));
        tokio::spawn(receive_loop(Arc::clone(&self.shared.intake), Arc::clone(&link), Via::Directed));
        link
    }

    /// The multicast links open now.
    pub(crate) fn links(&self) -> Vec<Arc<Link>> {
        self.shared.links.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &DiscoveryConfig {
        &self.shared.intake.config
    }

    /// The counters.
    pub(crate) fn stats(&self) -> DiscoveryStats {
        self.shared.intake.counters.snapshot()
    }

    /// A token cancelled when the transport closes (for the owner's tasks).
    pub(crate) fn child_token(&self) -> CancellationToken {
        self.shared.cancel.child_token()
    }

    /// A handle that counts for the owner's tasks (they must not keep the transport open).
    pub(crate) fn counter_handle(&self) -> UnsolicitedCounter {
        UnsolicitedCounter(Arc::clone(&self.shared.intake))
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

/// Counts what the owner drops, from a task that must not hold the [`Transport`].
#[derive(Clone, Debug)]
pub(crate) struct UnsolicitedCounter(Arc<Intake>);

impl UnsolicitedCounter {
    /// Counts one unsolicited message.
    pub(crate) fn bump(&self) {
        Counters::bump(&self.0.counters.unsolicited);
    }

    /// Counts one misaddressed message.
    pub(crate) fn bump_misaddressed(&self) {
        Counters::bump(&self.0.counters.misaddressed);
    }
}

impl Shared {
    fn start_link(&self, link: Arc<Link>) {
        for &via in link.vias() {
            tokio::spawn(receive_loop(Arc::clone(&self.intake), Arc::clone(&link), via));
        }
        self.links.lock().unwrap_or_else(PoisonError::into_inner).push(link);
    }

    /// Opens links for new interface addresses and closes those whose address went away.
    fn refresh(&self) -> Vec<Event> {
        let config = &self.intake.config;
        let wanted = match interfaces::local_interfaces(config) {
            Ok(w) => w,
            Err(e) => {
                debug!(error = %e, "discovery: interface rescan failed");
                return Vec::new();
            }
        };
        let mut events = Vec::new();
        let current = self.links.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for link in current.iter().filter(|l| !wanted.contains(&l.interface)) {
            debug!(interface = %link.interface, "discovery: address gone; closing its link");
            link.cancel.cancel();
            self.links.lock().unwrap_or_else(PoisonError::into_inner).retain(|l| l.id != link.id);
            events.push(Event::LinkDown(Arc::clone(link)));
        }
        for interface in wanted.iter().filter(|w| !current.iter().any(|l| &l.interface == *w)) {
            match Link::open(interface, config, self.cancel.child_token()) {
                Ok(link) => {
                    debug!(%interface, "discovery: new address; opening a link");
                    let link = Arc::new(link);
                    self.start_link(Arc::clone(&link));
                    events.push(Event::LinkUp(link));
                }
                Err(e) => debug!(%interface, error = %e, "discovery: cannot open a link yet"),
            }
        }
        events
    }
}

async fn rescan_loop(shared: Arc<Shared>, interval: Duration) {
    loop {
        tokio::select! {
            () = shared.cancel.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        for event in shared.refresh() {
            tokio::select! {
                () = shared.cancel.cancelled() => return,
                sent = shared.intake.events.send(event) => if sent.is_err() { return },
            }
        }
    }
}

/// `QuotaExceeded` unless `bytes` fits in `MAX_ENVELOPE_SIZE` (what a receiver accepts).
pub(crate) fn check_outgoing_size(bytes: &[u8], config: &DiscoveryConfig) -> Result<()> {
    if bytes.len() > config.quotas.max_envelope_size {
        return Err(Error::new(
            ErrorKind::QuotaExceeded,
            format!(
                "the discovery message would be {} octets, over MAX_ENVELOPE_SIZE ({})",
                bytes.len(),
                config.quotas.max_envelope_size
            ),
        ));
    }
    Ok(())
}
