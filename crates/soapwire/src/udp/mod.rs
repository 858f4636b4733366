//! The SOAP-over-UDP binding (`WS_UDP_CHANNEL_BINDING`): a duplex client channel, a listener
//! and the input channels it accepts.
//!
//! This module owns what touches UDP sockets for plain SOAP messages (WS-Discovery has its own
//! sockets in [`crate::discovery`]): parsing `soap.udp://host:port[/path]` addresses, opening
//! and configuring the sockets (multicast interface, hop limit, group membership, loopback),
//! sending each datagram on the SOAP-over-UDP retransmission schedule of
//! [`soapwire_proto::udp`] (the same bytes, hence the same `MessageID`, on every repeat), and
//! the intake every received datagram goes through.
//!
//! | type | WWSAPI | role |
//! | --- | --- | --- |
//! | [`UdpChannel`] | `WS_CHANNEL_TYPE_DUPLEX` (`WsCreateChannel`) | client: send to a unicast or multicast address, receive what comes back to its port |
//! | [`UdpListener`] | `WS_LISTENER` | server: a bound (and, for a group address, joined) socket; each accepted channel takes one message |
//! | [`UdpInputChannel`] | `WS_CHANNEL_TYPE_INPUT` (`WsCreateChannelForListener`) | server: one received message, its source address, and an optional reply sent back to that source |
//!
//! ## What the binding allows (spec §1.7, §1.9)
//! Only `WS_ENCODING_XML_UTF8` (text, no MTOM), buffered transfer, and SOAP addressing
//! (WS-Addressing 1.0 by default, 2004/08 allowed; transport addressing is HTTP-only).
//! Anything else is refused at `open` with `E_INVALIDARG`. The envelope version is the
//! channel property's (SOAP 1.2 by default); a datagram of the other version is dropped
//! (a listener with `any_envelope_version` takes both, each message keeping its own).
//! Messages are limited to 65536 bytes ([`MAX_UDP_MESSAGE_SIZE`]) both ways (a lower
//! `max_buffered_message_size` lowers it): sending more is `WS_E_QUOTA_EXCEEDED` and nothing is
//! sent; a received datagram over it is dropped. IPv4 cannot carry more than 65507 bytes and
//! IPv6 65527, so a message between that and 65536 bytes is refused the same way.
//!
//! ## The intake
//! Every datagram read from a socket is checked, and dropped with a `debug` log line and a
//! count in [`UdpStats`] when it is over the size limit (or truncated), not a SOAP envelope of
//! the channel's version within the reader quotas, without a `MessageID` (SOAP-over-UDP needs
//! one on every message, for exactly this), a repeat of a `MessageID` already seen (the
//! sender's retransmissions), or, on a multicast listener with loopback off, sent from one of
//! this host's addresses. Nothing a peer sends can make the runtime panic or allocate more than
//! one 64 KiB buffer per pending receive.
//!
//! ## Replies go to the source, never elsewhere
//! WWSAPI's security advice is soapwire's rule: only the anonymous `ReplyTo` is honoured, and
//! for UDP "anonymous" means the source address of the datagram. [`UdpInputChannel::send_reply`]
//! sends to [`UdpInputChannel::remote_address`] whatever `ReplyTo` or `FaultTo` the request
//! names, so a forged header cannot turn a service into a reflector toward a third host.
//!
//! ## Timeouts
//! Each transmission is bounded by the send timeout, each receive by the receive timeout,
//! `close` by the close timeout, a host name lookup by the resolve timeout (all 30 s by
//! default, from [`ChannelProperties`]). A UDP timeout leaves nothing in an unknown state (no
//! connection, no half-read message), so unlike the HTTP binding it does **not** fault the
//! channel: a client may keep receiving, or send again, after `WS_E_OPERATION_TIMED_OUT`.
//! `accept_channel` waits, like the HTTP listener's, until a message comes or the listener is
//! closed or aborted.
//!
//! ```no_run
//! # async fn demo() -> soapwire::Result<()> {
//! use soapwire::ChannelProperties;
//! use soapwire::udp::UdpChannel;
//!
//! let channel = UdpChannel::new(ChannelProperties::default());
//! channel.open("soap.udp://192.0.2.7:4000/echo").await?;
//! let reply = channel.call("http://example.org/echo/echo",
//!     r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#).await?;
//! println!("{}", String::from_utf8_lossy(reply.body_xml()));
//! channel.close().await?;
//! # Ok(()) }
//! ```

mod channel;
mod input;
mod listener;
mod url;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion};
use soapwire_proto::discovery::DuplicateFilter;
use soapwire_proto::properties::{ChannelProperties, MessageEncoding};
use soapwire_proto::soap::{Envelope, EnvelopeVersion};
use soapwire_proto::udp::{RetransmitParams, RetransmitSchedule};
use soapwire_proto::xml::ReaderQuotas;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tracing::debug;

pub use channel::UdpChannel;
pub use input::UdpInputChannel;
pub use listener::UdpListener;

use crate::core::Op;

/// The largest SOAP-over-UDP message, sent or received: 65536 bytes (WWSAPI: "UDP always
/// 65536" for `WS_CHANNEL_PROPERTY_MAX_BUFFERED_MESSAGE_SIZE`).
pub const MAX_UDP_MESSAGE_SIZE: usize = 65536;

/// The largest UDP payload over IPv4 (65535 − 8 − 20).
const MAX_IPV4_PAYLOAD: usize = 65507;
/// The largest UDP payload over IPv6 without jumbograms (65535 − 8).
const MAX_IPV6_PAYLOAD: usize = 65527;

/// Pause after a failed socket read, so that a socket in a persistent error state cannot spin.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// `WS_IP_VERSION`: which IP versions a channel or listener uses (`WS_CHANNEL_PROPERTY_IP_VERSION`,
/// `WS_LISTENER_PROPERTY_IP_VERSION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// `WS_IP_VERSION_AUTO` (the default): whatever the address is; a host name's first
    /// address; a wildcard listener takes both (one dual-stack IPv6 socket when the system
    /// allows it).
    #[default]
    Auto,
    /// `WS_IP_VERSION_4`: IPv4 only.
    V4,
    /// `WS_IP_VERSION_6`: IPv6 only.
    V6,
}

impl IpVersion {
    fn allows(self, ip: IpAddr) -> bool {
        match self {
            IpVersion::Auto => true,
            IpVersion::V4 => ip.is_ipv4(),
            IpVersion::V6 => ip.is_ipv6(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            IpVersion::Auto => "IP",
            IpVersion::V4 => "IPv4",
            IpVersion::V6 => "IPv6",
        }
    }
}

/// The UDP-only properties of a [`UdpChannel`] (the `WS_CHANNEL_PROPERTY_*` rows that apply to
/// `WS_UDP_CHANNEL_BINDING` alone), with the documented defaults, and the retransmission
/// schedules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpChannelOptions {
    /// `WS_CHANNEL_PROPERTY_MULTICAST_HOPS`: the TTL / hop limit of multicast sends
    /// (default 1: the local link).
    pub multicast_hops: u32,
    /// `WS_CHANNEL_PROPERTY_MULTICAST_INTERFACE`: the index of the interface multicast goes
    /// out on (default 0: the system's choice, or the zone of an IPv6 URL such as
    /// `[ff02::c%eth0]`).
    pub multicast_interface: u32,
    /// `WS_CHANNEL_PROPERTY_IP_VERSION` (default [`IpVersion::Auto`]).
    pub ip_version: IpVersion,
    /// The schedule of a message sent to a unicast address (default
    /// [`RetransmitParams::unicast`]: 2 transmissions, 50–250 ms then doubling up to 450 ms).
    pub unicast_retransmit: RetransmitParams,
    /// The schedule of a message sent to a multicast group (default
    /// [`RetransmitParams::multicast`]).
    pub multicast_retransmit: RetransmitParams,
}

impl Default for UdpChannelOptions {
    fn default() -> UdpChannelOptions {
        UdpChannelOptions {
            multicast_hops: 1,
            multicast_interface: 0,
            ip_version: IpVersion::Auto,
            unicast_retransmit: RetransmitParams::unicast(),
            multicast_retransmit: RetransmitParams::multicast(),
        }
    }
}

/// The UDP-only properties of a [`UdpListener`] (`WS_LISTENER_PROPERTY_*` rows of
/// `WS_UDP_CHANNEL_BINDING`), with the documented defaults, and the schedule of replies.
///
/// `WS_LISTENER_PROPERTY_IS_MULTICAST` is not a field: a listener is multicast exactly when
/// its URL names a multicast group, and then its socket shares its address and port
/// (`SO_REUSEADDR`, `SO_REUSEPORT`) as WWSAPI's does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpListenerOptions {
    /// `WS_LISTENER_PROPERTY_MULTICAST_INTERFACES`: the indexes of the interfaces on which a
    /// multicast listener joins its group (default empty: the zone of an IPv6 URL, else the
    /// system's default interface).
    pub multicast_interfaces: Vec<u32>,
    /// `WS_LISTENER_PROPERTY_MULTICAST_LOOPBACK` (default `true`): whether a multicast
    /// listener receives what this host itself sent to the group. Off, datagrams whose source
    /// is one of this host's addresses (listed when the listener opens) are dropped and
    /// counted in [`UdpStats::looped_back`], as Windows does for a receiving socket.
    pub multicast_loopback: bool,
    /// `WS_LISTENER_PROPERTY_IP_VERSION` (default [`IpVersion::Auto`]).
    pub ip_version: IpVersion,
    /// The schedule of replies sent by the accepted channels (default
    /// [`RetransmitParams::unicast`]).
    pub reply_retransmit: RetransmitParams,
}

impl Default for UdpListenerOptions {
    fn default() -> UdpListenerOptions {
        UdpListenerOptions {
            multicast_interfaces: Vec::new(),
            multicast_loopback: true,
            ip_version: IpVersion::Auto,
            reply_retransmit: RetransmitParams::unicast(),
        }
    }
}

/// What a channel's or listener's socket received and sent, and what was dropped (see the
/// module docs, "The intake").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// Datagrams read from the socket.
    pub received: u64,
    /// Messages handed to the application (a receive or an accept that completed).
    pub delivered: u64,
    /// Dropped: not a SOAP envelope of the channel's version within the reader quotas, or
    /// malformed addressing headers.
    pub malformed: u64,
    /// Dropped: over the message size limit (or cut by it).
    pub oversize: u64,
    /// Dropped: no `MessageID`.
    pub no_message_id: u64,
    /// Dropped: a `MessageID` already seen (a retransmission).
    pub duplicates: u64,
    /// Dropped by `call` / `request_reply` while waiting: a message whose `RelatesTo` does not
    /// name the request.
    pub unrelated: u64,
    /// Dropped by a multicast listener with loopback off: sent from this host.
    pub looped_back: u64,
    /// Datagrams sent, retransmissions included.
    pub sent: u64,
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    delivered: AtomicU64,
    malformed: AtomicU64,
    oversize: AtomicU64,
    no_message_id: AtomicU64,
    duplicates: AtomicU64,
    unrelated: AtomicU64,
    looped_back: AtomicU64,
    sent: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A received message that passed the intake.
#[derive(Debug)]
pub(crate) struct Datagram {
    pub(crate) envelope: Envelope,
    /// The addressing headers, `MessageID` present.
    pub(crate) addressing: AddressingHeaders,
    /// The sender, as the socket reported it (IPv4-mapped on a dual-stack socket).
    pub(crate) from: SocketAddr,
}

/// The checks every received datagram goes through, and the counters.
#[derive(Debug)]
pub(crate) struct Intake {
    /// The envelope version datagrams must have; `None`: either (a listener with
    /// `any_envelope_version`).
    envelope_version: Option<EnvelopeVersion>,
    quotas: ReaderQuotas,
    max_headers: usize,
    limit: usize,
    duplicates: Mutex<DuplicateFilter>,
    counters: Counters,
    /// Multicast listener with loopback off: this host's addresses.
    local_sources: Mutex<Option<Vec<IpAddr>>>,
}

impl Intake {
    pub(crate) fn new(properties: &ChannelProperties) -> Intake {
        Intake {
            envelope_version: Some(properties.envelope_version),
            quotas: properties.reader_quotas,
            max_headers: properties.max_headers,
            limit: message_limit(properties),
            duplicates: Mutex::new(DuplicateFilter::default()),
            counters: Counters::default(),
            local_sources: Mutex::new(None),
        }
    }

    /// Accepts both SOAP versions (a listener's `any_envelope_version`).
    pub(crate) fn any_envelope_version(mut self) -> Intake {
        self.envelope_version = None;
        self
    }

    /// The message size limit.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Drops datagrams from these addresses from now on (`None`: accept every source).
    pub(crate) fn set_local_sources(&self, sources: Option<Vec<IpAddr>>) {
        *self.local_sources.lock().unwrap_or_else(PoisonError::into_inner) = sources;
    }

    pub(crate) fn stats(&self) -> UdpStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let c = &self.counters;
        UdpStats {
            received: get(&c.received),
            delivered: get(&c.delivered),
            malformed: get(&c.malformed),
            oversize: get(&c.oversize),
            no_message_id: get(&c.no_message_id),
            duplicates: get(&c.duplicates),
            unrelated: get(&c.unrelated),
            looped_back: get(&c.looped_back),
            sent: get(&c.sent),
        }
    }

    pub(crate) fn count_sent(&self) {
        bump(&self.counters.sent);
    }

    pub(crate) fn count_delivered(&self) {
        bump(&self.counters.delivered);
    }

    fn count_unrelated(&self) {
        bump(&self.counters.unrelated);
    }

    /// Checks one datagram: `Some` if it is a new, well-formed message.
    pub(crate) fn accept(&self, bytes: &[u8], from: SocketAddr) -> Option<Datagram> {
        let c = &self.counters;
        bump(&c.received);
        if bytes.len() > self.limit {
            bump(&c.oversize);
            debug!(%from, len = bytes.len(), limit = self.limit, "udp: dropping an oversized datagram");
            return None;
        }
        let looped = self
            .local_sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|own| own.contains(&from.ip().to_canonical()));
        if looped {
            bump(&c.looped_back);
            debug!(%from, "udp: dropping a datagram this host sent (multicast loopback is off)");
            return None;
        }
        let envelope =
            match Envelope::parse(Bytes::copy_from_slice(bytes), self.envelope_version, &self.quotas, self.max_headers)
            {
                Ok(e) => e,
                Err(e) => {
                    bump(&c.malformed);
                    debug!(%from, len = bytes.len(), error = %e, "udp: dropping a datagram that is not a SOAP message");
                    return None;
                }
            };
        let Some(version) = AddressingHeaders::detect_version(&envelope.headers) else {
            bump(&c.no_message_id);
            debug!(%from, "udp: dropping a message without addressing headers (no MessageID)");
            return None;
        };
        let addressing = match AddressingHeaders::from_headers(&envelope.headers, version, &self.quotas) {
            Ok(a) => a,
            Err(e) => {
                bump(&c.malformed);
                debug!(%from, error = %e, "udp: dropping a message with malformed addressing headers");
                return None;
            }
        };
        let Some(message_id) = addressing.message_id.as_deref() else {
            bump(&c.no_message_id);
            debug!(%from, "udp: dropping a message without MessageID");
            return None;
        };
        let first = self
            .duplicates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first_seen(message_id, Instant::now().into_std());
        if !first {
            bump(&c.duplicates);
            debug!(%from, message_id, "udp: dropping a duplicate");
            return None;
        }
        Some(Datagram { envelope, addressing, from })
    }
}

/// The intake on its own, for the `udp_datagram` fuzz target (`fuzz/fuzz_targets/`).
///
/// For fuzzing only; not part of the API: it may change or go away in any release. It runs the
/// same checks, in the same order, as every datagram a [`UdpListener`] or [`UdpChannel`] reads.
#[doc(hidden)]
#[derive(Debug)]
pub struct FuzzIntake(Intake);

#[doc(hidden)]
impl FuzzIntake {
    /// The intake of a channel with `properties`; `any_envelope_version`: a listener's with
    /// that property; `local_sources`: a multicast listener's with loopback off.
    pub fn new(properties: &ChannelProperties, any_envelope_version: bool, local_sources: Option<Vec<IpAddr>>) -> Self {
        let intake = Intake::new(properties);
        let intake = if any_envelope_version { intake.any_envelope_version() } else { intake };
        intake.set_local_sources(local_sources);
        FuzzIntake(intake)
    }

    /// One received datagram: its envelope and addressing headers when it would be delivered,
    /// `None` when it is dropped (counted in [`stats`](Self::stats)).
    pub fn accept(&self, bytes: &[u8], from: SocketAddr) -> Option<(Envelope, AddressingHeaders)> {
        self.0.accept(bytes, from).map(|d| (d.envelope, d.addressing))
    }

    /// The message size limit.
    pub fn limit(&self) -> usize {
        self.0.limit()
    }

    /// The counters (`delivered` stays 0: delivery is the receive's, not the intake's).
    pub fn stats(&self) -> UdpStats {
        self.0.stats()
    }
}

/// The message size limit of a channel: `max_buffered_message_size`, at most 65536.
pub(crate) fn message_limit(properties: &ChannelProperties) -> usize {
    properties.max_buffered_message_size.clamp(1, MAX_UDP_MESSAGE_SIZE)
}

/// `E_INVALIDARG` for a property the UDP binding does not support (spec §1.7, §1.9, §1.10).
pub(crate) fn check_properties(properties: &ChannelProperties) -> Result<()> {
    let invalid = |m: &str| Err(Error::new(ErrorKind::InvalidArgument, m.to_owned()));
    if properties.encoding != MessageEncoding::TextUtf8 {
        return invalid("the UDP binding supports only WS_ENCODING_XML_UTF8 (text); MTOM is not available over UDP");
    }
    if properties.transfer_mode != soapwire_proto::properties::TransferMode::Buffered {
        return invalid("the UDP binding supports only buffered transfer");
    }
    if properties.addressing_version == AddressingVersion::Transport {
        return invalid(
            "the UDP binding needs WS-Addressing (1.0 or 2004/08): every datagram carries a MessageID; \
             transport addressing is HTTP only",
        );
    }
    Ok(())
}

/// `QuotaExceeded` unless `len` bytes fit in one datagram to `dest` within `limit`.
pub(crate) fn check_size(len: usize, limit: usize, dest: SocketAddr) -> Result<()> {
    let family = if dest.is_ipv4() { MAX_IPV4_PAYLOAD } else { MAX_IPV6_PAYLOAD };
    if len > limit {
        return Err(Error::quota_exceeded(format!(
            "the message is {len} bytes, more than the UDP message limit ({limit}); nothing was sent"
        )));
    }
    if len > family {
        return Err(Error::quota_exceeded(format!(
            "the message is {len} bytes, more than one {} UDP datagram carries ({family}); nothing was sent",
            if dest.is_ipv4() { "IPv4" } else { "IPv6" }
        )));
    }
    Ok(())
}

/// Reads datagrams until one passes the intake and `wanted`; the others that pass the intake
/// but not `wanted` are counted as unrelated. Read errors are logged and retried after a
/// pause (the caller bounds the whole wait).
pub(crate) async fn next_datagram(
    socket: &UdpSocket,
    intake: &Intake,
    wanted: impl Fn(&Datagram) -> bool,
) -> Result<Datagram> {
    let mut buffer = vec![0u8; intake.limit() + 1];
    loop {
        match socket.recv_from(&mut buffer).await {
            Ok((len, from)) => {
                let Some(datagram) = intake.accept(buffer.get(..len).unwrap_or_default(), from) else { continue };
                if wanted(&datagram) {
                    intake.count_delivered();
                    return Ok(datagram);
                }
                intake.count_unrelated();
                debug!(%from, relates_to = ?datagram.addressing.relates_to, "udp: dropping a message that answers another request");
            }
            Err(e) => {
                debug!(error = %e, "udp: receive failed");
                tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
            }
        }
    }
}

/// A source of random numbers for the retransmission delay.
pub(crate) type Rng = Box<dyn FnMut() -> u64 + Send>;

/// The process's random source (a v4 UUID, as the discovery runtime draws its delays).
pub(crate) fn random_u64() -> u64 {
    let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
    high ^ low.rotate_left(32)
}

/// Runs `fut` as the operation `op` (an abort or rude close ends it with
/// `WS_E_OPERATION_ABORTED`) within `timeout`. The timeout does not fault the channel (see
/// the module docs).
pub(crate) async fn bounded<T>(
    op: &Op<'_>,
    what: &str,
    timeout: Option<Duration>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let outcome = op
        .run(what, None, async {
            match timeout {
                Some(t) => match tokio::time::timeout(t, fut).await {
                    Ok(r) => r.map(Ok),
                    Err(_) => Ok(Err(t)),
                },
                None => fut.await.map(Ok),
            }
        })
        .await?;
    outcome.map_err(|t| Error::timed_out(format!("{what} did not complete within {} ms", t.as_millis())))
}

/// Sends `bytes` to `dest` at the times of `params`' schedule, drawing the first repeat delay
/// from `rng` (the same bytes every time). `first_sent` runs once the first transmission
/// went. A failed first transmission is returned; a failed repeat is logged and the schedule
/// goes on. Each transmission waits at most `send_timeout`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_scheduled(
    op: &Op<'_>,
    socket: &UdpSocket,
    dest: SocketAddr,
    bytes: &[u8],
    params: &RetransmitParams,
    rng: &Mutex<Rng>,
    send_timeout: Option<Duration>,
    intake: &Intake,
    mut first_sent: impl FnMut(),
) -> Result<()> {
    let schedule = {
        let mut rng = rng.lock().unwrap_or_else(PoisonError::into_inner);
        RetransmitSchedule::new(params, &mut *rng, Instant::now().into_std())?
    };
    let mut first = true;
    for at in schedule {
        bounded(op, "waiting to retransmit", None, async {
            tokio::time::sleep_until(Instant::from_std(at)).await;
            Ok(())
        })
        .await?;
        let sent = bounded(op, "sending the datagram", send_timeout, async {
            socket.send_to(bytes, dest).await.map_err(|e| send_error(e, dest))
        })
        .await;
        match sent {
            Ok(_) => intake.count_sent(),
            Err(e) if first => return Err(e),
            Err(e) if e.is_aborted() => return Err(e),
            Err(e) => debug!(%dest, error = %e, "udp: a retransmission failed"),
        }
        if first {
            first = false;
            first_sent();
        }
    }
    Ok(())
}

/// Maps a send error; `EMSGSIZE` is `WS_E_QUOTA_EXCEEDED`.
fn send_error(e: std::io::Error, dest: SocketAddr) -> Error {
    #[cfg(target_os = "linux")]
    const EMSGSIZE: i32 = 90;
    #[cfg(not(target_os = "linux"))]
    const EMSGSIZE: i32 = 40;
    if e.raw_os_error() == Some(EMSGSIZE) {
        return Error::quota_exceeded(format!("sending to {dest}: the datagram is too large: {e}"));
    }
    crate::http::io_error(e, &format!("sending to {dest}"))
}

/// This host's addresses (for the multicast-loopback filter); empty if they cannot be listed.
pub(crate) fn local_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs().map(|list| list.into_iter().map(|i| i.ip()).collect()).unwrap_or_default()
}
