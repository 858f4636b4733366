//! [`Listener`]: the server side of the HTTP binding (`WS_LISTENER` on
//! `WS_HTTP_CHANNEL_BINDING`).
//!
//! The listener binds a TCP socket, runs one hyper HTTP/1.1 connection task per client, and
//! queues each SOAP request (path and media type already checked) until the application
//! accepts it into a [`ReplyChannel`]. Every resource a client can make it hold is bounded
//! by a [`ListenerProperties`] value: connections, queued requests, accepting and open
//! channels, the request header block, and the time to send it.
//!
//! ```no_run
//! # async fn demo() -> soapwire::Result<()> {
//! use soapwire::{Listener, ListenerProperties, ReplyChannel};
//!
//! let listener = Listener::new(ListenerProperties::default());
//! listener.open("http://127.0.0.1:0/echo").await?;
//! println!("listening on {}", listener.url().unwrap());
//! let channel = ReplyChannel::new(&listener);
//! listener.accept_channel(&channel).await?;
//! // ... receive_message, send_reply, close
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use soapwire_proto::channel::{ListenerState, ListenerStateMachine};
use soapwire_proto::mime::MultipartType;
use soapwire_proto::mtom::MtomContentType;
use soapwire_proto::properties::ListenerProperties;
use soapwire_proto::soap::{self, EnvelopeVersion};
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::body::{OutBody, TrackedBody};
use super::monitor::{ConnectionMonitor, MonitoredIo};
use super::{EndpointUrl, io_error};
use crate::http::reply::ReplyChannel;

/// What the reply channel hands back to the connection task for one request.
pub(crate) enum Reply {
    /// Send this response.
    Response(Response<TrackedBody>),
    /// Drop the connection without a response (rude close / abort).
    Drop,
}

/// One received request waiting to be accepted.
pub(crate) struct Exchange {
    pub(crate) request: Request<Incoming>,
    pub(crate) version: EnvelopeVersion,
    pub(crate) action: Option<String>,
    /// The multipart parameters of an MTOM request.
    pub(crate) mtom: Option<MultipartType>,
    pub(crate) respond: oneshot::Sender<Reply>,
    pub(crate) monitor: Arc<ConnectionMonitor>,
    pub(crate) remote: SocketAddr,
}

/// What the connection tasks need (kept apart from the listener so tasks do not keep the
/// listener object alive).
struct ServiceContext {
    path: String,
    url: String,
    queue: mpsc::Sender<Exchange>,
    wsdl: Option<Arc<str>>,
    /// Service-host mode: the handler that runs each request inside its connection.
    handler: Option<Handler>,
    /// What a channel created in service-host mode gets (as `ReplyChannel::new` would).
    properties: ListenerProperties,
    open_channels: Arc<Semaphore>,
}

/// A request handler of the service-host mode ([`Listener::set_handler`]).
type Handler = Arc<dyn Fn(ReplyChannel) -> HandlerFuture + Send + Sync>;

type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<Exchange>>>;

struct ListenerInner {
    machine: ListenerStateMachine,
    url: Option<EndpointUrl>,
    local_addr: Option<SocketAddr>,
    queue: Option<Queue>,
    /// Cancelled by abort and close: pending accepts end with `WS_E_OPERATION_ABORTED`.
    accepts: CancellationToken,
    /// Cancelled by close: the accept loop stops, connections finish their current exchange.
    shutdown: CancellationToken,
    /// Cancelled by abort or after the close grace period: every connection is dropped.
    kill: CancellationToken,
    tasks: TaskTracker,
}

/// An HTTP listener: `open`, then `accept_channel` in a loop, then `close`.
/// Dropping an open listener aborts it.
pub struct Listener {
    properties: ListenerProperties,
    inner: Mutex<ListenerInner>,
    open_channels: Arc<Semaphore>,
    accepting: crate::core::AcceptCount,
    connections: Arc<AtomicUsize>,
    wsdl: Mutex<Option<Arc<str>>>,
    handler: Mutex<Option<Handler>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").field("state", &self.state()).field("url", &self.url()).finish_non_exhaustive()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.abort();
    }
}

fn fresh_inner() -> ListenerInner {
    ListenerInner {
        machine: ListenerStateMachine::new(),
        url: None,
        local_addr: None,
        queue: None,
        accepts: CancellationToken::new(),
        shutdown: CancellationToken::new(),
        kill: CancellationToken::new(),
        tasks: TaskTracker::new(),
    }
}

impl Listener {
    /// A new listener in state `Created` (`WsCreateListener`).
    pub fn new(properties: ListenerProperties) -> Listener {
        let open = properties.max_open_channels.max(1);
        Listener {
            properties,
            inner: Mutex::new(fresh_inner()),
            open_channels: Arc::new(Semaphore::new(open)),
            accepting: crate::core::AcceptCount::default(),
            connections: Arc::new(AtomicUsize::new(0)),
            wsdl: Mutex::new(None),
            handler: Mutex::new(None),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ListenerInner) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// The listener's properties.
    pub fn properties(&self) -> &ListenerProperties {
        &self.properties
    }

    /// A snapshot of the listener's state.
    pub fn state(&self) -> ListenerState {
        self.with(|s| s.machine.state())
    }

    /// The URL the listener serves, with the real port when it was opened with port 0.
    pub fn url(&self) -> Option<String> {
        self.with(|s| {
            let url = s.url.as_ref()?;
            let addr = s.local_addr?;
            let host = if addr.is_ipv6() { format!("[{}]", addr.ip()) } else { addr.ip().to_string() };
            Some(format!("http://{host}:{}{}", addr.port(), url.path_and_query))
        })
    }

    /// The local socket address, once open.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.with(|s| s.local_addr)
    }

    /// Serve this WSDL document for `GET <path>?wsdl` (like WCF's metadata endpoint). Every
    /// `soap:address` / `soap12:address` `location` is rewritten to the listener's real URL.
    /// Takes effect at the next `open`.
    pub fn set_wsdl(&self, wsdl: impl Into<Arc<str>>) {
        *self.wsdl.lock().unwrap_or_else(|p| p.into_inner()) = Some(wsdl.into());
    }

    /// Service-host mode (WWSAPI's `WsCreateServiceHost` rather than the channel model): every
    /// request is handed to `handler` as an accepted, open [`ReplyChannel`], and the handler
    /// runs *inside the connection that received the request* until it has sent its reply.
    /// There is no accept queue, no accept loop and no task hand-off on the way in or out,
    /// which is what a request/reply service pays for most on a small machine; the rest of
    /// the handler (typically `close`, which waits for the reply to be flushed) continues
    /// beside the connection, in the same task. The channel behaves exactly as one from
    /// [`accept_channel`]: same states, quotas, timeouts and close semantics;
    /// `max_open_channels` bounds handlers in flight (a request over it gets 503).
    ///
    /// Set it before [`open`](Self::open); `accept_channel` then finds nothing to accept.
    ///
    /// ```no_run
    /// # async fn demo() -> soapwire::Result<()> {
    /// use soapwire::{Listener, ListenerProperties, ReplyChannel};
    ///
    /// let listener = Listener::new(ListenerProperties::default());
    /// listener.set_handler(|channel: ReplyChannel| async move {
    ///     let mut request = channel.new_message();
    ///     if channel.receive_message(&mut request).await.is_ok() {
    ///         let mut reply = channel.new_message();
    ///         if reply.initialize_reply(&request, "urn:done", "<done xmlns='urn:x'/>").is_ok() {
    ///             let _ = channel.send_reply(&mut reply).await;
    ///         }
    ///     }
    ///     let _ = channel.close().await;
    /// });
    /// listener.open("http://127.0.0.1:8080/svc").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// [`accept_channel`]: Self::accept_channel
    pub fn set_handler<H, Fut>(&self, handler: H)
    where
        H: Fn(ReplyChannel) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |channel| Box::pin(handler(channel)));
        *self.handler.lock().unwrap_or_else(|p| p.into_inner()) = Some(handler);
    }

    /// `WsOpenListener`: binds `http://host:port/path` (`host` an IP literal or a name;
    /// port 0 picks a free port). Errors: `WS_E_ADDRESS_IN_USE`, `WS_E_ADDRESS_NOT_AVAILABLE`,
    /// `WS_E_INVALID_ENDPOINT_URL`.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.with(|s| s.machine.open_started())?;
        let outcome = self.bind_and_serve(url).await;
        self.with(|s| s.machine.open_completed(outcome))
    }

    async fn bind_and_serve(&self, url: &str) -> Result<()> {
        if self.properties.channel.encoding.is_binary() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "binary XML encodings need a session binding (net.tcp)",
            ));
        }
        let parsed = EndpointUrl::parse(url)?;
        if parsed.path_and_query.contains('?') {
            return Err(Error::new(ErrorKind::InvalidEndpointUrl, "a listener URL has no query"));
        }
        let bound = match self.properties.reuse_port {
            false => tokio::net::TcpListener::bind((parsed.host.as_str(), parsed.port)).await,
            true => bind_reuse_port(&parsed.host, parsed.port).await,
        };
        let tcp = bound.map_err(|e| io_error(e, &format!("binding {}:{}", parsed.host, parsed.port)))?;
        let local = tcp.local_addr().map_err(|e| io_error(e, "reading the bound address"))?;
        let (tx, rx) = mpsc::channel(self.properties.max_pending_requests.max(1));
        let wsdl = self.wsdl.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (shutdown, kill, tasks) = self.with(|s| {
            s.url = Some(parsed.clone());
            s.local_addr = Some(local);
            s.queue = Some(Arc::new(tokio::sync::Mutex::new(rx)));
            (s.shutdown.clone(), s.kill.clone(), s.tasks.clone())
        });
        let real_url = self.url().unwrap_or_default();
        let context = Arc::new(ServiceContext {
            path: parsed.path().to_owned(),
            wsdl: wsdl.map(|w| Arc::from(rewrite_wsdl_address(&w, &real_url))),
            url: real_url,
            queue: tx,
            handler: self.handler.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            properties: self.properties.clone(),
            open_channels: self.open_channels.clone(),
        });
        let accept_loop = AcceptLoop {
            tcp,
            rate: self.properties.accept_rate_per_ip.map(soapwire_proto::properties::AcceptRateLimiter::new),
            context,
            properties: self.properties.clone(),
            connections: self.connections.clone(),
            shutdown,
            kill,
            tasks: tasks.clone(),
        };
        tasks.spawn(accept_loop.run());
        Ok(())
    }

    /// `WsAcceptChannel`: waits for the next request and opens `channel` with it
    /// (`Created → Accepting → Open`). Fails immediately with `WS_E_OBJECT_FAULTED` on an
    /// aborted listener; a pending accept ends with `WS_E_OPERATION_ABORTED` when the
    /// listener or the channel is aborted or the listener closed. Waits while
    /// `max_open_channels` accepted channels are open.
    pub async fn accept_channel(&self, channel: &ReplyChannel) -> Result<()> {
        let (queue, accepts) = self.with(|s| {
            s.machine.check_accept()?;
            Ok::<_, Error>((s.queue.clone(), s.accepts.clone()))
        })?;
        let queue = queue.ok_or_else(|| Error::invalid_operation("the listener is not open"))?;
        let _turn = self.accepting.enter(self.properties.max_accepting_channels)?;
        self.accept_into(channel, queue, accepts).await
    }

    async fn accept_into(&self, channel: &ReplyChannel, queue: Queue, accepts: CancellationToken) -> Result<()> {
        channel.core().accept_started()?;
        let channel_cancel = channel.core().cancel_token();
        let aborted = || Error::aborted("the accept was aborted: the listener or the channel was aborted or closed");
        let waiting = async {
            let permit: OwnedSemaphorePermit =
                self.open_channels.clone().acquire_owned().await.map_err(|_| aborted())?;
            let exchange = queue.lock().await.recv().await.ok_or_else(aborted)?;
            Ok::<_, Error>((permit, exchange))
        };
        let outcome = tokio::select! {
            biased;
            _ = accepts.cancelled() => Err(aborted()),
            _ = channel_cancel.cancelled() => Err(aborted()),
            r = waiting => r,
        };
        match outcome {
            Ok((permit, exchange)) => {
                channel.install(exchange, permit);
                channel.core().open_completed(Ok(()))
            }
            Err(e) => channel.core().open_completed(Err(e)),
        }
    }

    /// `WsAbortListener`: allowed in every state, never waits. Pending accepts end with
    /// `WS_E_OPERATION_ABORTED`, later accepts fail with `WS_E_OBJECT_FAULTED`, every
    /// connection is dropped. `Open → Faulted`.
    pub fn abort(&self) {
        self.with(|s| {
            s.machine.abort();
            s.accepts.cancel();
            s.shutdown.cancel();
            s.kill.cancel();
            s.tasks.close();
        });
    }

    /// `WsCloseListener`: allowed in `Open` or `Faulted`. Stops accepting connections, aborts
    /// pending accepts, answers queued-but-unaccepted requests with 503, lets connections
    /// finish the response they are writing within the listener close timeout (5 s by
    /// default), then drops them. `WS_E_OPERATION_ABORTED` if aborted while closing.
    pub async fn close(&self) -> Result<()> {
        let (queue, tasks, kill) = self.with(|s| {
            s.machine.close_started()?;
            s.accepts.cancel();
            s.shutdown.cancel();
            s.tasks.close();
            Ok::<_, Error>((s.queue.take(), s.tasks.clone(), s.kill.clone()))
        })?;
        if let Some(queue) = queue {
            let mut rx = queue.lock().await;
            rx.close();
            while let Ok(exchange) = rx.try_recv() {
                let _ = exchange
                    .respond
                    .send(Reply::Response(plain(StatusCode::SERVICE_UNAVAILABLE, "the listener closed")));
            }
        }
        let grace = self.properties.close_timeout;
        let outcome = tokio::select! {
            _ = tasks.wait() => Ok(()),
            _ = kill.cancelled() => Ok(()),
            _ = tokio::time::sleep(grace) => Ok(()),
        };
        kill.cancel();
        tasks.wait().await;
        self.with(|s| s.machine.close_completed(outcome))
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

/// Binds `host:port` with `SO_REUSEPORT` ([`ListenerProperties::reuse_port`]), with the
/// backlog tokio's own `bind` uses.
async fn bind_reuse_port(host: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "the host name has no address");
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        match socket.bind(&addr.into()).and_then(|()| socket.listen(1024)) {
            Ok(()) => return tokio::net::TcpListener::from_std(socket.into()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

struct AcceptLoop {
    tcp: tokio::net::TcpListener,
    rate: Option<soapwire_proto::properties::AcceptRateLimiter>,
    context: Arc<ServiceContext>,
    properties: ListenerProperties,
    connections: Arc<AtomicUsize>,
    shutdown: CancellationToken,
    kill: CancellationToken,
    tasks: TaskTracker,
}

impl AcceptLoop {
    async fn run(mut self) {
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = self.tcp.accept() => r,
            };
            let (stream, remote) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            if self.connections.load(Ordering::Acquire) >= self.properties.max_connections {
                tracing::warn!("refusing {remote}: max_connections ({}) reached", self.properties.max_connections);
                drop(stream);
                continue;
            }
            if let Some(limiter) = &mut self.rate {
                if !limiter.allow(remote.ip(), std::time::Instant::now()) {
                    tracing::debug!("refusing {remote}: over the per-IP accept rate");
                    drop(stream);
                    continue;
                }
            }
            let _ = stream.set_nodelay(self.properties.channel.no_delay);
            self.connections.fetch_add(1, Ordering::AcqRel);
            let slot = ConnectionSlot(self.connections.clone());
            let task = serve_connection(
                stream,
                remote,
                self.context.clone(),
                self.properties.clone(),
                self.shutdown.clone(),
                self.kill.clone(),
                slot,
            );
            self.tasks.spawn(task);
        }
    }
}

/// One connection counted against `max_connections`, until dropped.
struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    context: Arc<ServiceContext>,
    properties: ListenerProperties,
    shutdown: CancellationToken,
    kill: CancellationToken,
    slot: ConnectionSlot,
) {
    let monitor = Arc::new(ConnectionMonitor::default());
    let io = TokioIo::new(MonitoredIo::new(stream, monitor.clone()));
    let svc_monitor = monitor.clone();
    let leftovers = Arc::new(Leftovers::default());
    let svc_leftovers = leftovers.clone();
    let service =
        service_fn(move |request| handle(request, context.clone(), svc_monitor.clone(), remote, svc_leftovers.clone()));
    let mut builder = hyper::server::conn::http1::Builder::new();
    // half_close: a client may shut its write side down once its request is sent and still
    // get the reply; without it hyper takes that EOF, when it reads it while the request is
    // being served, for a dropped connection and cancels the exchange.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(properties.header_read_timeout)
        .max_buf_size(properties.channel.max_http_request_headers_buffer_size.max(8192))
        .keep_alive(true)
        .half_close(true);
    let mut running = Vec::new();
    {
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        // The connection and the handlers' leftovers, polled together in this task. A
        // leftover is only ever queued while the connection is polled (by a handler running
        // in it), so polling them again right after it starts new ones at once, without a
        // wake-up (which would cost hyper a spurious read of the socket).
        let mut serve = |cx: &mut std::task::Context<'_>, connection: Pin<&mut _>| {
            leftovers.poll_running(&mut running, cx);
            let polled = Future::poll(connection, cx);
            leftovers.poll_running(&mut running, cx);
            polled
        };
        tokio::select! {
            r = std::future::poll_fn(|cx| serve(cx, connection.as_mut())) => {
                if let Err(e) = r {
                    tracing::debug!("connection from {remote} ended: {e}");
                }
            }
            _ = shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                tokio::select! {
                    _ = std::future::poll_fn(|cx| serve(cx, connection.as_mut())) => {}
                    _ = kill.cancelled() => {}
                }
            }
            _ = kill.cancelled() => {}
        }
        // The connection, and its socket, are dropped here: leftovers still running must
        // not keep the descriptor open.
    }
    monitor.mark_closed();
    drop(slot);
    // What is left of the handlers (a close waiting for a flush that can no longer come
    // ends now that the connection is marked closed); a killed listener drops them.
    tokio::select! {
        () = std::future::poll_fn(|cx| match leftovers.poll_running(&mut running, cx) {
            true => std::task::Poll::Ready(()),
            false => std::task::Poll::Pending,
        }) => {}
        _ = kill.cancelled() => {}
    }
}

/// The rest of service-host handlers whose reply is already on its way (typically their
/// `close`, which waits until this connection has flushed the reply). They run in the
/// connection's own task, polled beside it, rather than in a task each: no spawn, no
/// cross-thread wake-up per request.
#[derive(Default)]
struct Leftovers {
    queued: Mutex<Vec<HandlerFuture>>,
}

type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Leftovers {
    /// Hands a handler's remaining work to the connection task. Called from inside the
    /// connection's poll, which polls the leftovers again when it returns.
    fn push(&self, work: HandlerFuture) {
        self.queued.lock().unwrap_or_else(|p| p.into_inner()).push(work);
    }

    /// Moves newly queued work into `running` and polls all of it; true when none is left.
    fn poll_running(&self, running: &mut Vec<HandlerFuture>, cx: &mut std::task::Context<'_>) -> bool {
        running.append(&mut self.queued.lock().unwrap_or_else(|p| p.into_inner()));
        running.retain_mut(|work| work.as_mut().poll(cx).is_pending());
        running.is_empty()
    }
}

/// A response with a short text body (not a SOAP message).
fn plain(status: StatusCode, text: &'static str) -> Response<TrackedBody> {
    let mut r = Response::new(TrackedBody::untracked(OutBody::full(Bytes::from_static(text.as_bytes()))));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

type ServiceError = Box<dyn std::error::Error + Send + Sync>;

async fn handle(
    request: Request<Incoming>,
    context: Arc<ServiceContext>,
    monitor: Arc<ConnectionMonitor>,
    remote: SocketAddr,
    leftovers: Arc<Leftovers>,
) -> std::result::Result<Response<TrackedBody>, ServiceError> {
    let wants_wsdl = request.uri().query().is_some_and(|q| q.eq_ignore_ascii_case("wsdl"));
    if request.method() == Method::GET && wants_wsdl {
        if let Some(wsdl) = &context.wsdl {
            let mut r = Response::new(TrackedBody::untracked(OutBody::full(Bytes::from(wsdl.as_bytes().to_vec()))));
            r.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("text/xml; charset=utf-8"));
            return Ok(r);
        }
        return Ok(plain(StatusCode::NOT_FOUND, "no WSDL is published at this address"));
    }
    if request.uri().path() != context.path {
        return Ok(plain(StatusCode::NOT_FOUND, "no endpoint at this path"));
    }
    if request.method() != Method::POST {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "SOAP requests use POST");
        r.headers_mut().insert(header::ALLOW, http::HeaderValue::from_static("POST"));
        return Ok(r);
    }
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let soap_action = request.headers().get("SOAPAction").and_then(|v| v.to_str().ok());
    let parsed = if MtomContentType::is_multipart(content_type) {
        MtomContentType::parse(content_type, soap_action).map(|m| (m.version, m.action, Some(m.multipart)))
    } else {
        soap::parse_content_type(content_type, soap_action).map(|(v, a)| (v, a, None))
    };
    let (version, action, mtom) = match parsed {
        Ok(x) => x,
        Err(_) => return Ok(plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported Content-Type for a SOAP message")),
    };
    let (tx, rx) = oneshot::channel();
    let exchange = Exchange { request, version, action, mtom, respond: tx, monitor, remote };
    if let Some(handler) = &context.handler {
        return host(handler, exchange, rx, &context, &leftovers).await;
    }
    if context.queue.try_send(exchange).is_err() {
        tracing::warn!("{}: request from {remote} refused: the accept queue is full", context.url);
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "too many requests are waiting to be accepted"));
    }
    match rx.await {
        Ok(Reply::Response(r)) => Ok(r),
        Ok(Reply::Drop) | Err(_) => Err("the channel was closed without a response".into()),
    }
}

/// Service-host mode: runs the handler on `exchange` in this connection's task until the
/// reply is handed over, then hands the rest of it (close) to the connection's
/// [`Leftovers`], still in this task.
async fn host(
    handler: &Handler,
    exchange: Exchange,
    mut reply: oneshot::Receiver<Reply>,
    context: &ServiceContext,
    leftovers: &Leftovers,
) -> std::result::Result<Response<TrackedBody>, ServiceError> {
    let Ok(permit) = context.open_channels.clone().try_acquire_owned() else {
        tracing::warn!("{}: request from {} refused: max_open_channels reached", context.url, exchange.remote);
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "too many requests are being served"));
    };
    let channel = ReplyChannel::for_listener_properties(&context.properties);
    channel.core().accept_started().map_err(|e| e.to_string())?;
    channel.install(exchange, permit);
    channel.core().open_completed(Ok(())).map_err(|e| e.to_string())?;
    let mut work = handler(channel);
    let outcome = tokio::select! {
        biased;
        () = &mut work => reply.await,
        r = &mut reply => {
            // The reply is on its way; what is left of the handler (its close waits for
            // the flush this connection is about to do) must not hold the response back.
            leftovers.push(work);
            r
        }
    };
    match outcome {
        Ok(Reply::Response(r)) => Ok(r),
        Ok(Reply::Drop) | Err(_) => Err("the channel was closed without a response".into()),
    }
}

/// Rewrites every `location="..."` of a `soap:address`/`soap12:address` element to `url`.
fn rewrite_wsdl_address(wsdl: &str, url: &str) -> String {
    let mut out = String::with_capacity(wsdl.len() + 64);
    let mut rest = wsdl;
    while let Some(i) = rest.find("address location=\"") {
        let start = i + "address location=\"".len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        match rest.find('"') {
            Some(end) => {
                out.push_str(url);
                rest = &rest[end..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Exchange>();
    let _: Option<Infallible> = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsdl_addresses_are_rewritten() {
        let w = r#"<soap:address location="http://127.0.0.1:18081/"/><soap12:address location="http://x/"/>"#;
        let r = rewrite_wsdl_address(w, "http://127.0.0.1:5/echo");
        assert_eq!(
            r,
            r#"<soap:address location="http://127.0.0.1:5/echo"/><soap12:address location="http://127.0.0.1:5/echo"/>"#
        );
    }
}
