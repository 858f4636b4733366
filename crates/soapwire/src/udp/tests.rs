//! Tests of the UDP binding: on virtual time (tokio's paused clock) over loopback sockets for
//! the schedules, the intake and the close/abort rules, and on real time for a channel talking
//! to a listener. Loopback datagrams are queued by the sending call itself, so the paused
//! clock never runs ahead of a datagram in flight, and arrival times are exact.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use soapwire_proto::ErrorKind;
use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion, EndpointReference};
use soapwire_proto::channel::{ChannelState, ListenerState, MessageState};
use soapwire_proto::properties::{ChannelProperties, ListenerProperties, MessageEncoding, Timeout, TransferMode};
use soapwire_proto::soap::{EnvelopeVersion, Fault, FaultCode, Header};
use soapwire_proto::udp::{RetransmitParams, RetransmitSchedule};
use soapwire_proto::xml::QName;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::*;
use crate::message::Message;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const ACTION: &str = "urn:test:ping";
const BODY: &str = r#"<t:ping xmlns:t="urn:test">hi</t:ping>"#;

async fn peer() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let address = socket.local_addr().unwrap();
    (socket, address)
}

fn url(address: SocketAddr) -> String {
    format!("soap.udp://{address}/svc")
}

/// A SOAP 1.2 / WS-Addressing 1.0 message as bytes.
fn envelope(message_id: Option<&str>, relates_to: Option<&str>, body: &str) -> Vec<u8> {
    let mut m = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    m.initialize_request(ACTION, body.to_owned()).unwrap();
    m.addressing_mut().message_id = message_id.map(str::to_owned);
    m.addressing_mut().relates_to = relates_to.map(str::to_owned);
    m.encode()
}

fn request() -> Message {
    let mut m = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    m.initialize_request(ACTION, BODY).unwrap();
    m
}

fn empty() -> Message {
    Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0)
}

fn properties(receive: Duration) -> ChannelProperties {
    let mut p = ChannelProperties::default();
    p.set_timeout(Timeout::Receive, Some(receive));
    p
}

async fn open_channel(p: ChannelProperties, options: UdpChannelOptions, to: SocketAddr) -> Arc<UdpChannel> {
    let channel = Arc::new(UdpChannel::with_options(p, options));
    channel.open(&url(to)).await.unwrap();
    channel
}

/// The `MessageID` of a WS-Addressing 1.0 message.
fn message_id_of(bytes: &[u8]) -> String {
    let quotas = soapwire_proto::xml::ReaderQuotas::default();
    let envelope = soapwire_proto::soap::Envelope::parse(bytes.to_vec().into(), None, &quotas, 64).unwrap();
    let headers = AddressingHeaders::from_headers(&envelope.headers, AddressingVersion::V1_0, &quotas).unwrap();
    headers.message_id.unwrap()
}

/// Every datagram `socket` receives within `within` of quiet, with its arrival time.
async fn drain(socket: &UdpSocket, within: Duration) -> Vec<(Vec<u8>, SocketAddr, Instant)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 70000];
    while let Ok(r) = tokio::time::timeout(within, socket.recv_from(&mut buf)).await {
        let (len, from) = r.unwrap();
        out.push((buf[..len].to_vec(), from, Instant::now()));
    }
    out
}

// ---- schedules ----

#[tokio::test(start_paused = true)]
async fn send_follows_the_retransmit_schedule_exactly_with_one_message_id() {
    let (receiver, address) = peer().await;
    let params = RetransmitParams::new(ms(20), 6, ms(50), ms(250), ms(450)).unwrap();
    let options = UdpChannelOptions { unicast_retransmit: params, ..UdpChannelOptions::default() };
    let channel = open_channel(ChannelProperties::default(), options, address).await;
    channel.set_rng(Box::new(|| 7));
    let start = Instant::now();
    let expected: Vec<Duration> =
        RetransmitSchedule::new(&params, &mut || 7, start.into_std()).unwrap().map(|t| t - start.into_std()).collect();
    let recording = tokio::spawn(async move { drain(&receiver, Duration::from_secs(5)).await });
    let mut m = request();
    channel.send_message(&mut m).await.unwrap();
    assert_eq!(Instant::now() - start, *expected.last().unwrap(), "send returns after the last transmission");
    assert_eq!(m.state(), MessageState::Done);
    let got = recording.await.unwrap();
    let offsets: Vec<Duration> = got.iter().map(|(_, _, at)| *at - start).collect();
    assert_eq!(offsets, expected);
    assert_eq!(offsets, [ms(20), ms(77), ms(191), ms(419), ms(869), ms(1319)]);
    let port = channel.local_address().unwrap().port();
    assert!(got.iter().all(|(bytes, from, _)| *bytes == got[0].0 && from.port() == port));
    assert_eq!(m.addressing().message_id, Some(message_id_of(&got[0].0)));
    assert_eq!(channel.stats().sent, 6);
}

#[tokio::test(start_paused = true)]
async fn the_default_unicast_schedule_is_two_copies_50_to_250_ms_apart() {
    let (receiver, address) = peer().await;
    let channel = open_channel(ChannelProperties::default(), UdpChannelOptions::default(), address).await;
    let start = Instant::now();
    let recording = tokio::spawn(async move { drain(&receiver, Duration::from_secs(2)).await });
    channel.send_message(&mut request()).await.unwrap();
    let got = recording.await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].2, start);
    assert!((ms(50)..=ms(250)).contains(&(got[1].2 - got[0].2)), "{:?}", got[1].2 - got[0].2);
    assert_eq!(got[0].0, got[1].0);
}

// ---- receiving ----

#[tokio::test(start_paused = true)]
async fn duplicates_are_delivered_once_and_counted() {
    let (peer, address) = peer().await;
    let channel = open_channel(properties(ms(2000)), UdpChannelOptions::default(), address).await;
    let to = channel.local_address().unwrap();
    let first = envelope(Some("urn:uuid:1"), None, BODY);
    for _ in 0..3 {
        peer.send_to(&first, to).await.unwrap();
    }
    peer.send_to(&envelope(Some("urn:uuid:2"), None, BODY), to).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut m = empty();
        let from = channel.receive_message_from(&mut m).await.unwrap();
        assert_eq!(from, address);
        assert_eq!(m.action(), Some(ACTION));
        ids.push(m.addressing().message_id.clone().unwrap());
    }
    assert_eq!(ids, ["urn:uuid:1", "urn:uuid:2"]);
    let e = channel.receive_message(&mut empty()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationTimedOut);
    let stats = channel.stats();
    assert_eq!((stats.received, stats.delivered, stats.duplicates), (4, 2, 2));
}

#[tokio::test(start_paused = true)]
async fn receive_times_out_with_operation_timed_out_and_the_channel_stays_usable() {
    let (peer, address) = peer().await;
    let channel = open_channel(properties(ms(1500)), UdpChannelOptions::default(), address).await;
    let start = Instant::now();
    let e = channel.receive_message(&mut empty()).await.unwrap_err();
    assert_eq!((e.kind(), Instant::now() - start), (ErrorKind::OperationTimedOut, ms(1500)));
    assert_eq!(channel.state(), ChannelState::Open, "a UDP timeout does not fault the channel");
    peer.send_to(&envelope(Some("urn:uuid:late"), None, BODY), channel.local_address().unwrap()).await.unwrap();
    assert!(channel.receive_message(&mut empty()).await.unwrap());
    channel.send_message(&mut request()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn hostile_datagrams_are_dropped_and_counted_and_never_stop_the_channel() {
    let (peer, address) = peer().await;
    let mut p = properties(ms(1000));
    p.max_buffered_message_size = 2000;
    let channel = open_channel(p, UdpChannelOptions::default(), address).await;
    let to = channel.local_address().unwrap();
    let soap11 = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><a:MessageID xmlns:a="http://www.w3.org/2005/08/addressing">urn:uuid:11</a:MessageID></s:Header><s:Body/></s:Envelope>"#;
    let dtd = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&a;</s:Body></s:Envelope>"#;
    let big = envelope(Some("urn:uuid:big"), None, &format!("<t:x xmlns:t='urn:t'>{}</t:x>", "a".repeat(3000)));
    let valid = envelope(Some("urn:uuid:ok"), None, BODY);
    let hostile: Vec<Vec<u8>> = vec![
        vec![0xff, 0x00, 0x13, 0x37],
        Vec::new(),
        b"<not-soap/>".to_vec(),
        soap11.to_vec(),
        dtd.to_vec(),
        valid[..valid.len() / 2].to_vec(),
        envelope(None, None, BODY),
        big,
        vec![b'<'; 65507],
    ];
    for h in &hostile {
        peer.send_to(h, to).await.unwrap();
    }
    peer.send_to(&valid, to).await.unwrap();
    let mut m = empty();
    assert!(channel.receive_message(&mut m).await.unwrap());
    assert_eq!(m.addressing().message_id.as_deref(), Some("urn:uuid:ok"));
    let s = channel.stats();
    assert_eq!(s.received, 10);
    assert_eq!((s.malformed, s.no_message_id, s.oversize, s.delivered), (6, 1, 2, 1), "{s:?}");
    assert_eq!(channel.state(), ChannelState::Open);
}

#[tokio::test(start_paused = true)]
async fn a_received_fault_is_endpoint_fault_received_with_the_message_kept() {
    let (peer, address) = peer().await;
    let channel = open_channel(properties(ms(1000)), UdpChannelOptions::default(), address).await;
    let mut fault_message = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    fault_message.initialize_fault(None, &Fault::new(FaultCode::Receiver, "broken")).unwrap();
    fault_message.addressing_mut().message_id = Some("urn:uuid:f".into());
    peer.send_to(&fault_message.encode(), channel.local_address().unwrap()).await.unwrap();
    let mut m = empty();
    let e = channel.receive_message(&mut m).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EndpointFaultReceived);
    assert_eq!(e.fault().map(|f| f.reason.as_str()), Some("broken"));
    assert!(m.fault(&Default::default()).unwrap().is_some());
}

// ---- sending limits ----

#[tokio::test(start_paused = true)]
async fn sending_over_the_size_limit_is_quota_exceeded_and_sends_nothing() {
    let (receiver, address) = peer().await;
    let channel = open_channel(ChannelProperties::default(), UdpChannelOptions::default(), address).await;
    for size in [70_000, 65_510] {
        let mut m = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
        m.initialize_request(ACTION, format!("<t:x xmlns:t='urn:t'>{}</t:x>", "a".repeat(size))).unwrap();
        let e = channel.send_message(&mut m).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{size}: {e}");
        assert_eq!(m.state(), MessageState::Initialized, "the message is left as it was");
    }
    assert!(drain(&receiver, Duration::from_secs(1)).await.is_empty());
    assert_eq!(channel.stats().sent, 0);
    // Just under both limits goes.
    let mut m = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    m.initialize_request(ACTION, format!("<t:x xmlns:t='urn:t'>{}</t:x>", "a".repeat(64_000))).unwrap();
    channel.send_message(&mut m).await.unwrap();
    assert_eq!(drain(&receiver, Duration::from_secs(1)).await.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn attachments_and_whole_envelopes_without_message_id_are_refused() {
    let (_receiver, address) = peer().await;
    let channel = open_channel(ChannelProperties::default(), UdpChannelOptions::default(), address).await;
    let mut m = request();
    m.add_attachment_bytes("a", "application/octet-stream", vec![1, 2, 3]);
    assert_eq!(channel.send_message(&mut m).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    let mut raw = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    raw.initialize_raw_envelope(envelope(None, None, BODY), None).unwrap();
    assert_eq!(channel.send_message(&mut raw).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    let mut raw = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    raw.initialize_raw_envelope(envelope(Some("urn:uuid:raw"), None, BODY), None).unwrap();
    channel.send_message(&mut raw).await.unwrap();
}

// ---- request/reply ----

#[tokio::test(start_paused = true)]
async fn call_returns_the_reply_whose_relates_to_matches_and_stops_retransmitting() {
    let (server, address) = peer().await;
    let params = RetransmitParams::new(ms(0), 4, ms(500), ms(500), ms(1000)).unwrap();
    let options = UdpChannelOptions { unicast_retransmit: params, ..UdpChannelOptions::default() };
    let channel = open_channel(properties(ms(5000)), options, address).await;
    let serving = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        let (len, from) = server.recv_from(&mut buf).await.unwrap();
        let id = message_id_of(&buf[..len]);
        tokio::time::sleep(ms(100)).await;
        server.send_to(&envelope(Some("urn:uuid:other"), Some("urn:uuid:someone-else"), BODY), from).await.unwrap();
        server
            .send_to(&envelope(Some("urn:uuid:reply"), Some(&id), "<t:pong xmlns:t='urn:test'/>"), from)
            .await
            .unwrap();
        let rest = drain(&server, Duration::from_secs(3)).await;
        (id, rest.len())
    });
    let start = Instant::now();
    let reply = channel.call(ACTION, BODY).await.unwrap();
    assert_eq!(Instant::now() - start, ms(100));
    let (id, repeats_after_reply) = serving.await.unwrap();
    assert_eq!(reply.addressing().relates_to.as_deref(), Some(id.as_str()));
    assert!(String::from_utf8_lossy(reply.body_xml()).contains("pong"));
    assert_eq!(repeats_after_reply, 0, "the repeats stop once the reply is in");
    assert_eq!((channel.stats().unrelated, channel.stats().sent), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn call_without_an_answer_times_out_after_the_receive_timeout() {
    let (_silent, address) = peer().await;
    let channel = open_channel(properties(ms(3000)), UdpChannelOptions::default(), address).await;
    let start = Instant::now();
    let e = channel.call(ACTION, BODY).await.unwrap_err();
    assert_eq!((e.kind(), Instant::now() - start), (ErrorKind::OperationTimedOut, ms(3000)));
    assert_eq!(channel.stats().sent, 2, "the whole schedule went while waiting");
}

// ---- open ----

#[tokio::test]
async fn open_refuses_what_udp_cannot_do_with_invalid_argument_and_stays_created() {
    let mut mtom = ChannelProperties::default();
    mtom.encoding = MessageEncoding::MtomUtf8;
    let mut streamed = ChannelProperties::default();
    streamed.transfer_mode = TransferMode::Streamed;
    let mut transport = ChannelProperties::default();
    transport.addressing_version = AddressingVersion::Transport;
    for p in [mtom, streamed, transport] {
        let channel = UdpChannel::new(p.clone());
        assert_eq!(channel.open("soap.udp://127.0.0.1:9/").await.unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(channel.state(), ChannelState::Created);
        let listener = UdpListener::new(ListenerProperties { channel: p, ..ListenerProperties::default() });
        assert_eq!(listener.open("soap.udp://127.0.0.1:0/").await.unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(listener.state(), ListenerState::Created);
    }
    let options = UdpChannelOptions { multicast_hops: 256, ..UdpChannelOptions::default() };
    let channel = UdpChannel::with_options(ChannelProperties::default(), options);
    assert_eq!(channel.open("soap.udp://127.0.0.1:9/").await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    for bad in ["http://127.0.0.1:9/", "soap.udp://127.0.0.1/", "soap.udp://+:9/"] {
        let channel = UdpChannel::new(ChannelProperties::default());
        assert_eq!(channel.open(bad).await.unwrap_err().kind(), ErrorKind::InvalidEndpointUrl, "{bad}");
    }
}

#[tokio::test]
async fn send_and_receive_need_an_open_channel() {
    let channel = UdpChannel::new(ChannelProperties::default());
    assert_eq!(channel.send_message(&mut request()).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    assert_eq!(channel.receive_message(&mut empty()).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    assert_eq!(channel.close().await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    channel.open("soap.udp://127.0.0.1:9/").await.unwrap();
    assert_eq!(channel.state(), ChannelState::Open);
    assert_eq!(channel.remote_address(), Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 9))));
    assert!(!channel.is_multicast());
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
    assert_eq!(channel.send_message(&mut request()).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    channel.reset().unwrap();
    assert_eq!(channel.state(), ChannelState::Created);
}

// ---- close and abort ----

#[tokio::test(start_paused = true)]
async fn abort_ends_a_pending_receive_with_operation_aborted() {
    let (_peer, address) = peer().await;
    let channel = open_channel(properties(ms(30_000)), UdpChannelOptions::default(), address).await;
    let c = Arc::clone(&channel);
    let receiving = tokio::spawn(async move { c.receive_message(&mut empty()).await });
    tokio::time::sleep(ms(1000)).await;
    channel.abort();
    assert_eq!(receiving.await.unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
    assert_eq!(channel.state(), ChannelState::Faulted);
    assert_eq!(channel.receive_message(&mut empty()).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
}

#[tokio::test(start_paused = true)]
async fn abort_stops_the_retransmissions_of_a_send() {
    let (receiver, address) = peer().await;
    let params = RetransmitParams::new(ms(0), 5, ms(100), ms(100), ms(1000)).unwrap();
    let options = UdpChannelOptions { unicast_retransmit: params, ..UdpChannelOptions::default() };
    let channel = open_channel(ChannelProperties::default(), options, address).await;
    let c = Arc::clone(&channel);
    let sending = tokio::spawn(async move { c.send_message(&mut request()).await });
    tokio::time::sleep(ms(150)).await; // transmissions at 0 and 100 ms went
    channel.abort();
    assert_eq!(sending.await.unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
    assert_eq!(drain(&receiver, Duration::from_secs(3)).await.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn close_waits_for_a_pending_receive_then_closes() {
    let (peer, address) = peer().await;
    let channel = open_channel(properties(ms(30_000)), UdpChannelOptions::default(), address).await;
    let to = channel.local_address().unwrap();
    let c = Arc::clone(&channel);
    let receiving = tokio::spawn(async move { c.receive_message(&mut empty()).await });
    tokio::time::sleep(ms(100)).await;
    let c = Arc::clone(&channel);
    let start = Instant::now();
    let closing = tokio::spawn(async move { c.close().await });
    tokio::time::sleep(ms(900)).await;
    assert_eq!(channel.state(), ChannelState::Closing);
    peer.send_to(&envelope(Some("urn:uuid:in-time"), None, BODY), to).await.unwrap();
    assert!(receiving.await.unwrap().unwrap());
    closing.await.unwrap().unwrap();
    assert_eq!(Instant::now() - start, ms(900));
    assert_eq!(channel.state(), ChannelState::Closed);
    assert_eq!(channel.send_message(&mut request()).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
}

#[tokio::test(start_paused = true)]
async fn close_waits_for_the_retransmissions_of_a_send() {
    let (receiver, address) = peer().await;
    let params = RetransmitParams::new(ms(0), 4, ms(200), ms(200), ms(1000)).unwrap();
    let options = UdpChannelOptions { unicast_retransmit: params, ..UdpChannelOptions::default() };
    let channel = open_channel(ChannelProperties::default(), options, address).await;
    let c = Arc::clone(&channel);
    let start = Instant::now();
    let sending = tokio::spawn(async move { c.send_message(&mut request()).await });
    tokio::time::sleep(ms(10)).await;
    channel.close().await.unwrap();
    assert_eq!(Instant::now() - start, ms(1400), "0, 200, 600 and 1400 ms");
    sending.await.unwrap().unwrap();
    assert_eq!(drain(&receiver, Duration::from_secs(1)).await.len(), 4);
    assert_eq!(channel.state(), ChannelState::Closed);
}

#[tokio::test(start_paused = true)]
async fn close_is_bounded_by_the_close_timeout_and_the_channel_ends_closed() {
    let (_peer, address) = peer().await;
    let mut p = properties(ms(60_000));
    p.set_timeout(Timeout::Close, Some(ms(1000)));
    let channel = open_channel(p, UdpChannelOptions::default(), address).await;
    let c = Arc::clone(&channel);
    let receiving = tokio::spawn(async move { c.receive_message(&mut empty()).await });
    tokio::time::sleep(ms(10)).await;
    let start = Instant::now();
    let e = channel.close().await.unwrap_err();
    assert_eq!((e.kind(), Instant::now() - start), (ErrorKind::OperationTimedOut, ms(1000)));
    assert_eq!(channel.state(), ChannelState::Closed);
    assert_eq!(receiving.await.unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
}

#[tokio::test(start_paused = true)]
async fn dropping_an_open_channel_aborts_its_pending_calls() {
    let (_peer, address) = peer().await;
    let channel = open_channel(properties(ms(30_000)), UdpChannelOptions::default(), address).await;
    let weak = Arc::downgrade(&channel);
    let c = Arc::clone(&channel);
    let receiving = tokio::spawn(async move {
        let r = c.receive_message(&mut empty()).await;
        drop(c);
        r
    });
    tokio::time::sleep(ms(10)).await;
    channel.abort();
    drop(channel);
    assert_eq!(receiving.await.unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
    assert!(weak.upgrade().is_none());
}

// ---- listener and input channel, real sockets ----

async fn open_listener(url: &str) -> Arc<UdpListener> {
    let mut p = ListenerProperties::default();
    p.channel.set_timeout(Timeout::Receive, Some(Duration::from_secs(5)));
    let listener = Arc::new(UdpListener::new(p));
    listener.open(url).await.unwrap();
    listener
}

/// Accepts one message and echoes its body back with action `urn:test:pong`, returning the
/// request and the channel's view of the sender.
async fn echo_once(listener: &UdpListener) -> (Message, Option<SocketAddr>) {
    let channel = UdpInputChannel::new(listener);
    listener.accept_channel(&channel).await.unwrap();
    assert_eq!(channel.state(), ChannelState::Open);
    let mut request = channel.new_message();
    assert!(channel.receive_message(&mut request).await.unwrap());
    assert!(!channel.receive_message(&mut channel.new_message()).await.unwrap(), "one message per input channel");
    let mut reply = channel.new_message();
    reply.initialize_reply(&request, "urn:test:pong", request.body_xml().clone()).unwrap();
    channel.send_reply(&mut reply).await.unwrap();
    let mut again = channel.new_message();
    again.initialize_reply(&request, "urn:test:pong", "<x xmlns='urn:x'/>").unwrap();
    assert_eq!(channel.send_reply(&mut again).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    let remote = channel.remote_address();
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
    (request, remote)
}

#[tokio::test]
async fn call_is_answered_through_a_listener_and_an_input_channel() {
    let listener = open_listener("soap.udp://127.0.0.1:0/echo").await;
    let listening = listener.local_address().unwrap();
    assert_eq!(listener.url().unwrap(), format!("soap.udp://127.0.0.1:{}/echo", listening.port()));
    let l = Arc::clone(&listener);
    let service = tokio::spawn(async move { echo_once(&l).await });
    let channel = UdpChannel::new(properties(Duration::from_secs(5)));
    channel.open(&listener.url().unwrap()).await.unwrap();
    let reply = channel.call(ACTION, BODY).await.unwrap();
    assert_eq!(reply.action(), Some("urn:test:pong"));
    assert!(String::from_utf8_lossy(reply.body_xml()).contains("hi"));
    let (received, remote) = service.await.unwrap();
    assert_eq!(remote.map(|r| r.port()), channel.local_address().map(|l| l.port()));
    assert_eq!(received.addressing().to.as_deref(), Some(listener.url().unwrap().as_str()));
    assert_eq!(reply.addressing().to.as_deref(), AddressingVersion::V1_0.anonymous_uri());
    assert_eq!(listener.stats().sent, 2, "the reply goes on the unicast schedule");
    assert_eq!(channel.stats().sent, 1, "the reply came before the request's repeat was due");
    // A one-way message goes on its whole schedule; the listener delivers it once.
    let one_way = UdpInputChannel::new(&listener);
    let mut m = request();
    let (sent, accepted) = tokio::join!(channel.send_message(&mut m), listener.accept_channel(&one_way));
    sent.unwrap();
    accepted.unwrap();
    let extra = UdpInputChannel::new(&listener);
    let _ = tokio::time::timeout(Duration::from_millis(300), listener.accept_channel(&extra)).await;
    let s = listener.stats();
    assert_eq!((s.received, s.delivered, s.duplicates), (3, 2, 1), "{s:?}");
    channel.close().await.unwrap();
    listener.close().await.unwrap();
}

#[tokio::test]
async fn a_reply_goes_to_the_source_whatever_reply_to_says() {
    let listener = open_listener("soap.udp://127.0.0.1:0/").await;
    let (elsewhere, elsewhere_address) = peer().await;
    let l = Arc::clone(&listener);
    let service = tokio::spawn(async move { echo_once(&l).await });
    let channel = UdpChannel::new(properties(Duration::from_secs(5)));
    channel.open(&listener.url().unwrap()).await.unwrap();
    let mut request = request();
    request.addressing_mut().reply_to = Some(EndpointReference::new(url(elsewhere_address)));
    request.addressing_mut().fault_to = Some(EndpointReference::new(url(elsewhere_address)));
    let mut reply = empty();
    let from = channel.request_reply(&mut request, &mut reply).await.unwrap();
    assert_eq!(from, listener.local_address().unwrap());
    let (received, _) = service.await.unwrap();
    assert!(received.addressing().reply_to.is_some());
    assert!(drain(&elsewhere, Duration::from_millis(500)).await.is_empty(), "nothing went to the ReplyTo address");
}

#[tokio::test]
async fn must_understand_is_checked_and_answered_with_a_fault() {
    let listener = open_listener("soap.udp://127.0.0.1:0/").await;
    let l = Arc::clone(&listener);
    let service = tokio::spawn(async move {
        let channel = UdpInputChannel::new(&l);
        l.accept_channel(&channel).await.unwrap();
        let mut request = channel.new_message();
        let e = channel.receive_message(&mut request).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidFormat);
        channel.send_fault_for_error(None, &e).await.unwrap();
        channel.close().await.unwrap();
    });
    let channel = UdpChannel::new(properties(Duration::from_secs(5)));
    channel.open(&listener.url().unwrap()).await.unwrap();
    let mut request = request();
    request.add_header(Header::text(QName::new("urn:x", "Critical"), "1", true, EnvelopeVersion::Soap12));
    let mut reply = empty();
    let e = channel.request_reply(&mut request, &mut reply).await.unwrap_err();
    // The fault is related to the request although receiving it failed: the channel knows
    // the accepted message's MessageID.
    assert_eq!(e.kind(), ErrorKind::EndpointFaultReceived);
    assert_eq!(e.fault().map(|f| f.code.clone()), Some(FaultCode::MustUnderstand));
    service.await.unwrap();
}

#[tokio::test]
async fn listener_abort_and_close_end_pending_accepts() {
    let listener = open_listener("soap.udp://127.0.0.1:0/").await;
    let l = Arc::clone(&listener);
    let pending = tokio::spawn(async move {
        let channel = UdpInputChannel::new(&l);
        let r = l.accept_channel(&channel).await;
        (r, channel.state())
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    listener.abort();
    let (r, state) = pending.await.unwrap();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationAborted);
    assert_eq!(state, ChannelState::Faulted);
    assert_eq!(listener.state(), ListenerState::Faulted);
    let late = UdpInputChannel::new(&listener);
    assert_eq!(listener.accept_channel(&late).await.unwrap_err().kind(), ErrorKind::ObjectFaulted);
    listener.close().await.unwrap();
    listener.reset().unwrap();
    listener.open("soap.udp://127.0.0.1:0/").await.unwrap();
    let l = Arc::clone(&listener);
    let pending = tokio::spawn(async move { l.accept_channel(&UdpInputChannel::new(&l)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    listener.close().await.unwrap();
    assert_eq!(pending.await.unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
    assert_eq!(listener.state(), ListenerState::Closed);
}

#[tokio::test]
async fn a_taken_port_is_address_in_use() {
    let first = open_listener("soap.udp://127.0.0.1:0/").await;
    let port = first.local_address().unwrap().port();
    let second = UdpListener::new(ListenerProperties::default());
    let e = second.open(&format!("soap.udp://127.0.0.1:{port}/")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddressInUse);
    assert_eq!(second.state(), ListenerState::Created);
}

#[tokio::test]
async fn a_wildcard_listener_answers_ipv4_and_ipv6_senders() {
    let listener = open_listener("soap.udp://+:0/").await;
    let port = listener.local_address().unwrap().port();
    let mut targets = vec![format!("soap.udp://127.0.0.1:{port}/")];
    if std::net::UdpSocket::bind("[::1]:0").is_ok() {
        targets.push(format!("soap.udp://[::1]:{port}/"));
    }
    for target in targets {
        let l = Arc::clone(&listener);
        let service = tokio::spawn(async move { echo_once(&l).await });
        let channel = UdpChannel::new(properties(Duration::from_secs(5)));
        channel.open(&target).await.unwrap();
        let reply = channel.call(ACTION, BODY).await.unwrap();
        assert_eq!(reply.action(), Some("urn:test:pong"));
        let (_, remote) = service.await.unwrap();
        let remote = remote.unwrap();
        assert_eq!(Some(remote), channel.local_address().map(|a| SocketAddr::new(remote.ip(), a.port())));
        assert_eq!(remote.is_ipv4(), target.contains("127.0.0.1"), "{remote} for {target}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_reply_goes_to_the_source_on_the_listeners_reply_schedule() {
    let params = RetransmitParams::new(ms(0), 3, ms(50), ms(250), ms(1000)).unwrap();
    let options = UdpListenerOptions { reply_retransmit: params, ..UdpListenerOptions::default() };
    let listener = UdpListener::with_options(ListenerProperties::default(), options);
    listener.open("soap.udp://127.0.0.1:0/").await.unwrap();
    let (client, client_address) = peer().await;
    client.send_to(&envelope(Some("urn:uuid:q"), None, BODY), listener.local_address().unwrap()).await.unwrap();
    let channel = UdpInputChannel::new(&listener);
    listener.accept_channel(&channel).await.unwrap();
    channel.set_rng(Box::new(|| 30)); // T = 50 + 30 ms
    assert_eq!(channel.remote_address(), Some(client_address));
    let mut request = channel.new_message();
    channel.receive_message(&mut request).await.unwrap();
    let mut reply = channel.new_message();
    reply.initialize_blank("<t:pong xmlns:t='urn:test'/>").unwrap();
    let start = Instant::now();
    let recording = tokio::spawn(async move { drain(&client, Duration::from_secs(2)).await });
    channel.send_reply(&mut reply).await.unwrap();
    let got = recording.await.unwrap();
    let offsets: Vec<Duration> = got.iter().map(|(_, _, at)| *at - start).collect();
    assert_eq!(offsets, [ms(0), ms(80), ms(240)]);
    assert!(got.iter().all(|(bytes, from, _)| *bytes == got[0].0 && Some(*from) == listener.local_address()));
    let text = String::from_utf8_lossy(&got[0].0).into_owned();
    assert!(text.contains("RelatesTo") && text.contains("urn:uuid:q"), "RelatesTo filled in: {text}");
    assert_eq!(reply.addressing().to.as_deref(), AddressingVersion::V1_0.anonymous_uri());
    channel.close().await.unwrap();
    listener.close().await.unwrap();
}

#[test]
fn a_multicast_listener_without_loopback_drops_what_this_host_sent() {
    let intake = Intake::new(&ChannelProperties::default());
    let own = SocketAddr::from((Ipv4Addr::LOCALHOST, 5000));
    let other = SocketAddr::from(([198, 18, 0, 9], 5000));
    intake.set_local_sources(Some(vec![own.ip()]));
    assert!(intake.accept(&envelope(Some("urn:uuid:a"), None, BODY), own).is_none());
    assert!(intake.accept(&envelope(Some("urn:uuid:b"), None, BODY), other).is_some());
    // An IPv4 sender seen through a dual-stack socket is recognised too.
    let mapped = SocketAddr::from((Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 5000));
    assert!(intake.accept(&envelope(Some("urn:uuid:c"), None, BODY), mapped).is_none());
    assert_eq!(intake.stats().looped_back, 2);
}

#[tokio::test]
async fn a_listener_takes_one_envelope_version_unless_told_to_take_both() {
    let soap11 = |id: &str| {
        let mut m = Message::new(EnvelopeVersion::Soap11, AddressingVersion::V1_0);
        m.initialize_request(ACTION, BODY).unwrap();
        m.addressing_mut().message_id = Some(id.to_owned());
        m.encode()
    };
    let strict = open_listener("soap.udp://127.0.0.1:0/").await;
    let (client, _) = peer().await;
    client.send_to(&soap11("urn:uuid:v11"), strict.local_address().unwrap()).await.unwrap();
    let channel = UdpInputChannel::new(&strict);
    let r = tokio::time::timeout(Duration::from_millis(300), strict.accept_channel(&channel)).await;
    assert!(r.is_err(), "a SOAP 1.1 datagram is dropped by a SOAP 1.2 listener");
    assert_eq!(strict.stats().malformed, 1);

    let both = UdpListener::new(ListenerProperties { any_envelope_version: true, ..ListenerProperties::default() });
    both.open("soap.udp://127.0.0.1:0/").await.unwrap();
    client.send_to(&soap11("urn:uuid:v11"), both.local_address().unwrap()).await.unwrap();
    let channel = UdpInputChannel::new(&both);
    both.accept_channel(&channel).await.unwrap();
    let mut request = channel.new_message();
    assert_eq!(request.envelope_version(), EnvelopeVersion::Soap11);
    channel.receive_message(&mut request).await.unwrap();
    let mut reply = channel.new_message();
    reply.initialize_reply(&request, "urn:test:pong", "<t:pong xmlns:t='urn:test'/>").unwrap();
    channel.send_reply(&mut reply).await.unwrap();
    let answers = drain(&client, Duration::from_millis(400)).await;
    assert!(String::from_utf8_lossy(&answers[0].0).contains("http://schemas.xmlsoap.org/soap/envelope/"));
}
