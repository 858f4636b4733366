//! net.tcp interop: the `soapwire` binary against pynettcp, an independent Python
//! implementation of [MC-NMF] framing and [MC-NBFX]/[MC-NBFS] binary XML with the session
//! dictionary, written and tested byte for byte against WCF.
//!
//! - pynettcp's `Channel` (its WCF-compatible client) calls `soapwire serve echo --listen
//!   net.tcp://…`: several calls on one session (the session dictionaries grow on both
//!   sides), echoData as a binary `Bytes` record, a SOAP fault for an unknown action, and the
//!   `EndpointNotFound` framing fault for a wrong path;
//! - pynettcp's code generator (its `svcutil`) reads the service's metadata over net.tcp
//!   (WS-MetadataExchange at `…/mex`) and the typed client it generates calls every operation;
//! - `soapwire call net.tcp://…` calls a responder built on pynettcp's session codec
//!   (`interop/peers/nettcp/pynettcp_echo_server.py`), so our encoder is read by theirs and
//!   their encoder by ours;
//! - `soapwire call` against `soapwire serve echo` over net.tcp in each encoding and over a
//!   Unix socket (the CLI path end to end; not interop).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod support;

use support::{Peer, ScratchDir, peer_available, python_peer, start_pynettcp_echo_server, start_soapwire_serve};

const ECHO: &str = "http://example.org/echo/echo";

fn assert_ok(run: &support::Run, logs: &str) {
    assert!(
        run.status.success(),
        "{} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}\n{logs}",
        run.name,
        run.status,
        run.stdout,
        run.stderr
    );
}

#[test]
fn pynettcp_calls_serve_echo_over_a_binary_session() {
    if !peer_available(Peer::PyNetTcp) {
        return;
    }
    let (server, urls) = start_soapwire_serve(&["--listen", "net.tcp://127.0.0.1:0/echo"]);
    let url = &urls[0];
    assert!(url.starts_with("net.tcp://127.0.0.1:"), "{url}");
    let run = python_peer(
        "pynettcp client",
        "nettcp/pynettcp_echo_client.py",
        &[url, "--calls", "20", "--data-bytes", "30000", "--fault"],
    );
    assert_ok(&run, &server.logs());
    assert_eq!(run.stdout.lines().filter(|l| l.contains(": ok")).count(), 22, "{}", run.stdout);
}

#[test]
fn pynettcp_codegen_reads_metadata_over_net_tcp_and_its_generated_client_calls_every_operation() {
    if !peer_available(Peer::PyNetTcp) {
        return;
    }
    let (server, urls) = start_soapwire_serve(&["--listen", "net.tcp://127.0.0.1:0/echo"]);
    let scratch = ScratchDir::new("pynettcp-codegen");
    let out = scratch.path().to_string_lossy().into_owned();
    let run = python_peer("pynettcp codegen client", "nettcp/pynettcp_codegen_client.py", &[&urls[0], &out]);
    assert_ok(&run, &server.logs());
    assert!(run.stdout.contains(&format!("generated address: {}", urls[0])), "{}", run.stdout);
    assert_eq!(run.stdout.lines().filter(|l| l.contains(": ok")).count(), 4, "{}", run.stdout);
}

#[test]
fn pynettcp_sessions_in_parallel_each_get_their_own_dictionaries() {
    if !peer_available(Peer::PyNetTcp) {
        return;
    }
    let (server, urls) = start_soapwire_serve(&["--listen", "net.tcp://127.0.0.1:0/echo"]);
    let url = urls[0].clone();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                python_peer("pynettcp client", "nettcp/pynettcp_echo_client.py", &[&url, "--calls", "10"])
            })
        })
        .collect();
    for run in runs {
        assert_ok(&run.join().unwrap(), &server.logs());
    }
}

#[test]
fn pynettcp_gets_the_endpoint_not_found_framing_fault_for_a_wrong_path() {
    if !peer_available(Peer::PyNetTcp) {
        return;
    }
    let (server, urls) = start_soapwire_serve(&["--listen", "net.tcp://127.0.0.1:0/echo"]);
    let wrong = urls[0].replace("/echo", "/nothing-here");
    let run = python_peer(
        "pynettcp client",
        "nettcp/pynettcp_echo_client.py",
        &[&wrong, "--expect-framing-fault", "EndpointNotFound"],
    );
    assert_ok(&run, &server.logs());
}

#[test]
fn soapwire_call_reaches_a_responder_built_on_pynettcp_codecs() {
    if !peer_available(Peer::PyNetTcp) {
        return;
    }
    let scratch = ScratchDir::new("pynettcp-server");
    let (server, url) = start_pynettcp_echo_server(&scratch);
    let body = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>to pynettcp &amp; back, ü</e:message></e:echo>"#;
    let body_file = scratch.path().join("body.xml");
    std::fs::write(&body_file, body).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_soapwire"));
    cmd.args(["call", &url, "--action", ECHO, "--body"]).arg(&body_file);
    let run = support::run("soapwire call", cmd, None);
    assert_ok(&run, &server.logs());
    assert!(run.stdout.contains("<e:message>to pynettcp &amp; back, ü</e:message>"), "{}", run.stdout);
    assert!(run.stdout.contains("echoResponse"), "{}", run.stdout);
}

#[test]
fn soapwire_call_talks_to_serve_echo_in_every_session_encoding_and_over_unix_sockets() {
    let scratch = ScratchDir::new("session-cli");
    let socket = scratch.path().join("echo.sock");
    let unix = format!("net.unix://{}", socket.display());
    for encoding in ["binary-session", "binary", "text"] {
        let (server, urls) = start_soapwire_serve(&[
            "--listen",
            "net.tcp://127.0.0.1:0/echo",
            "--listen",
            &unix,
            "--encoding",
            encoding,
        ]);
        for url in &urls {
            let body_file = scratch.path().join("body.xml");
            std::fs::write(
                &body_file,
                r#"<e:echo xmlns:e="http://example.org/echo"><e:message>x</e:message></e:echo>"#,
            )
            .unwrap();
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_soapwire"));
            cmd.args(["call", url, "--action", ECHO, "--encoding", encoding, "--body"]).arg(&body_file);
            let run = support::run("soapwire call", cmd, None);
            assert_ok(&run, &server.logs());
            assert!(run.stdout.contains("<e:message>x</e:message>"), "{encoding} {url}: {}", run.stdout);
        }
        // A client in another encoding is refused with ContentTypeInvalid (exit 2, WS_E_NOT_SUPPORTED).
        let other = if encoding == "text" { "binary-session" } else { "text" };
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_soapwire"));
        cmd.args(["call", &urls[0], "--action", ECHO, "--encoding", other]);
        let run = support::run("soapwire call", cmd, None);
        assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
        assert!(run.stderr.contains("ContentTypeInvalid"), "{}", run.stderr);
        drop(server);
    }
}
