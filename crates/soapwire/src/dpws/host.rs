//! [`MetadataHost`]: the HTTP half of a DPWS device host (WSDAPI's `IWSDDeviceHost` answering
//! metadata exchange): WS-Transfer Get over SOAP 1.2 on port 5357, path `/<uuid>`.
//!
//! It runs as a [`Listener`] service host ([`Listener::set_handler`]): each request is
//! answered inside the connection that received it. A Get gets the GetResponse of the DPWS
//! version that goes with the request's WS-Addressing version (2004/08 → DPWS 2006/02, 1.0 →
//! DPWS 1.1), with `RelatesTo` the request's MessageID and a fresh MessageID. Anything else
//! gets a SOAP fault: `wsa:ActionNotSupported` for another action (WSDAPI implements only
//! Get), `wsa:DestinationUnreachable` for a `To` naming another device,
//! `wsa:MessageInformationHeaderRequired` for a request without a `wsa:Action` header.
//!
//! The metadata is kept encoded, one body per DPWS version, and replaced atomically by
//! [`MetadataHost::set_metadata`], which also increments the metadata version that
//! WS-Discovery announces ([`MetadataHost::watch_metadata_version`] tells a discovery
//! responder when to send a new Hello).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion, WSA_1_0_NAMESPACE, WSA_2004_08_NAMESPACE};
use soapwire_proto::dpws::{
    DPWS_HTTP_PORT, DeviceMetadata, DpwsVersion, GET_ACTION, GET_RESPONSE_ACTION, MAX_ENVELOPE_SIZE, MAX_URI_SIZE,
    action_not_supported_fault, destination_unreachable_fault, get_response_envelope,
};
use soapwire_proto::properties::ListenerProperties;
use soapwire_proto::soap::{EnvelopeVersion, Fault, FaultCode};
use soapwire_proto::xml::QName;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::watch;

use crate::http::listener::Listener;
use crate::{ListenerState, Message, ReplyChannel};

/// The metadata as published: the values, one encoded body per DPWS version, the version.
#[derive(Debug)]
struct Published {
    metadata: Arc<DeviceMetadata>,
    /// The `wsx:Metadata` body for [`DpwsVersion::V2006_02`] and [`DpwsVersion::V1_1`].
    bodies: [Bytes; 2],
}

/// What the request handler shares with the host object.
#[derive(Debug)]
struct Shared {
    endpoint: String,
    path: String,
    published: Mutex<Arc<Published>>,
    version: watch::Sender<u32>,
}

/// Serves a device's metadata over HTTP: WS-Transfer Get → GetResponse with the ThisDevice,
/// ThisModel and Relationship sections, in DPWS 2006/02 or 1.1 as the request asks.
///
/// ```no_run
/// # async fn demo() -> soapwire::Result<()> {
/// use soapwire::dpws::{DeviceMetadata, Membership, MetadataHost, PubComputer};
///
/// let endpoint = "urn:uuid:11111111-2222-3333-4444-555555555555";
/// let computer = PubComputer::new("MYHOST", Membership::Workgroup("WORKGROUP".into()));
/// let host = MetadataHost::new(endpoint, DeviceMetadata::computer(endpoint, computer))?;
/// host.open_default().await?; // [::]:5357 (or 0.0.0.0:5357), path /11111111-2222-…
/// println!("XAddr on 192.0.2.1: {:?}", host.xaddr("192.0.2.1".parse().unwrap()));
/// # host.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MetadataHost {
    shared: Arc<Shared>,
    listener: Listener,
}

impl MetadataHost {
    /// A host for the device whose endpoint address is `endpoint`, publishing `metadata`
    /// (metadata version 1), with [`MetadataHost::default_properties`]. The path it serves is
    /// [`MetadataHost::path_for`] `endpoint`. Errors: `InvalidArgument` when `endpoint` has
    /// no path form or `metadata` fails [`DeviceMetadata::validate`] or does not fit the
    /// message size.
    pub fn new(endpoint: &str, metadata: DeviceMetadata) -> Result<MetadataHost> {
        MetadataHost::with_properties(endpoint, metadata, MetadataHost::default_properties())
    }

    /// [`MetadataHost::new`] with other listener properties (the GetResponse must fit
    /// `channel.max_buffered_message_size`).
    pub fn with_properties(
        endpoint: &str,
        metadata: DeviceMetadata,
        properties: ListenerProperties,
    ) -> Result<MetadataHost> {
        let path = MetadataHost::path_for(endpoint)?;
        let published = publish(metadata, properties.channel.max_buffered_message_size)?;
        let (version, _) = watch::channel(1);
        let shared = Arc::new(Shared {
            endpoint: endpoint.trim().to_owned(),
            path,
            published: Mutex::new(Arc::new(published)),
            version,
        });
        let listener = Listener::new(properties);
        let handler_shared = shared.clone();
        listener.set_handler(move |channel| serve(handler_shared.clone(), channel));
        Ok(MetadataHost { shared, listener })
    }

    /// What a device host uses by default: SOAP 1.2 only (DPWS), WS-Addressing 2004/08 for
    /// faults about requests too broken to tell, and `MAX_ENVELOPE_SIZE` (32767 octets) for
    /// requests and replies, as WSDAPI enforces.
    pub fn default_properties() -> ListenerProperties {
        let mut p = ListenerProperties::default();
        p.channel.envelope_version = EnvelopeVersion::Soap12;
        p.channel.addressing_version = AddressingVersion::V0_9;
        p.channel.max_buffered_message_size = MAX_ENVELOPE_SIZE;
        p.channel.reader_quotas.max_total_bytes = MAX_ENVELOPE_SIZE;
        p
    }

    /// The HTTP path the metadata of `endpoint` is served at: `/<uuid>` for `urn:uuid:<uuid>`
    /// (as WSDAPI and wsdd do), the URL's path for an `http(s)://` address. Anything else is
    /// `InvalidArgument`.
    pub fn path_for(endpoint: &str) -> Result<String> {
        let endpoint = endpoint.trim();
        let invalid = || {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("the endpoint address {endpoint:?} is neither urn:uuid:<uuid> nor an http(s) URL"),
            )
        };
        if let Some(uuid) = strip_prefix_ignore_case(endpoint, "urn:uuid:") {
            return if is_uuid(uuid) { Ok(format!("/{uuid}")) } else { Err(invalid()) };
        }
        let rest = strip_prefix_ignore_case(endpoint, "http://")
            .or_else(|| strip_prefix_ignore_case(endpoint, "https://"))
            .ok_or_else(invalid)?;
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        Ok(path.split(['?', '#']).next().unwrap_or("/").to_owned())
    }

    /// The device's endpoint address (`urn:uuid:…`).
    pub fn endpoint_address(&self) -> &str {
        &self.shared.endpoint
    }

    /// The HTTP path served (`/<uuid>`).
    pub fn path(&self) -> &str {
        &self.shared.path
    }

    /// Binds `address` (port 0 picks a free port) and starts answering. Errors as
    /// [`Listener::open`].
    pub async fn open(&self, address: SocketAddr) -> Result<()> {
        let host = match address.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        self.listener.open(&format!("http://{host}:{}{}", address.port(), self.shared.path)).await
    }

    /// Binds port 5357 on every address: `[::]` (which takes IPv4 too where the system
    /// allows), else `0.0.0.0` when IPv6 is not available. A port in use is
    /// `WS_E_ADDRESS_IN_USE` (another WSD host, such as wsdd, may hold it).
    pub async fn open_default(&self) -> Result<()> {
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), DPWS_HTTP_PORT);
        match self.open(v6).await {
            Err(e) if e.kind() != ErrorKind::AddressInUse => {
                tracing::debug!("cannot listen on {v6} ({e}); listening on IPv4 only");
                self.open(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DPWS_HTTP_PORT)).await
            }
            outcome => outcome,
        }
    }

    /// The URL the host listens on, once open (with the real port).
    pub fn url(&self) -> Option<String> {
        self.listener.url()
    }

    /// The bound socket address, once open.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr()
    }

    /// The listener's state.
    pub fn state(&self) -> ListenerState {
        self.listener.state()
    }

    /// The XAddr to announce on an interface whose address is `ip`: `http://ip:port/<uuid>`
    /// (IPv6 in brackets, without a zone: the client adds the zone of the interface the
    /// ResolveMatches arrived on). WSDAPI announces exactly one, the address the Probe or
    /// Resolve arrived on. `None` until open.
    pub fn xaddr(&self, ip: IpAddr) -> Option<String> {
        let port = self.local_addr()?.port();
        let host = match ip {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        Some(format!("http://{host}:{port}{}", self.shared.path))
    }

    /// The metadata being served.
    pub fn metadata(&self) -> Arc<DeviceMetadata> {
        self.published().metadata.clone()
    }

    /// The metadata version (`MetadataVersion` of WS-Discovery): 1 at first, incremented by
    /// every [`set_metadata`](Self::set_metadata) and
    /// [`bump_metadata_version`](Self::bump_metadata_version).
    pub fn metadata_version(&self) -> u32 {
        *self.shared.version.borrow()
    }

    /// Replaces the metadata (validated first; the old one stays on error) and increments
    /// the metadata version, which is returned. Requests already being answered get the old
    /// metadata, later ones the new.
    pub fn set_metadata(&self, metadata: DeviceMetadata) -> Result<u32> {
        let published = publish(metadata, self.listener.properties().channel.max_buffered_message_size)?;
        *self.shared.published.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(published);
        Ok(self.bump_metadata_version())
    }

    /// Increments the metadata version without changing the metadata (e.g. when a hosted
    /// service's WSDL changed) and returns it. It wraps from `u32::MAX` to 1.
    pub fn bump_metadata_version(&self) -> u32 {
        let mut next = 0;
        self.shared.version.send_modify(|v| {
            *v = v.checked_add(1).unwrap_or(1);
            next = *v;
        });
        next
    }

    /// Sets the metadata version, e.g. to one more than the last run's, which a device must
    /// persist: WS-Discovery clients ignore metadata whose version goes down.
    pub fn set_metadata_version(&self, version: u32) {
        self.shared.version.send_replace(version);
    }

    /// A receiver that sees every change of the metadata version (for a discovery responder:
    /// a change means a new Hello).
    pub fn watch_metadata_version(&self) -> watch::Receiver<u32> {
        self.shared.version.subscribe()
    }

    /// Stops answering: requests being answered finish within the listener's close timeout.
    pub async fn close(&self) -> Result<()> {
        self.listener.close().await
    }

    /// Stops at once, dropping every connection.
    pub fn abort(&self) {
        self.listener.abort();
    }

    fn published(&self) -> Arc<Published> {
        self.shared.published.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Validates and encodes `metadata`, checking that a GetResponse of either version fits in
/// `max_size` even with the longest MessageID a request may carry.
fn publish(metadata: DeviceMetadata, max_size: usize) -> Result<Published> {
    metadata.validate()?;
    let bodies = DpwsVersion::ALL.map(|v| Bytes::from(metadata.to_body_xml(v)));
    for version in DpwsVersion::ALL {
        let worst = AddressingHeaders {
            relates_to: Some("x".repeat(MAX_URI_SIZE)),
            message_id: Some(new_message_id()),
            ..AddressingHeaders::default()
        };
        let size = get_response_envelope(version, &metadata, &worst).len();
        if size > max_size {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("the {} GetResponse would be {size} octets, more than {max_size}", version.name()),
            ));
        }
    }
    Ok(Published { metadata: Arc::new(metadata), bodies })
}

impl Published {
    fn body(&self, version: DpwsVersion) -> Bytes {
        let i = DpwsVersion::ALL.iter().position(|v| *v == version).unwrap_or(0);
        self.bodies.get(i).cloned().unwrap_or_default()
    }
}

fn new_message_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// `8-4-4-4-12` hexadecimal digits.
pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why a request gets no GetResponse.
enum Refusal {
    /// Answer with this fault.
    Fault(Box<Fault>),
    /// Answer with the fault for this error.
    Error(Error),
}

impl Shared {
    /// True if a request addressed to `to` is for this device: its endpoint address (UUIDs
    /// compare without regard to case), the anonymous address, or an HTTP URL of our path
    /// (some clients put the XAddr in `To`).
    fn is_for_us(&self, to: &str) -> bool {
        let to = to.trim();
        if to.eq_ignore_ascii_case(&self.endpoint) || AddressingVersion::V0_9.anonymous_uri() == Some(to) {
            return true;
        }
        if AddressingVersion::V1_0.anonymous_uri() == Some(to) {
            return true;
        }
        let is_url = ["http://", "https://"].iter().any(|p| strip_prefix_ignore_case(to, p).is_some());
        is_url && MetadataHost::path_for(to).is_ok_and(|p| p.trim_end_matches('/') == self.path.trim_end_matches('/'))
    }

    /// The GetResponse for `request`, or why there is none.
    fn answer(&self, channel: &ReplyChannel, request: &Message) -> std::result::Result<Message, Refusal> {
        let av = request.addressing_version();
        let version = DpwsVersion::for_addressing(av).filter(|_| request.addressing().action.is_some());
        let Some(version) = version else {
            // No wsa:Action header (an action in the media type alone does not do for DPWS).
            let (ns, local) = match av {
                AddressingVersion::V1_0 => (WSA_1_0_NAMESPACE, "MessageAddressingHeaderRequired"),
                _ => (WSA_2004_08_NAMESPACE, "MessageInformationHeaderRequired"),
            };
            let mut fault =
                Fault::new(FaultCode::Sender, "DPWS requires WS-Addressing headers (Action, MessageID, To)");
            fault.subcodes.push(QName::new(ns, local));
            return Err(Refusal::Fault(Box::new(fault)));
        };
        let action = request.action().unwrap_or_default();
        if action != GET_ACTION {
            tracing::debug!("metadata host {}: action {action:?} is not supported", self.endpoint);
            return Err(Refusal::Fault(Box::new(action_not_supported_fault(av, action))));
        }
        let addressing = request.addressing();
        if let Some(to) = addressing.to.as_deref().filter(|to| !self.is_for_us(to)) {
            tracing::debug!("metadata host {}: a Get for {to:?}", self.endpoint);
            return Err(Refusal::Fault(Box::new(destination_unreachable_fault(av, to))));
        }
        if addressing.message_id.as_ref().is_some_and(|id| id.len() > MAX_URI_SIZE) {
            return Err(Refusal::Error(Error::quota_exceeded("the MessageID is longer than MAX_URI_SIZE")));
        }
        let body = self.published.lock().unwrap_or_else(|p| p.into_inner()).body(version);
        let mut reply = channel.new_message();
        reply.initialize_reply(request, GET_RESPONSE_ACTION, body).map_err(Refusal::Error)?;
        reply.addressing_mut().message_id = Some(new_message_id());
        Ok(reply)
    }
}

/// Serves one request/reply exchange.
async fn serve(shared: Arc<Shared>, channel: ReplyChannel) {
    let mut request = channel.new_message();
    let outcome = match channel.receive_message(&mut request).await {
        Ok(true) => match shared.answer(&channel, &request) {
            Ok(mut reply) => channel.send_reply(&mut reply).await,
            Err(Refusal::Fault(fault)) => send_fault(&channel, &request, &fault).await,
            Err(Refusal::Error(e)) => channel.send_fault_for_error(Some(&request), &e).await,
        },
        Ok(false) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::InvalidFormat | ErrorKind::QuotaExceeded) => {
            tracing::debug!("metadata host {}: bad request: {e}", shared.endpoint);
            channel.send_fault_for_error(None, &e).await
        }
        Err(e) => {
            // A timeout or a broken connection: nothing can be answered.
            tracing::debug!("metadata host {}: receiving the request failed: {e}", shared.endpoint);
            channel.abort();
            Ok(())
        }
    };
    if let Err(e) = outcome {
        tracing::debug!("metadata host {}: sending the reply failed: {e}", shared.endpoint);
    }
    if let Err(e) = channel.close().await {
        tracing::debug!("metadata host {}: closing the channel: {e}", shared.endpoint);
    }
}

/// Sends `fault` as the reply to `request`, with a MessageID of its own.
async fn send_fault(channel: &ReplyChannel, request: &Message, fault: &Fault) -> Result<()> {
    let mut reply = channel.new_message();
    reply.initialize_fault(Some(request), fault)?;
    if reply.addressing_version() != AddressingVersion::Transport {
        reply.addressing_mut().message_id = Some(new_message_id());
    }
    channel.send_reply(&mut reply).await
}
