//! [`UdpChannel`]: the client side of SOAP over UDP (`WS_CHANNEL_TYPE_DUPLEX` on
//! `WS_UDP_CHANNEL_BINDING`, made by `WsCreateChannel`).
//!
//! The channel owns one unconnected UDP socket on an ephemeral port. Messages go to the
//! address of the URL it was opened with, a unicast host or a multicast group, each on its
//! retransmission schedule; whatever arrives at the socket's port (the replies, from any
//! source) is received through the intake of the `udp` module. The state is the shared
//! channel state machine of [`crate::core`]:
//!
//! ```text
//!   new ──► Created ──open──► Opening ──► Open ──close──► Closing ──► Closed ──reset──► Created
//!                                          │  ▲ (a UDP timeout does not fault)
//!                                    abort │
//!                                          ▼
//!                                       Faulted ──close──► Closing ──► Closed
//! ```
//!
//! UDP has no session, so the graceful close has nothing to tell the peer: it waits for the
//! pending sends and receives (bounded by the close timeout) and releases the socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use soapwire_proto::channel::{ChannelCall, ChannelState, MessageState};
use soapwire_proto::properties::{ChannelProperties, Timeout};
use soapwire_proto::{Error, ErrorKind, Result};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::url::UdpUrl;
use super::{
    Intake, Rng, UdpChannelOptions, UdpStats, bounded, check_properties, check_size, next_datagram, random_u64,
    send_scheduled,
};
use crate::core::ChannelCore;
use crate::message::Message;

/// Where an open channel sends.
#[derive(Clone, Debug)]
struct Link {
    socket: Arc<UdpSocket>,
    dest: SocketAddr,
    /// The URL as given to `open`: the default `wsa:To`.
    url: String,
    multicast: bool,
}

/// A SOAP-over-UDP client channel: `open` on a `soap.udp://` address, then any mix of
/// [`send_message`](Self::send_message), [`receive_message`](Self::receive_message) and
/// [`call`](Self::call), then [`close`](Self::close).
///
/// A multicast URL (`soap.udp://239.255.255.250:3702`, `soap.udp://[ff02::c%eth0]:3702`)
/// sends to the group with [`UdpChannelOptions::multicast_hops`] on
/// [`UdpChannelOptions::multicast_interface`]; the answers come back by unicast to the
/// channel's own port. Every method takes `&self`, so a channel in an `Arc` can be closed or
/// aborted from another task while a call is pending. Dropping an open channel aborts it.
///
/// ```no_run
/// # async fn demo() -> soapwire::Result<()> {
/// use soapwire::{AddressingVersion, ChannelProperties, EnvelopeVersion, Message};
/// use soapwire::udp::UdpChannel;
///
/// // A WS-Discovery 2005/04 Probe, built as a plain message.
/// let mut properties = ChannelProperties::default();
/// properties.addressing_version = AddressingVersion::V0_9;
/// let channel = UdpChannel::new(properties);
/// channel.open("soap.udp://239.255.255.250:3702").await?;
/// let mut probe = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V0_9);
/// probe.initialize_request(
///     "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe",
///     r#"<d:Probe xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
///                 xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"><d:Types>wsdp:Device</d:Types></d:Probe>"#,
/// )?;
/// probe.addressing_mut().to = Some("urn:schemas-xmlsoap-org:ws:2005:04:discovery".into());
/// channel.send_message(&mut probe).await?;
/// let mut matches = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V0_9);
/// let from = channel.receive_message_from(&mut matches).await?;
/// println!("{from}: {}", String::from_utf8_lossy(matches.body_xml()));
/// channel.close().await?;
/// # Ok(()) }
/// ```
pub struct UdpChannel {
    core: ChannelCore,
    properties: ChannelProperties,
    options: UdpChannelOptions,
    link: Mutex<Option<Link>>,
    intake: Intake,
    rng: Mutex<Rng>,
}

impl std::fmt::Debug for UdpChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpChannel")
            .field("state", &self.state())
            .field("remote", &self.remote_address())
            .finish_non_exhaustive()
    }
}

impl Drop for UdpChannel {
    fn drop(&mut self) {
        // A dropped channel is aborted: pending calls end, the socket is released.
        self.abort();
    }
}

impl UdpChannel {
    /// A new channel in state `Created` (`WsCreateChannel` with `WS_CHANNEL_TYPE_DUPLEX`), with
    /// the default UDP options.
    pub fn new(properties: ChannelProperties) -> UdpChannel {
        UdpChannel::with_options(properties, UdpChannelOptions::default())
    }

    /// A new channel with UDP options (multicast hops and interface, IP version, schedules).
    pub fn with_options(properties: ChannelProperties, options: UdpChannelOptions) -> UdpChannel {
        UdpChannel {
            core: ChannelCore::new(),
            intake: Intake::new(&properties),
            properties,
            options,
            link: Mutex::new(None),
            rng: Mutex::new(Box::new(random_u64)),
        }
    }

    /// Replaces the random source of the retransmission delays (tests pin the schedule).
    #[cfg(test)]
    pub(crate) fn set_rng(&self, rng: Rng) {
        *self.rng.lock().unwrap_or_else(PoisonError::into_inner) = rng;
    }

    /// The channel's properties.
    pub fn properties(&self) -> &ChannelProperties {
        &self.properties
    }

    /// The channel's UDP options.
    pub fn options(&self) -> &UdpChannelOptions {
        &self.options
    }

    /// A snapshot of the channel's state (`WS_CHANNEL_PROPERTY_STATE`).
    pub fn state(&self) -> ChannelState {
        self.core.state()
    }

    /// What the socket received, sent and dropped so far.
    pub fn stats(&self) -> UdpStats {
        self.intake.stats()
    }

    /// Where messages go (`WS_CHANNEL_PROPERTY_REMOTE_ADDRESS`), once open.
    pub fn remote_address(&self) -> Option<SocketAddr> {
        self.with_link(|l| l.as_ref().map(|l| l.dest))
    }

    /// The channel's own socket address, where replies come, once open.
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.with_link(|l| l.as_ref().and_then(|l| l.socket.local_addr().ok()))
    }

    /// True once opened on a multicast group.
    pub fn is_multicast(&self) -> bool {
        self.with_link(|l| l.as_ref().is_some_and(|l| l.multicast))
    }

    fn with_link<T>(&self, f: impl FnOnce(&mut Option<Link>) -> T) -> T {
        f(&mut self.link.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn current_link(&self) -> Result<Link> {
        self.with_link(|l| l.clone()).ok_or_else(|| Error::invalid_operation("the channel is not open"))
    }

    /// `WsOpenChannel`: `Created → Opening → Open`. Resolves the host (within the resolve
    /// timeout) and opens the socket; nothing is sent.
    ///
    /// Errors: `E_INVALIDARG` before anything changes when the properties ask for what UDP
    /// cannot do (MTOM or another encoding, streamed transfer, transport addressing);
    /// `WS_E_INVALID_ENDPOINT_URL` for anything but `soap.udp://host:port[/path]`;
    /// `WS_E_ENDPOINT_NOT_FOUND` for a name without an address of the IP version;
    /// `WS_E_ADDRESS_NOT_AVAILABLE` for an unknown multicast interface;
    /// `WS_E_OPERATION_ABORTED` when aborted meanwhile.
    pub async fn open(&self, url: &str) -> Result<()> {
        check_properties(&self.properties)?;
        if self.options.multicast_hops > 255 {
            return Err(Error::new(ErrorKind::InvalidArgument, "multicast_hops must be at most 255"));
        }
        self.options.unicast_retransmit.validate()?;
        self.options.multicast_retransmit.validate()?;
        self.core.open_started()?;
        let cancel = self.core.cancel_token();
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(Error::aborted("the open was aborted")),
            r = self.connect(url) => r,
        };
        let outcome = outcome.map(|link| self.with_link(|l| *l = Some(link)));
        self.core.open_completed(outcome)
    }

    async fn connect(&self, url: &str) -> Result<Link> {
        let parsed = UdpUrl::parse(url)?;
        if matches!(parsed.host, super::url::UdpHost::Wildcard) {
            return Err(Error::new(ErrorKind::InvalidEndpointUrl, "a channel needs a host, not a wildcard"));
        }
        let addresses = parsed.resolve(self.options.ip_version, self.properties.timeout(Timeout::Resolve)).await?;
        let mut first_error = None;
        for dest in addresses {
            match open_socket(dest, &self.options) {
                Ok((socket, dest)) => {
                    return Ok(Link {
                        socket: Arc::new(socket),
                        dest,
                        url: url.to_owned(),
                        multicast: dest.ip().is_multicast(),
                    });
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| Error::new(ErrorKind::EndpointNotFound, format!("{url} has no address"))))
    }

    /// `WsAbortChannel`: pending calls end with `WS_E_OPERATION_ABORTED` (a send stops its
    /// retransmissions), the socket is released, `Open → Faulted`. Allowed in every state;
    /// never waits.
    pub fn abort(&self) {
        self.core.abort();
        self.release();
    }

    fn release(&self) {
        // Pending operations hold their own reference; the socket closes when the last ends.
        drop(self.with_link(Option::take));
    }

    /// `WsCloseChannel` (the sentences of the `core` module): allowed in `Open` or `Faulted`;
    /// waits for the pending sends (their whole retransmission schedule) and receives, within
    /// the close timeout, then releases the socket; the channel is `Closed` afterwards, also
    /// when an error is returned.
    pub async fn close(&self) -> Result<()> {
        self.core
            .close(
                self.properties.timeout(Timeout::Close),
                || async {
                    self.release();
                    Ok(())
                },
                || self.release(),
            )
            .await
    }

    /// `WsResetChannel`: `Created | Closed → Created`, ready to open again.
    pub fn reset(&self) -> Result<()> {
        self.core.reset()?;
        self.release();
        Ok(())
    }

    /// `WsAbandonMessage`. The UDP channel reads and writes whole messages, so none is ever
    /// mid-read or mid-write: this checks the state and returns `E_INVALIDARG`.
    pub fn abandon_message(&self, message: &Message) -> Result<()> {
        self.core.abandon(message.id()).map(|_| ())
    }

    /// `WsSendMessage`: sends `message` (`Initialized`, or `Empty` for a message with no body)
    /// to the channel's address, then repeats it on the unicast or multicast schedule of the
    /// options; returns after the last transmission. A `MessageID` is added when missing (so
    /// every repeat carries the same one) and `To` is the channel's URL unless set.
    ///
    /// Errors: `WS_E_QUOTA_EXCEEDED` (nothing sent) for a message over the size limit;
    /// `E_INVALIDARG` for a message with attachments, or a whole envelope without a
    /// `MessageID`; `WS_E_OPERATION_ABORTED` when aborted (the repeats stop);
    /// `WS_E_OPERATION_TIMED_OUT` when the first transmission takes longer than the send
    /// timeout. A failed repeat is only logged.
    pub async fn send_message(&self, message: &mut Message) -> Result<()> {
        message.state_machine().check_send()?;
        let op = self.core.begin(ChannelCall::Send)?;
        let link = self.current_link()?;
        if message.wants_mtom() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "attachments need MTOM, which the UDP binding does not support",
            ));
        }
        prepare_addressing(message, &link.url)?;
        let bytes = message.encode();
        check_size(bytes.len(), self.intake.limit(), link.dest)?;
        if message.state() == MessageState::Empty {
            message.state_machine().initialize()?;
        }
        message.state_machine().write_started()?;
        let params = if link.multicast { self.options.multicast_retransmit } else { self.options.unicast_retransmit };
        let mut completed = Ok(());
        let outcome = send_scheduled(
            &op,
            &link.socket,
            link.dest,
            &bytes,
            &params,
            &self.rng,
            self.properties.timeout(Timeout::Send),
            &self.intake,
            || completed = message.state_machine().write_completed(),
        )
        .await;
        outcome.and(completed)
    }

    /// `WsReceiveMessage`: waits (at most the receive timeout) for the next message that
    /// passes the intake (see the module docs), fills `message` (`Empty → Done`) and returns
    /// `Ok(true)`. A fault message is returned as `WS_E_ENDPOINT_FAULT_RECEIVED` with the fault
    /// attached (the fault message is also left in `message`).
    pub async fn receive_message(&self, message: &mut Message) -> Result<bool> {
        self.receive_related(message, None).await.map(|_| true)
    }

    /// [`receive_message`](Self::receive_message), also returning who sent the message
    /// (`WS_CHANNEL_PROPERTY_REMOTE_IP_ADDRESS` of that message).
    pub async fn receive_message_from(&self, message: &mut Message) -> Result<SocketAddr> {
        self.receive_related(message, None).await
    }

    async fn receive_related(&self, message: &mut Message, relates_to: Option<&str>) -> Result<SocketAddr> {
        message.state_machine().check_receive()?;
        let op = self.core.begin(ChannelCall::Receive)?;
        let link = self.current_link()?;
        let wanted = |d: &super::Datagram| relates_to.is_none_or(|id| d.addressing.relates_to.as_deref() == Some(id));
        let datagram = bounded(
            &op,
            "receiving a message",
            self.properties.timeout(Timeout::Receive),
            next_datagram(&link.socket, &self.intake, wanted),
        )
        .await?;
        let quotas = &self.properties.reader_quotas;
        message.set_envelope_version(datagram.envelope.version);
        message.fill_from(datagram.envelope, None, quotas)?;
        message.state_machine().read_completed()?;
        if let Some(fault) = message.fault(quotas)? {
            return Err(fault.into_error());
        }
        Ok(canonical(datagram.from))
    }

    /// Sends `request` and receives into `reply` the first message whose `RelatesTo` is the
    /// request's `MessageID` (`WsRequestReply` semantics on a duplex channel), within the
    /// receive timeout counted from the first transmission. Other messages that arrive
    /// meanwhile are dropped and counted in [`UdpStats::unrelated`]. The repeats of the request
    /// stop once the reply is in. Returns who answered.
    pub async fn request_reply(&self, request: &mut Message, reply: &mut Message) -> Result<SocketAddr> {
        reply.state_machine().check_receive()?;
        request.state_machine().check_send()?;
        let link = self.current_link()?;
        prepare_addressing(request, &link.url)?;
        let id = request.addressing().message_id.clone();
        let send = self.send_message(request);
        let receive = self.receive_related(reply, id.as_deref());
        tokio::pin!(send, receive);
        let mut sending = true;
        loop {
            tokio::select! {
                biased;
                r = &mut receive => return r,
                r = &mut send, if sending => {
                    r?;
                    sending = false;
                }
            }
        }
    }

    /// Convenience: builds a request with `action` and `body` (raw XML content of
    /// `soap:Body`) with the channel's versions, and returns the reply of
    /// [`request_reply`](Self::request_reply).
    pub async fn call(&self, action: &str, body: impl Into<Bytes>) -> Result<Message> {
        let mut request = Message::new(self.properties.envelope_version, self.properties.addressing_version);
        request.initialize_request(action, body)?;
        let mut reply = Message::new(self.properties.envelope_version, self.properties.addressing_version);
        self.request_reply(&mut request, &mut reply).await?;
        Ok(reply)
    }
}

/// Gives the message a `MessageID` (SOAP-over-UDP needs one on every message) and, unless
/// set, `To` = `to`. A whole envelope supplied by the application is sent as it is, so it
/// must carry its own `MessageID`.
pub(crate) fn prepare_addressing(message: &mut Message, to: &str) -> Result<()> {
    if message.is_raw() {
        if message.addressing().message_id.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a whole envelope sent over UDP must carry a wsa:MessageID (receivers drop messages without one)",
            ));
        }
        return Ok(());
    }
    if message.addressing_version() == soapwire_proto::addressing::AddressingVersion::Transport {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "a message sent over UDP needs WS-Addressing headers (1.0 or 2004/08) to carry its MessageID",
        ));
    }
    let a = message.addressing_mut();
    if a.message_id.is_none() {
        a.message_id = Some(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
    }
    if a.to.is_none() {
        a.to = Some(to.to_owned());
    }
    Ok(())
}

/// The address as people write it: an IPv4-mapped IPv6 address (from a dual-stack socket) as
/// IPv4.
pub(crate) fn canonical(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, a.port())),
            None => address,
        },
        SocketAddr::V4(_) => address,
    }
}

/// The channel's socket toward `dest` (unconnected, ephemeral port): multicast interface and
/// hop limit for a group. Returns `dest` with the interface as scope for a link-scoped IPv6
/// group given without a zone.
fn open_socket(dest: SocketAddr, options: &UdpChannelOptions) -> Result<(UdpSocket, SocketAddr)> {
    fn io(what: &'static str) -> impl Fn(std::io::Error) -> Error {
        move |e| crate::http::io_error(e, what)
    }
    let multicast = dest.ip().is_multicast();
    let mut dest = dest;
    let socket = match &mut dest {
        SocketAddr::V4(_) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(io("creating a UDP socket"))?;
            #[cfg(target_os = "linux")]
            s.set_multicast_all_v4(false).map_err(io("IP_MULTICAST_ALL"))?;
            s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into()).map_err(io("binding the UDP socket"))?;
            if multicast {
                if options.multicast_interface != 0 {
                    let address = ipv4_of_interface(options.multicast_interface)?;
                    s.set_multicast_if_v4(&address).map_err(io("IP_MULTICAST_IF"))?;
                }
                s.set_multicast_ttl_v4(options.multicast_hops).map_err(io("IP_MULTICAST_TTL"))?;
            }
            s
        }
        SocketAddr::V6(d) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).map_err(io("creating a UDP socket"))?;
            s.set_only_v6(true).map_err(io("IPV6_V6ONLY"))?;
            #[cfg(target_os = "linux")]
            let _ = s.set_multicast_all_v6(false);
            s.bind(&SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)).into())
                .map_err(io("binding the UDP socket"))?;
            if multicast {
                let interface =
                    if options.multicast_interface != 0 { options.multicast_interface } else { d.scope_id() };
                if interface != 0 {
                    s.set_multicast_if_v6(interface).map_err(io("IPV6_MULTICAST_IF"))?;
                    // ff01::/16 and ff02::/16 are interface- and link-scoped: name the link.
                    if d.scope_id() == 0 && matches!(d.ip().segments()[0] & 0xff0f, 0xff01 | 0xff02) {
                        d.set_scope_id(interface);
                    }
                }
                s.set_multicast_hops_v6(options.multicast_hops).map_err(io("IPV6_MULTICAST_HOPS"))?;
            }
            s
        }
    };
    socket.set_nonblocking(true).map_err(io("making the socket non-blocking"))?;
    let socket = UdpSocket::from_std(socket.into()).map_err(io("registering the UDP socket"))?;
    Ok((socket, dest))
}

/// An IPv4 address of the interface with index `index` (`IP_MULTICAST_IF` takes an address).
pub(crate) fn ipv4_of_interface(index: u32) -> Result<Ipv4Addr> {
    let list = if_addrs::get_if_addrs()
        .map_err(|e| Error::new(ErrorKind::Other, format!("cannot list the network interfaces: {e}")))?;
    list.into_iter()
        .filter(|i| i.index == Some(index))
        .find_map(|i| match i.ip() {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| {
            Error::new(ErrorKind::AddressNotAvailable, format!("interface {index} has no IPv4 address for multicast"))
        })
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<UdpChannel>();
}
