//! The discovery target responder (the discovery half of WSDAPI's `IWSDDeviceHost` and
//! `IWSDiscoveryPublisher`): Hello on start, answers to Probe and Resolve, Bye on stop.
//!
//! What it does, as WSDAPI does it:
//!
//! * Hello goes out on every link at once (WSDAPI does not apply WS-Discovery's random delay
//!   before Hello), with the multicast retransmission schedule and without XAddrs
//!   ([`TargetOptions::xaddrs_in_hello`]); a link opened later (a new address) gets its own
//!   Hello. Changing the metadata version announces again.
//! * A Probe that matches ([`soapwire_proto::discovery::probe_matches`]: types by QName, scopes by
//!   the `MatchBy` rule) and a Resolve for this endpoint are answered by unicast to the
//!   request's source, from port 3702, after a random delay within `APP_MAX_DELAY` (capped at
//!   2.5 s, so that the answer passes the Windows firewall's 4 s window), then with the unicast
//!   retransmission schedule. The answer carries exactly one XAddr, built from
//!   [`TargetService::xaddrs_template`] and the address of the interface the request arrived on.
//! * A Probe without Types matches, as WS-Discovery says (WSDAPI hosts and wsdd ignore such a
//!   Probe; ONVIF clients send them).
//! * On the multicast links only multicast requests are answered (WSDAPI answers no unicast
//!   Probe). A Probe with an unknown matching rule is not answered (no fault is multicast back).
//! * Directed discovery: with [`TargetOptions::unicast_listen`] the target also listens on a
//!   unicast socket of its own (any address, loopback included; it never sees multicast) and
//!   answers the Probe and Resolve sent to it directly, whose `To` is the discovery URN of their
//!   version or this endpoint's address: by unicast to the sender, from that socket, at once
//!   (the random delay only spreads the answers to a multicast request), with the unicast
//!   retransmission schedule and exactly one XAddr built from the socket's address. No Hello
//!   or Bye goes to that socket's peers: they are multicast.
//! * Answers on every socket share a token-bucket rate ([`TargetOptions::replies_per_second`],
//!   [`TargetOptions::reply_burst`]) and a number in flight
//!   ([`TargetOptions::max_pending_replies`]), so a Probe flood (or a spoofed source) gets a
//!   bounded number of datagrams out of this host.
//! * [`DiscoveryTarget::stop`] stops answering and sends Bye with the multicast schedule,
//!   returning when the last copy is out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use soapwire_proto::addressing::{AddressingHeaders, EndpointReference};
use soapwire_proto::discovery::{
    AppSequenceGenerator, DPWS_2006_02_NAMESPACE, DiscoveryMessage, DiscoveryVersion, EndpointInfo, MAX_URI_SIZE,
    ScopeMatch, probe_matches,
};
use soapwire_proto::soap::EnvelopeVersion;
use soapwire_proto::udp::{RetransmitParams, WSDAPI_REPLY_DELAY_CAP, reply_delay};
use soapwire_proto::xml::QName;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::client::same_endpoint;
use super::interfaces::{self, LocalInterface};
use super::transport::{
    Event, Inbound, Link, Transport, UnsolicitedCounter, Via, check_outgoing_size, next_event, open_unicast_socket,
};
use super::{DiscoveryConfig, DiscoveryStats, new_message_id, random_u64};

/// What a target service says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetService {
    /// The endpoint reference address: the stable identity, `urn:uuid:…` for DPWS.
    pub endpoint_address: String,
    /// The types it implements (Probe matching compares them by QName).
    pub types: Vec<QName>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// `MetadataVersion`.
    pub metadata_version: u32,
    /// How its XAddr is built on each interface: `{ip}` becomes the interface address (IPv6 in
    /// brackets), `{uuid}` the endpoint address without `urn:uuid:`. `None`: no XAddrs.
    pub xaddrs_template: Option<String>,
    /// `AppSequence/@InstanceId`: must grow at each start of the service (the default is the
    /// time in seconds since 1970, truncated to 32 bits, as wsdd does).
    pub instance_id: u32,
}

impl TargetService {
    /// The DPWS XAddr template of WSDAPI and wsdd: `http://{ip}:5357/{uuid}`.
    pub const DPWS_XADDRS_TEMPLATE: &'static str = "http://{ip}:5357/{uuid}";

    /// A DPWS device (`wsdp:Device`) at `endpoint_address`, metadata version 1, the
    /// [`TargetService::DPWS_XADDRS_TEMPLATE`], no scopes, an instance id from the clock.
    pub fn new(endpoint_address: impl Into<String>) -> TargetService {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        TargetService {
            endpoint_address: endpoint_address.into(),
            types: vec![QName::new(DPWS_2006_02_NAMESPACE, "Device")],
            scopes: Vec::new(),
            metadata_version: 1,
            xaddrs_template: Some(TargetService::DPWS_XADDRS_TEMPLATE.to_owned()),
            instance_id: now.as_secs() as u32,
        }
    }

    /// The XAddr on `interface` ([`TargetService::xaddrs_template`] filled in).
    pub fn xaddr(&self, interface: &LocalInterface) -> Option<String> {
        let template = self.xaddrs_template.as_deref()?;
        let address = self.endpoint_address.as_str();
        let uuid = match address.get(..9) {
            Some(prefix) if prefix.eq_ignore_ascii_case("urn:uuid:") => &address[9..],
            _ => address,
        };
        Some(template.replace("{ip}", &interface.url_host()).replace("{uuid}", uuid))
    }

    /// `InvalidArgument` for an empty endpoint address, a URI longer than `MAX_URI_SIZE` or
    /// holding whitespace (lists are space-separated on the wire), or a template with another
    /// placeholder than `{ip}` and `{uuid}`.
    fn validate(&self) -> Result<()> {
        let invalid = |m: String| Err(Error::new(ErrorKind::InvalidArgument, m));
        if self.endpoint_address.is_empty() {
            return invalid("the endpoint address is empty".into());
        }
        for uri in std::iter::once(&self.endpoint_address).chain(&self.scopes) {
            if uri.len() > MAX_URI_SIZE || uri.contains(char::is_whitespace) || uri.is_empty() {
                return invalid(format!(
                    "{uri:?} is not a URI discovery can send (empty, spaces, or over MAX_URI_SIZE)"
                ));
            }
        }
        if let Some(template) = &self.xaddrs_template {
            let rest = template.replace("{ip}", "").replace("{uuid}", "");
            if rest.contains(['{', '}']) || template.contains(char::is_whitespace) {
                return invalid(format!("XAddrs template {template:?}: only {{ip}} and {{uuid}} may be filled in"));
            }
        }
        Ok(())
    }

    /// What goes in Hello, Bye and the matches on `link`.
    fn info(&self, interface: Option<&LocalInterface>) -> EndpointInfo {
        EndpointInfo {
            endpoint: EndpointReference { address: self.endpoint_address.clone(), reference_parameters: None },
            types: self.types.clone(),
            types_text: None,
            scopes: self.scopes.clone(),
            xaddrs: interface.and_then(|i| self.xaddr(i)).into_iter().collect(),
            metadata_version: Some(self.metadata_version),
        }
    }
}

/// How a [`DiscoveryTarget`] answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetOptions {
    /// `APP_MAX_DELAY`: the reply delay is random in `[0, app_max_delay]`, capped at 2.5 s
    /// whatever the value (WSDAPI's cap). Default 2.5 s.
    pub app_max_delay: Duration,
    /// The sustained reply rate. Default 10 per second.
    pub replies_per_second: u32,
    /// The replies allowed in a burst above the rate. Default 20.
    pub reply_burst: u32,
    /// The replies waiting for their delay or retransmitting at once. Default 64.
    pub max_pending_replies: usize,
    /// Put the XAddr in Hello too. Default false: WSDAPI's host never does; clients Resolve.
    pub xaddrs_in_hello: bool,
    /// Also answer directed (unicast) Probe and Resolve on a UDP socket bound to this address:
    /// a specific unicast address (loopback included; the XAddr in the answers is built from
    /// it), with port 0 for a free port ([`DiscoveryTarget::unicast_addr`] tells which) or a
    /// fixed one such as 3702. The socket does not share its address and port: when another
    /// socket holds them, [`DiscoveryTarget::start`] fails with `AddressInUse`. Default `None`.
    /// With [`DiscoveryConfig::directed_only`] this is the only socket the target opens.
    pub unicast_listen: Option<SocketAddr>,
}

impl Default for TargetOptions {
    fn default() -> Self {
        TargetOptions {
            app_max_delay: WSDAPI_REPLY_DELAY_CAP,
            replies_per_second: 10,
            reply_burst: 20,
            max_pending_replies: 64,
            xaddrs_in_hello: false,
            unicast_listen: None,
        }
    }
}

/// What a [`DiscoveryTarget`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetStats {
    /// ProbeMatches sent (each once, retransmissions not counted).
    pub probes_answered: u64,
    /// ResolveMatches sent.
    pub resolves_answered: u64,
    /// Matching requests not answered because of the rate or the in-flight limit.
    pub rate_limited: u64,
    /// The sockets' counters.
    pub discovery: DiscoveryStats,
}

/// A token bucket on the runtime's clock.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(per_second: u32, burst: u32, now: Instant) -> TokenBucket {
        let capacity = f64::from(burst.max(1));
        TokenBucket { capacity, per_second: f64::from(per_second), tokens: capacity, last: now }
    }

    /// Takes a token if one is left at `now`.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Announces a target service and answers Probe and Resolve for it until stopped.
///
/// ```no_run
/// # async fn demo() -> soapwire::Result<()> {
/// use soapwire::discovery::{DiscoveryConfig, DiscoveryTarget, TargetOptions, TargetService};
///
/// let service = TargetService::new("urn:uuid:a4c3e9b2-2f6b-4cf4-8c54-6a4b5c0f7c1d");
/// let target = DiscoveryTarget::start(service, DiscoveryConfig::default(), TargetOptions::default()).await?;
/// // ... serve the metadata on port 5357 ...
/// target.stop().await; // Bye
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DiscoveryTarget {
    state: Arc<TargetState>,
    responder: JoinHandle<()>,
    /// The directed link of [`TargetOptions::unicast_listen`].
    unicast: Option<Arc<Link>>,
    transport: Transport,
}

#[derive(Debug)]
struct TargetState {
    config: DiscoveryConfig,
    options: TargetOptions,
    service: Mutex<TargetService>,
    sequence: Mutex<AppSequenceGenerator>,
    bucket: Mutex<TokenBucket>,
    pending: Arc<AtomicUsize>,
    probes_answered: AtomicU64,
    resolves_answered: AtomicU64,
    rate_limited: AtomicU64,
    unsolicited: UnsolicitedCounter,
}

impl DiscoveryTarget {
    /// Opens the sockets `config` selects and the [`TargetOptions::unicast_listen`] socket,
    /// sends Hello on each multicast link and answers Probe and Resolve from now on.
    ///
    /// Errors: `InvalidArgument` for an invalid service, options or configuration (a
    /// `unicast_listen` address that is unspecified or multicast, or multicast off without
    /// one); as [`super::DiscoveryClient::open`] for the multicast sockets; `AddressInUse` /
    /// `AddressNotAvailable` when the unicast socket cannot be bound.
    pub async fn start(service: TargetService, config: DiscoveryConfig, options: TargetOptions) -> Result<Self> {
        service.validate()?;
        options.validate(&config)?;
        let (transport, events) = Transport::open(config).await?;
        let unicast = match options.unicast_listen {
            Some(address) => {
                let socket = open_unicast_socket(address).map_err(|e| {
                    crate::http::io_error(e, &format!("opening the directed discovery socket on {address}"))
                })?;
                let bound = socket.local_addr().unwrap_or(address);
                Some(transport.add_directed(interfaces::interface_of(bound), socket))
            }
            None => None,
        };
        Ok(DiscoveryTarget::with_transport(service, options, transport, events, unicast))
    }

    pub(crate) fn with_transport(
        service: TargetService,
        options: TargetOptions,
        transport: Transport,
        events: mpsc::Receiver<Event>,
        unicast: Option<Arc<Link>>,
    ) -> DiscoveryTarget {
        let state = Arc::new(TargetState {
            config: transport.config().clone(),
            bucket: Mutex::new(TokenBucket::new(options.replies_per_second, options.reply_burst, Instant::now())),
            options,
            sequence: Mutex::new(AppSequenceGenerator::new(service.instance_id, None)),
            service: Mutex::new(service),
            pending: Arc::default(),
            probes_answered: AtomicU64::new(0),
            resolves_answered: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            unsolicited: transport.counter_handle(),
        });
        for link in transport.links() {
            state.hello(&link);
        }
        let responder = tokio::spawn(respond(Arc::clone(&state), events, transport.child_token()));
        DiscoveryTarget { state, responder, unicast, transport }
    }

    /// The multicast links in use: one per interface and address family.
    pub fn interfaces(&self) -> Vec<LocalInterface> {
        self.transport.links().iter().map(|l| l.interface.clone()).collect()
    }

    /// The address the [`TargetOptions::unicast_listen`] socket is bound to (with the port
    /// chosen for port 0): where directed Probe and Resolve go. `None` without that option.
    pub fn unicast_addr(&self) -> Option<SocketAddr> {
        self.unicast.as_ref().and_then(|link| link.local_addr(Via::Directed).ok())
    }

    /// The service as announced now.
    pub fn service(&self) -> TargetService {
        self.state.service.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Sets the metadata version and announces it with a new Hello on every link.
    pub fn set_metadata_version(&self, version: u32) {
        self.state.service.lock().unwrap_or_else(PoisonError::into_inner).metadata_version = version;
        for link in self.transport.links() {
            self.state.hello(&link);
        }
    }

    /// What the target answered and dropped so far.
    pub fn stats(&self) -> TargetStats {
        TargetStats {
            probes_answered: self.state.probes_answered.load(Ordering::Relaxed),
            resolves_answered: self.state.resolves_answered.load(Ordering::Relaxed),
            rate_limited: self.state.rate_limited.load(Ordering::Relaxed),
            discovery: self.transport.stats(),
        }
    }

    /// Stops answering and sends Bye on every multicast link with the multicast retransmission
    /// schedule; returns when the last copy is out (about 1 s with the default schedule, at
    /// most the schedule's length; at once without multicast links). The unicast socket closes
    /// too. Dropping a target without `stop` closes it without Bye.
    pub async fn stop(self) {
        self.responder.abort();
        if let Some(link) = &self.unicast {
            link.close();
        }
        let mut byes = JoinSet::new();
        for link in self.transport.links() {
            let Some(dest) = link.multicast_dest() else { continue };
            let (version, service) = (self.state.config.version, self.service());
            let info = EndpointInfo { xaddrs: Vec::new(), ..service.info(None) };
            let bytes = self.state.envelope(version, &DiscoveryMessage::Bye(info), None);
            let params = self.state.config.multicast_retransmit;
            byes.spawn(async move { link.send_scheduled(Via::Local, dest, &bytes, &params, &mut random_u64).await });
        }
        while byes.join_next().await.is_some() {}
    }
}

impl Drop for DiscoveryTarget {
    fn drop(&mut self) {
        self.responder.abort();
    }
}

impl TargetState {
    /// A whole envelope for `message` with a new `MessageID`, the next `AppSequence`, and
    /// `RelatesTo` when answering.
    fn envelope(&self, version: DiscoveryVersion, message: &DiscoveryMessage, relates_to: Option<&str>) -> Vec<u8> {
        let addressing = AddressingHeaders {
            message_id: Some(new_message_id()),
            relates_to: relates_to.map(str::to_owned),
            ..AddressingHeaders::default()
        };
        let sequence = self.sequence.lock().unwrap_or_else(PoisonError::into_inner).next_sequence();
        message.to_envelope(version, &addressing, Some(&sequence))
    }

    /// Sends Hello on `link` (in a task), if it is a multicast link.
    fn hello(&self, link: &Arc<Link>) {
        let Some(dest) = link.multicast_dest() else { return };
        let service = self.service.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let interface = self.options.xaddrs_in_hello.then_some(&link.interface);
        let bytes = self.envelope(self.config.version, &DiscoveryMessage::Hello(service.info(interface)), None);
        if let Err(e) = check_outgoing_size(&bytes, &self.config) {
            debug!(error = %e, "discovery: Hello not sent");
            return;
        }
        link.spawn_scheduled(Via::Local, dest, bytes, self.config.multicast_retransmit);
    }

    /// Answers a request if it is a Probe that matches or a Resolve for this endpoint, received
    /// by multicast on a multicast link or directly on the unicast socket.
    fn on_request(&self, inbound: Inbound) {
        let link = &inbound.link;
        let request_id = inbound.message_id().to_owned();
        let version = inbound.message.version;
        let service = self.service.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let directed = inbound.via == Via::Directed;
        if directed && !inbound.message.message.kind().is_reply() {
            let to = inbound.message.addressing.to.as_deref().unwrap_or_default();
            if to != version.multicast_to() && !same_endpoint(to, &service.endpoint_address) {
                self.unsolicited.bump_misaddressed();
                debug!(interface = %link.interface, from = %inbound.from, to, "discovery: directed request for another endpoint; ignored");
                return;
            }
        }
        let answer = match &inbound.message.message {
            DiscoveryMessage::Probe(probe) => match probe_matches(probe, &service.info(None)) {
                ScopeMatch::Match => Some(DiscoveryMessage::ProbeMatches(vec![service.info(Some(&link.interface))])),
                ScopeMatch::NoMatch => return,
                // A directed Probe with a matching rule this target does not support gets the
                // MatchingRuleNotSupported fault (listing the supported rules), as the
                // specifications allow; a multicast one is dropped, so that one odd Probe
                // cannot make every device on the link answer with a fault.
                ScopeMatch::UnsupportedRule if directed => None,
                ScopeMatch::UnsupportedRule => {
                    self.unsolicited.bump();
                    debug!(interface = %link.interface, from = %inbound.from, "discovery: Probe with an unsupported MatchBy; not answered");
                    return;
                }
            },
            DiscoveryMessage::Resolve(resolve)
                if same_endpoint(&resolve.endpoint.address, &service.endpoint_address) =>
            {
                Some(DiscoveryMessage::ResolveMatches(Some(service.info(Some(&link.interface)))))
            }
            _ => return,
        };
        if inbound.via == Via::Local || !is_reply_address(inbound.from) {
            self.unsolicited.bump();
            debug!(interface = %link.interface, from = %inbound.from, "discovery: request not received by multicast or on the unicast socket, or from an address no reply can go to; ignored");
            return;
        }
        if !self.admit() {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            debug!(interface = %link.interface, from = %inbound.from, "discovery: reply rate limit reached; request not answered");
            return;
        }
        let counter = match answer {
            Some(DiscoveryMessage::ResolveMatches(_)) => &self.resolves_answered,
            _ => &self.probes_answered,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let bytes = match &answer {
            Some(answer) => self.envelope(version, answer, Some(&request_id)),
            None => matching_rule_fault_envelope(version, &request_id),
        };
        // The random delay spreads the answers to a multicast request; a directed one is
        // answered at once.
        let send_delay =
            if directed { Duration::ZERO } else { reply_delay(self.options.app_max_delay, &mut random_u64) };
        let params = RetransmitParams { send_delay, ..self.config.unicast_retransmit };
        let (link, via, dest, pending) = (Arc::clone(link), inbound.via, inbound.from, InFlight::new(&self.pending));
        tokio::spawn(async move {
            link.send_scheduled(via, dest, &bytes, &params, &mut random_u64).await;
            drop(pending);
        });
    }

    /// True if one more reply is within the rate and the in-flight limit.
    fn admit(&self) -> bool {
        self.pending.load(Ordering::Relaxed) < self.options.max_pending_replies
            && self.bucket.lock().unwrap_or_else(PoisonError::into_inner).try_take(Instant::now())
    }
}

impl TargetOptions {
    /// `InvalidArgument` for a zero rate, burst or in-flight limit, a `unicast_listen` address
    /// that is unspecified or multicast, or no socket at all (multicast off and no
    /// `unicast_listen`).
    fn validate(&self, config: &DiscoveryConfig) -> Result<()> {
        let invalid = |m: String| Err(Error::new(ErrorKind::InvalidArgument, m));
        if self.replies_per_second == 0 || self.reply_burst == 0 || self.max_pending_replies == 0 {
            return invalid("the reply rate, burst and in-flight limit must be >= 1".into());
        }
        match self.unicast_listen {
            Some(a) if a.ip().is_unspecified() || a.ip().is_multicast() => invalid(format!(
                "unicast_listen {a}: a specific unicast address is needed (the XAddr in the answers is built from it)"
            )),
            None if !config.multicast => {
                invalid("multicast is off and no unicast_listen address is set: the target would hear nothing".into())
            }
            _ => Ok(()),
        }
    }
}

/// Counts a reply in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(counter: &Arc<AtomicUsize>) -> InFlight {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// False for sources no reply should go to (port 0, unspecified, multicast, broadcast).
fn is_reply_address(from: SocketAddr) -> bool {
    let ip = from.ip();
    let broadcast = matches!(ip, std::net::IpAddr::V4(a) if a.is_broadcast());
    from.port() != 0 && !ip.is_unspecified() && !ip.is_multicast() && !broadcast
}

async fn respond(state: Arc<TargetState>, mut events: mpsc::Receiver<Event>, cancel: CancellationToken) {
    while let Some(event) = next_event(&mut events, &cancel).await {
        match event {
            Event::Datagram(inbound) => state.on_request(*inbound),
            Event::LinkUp(link) => state.hello(&link),
            Event::LinkDown(link) => {
                debug!(interface = %link.interface, "discovery: link closed; no Bye (its address is gone)")
            }
        }
    }
}

/// The `MatchingRuleNotSupported` fault answering the Probe `request_id` (SOAP 1.2, the
/// version's fault action, `RelatesTo` the Probe, `SupportedMatchingRules` in the detail).
fn matching_rule_fault_envelope(version: DiscoveryVersion, request_id: &str) -> Vec<u8> {
    let addressing = version.addressing();
    let action = match version {
        DiscoveryVersion::V2005_04 => "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault".to_owned(),
        DiscoveryVersion::V1_1 => format!("{}/fault", version.namespace()),
    };
    let headers = AddressingHeaders {
        action: Some(action),
        message_id: Some(new_message_id()),
        relates_to: Some(request_id.to_owned()),
        to: addressing.anonymous_uri().map(str::to_owned),
        ..AddressingHeaders::default()
    };
    let fault = soapwire_proto::discovery::matching_rule_not_supported_fault(version);
    fault.to_envelope(EnvelopeVersion::Soap12, &headers.to_headers(addressing, EnvelopeVersion::Soap12))
}
