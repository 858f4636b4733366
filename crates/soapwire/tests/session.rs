//! The session bindings (net.tcp and Unix sockets) on real sockets: request/reply in every
//! encoding, concurrent send and receive, `shutdown_session` / `WS_S_END`, and
//! `WsCloseChannel` as the seed page documents it for sessions, with the bytes each side
//! sees checked by a raw peer that speaks [MC-NMF] by hand. The listener's preamble rules
//! (faults for a wrong path, encoding, upgrade, a preamble that never ends) are checked the
//! same way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use soapwire::session::{SessionChannel, SessionListener};
use soapwire::{ChannelProperties, ChannelState, ErrorKind, ListenerProperties, MessageEncoding, Timeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BODY: &str = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#;
const ACTION: &str = "http://example.org/echo/echo";

fn properties(encoding: MessageEncoding) -> ChannelProperties {
    let mut p = ChannelProperties::session();
    p.encoding = encoding;
    p.set_all_timeouts(Some(Duration::from_secs(5)));
    p
}

fn listener_properties(encoding: MessageEncoding) -> ListenerProperties {
    ListenerProperties { channel: properties(encoding), connect_timeout: Duration::from_secs(2), ..Default::default() }
}

/// The echo server of `common` on `url` with this file's listener properties.
async fn echo_server(url: &str, encoding: MessageEncoding) -> (Arc<SessionListener>, String) {
    common::echo_sessions(listener_properties(encoding), url).await
}

async fn round_trips(url: &str, encoding: MessageEncoding) {
    let channel = SessionChannel::new(properties(encoding));
    channel.open(url).await.unwrap();
    assert_eq!(channel.state(), ChannelState::Open);
    for i in 0..5 {
        let body =
            format!(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi {i} &amp; &lt;</e:message></e:echo>"#);
        let reply = channel.call(ACTION, body.clone()).await.unwrap();
        assert_eq!(reply.action(), Some("urn:echoed"));
        let text = String::from_utf8(reply.body_xml_standalone()).unwrap();
        assert!(text.contains(&format!("hi {i} &amp; &lt;")), "{encoding:?}: {text}");
    }
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
}

#[tokio::test]
async fn net_tcp_request_reply_in_every_encoding() {
    for encoding in [MessageEncoding::BinarySession, MessageEncoding::Binary, MessageEncoding::TextUtf8] {
        let (listener, url) = echo_server("net.tcp://127.0.0.1:0/echo", encoding).await;
        round_trips(&url, encoding).await;
        listener.close().await.unwrap();
    }
}

#[tokio::test]
async fn unix_socket_sessions_work_like_net_tcp() {
    let dir = std::env::temp_dir().join(format!("soapwire-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("net.unix://{}/echo.sock", dir.display());
    let (listener, real) = echo_server(&url, MessageEncoding::BinarySession).await;
    assert_eq!(real, url);
    round_trips(&url, MessageEncoding::BinarySession).await;
    listener.close().await.unwrap();
    assert!(!dir.join("echo.sock").exists(), "close removes the socket file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn send_and_receive_run_concurrently_on_one_session() {
    let (listener, url) = echo_server("net.tcp://127.0.0.1:0/echo", MessageEncoding::BinarySession).await;
    let channel = Arc::new(SessionChannel::new(properties(MessageEncoding::BinarySession)));
    channel.open(&url).await.unwrap();
    const N: usize = 50;
    let receiver = {
        let channel = channel.clone();
        tokio::spawn(async move {
            let mut got = 0;
            for _ in 0..N {
                let mut m = channel.new_message();
                assert!(channel.receive_message(&mut m).await.unwrap());
                got += 1;
            }
            got
        })
    };
    for i in 0..N {
        let mut m = channel.new_message();
        m.initialize_request(ACTION, format!("<n>{i}</n>")).unwrap();
        channel.send_message(&mut m).await.unwrap();
    }
    assert_eq!(receiver.await.unwrap(), N);
    channel.close().await.unwrap();
    listener.close().await.unwrap();
}

#[tokio::test]
async fn shutdown_session_makes_the_peer_receive_ws_s_end_and_replies_still_arrive() {
    let listener = Arc::new(SessionListener::new(listener_properties(MessageEncoding::BinarySession)));
    listener.open("net.tcp://127.0.0.1:0/s").await.unwrap();
    let url = listener.url().unwrap();
    let server = {
        let listener = listener.clone();
        tokio::spawn(async move {
            let channel = SessionChannel::for_listener(&listener);
            listener.accept_channel(&channel).await.unwrap();
            let mut request = channel.new_message();
            assert!(channel.receive_message(&mut request).await.unwrap());
            // The client shut its side down: the next receive is WS_S_END, and again after.
            let mut next = channel.new_message();
            assert!(!channel.receive_message(&mut next).await.unwrap());
            let mut again = channel.new_message();
            assert!(!channel.receive_message(&mut again).await.unwrap());
            assert!(channel.peer_ended());
            // This side can still send.
            let mut reply = channel.new_message();
            reply.initialize_reply(&request, "urn:late", "<late/>").unwrap();
            channel.send_message(&mut reply).await.unwrap();
            channel.close().await.unwrap();
        })
    };
    let channel = SessionChannel::new(properties(MessageEncoding::BinarySession));
    channel.open(&url).await.unwrap();
    let mut request = channel.new_message();
    request.initialize_request(ACTION, BODY).unwrap();
    channel.send_message(&mut request).await.unwrap();
    channel.shutdown_session().await.unwrap();
    let e = channel.shutdown_session().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOperation, "a second shutdown");
    let mut more = channel.new_message();
    more.initialize_request(ACTION, BODY).unwrap();
    assert_eq!(channel.send_message(&mut more).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    let mut reply = channel.new_message();
    assert!(channel.receive_message(&mut reply).await.unwrap());
    assert_eq!(reply.action(), Some("urn:late"));
    let mut end = channel.new_message();
    assert!(!channel.receive_message(&mut end).await.unwrap(), "the server's close sent End");
    channel.close().await.unwrap();
    server.await.unwrap();
    listener.close().await.unwrap();
}

// -------------------------------------------------------------------------------------------
// A raw [MC-NMF] responder: the bytes the client sends, answered by hand.

/// Which socket a raw-peer test runs on: every close rule is checked on both.
#[derive(Clone, Copy, Debug)]
enum Transport {
    Tcp,
    Unix,
}

trait RawStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> RawStream for T {}

/// A raw [MC-NMF] responder's listening socket.
enum RawListener {
    Tcp(TcpListener),
    Unix(tokio::net::UnixListener, std::path::PathBuf),
}

impl Drop for RawListener {
    fn drop(&mut self) {
        if let RawListener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

static NEXT_SOCKET: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Binds a raw responder and returns it with the URL a channel opens.
async fn raw_listen(transport: Transport) -> (RawListener, String) {
    match transport {
        Transport::Tcp => {
            let raw = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("net.tcp://127.0.0.1:{}/svc", raw.local_addr().unwrap().port());
            (RawListener::Tcp(raw), url)
        }
        Transport::Unix => {
            let n = NEXT_SOCKET.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("soapwire-raw-{}-{n}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let raw = tokio::net::UnixListener::bind(&path).unwrap();
            let url = format!("net.unix://{}", path.display());
            (RawListener::Unix(raw, path), url)
        }
    }
}

/// Accepts one connection, reads the initiator's preamble up to PreambleEnd (0x0C) and
/// acknowledges it (0x0B). Returns the socket and the preamble bytes.
async fn raw_accept(listener: &RawListener) -> (Box<dyn RawStream>, Vec<u8>) {
    let mut s: Box<dyn RawStream> = match listener {
        RawListener::Tcp(l) => Box::new(l.accept().await.unwrap().0),
        RawListener::Unix(l, _) => Box::new(l.accept().await.unwrap().0),
    };
    let mut preamble = Vec::new();
    let mut b = [0u8; 1];
    // Version(3) Mode(2) Via(1 + len + n) KnownEncoding(2) PreambleEnd(1): read byte by byte
    // until the PreambleEnd that follows the encoding record.
    loop {
        s.read_exact(&mut b).await.unwrap();
        preamble.push(b[0]);
        if preamble.len() >= 3 + 2 + 2 && b[0] == 0x0C && preamble[preamble.len() - 3] == 0x03 {
            break;
        }
    }
    s.write_all(&[0x0B]).await.unwrap();
    (s, preamble)
}

/// Opens a text-encoded channel to a raw responder; returns the channel and the peer's socket.
async fn open_to_raw(
    transport: Transport,
    properties: ChannelProperties,
) -> (Arc<SessionChannel>, Box<dyn RawStream>, RawListener) {
    let (raw, url) = raw_listen(transport).await;
    let channel = Arc::new(SessionChannel::new(properties));
    let opening = tokio::spawn({
        let channel = channel.clone();
        async move { channel.open(&url).await }
    });
    let (s, _) = raw_accept(&raw).await;
    opening.await.unwrap().unwrap();
    (channel, s, raw)
}

/// Asserts how the connection ended for the peer after a rude close or an abort: a TCP reset
/// (so the peer can tell it from a graceful end), or on a Unix socket, which has no reset,
/// the end of the stream with no End record before it.
async fn assert_ended_rudely(s: &mut Box<dyn RawStream>, transport: Transport) {
    let mut buf = [0u8; 8];
    let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap();
    match transport {
        Transport::Tcp => {
            assert!(matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset), "expected a reset: {r:?}")
        }
        Transport::Unix => assert!(matches!(r, Ok(0)), "expected the end of the stream, no End record: {r:?}"),
    }
}

fn text_properties() -> ChannelProperties {
    properties(MessageEncoding::TextUtf8)
}

#[tokio::test]
async fn the_initiator_preamble_is_version_duplex_via_encoding_end() {
    for transport in [Transport::Tcp, Transport::Unix] {
        let (raw, url) = raw_listen(transport).await;
        let client = tokio::spawn({
            let url = url.clone();
            async move {
                let channel = SessionChannel::new(ChannelProperties::session());
                channel.open(&url).await.unwrap();
                channel.abort();
            }
        });
        let (_s, preamble) = raw_accept(&raw).await;
        let mut expected = vec![0x00, 0x01, 0x00, 0x01, 0x02, 0x02, url.len() as u8];
        expected.extend_from_slice(url.as_bytes());
        expected.extend_from_slice(&[0x03, 0x08, 0x0C]);
        assert_eq!(preamble, expected, "{transport:?}");
        client.await.unwrap();
    }
}

async fn graceful_close_case(transport: Transport) {
    let (channel, mut s, _raw) = open_to_raw(transport, text_properties()).await;
    let closing = tokio::spawn({
        let channel = channel.clone();
        async move { channel.close().await }
    });
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
    assert_eq!(b[0], 0x07, "the End record comes first");
    // close waits for our End record: nothing else arrives meanwhile.
    let early = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await;
    assert!(early.is_err(), "close sent FIN before the peer's End record");
    assert!(!closing.is_finished());
    s.write_all(&[0x07]).await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut b)).await.unwrap().unwrap();
    assert_eq!(n, 0, "then FIN");
    closing.await.unwrap().unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
}

#[tokio::test]
async fn graceful_close_sends_end_waits_for_the_peers_end_then_fin() {
    graceful_close_case(Transport::Tcp).await;
}

#[tokio::test]
async fn graceful_close_on_a_unix_socket_sends_end_waits_for_the_peers_end_then_eof() {
    graceful_close_case(Transport::Unix).await;
}

async fn close_timeout_case(transport: Transport) {
    let mut p = text_properties();
    p.set_timeout(Timeout::Close, Some(Duration::from_millis(300)));
    let (channel, mut s, _raw) = open_to_raw(transport, p).await;
    let started = Instant::now();
    let e = channel.close().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationTimedOut);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(channel.state(), ChannelState::Closed);
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
    assert_eq!(b[0], 0x07, "the End record went out");
    assert_ended_rudely(&mut s, transport).await;
}

#[tokio::test]
async fn close_times_out_when_the_peer_never_sends_end_and_resets_the_connection() {
    close_timeout_case(Transport::Tcp).await;
}

#[tokio::test]
async fn close_on_a_unix_socket_times_out_when_the_peer_never_sends_end() {
    close_timeout_case(Transport::Unix).await;
}

async fn abort_pending_receive_case(transport: Transport) {
    let (channel, mut s, _raw) = open_to_raw(transport, text_properties()).await;
    let receiving = tokio::spawn({
        let channel = channel.clone();
        async move {
            let mut m = channel.new_message();
            channel.receive_message(&mut m).await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    channel.abort();
    let e = receiving.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationAborted);
    assert_eq!(channel.state(), ChannelState::Faulted);
    assert_ended_rudely(&mut s, transport).await;
    // Closing a faulted channel is rude and succeeds.
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
}

#[tokio::test]
async fn abort_ends_a_pending_receive_with_operation_aborted_and_resets_the_connection() {
    abort_pending_receive_case(Transport::Tcp).await;
}

#[tokio::test]
async fn abort_on_a_unix_socket_ends_a_pending_receive_with_operation_aborted() {
    abort_pending_receive_case(Transport::Unix).await;
}

async fn close_waits_case(transport: Transport) {
    let (channel, mut s, _raw) = open_to_raw(transport, text_properties()).await;
    let receiving = tokio::spawn({
        let channel = channel.clone();
        async move {
            let mut m = channel.new_message();
            channel.receive_message(&mut m).await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let closing = tokio::spawn({
        let channel = channel.clone();
        async move { channel.close().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!closing.is_finished(), "close waits for the pending receive");
    let mut b = [0u8; 1];
    assert!(tokio::time::timeout(Duration::from_millis(100), s.read(&mut b)).await.is_err(), "no End yet");
    // The peer ends its side: the receive completes with WS_S_END, then close proceeds.
    s.write_all(&[0x07]).await.unwrap();
    assert!(!receiving.await.unwrap().unwrap());
    s.read_exact(&mut b).await.unwrap();
    assert_eq!(b[0], 0x07);
    closing.await.unwrap().unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
}

#[tokio::test]
async fn close_waits_for_a_pending_receive_before_shutting_down() {
    close_waits_case(Transport::Tcp).await;
}

#[tokio::test]
async fn close_on_a_unix_socket_waits_for_a_pending_receive() {
    close_waits_case(Transport::Unix).await;
}

async fn abort_during_close_case(transport: Transport) {
    let (channel, mut s, _raw) = open_to_raw(transport, text_properties()).await;
    let closing = tokio::spawn({
        let channel = channel.clone();
        async move { channel.close().await }
    });
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
    assert_eq!(b[0], 0x07);
    channel.abort();
    let e = closing.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationAborted);
    assert_eq!(channel.state(), ChannelState::Closed);
    assert_ended_rudely(&mut s, transport).await;
}

#[tokio::test]
async fn abort_during_the_close_handshake_makes_close_return_operation_aborted() {
    abort_during_close_case(Transport::Tcp).await;
}

#[tokio::test]
async fn abort_during_the_close_handshake_on_a_unix_socket_makes_close_return_operation_aborted() {
    abort_during_close_case(Transport::Unix).await;
}

#[tokio::test]
async fn a_framing_fault_from_the_server_fails_open_with_its_error() {
    let raw = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("net.tcp://127.0.0.1:{}/svc", raw.local_addr().unwrap().port());
    let server = tokio::spawn(async move {
        let (mut s, _) = raw.accept().await.unwrap();
        let mut b = [0u8; 256];
        let _ = s.read(&mut b).await;
        let fault = b"http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointNotFound";
        let mut out = vec![0x08, fault.len() as u8];
        out.extend_from_slice(fault);
        s.write_all(&out).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    let channel = SessionChannel::new(text_properties());
    let e = channel.open(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EndpointNotFound);
    server.await.unwrap();
}

// -------------------------------------------------------------------------------------------
// The listener's preamble rules, seen from a raw initiator.

fn preamble(via: &str, encoding: u8) -> Vec<u8> {
    let mut p = vec![0x00, 0x01, 0x00, 0x01, 0x02, 0x02, via.len() as u8];
    p.extend_from_slice(via.as_bytes());
    p.extend_from_slice(&[0x03, encoding, 0x0C]);
    p
}

/// Sends `bytes` and returns everything the listener answers until it closes.
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

fn fault_record(name: &str) -> Vec<u8> {
    let uri = format!("http://schemas.microsoft.com/ws/2006/05/framing/faults/{name}");
    let mut out = vec![0x08, uri.len() as u8];
    out.extend_from_slice(uri.as_bytes());
    out
}

#[tokio::test]
async fn listener_answers_preamble_errors_with_the_documented_faults() {
    let (listener, url) = echo_server("net.tcp://127.0.0.1:0/svc", MessageEncoding::BinarySession).await;
    let addr = listener.local_addr().unwrap();
    let base = format!("net.tcp://127.0.0.1:{}", addr.port());
    // Wrong path.
    let got = raw_exchange(addr, &preamble(&format!("{base}/other"), 0x08)).await;
    assert_eq!(got, fault_record("EndpointNotFound"));
    // Wrong encoding (text SOAP 1.2 on a binary-session listener).
    let got = raw_exchange(addr, &preamble(&format!("{base}/svc"), 0x03)).await;
    assert_eq!(got, fault_record("ContentTypeInvalid"));
    // An upgrade request (security) instead of PreambleEnd.
    let mut upgrade = preamble(&format!("{base}/svc"), 0x08);
    upgrade.pop();
    let proto = b"application/negotiate";
    upgrade.push(0x09);
    upgrade.push(proto.len() as u8);
    upgrade.extend_from_slice(proto);
    let got = raw_exchange(addr, &upgrade).await;
    assert_eq!(got, fault_record("UpgradeInvalid"));
    // Simplex mode.
    let mut simplex = preamble(&format!("{base}/svc"), 0x08);
    simplex[4] = 0x03;
    let got = raw_exchange(addr, &simplex).await;
    assert_eq!(got, fault_record("UnsupportedMode"));
    // A sub-path of the listener's path is served.
    let got = raw_exchange(addr, &[preamble(&format!("{base}/svc/x"), 0x08), vec![0x07]].concat()).await;
    assert_eq!(&got[..1], &[0x0B], "preamble ack for a sub-path: {got:?}");
    // And the listener still serves real clients.
    round_trips(&url, MessageEncoding::BinarySession).await;
    listener.close().await.unwrap();
}

#[tokio::test]
async fn a_preamble_that_never_ends_is_dropped_after_the_listener_connect_timeout() {
    let (listener, url) = echo_server("net.tcp://127.0.0.1:0/svc", MessageEncoding::BinarySession).await;
    let addr = listener.local_addr().unwrap();
    let started = Instant::now();
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(&[0x00, 0x01, 0x00]).await.unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    // Others are served meanwhile.
    round_trips(&url, MessageEncoding::BinarySession).await;
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut buf)).await.unwrap();
    assert!(n.is_ok() || n.is_err());
    assert!(started.elapsed() >= Duration::from_secs(2), "dropped only after the 2 s connect timeout");
    let _ = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buf)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(listener.connection_count(), 0, "no connection is held after the timeout");
    listener.close().await.unwrap();
}

#[tokio::test]
async fn an_oversized_envelope_gets_the_max_message_size_fault_and_faults_the_channel() {
    let listener = Arc::new(SessionListener::new(listener_properties(MessageEncoding::TextUtf8)));
    listener.open("net.tcp://127.0.0.1:0/svc").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = {
        let listener = listener.clone();
        tokio::spawn(async move {
            let channel = SessionChannel::for_listener(&listener);
            listener.accept_channel(&channel).await.unwrap();
            let mut m = channel.new_message();
            let e = channel.receive_message(&mut m).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
            assert_eq!(channel.state(), ChannelState::Faulted);
            channel.close().await.unwrap();
        })
    };
    let via = format!("net.tcp://127.0.0.1:{}/svc", addr.port());
    // SizedEnvelope with a length of 1 MiB (MultiByteInt31 0x80 0x80 0x40), far past 64 KiB.
    let bytes = [preamble(&via, 0x03), vec![0x06, 0x80, 0x80, 0x40]].concat();
    let got = raw_exchange(addr, &bytes).await;
    assert_eq!(&got[..1], &[0x0B]);
    assert_eq!(&got[1..], &fault_record("MaxMessageSizeExceededFault")[..]);
    server.await.unwrap();
    listener.close().await.unwrap();
}

#[tokio::test]
async fn sending_a_message_over_the_buffered_quota_is_quota_exceeded_and_nothing_is_sent() {
    let (listener, url) = echo_server("net.tcp://127.0.0.1:0/echo", MessageEncoding::BinarySession).await;
    let mut p = properties(MessageEncoding::BinarySession);
    p.max_buffered_message_size = 4096;
    let channel = SessionChannel::new(p);
    channel.open(&url).await.unwrap();
    let big = format!("<e:x xmlns:e=\"urn:x\">{}</e:x>", "y".repeat(10_000));
    let e = channel.call(ACTION, big).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
    // The session is still in step (nothing was sent) only for stateless encodings; with a
    // session dictionary the channel may fault. Either way close succeeds.
    let _ = channel.close().await;
    listener.close().await.unwrap();
}

/// What a hostile initiator sends after a good binary-session preamble, and the error the
/// server's receive must report.
fn hostile_cases() -> Vec<(&'static str, Vec<u8>, ErrorKind)> {
    let sized = |payload: Vec<u8>| {
        let mut out = vec![0x06];
        let mut n = payload.len();
        loop {
            let b = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(&payload);
        out
    };
    let mut big_table = vec![0xB8, 0x17, 0xB5, 0x17]; // StringTable of 3000 bytes: one 2997-byte string
    big_table.extend(std::iter::repeat_n(b'x', 2997));
    big_table.extend_from_slice(&[0x56, 0x02, 0x01]);
    vec![
        ("an unknown record type", vec![0x55], ErrorKind::InvalidFormat),
        ("a truncated envelope, then FIN", vec![0x06, 0x10, 0x01, 0x02, 0x03], ErrorKind::InvalidFormat),
        // Empty StringTable, then <s:{session string 3}>: never defined.
        ("an undefined session dictionary id", sized(vec![0x00, 0x56, 0x07, 0x01]), ErrorKind::InvalidFormat),
        // Empty StringTable, then <s:{static id 0x3FFE}>: past the static dictionary.
        ("a static dictionary id out of range", sized(vec![0x00, 0x56, 0xFE, 0x7F, 0x01]), ErrorKind::InvalidFormat),
        ("a StringTable past max_session_dictionary_size", sized(big_table), ErrorKind::QuotaExceeded),
        ("an envelope length past the quota", vec![0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0x07], ErrorKind::QuotaExceeded),
        ("a second preamble mid-session", vec![0x00, 0x01, 0x00], ErrorKind::InvalidFormat),
    ]
}

#[tokio::test]
async fn hostile_records_after_the_preamble_fault_the_session_with_a_clear_error_and_the_listener_serves_on() {
    let listener = Arc::new(SessionListener::new(listener_properties(MessageEncoding::BinarySession)));
    listener.open("net.tcp://127.0.0.1:0/svc").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = listener.url().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    {
        let listener = listener.clone();
        tokio::spawn(async move {
            loop {
                let channel = SessionChannel::for_listener(&listener);
                if listener.accept_channel(&channel).await.is_err() {
                    return;
                }
                let tx = tx.clone();
                tokio::spawn(async move {
                    loop {
                        let mut m = channel.new_message();
                        match channel.receive_message(&mut m).await {
                            Ok(true) => {
                                let mut reply = channel.new_message();
                                reply.initialize_reply(&m, "urn:echoed", m.body_xml().clone()).unwrap();
                                channel.send_message(&mut reply).await.unwrap();
                            }
                            Ok(false) => {
                                let _ = tx.send(None);
                                break;
                            }
                            Err(e) => {
                                let _ = tx.send(Some((e.kind(), channel.state())));
                                break;
                            }
                        }
                    }
                    let _ = channel.close().await;
                });
            }
        });
    }
    for (what, bytes, expected) in hostile_cases() {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&[preamble(&url, 0x08), bytes].concat()).await.unwrap();
        if what.contains("truncated") {
            s.shutdown().await.unwrap();
        }
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect(what).unwrap();
        assert_eq!(got, Some((expected, ChannelState::Faulted)), "{what}");
        // The connection is dropped: the initiator reads the ack, maybe a fault record, then
        // the end of the stream (or a reset).
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await.expect(what);
        assert_eq!(rest.first(), Some(&0x0B), "{what}: {rest:?}");
        // Others are still served.
        round_trips(&url, MessageEncoding::BinarySession).await;
        assert_eq!(rx.recv().await.unwrap(), None, "the good session ended with WS_S_END");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(listener.connection_count(), 0, "every connection was released");
    listener.close().await.unwrap();
}

#[tokio::test]
async fn close_is_refused_unless_the_session_is_open_or_faulted() {
    // Seed sentence 1: close is allowed only in Open or Faulted.
    let channel = SessionChannel::new(text_properties());
    assert_eq!(channel.close().await.unwrap_err().kind(), ErrorKind::InvalidOperation, "Created");
    let (channel, mut s, _raw) = open_to_raw(Transport::Tcp, text_properties()).await;
    let closing = tokio::spawn({
        let channel = channel.clone();
        async move { channel.close().await }
    });
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
    s.write_all(&[0x07]).await.unwrap();
    closing.await.unwrap().unwrap();
    assert_eq!(channel.close().await.unwrap_err().kind(), ErrorKind::InvalidOperation, "Closed");
    let mut m = channel.new_message();
    assert_eq!(channel.receive_message(&mut m).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    // reset makes it usable again.
    channel.reset().unwrap();
    assert_eq!(channel.state(), ChannelState::Created);
}

#[tokio::test]
async fn open_times_out_when_the_server_never_acknowledges_the_preamble() {
    let raw = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("net.tcp://127.0.0.1:{}/svc", raw.local_addr().unwrap().port());
    let holder = tokio::spawn(async move {
        // Accepts and reads, never answers.
        let (mut s, _) = raw.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
        sink
    });
    let mut p = text_properties();
    p.set_timeout(Timeout::Connect, Some(Duration::from_millis(300)));
    let channel = SessionChannel::new(p);
    let started = Instant::now();
    let e = channel.open(&url).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationTimedOut);
    assert!(started.elapsed() >= Duration::from_millis(300) && started.elapsed() < Duration::from_secs(3));
    assert_eq!(channel.state(), ChannelState::Faulted);
    drop(channel);
    let seen = tokio::time::timeout(Duration::from_secs(5), holder).await.unwrap().unwrap();
    assert_eq!(seen.last(), Some(&0x0C), "the server saw the whole preamble");
}

#[tokio::test]
async fn a_session_costs_one_descriptor_per_side() {
    fn fds() -> usize {
        std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
    }
    let (listener, url) = echo_server("net.tcp://127.0.0.1:0/fd", MessageEncoding::BinarySession).await;
    let before = fds();
    let mut channels = Vec::new();
    for _ in 0..20 {
        let channel = SessionChannel::new(properties(MessageEncoding::BinarySession));
        channel.open(&url).await.unwrap();
        channel.call(ACTION, BODY).await.unwrap();
        channels.push(channel);
    }
    // Client and server sides live in this process: two sockets per session, nothing more
    // (other tests running in parallel may hold a few).
    let grown = fds() - before;
    assert!((40..70).contains(&grown), "20 sessions opened {grown} descriptors (80 would be two per side)");
    for channel in &channels {
        channel.close().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(fds() <= before + 20, "closed sessions leave descriptors behind: {} > {before}", fds());
    listener.close().await.unwrap();
}
