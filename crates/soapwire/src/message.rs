//! [`Message`]: one SOAP message as an application builds, sends, receives and reads it.
//!
//! This module owns the `WS_MESSAGE` analogue: envelope and addressing versions, the
//! addressing headers, custom header blocks kept in memory, and the body, which is kept as
//! raw XML bytes (a slice of the received buffer, never a DOM) and read with a streaming
//! [`XmlReader`]. Its lifecycle is the message state machine of spec §1.13
//! (`Empty → Initialized → Writing → Done`, `Empty → Reading → Done`, `reset → Empty`).
//!
//! ```
//! use soapwire::{Message, EnvelopeVersion, AddressingVersion};
//!
//! let mut m = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
//! m.initialize_request("http://example.org/echo/echo",
//!     r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#).unwrap();
//! assert_eq!(m.action(), Some("http://example.org/echo/echo"));
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion};
use soapwire_proto::channel::{MessageState, MessageStateMachine};
use soapwire_proto::soap::{Body, Envelope, EnvelopeVersion, Fault, FaultCode, Header};
use soapwire_proto::xml::{QName, ReaderQuotas, XmlReader};
use soapwire_proto::{Error, ErrorKind, Result};

use crate::attachment::{self, InboundAttachment, OutboundAttachment, inbound::InboundParts};

/// Process-unique identity of a message object, used to check that `abandon_message` names
/// the message that is being read or written on a channel.
static NEXT_MESSAGE_ID: AtomicU64 = AtomicU64::new(1);

/// One SOAP message (the `WS_MESSAGE` analogue).
#[derive(Debug)]
pub struct Message {
    id: u64,
    state: MessageStateMachine,
    envelope_version: EnvelopeVersion,
    addressing_version: AddressingVersion,
    addressing: AddressingHeaders,
    headers: Vec<Header>,
    body: Body,
    /// Action carried by the transport (SOAPAction / the `action` media-type parameter), used
    /// with transport addressing.
    transport_action: Option<String>,
    /// A whole envelope supplied by the application, sent byte for byte.
    raw_envelope: Option<Bytes>,
    /// Set by [`Message::initialize_fault`], so the sender knows the fault code without
    /// re-parsing the body it just wrote.
    built_fault: Option<FaultCode>,
    /// Attachments to send after the envelope (the message then goes MTOM).
    outgoing: Vec<attachment::OutgoingPart>,
    /// Send this message MTOM even without attachments.
    force_mtom: bool,
    /// The attachment parts of a received MTOM message, still on the connection.
    inbound: Option<Arc<InboundParts>>,
    /// The message arrived as an MTOM package.
    received_mtom: bool,
}

impl Message {
    /// A new, empty message for the given envelope and addressing versions (state `Empty`).
    pub fn new(envelope_version: EnvelopeVersion, addressing_version: AddressingVersion) -> Message {
        Message {
            id: NEXT_MESSAGE_ID.fetch_add(1, Ordering::Relaxed),
            state: MessageStateMachine::new(),
            envelope_version,
            addressing_version,
            addressing: AddressingHeaders::default(),
            headers: Vec::new(),
            body: Body { xml: Bytes::new(), namespaces: Vec::new() },
            transport_action: None,
            raw_envelope: None,
            built_fault: None,
            outgoing: Vec::new(),
            force_mtom: false,
            inbound: None,
            received_mtom: false,
        }
    }

    /// Initializes the message as a request with an action and body content (state
    /// `Empty → Initialized`). The body is the raw XML of the content of `soap:Body`,
    /// including its own namespace declarations.
    pub fn initialize_request(&mut self, action: &str, body: impl Into<Bytes>) -> Result<()> {
        self.state.initialize()?;
        self.addressing.action = Some(action.to_owned());
        self.body = Body { xml: body.into(), namespaces: Vec::new() };
        Ok(())
    }

    /// Initializes the message from a whole envelope the application wrote, which is sent
    /// byte for byte (e.g. a captured request replayed). The envelope is parsed once to
    /// check it and to learn its version and headers; `action` is the transport action
    /// (SOAPAction / `action` parameter), taken from `wsa:Action` when `None`.
    pub fn initialize_raw_envelope(&mut self, envelope: impl Into<Bytes>, action: Option<&str>) -> Result<()> {
        let bytes: Bytes = envelope.into();
        let parsed = Envelope::parse(bytes.clone(), None, &ReaderQuotas::default(), usize::MAX)?;
        self.state.initialize()?;
        self.envelope_version = parsed.version;
        let version = AddressingHeaders::detect_version(&parsed.headers).unwrap_or(AddressingVersion::Transport);
        if version != AddressingVersion::Transport {
            self.addressing = AddressingHeaders::from_headers(&parsed.headers, version, &ReaderQuotas::default())?;
        }
        self.transport_action = action.map(str::to_owned).or_else(|| self.addressing.action.clone());
        self.body = parsed.body;
        self.raw_envelope = Some(bytes);
        Ok(())
    }

    /// Initializes the message with no action (`WS_BLANK_MESSAGE`).
    pub fn initialize_blank(&mut self, body: impl Into<Bytes>) -> Result<()> {
        self.state.initialize()?;
        self.body = Body { xml: body.into(), namespaces: Vec::new() };
        Ok(())
    }

    /// Initializes the message as the reply to `request` (`WS_REPLY_MESSAGE`): the reply's
    /// RelatesTo is the request's MessageID, as WWSAPI addresses replies automatically.
    pub fn initialize_reply(&mut self, request: &Message, action: &str, body: impl Into<Bytes>) -> Result<()> {
        self.state.initialize()?;
        self.envelope_version = request.envelope_version;
        self.addressing_version = request.addressing_version;
        self.addressing.action = Some(action.to_owned());
        self.addressing.relates_to = request.addressing.message_id.clone();
        self.body = Body { xml: body.into(), namespaces: Vec::new() };
        Ok(())
    }

    /// Initializes the message as a fault reply to `request` (`WS_FAULT_MESSAGE`).
    pub fn initialize_fault(&mut self, request: Option<&Message>, fault: &Fault) -> Result<()> {
        self.state.initialize()?;
        if let Some(request) = request {
            self.envelope_version = request.envelope_version;
            self.addressing_version = request.addressing_version;
            self.addressing.relates_to = request.addressing.message_id.clone();
        }
        self.addressing.action = self.addressing_version.namespace().map(|ns| format!("{ns}/fault"));
        let mut w = soapwire_proto::xml::XmlWriter::new();
        fault.write(self.envelope_version, &mut w);
        self.body = Body { xml: Bytes::from(w.into_bytes()), namespaces: Vec::new() };
        self.built_fault = Some(fault.code.clone());
        Ok(())
    }

    /// The message's state (spec §1.13).
    pub fn state(&self) -> MessageState {
        self.state.state()
    }

    /// Back to `Empty`, dropping headers and body, ready for reuse (`WsResetMessage`).
    pub fn reset(&mut self) {
        self.state.reset();
        self.addressing = AddressingHeaders::default();
        self.headers.clear();
        self.body = Body { xml: Bytes::new(), namespaces: Vec::new() };
        self.transport_action = None;
        self.raw_envelope = None;
        self.built_fault = None;
        self.outgoing.clear();
        self.force_mtom = false;
        self.inbound = None;
        self.received_mtom = false;
    }

    /// The envelope version.
    pub fn envelope_version(&self) -> EnvelopeVersion {
        self.envelope_version
    }

    /// The addressing version.
    pub fn addressing_version(&self) -> AddressingVersion {
        self.addressing_version
    }

    /// The action: the `wsa:Action` header, or with transport addressing the action the
    /// transport carried.
    pub fn action(&self) -> Option<&str> {
        self.addressing.action.as_deref().or(self.transport_action.as_deref())
    }

    /// The WS-Addressing headers.
    pub fn addressing(&self) -> &AddressingHeaders {
        &self.addressing
    }

    /// The WS-Addressing headers, to set MessageID, ReplyTo and so on before sending.
    pub fn addressing_mut(&mut self) -> &mut AddressingHeaders {
        &mut self.addressing
    }

    /// Custom header blocks (everything but the addressing headers of this message's
    /// addressing version).
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Adds a custom header block (`WsAddCustomHeader`).
    pub fn add_header(&mut self, header: Header) {
        self.headers.push(header);
    }

    /// The first custom header with this name.
    pub fn header(&self, namespace: &str, local: &str) -> Option<&Header> {
        self.headers.iter().find(|h| h.name.namespace == namespace && h.name.local == local)
    }

    /// The body content as raw XML bytes.
    pub fn body_xml(&self) -> &Bytes {
        &self.body.xml
    }

    /// The body content as a standalone XML fragment: each top-level element also declares
    /// the namespace bindings it inherited from the envelope (a peer that declares `ns:` on
    /// the Envelope gets `xmlns:ns` on the body element), so it can be printed, stored or
    /// parsed on its own.
    pub fn body_xml_standalone(&self) -> Vec<u8> {
        let mut w = soapwire_proto::xml::XmlWriter::with_capacity(self.body.xml.len() + 128);
        w.raw_with_namespaces(&self.body.xml, &self.body.namespaces, &[]);
        w.into_bytes()
    }

    /// A streaming reader over the body content (namespace bindings of the envelope in
    /// scope), with the given quotas.
    pub fn body_reader(&self, quotas: &ReaderQuotas) -> Result<XmlReader<'_>> {
        self.body.reader(quotas)
    }

    /// The name of the body's first element, if any.
    pub fn body_element(&self, quotas: &ReaderQuotas) -> Result<Option<QName>> {
        self.body.first_element(quotas)
    }

    /// The fault this message carries, if it is a fault message.
    pub fn fault(&self, quotas: &ReaderQuotas) -> Result<Option<Fault>> {
        match self.body.first_element(quotas)? {
            Some(name) if name.namespace == self.envelope_version.namespace() && name.local == "Fault" => {
                Fault::parse(&self.body, self.envelope_version, quotas).map(Some)
            }
            _ => Ok(None),
        }
    }

    // ---- attachments (MTOM) ----

    /// Adds an attachment the application writes while the message is sent (see
    /// [`OutboundAttachment`]). The body must refer to it with
    /// [`OutboundAttachment::write_include`]. The message is sent MTOM; attachments go in
    /// the order they were added.
    pub fn add_attachment(&mut self, attachment: &OutboundAttachment) {
        let source = attachment::PartSource::Writer(attachment.shared().clone());
        self.outgoing.push(attachment::part(attachment.content_id(), attachment.content_type(), source));
    }

    /// Adds an attachment whose bytes are in memory (sent without copying). The body must
    /// refer to `content_id` with an `xop:Include` ([`soapwire_proto::mtom::write_include`]).
    pub fn add_attachment_bytes(&mut self, content_id: &str, content_type: &str, data: impl Into<Bytes>) {
        self.outgoing.push(attachment::part(content_id, content_type, attachment::PartSource::Bytes(data.into())));
    }

    /// Adds an attachment read from a stream as the connection takes it (a file through
    /// `tokio_util::io::ReaderStream`, generated data, another message's
    /// [`InboundAttachment::into_stream`]...). An error from the stream aborts the message.
    pub fn add_attachment_stream<S>(&mut self, content_id: &str, content_type: &str, stream: S)
    where
        S: futures_core::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        self.outgoing.push(attachment::part(content_id, content_type, attachment::boxed_stream(stream)));
    }

    /// Sends this message as an MTOM package even if it has no attachments (per message;
    /// the channel property `encoding` does it for every message).
    pub fn set_mtom(&mut self, mtom: bool) {
        self.force_mtom = mtom;
    }

    /// True if the message has attachments to send or was asked to go MTOM.
    pub fn wants_mtom(&self) -> bool {
        self.force_mtom || !self.outgoing.is_empty()
    }

    /// True if this received message arrived as an MTOM (XOP) package.
    pub fn is_mtom(&self) -> bool {
        self.received_mtom
    }

    /// The Content-IDs the received body refers to with `xop:Include`, in document order
    /// (empty for a message that is not MTOM).
    pub fn attachment_references(&self) -> &[String] {
        self.inbound.as_ref().map_or(&[], |p| p.references())
    }

    /// The attachment with `content_id` of a received MTOM message, read from the network as
    /// it is consumed. `InvalidFormat` if the message has no such part (or a part that
    /// nothing refers to comes first); `InvalidOperation` if it was already taken.
    pub async fn attachment(&self, content_id: &str) -> Result<InboundAttachment> {
        match &self.inbound {
            Some(parts) => parts.open(content_id).await,
            None => {
                Err(Error::invalid_format(format!("the message has no attachment '{content_id}' (it is not MTOM)")))
            }
        }
    }

    /// The next attachment of a received MTOM message in wire order, `None` after the last.
    pub async fn next_attachment(&self) -> Result<Option<InboundAttachment>> {
        match &self.inbound {
            Some(parts) => parts.next().await,
            None => Ok(None),
        }
    }

    // ---- used by the channels ----

    pub(crate) fn take_outgoing(&mut self) -> Vec<attachment::OutgoingPart> {
        std::mem::take(&mut self.outgoing)
    }

    pub(crate) fn set_inbound(&mut self, parts: Option<Arc<InboundParts>>) {
        self.received_mtom = true;
        self.inbound = parts;
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn state_machine(&mut self) -> &mut MessageStateMachine {
        &mut self.state
    }

    /// Serialises the whole envelope (buffered mode).
    pub(crate) fn encode(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw_envelope {
            return raw.to_vec();
        }
        let headers = self.wire_headers();
        soapwire_proto::soap::write_envelope_with_body(self.envelope_version, &headers, &self.body)
    }

    /// The header blocks as they go on the wire: addressing headers first, then custom ones.
    /// The fault code if this message is a fault: known without parsing when the message was
    /// built with [`Message::initialize_fault`]; otherwise the body is parsed only if its
    /// first element is the envelope's `Fault`.
    pub(crate) fn fault_code(&self, quotas: &ReaderQuotas) -> Result<Option<FaultCode>> {
        if let Some(code) = &self.built_fault {
            return Ok(Some(code.clone()));
        }
        // An element's name is never written with character references, so a body whose
        // bytes do not contain "Fault" has no Fault element: skip the parse (the usual reply).
        if memchr::memmem::find(&self.body.xml, b"Fault").is_none() {
            return Ok(None);
        }
        Ok(self.fault(quotas)?.map(|f| f.code))
    }

    pub(crate) fn is_raw(&self) -> bool {
        self.raw_envelope.is_some()
    }

    pub(crate) fn wire_headers(&self) -> Vec<Header> {
        let mut all = self.addressing.to_headers(self.addressing_version, self.envelope_version);
        all.extend(self.headers.iter().cloned());
        all
    }

    /// Fills an `Empty` message from a parsed envelope (state `Empty → Reading`).
    pub(crate) fn fill_from(
        &mut self,
        envelope: Envelope,
        transport_action: Option<String>,
        quotas: &ReaderQuotas,
    ) -> Result<()> {
        if envelope.version != self.envelope_version {
            return Err(Error::new(
                ErrorKind::InvalidFormat,
                format!(
                    "envelope version {:?} does not match the channel's {:?}",
                    envelope.version, self.envelope_version
                ),
            ));
        }
        let version = AddressingHeaders::detect_version(&envelope.headers).unwrap_or(self.addressing_version);
        let addressing = if version == AddressingVersion::Transport {
            AddressingHeaders::default()
        } else {
            AddressingHeaders::from_headers(&envelope.headers, version, quotas)?
        };
        self.state.read_started()?;
        let addressing_ns = version.namespace();
        self.headers =
            envelope.headers.into_iter().filter(|h| Some(h.name.namespace.as_str()) != addressing_ns).collect();
        self.addressing = addressing;
        if version != AddressingVersion::Transport {
            self.addressing_version = version;
        }
        self.body = envelope.body;
        self.transport_action = transport_action;
        Ok(())
    }

    pub(crate) fn set_envelope_version(&mut self, v: EnvelopeVersion) {
        self.envelope_version = v;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `send_reply` picks the HTTP status from `fault_code`: a fault written by hand with
    /// `initialize_reply` must still be found (the scan for the bytes "Fault" only skips the
    /// parse when they are absent), and a reply that merely mentions a fault is not one.
    #[test]
    fn fault_code_finds_hand_written_faults_and_only_them() {
        let quotas = ReaderQuotas::default();
        let request = Message::new(EnvelopeVersion::Soap11, AddressingVersion::Transport);
        let reply_with = |body: &'static str| {
            let mut m = Message::new(EnvelopeVersion::Soap11, AddressingVersion::Transport);
            m.initialize_reply(&request, "urn:r", body).unwrap();
            m
        };
        let fault = reply_with(
            r#"<s:Fault xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>s:Client</faultcode><faultstring>no</faultstring></s:Fault>"#,
        );
        assert_eq!(fault.fault_code(&quotas).unwrap(), Some(FaultCode::Sender));
        let plain = reply_with(r#"<e:echoResponse xmlns:e="urn:e"><e:message>hi</e:message></e:echoResponse>"#);
        assert_eq!(plain.fault_code(&quotas).unwrap(), None);
        let mentions = reply_with(r#"<e:echoResponse xmlns:e="urn:e"><e:message>Fault</e:message></e:echoResponse>"#);
        assert_eq!(mentions.fault_code(&quotas).unwrap(), None);
    }
}
