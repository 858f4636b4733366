//! The benchmark inputs and hot-path workloads shared by this directory's benchmarks.
//!
//! This module owns the representative documents ([`documents`]: the interop peers' echo
//! envelopes, a WS-Addressing-heavy SOAP 1.2 envelope, a 1 MiB base64 body and a body of
//! 10,000 small elements; and the echo request and reply of `bench nettcp`,
//! [`nettcp_request`] and [`nettcp_reply`]), quick-xml's raw event loop (the ceiling of
//! reads) and the named workloads ([`CASES`], built by [`prepare`]) that `micro.rs` times
//! with divan and `instructions.rs` runs at fixed counts under callgrind, so both measure
//! exactly the same calls. `xml.rs` uses the documents, [`quick_xml_raw`] and
//! [`read_envelope`].

#![allow(dead_code, reason = "each benchmark of this directory uses a different part")]

use std::hint::black_box;

use base64::Engine as _;
use bytes::Bytes;
use quick_xml::Reader;
use quick_xml::events::Event;
use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion};
use soapwire_proto::framing::binary::{
    DEFAULT_MAX_SESSION_DICTIONARY_SIZE, SessionDecoder, SessionEncoder, decode_document, encode_document,
};
use soapwire_proto::mime::{MimeQuotas, MultipartEvent, MultipartParser, MultipartWriter, SOAP12_START_INFO};
use soapwire_proto::mtom;
use soapwire_proto::soap::{Body, Envelope, EnvelopeVersion, write_envelope_with_body};
use soapwire_proto::xml::{ReaderQuotas, XmlEvent};

/// The interop peers' SOAP 1.1 echo request.
pub(crate) const ECHO11: &[u8] = include_bytes!("../../../../interop/peers/common/echo11.xml");
/// The interop peers' SOAP 1.2 echo request.
pub(crate) const ECHO12: &[u8] = include_bytes!("../../../../interop/peers/common/echo12.xml");

const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const ECHO_NS: &str = "http://example.org/echo";
const WSA10: &str = "http://www.w3.org/2005/08/addressing";

/// Bytes of base64 text in [`base64_envelope`] (and of data in the base64 workloads).
pub(crate) const BASE64_TEXT_BYTES: usize = 1 << 20;
/// Elements in [`elements_envelope`].
pub(crate) const SMALL_ELEMENTS: usize = 10_000;
/// The attachment in the MIME workload.
pub(crate) const MIME_PART_BYTES: usize = 16 << 20;
/// The pieces the MIME workload pushes it in.
pub(crate) const MIME_CHUNK_BYTES: usize = 64 << 10;
/// `max_headers` for [`Envelope::parse`] (the runtime's default).
pub(crate) const MAX_HEADERS: usize = 64;

/// One benchmark document.
pub(crate) struct Doc {
    /// Its name in the tables.
    pub(crate) name: &'static str,
    /// The whole envelope as received.
    pub(crate) wire: Bytes,
    /// Whether the body content declares every namespace it uses (so that
    /// `write_envelope` may copy it as it is).
    pub(crate) self_contained_body: bool,
}

/// The documents of `bench xml` and of the read/write workloads, smallest first.
pub(crate) fn documents() -> Vec<Doc> {
    vec![
        Doc { name: "echo11", wire: Bytes::from_static(ECHO11), self_contained_body: false },
        Doc { name: "echo12", wire: Bytes::from_static(ECHO12), self_contained_body: false },
        Doc { name: "wsa12", wire: Bytes::from(wsa_envelope()), self_contained_body: true },
        Doc { name: "base64-1mib", wire: Bytes::from(base64_envelope()), self_contained_body: true },
        Doc { name: "elements-10k", wire: Bytes::from(elements_envelope()), self_contained_body: true },
    ]
}

/// The document named `name`.
pub(crate) fn document(name: &str) -> Doc {
    documents().into_iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no document {name:?}"))
}

/// A SOAP 1.2 echo request with eight header blocks, as WCF-style clients send them: the
/// seven WS-Addressing 1.0 headers (`ReplyTo`, `FaultTo` and `From` as endpoint references,
/// one with reference parameters) and a targeted extension header.
pub(crate) fn wsa_envelope() -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{SOAP12}" xmlns:a="{WSA10}"><s:Header>
<a:Action s:mustUnderstand="1">http://example.org/echo/EchoPortType/echo</a:Action>
<a:MessageID>urn:uuid:6b29fc40-ca47-1067-b31d-00dd010662da</a:MessageID>
<a:RelatesTo>urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e</a:RelatesTo>
<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
<a:FaultTo><a:Address>http://client.example.org/faults</a:Address><a:ReferenceParameters><r:session xmlns:r="urn:example:session">42</r:session></a:ReferenceParameters></a:FaultTo>
<a:From><a:Address>http://client.example.org/</a:Address></a:From>
<a:To s:mustUnderstand="1">http://127.0.0.1:8080/echo</a:To>
<t:Trace xmlns:t="urn:example:trace" s:role="http://www.w3.org/2003/05/soap-envelope/role/next">hop-1</t:Trace>
</s:Header><s:Body><e:echo xmlns:e="{ECHO_NS}"><e:message>hello, world</e:message></e:echo></s:Body></s:Envelope>"#
    )
    .into_bytes()
}

/// The `echo("hello, world")` request of `cargo xtask bench nettcp` as a soapwire session
/// client sends it: SOAP 1.2, WS-Addressing 1.0 `Action`, `MessageID` and `To`, written by
/// the same calls as `Message::encode` (`AddressingHeaders::to_headers`, then
/// `write_envelope_with_body`). A fixed MessageID and port keep it the same on every run.
pub(crate) fn nettcp_request() -> Vec<u8> {
    let addressing = AddressingHeaders {
        action: Some("http://example.org/echo/echo".to_owned()),
        message_id: Some("urn:uuid:6b29fc40-ca47-4067-b31d-00dd010662da".to_owned()),
        to: Some("net.tcp://127.0.0.1:40123/echo".to_owned()),
        ..AddressingHeaders::default()
    };
    let body = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hello, world</e:message></e:echo>"#;
    addressed_envelope(&addressing, body)
}

/// The echo service's reply to [`nettcp_request`]: `Action` and `RelatesTo`, and the
/// `echoResponse` body the service writes.
pub(crate) fn nettcp_reply() -> Vec<u8> {
    let addressing = AddressingHeaders {
        action: Some("http://example.org/echo/EchoPortType/echoResponse".to_owned()),
        relates_to: Some("urn:uuid:6b29fc40-ca47-4067-b31d-00dd010662da".to_owned()),
        ..AddressingHeaders::default()
    };
    let body =
        r#"<e:echoResponse xmlns:e="http://example.org/echo"><e:message>hello, world</e:message></e:echoResponse>"#;
    addressed_envelope(&addressing, body)
}

fn addressed_envelope(addressing: &AddressingHeaders, body: &str) -> Vec<u8> {
    let headers = addressing.to_headers(AddressingVersion::V1_0, EnvelopeVersion::Soap12);
    let body = Body { xml: Bytes::copy_from_slice(body.as_bytes()), namespaces: Vec::new() };
    write_envelope_with_body(EnvelopeVersion::Soap12, &headers, &body)
}

/// `n` deterministic pseudo-random bytes (xorshift64; the same on every run).
pub(crate) fn pseudo_random(n: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// [`BASE64_TEXT_BYTES`] of base64 text: the encoding of 3/4 as many pseudo-random bytes.
pub(crate) fn base64_text() -> String {
    base64::engine::general_purpose::STANDARD.encode(pseudo_random(BASE64_TEXT_BYTES / 4 * 3))
}

/// A SOAP 1.2 `echoData` request carrying [`base64_text`] in one element.
pub(crate) fn base64_envelope() -> Vec<u8> {
    let text = base64_text();
    let mut out = envelope_start();
    out.push_str(r#"<e:echoData xmlns:e=""#);
    out.push_str(ECHO_NS);
    out.push_str(r#""><e:data>"#);
    out.push_str(&text);
    out.push_str("</e:data></e:echoData></s:Body></s:Envelope>");
    out.into_bytes()
}

/// A SOAP 1.2 envelope whose body holds [`SMALL_ELEMENTS`] elements `<e:item>N</e:item>`.
pub(crate) fn elements_envelope() -> Vec<u8> {
    let mut out = envelope_start();
    out.push_str(r#"<e:items xmlns:e="urn:example:items">"#);
    for i in 0..SMALL_ELEMENTS {
        out.push_str("<e:item>");
        out.push_str(&i.to_string());
        out.push_str("</e:item>");
    }
    out.push_str("</e:items></s:Body></s:Envelope>");
    out.into_bytes()
}

/// An MTOM `echoData` root envelope whose data is an `xop:Include` of part `data-1`.
pub(crate) fn xop_envelope() -> Vec<u8> {
    let mut out = envelope_start();
    out.push_str(r#"<e:echoData xmlns:e=""#);
    out.push_str(ECHO_NS);
    out.push_str(r#""><e:data><xop:Include xmlns:xop=""#);
    out.push_str(mtom::XOP_INCLUDE_NAMESPACE);
    out.push_str(r#"" href="cid:data-1"/></e:data></e:echoData></s:Body></s:Envelope>"#);
    out.into_bytes()
}

fn envelope_start() -> String {
    format!(r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP12}"><s:Body>"#)
}

/// An MTOM message (as [`MultipartWriter`] writes it): the [`xop_envelope`] root part and a
/// [`MIME_PART_BYTES`] pseudo-random attachment. Returns `(boundary, body)`.
pub(crate) fn mtom_message() -> (String, Vec<u8>) {
    let mut w = MultipartWriter::new("2d1c6a5e-8f2b-4c1d-9e3a-5b7c8d9e0f1a", "root", SOAP12_START_INFO)
        .expect("a valid seed, id and start-info");
    let mut body = Vec::with_capacity(MIME_PART_BYTES + 1024);
    let pieces = [
        w.start_root(),
        w.data(Bytes::from(xop_envelope())),
        w.start_part("data-1", "application/octet-stream"),
        w.data(Bytes::from(pseudo_random(MIME_PART_BYTES))),
        w.finish(),
    ];
    for piece in pieces {
        body.extend_from_slice(&piece.expect("the writer accepts the calls in order"));
    }
    (w.boundary().to_owned(), body)
}

/// Parses `wire` as [`Envelope::parse`] does for a received message, then reads the body
/// with [`Body::reader`](soapwire_proto::soap::Body::reader) to its end, as a service does.
/// Returns the envelope and the number of body events.
pub(crate) fn read_envelope(wire: &Bytes, quotas: &ReaderQuotas) -> soapwire_proto::Result<(Envelope, usize)> {
    let envelope = Envelope::parse(wire.clone(), None, quotas, MAX_HEADERS)?;
    let mut reader = envelope.body.reader(quotas)?;
    let mut events = 0;
    while !matches!(reader.next()?, XmlEvent::Eof) {
        events += 1;
    }
    drop(reader);
    Ok((envelope, events))
}

/// The ceiling of every XML read: quick-xml's raw [`Reader`] over the whole document, every
/// event, no namespace resolution. Returns the number of events.
pub(crate) fn quick_xml_raw(doc: &[u8]) -> quick_xml::Result<usize> {
    let mut reader = Reader::from_reader(doc);
    let mut events = 0;
    loop {
        match reader.read_event()? {
            Event::Eof => return Ok(events),
            event => {
                black_box(&event);
                events += 1;
            }
        }
    }
}

/// Pushes `body` into a [`MultipartParser`] in [`MIME_CHUNK_BYTES`] pieces, draining the
/// events after each push; returns the part data bytes handed out.
pub(crate) fn parse_multipart(boundary: &str, body: &[u8]) -> soapwire_proto::Result<u64> {
    let mut parser = MultipartParser::new(boundary, MimeQuotas::default())?;
    let mut data = 0u64;
    for chunk in body.chunks(MIME_CHUNK_BYTES) {
        parser.push(chunk)?;
        while let Some(event) = parser.poll_event() {
            if let MultipartEvent::PartData(bytes) = event? {
                data += bytes.len() as u64;
            }
        }
    }
    parser.finish()?;
    Ok(data)
}

/// One named workload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Case {
    /// The hot path (a divan benchmark function).
    pub(crate) group: &'static str,
    /// The input (the divan argument).
    pub(crate) arg: &'static str,
    /// Calls per callgrind run: enough to dwarf one-time costs, few enough for valgrind.
    pub(crate) iterations: u32,
}

impl Case {
    /// `group/arg`, the workload's name in the instruction-count tables.
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.group, self.arg)
    }
}

/// Every workload. Reads and writes use the [`documents`]; header lookups the `wsa12` one;
/// `quick_xml_raw` is the reads' ceiling, for reference. `nbfx` is the .NET Binary XML
/// transcoder (`framing::binary`) on [`nettcp_request`] and [`nettcp_reply`]: one NBFX
/// document each way, and a binary-session message each way in the steady state (every
/// string already in the session dictionary, as from the second message of a session on);
/// `nbfx/quick-xml-raw-request` is quick-xml's raw event loop over the same request text,
/// for scale.
pub(crate) const CASES: &[Case] = &[
    Case { group: "envelope_read", arg: "echo11", iterations: 2000 },
    Case { group: "envelope_read", arg: "wsa12", iterations: 1000 },
    Case { group: "envelope_read", arg: "base64-1mib", iterations: 5 },
    Case { group: "envelope_read", arg: "elements-10k", iterations: 5 },
    Case { group: "quick_xml_raw", arg: "echo11", iterations: 2000 },
    Case { group: "quick_xml_raw", arg: "wsa12", iterations: 1000 },
    Case { group: "quick_xml_raw", arg: "base64-1mib", iterations: 5 },
    Case { group: "quick_xml_raw", arg: "elements-10k", iterations: 5 },
    Case { group: "envelope_write", arg: "echo11", iterations: 2000 },
    Case { group: "envelope_write", arg: "wsa12", iterations: 1000 },
    Case { group: "envelope_write", arg: "base64-1mib", iterations: 20 },
    Case { group: "envelope_write", arg: "elements-10k", iterations: 5 },
    Case { group: "header_lookup", arg: "envelope_header", iterations: 10000 },
    Case { group: "header_lookup", arg: "addressing_from_headers", iterations: 1000 },
    Case { group: "mime_boundary_search", arg: "16mib-part-64k-chunks", iterations: 2 },
    Case { group: "base64", arg: "encode-1mib", iterations: 5 },
    Case { group: "base64", arg: "decode-1mib", iterations: 5 },
    Case { group: "include_references", arg: "xop", iterations: 2000 },
    Case { group: "include_references", arg: "no-xop-1mib", iterations: 5 },
    Case { group: "nbfx", arg: "encode-request", iterations: 2000 },
    Case { group: "nbfx", arg: "encode-reply", iterations: 2000 },
    Case { group: "nbfx", arg: "decode-request", iterations: 2000 },
    Case { group: "nbfx", arg: "decode-reply", iterations: 2000 },
    Case { group: "nbfx", arg: "session-encode-request", iterations: 2000 },
    Case { group: "nbfx", arg: "session-encode-reply", iterations: 2000 },
    Case { group: "nbfx", arg: "session-decode-request", iterations: 2000 },
    Case { group: "nbfx", arg: "session-decode-reply", iterations: 2000 },
    Case { group: "nbfx", arg: "quick-xml-raw-request", iterations: 2000 },
];

/// The arguments of workload group `group`, in [`CASES`] order.
pub(crate) fn args(group: &str) -> Vec<&'static str> {
    CASES.iter().filter(|c| c.group == group).map(|c| c.arg).collect()
}

/// A workload ready to run: its input is built, `run` makes one call of the hot path.
pub(crate) struct Prepared {
    /// Bytes one call processes (input bytes; for writes, output bytes).
    pub(crate) bytes: usize,
    /// One call of the hot path (its result goes through [`black_box`]).
    pub(crate) run: Box<dyn Fn()>,
}

/// Builds workload `group/arg` of [`CASES`]. Panics for an unknown one, or when the input
/// does not parse (the workloads measure the success paths).
pub(crate) fn prepare(group: &str, arg: &str) -> Prepared {
    let quotas = ReaderQuotas::default();
    match group {
        "envelope_read" => {
            let wire = document(arg).wire;
            let bytes = wire.len();
            Prepared { bytes, run: Box::new(move || drop(black_box(read_envelope(black_box(&wire), &quotas)))) }
        }
        "quick_xml_raw" => {
            let wire = document(arg).wire;
            Prepared { bytes: wire.len(), run: Box::new(move || drop(black_box(quick_xml_raw(black_box(&wire))))) }
        }
        "envelope_write" => {
            let (envelope, _) = read_envelope(&document(arg).wire, &quotas).expect("the document parses");
            let bytes = write_envelope_with_body(envelope.version, &envelope.headers, &envelope.body).len();
            let run = move || {
                let e = black_box(&envelope);
                drop(black_box(write_envelope_with_body(e.version, &e.headers, &e.body)));
            };
            Prepared { bytes, run: Box::new(run) }
        }
        "header_lookup" => {
            let doc = document("wsa12");
            let envelope = Envelope::parse(doc.wire.clone(), None, &quotas, MAX_HEADERS).expect("wsa12 parses");
            let run: Box<dyn Fn()> = match arg {
                // The 7th of 8 headers, and one that is not there.
                "envelope_header" => Box::new(move || {
                    let e = black_box(&envelope);
                    black_box(e.header(WSA10, "To"));
                    black_box(e.header(WSA10, "Missing"));
                }),
                "addressing_from_headers" => Box::new(move || {
                    let h = black_box(&envelope.headers);
                    drop(black_box(AddressingHeaders::from_headers(h, AddressingVersion::V1_0, &quotas)));
                }),
                _ => panic!("no header_lookup workload {arg:?}"),
            };
            Prepared { bytes: doc.wire.len(), run }
        }
        "mime_boundary_search" => {
            let (boundary, body) = mtom_message();
            let bytes = body.len();
            Prepared { bytes, run: Box::new(move || drop(black_box(parse_multipart(&boundary, black_box(&body))))) }
        }
        "base64" => {
            let engine = base64::engine::general_purpose::STANDARD;
            match arg {
                "encode-1mib" => {
                    let data = pseudo_random(BASE64_TEXT_BYTES);
                    Prepared {
                        bytes: data.len(),
                        run: Box::new(move || drop(black_box(engine.encode(black_box(&data))))),
                    }
                }
                "decode-1mib" => {
                    let text = base64_text();
                    Prepared {
                        bytes: text.len(),
                        run: Box::new(move || drop(black_box(engine.decode(black_box(&text))))),
                    }
                }
                _ => panic!("no base64 workload {arg:?}"),
            }
        }
        "include_references" => {
            let wire = match arg {
                "xop" => Bytes::from(xop_envelope()),
                "no-xop-1mib" => Bytes::from(base64_envelope()),
                _ => panic!("no include_references workload {arg:?}"),
            };
            let envelope = Envelope::parse(wire, None, &quotas, MAX_HEADERS).expect("the envelope parses");
            let bytes = envelope.body.xml.len();
            let run = move || drop(black_box(mtom::include_references(black_box(&envelope.body), &quotas)));
            Prepared { bytes, run: Box::new(run) }
        }
        "nbfx" => prepare_nbfx(arg),
        _ => panic!("no workload group {group:?}"),
    }
}

/// Workload `nbfx/arg`: `[session-](encode|decode)-(request|reply)`, or
/// `quick-xml-raw-request`.
fn prepare_nbfx(arg: &str) -> Prepared {
    let quotas = ReaderQuotas::default();
    if arg == "quick-xml-raw-request" {
        let text = nettcp_request();
        return Prepared { bytes: text.len(), run: Box::new(move || drop(black_box(quick_xml_raw(black_box(&text))))) };
    }
    let (step, message) = arg.rsplit_once('-').unwrap_or_else(|| panic!("no nbfx workload {arg:?}"));
    let text = match message {
        "request" => nettcp_request(),
        "reply" => nettcp_reply(),
        _ => panic!("no nbfx workload {arg:?}"),
    };
    let bytes = text.len();
    // The session workloads run in the steady state: the first message filled both
    // dictionaries, so every later one carries an empty StringTable.
    let mut encoder = SessionEncoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let mut decoder = SessionDecoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let (mut first, mut steady) = (Vec::new(), Vec::new());
    encoder.encode_envelope(&text, &mut first).expect("the envelope encodes");
    decoder.decode_envelope(&first, &quotas).expect("the first message decodes");
    encoder.encode_envelope(&text, &mut steady).expect("the envelope encodes");
    let (encoder, decoder) = (std::cell::RefCell::new(encoder), std::cell::RefCell::new(decoder));
    let run: Box<dyn Fn()> = match step {
        "encode" => Box::new(move || {
            let mut out = Vec::new();
            drop(black_box(encode_document(black_box(&text), &mut out)));
            drop(black_box(out));
        }),
        "decode" => {
            let mut binary = Vec::new();
            encode_document(&text, &mut binary).expect("the envelope encodes");
            Box::new(move || drop(black_box(decode_document(black_box(&binary), &quotas))))
        }
        "session-encode" => Box::new(move || {
            let mut out = Vec::new();
            drop(black_box(encoder.borrow_mut().encode_envelope(black_box(&text), &mut out)));
            drop(black_box(out));
        }),
        "session-decode" => {
            assert_eq!(steady.first(), Some(&0), "the steady state has an empty StringTable");
            Box::new(move || drop(black_box(decoder.borrow_mut().decode_envelope(black_box(&steady), &quotas))))
        }
        _ => panic!("no nbfx workload {arg:?}"),
    };
    Prepared { bytes, run }
}
