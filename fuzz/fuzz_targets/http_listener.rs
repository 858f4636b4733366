//! HTTP request handling through the real `soapwire::Listener`: each input is written, as a
//! client would, to a fresh loopback TCP connection to a service-host listener on
//! `http://127.0.0.1:<port>/echo`, whose handler receives the request and echoes its body
//! (or answers with `send_fault_for_error`), then closes the channel.
//!
//! The listener, its tokio runtime (current thread: it runs only while an input is being
//! served) and a panic hook that aborts (so a panic inside a tokio task is a crash) are set up
//! once. Quotas are small: 16 KiB buffered messages, an 8 KiB header block, 200 ms receive and
//! header-read timeouts; any envelope version; a WSDL is published for `GET /echo?wsdl`.
//!
//! Input: byte 0 says how the rest is written (a slow peer): bits 0–1, in 1 to 3 writes
//! (0 and 1: one write); bits 2–3, 0 to 3 ms between writes; bits 4–6, where the first cut
//! falls (in eighths of the rest; a second cut halves what follows). Bit 7 says when the
//! write side is shut down: clear, right after the last write (a half-closing client); set,
//! once the first response bytes arrive or 10 ms pass (a client that waits for its answer).
//! The response is read until the server closes, for at most 1 s.
//!
//! Checks: no panic; the response is nothing or starts with `HTTP/1.1 ` (`HTTP/1.0 ` for an
//! HTTP/1.0 request, which hyper answers in kind) and a 3-digit status and a space; the
//! listener stays `Open`; every 64 inputs (and at the first) a fixed valid SOAP 1.1 echo
//! request (`Connection: close`, the write side left open) still gets `200` and its body
//! back, and the process's open descriptors have not grown by more than 64 since the listener
//! opened.
//!
//! With `HTTP_LISTENER_DEBUG` set, each response is printed (to see what a reproducer gets).
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use soapwire::{ChannelProperties, Listener, ListenerProperties, ListenerState, ReplyChannel, Timeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// How long the response to one input is read.
const READ_BOUND: Duration = Duration::from_secs(1);
/// With bit 7 of the control byte: how long the write side stays open waiting for a response.
const FIRST_BYTES_WAIT: Duration = Duration::from_millis(10);
/// The liveness check runs every this many inputs.
const CHECK_EVERY: u64 = 64;
/// How many more descriptors than at the start are tolerated at a liveness check.
const FD_SLACK: usize = 64;

const WSDL: &str = include_str!("../../interop/peers/common/echo.wsdl");
const ECHO_REPLY_ACTION: &str = "http://example.org/echo/echoResponse";
const ECHO11: &str = include_str!("../../interop/peers/common/echo11.xml");

struct Harness {
    runtime: Runtime,
    listener: Listener,
    addr: SocketAddr,
    inputs: AtomicU64,
    /// Open descriptors right after the listener opened.
    fds: usize,
    /// Inputs whose response was still open when `READ_BOUND` ran out.
    slow: AtomicU64,
    /// `HTTP_LISTENER_DEBUG` set: print each response (to see what a reproducer gets).
    debug: bool,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// The service: receive, echo the body (or the fault for the error), close.
async fn echo(channel: ReplyChannel) {
    let mut request = channel.new_message();
    match channel.receive_message(&mut request).await {
        Ok(true) => {
            let mut reply = channel.new_message();
            let sent = match reply.initialize_reply(&request, ECHO_REPLY_ACTION, request.body_xml_standalone()) {
                Ok(()) => channel.send_reply(&mut reply).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                let _ = channel.send_fault_for_error(Some(&request), &e).await;
            }
        }
        Ok(false) => {}
        Err(e) => {
            let _ = channel.send_fault_for_error(None, &e).await;
        }
    }
    let _ = channel.close().await;
}

fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            std::process::abort();
        }));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let mut channel = ChannelProperties::default();
        channel.max_buffered_message_size = 16 * 1024;
        channel.max_http_request_headers_buffer_size = 8 * 1024;
        channel.set_timeout(Timeout::Receive, Some(Duration::from_millis(200)));
        channel.set_timeout(Timeout::Send, Some(Duration::from_millis(500)));
        channel.set_timeout(Timeout::Close, Some(Duration::from_millis(500)));
        let properties = ListenerProperties {
            channel,
            header_read_timeout: Duration::from_millis(200),
            close_timeout: Duration::from_millis(500),
            any_envelope_version: true,
            ..ListenerProperties::default()
        };
        let listener = Listener::new(properties);
        listener.set_wsdl(WSDL);
        listener.set_handler(echo);
        runtime.block_on(listener.open("http://127.0.0.1:0/echo")).expect("the listener opens");
        let addr = listener.local_addr().expect("a bound address");
        let fds = open_fds();
        let debug = std::env::var_os("HTTP_LISTENER_DEBUG").is_some();
        Harness { runtime, listener, addr, inputs: AtomicU64::new(0), fds, slow: AtomicU64::new(0), debug }
    })
}

/// When the client shuts its write side down.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HalfClose {
    /// Right after the last write.
    AtOnce,
    /// Once the first response bytes arrive or `FIRST_BYTES_WAIT` passes.
    AfterFirstBytes,
    /// Never: the request asks the server to close (`Connection: close`).
    Never,
}

/// Writes `pieces` to a new connection (pausing between them), shuts the write side down as
/// `half_close` says, and reads what comes back until the server closes, within `READ_BOUND`.
/// The flag: the bound ran out.
async fn exchange(addr: SocketAddr, pieces: &[&[u8]], pause: Duration, half_close: HalfClose) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(addr).await.expect("connecting to the listener over loopback");
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 && !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        if stream.write_all(piece).await.is_err() {
            // The server closed the connection early (a 400, a 431): fine.
            break;
        }
    }
    let mut response = Vec::new();
    if half_close == HalfClose::AfterFirstBytes {
        let mut buf = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(FIRST_BYTES_WAIT, stream.read(&mut buf)).await {
            response.extend_from_slice(&buf[..n]);
        }
    }
    if half_close != HalfClose::Never {
        let _ = stream.shutdown().await;
    }
    let timed_out = tokio::time::timeout(READ_BOUND, stream.read_to_end(&mut response)).await.is_err();
    (response, timed_out)
}

fn check_response(response: &[u8]) {
    if response.is_empty() {
        return;
    }
    let head = String::from_utf8_lossy(&response[..response.len().min(64)]);
    assert!(
        response.len() >= 13
            && (response.starts_with(b"HTTP/1.1 ") || response.starts_with(b"HTTP/1.0 "))
            && response[9..12].iter().all(u8::is_ascii_digit)
            && response[12] == b' ',
        "not an HTTP/1.x status line: {head:?}"
    );
}

fn valid_request() -> Vec<u8> {
    let mut r = format!(
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: text/xml; charset=utf-8\r\n\
         SOAPAction: \"http://example.org/echo/echo\"\r\nContent-Length: {}\r\n\r\n",
        ECHO11.len()
    )
    .into_bytes();
    r.extend_from_slice(ECHO11.as_bytes());
    r
}

fn liveness(h: &Harness) {
    let request = valid_request();
    let (response, timed_out) = h.runtime.block_on(exchange(h.addr, &[&request], Duration::ZERO, HalfClose::Never));
    let text = String::from_utf8_lossy(&response);
    assert!(!timed_out, "the valid echo request got no complete response within {READ_BOUND:?}: {text:?}");
    assert!(text.starts_with("HTTP/1.1 200 "), "the valid echo request was not answered with 200: {text:?}");
    assert!(text.contains("hello, world"), "the echo reply lost the body: {text:?}");
    let mut fds = open_fds();
    if fds > h.fds + FD_SLACK {
        // Give connections that are closing a moment to finish.
        h.runtime.block_on(tokio::time::sleep(Duration::from_millis(500)));
        fds = open_fds();
    }
    assert!(fds <= h.fds + FD_SLACK, "descriptors grew from {} to {fds}", h.fds);
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let n = h.inputs.fetch_add(1, Ordering::Relaxed);
    if n % CHECK_EVERY == 0 {
        liveness(h);
    }
    let Some((&control, rest)) = data.split_first() else { return };
    let writes = match control & 3 {
        0 | 1 => 1,
        w => w as usize,
    };
    let pause = Duration::from_millis(u64::from((control >> 2) & 3));
    let first_cut = rest.len() * usize::from((control >> 4) & 7) / 8;
    let second_cut = first_cut + (rest.len() - first_cut) / 2;
    let pieces: Vec<&[u8]> = match writes {
        1 => vec![rest],
        2 => vec![&rest[..first_cut], &rest[first_cut..]],
        _ => vec![&rest[..first_cut], &rest[first_cut..second_cut], &rest[second_cut..]],
    };
    let half_close = if control & 0x80 != 0 { HalfClose::AfterFirstBytes } else { HalfClose::AtOnce };
    let (response, timed_out) = h.runtime.block_on(exchange(h.addr, &pieces, pause, half_close));
    if h.debug {
        eprintln!("http_listener: timed out: {timed_out}; response: {:?}", String::from_utf8_lossy(&response));
    }
    check_response(&response);
    if timed_out {
        let slow = h.slow.fetch_add(1, Ordering::Relaxed) + 1;
        if slow.is_power_of_two() {
            eprintln!("http_listener: {slow} input(s) so far kept the connection open past {READ_BOUND:?}");
        }
    }
    assert_eq!(h.listener.state(), ListenerState::Open, "the listener left Open");
});
