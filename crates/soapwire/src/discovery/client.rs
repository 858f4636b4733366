//! The discovery client (WSDAPI's `IWSDiscoveryProvider`): Probe and Resolve on every link,
//! answers collected within a timeout, and Hello and Bye as a stream; and directed Probe and
//! Resolve, sent by unicast to one address from a directed link opened for the request.
//!
//! Every request goes out on each link with a `MessageID` of its own, so an answer tells which
//! link (interface and address family) it belongs to, and peers that suppress duplicates across
//! all their sockets (wsdd does) still answer on each. An answer is accepted only when its
//! `RelatesTo` names an outstanding request sent on the link it arrived on, in the same
//! version; anything else is unsolicited or spoofed and dropped with a `debug` line.
//! `AppSequence` is tracked per link and endpoint: stale messages (an older instance, or a lower
//! message number in the same sequence) are dropped; messages in another sequence of the same
//! instance are kept, because wsdd starts a new sequence for every message.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use soapwire_proto::addressing::{AddressingHeaders, EndpointReference};
use soapwire_proto::discovery::{
    AppSequence, AppSequenceTracker, DiscoveryMessage, DiscoveryVersion, EndpointInfo, MatchBy, MessageKind, Probe,
    Resolve, Scopes, scopes_match,
};
use soapwire_proto::xml::QName;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::{broadcast, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::interfaces::{self, LocalInterface};
use super::transport::{
    Event, Inbound, Link, Transport, UnsolicitedCounter, Via, check_outgoing_size, next_event, open_unicast_socket,
};
use super::{DiscoveryConfig, DiscoveryStats, new_message_id};

/// How many endpoints the `AppSequence` tracker remembers per client.
const TRACKED_ENDPOINTS: usize = 1024;
/// How many Hello/Bye wait for a slow [`Announcements`] reader before the oldest are lost.
const ANNOUNCEMENT_BACKLOG: usize = 256;
/// How many answers one request buffers before further ones are dropped.
const ANSWER_BACKLOG: usize = 1024;

/// A target service found by a Probe or Resolve, or announced by Hello or Bye.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredEndpoint {
    /// What the target said: endpoint reference, types, scopes, XAddrs, metadata version.
    pub info: EndpointInfo,
    /// The version the target answered in.
    pub version: DiscoveryVersion,
    /// The local interface (and address family) the message arrived on.
    pub interface: LocalInterface,
    /// The sender's address.
    pub from: SocketAddr,
    /// The message's `AppSequence`, if any.
    pub app_sequence: Option<AppSequence>,
}

impl DiscoveredEndpoint {
    /// The endpoint reference address (the target's stable identity, `urn:uuid:…`).
    pub fn address(&self) -> &str {
        &self.info.endpoint.address
    }
}

/// A Hello or Bye received by a [`DiscoveryClient`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Announcement {
    /// A target service joined (WSDAPI `IWSDiscoveryProviderNotify::Add`).
    Hello(DiscoveredEndpoint),
    /// A target service left (`IWSDiscoveryProviderNotify::Remove`).
    Bye(DiscoveredEndpoint),
}

/// The stream of Hello and Bye of a [`DiscoveryClient`], from [`DiscoveryClient::announcements`].
#[derive(Debug)]
pub struct Announcements {
    rx: broadcast::Receiver<Announcement>,
}

impl Announcements {
    /// The next announcement, or `None` once the client is closed. A reader more than 256
    /// announcements behind loses the oldest (logged).
    pub async fn next(&mut self) -> Option<Announcement> {
        loop {
            match self.rx.recv().await {
                Ok(a) => return Some(a),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    debug!(lost = n, "discovery: announcement reader too slow; oldest lost");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Finds target services with Probe and Resolve, and reports Hello and Bye.
///
/// One client opens one socket pair per selected interface and address family
/// ([`DiscoveryConfig`]; none with [`DiscoveryConfig::directed_only`]). Requests go out in
/// [`DiscoveryConfig::version`] (2005/04 by default) with the multicast retransmission
/// schedule; answers of either version are read. Directed requests
/// ([`DiscoveryClient::probe_directed`], [`DiscoveryClient::resolve_directed`]) go by unicast,
/// with the unicast schedule, from a socket opened for each request. Dropping the client closes
/// its sockets and ends [`Announcements`].
///
/// ```no_run
/// # async fn demo() -> soapwire::Result<()> {
/// use std::time::Duration;
/// use soapwire::discovery::{DiscoveryClient, DiscoveryConfig};
///
/// let config = DiscoveryConfig { interfaces: vec!["eth1".into()], ..DiscoveryConfig::default() };
/// let client = DiscoveryClient::open(config).await?;
/// if let Some(found) = client.resolve("urn:uuid:11111111-2222-3333-4444-555555555555", Duration::from_secs(3)).await? {
///     println!("XAddrs: {:?}", found.info.xaddrs);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DiscoveryClient {
    inner: Arc<ClientInner>,
    // Dropped after `inner`'s users: closing it ends the dispatcher.
    transport: Transport,
}

#[derive(Debug)]
struct ClientInner {
    config: DiscoveryConfig,
    pending: Mutex<HashMap<String, Pending>>,
    announcements: broadcast::Sender<Announcement>,
    tracker: Mutex<AppSequenceTracker>,
    unsolicited: UnsolicitedCounter,
}

/// An outstanding request, by the `MessageID` sent on one link.
#[derive(Debug)]
struct Pending {
    link_id: u64,
    answer: MessageKind,
    version: DiscoveryVersion,
    tx: mpsc::Sender<(DiscoveredEndpoint, Arc<Link>)>,
}

impl DiscoveryClient {
    /// Opens the sockets on every interface `config` selects and starts listening for Hello,
    /// Bye and answers.
    ///
    /// Errors: `InvalidArgument` for an invalid configuration; `AddressNotAvailable` when no
    /// interface is selected (the message lists what exists); `AddressInUse` /
    /// `AddressNotAvailable` when no socket could be opened.
    pub async fn open(config: DiscoveryConfig) -> Result<DiscoveryClient> {
        let (transport, events) = Transport::open(config).await?;
        Ok(DiscoveryClient::with_transport(transport, events))
    }

    pub(crate) fn with_transport(transport: Transport, events: mpsc::Receiver<Event>) -> DiscoveryClient {
        let inner = Arc::new(ClientInner {
            config: transport.config().clone(),
            pending: Mutex::default(),
            announcements: broadcast::channel(ANNOUNCEMENT_BACKLOG).0,
            tracker: Mutex::new(AppSequenceTracker::new(TRACKED_ENDPOINTS)),
            unsolicited: transport.counter_handle(),
        });
        tokio::spawn(dispatch(Arc::clone(&inner), events, transport.child_token()));
        DiscoveryClient { inner, transport }
    }

    /// The links in use: one per interface and address family.
    pub fn interfaces(&self) -> Vec<LocalInterface> {
        self.transport.links().iter().map(|l| l.interface.clone()).collect()
    }

    /// What the sockets received and dropped so far.
    pub fn stats(&self) -> DiscoveryStats {
        self.transport.stats()
    }

    /// A stream of the Hello and Bye received from now on.
    pub fn announcements(&self) -> Announcements {
        Announcements { rx: self.inner.announcements.subscribe() }
    }

    /// Sends a Probe for `types` and `scopes` (default RFC 3986 rule; empty lists match every
    /// target) and collects the ProbeMatches for exactly `timeout` ([`super::MATCH_TIMEOUT`]
    /// is the specification's value). One entry per target and link; matches without XAddrs
    /// are returned as they are (see [`DiscoveryClient::search`]).
    ///
    /// Errors: `AddressNotAvailable` when no link is open; `QuotaExceeded` when the Probe
    /// would exceed `MAX_ENVELOPE_SIZE`.
    pub async fn probe(
        &self,
        types: &[QName],
        scopes: &[String],
        timeout: Duration,
    ) -> Result<Vec<DiscoveredEndpoint>> {
        self.probe_with(probe_for(types, scopes), timeout).await
    }

    /// [`DiscoveryClient::probe`] with a whole [`Probe`] (e.g. a `MatchBy` rule).
    pub async fn probe_with(&self, probe: Probe, timeout: Duration) -> Result<Vec<DiscoveredEndpoint>> {
        let request = self.inner.start(&DiscoveryMessage::Probe(probe), &multicast(&self.links()?))?;
        Ok(collect(request, timeout).await)
    }

    /// Sends a Resolve for `endpoint_address` on every link and returns the first
    /// ResolveMatch for it, or `None` when none came within `timeout`.
    ///
    /// Errors: `AddressNotAvailable` when no link is open; `QuotaExceeded` when the Resolve
    /// would exceed `MAX_ENVELOPE_SIZE`.
    pub async fn resolve(&self, endpoint_address: &str, timeout: Duration) -> Result<Option<DiscoveredEndpoint>> {
        let links = self.links()?;
        self.inner.resolve_on(&multicast(&links), endpoint_address, timeout).await
    }

    /// Probe, and Resolve each match that came without XAddrs on the link it came from (wsdd
    /// and Windows hosts answer Probe that way): matches are collected for `timeout`, and each
    /// Resolve, started as its match arrives, waits at most `timeout` too, so the whole search
    /// lasts between `timeout` and twice that. Matches whose Resolve got no answer are returned
    /// without XAddrs.
    ///
    /// Errors: as [`DiscoveryClient::probe`].
    pub async fn search(
        &self,
        types: &[QName],
        scopes: &[String],
        timeout: Duration,
    ) -> Result<Vec<DiscoveredEndpoint>> {
        let probe = DiscoveryMessage::Probe(probe_for(types, scopes));
        let mut request = self.inner.start(&probe, &multicast(&self.links()?))?;
        let deadline = Instant::now() + timeout;
        let mut found: Vec<(DiscoveredEndpoint, Arc<Link>)> = Vec::new();
        let mut resolves = JoinSet::new();
        while let Some(answer) = request.next_before(deadline).await {
            let Some(index) = merge(&mut found, answer) else { continue };
            let (m, link) = &found[index];
            if m.info.xaddrs.is_empty() {
                let (inner, to, address) =
                    (Arc::clone(&self.inner), multicast(&[Arc::clone(link)]), m.address().to_owned());
                resolves.spawn(async move { (index, inner.resolve_on(&to, &address, timeout).await) });
            }
        }
        drop(request);
        while let Some(joined) = resolves.join_next().await {
            let Ok((index, Ok(Some(resolved)))) = joined else { continue };
            if let Some((m, _)) = found.get_mut(index) {
                m.info.xaddrs = resolved.info.xaddrs;
                m.info.metadata_version = resolved.info.metadata_version.or(m.info.metadata_version);
                if m.info.types.is_empty() {
                    m.info.types = resolved.info.types;
                }
            }
        }
        Ok(found.into_iter().map(|(m, _)| m).collect())
    }

    /// Sends a Probe for `types` and `scopes` by unicast to `target` (a target service's
    /// discovery address, e.g. one started with [`super::TargetOptions::unicast_listen`], or
    /// a device that answers unicast Probes on port 3702) and collects the ProbeMatches that
    /// come back for exactly `timeout`. The Probe goes out with the unicast retransmission
    /// schedule from a socket bound to the local address the system routes `target` from (a
    /// loopback address for a loopback target), which is closed when the call returns; only
    /// answers to it on that socket are accepted. A directed target answers at once, so a
    /// short timeout does (a few hundred milliseconds on a LAN).
    ///
    /// Errors: `InvalidArgument` when `target` is not a unicast address with a port;
    /// `EndpointUnreachable` / `AddressNotAvailable` when no route or socket leads there;
    /// `QuotaExceeded` when the Probe would exceed `MAX_ENVELOPE_SIZE`.
    ///
    /// ```no_run
    /// # async fn demo() -> soapwire::Result<()> {
    /// use std::time::Duration;
    /// use soapwire::discovery::{DiscoveryClient, DiscoveryConfig, DPWS_2006_02_NAMESPACE};
    /// use soapwire::QName;
    ///
    /// let client = DiscoveryClient::open(DiscoveryConfig::directed_only()).await?;
    /// let camera = "192.0.2.7:3702".parse().unwrap();
    /// let device = QName::new(DPWS_2006_02_NAMESPACE, "Device");
    /// for found in client.probe_directed(camera, &[device], &[], Duration::from_secs(1)).await? {
    ///     println!("{} at {:?}", found.address(), found.info.xaddrs);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn probe_directed(
        &self,
        target: SocketAddr,
        types: &[QName],
        scopes: &[String],
        timeout: Duration,
    ) -> Result<Vec<DiscoveredEndpoint>> {
        self.probe_directed_with(target, probe_for(types, scopes), timeout).await
    }

    /// [`DiscoveryClient::probe_directed`] with a whole [`Probe`] (e.g. a `MatchBy` rule).
    pub async fn probe_directed_with(
        &self,
        target: SocketAddr,
        probe: Probe,
        timeout: Duration,
    ) -> Result<Vec<DiscoveredEndpoint>> {
        let link = self.directed_link(target)?;
        let request = self.inner.start(&DiscoveryMessage::Probe(probe), &[link.destination(target)])?;
        Ok(collect(request, timeout).await)
    }

    /// Sends a Resolve for `endpoint_address` by unicast to `target` and returns the first
    /// ResolveMatch for it, or `None` when none came within `timeout`. The socket and the
    /// checks are those of [`DiscoveryClient::probe_directed`].
    ///
    /// Errors: as [`DiscoveryClient::probe_directed`].
    pub async fn resolve_directed(
        &self,
        target: SocketAddr,
        endpoint_address: &str,
        timeout: Duration,
    ) -> Result<Option<DiscoveredEndpoint>> {
        let link = self.directed_link(target)?;
        self.inner.resolve_on(&[link.destination(target)], endpoint_address, timeout).await
    }

    fn links(&self) -> Result<Vec<Arc<Link>>> {
        let links = self.transport.links();
        if links.is_empty() {
            let why = if self.inner.config.multicast { "" } else { " (multicast is off: use the directed calls)" };
            return Err(Error::new(ErrorKind::AddressNotAvailable, format!("no discovery interface is open{why}")));
        }
        Ok(links)
    }

    /// A directed link toward `target`, closed when dropped.
    fn directed_link(&self, target: SocketAddr) -> Result<DirectedLink> {
        check_unicast_peer(target)?;
        let source = interfaces::source_address_toward(target)
            .map_err(|e| crate::http::io_error(e, &format!("finding a route to {target}")))?;
        let socket = open_unicast_socket(source)
            .map_err(|e| crate::http::io_error(e, &format!("opening a discovery socket on {}", source.ip())))?;
        Ok(DirectedLink(self.transport.add_directed(interfaces::interface_of(source), socket)))
    }
}

/// `InvalidArgument` unless `target` is an address a directed request can go to: unicast, not
/// unspecified, with a port.
fn check_unicast_peer(target: SocketAddr) -> Result<()> {
    let ip = target.ip();
    let broadcast = matches!(ip, IpAddr::V4(a) if a.is_broadcast());
    if target.port() == 0 || ip.is_unspecified() || ip.is_multicast() || broadcast {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{target} is not a unicast address with a port (multicast discovery is probe and resolve)"),
        ));
    }
    Ok(())
}

/// A directed link for one request; closed on drop.
struct DirectedLink(Arc<Link>);

impl DirectedLink {
    fn destination(&self, target: SocketAddr) -> Destination {
        Destination { link: Arc::clone(&self.0), via: Via::Directed, to: target }
    }
}

impl Drop for DirectedLink {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Where one copy of a request goes: which link and socket it leaves from, and to where.
struct Destination {
    link: Arc<Link>,
    via: Via,
    to: SocketAddr,
}

/// The multicast destinations of `links`.
fn multicast(links: &[Arc<Link>]) -> Vec<Destination> {
    links
        .iter()
        .filter_map(|link| Some(Destination { link: Arc::clone(link), via: Via::Local, to: link.multicast_dest()? }))
        .collect()
}

/// Every answer to `request` for `timeout`, one per endpoint and link.
async fn collect(mut request: Request, timeout: Duration) -> Vec<DiscoveredEndpoint> {
    let deadline = Instant::now() + timeout;
    let mut found = Vec::new();
    while let Some(answer) = request.next_before(deadline).await {
        merge(&mut found, answer);
    }
    found.into_iter().map(|(m, _)| m).collect()
}

fn probe_for(types: &[QName], scopes: &[String]) -> Probe {
    let scopes = (!scopes.is_empty()).then(|| Scopes { match_by: None, uris: scopes.to_vec() });
    Probe { types: types.to_vec(), types_text: None, scopes }
}

/// Adds an answer unless the same endpoint already answered on the same link (then only fills
/// in XAddrs it lacked). Returns the index of a new entry.
fn merge(found: &mut Vec<(DiscoveredEndpoint, Arc<Link>)>, answer: (DiscoveredEndpoint, Arc<Link>)) -> Option<usize> {
    let same = |(m, l): &(DiscoveredEndpoint, Arc<Link>)| l.id == answer.1.id && m.address() == answer.0.address();
    if let Some((existing, _)) = found.iter_mut().find(|e| same(e)) {
        if existing.info.xaddrs.is_empty() {
            existing.info.xaddrs = answer.0.info.xaddrs;
        }
        return None;
    }
    found.push(answer);
    Some(found.len() - 1)
}

/// A request in flight: its registrations and its transmissions, both undone on drop.
struct Request {
    inner: Arc<ClientInner>,
    ids: Vec<String>,
    sends: Vec<JoinHandle<()>>,
    rx: mpsc::Receiver<(DiscoveredEndpoint, Arc<Link>)>,
}

impl Request {
    /// The next answer, or `None` at `deadline`.
    async fn next_before(&mut self, deadline: Instant) -> Option<(DiscoveredEndpoint, Arc<Link>)> {
        tokio::time::timeout_at(deadline, self.rx.recv()).await.ok().flatten()
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        let mut pending = self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for id in &self.ids {
            pending.remove(id);
        }
        for send in &self.sends {
            send.abort();
        }
    }
}

impl ClientInner {
    /// Registers and sends `message` to each destination with a `MessageID` of its own, with
    /// the multicast schedule, or the unicast one for a directed link.
    fn start(self: &Arc<Self>, message: &DiscoveryMessage, destinations: &[Destination]) -> Result<Request> {
        let answer = match message.kind() {
            MessageKind::Probe => MessageKind::ProbeMatches,
            _ => MessageKind::ResolveMatches,
        };
        let version = self.config.version;
        let (tx, rx) = mpsc::channel(ANSWER_BACKLOG);
        let mut request = Request { inner: Arc::clone(self), ids: Vec::new(), sends: Vec::new(), rx };
        for Destination { link, via, to } in destinations {
            let message_id = new_message_id();
            let addressing = AddressingHeaders { message_id: Some(message_id.clone()), ..AddressingHeaders::default() };
            let bytes = message.to_envelope(version, &addressing, None);
            check_outgoing_size(&bytes, &self.config)?;
            let pending = Pending { link_id: link.id, answer, version, tx: tx.clone() };
            self.pending.lock().unwrap_or_else(PoisonError::into_inner).insert(message_id.clone(), pending);
            request.ids.push(message_id);
            let params =
                if link.is_directed() { self.config.unicast_retransmit } else { self.config.multicast_retransmit };
            request.sends.push(link.spawn_scheduled(*via, *to, bytes, params));
        }
        Ok(request)
    }

    /// Resolve to `destinations`; the first ResolveMatch for `address`.
    async fn resolve_on(
        self: &Arc<Self>,
        destinations: &[Destination],
        address: &str,
        timeout: Duration,
    ) -> Result<Option<DiscoveredEndpoint>> {
        let endpoint = EndpointReference { address: address.to_owned(), reference_parameters: None };
        let mut request = self.start(&DiscoveryMessage::Resolve(Resolve { endpoint }), destinations)?;
        let deadline = Instant::now() + timeout;
        while let Some((m, _)) = request.next_before(deadline).await {
            if same_endpoint(m.address(), address) {
                return Ok(Some(m));
            }
            debug!(asked = address, answered = m.address(), "discovery: ResolveMatch for another endpoint; ignored");
            self.unsolicited.bump();
        }
        Ok(None)
    }

    fn handle(&self, inbound: Inbound) {
        let Inbound { link, via: _, from, message } = inbound;
        let version = message.version;
        let seq = message.app_sequence;
        let found = |info: EndpointInfo| DiscoveredEndpoint {
            info,
            version,
            interface: link.interface.clone(),
            from,
            app_sequence: seq.clone(),
        };
        let relates_to = message.addressing.relates_to;
        match message.message {
            DiscoveryMessage::ProbeMatches(matches) => {
                let answers = matches.into_iter().map(found).collect();
                self.answer(&link, relates_to.as_deref(), MessageKind::ProbeMatches, version, answers);
            }
            DiscoveryMessage::ResolveMatches(m) => {
                let answers = m.into_iter().map(found).collect();
                self.answer(&link, relates_to.as_deref(), MessageKind::ResolveMatches, version, answers);
            }
            DiscoveryMessage::Hello(_) | DiscoveryMessage::Bye(_) if link.is_directed() => {
                self.unsolicited.bump();
                debug!(interface = %link.interface, %from, "discovery: Hello or Bye on a directed socket; ignored");
            }
            DiscoveryMessage::Hello(info) => self.announce(&link, Announcement::Hello(found(info))),
            DiscoveryMessage::Bye(info) => self.announce(&link, Announcement::Bye(found(info))),
            DiscoveryMessage::Probe(_) | DiscoveryMessage::Resolve(_) => {}
        }
    }

    /// Hands answers to the request they relate to, if it is ours, on this link and version.
    fn answer(
        &self,
        link: &Arc<Link>,
        relates_to: Option<&str>,
        kind: MessageKind,
        version: DiscoveryVersion,
        answers: Vec<DiscoveredEndpoint>,
    ) {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let request = relates_to.and_then(|id| pending.get(id));
        let Some(request) = request.filter(|p| p.link_id == link.id && p.answer == kind && p.version == version) else {
            drop(pending);
            self.unsolicited.bump();
            debug!(interface = %link.interface, ?kind, ?relates_to, "discovery: unsolicited or spoofed answer; ignored");
            return;
        };
        for answer in answers {
            if !self.is_current(link, &answer) {
                continue;
            }
            if request.tx.try_send((answer, Arc::clone(link))).is_err() {
                debug!(interface = %link.interface, "discovery: too many answers for one request; dropping");
            }
        }
    }

    fn announce(&self, link: &Link, announcement: Announcement) {
        let (Announcement::Hello(m) | Announcement::Bye(m)) = &announcement;
        if self.is_current(link, m) {
            // No receiver is not an error: nobody is listening for announcements.
            let _ = self.announcements.send(announcement);
        }
    }

    /// The `AppSequence` check, per link and endpoint: false for a stale or repeated message.
    fn is_current(&self, link: &Link, m: &DiscoveredEndpoint) -> bool {
        let Some(seq) = &m.app_sequence else { return true };
        let key = format!("{} {}", link.id, m.address());
        let observation = self.tracker.lock().unwrap_or_else(PoisonError::into_inner).observe_announcement(
            &key,
            seq,
            m.info.metadata_version,
        );
        if !observation.freshness.is_processable() {
            debug!(endpoint = m.address(), freshness = ?observation.freshness, "discovery: stale AppSequence; ignored");
        }
        observation.freshness.is_processable()
    }
}

/// Endpoint addresses are compared as strings, and `urn:uuid:` ones as UUIDs (hex case
/// ignored).
pub(crate) fn same_endpoint(a: &str, b: &str) -> bool {
    a == b || scopes_match(&MatchBy::Uuid, &[a.to_owned()], &[b.to_owned()]).is_match()
}

async fn dispatch(inner: Arc<ClientInner>, mut events: mpsc::Receiver<Event>, cancel: CancellationToken) {
    while let Some(event) = next_event(&mut events, &cancel).await {
        if let Event::Datagram(inbound) = event {
            inner.handle(*inbound);
        }
    }
}
