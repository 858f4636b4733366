#![allow(clippy::unwrap_used)]
//! The HTTP binding's documented behaviour (spec §1.3, §1.9, §1.11, §1.15), one test per
//! behaviour, on loopback sockets only. Where the exact behaviour of the peer matters, the
//! peer is a raw TCP fake that reads and writes bytes by hand; otherwise it is a real
//! [`Listener`] with [`ReplyChannel`]s. Every wait that could hang is bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use soapwire::{
    AddressingVersion, ChannelProperties, ChannelState, EnvelopeVersion, ErrorKind, FaultCode, Listener,
    ListenerProperties, ListenerState, Message, MessageState, QName, ReaderQuotas, ReplyChannel, RequestChannel,
    Timeout,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

const ACTION: &str = "http://example.org/echo/echo";
const BODY: &str = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#;
const REPLY_BODY: &str =
    r#"<e:echoResponse xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echoResponse>"#;
const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const WSA10: &str = "http://www.w3.org/2005/08/addressing";
const WSA0408: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const SOAP11_CT: &str = "text/xml; charset=utf-8";
const SOAP12_CT: &str = "application/soap+xml; charset=utf-8";

/// The bound on every wait that could hang.
const BOUND: Duration = Duration::from_secs(5);
/// The short timeout configured where a timeout is the behaviour under test.
const SHORT: Duration = Duration::from_millis(300);
/// What "within the configured time" means on a loaded machine.
const WITHIN: Duration = Duration::from_secs(3);

/// Awaits `$fut`, failing the test if it takes longer than [`BOUND`].
macro_rules! bounded {
    ($fut:expr) => {
        tokio::time::timeout(BOUND, $fut).await.expect(concat!("did not complete in time: ", stringify!($fut)))
    };
}

#[track_caller]
fn assert_error(e: &soapwire::Error, kind: ErrorKind, hresult: u32) {
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.hresult().0 as u32, hresult, "{e}");
}

/// Polls `cond` until it holds, failing the test after [`BOUND`].
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < BOUND, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn props() -> ChannelProperties {
    let mut p = ChannelProperties::default();
    p.set_all_timeouts(Some(Duration::from_secs(10)));
    p
}

fn props_with(envelope: EnvelopeVersion, addressing: AddressingVersion) -> ChannelProperties {
    let mut p = props();
    p.envelope_version = envelope;
    p.addressing_version = addressing;
    p
}

fn request(p: &ChannelProperties) -> Message {
    let mut m = Message::new(p.envelope_version, p.addressing_version);
    m.initialize_request(ACTION, BODY).unwrap();
    m
}

fn empty(p: &ChannelProperties) -> Message {
    Message::new(p.envelope_version, p.addressing_version)
}

// ---- wire helpers ----

fn envelope(ns: &str, headers: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{ns}"><s:Header>{headers}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        s.push_str(&format!("{name}: {value}\r\n"));
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.into_bytes()
}

/// The text and the `a` prefix's namespace of the addressing header `<a:{local}>` of a
/// request soapwire wrote.
fn wsa_header(request: &str, local: &str) -> Option<(String, String)> {
    let start = request.find(&format!("<a:{local}"))?;
    let rest = &request[start..];
    let tag_end = rest.find('>')?;
    let tag = &rest[..tag_end];
    let ns = tag.split("xmlns:a=\"").nth(1)?.split('"').next()?.to_owned();
    let text_end = rest.find(&format!("</a:{local}>"))?;
    Some((ns, rest[tag_end + 1..text_end].to_owned()))
}

/// A correct reply to `request`: its envelope version, `RelatesTo` its `MessageID` in its
/// addressing namespace (if it has one).
fn soap_reply(request: &str) -> Vec<u8> {
    let (ns, ct) = if request.contains(SOAP11) { (SOAP11, SOAP11_CT) } else { (SOAP12, SOAP12_CT) };
    let headers = match wsa_header(request, "MessageID") {
        Some((wsa, id)) => format!(r#"<a:RelatesTo xmlns:a="{wsa}">{id}</a:RelatesTo>"#),
        None => String::new(),
    };
    http_response("200 OK", &[("Content-Type", ct)], &envelope(ns, &headers, REPLY_BODY))
}

/// The header block of a raw HTTP message, lower-cased.
fn head(raw: &str) -> String {
    raw.split("\r\n\r\n").next().unwrap_or("").to_ascii_lowercase()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP message (headers, then a Content-Length or chunked body) from `s`; empty
/// when the peer closed first.
async fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            if head.contains("transfer-encoding: chunked") {
                if find(&buf[end..], b"\r\n0\r\n\r\n").is_some() {
                    return buf;
                }
            } else {
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    return buf;
                }
            }
        }
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// What a fake server does with one request.
enum Answer {
    /// Writes the bytes and waits for the next request on the connection.
    Reply(Vec<u8>),
    /// Writes the bytes, then closes the connection.
    ReplyAndClose(Vec<u8>),
    /// Writes the bytes (maybe none, maybe only part of a response) and never writes again.
    WriteAndStall(Vec<u8>),
}

/// A raw HTTP/1.1 server on loopback that answers each request as a closure says and
/// records what it saw. Dropping it closes every connection.
struct Fake {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    accepts: Arc<AtomicUsize>,
    closes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// `answer` gets the 0-based number of the request (over all connections) and its text.
    async fn start(answer: impl Fn(usize, &str) -> Answer + Send + Sync + 'static) -> Fake {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/svc", tcp.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let accepts = Arc::new(AtomicUsize::new(0));
        let closes = Arc::new(AtomicUsize::new(0));
        let answer = Arc::new(answer);
        let (r, a, c) = (requests.clone(), accepts.clone(), closes.clone());
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut s, _)) = tcp.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                let (answer, requests, closes) = (answer.clone(), r.clone(), c.clone());
                connections.spawn(async move {
                    loop {
                        let raw = read_request(&mut s).await;
                        if raw.is_empty() {
                            return;
                        }
                        let text = String::from_utf8_lossy(&raw).into_owned();
                        let n = {
                            let mut seen = requests.lock().unwrap();
                            seen.push(text.clone());
                            seen.len() - 1
                        };
                        match answer(n, &text) {
                            Answer::Reply(bytes) => {
                                if s.write_all(&bytes).await.is_err() {
                                    return;
                                }
                            }
                            Answer::ReplyAndClose(bytes) => {
                                let _ = s.write_all(&bytes).await;
                                drop(s);
                                closes.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            Answer::WriteAndStall(bytes) => {
                                let _ = s.write_all(&bytes).await;
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                });
            }
        });
        Fake { url, requests, accepts, closes, task }
    }

    /// A fake that answers every request with the same bytes.
    async fn replying(bytes: Vec<u8>) -> Fake {
        Fake::start(move |_, _| Answer::Reply(bytes.clone())).await
    }

    /// A fake that answers every request correctly (see [`soap_reply`]).
    async fn echo() -> Fake {
        Fake::start(|_, req| Answer::Reply(soap_reply(req))).await
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

/// Calls `fake` once with a default request on a fresh channel and returns the error.
async fn call_error(fake: &Fake, p: ChannelProperties) -> soapwire::Error {
    let channel = RequestChannel::new(p);
    channel.open(&fake.url).await.unwrap();
    bounded!(channel.call(ACTION, BODY)).unwrap_err()
}

// ---- real listener helpers ----

async fn open_listener(p: ListenerProperties) -> Arc<Listener> {
    let listener = Listener::new(p);
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    Arc::new(listener)
}

fn listener_props() -> ListenerProperties {
    let mut p = ListenerProperties::default();
    p.channel.set_all_timeouts(Some(Duration::from_secs(10)));
    p
}

/// Serves `n` exchanges on `listener`: each request's body is echoed back in the reply; a
/// request that cannot be received is answered with the fault for its error. Returns, per
/// exchange, the request body or the receive error's kind.
fn serve(listener: Arc<Listener>, n: usize) -> JoinHandle<Vec<Result<String, ErrorKind>>> {
    tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for _ in 0..n {
            let channel = ReplyChannel::new(&listener);
            listener.accept_channel(&channel).await.unwrap();
            let mut request = channel.new_message();
            match channel.receive_message(&mut request).await {
                Ok(received) => {
                    assert!(received);
                    let body = request.body_xml().clone();
                    let mut reply = channel.new_message();
                    reply.initialize_reply(&request, "urn:reply", body.clone()).unwrap();
                    channel.send_reply(&mut reply).await.unwrap();
                    outcomes.push(Ok(String::from_utf8_lossy(&body).into_owned()));
                }
                Err(e) => {
                    channel.send_fault_for_error(None, &e).await.unwrap();
                    outcomes.push(Err(e.kind()));
                }
            }
            let _ = channel.close().await;
        }
        outcomes
    })
}

/// Sends `raw` on a new connection to `addr` and returns the whole response head.
async fn raw_exchange(addr: std::net::SocketAddr, raw: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let response = bounded!(read_request(&mut s));
    String::from_utf8_lossy(&response).into_owned()
}

// =====================================================================================
// Error mapping (spec §1.15: the canonical WS_E_* code for each transport failure)
// =====================================================================================

#[tokio::test]
async fn connection_refused_is_endpoint_not_found() {
    let port = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let channel = RequestChannel::new(props());
    channel.open(&format!("http://127.0.0.1:{port}/svc")).await.unwrap();
    let e = bounded!(channel.call(ACTION, BODY)).unwrap_err();
    assert_error(&e, ErrorKind::EndpointNotFound, 0x803D_000D);
}

#[tokio::test]
async fn http_404_is_endpoint_not_found() {
    let fake = Fake::replying(http_response(
        "404 Not Found",
        &[("Content-Type", "text/html")],
        "<html><body>Not Found</body></html>",
    ))
    .await;
    let e = call_error(&fake, props()).await;
    assert_error(&e, ErrorKind::EndpointNotFound, 0x803D_000D);
}

#[tokio::test]
async fn http_503_is_endpoint_not_available() {
    let fake =
        Fake::replying(http_response("503 Service Unavailable", &[("Content-Type", "text/plain")], "try again later"))
            .await;
    let e = call_error(&fake, props()).await;
    assert_error(&e, ErrorKind::EndpointNotAvailable, 0x803D_000E);
}

#[tokio::test]
async fn http_401_with_basic_challenge_is_server_requires_basic_auth() {
    let fake = Fake::replying(http_response(
        "401 Unauthorized",
        &[("WWW-Authenticate", r#"Basic realm="soapwire""#), ("Content-Type", "text/html")],
        "<html><body>Unauthorized</body></html>",
    ))
    .await;
    let e = call_error(&fake, props()).await;
    assert_error(&e, ErrorKind::ServerRequiresBasicAuth, 0x803D_001C);
}

#[tokio::test]
async fn http_500_with_html_body_is_endpoint_failure() {
    let fake = Fake::replying(http_response(
        "500 Internal Server Error",
        &[("Content-Type", "text/html; charset=utf-8")],
        "<html><body><h1>Internal Server Error</h1></body></html>",
    ))
    .await;
    let e = call_error(&fake, props()).await;
    assert_error(&e, ErrorKind::EndpointFailure, 0x803D_000F);
}

#[tokio::test]
async fn soap11_fault_is_endpoint_fault_received_with_the_fault() {
    let fault = r#"<s:Fault><faultcode>s:Client</faultcode><faultstring xml:lang="en">the input is invalid</faultstring><faultactor>urn:actor</faultactor><detail><d:info xmlns:d="urn:detail">max 10</d:info></detail></s:Fault>"#;
    let fake = Fake::replying(http_response(
        "500 Internal Server Error",
        &[("Content-Type", SOAP11_CT)],
        &envelope(SOAP11, "", fault),
    ))
    .await;
    let p = props_with(EnvelopeVersion::Soap11, AddressingVersion::V1_0);
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let mut reply = empty(&p);
    let e = bounded!(channel.request_reply(&mut request(&p), &mut reply)).unwrap_err();
    assert_error(&e, ErrorKind::EndpointFaultReceived, 0x803D_0013);
    let f = e.fault().expect("the error carries the fault");
    assert_eq!(f.code, FaultCode::Sender);
    assert!(f.subcodes.is_empty());
    assert_eq!(f.reason, "the input is invalid");
    assert_eq!(f.actor.as_deref(), Some("urn:actor"));
    let detail = String::from_utf8_lossy(f.detail.as_ref().expect("detail")).into_owned();
    assert!(detail.contains("<d:info") && detail.contains("max 10"), "{detail}");
    // The fault message is also left in the reply.
    assert!(reply.fault(&ReaderQuotas::default()).unwrap().is_some());
}

#[tokio::test]
async fn soap12_fault_with_subcodes_and_detail_is_endpoint_fault_received_with_the_fault() {
    let fault = concat!(
        r#"<s:Fault><s:Code><s:Value>s:Sender</s:Value>"#,
        r#"<s:Subcode><s:Value xmlns:x="urn:errors">x:InvalidInput</s:Value>"#,
        r#"<s:Subcode><s:Value xmlns:x="urn:errors">x:TooLong</s:Value></s:Subcode></s:Subcode></s:Code>"#,
        r#"<s:Reason><s:Text xml:lang="en">the input is invalid</s:Text></s:Reason>"#,
        r#"<s:Detail><x:info xmlns:x="urn:errors">max 10</x:info></s:Detail></s:Fault>"#
    );
    let fake =
        Fake::replying(http_response("400 Bad Request", &[("Content-Type", SOAP12_CT)], &envelope(SOAP12, "", fault)))
            .await;
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let e = bounded!(channel.call(ACTION, BODY)).unwrap_err();
    assert_error(&e, ErrorKind::EndpointFaultReceived, 0x803D_0013);
    let f = e.fault().expect("the error carries the fault");
    assert_eq!(f.code, FaultCode::Sender);
    assert_eq!(f.subcodes, vec![QName::new("urn:errors", "InvalidInput"), QName::new("urn:errors", "TooLong")]);
    assert_eq!(f.reason, "the input is invalid");
    assert_eq!(f.lang.as_deref(), Some("en"));
    let detail = String::from_utf8_lossy(f.detail.as_ref().expect("detail")).into_owned();
    assert!(detail.contains("<x:info") && detail.contains("max 10"), "{detail}");
    // A fault is an answer, not a transport failure: the channel stays usable.
    assert_eq!(channel.state(), ChannelState::Open);
}

#[tokio::test]
async fn response_body_that_is_not_xml_is_invalid_format() {
    let fake =
        Fake::replying(http_response("200 OK", &[("Content-Type", SOAP12_CT)], "this is not XML at all { }")).await;
    let e = call_error(&fake, props()).await;
    assert_error(&e, ErrorKind::InvalidFormat, 0x803D_0000);
}

#[tokio::test]
async fn non_http_url_at_open_is_invalid_endpoint_url() {
    for url in ["ftp://127.0.0.1/svc", "net.tcp://127.0.0.1:808/svc", "not a url", "/svc"] {
        let channel = RequestChannel::new(props());
        let e = channel.open(url).await.unwrap_err();
        assert_error(&e, ErrorKind::InvalidEndpointUrl, 0x803D_0020);
        // A failed open faults the channel (spec §1.2); it can still be closed.
        assert_eq!(channel.state(), ChannelState::Faulted, "{url}");
        channel.close().await.unwrap();
    }
}

// =====================================================================================
// Quotas (spec §1.11: WS_CHANNEL_PROPERTY_MAX_BUFFERED_MESSAGE_SIZE, send or receive)
// =====================================================================================

#[tokio::test]
async fn reply_over_max_buffered_message_size_with_content_length_is_refused_before_reading_it() {
    // Announces 10 MB, sends 1 KB and stalls: reading it all would hang until the receive
    // timeout (10 s), past the test bound.
    let mut partial = format!("HTTP/1.1 200 OK\r\nContent-Type: {SOAP12_CT}\r\nContent-Length: 10485760\r\n\r\n");
    partial.push_str(&"<".repeat(1024));
    let fake = Fake::start(move |_, _| Answer::WriteAndStall(partial.clone().into_bytes())).await;
    let t = Instant::now();
    let e = call_error(&fake, props()).await;
    assert_error(&e, ErrorKind::QuotaExceeded, 0x803D_0008);
    assert!(t.elapsed() < WITHIN, "took {:?}", t.elapsed());
}

#[tokio::test]
async fn chunked_reply_over_max_buffered_message_size_is_refused_before_reading_it() {
    // One chunk announced as 10 MB; 100 KB of it sent, then nothing.
    let mut partial = format!("HTTP/1.1 200 OK\r\nContent-Type: {SOAP12_CT}\r\nTransfer-Encoding: chunked\r\n\r\n");
    partial.push_str(&format!("{:X}\r\n", 10 * 1024 * 1024));
    partial.push_str(&"x".repeat(100 * 1024));
    let fake = Fake::start(move |_, _| Answer::WriteAndStall(partial.clone().into_bytes())).await;
    let t = Instant::now();
    let e = call_error(&fake, props()).await;
    assert_error(&e, ErrorKind::QuotaExceeded, 0x803D_0008);
    assert!(t.elapsed() < WITHIN, "took {:?}", t.elapsed());
}

#[tokio::test]
async fn request_over_max_buffered_message_size_is_refused_before_anything_is_sent() {
    let fake = Fake::echo().await;
    let mut p = props();
    p.max_buffered_message_size = 1024;
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let big =
        format!(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>{}</e:message></e:echo>"#, "x".repeat(4096));
    let mut msg = Message::new(p.envelope_version, p.addressing_version);
    msg.initialize_request(ACTION, big).unwrap();
    let e = bounded!(channel.send_message(&mut msg)).unwrap_err();
    assert_error(&e, ErrorKind::QuotaExceeded, 0x803D_0008);
    assert_eq!(msg.state(), MessageState::Initialized, "nothing was written");
    assert_eq!(channel.state(), ChannelState::Open);
    // The next (small) request is the first thing the server ever sees.
    bounded!(channel.call(ACTION, BODY)).unwrap();
    let seen = fake.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(!seen[0].contains("xxxx"), "the refused request reached the server");
    assert_eq!(fake.accepts(), 1);
}

#[tokio::test]
async fn request_over_the_listener_quota_gets_a_fault_and_the_listener_keeps_serving() {
    let mut lp = listener_props();
    lp.channel.max_buffered_message_size = 1024;
    let listener = open_listener(lp).await;
    let url = listener.url().unwrap();
    let server = serve(listener.clone(), 2);

    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&url).await.unwrap();
    let big =
        format!(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>{}</e:message></e:echo>"#, "x".repeat(4096));
    let e = bounded!(channel.call(ACTION, big)).unwrap_err();
    assert_error(&e, ErrorKind::EndpointFaultReceived, 0x803D_0013);
    assert_eq!(e.fault().unwrap().code, FaultCode::Sender, "{e}");

    // The listener still serves the next request.
    let channel = RequestChannel::new(p);
    channel.open(&url).await.unwrap();
    let reply = bounded!(channel.call(ACTION, BODY)).unwrap();
    assert!(String::from_utf8_lossy(reply.body_xml()).contains("<e:message>hi</e:message>"));
    let outcomes = bounded!(server).unwrap();
    assert_eq!(outcomes[0], Err(ErrorKind::QuotaExceeded));
    assert!(outcomes[1].is_ok(), "{outcomes:?}");
    assert_eq!(listener.state(), ListenerState::Open);
    bounded!(listener.close()).unwrap();
}

// =====================================================================================
// Timeouts (spec §1.11; a timed-out channel is faulted and must be closed)
// =====================================================================================

#[tokio::test]
async fn receive_response_timeout_is_operation_timed_out_and_faults_the_channel() {
    let fake = Fake::start(|_, _| Answer::WriteAndStall(Vec::new())).await;
    let mut p = props();
    p.set_timeout(Timeout::ReceiveResponse, Some(SHORT));
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let t = Instant::now();
    let e = bounded!(channel.call(ACTION, BODY)).unwrap_err();
    let elapsed = t.elapsed();
    assert_error(&e, ErrorKind::OperationTimedOut, 0x803D_0006);
    assert!(elapsed >= Duration::from_millis(250) && elapsed < WITHIN, "took {elapsed:?}");
    assert_eq!(channel.state(), ChannelState::Faulted);
    bounded!(channel.close()).unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
}

#[tokio::test]
async fn receive_timeout_while_the_reply_body_stalls_is_operation_timed_out() {
    let mut partial = format!("HTTP/1.1 200 OK\r\nContent-Type: {SOAP12_CT}\r\nContent-Length: 1000\r\n\r\n");
    partial.push_str(r#"<?xml version="1.0"?><s:Envelope xmlns:s=""#);
    let fake = Fake::start(move |_, _| Answer::WriteAndStall(partial.clone().into_bytes())).await;
    let mut p = props();
    p.set_timeout(Timeout::Receive, Some(SHORT));
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let t = Instant::now();
    let e = bounded!(channel.call(ACTION, BODY)).unwrap_err();
    let elapsed = t.elapsed();
    assert_error(&e, ErrorKind::OperationTimedOut, 0x803D_0006);
    assert!(elapsed >= Duration::from_millis(250) && elapsed < WITHIN, "took {elapsed:?}");
    assert_eq!(channel.state(), ChannelState::Faulted);
    bounded!(channel.close()).unwrap();
}

#[tokio::test]
async fn disabling_timeouts_makes_unset_timeouts_infinite() {
    let all =
        [Timeout::Resolve, Timeout::Connect, Timeout::Send, Timeout::ReceiveResponse, Timeout::Receive, Timeout::Close];
    let defaults = RequestChannel::new(ChannelProperties::default());
    for t in all {
        assert_eq!(defaults.properties().timeout(t), Some(Duration::from_secs(30)), "{t:?}");
    }

    let mut p = ChannelProperties::default();
    p.set_timeout(Timeout::Receive, Some(SHORT));
    p.enable_timeouts = false;
    let channel = RequestChannel::new(p);
    for t in all {
        let expected = if t == Timeout::Receive { Some(SHORT) } else { None };
        assert_eq!(channel.properties().timeout(t), expected, "{t:?}");
    }

    // The listener's channels take the listener's channel properties.
    let mut lp = ListenerProperties::default();
    lp.channel.enable_timeouts = false;
    let listener = Listener::new(lp);
    let reply_channel = ReplyChannel::new(&listener);
    for t in all {
        assert_eq!(reply_channel.properties().timeout(t), None, "{t:?}");
    }
}

#[tokio::test]
async fn server_receive_timeout_when_the_client_stops_sending_halfway() {
    let mut lp = listener_props();
    lp.channel.set_timeout(Timeout::Receive, Some(SHORT));
    let listener = open_listener(lp).await;
    let addr = listener.local_addr().unwrap();
    let env = envelope(SOAP12, "", BODY);
    let mut client = TcpStream::connect(addr).await.unwrap();
    let head =
        format!("POST /svc HTTP/1.1\r\nHost: x\r\nContent-Type: {SOAP12_CT}\r\nContent-Length: {}\r\n\r\n", env.len());
    client.write_all(head.as_bytes()).await.unwrap();
    client.write_all(&env.as_bytes()[..env.len() / 2]).await.unwrap();

    let channel = ReplyChannel::new(&listener);
    bounded!(listener.accept_channel(&channel)).unwrap();
    let mut msg = channel.new_message();
    let t = Instant::now();
    let e = bounded!(channel.receive_message(&mut msg)).unwrap_err();
    let elapsed = t.elapsed();
    assert_error(&e, ErrorKind::OperationTimedOut, 0x803D_0006);
    assert!(elapsed >= Duration::from_millis(250) && elapsed < WITHIN, "took {elapsed:?}");
    assert_eq!(channel.state(), ChannelState::Faulted);
    bounded!(channel.close()).unwrap();
    drop(client);
    bounded!(listener.close()).unwrap();
}

// =====================================================================================
// Addressing (spec §1.9: MessageID/RelatesTo correlation; transport addressing)
// =====================================================================================

async fn request_carries_addressing_headers(version: AddressingVersion, ns: &str, other_ns: &str) {
    let fake = Fake::echo().await;
    let p = props_with(EnvelopeVersion::Soap12, version);
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let mut req = request(&p);
    let mut reply = empty(&p);
    bounded!(channel.request_reply(&mut req, &mut reply)).unwrap();

    let seen = fake.requests();
    let raw = &seen[0];
    let (action_ns, action) = wsa_header(raw, "Action").expect("an Action header");
    let (id_ns, id) = wsa_header(raw, "MessageID").expect("a MessageID header");
    let (to_ns, to) = wsa_header(raw, "To").expect("a To header");
    assert_eq!((action_ns.as_str(), action.as_str()), (ns, ACTION));
    assert_eq!(id_ns, ns);
    assert!(id.starts_with("urn:uuid:"), "{id}");
    assert_eq!((to_ns.as_str(), to.as_str()), (ns, fake.url.as_str()));
    assert!(!raw.contains(other_ns), "the other addressing version leaked into the request: {raw}");
    // The reply was correlated with the request.
    assert_eq!(req.addressing().message_id.as_deref(), Some(id.as_str()));
    assert_eq!(reply.addressing().relates_to.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn ws_addressing_1_0_request_carries_message_id_to_and_action() {
    request_carries_addressing_headers(AddressingVersion::V1_0, WSA10, WSA0408).await;
}

#[tokio::test]
async fn ws_addressing_2004_08_request_carries_message_id_to_and_action() {
    request_carries_addressing_headers(AddressingVersion::V0_9, WSA0408, WSA10).await;
}

#[tokio::test]
async fn reply_whose_relates_to_differs_from_the_message_id_is_invalid_format() {
    for (version, ns) in [(AddressingVersion::V1_0, WSA10), (AddressingVersion::V0_9, WSA0408)] {
        let headers =
            format!(r#"<a:RelatesTo xmlns:a="{ns}">urn:uuid:00000000-0000-0000-0000-000000000000</a:RelatesTo>"#);
        let fake = Fake::replying(http_response(
            "200 OK",
            &[("Content-Type", SOAP12_CT)],
            &envelope(SOAP12, &headers, REPLY_BODY),
        ))
        .await;
        let e = call_error(&fake, props_with(EnvelopeVersion::Soap12, version)).await;
        assert_error(&e, ErrorKind::InvalidFormat, 0x803D_0000);
    }
}

#[tokio::test]
async fn transport_addressing_soap11_sends_soap_action_and_no_addressing_headers() {
    let fake = Fake::echo().await;
    let p = props_with(EnvelopeVersion::Soap11, AddressingVersion::Transport);
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let reply = bounded!(channel.call(ACTION, BODY)).unwrap();
    assert!(String::from_utf8_lossy(reply.body_xml()).contains("echoResponse"));
    let raw = &fake.requests()[0];
    let h = head(raw);
    assert!(h.lines().any(|l| l == "content-type: text/xml; charset=utf-8"), "{h}");
    assert!(h.lines().any(|l| l == format!("soapaction: \"{ACTION}\"")), "{h}");
    assert!(!raw.contains("addressing"), "no WS-Addressing headers expected: {raw}");
    assert!(raw.contains(SOAP11));
}

#[tokio::test]
async fn transport_addressing_soap12_sends_the_action_parameter() {
    let fake = Fake::echo().await;
    let p = props_with(EnvelopeVersion::Soap12, AddressingVersion::Transport);
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    bounded!(channel.call(ACTION, BODY)).unwrap();
    let raw = &fake.requests()[0];
    let h = head(raw);
    assert!(
        h.lines().any(|l| l == format!("content-type: application/soap+xml; charset=utf-8; action=\"{ACTION}\"")),
        "{h}"
    );
    assert!(!h.contains("soapaction"), "{h}");
    assert!(!raw.contains("addressing"), "no WS-Addressing headers expected: {raw}");
}

// =====================================================================================
// Listener (spec §1.12 and the HTTP binding)
// =====================================================================================

#[tokio::test]
async fn request_of_the_other_envelope_version_gets_a_version_mismatch_fault() {
    let listener = open_listener(listener_props()).await;
    assert!(!listener.properties().any_envelope_version);
    let url = listener.url().unwrap();
    let l2 = listener.clone();
    let server = tokio::spawn(async move {
        let channel = ReplyChannel::new(&l2);
        l2.accept_channel(&channel).await.unwrap();
        let mut msg = channel.new_message();
        let e = channel.receive_message(&mut msg).await.unwrap_err();
        channel.send_fault_for_error(None, &e).await.unwrap();
        channel.close().await.unwrap();
        e.kind()
    });
    let p = props_with(EnvelopeVersion::Soap11, AddressingVersion::V1_0);
    let channel = RequestChannel::new(p);
    channel.open(&url).await.unwrap();
    let e = bounded!(channel.call(ACTION, BODY)).unwrap_err();
    assert_error(&e, ErrorKind::EndpointFaultReceived, 0x803D_0013);
    assert_eq!(e.fault().unwrap().code, FaultCode::VersionMismatch, "{e}");
    assert_eq!(bounded!(server).unwrap(), ErrorKind::InvalidFormat);
    bounded!(listener.close()).unwrap();
}

#[tokio::test]
async fn request_to_another_path_is_404() {
    let listener = open_listener(listener_props()).await;
    let addr = listener.local_addr().unwrap();
    let channel = RequestChannel::new(props());
    channel.open(&format!("http://{addr}/other")).await.unwrap();
    let e = bounded!(channel.call(ACTION, BODY)).unwrap_err();
    assert_error(&e, ErrorKind::EndpointNotFound, 0x803D_000D);

    let env = envelope(SOAP12, "", BODY);
    let raw = format!(
        "POST /svc/more HTTP/1.1\r\nHost: x\r\nContent-Type: {SOAP12_CT}\r\nContent-Length: {}\r\n\r\n{env}",
        env.len()
    );
    let response = raw_exchange(addr, &raw).await;
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    bounded!(listener.close()).unwrap();
}

#[tokio::test]
async fn get_without_wsdl_query_is_405() {
    let listener = open_listener(listener_props()).await;
    let addr = listener.local_addr().unwrap();
    let response = raw_exchange(addr, "GET /svc HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
    assert!(head(&response).lines().any(|l| l == "allow: post"), "{response}");
    bounded!(listener.close()).unwrap();
}

#[tokio::test]
async fn full_accept_queue_answers_503_quickly() {
    let mut lp = listener_props();
    lp.max_pending_requests = 1;
    let listener = open_listener(lp).await;
    let url = listener.url().unwrap();
    let call = |url: String| async move {
        let channel = RequestChannel::new(props());
        channel.open(&url).await.unwrap();
        channel.call(ACTION, BODY).await.map(|_| ())
    };
    // Nobody accepts: one request fills the queue, the other is refused, whichever is first.
    let t = Instant::now();
    let mut a = tokio::spawn(call(url.clone()));
    let mut b = tokio::spawn(call(url.clone()));
    let (refused, queued) = bounded!(async {
        tokio::select! {
            r = &mut a => (r.unwrap(), b),
            r = &mut b => (r.unwrap(), a),
        }
    });
    assert!(t.elapsed() < WITHIN, "took {:?}", t.elapsed());
    assert_error(&refused.unwrap_err(), ErrorKind::EndpointNotAvailable, 0x803D_000E);
    // The queued one is served once somebody accepts.
    let server = serve(listener.clone(), 1);
    bounded!(queued).unwrap().unwrap();
    bounded!(server).unwrap();
    bounded!(listener.close()).unwrap();
}

#[tokio::test]
async fn accept_beyond_max_accepting_channels_is_quota_exceeded() {
    let mut lp = listener_props();
    lp.max_accepting_channels = 1;
    let listener = open_listener(lp).await;
    let first = Arc::new(ReplyChannel::new(&listener));
    let (l2, f2) = (listener.clone(), first.clone());
    let pending = tokio::spawn(async move { l2.accept_channel(&f2).await });
    eventually("the first accept is pending", || first.state() == ChannelState::Accepting).await;

    let second = ReplyChannel::new(&listener);
    let e = bounded!(listener.accept_channel(&second)).unwrap_err();
    assert_error(&e, ErrorKind::QuotaExceeded, 0x803D_0008);
    assert_eq!(second.state(), ChannelState::Created);

    bounded!(listener.close()).unwrap();
    assert_eq!(bounded!(pending).unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
}

#[tokio::test]
async fn close_without_reply_gives_the_client_end_of_messages() {
    let listener = open_listener(listener_props()).await;
    let url = listener.url().unwrap();
    let l2 = listener.clone();
    let server = tokio::spawn(async move {
        let channel = ReplyChannel::new(&l2);
        l2.accept_channel(&channel).await.unwrap();
        let mut msg = channel.new_message();
        assert!(channel.receive_message(&mut msg).await.unwrap());
        channel.close().await
    });
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&url).await.unwrap();
    bounded!(channel.send_message(&mut request(&p))).unwrap();
    let mut reply = empty(&p);
    // WS_S_END: HTTP 202 with no message.
    assert!(!bounded!(channel.receive_message(&mut reply)).unwrap());
    assert_eq!(reply.state(), MessageState::Empty);
    bounded!(server).unwrap().unwrap();
    assert_eq!(channel.state(), ChannelState::Open);
    bounded!(listener.close()).unwrap();
}

#[tokio::test]
async fn reset_reply_channel_accepts_the_next_request() {
    let listener = open_listener(listener_props()).await;
    let url = listener.url().unwrap();
    let l2 = listener.clone();
    let server = tokio::spawn(async move {
        let channel = ReplyChannel::new(&l2);
        let mut bodies = Vec::new();
        for round in 0..2 {
            if round > 0 {
                assert_eq!(channel.state(), ChannelState::Closed);
                channel.reset().unwrap();
                assert_eq!(channel.state(), ChannelState::Created);
            }
            l2.accept_channel(&channel).await.unwrap();
            let mut request = channel.new_message();
            assert!(channel.receive_message(&mut request).await.unwrap());
            bodies.push(String::from_utf8_lossy(request.body_xml()).into_owned());
            let mut reply = channel.new_message();
            reply.initialize_reply(&request, "urn:reply", request.body_xml().clone()).unwrap();
            channel.send_reply(&mut reply).await.unwrap();
            channel.close().await.unwrap();
        }
        bodies
    });
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    for n in 0..2 {
        let body = format!(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>{n}</e:message></e:echo>"#);
        let reply = bounded!(channel.call(ACTION, body.clone())).unwrap();
        assert_eq!(String::from_utf8_lossy(reply.body_xml()), body);
    }
    let bodies = bounded!(server).unwrap();
    assert_eq!(bodies.len(), 2);
    bounded!(listener.close()).unwrap();
}

#[tokio::test]
async fn listener_reset_after_close_allows_reopen() {
    let listener = Arc::new(Listener::new(listener_props()));
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    bounded!(listener.close()).unwrap();
    assert_eq!(listener.state(), ListenerState::Closed);
    // Open again without reset is not allowed.
    let e = listener.open("http://127.0.0.1:0/svc").await.unwrap_err();
    assert_error(&e, ErrorKind::InvalidOperation, 0x803D_0003);
    listener.reset().unwrap();
    assert_eq!(listener.state(), ListenerState::Created);
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    assert_eq!(listener.state(), ListenerState::Open);

    let server = serve(listener.clone(), 1);
    let channel = RequestChannel::new(props());
    channel.open(&listener.url().unwrap()).await.unwrap();
    bounded!(channel.call(ACTION, BODY)).unwrap();
    bounded!(server).unwrap();
    bounded!(listener.close()).unwrap();
}

#[tokio::test]
async fn listener_open_on_a_port_in_use_is_address_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listener = Listener::new(listener_props());
    let e = listener.open(&format!("http://127.0.0.1:{port}/svc")).await.unwrap_err();
    assert_error(&e, ErrorKind::AddressInUse, 0x803D_000B);
    assert_eq!(listener.state(), ListenerState::Created);
    drop(taken);
}

// =====================================================================================
// Message states (spec §1.13)
// =====================================================================================

#[tokio::test]
async fn request_reply_leaves_request_and_reply_done() {
    let fake = Fake::echo().await;
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let mut req = request(&p);
    assert_eq!(req.state(), MessageState::Initialized);
    let mut reply = empty(&p);
    bounded!(channel.request_reply(&mut req, &mut reply)).unwrap();
    assert_eq!(req.state(), MessageState::Done);
    assert_eq!(reply.state(), MessageState::Done);
}

#[tokio::test]
async fn receive_into_a_non_empty_message_is_invalid_operation() {
    let fake = Fake::echo().await;
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    bounded!(channel.send_message(&mut request(&p))).unwrap();
    let mut initialized = request(&p);
    let e = bounded!(channel.receive_message(&mut initialized)).unwrap_err();
    assert_error(&e, ErrorKind::InvalidOperation, 0x803D_0003);
    assert_eq!(initialized.state(), MessageState::Initialized);
    // The reply is still there for an Empty message; then a Done one is refused too.
    let mut reply = empty(&p);
    assert!(bounded!(channel.receive_message(&mut reply)).unwrap());
    assert_eq!(reply.state(), MessageState::Done);
    let mut req = request(&p);
    let e = bounded!(channel.request_reply(&mut req, &mut reply)).unwrap_err();
    assert_error(&e, ErrorKind::InvalidOperation, 0x803D_0003);
    assert_eq!(req.state(), MessageState::Initialized, "nothing was sent");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn send_of_a_done_message_is_invalid_operation() {
    let fake = Fake::echo().await;
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&fake.url).await.unwrap();
    let mut req = request(&p);
    bounded!(channel.request_reply(&mut req, &mut empty(&p))).unwrap();
    assert_eq!(req.state(), MessageState::Done);
    let e = bounded!(channel.send_message(&mut req)).unwrap_err();
    assert_error(&e, ErrorKind::InvalidOperation, 0x803D_0003);
    assert_eq!(fake.requests().len(), 1, "the Done message was not sent again");
    // After a reset the message can be used again.
    req.reset();
    req.initialize_request(ACTION, BODY).unwrap();
    bounded!(channel.request_reply(&mut req, &mut empty(&p))).unwrap();
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn streamed_write_round_trips_through_listener_and_reply_channel() {
    let listener = open_listener(listener_props()).await;
    let server = serve(listener.clone(), 1);
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&listener.url().unwrap()).await.unwrap();
    let parts = [r#"<e:echo xmlns:e="http://example.org/echo">"#, "<e:message>streamed hi</e:message>", "</e:echo>"];
    let mut msg = Message::new(p.envelope_version, p.addressing_version);
    msg.initialize_request(ACTION, "").unwrap();
    bounded!(channel.write_message_start(&mut msg)).unwrap();
    assert_eq!(msg.state(), MessageState::Writing);
    for part in parts {
        bounded!(channel.write_body(&msg, part)).unwrap();
    }
    bounded!(channel.write_message_end(&mut msg)).unwrap();
    assert_eq!(msg.state(), MessageState::Done);
    let mut reply = empty(&p);
    assert!(bounded!(channel.receive_message(&mut reply)).unwrap());
    let whole = parts.concat();
    assert_eq!(String::from_utf8_lossy(reply.body_xml()), whole);
    let outcomes = bounded!(server).unwrap();
    assert_eq!(outcomes, vec![Ok(whole)]);
    bounded!(channel.close()).unwrap();
    bounded!(listener.close()).unwrap();
}

// =====================================================================================
// Keep-alive
// =====================================================================================

#[tokio::test]
async fn sequential_calls_reuse_one_connection() {
    let fake = Fake::echo().await;
    let channel = RequestChannel::new(props());
    channel.open(&fake.url).await.unwrap();
    bounded!(channel.call(ACTION, BODY)).unwrap();
    bounded!(channel.call(ACTION, BODY)).unwrap();
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.accepts(), 1);
}

#[tokio::test]
async fn next_call_reconnects_after_the_server_closed_the_connection() {
    let fake = Fake::start(|n, req| {
        let reply = soap_reply(req);
        if n == 0 { Answer::ReplyAndClose(reply) } else { Answer::Reply(reply) }
    })
    .await;
    let channel = RequestChannel::new(props());
    channel.open(&fake.url).await.unwrap();
    bounded!(channel.call(ACTION, BODY)).unwrap();
    let closes = fake.closes.clone();
    eventually("the server closed the first connection", || closes.load(Ordering::SeqCst) == 1).await;
    bounded!(channel.call(ACTION, BODY)).unwrap();
    assert_eq!(channel.state(), ChannelState::Open);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.accepts(), 2);
}

#[tokio::test]
async fn streamed_write_over_max_streamed_message_size_is_quota_exceeded_and_aborted_on_the_wire() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/svc", tcp.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut s, _) = tcp.accept().await.unwrap();
        let mut seen = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut seen)).await;
        seen
    });
    let mut p = props();
    p.max_streamed_message_size = 1000;
    let channel = RequestChannel::new(p.clone());
    channel.open(&url).await.unwrap();
    let mut msg = request(&p);
    channel.write_message_start(&mut msg).await.unwrap();
    channel.write_body(&msg, "x".repeat(600)).await.unwrap();
    let e = channel.write_body(&msg, "y".repeat(600)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
    // The message is no longer being written; the channel stays usable and closes gracefully.
    assert_eq!(channel.write_message_end(&mut msg).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    channel.close().await.unwrap();
    let seen = server.await.unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(!text.contains("yyyy"), "the over-quota chunk must not be sent");
    assert!(!text.ends_with("0\r\n\r\n"), "the request must not look complete");
}

#[tokio::test]
async fn refused_send_leaves_the_message_untouched() {
    let p = props();
    let channel = RequestChannel::new(p.clone());
    // Not open: the send is refused, and the Empty message stays Empty.
    let mut m = empty(&p);
    assert_eq!(channel.send_message(&mut m).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    assert_eq!(m.state(), MessageState::Empty);
    // write_message_start of a message that is not Initialized is refused without effect.
    channel.open("http://127.0.0.1:9/x").await.unwrap();
    assert_eq!(channel.write_message_start(&mut m).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    assert_eq!(m.state(), MessageState::Empty);
    channel.close().await.unwrap();
}

#[tokio::test]
async fn slowloris_headers_are_cut_off_by_the_header_read_timeout() {
    let listener =
        Listener::new(ListenerProperties { header_read_timeout: Duration::from_millis(300), ..Default::default() });
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    let mut s = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    s.write_all(b"POST /svc HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    // The server answers 408 or just closes; either way the connection ends soon.
    let _ = tokio::time::timeout(BOUND, s.read_to_end(&mut buf)).await.expect("the server must end the connection");
    assert!(t.elapsed() < WITHIN, "took {:?}", t.elapsed());
    listener.close().await.unwrap();
}

#[tokio::test]
async fn connections_beyond_max_connections_are_closed_at_once() {
    let listener = Listener::new(ListenerProperties { max_connections: 1, ..Default::default() });
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _first = TcpStream::connect(addr).await.unwrap();
    // Let the listener count the first connection before the second arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut second = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(BOUND, second.read(&mut buf)).await.expect("the second connection is closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    listener.close().await.unwrap();
}

// ---- service-host mode (Listener::set_handler) ----

#[tokio::test]
async fn service_host_handler_serves_requests_in_the_connection_with_accepted_channel_semantics() {
    let listener = Arc::new(Listener::new(ListenerProperties {
        max_open_channels: 1,
        channel: props(),
        ..ListenerProperties::default()
    }));
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    listener.set_handler(move |channel: ReplyChannel| {
        let mut release = release_rx.clone();
        async move {
            assert_eq!(channel.state(), ChannelState::Open);
            let mut request = channel.new_message();
            channel.receive_message(&mut request).await.unwrap();
            if request.body_xml().windows(4).any(|w| w == b"hold") {
                // Keep this channel open until the test says so.
                while !*release.borrow_and_update() {
                    release.changed().await.unwrap();
                }
            }
            let mut reply = channel.new_message();
            reply.initialize_reply(&request, "urn:reply", REPLY_BODY).unwrap();
            channel.send_reply(&mut reply).await.unwrap();
            channel.close().await.unwrap();
            assert_eq!(channel.state(), ChannelState::Closed);
        }
    });
    listener.open("http://127.0.0.1:0/echo").await.unwrap();
    let url = listener.url().unwrap();
    let p = props();

    // An ordinary exchange.
    let channel = RequestChannel::new(p.clone());
    channel.open(&url).await.unwrap();
    let reply = bounded!(channel.call(ACTION, BODY)).unwrap();
    assert!(String::from_utf8_lossy(reply.body_xml()).contains("echoResponse"));

    // max_open_channels = 1: while one handler holds its channel, the next request gets 503.
    let holder = RequestChannel::new(p.clone());
    holder.open(&url).await.unwrap();
    let held = tokio::spawn(async move {
        let r = holder
            .call(ACTION, r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hold</e:message></e:echo>"#)
            .await;
        r.map(|_| ())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = RequestChannel::new(p.clone());
    other.open(&url).await.unwrap();
    let e = bounded!(other.call(ACTION, BODY)).unwrap_err();
    assert_error(&e, ErrorKind::EndpointNotAvailable, 0x803D000E);
    release_tx.send(true).unwrap();
    bounded!(held).unwrap().unwrap();
    // And once it is released, requests are served again.
    let again = RequestChannel::new(p);
    again.open(&url).await.unwrap();
    bounded!(again.call(ACTION, BODY)).unwrap();
    bounded!(listener.close()).unwrap();
}

/// A service-host handler's exchange: receive the request, answer `REPLY_BODY`.
async fn answer_with_reply_body(channel: &ReplyChannel) {
    let mut request = channel.new_message();
    channel.receive_message(&mut request).await.unwrap();
    let mut reply = channel.new_message();
    reply.initialize_reply(&request, "urn:reply", REPLY_BODY).unwrap();
    channel.send_reply(&mut reply).await.unwrap();
}

/// `reuse_port`: a second listener opens the same address (a thread-per-core server), and
/// requests are answered whichever socket the kernel gives the connection to; without it the
/// second open is `WS_E_ADDRESS_IN_USE`.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn listeners_with_reuse_port_share_one_address() {
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let host = |properties: ListenerProperties| {
        let listener = Arc::new(Listener::new(properties));
        let answered = answered.clone();
        listener.set_handler(move |channel: ReplyChannel| {
            let answered = answered.clone();
            async move {
                answer_with_reply_body(&channel).await;
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = channel.close().await;
            }
        });
        listener
    };
    let shared = ListenerProperties { reuse_port: true, ..listener_props() };
    let first = host(shared.clone());
    first.open("http://127.0.0.1:0/echo").await.unwrap();
    let url = first.url().unwrap();
    let second = host(shared);
    second.open(&url).await.unwrap();
    assert_eq!(second.url().unwrap(), url);
    for _ in 0..8 {
        let channel = RequestChannel::new(props());
        channel.open(&url).await.unwrap();
        bounded!(channel.call(ACTION, BODY)).unwrap();
    }
    assert_eq!(answered.load(std::sync::atomic::Ordering::SeqCst), 8);
    let exclusive = Listener::new(listener_props());
    let e = exclusive.open(&url).await.unwrap_err();
    assert_error(&e, ErrorKind::AddressInUse, 0x803D000B);
    bounded!(first.close()).unwrap();
    bounded!(second.close()).unwrap();
}

/// What a service-host handler does after its reply is on its way runs beside the connection
/// (in its task, not a spawned one): it must neither hold back that reply nor the next request
/// on the same keep-alive connection, and it must run to its end (here: a pause, then close).
#[tokio::test]
async fn service_host_work_after_the_reply_does_not_hold_the_connection_back_and_completes() {
    let listener = Arc::new(Listener::new(listener_props()));
    let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = finished.clone();
    listener.set_handler(move |channel: ReplyChannel| {
        let counter = counter.clone();
        async move {
            answer_with_reply_body(&channel).await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            channel.close().await.unwrap();
            assert_eq!(channel.state(), ChannelState::Closed);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    listener.open("http://127.0.0.1:0/echo").await.unwrap();
    let channel = RequestChannel::new(props());
    channel.open(&listener.url().unwrap()).await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..2 {
        bounded!(channel.call(ACTION, BODY)).unwrap();
    }
    // Had the second request waited for the first handler's pause, this would be >= 1.5 s.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1400), "the replies waited for the handlers: {elapsed:?}");
    let deadline = std::time::Instant::now() + BOUND;
    while finished.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(std::time::Instant::now() < deadline, "the handlers' closes never completed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bounded!(listener.close()).unwrap();
}

/// Found by the `http_listener` fuzz target: a client that shuts its write side down after a
/// complete request (`shutdown(Write)`, as `nc -N` and some blocking stacks do) lost the
/// reply whenever the server read that FIN before the reply was ready (a request written in
/// pieces, a handler that takes a moment): hyper, without `half_close`, took the EOF for a
/// dropped connection and cancelled the exchange.
#[tokio::test]
async fn a_client_that_half_closes_after_its_request_still_gets_the_reply() {
    // Service-host mode, with a handler that takes a moment before it answers.
    let host = Listener::new(listener_props());
    host.set_handler(|channel: ReplyChannel| async move {
        let mut request = channel.new_message();
        channel.receive_message(&mut request).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut reply = channel.new_message();
        reply.initialize_reply(&request, "urn:reply", REPLY_BODY).unwrap();
        channel.send_reply(&mut reply).await.unwrap();
        let _ = channel.close().await;
    });
    host.open("http://127.0.0.1:0/svc").await.unwrap();
    // Channel mode: the application accepts and answers in its own task.
    let queued = open_listener(listener_props()).await;
    let served = serve(queued.clone(), 1);

    let body = envelope(SOAP12, "", BODY);
    let request = format!(
        "POST /svc HTTP/1.1\r\nHost: x\r\nContent-Type: {SOAP12_CT}; action=\"{ACTION}\"\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (head, rest) = request.split_at(request.len() - 10);
    for (addr, pause) in [
        (host.local_addr().unwrap(), None),
        (host.local_addr().unwrap(), Some(Duration::from_millis(50))),
        (queued.local_addr().unwrap(), Some(Duration::from_millis(50))),
    ] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        if let Some(pause) = pause {
            // A slow peer: the server has read the head and started on the request.
            tokio::time::sleep(pause).await;
        }
        s.write_all(rest.as_bytes()).await.unwrap();
        s.shutdown().await.unwrap();
        let mut response = Vec::new();
        bounded!(s.read_to_end(&mut response)).unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 200 "), "pause {pause:?}: no reply after shutdown(Write): {text:?}");
        assert!(text.contains("echo"), "{text}");
    }
    assert_eq!(bounded!(served).unwrap().len(), 1);
    bounded!(host.close()).unwrap();
    bounded!(queued.close()).unwrap();
}

#[tokio::test]
async fn connections_over_the_per_ip_accept_rate_are_closed_right_after_accept() {
    let properties = ListenerProperties {
        accept_rate_per_ip: Some(soapwire::AcceptRate { per_second: 1, burst: 3, exempt_loopback: false }),
        ..ListenerProperties::default()
    };
    let listener = soapwire::Listener::new(properties);
    listener.open("http://127.0.0.1:0/echo").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut streams = Vec::new();
    for _ in 0..10 {
        streams.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut closed = 0;
    for s in &mut streams {
        let mut b = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(300), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 7, "a burst of 3 is accepted, the other 7 are closed");
    // The bucket refills: a second later one more is accepted.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut b = [0u8; 1];
    assert!(tokio::time::timeout(Duration::from_millis(300), s.read(&mut b)).await.is_err(), "kept open");
    listener.close().await.unwrap();
}
