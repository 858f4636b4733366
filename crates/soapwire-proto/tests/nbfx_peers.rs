//! Interop of the .NET Binary XML transcoder (`framing::binary`) with two independent
//! Python implementations installed among the pinned peers:
//!
//! * `pynettcp` (said to be byte-exact with WCF): its `BinaryXmlReader` decodes what our
//!   encoder writes, and its `BinaryXmlWriter` + `SessionCodec` write a three-message
//!   `application/soap+msbinsession1` session that our `SessionDecoder` reads;
//! * `wcf` (python-wcfbin): its record parser and printer decode what our encoder writes.
//!
//! Infosets are compared, not bytes: expanded element and attribute names, attribute values
//! and text. The peers live in `$PEERS_PREFIX/venv` (default `/opt/soap-peers`). When the
//! venv or a package is missing, the tests print a note and pass, unless
//! `SOAPWIRE_REQUIRE_PEERS` is set (non-empty, not `0`), when they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use soapwire_proto::framing::binary::{DEFAULT_MAX_SESSION_DICTIONARY_SIZE, SessionDecoder, encode_document};
use soapwire_proto::soap::{Envelope, EnvelopeVersion, Header, write_envelope};
use soapwire_proto::xml::{QName, ReaderQuotas, XmlEvent, XmlReader};

/// The peers' Python, or `None` (after a note) when they are missing and not required.
fn python() -> Option<PathBuf> {
    let prefix = std::env::var_os("PEERS_PREFIX").map_or_else(|| PathBuf::from("/opt/soap-peers"), PathBuf::from);
    let python = prefix.join("venv/bin/python");
    let probe = Command::new(&python)
        .args(["-c", "import pynettcp.nbfx, pynettcp.nbfs, pynettcp.soap, pynettcp.xmltree, wcf.records.base"])
        .output();
    let problem = match probe {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => format!(
            "{} cannot import pynettcp and wcf: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("{} cannot be run: {e}", python.display()),
    };
    let required = std::env::var_os("SOAPWIRE_REQUIRE_PEERS").is_some_and(|v| !v.is_empty() && v != "0");
    if required {
        panic!(
            "{problem}.\nSOAPWIRE_REQUIRE_PEERS is set, so a missing peer is a failure \
             (install the peers with `cargo xtask peers install`)."
        );
    }
    eprintln!("note: skipping this test: {problem}. Set SOAPWIRE_REQUIRE_PEERS=1 to turn this into a failure.");
    None
}

/// Runs `script` with `input` on stdin and returns its stdout; any failure panics with stderr.
fn run(python: &PathBuf, script: &str, input: &str) -> String {
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "the python peer script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Decodes NBFX with pynettcp and with wcf, and prints, per input line, the canonical infoset
/// of the original text, of pynettcp's decoding and of wcf's, separated by tabs.
const DECODE_WITH_PEERS: &str = r#"
import html.entities, io, json, logging, re, sys, uuid
import xml.etree.ElementTree as ET
logging.disable(logging.CRITICAL)
import pynettcp.nbfx as nbfx, pynettcp.xmltree as xmltree
from wcf.records.base import Record
import wcf.records.elements, wcf.records.attributes, wcf.records.text
from wcf.records import print_records

def canon(e):
    text = (e.text or '') + ''.join(c.tail or '' for c in e)
    return [e.tag, sorted(e.attrib.items()), text if text.strip() else '', [canon(c) for c in e]]

def pynettcp_tree(data):
    events = nbfx.BinaryXmlReader(data).read()
    # pynettcp returns UniqueIdText and UuidText alike as uuid.UUID and prints neither with
    # "urn:uuid:"; our encoder only ever writes UniqueIdText.
    events = [('text', 'urn:uuid:' + str(e[1])) if e[0] == 'text' and isinstance(e[1], uuid.UUID) else e for e in events]
    return xmltree.events_to_element(events)

def wcf_tree(data):
    out = io.StringIO()
    print_records(Record.parse(io.BytesIO(data)), fp=out)
    # python-wcfbin's EmptyTextRecord has no __str__ (it prints its repr), and it escapes
    # non-ASCII text as HTML named entities; undo both.
    text = out.getvalue().replace('<EmptyTextRecord(type=0xA8)>', '')
    text = re.sub(r'&([A-Za-z][A-Za-z0-9]*);',
                  lambda m: m.group(0) if m.group(1) in ('lt', 'gt', 'amp', 'quot', 'apos')
                  else chr(html.entities.name2codepoint[m.group(1)]), text)
    return ET.fromstring(text)

for line in sys.stdin:
    binary, text = line.split()
    data, xml = bytes.fromhex(binary), bytes.fromhex(text)
    row = [canon(ET.fromstring(xml)), canon(pynettcp_tree(data)), canon(wcf_tree(data))]
    print('\t'.join(json.dumps(r, ensure_ascii=True) for r in row))
"#;

/// Envelopes as applications and our writer produce them: WS-Addressing headers (a
/// `urn:uuid:` MessageID, the anonymous address, mustUnderstand), typed-looking text,
/// escapes, non-ASCII, empty elements and attributes, long text, SOAP 1.1 and 1.2.
fn envelopes() -> Vec<String> {
    let long = "long text ".repeat(40);
    let mut list = vec![
        r#"<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><a:Action s:mustUnderstand="1">action</a:Action></s:Header><s:Body><Inventory>0</Inventory></s:Body></s:Envelope>"#.to_owned(),
        format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://tempuri.org/IOrders/Submit</a:Action><a:MessageID>urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">net.tcp://localhost:8000/orders</a:To><h:Trace xmlns:h="urn:trace" h:level="-5" s:mustUnderstand="0">on</h:Trace></s:Header><s:Body><Submit xmlns="http://tempuri.org/"><order xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Id>70000</Id><Big>9000000000</Big><Neg>-129</Neg><Flag>true</Flag><Off>false</Off><Note>caf&#233; &lt;&amp;&gt; "q" 'a'</Note><Empty/><Missing i:nil="true"/><Attr code="" n="300">x</Attr><Long>{long}</Long></order></Submit></s:Body></s:Envelope>"#
        ),
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring xml:lang="en">Bad &amp; wrong</faultstring><detail><e:Why xmlns:e="urn:e">1</e:Why></detail></soap:Fault></soap:Body></soap:Envelope>"#.to_owned(),
    ];
    for version in [EnvelopeVersion::Soap11, EnvelopeVersion::Soap12] {
        let headers =
            [Header::text(QName::new("http://www.w3.org/2005/08/addressing", "Action"), "urn:echo", true, version)];
        let xml = write_envelope(
            version,
            &headers,
            br#"<e:echo xmlns:e="urn:echo"><e:message>h&#233;llo</e:message></e:echo>"#,
        );
        list.push(String::from_utf8(xml).unwrap());
    }
    list
}

#[test]
fn our_encoding_is_decoded_by_pynettcp_and_wcf_to_the_same_infoset() {
    let Some(python) = python() else { return };
    let mut input = String::new();
    for xml in envelopes() {
        let mut binary = Vec::new();
        encode_document(xml.as_bytes(), &mut binary).unwrap();
        input.push_str(&format!("{} {}\n", hex(&binary), hex(xml.as_bytes())));
    }
    let output = run(&python, DECODE_WITH_PEERS, &input);
    let rows: Vec<&str> = output.lines().collect();
    assert_eq!(rows.len(), envelopes().len(), "{output}");
    for (row, xml) in rows.iter().zip(envelopes()) {
        let cols: Vec<&str> = row.split('\t').collect();
        assert_eq!(cols.len(), 3, "{row}");
        assert_eq!(cols[1], cols[0], "pynettcp reads another infoset for\n{xml}");
        assert_eq!(cols[2], cols[0], "wcf (python-wcfbin) reads another infoset for\n{xml}");
    }
}

/// Writes a three-message session with pynettcp's `BinaryXmlWriter` and `SessionCodec`
/// (data-contract names in the session dictionary, as WCF puts them there) and prints each
/// payload in hex, then the text XML each message stands for.
const SESSION_FROM_PYNETTCP: &str = r#"
import datetime, uuid
from pynettcp.nbfs import SessionCodec
from pynettcp.nbfx import SessionStr
from pynettcp import soap

NS = SessionStr('urn:DemoService')
XSI = SessionStr('http://www.w3.org/2001/XMLSchema-instance')

def body(i):
    def write(w):
        w.start_element('', SessionStr('LeaveRequest'), NS)
        w.start_element('', SessionStr('EmployeeId')); w.value(1000 + i); w.end_element()
        w.start_element('', SessionStr('ReasonText')); w.value('vacation \u00e9 <&> #%d' % i); w.end_element()
        w.start_element('', SessionStr('TotalDays')); w.write_double(2.5 + i); w.end_element()
        w.start_element('', SessionStr('Approved')); w.write_bool(i % 2 == 0); w.end_element()
        w.start_element('', SessionStr('Ref')); w.write_uuid(uuid.UUID(int=i + 1)); w.end_element()
        w.start_element('', SessionStr('Start')); w.write_datetime(datetime.datetime(2024, 1, 2 + i, 3, 4, 5, tzinfo=datetime.timezone.utc)); w.end_element()
        w.start_element('i', SessionStr('Comment'), XSI if i == 0 else None)
        if i != 0:
            w.xmlns('i', XSI)
        w.attribute('i', SessionStr('nil'), True)
        w.end_element()
        w.end_element()
    return write

codec = SessionCodec()
expected = []
for i in range(3):
    mid = uuid.UUID(int=0x1234 + i)
    payload = codec.encode(lambda w: soap.write_envelope(
        w, action='urn:demo/Submit', to='net.tcp://localhost:8000/demo', body=body(i),
        message_id=mid, reply_to_anonymous=True))
    print(payload.hex())
    expected.append(
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">'
        '<s:Header><a:Action s:mustUnderstand="1">urn:demo/Submit</a:Action>'
        '<a:MessageID>urn:uuid:%s</a:MessageID>'
        '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>'
        '<a:To s:mustUnderstand="1">net.tcp://localhost:8000/demo</a:To></s:Header>'
        '<s:Body><LeaveRequest xmlns="urn:DemoService"><EmployeeId>%d</EmployeeId>'
        '<ReasonText>vacation \u00e9 &lt;&amp;&gt; #%d</ReasonText><TotalDays>%s</TotalDays>'
        '<Approved>%s</Approved><Ref>%s</Ref><Start>2024-01-0%dT03:04:05Z</Start>'
        '<i:Comment xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/>'
        '</LeaveRequest></s:Body></s:Envelope>'
        % (mid, 1000 + i, i, repr(2.5 + i), 'true' if i % 2 == 0 else 'false', uuid.UUID(int=i + 1), 2 + i))
for e in expected:
    print(e.encode('utf-8').hex())
"#;

/// One node of an infoset (adjacent texts merged).
#[derive(Debug, PartialEq)]
enum Node {
    Start(QName, Vec<(QName, String)>),
    Text(String),
    End,
}

fn infoset(xml: &[u8]) -> Vec<Node> {
    let mut r = XmlReader::new(xml, &ReaderQuotas::default()).unwrap();
    let mut nodes = Vec::new();
    loop {
        match r.next().unwrap() {
            XmlEvent::Start(s) => {
                nodes.push(Node::Start(s.name, s.attributes.into_iter().map(|a| (a.name, a.value)).collect()));
            }
            XmlEvent::Text(t) => match nodes.last_mut() {
                Some(Node::Text(prev)) => prev.push_str(&t),
                _ => nodes.push(Node::Text(t.into_owned())),
            },
            XmlEvent::End => nodes.push(Node::End),
            XmlEvent::Eof => return nodes,
        }
    }
}

#[test]
fn pynettcp_session_is_decoded_by_our_session_decoder() {
    let Some(python) = python() else { return };
    let output = run(&python, SESSION_FROM_PYNETTCP, "");
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 6, "{output}");
    let (payloads, expected) = lines.split_at(3);
    let mut rx = SessionDecoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let quotas = ReaderQuotas::default();
    for (i, (payload, expected)) in payloads.iter().zip(expected).enumerate() {
        let payload = unhex(payload);
        let text = rx.decode_envelope(&payload, &quotas).unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert_eq!(infoset(&text), infoset(&unhex(expected)), "message {i}:\n{}", String::from_utf8_lossy(&text));
        let envelope = Envelope::parse(bytes::Bytes::from(text), Some(EnvelopeVersion::Soap12), &quotas, 64).unwrap();
        assert_eq!(envelope.headers.len(), 4, "message {i}");
        if i == 0 {
            assert!(payload[0] > 0, "the first message announces the data-contract strings");
        } else {
            assert_eq!(payload[0], 0, "message {i} refers to the session strings by id only");
        }
    }
    assert_eq!(rx.dictionary_len(), 11, "LeaveRequest, urn:DemoService, EmployeeId, … Comment, the xsi URI, nil");
}
