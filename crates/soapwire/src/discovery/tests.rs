//! Discovery runtime tests on virtual time (tokio's paused clock) over loopback UDP sockets.
//!
//! Loopback has no multicast here, so a test link is two plain 127.0.0.1 sockets whose
//! "multicast" destination is another test socket: a raw observer, a fake peer, or the group
//! socket of the other side (client ⇄ target). Datagrams on loopback are queued by the sending
//! call itself, so the paused clock never runs ahead of a datagram in flight.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion, EndpointReference};
use soapwire_proto::discovery::{
    AppSequence, DiscoveryMessage, DiscoveryQuotas, DiscoveryVersion, EndpointInfo, Probe, ReceivedDiscovery, Resolve,
};
use soapwire_proto::udp::RetransmitParams;
use soapwire_proto::xml::QName;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::interfaces::{RawAddress, select};
use super::target::TokenBucket;
use super::transport::{Event, Link, Transport};
use super::*;

const ENDPOINT: &str = "urn:uuid:0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c";

fn device() -> QName {
    QName::new(DPWS_2006_02_NAMESPACE, "Device")
}

fn config() -> DiscoveryConfig {
    DiscoveryConfig { rescan_interval: None, ..DiscoveryConfig::default() }
}

fn loopback(name: &str) -> LocalInterface {
    LocalInterface { name: name.to_owned(), index: 1, address: IpAddr::V4(Ipv4Addr::LOCALHOST) }
}

async fn bind() -> UdpSocket {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap()
}

/// A transport with one loopback link whose multicast goes to `multicast_dest`; also returns
/// the addresses of the link's group and local sockets.
async fn loopback_transport(
    config: DiscoveryConfig,
    multicast_dest: SocketAddr,
) -> (Transport, mpsc::Receiver<Event>, SocketAddr, SocketAddr) {
    let (group, local) = (bind().await, bind().await);
    let (group_addr, local_addr) = (group.local_addr().unwrap(), local.local_addr().unwrap());
    let (transport, events) = Transport::with_links(config, |cancel| {
        vec![Link::from_sockets(loopback("lo-test"), group, local, multicast_dest, cancel.child_token())]
    });
    let link = &transport.links()[0];
    assert_eq!(link.local_addr(transport::Via::Group).unwrap(), group_addr);
    (transport, events, group_addr, local_addr)
}

/// A target on a loopback link whose multicast (Hello, Bye) goes to the returned observer
/// socket; also returns the address of its group socket, where requests go.
async fn start_target(service: TargetService, options: TargetOptions) -> (DiscoveryTarget, SocketAddr, UdpSocket) {
    let observer = bind().await;
    let (transport, events, group, _) = loopback_transport(config(), observer.local_addr().unwrap()).await;
    (DiscoveryTarget::with_transport(service, options, transport, events, None), group, observer)
}

async fn start_client(config: DiscoveryConfig, multicast_dest: SocketAddr) -> (DiscoveryClient, SocketAddr) {
    let (transport, events, group, _) = loopback_transport(config, multicast_dest).await;
    (DiscoveryClient::with_transport(transport, events), group)
}

/// The next datagram on `socket` within `within` (virtual time), decoded, with its sender and
/// arrival time.
async fn next_message(socket: &UdpSocket, within: Duration) -> Option<(ReceivedDiscovery, SocketAddr, Instant)> {
    let mut buf = vec![0u8; 65536];
    let (len, from) = tokio::time::timeout(within, socket.recv_from(&mut buf)).await.ok()?.unwrap();
    let message = DiscoveryMessage::parse(&buf[..len], &DiscoveryQuotas::default()).unwrap();
    Some((message, from, Instant::now()))
}

/// Every datagram on `socket` until it has been quiet for `quiet`.
async fn drain(socket: &UdpSocket, quiet: Duration) -> Vec<(ReceivedDiscovery, SocketAddr, Instant)> {
    let mut out = Vec::new();
    while let Some(m) = next_message(socket, quiet).await {
        out.push(m);
    }
    out
}

fn envelope(message: &DiscoveryMessage, version: DiscoveryVersion, id: &str, relates_to: Option<&str>) -> Vec<u8> {
    let addressing = AddressingHeaders {
        message_id: Some(id.to_owned()),
        relates_to: relates_to.map(str::to_owned),
        ..AddressingHeaders::default()
    };
    message.to_envelope(version, &addressing, None)
}

fn probe_bytes(id: &str) -> Vec<u8> {
    let probe = Probe { types: vec![device()], ..Probe::default() };
    envelope(&DiscoveryMessage::Probe(probe), DiscoveryVersion::V2005_04, id, None)
}

fn message_id(m: &ReceivedDiscovery) -> String {
    m.addressing.message_id.clone().unwrap()
}

fn endpoint_info(xaddrs: &[&str]) -> EndpointInfo {
    EndpointInfo {
        endpoint: EndpointReference { address: ENDPOINT.to_owned(), reference_parameters: None },
        types: vec![device()],
        xaddrs: xaddrs.iter().map(|x| (*x).to_owned()).collect(),
        metadata_version: Some(1),
        ..EndpointInfo::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Target

#[tokio::test(start_paused = true)]
async fn hello_and_bye_follow_the_multicast_schedule() {
    let t0 = Instant::now();
    let (target, _, observer) = start_target(TargetService::new(ENDPOINT), TargetOptions::default()).await;
    let hellos = drain(&observer, Duration::from_secs(2)).await;
    assert_eq!(hellos.len(), 2, "DPWS multicast preset: 2 transmissions");
    let (first, second) = (&hellos[0], &hellos[1]);
    assert!(
        matches!(first.0.message, DiscoveryMessage::Hello(ref h) if h.xaddrs.is_empty() && h.endpoint.address == ENDPOINT)
    );
    assert_eq!(first.2 - t0, Duration::ZERO, "WSDAPI sends Hello at once");
    let gap = second.2 - first.2;
    assert!((Duration::from_millis(50)..=Duration::from_millis(250)).contains(&gap), "repeat after {gap:?}");
    assert_eq!(message_id(&first.0), message_id(&second.0), "a retransmission keeps its MessageID");
    assert_eq!(first.0.app_sequence, second.0.app_sequence);
    assert_eq!(first.0.addressing.to.as_deref(), Some(DiscoveryVersion::V2005_04.multicast_to()));

    let stop_started = Instant::now();
    target.stop().await;
    let stop_took = Instant::now() - stop_started;
    assert!(stop_took <= Duration::from_millis(250), "stop waits for the schedule only: {stop_took:?}");
    let byes = drain(&observer, Duration::from_secs(2)).await;
    assert_eq!(byes.len(), 2);
    let DiscoveryMessage::Bye(bye) = &byes[0].0.message else { panic!("expected Bye: {:?}", byes[0].0) };
    assert_eq!(bye.endpoint.address, ENDPOINT);
    let (hello_seq, bye_seq) = (first.0.app_sequence.clone().unwrap(), byes[0].0.app_sequence.clone().unwrap());
    assert_eq!(hello_seq.instance_id, bye_seq.instance_id);
    assert!(bye_seq.message_number > hello_seq.message_number);
}

#[tokio::test(start_paused = true)]
async fn probe_is_answered_by_unicast_within_the_capped_delay_with_one_xaddr() {
    // Asking for 10 s: WSDAPI's 2.5 s cap applies whatever APP_MAX_DELAY says.
    let options = TargetOptions { app_max_delay: Duration::from_secs(10), ..TargetOptions::default() };
    let (_target, group, observer) = start_target(TargetService::new(ENDPOINT), options).await;
    drain(&observer, Duration::from_secs(1)).await;
    let client = bind().await;
    for i in 0..15 {
        let id = format!("urn:uuid:00000000-0000-0000-0000-{i:012}");
        let sent = Instant::now();
        client.send_to(&probe_bytes(&id), group).await.unwrap();
        let copies = drain(&client, Duration::from_secs(3)).await;
        assert_eq!(copies.len(), 2, "DPWS unicast preset: 2 transmissions");
        let (answer, from, at) = &copies[0];
        assert!(*at - sent <= Duration::from_millis(2500), "first copy after {:?}", *at - sent);
        let gap = copies[1].2 - *at;
        assert!((Duration::from_millis(50)..=Duration::from_millis(250)).contains(&gap), "repeat after {gap:?}");
        assert_eq!(*from, group, "the answer comes from the port-3702 socket");
        assert_eq!(answer.addressing.relates_to.as_deref(), Some(id.as_str()));
        assert_eq!(answer.addressing.to.as_deref(), AddressingVersion::V0_9.anonymous_uri());
        let DiscoveryMessage::ProbeMatches(matches) = &answer.message else { panic!("{answer:?}") };
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].xaddrs, ["http://127.0.0.1:5357/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c"]);
        assert_eq!(matches[0].types, [device()]);
    }
    // Nothing was multicast in answer.
    assert!(drain(&observer, Duration::from_millis(100)).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn resolve_for_this_endpoint_is_answered_and_others_are_not() {
    let (target, group, _observer) = start_target(TargetService::new(ENDPOINT), TargetOptions::default()).await;
    let client = bind().await;
    let resolve = |address: &str| {
        let endpoint = EndpointReference { address: address.to_owned(), reference_parameters: None };
        DiscoveryMessage::Resolve(Resolve { endpoint })
    };
    let other =
        envelope(&resolve("urn:uuid:ffffffff-0000-0000-0000-000000000000"), DiscoveryVersion::V1_1, "urn:a", None);
    client.send_to(&other, group).await.unwrap();
    assert!(drain(&client, Duration::from_secs(3)).await.is_empty());
    // Same UUID, other hex case: a UUID comparison; the answer speaks the request's version.
    let ours = envelope(
        &resolve(&ENDPOINT.to_ascii_uppercase().replace("URN:UUID", "urn:uuid")),
        DiscoveryVersion::V1_1,
        "urn:b",
        None,
    );
    client.send_to(&ours, group).await.unwrap();
    let copies = drain(&client, Duration::from_secs(3)).await;
    assert_eq!(copies.len(), 2);
    let answer = &copies[0].0;
    assert_eq!(answer.version, DiscoveryVersion::V1_1);
    assert_eq!(answer.addressing.relates_to.as_deref(), Some("urn:b"));
    let DiscoveryMessage::ResolveMatches(Some(m)) = &answer.message else { panic!("{answer:?}") };
    assert_eq!(m.xaddrs.len(), 1);
    assert_eq!(target.stats().resolves_answered, 1);
}

/// The rate limit of the flood tests: 5 replies a second, bursts of 10.
fn flood_limit() -> TargetOptions {
    TargetOptions { replies_per_second: 5, reply_burst: 10, ..TargetOptions::default() }
}

/// Floods `address` with 300 Probes and checks that `target` ([`flood_limit`]) answered the
/// burst and no more, and answers again a second later.
async fn flood(target: &DiscoveryTarget, address: SocketAddr) {
    let flooder = bind().await;
    for i in 0..300 {
        flooder.send_to(&probe_bytes(&format!("urn:flood:{i}")), address).await.unwrap();
        if i % 100 == 99 {
            // Let the target read its queue (256 datagrams) before the next burst.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let answers = drain(&flooder, Duration::from_secs(4)).await;
    let distinct: std::collections::HashSet<String> = answers.iter().map(|a| message_id(&a.0)).collect();
    // The burst, plus what the rate refills in the few ms the flood took.
    assert!((10..=11).contains(&distinct.len()), "{} distinct answers", distinct.len());
    assert!(answers.len() <= 2 * distinct.len());
    let stats = target.stats();
    assert_eq!(stats.probes_answered as usize, distinct.len());
    // Every accepted Probe was answered or refused by the limit; the rest never got that far
    // (the socket buffer or the queue overflowed), which bounds the work as well.
    assert_eq!(stats.probes_answered + stats.rate_limited, stats.discovery.accepted);
    assert!(stats.discovery.received <= 300);
    // A second later the bucket has refilled: a new probe is answered.
    tokio::time::sleep(Duration::from_secs(1)).await;
    flooder.send_to(&probe_bytes("urn:after-the-flood"), address).await.unwrap();
    let later = drain(&flooder, Duration::from_secs(3)).await;
    assert_eq!(later.first().and_then(|a| a.0.addressing.relates_to.clone()).as_deref(), Some("urn:after-the-flood"));
}

#[tokio::test(start_paused = true)]
async fn a_probe_flood_is_answered_at_a_bounded_rate() {
    let (target, group, _observer) = start_target(TargetService::new(ENDPOINT), flood_limit()).await;
    flood(&target, group).await;
}

/// Datagrams no target answers, whatever the socket: seven malformed ones (not XML, binary,
/// empty, a DTD, oversized, another namespace, a URI over `MAX_URI_SIZE`), a Probe without
/// `MessageID` (misaddressed), a ProbeMatches relating to nothing (read and ignored), then
/// `more`.
fn hostile_datagrams(more: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let probe = DiscoveryMessage::Probe(Probe { types: vec![device()], ..Probe::default() });
    let mut oversized = probe_bytes("urn:x:2");
    oversized.extend_from_slice(format!("<!--{}-->", "x".repeat(40_000)).as_bytes());
    let wrong_version = String::from_utf8(probe_bytes("urn:x:3"))
        .unwrap()
        .replace("http://schemas.xmlsoap.org/ws/2005/04/discovery", "http://example.org/not-discovery")
        .into_bytes();
    let spoofed_match = envelope(
        &DiscoveryMessage::ProbeMatches(vec![endpoint_info(&["http://203.0.113.9/"])]),
        DiscoveryVersion::V2005_04,
        "urn:x:4",
        Some("urn:never-sent"),
    );
    let mut datagrams = vec![
        b"<not-xml".to_vec(),
        b"\x00\x01\x02\xff".to_vec(),
        Vec::new(),
        br#"<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#.to_vec(),
        oversized,
        wrong_version,
        probe_bytes(&format!("urn:x:{}", "9".repeat(3000))),
        probe.to_envelope(DiscoveryVersion::V2005_04, &AddressingHeaders::default(), None),
        spoofed_match,
    ];
    datagrams.extend(more);
    datagrams
}

/// A Probe with `MessageID` `id` addressed `to`.
fn probe_to(id: &str, to: &str) -> Vec<u8> {
    let probe = DiscoveryMessage::Probe(Probe { types: vec![device()], ..Probe::default() });
    let addressing =
        AddressingHeaders { message_id: Some(id.into()), to: Some(to.into()), ..AddressingHeaders::default() };
    probe.to_envelope(DiscoveryVersion::V2005_04, &addressing, None)
}

/// Sends `hostile` to `target` at `address` and checks that nothing is answered; then that the
/// target still works and answers a Probe sent twice (a retransmission) once; then the counts:
/// seven malformed, one duplicate, and the `misaddressed` and `accepted` expected.
async fn attack(target: &DiscoveryTarget, address: SocketAddr, hostile: &[Vec<u8>], misaddressed: u64, accepted: u64) {
    let attacker = bind().await;
    for datagram in hostile {
        attacker.send_to(datagram, address).await.unwrap();
    }
    assert!(drain(&attacker, Duration::from_secs(3)).await.is_empty(), "no answer to hostile datagrams");
    attacker.send_to(&probe_bytes("urn:x:ok"), address).await.unwrap();
    attacker.send_to(&probe_bytes("urn:x:ok"), address).await.unwrap();
    let answers = drain(&attacker, Duration::from_secs(3)).await;
    assert_eq!(answers.len(), 2, "one answer, two transmissions");
    assert_eq!(message_id(&answers[0].0), message_id(&answers[1].0));
    let stats = target.stats().discovery;
    assert_eq!(stats.received, hostile.len() as u64 + 2);
    assert_eq!((stats.malformed, stats.duplicates), (7, 1), "{stats:?}");
    assert_eq!((stats.misaddressed, stats.accepted), (misaddressed, accepted), "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn hostile_datagrams_are_ignored_and_counted() {
    let (target, group, _observer) = start_target(TargetService::new(ENDPOINT), TargetOptions::default()).await;
    let hostile = hostile_datagrams(vec![probe_to("urn:x:1", "urn:not-discovery")]);
    // Misaddressed: no MessageID, another To. Accepted: the good Probe, and the spoofed
    // ProbeMatches, which a target reads and ignores.
    attack(&target, group, &hostile, 2, 2).await;
}

#[tokio::test(start_paused = true)]
async fn probes_that_do_not_match_get_no_answer() {
    let service =
        TargetService { scopes: vec!["http://example.org/building/1".into()], ..TargetService::new(ENDPOINT) };
    let (target, group, _observer) = start_target(service, TargetOptions::default()).await;
    let client = bind().await;
    let probe =
        |types: Vec<QName>, scopes: Option<Scopes>| DiscoveryMessage::Probe(Probe { types, types_text: None, scopes });
    let scopes =
        |uri: &str, rule: Option<&str>| Some(Scopes { match_by: rule.map(str::to_owned), uris: vec![uri.to_owned()] });
    let printer = QName::new("http://example.org/print", "Printer");
    let v = DiscoveryVersion::V2005_04;
    for (i, message) in [
        probe(vec![printer], None),
        probe(vec![device()], scopes("http://example.org/building/2", None)),
        probe(vec![device()], scopes("http://example.org/building/1", Some("urn:unknown-rule"))),
    ]
    .iter()
    .enumerate()
    {
        client.send_to(&envelope(message, v, &format!("urn:n:{i}"), None), group).await.unwrap();
    }
    assert!(drain(&client, Duration::from_secs(3)).await.is_empty());
    // An empty Probe matches every target (WS-Discovery), and so does a matching scope.
    client.send_to(&envelope(&probe(vec![], None), v, "urn:n:empty", None), group).await.unwrap();
    client
        .send_to(&envelope(&probe(vec![], scopes("http://EXAMPLE.org/building", None)), v, "urn:n:scope", None), group)
        .await
        .unwrap();
    let answers = drain(&client, Duration::from_secs(3)).await;
    let related: std::collections::BTreeSet<_> =
        answers.iter().filter_map(|a| a.0.addressing.relates_to.clone()).collect();
    assert_eq!(related.into_iter().collect::<Vec<_>>(), ["urn:n:empty", "urn:n:scope"]);
    assert_eq!(target.stats().discovery.unsolicited, 1, "the unknown rule is counted");
}

#[tokio::test(start_paused = true)]
async fn metadata_version_change_sends_a_new_hello() {
    let (target, _, observer) = start_target(TargetService::new(ENDPOINT), TargetOptions::default()).await;
    drain(&observer, Duration::from_secs(1)).await;
    target.set_metadata_version(7);
    let hellos = drain(&observer, Duration::from_secs(1)).await;
    assert_eq!(hellos.len(), 2);
    assert!(matches!(&hellos[0].0.message, DiscoveryMessage::Hello(h) if h.metadata_version == Some(7)));
    assert_eq!(target.service().metadata_version, 7);
}

#[test]
fn xaddrs_templates_fill_in_the_interface_address_and_uuid() {
    let service = TargetService::new(ENDPOINT);
    let v6 = LocalInterface { name: "eth0".into(), index: 2, address: "fe80::1".parse().unwrap() };
    assert_eq!(service.xaddr(&v6).unwrap(), "http://[fe80::1]:5357/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c");
    let custom = TargetService { xaddrs_template: Some("http://{ip}/dev/{uuid}/x".into()), ..service.clone() };
    assert_eq!(custom.xaddr(&loopback("lo")).unwrap(), "http://127.0.0.1/dev/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c/x");
    let plain = TargetService { endpoint_address: "http://example.org/dev".into(), ..custom };
    assert_eq!(plain.xaddr(&loopback("lo")).unwrap(), "http://127.0.0.1/dev/http://example.org/dev/x");
}

#[tokio::test]
async fn invalid_services_and_options_are_refused() {
    let bad = [
        TargetService { endpoint_address: String::new(), ..TargetService::new(ENDPOINT) },
        TargetService { endpoint_address: "urn:a b".into(), ..TargetService::new(ENDPOINT) },
        TargetService { scopes: vec!["x".repeat(MAX_URI_SIZE + 1)], ..TargetService::new(ENDPOINT) },
        TargetService { xaddrs_template: Some("http://{host}/".into()), ..TargetService::new(ENDPOINT) },
    ];
    for service in bad {
        let e = DiscoveryTarget::start(service, config(), TargetOptions::default()).await.unwrap_err();
        assert_eq!(e.kind(), soapwire_proto::ErrorKind::InvalidArgument, "{e}");
    }
    let options = TargetOptions { reply_burst: 0, ..TargetOptions::default() };
    let e = DiscoveryTarget::start(TargetService::new(ENDPOINT), config(), options).await.unwrap_err();
    assert_eq!(e.kind(), soapwire_proto::ErrorKind::InvalidArgument);
    let none = DiscoveryConfig { ipv4: false, ipv6: false, ..config() };
    let e = DiscoveryClient::open(none).await.unwrap_err();
    assert_eq!(e.kind(), soapwire_proto::ErrorKind::InvalidArgument);
    let missing = DiscoveryConfig { interfaces: vec!["no-such-interface0".into()], ..config() };
    let e = DiscoveryClient::open(missing).await.unwrap_err();
    assert_eq!(e.kind(), soapwire_proto::ErrorKind::AddressNotAvailable);
    assert!(e.to_string().contains("no-such-interface0"), "{e}");
}

#[test]
fn the_token_bucket_refills_at_its_rate_up_to_its_burst() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new(2, 3, t0);
    assert_eq!((0..5).filter(|_| bucket.try_take(t0)).count(), 3);
    assert!(!bucket.try_take(t0 + Duration::from_millis(400)));
    assert!(bucket.try_take(t0 + Duration::from_millis(500)));
    // A long pause refills to the burst, not beyond.
    let later = t0 + Duration::from_secs(60);
    assert_eq!((0..10).filter(|_| bucket.try_take(later)).count(), 3);
}

// ---------------------------------------------------------------------------------------------
// Client

/// A fake peer on `network` (where the client multicasts): answers every Probe with
/// ProbeMatches carrying `probe_xaddrs`, every Resolve with `resolve_xaddrs`, after `delay`.
fn fake_peer(
    network: UdpSocket,
    probe_xaddrs: &'static [&'static str],
    resolve_xaddrs: &'static [&'static str],
    delay: Duration,
) {
    tokio::spawn(async move {
        let mut number = 0;
        while let Some((request, from, _)) = next_message(&network, Duration::from_secs(3600)).await {
            let id = message_id(&request);
            let answer = match request.message {
                DiscoveryMessage::Probe(_) => DiscoveryMessage::ProbeMatches(vec![endpoint_info(probe_xaddrs)]),
                DiscoveryMessage::Resolve(_) => DiscoveryMessage::ResolveMatches(Some(endpoint_info(resolve_xaddrs))),
                _ => continue,
            };
            number += 1;
            let seq = AppSequence { instance_id: 1, sequence_id: None, message_number: number };
            let addressing = AddressingHeaders {
                message_id: Some(format!("urn:answer:{number}")),
                relates_to: Some(id),
                ..AddressingHeaders::default()
            };
            let bytes = answer.to_envelope(request.version, &addressing, Some(&seq));
            tokio::time::sleep(delay).await;
            network.send_to(&bytes, from).await.unwrap();
        }
    });
}

#[tokio::test(start_paused = true)]
async fn probe_collects_matches_for_the_whole_timeout() {
    let network = bind().await;
    let (client, _) = start_client(config(), network.local_addr().unwrap()).await;
    fake_peer(network, &["http://127.0.0.1:5357/x"], &[], Duration::from_millis(700));
    let started = Instant::now();
    let found = client.probe(&[device()], &[], Duration::from_secs(2)).await.unwrap();
    assert_eq!(Instant::now() - started, Duration::from_secs(2));
    // The Probe went out twice (same MessageID): the peer answered each; one entry remains.
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].address(), ENDPOINT);
    assert_eq!(found[0].info.xaddrs, ["http://127.0.0.1:5357/x"]);
    assert_eq!(found[0].interface.name, "lo-test");
    assert_eq!(found[0].version, DiscoveryVersion::V2005_04);
}

#[tokio::test(start_paused = true)]
async fn search_resolves_matches_without_xaddrs_as_wsdd_needs() {
    let network = bind().await;
    let (client, _) = start_client(config(), network.local_addr().unwrap()).await;
    fake_peer(network, &[], &["http://127.0.0.1:5357/resolved"], Duration::from_millis(10));
    let started = Instant::now();
    let found = client.search(&[device()], &[], Duration::from_secs(1)).await.unwrap();
    assert!(Instant::now() - started < Duration::from_millis(1100), "the resolve ran during the probe window");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].info.xaddrs, ["http://127.0.0.1:5357/resolved"]);
    // probe alone keeps the XAddr-less match as it came.
    let plain = client.probe(&[device()], &[], Duration::from_secs(1)).await.unwrap();
    assert!(plain[0].info.xaddrs.is_empty());
}

#[tokio::test(start_paused = true)]
async fn resolve_returns_at_the_first_match_and_none_at_the_timeout() {
    let network = bind().await;
    let (client, _) = start_client(config(), network.local_addr().unwrap()).await;
    fake_peer(network, &[], &["http://127.0.0.1:5357/r"], Duration::from_millis(30));
    let started = Instant::now();
    let found = client.resolve(ENDPOINT, Duration::from_secs(5)).await.unwrap().unwrap();
    assert_eq!(Instant::now() - started, Duration::from_millis(30));
    assert_eq!(found.info.xaddrs, ["http://127.0.0.1:5357/r"]);

    // A peer that answers a Resolve with another endpoint's match: ignored, so None.
    let network = bind().await;
    let (client, _) = start_client(config(), network.local_addr().unwrap()).await;
    fake_peer(network, &[], &["http://127.0.0.1:5357/r"], Duration::ZERO);
    let started = Instant::now();
    let other = "urn:uuid:99999999-9999-9999-9999-999999999999";
    assert!(client.resolve(other, Duration::from_secs(2)).await.unwrap().is_none());
    assert_eq!(Instant::now() - started, Duration::from_secs(2));
    assert!(client.stats().unsolicited >= 1);
}

/// Answers no client may accept for its Probe `id`: ProbeMatches relating to another request
/// and to none, a ResolveMatches and a 1.1 ProbeMatches relating to it.
fn spoofed_answers(id: &str) -> Vec<Vec<u8>> {
    let matches = |x: &str| DiscoveryMessage::ProbeMatches(vec![endpoint_info(&[x])]);
    let v = DiscoveryVersion::V2005_04;
    vec![
        // RelatesTo names nothing we sent.
        envelope(&matches("http://spoof/1"), v, "urn:s:1", Some("urn:uuid:not-ours")),
        // No RelatesTo at all.
        envelope(&matches("http://spoof/2"), v, "urn:s:2", None),
        // The right RelatesTo, the wrong kind.
        envelope(&DiscoveryMessage::ResolveMatches(Some(endpoint_info(&["http://spoof/3"]))), v, "urn:s:3", Some(id)),
        // The right RelatesTo, the wrong version.
        envelope(&matches("http://spoof/4"), DiscoveryVersion::V1_1, "urn:s:4", Some(id)),
    ]
}

#[tokio::test(start_paused = true)]
async fn unsolicited_and_spoofed_answers_are_ignored() {
    let network = bind().await;
    let (transport, events, group, local) = loopback_transport(config(), network.local_addr().unwrap()).await;
    let client = DiscoveryClient::with_transport(transport, events);
    let probe = {
        let client = &client;
        async move { client.probe(&[device()], &[], Duration::from_secs(1)).await.unwrap() }
    };
    let attack = async {
        let (request, _, _) = next_message(&network, Duration::from_secs(1)).await.unwrap();
        let id = message_id(&request);
        let matches = |x: &str| DiscoveryMessage::ProbeMatches(vec![endpoint_info(&[x])]);
        let v = DiscoveryVersion::V2005_04;
        for d in &spoofed_answers(&id) {
            network.send_to(d, local).await.unwrap();
        }
        // Sent to the group socket rather than the local one is fine: it relates to our probe.
        network.send_to(&envelope(&matches("http://real/"), v, "urn:s:5", Some(&id)), group).await.unwrap();
    };
    let (found, ()) = tokio::join!(probe, attack);
    let xaddrs: Vec<&str> = found.iter().flat_map(|m| m.info.xaddrs.iter().map(String::as_str)).collect();
    assert_eq!(xaddrs, ["http://real/"]);
    assert_eq!(client.stats().unsolicited, 4, "{:?}", client.stats());
}

#[tokio::test(start_paused = true)]
async fn client_finds_the_target_and_hears_its_hello_and_bye_in_both_versions() {
    for version in [DiscoveryVersion::V2005_04, DiscoveryVersion::V1_1] {
        // Wire the two sides: each one's multicast goes to the other's group socket.
        let (client_group, client_local) = (bind().await, bind().await);
        let client_group_addr = client_group.local_addr().unwrap();
        let (target_group, target_local) = (bind().await, bind().await);
        let target_group_addr = target_group.local_addr().unwrap();
        let config = DiscoveryConfig { version, ..config() };
        let (transport, events) = Transport::with_links(config.clone(), |c| {
            vec![Link::from_sockets(loopback("c"), client_group, client_local, target_group_addr, c.child_token())]
        });
        let client = DiscoveryClient::with_transport(transport, events);
        let mut announcements = client.announcements();
        let ns = if version == DiscoveryVersion::V1_1 { DPWS_1_1_NAMESPACE } else { DPWS_2006_02_NAMESPACE };
        let service = TargetService { types: vec![QName::new(ns, "Device")], ..TargetService::new(ENDPOINT) };
        let (transport, events) = Transport::with_links(config, |c| {
            vec![Link::from_sockets(loopback("t"), target_group, target_local, client_group_addr, c.child_token())]
        });
        let target = DiscoveryTarget::with_transport(service, TargetOptions::default(), transport, events, None);

        let Some(Announcement::Hello(hello)) = announcements.next().await else { panic!("no Hello") };
        assert_eq!((hello.address(), hello.version), (ENDPOINT, version));
        assert!(hello.info.xaddrs.is_empty(), "no XAddrs in Hello, as WSDAPI");
        let found = client.search(&[QName::new(ns, "Device")], &[], Duration::from_secs(3)).await.unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].info.xaddrs, ["http://127.0.0.1:5357/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c"]);
        let resolved = client.resolve(ENDPOINT, Duration::from_secs(3)).await.unwrap().unwrap();
        assert_eq!(resolved.info.xaddrs, found[0].info.xaddrs);
        target.stop().await;
        let Some(Announcement::Bye(bye)) = announcements.next().await else { panic!("no Bye") };
        assert_eq!(bye.address(), ENDPOINT);
        drop(client);
        assert_eq!(announcements.next().await, None, "closing the client ends the stream");
    }
}

#[tokio::test(start_paused = true)]
async fn stale_announcements_are_dropped() {
    let (client, group) = start_client(config(), "127.0.0.1:9".parse().unwrap()).await;
    let mut announcements = client.announcements();
    let peer = bind().await;
    let hello = |instance, number, id: &str| {
        let seq = AppSequence { instance_id: instance, sequence_id: None, message_number: number };
        let addressing = AddressingHeaders { message_id: Some(id.to_owned()), ..AddressingHeaders::default() };
        DiscoveryMessage::Hello(endpoint_info(&[])).to_envelope(DiscoveryVersion::V2005_04, &addressing, Some(&seq))
    };
    for (instance, number, id) in [(5, 3, "urn:h:1"), (5, 2, "urn:h:2"), (4, 9, "urn:h:3"), (6, 1, "urn:h:4")] {
        peer.send_to(&hello(instance, number, id), group).await.unwrap();
    }
    let mut seen = Vec::new();
    while let Ok(Some(Announcement::Hello(h))) =
        tokio::time::timeout(Duration::from_secs(1), announcements.next()).await
    {
        let seq = h.app_sequence.unwrap();
        seen.push((seq.instance_id, seq.message_number));
    }
    assert_eq!(seen, [(5, 3), (6, 1)], "a lower number and an older instance are stale");
}

// ---------------------------------------------------------------------------------------------
// Directed discovery

/// A target whose only socket is a unicast one on 127.0.0.1 (a free port); its address.
async fn start_directed_target(service: TargetService, options: TargetOptions) -> (DiscoveryTarget, SocketAddr) {
    let options = TargetOptions { unicast_listen: Some((Ipv4Addr::LOCALHOST, 0).into()), ..options };
    let target = DiscoveryTarget::start(service, DiscoveryConfig::directed_only(), options).await.unwrap();
    let address = target.unicast_addr().unwrap();
    assert_eq!(address.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(address.port(), 0);
    (target, address)
}

/// `bytes` without the `To` header whose value is `to`.
fn without_header(bytes: &[u8], to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let at = text.find(to).unwrap();
    let start = text[..at].rfind('<').unwrap();
    let end = at + text[at..].find('>').unwrap() + 1;
    format!("{}{}", &text[..start], &text[end..]).into_bytes()
}

#[tokio::test(start_paused = true)]
async fn directed_probe_and_resolve_find_a_target_on_loopback_in_both_versions() {
    for version in [DiscoveryVersion::V2005_04, DiscoveryVersion::V1_1] {
        let service =
            TargetService { xaddrs_template: Some("http://{ip}:8080/{uuid}".into()), ..TargetService::new(ENDPOINT) };
        let (target, address) = start_directed_target(service, TargetOptions::default()).await;
        assert!(target.interfaces().is_empty(), "no multicast link");
        let client =
            DiscoveryClient::open(DiscoveryConfig { version, ..DiscoveryConfig::directed_only() }).await.unwrap();
        assert!(client.interfaces().is_empty());

        let started = Instant::now();
        let found = client.probe_directed(address, &[device()], &[], Duration::from_millis(500)).await.unwrap();
        assert_eq!(Instant::now() - started, Duration::from_millis(500), "a probe collects for its whole timeout");
        assert_eq!(found.len(), 1, "{found:?}");
        let m = &found[0];
        assert_eq!((m.address(), m.version, m.from), (ENDPOINT, version, address));
        assert_eq!(m.info.xaddrs, ["http://127.0.0.1:8080/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c"]);
        assert_eq!(m.info.types, [device()]);
        assert_eq!(m.interface.address, IpAddr::V4(Ipv4Addr::LOCALHOST), "sent from loopback");

        let started = Instant::now();
        let resolved = client.resolve_directed(address, ENDPOINT, Duration::from_secs(5)).await.unwrap().unwrap();
        assert!(Instant::now() - started < Duration::from_millis(50), "answered at once, not after the window");
        assert_eq!(resolved.info.xaddrs, m.info.xaddrs);
        let other = "urn:uuid:99999999-9999-9999-9999-999999999999";
        let started = Instant::now();
        assert!(client.resolve_directed(address, other, Duration::from_secs(1)).await.unwrap().is_none());
        assert_eq!(Instant::now() - started, Duration::from_secs(1));
        // A Probe for another type gets no answer.
        let printer = QName::new("http://example.org/print", "Printer");
        assert!(client.probe_directed(address, &[printer], &[], Duration::from_millis(300)).await.unwrap().is_empty());

        let stats = target.stats();
        assert_eq!((stats.probes_answered, stats.resolves_answered, stats.rate_limited), (1, 1, 0), "{stats:?}");
        let e = client.probe(&[device()], &[], Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(e.kind(), soapwire_proto::ErrorKind::AddressNotAvailable, "{e}");
        let started = Instant::now();
        target.stop().await;
        assert_eq!(Instant::now() - started, Duration::ZERO, "no multicast link: no Bye to wait for");
        assert!(client.probe_directed(address, &[], &[], Duration::from_millis(300)).await.unwrap().is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn directed_discovery_runs_over_ipv6_loopback() {
    if std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let options = TargetOptions { unicast_listen: Some((Ipv6Addr::LOCALHOST, 0).into()), ..TargetOptions::default() };
    let target =
        DiscoveryTarget::start(TargetService::new(ENDPOINT), DiscoveryConfig::directed_only(), options).await.unwrap();
    let address = target.unicast_addr().unwrap();
    assert!(address.is_ipv6());
    let client = DiscoveryClient::open(DiscoveryConfig::directed_only()).await.unwrap();
    let found = client.resolve_directed(address, ENDPOINT, Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(found.info.xaddrs, ["http://[::1]:5357/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c"]);
    assert_eq!((found.from, found.interface.address), (address, IpAddr::V6(Ipv6Addr::LOCALHOST)));
}

#[tokio::test(start_paused = true)]
async fn directed_requests_are_answered_at_once_by_unicast_with_one_xaddr() {
    let (target, address) = start_directed_target(TargetService::new(ENDPOINT), TargetOptions::default()).await;
    let client = bind().await;
    let sent = Instant::now();
    client.send_to(&probe_bytes("urn:d:1"), address).await.unwrap();
    let copies = drain(&client, Duration::from_secs(3)).await;
    assert_eq!(copies.len(), 2, "DPWS unicast preset: 2 transmissions");
    let (answer, from, at) = &copies[0];
    assert_eq!(*at - sent, Duration::ZERO, "no random delay for a directed request");
    let gap = copies[1].2 - *at;
    assert!((Duration::from_millis(50)..=Duration::from_millis(250)).contains(&gap), "repeat after {gap:?}");
    assert_eq!(*from, address, "the answer comes from the unicast socket");
    assert_eq!(answer.addressing.relates_to.as_deref(), Some("urn:d:1"));
    assert_eq!(answer.addressing.to.as_deref(), AddressingVersion::V0_9.anonymous_uri());
    let DiscoveryMessage::ProbeMatches(matches) = &answer.message else { panic!("{answer:?}") };
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].xaddrs, ["http://127.0.0.1:5357/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c"]);

    // `To` may also be the target's own endpoint address (here a 1.1 Resolve, whose UUID
    // compares without regard to case).
    let asked = ENDPOINT.replace("0b6b6cf0", "0B6B6CF0");
    let resolve = DiscoveryMessage::Resolve(Resolve {
        endpoint: EndpointReference { address: asked, reference_parameters: None },
    });
    let addressing = AddressingHeaders {
        message_id: Some("urn:d:2".into()),
        to: Some(ENDPOINT.into()),
        ..AddressingHeaders::default()
    };
    client.send_to(&resolve.to_envelope(DiscoveryVersion::V1_1, &addressing, None), address).await.unwrap();
    let copies = drain(&client, Duration::from_secs(3)).await;
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0].0.version, DiscoveryVersion::V1_1);
    let DiscoveryMessage::ResolveMatches(Some(m)) = &copies[0].0.message else { panic!("{:?}", copies[0].0) };
    assert_eq!(m.xaddrs, ["http://127.0.0.1:5357/0b6b6cf0-8d4e-4f55-9e40-1c1d2f3a4b5c"]);
    assert_eq!(target.stats().resolves_answered, 1);
}

#[tokio::test(start_paused = true)]
async fn the_unicast_socket_ignores_hostile_datagrams() {
    let (target, address) = start_directed_target(TargetService::new(ENDPOINT), TargetOptions::default()).await;
    let hostile = hostile_datagrams(vec![
        without_header(&probe_to("urn:x:5", "urn:remove-me"), "urn:remove-me"),
        probe_to("urn:x:1", "urn:uuid:99999999-9999-9999-9999-999999999999"),
    ]);
    // Misaddressed: no MessageID, no To, another endpoint's address. Accepted: the good
    // Probe, the one for another endpoint (the target checks its To) and the ProbeMatches.
    attack(&target, address, &hostile, 3, 3).await;
}

#[tokio::test(start_paused = true)]
async fn a_directed_probe_flood_is_answered_at_a_bounded_rate() {
    let (target, address) = start_directed_target(TargetService::new(ENDPOINT), flood_limit()).await;
    flood(&target, address).await;
}

#[tokio::test(start_paused = true)]
async fn multicast_links_answer_multicast_and_the_unicast_socket_answers_directed_requests() {
    let observer = bind().await;
    let (transport, events, group, local) = loopback_transport(config(), observer.local_addr().unwrap()).await;
    let socket = transport::open_unicast_socket((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
    let unicast_address = socket.local_addr().unwrap();
    let unicast = transport.add_directed(loopback("lo-unicast"), socket);
    let service = TargetService::new(ENDPOINT);
    let target = DiscoveryTarget::with_transport(service, TargetOptions::default(), transport, events, Some(unicast));
    assert_eq!(target.unicast_addr(), Some(unicast_address));
    assert_eq!(drain(&observer, Duration::from_secs(1)).await.len(), 2, "Hello on the multicast link only");
    let client = bind().await;
    for (i, to) in [group, local, unicast_address].into_iter().enumerate() {
        client.send_to(&probe_bytes(&format!("urn:m:{i}")), to).await.unwrap();
    }
    let answers = drain(&client, Duration::from_secs(3)).await;
    let mut seen: Vec<(String, SocketAddr)> =
        answers.iter().map(|(m, from, _)| (m.addressing.relates_to.clone().unwrap(), *from)).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, [("urn:m:0".to_owned(), group), ("urn:m:2".to_owned(), unicast_address)]);
    assert_eq!(target.stats().discovery.unsolicited, 1, "the Probe sent to the local socket");
    target.stop().await;
    assert_eq!(drain(&observer, Duration::from_secs(1)).await.len(), 2, "Bye on the multicast link");
    assert!(drain(&client, Duration::from_millis(500)).await.is_empty(), "no Bye to the unicast socket's peers");
}

#[tokio::test(start_paused = true)]
async fn directed_answers_count_only_on_the_request_socket_and_version() {
    let peer = bind().await;
    let peer_address = peer.local_addr().unwrap();
    let (client, client_group) = start_client(config(), "127.0.0.1:9".parse().unwrap()).await;
    let probe = async { client.probe_directed(peer_address, &[device()], &[], Duration::from_secs(1)).await.unwrap() };
    let attack = async {
        let (request, from, _) = next_message(&peer, Duration::from_secs(1)).await.unwrap();
        assert_eq!(request.addressing.to.as_deref(), Some(DiscoveryVersion::V2005_04.multicast_to()));
        let id = message_id(&request);
        let matches = |x: &str| DiscoveryMessage::ProbeMatches(vec![endpoint_info(&[x])]);
        let v = DiscoveryVersion::V2005_04;
        let mut to_the_socket = spoofed_answers(&id);
        // A Hello, which has no business on a directed socket.
        to_the_socket.push(envelope(&DiscoveryMessage::Hello(endpoint_info(&["http://spoof/5"])), v, "urn:s:5", None));
        for d in &to_the_socket {
            peer.send_to(d, from).await.unwrap();
        }
        // The right RelatesTo on the wrong socket (the client's multicast link).
        peer.send_to(&envelope(&matches("http://spoof/6"), v, "urn:s:6", Some(&id)), client_group).await.unwrap();
        peer.send_to(&envelope(&matches("http://real/"), v, "urn:s:7", Some(&id)), from).await.unwrap();
        from
    };
    let (found, directed_socket) = tokio::join!(probe, attack);
    let xaddrs: Vec<&str> = found.iter().flat_map(|m| m.info.xaddrs.iter().map(String::as_str)).collect();
    assert_eq!(xaddrs, ["http://real/"]);
    assert_eq!(client.stats().unsolicited, 6, "{:?}", client.stats());
    // The request's socket is closed once the call returns.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let received = client.stats().received;
    let late = DiscoveryMessage::ProbeMatches(vec![endpoint_info(&["http://late/"])]);
    let _ = peer.send_to(&envelope(&late, DiscoveryVersion::V2005_04, "urn:s:8", None), directed_socket).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(client.stats().received, received);
}

#[tokio::test]
async fn directed_options_and_peers_are_checked() {
    let service = TargetService::new(ENDPOINT);
    let e = DiscoveryTarget::start(service.clone(), DiscoveryConfig::directed_only(), TargetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), soapwire_proto::ErrorKind::InvalidArgument, "{e}");
    for bad in ["0.0.0.0:0", "[::]:3702", "239.255.255.250:3702"] {
        let options = TargetOptions { unicast_listen: Some(bad.parse().unwrap()), ..TargetOptions::default() };
        let e = DiscoveryTarget::start(service.clone(), DiscoveryConfig::directed_only(), options).await.unwrap_err();
        assert_eq!(e.kind(), soapwire_proto::ErrorKind::InvalidArgument, "{bad}: {e}");
    }
    // An address and port already taken is not shared.
    let (_target, address) = start_directed_target(service.clone(), TargetOptions::default()).await;
    let options = TargetOptions { unicast_listen: Some(address), ..TargetOptions::default() };
    let e = DiscoveryTarget::start(service, DiscoveryConfig::directed_only(), options).await.unwrap_err();
    assert_eq!(e.kind(), soapwire_proto::ErrorKind::AddressInUse, "{e}");

    let client = DiscoveryClient::open(DiscoveryConfig::directed_only()).await.unwrap();
    let e = client.resolve(ENDPOINT, Duration::from_millis(10)).await.unwrap_err();
    assert!(e.to_string().contains("multicast is off"), "{e}");
    for bad in ["0.0.0.0:3702", "127.0.0.1:0", "239.255.255.250:3702", "255.255.255.255:3702", "[ff02::c]:3702"] {
        let e = client.probe_directed(bad.parse().unwrap(), &[], &[], Duration::from_millis(10)).await.unwrap_err();
        assert_eq!(e.kind(), soapwire_proto::ErrorKind::InvalidArgument, "{bad}: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Interfaces

fn raw(name: &str, index: u32, address: &str) -> RawAddress {
    let address: IpAddr = address.parse().unwrap();
    RawAddress { name: name.into(), index: Some(index), address, loopback: address.is_loopback(), running: true }
}

#[test]
fn interface_selection_prefers_link_local_and_applies_the_lists() {
    let list = vec![
        raw("lo", 1, "127.0.0.1"),
        raw("lo", 1, "::1"),
        raw("eth0", 2, "192.0.2.10"),
        raw("eth0", 2, "192.0.2.11"),
        raw("eth0", 2, "2001:db8::10"),
        raw("eth0", 2, "fe80::10"),
        raw("eth1", 3, "198.51.100.7"),
        RawAddress { running: false, ..raw("down0", 4, "203.0.113.1") },
        RawAddress { index: None, ..raw("noindex", 0, "203.0.113.2") },
    ];
    let names = |c: &DiscoveryConfig| -> Vec<String> { select(&list, c).iter().map(|i| i.to_string()).collect() };
    assert_eq!(names(&config()), ["eth0 (192.0.2.10)", "eth0 (fe80::10)", "eth1 (198.51.100.7)"]);
    let only_eth1 = DiscoveryConfig { interfaces: vec!["eth1".into()], ..config() };
    assert_eq!(names(&only_eth1), ["eth1 (198.51.100.7)"]);
    let by_address = DiscoveryConfig { interfaces: vec!["fe80::10".into()], ..config() };
    assert_eq!(names(&by_address), ["eth0 (fe80::10)"]);
    let deny = DiscoveryConfig { exclude_interfaces: vec!["eth0".into()], ..config() };
    assert_eq!(names(&deny), ["eth1 (198.51.100.7)"]);
    let v6 = DiscoveryConfig { ipv4: false, ..config() };
    let selected = select(&list, &v6);
    assert_eq!(selected.len(), 1);
    assert_eq!((selected[0].index, selected[0].family()), (2, AddressFamily::V6));
    assert_eq!(selected[0].address, IpAddr::V6("fe80::10".parse::<Ipv6Addr>().unwrap()));
    assert_eq!(selected[0].url_host(), "[fe80::10]");
}

#[test]
fn configurations_are_validated() {
    assert!(config().validate().is_ok());
    let bad_schedule = RetransmitParams { repeat: 0, ..RetransmitParams::multicast() };
    assert!(DiscoveryConfig { multicast_retransmit: bad_schedule, ..config() }.validate().is_err());
    assert!(DiscoveryConfig { inbound_queue: 0, ..config() }.validate().is_err());
}

#[test]
fn random_values_vary() {
    let draws: std::collections::HashSet<u64> = (0..64).map(|_| random_u64()).collect();
    assert!(draws.len() > 60);
    assert!(new_message_id().starts_with("urn:uuid:"));
}

#[tokio::test(start_paused = true)]
async fn a_directed_probe_with_an_unsupported_matching_rule_gets_the_matching_rule_not_supported_fault() {
    use soapwire_proto::soap::{Envelope, Fault};
    for version in [DiscoveryVersion::V2005_04, DiscoveryVersion::V1_1] {
        let (target, address) = start_directed_target(TargetService::new(ENDPOINT), TargetOptions::default()).await;
        let client = bind().await;
        let scopes =
            Some(Scopes { match_by: Some("urn:unknown-rule".into()), uris: vec!["http://example.org/a".into()] });
        let probe = DiscoveryMessage::Probe(Probe { types: vec![], types_text: None, scopes });
        client.send_to(&envelope(&probe, version, "urn:n:rule", None), address).await.unwrap();
        let mut buf = vec![0u8; 65536];
        let (n, from) =
            tokio::time::timeout(Duration::from_secs(2), client.recv_from(&mut buf)).await.unwrap().unwrap();
        assert_eq!(from, address);
        let parsed = Envelope::parse(
            bytes::Bytes::copy_from_slice(&buf[..n]),
            None,
            &soapwire_proto::xml::ReaderQuotas::default(),
            32,
        )
        .unwrap();
        let fault: Fault = parsed.fault(&soapwire_proto::xml::ReaderQuotas::default()).unwrap().expect("a fault");
        assert_eq!(fault.subcodes, [QName::new(version.namespace(), "MatchingRuleNotSupported")], "{version:?}");
        let detail = String::from_utf8_lossy(fault.detail.as_deref().unwrap_or_default()).into_owned();
        assert!(detail.contains("SupportedMatchingRules"), "{detail}");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(text.contains("urn:n:rule"), "RelatesTo the Probe: {text}");
        target.stop().await;
    }
}
