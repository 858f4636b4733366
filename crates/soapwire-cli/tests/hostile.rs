//! Hostile input and hostile peers against `soapwire serve echo`: every case gets a SOAP fault,
//! an HTTP error or a closed connection within the configured timeout, the server keeps
//! serving other clients throughout, and the hostile-peer cases count the server's open file
//! descriptors before and after (`/proc/PID/fd`): nothing may be left behind.
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
    start_server_with(&[])
}

/// `soapwire serve echo` on a free port with a 1 s receive timeout, a 64 KiB message quota
/// and the `extra` flags.
fn start_server_with(extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soapwire"))
        .args(["serve", "echo", "--listen", "http://127.0.0.1:0/echo", "--receive-timeout", "1"])
        .args(if extra.contains(&"--max-message-size") { &[][..] } else { &["--max-message-size", "65536"][..] })
        .args(extra)
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

// ---------------------------------------------------------------------------------------------
// Hostile peers (issue 7): idle, slow, half-closed and resetting connections, XML bombs,
// duplicate and conflicting headers. Each also checks that no descriptor is leaked.

impl Server {
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map(|d| d.count()).unwrap_or(0)
    }

    /// Waits (up to 5 s) until the server holds no more descriptors than `baseline`.
    fn assert_fds_back_to(&self, baseline: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = self.open_fds();
            if now <= baseline {
                return;
            }
            if Instant::now() > deadline {
                panic!("{what}: the server holds {now} descriptors, {baseline} before");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Reads until the peer closes (Ok(0) or an error) or `limit` passes; returns when it closed.
fn wait_closed(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[test]
fn connections_opened_and_never_used_are_closed_after_the_header_read_timeout() {
    let server = start_server_with(&["--header-read-timeout", "1"]);
    echo_works(&server.addr);
    let baseline = server.open_fds();
    let mut idle: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(&server.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let holding = server.open_fds();
    assert!(holding >= baseline + 25, "the server holds the idle connections: {holding} fds, {baseline} before");
    echo_works(&server.addr);
    for s in &mut idle {
        let closed = wait_closed(s, Duration::from_secs(5)).expect("an idle connection was kept past the timeout");
        assert!(closed < Duration::from_secs(4), "closed after {closed:?}");
    }
    server.assert_fds_back_to(baseline, "idle connections");
    echo_works(&server.addr);
}

#[test]
fn slowloris_headers_are_cut_off_at_the_header_read_timeout() {
    let server = start_server_with(&["--header-read-timeout", "1"]);
    echo_works(&server.addr);
    let baseline = server.open_fds();
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let mut cut_after = None;
    for _ in 0..100 {
        // One header byte every 100 ms: always sending, never finishing.
        if slow.write_all(b"X").is_err() {
            cut_after = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() > Duration::from_secs(1) {
            if let Some(t) = wait_closed(&mut slow, Duration::from_millis(1)) {
                cut_after = Some(started.elapsed().max(t));
                break;
            }
        }
    }
    let cut_after = cut_after.expect("the slowloris client was never cut off");
    assert!(cut_after < Duration::from_secs(4), "cut off only after {cut_after:?}");
    echo_works(&server.addr);
    server.assert_fds_back_to(baseline, "slowloris");
}

#[test]
fn a_half_closed_client_still_gets_its_reply() {
    let server = start_server();
    let body = envelope(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>half closed</e:message></e:echo>"#);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&post(&server.addr, SOAP11, body.as_bytes())).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let (status, text) = read_response(&mut s).expect("a response after shutdown(Write)");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("half closed"), "{text}");
}

#[test]
fn peers_that_reset_mid_message_leave_nothing_behind() {
    let server = start_server();
    echo_works(&server.addr);
    let baseline = server.open_fds();
    let body = envelope(&format!(
        r#"<e:echo xmlns:e="http://example.org/echo"><e:message>{}</e:message></e:echo>"#,
        "y".repeat(20_000)
    ));
    let request = post(&server.addr, SOAP11, body.as_bytes());
    for cut in [10, 60, request.len() / 2, request.len() - 1] {
        for _ in 0..5 {
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            let addr: std::net::SocketAddr = server.addr.parse().unwrap();
            s.connect(&addr.into()).unwrap();
            let mut s: TcpStream = s.into();
            s.write_all(&request[..cut]).unwrap();
            // SO_LINGER 0: close sends RST instead of FIN.
            socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
            drop(s);
        }
    }
    echo_works(&server.addr);
    server.assert_fds_back_to(baseline, "resets mid-message");
}

#[test]
fn xml_bombs_get_faults_and_the_server_serves_on() {
    let server = start_server_with(&["--max-message-size", "1048576"]);
    let baseline = server.open_fds();
    let deep = format!("{}{}", "<a>".repeat(50_000), "</a>".repeat(50_000));
    let attrs: String = (0..20_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let namespaces: String = (0..20_000).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect();
    let long_name = "n".repeat(200_000);
    let bombs = [
        ("deep nesting", envelope(&deep)),
        ("20,000 attributes", envelope(&format!("<e:echo xmlns:e=\"http://example.org/echo\"{attrs}/>"))),
        ("20,000 namespace declarations", envelope(&format!("<e:echo xmlns:e=\"http://example.org/echo\"{namespaces}/>"))),
        ("a 200 KB element name", envelope(&format!("<{long_name}/>"))),
        ("a 200 KB attribute name", envelope(&format!("<e:echo xmlns:e=\"http://example.org/echo\" {long_name}=\"v\"/>"))),
        (
            "billion laughs",
            r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&c;</s:Body></s:Envelope>"#.to_owned(),
        ),
    ];
    for (what, body) in bombs {
        let started = Instant::now();
        let (status, text) = exchange(&server.addr, &post(&server.addr, SOAP11, body.as_bytes())).expect(what);
        assert!(status == 400 || status == 500, "{what}: {status} {}", &text[..text.len().min(300)]);
        assert!(text.contains("Fault"), "{what}: {}", &text[..text.len().min(300)]);
        assert!(started.elapsed() < Duration::from_secs(5), "{what} took {:?}", started.elapsed());
        echo_works(&server.addr);
    }
    server.assert_fds_back_to(baseline, "XML bombs");
}

#[test]
fn duplicate_addressing_headers_get_a_fault() {
    let server = start_server();
    for dup in ["Action", "MessageID", "To"] {
        let value = if dup == "Action" { "http://example.org/echo/echo" } else { "urn:uuid:1" };
        let body = format!(
            r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>http://example.org/echo/echo</a:Action><a:{dup}>{value}</a:{dup}><a:{dup}>{value}x</a:{dup}></s:Header><s:Body><e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo></s:Body></s:Envelope>"#
        );
        let body = body.replacen("<a:Action>http://example.org/echo/echo</a:Action>", "", usize::from(dup == "Action"));
        let (status, text) = exchange(&server.addr, &post(&server.addr, SOAP11, body.as_bytes())).expect(dup);
        assert_eq!(status, 500, "two {dup} headers: {text}");
        assert!(text.contains("Fault"), "{dup}: {text}");
    }
    echo_works(&server.addr);
}

#[test]
fn conflicting_http_framing_headers_are_refused() {
    let server = start_server();
    let baseline = server.open_fds();
    let body = envelope(r#"<e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo>"#);
    let n = body.len();
    let addr = &server.addr;
    let requests = [
        format!(
            "POST /echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {SOAP11}\r\nContent-Length: {n}\r\nContent-Length: {}\r\n\r\n{body}",
            n + 5
        ),
        format!(
            "POST /echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {SOAP11}\r\nContent-Length: {n}\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        ),
        format!("POST /echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {SOAP11}\r\nContent-Length: -1\r\n\r\n{body}"),
        format!(
            "POST /echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {SOAP11}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{body}\r\n0\r\n\r\n"
        ),
    ];
    for request in requests {
        // Closed without a response is also a refusal.
        if let Some((status, text)) = exchange(addr, request.as_bytes()) {
            assert!(status >= 400, "{request}\n-> {text}");
        }
    }
    echo_works(addr);
    server.assert_fds_back_to(baseline, "conflicting framing");
}
