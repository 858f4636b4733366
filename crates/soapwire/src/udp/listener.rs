//! [`UdpListener`]: the server side of SOAP over UDP (`WS_LISTENER` on
//! `WS_UDP_CHANNEL_BINDING`).
//!
//! The listener owns one UDP socket: bound to a unicast address and port
//! (`soap.udp://0.0.0.0:PORT`, `soap.udp://+:PORT` for every address), or, for a multicast
//! group URL, bound to the group's port with the address shared (`SO_REUSEADDR`,
//! `SO_REUSEPORT`) and joined to the group on each configured interface only
//! (`IP_MULTICAST_ALL` off). `WsAcceptChannel` "accepts the next incoming message": each
//! [`UdpListener::accept_channel`] reads datagrams through the intake (duplicates, garbage,
//! oversized messages and messages without `MessageID` dropped and counted) until one passes, and opens
//! the [`UdpInputChannel`] with it, so one accepted channel carries one message (the
//! `accept receive end* close` loop of spec §1.8). Datagrams nobody accepts yet wait in the
//! socket's receive buffer, which the system bounds.
//!
//! The state is the listener state machine of [`soapwire_proto::channel`]:
//!
//! ```text
//!   new ──► Created ──open──► Opening ──► Open ──close──► Closing ──► Closed ──reset──► Created
//!                                          │
//!                                    abort │  (pending accepts end with WS_E_OPERATION_ABORTED,
//!                                          ▼   later ones fail with WS_E_OBJECT_FAULTED)
//!                                       Faulted ──close──► Closing ──► Closed
//! ```

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, Mutex, PoisonError};

use soapwire_proto::channel::{ListenerState, ListenerStateMachine};
use soapwire_proto::properties::{ListenerProperties, Timeout};
use soapwire_proto::{Error, ErrorKind, Result};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::input::UdpInputChannel;
use super::url::{UdpHost, UdpUrl, url_of};
use super::{Intake, IpVersion, UdpListenerOptions, UdpStats, check_properties, local_addresses, next_datagram};

struct Inner {
    machine: ListenerStateMachine,
    socket: Option<Arc<UdpSocket>>,
    /// The URL as the listener serves it (real port, the group for a multicast listener).
    url: Option<String>,
    multicast: bool,
    /// Cancelled by abort and close: pending accepts end with `WS_E_OPERATION_ABORTED`.
    accepts: CancellationToken,
}

fn fresh(machine: ListenerStateMachine) -> Inner {
    Inner { machine, socket: None, url: None, multicast: false, accepts: CancellationToken::new() }
}

/// A SOAP-over-UDP listener: `open`, then [`accept_channel`](Self::accept_channel) in a loop
/// (each accepted [`UdpInputChannel`] holds one message, its source address, and can send one
/// reply back to that source), then `close`. Dropping an open listener aborts it.
///
/// ```no_run
/// # async fn serve() -> soapwire::Result<()> {
/// use soapwire::ListenerProperties;
/// use soapwire::udp::{UdpInputChannel, UdpListener};
///
/// let listener = UdpListener::new(ListenerProperties::default());
/// listener.open("soap.udp://0.0.0.0:4000/echo").await?;
/// loop {
///     let channel = UdpInputChannel::new(&listener);
///     listener.accept_channel(&channel).await?;
///     let mut request = channel.new_message();
///     channel.receive_message(&mut request).await?;
///     // A one-way message needs nothing more; a request gets its reply at the source.
///     let mut reply = channel.new_message();
///     reply.initialize_reply(&request, "urn:echo:reply", request.body_xml().clone())?;
///     channel.send_reply(&mut reply).await?;
///     channel.close().await?;
/// }
/// # }
/// ```
pub struct UdpListener {
    properties: ListenerProperties,
    options: UdpListenerOptions,
    inner: Mutex<Inner>,
    intake: Arc<Intake>,
    open_channels: Arc<Semaphore>,
    accepting: crate::core::AcceptCount,
}

impl std::fmt::Debug for UdpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpListener").field("state", &self.state()).field("url", &self.url()).finish_non_exhaustive()
    }
}

impl Drop for UdpListener {
    fn drop(&mut self) {
        self.abort();
    }
}

impl UdpListener {
    /// A new listener in state `Created` (`WsCreateListener` on the UDP binding), with the
    /// default UDP options.
    pub fn new(properties: ListenerProperties) -> UdpListener {
        UdpListener::with_options(properties, UdpListenerOptions::default())
    }

    /// A new listener with UDP options (multicast interfaces and loopback, IP version, the
    /// schedule of replies).
    pub fn with_options(properties: ListenerProperties, options: UdpListenerOptions) -> UdpListener {
        let open = properties.max_open_channels.max(1);
        let intake = Intake::new(&properties.channel);
        let intake = if properties.any_envelope_version { intake.any_envelope_version() } else { intake };
        UdpListener {
            intake: Arc::new(intake),
            properties,
            options,
            inner: Mutex::new(fresh(ListenerStateMachine::new())),
            open_channels: Arc::new(Semaphore::new(open)),
            accepting: crate::core::AcceptCount::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The listener's properties (`channel` is what its channels get).
    pub fn properties(&self) -> &ListenerProperties {
        &self.properties
    }

    /// The listener's UDP options.
    pub fn options(&self) -> &UdpListenerOptions {
        &self.options
    }

    pub(crate) fn intake(&self) -> &Arc<Intake> {
        &self.intake
    }

    /// A snapshot of the listener's state.
    pub fn state(&self) -> ListenerState {
        self.with(|s| s.machine.state())
    }

    /// What the socket received, sent (replies of the accepted channels) and dropped.
    pub fn stats(&self) -> UdpStats {
        self.intake.stats()
    }

    /// The URL the listener serves, with the real port when it was opened with port 0.
    pub fn url(&self) -> Option<String> {
        self.with(|s| s.url.clone())
    }

    /// The local socket address, once open.
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.with(|s| s.socket.as_ref().and_then(|sock| sock.local_addr().ok()))
    }

    /// True once opened on a multicast group.
    pub fn is_multicast(&self) -> bool {
        self.with(|s| s.multicast)
    }

    /// `WsOpenListener`: binds (and for a group, joins) the URL's address.
    ///
    /// `soap.udp://0.0.0.0:PORT` (every IPv4 address), `soap.udp://[::]:PORT` (every IPv6
    /// address), `soap.udp://+:PORT` or `soap.udp://*:PORT` (every address: one dual-stack
    /// socket with [`IpVersion::Auto`]), a local address or name, or a multicast group such as `soap.udp://239.255.255.250:3702` or
    /// `soap.udp://[ff02::c%eth0]:3702`; port 0 picks a free port; the path is ignored.
    ///
    /// Errors: `E_INVALIDARG` (before anything changes) when the channel properties ask for
    /// what UDP cannot do; `WS_E_INVALID_ENDPOINT_URL`; `WS_E_ADDRESS_IN_USE`;
    /// `WS_E_ADDRESS_NOT_AVAILABLE` (no such local address or interface).
    pub async fn open(&self, url: &str) -> Result<()> {
        check_properties(&self.properties.channel)?;
        self.options.reply_retransmit.validate()?;
        self.with(|s| s.machine.open_started())?;
        let outcome = self.bind(url).await;
        let outcome = outcome.map(|(socket, url, multicast)| {
            self.with(|s| {
                s.socket = Some(Arc::new(socket));
                s.url = Some(url);
                s.multicast = multicast;
            })
        });
        self.with(|s| s.machine.open_completed(outcome))
    }

    async fn bind(&self, url: &str) -> Result<(UdpSocket, String, bool)> {
        let parsed = UdpUrl::parse(url)?;
        let version = self.options.ip_version;
        let timeout = self.properties.channel.timeout(Timeout::Resolve);
        let address = *parsed.resolve(version, timeout).await?.first().ok_or_else(|| {
            Error::new(ErrorKind::AddressNotAvailable, format!("{url} names no address to listen on"))
        })?;
        let io = |what: String| move |e: std::io::Error| crate::http::io_error(e, &what);
        let multicast = address.ip().is_multicast();
        let socket = if multicast {
            let socket = group_socket(address, &self.options).map_err(io(format!("joining {address}")))?;
            let own = (!self.options.multicast_loopback).then(local_addresses);
            self.intake.set_local_sources(own);
            socket
        } else {
            self.intake.set_local_sources(None);
            let dual = parsed.host == UdpHost::Wildcard && version == IpVersion::Auto;
            match unicast_socket(address, dual) {
                Ok(s) => s,
                // No IPv6 on this host: the wildcard falls back to IPv4.
                Err(_) if dual => unicast_socket(SocketAddr::from((Ipv4Addr::UNSPECIFIED, address.port())), false)
                    .map_err(io(format!("binding 0.0.0.0:{}", address.port())))?,
                Err(e) => return Err(io(format!("binding {address}"))(e)),
            }
        };
        socket.set_nonblocking(true).map_err(io("making the socket non-blocking".to_owned()))?;
        let socket = UdpSocket::from_std(socket.into()).map_err(io("registering the UDP socket".to_owned()))?;
        let local = socket.local_addr().map_err(io("reading the bound address".to_owned()))?;
        let shown = if multicast { SocketAddr::new(address.ip(), local.port()) } else { local };
        let shown = match (shown, address) {
            (SocketAddr::V6(mut s), SocketAddr::V6(a)) => {
                s.set_scope_id(a.scope_id());
                SocketAddr::V6(s)
            }
            (s, _) => s,
        };
        Ok((socket, url_of(shown, &parsed.path), multicast))
    }

    /// `WsAcceptChannel`: waits for the next message that passes the intake and opens
    /// `channel` with it (`Created → Accepting → Open`). Fails at once with
    /// `WS_E_OBJECT_FAULTED` on an aborted listener; a pending accept ends with
    /// `WS_E_OPERATION_ABORTED` when the listener or the channel is aborted or the listener
    /// closed. More than `max_accepting_channels` concurrent accepts is
    /// `WS_E_QUOTA_EXCEEDED`; while `max_open_channels` accepted channels are open, the
    /// accept waits (and the datagrams wait in the socket buffer).
    pub async fn accept_channel(&self, channel: &UdpInputChannel) -> Result<()> {
        let (socket, accepts) = self.with(|s| {
            s.machine.check_accept()?;
            Ok::<_, Error>((s.socket.clone(), s.accepts.clone()))
        })?;
        let socket = socket.ok_or_else(|| Error::invalid_operation("the listener is not open"))?;
        let _turn = self.accepting.enter(self.properties.max_accepting_channels)?;
        self.accept_into(channel, socket, accepts).await
    }

    async fn accept_into(
        &self,
        channel: &UdpInputChannel,
        socket: Arc<UdpSocket>,
        accepts: CancellationToken,
    ) -> Result<()> {
        channel.core().accept_started()?;
        let channel_cancel = channel.core().cancel_token();
        let aborted = || Error::aborted("the accept was aborted: the listener or the channel was aborted or closed");
        let waiting = async {
            let permit: OwnedSemaphorePermit =
                self.open_channels.clone().acquire_owned().await.map_err(|_| aborted())?;
            let datagram = next_datagram(&socket, &self.intake, |_| true).await?;
            Ok::<_, Error>((permit, datagram))
        };
        let outcome = tokio::select! {
            biased;
            _ = accepts.cancelled() => Err(aborted()),
            _ = channel_cancel.cancelled() => Err(aborted()),
            r = waiting => r,
        };
        match outcome {
            Ok((permit, datagram)) => {
                debug!(from = %datagram.from, "udp: accepted a message");
                channel.install(datagram, Arc::clone(&socket), permit);
                channel.core().open_completed(Ok(()))
            }
            Err(e) => channel.core().open_completed(Err(e)),
        }
    }

    /// `WsAbortListener`: allowed in every state, never waits. Pending accepts end with
    /// `WS_E_OPERATION_ABORTED`, later accepts fail with `WS_E_OBJECT_FAULTED`, the socket is
    /// released (accepted channels keep it until they close). `Open → Faulted`.
    pub fn abort(&self) {
        let socket = self.with(|s| {
            s.machine.abort();
            s.accepts.cancel();
            s.socket.take()
        });
        drop(socket);
    }

    /// `WsCloseListener`: allowed in `Open` or `Faulted`. Pending accepts end with
    /// `WS_E_OPERATION_ABORTED`, the socket is released (and the group left) once the accepted
    /// channels still sending replies on it are done. `WS_E_OPERATION_ABORTED` if aborted
    /// while closing.
    pub async fn close(&self) -> Result<()> {
        let socket = self.with(|s| {
            s.machine.close_started()?;
            s.accepts.cancel();
            Ok::<_, Error>(s.socket.take())
        })?;
        drop(socket);
        self.with(|s| s.machine.close_completed(Ok(())))
    }

    /// `WsResetListener`: `Created | Closed → Created`, ready to open again.
    pub fn reset(&self) -> Result<()> {
        self.with(|s| {
            s.machine.reset()?;
            let machine = std::mem::take(&mut s.machine);
            *s = fresh(machine);
            Ok(())
        })
    }
}

/// A unicast listener socket: not shared (a second socket on one unicast address would split
/// the datagrams), `IP_MULTICAST_ALL` off. `dual`: an IPv6 wildcard that also takes IPv4.
fn unicast_socket(address: SocketAddr, dual: bool) -> std::io::Result<Socket> {
    let socket = match address {
        SocketAddr::V4(_) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            #[cfg(target_os = "linux")]
            s.set_multicast_all_v4(false)?;
            s
        }
        SocketAddr::V6(_) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_only_v6(!dual)?;
            #[cfg(target_os = "linux")]
            let _ = s.set_multicast_all_v6(false);
            s
        }
    };
    socket.bind(&address.into())?;
    Ok(socket)
}

/// A multicast listener socket: the group's port shared, bound to the group (so unicast to
/// the port stays out) or, where the system refuses that, to the wildcard address; the group
/// joined on each interface of the options (or the URL's zone, or the system's default).
fn group_socket(group: SocketAddr, options: &UdpListenerOptions) -> std::io::Result<Socket> {
    let share = |s: &Socket| -> std::io::Result<()> {
        s.set_reuse_address(true)?;
        #[cfg(unix)]
        s.set_reuse_port(true)?;
        Ok(())
    };
    match group {
        SocketAddr::V4(g) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            share(&s)?;
            #[cfg(target_os = "linux")]
            s.set_multicast_all_v4(false)?;
            if s.bind(&group.into()).is_err() {
                s.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, g.port())).into())?;
            }
            let interfaces =
                if options.multicast_interfaces.is_empty() { vec![0] } else { options.multicast_interfaces.clone() };
            for index in interfaces {
                s.join_multicast_v4_n(g.ip(), &InterfaceIndexOrAddress::Index(index))?;
            }
            s.set_multicast_loop_v4(options.multicast_loopback)?;
            Ok(s)
        }
        SocketAddr::V6(g) => {
            let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            s.set_only_v6(true)?;
            share(&s)?;
            #[cfg(target_os = "linux")]
            let _ = s.set_multicast_all_v6(false);
            let mut interfaces = options.multicast_interfaces.clone();
            if interfaces.is_empty() {
                interfaces.push(g.scope_id());
            }
            // One interface: the scope binds the socket to it. Several: the wildcard address.
            let scope = if interfaces.len() == 1 { interfaces[0] } else { 0 };
            let bound = SocketAddrV6::new(*g.ip(), g.port(), 0, scope);
            if s.bind(&SocketAddr::V6(bound).into()).is_err() {
                s.bind(&SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, g.port(), 0, scope)).into())?;
            }
            for index in interfaces {
                s.join_multicast_v6(g.ip(), index)?;
            }
            s.set_multicast_loop_v6(options.multicast_loopback)?;
            Ok(s)
        }
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<UdpListener>();
    is::<UdpInputChannel>();
}
