//! [`SessionChannel`]: `WS_CHANNEL_TYPE_DUPLEX_SESSION` over net.tcp (or a Unix socket),
//! the client side of `WsCreateChannel` and the server side of `WsAcceptChannel`.
//!
//! A session is one connection that carries [MC-NMF] sized envelopes both ways, with the
//! binary session dictionaries living as long as the connection. Sends and receives may
//! run at the same time from different tasks; two sends (or two receives) take turns.
//!
//! The channel state machine is the one of every channel (`Created → Opening → Open →
//! Closing → Closed`, `Faulted`; see [`ChannelState`]) and lives in [`ChannelCore`]; what is
//! particular to sessions is how a close ends the connection, which is now visible on the
//! wire:
//!
//! ```text
//!  close() from Open, nothing mid-read or mid-write  (graceful)
//!     us ──End record──▶ peer          (unless shutdown_session() already sent it)
//!     us ◀──End record── peer          (waited for, within the close timeout; envelopes
//!                                       still arriving meanwhile are discarded)
//!     us ──FIN──▶ peer                 then the channel is Closed
//!  close() with a message mid-read/mid-write, or from Faulted   (rude)
//!     pending calls end with WS_E_OPERATION_ABORTED; the TCP connection is reset (RST)
//!  abort()  pending calls end with WS_E_OPERATION_ABORTED; connection reset; Open → Faulted
//! ```
//!
//! A peer that never sends its End record makes close return `WS_E_OPERATION_TIMED_OUT`
//! after the close timeout, the channel `Closed` and the connection reset. After the
//! peer's End record, [`SessionChannel::receive_message`] returns `Ok(false)`: `WS_S_END`.

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use soapwire_proto::addressing::AddressingVersion;
use soapwire_proto::channel::{ChannelCall, ChannelState};
use soapwire_proto::framing::nmf::{self, InitiatorPreamble, NmfQuotas, Record, RecordDecoder};
use soapwire_proto::properties::{ChannelProperties, Timeout};
use soapwire_proto::soap::{Envelope, Fault};
use soapwire_proto::xml::QName;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::codec::{self, Decoder, Encoder};
use super::stream::{self, ReadSide, ResetHandle, SessionStream, WriteSide};
use super::url::{Endpoint, SessionUrl};
use crate::core::{ChannelCore, Op};
use crate::http::io_error;
use crate::message::Message;

/// Which end of the session this channel is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Role {
    /// Opened the connection (`WsOpenChannel`).
    #[default]
    Initiator,
    /// Accepted it (`WsAcceptChannel`).
    Responder,
}

/// The receive side of an established session: the socket's read half, the bytes read
/// ahead of the current record, the record decoder and the message decoder.
pub(crate) struct Reader {
    pub(crate) io: ReadSide,
    pub(crate) buf: BytesMut,
    pub(crate) records: RecordDecoder,
    pub(crate) decoder: Decoder,
}

/// A record that could not be read, with the fault a responder sends before giving up.
pub(crate) struct RecordError {
    pub(crate) error: Error,
    pub(crate) fault: Option<&'static str>,
}

impl From<Error> for RecordError {
    fn from(error: Error) -> RecordError {
        RecordError { error, fault: None }
    }
}

impl Reader {
    /// A reader over `io` that starts with the bytes already read (`buf`).
    pub(crate) fn new(io: ReadSide, buf: BytesMut, properties: &ChannelProperties, decoder: Decoder) -> Reader {
        let quotas = NmfQuotas { max_envelope_size: properties.max_buffered_message_size, ..NmfQuotas::default() };
        Reader { io, buf, records: RecordDecoder::new(quotas), decoder }
    }

    /// The next whole record. The decoder checks every length against its quota before
    /// more is read, so the buffer never holds more than one envelope's worth.
    pub(crate) async fn next_record(&mut self) -> std::result::Result<Record, RecordError> {
        loop {
            match self.records.decode(&mut self.buf) {
                Ok(Some(record)) => return Ok(record),
                Ok(None) => {}
                Err(e) => {
                    let fault = e.fault();
                    return Err(RecordError { error: e.into_error(), fault });
                }
            }
            self.buf.reserve(16 * 1024);
            let n = self.io.read_buf(&mut self.buf).await.map_err(|e| io_error(e, "reading from the session"))?;
            if n == 0 {
                if !self.buf.is_empty() {
                    return Err(Error::invalid_format(format!(
                        "truncated record: the connection closed {} bytes into a record",
                        self.buf.len()
                    ))
                    .into());
                }
                return Err(Error::new(
                    ErrorKind::EndpointDisconnected,
                    "the peer closed the connection without ending the session (no End record)",
                )
                .into());
            }
        }
    }
}

/// The send side of an established session.
pub(crate) struct Writer {
    pub(crate) io: WriteSide,
    pub(crate) encoder: Encoder,
}

impl Writer {
    async fn write_record(&mut self, record: &Record) -> Result<()> {
        let mut out = Vec::with_capacity(16);
        nmf::encode(record, &mut out);
        self.io.write_all(&out).await.map_err(|e| io_error(e, "writing to the session"))?;
        self.io.flush().await.map_err(|e| io_error(e, "writing to the session"))
    }
}

/// Decrements a listener's connection count when the connection it stands for is gone.
pub(crate) struct ConnectionSlot(pub(crate) std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A session after its preamble: what `open` or a listener hands to the channel.
pub(crate) struct Established {
    pub(crate) reader: Reader,
    pub(crate) writer: Writer,
    pub(crate) reset: ResetHandle,
    pub(crate) role: Role,
    /// The Via: the URL the initiator addressed.
    pub(crate) via: String,
    pub(crate) remote: Option<String>,
    pub(crate) slot: Option<ConnectionSlot>,
}

#[derive(Default)]
struct SessionState {
    role: Role,
    via: Option<String>,
    remote: Option<String>,
    reader: Option<Reader>,
    writer: Option<Writer>,
    reset: Option<ResetHandle>,
    slot: Option<ConnectionSlot>,
    /// Our End record went out (`shutdown_session` or close).
    sent_end: bool,
    /// The peer's End record arrived: receives return `WS_S_END`.
    received_end: bool,
    /// The fault that receiving decided (e.g. `MustUnderstand`), for `send_fault_for_error`.
    receive_fault: Option<Fault>,
}

/// A duplex session channel (`WS_CHANNEL_TYPE_DUPLEX_SESSION`) over net.tcp or a Unix
/// socket. Dropping an open channel aborts it.
///
/// ```no_run
/// # async fn demo() -> soapwire::Result<()> {
/// use soapwire::ChannelProperties;
/// use soapwire::session::SessionChannel;
///
/// let channel = SessionChannel::new(ChannelProperties::session());
/// channel.open("net.tcp://127.0.0.1:8808/echo").await?;
/// let reply = channel.call("http://example.org/echo/echo",
///     r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#).await?;
/// channel.close().await?; // End record both ways, then FIN
/// # Ok(()) }
/// ```
pub struct SessionChannel {
    core: ChannelCore,
    properties: ChannelProperties,
    state: Mutex<SessionState>,
    send_turn: tokio::sync::Mutex<()>,
    receive_turn: tokio::sync::Mutex<()>,
    understood: Mutex<Vec<QName>>,
}

impl std::fmt::Debug for SessionChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionChannel").field("state", &self.state()).field("via", &self.via()).finish_non_exhaustive()
    }
}

impl Drop for SessionChannel {
    fn drop(&mut self) {
        if !matches!(self.state(), ChannelState::Created | ChannelState::Closed) {
            self.abort();
        }
    }
}

impl SessionChannel {
    /// A new channel in state `Created` (`WsCreateChannel` with `WS_TCP_CHANNEL_BINDING`).
    /// [`ChannelProperties::session`] gives the binding's defaults (binary XML with a
    /// session dictionary).
    pub fn new(properties: ChannelProperties) -> SessionChannel {
        SessionChannel {
            core: ChannelCore::new(),
            properties,
            state: Mutex::new(SessionState::default()),
            send_turn: tokio::sync::Mutex::new(()),
            receive_turn: tokio::sync::Mutex::new(()),
            understood: Mutex::new(Vec::new()),
        }
    }

    /// A new channel for [`super::SessionListener::accept_channel`]
    /// (`WsCreateChannelForListener`), with the listener's channel properties.
    pub fn for_listener(listener: &super::SessionListener) -> SessionChannel {
        SessionChannel::new(listener.properties().channel.clone())
    }

    fn with<R>(&self, f: impl FnOnce(&mut SessionState) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub(crate) fn core(&self) -> &ChannelCore {
        &self.core
    }

    /// The channel's properties.
    pub fn properties(&self) -> &ChannelProperties {
        &self.properties
    }

    /// The channel state (`WS_CHANNEL_PROPERTY_STATE`).
    pub fn state(&self) -> ChannelState {
        self.core.state()
    }

    /// The Via of the session: the URL the initiator opened.
    pub fn via(&self) -> Option<String> {
        self.with(|s| s.via.clone())
    }

    /// The peer's address (`host:port`, or the socket path), once open.
    pub fn remote_address(&self) -> Option<String> {
        self.with(|s| s.remote.clone())
    }

    /// True once the peer's End record arrived (receives return `WS_S_END`).
    pub fn peer_ended(&self) -> bool {
        self.with(|s| s.received_end)
    }

    /// Declares a header the application processes, so that `mustUnderstand="1"` on it is
    /// not a fault.
    pub fn understand_header(&self, name: QName) {
        self.understood.lock().unwrap_or_else(|p| p.into_inner()).push(name);
    }

    /// A new empty message with this channel's versions.
    pub fn new_message(&self) -> Message {
        Message::new(self.properties.envelope_version, self.properties.addressing_version)
    }

    /// `WsOpenChannel`: connects to `net.tcp://host[:port]/path` (default port 808) or
    /// `net.unix:///socket/path`, sends the [MC-NMF] preamble (version 1.0, duplex mode, the
    /// URL as Via, the channel's encoding) and waits for the preamble ack, all within the
    /// connect timeout (default 30 s). A framing fault from the server maps to its error
    /// (`EndpointNotFound` → `WS_E_ENDPOINT_NOT_FOUND`, ...). An abort meanwhile makes open
    /// return `WS_E_OPERATION_ABORTED`.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.core.open_started()?;
        let cancel = self.core.cancel_token();
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(Error::aborted("the open was aborted")),
            r = self.connect(url) => r,
        };
        match outcome {
            Ok(established) => {
                self.install(established);
                self.core.open_completed(Ok(()))
            }
            Err(e) => self.core.open_completed(Err(e)),
        }
    }

    async fn connect(&self, url: &str) -> Result<Established> {
        let parsed = SessionUrl::parse(url)?;
        let encoding = codec::known_encoding(&self.properties)?;
        let timeout = self.properties.timeout(Timeout::Connect);
        let handshake = async {
            let stream = match &parsed.endpoint {
                Endpoint::Tcp { host, port } => stream::connect_tcp(host, *port, &self.properties).await?,
                Endpoint::Unix { path } => stream::connect_unix(path).await?,
            };
            let remote = match &stream {
                SessionStream::Tcp(s) => s.peer_addr().ok().map(|a| a.to_string()),
                SessionStream::Unix(_) => match &parsed.endpoint {
                    Endpoint::Unix { path } => Some(path.display().to_string()),
                    Endpoint::Tcp { .. } => None,
                },
            };
            let (read, write, reset) = stream::split(stream);
            let (encoder, decoder) = codec::codecs(encoding, self.properties.max_session_dictionary_size);
            let mut writer = Writer { io: write, encoder };
            let mut reader = Reader::new(read, BytesMut::new(), &self.properties, decoder);
            let mut preamble = Vec::with_capacity(url.len() + 16);
            nmf::initiator_preamble(url, nmf::Mode::Duplex, encoding, &mut preamble);
            writer.io.write_all(&preamble).await.map_err(|e| io_error(e, "sending the preamble"))?;
            writer.io.flush().await.map_err(|e| io_error(e, "sending the preamble"))?;
            let mut expect = InitiatorPreamble::new();
            loop {
                let record = reader.next_record().await.map_err(|e| e.error)?;
                if expect.on_record(record)? {
                    break;
                }
            }
            Ok(Established { reader, writer, reset, role: Role::Initiator, via: url.to_owned(), remote, slot: None })
        };
        match timeout {
            Some(t) => tokio::time::timeout(t, handshake).await.unwrap_or_else(|_| {
                Err(Error::timed_out(format!(
                    "connecting and the net.tcp preamble did not complete within {} ms",
                    t.as_millis()
                )))
            }),
            None => handshake.await,
        }
    }

    /// Hands an established session to the channel.
    pub(crate) fn install(&self, established: Established) {
        self.with(|s| {
            s.role = established.role;
            s.via = Some(established.via);
            s.remote = established.remote;
            s.reader = Some(established.reader);
            s.writer = Some(established.writer);
            s.reset = Some(established.reset);
            s.slot = established.slot;
            s.sent_end = false;
            s.received_end = false;
            s.receive_fault = None;
        });
    }

    /// `WsSendMessage`: encodes `message` (`Initialized`) with the session's encoding and
    /// sends it as one sized envelope, within the send timeout. An encoded envelope over
    /// `max_buffered_message_size` is `WS_E_QUOTA_EXCEEDED` and nothing is sent. After
    /// [`SessionChannel::shutdown_session`] sending is `WS_E_INVALID_OPERATION`. A message with
    /// attachments is `WS_E_NOT_SUPPORTED`: MTOM is an HTTP encoding here.
    pub async fn send_message(&self, message: &mut Message) -> Result<()> {
        message.state_machine().check_send()?;
        if message.wants_mtom() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "MTOM and attachments travel over HTTP only; a session carries whole envelopes",
            ));
        }
        let op = self.core.begin(ChannelCall::Send)?;
        self.prepare_addressing(message);
        let xml = message.encode();
        message.state_machine().write_started()?;
        self.send_envelope(&op, &xml).await?;
        message.state_machine().write_completed()
    }

    fn prepare_addressing(&self, message: &mut Message) {
        if message.addressing_version() == AddressingVersion::Transport || message.is_raw() {
            return;
        }
        let (role, via) = self.with(|s| (s.role, s.via.clone()));
        let a = message.addressing_mut();
        // A request names its destination, as WCF's clients do; replies travel back on the
        // session and need no To.
        if role == Role::Initiator && a.to.is_none() && a.relates_to.is_none() {
            a.to = via;
        }
    }

    async fn send_envelope(&self, op: &Op<'_>, xml: &[u8]) -> Result<()> {
        let limit = self.properties.max_buffered_message_size;
        let timeout = self.properties.timeout(Timeout::Send);
        let _turn = op.run("waiting for the send side", timeout, async { Ok(self.send_turn.lock().await) }).await?;
        if self.with(|s| s.sent_end) {
            return Err(Error::invalid_operation("the session was shut down: nothing more can be sent"));
        }
        let mut writer = self.take_writer()?;
        if matches!(writer.encoder, Encoder::Text) && xml.len() > limit {
            self.with(|s| s.writer = Some(writer));
            return Err(too_big(xml.len(), limit));
        }
        // Room for the record header in front, so the frame goes out in one write without
        // copying the payload: 0x06 and a MultiByteInt31 length take at most 6 bytes.
        const HEADER_ROOM: usize = 6;
        let mut frame = Vec::with_capacity(HEADER_ROOM + xml.len());
        frame.resize(HEADER_ROOM, 0);
        if let Err(e) = writer.encoder.encode(xml, &mut frame) {
            self.with(|s| s.writer = Some(writer));
            return Err(e);
        }
        let payload_len = frame.len() - HEADER_ROOM;
        if payload_len > limit {
            if writer.encoder.is_stateful() {
                // The session dictionary already counts strings the peer will never see.
                self.core.fault();
            } else {
                self.with(|s| s.writer = Some(writer));
            }
            return Err(too_big(payload_len, limit));
        }
        let mut header = Vec::with_capacity(HEADER_ROOM);
        nmf::sized_envelope_header(payload_len, &mut header);
        let start = HEADER_ROOM - header.len();
        frame[start..HEADER_ROOM].copy_from_slice(&header);
        let sent = op
            .run("sending the message", timeout, async move {
                writer.io.write_all(&frame[start..]).await.map_err(|e| io_error(e, "sending the message"))?;
                writer.io.flush().await.map_err(|e| io_error(e, "sending the message"))?;
                Ok(writer)
            })
            .await;
        match sent {
            Ok(writer) => {
                self.with(|s| s.writer = Some(writer));
                Ok(())
            }
            Err(e) => {
                self.core.fault();
                Err(e)
            }
        }
    }

    fn take_writer(&self) -> Result<Writer> {
        self.with(|s| s.writer.take()).ok_or_else(|| {
            Error::new(ErrorKind::EndpointDisconnected, "the session's connection is gone (aborted or failed)")
        })
    }

    fn take_reader(&self) -> Result<Reader> {
        self.with(|s| s.reader.take()).ok_or_else(|| {
            Error::new(ErrorKind::EndpointDisconnected, "the session's connection is gone (aborted or failed)")
        })
    }

    /// `WsReceiveMessage`: waits (within the receive timeout) for the next envelope and
    /// fills `message` (`Empty → Done`). Returns `Ok(false)` — `WS_S_END` — once the peer
    /// has shut down its side of the session with an End record. A `mustUnderstand` header
    /// the channel does not understand is `WS_E_INVALID_FORMAT` (the session stays usable;
    /// [`SessionChannel::send_fault_for_error`] answers it). A framing error, an oversized
    /// envelope or an exceeded session-dictionary quota faults the channel.
    pub async fn receive_message(&self, message: &mut Message) -> Result<bool> {
        message.state_machine().check_receive()?;
        let op = self.core.begin(ChannelCall::Receive)?;
        let Some(text) = self.receive_envelope(&op).await? else {
            return Ok(false);
        };
        let envelope = Envelope::parse(
            text,
            Some(self.properties.envelope_version),
            &self.properties.reader_quotas,
            self.properties.max_headers,
        )?;
        if let Err(rejected) = crate::core::check_must_understand(&envelope, &self.understood) {
            let (fault, error) = *rejected;
            self.with(|s| s.receive_fault = Some(fault));
            return Err(error);
        }
        message.fill_from(envelope, None, &self.properties.reader_quotas)?;
        message.state_machine().read_completed()?;
        Ok(true)
    }

    /// The next envelope as UTF-8 text, or `None` after the peer's End record.
    async fn receive_envelope(&self, op: &Op<'_>) -> Result<Option<Bytes>> {
        let timeout = self.properties.timeout(Timeout::Receive);
        let _turn =
            op.run("waiting for the receive side", timeout, async { Ok(self.receive_turn.lock().await) }).await?;
        if self.with(|s| s.received_end) {
            return Ok(None);
        }
        let reader = self.take_reader()?;
        let (mut reader, record) = op
            .run("receiving a message", timeout, async move {
                let mut reader = reader;
                let record = reader.next_record().await;
                Ok((reader, record))
            })
            .await?;
        let role = self.with(|s| s.role);
        match record {
            Ok(Record::SizedEnvelope(payload)) => {
                match reader.decoder.decode(payload, &self.properties.reader_quotas) {
                    Ok(text) => {
                        self.with(|s| s.reader = Some(reader));
                        Ok(Some(text))
                    }
                    Err(e) => {
                        // The session dictionary (or the binary stream) can no longer be
                        // trusted: the channel faults, as WWSAPI's quota rule says.
                        self.core.fault();
                        Err(e)
                    }
                }
            }
            Ok(Record::End) => {
                self.with(|s| {
                    s.received_end = true;
                    s.reader = Some(reader);
                });
                Ok(None)
            }
            Ok(Record::Fault(fault)) if role == Role::Initiator => {
                self.core.fault();
                Err(nmf::faults::error_for_fault(&fault))
            }
            Ok(other) => {
                self.core.fault();
                Err(Error::invalid_format(format!("unexpected {} record during the session", record_name(&other))))
            }
            Err(RecordError { error, fault }) => {
                if let (Some(fault), Role::Responder) = (fault, role) {
                    self.send_fault_record(fault).await;
                }
                self.core.fault();
                Err(error)
            }
        }
    }

    /// Best effort: tells the initiator why the session ends (a framing fault record), if
    /// the send side is free. Never waits for more than a second.
    async fn send_fault_record(&self, fault: &'static str) {
        let Ok(_turn) = self.send_turn.try_lock() else { return };
        let Some(mut writer) = self.with(|s| s.writer.take()) else { return };
        let record = Record::Fault(fault.to_owned());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), writer.write_record(&record)).await;
        self.with(|s| s.writer = Some(writer));
    }

    /// `WsRequestReply` on a session: gives `request` a MessageID (if it has none), sends it
    /// and receives the next message as its reply, which must relate to it. A fault reply
    /// is `WS_E_ENDPOINT_FAULT_RECEIVED` with the fault attached (and left in `reply`).
    pub async fn request_reply(&self, request: &mut Message, reply: &mut Message) -> Result<()> {
        reply.state_machine().check_receive()?;
        if request.addressing_version() != AddressingVersion::Transport
            && !request.is_raw()
            && request.addressing().message_id.is_none()
        {
            request.addressing_mut().message_id = Some(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
        }
        let sent_id = request.addressing().message_id.clone();
        self.send_message(request).await?;
        if !self.receive_message(reply).await? {
            return Err(Error::new(
                ErrorKind::EndpointDisconnected,
                "the peer ended the session before it replied (End record)",
            ));
        }
        if let (Some(sent), Some(relates)) = (sent_id, reply.addressing().relates_to.clone()) {
            if sent != relates {
                return Err(Error::invalid_format(format!(
                    "the reply's RelatesTo ({relates}) does not match the request's MessageID ({sent})"
                )));
            }
        }
        if let Some(fault) = reply.fault(&self.properties.reader_quotas)? {
            return Err(fault.into_error());
        }
        Ok(())
    }

    /// Convenience: builds a request with `action` and `body` (raw XML content of
    /// `soap:Body`), sends it and returns the reply.
    pub async fn call(&self, action: &str, body: impl Into<Bytes>) -> Result<Message> {
        let mut request = self.new_message();
        request.initialize_request(action, body)?;
        let mut reply = self.new_message();
        self.request_reply(&mut request, &mut reply).await?;
        Ok(reply)
    }

    /// `WsSendFaultMessageForError`: sends the fault for `error` (or the one receiving
    /// decided, e.g. `MustUnderstand`) as the reply to `request`.
    pub async fn send_fault_for_error(&self, request: Option<&Message>, error: &Error) -> Result<()> {
        let fault = self.with(|s| s.receive_fault.take()).unwrap_or_else(|| Fault::from_error(error, true));
        let mut reply = self.new_message();
        reply.initialize_fault(request, &fault)?;
        self.send_message(&mut reply).await
    }

    /// `WsShutdownSessionChannel`: sends the End record — "no more messages" — within the
    /// send timeout. The peer's receive then returns `WS_S_END`; this side can still
    /// receive. A second call, or a send afterwards, is `WS_E_INVALID_OPERATION`.
    pub async fn shutdown_session(&self) -> Result<()> {
        let op = self.core.begin(ChannelCall::ShutdownSession)?;
        let timeout = self.properties.timeout(Timeout::Send);
        let _turn = op.run("waiting for the send side", timeout, async { Ok(self.send_turn.lock().await) }).await?;
        if self.with(|s| s.sent_end) {
            return Err(Error::invalid_operation("the session was already shut down"));
        }
        let writer = self.take_writer()?;
        let sent = op
            .run("sending the End record", timeout, async move {
                let mut writer = writer;
                writer.write_record(&Record::End).await?;
                Ok(writer)
            })
            .await;
        match sent {
            Ok(writer) => {
                self.with(|s| {
                    s.writer = Some(writer);
                    s.sent_end = true;
                });
                Ok(())
            }
            Err(e) => {
                self.core.fault();
                Err(e)
            }
        }
    }

    /// `WsCloseChannel` (see the `core` module for the sentences it implements, and this
    /// module's diagram for the bytes): graceful when no message is being read or written —
    /// End record, the peer's End record within the close timeout, FIN — otherwise rude:
    /// pending calls end with `WS_E_OPERATION_ABORTED` and the connection is reset. An error
    /// during the graceful shutdown is returned with the channel `Closed` all the same.
    pub async fn close(&self) -> Result<()> {
        self.core
            .close(self.properties.timeout(Timeout::Close), || self.graceful_shutdown(), || self.drop_connection(true))
            .await
    }

    async fn graceful_shutdown(&self) -> Result<()> {
        if !self.with(|s| s.sent_end) {
            let mut writer = self.take_writer()?;
            writer.write_record(&Record::End).await?;
            self.with(|s| {
                s.writer = Some(writer);
                s.sent_end = true;
            });
        }
        if !self.with(|s| s.received_end) {
            let mut reader = self.take_reader()?;
            let mut discarded = 0usize;
            loop {
                match reader.next_record().await.map_err(|e| e.error)? {
                    Record::End => break,
                    // The application closed: what the peer still sends is not delivered.
                    Record::SizedEnvelope(_) => discarded += 1,
                    Record::Fault(f) => return Err(nmf::faults::error_for_fault(&f)),
                    other => {
                        return Err(Error::invalid_format(format!(
                            "unexpected {} record while closing the session",
                            record_name(&other)
                        )));
                    }
                }
            }
            if discarded > 0 {
                tracing::debug!("closing the session discarded {discarded} message(s) that arrived after close");
            }
            self.with(|s| {
                s.received_end = true;
                s.reader = Some(reader);
            });
        }
        let mut writer = self.take_writer()?;
        let fin = writer.io.shutdown().await;
        self.drop_connection(false);
        drop(writer);
        match fin {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
            Err(e) => Err(io_error(e, "closing the connection")),
        }
    }

    /// Drops the connection: with a reset (rude close, abort) or after the orderly
    /// shutdown. Halves owned by pending operations go when those operations unwind.
    fn drop_connection(&self, reset: bool) {
        let (reader, writer, handle, slot) =
            self.with(|s| (s.reader.take(), s.writer.take(), s.reset.take(), s.slot.take()));
        if let Some(handle) = handle {
            if reset { handle.reset() } else { handle.release() }
        }
        drop((reader, writer, slot));
    }

    /// `WsAbortChannel`: pending calls end with `WS_E_OPERATION_ABORTED`, the connection is
    /// reset, `Open → Faulted`. Allowed in every state; never waits.
    pub fn abort(&self) {
        self.core.abort();
        self.drop_connection(true);
    }

    /// `WsResetChannel`: `Created | Closed → Created`, ready to open or accept again.
    pub fn reset(&self) -> Result<()> {
        self.core.reset()?;
        self.with(|s| *s = SessionState::default());
        Ok(())
    }

    /// `WsAbandonMessage`: sessions read and write whole messages, so none is ever being
    /// read or written: this checks the state and returns `E_INVALIDARG`.
    pub fn abandon_message(&self, message: &Message) -> Result<()> {
        self.core.abandon(message.id()).map(|_| ())
    }
}

fn too_big(len: usize, limit: usize) -> Error {
    Error::quota_exceeded(format!("the encoded message is {len} bytes, more than max_buffered_message_size ({limit})"))
}

/// A record's name for error messages.
pub(crate) fn record_name(record: &Record) -> &'static str {
    match record {
        Record::Version { .. } => "Version",
        Record::Mode(_) => "Mode",
        Record::Via(_) => "Via",
        Record::KnownEncoding(_) => "KnownEncoding",
        Record::ExtensibleEncoding(_) => "ExtensibleEncoding",
        Record::UnsizedEnvelope => "UnsizedEnvelope",
        Record::SizedEnvelope(_) => "SizedEnvelope",
        Record::End => "End",
        Record::Fault(_) => "Fault",
        Record::UpgradeRequest(_) => "UpgradeRequest",
        Record::UpgradeResponse => "UpgradeResponse",
        Record::PreambleAck => "PreambleAck",
        Record::PreambleEnd => "PreambleEnd",
    }
}
