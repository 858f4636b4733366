//! Tests of the binary XML transcoder: the specifications' examples as byte-exact fixtures,
//! text forms, malformed input, quotas, the session dictionary, and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::decode::{self, Shape, Strings};
use super::encode::{self, Names};
use super::records;
use super::*;
use crate::error::ErrorKind;
use crate::xml::{QName, ReaderQuotas, XmlEvent, XmlReader, XmlWriter};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

fn quotas() -> ReaderQuotas {
    ReaderQuotas::default()
}

/// The dictionary of the [MC-NBFX] §3 examples: every id N is the string "strN".
struct StrN(Vec<String>);

impl StrN {
    fn new() -> StrN {
        StrN((0..1024).map(|i| format!("str{i}")).collect())
    }
}

impl Strings for StrN {
    fn get(&self, id: u32) -> Option<&str> {
        self.0.get(id as usize).map(String::as_str)
    }
}

impl Names for StrN {
    fn name_id(&mut self, s: &str) -> Option<u32> {
        s.strip_prefix("str")?.parse().ok()
    }

    fn text_id(&self, s: &str) -> Option<u32> {
        s.strip_prefix("str")?.parse().ok()
    }
}

/// One node of an infoset, as our text reader reports it (adjacent texts merged).
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Start { name: QName, prefix: Option<String>, attributes: Vec<(QName, String)>, namespaces: Vec<(String, String)> },
    Text(String),
    End,
}

/// The infoset of a text document (`fragment`: of an XML fragment) as a list of nodes.
fn infoset_of(xml: &[u8], fragment: bool) -> crate::Result<Vec<Node>> {
    let q = ReaderQuotas { max_depth: 1000, max_namespaces: 1000, max_attributes: 1000, ..quotas() };
    let mut r = if fragment { XmlReader::with_namespaces(xml, &[], &q)? } else { XmlReader::new(xml, &q)? };
    let mut nodes = Vec::new();
    loop {
        match r.next()? {
            XmlEvent::Start(s) => {
                let mut namespaces = r.namespaces_in_scope();
                namespaces.sort();
                let attributes = s.attributes.into_iter().map(|a| (a.name, a.value)).collect();
                nodes.push(Node::Start { name: s.name, prefix: s.prefix, attributes, namespaces });
            }
            XmlEvent::Text(t) => match nodes.last_mut() {
                Some(Node::Text(prev)) => prev.push_str(&t),
                _ => nodes.push(Node::Text(t.into_owned())),
            },
            XmlEvent::End => nodes.push(Node::End),
            XmlEvent::Eof => return Ok(nodes),
        }
    }
}

fn infoset(xml: &[u8]) -> Vec<Node> {
    infoset_of(xml, false).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(xml)))
}

fn decode_static(binary: &[u8]) -> crate::Result<String> {
    decode_document(binary, &quotas()).map(|v| String::from_utf8(v).unwrap())
}

fn kind(binary: &[u8]) -> ErrorKind {
    decode_document(binary, &quotas()).expect_err("should fail").kind()
}

fn kind_with(binary: &[u8], q: ReaderQuotas) -> ErrorKind {
    decode_document(binary, &q).expect_err("should fail").kind()
}

fn encoded(xml: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_document(xml.as_bytes(), &mut out).unwrap_or_else(|e| panic!("{e}: {xml}"));
    out
}

/// Text → binary → text, asserting that the infoset survives.
fn assert_round_trip(xml: &str) {
    let binary = encoded(xml);
    let back = decode_static(&binary).unwrap_or_else(|e| panic!("{e}: {xml}"));
    assert_eq!(infoset(back.as_bytes()), infoset(xml.as_bytes()), "{xml}\n{back}");
}

// ---------------------------------------------------------------------------------------
// [MC-NBFX] §3 Structure Examples
// ---------------------------------------------------------------------------------------

struct Example {
    record: String,
    bytes: Vec<u8>,
    spec_xml: String,
    our_xml: String,
}

fn section3() -> Vec<Example> {
    include_str!("../../../tests/fixtures/nbfx/mc-nbfx-section3.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split(" | ").collect();
            let spec_xml = cols[2].to_owned();
            Example {
                record: cols[0].to_owned(),
                bytes: hex(cols[1]),
                our_xml: cols.get(3).map_or_else(|| spec_xml.clone(), |s| (*s).to_owned()),
                spec_xml,
            }
        })
        .collect()
}

#[test]
fn mc_nbfx_section3_has_an_example_for_every_record_type() {
    let examples = section3();
    assert_eq!(examples.len(), 83);
    for record in ["Array", "Comment", "PrefixDictionaryElementS", "QNameDictionaryTextWithEndElement", "BoolText"] {
        assert!(examples.iter().any(|e| e.record == record), "{record}");
    }
}

#[test]
fn mc_nbfx_section3_examples_decode_to_the_spec_characters() {
    for ex in section3() {
        let out = decode::decode(&ex.bytes, &StrN::new(), &quotas(), Shape::Fragment)
            .unwrap_or_else(|e| panic!("{}: {e}", ex.record));
        assert_eq!(String::from_utf8(out).unwrap(), ex.our_xml, "{}", ex.record);
    }
}

/// [MC-NBFX] §3 prints DoubleText 0x4005BF0A8B145774 as `2.71828182845905`, the shortest
/// form that reads back, which is what we print. §2.2.3.10 pairs the same bits with
/// `2.7182818284590451`, which is e — a different double (0x4005BF0A8B145769): that
/// example is inconsistent, and §3 is the one to trust.
#[test]
fn mc_nbfx_double_examples_agree_on_the_value() {
    let ex = section3().into_iter().find(|e| e.record == "DoubleText").unwrap();
    let value = f64::from_le_bytes(ex.bytes[ex.bytes.len() - 9..ex.bytes.len() - 1].try_into().unwrap());
    assert_eq!(value.to_bits(), 0x4005_BF0A_8B14_5774);
    assert_eq!("2.7182818284590451".parse::<f64>().unwrap().to_bits(), 0x4005_BF0A_8B14_5769);
    assert_eq!(std::f64::consts::E.to_bits(), 0x4005_BF0A_8B14_5769);
    assert_eq!(f64_text(value), "2.71828182845905");
    assert!(section3().iter().all(|e| e.spec_xml == e.our_xml));
}

/// The examples whose bytes are exactly what our encoder chooses for the same XML (with the
/// "strN" dictionary). The others use records our encoder does not pick for text (typed
/// numbers, dates, bytes, lists, Chars16/32 for short text, UTF-16, QName, an EmptyText
/// that ends an element), or end element content with a separate EndElement where ours
/// uses the `…WithEndElement` form (Chars8Text, UniqueIdText), or are not a document
/// (Comment, Array): for those, encoding the XML must give the same infoset.
const ENCODED_EXACTLY: &[&str] = &[
    "EndElement",
    "ShortAttribute",
    "Attribute",
    "ShortDictionaryAttribute",
    "DictionaryAttribute",
    "ShortXmlnsAttribute",
    "XmlnsAttribute",
    "ShortDictionaryXmlnsAttribute",
    "DictionaryXmlnsAttribute",
    "PrefixDictionaryAttributeF",
    "PrefixDictionaryAttributeX",
    "PrefixAttributeK",
    "PrefixAttributeZ",
    "ShortElement",
    "Element",
    "ShortDictionaryElement",
    "DictionaryElement",
    "PrefixDictionaryElementA",
    "PrefixDictionaryElementS",
    "PrefixElementA",
    "PrefixElementS",
    "ZeroText",
    "ZeroTextWithEndElement",
    "OneText",
    "OneTextWithEndElement",
    "FalseText",
    "FalseTextWithEndElement",
    "TrueText",
    "TrueTextWithEndElement",
    "Int8Text",
    "Int8TextWithEndElement",
    "Int16Text",
    "Int16TextWithEndElement",
    "Int32Text",
    "Int32TextWithEndElement",
    "Int64Text",
    "Int64TextWithEndElement",
    "Chars8TextWithEndElement",
    "EmptyText",
    "DictionaryText",
    "DictionaryTextWithEndElement",
    "UniqueIdTextWithEndElement",
    "UInt64TextWithEndElement",
];

#[test]
fn mc_nbfx_section3_examples_encode_to_the_spec_bytes_where_the_choice_is_ours() {
    let mut exact = 0;
    for ex in section3() {
        if matches!(ex.record.as_str(), "Comment" | "Array" | "BoolTextWithEndElement") {
            continue; // not a single-root document
        }
        let mut out = Vec::new();
        encode::encode(ex.our_xml.as_bytes(), &mut StrN::new(), &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", ex.record));
        if ENCODED_EXACTLY.contains(&ex.record.as_str()) {
            assert_eq!(out, ex.bytes, "{}", ex.record);
            exact += 1;
        } else {
            assert_ne!(out, ex.bytes, "{} is encoded exactly: list it", ex.record);
            let ours = decode::decode(&out, &StrN::new(), &quotas(), Shape::Fragment).unwrap();
            let spec = decode::decode(&ex.bytes, &StrN::new(), &quotas(), Shape::Fragment).unwrap();
            assert_eq!(infoset(&ours), infoset(&spec), "{}", ex.record);
        }
    }
    assert_eq!(exact, ENCODED_EXACTLY.len());
}

// ---------------------------------------------------------------------------------------
// [MC-NBFS] §3 and [MC-NBFSE] §3
// ---------------------------------------------------------------------------------------

/// The document of [MC-NBFS] §3 and [MC-NBFSE] §3 (without the spec's line breaks).
const SOAP_EXAMPLE: &str = r#"<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><a:Action s:mustUnderstand="1">action</a:Action></s:Header><s:Body><Inventory>0</Inventory></s:Body></s:Envelope>"#;

/// [MC-NBFS] §3, "the SOAP document as a byte stream".
const NBFS_EXAMPLE: &str = "56 02 0B 01 61 06 0B 01 73 04 56 08 44 0A 1E 00 82 99 06 61 63 74 69 6F 6E 01 56 0E 40 09 49 6E \
                            76 65 6E 74 6F 72 79 81 01 01";

/// [MC-NBFSE] §3: the StringTable ("action" = 1, "Inventory" = 3), then the [MC-NBFS]
/// document with `99 06 action` replaced by `AB 01` and `40 09 Inventory` by `42 03`.
const NBFSE_EXAMPLE: &str = "11 06 61 63 74 69 6F 6E 09 49 6E 76 65 6E 74 6F 72 79 \
                             56 02 0B 01 61 06 0B 01 73 04 56 08 44 0A 1E 00 82 AB 01 01 56 0E 42 03 81 01 01";

#[test]
fn mc_nbfs_section3_example_decodes_to_the_spec_document() {
    assert_eq!(decode_static(&hex(NBFS_EXAMPLE)).unwrap(), SOAP_EXAMPLE);
}

#[test]
fn mc_nbfs_section3_example_encodes_to_the_spec_bytes() {
    assert_eq!(encoded(SOAP_EXAMPLE), hex(NBFS_EXAMPLE));
}

#[test]
fn mc_nbfse_section3_example_decodes_to_the_spec_document() {
    let mut rx = SessionDecoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let text = rx.decode_envelope(&hex(NBFSE_EXAMPLE), &quotas()).unwrap();
    assert_eq!(String::from_utf8(text).unwrap(), SOAP_EXAMPLE);
    assert_eq!(rx.dictionary_len(), 2);
    assert_eq!(rx.dictionary_bytes(), 0x11);
}

/// The spec's writer put the text "action" into the StringTable; ours adds names and
/// namespaces only, so our first message announces "Inventory" alone (id 1). Same infoset.
#[test]
fn mc_nbfse_section3_example_encodes_to_the_same_infoset_with_our_string_choice() {
    let mut tx = SessionEncoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let mut out = Vec::new();
    tx.encode_envelope(SOAP_EXAMPLE.as_bytes(), &mut out).unwrap();
    let expected = hex("0A 09 49 6E 76 65 6E 74 6F 72 79 \
         56 02 0B 01 61 06 0B 01 73 04 56 08 44 0A 1E 00 82 99 06 61 63 74 69 6F 6E 01 56 0E 42 01 81 01 01");
    assert_eq!(out, expected);
    let mut rx = SessionDecoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let text = rx.decode_envelope(&out, &quotas()).unwrap();
    assert_eq!(infoset(&text), infoset(SOAP_EXAMPLE.as_bytes()));
}

#[test]
fn decoded_envelope_is_read_by_the_soap_parser() {
    let text = decode_document(&hex(NBFS_EXAMPLE), &quotas()).unwrap();
    let env = crate::soap::Envelope::parse(bytes::Bytes::from(text), None, &quotas(), 64).unwrap();
    assert_eq!(env.version, crate::soap::EnvelopeVersion::Soap12);
    assert_eq!(env.headers.len(), 1);
    assert_eq!(env.headers[0].name, QName::new("http://www.w3.org/2005/08/addressing", "Action"));
    assert!(env.headers[0].must_understand);
    assert_eq!(env.body.first_element(&quotas()).unwrap(), Some(QName::new("", "Inventory")));
}

#[test]
fn envelopes_written_by_our_soap_writer_round_trip() {
    use crate::soap::{EnvelopeVersion, Header, write_envelope};
    for version in [EnvelopeVersion::Soap11, EnvelopeVersion::Soap12] {
        let headers = [
            Header::text(QName::new("http://www.w3.org/2005/08/addressing", "Action"), "urn:echo", true, version),
            Header::text(
                QName::new("http://www.w3.org/2005/08/addressing", "MessageID"),
                "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
                false,
                version,
            ),
        ];
        let xml = write_envelope(version, &headers, br#"<e:echo xmlns:e="urn:echo">1 &lt; 2 &amp; "so" on</e:echo>"#);
        let xml = String::from_utf8(xml).unwrap();
        assert_round_trip(&xml);
        let binary = encoded(&xml);
        assert!(binary.len() < xml.len() / 2, "{} vs {}", binary.len(), xml.len());
    }
}

// ---------------------------------------------------------------------------------------
// The static dictionary
// ---------------------------------------------------------------------------------------

#[test]
fn static_index_probe_sequences_are_short() {
    let longest = (0..dictionary::STATIC_LEN as u32).map(|i| dictionary::probes(static_string(2 * i).unwrap())).max();
    assert!(longest.unwrap() <= 12, "{longest:?}");
    assert_eq!(static_id(""), Some(0xA2), "the empty string is an entry");
    for missing in ["Inventory", "hello, world", "urn:uuid:6b29fc40-ca47-4067-b31d-00dd010662da", "mustUnderstanD"] {
        assert_eq!(static_id(missing), None);
        assert!(dictionary::probes(missing) <= 12, "{missing}");
    }
}

#[test]
fn static_dictionary_has_487_entries_with_even_ids() {
    assert_eq!(dictionary::STATIC_LEN, 487);
    assert_eq!(static_string(0x3CC), Some("detail"));
    assert_eq!(static_string(0x3CE), None);
    assert_eq!(static_string(u32::MAX - 1), None);
    for id in (0..0x3CE).step_by(2) {
        let s = static_string(id).unwrap();
        assert_eq!(static_id(s), Some(id), "{s}");
        assert_eq!(static_string(id + 1), None);
    }
}

/// Spot checks against the [MC-NBFS] §2 table, start, middle and end.
#[test]
fn static_dictionary_matches_the_mc_nbfs_table() {
    let spec = [
        (0x000, "mustUnderstand"),
        (0x002, "Envelope"),
        (0x004, "http://www.w3.org/2003/05/soap-envelope"),
        (0x006, "http://www.w3.org/2005/08/addressing"),
        (0x008, "Header"),
        (0x00A, "Action"),
        (0x00C, "To"),
        (0x00E, "Body"),
        (0x014, "http://www.w3.org/2005/08/addressing/anonymous"),
        (0x01A, "MessageID"),
        (0x15C, "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Text"),
        (0x172, "k"),
        (0x1A6, "http://schemas.xmlsoap.org/ws/2005/02/trust/spnego"),
        (0x1AA, "wst"),
        (0x256, "xmlns"),
        (0x2B4, "r"),
        (0x372, "http://www.w3.org/2001/XMLSchema-instance"),
        (0x3A2, "QName"),
        (0x3C0, "ConnectionLimitReached"),
        (0x3C2, "http://schemas.xmlsoap.org/soap/envelope/"),
        (0x3C4, "actor"),
        (0x3C6, "faultcode"),
        (0x3C8, "faultstring"),
        (0x3CA, "faultactor"),
        (0x3CC, "detail"),
    ];
    for (id, s) in spec {
        assert_eq!(static_string(id), Some(s), "0x{id:03X}");
    }
}

/// WCF's string 0x1A8 starts with a space ([MC-NBFS] prints it without); we follow WCF.
#[test]
fn static_dictionary_keeps_wcfs_leading_space_in_tlsnego() {
    assert_eq!(static_string(0x1A8), Some(" http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego"));
    assert_eq!(static_id("http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego"), None);
}

// ---------------------------------------------------------------------------------------
// Text forms
// ---------------------------------------------------------------------------------------

fn f64_text(v: f64) -> String {
    let mut s = String::new();
    records::format_f64(&mut s, v);
    s
}

fn f32_text(v: f32) -> String {
    let mut s = String::new();
    records::format_f32(&mut s, v);
    s
}

#[test]
fn floating_point_text_is_the_shortest_round_trip_form_with_xml_special_values() {
    assert_eq!(f64_text(f64::INFINITY), "INF");
    assert_eq!(f64_text(f64::NEG_INFINITY), "-INF");
    assert_eq!(f64_text(f64::NAN), "NaN");
    assert_eq!(f64_text(-0.0), "-0");
    assert_eq!(f64_text(0.0), "0");
    assert_eq!(f64_text(2.0), "2");
    assert_eq!(f64_text(-1.5), "-1.5");
    assert_eq!(f64_text(0.1), "0.1");
    assert_eq!(f64_text(0.0001), "0.0001");
    assert_eq!(f64_text(0.00001), "1E-05");
    assert_eq!(f64_text(1e14), "100000000000000");
    assert_eq!(f64_text(1e15), "1E+15");
    assert_eq!(f64_text(1.2345e300), "1.2345E+300");
    assert_eq!(f64_text(f64::MIN_POSITIVE), "2.2250738585072014E-308");
    assert_eq!(f32_text(1.1), "1.1");
    assert_eq!(f32_text(32.45), "32.45");
    assert_eq!(f32_text(1e7), "1E+07");
    assert_eq!(f32_text(1234567.0), "1234567");
    assert_eq!(f32_text(f32::NEG_INFINITY), "-INF");
    for v in [0.1, 1.0 / 3.0, 6.02214076e23, -1e-300, 123456789.123, 2.5e-5] {
        assert_eq!(f64_text(v).replace("E", "e").parse::<f64>().unwrap(), v, "{v}");
    }
}

fn decimal_text(scale: u8, sign: u8, hi: u32, lo: u64) -> crate::Result<String> {
    let mut raw = [0u8; 16];
    raw[2] = scale;
    raw[3] = sign;
    raw[4..8].copy_from_slice(&hi.to_le_bytes());
    raw[8..].copy_from_slice(&lo.to_le_bytes());
    let mut s = String::new();
    records::format_decimal(&mut s, &raw).map(|()| s)
}

#[test]
fn decimal_text_keeps_its_scale_and_rejects_bad_scales() {
    assert_eq!(decimal_text(6, 0, 0, 5_123_456).unwrap(), "5.123456");
    assert_eq!(decimal_text(2, 0, 0, 150).unwrap(), "1.50");
    assert_eq!(decimal_text(3, 0x80, 0, 5).unwrap(), "-0.005");
    assert_eq!(decimal_text(0, 0x80, 0, 0).unwrap(), "0");
    assert_eq!(decimal_text(28, 0, u32::MAX, u64::MAX).unwrap(), "7.9228162514264337593543950335");
    assert_eq!(decimal_text(29, 0, 0, 1).unwrap_err().kind(), ErrorKind::InvalidFormat);
    assert_eq!(decimal_text(0, 1, 0, 1).unwrap_err().kind(), ErrorKind::InvalidFormat);
}

fn datetime_text(raw: u64) -> crate::Result<String> {
    let mut s = String::new();
    records::format_datetime(&mut s, raw).map(|()| s)
}

#[test]
fn datetime_text_is_an_xs_datetime_with_kind() {
    const TICKS_2006_05_17: u64 = 0x08C8_475B_F98E_4000;
    assert_eq!(datetime_text(0).unwrap(), "0001-01-01T00:00:00");
    assert_eq!(datetime_text(TICKS_2006_05_17).unwrap(), "2006-05-17T00:00:00");
    assert_eq!(datetime_text(TICKS_2006_05_17 | (1 << 62)).unwrap(), "2006-05-17T00:00:00Z");
    assert_eq!(datetime_text(TICKS_2006_05_17 | (2 << 62)).unwrap(), "2006-05-17T00:00:00+00:00");
    assert_eq!(datetime_text(TICKS_2006_05_17 + 10_000_000 * 3723 + 1_230_000).unwrap(), "2006-05-17T01:02:03.123");
    // 2000-02-29 and 2100-03-01 (leap rules).
    assert_eq!(datetime_text(630_873_792_000_000_000).unwrap(), "2000-02-29T00:00:00");
    assert_eq!(datetime_text(662_431_392_000_000_000).unwrap(), "2100-03-01T00:00:00");
    assert_eq!(datetime_text(3_155_378_975_999_999_999).unwrap(), "9999-12-31T23:59:59.9999999");
    assert_eq!(datetime_text(3_155_378_976_000_000_000).unwrap_err().kind(), ErrorKind::InvalidFormat);
    assert_eq!(datetime_text(3 << 62).unwrap_err().kind(), ErrorKind::InvalidFormat);
}

#[test]
fn timespan_text_is_an_xs_duration() {
    let t = |ticks: i64| {
        let mut s = String::new();
        records::format_timespan(&mut s, ticks);
        s
    };
    assert_eq!(t(0), "PT0S");
    assert_eq!(t(-3_440_000_000), "-PT5M44S");
    assert_eq!(t(120_000_000_000), "PT3H20M");
    assert_eq!(t(864_000_000_000 * 2), "P2D");
    assert_eq!(t(864_000_000_000 + 5), "P1DT0.0000005S");
    assert_eq!(t(i64::MIN), "-P10675199DT2H48M5.4775808S");
    assert_eq!(t(i64::MAX), "P10675199DT2H48M5.4775807S");
}

#[test]
fn uuid_text_round_trips_through_the_wire_order() {
    let wire = hex("00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF");
    let mut s = String::new();
    records::format_uuid(&mut s, &wire.clone().try_into().unwrap());
    assert_eq!(s, "33221100-5544-7766-8899-aabbccddeeff");
    assert_eq!(records::parse_uuid(&s).map(Vec::from), Some(wire));
    assert_eq!(records::parse_uuid("33221100-5544-7766-8899-AABBCCDDEEFF"), None, "uppercase would not read back");
    assert_eq!(records::parse_uuid("33221100-5544-7766-8899-aabbccddeef"), None);
}

#[test]
fn multibyte_int31_matches_the_spec_examples_and_refuses_32_bits() {
    for (value, bytes) in
        [(17u32, "11"), (145, "91 01"), (5521, "91 2B"), (16384, "80 80 01"), (0x7FFF_FFFF, "FF FF FF FF 07")]
    {
        let mut out = Vec::new();
        records::write_int31(&mut out, value);
        assert_eq!(out, hex(bytes), "{value}");
        assert_eq!(records::int31_len(value), out.len());
        assert_eq!(records::Cursor::new(&out).int31().unwrap(), value);
    }
    for bad in ["FF FF FF FF 08", "FF FF FF FF FF 01", "80"] {
        assert_eq!(records::Cursor::new(&hex(bad)).int31().unwrap_err().kind(), ErrorKind::InvalidFormat, "{bad}");
    }
}

#[test]
fn encoder_picks_typed_records_only_for_text_that_reads_back_identically() {
    let cases = [
        ("<q>0</q>", "40 01 71 81"),
        ("<q>-1</q>", "40 01 71 89 FF"),
        ("<q>300</q>", "40 01 71 8B 2C 01"),
        ("<q>-2147483649</q>", "40 01 71 8F FF FF FF 7F FF FF FF FF"),
        ("<q>18446744073709551615</q>", "40 01 71 B3 FF FF FF FF FF FF FF FF"),
        ("<q>007</q>", "40 01 71 99 03 30 30 37"),
        ("<q>-0</q>", "40 01 71 99 02 2D 30"),
        ("<q>+5</q>", "40 01 71 99 02 2B 35"),
        ("<q>18446744073709551616</q>", "40 01 71 99 14 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 36"),
        ("<q>True</q>", "40 01 71 99 04 54 72 75 65"),
        ("<q>Body</q>", "40 01 71 AB 0E"),
        ("<q b=\"\"/>", "40 01 71 04 01 62 A8 01"),
        ("<q></q>", "40 01 71 01"),
    ];
    for (xml, bytes) in cases {
        assert_eq!(encoded(xml), hex(bytes), "{xml}");
        assert_round_trip(xml);
    }
}

#[test]
fn long_text_uses_chars16_and_chars32() {
    let medium = "x".repeat(300);
    let b = encoded(&format!("<a>{medium}</a>"));
    assert_eq!(b[3..6], [0x9B, 0x2C, 0x01]);
    let long = "y".repeat(70_000);
    let b = encoded(&format!("<a>{long}</a>"));
    assert_eq!(b[3..8], [0x9D, 0x70, 0x11, 0x01, 0x00]);
    assert_round_trip(&format!("<a>{long}</a>"));
}

// ---------------------------------------------------------------------------------------
// Escaping and text details
// ---------------------------------------------------------------------------------------

#[test]
fn text_and_attribute_values_are_escaped_so_they_read_back_identically() {
    let value = "a<b>&c\"d'e\tf\ng\rh]]>";
    // Chars8TextWithEndElement in content, Chars8Text as an attribute value.
    let mut binary = vec![0x40, 0x01, b'e', 0x04, 0x01, b'v', 0x98, value.len() as u8];
    binary.extend_from_slice(value.as_bytes());
    binary.extend_from_slice(&[0x99, value.len() as u8]);
    binary.extend_from_slice(value.as_bytes());
    let text = decode_document(&binary, &quotas()).unwrap();
    let mut r = XmlReader::new(&text, &quotas()).unwrap();
    let XmlEvent::Start(start) = r.next().unwrap() else { panic!() };
    assert_eq!(start.attribute("", "v"), Some(value));
    assert_eq!(r.read_text().unwrap(), value);
}

#[test]
fn whitespace_cdata_references_and_comments_survive_encoding() {
    assert_round_trip("<a>\n  <b> x &lt;&#65;&#x42; <![CDATA[<raw&>]]>&amp;y\r\nz</b>\n  <!-- note -->\n</a>");
    assert_round_trip("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- before --><a/><!-- after -->\n");
    assert_round_trip("\u{FEFF}<a x=\"1&#9;2&#10;3\" y=\" spaced  out \">\u{e9}\u{1F600}</a>");
    let b = encoded("<!--c--><q>1<!--d-->2</q>");
    assert_eq!(b, hex("02 01 63 40 01 71 82 02 01 64 89 02"));
    assert_eq!(decode_static(&b).unwrap(), "<!--c--><q>1<!--d-->2</q>");
}

#[test]
fn namespace_declarations_are_kept_even_when_redundant() {
    let xml = r#"<p:a xmlns:p="urn:p" xmlns="urn:d" p:x="1" y="2"><p:b xmlns:p="urn:p"><c xmlns=""/></p:b></p:a>"#;
    let back = decode_static(&encoded(xml)).unwrap();
    assert_eq!(
        back,
        r#"<p:a xmlns:p="urn:p" xmlns="urn:d" p:x="1" y="2"><p:b xmlns:p="urn:p"><c xmlns=""></c></p:b></p:a>"#
    );
}

#[test]
fn xml_prefix_attributes_need_no_declaration() {
    assert_round_trip(r#"<a xml:lang="en" xml:space="preserve"> </a>"#);
}

// ---------------------------------------------------------------------------------------
// Text the encoder refuses
// ---------------------------------------------------------------------------------------

#[test]
fn encoder_refuses_what_our_reader_refuses() {
    for xml in [
        "",
        "   ",
        "<a>",
        "<a></b>",
        "<a/><b/>",
        "x<a/>",
        "<a/>x",
        "<!DOCTYPE a><a/>",
        "<a>&lol;</a>",
        "<a>&#1;</a>",
        "<p:a/>",
        "<a p:x=\"1\"/>",
        "<a x=\"1\" x=\"2\"/>",
        "<a xmlns:p=\"urn:1\" xmlns:q=\"urn:1\" p:x=\"1\" q:x=\"2\"/>",
        "<xmlns:a/>",
        "<a xmlns:xmlns=\"urn:x\"/>",
        "<a xmlns:p=\"\"/>",
        "<a xmlns:xml=\"urn:x\"/>",
        "<1a/>",
        "<a:b:c xmlns:a=\"urn:a\"/>",
    ] {
        let mut out = vec![0xEE];
        let e = encode_document(xml.as_bytes(), &mut out).expect_err(xml);
        assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{xml}: {e}");
        assert_eq!(out, [0xEE], "{xml}: output restored");
    }
    let mut out = Vec::new();
    assert_eq!(encode_document(b"<a>\xFF</a>", &mut out).unwrap_err().kind(), ErrorKind::InvalidFormat);
}

/// Found by the `nbfse` fuzz target: the encoder dropped the XML declaration without
/// looking at it, so it accepted text our reader refuses (a malformed declaration, one after
/// leading whitespace or after the root, one naming another encoding than UTF-8), breaking
/// "whatever the encoder accepts decodes to the same infoset".
#[test]
fn encoder_refuses_xml_declarations_our_reader_refuses() {
    for xml in [
        &b"<?xml version=\"1.0\" encnio=gd\"UTF-8\"?><a/>"[..],
        b"\n<?xml version=\"1.0\"?><a/>",
        b"<!-- c --><?xml version=\"1.0\"?><a/>",
        b"<a/><?xml version=\"1.0\"?>",
        b"<a><?xml version=\"1.0\"?></a>",
        b"<?xml version=\"1.0\" encoding=\"utf-16\"?><a/>",
        b"\xEF\xBB\xBF <?xml version=\"1.0\"?><a/>",
    ] {
        let shown = String::from_utf8_lossy(xml);
        assert_eq!(infoset_of(xml, false).expect_err(&shown).kind(), ErrorKind::InvalidFormat, "{shown}");
        let mut out = vec![0xEE];
        let e = encode_document(xml, &mut out).expect_err(&shown);
        assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{shown}: {e}");
        assert_eq!(out, [0xEE], "{shown}: output restored");
        let mut tx = SessionEncoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
        assert_eq!(tx.encode_envelope(xml, &mut out).unwrap_err().kind(), ErrorKind::InvalidFormat, "{shown}");
    }
    for xml in [
        &b"<?xml version=\"1.0\"?><a/>"[..],
        b"<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n<a/>",
        b"<?xml version='1.0' encoding='US-ASCII'?><a/>",
        b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
        b"<a/><?pi x?>",
    ] {
        let shown = String::from_utf8_lossy(xml);
        let mut out = Vec::new();
        encode_document(xml, &mut out).unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert_eq!(decode_static(&out).unwrap(), "<a></a>", "{shown}");
        assert_eq!(infoset(xml), infoset(b"<a/>"), "{shown}");
    }
}

// ---------------------------------------------------------------------------------------
// Binary the decoder refuses
// ---------------------------------------------------------------------------------------

#[test]
fn every_truncation_of_a_valid_document_is_invalid_format() {
    let full = hex(NBFS_EXAMPLE);
    for len in 0..full.len() {
        assert_eq!(kind(&full[..len]), ErrorKind::InvalidFormat, "{len}");
    }
    for ex in section3() {
        for len in 1..ex.bytes.len() {
            let r = decode::decode(&ex.bytes[..len], &StrN::new(), &quotas(), Shape::Fragment);
            assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidFormat, "{} cut at {len}", ex.record);
        }
    }
}

#[test]
fn unknown_and_reserved_record_types_are_invalid_format() {
    for record in [0x00u8, 0x78, 0x7F, 0xA5, 0xA7, 0xBE, 0xFF] {
        assert_eq!(kind(&[0x40, 0x01, b'a', record, 0x01]), ErrorKind::InvalidFormat, "0x{record:02X}");
    }
    assert_eq!(kind(&[0x40, 0x01, b'a', 0xA6, 0x01]), ErrorKind::InvalidFormat, "EndListText outside a list");
}

#[test]
fn undefined_dictionary_ids_are_invalid_format() {
    assert_eq!(kind(&[0x42, 0xCE, 0x07, 0x01]), ErrorKind::InvalidFormat, "static id 0x3CE is past the table");
    assert_eq!(kind(&[0x42, 0x01, 0x01]), ErrorKind::InvalidFormat, "session id without a session");
    assert_eq!(kind(&[0x40, 0x01, b'a', 0xAB, 0x03]), ErrorKind::InvalidFormat);
    let e = decode_document(&[0x42, 0xCE, 0x07, 0x01], &quotas()).unwrap_err();
    assert!(e.to_string().contains("0x3CE"), "{e}");
}

#[test]
fn structural_errors_are_invalid_format() {
    let cases: &[(&str, &str)] = &[
        ("", "empty input"),
        ("01", "EndElement with nothing open"),
        ("40 01 61", "unclosed element"),
        ("40 01 61 01 01", "one EndElement too many"),
        ("40 01 61 01 40 01 62 01", "two roots"),
        ("81", "WithEndElement at top level"),
        ("98 01 78 40 01 61 01", "text before the root"),
        ("40 01 61 98 01 78 04 01 62 86 01", "attribute after content"),
        ("04 01 62 86", "attribute with no element"),
        ("5E 01 61 01", "undeclared prefix p:a (PrefixElementA)"),
        ("40 01 61 26 01 62 86 01", "undeclared attribute prefix"),
        ("40 01 61 04 01 62 86 04 01 62 84 01", "duplicate attribute"),
        ("40 01 61 09 01 70 01 78 09 01 71 01 78 26 01 62 86 3B 01 62 86 01", "duplicate expanded attribute name"),
        ("40 01 61 09 01 70 01 78 09 01 70 01 79 01", "prefix declared twice"),
        ("40 01 61 04 05 78 6D 6C 6E 73 86 01", "attribute named xmlns"),
        ("41 05 78 6D 6C 6E 73 01 61 01", "element prefix xmlns"),
        ("40 01 61 09 01 70 00 01", "prefix bound to the empty namespace"),
        ("40 02 31 61 01", "name is not an NCName"),
        ("40 02 C3 28 01", "name is not UTF-8"),
        ("40 01 61 99 01 00", "U+0000 in text"),
        ("40 01 61 99 01 FF", "text is not UTF-8"),
        ("40 01 61 B7 03 61 00 62", "odd UTF-16 length"),
        ("40 01 61 B7 02 00 D8", "unpaired surrogate"),
        ("40 01 61 B5 02", "BoolText of 2"),
        ("40 01 61 04 01 62 99 01 78 01", "WithEndElement in an attribute value"),
        ("40 01 61 04 01 62 40 01", "element record as an attribute value"),
        ("40 01 61 A4 A4 A6 A6 01", "nested lists"),
        ("40 01 61 A4 99 01 78 A6 01", "WithEndElement inside a list"),
        ("40 01 61 BD 1A 02", "QName prefix out of range"),
        ("40 01 61 9D FF FF FF FF", "negative Chars32 length"),
        ("40 01 61 9B FF 00 61", "Chars16 length past the input"),
        ("40 01 61 97 00 00 00 00 00 00 00 C0", "DateTime kind 3"),
        ("02 03 61 2D 2D 40 01 61 01", "comment with --"),
        ("02 01 2D 40 01 61 01", "comment ending with -"),
        ("03 40 01 61 01 8D 00", "array of zero items"),
        ("03 40 01 61 01 8D 02 01 00 00 00", "array shorter than its count"),
        ("03 40 01 61 01 99 01 78", "array of a type arrays cannot hold"),
        ("03 40 01 61 01 8C 01 01 00 00 00", "array type without end element"),
        ("03 40 01 61 84 8D 01 01 00 00 00", "array without EndElement"),
        ("03 01 8D 01 01 00 00 00", "array without element"),
        ("03 40 01 61 01 8D 02 01 00 00 00 02 00 00 00", "array of two roots"),
    ];
    for (bytes, why) in cases {
        let e = decode_document(&hex(bytes), &quotas()).expect_err(why);
        assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{why}: {e}");
    }
}

// ---------------------------------------------------------------------------------------
// Quotas
// ---------------------------------------------------------------------------------------

#[test]
fn depth_quota_applies_to_decoded_elements() {
    let q = ReaderQuotas { max_depth: 3, ..quotas() };
    assert!(decode_document(&hex("40 01 61 40 01 62 40 01 63 01 01 01"), &q).is_ok());
    assert_eq!(kind_with(&hex("40 01 61 40 01 62 40 01 63 40 01 64 01 01 01 01"), q), ErrorKind::QuotaExceeded);
}

#[test]
fn attribute_namespace_name_and_text_quotas_apply() {
    let q = ReaderQuotas { max_attributes: 1, ..quotas() };
    assert!(decode_document(&hex("40 01 61 08 01 78 04 01 62 86 01"), &q).is_ok(), "xmlns does not count");
    assert_eq!(kind_with(&hex("40 01 61 04 01 62 86 04 01 63 86 01"), q), ErrorKind::QuotaExceeded);

    let q = ReaderQuotas { max_namespaces: 1, ..quotas() };
    assert_eq!(kind_with(&hex("40 01 61 09 01 70 01 78 40 01 62 09 01 71 01 79 01 01"), q), ErrorKind::QuotaExceeded);

    let q = ReaderQuotas { max_name_bytes: 3, ..quotas() };
    assert!(decode_document(&hex("40 03 61 62 63 01"), &q).is_ok());
    assert_eq!(kind_with(&hex("40 04 61 62 63 64 01"), q), ErrorKind::QuotaExceeded);
    assert_eq!(kind_with(&hex("41 01 70 03 61 62 63 09 01 70 01 78 01"), q), ErrorKind::QuotaExceeded, "p:abc");
    assert_eq!(kind_with(&hex("40 01 61 08 04 75 72 6E 3A 01"), q), ErrorKind::QuotaExceeded, "namespace URI");
    assert_eq!(kind_with(&hex("42 02 01"), q), ErrorKind::QuotaExceeded, "dictionary name (Envelope)");

    let q = ReaderQuotas { max_text_bytes: 4, ..quotas() };
    assert!(decode_document(&hex("40 01 61 99 04 31 32 33 34"), &q).is_ok());
    assert_eq!(kind_with(&hex("40 01 61 99 05 31 32 33 34 35"), q), ErrorKind::QuotaExceeded);
    assert_eq!(kind_with(&hex("40 01 61 98 03 31 32 33 99 02 34 35"), q), ErrorKind::QuotaExceeded, "merged text");
    assert!(decode_document(&hex("40 01 61 98 03 31 32 33 02 00 99 02 34 35"), &q).is_ok(), "a comment splits text");
    assert_eq!(kind_with(&hex("40 01 61 9F 04 00 00 00 00"), q), ErrorKind::QuotaExceeded, "base64 of 4 bytes is 8");
    assert_eq!(kind_with(&hex("40 01 61 04 01 62 98 05 31 32 33 34 35 01"), q), ErrorKind::QuotaExceeded, "attribute");
    assert_eq!(kind_with(&hex("40 01 61 AB 04"), q), ErrorKind::QuotaExceeded, "dictionary text");
    assert_eq!(
        kind_with(&hex("40 01 61 AD 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"), q),
        ErrorKind::QuotaExceeded
    );
}

#[test]
fn namespace_quota_stops_a_flood_of_declarations_while_it_is_read() {
    // 100000 empty default-namespace declarations on one element: refused at the 33rd.
    let mut binary = hex("40 01 71");
    for _ in 0..100_000 {
        binary.extend_from_slice(&[0x08, 0x00]);
    }
    binary.push(0x01);
    let e = decode_document(&binary, &quotas()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{e}");
}

#[test]
fn reserved_start_list_with_end_element_is_invalid_format() {
    assert_eq!(kind(&hex("40 01 71 A5 A6")), ErrorKind::InvalidFormat);
    let e = decode_document(&hex("40 01 71 A5 A6"), &quotas()).unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
}

#[test]
fn output_quota_stops_array_expansion_before_it_allocates() {
    // 40000 Int16 items: 80 kB of input expand to ~480 kB of text.
    let mut binary = hex("40 01 72 03 40 0A 61 61 61 61 61 61 61 61 61 61 01 8B C0 B8 02");
    binary.extend(std::iter::repeat_n(0u8, 80_000));
    binary.push(0x01);
    let q = ReaderQuotas { max_total_bytes: 100_000, ..quotas() };
    assert_eq!(kind_with(&binary, q), ErrorKind::QuotaExceeded);
    let q = ReaderQuotas { max_total_bytes: 2_000_000, ..quotas() };
    let text = decode_document(&binary, &q).unwrap();
    assert!(text.len() > 1_000_000, "{}", text.len());
}

#[test]
fn input_larger_than_max_total_bytes_is_refused_up_front() {
    let q = ReaderQuotas { max_total_bytes: 4, ..quotas() };
    assert_eq!(kind_with(&hex("40 01 61 99 01 78"), q), ErrorKind::QuotaExceeded);
}

#[test]
fn huge_lengths_are_checked_against_the_input_first() {
    assert_eq!(kind(&hex("40 01 61 9D FF FF FF 7F 00")), ErrorKind::InvalidFormat);
    assert_eq!(kind(&hex("40 FF FF FF FF 07 61")), ErrorKind::InvalidFormat);
    assert_eq!(kind(&hex("03 40 01 61 01 95 FF FF FF FF 07 00")), ErrorKind::InvalidFormat);
}

// ---------------------------------------------------------------------------------------
// Every record type decodes through the public API too
// ---------------------------------------------------------------------------------------

#[test]
fn arrays_expand_with_their_attributes_and_namespaces() {
    let binary = hex("40 01 72 03 5E 01 69 09 01 61 03 75 72 6E 04 01 6B 86 01 8D 02 01 00 00 00 FE FF FF FF 01");
    assert_eq!(
        decode_static(&binary).unwrap(),
        r#"<r><a:i xmlns:a="urn" k="true">1</a:i><a:i xmlns:a="urn" k="true">-2</a:i></r>"#
    );
    let binary = hex("40 01 72 03 40 01 64 01 97 01 00 40 8E F9 5B 47 C8 08 01");
    assert_eq!(decode_static(&binary).unwrap(), "<r><d>2006-05-17T00:00:00</d></r>");
}

#[test]
fn qname_dictionary_text_uses_the_static_dictionary() {
    let binary = hex("40 01 63 BD 12 0E");
    assert_eq!(decode_static(&binary).unwrap(), "<c>s:Body</c>");
}

// ---------------------------------------------------------------------------------------
// Session dictionary
// ---------------------------------------------------------------------------------------

fn session_pair(max: usize) -> (SessionEncoder, SessionDecoder) {
    (SessionEncoder::new(max), SessionDecoder::new(max))
}

#[test]
fn session_strings_are_sent_once_then_tokenized() {
    let (mut tx, mut rx) = session_pair(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let xml = r#"<Order xmlns="urn:shop" id="7"><Item sku="x">2</Item></Order>"#;
    let mut first = Vec::new();
    tx.encode_envelope(xml.as_bytes(), &mut first).unwrap();
    // StringTable: Order(1) urn:shop(3) id(5) Item(7) sku(9).
    assert_eq!(first[..7], hex("1B 05 4F 72 64 65 72"));
    assert_eq!(tx.dictionary_len(), 5);
    assert_eq!(tx.dictionary_bytes(), 6 + 9 + 3 + 5 + 4);
    assert_eq!(first[0x1C..], hex("42 01 0A 03 06 05 88 07 42 07 06 09 98 01 78 89 02 01"));
    let mut second = Vec::new();
    tx.encode_envelope(xml.as_bytes(), &mut second).unwrap();
    assert_eq!(second, hex("00 42 01 0A 03 06 05 88 07 42 07 06 09 98 01 78 89 02 01"));
    for payload in [&first, &second] {
        let text = rx.decode_envelope(payload, &quotas()).unwrap();
        assert_eq!(infoset(&text), infoset(xml.as_bytes()));
    }
    assert_eq!(rx.dictionary_len(), 5);
    assert_eq!(rx.dictionary_bytes(), tx.dictionary_bytes());
}

#[test]
fn static_strings_never_enter_the_session_dictionary() {
    let (mut tx, _) = session_pair(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let mut out = Vec::new();
    tx.encode_envelope(SOAP_EXAMPLE.as_bytes(), &mut out).unwrap();
    assert_eq!(tx.dictionary_len(), 1, "only Inventory");
}

/// "Quota reached on send: the string is simply written inline" — and, like WCF, the
/// dictionary is closed from then on (a later, smaller string is not added either).
#[test]
fn send_side_quota_writes_strings_inline() {
    // "abc" costs 4, "defgh" costs 6: a quota of 4 takes "abc" exactly.
    let (mut tx, mut rx) = session_pair(4);
    let mut out = Vec::new();
    tx.encode_envelope(b"<abc><defgh/><x/></abc>", &mut out).unwrap();
    assert_eq!(out, hex("04 03 61 62 63 42 01 40 05 64 65 66 67 68 01 40 01 78 01 01"));
    assert_eq!(tx.dictionary_bytes(), 4);
    assert_eq!(rx.decode_envelope(&out, &quotas()).unwrap(), b"<abc><defgh></defgh><x></x></abc>");

    let (mut tx, _) = session_pair(5);
    let mut out = Vec::new();
    tx.encode_envelope(b"<abcdefgh><x/></abcdefgh>", &mut out).unwrap();
    assert_eq!(out[0], 0, "abcdefgh does not fit; x would, but the dictionary is closed");
    assert_eq!(tx.dictionary_len(), 0);

    let (mut tx, _) = session_pair(0);
    let mut out = Vec::new();
    tx.encode_envelope(b"<q/>", &mut out).unwrap();
    assert_eq!(out, hex("00 40 01 71 01"));
}

/// "Quota reached on receive: the channel faults" — a StringTable beyond what is left of
/// the quota is QuotaExceeded, counting length prefixes as WCF does.
#[test]
fn receive_side_quota_is_quota_exceeded() {
    let mut rx = SessionDecoder::new(5);
    // "abc" costs 4 bytes (prefix + 3): fits.
    assert!(rx.decode_envelope(&hex("04 03 61 62 63 42 01 01"), &quotas()).is_ok());
    assert_eq!(rx.dictionary_bytes(), 4);
    // Another 2-byte table ("x") exceeds the 1 byte left.
    let e = rx.decode_envelope(&hex("02 01 78 42 03 01"), &quotas()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{e}");
    assert_eq!(e.hresult(), crate::Hresult::WS_E_QUOTA_EXCEEDED);
    // An empty table still decodes.
    assert!(rx.decode_envelope(&hex("00 42 01 01"), &quotas()).is_ok());
}

#[test]
fn malformed_string_tables_and_unknown_session_ids_are_invalid_format() {
    let cases: &[(&str, &str)] = &[
        ("", "no StringTable"),
        ("05 03 61 62", "table past the payload"),
        ("03 03 61 62 40 01 61 01", "string past the table"),
        ("02 01 FF 40 01 61 01", "string not UTF-8"),
        ("00", "table without a document"),
        ("02 01 61 42 03 01", "id 3 not defined yet"),
        ("FF FF FF FF 0F", "bad MultiByteInt31"),
    ];
    for (bytes, why) in cases {
        let mut rx = SessionDecoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
        let e = rx.decode_envelope(&hex(bytes), &quotas()).expect_err(why);
        assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{why}: {e}");
    }
}

#[test]
fn session_ids_persist_across_messages_and_grow_by_two() {
    let mut rx = SessionDecoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    assert_eq!(rx.decode_envelope(&hex("02 01 61 42 01 01"), &quotas()).unwrap(), b"<a></a>");
    assert_eq!(rx.decode_envelope(&hex("02 01 62 42 01 42 03 01 01"), &quotas()).unwrap(), b"<a><b></b></a>");
    assert_eq!(rx.decode_envelope(&hex("00 42 03 01"), &quotas()).unwrap(), b"<b></b>");
}

#[test]
fn failed_encoding_leaves_the_session_dictionary_unchanged() {
    let (mut tx, mut rx) = session_pair(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    let mut out = Vec::new();
    assert!(tx.encode_envelope(b"<first><second>", &mut out).is_err());
    assert!(out.is_empty());
    assert_eq!((tx.dictionary_len(), tx.dictionary_bytes()), (0, 0));
    tx.encode_envelope(b"<second/>", &mut out).unwrap();
    assert_eq!(rx.decode_envelope(&out, &quotas()).unwrap(), b"<second></second>");
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

/// A generated element: prefix, local name, namespace declarations, attributes, children.
#[derive(Clone, Debug)]
struct Element {
    prefix: Option<String>,
    local: String,
    uri: String,
    default_ns: Option<String>,
    attributes: Vec<(bool, String, String)>,
    children: Vec<Child>,
}

#[derive(Clone, Debug)]
enum Child {
    Element(Element),
    Text(String),
    Comment(String),
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["Envelope", "Body", "Header", "Action", "To", "mustUnderstand", "Fault", "detail"])
            .prop_map(str::to_owned),
        "[A-Za-z_][A-Za-z0-9._-]{0,8}",
        "[\u{e0}-\u{f6}\u{4e00}-\u{4e10}][a-z\u{300}]{0,3}",
    ]
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "http://www.w3.org/2003/05/soap-envelope",
            "http://www.w3.org/2005/08/addressing",
            "http://schemas.xmlsoap.org/soap/envelope/",
            "urn:shop",
        ])
        .prop_map(str::to_owned),
        "urn:[a-z0-9:/.]{1,12}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["0", "1", "true", "false", "-7", "300", "70000", "-9000000000", "Body", " "])
            .prop_map(str::to_owned),
        "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[ -~\t\n\r\u{e9}\u{3b1}\u{1F600}]{0,20}",
    ]
}

fn element() -> impl Strategy<Value = Element> {
    let leaf = (
        prop::option::of(prop::sample::select(vec!["a", "s", "pre", "ns1", "z"]).prop_map(str::to_owned)),
        name(),
        uri(),
        prop::option::of(prop_oneof![uri(), Just(String::new())]),
        prop::collection::vec((any::<bool>(), name(), text()), 0..4),
    )
        .prop_map(|(prefix, local, uri, default_ns, attributes)| Element {
            prefix,
            local,
            uri,
            default_ns,
            attributes,
            children: Vec::new(),
        });
    leaf.prop_recursive(4, 24, 4, |inner| {
        let children = prop::collection::vec(
            prop_oneof![
                3 => inner.clone().prop_map(Child::Element),
                2 => "[ -~\t\n\r\u{e9}]{1,12}".prop_map(Child::Text),
                1 => "[a-z ]{0,8}[a-z]".prop_map(Child::Comment),
            ],
            0..4,
        );
        (inner, children).prop_map(|(mut e, children)| {
            e.children = children;
            e
        })
    })
}

fn write_element(w: &mut XmlWriter, e: &Element) {
    w.start_element(e.prefix.as_deref(), &e.local);
    if let Some(p) = &e.prefix {
        w.namespace_decl(Some(p), &e.uri);
    }
    if let Some(d) = &e.default_ns {
        w.namespace_decl(None, d);
    }
    let mut seen = std::collections::HashSet::new();
    for (prefixed, name, value) in &e.attributes {
        let prefix = if *prefixed { e.prefix.as_deref() } else { None };
        if name == "xmlns" || !seen.insert((prefix.is_some(), name.clone())) {
            continue;
        }
        w.attribute(prefix, name, value);
    }
    for child in &e.children {
        match child {
            Child::Element(c) => write_element(w, c),
            Child::Text(t) => w.text(t),
            Child::Comment(c) => w.raw(format!("<!--{c}-->").as_bytes()),
        }
    }
    w.end_element();
}

fn document(e: &Element) -> Vec<u8> {
    let mut w = XmlWriter::new();
    write_element(&mut w, e);
    w.into_bytes()
}

/// A byte sequence biased towards record types and small lengths.
fn record_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![0x01u8, 0x02, 0x03, 0x04, 0x06, 0x08, 0x09, 0x0A, 0x0B, 0x1E, 0x26, 0x40,
                0x41, 0x42, 0x43, 0x44, 0x56, 0x5E, 0x80, 0x81, 0x86, 0x8B, 0x8D, 0x97, 0x98, 0x99, 0x9F, 0xA4, 0xA6,
                0xA8, 0xAB, 0xAD, 0xAF, 0xB5, 0xB7, 0xBB, 0xBD]),
            3 => 0u8..8,
            2 => prop::sample::select(vec![b'a', b'b', b's', b'p', b':', b'-', 0xC3, 0xA9]),
            1 => any::<u8>(),
        ],
        0..96,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any document our encoder accepts decodes back to the same infoset.
    #[test]
    fn encoded_documents_decode_to_the_same_infoset(e in element()) {
        let xml = document(&e);
        let mut binary = Vec::new();
        encode_document(&xml, &mut binary).unwrap();
        let back = decode_document(&binary, &quotas()).unwrap();
        prop_assert_eq!(infoset(&back), infoset(&xml));
    }

    /// Sessions of several messages, including quotas the dictionary overflows, decode to
    /// the same infosets, and both sides count the same dictionary bytes.
    #[test]
    fn sessions_decode_every_message_to_the_same_infoset(
        docs in prop::collection::vec(element(), 1..5),
        max in prop::sample::select(vec![0usize, 3, 16, 64, 256, 2048]),
    ) {
        let (mut tx, mut rx) = session_pair(max);
        for e in &docs {
            let xml = document(e);
            let mut payload = Vec::new();
            tx.encode_envelope(&xml, &mut payload).unwrap();
            let back = rx.decode_envelope(&payload, &quotas()).unwrap();
            prop_assert_eq!(infoset(&back), infoset(&xml));
            prop_assert_eq!(rx.dictionary_bytes(), tx.dictionary_bytes());
            prop_assert!(tx.dictionary_bytes() <= max);
        }
    }

    /// Arbitrary bytes never panic, and whatever decodes is well-formed XML our reader takes.
    #[test]
    fn arbitrary_bytes_never_panic_and_decode_only_to_well_formed_xml(bytes in record_soup()) {
        if let Ok(text) = decode_document(&bytes, &quotas()) {
            prop_assert!(infoset_of(&text, false).is_ok(), "{}", String::from_utf8_lossy(&text));
        }
        if let Ok(text) = decode_fragment(&bytes, &quotas()) {
            prop_assert!(infoset_of(&text, true).is_ok(), "{}", String::from_utf8_lossy(&text));
        }
        let mut rx = SessionDecoder::new(64);
        for chunk in bytes.chunks(24) {
            let _ = rx.decode_envelope(chunk, &quotas());
        }
    }

    /// Mutating one byte of a valid encoding never panics either.
    #[test]
    fn mutated_encodings_never_panic(e in element(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut binary = Vec::new();
        encode_document(&document(&e), &mut binary).unwrap();
        let i = at.index(binary.len());
        binary[i] = byte;
        if let Ok(text) = decode_document(&binary, &quotas()) {
            prop_assert!(infoset_of(&text, false).is_ok(), "{}", String::from_utf8_lossy(&text));
        }
    }

    /// Any text that survives our reader survives encoding, whatever its characters.
    #[test]
    fn any_text_and_attribute_value_round_trips(t in text(), v in text()) {
        let mut w = XmlWriter::new();
        w.start_element(None, "a");
        w.attribute(None, "v", &v);
        w.text(&t);
        w.end_element();
        let xml = w.into_bytes();
        let mut binary = Vec::new();
        encode_document(&xml, &mut binary).unwrap();
        prop_assert_eq!(infoset(&decode_document(&binary, &quotas()).unwrap()), infoset(&xml));
    }
}

// ---------------------------------------------------------------------------------------
// Pinned outputs of realistic envelopes
// ---------------------------------------------------------------------------------------

/// The `echo("hello, world")` request of `cargo xtask bench nettcp`, as soapwire's
/// `Message::encode` writes it (SOAP 1.2, WS-Addressing 1.0 Action, MessageID and To).
const PINNED_REQUEST: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">"#,
    r#"<s:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing" s:mustUnderstand="1">"#,
    r#"http://example.org/echo/echo</a:Action><a:MessageID xmlns:a="http://www.w3.org/2005/08/addressing">"#,
    r#"urn:uuid:6b29fc40-ca47-4067-b31d-00dd010662da</a:MessageID>"#,
    r#"<a:To xmlns:a="http://www.w3.org/2005/08/addressing" s:mustUnderstand="1">net.tcp://127.0.0.1:40123/echo</a:To>"#,
    r#"</s:Header><s:Body><e:echo xmlns:e="http://example.org/echo"><e:message>hello, world</e:message></e:echo>"#,
    r#"</s:Body></s:Envelope>"#,
);

/// The echo service's reply to [`PINNED_REQUEST`] (Action and RelatesTo).
const PINNED_REPLY: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">"#,
    r#"<s:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing" s:mustUnderstand="1">"#,
    r#"http://example.org/echo/EchoPortType/echoResponse</a:Action>"#,
    r#"<a:RelatesTo xmlns:a="http://www.w3.org/2005/08/addressing">urn:uuid:6b29fc40-ca47-4067-b31d-00dd010662da"#,
    r#"</a:RelatesTo></s:Header><s:Body><e:echoResponse xmlns:e="http://example.org/echo">"#,
    r#"<e:message>hello, world</e:message></e:echoResponse></s:Body></s:Envelope>"#,
);

/// A WCF-style request with every WS-Addressing header (endpoint references, reference
/// parameters), a targeted extension header, whitespace between headers and a default
/// namespace in the body.
const PINNED_WSA: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
    r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">"#,
    "<s:Header>\n",
    r#"<a:Action s:mustUnderstand="1">http://example.org/echo/EchoPortType/echo</a:Action>"#,
    "\n<a:MessageID>urn:uuid:6b29fc40-ca47-1067-b31d-00dd010662da</a:MessageID>\n",
    r#"<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>"#,
    "\n",
    r#"<a:FaultTo><a:Address>http://client.example.org/faults</a:Address><a:ReferenceParameters>"#,
    r#"<r:session xmlns:r="urn:example:session">42</r:session></a:ReferenceParameters></a:FaultTo>"#,
    "\n",
    r#"<a:To s:mustUnderstand="1">http://127.0.0.1:8080/echo</a:To>"#,
    "\n",
    r#"<t:Trace xmlns:t="urn:example:trace" s:role="http://www.w3.org/2003/05/soap-envelope/role/next">hop-1</t:Trace>"#,
    "\n</s:Header><s:Body><Order xmlns=\"urn:shop\" id=\"7\"><Item sku=\"x-1\" qty=\"300\">true</Item>",
    "<Item sku=\"y\" qty=\"-70000\"/><Note/></Order></s:Body></s:Envelope>",
);

/// A SOAP 1.2 fault reply with a reason in two languages and a detail.
const PINNED_FAULT: &str = concat!(
    r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">"#,
    r#"<s:Header><a:Action s:mustUnderstand="1">http://www.w3.org/2005/08/addressing/soap/fault</a:Action>"#,
    r#"<a:RelatesTo>urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e</a:RelatesTo></s:Header><s:Body><s:Fault>"#,
    r#"<s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value xmlns:e="urn:echo">e:Busy</s:Value></s:Subcode>"#,
    r#"</s:Code><s:Reason><s:Text xml:lang="en-US">The service is busy &amp; said "no" &lt;twice&gt;.</s:Text>"#,
    r#"<s:Text xml:lang="fr">Le service est occupé.</s:Text></s:Reason><s:Detail><e:retry xmlns:e="urn:echo">"#,
    r#"PT5S</e:retry></s:Detail></s:Fault></s:Body></s:Envelope>"#,
);

/// Everything else text can hold: a BOM, comments, CDATA, character and entity references,
/// CR LF line ends, tabs and quotes in attribute values, non-ASCII and astral characters,
/// a text longer than 255 bytes (Chars16), numbers of each width, ids, dictionary text
/// and an unprefixed attribute beside prefixed ones.
fn pinned_kitchen_sink() -> String {
    let long = "0123456789abcdef".repeat(20);
    format!(
        concat!(
            "\u{FEFF}<?xml version=\"1.0\"?><!-- before -->\r\n",
            r#"<p:root xmlns:p="urn:p" xmlns:pre="urn:pre" xmlns="urn:default" p:x="a&#9;b&#x0A;c &quot;q&quot;" y='1'>"#,
            "\r\n  <child pre:a=\"&lt;&gt;&amp;\" b=\"\">one\r\ntwo\rthree<![CDATA[<raw> & ]]>four&#233;&#x1F600;</child>",
            "<n>0</n><n>1</n><n>-128</n><n>127</n><n>32767</n><n>-2147483648</n><n>9223372036854775807</n>",
            "<n>18446744073709551615</n><n>007</n><n>+5</n><b>true</b><b>false</b><e></e><e/>",
            "<u>urn:uuid:00112233-4455-6677-8899-aabbccddeeff</u><u>urn:uuid:00112233-4455-6677-8899-AABBCCDDEEFF</u>",
            "<d>Envelope</d><d>http://www.w3.org/2005/08/addressing/anonymous</d><l>{long}</l>",
            "<é xmlns:ü=\"urn:ü\" ü:ä=\"ö\">日本語 \u{1F600}<!--inner--></é><?pi data?></p:root>\n<!-- after -->",
        ),
        long = long
    )
}

/// The pinned envelopes, in the order of the pinned session.
fn pinned_envelopes() -> Vec<(&'static str, String)> {
    vec![
        ("request", PINNED_REQUEST.to_owned()),
        ("reply", PINNED_REPLY.to_owned()),
        ("wsa", PINNED_WSA.to_owned()),
        ("fault", PINNED_FAULT.to_owned()),
        ("kitchen sink", pinned_kitchen_sink()),
    ]
}

fn spaced_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

/// FNV-1a (64 bits): a short fingerprint for the pinned outputs too long to spell out.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The text of an envelope without its XML declaration (the decoder does not write one).
fn without_declaration(xml: &str) -> &str {
    xml.find("?>").map_or(xml, |end| &xml[end + 2..])
}

/// The NBFX records of the net.tcp bench's request and reply, byte for byte, and the text
/// they decode to: an optimisation of the transcoder must not change a single byte.
#[test]
fn pinned_echo_envelopes_encode_to_these_bytes() {
    let cases = [(PINNED_REQUEST, PINNED_REQUEST_NBFX), (PINNED_REPLY, PINNED_REPLY_NBFX)];
    for (xml, nbfx) in cases {
        let mut binary = Vec::new();
        encode_document(xml.as_bytes(), &mut binary).unwrap();
        assert_eq!(spaced_hex(&binary), nbfx.join(" "), "{xml}");
        let text = decode_document(&binary, &quotas()).unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), without_declaration(xml));
    }
}

/// A binary-session direction carrying the request twice (and one carrying the reply
/// twice): the first message announces the session strings, the second refers to them.
#[test]
fn pinned_echo_envelopes_encode_to_these_session_messages() {
    let cases = [(PINNED_REQUEST, PINNED_REQUEST_SESSION), (PINNED_REPLY, PINNED_REPLY_SESSION)];
    for (xml, messages) in cases {
        let (mut tx, mut rx) = session_pair(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
        for message in messages {
            let mut payload = Vec::new();
            tx.encode_envelope(xml.as_bytes(), &mut payload).unwrap();
            assert_eq!(spaced_hex(&payload), message.join(" "), "{xml}");
            let text = rx.decode_envelope(&payload, &quotas()).unwrap();
            assert_eq!(String::from_utf8(text).unwrap(), without_declaration(xml));
        }
    }
}

/// Every pinned envelope through `encode_document`, `decode_document` and one session (all
/// of them, then all again), fingerprinted: (binary length, FNV-1a of the binary, FNV-1a of
/// the decoded text).
#[test]
fn pinned_envelopes_encode_and_decode_to_the_same_bytes_as_before() {
    let mut seen = Vec::new();
    for (name, xml) in pinned_envelopes() {
        let mut binary = Vec::new();
        encode_document(xml.as_bytes(), &mut binary).unwrap();
        let text = decode_document(&binary, &quotas()).unwrap();
        seen.push((format!("document {name}"), binary.len(), fnv1a(&binary), fnv1a(&text)));
    }
    let (mut tx, mut rx) = session_pair(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
    for round in 1..=2 {
        for (name, xml) in pinned_envelopes() {
            let mut payload = Vec::new();
            tx.encode_envelope(xml.as_bytes(), &mut payload).unwrap();
            let text = rx.decode_envelope(&payload, &quotas()).unwrap();
            seen.push((format!("session {round} {name}"), payload.len(), fnv1a(&payload), fnv1a(&text)));
        }
    }
    let expected: Vec<(String, usize, u64, u64)> =
        PINNED_FINGERPRINTS.iter().map(|&(n, len, b, t)| (n.to_owned(), len, b, t)).collect();
    assert_eq!(seen, expected);
}

/// `encode_document` of [`PINNED_REQUEST`] (173 bytes).
const PINNED_REQUEST_NBFX: &[&str] = &[
    "56 02 0B 01 73 04 56 08 44 0A 0B 01 61 06 1E 00 82 99 1C 68 74 74 70 3A",
    "2F 2F 65 78 61 6D 70 6C 65 2E 6F 72 67 2F 65 63 68 6F 2F 65 63 68 6F 44",
    "1A 0B 01 61 06 AD 40 FC 29 6B 47 CA 67 40 B3 1D 00 DD 01 06 62 DA 44 0C",
    "0B 01 61 06 1E 00 82 99 1E 6E 65 74 2E 74 63 70 3A 2F 2F 31 32 37 2E 30",
    "2E 30 2E 31 3A 34 30 31 32 33 2F 65 63 68 6F 01 56 0E 62 04 65 63 68 6F",
    "09 01 65 17 68 74 74 70 3A 2F 2F 65 78 61 6D 70 6C 65 2E 6F 72 67 2F 65",
    "63 68 6F 62 07 6D 65 73 73 61 67 65 99 0C 68 65 6C 6C 6F 2C 20 77 6F 72",
    "6C 64 01 01 01",
];

/// `encode_document` of [`PINNED_REPLY`] (161 bytes).
const PINNED_REPLY_NBFX: &[&str] = &[
    "56 02 0B 01 73 04 56 08 44 0A 0B 01 61 06 1E 00 82 99 31 68 74 74 70 3A",
    "2F 2F 65 78 61 6D 70 6C 65 2E 6F 72 67 2F 65 63 68 6F 2F 45 63 68 6F 50",
    "6F 72 74 54 79 70 65 2F 65 63 68 6F 52 65 73 70 6F 6E 73 65 44 12 0B 01",
    "61 06 AD 40 FC 29 6B 47 CA 67 40 B3 1D 00 DD 01 06 62 DA 01 56 0E 62 0C",
    "65 63 68 6F 52 65 73 70 6F 6E 73 65 09 01 65 17 68 74 74 70 3A 2F 2F 65",
    "78 61 6D 70 6C 65 2E 6F 72 67 2F 65 63 68 6F 62 07 6D 65 73 73 61 67 65",
    "99 0C 68 65 6C 6C 6F 2C 20 77 6F 72 6C 64 01 01 01",
];

/// [`PINNED_REQUEST`] twice on a fresh binary-session direction: the first message
/// (StringTable of `echo`, `http://example.org/echo`, `message`), then the steady state.
const PINNED_REQUEST_SESSION: [&[&str]; 2] = [
    &[
        "25 04 65 63 68 6F 17 68 74 74 70 3A 2F 2F 65 78 61 6D 70 6C 65 2E 6F 72",
        "67 2F 65 63 68 6F 07 6D 65 73 73 61 67 65 56 02 0B 01 73 04 56 08 44 0A",
        "0B 01 61 06 1E 00 82 99 1C 68 74 74 70 3A 2F 2F 65 78 61 6D 70 6C 65 2E",
        "6F 72 67 2F 65 63 68 6F 2F 65 63 68 6F 44 1A 0B 01 61 06 AD 40 FC 29 6B",
        "47 CA 67 40 B3 1D 00 DD 01 06 62 DA 44 0C 0B 01 61 06 1E 00 82 99 1E 6E",
        "65 74 2E 74 63 70 3A 2F 2F 31 32 37 2E 30 2E 30 2E 31 3A 34 30 31 32 33",
        "2F 65 63 68 6F 01 56 0E 48 01 0B 01 65 03 48 05 99 0C 68 65 6C 6C 6F 2C",
        "20 77 6F 72 6C 64 01 01 01",
    ],
    &[
        "00 56 02 0B 01 73 04 56 08 44 0A 0B 01 61 06 1E 00 82 99 1C 68 74 74 70",
        "3A 2F 2F 65 78 61 6D 70 6C 65 2E 6F 72 67 2F 65 63 68 6F 2F 65 63 68 6F",
        "44 1A 0B 01 61 06 AD 40 FC 29 6B 47 CA 67 40 B3 1D 00 DD 01 06 62 DA 44",
        "0C 0B 01 61 06 1E 00 82 99 1E 6E 65 74 2E 74 63 70 3A 2F 2F 31 32 37 2E",
        "30 2E 30 2E 31 3A 34 30 31 32 33 2F 65 63 68 6F 01 56 0E 48 01 0B 01 65",
        "03 48 05 99 0C 68 65 6C 6C 6F 2C 20 77 6F 72 6C 64 01 01 01",
    ],
];

/// [`PINNED_REPLY`] twice on a fresh binary-session direction.
const PINNED_REPLY_SESSION: [&[&str]; 2] = [
    &[
        "2D 0C 65 63 68 6F 52 65 73 70 6F 6E 73 65 17 68 74 74 70 3A 2F 2F 65 78",
        "61 6D 70 6C 65 2E 6F 72 67 2F 65 63 68 6F 07 6D 65 73 73 61 67 65 56 02",
        "0B 01 73 04 56 08 44 0A 0B 01 61 06 1E 00 82 99 31 68 74 74 70 3A 2F 2F",
        "65 78 61 6D 70 6C 65 2E 6F 72 67 2F 65 63 68 6F 2F 45 63 68 6F 50 6F 72",
        "74 54 79 70 65 2F 65 63 68 6F 52 65 73 70 6F 6E 73 65 44 12 0B 01 61 06",
        "AD 40 FC 29 6B 47 CA 67 40 B3 1D 00 DD 01 06 62 DA 01 56 0E 48 01 0B 01",
        "65 03 48 05 99 0C 68 65 6C 6C 6F 2C 20 77 6F 72 6C 64 01 01 01",
    ],
    &[
        "00 56 02 0B 01 73 04 56 08 44 0A 0B 01 61 06 1E 00 82 99 31 68 74 74 70",
        "3A 2F 2F 65 78 61 6D 70 6C 65 2E 6F 72 67 2F 65 63 68 6F 2F 45 63 68 6F",
        "50 6F 72 74 54 79 70 65 2F 65 63 68 6F 52 65 73 70 6F 6E 73 65 44 12 0B",
        "01 61 06 AD 40 FC 29 6B 47 CA 67 40 B3 1D 00 DD 01 06 62 DA 01 56 0E 48",
        "01 0B 01 65 03 48 05 99 0C 68 65 6C 6C 6F 2C 20 77 6F 72 6C 64 01 01 01",
    ],
];

/// The fingerprints of [`pinned_envelopes_encode_and_decode_to_the_same_bytes_as_before`].
const PINNED_FINGERPRINTS: &[(&str, usize, u64, u64)] = &[
    ("document request", 173, 0x6f0e_0f72_1283_5157, 0x6134_01f5_3094_8db1),
    ("document reply", 161, 0x6f85_66b7_f37f_1bb6, 0xd608_f7ca_2043_c11e),
    ("document wsa", 392, 0x63e5_d607_253a_2f43, 0x648d_30b8_34f1_ff5c),
    ("document fault", 277, 0xb3c3_eff9_d591_aeb5, 0x8157_3d62_e11a_b7e8),
    ("document kitchen sink", 683, 0xd698_6ab8_6495_7272, 0x10b5_6708_b9b4_4eb9),
    ("session 1 request", 177, 0x4f05_eeae_ebba_6403, 0x6134_01f5_3094_8db1),
    ("session 1 reply", 133, 0xd4ca_990a_a690_5813, 0xd608_f7ca_2043_c11e),
    ("session 1 wsa", 394, 0x8e6e_cd14_475b_db0d, 0x648d_30b8_34f1_ff5c),
    ("session 1 fault", 269, 0xf343_3abb_76dd_0164, 0x8157_3d62_e11a_b7e8),
    ("session 1 kitchen sink", 686, 0x529e_d954_7470_9b74, 0x10b5_6708_b9b4_4eb9),
    ("session 2 request", 140, 0x3b4b_9f08_358f_82c6, 0x6134_01f5_3094_8db1),
    ("session 2 reply", 120, 0xb9a0_ba90_7fce_0890, 0xd608_f7ca_2043_c11e),
    ("session 2 wsa", 306, 0xd893_dc61_4adb_fada, 0x648d_30b8_34f1_ff5c),
    ("session 2 fault", 249, 0xbc19_8894_def2_d2e9, 0x8157_3d62_e11a_b7e8),
    ("session 2 kitchen sink", 624, 0x2901_0159_0084_12f5, 0x10b5_6708_b9b4_4eb9),
];
