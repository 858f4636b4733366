//! [`SessionListener`]: the server side of the session bindings (`WS_LISTENER` on
//! `WS_TCP_CHANNEL_BINDING`, and on a Unix socket).
//!
//! The listener binds the socket and runs the [MC-NMF] preamble of every accepted
//! connection in its own task, bounded by the listener connect timeout (15 s by default): a
//! connection that never finishes its preamble costs a task and a descriptor for at most
//! that long, and never reaches the application. The preamble is checked here and answered
//! with the documented framing fault when it cannot be served:
//!
//! | the initiator sends | answer |
//! | --- | --- |
//! | a version other than 1.x | `UnsupportedVersion` fault |
//! | a mode other than duplex | `UnsupportedMode` fault |
//! | a Via whose path the listener does not serve | `EndpointNotFound` fault |
//! | an encoding other than the listener's | `ContentTypeInvalid` fault |
//! | an upgrade request (security) | `UpgradeInvalid` fault (soapwire has no net.tcp security yet) |
//! | more sessions than the queue holds | `ServerTooBusy` fault |
//! | records out of order, garbage | connection dropped |
//!
//! A session whose preamble succeeded gets its preamble ack and waits in a bounded queue
//! for [`SessionListener::accept_channel`]. Bytes the initiator pipelined behind its
//! preamble (WCF and pynettcp send the first envelope without waiting for the ack) stay
//! with the session.
//!
//! ```no_run
//! # async fn demo() -> soapwire::Result<()> {
//! use soapwire::{ListenerProperties, Message};
//! use soapwire::session::{SessionChannel, SessionListener};
//!
//! let mut properties = ListenerProperties::default();
//! properties.channel = soapwire::ChannelProperties::session();
//! let listener = SessionListener::new(properties);
//! listener.open("net.tcp://127.0.0.1:0/echo").await?;
//! let channel = SessionChannel::for_listener(&listener);
//! listener.accept_channel(&channel).await?;
//! let mut request = channel.new_message();
//! while channel.receive_message(&mut request).await? {
//!     let mut reply = channel.new_message();
//!     reply.initialize_reply(&request, "urn:reply", request.body_xml().clone())?;
//!     channel.send_message(&mut reply).await?;
//!     request = channel.new_message();
//! }
//! channel.close().await?; // the client ended the session
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use soapwire_proto::channel::{ListenerState, ListenerStateMachine};
use soapwire_proto::framing::nmf::{self, Encoding, PreambleInfo, PreambleStep, Record, ResponderPreamble};
use soapwire_proto::properties::ListenerProperties;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::channel::{ConnectionSlot, Established, Reader, Role, SessionChannel, Writer};
use super::codec;
use super::stream::{self, SessionStream};
use super::url::{Endpoint, SessionUrl, via_path};
use crate::http::io_error;

type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<Established>>>;

struct ListenerInner {
    machine: ListenerStateMachine,
    url: Option<SessionUrl>,
    local_url: Option<String>,
    local_addr: Option<SocketAddr>,
    /// The socket file a Unix listener created (removed on close).
    socket_path: Option<PathBuf>,
    queue: Option<Queue>,
    /// Cancelled by abort and close: pending accepts end with `WS_E_OPERATION_ABORTED`.
    accepts: CancellationToken,
    /// Cancelled by close and abort: the accept loop and the preamble tasks stop.
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

fn fresh_inner() -> ListenerInner {
    ListenerInner {
        machine: ListenerStateMachine::new(),
        url: None,
        local_url: None,
        local_addr: None,
        socket_path: None,
        queue: None,
        accepts: CancellationToken::new(),
        shutdown: CancellationToken::new(),
        tasks: TaskTracker::new(),
    }
}

/// A net.tcp (or Unix-socket) listener: `open`, then `accept_channel` in a loop, then
/// `close`. Accepted channels live on independently of the listener. Dropping an open
/// listener aborts it.
pub struct SessionListener {
    properties: ListenerProperties,
    inner: Mutex<ListenerInner>,
    accepting: crate::core::AcceptCount,
    connections: Arc<AtomicUsize>,
}

impl std::fmt::Debug for SessionListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionListener")
            .field("state", &self.state())
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl Drop for SessionListener {
    fn drop(&mut self) {
        self.abort();
        let path = self.with(|s| s.socket_path.take());
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl SessionListener {
    /// A new listener in state `Created` (`WsCreateListener` with `WS_TCP_CHANNEL_BINDING`).
    /// Its channels get `properties.channel`; use [`ChannelProperties::session`] there for
    /// the binding's defaults.
    ///
    /// [`ChannelProperties::session`]: soapwire_proto::properties::ChannelProperties::session
    pub fn new(properties: ListenerProperties) -> SessionListener {
        SessionListener {
            properties,
            inner: Mutex::new(fresh_inner()),
            accepting: crate::core::AcceptCount::default(),
            connections: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut ListenerInner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// The listener's properties.
    pub fn properties(&self) -> &ListenerProperties {
        &self.properties
    }

    /// The listener state.
    pub fn state(&self) -> ListenerState {
        self.with(|s| s.machine.state())
    }

    /// The URL the listener serves, with the real port once open (useful after port 0).
    pub fn url(&self) -> Option<String> {
        self.with(|s| s.local_url.clone())
    }

    /// The bound TCP address, once open (none for a Unix socket).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.with(|s| s.local_addr)
    }

    /// Connections open now: in their preamble, queued, or accepted into a channel.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// `WsOpenListener`: binds `net.tcp://host:port/path` (a literal address, or a name;
    /// `+` and `*` mean every address) or `net.unix:///socket/path`, and starts accepting.
    /// Channels are matched by path prefix. A Unix socket file left behind by a dead
    /// process is replaced; one that still answers is `WS_E_ADDRESS_IN_USE`.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.with(|s| s.machine.open_started())?;
        let outcome = self.bind_and_serve(url).await;
        self.with(|s| s.machine.open_completed(outcome))
    }

    async fn bind_and_serve(&self, url: &str) -> Result<()> {
        let parsed = SessionUrl::parse(url)?;
        codec::known_encoding(&self.properties.channel)?;
        let (tx, rx) = mpsc::channel(self.properties.max_pending_requests.max(1));
        let socket = match &parsed.endpoint {
            Endpoint::Tcp { host, port } => {
                let host = if host == "+" || host == "*" { "0.0.0.0" } else { host.as_str() };
                let tcp = tokio::net::TcpListener::bind((host, *port))
                    .await
                    .map_err(|e| io_error(e, &format!("binding {host}:{port}")))?;
                let local = tcp.local_addr().map_err(|e| io_error(e, "reading the bound address"))?;
                let local_url = parsed.to_url_with_port(local.port());
                self.with(|s| {
                    s.local_addr = Some(local);
                    s.local_url = Some(local_url);
                });
                Socket::Tcp(tcp)
            }
            Endpoint::Unix { path } => {
                let unix = bind_unix(path).await?;
                self.with(|s| {
                    s.socket_path = Some(path.clone());
                    s.local_url = Some(parsed.to_url_with_port(0));
                });
                Socket::Unix(unix)
            }
        };
        let (shutdown, tasks) = self.with(|s| {
            s.url = Some(parsed.clone());
            s.queue = Some(Arc::new(tokio::sync::Mutex::new(rx)));
            (s.shutdown.clone(), s.tasks.clone())
        });
        let accept_loop = AcceptLoop {
            rate: self.properties.accept_rate_per_ip.map(soapwire_proto::properties::AcceptRateLimiter::new),
            socket,
            context: Arc::new(PreambleContext { url: parsed, properties: self.properties.clone(), queue: tx }),
            connections: self.connections.clone(),
            shutdown,
            tasks: tasks.clone(),
        };
        tasks.spawn(accept_loop.run());
        Ok(())
    }

    /// `WsAcceptChannel`: waits for the next session whose preamble succeeded and opens
    /// `channel` with it (`Created → Accepting → Open`). Fails immediately with
    /// `WS_E_OBJECT_FAULTED` on an aborted listener; a pending accept ends with
    /// `WS_E_OPERATION_ABORTED` when the listener or the channel is aborted or the listener
    /// closed. More than `max_accepting_channels` accepts at once is `WS_E_QUOTA_EXCEEDED`.
    pub async fn accept_channel(&self, channel: &SessionChannel) -> Result<()> {
        let (queue, accepts) = self.with(|s| {
            s.machine.check_accept()?;
            Ok::<_, Error>((s.queue.clone(), s.accepts.clone()))
        })?;
        let queue = queue.ok_or_else(|| Error::invalid_operation("the listener is not open"))?;
        let _turn = self.accepting.enter(self.properties.max_accepting_channels)?;
        accept_into(channel, queue, accepts).await
    }

    /// `WsAbortListener`: allowed in every state, never waits. Pending accepts end with
    /// `WS_E_OPERATION_ABORTED`, later accepts fail with `WS_E_OBJECT_FAULTED`; connections
    /// in their preamble or queued are dropped. `Open → Faulted`. The listening socket is
    /// closed by the accept task at its next turn; [`SessionListener::close`] waits for it.
    pub fn abort(&self) {
        self.with(|s| {
            s.machine.abort();
            s.accepts.cancel();
            s.shutdown.cancel();
            s.tasks.close();
        });
    }

    /// `WsCloseListener`: stops accepting, aborts pending accepts, drops the sessions not
    /// yet accepted and waits for the preamble tasks to stop. Accepted channels are not
    /// affected. `WS_E_OPERATION_ABORTED` if aborted while closing.
    pub async fn close(&self) -> Result<()> {
        let (queue, tasks, path) = self.with(|s| {
            s.machine.close_started()?;
            s.accepts.cancel();
            s.shutdown.cancel();
            s.tasks.close();
            Ok::<_, Error>((s.queue.take(), s.tasks.clone(), s.socket_path.take()))
        })?;
        if let Some(queue) = queue {
            let mut rx = queue.lock().await;
            rx.close();
            while let Ok(session) = rx.try_recv() {
                drop(session);
            }
        }
        tasks.wait().await;
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
        self.with(|s| s.machine.close_completed(Ok(())))
    }

    /// `WsResetListener`: `Created | Closed → Created`, ready to open again.
    pub fn reset(&self) -> Result<()> {
        self.with(|s| {
            s.machine.reset()?;
            let machine = std::mem::replace(&mut s.machine, ListenerStateMachine::new());
            *s = fresh_inner();
            s.machine = machine;
            Ok(())
        })
    }
}

async fn accept_into(channel: &SessionChannel, queue: Queue, accepts: CancellationToken) -> Result<()> {
    channel.core().accept_started()?;
    let channel_cancel = channel.core().cancel_token();
    let aborted = || Error::aborted("the accept was aborted: the listener or the channel was aborted or closed");
    let waiting = async { queue.lock().await.recv().await.ok_or_else(aborted) };
    let outcome = tokio::select! {
        biased;
        _ = accepts.cancelled() => Err(aborted()),
        _ = channel_cancel.cancelled() => Err(aborted()),
        r = waiting => r,
    };
    match outcome {
        Ok(session) => {
            channel.install(session);
            channel.core().open_completed(Ok(()))
        }
        Err(e) => channel.core().open_completed(Err(e)),
    }
}

/// Binds a Unix socket, replacing a stale socket file (one nobody answers on).
async fn bind_unix(path: &std::path::Path) -> Result<tokio::net::UnixListener> {
    match tokio::net::UnixListener::bind(path) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(Error::new(
                    ErrorKind::AddressInUse,
                    format!("{} is served by another process", path.display()),
                ));
            }
            std::fs::remove_file(path)
                .map_err(|e| io_error(e, &format!("removing the stale socket {}", path.display())))?;
            tokio::net::UnixListener::bind(path).map_err(|e| io_error(e, &format!("binding {}", path.display())))
        }
        Err(e) => Err(io_error(e, &format!("binding {}", path.display()))),
    }
}

enum Socket {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

impl Socket {
    async fn accept(&self) -> std::io::Result<(SessionStream, Option<String>)> {
        match self {
            Socket::Tcp(l) => l.accept().await.map(|(s, a)| (SessionStream::Tcp(s), Some(a.to_string()))),
            Socket::Unix(l) => l.accept().await.map(|(s, _)| (SessionStream::Unix(s), None)),
        }
    }
}

/// What the preamble tasks need (kept apart from the listener so that tasks do not keep
/// the listener object alive).
struct PreambleContext {
    url: SessionUrl,
    properties: ListenerProperties,
    queue: mpsc::Sender<Established>,
}

struct AcceptLoop {
    socket: Socket,
    rate: Option<soapwire_proto::properties::AcceptRateLimiter>,
    context: Arc<PreambleContext>,
    connections: Arc<AtomicUsize>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl AcceptLoop {
    async fn run(mut self) {
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = self.socket.accept() => r,
            };
            let (stream, remote, remote_ip) = match accepted {
                Ok((stream, remote)) => {
                    let ip = match &stream {
                        SessionStream::Tcp(s) => s.peer_addr().ok().map(|a| a.ip()),
                        SessionStream::Unix(_) => None,
                    };
                    (stream, remote, ip)
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let (Some(limiter), Some(ip)) = (&mut self.rate, remote_ip) {
                if !limiter.allow(ip, std::time::Instant::now()) {
                    tracing::debug!("refusing {ip}: over the per-IP accept rate");
                    drop(stream);
                    continue;
                }
            }
            let max = self.context.properties.max_connections;
            if self.connections.fetch_add(1, Ordering::AcqRel) >= max {
                self.connections.fetch_sub(1, Ordering::AcqRel);
                tracing::warn!("refusing a connection: max_connections ({max}) reached");
                drop(stream);
                continue;
            }
            let slot = ConnectionSlot(self.connections.clone());
            if let SessionStream::Tcp(s) = &stream {
                stream::configure_tcp(s, &self.context.properties.channel);
            }
            let context = self.context.clone();
            let shutdown = self.shutdown.clone();
            self.tasks.spawn(async move {
                let timeout = context.properties.connect_timeout;
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    r = tokio::time::timeout(timeout, handshake(stream, remote.clone(), slot, &context)) => {
                        if r.is_err() {
                            tracing::debug!(
                                "dropping {}: the preamble did not complete within {} ms",
                                remote.as_deref().unwrap_or("a unix peer"),
                                timeout.as_millis()
                            );
                        }
                    }
                }
            });
        }
    }
}

/// Runs the responder's preamble on one connection and queues the session, or answers
/// with the framing fault that says why it cannot be served.
async fn handshake(stream: SessionStream, remote: Option<String>, slot: ConnectionSlot, context: &PreambleContext) {
    let channel_properties = &context.properties.channel;
    let (read, write, reset) = stream::split(stream);
    let mut reader = Reader::new(read, BytesMut::new(), channel_properties, codec::Decoder::Text);
    let mut write = write;
    let mut preamble = ResponderPreamble::new();
    let info: PreambleInfo = loop {
        let record = match reader.next_record().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("preamble from {remote:?} failed: {}", e.error);
                if let Some(fault) = e.fault {
                    refuse(reader, write, fault).await;
                }
                return;
            }
        };
        match preamble.on_record(record) {
            PreambleStep::Continue => {}
            PreambleStep::Complete(info) => break info,
            PreambleStep::Reject { fault, error } => {
                tracing::debug!("refusing the session from {remote:?}: {error}");
                if let Some(fault) = fault {
                    refuse(reader, write, fault).await;
                }
                return;
            }
        }
    };
    let served = via_path(&info.via).is_some_and(|path| context.url.serves_path(&path));
    if !served {
        tracing::debug!("refusing the session from {remote:?}: no endpoint at {}", info.via);
        return refuse(reader, write, nmf::faults::ENDPOINT_NOT_FOUND).await;
    }
    let encoding = match info.encoding {
        Encoding::Known(k) if codec::accepts(channel_properties, k) => k,
        other => {
            tracing::debug!("refusing the session from {remote:?}: encoding {other:?} is not this listener's");
            return refuse(reader, write, nmf::faults::CONTENT_TYPE_INVALID).await;
        }
    };
    let mut ack = Vec::with_capacity(1);
    nmf::encode(&Record::PreambleAck, &mut ack);
    if write.write_all(&ack).await.is_err() || write.flush().await.is_err() {
        return;
    }
    let (encoder, decoder) = codec::codecs(encoding, channel_properties.max_session_dictionary_size);
    reader.decoder = decoder;
    let session = Established {
        reader,
        writer: Writer { io: write, encoder },
        reset,
        role: Role::Responder,
        via: info.via,
        remote,
        slot: Some(slot),
    };
    if let Err(mpsc::error::TrySendError::Full(session)) = context.queue.try_send(session) {
        tracing::warn!("refusing a session: {} sessions wait to be accepted", context.properties.max_pending_requests);
        let Established { reader, writer, .. } = session;
        refuse(reader, writer.io, nmf::faults::SERVER_TOO_BUSY).await;
    }
}

/// Sends a framing fault, ends our side, and reads (and discards) what the initiator still
/// sends for a moment, so that the fault is not destroyed by a reset caused by unread
/// pipelined bytes.
async fn refuse(mut reader: Reader, mut write: stream::WriteSide, fault: &'static str) {
    let mut out = Vec::with_capacity(fault.len() + 8);
    nmf::encode(&Record::Fault(fault.to_owned()), &mut out);
    if write.write_all(&out).await.is_err() || write.flush().await.is_err() {
        return;
    }
    let _ = write.shutdown().await;
    let drain = async {
        let mut scratch = vec![0u8; 16 * 1024];
        let mut total = 0usize;
        while total < 1024 * 1024 {
            match reader.io.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}
