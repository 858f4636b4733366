//! The command line's contract: `demo` (the README's main job) succeeds on a bare machine, and
//! `call` prints the reply body (exit 0), a fault's reason and HRESULT (exit 1), or another
//! error with its HRESULT (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn soapwire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_soapwire"))
}

fn start_server() -> Server {
    start_server_with(&[])
}

fn start_server_with(extra: &[&str]) -> Server {
    let mut child = soapwire()
        .args(["serve", "echo", "--listen", "http://127.0.0.1:0/echo"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    Server { child, url }
}

fn call(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = soapwire()
        .arg("call")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

const ECHO: &str = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>from the cli</e:message></e:echo>"#;

#[test]
fn demo_runs_the_main_job_and_exits_zero() {
    let out = soapwire().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "Soap12 request/reply",
        "Soap11 request/reply",
        "reply identical",
        "SOAP fault",
        "0x803D0013",
        "discovery: directed Probe to soap.udp://127.0.0.1:",
        "(wsdp:Device)",
        "metadata: 'soapwire demo device' by soapwire, hosting EchoPortType",
        "listener closed",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn call_prints_the_reply_body_and_exits_zero() {
    let server = start_server();
    for version in ["--soap11", "--soap12"] {
        let out = call(&[&server.url, "--action", "http://example.org/echo/echo", version, "--body", "-"], Some(ECHO));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("echoResponse") && stdout.contains("from the cli"), "{stdout}");
    }
}

/// `--thread-per-core`: three threads, each with its own socket on the one port; every
/// connection (a `call` process each) is answered whichever thread the kernel picks.
#[cfg(target_os = "linux")]
#[test]
fn serve_echo_thread_per_core_answers_on_every_thread() {
    let server = start_server_with(&["--thread-per-core", "--worker-threads", "3"]);
    for _ in 0..6 {
        let out = call(&[&server.url, "--action", "http://example.org/echo/echo", "--body", "-"], Some(ECHO));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("from the cli"));
    }
}

#[test]
fn call_sends_a_whole_envelope_as_it_is() {
    let server = start_server();
    let envelope = format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{ECHO}</s:Body></s:Envelope>"#
    );
    let out = call(&[&server.url, "--action", "http://example.org/echo/echo", "--body", "-"], Some(&envelope));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("from the cli"));
}

#[test]
fn call_reports_a_fault_with_its_reason_and_hresult_and_exits_one() {
    let server = start_server();
    let out = call(&[&server.url, "--action", "http://example.org/echo/nope", "--body", "-"], Some(ECHO));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no operation for action"), "{stderr}");
    assert!(stderr.contains("0x803D0013") && stderr.contains("WS_E_ENDPOINT_FAULT_RECEIVED"), "{stderr}");
}

#[test]
fn call_to_a_closed_port_reports_endpoint_not_found_and_exits_two() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/echo");
    let out = call(&[&url, "--action", "http://example.org/echo/echo", "--body", "-"], Some(ECHO));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0x803D000D") && stderr.contains("WS_E_ENDPOINT_NOT_FOUND"), "{stderr}");
}

#[test]
fn call_with_a_bad_url_reports_invalid_endpoint_url() {
    let out = call(&["ftp://127.0.0.1/x", "--action", "urn:a"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0x803D0020"));
}
