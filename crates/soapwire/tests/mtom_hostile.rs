#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile MTOM input against a real [`Listener`]: each malformed or oversized message is
//! written by hand on a raw socket and must get a clear SOAP fault (or a closed connection)
//! within the configured time, the server must go on serving, and no file descriptor may
//! be left behind.
//!
//! Cases (issue 3, "Hostile input"): missing closing boundary, a boundary that never comes
//! within the preamble window, a part nothing references, a reference to a missing part, a
//! part over quota, too many parts, an envelope that is not the first part, an envelope part
//! over `max_buffered_message_size`, and a client that stalls in the middle of an attachment.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use soapwire::soapwire_proto::mime::MimeQuotas;
use soapwire::{Listener, ListenerProperties, ReplyChannel, Timeout, XmlWriter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BOUNDARY: &str = "soapwire_hostile_0123456789";
const BOUND: Duration = Duration::from_secs(15);

/// A listener whose handler reads every referenced attachment by Content-ID and answers
/// with their sizes, or faults with the error.
async fn server() -> (Arc<Listener>, std::net::SocketAddr) {
    let mut properties = ListenerProperties { any_envelope_version: true, ..ListenerProperties::default() };
    properties.channel.set_timeout(Timeout::Receive, Some(Duration::from_millis(800)));
    properties.channel.mime_quotas = MimeQuotas { max_part_size: 1 << 20, max_parts: 8, ..MimeQuotas::default() };
    let (listener, _) = common::serve_each(properties, "/h", handle).await;
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Reads every referenced attachment by Content-ID and answers with their sizes, or faults
/// with the error.
async fn handle(channel: ReplyChannel) {
    let mut request = channel.new_message();
    match channel.receive_message(&mut request).await {
        Ok(_) => {
            let mut sizes = Vec::new();
            let mut failure = None;
            for id in request.attachment_references().to_vec() {
                let read = async { request.attachment(&id).await?.to_bytes(1 << 22).await };
                match read.await {
                    Ok(b) => sizes.push(b.len()),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            // Drain what is left (e.g. a part nothing references).
            if failure.is_none() {
                if let Err(e) = request.next_attachment().await {
                    failure = Some(e);
                }
            }
            match failure {
                Some(e) => {
                    let _ = channel.send_fault_for_error(Some(&request), &e).await;
                }
                None => {
                    let mut reply = channel.new_message();
                    let mut w = XmlWriter::new();
                    w.start_element(None, "sizes");
                    w.namespace_decl(None, "urn:h");
                    w.text(&format!("{sizes:?}"));
                    w.end_element();
                    reply.initialize_reply(&request, "urn:h:reply", w.into_bytes()).unwrap();
                    let _ = channel.send_reply(&mut reply).await;
                }
            }
        }
        Err(e) => {
            let _ = channel.send_fault_for_error(None, &e).await;
        }
    }
    let _ = channel.close().await;
}

fn envelope(ids: &[&str]) -> String {
    let includes: String = ids
        .iter()
        .map(|id| format!(r#"<d><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:{id}"/></d>"#))
        .collect();
    format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><p xmlns="urn:h">{includes}</p></s:Body></s:Envelope>"#
    )
}

fn root_part(envelope: &str) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root@h>\r\n\r\n{envelope}"
    )
    .into_bytes()
}

fn part(id: &str, data: &[u8]) -> Vec<u8> {
    let mut p = format!(
        "\r\n--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{id}>\r\n\r\n"
    )
    .into_bytes();
    p.extend_from_slice(data);
    p
}

fn close() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

/// Sends `body` as an MTOM request and returns (status, response text), or `None` when the
/// server closed the connection without a response.
async fn post(addr: std::net::SocketAddr, body: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /h HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/related; type=\"application/xop+xml\"; boundary=\"{BOUNDARY}\"; start=\"<root@h>\"; start-info=\"application/soap+xml\"; action=\"urn:h\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before reading everything: ignore write errors.
    let _ = s.write_all(body).await;
    read_response(&mut s).await
}

async fn read_response(s: &mut TcpStream) -> Option<(u16, String)> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(BOUND, s.read_to_end(&mut out)).await.expect("no response in time");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[track_caller]
fn assert_fault(response: Option<(u16, String)>, status: u16, reason_contains: &str) {
    let (got, text) = response.expect("the server closed the connection without a fault");
    assert_eq!(got, status, "{text}");
    assert!(text.contains(reason_contains), "expected a fault mentioning {reason_contains:?}:\n{text}");
}

async fn still_serving(addr: std::net::SocketAddr) {
    let mut body = root_part(&envelope(&["ok@h"]));
    body.extend(part("ok@h", b"12345"));
    body.extend(close());
    let (status, text) = post(addr, &body).await.expect("a response");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("[5]"), "{text}");
}

#[tokio::test]
async fn hostile_mtom_messages_get_clear_faults_and_the_server_goes_on() {
    let (_listener, addr) = server().await;
    still_serving(addr).await;
    let fds_before = open_fds();

    // Missing closing boundary: the body ends inside the attachment.
    let mut body = root_part(&envelope(&["a@h"]));
    body.extend(part("a@h", b"data without an end"));
    assert_fault(post(addr, &body).await, 400, "closing boundary");

    // A boundary that never comes: 100 KiB of preamble, more than the 64 KiB window.
    let body = vec![b'x'; 100 * 1024];
    assert_fault(post(addr, &body).await, 400, "delimiter");

    // A part that nothing references.
    let mut body = root_part(&envelope(&[]));
    body.extend(part("stray@h", b"?"));
    body.extend(close());
    assert_fault(post(addr, &body).await, 400, "not referenced");

    // A reference to a missing part.
    let mut body = root_part(&envelope(&["missing@h"]));
    body.extend(close());
    assert_fault(post(addr, &body).await, 400, "missing@h");

    // A part over the 1 MiB quota.
    let mut body = root_part(&envelope(&["big@h"]));
    body.extend(part("big@h", &vec![0u8; (1 << 20) + 1]));
    body.extend(close());
    assert_fault(post(addr, &body).await, 400, "max_part_size");

    // Too many parts (the quota is 8, the root included).
    let ids: Vec<String> = (0..12).map(|i| format!("p{i}@h")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut body = root_part(&envelope(&refs));
    for id in &ids {
        body.extend(part(id, b"x"));
    }
    body.extend(close());
    assert_fault(post(addr, &body).await, 400, "parts");

    // The envelope is not the first part.
    let mut body =
        format!("--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-ID: <a@h>\r\n\r\nxx").into_bytes();
    body.extend(part("root@h", envelope(&["a@h"]).as_bytes()));
    body.extend(close());
    assert_fault(post(addr, &body).await, 400, "first");

    // An envelope part over max_buffered_message_size (64 KiB).
    let mut body = root_part(&format!("{}<!--{}-->", envelope(&[]), "x".repeat(70 * 1024)));
    body.extend(close());
    assert_fault(post(addr, &body).await, 400, "max_buffered_message_size");

    still_serving(addr).await;
    // Every connection above was closed by the server; give the tasks a moment to end.
    let deadline = Instant::now() + BOUND;
    while open_fds() > fds_before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(open_fds() <= fds_before, "file descriptors leaked: {} before, {} after", fds_before, open_fds());
}

#[tokio::test]
async fn a_client_that_stalls_inside_an_attachment_is_cut_off_by_the_receive_timeout() {
    let (_listener, addr) = server().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut body = root_part(&envelope(&["slow@h"]));
    body.extend(part("slow@h", b"first bytes, then nothing"));
    let head = format!(
        "POST /h HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/related; type=\"application/xop+xml\"; boundary=\"{BOUNDARY}\"; start=\"<root@h>\"; start-info=\"application/soap+xml\"\r\nContent-Length: {}\r\n\r\n",
        body.len() + 1000
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let started = Instant::now();
    let response = read_response(&mut s).await;
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    if let Some((status, text)) = response {
        assert!(status >= 400, "{text}");
        assert!(text.contains("within"), "a timeout fault: {text}");
    }
    still_serving(addr).await;
}
