//! The SOAP-over-UDP binding (`soapwire::udp`) against a real third-party peer, wsdd (a Samba
//! WS-Discovery host, 2005/04, SOAP 1.2 over UDP), across two network namespaces joined by a
//! veth pair (made by each test for itself: `netns/mod.rs`), over IPv4 and IPv6 link-local:
//!
//! - a `UdpChannel` opened on the discovery group sends a Probe built as a plain `Message` and
//!   receives wsdd's ProbeMatches through `receive_message` (and `request_reply`), wsdd's
//!   repeated copy dropped as a duplicate;
//! - a `UdpListener` joined to the group accepts wsdd's Hello once, the other copies counted as
//!   duplicates;
//! - two listeners on one group, with and without multicast loopback, see (or not) what a
//!   channel on the same host sends to the group;
//! - `soapwire call soap.udp://…` goes through `UdpChannel` (plain loopback, no namespace).
//!
//! The UDP code runs inside a namespace by re-running this test binary there (`ip netns exec`)
//! with only the ignored test `netns_helper` selected and `SOAPWIRE_UDP_ROLE` saying what to do;
//! the test in the root namespace checks what it printed. They need root (namespaces), `ip`,
//! and wsdd (`cargo xtask peers install`); without them a test is skipped with a note, or fails
//! when `SOAPWIRE_REQUIRE_PEERS` is set. Nothing is multicast outside the test's namespaces.

// Shared with discovery.rs and dpws.rs; this file uses part of it.
#[allow(dead_code)]
mod netns;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use netns::{Background, NetnsPair, Side, TIMEOUT, start_wsdd_host};
use soapwire::udp::{UdpChannel, UdpChannelOptions, UdpInputChannel, UdpListener, UdpListenerOptions};
use soapwire::{AddressingVersion, ChannelProperties, EnvelopeVersion, ListenerProperties, Message, Timeout};

/// What the helper does inside its namespace.
const ROLE: &str = "SOAPWIRE_UDP_ROLE";

const WSDD_UUID: &str = "7e4a1c2b-3d5f-4a6b-8c9d-0e1f2a3b4c5d";
const DISCOVERY_NS: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
const DISCOVERY_URN: &str = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
/// wsdd answers only a Probe whose Types text is exactly `wsdp:Device`.
const PROBE_BODY: &str = r#"<wsd:Probe xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"><wsd:Types>wsdp:Device</wsd:Types></wsd:Probe>"#;
const WSA_2004_ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/// This test binary, run in `side`'s namespace with only `netns_helper` selected.
fn helper(side: &Side, role: &str, env: &[(&str, String)]) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let exe = exe.to_str().unwrap_or_else(|| panic!("non-UTF-8 test binary path {exe:?}"));
    let mut cmd = side.command(exe, &["netns_helper", "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    cmd.env(ROLE, role).env("SOAPWIRE_UDP_IF", &side.name);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The helper's line that starts with `prefix` (the test harness may print `test … ` first).
fn report_line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines().find_map(|l| l.find(prefix).map(|i| &l[i..])).unwrap_or_else(|| panic!("no {prefix:?} in:\n{out}"))
}

#[test]
fn udp_channel_probes_wsdd_and_receives_its_probe_matches_over_ipv4_and_ipv6() {
    if !netns::available(&["wsdd"]) {
        return;
    }
    let pair = NetnsPair::create(1);
    let wsdd = start_wsdd_host(&pair.a, "SWUDPHOST", WSDD_UUID);
    let env = [("WSDD_IPV4", pair.a.ipv4.to_string()), ("WSDD_LINK_LOCAL", pair.a.link_local.to_string())];
    let (status, out) = netns::run("udp probe helper", helper(&pair.b, "probe", &env));
    assert!(status.success(), "helper failed ({status}):\n{out}\n--- wsdd:\n{}", wsdd.log());
    for family in ["IPv4", "IPv6"] {
        let line = report_line(&out, &format!("probe {family}:"));
        eprintln!("{line}");
        assert!(line.contains("duplicates=1"), "wsdd sends its unicast answer twice: {line}");
    }
    let log = wsdd.log();
    assert!(log.contains("Probe") && log.contains(&pair.b.ipv4.to_string()), "wsdd saw no IPv4 Probe:\n{log}");
}

#[test]
fn udp_listener_joined_to_the_group_receives_wsdd_hello_once() {
    if !netns::available(&["wsdd"]) {
        return;
    }
    let pair = NetnsPair::create(2);
    let env = [("WSDD_IPV4", pair.a.ipv4.to_string()), ("WSDD_LINK_LOCAL", pair.a.link_local.to_string())];
    let mut listening = Background::spawn("udp hello helper", helper(&pair.b, "hello", &env));
    listening.wait_for(&["listening"], TIMEOUT);
    let wsdd = start_wsdd_host(&pair.a, "SWUDPHELLO", WSDD_UUID);
    let status = listening.wait(TIMEOUT);
    let out = listening.log();
    assert!(status.success(), "helper failed ({status}):\n{out}\n--- wsdd:\n{}", wsdd.log());
    for family in ["IPv4", "IPv6"] {
        let line = report_line(&out, &format!("hello {family}:"));
        eprintln!("{line}");
        assert!(line.contains("duplicates=3"), "wsdd multicasts Hello 4 times: {line}");
    }
}

#[test]
fn a_multicast_listener_sees_this_hosts_own_sends_only_with_loopback_on() {
    if !netns::available(&[]) {
        return;
    }
    let pair = NetnsPair::create(3);
    let (status, out) = netns::run("udp loopback helper", helper(&pair.b, "loopback", &[]));
    assert!(status.success(), "helper failed ({status}):\n{out}");
    assert!(out.contains("loopback on: delivered") && out.contains("loopback off: looped_back=2"), "{out}");
}

#[test]
fn soapwire_call_goes_over_soap_udp() {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let listener = Arc::new(UdpListener::new(ListenerProperties::default()));
        listener.open("soap.udp://127.0.0.1:0/echo").await.unwrap_or_else(|e| panic!("open: {e}"));
        let url = listener.url().unwrap_or_default();
        let l = Arc::clone(&listener);
        let service = tokio::spawn(async move {
            let channel = UdpInputChannel::new(&l);
            l.accept_channel(&channel).await?;
            let mut request = channel.new_message();
            channel.receive_message(&mut request).await?;
            let mut reply = channel.new_message();
            reply.initialize_reply(&request, "urn:test:pong", request.body_xml().clone())?;
            channel.send_reply(&mut reply).await?;
            channel.close().await?;
            Ok::<_, soapwire::Error>(request.action().map(str::to_owned))
        });
        let body = std::env::temp_dir().join(format!("soapwire-udp-call-{}.xml", std::process::id()));
        std::fs::write(&body, r#"<t:ping xmlns:t="urn:test">over udp</t:ping>"#)
            .unwrap_or_else(|e| panic!("writing {body:?}: {e}"));
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_soapwire"))
            .args(["call", &url, "--action", "urn:test:ping", "--timeout", "5", "--body"])
            .arg(&body)
            .output();
        let out = tokio::time::timeout(TIMEOUT, out).await.unwrap_or_else(|_| panic!("soapwire call hung"));
        let out = out.unwrap_or_else(|e| panic!("soapwire call: {e}"));
        let _ = std::fs::remove_file(&body);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("over udp") && stdout.contains("urn:test"), "{stdout}");
        let action = service.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("service: {e}"));
        assert_eq!(action.as_deref(), Some("urn:test:ping"));

        // Transport addressing cannot carry a MessageID: refused before anything is sent.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_soapwire"))
            .args(["call", &url, "--action", "urn:test:ping", "--addressing", "none", "--timeout", "5"])
            .output()
            .await
            .unwrap_or_else(|e| panic!("soapwire call: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("E_INVALIDARG"), "{stderr}");
    });
}

// ---- the helper, run inside a namespace ----

/// Runs the role named by `SOAPWIRE_UDP_ROLE` inside the namespace the parent test chose;
/// does nothing when run any other way (`cargo test -- --include-ignored`).
#[test]
#[ignore = "run by the namespace tests of this file inside their namespaces"]
fn netns_helper() {
    let Ok(role) = std::env::var(ROLE) else { return };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("runtime: {e}"));
    match role.as_str() {
        "probe" => runtime.block_on(probe_wsdd()),
        "hello" => runtime.block_on(hear_wsdd_hello()),
        "loopback" => runtime.block_on(multicast_loopback()),
        other => panic!("unknown role {other:?}"),
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// The index of the veth end of this namespace.
fn if_index() -> u32 {
    let name = var("SOAPWIRE_UDP_IF");
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .unwrap_or_else(|e| panic!("ifindex of {name}: {e}"));
    text.trim().parse().unwrap_or_else(|e| panic!("ifindex of {name}: {e}"))
}

/// The discovery group of each family, as a `soap.udp` URL, and wsdd's address there.
fn groups() -> [(&'static str, String, IpAddr); 2] {
    let wsdd_v4: IpAddr = var("WSDD_IPV4").parse().unwrap_or_else(|e| panic!("WSDD_IPV4: {e}"));
    let wsdd_v6: IpAddr = var("WSDD_LINK_LOCAL").parse().unwrap_or_else(|e| panic!("WSDD_LINK_LOCAL: {e}"));
    let name = var("SOAPWIRE_UDP_IF");
    [
        ("IPv4", "soap.udp://239.255.255.250:3702".to_owned(), wsdd_v4),
        ("IPv6", format!("soap.udp://[ff02::c%{name}]:3702"), wsdd_v6),
    ]
}

fn probe_message() -> Message {
    let mut probe = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V0_9);
    probe.initialize_request(&format!("{DISCOVERY_NS}/Probe"), PROBE_BODY).unwrap_or_else(|e| panic!("{e}"));
    probe.addressing_mut().to = Some(DISCOVERY_URN.to_owned());
    probe
}

fn check_probe_matches(family: &str, probe: &Message, matches: &Message, from: SocketAddr, wsdd: IpAddr) {
    assert_eq!(matches.action(), Some(format!("{DISCOVERY_NS}/ProbeMatches").as_str()), "{family}");
    assert_eq!(matches.addressing_version(), AddressingVersion::V0_9, "{family}");
    assert_eq!(matches.addressing().relates_to, probe.addressing().message_id, "{family}");
    assert_eq!(matches.addressing().to.as_deref(), Some(WSA_2004_ANONYMOUS), "{family}");
    assert_eq!(from.ip(), wsdd, "{family}: the answer comes from wsdd's address");
    let body = String::from_utf8_lossy(matches.body_xml());
    assert!(body.contains(&format!("urn:uuid:{WSDD_UUID}")), "{family}: {body}");
}

async fn probe_wsdd() {
    for (family, url, wsdd) in groups() {
        let mut properties = ChannelProperties::default();
        properties.addressing_version = AddressingVersion::V0_9;
        properties.set_timeout(Timeout::Receive, Some(Duration::from_secs(5)));
        let options = UdpChannelOptions { multicast_interface: if_index(), ..UdpChannelOptions::default() };
        let channel = UdpChannel::with_options(properties, options);
        channel.open(&url).await.unwrap_or_else(|e| panic!("{family}: open {url}: {e}"));
        assert!(channel.is_multicast(), "{family}");

        // send_message + receive_message, as a WS-Discovery client built on the channel would.
        let mut probe = probe_message();
        channel.send_message(&mut probe).await.unwrap_or_else(|e| panic!("{family}: send: {e}"));
        let mut matches = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V0_9);
        let from = channel.receive_message_from(&mut matches).await.unwrap_or_else(|e| panic!("{family}: {e}"));
        check_probe_matches(family, &probe, &matches, from, wsdd);
        // wsdd sends its answer twice (UNICAST_UDP_REPEAT = 2): the copy is dropped.
        let mut more = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V0_9);
        let late = tokio::time::timeout(Duration::from_millis(800), channel.receive_message(&mut more)).await;
        assert!(late.is_err(), "{family}: nothing but the copy should come: {late:?}");
        let duplicates = channel.stats().duplicates;

        // request_reply: the same, correlated by RelatesTo.
        let mut probe = probe_message();
        let mut matches = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V0_9);
        let from = channel
            .request_reply(&mut probe, &mut matches)
            .await
            .unwrap_or_else(|e| panic!("{family}: request_reply: {e}"));
        check_probe_matches(family, &probe, &matches, from, wsdd);
        println!(
            "probe {family}: ProbeMatches from {from} relates_to={} duplicates={duplicates} stats={:?}",
            matches.addressing().relates_to.as_deref().unwrap_or_default(),
            channel.stats()
        );
        channel.close().await.unwrap_or_else(|e| panic!("{family}: close: {e}"));
    }
}

async fn hear_wsdd_hello() {
    let mut listeners = Vec::new();
    for (family, url, wsdd) in groups() {
        let options = UdpListenerOptions { multicast_interfaces: vec![if_index()], ..UdpListenerOptions::default() };
        let listener = UdpListener::with_options(ListenerProperties::default(), options);
        listener.open(&url).await.unwrap_or_else(|e| panic!("{family}: open {url}: {e}"));
        assert!(listener.is_multicast());
        listeners.push((family, listener, wsdd));
    }
    println!("listening");
    let hear = |(family, listener, wsdd): (&'static str, UdpListener, IpAddr)| async move {
        let channel = UdpInputChannel::new(&listener);
        tokio::time::timeout(TIMEOUT, listener.accept_channel(&channel))
            .await
            .unwrap_or_else(|_| panic!("{family}: no Hello"))
            .unwrap_or_else(|e| panic!("{family}: accept: {e}"));
        let mut hello = channel.new_message();
        assert!(channel.receive_message(&mut hello).await.unwrap_or_else(|e| panic!("{family}: {e}")));
        assert_eq!(hello.action(), Some(format!("{DISCOVERY_NS}/Hello").as_str()), "{family}");
        assert_eq!(hello.addressing().to.as_deref(), Some(DISCOVERY_URN), "{family}");
        let body = String::from_utf8_lossy(hello.body_xml()).into_owned();
        assert!(body.contains(&format!("urn:uuid:{WSDD_UUID}")), "{family}: {body}");
        let from = channel.remote_address().unwrap_or_else(|| panic!("{family}: no source"));
        assert_eq!(from.ip(), wsdd, "{family}");
        channel.close().await.unwrap_or_else(|e| panic!("{family}: close: {e}"));
        // The other copies (MULTICAST_UDP_REPEAT = 4, all within about 1.3 s) are dropped.
        let next = UdpInputChannel::new(&listener);
        let more = tokio::time::timeout(Duration::from_millis(2500), listener.accept_channel(&next)).await;
        assert!(more.is_err(), "{family}: only Hello copies should come: {more:?}");
        format!("hello {family}: from {from} duplicates={} stats={:?}", listener.stats().duplicates, listener.stats())
    };
    let mut listeners = listeners.into_iter();
    let (Some(v4), Some(v6)) = (listeners.next(), listeners.next()) else { panic!("two listeners") };
    let (v4, v6) = tokio::join!(hear(v4), hear(v6));
    println!("{v4}\n{v6}");
}

async fn multicast_loopback() {
    let group = "soap.udp://239.255.255.250:3799";
    let mut both = Vec::new();
    for loopback in [true, false] {
        let options = UdpListenerOptions {
            multicast_interfaces: vec![if_index()],
            multicast_loopback: loopback,
            ..UdpListenerOptions::default()
        };
        let listener = UdpListener::with_options(ListenerProperties::default(), options);
        listener.open(group).await.unwrap_or_else(|e| panic!("open {group}: {e}"));
        both.push(listener);
    }
    let channel = UdpChannel::with_options(
        ChannelProperties::default(),
        UdpChannelOptions { multicast_interface: if_index(), ..UdpChannelOptions::default() },
    );
    channel.open(group).await.unwrap_or_else(|e| panic!("channel open: {e}"));
    let mut message = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    message.initialize_request("urn:test:announce", "<t:hi xmlns:t='urn:test'/>").unwrap_or_else(|e| panic!("{e}"));
    channel.send_message(&mut message).await.unwrap_or_else(|e| panic!("send: {e}"));

    let on = &both[0];
    let accepted = UdpInputChannel::new(on);
    tokio::time::timeout(Duration::from_secs(5), on.accept_channel(&accepted))
        .await
        .unwrap_or_else(|_| panic!("loopback on: nothing arrived"))
        .unwrap_or_else(|e| panic!("accept: {e}"));
    let mut received = accepted.new_message();
    assert!(accepted.receive_message(&mut received).await.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(received.addressing().message_id, message.addressing().message_id);
    println!("loopback on: delivered from {:?}", accepted.remote_address());
    // A reply from the group-bound socket goes by unicast to the sender's port.
    let mut reply = accepted.new_message();
    reply.initialize_reply(&received, "urn:test:ack", "<t:ack xmlns:t='urn:test'/>").unwrap_or_else(|e| panic!("{e}"));
    accepted.send_reply(&mut reply).await.unwrap_or_else(|e| panic!("reply: {e}"));
    let mut ack = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    let from = tokio::time::timeout(Duration::from_secs(5), channel.receive_message_from(&mut ack))
        .await
        .unwrap_or_else(|_| panic!("no reply"))
        .unwrap_or_else(|e| panic!("receive: {e}"));
    assert_eq!(ack.addressing().relates_to, message.addressing().message_id);
    assert_eq!(from.port(), 3799, "the reply comes from the listener's port");

    let off = &both[1];
    let none = UdpInputChannel::new(off);
    let r = tokio::time::timeout(Duration::from_millis(500), off.accept_channel(&none)).await;
    assert!(r.is_err(), "loopback off: a message was accepted");
    let stats = off.stats();
    assert_eq!((stats.received, stats.delivered), (2, 0), "{stats:?}");
    println!("loopback off: looped_back={} stats={stats:?}", stats.looped_back);
    channel.close().await.unwrap_or_else(|e| panic!("close: {e}"));
}
