//! The metadata host and client on loopback: each other, captured requests of real clients
//! replayed byte for byte, the faults, and metadata versions.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use soapwire_proto::addressing::{WSA_1_0_NAMESPACE, WSA_2004_08_NAMESPACE};
use soapwire_proto::dpws::{GET_ACTION, GET_RESPONSE_ACTION, WINDOWS_PUB_NAMESPACE, parse_get_response};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;
use crate::{AddressingVersion, ChannelProperties, EndpointReference, EnvelopeVersion, ErrorKind, Message, QName};

/// wsdd 0.7.0's own Get (discovery mode), captured on a veth.
const WSDD_GET_REQUEST: &[u8] =
    include_bytes!("../../../soapwire-proto/tests/fixtures/dpws/wsdd_get_request_2006_02.xml");
/// wsdd 0.7.0's GetResponse, for comparing structure.
const WSDD_GET_RESPONSE: &[u8] =
    include_bytes!("../../../soapwire-proto/tests/fixtures/dpws/wsdd_get_response_2006_02.xml");
/// The WSDAPI documentation's sample Get (indented; To is its own device).
const WSDAPI_DOC_GET_REQUEST: &[u8] =
    include_bytes!("../../../soapwire-proto/tests/fixtures/dpws/wsdapi_doc_get_request_2006_02.xml");

const EPR: &str = "urn:uuid:11111111-2222-3333-4444-555555555555";
const DOC_EPR: &str = "urn:uuid:37f86d35-e6ac-4241-964f-1d9ae46fb366";

fn computer(name: &str) -> PubComputer {
    PubComputer::new(name, Membership::Workgroup("WORKGROUP".into()))
}

async fn host_on_loopback(endpoint: &str, metadata: DeviceMetadata) -> MetadataHost {
    let host = MetadataHost::new(endpoint, metadata).expect("host");
    host.open(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.expect("open");
    host
}

fn url(host: &MetadataHost) -> String {
    host.url().expect("url")
}

/// Posts `envelope` as SOAP 1.2 over a fresh connection (`Connection: close`) and returns the
/// status and the body.
async fn post_raw(host: &MetadataHost, envelope: &[u8]) -> (u16, Vec<u8>) {
    let addr = host.local_addr().expect("addr");
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/soap+xml\r\nUser-Agent: wsdd\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            host.path(),
            envelope.len()
        );
        tcp.write_all(head.as_bytes()).await.expect("write head");
        tcp.write_all(envelope).await.expect("write body");
        let mut response = Vec::new();
        tcp.read_to_end(&mut response).await.expect("read");
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange).await.expect("a response within 10 s");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("end of head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, response[split + 4..].to_vec())
}

/// The fault subcodes of an error that carries a received fault.
fn subcodes(e: &soapwire_proto::Error) -> Vec<QName> {
    assert_eq!(e.kind(), ErrorKind::EndpointFaultReceived, "{e}");
    e.fault().map(|f| f.subcodes.clone()).unwrap_or_default()
}

/// Sends `action` to the host with our own request channel.
async fn call(
    host: &MetadataHost,
    version: AddressingVersion,
    action: &str,
    to: Option<&str>,
) -> crate::Result<Message> {
    let mut properties = ChannelProperties::default();
    properties.addressing_version = version;
    properties.set_all_timeouts(Some(Duration::from_secs(10)));
    let channel = crate::RequestChannel::new(properties);
    channel.open(&url(host)).await?;
    let mut request = Message::new(EnvelopeVersion::Soap12, version);
    request.initialize_request(action, bytes::Bytes::new())?;
    request.addressing_mut().to = to.map(str::to_owned);
    let mut reply = Message::new(EnvelopeVersion::Soap12, version);
    let outcome = channel.request_reply(&mut request, &mut reply).await;
    let _ = channel.close().await;
    outcome.map(|()| reply)
}

#[tokio::test]
async fn our_client_reads_our_host_in_both_dpws_versions() {
    let mut metadata = DeviceMetadata::computer(EPR, computer("LOOPHOST"));
    metadata.relationships[0].hosted.push(HostedService {
        endpoints: vec![EndpointReference::new("http://127.0.0.1:5357/printer")],
        types: vec![QName::new("http://schemas.microsoft.com/windows/2006/08/wdp/print", "PrinterServiceType")],
        types_text: None,
        service_id: "urn:uuid:printer-service".into(),
        extensions: Vec::new(),
    });
    let host = host_on_loopback(EPR, metadata.clone()).await;
    for version in DpwsVersion::ALL {
        let options = GetMetadataOptions { version, ..GetMetadataOptions::default() };
        let got = get_metadata(&url(&host), &options).await.unwrap_or_else(|e| panic!("{version:?}: {e}"));
        assert_eq!(got.version, version);
        assert_eq!(got.addressing.action.as_deref(), Some(GET_RESPONSE_ACTION));
        assert!(got.addressing.message_id.as_deref().is_some_and(|id| id.starts_with("urn:uuid:")));
        assert_eq!(got.metadata.this_device, metadata.this_device);
        assert_eq!(got.metadata.this_model, metadata.this_model);
        let host_service = got.metadata.host().expect("host");
        assert_eq!(host_service.types_text.as_deref(), Some("pub:Computer"));
        assert_eq!(host_service.computer, Some(computer("LOOPHOST")));
        let hosted: Vec<_> = got.metadata.hosted().collect();
        assert_eq!(hosted.len(), 1);
        assert_eq!(hosted[0].service_id, "urn:uuid:printer-service");
    }
    host.close().await.expect("close");
}

#[tokio::test]
async fn wsdds_captured_get_gets_the_sections_dialects_and_namespaces_wsdd_answers_with() {
    let host = host_on_loopback(EPR, DeviceMetadata::computer(EPR, computer("WSDDHOST"))).await;
    let (status, body) = post_raw(&host, WSDD_GET_REQUEST).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let ours = parse_get_response(&body, &MetadataQuotas::default()).expect("our GetResponse");
    let wsdd = parse_get_response(WSDD_GET_RESPONSE, &MetadataQuotas::default()).expect("wsdd's GetResponse");
    assert_eq!(ours.version, wsdd.version);
    assert_eq!(ours.addressing.relates_to.as_deref(), Some("urn:uuid:433009cc-e745-11f1-9f85-3e0b31188914"));
    assert_eq!(ours.addressing.to, wsdd.addressing.to);
    assert_eq!(ours.addressing.action, wsdd.addressing.action);
    assert_eq!(ours.metadata.relationships, wsdd.metadata.relationships, "the same host, pub:Computer and all");
    let section_order = |xml: &[u8]| {
        let text = String::from_utf8_lossy(xml).into_owned();
        let mut dialects: Vec<(usize, &str)> = ["/ThisDevice\"", "/ThisModel\"", "/Relationship\""]
            .into_iter()
            .filter_map(|d| text.find(&format!("devprof{d}")).map(|at| (at, d)))
            .collect();
        dialects.sort();
        dialects.into_iter().map(|(_, d)| d).collect::<Vec<_>>()
    };
    assert_eq!(section_order(&body), section_order(WSDD_GET_RESPONSE));
    assert_eq!(section_order(&body).len(), 3);
    let text = String::from_utf8_lossy(&body);
    for ns in [WSA_2004_08_NAMESPACE, "http://schemas.xmlsoap.org/ws/2004/09/mex", WINDOWS_PUB_NAMESPACE] {
        assert!(text.contains(ns), "{ns} missing from {text}");
    }
    assert!(!text.contains(WSA_1_0_NAMESPACE));
    host.close().await.expect("close");
}

#[tokio::test]
async fn the_wsdapi_documentation_get_is_answered_with_whitespace_in_every_header() {
    let host = host_on_loopback(DOC_EPR, DeviceMetadata::computer(DOC_EPR, computer("DOC"))).await;
    let (status, body) = post_raw(&host, WSDAPI_DOC_GET_REQUEST).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let got = parse_get_response(&body, &MetadataQuotas::default()).expect("GetResponse");
    assert_eq!(got.addressing.relates_to.as_deref(), Some("urn:uuid:027bec45-c37c-466c-936c-68f648abe2bb"));
    host.close().await.expect("close");
}

#[tokio::test]
async fn other_actions_get_action_not_supported_in_the_requests_addressing_version() {
    let host = host_on_loopback(EPR, DeviceMetadata::computer(EPR, computer("H"))).await;
    for (version, ns) in
        [(AddressingVersion::V0_9, WSA_2004_08_NAMESPACE), (AddressingVersion::V1_0, WSA_1_0_NAMESPACE)]
    {
        for action in [
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put",
            "http://schemas.xmlsoap.org/ws/2004/09/mex/GetMetadata/Request",
            "urn:anything",
        ] {
            let e = call(&host, version, action, Some(EPR)).await.expect_err("a fault");
            assert_eq!(subcodes(&e), [QName::new(ns, "ActionNotSupported")], "{action}");
            assert!(
                e.fault()
                    .and_then(|f| f.detail.as_ref())
                    .is_some_and(|d| d.windows(action.len()).any(|w| w == action.as_bytes()))
            );
        }
    }
    host.close().await.expect("close");
}

#[tokio::test]
async fn a_get_for_another_device_gets_destination_unreachable_but_our_xaddr_is_fine() {
    let host = host_on_loopback(EPR, DeviceMetadata::computer(EPR, computer("H"))).await;
    let e = call(&host, AddressingVersion::V0_9, GET_ACTION, Some("urn:uuid:99999999-2222-3333-4444-555555555555"))
        .await
        .expect_err("a fault");
    assert_eq!(subcodes(&e), [QName::new(WSA_2004_08_NAMESPACE, "DestinationUnreachable")]);
    let upper = EPR.to_ascii_uppercase().replace("URN:UUID:", "urn:uuid:");
    let xaddr = url(&host);
    for to in [Some(EPR), Some(upper.as_str()), Some(xaddr.as_str()), None] {
        let reply =
            call(&host, AddressingVersion::V0_9, GET_ACTION, to).await.unwrap_or_else(|e| panic!("{to:?}: {e}"));
        assert_eq!(reply.action(), Some(GET_RESPONSE_ACTION));
    }
    host.close().await.expect("close");
}

#[tokio::test]
async fn a_request_without_ws_addressing_is_refused() {
    let host = host_on_loopback(EPR, DeviceMetadata::computer(EPR, computer("H"))).await;
    let e = call(&host, AddressingVersion::Transport, GET_ACTION, None).await.expect_err("a fault");
    assert_eq!(subcodes(&e), [QName::new(WSA_2004_08_NAMESPACE, "MessageInformationHeaderRequired")]);
    let (status, _) = post_raw(&host, &vec![b'x'; MAX_ENVELOPE + 1]).await;
    assert!(status == 400 || status == 413 || status == 500, "an oversized request gets an error ({status})");
    host.close().await.expect("close");
}

const MAX_ENVELOPE: usize = soapwire_proto::dpws::MAX_ENVELOPE_SIZE;

#[tokio::test]
async fn set_metadata_serves_the_new_metadata_and_bumps_the_version() {
    let host = host_on_loopback(EPR, DeviceMetadata::computer(EPR, computer("OLD"))).await;
    let mut watch = host.watch_metadata_version();
    assert_eq!(host.metadata_version(), 1);
    assert_eq!(host.set_metadata(DeviceMetadata::computer(EPR, computer("NEW"))).expect("set"), 2);
    tokio::time::timeout(Duration::from_secs(5), watch.changed()).await.expect("in time").expect("changed");
    assert_eq!(*watch.borrow_and_update(), 2);
    let got = get_metadata(&url(&host), &GetMetadataOptions::default()).await.expect("get");
    assert_eq!(got.metadata.host().and_then(|h| h.computer.clone()), Some(computer("NEW")));

    let mut broken = DeviceMetadata::computer(EPR, computer("BROKEN"));
    broken.this_model = None;
    assert_eq!(host.set_metadata(broken).map_err(|e| e.kind()), Err(ErrorKind::InvalidArgument));
    assert_eq!(host.metadata_version(), 2, "a refused update changes nothing");
    assert_eq!(host.metadata().host().and_then(|h| h.computer.clone()), Some(computer("NEW")));
    assert_eq!(host.bump_metadata_version(), 3);
    host.set_metadata_version(u32::MAX);
    assert_eq!(host.bump_metadata_version(), 1, "wraps to 1");
    host.close().await.expect("close");
}

#[tokio::test]
async fn metadata_that_cannot_fit_32767_octets_is_refused_up_front() {
    let mut big = DeviceMetadata::computer(EPR, computer("BIG"));
    for i in 0..400 {
        big.relationships[0].hosted.push(HostedService {
            endpoints: vec![EndpointReference::new(format!("http://192.0.2.1:5357/service/{i}"))],
            types: vec![QName::new("urn:t", "T")],
            types_text: None,
            service_id: format!("urn:svc:{i}"),
            extensions: Vec::new(),
        });
    }
    assert_eq!(MetadataHost::new(EPR, big.clone()).map(|_| ()).map_err(|e| e.kind()), Err(ErrorKind::InvalidArgument));
    let mut properties = MetadataHost::default_properties();
    properties.channel.max_buffered_message_size = 1 << 20;
    assert!(MetadataHost::with_properties(EPR, big, properties).is_ok());
}

#[tokio::test]
async fn client_errors_are_bounded_and_typed() {
    let host = host_on_loopback(EPR, DeviceMetadata::computer(EPR, computer("H"))).await;
    let mut options = GetMetadataOptions::default();
    options.quotas.max_envelope_size = 200;
    let e = get_metadata(&url(&host), &options).await.expect_err("too big");
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{e}");
    host.close().await.expect("close");

    // A server that accepts and never answers: the timeout ends the wait.
    let silent = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let kept = silent.accept().await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(kept);
    });
    let options = GetMetadataOptions { timeout: Duration::from_millis(300), ..GetMetadataOptions::default() };
    let started = std::time::Instant::now();
    let e = get_metadata(&format!("http://{addr}/{}", &EPR[9..]), &options).await.expect_err("timeout");
    assert!(e.is_timeout(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

#[test]
fn paths_xaddrs_and_default_to_addresses() {
    assert_eq!(MetadataHost::path_for(EPR).expect("uuid"), "/11111111-2222-3333-4444-555555555555");
    assert_eq!(
        MetadataHost::path_for("URN:UUID:AAAAAAAA-2222-3333-4444-555555555555").expect("upper"),
        "/AAAAAAAA-2222-3333-4444-555555555555"
    );
    assert_eq!(MetadataHost::path_for("http://192.0.2.1:5357/dev/1?x").expect("url"), "/dev/1");
    assert_eq!(MetadataHost::path_for("http://192.0.2.1").expect("bare"), "/");
    for bad in ["urn:uuid:not-a-uuid", "urn:other:x", "uuid:11111111-2222-3333-4444-555555555555", ""] {
        assert_eq!(MetadataHost::path_for(bad).map_err(|e| e.kind()), Err(ErrorKind::InvalidArgument), "{bad}");
    }
    assert_eq!(endpoint_address_for("http://192.0.2.1:5357/11111111-2222-3333-4444-555555555555"), EPR);
    assert_eq!(endpoint_address_for("http://[fe80::1%eth0]:5357/11111111-2222-3333-4444-555555555555/"), EPR);
    assert_eq!(endpoint_address_for("http://192.0.2.1:5357/metadata"), "http://192.0.2.1:5357/metadata");
    assert_eq!(GetMetadataOptions::default().version, DpwsVersion::V2006_02);
}

#[tokio::test]
async fn xaddrs_name_the_interface_address_and_the_bound_port() {
    let host = MetadataHost::new(EPR, DeviceMetadata::computer(EPR, computer("H"))).expect("host");
    assert_eq!(host.xaddr("192.0.2.1".parse().expect("ip")), None, "not open yet");
    host.open(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.expect("open");
    let port = host.local_addr().expect("addr").port();
    assert_eq!(host.xaddr("192.0.2.1".parse().expect("ip")), Some(format!("http://192.0.2.1:{port}{}", host.path())));
    assert_eq!(host.xaddr("fe80::1".parse().expect("ip")), Some(format!("http://[fe80::1]:{port}{}", host.path())));
    assert_eq!(host.endpoint_address(), EPR);
    host.abort();
    assert_eq!(host.state(), crate::ListenerState::Faulted);
}
