//! Tests of DPWS metadata: the wsdd capture and the WSDAPI documentation samples as
//! fixtures, both versions round-tripped, the limits, `pub:Computer`, and the faults.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::addressing::{
    AddressingHeaders, AddressingVersion, EndpointReference, WSA_1_0_NAMESPACE, WSA_2004_08_ANONYMOUS,
    WSA_2004_08_NAMESPACE,
};
use crate::error::ErrorKind;
use crate::soap::{Body, Envelope, EnvelopeVersion, FaultCode};
use crate::xml::{QName, ReaderQuotas};

/// wsdd 0.7.0's GetResponse to `interop/peers/wsdd/get.xml`, captured with curl from a
/// network namespace, byte for byte (`tests/fixtures/dpws/README.md`).
const WSDD_GET_RESPONSE: &[u8] = include_bytes!("../../tests/fixtures/dpws/wsdd_get_response_2006_02.xml");
/// wsdd 0.7.0's own Get (discovery mode, `wsdd -D`), captured on the veth.
const WSDD_GET_REQUEST: &[u8] = include_bytes!("../../tests/fixtures/dpws/wsdd_get_request_2006_02.xml");
/// The WSDAPI documentation's sample GetResponse (indented, with a hosted service).
const WSDAPI_DOC_GET_RESPONSE: &[u8] = include_bytes!("../../tests/fixtures/dpws/wsdapi_doc_get_response_2006_02.xml");
/// The WSDAPI documentation's sample Get (namespaces corrected to `http://`, end tag added).
const WSDAPI_DOC_GET_REQUEST: &[u8] = include_bytes!("../../tests/fixtures/dpws/wsdapi_doc_get_request_2006_02.xml");

const WSDD_EPR: &str = "urn:uuid:11111111-2222-3333-4444-555555555555";

fn parse(bytes: &[u8]) -> crate::Result<GetResponse> {
    parse_get_response(bytes, &MetadataQuotas::default())
}

fn parse_body(xml: Vec<u8>, quotas: &MetadataQuotas) -> crate::Result<(DpwsVersion, DeviceMetadata)> {
    parse_metadata_body(&Body { xml: Bytes::from(xml), namespaces: Vec::new() }, DpwsVersion::V2006_02, quotas)
}

fn text(s: &str) -> Vec<LocalizedString> {
    vec![LocalizedString::new(s)]
}

/// A device with everything: localized strings, URLs, an extension, two relationships, a
/// hosted service with two endpoints and reference parameters.
fn rich_metadata() -> DeviceMetadata {
    let sim = "http://schemas.example.org/SimpleService";
    DeviceMetadata {
        this_model: Some(ThisModel {
            manufacturer: vec![LocalizedString::new("Contoso"), LocalizedString::with_lang("Contoso GmbH", "de-DE")],
            manufacturer_url: Some("http://contoso.example/".into()),
            model_name: text("Printer 9000 <&> \"quoted\""),
            model_number: Some("9000".into()),
            model_url: Some("http://contoso.example/9000".into()),
            presentation_url: Some("http://192.0.2.7/".into()),
            device_category: Some("Printers".into()),
            extensions: vec![Extension::text_element("urn:x-ext", "x", "Color", "true")],
        }),
        this_device: Some(ThisDevice {
            friendly_name: vec![LocalizedString::with_lang("Büro-Drucker 日本", "de")],
            firmware_version: Some("1.2.3".into()),
            serial_number: Some("SN-42".into()),
            extensions: Vec::new(),
        }),
        relationships: vec![
            Relationship {
                relationship_type: None,
                host: Some(HostService {
                    endpoint: EndpointReference::new("urn:uuid:37f86d35-e6ac-4241-964f-1d9ae46fb366"),
                    types: vec![QName::new(sim, "SimpleDeviceType"), QName::new(DPWS_2006_02_NAMESPACE, "Device")],
                    types_text: None,
                    service_id: Some("http://testdevice.interop/SimpleDevice".into()),
                    computer: None,
                    extensions: Vec::new(),
                }),
                hosted: vec![HostedService {
                    endpoints: vec![
                        EndpointReference::new("http://192.0.2.7:5357/37f86d35-e6ac-4241-964f-1d9ae46fb366"),
                        EndpointReference {
                            address: "http://[2001:db8::7]:5357/svc".into(),
                            reference_parameters: Some(Bytes::from_static(b"<r:Id xmlns:r=\"urn:r\">7</r:Id>")),
                        },
                    ],
                    types: vec![QName::new(sim, "SimpleService"), QName::new("http://other.example/", "Other")],
                    types_text: None,
                    service_id: "http://testdevice.interop/SimpleService1".into(),
                    extensions: Vec::new(),
                }],
            },
            Relationship {
                relationship_type: None,
                host: None,
                hosted: vec![HostedService {
                    endpoints: vec![EndpointReference::new("http://192.0.2.7:5357/scan")],
                    types: vec![QName::new("http://scan.example/", "ScannerServiceType")],
                    types_text: None,
                    service_id: "urn:scan".into(),
                    extensions: Vec::new(),
                }],
            },
        ],
        other_sections: Vec::new(),
    }
}

/// What a decode adds that encoding ignores: the literal Types text.
fn without_types_text(mut m: DeviceMetadata) -> DeviceMetadata {
    for r in &mut m.relationships {
        if let Some(h) = &mut r.host {
            h.types_text = None;
        }
        for h in &mut r.hosted {
            h.types_text = None;
        }
    }
    m
}

fn wsdd_computer() -> PubComputer {
    PubComputer::new("WSDDHOST", Membership::Workgroup("WORKGROUP".into()))
}

/// `<wsx:Metadata …>…</wsx:Metadata>` of an envelope, with the start tag's namespace
/// declarations dropped (wsdd declares them on the Envelope, soapwire on wsx:Metadata).
fn metadata_element_without_declarations(envelope: &[u8]) -> String {
    let s = String::from_utf8_lossy(envelope);
    let start = s.find("<wsx:Metadata").expect("wsx:Metadata start");
    let end = s.find("</wsx:Metadata>").expect("wsx:Metadata end") + "</wsx:Metadata>".len();
    let element = &s[start..end];
    let tag_end = element.find('>').expect("start tag end");
    format!("<wsx:Metadata>{}", &element[tag_end + 1..])
}

// ---------------------------------------------------------------------------------------
// Fixtures

#[test]
fn wsdd_get_response_fixture_decodes_to_its_computer() {
    let got = parse(WSDD_GET_RESPONSE).expect("wsdd GetResponse");
    assert_eq!(got.version, DpwsVersion::V2006_02);
    assert_eq!(got.addressing.action.as_deref(), Some(GET_RESPONSE_ACTION));
    assert_eq!(got.addressing.to.as_deref(), Some(WSA_2004_08_ANONYMOUS));
    assert_eq!(got.addressing.relates_to.as_deref(), Some("urn:uuid:aaaaaaaa-0000-4000-8000-000000000001"));
    let m = &got.metadata;
    let device = m.this_device.as_ref().expect("ThisDevice");
    assert_eq!(device.friendly_name, text("WSD Device WSDDHOST"));
    assert_eq!(device.firmware_version.as_deref(), Some("1.0"));
    assert_eq!(device.serial_number.as_deref(), Some("1"));
    let model = m.this_model.as_ref().expect("ThisModel");
    assert_eq!((model.manufacturer.clone(), model.model_name.clone()), (text("wsdd"), text("wsdd")));
    assert_eq!(model.device_category.as_deref(), Some("Computers"));
    assert!(model.extensions.is_empty() && model.manufacturer_url.is_none());
    let host = m.host().expect("host");
    assert_eq!(host.endpoint.address, WSDD_EPR);
    assert_eq!(host.types, [PubComputer::type_name()]);
    assert_eq!(host.types_text.as_deref(), Some("pub:Computer"));
    assert_eq!(host.service_id.as_deref(), Some(WSDD_EPR));
    assert_eq!(host.computer, Some(wsdd_computer()));
    assert_eq!(m.hosted().count(), 0);
    assert!(m.other_sections.is_empty());
    m.require_model_and_device().expect("WSDAPI's client rule holds");
}

#[test]
fn soapwire_writes_wsdds_metadata_body_byte_for_byte_but_for_where_prefixes_are_declared() {
    let wsdd = parse(WSDD_GET_RESPONSE).expect("wsdd GetResponse");
    let ours = get_response_envelope(
        DpwsVersion::V2006_02,
        &wsdd.metadata,
        &AddressingHeaders { relates_to: wsdd.addressing.relates_to.clone(), ..AddressingHeaders::default() },
    );
    assert_eq!(metadata_element_without_declarations(&ours), metadata_element_without_declarations(WSDD_GET_RESPONSE));
    let back = parse(&ours).expect("our GetResponse");
    assert_eq!(back.metadata, wsdd.metadata);
    assert_eq!(back.addressing.action.as_deref(), Some(GET_RESPONSE_ACTION));
    assert_eq!(back.addressing.to.as_deref(), Some(WSA_2004_08_ANONYMOUS));
    assert_eq!(back.addressing.relates_to, wsdd.addressing.relates_to);
}

#[test]
fn computer_metadata_matches_the_shape_wsdd_sends() {
    let ours = DeviceMetadata::computer(WSDD_EPR, wsdd_computer());
    ours.validate().expect("valid");
    let wsdd = parse(WSDD_GET_RESPONSE).expect("wsdd").metadata;
    assert_eq!(without_types_text(wsdd.clone()).relationships, ours.relationships);
    let model = ours.this_model.as_ref().expect("model");
    assert_eq!(model.device_category, wsdd.this_model.as_ref().and_then(|m| m.device_category.clone()));
    let body = String::from_utf8(ours.to_body_xml(DpwsVersion::V2006_02)).expect("utf-8");
    for needle in [
        "<wsdp:Types>pub:Computer</wsdp:Types>",
        "<pub:Computer>WSDDHOST/Workgroup:WORKGROUP</pub:Computer>",
        "<pnpx:DeviceCategory>Computers</pnpx:DeviceCategory>",
        "Dialect=\"http://schemas.xmlsoap.org/ws/2006/02/devprof/Relationship\"",
        "Type=\"http://schemas.xmlsoap.org/ws/2006/02/devprof/host\"",
    ] {
        assert!(body.contains(needle), "{needle} missing from {body}");
    }
}

#[test]
fn wsdapi_doc_get_response_decodes_with_whitespace_trimmed_and_a_hosted_service() {
    let got = parse(WSDAPI_DOC_GET_RESPONSE).expect("doc GetResponse");
    assert_eq!(got.version, DpwsVersion::V2006_02);
    assert_eq!(got.addressing.relates_to.as_deref(), Some("urn:uuid:027bec45-c37c-466c-936c-68f648abe2bb"));
    let m = got.metadata;
    assert_eq!(m.this_device.as_ref().map(|d| d.friendly_name.clone()), Some(text("WSDAPI Basic Interop Server")));
    let model = m.this_model.as_ref().expect("model");
    assert_eq!(model.manufacturer, text("Microsoft"));
    assert_eq!(model.manufacturer_url.as_deref(), Some("http://www.microsoft.com/"));
    assert_eq!(model.model_name, text("WSDAPI Interop device"));
    assert_eq!(model.model_number.as_deref(), Some("0.1"));
    assert_eq!(model.presentation_url.as_deref(), Some("http://www.microsoft.com/"));
    let sim = "http://schemas.example.org/SimpleService";
    let host = m.host().expect("host");
    assert_eq!(host.endpoint.address, "urn:uuid:37f86d35-e6ac-4241-964f-1d9ae46fb366");
    assert_eq!(host.types, [QName::new(sim, "SimpleDeviceType")]);
    assert_eq!(host.service_id.as_deref(), Some("http://testdevice.interop/SimpleDevice"));
    assert_eq!(host.computer, None);
    let hosted: Vec<_> = m.hosted().collect();
    assert_eq!(hosted.len(), 1);
    assert_eq!(
        hosted[0].endpoints,
        [EndpointReference::new("http://192.168.0.2:5357/37f86d35-e6ac-4241-964f-1d9ae46fb366")]
    );
    assert_eq!(hosted[0].types, [QName::new(sim, "SimpleService")]);
    assert_eq!(hosted[0].service_id, "http://testdevice.interop/SimpleService1");
}

#[test]
fn get_request_matches_the_headers_wsdd_and_wsdapi_send() {
    let quotas = ReaderQuotas::default();
    let headers = |bytes: &[u8]| {
        let env = Envelope::parse(Bytes::copy_from_slice(bytes), Some(EnvelopeVersion::Soap12), &quotas, 32)
            .expect("envelope");
        assert!(env.body.first_element(&quotas).expect("body").is_none(), "a Get has an empty body");
        AddressingHeaders::from_headers(&env.headers, AddressingVersion::V0_9, &quotas).expect("headers")
    };
    let wsdd = headers(WSDD_GET_REQUEST);
    let doc = headers(WSDAPI_DOC_GET_REQUEST);
    let from = "urn:uuid:e5e61fb5-d685-5b50-9ba7-acb6e6962ef3";
    let id = wsdd.message_id.clone().expect("message id");
    let ours = headers(&get_request_envelope(DpwsVersion::V2006_02, WSDD_EPR, &id, Some(from)));
    assert_eq!(ours, wsdd);
    assert_eq!(doc.action.as_deref(), Some(GET_ACTION));
    assert_eq!(doc.to.as_deref(), Some("urn:uuid:37f86d35-e6ac-4241-964f-1d9ae46fb366"));
    assert_eq!(doc.reply_to, Some(EndpointReference::new(WSA_2004_08_ANONYMOUS)));
    assert_eq!(doc.from, Some(EndpointReference::new("urn:uuid:49e131df-351a-4ece-9a6f-6a862d31cffa")));
}

// ---------------------------------------------------------------------------------------
// Both versions

#[test]
fn rich_metadata_round_trips_in_both_versions() {
    let m = rich_metadata();
    m.validate().expect("valid");
    for version in DpwsVersion::ALL {
        let addressing = AddressingHeaders {
            relates_to: Some("urn:uuid:0f5c1c9e-4f8a-4a3e-9d61-0b8c1f6f2a10".into()),
            message_id: Some("urn:uuid:1f5c1c9e-4f8a-4a3e-9d61-0b8c1f6f2a10".into()),
            ..AddressingHeaders::default()
        };
        let wire = get_response_envelope(version, &m, &addressing);
        let got = parse(&wire).unwrap_or_else(|e| panic!("{version:?}: {e}"));
        assert_eq!(got.version, version);
        assert_eq!(got.addressing.relates_to, addressing.relates_to);
        assert_eq!(without_types_text(got.metadata), m, "{version:?}");
    }
}

#[test]
fn dpws_1_1_uses_its_namespace_dialects_host_type_and_ws_addressing_1_0() {
    let body = String::from_utf8(rich_metadata().to_body_xml(DpwsVersion::V1_1)).expect("utf-8");
    for needle in [
        "xmlns:dpws=\"http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01\"",
        "Dialect=\"http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01/ThisModel\"",
        "Type=\"http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01/host\"",
        "xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"",
        "<dpws:FriendlyName xml:lang=\"de\">",
    ] {
        assert!(body.contains(needle), "{needle} missing from {body}");
    }
    assert!(!body.contains(WSA_2004_08_NAMESPACE));
    let wire = get_response_envelope(DpwsVersion::V1_1, &rich_metadata(), &AddressingHeaders::default());
    let text = String::from_utf8_lossy(&wire);
    assert!(text.contains(&format!("xmlns:a=\"{WSA_1_0_NAMESPACE}\"")), "{text}");
    assert!(text.contains(">http://www.w3.org/2005/08/addressing/anonymous</a:To>"), "{text}");
}

#[test]
fn type_prefixes_are_conventional_and_declared_once_on_metadata() {
    let body = String::from_utf8(rich_metadata().to_body_xml(DpwsVersion::V2006_02)).expect("utf-8");
    assert!(body.contains("<wsdp:Types>t0:SimpleDeviceType wsdp:Device</wsdp:Types>"), "{body}");
    assert!(body.contains("<wsdp:Types>t0:SimpleService t1:Other</wsdp:Types>"), "{body}");
    assert!(body.contains("<wsdp:Types>t2:ScannerServiceType</wsdp:Types>"), "{body}");
    assert_eq!(body.matches("xmlns:t0=").count(), 1);
    let dpws11 = String::from_utf8(rich_metadata().to_body_xml(DpwsVersion::V1_1)).expect("utf-8");
    // A 2006 type in a 1.1 body gets its own conventional prefix, not the 1.1 one.
    assert!(dpws11.contains("t0:SimpleDeviceType wsdp:Device</dpws:Types>"), "{dpws11}");
}

#[test]
fn a_section_whose_dialect_and_element_disagree_is_read_by_its_element() {
    let xml = format!(
        "<wsx:Metadata xmlns:wsx=\"{WSX_NAMESPACE}\" xmlns:d=\"{DPWS_1_1_NAMESPACE}\">\
         <wsx:MetadataSection Dialect=\"{DPWS_2006_02_NAMESPACE}/ThisModel\"><d:ThisModel>\
         <d:Manufacturer> M </d:Manufacturer><d:ModelName>N</d:ModelName></d:ThisModel></wsx:MetadataSection>\
         <wsx:MetadataSection Dialect=\"http://schemas.xmlsoap.org/wsdl/\" Identifier=\"urn:w\"><wsdl/></wsx:MetadataSection>\
         </wsx:Metadata>"
    );
    let (version, m) = parse_body(xml.into_bytes(), &MetadataQuotas::default()).expect("body");
    assert_eq!(version, DpwsVersion::V1_1);
    assert_eq!(m.this_model.as_ref().map(|t| t.manufacturer.clone()), Some(text("M")));
    assert_eq!(
        m.other_sections,
        [OtherSection { dialect: "http://schemas.xmlsoap.org/wsdl/".into(), identifier: Some("urn:w".into()) }]
    );
    assert_eq!(m.this_device, None);
    assert_eq!(m.require_model_and_device().map_err(|e| e.kind()), Err(ErrorKind::InvalidFormat));
}

#[test]
fn extensions_keep_their_inherited_namespaces_and_text() {
    let xml = format!(
        "<wsx:Metadata xmlns:wsx=\"{WSX_NAMESPACE}\" xmlns:wsdp=\"{DPWS_2006_02_NAMESPACE}\" xmlns:v=\"urn:vendor\">\
         <wsx:MetadataSection Dialect=\"{DPWS_2006_02_NAMESPACE}/ThisDevice\"><wsdp:ThisDevice>\
         <wsdp:FriendlyName>F</wsdp:FriendlyName><v:Location> Room 7 </v:Location><v:Tree><v:Leaf/></v:Tree>\
         <wsdp:Unknown>u</wsdp:Unknown></wsdp:ThisDevice></wsx:MetadataSection></wsx:Metadata>"
    );
    let (_, m) = parse_body(xml.into_bytes(), &MetadataQuotas::default()).expect("body");
    let ext = m.this_device.expect("device").extensions;
    assert_eq!(ext.len(), 3);
    assert_eq!(ext[0].name, QName::new("urn:vendor", "Location"));
    assert_eq!(ext[0].text.as_deref(), Some("Room 7"));
    assert_eq!(ext[1].text, None, "an element with children has no text");
    let location = String::from_utf8_lossy(&ext[0].xml);
    assert!(
        location.starts_with("<v:Location xmlns:wsx=") || location.contains("xmlns:v=\"urn:vendor\""),
        "{location}"
    );
    assert_eq!(ext[2].name, QName::new(DPWS_2006_02_NAMESPACE, "Unknown"));
    // Standalone: each parses on its own.
    for e in &ext {
        crate::xml::XmlReader::new(&e.xml, &ReaderQuotas::default()).expect("reader").skip_element().ok();
        let mut r = crate::xml::XmlReader::new(&e.xml, &ReaderQuotas::default()).expect("reader");
        assert_eq!(r.next_element().expect("element").map(|s| s.name), Some(e.name.clone()));
    }
}

// ---------------------------------------------------------------------------------------
// What is refused

#[test]
fn a_fault_is_returned_as_endpoint_fault_received() {
    let fault = action_not_supported_fault(AddressingVersion::V0_9, GET_ACTION);
    let wire = fault.to_envelope(EnvelopeVersion::Soap12, &[]);
    let e = parse(&wire).expect_err("fault");
    assert_eq!(e.kind(), ErrorKind::EndpointFaultReceived);
    assert_eq!(
        e.fault().map(|f| f.subcodes.clone()),
        Some(vec![QName::new(WSA_2004_08_NAMESPACE, "ActionNotSupported")])
    );
}

#[test]
fn a_body_other_than_metadata_or_another_action_is_invalid_format() {
    let other = crate::soap::write_envelope(EnvelopeVersion::Soap12, &[], b"<x:Other xmlns:x=\"urn:x\"/>");
    assert_eq!(parse(&other).map_err(|e| e.kind()).err(), Some(ErrorKind::InvalidFormat));
    let empty = crate::soap::write_envelope(EnvelopeVersion::Soap12, &[], b"");
    assert_eq!(parse(&empty).map_err(|e| e.kind()).err(), Some(ErrorKind::InvalidFormat));
    let wrong_action = get_response_envelope(
        DpwsVersion::V2006_02,
        &rich_metadata(),
        &AddressingHeaders { action: Some(GET_ACTION.into()), ..AddressingHeaders::default() },
    );
    assert_eq!(parse(&wrong_action).map_err(|e| e.kind()).err(), Some(ErrorKind::InvalidFormat));
    for garbage in [&b"not xml"[..], b"<a>", b"<!DOCTYPE x [<!ENTITY e \"e\">]><x/>"] {
        assert!(parse(garbage).is_err());
    }
}

#[test]
fn an_unbound_type_prefix_or_a_host_without_address_is_invalid_format() {
    let unbound =
        String::from_utf8_lossy(WSDD_GET_RESPONSE).replace(">pub:Computer</wsdp:Types>", ">zz:Computer</wsdp:Types>");
    assert_eq!(parse(unbound.as_bytes()).map_err(|e| e.kind()).err(), Some(ErrorKind::InvalidFormat));
    let no_address = String::from_utf8_lossy(WSDD_GET_RESPONSE)
        .replace("<wsa:EndpointReference><wsa:Address>urn:uuid:11111111-2222-3333-4444-555555555555</wsa:Address></wsa:EndpointReference>", "");
    assert_eq!(parse(no_address.as_bytes()).map_err(|e| e.kind()).err(), Some(ErrorKind::InvalidFormat));
}

#[test]
fn sizes_over_the_dpws_limits_are_quota_exceeded() {
    let wsdd = String::from_utf8_lossy(WSDD_GET_RESPONSE).into_owned();
    let long_name = "é".repeat(MAX_FIELD_SIZE + 1);
    let cases = [
        wsdd.replace("WSD Device WSDDHOST", &long_name),
        wsdd.replace(WSDD_EPR, &format!("urn:{}", "x".repeat(MAX_URI_SIZE))),
        format!("{wsdd}{}", " ".repeat(MAX_ENVELOPE_SIZE)),
    ];
    for (i, case) in cases.iter().enumerate() {
        assert_eq!(parse(case.as_bytes()).map_err(|e| e.kind()).err(), Some(ErrorKind::QuotaExceeded), "case {i}");
    }
    // MAX_FIELD_SIZE characters (not octets) is still accepted.
    let at_limit = wsdd.replace("WSD Device WSDDHOST", &"é".repeat(MAX_FIELD_SIZE));
    assert!(parse(at_limit.as_bytes()).is_ok());
    let few_items = MetadataQuotas { max_list_items: 3, ..MetadataQuotas::default() };
    assert_eq!(
        parse_get_response(WSDD_GET_RESPONSE, &few_items).map_err(|e| e.kind()).err(),
        Some(ErrorKind::QuotaExceeded)
    );
}

// ---------------------------------------------------------------------------------------
// Validation before sending

#[test]
fn validate_applies_the_dpws_limits_and_required_elements() {
    let check = |f: &dyn Fn(&mut DeviceMetadata)| {
        let mut m = rich_metadata();
        f(&mut m);
        m.validate().map_err(|e| e.kind())
    };
    let bad = Err(ErrorKind::InvalidArgument);
    assert_eq!(check(&|_| {}), Ok(()));
    assert_eq!(check(&|m| m.this_model = None), bad);
    assert_eq!(check(&|m| m.this_device = None), bad);
    assert_eq!(check(&|m| m.this_model.as_mut().expect("model").manufacturer.clear()), bad);
    assert_eq!(
        check(&|m| m.this_device.as_mut().expect("device").friendly_name = text(&"x".repeat(MAX_FIELD_SIZE))),
        bad
    );
    assert_eq!(
        check(&|m| m.this_device.as_mut().expect("device").friendly_name = text(&"日".repeat(MAX_FIELD_SIZE - 1))),
        Ok(())
    );
    assert_eq!(check(&|m| m.this_model.as_mut().expect("model").model_url = Some("http://x/ y".into())), bad);
    assert_eq!(
        check(
            &|m| m.this_model.as_mut().expect("model").model_url = Some(format!("http://{}", "x".repeat(MAX_URI_SIZE)))
        ),
        bad
    );
    assert_eq!(check(&|m| m.relationships[0].hosted[0].types.clear()), bad);
    assert_eq!(check(&|m| m.relationships[0].hosted[0].endpoints.clear()), bad);
    assert_eq!(check(&|m| m.relationships[0].hosted[0].service_id.clear()), bad);
    assert_eq!(check(&|m| m.relationships[0].hosted[0].types.push(QName::new("urn:t", "a b"))), bad);
    assert_eq!(check(&|m| m.relationships[0].host.as_mut().expect("host").endpoint.address.clear()), bad);
}

// ---------------------------------------------------------------------------------------
// pub:Computer, localized strings, faults

#[test]
fn pub_computer_text_is_written_with_a_slash_and_read_with_either_separator() {
    let cases = [
        ("WSDDHOST/Workgroup:WORKGROUP", PubComputer::new("WSDDHOST", Membership::Workgroup("WORKGROUP".into()))),
        ("DESKTOP-1\\Workgroup:HOME", PubComputer::new("DESKTOP-1", Membership::Workgroup("HOME".into()))),
        ("nas/Domain:EXAMPLE", PubComputer::new("nas", Membership::Domain("EXAMPLE".into()))),
        (" PC\\NotJoined ", PubComputer::new("PC", Membership::NotJoined)),
        ("PC/workgroup:wg", PubComputer::new("PC", Membership::Workgroup("wg".into()))),
        ("PC/Something:else", PubComputer::new("PC", Membership::Other("Something:else".into()))),
        ("JUSTANAME", PubComputer::new("JUSTANAME", Membership::Other(String::new()))),
    ];
    for (text, expected) in &cases {
        assert_eq!(&PubComputer::parse(text), expected, "{text}");
    }
    assert_eq!(cases[1].1.to_text(), "DESKTOP-1/Workgroup:HOME");
    assert_eq!(cases[2].1.to_string(), "nas/Domain:EXAMPLE");
    assert_eq!(cases[3].1.to_text(), "PC/NotJoined");
    for (_, computer) in &cases[..6] {
        assert_eq!(&PubComputer::parse(&computer.to_text()), computer);
    }
}

#[test]
fn localized_pick_prefers_the_exact_tag_then_the_language_then_untagged() {
    let strings = vec![
        LocalizedString::with_lang("Colour", "en-GB"),
        LocalizedString::new("Color"),
        LocalizedString::with_lang("Farbe", "de"),
    ];
    assert_eq!(LocalizedString::pick(&strings, Some("en-gb")), Some("Colour"));
    assert_eq!(LocalizedString::pick(&strings, Some("en-US")), Some("Colour"));
    assert_eq!(LocalizedString::pick(&strings, Some("de-AT")), Some("Farbe"));
    assert_eq!(LocalizedString::pick(&strings, Some("fr")), Some("Color"));
    assert_eq!(LocalizedString::pick(&strings, None), Some("Color"));
    assert_eq!(LocalizedString::pick(&strings[2..], Some("fr")), Some("Farbe"));
    assert_eq!(LocalizedString::pick(&[], None), None);
}

#[test]
fn addressing_faults_use_the_requests_addressing_namespace() {
    for (av, ns) in [(AddressingVersion::V0_9, WSA_2004_08_NAMESPACE), (AddressingVersion::V1_0, WSA_1_0_NAMESPACE)] {
        let f = action_not_supported_fault(av, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put");
        assert_eq!(f.code, FaultCode::Sender);
        assert_eq!(f.subcodes, [QName::new(ns, "ActionNotSupported")]);
        let detail = String::from_utf8_lossy(f.detail.as_deref().expect("detail")).into_owned();
        assert!(detail.contains("transfer/Put</wsa:Action>") && detail.contains(ns), "{detail}");
        assert_eq!(detail.contains("ProblemAction"), av == AddressingVersion::V1_0);
        let back = Envelope::parse(
            Bytes::from(f.to_envelope(EnvelopeVersion::Soap12, &[])),
            None,
            &ReaderQuotas::default(),
            8,
        )
        .and_then(|e| e.fault(&ReaderQuotas::default()))
        .expect("fault envelope")
        .expect("a fault");
        assert_eq!(back.subcodes, f.subcodes);
        let d = destination_unreachable_fault(av, "urn:uuid:other");
        assert_eq!(d.subcodes, [QName::new(ns, "DestinationUnreachable")]);
        assert_eq!(d.detail.is_some(), av == AddressingVersion::V1_0);
    }
}

#[test]
fn dialects_and_versions_map_both_ways() {
    for v in DpwsVersion::ALL {
        assert_eq!(DpwsVersion::for_addressing(v.addressing()), Some(v));
        assert_eq!(DpwsVersion::from_namespace(v.namespace()), Some(v));
        for s in [Section::ThisModel, Section::ThisDevice, Section::Relationship] {
            assert_eq!(DpwsVersion::parse_dialect(&format!(" {} ", v.dialect(s))), Some((v, s)));
        }
        assert!(Relationship { relationship_type: Some(v.host_relationship()), ..Relationship::default() }.is_host());
    }
    assert_eq!(DpwsVersion::for_addressing(AddressingVersion::Transport), None);
    assert_eq!(DpwsVersion::parse_dialect("http://schemas.xmlsoap.org/wsdl/"), None);
    assert!(!Relationship { relationship_type: Some("urn:other".into()), ..Relationship::default() }.is_host());
}

// ---------------------------------------------------------------------------------------
// Properties

fn field_text() -> impl Strategy<Value = String> {
    // Printable text without leading/trailing whitespace (values are trimmed when read).
    "[a-zA-Z0-9äöü日本<>&\"' ._-]{0,40}".prop_map(|s| s.trim().to_owned()).prop_filter("non-empty", |s| !s.is_empty())
}

proptest! {
    #[test]
    fn any_valid_metadata_round_trips(
        manufacturer in field_text(),
        model in field_text(),
        friendly in field_text(),
        serial in proptest::option::of(field_text()),
        lang in proptest::option::of("[a-z]{2}(-[A-Z]{2})?"),
        computer in proptest::option::of((field_text(), field_text())),
        hosted in proptest::collection::vec(("[a-z]{1,8}", "[A-Za-z]{1,12}"), 0..4),
        v11 in any::<bool>(),
    ) {
        let version = if v11 { DpwsVersion::V1_1 } else { DpwsVersion::V2006_02 };
        let mut m = DeviceMetadata::computer(WSDD_EPR, PubComputer::new("X", Membership::NotJoined));
        if let Some(model_section) = m.this_model.as_mut() {
            model_section.manufacturer = vec![LocalizedString { text: manufacturer, lang: lang.clone() }];
            model_section.model_name = text(&model);
        }
        if let Some(device) = m.this_device.as_mut() {
            device.friendly_name = vec![LocalizedString { text: friendly, lang }];
            device.serial_number = serial;
        }
        let relationship = &mut m.relationships[0];
        if let Some(host) = relationship.host.as_mut() {
            host.computer = computer.map(|(n, wg)| PubComputer::new(n.replace(['/', '\\'], "_"), Membership::Workgroup(wg)));
        }
        for (i, (ns, local)) in hosted.into_iter().enumerate() {
            relationship.hosted.push(HostedService {
                endpoints: vec![EndpointReference::new(format!("http://192.0.2.1:5357/s{i}"))],
                types: vec![QName::new(format!("urn:{ns}"), local)],
                types_text: None,
                service_id: format!("urn:svc:{i}"),
                extensions: Vec::new(),
            });
        }
        prop_assert!(m.validate().is_ok());
        let wire = get_response_envelope(version, &m, &AddressingHeaders::default());
        let got = parse_get_response(&wire, &MetadataQuotas::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got.version, version);
        prop_assert_eq!(without_types_text(got.metadata), m);
    }
}
