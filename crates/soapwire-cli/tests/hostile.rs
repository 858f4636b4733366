//! Hostile input to `soapwire serve echo`: every case gets a SOAP fault or an HTTP error within
//! the configured timeout, and the server keeps serving other clients throughout.
//!
//! The raw requests are written by hand on std sockets, so nothing here depends on soapwire's
//! own client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soapwire"))
        .args([
            "serve",
            "echo",
            "--listen",
            "http://127.0.0.1:0/echo",
            "--receive-timeout",
            "1",
            "--max-message-size",
            "65536",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn soapwire");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let addr = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
    Server { child, addr }
}

/// Sends raw bytes and returns (status code, whole response text), or None if the server
/// closed the connection without a response. Fails the test if nothing happens in 10 s.
fn exchange(addr: &str, request: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    read_response(&mut s)
}

fn read_response(s: &mut TcpStream) -> Option<(u16, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let started = Instant::now();
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if response_complete(&buf) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                panic!("no response within {:?}", started.elapsed())
            }
            Err(_) => break,
        }
    }
    if buf.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Some((status, text))
}

fn response_complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    match head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        Some(v) => buf.len() >= end + 4 + v.trim().parse::<usize>().unwrap_or(0),
        None => head.contains("transfer-encoding: chunked") && buf.ends_with(b"0\r\n\r\n"),
    }
}

fn post(addr: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST /echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nSOAPAction: \"http://example.org/echo/echo\"\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

const SOAP11: &str = "text/xml; charset=utf-8";

fn envelope(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{inner}</s:Body></s:Envelope>"#
    )
}

fn echo_works(addr: &str) {
    let body = envelope(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>still here</e:message></e:echo>"#);
    let (status, text) = exchange(addr, &post(addr, SOAP11, body.as_bytes())).expect("a response");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("still here"), "{text}");
}

#[test]
fn truncated_xml_gets_a_sender_fault() {
    let server = start_server();
    let body = &envelope(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo>"#)[..80];
    let (status, text) = exchange(&server.addr, &post(&server.addr, SOAP11, body.as_bytes())).expect("a response");
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("Fault") && text.contains("Client"), "{text}");
    echo_works(&server.addr);
}

#[test]
fn dtd_with_entities_is_refused_with_a_fault() {
    let server = start_server();
    let body = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><e:echo xmlns:e="http://example.org/echo"><e:message>&lol2;</e:message></e:echo></s:Body></s:Envelope>"#;
    let (status, text) = exchange(&server.addr, &post(&server.addr, SOAP11, body.as_bytes())).expect("a response");
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("Fault"), "{text}");
    assert!(!text.contains("lollol"), "entities must never be expanded: {text}");
    echo_works(&server.addr);
}

#[test]
fn body_over_the_quota_gets_a_quota_fault() {
    let server = start_server();
    let big = "A".repeat(200_000);
    let body = envelope(&format!(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>{big}</e:message></e:echo>"#));
    let t = Instant::now();
    // The over-quota body is drained (it is under the 4 MiB drain bound), so a client that
    // writes its whole request before reading gets the fault instead of a broken pipe.
    let (status, text) = exchange(&server.addr, &post(&server.addr, SOAP11, body.as_bytes())).expect("a response");
    assert_eq!(status, 500, "{}", &text[..text.len().min(600)]);
    assert!(text.contains("Fault") && text.contains("max_buffered_message_size"), "{}", &text[..text.len().min(600)]);
    assert!(t.elapsed() < Duration::from_secs(5));
    echo_works(&server.addr);
}

#[test]
fn wrong_content_type_gets_415() {
    let server = start_server();
    let (status, text) = exchange(&server.addr, &post(&server.addr, "application/json", b"{}")).expect("a response");
    assert_eq!(status, 415, "{text}");
    echo_works(&server.addr);
}

#[test]
fn header_block_over_the_quota_gets_431() {
    let server = start_server();
    let mut req = format!("POST /echo HTTP/1.1\r\nHost: {}\r\nContent-Type: {SOAP11}\r\n", server.addr);
    for i in 0..2000 {
        req.push_str(&format!("X-Filler-{i}: {}\r\n", "x".repeat(40)));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    let got = exchange(&server.addr, req.as_bytes());
    if let Some((status, text)) = got {
        assert_eq!(status, 431, "{}", &text[..text.len().min(300)]);
    }
    echo_works(&server.addr);
}

#[test]
fn client_that_stops_sending_halfway_is_cut_off_within_the_receive_timeout() {
    let server = start_server();
    let body = envelope(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo>"#);
    let mut req = post(&server.addr, SOAP11, body.as_bytes());
    req.truncate(req.len() - 40);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&req).unwrap();
    let t = Instant::now();
    // Meanwhile, other clients are served.
    echo_works(&server.addr);
    let got = read_response(&mut s);
    let waited = t.elapsed();
    assert!(waited < Duration::from_secs(5), "the stalled request held the server for {waited:?}");
    if let Some((status, _)) = got {
        assert!(status == 0 || status >= 400);
    }
    echo_works(&server.addr);
}

#[test]
fn wsdl_is_served_with_the_real_address() {
    let server = start_server();
    let req = format!("GET /echo?wsdl HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let (status, text) = exchange(&server.addr, req.as_bytes()).expect("a response");
    assert_eq!(status, 200);
    assert!(text.contains(&format!("location=\"http://{}/echo\"", server.addr)), "{text}");
    assert!(!text.contains("18081"));
}

#[test]
fn must_understand_header_not_understood_gets_a_must_understand_fault() {
    let server = start_server();
    let body = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><x:Secret xmlns:x="urn:unknown" s:mustUnderstand="1">?</x:Secret></s:Header><s:Body><e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo></s:Body></s:Envelope>"#;
    let (status, text) = exchange(&server.addr, &post(&server.addr, SOAP11, body.as_bytes())).expect("a response");
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("MustUnderstand"), "{text}");
    echo_works(&server.addr);
}

#[test]
fn unknown_action_gets_action_not_supported_even_with_a_known_body() {
    let server = start_server();
    let body = envelope(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo>"#);
    let req = post(&server.addr, SOAP11, body.as_bytes());
    let req = String::from_utf8(req).unwrap().replace("http://example.org/echo/echo", "http://example.org/echo/nope");
    let (status, text) = exchange(&server.addr, req.as_bytes()).expect("a response");
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("ActionNotSupported"), "{text}");
    echo_works(&server.addr);
}

#[test]
fn non_anonymous_reply_to_gets_a_fault_and_no_outbound_connection() {
    let server = start_server();
    // A loopback port that records whether anything connects to it.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let reply_to = format!("http://{}/steal", trap.local_addr().unwrap());
    let body = format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>http://example.org/echo/echo</a:Action><a:MessageID>urn:uuid:1</a:MessageID><a:ReplyTo><a:Address>{reply_to}</a:Address></a:ReplyTo></s:Header><s:Body><e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo></s:Body></s:Envelope>"#
    );
    let (status, text) = exchange(&server.addr, &post(&server.addr, SOAP11, body.as_bytes())).expect("a response");
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("OnlyAnonymousAddressSupported"), "{text}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(trap.accept().is_err(), "the server must never connect to the ReplyTo address");
    echo_works(&server.addr);
}
