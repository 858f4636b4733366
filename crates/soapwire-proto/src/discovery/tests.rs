//! Tests of WS-Discovery messages, matching and sequencing, named for the behaviour they
//! pin down.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::matching::probe_matches;
use super::*;
use crate::addressing::{AddressingHeaders, EndpointReference, WSA_1_0_ANONYMOUS, WSA_2004_08_ANONYMOUS};
use crate::error::ErrorKind;
use crate::xml::QName;

/// Python WSDiscovery's Probe for `wsdp:Device`, as sent to wsdd (capture
/// `shared/peers/wsdd/samples/wsd-demo-probe-wsdd.txt`, datagram 1).
const WSDISCOVERY_PROBE: &[u8] = include_bytes!("../../tests/fixtures/discovery/wsdiscovery_probe_2005_04.xml");
/// wsdd's ProbeMatches (no XAddrs), datagram 3.
const WSDD_PROBE_MATCHES: &[u8] = include_bytes!("../../tests/fixtures/discovery/wsdd_probe_matches_2005_04.xml");
/// Python WSDiscovery's Resolve, datagram 4.
const WSDISCOVERY_RESOLVE: &[u8] = include_bytes!("../../tests/fixtures/discovery/wsdiscovery_resolve_2005_04.xml");
/// wsdd's ResolveMatches, datagram 6.
const WSDD_RESOLVE_MATCHES: &[u8] = include_bytes!("../../tests/fixtures/discovery/wsdd_resolve_matches_2005_04.xml");

/// The WSDAPI documentation's sample Hello (namespaces corrected to `http://`, end tag
/// added; see `tests/fixtures/discovery/README.md`).
const WSDAPI_DOC_HELLO: &[u8] = include_bytes!("../../tests/fixtures/discovery/wsdapi_doc_hello_2005_04.xml");
/// A WS-Discovery 1.1 Hello modelled on the OASIS specification's example.
const OASIS_HELLO: &[u8] = include_bytes!("../../tests/fixtures/discovery/oasis_style_hello_1_1.xml");

const WSDD_EPR: &str = "urn:uuid:11111111-2222-3333-4444-555555555555";
const PROBE_ID: &str = "urn:uuid:146d26db-d7c8-420c-b503-52baea5351fd";
const RESOLVE_ID: &str = "urn:uuid:349d24c5-b98e-490e-8d41-ec9272fd0c52";

fn device() -> QName {
    QName::new(DPWS_2006_02_NAMESPACE, "Device")
}

fn computer() -> QName {
    QName::new(WINDOWS_PUB_NAMESPACE, "Computer")
}

fn parse(bytes: &[u8]) -> crate::Result<ReceivedDiscovery> {
    DiscoveryMessage::parse(bytes, &DiscoveryQuotas::default())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------
// Fixtures from the wsdd capture

#[test]
fn wsdiscovery_probe_fixture_decodes_with_literal_and_resolved_types() {
    let got = parse(WSDISCOVERY_PROBE).expect("probe");
    assert_eq!(got.version, DiscoveryVersion::V2005_04);
    assert_eq!(got.addressing.action.as_deref(), Some("http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"));
    assert_eq!(got.addressing.message_id.as_deref(), Some(PROBE_ID));
    assert_eq!(got.addressing.to.as_deref(), Some(WSD_2005_04_TO));
    assert_eq!(got.app_sequence, None);
    let DiscoveryMessage::Probe(probe) = got.message else { panic!("not a probe") };
    assert_eq!(probe.types, [device()]);
    assert_eq!(probe.types_text.as_deref(), Some("wsdp:Device"));
    assert_eq!(probe.scopes, None);
}

#[test]
fn wsdd_probe_matches_fixture_decodes_without_xaddrs() {
    let got = parse(WSDD_PROBE_MATCHES).expect("probe matches");
    assert_eq!(got.version, DiscoveryVersion::V2005_04);
    assert_eq!(got.addressing.to.as_deref(), Some(WSA_2004_08_ANONYMOUS));
    assert_eq!(got.addressing.relates_to.as_deref(), Some(PROBE_ID));
    assert_eq!(got.addressing.message_id.as_deref(), Some("urn:uuid:d967dff2-e6ad-11f1-8164-7ea2c40e0021"));
    assert_eq!(
        got.app_sequence,
        Some(AppSequence {
            instance_id: 1_795_376_974,
            sequence_id: Some("urn:uuid:d967e31c-e6ad-11f1-8164-7ea2c40e0021".into()),
            message_number: 2,
        })
    );
    let DiscoveryMessage::ProbeMatches(matches) = got.message else { panic!("not probe matches") };
    assert_eq!(matches.len(), 1);
    let m = &matches[0];
    assert_eq!(m.endpoint.address, WSDD_EPR);
    assert_eq!(m.types, [device(), computer()]);
    assert_eq!(m.types_text.as_deref(), Some("wsdp:Device pub:Computer"));
    assert!(m.xaddrs.is_empty());
    assert!(m.scopes.is_empty());
    assert_eq!(m.metadata_version, Some(1));
}

#[test]
fn wsdiscovery_resolve_fixture_decodes() {
    let got = parse(WSDISCOVERY_RESOLVE).expect("resolve");
    assert_eq!(got.addressing.message_id.as_deref(), Some(RESOLVE_ID));
    assert_eq!(got.message, DiscoveryMessage::Resolve(Resolve { endpoint: EndpointReference::new(WSDD_EPR) }));
}

#[test]
fn wsdd_resolve_matches_fixture_decodes_with_one_xaddr() {
    let got = parse(WSDD_RESOLVE_MATCHES).expect("resolve matches");
    assert_eq!(got.addressing.relates_to.as_deref(), Some(RESOLVE_ID));
    assert_eq!(got.app_sequence.as_ref().map(|s| s.message_number), Some(3));
    let DiscoveryMessage::ResolveMatches(Some(m)) = got.message else { panic!("no resolve match") };
    assert_eq!(m.endpoint.address, WSDD_EPR);
    assert_eq!(m.xaddrs, ["http://198.18.0.1:5357/11111111-2222-3333-4444-555555555555"]);
    assert_eq!(m.types, [device(), computer()]);
    assert_eq!(m.metadata_version, Some(1));
}

#[test]
fn wsdd_answers_match_its_probe_by_qname() {
    let DiscoveryMessage::Probe(probe) = parse(WSDISCOVERY_PROBE).expect("probe").message else { panic!() };
    let DiscoveryMessage::ProbeMatches(matches) = parse(WSDD_PROBE_MATCHES).expect("pm").message else { panic!() };
    assert!(probe_matches(&probe, &matches[0]).is_match());
}

#[test]
fn wsdapi_documentation_hello_decodes_with_whitespace_around_uris() {
    let got = parse(WSDAPI_DOC_HELLO).expect("hello");
    assert_eq!(got.version, DiscoveryVersion::V2005_04);
    assert_eq!(got.addressing.to.as_deref(), Some(WSD_2005_04_TO));
    assert_eq!(got.addressing.action.as_deref(), Some("http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello"));
    assert_eq!(got.addressing.message_id.as_deref(), Some("urn:uuid:0f5d604c-81ac-4abc-8010-51dbffad55f2"));
    assert_eq!(
        got.app_sequence,
        Some(AppSequence {
            instance_id: 2,
            sequence_id: Some("urn:uuid:369a7d7b-5f87-48a4-aa9a-189edf2a8772".into()),
            message_number: 14,
        })
    );
    let DiscoveryMessage::Hello(hello) = got.message else { panic!("not a hello") };
    assert_eq!(hello.endpoint.address, "urn:uuid:37f86d35-e6ac-4241-964f-1d9ae46fb366");
    assert_eq!(hello.types, [device()]);
    assert!(hello.xaddrs.is_empty(), "the WSDAPI host never puts XAddrs in Hello");
    assert_eq!(hello.metadata_version, Some(2));
}

#[test]
fn oasis_1_1_hello_decodes_and_its_ldap_scope_matches() {
    let got = parse(OASIS_HELLO).expect("hello");
    assert_eq!(got.version, DiscoveryVersion::V1_1);
    assert_eq!(got.addressing.to.as_deref(), Some(WSD_1_1_TO));
    assert_eq!(
        got.app_sequence,
        Some(AppSequence { instance_id: 1_077_004_800, sequence_id: None, message_number: 1 })
    );
    let DiscoveryMessage::Hello(hello) = got.message else { panic!("not a hello") };
    let imaging = "http://printer.example.org/2003/imaging";
    assert_eq!(hello.types, [QName::new(imaging, "PrintBasic"), QName::new(imaging, "PrintAdvanced")]);
    assert_eq!(hello.scopes.len(), 3);
    assert_eq!(hello.scopes[2], "http://itdept/imaging/deployment/2004-12-04");
    assert_eq!(hello.xaddrs, ["http://prn-example/PRN42/b42-1668-a"]);
    assert_eq!(hello.metadata_version, Some(75965));
    let probe = strings(&["ldap:///ou=b42,ou=anytown,o=examplecom,c=us"]);
    assert!(scopes_match(&MatchBy::Ldap, &probe, &hello.scopes).is_match());
    let probe = strings(&["http://itdept/imaging"]);
    assert!(scopes_match(&MatchBy::Rfc3986, &probe, &hello.scopes).is_match());
    assert!(!scopes_match(&MatchBy::Strcmp0, &probe, &hello.scopes).is_match());
}

#[test]
fn matching_rule_not_supported_fault_lists_the_supported_rules() {
    let fault = matching_rule_not_supported_fault(DiscoveryVersion::V1_1);
    assert_eq!(fault.subcodes, [QName::new(WSD_1_1_NAMESPACE, "MatchingRuleNotSupported")]);
    let detail = String::from_utf8(fault.detail.clone().expect("detail").to_vec()).expect("utf-8");
    assert!(detail.contains("SupportedMatchingRules"));
    assert!(detail.contains("http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/rfc3986"));
    assert!(detail.contains("2009/01/none"));
    let wire = fault.to_envelope(crate::soap::EnvelopeVersion::Soap12, &[]);
    let env = crate::soap::Envelope::parse(Bytes::from(wire), None, &Default::default(), 8).expect("envelope");
    let back = env.fault(&Default::default()).expect("fault").expect("a fault");
    assert_eq!(back.subcodes, fault.subcodes);
    // A fault is not a discovery message.
    let wire = fault.to_envelope(crate::soap::EnvelopeVersion::Soap12, &[]);
    assert_eq!(parse(&wire).expect_err("fault").kind(), ErrorKind::InvalidFormat);
}

// ---------------------------------------------------------------------------------------
// Encoding

fn info(types: Vec<QName>) -> EndpointInfo {
    EndpointInfo {
        endpoint: EndpointReference::new(WSDD_EPR),
        types,
        types_text: None,
        scopes: strings(&["http://example.com/abc", "urn:x-scope:one"]),
        xaddrs: strings(&["http://198.18.0.1:5357/x", "http://[fe80::1%25eth0]:5357/x"]),
        metadata_version: Some(7),
    }
}

fn all_messages() -> Vec<DiscoveryMessage> {
    let types = vec![device(), computer(), QName::new("http://example.org/echo", "EchoDevice"), QName::new("", "Bare")];
    let mut with_params = EndpointReference::new("urn:uuid:0f5c1c9e-4f8a-4a3e-9d61-0b8c1f6f2a10");
    with_params.reference_parameters = Some(Bytes::from_static(b"<p:id xmlns:p=\"urn:p\">42</p:id>"));
    vec![
        DiscoveryMessage::Hello(info(types.clone())),
        DiscoveryMessage::Hello(EndpointInfo { endpoint: EndpointReference::new(WSDD_EPR), ..EndpointInfo::default() }),
        DiscoveryMessage::Bye(EndpointInfo { endpoint: EndpointReference::new(WSDD_EPR), ..EndpointInfo::default() }),
        DiscoveryMessage::Probe(Probe::default()),
        DiscoveryMessage::Probe(Probe {
            types: types.clone(),
            types_text: None,
            scopes: Some(Scopes {
                match_by: Some(MatchBy::Strcmp0.uri(DiscoveryVersion::V1_1)),
                uris: strings(&["urn:a", "urn:b"]),
            }),
        }),
        DiscoveryMessage::ProbeMatches(vec![]),
        DiscoveryMessage::ProbeMatches(vec![info(types.clone()), info(vec![device()])]),
        DiscoveryMessage::Resolve(Resolve { endpoint: with_params }),
        DiscoveryMessage::ResolveMatches(None),
        DiscoveryMessage::ResolveMatches(Some(info(types))),
    ]
}

/// Drops the received-only literal Types text so a decoded message compares with the
/// original.
fn without_literals(mut m: DiscoveryMessage) -> DiscoveryMessage {
    let clear = |i: &mut EndpointInfo| i.types_text = None;
    match &mut m {
        DiscoveryMessage::Hello(i) | DiscoveryMessage::Bye(i) => clear(i),
        DiscoveryMessage::Probe(p) => p.types_text = None,
        DiscoveryMessage::ProbeMatches(ms) => ms.iter_mut().for_each(clear),
        DiscoveryMessage::ResolveMatches(Some(i)) => clear(i),
        DiscoveryMessage::Resolve(_) | DiscoveryMessage::ResolveMatches(None) => {}
    }
    m
}

#[test]
fn every_message_round_trips_in_both_versions() {
    for version in [DiscoveryVersion::V2005_04, DiscoveryVersion::V1_1] {
        for (i, message) in all_messages().into_iter().enumerate() {
            let addressing = AddressingHeaders {
                message_id: Some(format!("urn:uuid:00000000-0000-0000-0000-{i:012}")),
                relates_to: Some(PROBE_ID.into()),
                ..AddressingHeaders::default()
            };
            let seq = AppSequence { instance_id: u32::MAX, sequence_id: Some("urn:uuid:s".into()), message_number: 9 };
            let wire = message.to_envelope(version, &addressing, Some(&seq));
            let got =
                parse(&wire).unwrap_or_else(|e| panic!("{version:?} #{i}: {e}\n{}", String::from_utf8_lossy(&wire)));
            assert_eq!(got.version, version);
            assert_eq!(got.app_sequence.as_ref(), Some(&seq));
            assert_eq!(got.addressing.action, Some(version.action(message.kind())));
            assert_eq!(got.addressing.message_id, addressing.message_id);
            assert_eq!(got.addressing.relates_to, addressing.relates_to);
            assert_eq!(without_literals(got.message), message, "{version:?} #{i}");
        }
    }
}

#[test]
fn default_to_is_multicast_for_announcements_and_requests_and_anonymous_for_matches() {
    let cases = [
        (DiscoveryVersion::V2005_04, MessageKind::Probe, WSD_2005_04_TO),
        (DiscoveryVersion::V2005_04, MessageKind::ProbeMatches, WSA_2004_08_ANONYMOUS),
        (DiscoveryVersion::V1_1, MessageKind::Hello, WSD_1_1_TO),
        (DiscoveryVersion::V1_1, MessageKind::ResolveMatches, WSA_1_0_ANONYMOUS),
    ];
    for (version, kind, to) in cases {
        let message = all_messages().into_iter().find(|m| m.kind() == kind).expect("message");
        let got = parse(&message.to_envelope(version, &AddressingHeaders::default(), None)).expect("parse");
        assert_eq!(got.addressing.to.as_deref(), Some(to), "{version:?} {kind:?}");
    }
}

#[test]
fn encoded_probe_uses_the_wsdp_prefix_wsdd_compares_literally() {
    let probe = DiscoveryMessage::Probe(Probe { types: vec![device()], ..Probe::default() });
    let wire = probe.to_envelope(DiscoveryVersion::V2005_04, &AddressingHeaders::default(), None);
    let text = String::from_utf8(wire.clone()).expect("utf-8");
    assert!(
        text.contains("<d:Types xmlns:wsdp=\"http://schemas.xmlsoap.org/ws/2006/02/devprof\">wsdp:Device</d:Types>")
    );
    let DiscoveryMessage::Probe(back) = parse(&wire).expect("parse").message else { panic!() };
    assert_eq!(back.types_text.as_deref(), Some("wsdp:Device"));
}

#[test]
fn app_sequence_header_without_sequence_id_round_trips() {
    let seq = AppSequence { instance_id: 0, sequence_id: None, message_number: 0 };
    let wire = DiscoveryMessage::Bye(info(vec![])).to_envelope(
        DiscoveryVersion::V1_1,
        &AddressingHeaders::default(),
        Some(&seq),
    );
    assert_eq!(parse(&wire).expect("parse").app_sequence, Some(seq));
}

#[test]
fn action_uris_of_both_versions() {
    assert_eq!(
        DiscoveryVersion::V2005_04.action(MessageKind::Hello),
        "http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello"
    );
    assert_eq!(
        DiscoveryVersion::V1_1.action(MessageKind::ResolveMatches),
        "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/ResolveMatches"
    );
    for v in [DiscoveryVersion::V2005_04, DiscoveryVersion::V1_1] {
        assert_eq!(DiscoveryVersion::from_namespace(v.namespace()), Some(v));
        for k in MessageKind::ALL {
            assert_eq!(v.kind_of_action(&v.action(k)), Some(k));
        }
    }
    assert_eq!(DiscoveryVersion::V1_1.kind_of_action("http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello"), None);
}

// ---------------------------------------------------------------------------------------
// Types in different forms

fn probe_with_types(types_element: &str) -> Vec<u8> {
    format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"><s:Header>\
         <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>\
         <a:MessageID>urn:uuid:1</a:MessageID></s:Header><s:Body><d:Probe>{types_element}</d:Probe></s:Body></s:Envelope>"
    )
    .into_bytes()
}

fn probe_types(types_element: &str) -> crate::Result<Vec<QName>> {
    match parse(&probe_with_types(types_element))?.message {
        DiscoveryMessage::Probe(p) => Ok(p.types),
        other => panic!("{other:?}"),
    }
}

#[test]
fn types_resolve_other_prefixes_and_default_namespace() {
    let ns = DPWS_2006_02_NAMESPACE;
    assert_eq!(probe_types(&format!("<d:Types xmlns:dev=\"{ns}\">dev:Device</d:Types>")).expect("x"), [device()]);
    assert_eq!(probe_types(&format!("<d:Types xmlns=\"{ns}\"> Device\n\t</d:Types>")).expect("x"), [device()]);
    assert_eq!(probe_types("<d:Types/>").expect("x"), []);
}

#[test]
fn unbound_or_malformed_type_names_are_invalid_format() {
    for bad in [
        "<d:Types>nope:Device</d:Types>",
        "<d:Types>:Device</d:Types>",
        "<d:Types>d:a:b</d:Types>",
        "<d:Types>d:</d:Types>",
    ] {
        let err = probe_types(bad).expect_err(bad);
        assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{bad}: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// Quotas and malformed datagrams

#[test]
fn oversized_envelope_is_quota_exceeded() {
    let mut big = WSDISCOVERY_PROBE.to_vec();
    let pad = vec![b' '; MAX_ENVELOPE_SIZE + 1 - big.len()];
    big.extend_from_slice(&pad);
    assert_eq!(big.len(), MAX_ENVELOPE_SIZE + 1);
    assert_eq!(parse(&big).expect_err("too big").kind(), ErrorKind::QuotaExceeded);
    big.pop();
    assert!(parse(&big).is_ok(), "exactly MAX_ENVELOPE_SIZE is allowed");
}

#[test]
fn long_uris_are_quota_exceeded_everywhere() {
    let long = format!("urn:x:{}", "a".repeat(MAX_URI_SIZE));
    let at_limit = format!("urn:x:{}", "a".repeat(MAX_URI_SIZE - 6));
    let make = |uri: &str| -> Vec<Vec<u8>> {
        let mut hello = info(vec![]);
        hello.xaddrs = vec![uri.to_owned()];
        let mut scoped = info(vec![]);
        scoped.scopes = vec![uri.to_owned()];
        let v = DiscoveryVersion::V1_1;
        let plain = AddressingHeaders::default();
        vec![
            DiscoveryMessage::Hello(hello).to_envelope(v, &plain, None),
            DiscoveryMessage::Hello(scoped).to_envelope(v, &plain, None),
            DiscoveryMessage::Resolve(Resolve { endpoint: EndpointReference::new(uri) }).to_envelope(v, &plain, None),
            DiscoveryMessage::Probe(Probe::default()).to_envelope(
                v,
                &AddressingHeaders { message_id: Some(uri.into()), ..plain.clone() },
                None,
            ),
            DiscoveryMessage::Probe(Probe {
                scopes: Some(Scopes { match_by: Some(uri.into()), uris: vec![] }),
                ..Probe::default()
            })
            .to_envelope(v, &plain, None),
            DiscoveryMessage::Bye(info(vec![])).to_envelope(
                v,
                &plain,
                Some(&AppSequence { instance_id: 1, sequence_id: Some(uri.into()), message_number: 1 }),
            ),
        ]
    };
    for (i, wire) in make(&long).iter().enumerate() {
        assert_eq!(parse(wire).expect_err("long uri").kind(), ErrorKind::QuotaExceeded, "case {i}");
    }
    assert_eq!(at_limit.len(), MAX_URI_SIZE);
    for (i, wire) in make(&at_limit).iter().enumerate() {
        assert!(parse(wire).is_ok(), "case {i} at the limit");
    }
}

#[test]
fn too_many_list_items_is_quota_exceeded() {
    let many = vec!["urn:s"; 300].join(" ");
    let err = parse(&probe_with_types(&format!("<d:Scopes>{many}</d:Scopes>"))).expect_err("many");
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
}

#[test]
fn malformed_datagrams_are_invalid_format() {
    let probe = std::str::from_utf8(WSDISCOVERY_PROBE).expect("utf-8");
    let cases: Vec<(&str, String)> = vec![
        ("truncated", probe[..probe.len() / 2].to_owned()),
        ("empty", String::new()),
        ("not xml", "hello".into()),
        ("wrong discovery namespace", probe.replace("ws/2005/04/discovery\"", "ws/2005/04/discoveryX\"")),
        (
            "missing action",
            probe.replace("<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>", ""),
        ),
        ("action disagrees with body", probe.replace("discovery/Probe</a:Action>", "discovery/Resolve</a:Action>")),
        (
            "1.1 body with 2004/08 addressing",
            probe.replace(
                "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"",
                "xmlns:d=\"http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01\"",
            ),
        ),
        ("unknown body element", probe.replace("d:Probe>", "d:Prob>")),
        ("resolve without endpoint", String::from_utf8(probe_with_types("")).expect("s").replace("Probe", "Resolve")),
        (
            "bad app sequence",
            String::from_utf8(WSDD_PROBE_MATCHES.to_vec())
                .expect("s")
                .replace("InstanceId=\"1795376974\"", "InstanceId=\"4294967296\""),
        ),
        (
            "negative message number",
            String::from_utf8(WSDD_PROBE_MATCHES.to_vec())
                .expect("s")
                .replace("MessageNumber=\"2\"", "MessageNumber=\"-2\""),
        ),
        (
            "bad metadata version",
            String::from_utf8(WSDD_PROBE_MATCHES.to_vec())
                .expect("s")
                .replace(">1</wsd:MetadataVersion>", ">one</wsd:MetadataVersion>"),
        ),
        (
            "unknown mustUnderstand header",
            probe.replace("<s:Header>", "<s:Header><x:Secret xmlns:x=\"urn:x\" s:mustUnderstand=\"true\"/>"),
        ),
    ];
    for (what, input) in cases {
        let err = parse(input.as_bytes()).expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{what}: {err}");
    }
}

#[test]
fn unknown_extension_elements_are_skipped() {
    let wire = String::from_utf8(WSDD_RESOLVE_MATCHES.to_vec())
        .expect("s")
        .replace("<wsd:MetadataVersion>", "<x:Ext xmlns:x=\"urn:x\"><x:y/></x:Ext><wsd:MetadataVersion>");
    let DiscoveryMessage::ResolveMatches(Some(m)) = parse(wire.as_bytes()).expect("parse").message else { panic!() };
    assert_eq!(m.metadata_version, Some(1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_probes_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)) {
        let mut bytes = WSDISCOVERY_PROBE.to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        if let Err(e) = parse(&bytes) {
            prop_assert!(matches!(e.kind(), ErrorKind::InvalidFormat | ErrorKind::QuotaExceeded), "{e}");
        }
    }
}

fn arb_uri() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9+.-]{0,6}:[A-Za-z0-9._~%/:?#\\[\\]@!$&'()*+,;=<>\"-]{0,40}"
}

fn arb_qname() -> impl Strategy<Value = QName> {
    let ns = prop::sample::select(vec!["", "urn:x:y", DPWS_2006_02_NAMESPACE, WINDOWS_PUB_NAMESPACE, "http://a/b?c&d"]);
    (ns, "[A-Za-z_][A-Za-z0-9_.-]{0,12}").prop_map(|(ns, local)| QName::new(ns, local))
}

fn arb_info() -> impl Strategy<Value = EndpointInfo> {
    (
        arb_uri(),
        prop::collection::vec(arb_qname(), 0..4),
        prop::collection::vec(arb_uri(), 0..4),
        prop::collection::vec(arb_uri(), 0..3),
        any::<Option<u32>>(),
    )
        .prop_map(|(address, types, scopes, xaddrs, metadata_version)| EndpointInfo {
            endpoint: EndpointReference::new(address),
            types,
            types_text: None,
            scopes,
            xaddrs,
            metadata_version,
        })
}

fn arb_message() -> impl Strategy<Value = DiscoveryMessage> {
    prop_oneof![
        arb_info().prop_map(DiscoveryMessage::Hello),
        arb_info().prop_map(DiscoveryMessage::Bye),
        (
            prop::collection::vec(arb_qname(), 0..4),
            prop::option::of((prop::option::of(arb_uri()), prop::collection::vec(arb_uri(), 0..4)))
        )
            .prop_map(|(types, scopes)| DiscoveryMessage::Probe(Probe {
                types,
                types_text: None,
                scopes: scopes.map(|(match_by, uris)| Scopes { match_by, uris }),
            })),
        prop::collection::vec(arb_info(), 0..3).prop_map(DiscoveryMessage::ProbeMatches),
        arb_uri().prop_map(|a| DiscoveryMessage::Resolve(Resolve { endpoint: EndpointReference::new(a) })),
        prop::option::of(arb_info()).prop_map(DiscoveryMessage::ResolveMatches),
    ]
}

proptest! {
    #[test]
    fn arbitrary_messages_round_trip(
        message in arb_message(),
        v11 in any::<bool>(),
        seq in prop::option::of((any::<u32>(), prop::option::of(arb_uri()), any::<u32>())),
        message_id in arb_uri(),
    ) {
        let version = if v11 { DiscoveryVersion::V1_1 } else { DiscoveryVersion::V2005_04 };
        let seq = seq.map(|(instance_id, sequence_id, message_number)| AppSequence { instance_id, sequence_id, message_number });
        let addressing = AddressingHeaders { message_id: Some(message_id), ..AddressingHeaders::default() };
        let wire = message.to_envelope(version, &addressing, seq.as_ref());
        let got = parse(&wire).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&wire))))?;
        prop_assert_eq!(got.version, version);
        prop_assert_eq!(got.app_sequence, seq);
        prop_assert_eq!(got.addressing.message_id, addressing.message_id);
        prop_assert_eq!(without_literals(got.message), message);
    }
}

// ---------------------------------------------------------------------------------------
// Matching

#[test]
fn types_match_by_qname_whatever_the_prefix() {
    let probe =
        probe_types(&format!("<d:Types xmlns:dev=\"{DPWS_2006_02_NAMESPACE}\">dev:Device</d:Types>")).expect("x");
    assert!(types_match(&probe, &[device(), computer()]));
    assert!(types_match(&[], &[device()]));
    assert!(types_match(&[], &[]));
    assert!(!types_match(&[device()], &[]));
    assert!(!types_match(&[device(), computer()], &[device()]));
    assert!(!types_match(&[QName::new(DPWS_1_1_NAMESPACE, "Device")], &[device()]));
    assert!(!types_match(&[QName::new(DPWS_2006_02_NAMESPACE, "device")], &[device()]));
}

fn scope(rule: &MatchBy, probe: &str, target: &str) -> bool {
    scopes_match(rule, &[probe.to_owned()], &[target.to_owned()]).is_match()
}

#[test]
fn rfc3986_scopes_match_segment_wise_prefixes() {
    let r = MatchBy::Rfc3986;
    let table = [
        ("http://example.com/abc", "http://example.com/abc/def", true),
        ("http://example.com/abc", "http://example.com/abc", true),
        ("http://example.com/abc", "http://example.com/ab", false),
        ("http://example.com/abc", "http://example.com/abcd", false),
        ("http://example.com/abc/", "http://example.com/abc/def", true),
        ("HTTP://EXAMPLE.COM/abc", "http://example.com/abc/def", true),
        ("http://example.com/ABC", "http://example.com/abc", false),
        ("http://example.com", "http://example.com/abc", true),
        ("http://example.com/", "http://example.com", true),
        ("http://example.com/a%62c", "http://example.com/abc/d", true),
        ("http://example.com/a%2fb", "http://example.com/a%2Fb", true),
        ("http://example.com/abc?q=1", "http://example.com/abc/def?r=2#f", true),
        ("http://example.com/abc", "http://other.com/abc", false),
        ("http://example.com/abc", "https://example.com/abc", false),
        ("http://example.com/a/./b", "http://example.com/a/b", false),
        ("http://example.com/a/../b", "http://example.com/b", false),
        ("urn:x-scope:one", "urn:x-scope:one", true),
        ("urn:x-scope", "urn:x-scope:one", false),
        ("not a uri", "not a uri", false),
        ("http://example.com/%e2%82", "http://example.com/%E2%82/\u{e9}", true),
    ];
    for (p, t, want) in table {
        assert_eq!(scope(&r, p, t), want, "{p} vs {t}");
    }
}

#[test]
fn strcmp0_uuid_and_ldap_rules() {
    assert!(scope(&MatchBy::Strcmp0, "urn:A", "urn:A"));
    assert!(!scope(&MatchBy::Strcmp0, "urn:A", "urn:a"));
    assert!(!scope(&MatchBy::Strcmp0, "urn:A", "urn:A/b"));

    let u = MatchBy::Uuid;
    assert!(scope(
        &u,
        "urn:uuid:11111111-2222-3333-4444-555555555555",
        "URN:UUID:11111111-2222-3333-4444-555555555555"
    ));
    assert!(scope(&u, "uuid:AAAAAAAA-2222-3333-4444-555555555555", "urn:uuid:aaaaaaaa-2222-3333-4444-555555555555"));
    assert!(!scope(
        &u,
        "urn:uuid:11111111-2222-3333-4444-555555555555",
        "urn:uuid:11111111-2222-3333-4444-555555555556"
    ));
    assert!(!scope(
        &u,
        "urn:uuid:1111111-12222-3333-4444-555555555555",
        "urn:uuid:1111111-12222-3333-4444-555555555555"
    ));
    assert!(!scope(&u, "http://x/", "http://x/"));

    let l = MatchBy::Ldap;
    assert!(scope(
        &l,
        "ldap://ldap.example.com/ou=engineering,o=examplecom,c=us",
        "ldap://LDAP.example.com/ou=software,ou=engineering,o=examplecom,c=us"
    ));
    assert!(scope(&l, "ldap://h/OU=engineering,o=examplecom", "ldap://h/ou=engineering,o=examplecom"));
    assert!(!scope(&l, "ldap://h/ou=software,ou=engineering,o=examplecom", "ldap://h/ou=engineering,o=examplecom"));
    assert!(!scope(&l, "ldap://h/ou=engineering", "ldap://other/ou=engineering"));
    assert!(!scope(&l, "ldap://h/ou=Engineering", "ldap://h/ou=engineering"));
    assert!(scope(&l, "ldap://h/o=a\\,b", "ldap://h/ou=x,o=a\\,b"));
}

#[test]
fn none_rule_and_unknown_rule() {
    assert_eq!(scopes_match(&MatchBy::None, &[], &[]), ScopeMatch::Match);
    assert_eq!(scopes_match(&MatchBy::None, &[], &strings(&["urn:a"])), ScopeMatch::NoMatch);
    let unknown = MatchBy::from_uri(Some("urn:my:rule"));
    assert_eq!(unknown, MatchBy::Unknown("urn:my:rule".into()));
    assert_eq!(scopes_match(&unknown, &strings(&["urn:a"]), &strings(&["urn:a"])), ScopeMatch::UnsupportedRule);
    assert_eq!(scopes_match(&unknown, &[], &[]), ScopeMatch::UnsupportedRule);
    assert_eq!(scopes_match(&MatchBy::Rfc3986, &[], &strings(&["urn:a"])), ScopeMatch::Match);
    assert_eq!(
        scopes_match(&MatchBy::Rfc3986, &strings(&["urn:a", "urn:b"]), &strings(&["urn:a"])),
        ScopeMatch::NoMatch
    );
}

#[test]
fn match_by_uris_of_both_versions() {
    assert_eq!(MatchBy::from_uri(None), MatchBy::Rfc3986);
    let cases = [
        ("http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc2396", MatchBy::Rfc3986),
        ("http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/rfc3986", MatchBy::Rfc3986),
        ("http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0", MatchBy::Strcmp0),
        ("http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/uuid", MatchBy::Uuid),
        ("http://schemas.xmlsoap.org/ws/2005/04/discovery/ldap", MatchBy::Ldap),
        ("http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/none", MatchBy::None),
    ];
    for (uri, rule) in cases {
        assert_eq!(MatchBy::from_uri(Some(uri)), rule, "{uri}");
    }
    assert!(matches!(
        MatchBy::from_uri(Some("http://schemas.xmlsoap.org/ws/2005/04/discovery/none")),
        MatchBy::Unknown(_)
    ));
    for v in [DiscoveryVersion::V2005_04, DiscoveryVersion::V1_1] {
        for rule in [MatchBy::Rfc3986, MatchBy::Strcmp0, MatchBy::Uuid, MatchBy::Ldap] {
            assert_eq!(MatchBy::from_uri(Some(&rule.uri(v))), rule);
        }
    }
}

#[test]
fn probe_matches_reports_unsupported_rule_for_the_fault() {
    let probe = Probe {
        types: vec![device()],
        types_text: None,
        scopes: Some(Scopes { match_by: Some("urn:weird".into()), uris: strings(&["urn:a"]) }),
    };
    assert_eq!(probe_matches(&probe, &info(vec![device()])), ScopeMatch::UnsupportedRule);
    let probe = Probe { scopes: None, ..probe };
    assert_eq!(probe_matches(&probe, &info(vec![device()])), ScopeMatch::Match);
    assert_eq!(probe_matches(&probe, &info(vec![computer()])), ScopeMatch::NoMatch);
}

// ---------------------------------------------------------------------------------------
// AppSequence and duplicates

fn seq(instance_id: u32, sequence_id: Option<&str>, message_number: u32) -> AppSequence {
    AppSequence { instance_id, sequence_id: sequence_id.map(str::to_owned), message_number }
}

#[test]
fn generator_numbers_from_one_and_keeps_instance_and_sequence() {
    let mut g = AppSequenceGenerator::new(42, Some("urn:uuid:s".into()));
    assert_eq!(g.next_sequence(), seq(42, Some("urn:uuid:s"), 1));
    assert_eq!(g.next_sequence(), seq(42, Some("urn:uuid:s"), 2));
    assert_eq!(g.instance_id(), 42);
}

#[test]
fn tracker_orders_by_instance_then_sequence_then_number() {
    let mut t = AppSequenceTracker::new(16);
    let e = WSDD_EPR;
    assert_eq!(t.observe(e, &seq(5, None, 3)), Freshness::Fresh);
    assert_eq!(t.observe(e, &seq(5, None, 3)), Freshness::Repeated);
    assert_eq!(t.observe(e, &seq(5, None, 2)), Freshness::Stale);
    assert_eq!(t.observe(e, &seq(5, None, 4)), Freshness::Fresh);
    assert_eq!(t.observe(e, &seq(4, None, 100)), Freshness::Stale);
    assert_eq!(t.observe(e, &seq(6, None, 1)), Freshness::Fresh);
    assert_eq!(t.last(e), Some(&seq(6, None, 1)));
    // Another endpoint is independent.
    assert_eq!(t.observe("urn:uuid:other", &seq(1, None, 1)), Freshness::Fresh);
    t.forget(e);
    assert_eq!(t.observe(e, &seq(1, None, 1)), Freshness::Fresh);
}

#[test]
fn tracker_tolerates_wsdd_new_sequence_per_message_out_of_order() {
    // wsdd: ResolveMatches #3 then Hello #0, each in a new SequenceId, same InstanceId.
    let mut t = AppSequenceTracker::new(16);
    let e = WSDD_EPR;
    assert_eq!(t.observe(e, &seq(1_795_376_974, Some("urn:uuid:a"), 3)), Freshness::Fresh);
    let hello = t.observe(e, &seq(1_795_376_974, Some("urn:uuid:b"), 0));
    assert_eq!(hello, Freshness::Unordered { lower_number: true });
    assert!(hello.is_processable());
    assert_eq!(t.last(e).map(|s| s.message_number), Some(3));
    assert_eq!(t.observe(e, &seq(1_795_376_974, Some("urn:uuid:c"), 4)), Freshness::Unordered { lower_number: false });
    assert_eq!(t.last(e).map(|s| s.message_number), Some(4));
    assert!(!Freshness::Stale.is_processable());
}

#[test]
fn tracker_applies_wsdapi_xaddrs_rule_on_instance_and_metadata_version() {
    let mut t = AppSequenceTracker::new(16);
    let e = WSDD_EPR;
    let obs = |t: &mut AppSequenceTracker, s: AppSequence, mv: u32| t.observe_announcement(e, &s, Some(mv));
    assert_eq!(obs(&mut t, seq(5, None, 1), 3), Observation { freshness: Freshness::Fresh, xaddrs_current: true });
    // Same instance, lower metadata version: XAddrs stale even though the message is newer.
    assert_eq!(obs(&mut t, seq(5, None, 2), 2), Observation { freshness: Freshness::Fresh, xaddrs_current: false });
    assert!(obs(&mut t, seq(5, None, 3), 3).xaddrs_current);
    // Older instance: stale message, stale XAddrs.
    assert_eq!(obs(&mut t, seq(4, None, 9), 9), Observation { freshness: Freshness::Stale, xaddrs_current: false });
    // Newer instance resets the metadata version.
    assert!(obs(&mut t, seq(6, None, 1), 1).xaddrs_current);
    assert!(!obs(&mut t, seq(6, None, 2), 0).xaddrs_current);
    // Without a metadata version only the instance counts.
    assert!(t.observe_announcement(e, &seq(6, Some("urn:x"), 0), None).xaddrs_current);
}

#[test]
fn tracker_is_bounded() {
    let mut t = AppSequenceTracker::new(3);
    for i in 0..10 {
        t.observe(&format!("urn:e{i}"), &seq(1, None, 1));
    }
    assert_eq!(t.len(), 3);
    assert!(t.last("urn:e0").is_none());
    assert!(t.last("urn:e9").is_some());
}

#[test]
fn duplicate_filter_suppresses_repeats_until_expiry() {
    let t0 = Instant::now();
    let mut f = DuplicateFilter::new(1024, Duration::from_secs(10));
    assert!(f.first_seen("urn:uuid:1", t0));
    assert!(!f.first_seen("urn:uuid:1", t0 + Duration::from_millis(500)));
    assert!(f.first_seen("urn:uuid:2", t0 + Duration::from_secs(1)));
    assert!(!f.first_seen("urn:uuid:1", t0 + Duration::from_millis(9_999)));
    // Expired 10 s after first seen.
    assert!(f.first_seen("urn:uuid:1", t0 + Duration::from_secs(10)));
    assert!(!f.first_seen("urn:uuid:2", t0 + Duration::from_secs(10)));
    f.expire(t0 + Duration::from_secs(60));
    assert!(f.is_empty());
}

#[test]
fn duplicate_filter_is_bounded_and_evicts_the_oldest() {
    let t0 = Instant::now();
    let mut f = DuplicateFilter::new(4, Duration::from_secs(10));
    for i in 0..6 {
        assert!(f.first_seen(&format!("id{i}"), t0));
    }
    assert_eq!(f.len(), 4);
    assert!(f.first_seen("id0", t0), "evicted, so new again");
    assert!(!f.first_seen("id5", t0));
    // A clock that goes backwards does not panic or expire anything.
    assert!(!f.first_seen("id5", t0.checked_sub(Duration::from_secs(1)).unwrap_or(t0)));
}
