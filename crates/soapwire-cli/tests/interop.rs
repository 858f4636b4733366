//! Interop tests: the `soapwire` binary against real third-party SOAP stacks, all on 127.0.0.1.
//!
//! - gSOAP, zeep and node-soap clients call `soapwire serve echo`;
//! - `soapwire call` calls the gSOAP and node-soap echo servers;
//! - MTOM (XOP attachments, streamed): the gSOAP and node-soap clients send MTOM echoData to
//!   soapwire and check its MTOM reply, zeep decodes the MTOM reply of `serve echo --mtom`, and
//!   `soapwire call --attach … --save-attachments …` sends MTOM to the gSOAP `-m` server. Sizes
//!   from 0 bytes to 64 MiB, compared byte for byte.
//!
//! The contract is `interop/peers/common/echo.wsdl` (`echo(message)`, `echoData(base64)`).
//! The peers are installed by `interop/peers/install_all.sh` into `$PEERS_PREFIX`
//! (default `/opt/soap-peers`); `cargo xtask test` does that and sets `SOAPWIRE_REQUIRE_PEERS=1`,
//! so a missing peer fails instead of skipping. Harness details: `support/mod.rs`.
//!
//! The `peer_selfcheck_*` tests (ignored by default) run the same scenarios between the peers
//! themselves, with no soapwire involved: when an interop test fails, they tell a broken peer
//! install from a soapwire bug. Run them with
//! `cargo test -p soapwire-cli --test interop -- --ignored peer_selfcheck`.

mod support;

use std::ffi::OsString;
use std::time::Duration;

use support::{
    ACTION_ECHO, ACTION_ECHO_DATA, BodyVia, DATA_LEN, EchoServer, LARGE_MESSAGES, MESSAGE, MESSAGE_NON_ASCII, MIB,
    Peer, Run, ScratchDir, Soap, assert_echo_data_include_reply, assert_echo_data_reply, assert_echo_reply,
    compare_bytes, echo_body, echo_data_body, echo_data_include_body, element_text, gsoap_client, header_value,
    http_request, node_soap_client, payload, peer_available, saved_attachment_name, soap_post, soapwire_call,
    soapwire_call_with, start_gsoap_echo, start_gsoap_mtom_echo, start_node_soap_echo, start_soapwire_echo,
    start_soapwire_echo_with, zeep_client,
};

// ---------------------------------------------------------------------------------------------
// Scenarios, each against any echo server

/// gSOAP `echo_client -m MESSAGE [-2]`: prints the echoed message.
fn gsoap_echo(server: &EchoServer, soap: Soap) {
    match soap {
        Soap::V11 => gsoap_client(&server.url11, &["-m", MESSAGE]),
        Soap::V12 => gsoap_client(&server.url12, &["-2", "-m", MESSAGE]),
    }
    .assert_stdout_is(MESSAGE, &[server]);
}

/// gSOAP `echo_client -d 65536 -I`: echoData with inline base64; the client compares the bytes
/// and prints `echoData ok: 65536 bytes (reply inline, id=- type=-)`.
fn gsoap_echo_data_inline(server: &EchoServer) {
    let n = DATA_LEN.to_string();
    gsoap_client(&server.url11, &["-d", &n, "-I"])
        .assert_line_starting(&format!("echoData ok: {n} bytes (reply inline"), &[server]);
}

/// gSOAP `echo_client -A`: WS-Addressing 1.0 request (MessageID, To, Action, ReplyTo
/// anonymous); the reply must carry RelatesTo (the client prints
/// `wsa: RelatesTo=urn:uuid:… Action=…`).
fn gsoap_ws_addressing(server: &EchoServer) {
    let run = gsoap_client(&server.url11, &["-A", "-m", MESSAGE]);
    assert_eq!(
        run.assert_success(&[server]).stdout.lines().next(),
        Some(MESSAGE),
        "echoed message\n{}",
        run.report(&[server])
    );
    run.assert_line_starting("wsa: RelatesTo=urn:uuid:", &[server]);
}

/// zeep `--message TEXT [--soap12]`: prints the echoed message.
fn zeep_echo(server: &EchoServer, soap: Soap, message: &str) {
    match soap {
        Soap::V11 => zeep_client(&server.url11, &["--message", message]),
        Soap::V12 => zeep_client(&server.url12, &["--soap12", "--message", message]),
    }
    .assert_stdout_is(message, &[server]);
}

/// zeep `--data 65536`: echoData (inline base64); zeep compares the bytes.
fn zeep_echo_data(server: &EchoServer) {
    let n = DATA_LEN.to_string();
    zeep_client(&server.url11, &["--data", &n]).assert_stdout_is(&format!("echoData ok: {n} bytes"), &[server]);
}

/// node-soap `client.sh --message TEXT [--soap12]`: prints the echoed message.
fn node_soap_echo(server: &EchoServer, soap: Soap, message: &str) {
    match soap {
        Soap::V11 => node_soap_client(&server.url11, &["--message", message]),
        Soap::V12 => node_soap_client(&server.url12, &["--soap12", "--message", message]),
    }
    .assert_stdout_is(message, &[server]);
}

/// node-soap `client.sh --data 65536`: echoData (inline base64); node-soap compares the bytes.
fn node_soap_echo_data(server: &EchoServer) {
    let n = DATA_LEN.to_string();
    node_soap_client(&server.url11, &["--data", &n])
        .assert_stdout_is(&format!("echoData ok: {n} bytes (request inline base64, reply inline)"), &[server]);
}

/// `soapwire call … --action …/echo` with the body on stdin; the reply's message must be exact.
fn soapwire_call_echo(server: &EchoServer, soap: Soap, message: &str) {
    let url = match soap {
        Soap::V11 => &server.url11,
        Soap::V12 => &server.url12,
    };
    let run = soapwire_call(url, ACTION_ECHO, soap, &echo_body(message), BodyVia::Stdin);
    assert_echo_reply(&run, message, &[server]);
}

/// `soapwire call … --action …/echoData --body FILE` with 64 KiB of inline base64; the
/// decoded reply must equal the payload byte for byte.
fn soapwire_call_echo_data(server: &EchoServer, soap: Soap) {
    let url = match soap {
        Soap::V11 => &server.url11,
        Soap::V12 => &server.url12,
    };
    let data = payload(DATA_LEN);
    let run = soapwire_call(url, ACTION_ECHO_DATA, soap, &echo_data_body(&data), BodyVia::File);
    assert_echo_data_reply(&run, &data, &[server]);
}

// ---------------------------------------------------------------------------------------------
// MTOM scenarios

/// The largest MTOM payload (64 MiB).
const MTOM_MAX: usize = 64 * MIB;

/// How long one MTOM exchange of [`MTOM_MAX`] bytes may take. On loopback it takes about a second
/// (debug build, two CPUs, the other tests running); far more means the bytes are copied or
/// scanned over and over, which a plain deadline ([`support::TIMEOUT`]) would let pass.
const MTOM_MAX_TIME: Duration = Duration::from_secs(10);

/// `serve echo` flags for the zeep MTOM tests: zeep sends the data as inline base64, 1 MiB of
/// it is about 1.4 MB of envelope, over the default `--max-message-size` (64 KiB) and over
/// [`LARGE_MESSAGES`]; the reply is MTOM.
const MTOM_REPLY_TO_INLINE: &[&str] = &["--mtom", "--max-message-size", "4194304"];

/// Panics if `run` took longer than [`MTOM_MAX_TIME`] (for the [`MTOM_MAX`] transfers).
fn assert_fast(run: &Run, servers: &[&EchoServer]) {
    eprintln!("{}: {MTOM_MAX} bytes echoed in {:.2?}", run.name, run.elapsed);
    assert!(
        run.elapsed <= MTOM_MAX_TIME,
        "{} bytes over loopback took {:.2?}, more than {MTOM_MAX_TIME:?}\n{}",
        MTOM_MAX,
        run.elapsed,
        run.report(servers)
    );
}

/// gSOAP `echo_client -d N [-2]`: echoData with the N bytes as an MTOM attachment; the client
/// compares the bytes it gets back and prints `echoData ok: N bytes (reply MTOM, id=… type=…)`.
/// The reply must be MTOM too.
fn gsoap_echo_data_mtom(server: &EchoServer, soap: Soap, len: usize) -> Run {
    let n = len.to_string();
    let run = match soap {
        Soap::V11 => gsoap_client(&server.url11, &["-d", &n]),
        Soap::V12 => gsoap_client(&server.url12, &["-2", "-d", &n]),
    };
    run.assert_line_starting(&format!("echoData ok: {n} bytes (reply MTOM, id="), &[server]);
    run
}

/// The server answers an inline base64 echoData with MTOM (`multipart/related`,
/// `type="application/xop+xml"`): checked with a raw POST, since zeep does not say how the
/// reply it decoded came.
fn assert_answers_inline_with_mtom(server: &EchoServer) {
    let resp = soap_post(&server.url11, Soap::V11, ACTION_ECHO_DATA, &echo_data_body(&payload(16)))
        .unwrap_or_else(|e| panic!("POST {}: {e}\n{}", server.url11, server.logs()));
    let content_type = header_value(&resp.headers, "Content-Type").unwrap_or_default().to_ascii_lowercase();
    assert!(
        resp.status == 200
            && content_type.starts_with("multipart/related")
            && content_type.contains("application/xop+xml"),
        "an inline echoData request did not get an MTOM reply\n{}\n{}",
        resp.headers,
        server.logs()
    );
}

/// zeep `--data N` against a server that always answers echoData with MTOM: zeep sends inline
/// base64 (it cannot send MTOM), decodes the XOP reply and compares the bytes.
fn zeep_echo_data_mtom_reply(server: &EchoServer, sizes: &[usize]) {
    assert_answers_inline_with_mtom(server);
    for len in sizes {
        let n = len.to_string();
        zeep_client(&server.url11, &["--data", &n]).assert_stdout_is(&format!("echoData ok: {n} bytes"), &[server]);
    }
}

/// node-soap `client.sh --data N --mtom` (SOAP 1.1): the data goes as an MTOM attachment
/// (`forceMTOM`, Content-ID `att1@example.org`, so the href is `cid:att1%40example.org`);
/// node-soap parses the MTOM reply and compares the bytes.
fn node_soap_echo_data_mtom(server: &EchoServer, sizes: &[usize]) {
    for len in sizes {
        let n = len.to_string();
        node_soap_client(&server.url11, &["--data", &n, "--mtom"])
            .assert_stdout_is(&format!("echoData ok: {n} bytes (request MTOM, reply MTOM)"), &[server]);
    }
}

/// `soapwire call … --action …/echoData --body FILE --attach NAME=PAYLOAD --save-attachments
/// DIR`: the request is MTOM with the data as the attachment NAME; the reply's data must be an
/// `xop:Include`, and the one file saved for it must equal the payload byte for byte.
fn soapwire_call_echo_data_mtom(server: &EchoServer, soap: Soap, len: usize) -> Run {
    const NAME: &str = "payload@interop.soapwire.test";
    let url = match soap {
        Soap::V11 => &server.url11,
        Soap::V12 => &server.url12,
    };
    let scratch = ScratchDir::new("mtom-call");
    let data = payload(len);
    let sent = scratch.path().join("payload.bin");
    std::fs::write(&sent, &data).unwrap_or_else(|e| panic!("write {}: {e}", sent.display()));
    let saved_dir = scratch.path().join("saved");
    let mut attach = OsString::from(format!("{NAME}="));
    attach.push(&sent);
    let extra = ["--attach".into(), attach, "--save-attachments".into(), saved_dir.clone().into_os_string()];
    let run = soapwire_call_with(url, ACTION_ECHO_DATA, soap, &echo_data_include_body(NAME), BodyVia::File, &extra);
    let content_id = assert_echo_data_include_reply(&run, &[server]);

    let files: Vec<_> = std::fs::read_dir(&saved_dir)
        .unwrap_or_else(|e| panic!("read {}: {e}\n{}", saved_dir.display(), run.report(&[server])))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("read {}: {e}", saved_dir.display()));
    let expected = saved_dir.join(saved_attachment_name(&content_id));
    assert_eq!(
        files,
        std::slice::from_ref(&expected),
        "expected exactly the file for Content-ID {content_id:?} in {}\n{}",
        saved_dir.display(),
        run.report(&[server])
    );
    let note = format!("saved {} ({len} bytes)", expected.display());
    assert!(run.stderr.lines().any(|l| l.trim_end() == note), "no `{note}` line on stderr\n{}", run.report(&[server]));
    let got = std::fs::read(&expected).unwrap_or_else(|e| panic!("read {}: {e}", expected.display()));
    if let Err(why) = compare_bytes(&got, &data) {
        panic!("the saved attachment {}: {why}\n{}", expected.display(), run.report(&[server]));
    }
    run
}

// ---------------------------------------------------------------------------------------------
// gSOAP client -> soapwire server

#[test]
fn gsoap_client_calls_soapwire_soap11_echo() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    gsoap_echo(&start_soapwire_echo(), Soap::V11);
}

#[test]
fn gsoap_client_calls_soapwire_soap12_echo() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    gsoap_echo(&start_soapwire_echo(), Soap::V12);
}

#[test]
fn gsoap_client_calls_soapwire_echo_data_64k_inline() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    gsoap_echo_data_inline(&start_soapwire_echo_with(LARGE_MESSAGES));
}

#[test]
fn gsoap_client_calls_soapwire_ws_addressing_reply_has_relates_to() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    gsoap_ws_addressing(&start_soapwire_echo());
}

#[test]
fn gsoap_client_calls_soapwire_soap11_echo_data_mtom_small() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_soapwire_echo();
    for len in [0, 1, DATA_LEN] {
        gsoap_echo_data_mtom(&server, Soap::V11, len);
    }
}

#[test]
fn gsoap_client_calls_soapwire_soap12_echo_data_mtom_small() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_soapwire_echo();
    for len in [0, 1, DATA_LEN] {
        gsoap_echo_data_mtom(&server, Soap::V12, len);
    }
}

#[test]
fn gsoap_client_calls_soapwire_soap11_echo_data_mtom_10m() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    gsoap_echo_data_mtom(&start_soapwire_echo(), Soap::V11, 10 * MIB);
}

#[test]
fn gsoap_client_calls_soapwire_soap12_echo_data_mtom_10m() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    gsoap_echo_data_mtom(&start_soapwire_echo(), Soap::V12, 10 * MIB);
}

#[test]
fn gsoap_client_calls_soapwire_soap11_echo_data_mtom_64m() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_soapwire_echo();
    assert_fast(&gsoap_echo_data_mtom(&server, Soap::V11, MTOM_MAX), &[&server]);
}

#[test]
fn gsoap_client_calls_soapwire_soap12_echo_data_mtom_64m() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_soapwire_echo();
    assert_fast(&gsoap_echo_data_mtom(&server, Soap::V12, MTOM_MAX), &[&server]);
}

// ---------------------------------------------------------------------------------------------
// zeep client -> soapwire server

#[test]
fn zeep_client_calls_soapwire_soap11_echo() {
    if !peer_available(Peer::Zeep) {
        return;
    }
    zeep_echo(&start_soapwire_echo(), Soap::V11, MESSAGE);
}

#[test]
fn zeep_client_calls_soapwire_soap12_echo() {
    if !peer_available(Peer::Zeep) {
        return;
    }
    zeep_echo(&start_soapwire_echo(), Soap::V12, MESSAGE);
}

#[test]
fn zeep_client_calls_soapwire_echo_data_64k() {
    if !peer_available(Peer::Zeep) {
        return;
    }
    zeep_echo_data(&start_soapwire_echo_with(LARGE_MESSAGES));
}

#[test]
fn zeep_client_calls_soapwire_non_ascii_echo() {
    if !peer_available(Peer::Zeep) {
        return;
    }
    zeep_echo(&start_soapwire_echo(), Soap::V11, MESSAGE_NON_ASCII);
}

#[test]
fn zeep_client_decodes_soapwire_mtom_reply() {
    if !peer_available(Peer::Zeep) {
        return;
    }
    zeep_echo_data_mtom_reply(&start_soapwire_echo_with(MTOM_REPLY_TO_INLINE), &[0, 1000, MIB]);
}

// ---------------------------------------------------------------------------------------------
// node-soap client -> soapwire server

#[test]
fn node_soap_client_calls_soapwire_soap11_echo() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    node_soap_echo(&start_soapwire_echo(), Soap::V11, MESSAGE);
}

#[test]
fn node_soap_client_calls_soapwire_soap12_echo() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    node_soap_echo(&start_soapwire_echo(), Soap::V12, MESSAGE);
}

#[test]
fn node_soap_client_calls_soapwire_echo_data_64k() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    node_soap_echo_data(&start_soapwire_echo_with(LARGE_MESSAGES));
}

#[test]
fn node_soap_client_calls_soapwire_echo_data_mtom() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    node_soap_echo_data_mtom(&start_soapwire_echo(), &[1000, MIB]);
}

#[test]
fn node_soap_client_calls_soapwire_mtom_server_echo_data_mtom() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    node_soap_echo_data_mtom(&start_soapwire_echo_with(&["--mtom"]), &[1000, MIB]);
}

// ---------------------------------------------------------------------------------------------
// soapwire client -> gSOAP server

#[test]
fn soapwire_calls_gsoap_server_soap11_echo() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    soapwire_call_echo(&start_gsoap_echo(), Soap::V11, MESSAGE);
}

#[test]
fn soapwire_calls_gsoap_server_soap12_echo() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    soapwire_call_echo(&start_gsoap_echo(), Soap::V12, MESSAGE);
}

#[test]
fn soapwire_calls_gsoap_server_echo_data_64k_inline() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    soapwire_call_echo_data(&start_gsoap_echo(), Soap::V11);
}

#[test]
fn soapwire_calls_gsoap_mtom_server_echo_data_mtom_empty() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_gsoap_mtom_echo();
    soapwire_call_echo_data_mtom(&server, Soap::V11, 0);
    soapwire_call_echo_data_mtom(&server, Soap::V12, 0);
}

#[test]
fn soapwire_calls_gsoap_mtom_server_echo_data_mtom_1m() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_gsoap_mtom_echo();
    soapwire_call_echo_data_mtom(&server, Soap::V11, MIB);
    soapwire_call_echo_data_mtom(&server, Soap::V12, MIB);
}

#[test]
fn soapwire_calls_gsoap_mtom_server_echo_data_mtom_64m() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_gsoap_mtom_echo();
    assert_fast(&soapwire_call_echo_data_mtom(&server, Soap::V11, MTOM_MAX), &[&server]);
}

// ---------------------------------------------------------------------------------------------
// soapwire client -> node-soap server

#[test]
fn soapwire_calls_node_soap_server_soap11_echo() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    soapwire_call_echo(&start_node_soap_echo(), Soap::V11, MESSAGE);
}

#[test]
fn soapwire_calls_node_soap_server_soap12_echo() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    soapwire_call_echo(&start_node_soap_echo(), Soap::V12, MESSAGE);
}

#[test]
fn soapwire_calls_node_soap_server_echo_data_64k_inline() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    soapwire_call_echo_data(&start_node_soap_echo(), Soap::V11);
}

#[test]
fn soapwire_calls_node_soap_server_non_ascii_echo() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    soapwire_call_echo(&start_node_soap_echo(), Soap::V12, MESSAGE_NON_ASCII);
}

// ---------------------------------------------------------------------------------------------
// soapwire server on its own

/// `GET /echo?wsdl` returns the echo contract, every `location` set to the real bound address.
#[test]
fn soapwire_serves_wsdl_with_its_real_address() {
    let server = start_soapwire_echo();
    let url = format!("{}?wsdl", server.url11);
    let resp = http_request("GET", &url, &[], b"").unwrap_or_else(|e| panic!("GET {url}: {e}\n{}", server.logs()));
    assert_eq!(resp.status, 200, "GET {url}: {}\n{}", resp.headers, resp.body);
    assert!(resp.body.contains("targetNamespace=\"http://example.org/echo\""), "not the echo WSDL:\n{}", resp.body);
    let locations: Vec<&str> =
        resp.body.split("location=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
    assert!(!locations.is_empty(), "no soap:address in the WSDL:\n{}", resp.body);
    for location in locations {
        assert_eq!(location, server.url11, "a soap:address is not the bound address");
    }
}

// ---------------------------------------------------------------------------------------------
// Harness self-checks: the same scenarios between the peers themselves (no soapwire)

/// The stand-in for `soapwire call` in the self-checks: POSTs the same body fragments in an
/// envelope and checks the replies with the same parsers.
fn raw_post_checks(server: &EchoServer, messages: &[&str]) {
    for message in messages {
        for (soap, url) in [(Soap::V11, &server.url11), (Soap::V12, &server.url12)] {
            let resp = soap_post(url, soap, ACTION_ECHO, &echo_body(message))
                .unwrap_or_else(|e| panic!("POST {url}: {e}\n{}", server.logs()));
            assert_eq!(resp.status, 200, "{soap:?} {}\n{}", resp.headers, resp.body);
            let got = element_text(&resp.body, "message");
            assert_eq!(got.as_deref(), Ok(*message), "{}", resp.body);
        }
    }
    let data = payload(DATA_LEN);
    let resp = soap_post(&server.url11, Soap::V11, ACTION_ECHO_DATA, &echo_data_body(&data))
        .unwrap_or_else(|e| panic!("POST {}: {e}\n{}", server.url11, server.logs()));
    assert_eq!(resp.status, 200, "{}", resp.headers);
    let text = element_text(&resp.body, "data").unwrap_or_else(|e| panic!("{e}: {}", resp.body));
    assert_eq!(support::base64_decode(&text).as_deref(), Ok(&data[..]));
}

#[test]
#[ignore = "harness self-check between peers; run with --ignored"]
fn peer_selfcheck_gsoap_server() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_gsoap_echo();
    raw_post_checks(&server, &[MESSAGE]);
    gsoap_echo(&server, Soap::V11);
    gsoap_echo(&server, Soap::V12);
    gsoap_echo_data_inline(&server);
    gsoap_ws_addressing(&server);
    if peer_available(Peer::Zeep) {
        zeep_echo(&server, Soap::V11, MESSAGE);
        zeep_echo(&server, Soap::V12, MESSAGE);
        zeep_echo_data(&server);
    }
    if peer_available(Peer::NodeSoap) {
        node_soap_echo(&server, Soap::V11, MESSAGE);
        node_soap_echo(&server, Soap::V12, MESSAGE);
        node_soap_echo_data(&server);
    }
}

#[test]
#[ignore = "harness self-check between peers; run with --ignored"]
fn peer_selfcheck_node_soap_server() {
    if !peer_available(Peer::NodeSoap) {
        return;
    }
    let server = start_node_soap_echo();
    raw_post_checks(&server, &[MESSAGE, MESSAGE_NON_ASCII]);
    node_soap_echo(&server, Soap::V11, MESSAGE);
    node_soap_echo(&server, Soap::V12, MESSAGE);
    node_soap_echo(&server, Soap::V11, MESSAGE_NON_ASCII);
    node_soap_echo_data(&server);
    if peer_available(Peer::Gsoap) {
        // node-soap ignores WS-Addressing, so no RelatesTo check here.
        gsoap_echo(&server, Soap::V11);
        gsoap_echo(&server, Soap::V12);
        gsoap_echo_data_inline(&server);
    }
    if peer_available(Peer::Zeep) {
        zeep_echo(&server, Soap::V11, MESSAGE);
        zeep_echo(&server, Soap::V12, MESSAGE);
        zeep_echo(&server, Soap::V11, MESSAGE_NON_ASCII);
        zeep_echo_data(&server);
    }
}

/// The MTOM scenarios against the gSOAP `-m` server (node-soap's server has no MTOM).
#[test]
#[ignore = "harness self-check between peers; run with --ignored"]
fn peer_selfcheck_gsoap_mtom_server() {
    if !peer_available(Peer::Gsoap) {
        return;
    }
    let server = start_gsoap_mtom_echo();
    for len in [0, 1, DATA_LEN, 10 * MIB, MTOM_MAX] {
        gsoap_echo_data_mtom(&server, Soap::V11, len);
        gsoap_echo_data_mtom(&server, Soap::V12, len);
    }
    if peer_available(Peer::Zeep) {
        zeep_echo_data_mtom_reply(&server, &[0, 1000, MIB]);
    }
    if peer_available(Peer::NodeSoap) {
        node_soap_echo_data_mtom(&server, &[1000, MIB]);
    }
}
