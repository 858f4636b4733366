//! Channel and listener properties: every quota and timeout with its documented default.
//!
//! This module owns the `WS_CHANNEL_PROPERTY_*` / `WS_LISTENER_PROPERTY_*` analogues that the
//! runtime needs (spec §1.11). Timeouts are `Option<Duration>`, where `None` means
//! `INFINITE`. As in WWSAPI, [`ChannelProperties::enable_timeouts`] set to `false` turns
//! every timeout that was not explicitly set into `INFINITE`.
//!
//! One deliberate deviation: WWSAPI documents `RESOLVE_TIMEOUT` as `INFINITE`; soapwire
//! bounds every wait, so it defaults to 30 s like the others.
//!
//! ```
//! use std::time::Duration;
//! use soapwire_proto::properties::{ChannelProperties, Timeout};
//!
//! let mut p = ChannelProperties::default();
//! assert_eq!(p.timeout(Timeout::Close), Some(Duration::from_secs(30)));
//! p.set_timeout(Timeout::Receive, Some(Duration::from_millis(500)));
//! p.enable_timeouts = false;
//! assert_eq!(p.timeout(Timeout::Close), None); // INFINITE: not set explicitly
//! assert_eq!(p.timeout(Timeout::Receive), Some(Duration::from_millis(500)));
//! ```

use std::time::Duration;

use crate::addressing::AddressingVersion;
use crate::mime::MimeQuotas;
use crate::soap::EnvelopeVersion;
use crate::xml::ReaderQuotas;

/// The default of every channel timeout: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The channel timeouts (`WS_CHANNEL_PROPERTY_*_TIMEOUT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// DNS resolution of the endpoint host.
    Resolve,
    /// Establishing the connection (and any transport handshake).
    Connect,
    /// Sending a message's bytes (HTTP: request headers and body).
    Send,
    /// Waiting for the whole HTTP response header block after the request was sent.
    ReceiveResponse,
    /// Receiving a message's bytes.
    Receive,
    /// The close handshake, and how long `close` waits for pending I/O.
    Close,
}

impl Timeout {
    const ALL: [Timeout; 6] =
        [Timeout::Resolve, Timeout::Connect, Timeout::Send, Timeout::ReceiveResponse, Timeout::Receive, Timeout::Close];

    fn index(self) -> usize {
        match self {
            Timeout::Resolve => 0,
            Timeout::Connect => 1,
            Timeout::Send => 2,
            Timeout::ReceiveResponse => 3,
            Timeout::Receive => 4,
            Timeout::Close => 5,
        }
    }
}

/// How message bodies move (`WS_TRANSFER_MODE`). Only HTTP honours streaming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TransferMode {
    /// Whole messages are buffered (the default): `max_buffered_message_size` applies.
    #[default]
    Buffered,
    /// Received bodies are delivered as they arrive.
    StreamedInput,
    /// Sent bodies are transmitted as they are written.
    StreamedOutput,
    /// Both directions streamed.
    Streamed,
}

impl TransferMode {
    /// True if sent messages are streamed.
    pub fn streams_output(self) -> bool {
        matches!(self, TransferMode::StreamedOutput | TransferMode::Streamed)
    }

    /// True if received messages are streamed.
    pub fn streams_input(self) -> bool {
        matches!(self, TransferMode::StreamedInput | TransferMode::Streamed)
    }
}

/// Properties of one channel, with the documented WWSAPI defaults.
#[derive(Clone, Debug)]
pub struct ChannelProperties {
    timeouts: [Option<Duration>; 6],
    explicit: [bool; 6],
    /// `WS_CHANNEL_PROPERTY_ENABLE_TIMEOUTS` (default `true`). When `false`, every timeout not
    /// set explicitly with [`ChannelProperties::set_timeout`] is `INFINITE`.
    pub enable_timeouts: bool,
    /// `WS_CHANNEL_PROPERTY_MAX_BUFFERED_MESSAGE_SIZE`: the largest encoded envelope sent or
    /// received in buffered mode (default 65536). Larger is `WS_E_QUOTA_EXCEEDED`.
    pub max_buffered_message_size: usize,
    /// `WS_CHANNEL_PROPERTY_MAX_STREAMED_MESSAGE_SIZE` (default 4194304).
    pub max_streamed_message_size: u64,
    /// `WS_CHANNEL_PROPERTY_MAX_HTTP_REQUEST_HEADERS_BUFFER_SIZE`: the whole HTTP request
    /// header block a server accepts (default 65536).
    pub max_http_request_headers_buffer_size: usize,
    /// `WS_MESSAGE_PROPERTY_MAX_PROCESSED_HEADERS` analogue: header blocks per message (default 64).
    pub max_headers: usize,
    /// XML reader quotas applied to every received envelope.
    pub reader_quotas: ReaderQuotas,
    /// `WS_CHANNEL_PROPERTY_ENVELOPE_VERSION` (HTTP default SOAP 1.2).
    pub envelope_version: EnvelopeVersion,
    /// `WS_CHANNEL_PROPERTY_ADDRESSING_VERSION` (HTTP default WS-Addressing 1.0).
    pub addressing_version: AddressingVersion,
    /// `WS_CHANNEL_PROPERTY_TRANSFER_MODE` (default buffered).
    pub transfer_mode: TransferMode,
    /// `WS_CHANNEL_PROPERTY_NO_DELAY` (`TCP_NODELAY`). soapwire turns it on for HTTP, where
    /// Nagle's algorithm only adds latency to request/reply.
    pub no_delay: bool,
    /// `WS_CHANNEL_PROPERTY_ENCODING`: how sent messages are encoded (default text). A
    /// message with attachments is always sent MTOM; received messages may be either.
    pub encoding: MessageEncoding,
    /// Limits of the MIME layer of received MTOM messages (part sizes, part count, header
    /// sizes); the envelope part is also bounded by `max_buffered_message_size`.
    pub mime_quotas: MimeQuotas,
    /// `WS_CHANNEL_PROPERTY_MAX_SESSION_DICTIONARY_SIZE` (TCP and Unix sockets, binary session
    /// encoding; default 2048 bytes of session strings). A peer that defines more is a
    /// `WS_E_QUOTA_EXCEEDED` that faults the channel; on send, strings past it go inline.
    pub max_session_dictionary_size: usize,
    /// `WS_CHANNEL_PROPERTY_SEND_KEEP_ALIVES` (TCP; default `false`): `SO_KEEPALIVE` with
    /// [`ChannelProperties::keep_alive_time`] and [`ChannelProperties::keep_alive_interval`].
    pub send_keep_alives: bool,
    /// `WS_CHANNEL_PROPERTY_KEEP_ALIVE_TIME` (TCP; default 2 hours): idle time before the first
    /// keep-alive probe, when [`ChannelProperties::send_keep_alives`] is on.
    pub keep_alive_time: Duration,
    /// `WS_CHANNEL_PROPERTY_KEEP_ALIVE_INTERVAL` (TCP; default 1 second): time between
    /// unanswered keep-alive probes.
    pub keep_alive_interval: Duration,
}

/// `WS_ENCODING` for the HTTP binding: how a sent message is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MessageEncoding {
    /// `WS_ENCODING_XML_UTF8`: the envelope as UTF-8 text (the default). Messages that carry
    /// attachments are still sent MTOM.
    #[default]
    TextUtf8,
    /// `WS_ENCODING_XML_MTOM_UTF8`: every message is sent as an MTOM (XOP) package, with or
    /// without attachments, like gSOAP's `SOAP_ENC_MTOM`. A server channel also answers MTOM
    /// requests with MTOM replies whatever this is set to.
    MtomUtf8,
    /// `WS_ENCODING_XML_MTOM_UTF16LE`: MTOM whose envelope part is UTF-16 little-endian (with
    /// a byte-order mark).
    MtomUtf16Le,
    /// `WS_ENCODING_XML_MTOM_UTF16BE`: MTOM whose envelope part is UTF-16 big-endian.
    MtomUtf16Be,
    /// `WS_ENCODING_XML_BINARY_1`: .NET binary XML with the static dictionary only
    /// (`application/soap+msbin1`; SOAP 1.2). Session bindings (net.tcp, Unix sockets) only.
    Binary,
    /// `WS_ENCODING_XML_BINARY_SESSION_1`: .NET binary XML with the in-band session dictionary
    /// (`application/soap+msbinsession1`; SOAP 1.2), bounded by
    /// [`ChannelProperties::max_session_dictionary_size`]. The default of the session bindings.
    BinarySession,
}

impl MessageEncoding {
    /// True for the MTOM encodings.
    pub fn is_mtom(self) -> bool {
        matches!(self, MessageEncoding::MtomUtf8 | MessageEncoding::MtomUtf16Le | MessageEncoding::MtomUtf16Be)
    }

    /// True for the .NET binary XML encodings.
    pub fn is_binary(self) -> bool {
        matches!(self, MessageEncoding::Binary | MessageEncoding::BinarySession)
    }
}

impl Default for ChannelProperties {
    fn default() -> ChannelProperties {
        ChannelProperties {
            timeouts: [Some(DEFAULT_TIMEOUT); 6],
            explicit: [false; 6],
            enable_timeouts: true,
            max_buffered_message_size: 65536,
            max_streamed_message_size: 4_194_304,
            max_http_request_headers_buffer_size: 65536,
            max_headers: 64,
            reader_quotas: ReaderQuotas::default(),
            envelope_version: EnvelopeVersion::Soap12,
            addressing_version: AddressingVersion::V1_0,
            transfer_mode: TransferMode::Buffered,
            no_delay: true,
            encoding: MessageEncoding::TextUtf8,
            mime_quotas: MimeQuotas::default(),
            max_session_dictionary_size: 2048,
            send_keep_alives: false,
            keep_alive_time: Duration::from_secs(2 * 60 * 60),
            keep_alive_interval: Duration::from_secs(1),
        }
    }
}

impl ChannelProperties {
    /// The defaults of the session bindings (`WS_TCP_CHANNEL_BINDING` and the Unix-socket
    /// analogue of the named-pipe binding): binary XML with a session dictionary, SOAP 1.2,
    /// WS-Addressing 1.0. `no_delay` stays on (WWSAPI's default is off; soapwire turns Nagle's
    /// algorithm off on every binding, as request/reply only loses latency to it).
    pub fn session() -> ChannelProperties {
        ChannelProperties { encoding: MessageEncoding::BinarySession, ..ChannelProperties::default() }
    }

    /// The effective value of a timeout (`None` = `INFINITE`), honouring `enable_timeouts`.
    pub fn timeout(&self, which: Timeout) -> Option<Duration> {
        let i = which.index();
        if !self.enable_timeouts && !self.explicit[i] {
            return None;
        }
        self.timeouts[i]
    }

    /// Sets a timeout explicitly (`None` = `INFINITE`). An explicitly set timeout applies even
    /// when `enable_timeouts` is `false`.
    pub fn set_timeout(&mut self, which: Timeout, value: Option<Duration>) -> &mut ChannelProperties {
        let i = which.index();
        self.timeouts[i] = value;
        self.explicit[i] = true;
        self
    }

    /// Sets every timeout at once (handy in tests).
    pub fn set_all_timeouts(&mut self, value: Option<Duration>) -> &mut ChannelProperties {
        for t in Timeout::ALL {
            self.set_timeout(t, value);
        }
        self
    }
}

/// Properties of a listener, with documented defaults. soapwire puts a bound on every
/// resource a remote peer can make the listener hold.
#[derive(Clone, Debug)]
pub struct ListenerProperties {
    /// Properties given to every channel created for this listener.
    pub channel: ChannelProperties,
    /// Requests received and waiting for an `accept_channel` (the listener's queue).
    /// Past it, new requests are answered `503 Service Unavailable` (default 1024).
    pub max_pending_requests: usize,
    /// Concurrent `accept_channel` calls; one more is `WS_E_QUOTA_EXCEEDED` (default 256).
    pub max_accepting_channels: usize,
    /// Accepted channels open at once; `accept_channel` waits while this many are open
    /// (default 1024).
    pub max_open_channels: usize,
    /// Concurrent TCP connections; more are closed right after accept (default 4096).
    pub max_connections: usize,
    /// How long a connection may take to send a complete HTTP request header block, and how
    /// long an idle keep-alive connection is kept (default 30 s).
    pub header_read_timeout: Duration,
    /// `WS_LISTENER_PROPERTY_CLOSE_TIMEOUT`: grace period for responses still being written
    /// when the listener closes (default 5 s).
    pub close_timeout: Duration,
    /// New connections accepted per remote IP address (a token bucket; default 200 per second
    /// with bursts of 400, loopback exempt). A connection over the rate is closed right after
    /// accept, before any byte is read. `None` turns the limit off.
    pub accept_rate_per_ip: Option<AcceptRate>,
    /// `WS_LISTENER_PROPERTY_CONNECT_TIMEOUT` (TCP and Unix sockets; default 15 s): how long an
    /// accepted connection may take to complete the .NET Message Framing preamble. The raw
    /// accept itself waits for ever, as in WWSAPI.
    pub connect_timeout: Duration,
    /// Accept both SOAP 1.1 and SOAP 1.2 requests on this listener, each reply channel taking
    /// the request's version (a soapwire extension; WWSAPI fixes one version per channel, and
    /// so does the default `false`: a request of the other version gets a `VersionMismatch`
    /// fault).
    pub any_envelope_version: bool,
    /// Bind the listening socket with `SO_REUSEPORT` (Unix; default `false`): several
    /// listeners, typically one per thread with a single-threaded runtime each, can then
    /// open the same address, and the kernel spreads new connections over them. A
    /// soapwire extension for thread-per-core servers.
    pub reuse_port: bool,
}

impl Default for ListenerProperties {
    fn default() -> ListenerProperties {
        ListenerProperties {
            channel: ChannelProperties::default(),
            max_pending_requests: 1024,
            max_accepting_channels: 256,
            max_open_channels: 1024,
            max_connections: 4096,
            header_read_timeout: DEFAULT_TIMEOUT,
            close_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(15),
            accept_rate_per_ip: Some(AcceptRate::default()),
            any_envelope_version: false,
            reuse_port: false,
        }
    }
}

/// A per-IP accept rate: a token bucket of `burst` connections refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptRate {
    /// Connections per second, sustained.
    pub per_second: u32,
    /// Connections accepted at once from an address that was quiet.
    pub burst: u32,
    /// Loopback addresses are not limited (local clients, and every client of a reverse proxy
    /// on the same host, share one address).
    pub exempt_loopback: bool,
}

impl Default for AcceptRate {
    fn default() -> AcceptRate {
        AcceptRate { per_second: 200, burst: 400, exempt_loopback: true }
    }
}

/// The per-IP accept rate limiter of a listener, sans-IO: the caller passes the time.
///
/// ```
/// use std::time::{Duration, Instant};
/// use soapwire_proto::properties::{AcceptRate, AcceptRateLimiter};
///
/// let mut limiter = AcceptRateLimiter::new(AcceptRate { per_second: 1, burst: 2, exempt_loopback: false });
/// let ip = "192.0.2.1".parse().unwrap();
/// let t = Instant::now();
/// assert!(limiter.allow(ip, t) && limiter.allow(ip, t));
/// assert!(!limiter.allow(ip, t));
/// assert!(limiter.allow(ip, t + Duration::from_secs(1)));
/// ```
#[derive(Debug)]
pub struct AcceptRateLimiter {
    rate: AcceptRate,
    buckets: std::collections::HashMap<std::net::IpAddr, (f64, std::time::Instant)>,
}

/// The most addresses a limiter tracks; past it, addresses whose bucket is full are forgotten.
const MAX_TRACKED_ADDRESSES: usize = 65_536;

impl AcceptRateLimiter {
    /// A limiter with no history.
    pub fn new(rate: AcceptRate) -> AcceptRateLimiter {
        AcceptRateLimiter { rate, buckets: std::collections::HashMap::new() }
    }

    /// True if a connection from `ip` at `now` is within the rate (and takes a token).
    pub fn allow(&mut self, ip: std::net::IpAddr, now: std::time::Instant) -> bool {
        if self.rate.exempt_loopback && ip.is_loopback() {
            return true;
        }
        let burst = f64::from(self.rate.burst.max(1));
        let per_second = f64::from(self.rate.per_second);
        if self.buckets.len() >= MAX_TRACKED_ADDRESSES && !self.buckets.contains_key(&ip) {
            self.buckets.retain(|_, (tokens, last)| {
                *tokens + now.saturating_duration_since(*last).as_secs_f64() * per_second < burst
            });
            if self.buckets.len() >= MAX_TRACKED_ADDRESSES {
                // Every tracked address is busy: an unknown one is refused rather than growing
                // the table without bound.
                return false;
            }
        }
        let (tokens, last) = self.buckets.entry(ip).or_insert((burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * per_second).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_timeout_defaults_to_30_seconds() {
        let p = ChannelProperties::default();
        for t in Timeout::ALL {
            assert_eq!(p.timeout(t), Some(Duration::from_secs(30)), "{t:?}");
        }
        assert_eq!(p.max_buffered_message_size, 65536);
        assert_eq!(p.max_http_request_headers_buffer_size, 65536);
        assert!(p.enable_timeouts);
    }

    #[test]
    fn disabling_timeouts_makes_unset_ones_infinite() {
        let mut p = ChannelProperties::default();
        p.set_timeout(Timeout::Send, Some(Duration::from_secs(1)));
        p.enable_timeouts = false;
        assert_eq!(p.timeout(Timeout::Send), Some(Duration::from_secs(1)));
        assert_eq!(p.timeout(Timeout::Receive), None);
    }

    #[test]
    fn listener_close_timeout_defaults_to_5_seconds() {
        assert_eq!(ListenerProperties::default().close_timeout, Duration::from_secs(5));
    }

    #[test]
    fn accept_rate_refills_per_address_and_exempts_loopback() {
        use std::time::Instant;
        let mut l = AcceptRateLimiter::new(AcceptRate { per_second: 10, burst: 3, exempt_loopback: true });
        let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let b: std::net::IpAddr = "192.0.2.2".parse().unwrap();
        let t = Instant::now();
        assert_eq!((0..5).filter(|_| l.allow(a, t)).count(), 3, "the burst");
        assert!(l.allow(b, t), "another address has its own bucket");
        assert!(!l.allow(a, t + Duration::from_millis(50)));
        assert!(l.allow(a, t + Duration::from_millis(150)), "refilled at 10/s");
        assert!((0..1000).all(|_| l.allow("127.0.0.1".parse().unwrap(), t)), "loopback is exempt");
        assert_eq!(ListenerProperties::default().accept_rate_per_ip, Some(AcceptRate::default()));
    }

    #[test]
    fn session_binding_defaults_follow_wwsapi() {
        let p = ChannelProperties::session();
        assert_eq!(p.encoding, MessageEncoding::BinarySession);
        assert_eq!(p.max_session_dictionary_size, 2048);
        assert_eq!(p.envelope_version, EnvelopeVersion::Soap12);
        assert_eq!(p.addressing_version, AddressingVersion::V1_0);
        assert!(!p.send_keep_alives);
        assert_eq!(p.keep_alive_time, Duration::from_secs(7200));
        assert_eq!(p.keep_alive_interval, Duration::from_secs(1));
        assert_eq!(ListenerProperties::default().connect_timeout, Duration::from_secs(15));
    }
}
