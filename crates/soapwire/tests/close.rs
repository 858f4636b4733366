//! `WsCloseChannel` as the seed page (`shared/seeds/000_2821e2534d6d3211.txt`) documents it:
//! one test per sentence, on real loopback sockets. Where the exact timing of the peer
//! matters, the peer is a raw TCP fake that reads and writes bytes by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use soapwire::{
    ChannelProperties, ChannelState, EnvelopeVersion, ErrorKind, Listener, ListenerProperties, Message, ReplyChannel,
    RequestChannel, Timeout,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BODY: &str = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#;

fn reply_envelope() -> String {
    format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>{BODY}</s:Body></s:Envelope>"#
    )
}

fn http_reply() -> Vec<u8> {
    let body = reply_envelope();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads from `s` until the end of the HTTP request headers and (if any) a Content-Length body.
async fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A fake server that answers each request after `delay` (or never, with `None`).
async fn fake_server(delay: Option<Duration>) -> (String, tokio::task::JoinHandle<()>) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/svc", tcp.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = tcp.accept().await {
            tokio::spawn(async move {
                loop {
                    let req = read_request(&mut s).await;
                    if req.is_empty() {
                        return;
                    }
                    match delay {
                        Some(d) => {
                            tokio::time::sleep(d).await;
                            if s.write_all(&http_reply()).await.is_err() {
                                return;
                            }
                        }
                        None => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                    }
                }
            });
        }
    });
    (url, task)
}

fn props() -> ChannelProperties {
    let mut p = ChannelProperties::default();
    p.set_all_timeouts(Some(Duration::from_secs(10)));
    p
}

fn request(p: &ChannelProperties) -> Message {
    let mut m = Message::new(p.envelope_version, p.addressing_version);
    m.initialize_request("http://example.org/echo/echo", BODY).unwrap();
    m
}

// Sentence: "This operation is allowed only if the channel is in WS_CHANNEL_STATE_OPEN or
// WS_CHANNEL_STATE_FAULTED states."
#[tokio::test]
async fn close_is_invalid_operation_in_created_and_closed() {
    let channel = RequestChannel::new(props());
    let e = channel.close().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOperation);
    assert_eq!(e.hresult().0 as u32, 0x803D_0003);
    assert_eq!(channel.state(), ChannelState::Created);

    channel.open("http://127.0.0.1:9/x").await.unwrap();
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
    assert_eq!(channel.close().await.unwrap_err().kind(), ErrorKind::InvalidOperation);
}

#[tokio::test]
async fn close_is_allowed_in_faulted() {
    let channel = RequestChannel::new(props());
    channel.open("http://127.0.0.1:9/x").await.unwrap();
    channel.abort();
    assert_eq!(channel.state(), ChannelState::Faulted);
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
}

// Sentence: "The channel-closing process will wait for any already initiated, pending I/O to
// complete."
#[tokio::test]
async fn close_waits_for_pending_request_reply() {
    let (url, _server) = fake_server(Some(Duration::from_millis(400))).await;
    let p = props();
    let channel = Arc::new(RequestChannel::new(p.clone()));
    channel.open(&url).await.unwrap();
    let c2 = channel.clone();
    let pending = tokio::spawn(async move {
        let mut req = request(&c2.properties().clone());
        let mut reply = Message::new(EnvelopeVersion::Soap12, c2.properties().addressing_version);
        c2.request_reply(&mut req, &mut reply).await.map(|()| reply.body_xml().len())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    channel.close().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200), "close returned before the pending I/O completed");
    let body_len = pending.await.unwrap().expect("the pending request completed normally");
    assert!(body_len > 0);
    assert_eq!(channel.state(), ChannelState::Closed);
}

// Sentence: "If there are no messages currently being read or written for the channel, the
// channel attempts a graceful shutdown. Otherwise, all I/O still pending on the channel itself
// is aborted and the channel does a rude shutdown."
#[tokio::test]
async fn close_with_message_being_written_aborts_pending_io_rudely() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/svc", tcp.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut s, _) = tcp.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return seen,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
        }
    });
    let p = props();
    let channel = Arc::new(RequestChannel::new(p.clone()));
    channel.open(&url).await.unwrap();
    let mut msg = request(&p);
    channel.write_message_start(&mut msg).await.unwrap();
    channel.write_body(&msg, BODY).await.unwrap();
    // A receive pending on the channel while the message is still being written.
    let c2 = channel.clone();
    let pending = tokio::spawn(async move {
        let mut reply = Message::new(EnvelopeVersion::Soap12, c2.properties().addressing_version);
        c2.read_message_start(&mut reply).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
    let e = pending.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationAborted);
    assert_eq!(e.hresult().0 as u32, 0x803D_0004);
    // Rude: the server saw the chunked body start but never its terminating chunk.
    let seen = tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("<s:Body>"), "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "the request must not look complete: {text}");
}

#[tokio::test]
async fn close_with_no_message_in_progress_is_graceful() {
    let (url, _server) = fake_server(Some(Duration::ZERO)).await;
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&url).await.unwrap();
    let mut reply = Message::new(EnvelopeVersion::Soap12, p.addressing_version);
    channel.request_reply(&mut request(&p), &mut reply).await.unwrap();
    let t = Instant::now();
    channel.close().await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(channel.state(), ChannelState::Closed);
}

// Sentence: "If the channel attempts a graceful shutdown but encounters an error,
// WsCloseChannel will return an error, but the channel will still be closed."
#[tokio::test]
async fn graceful_close_error_is_returned_and_channel_still_closed() {
    let listener = Listener::new(ListenerProperties::default());
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let channel = ReplyChannel::new(&listener);
    let client = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let env = reply_envelope();
        let req = format!(
            "POST /svc HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{env}",
            env.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        s
    });
    listener.accept_channel(&channel).await.unwrap();
    let mut msg = channel.new_message();
    assert!(channel.receive_message(&mut msg).await.unwrap());
    // The client resets the connection before the server answers.
    let s = client.await.unwrap();
    s.set_zero_linger().unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // No reply was sent and nothing is being read or written: close is graceful (202), and
    // that fails on the reset connection.
    let e = channel.close().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EndpointDisconnected, "{e}");
    assert_eq!(channel.state(), ChannelState::Closed);
    listener.close().await.unwrap();
}

// Sentence (WsCloseChannel return values): WS_E_OPERATION_ABORTED "The channel closure was
// aborted by a call to WsAbortChannel while the channel was closing."
#[tokio::test]
async fn abort_while_closing_makes_close_return_operation_aborted() {
    let (url, _server) = fake_server(None).await;
    let p = props();
    let channel = Arc::new(RequestChannel::new(p.clone()));
    channel.open(&url).await.unwrap();
    let c2 = channel.clone();
    let pending = tokio::spawn(async move {
        let mut reply = Message::new(EnvelopeVersion::Soap12, c2.properties().addressing_version);
        c2.request_reply(&mut request(&c2.properties().clone()), &mut reply).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let c3 = channel.clone();
    let aborter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(c3.state(), ChannelState::Closing);
        c3.abort();
    });
    let e = channel.close().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationAborted, "{e}");
    assert_eq!(channel.state(), ChannelState::Closed);
    aborter.await.unwrap();
    assert_eq!(pending.await.unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
}

// Sentence: "Closing a channel automatically disassociates any messages that are in the
// process of being read or written. Therefore, it is not necessary to call WsAbandonMessage
// before calling WsCloseChannel."
#[tokio::test]
async fn close_disassociates_message_being_read_without_abandon() {
    let (url, _server) = fake_server(Some(Duration::ZERO)).await;
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&url).await.unwrap();
    channel.send_message(&mut request(&p)).await.unwrap();
    let mut reply = Message::new(EnvelopeVersion::Soap12, p.addressing_version);
    assert!(channel.read_message_start(&mut reply).await.unwrap());
    assert_eq!(reply.state(), soapwire::MessageState::Reading);
    channel.close().await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
    // The message is no longer associated: ending the read on the channel is refused, and the
    // message itself can be reset and reused.
    assert_eq!(channel.read_message_end(&mut reply).await.unwrap_err().kind(), ErrorKind::InvalidOperation);
    reply.reset();
    assert_eq!(reply.state(), soapwire::MessageState::Empty);
    // And the channel can be reset and used again.
    channel.reset().unwrap();
    channel.open(&url).await.unwrap();
    let mut again = Message::new(EnvelopeVersion::Soap12, p.addressing_version);
    channel.request_reply(&mut request(&p), &mut again).await.unwrap();
    channel.close().await.unwrap();
}

// The close timeout (WS_CHANNEL_PROPERTY_CLOSE_TIMEOUT) bounds close.
#[tokio::test]
async fn close_is_bounded_by_the_close_timeout() {
    let (url, _server) = fake_server(None).await;
    let mut p = props();
    p.set_timeout(Timeout::Close, Some(Duration::from_millis(300)));
    let channel = Arc::new(RequestChannel::new(p.clone()));
    channel.open(&url).await.unwrap();
    let c2 = channel.clone();
    let pending = tokio::spawn(async move {
        let mut reply = Message::new(EnvelopeVersion::Soap12, c2.properties().addressing_version);
        c2.request_reply(&mut request(&c2.properties().clone()), &mut reply).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    let e = channel.close().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationTimedOut, "{e}");
    assert_eq!(e.hresult().0 as u32, 0x803D_0006);
    assert!(t.elapsed() < Duration::from_secs(3), "close took {:?}", t.elapsed());
    assert_eq!(channel.state(), ChannelState::Closed);
    assert_eq!(pending.await.unwrap().unwrap_err().kind(), ErrorKind::OperationAborted);
}

#[tokio::test]
async fn abandon_message_checks_state_and_message() {
    let (url, _server) = fake_server(Some(Duration::ZERO)).await;
    let p = props();
    let channel = RequestChannel::new(p.clone());
    let stranger = Message::new(EnvelopeVersion::Soap12, p.addressing_version);
    assert_eq!(channel.abandon_message(&stranger).unwrap_err().kind(), ErrorKind::InvalidOperation);
    channel.open(&url).await.unwrap();
    let e = channel.abandon_message(&stranger).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(e.hresult().0 as u32, 0x8007_0057);
    channel.send_message(&mut request(&p)).await.unwrap();
    let mut reply = Message::new(EnvelopeVersion::Soap12, p.addressing_version);
    assert!(channel.read_message_start(&mut reply).await.unwrap());
    channel.abandon_message(&reply).unwrap();
    // Abandoned: nothing is being read any more, so close is graceful.
    channel.close().await.unwrap();
}

#[tokio::test]
async fn dropping_an_open_channel_aborts_it() {
    // Server side: an accepted reply channel dropped without close drops the connection, so
    // the client learns at once instead of waiting for its timeout.
    let listener = Listener::new(ListenerProperties::default());
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    let url = listener.url().unwrap();
    let client = RequestChannel::new(props());
    client.open(&url).await.unwrap();
    let t = Instant::now();
    let call = tokio::spawn(async move { client.call("urn:a", BODY).await.map(|_| ()) });
    let server_side = ReplyChannel::new(&listener);
    listener.accept_channel(&server_side).await.unwrap();
    drop(server_side);
    let e = call.await.unwrap().unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(e.kind(), ErrorKind::EndpointDisconnected, "{e}");

    // Client side: a channel dropped mid-write leaves the server with an incomplete request.
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/svc", tcp.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut s, _) = tcp.accept().await.unwrap();
        let mut seen = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut seen)).await;
        seen
    });
    let p = props();
    let channel = RequestChannel::new(p.clone());
    channel.open(&url).await.unwrap();
    let mut msg = request(&p);
    channel.write_message_start(&mut msg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(channel);
    let seen = server.await.unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("POST /svc"), "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "{text}");
}

#[tokio::test]
async fn listener_close_aborts_pending_accepts_and_abort_faults_later_accepts() {
    let listener = Arc::new(Listener::new(ListenerProperties::default()));
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    let l2 = listener.clone();
    let pending = tokio::spawn(async move {
        let ch = ReplyChannel::new(&l2);
        let r = l2.accept_channel(&ch).await;
        (r, ch.state())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    listener.close().await.unwrap();
    let (r, state) = pending.await.unwrap();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationAborted);
    assert_eq!(state, ChannelState::Faulted);

    listener.reset().unwrap();
    listener.open("http://127.0.0.1:0/svc").await.unwrap();
    listener.abort();
    assert_eq!(listener.state(), soapwire::ListenerState::Faulted);
    let ch = ReplyChannel::new(&listener);
    let e = listener.accept_channel(&ch).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ObjectFaulted);
    assert_eq!(e.hresult().0 as u32, 0x803D_0001);
}
