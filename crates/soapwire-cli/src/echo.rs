//! The echo service of `shared/peers/common/echo.wsdl` (`echo(string)`, `echoData(base64Binary)`),
//! plus `upload(base64Binary) -> (length, sha256)` and `download(length) -> base64Binary` for
//! one-way transfers in constant memory, written against soapwire's public API as any user would
//! write a service: a listener, an accept loop, one task per accepted reply channel.
//!
//! Binary data arrives inline (base64) or as an MTOM attachment (`xop:Include`); `echoData`
//! answers MTOM when the request was MTOM, or always with `--mtom` (gSOAP's `-m`); `download`
//! always answers MTOM, its data generated on the fly; `upload` hashes the attachment as it
//! streams in.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use sha2::Digest as _;
use soapwire::session::{SessionChannel, SessionListener};
use soapwire::soapwire_proto::mtom;
use soapwire::udp::{UdpInputChannel, UdpListener};
use soapwire::{
    Error, ErrorKind, Listener, ListenerProperties, Message, QName, ReaderQuotas, ReplyChannel, XmlEvent, XmlWriter,
};

/// The service's target namespace.
pub(crate) const NS: &str = "http://example.org/echo";
/// Action of `echo`.
pub(crate) const ECHO_ACTION: &str = "http://example.org/echo/echo";
/// Action of `echoData`.
pub(crate) const ECHO_DATA_ACTION: &str = "http://example.org/echo/echoData";
/// Action of `upload`.
pub(crate) const UPLOAD_ACTION: &str = "http://example.org/echo/upload";
/// Action of `download`.
pub(crate) const DOWNLOAD_ACTION: &str = "http://example.org/echo/download";
/// The WSDL served at `?wsdl` (addresses rewritten to the real URL).
pub(crate) const WSDL: &str = include_str!("echo.wsdl");

/// Bytes of an uploaded attachment handed to the hashing thread at a time (one reusable
/// buffer).
const HASH_BUFFER: usize = 256 * 1024;
/// Full buffers queued for the hashing thread at most: with [`HASH_BUFFER`], about 1 MiB
/// of received data waits to be hashed while the socket is read, and about 1.5 MiB of
/// buffers exist in all.
const HASH_QUEUE: usize = 4;

/// Opens a listener for the echo service at `url` (SOAP 1.1 and 1.2 on the same endpoint)
/// and returns it, serving.
///
/// The listener runs as a service host ([`Listener::set_handler`]): each request is served
/// by [`serve_channel`] inside the connection that received it, with no accept loop.
pub(crate) async fn open(
    url: &str,
    properties: ListenerProperties,
    options: EchoOptions,
) -> soapwire::Result<Arc<Listener>> {
    let mut properties = properties;
    properties.any_envelope_version = true;
    let listener = Arc::new(Listener::new(properties));
    listener.set_wsdl(WSDL);
    listener.set_handler(move |channel| serve_channel(channel, options));
    listener.open(url).await?;
    Ok(listener)
}

/// How the service treats binary data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EchoOptions {
    /// Answer `echoData` with MTOM even when the request was inline base64 (gSOAP's `-m`).
    pub(crate) mtom: bool,
    /// The most bytes `echoData` holds in memory (it must read the whole request before it
    /// answers, because blocking clients send everything before they read).
    pub(crate) max_echo_bytes: usize,
}

impl Default for EchoOptions {
    fn default() -> Self {
        EchoOptions { mtom: false, max_echo_bytes: 256 * 1024 * 1024 }
    }
}

/// Serves one request/reply exchange.
pub(crate) async fn serve_channel(channel: ReplyChannel, options: EchoOptions) {
    let mut request = channel.new_message();
    match channel.receive_message(&mut request).await {
        Ok(true) => {
            let outcome = match answer(&channel.properties().reader_quotas, &request, options).await {
                Ok(mut reply) => channel.send_reply(&mut reply).await,
                Err(e) => channel.send_fault_for_error(Some(&request), &e).await,
            };
            if let Err(e) = outcome {
                tracing::debug!("sending the reply failed: {e}");
            }
        }
        Ok(false) => {}
        Err(e) if matches!(e.kind(), ErrorKind::InvalidFormat | ErrorKind::QuotaExceeded) => {
            tracing::debug!("bad request: {e}");
            if let Err(e2) = channel.send_fault_for_error(None, &e).await {
                tracing::debug!("sending the fault failed: {e2}");
            }
        }
        Err(e) => {
            // Timeouts and broken connections: nothing can be answered.
            tracing::debug!("receiving the request failed: {e}");
            channel.abort();
        }
    }
    if let Err(e) = channel.close().await {
        tracing::debug!("closing the channel: {e}");
    }
}

/// Opens a session listener (net.tcp or Unix socket) for the echo service at `url` and
/// serves every accepted session on its own task until the listener closes.
pub(crate) async fn open_session(
    url: &str,
    properties: ListenerProperties,
    options: EchoOptions,
) -> soapwire::Result<Arc<SessionListener>> {
    let listener = Arc::new(SessionListener::new(properties));
    listener.open(url).await?;
    let accepting = listener.clone();
    tokio::spawn(async move {
        loop {
            let channel = SessionChannel::for_listener(&accepting);
            match accepting.accept_channel(&channel).await {
                Ok(()) => {
                    tokio::spawn(serve_session(channel, options));
                }
                Err(e) if matches!(e.kind(), ErrorKind::OperationAborted | ErrorKind::ObjectFaulted) => return,
                Err(e) if e.kind() == ErrorKind::InvalidOperation => return,
                Err(e) => tracing::debug!("accepting a session failed: {e}"),
            }
        }
    });
    Ok(listener)
}

/// Serves one session: requests in order until the client ends the session (End record),
/// then a graceful close. MTOM does not travel on sessions, so `echoData` answers inline
/// and `download` is refused with a fault.
pub(crate) async fn serve_session(channel: SessionChannel, options: EchoOptions) {
    loop {
        let mut request = channel.new_message();
        match channel.receive_message(&mut request).await {
            Ok(true) if request.action() == Some(MEX_GET_ACTION) => {
                let outcome = match metadata_reply(&request, channel.via().as_deref().unwrap_or_default()) {
                    Ok(mut reply) => channel.send_message(&mut reply).await,
                    Err(e) => channel.send_fault_for_error(Some(&request), &e).await,
                };
                if let Err(e) = outcome {
                    tracing::debug!("sending the metadata failed: {e}");
                    break;
                }
            }
            Ok(true) => {
                let outcome = match answer_inline(&channel.properties().reader_quotas, &request, options).await {
                    Ok(mut reply) => channel.send_message(&mut reply).await,
                    Err(e) => channel.send_fault_for_error(Some(&request), &e).await,
                };
                if let Err(e) = outcome {
                    tracing::debug!("sending the reply failed: {e}");
                    break;
                }
            }
            Ok(false) => break,
            Err(e) if e.kind() == ErrorKind::InvalidFormat && channel.state() == soapwire::ChannelState::Open => {
                tracing::debug!("bad request: {e}");
                if let Err(e2) = channel.send_fault_for_error(None, &e).await {
                    tracing::debug!("sending the fault failed: {e2}");
                    break;
                }
            }
            Err(e) => {
                tracing::debug!("receiving from the session failed: {e}");
                break;
            }
        }
    }
    if let Err(e) = channel.close().await {
        tracing::debug!("closing the session: {e}");
    }
}

/// Opens a SOAP-over-UDP listener for the echo service at `url` (`soap.udp://host:port`,
/// unicast or a multicast group). Each datagram is one request; the reply goes back to the
/// datagram's source (UDP's anonymous reply address) with the unicast retransmission
/// schedule. `echoData` answers inline and `download` is refused: MTOM is HTTP only.
pub(crate) async fn open_udp(
    url: &str,
    properties: ListenerProperties,
    options: EchoOptions,
) -> soapwire::Result<Arc<UdpListener>> {
    let listener = Arc::new(UdpListener::new(properties));
    listener.open(url).await?;
    let accepting = listener.clone();
    tokio::spawn(async move {
        loop {
            let channel = UdpInputChannel::new(&accepting);
            match accepting.accept_channel(&channel).await {
                Ok(()) => {
                    tokio::spawn(async move {
                        let mut request = channel.new_message();
                        match channel.receive_message(&mut request).await {
                            Ok(true) => {
                                let quotas = &channel.properties().reader_quotas;
                                let sent = match answer_inline(quotas, &request, options).await {
                                    Ok(mut reply) => channel.send_reply(&mut reply).await,
                                    Err(e) => channel.send_fault_for_error(Some(&request), &e).await,
                                };
                                if let Err(e) = sent {
                                    tracing::debug!("sending the UDP reply failed: {e}");
                                }
                            }
                            Ok(false) => {}
                            Err(e) => tracing::debug!("bad UDP request: {e}"),
                        }
                        let _ = channel.close().await;
                    });
                }
                Err(e) if matches!(e.kind(), ErrorKind::OperationAborted | ErrorKind::ObjectFaulted) => return,
                Err(e) if e.kind() == ErrorKind::InvalidOperation => return,
                Err(e) => tracing::debug!("accepting a UDP message failed: {e}"),
            }
        }
    });
    Ok(listener)
}

/// WS-Transfer Get, as WCF's `IMetadataExchange` (MEX) endpoints answer it: what
/// `svcutil` and `python -m pynettcp.codegen net.tcp://…/mex` send to learn a service.
pub(crate) const MEX_GET_ACTION: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";

/// The WS-MetadataExchange reply for a session endpoint: the service's WSDL with its
/// SOAP 1.2 binding on the net.tcp transport and every address set to the session's URL
/// (the Via without a trailing `/mex`).
fn metadata_reply(request: &Message, via: &str) -> soapwire::Result<Message> {
    let address = via.strip_suffix("/mex").unwrap_or(via);
    let address = address.strip_suffix('/').unwrap_or(address);
    let mut wsdl = WSDL.to_owned();
    // The document goes inside the body: no XML declaration, no leading comment.
    if let Some(start) = wsdl.find("<definitions") {
        wsdl.drain(..start);
    }
    // A net.tcp endpoint is SOAP 1.2 only: the SOAP 1.1 binding and its port go, as in the
    // metadata WCF publishes for a NetTcpBinding endpoint.
    for (start, end) in [(r#"<binding name="EchoSoap11""#, "</binding>"), (r#"<port name="EchoSoap11""#, "</port>")] {
        if let Some(i) = wsdl.find(start) {
            if let Some(j) = wsdl[i..].find(end) {
                let mut cut = i + j + end.len();
                while wsdl[cut..].starts_with(['\n', ' ']) {
                    cut += 1;
                }
                wsdl.drain(i..cut);
            }
        }
    }
    let wsdl = set_addresses(&wsdl, address).replacen(
        r#"<soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>"#,
        r#"<soap12:binding style="document" transport="http://schemas.microsoft.com/soap/tcp"/>"#,
        1,
    );
    let body = format!(
        r#"<wsx:Metadata xmlns:wsx="http://schemas.xmlsoap.org/ws/2004/09/mex"><wsx:MetadataSection Dialect="http://schemas.xmlsoap.org/wsdl/" Identifier="{NS}">{wsdl}</wsx:MetadataSection></wsx:Metadata>"#
    );
    let mut reply = Message::new(request.envelope_version(), request.addressing_version());
    reply.initialize_reply(request, "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse", body)?;
    Ok(reply)
}

/// `wsdl` with every `address location="…"` set to `url` (XML-escaped).
fn set_addresses(wsdl: &str, url: &str) -> String {
    let escaped = url.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    let mut out = String::with_capacity(wsdl.len() + 64);
    let mut rest = wsdl;
    const KEY: &str = "address location=\"";
    while let Some(i) = rest.find(KEY) {
        out.push_str(&rest[..i + KEY.len()]);
        rest = &rest[i + KEY.len()..];
        let Some(end) = rest.find('"') else { break };
        out.push_str(&escaped);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// [`answer`] for bindings without MTOM (sessions, UDP): an operation whose reply would
/// carry an attachment (`download`) is `WS_E_NOT_SUPPORTED`, answered with a fault.
async fn answer_inline(quotas: &ReaderQuotas, request: &Message, options: EchoOptions) -> soapwire::Result<Message> {
    match answer(quotas, request, EchoOptions { mtom: false, ..options }).await? {
        reply if reply.wants_mtom() => Err(Error::new(
            ErrorKind::NotSupported,
            "this operation answers with an MTOM attachment, which travels over HTTP only",
        )),
        reply => Ok(reply),
    }
}

/// The operations of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Echo,
    EchoData,
    Upload,
    Download,
}

impl Operation {
    fn element(self) -> &'static str {
        match self {
            Operation::Echo => "echo",
            Operation::EchoData => "echoData",
            Operation::Upload => "upload",
            Operation::Download => "download",
        }
    }

    /// Dispatch on the action, as WCF and WWSAPI service hosts do; fall back to the body
    /// element only when the request carried no action at all (SOAP 1.1 with an empty
    /// SOAPAction).
    fn of(action: Option<&str>, root: Option<&QName>) -> soapwire::Result<Operation> {
        const ALL: [Operation; 4] = [Operation::Echo, Operation::EchoData, Operation::Upload, Operation::Download];
        let by_action =
            |a: &str| ALL.into_iter().find(|op| a.strip_prefix("http://example.org/echo/") == Some(op.element()));
        match (action, root) {
            (Some(a), _) => by_action(a),
            (None, Some(q)) if q.namespace == NS => ALL.into_iter().find(|op| op.element() == q.local),
            (None, _) => None,
        }
        .ok_or_else(|| {
            Error::new(
                ErrorKind::EndpointActionNotSupported,
                format!("the echo service has no operation for action {:?}", action.unwrap_or("")),
            )
        })
    }
}

/// The value of a `message`, `data` or `length` parameter.
enum Parameter {
    Text(String),
    /// `xop:Include`: the Content-ID of an MTOM part.
    Attachment(String),
}

/// Computes the reply for a request, or the error to fault with.
pub(crate) async fn answer(
    quotas: &ReaderQuotas,
    request: &Message,
    options: EchoOptions,
) -> soapwire::Result<Message> {
    let (root, parameter) = read_call(request, quotas)?;
    let operation = Operation::of(request.action(), root.as_ref())?;
    match &root {
        Some(q) if q.namespace == NS && q.local == operation.element() => {}
        Some(q) => {
            return Err(Error::invalid_format(format!(
                "expected {{{NS}}}{}, found {{{}}}{}",
                operation.element(),
                q.namespace,
                q.local
            )));
        }
        None => return Err(Error::invalid_format(format!("the body has no {{{NS}}}{} element", operation.element()))),
    }
    let mut reply = Message::new(request.envelope_version(), request.addressing_version());
    let mut w = XmlWriter::with_capacity(256);
    let action = match operation {
        Operation::Echo => {
            w.start_element(Some("e"), "echoResponse");
            w.namespace_decl(Some("e"), NS);
            match parameter {
                Some(Parameter::Text(t)) => w.element_with_text(Some("e"), "message", &t),
                Some(Parameter::Attachment(_)) => return Err(Error::invalid_format("echo/message must be text")),
                None => {}
            }
            w.end_element();
            "http://example.org/echo/EchoPortType/echoResponse"
        }
        Operation::EchoData => {
            w.start_element(Some("e"), "echoDataResponse");
            w.namespace_decl(Some("e"), NS);
            let mtom_reply = options.mtom || request.is_mtom();
            match parameter {
                Some(Parameter::Text(b64)) if !mtom_reply => {
                    // Inline in, inline out: validate and echo the text, no decode/encode.
                    let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                    decode_base64(&compact)?;
                    w.element_with_text(Some("e"), "data", &compact);
                }
                parameter => {
                    let data = match parameter {
                        Some(Parameter::Text(b64)) => Bytes::from(decode_base64(&b64)?),
                        Some(Parameter::Attachment(id)) => {
                            request.attachment(&id).await?.to_bytes(options.max_echo_bytes).await?
                        }
                        None => Bytes::new(),
                    };
                    let id = soapwire::attachment::new_content_id();
                    w.start_element(Some("e"), "data");
                    mtom::write_include(&mut w, &id);
                    w.end_element();
                    reply.add_attachment_bytes(&id, "application/octet-stream", data);
                    reply.set_mtom(true);
                }
            }
            w.end_element();
            "http://example.org/echo/EchoPortType/echoDataResponse"
        }
        Operation::Upload => {
            let (length, digest) = match parameter {
                Some(Parameter::Text(b64)) => {
                    let data = decode_base64(&b64)?;
                    (data.len() as u64, sha2::Sha256::digest(&data))
                }
                Some(Parameter::Attachment(id)) => {
                    // Hash on a blocking thread while this task keeps reading the socket: the
                    // two overlap instead of taking turns on one core. The data goes over in
                    // HASH_BUFFER-byte buffers that the hashing thread hands back for reuse:
                    // one copy into memory that stays resident. Handing over the network's
                    // own chunks instead keeps each read buffer alive until it is hashed, so
                    // every read lands in freshly allocated memory, and glibc's returning
                    // and re-faulting those pages cost more CPU than the copy (BENCHMARKS.md).
                    let mut attachment = request.attachment(&id).await?;
                    let (full_tx, mut full_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(HASH_QUEUE);
                    let (empty_tx, mut empty_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(HASH_QUEUE + 2);
                    let hashing = tokio::task::spawn_blocking(move || {
                        let mut hasher = sha2::Sha256::new();
                        while let Some(mut buffer) = full_rx.blocking_recv() {
                            hasher.update(&buffer);
                            buffer.clear();
                            let _ = empty_tx.try_send(buffer);
                        }
                        hasher.finalize()
                    });
                    let mut buffer = Vec::with_capacity(HASH_BUFFER);
                    'read: while let Some(chunk) = attachment.next_chunk().await? {
                        let mut rest = &chunk[..];
                        while !rest.is_empty() {
                            let (head, tail) = rest.split_at(rest.len().min(HASH_BUFFER - buffer.len()));
                            buffer.extend_from_slice(head);
                            rest = tail;
                            if buffer.len() == HASH_BUFFER {
                                let next = empty_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(HASH_BUFFER));
                                if full_tx.send(std::mem::replace(&mut buffer, next)).await.is_err() {
                                    break 'read;
                                }
                            }
                        }
                    }
                    if !buffer.is_empty() {
                        let _ = full_tx.send(buffer).await;
                    }
                    drop(full_tx);
                    let digest =
                        hashing.await.map_err(|e| Error::new(ErrorKind::Other, format!("hashing failed: {e}")))?;
                    (attachment.bytes_received(), digest)
                }
                None => return Err(Error::invalid_format("upload needs a data element")),
            };
            w.start_element(Some("e"), "uploadResponse");
            w.namespace_decl(Some("e"), NS);
            w.element_with_text(Some("e"), "length", &length.to_string());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            w.element_with_text(Some("e"), "sha256", &hex);
            w.end_element();
            "http://example.org/echo/EchoPortType/uploadResponse"
        }
        Operation::Download => {
            let length: u64 = match parameter {
                Some(Parameter::Text(t)) => t
                    .trim()
                    .parse()
                    .map_err(|_| Error::invalid_format(format!("download/length {t:?} is not a number")))?,
                _ => return Err(Error::invalid_format("download needs a length element")),
            };
            let id = soapwire::attachment::new_content_id();
            w.start_element(Some("e"), "downloadResponse");
            w.namespace_decl(Some("e"), NS);
            w.start_element(Some("e"), "data");
            mtom::write_include(&mut w, &id);
            w.end_element();
            w.end_element();
            reply.add_attachment_stream(&id, "application/octet-stream", PatternStream::new(length));
            "http://example.org/echo/EchoPortType/downloadResponse"
        }
    };
    reply.initialize_reply(request, action, w.into_bytes())?;
    Ok(reply)
}

fn decode_base64(text: &str) -> soapwire::Result<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| Error::invalid_format(format!("data is not valid base64: {e}")))
}

/// One pass over `<e:operation><e:message|data|length>text or xop:Include</..></e:operation>`:
/// the root element's name and its parameter, if any. Unknown children are skipped.
fn read_call(request: &Message, quotas: &ReaderQuotas) -> soapwire::Result<(Option<QName>, Option<Parameter>)> {
    let mut reader = request.body_reader(quotas)?;
    let Some(root) = reader.next_element()? else {
        return Ok((None, None));
    };
    let mut parameter = None;
    while let Some(child) = reader.next_element()? {
        let is_parameter =
            child.name.namespace == NS && matches!(child.name.local.as_str(), "message" | "data" | "length");
        if !is_parameter || parameter.is_some() {
            reader.skip_element()?;
            continue;
        }
        let mut text = String::new();
        let mut include = None;
        loop {
            match reader.next()? {
                XmlEvent::Text(t) => text.push_str(&t),
                XmlEvent::Start(e) if e.name.is(mtom::XOP_INCLUDE_NAMESPACE, "Include") => {
                    let href =
                        e.attribute("", "href").ok_or_else(|| Error::invalid_format("xop:Include without href"))?;
                    include = Some(mtom::content_id_from_href(href)?);
                    reader.skip_element()?;
                }
                XmlEvent::Start(_) => reader.skip_element()?,
                XmlEvent::End => break,
                XmlEvent::Eof => return Err(Error::invalid_format("the body ended inside a parameter")),
            }
        }
        parameter = Some(match include {
            Some(id) => Parameter::Attachment(id),
            None => Parameter::Text(text),
        });
    }
    Ok((Some(root.name), parameter))
}

/// `length` bytes of the download pattern (byte *i* = (i·31 + 7) mod 256), produced as the
/// connection takes them. The pattern repeats every 256 bytes, so every full chunk is the
/// same shared buffer: no copy, no allocation per chunk.
pub(crate) struct PatternStream {
    chunk: Bytes,
    remaining: u64,
}

/// Bytes per generated chunk (a multiple of the pattern's period, 256).
const PATTERN_CHUNK: usize = 256 * 1024;

impl PatternStream {
    pub(crate) fn new(length: u64) -> PatternStream {
        PatternStream { chunk: Bytes::from(pattern(PATTERN_CHUNK)), remaining: length }
    }
}

/// The first `n` bytes of the download pattern.
pub(crate) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31).wrapping_add(7)) as u8).collect()
}

impl futures_core::Stream for PatternStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::io::Result<Bytes>>> {
        if self.remaining == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = self.remaining.min(PATTERN_CHUNK as u64) as usize;
        self.remaining -= n as u64;
        std::task::Poll::Ready(Some(Ok(self.chunk.slice(..n))))
    }
}
