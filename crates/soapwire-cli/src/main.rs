//! The `soapwire` command line: serve the echo service, call any SOAP endpoint, find and host
//! DPWS devices and read their metadata, run the demo.

mod demo;
mod discover;
mod echo;
mod host;
mod json;
mod metadata;
mod transfer;

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use soapwire::{
    AddressingVersion, ChannelProperties, EnvelopeVersion, ErrorKind, ListenerProperties, Message, MessageEncoding,
    RequestChannel, Timeout,
};

#[derive(Parser)]
#[command(name = "soapwire", version, about = "SOAP / WS-* over HTTP with the Windows Web Services API semantics")]
struct Cli {
    /// Log filter (like RUST_LOG), e.g. `debug`.
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    /// Runtime worker threads: 0 = one per CPU (the default), 1 = a single-threaded runtime
    /// (no cross-thread wake-ups; best when a load generator shares a small machine).
    #[arg(long, global = true, default_value_t = 0)]
    worker_threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a test service.
    Serve {
        #[command(subcommand)]
        service: Service,
    },
    /// Send one message and print the reply's body.
    Call(CallArgs),
    /// The main job on loopback: host the echo service, call it over SOAP 1.1 and 1.2, show a
    /// fault, close everything gracefully.
    Demo,
    /// Find WS-Discovery target services (devices, hosts) on the local links: Probe, then
    /// Resolve the matches without XAddrs; a table (endpoint, types, XAddrs, interface) or JSON.
    Discover(discover::DiscoverArgs),
    /// Host a DPWS device for this machine until SIGINT or SIGTERM: Hello, answers to Probe and
    /// Resolve, the metadata over HTTP (port 5357), then Bye. With --computer, announce it as
    /// wsdd does (pub:Computer), so that Windows Explorer lists it.
    Host(host::HostArgs),
    /// Fetch a DPWS device's metadata (WS-Transfer Get; a urn:uuid: is resolved first) and print
    /// ThisDevice, ThisModel, the host (with its pub:Computer name) and the hosted services.
    Metadata(metadata::MetadataArgs),
}

#[derive(Subcommand)]
enum Service {
    /// The echo service of shared/peers/common/echo.wsdl (SOAP 1.1 and 1.2 on one endpoint).
    Echo {
        /// Where to listen (repeatable; port 0 picks a free port): http://127.0.0.1:8080/echo,
        /// net.tcp://127.0.0.1:8808/echo (.NET Message Framing, as WCF's NetTcpBinding),
        /// net.unix:///path/to/socket (the same framing on a Unix socket) or
        /// soap.udp://127.0.0.1:3703 (SOAP over UDP; replies go to the datagram's source).
        #[arg(long, default_value = "http://127.0.0.1:8080/echo")]
        listen: Vec<String>,
        /// The message encoding of the net.tcp and net.unix endpoints (a session that asks for
        /// another one is refused with the ContentTypeInvalid framing fault, as WCF does).
        #[arg(long, value_enum, default_value = "binary-session")]
        encoding: EncodingArg,
        /// Receive timeout for request bodies (and, on sessions, for the next message), in seconds.
        #[arg(long, default_value_t = 30.0)]
        receive_timeout: f64,
        /// How long an HTTP connection may take to send a request header block, and how long an
        /// idle keep-alive connection is kept, in seconds.
        #[arg(long, default_value_t = 30.0)]
        header_read_timeout: f64,
        /// How long a net.tcp / net.unix connection may take to complete its preamble, in seconds
        /// (WWSAPI's listener connect timeout).
        #[arg(long, default_value_t = 15.0)]
        connect_timeout: f64,
        /// max_buffered_message_size in bytes (the envelope; MTOM attachments are streamed).
        #[arg(long, default_value_t = 65536)]
        max_message_size: usize,
        /// The most TCP connections each HTTP and session listener holds at once, idle
        /// keep-alive connections and open sessions included (`ListenerProperties`
        /// max_connections); one more is closed right after accept. Each connection costs a
        /// file descriptor: raise `ulimit -n` with it.
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Answer echoData with MTOM even when the request was inline base64 (gSOAP's `-m`).
        #[arg(long)]
        mtom: bool,
        /// The largest echoData payload held in memory, in bytes (upload and download stream
        /// in constant memory whatever their size).
        #[arg(long, default_value_t = 256 * 1024 * 1024)]
        max_echo_bytes: usize,
        /// Serve HTTP thread-per-core: one single-threaded runtime per thread
        /// (`--worker-threads`, default one per CPU), each with its own listening socket on
        /// the same port (SO_REUSEPORT), the kernel spreading connections over them. No work
        /// stealing and no cross-thread wake-ups; a connection stays on its thread.
        #[arg(long)]
        thread_per_core: bool,
    },
}

/// The message encodings of the session bindings.
#[derive(Clone, Copy, ValueEnum)]
enum EncodingArg {
    /// .NET binary XML with the session dictionary (`application/soap+msbinsession1`,
    /// WCF's NetTcpBinding default).
    BinarySession,
    /// .NET binary XML, static dictionary only (`application/soap+msbin1`).
    Binary,
    /// UTF-8 text (`application/soap+xml`).
    Text,
}

impl EncodingArg {
    fn encoding(self) -> MessageEncoding {
        match self {
            EncodingArg::BinarySession => MessageEncoding::BinarySession,
            EncodingArg::Binary => MessageEncoding::Binary,
            EncodingArg::Text => MessageEncoding::TextUtf8,
        }
    }
}

/// True if `url` names a session endpoint (net.tcp or net.unix).
fn is_session_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("net.tcp://") || lower.starts_with("net.unix://")
}

#[derive(Clone, Copy, ValueEnum)]
enum AddressingArg {
    /// No WS-Addressing headers (transport addressing).
    None,
    /// WS-Addressing 2004/08.
    #[value(name = "0.9")]
    V09,
    /// WS-Addressing 1.0.
    #[value(name = "1.0")]
    V10,
}

#[derive(clap::Args)]
struct CallArgs {
    /// The endpoint, e.g. http://127.0.0.1:8080/echo, or soap.udp://host:port/path (SOAP over
    /// UDP: the reply is the first message whose RelatesTo names the request).
    url: String,
    /// The action (SOAPAction / action parameter / wsa:Action).
    #[arg(long)]
    action: String,
    /// Send SOAP 1.1.
    #[arg(long, conflicts_with = "soap12")]
    soap11: bool,
    /// Send SOAP 1.2 (the default).
    #[arg(long)]
    soap12: bool,
    /// File with the body content (`-` for standard input). A file whose root is a whole
    /// soap:Envelope is sent as it is.
    #[arg(long)]
    body: Option<String>,
    /// WS-Addressing version of the request headers.
    #[arg(long, value_enum, default_value = "1.0")]
    addressing: AddressingArg,
    /// Timeout for every step, in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// max_buffered_message_size in bytes (for request and reply envelopes).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_message_size: usize,
    /// Send FILE as an MTOM attachment with Content-ID NAME (repeatable); the body refers to
    /// it as `<xop:Include href="cid:NAME"/>`. The request goes MTOM.
    #[arg(long, value_name = "NAME=FILE")]
    attach: Vec<String>,
    /// Save every attachment of the reply into DIR (one file per part, named after its
    /// Content-ID).
    #[arg(long, value_name = "DIR")]
    save_attachments: Option<std::path::PathBuf>,
    /// Send the request MTOM even without attachments.
    #[arg(long)]
    mtom: bool,
    /// The message encoding on net.tcp and net.unix sessions.
    #[arg(long, value_enum, default_value = "binary-session")]
    encoding: EncodingArg,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let thread_per_core =
        matches!(&cli.command, Command::Serve { service: Service::Echo { thread_per_core: true, .. } });
    let threads = match cli.worker_threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let mut builder = match cli.worker_threads {
        _ if thread_per_core => tokio::runtime::Builder::new_current_thread(),
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if n > 1 {
                b.worker_threads(n);
            }
            b
        }
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Serve {
                service:
                    Service::Echo {
                        listen,
                        encoding,
                        receive_timeout,
                        header_read_timeout,
                        connect_timeout,
                        max_message_size,
                        max_connections,
                        mtom,
                        max_echo_bytes,
                        thread_per_core,
                    },
            } => {
                let options = echo::EchoOptions { mtom, max_echo_bytes };
                let mut properties = ListenerProperties::default();
                let secs = std::time::Duration::from_secs_f64;
                properties.channel.set_timeout(Timeout::Receive, Some(secs(receive_timeout)));
                properties.channel.max_buffered_message_size = max_message_size;
                properties.header_read_timeout = secs(header_read_timeout);
                properties.connect_timeout = secs(connect_timeout);
                properties.max_connections = max_connections;
                let http_threads = if thread_per_core { threads } else { 1 };
                report(serve_echo(&listen, encoding, properties, options, http_threads).await)
            }
            Command::Call(args) => call(args).await,
            Command::Demo => report(demo::run().await),
            Command::Discover(args) => report(discover::run(args).await),
            Command::Host(args) => report(host::run(args).await),
            Command::Metadata(args) => metadata::run(args).await,
        }
    })
}

fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Serves every `--listen` URL until Ctrl-C. With `http_threads` > 1 (`--thread-per-core`),
/// each HTTP URL is also opened on `http_threads - 1` more threads, each running a
/// single-threaded runtime of its own (see [`PerCoreListener`]).
async fn serve_echo(
    listen: &[String],
    encoding: EncodingArg,
    properties: ListenerProperties,
    options: echo::EchoOptions,
    http_threads: usize,
) -> anyhow::Result<()> {
    let mut properties = properties;
    properties.reuse_port = http_threads > 1;
    let mut session_properties = properties.clone();
    session_properties.channel.encoding = encoding.encoding();
    let mut http = Vec::new();
    let mut sessions = Vec::new();
    let mut udp = Vec::new();
    let mut per_core = Vec::new();
    for url in listen {
        if url.to_ascii_lowercase().starts_with("soap.udp://") {
            let listener =
                echo::open_udp(url, properties.clone(), options).await.with_context(|| format!("opening {url}"))?;
            println!("listening on {}", listener.url().unwrap_or_default());
            udp.push(listener);
        } else if is_session_url(url) {
            let listener = echo::open_session(url, session_properties.clone(), options)
                .await
                .with_context(|| format!("opening {url}"))?;
            println!("listening on {}", listener.url().unwrap_or_default());
            sessions.push(listener);
        } else {
            let listener =
                echo::open(url, properties.clone(), options).await.with_context(|| format!("opening {url}"))?;
            let real_url = listener.url().unwrap_or_default();
            for _ in 1..http_threads {
                per_core.push(PerCoreListener::open(&real_url, properties.clone(), options)?);
            }
            println!("listening on {real_url}");
            http.push(listener);
        }
    }
    use std::io::Write as _;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    for listener in http {
        listener.close().await?;
    }
    for listener in per_core {
        listener.close()?;
    }
    for listener in sessions {
        listener.close().await?;
    }
    for listener in udp {
        listener.close().await?;
    }
    Ok(())
}

/// One more HTTP listener of a `--thread-per-core` server: its own thread, running a
/// single-threaded runtime, with a listening socket of its own on the same address
/// (SO_REUSEPORT).
struct PerCoreListener {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl PerCoreListener {
    /// Opens the echo service on `url` (with a real port) in a new thread; returns once it
    /// is listening, or with the error that kept it from listening.
    fn open(url: &str, properties: ListenerProperties, options: echo::EchoOptions) -> anyhow::Result<PerCoreListener> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let url = url.to_owned();
        let thread = std::thread::Builder::new().name("soapwire-http".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                let listener = match echo::open(&url, properties, options).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::anyhow!("opening {url} on another thread: {e}")));
                        return Ok(());
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let _ = stop_rx.await;
                listener.close().await?;
                Ok(())
            })
        })?;
        ready_rx.recv().context("a listener thread ended before it was listening")??;
        Ok(PerCoreListener { stop: Some(stop_tx), thread })
    }

    /// Closes the listener (as `Listener::close`) and waits for its thread.
    fn close(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread.join().map_err(|_| anyhow::anyhow!("a listener thread panicked"))?
    }
}

async fn call(args: CallArgs) -> ExitCode {
    match call_inner(&args).await {
        Ok(body) => {
            println!("{}", String::from_utf8_lossy(&body));
            ExitCode::SUCCESS
        }
        Err(CallError::Soap(e)) if e.kind() == ErrorKind::EndpointFaultReceived => {
            let fault = e.fault();
            eprintln!("fault: {}", fault.map(|f| f.reason.as_str()).unwrap_or("(no reason)"));
            if let Some(f) = fault {
                eprintln!("code: {:?}", f.code);
            }
            eprintln!("HRESULT: {} ({})", e.hresult(), e.hresult().name().unwrap_or(""));
            ExitCode::from(1)
        }
        Err(CallError::Soap(e)) => {
            eprintln!("error: {e}");
            eprintln!("HRESULT: {} ({})", e.hresult(), e.hresult().name().unwrap_or(""));
            ExitCode::from(2)
        }
        Err(CallError::Local(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

pub(crate) enum CallError {
    Soap(soapwire::Error),
    Local(anyhow::Error),
}

impl From<soapwire::Error> for CallError {
    fn from(e: soapwire::Error) -> CallError {
        CallError::Soap(e)
    }
}

async fn call_inner(args: &CallArgs) -> Result<Bytes, CallError> {
    let body = match args.body.as_deref() {
        None => Bytes::new(),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| CallError::Local(e.into()))?;
            Bytes::from(buf)
        }
        Some(path) => {
            Bytes::from(std::fs::read(path).map_err(|e| CallError::Local(anyhow::anyhow!("reading {path}: {e}")))?)
        }
    };
    let version = if args.soap11 { EnvelopeVersion::Soap11 } else { EnvelopeVersion::Soap12 };
    let addressing = match args.addressing {
        AddressingArg::None => AddressingVersion::Transport,
        AddressingArg::V09 => AddressingVersion::V0_9,
        AddressingArg::V10 => AddressingVersion::V1_0,
    };
    let mut properties = ChannelProperties::default();
    properties.envelope_version = version;
    properties.addressing_version = addressing;
    properties.max_buffered_message_size = args.max_message_size;
    properties.reader_quotas.max_total_bytes = properties.reader_quotas.max_total_bytes.max(args.max_message_size);
    properties.set_all_timeouts(Some(std::time::Duration::from_secs_f64(args.timeout)));
    if args.url.get(..11).is_some_and(|scheme| scheme.eq_ignore_ascii_case("soap.udp://")) {
        return call_udp(args, properties, body).await;
    }
    if is_session_url(&args.url) {
        return call_session(args, properties, body).await;
    }
    let channel = RequestChannel::new(properties);
    channel.open(&args.url).await?;
    let mut request = Message::new(version, addressing);
    if let Some(envelope_version) = whole_envelope_version(&body) {
        request = Message::new(envelope_version, AddressingVersion::Transport);
        request.initialize_raw_envelope(body, Some(&args.action))?;
    } else {
        request.initialize_request(&args.action, body)?;
    }
    for spec in &args.attach {
        transfer::attach_file(&mut request, spec).await.map_err(CallError::Local)?;
    }
    request.set_mtom(args.mtom);
    let mut reply = Message::new(request.envelope_version(), addressing);
    let outcome = channel.request_reply(&mut request, &mut reply).await;
    if outcome.is_ok() {
        if let Some(dir) = &args.save_attachments {
            transfer::save_attachments(&reply, dir).await?;
        }
    }
    let closed = channel.close().await;
    outcome?;
    closed?;
    Ok(Bytes::from(reply.body_xml_standalone()))
}

/// `call` over SOAP-over-UDP (`UdpChannel`): one request, the first reply related to it.
/// A whole envelope given as the body must carry its own `wsa:MessageID`.
async fn call_udp(args: &CallArgs, properties: ChannelProperties, body: Bytes) -> Result<Bytes, CallError> {
    refuse_attachments(args, "soap.udp")?;
    let channel = soapwire::udp::UdpChannel::new(properties);
    channel.open(&args.url).await?;
    let mut request = inline_request(args, channel.properties(), body)?;
    let mut reply = Message::new(request.envelope_version(), channel.properties().addressing_version);
    let outcome = channel.request_reply(&mut request, &mut reply).await;
    let closed = channel.close().await;
    outcome?;
    closed?;
    Ok(Bytes::from(reply.body_xml_standalone()))
}

/// `call` over a net.tcp or net.unix session: open (preamble), one request/reply, then a
/// graceful close (End records both ways).
async fn call_session(args: &CallArgs, properties: ChannelProperties, body: Bytes) -> Result<Bytes, CallError> {
    refuse_attachments(args, "net.tcp and net.unix")?;
    let mut properties = properties;
    properties.encoding = args.encoding.encoding();
    let channel = soapwire::session::SessionChannel::new(properties);
    channel.open(&args.url).await?;
    let mut request = inline_request(args, channel.properties(), body)?;
    let mut reply = channel.new_message();
    let outcome = channel.request_reply(&mut request, &mut reply).await;
    let closed = channel.close().await;
    outcome?;
    closed?;
    Ok(Bytes::from(reply.body_xml_standalone()))
}

/// Bindings that carry whole envelopes only: `--attach`, `--mtom` and `--save-attachments`
/// are refused up front.
fn refuse_attachments(args: &CallArgs, binding: &str) -> Result<(), CallError> {
    if !args.attach.is_empty() || args.mtom || args.save_attachments.is_some() {
        return Err(CallError::Local(anyhow::anyhow!("attachments and MTOM are not available over {binding}")));
    }
    Ok(())
}

/// The request of `call` for a binding without attachments: the body as Body content, or
/// sent as it is when it is a whole envelope.
fn inline_request(args: &CallArgs, properties: &ChannelProperties, body: Bytes) -> Result<Message, CallError> {
    let mut request = match whole_envelope_version(&body) {
        Some(envelope_version) => {
            let mut m = Message::new(envelope_version, properties.addressing_version);
            m.initialize_raw_envelope(body, Some(&args.action))?;
            m
        }
        None => {
            let mut m = Message::new(properties.envelope_version, properties.addressing_version);
            m.initialize_request(&args.action, body)?;
            m
        }
    };
    request.set_mtom(false);
    Ok(request)
}

/// The version of `bytes` if its root element is a SOAP Envelope.
fn whole_envelope_version(bytes: &[u8]) -> Option<EnvelopeVersion> {
    let quotas = soapwire::ReaderQuotas::default();
    let mut reader = soapwire::XmlReader::new(bytes, &quotas).ok()?;
    loop {
        match reader.next().ok()? {
            soapwire::XmlEvent::Start(s) => {
                return if s.name.local == "Envelope" {
                    EnvelopeVersion::from_namespace(&s.name.namespace)
                } else {
                    None
                };
            }
            soapwire::XmlEvent::Text(_) => {}
            _ => return None,
        }
    }
}
