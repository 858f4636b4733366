//! DPWS device hosting and metadata, with wsdd (the Samba world's WS-Discovery host and client)
//! and against ourselves, across two network namespaces joined by a veth pair (made by each test
//! for itself: `netns/mod.rs`), over IPv4 and IPv6 link-local:
//!
//! - `soapwire metadata` reads real wsdd's ThisDevice, ThisModel and Relationship, given its
//!   XAddr (with the zone for IPv6) and given only its `urn:uuid:` (resolved with WS-Discovery);
//! - wsdd's discovery mode (`wsdd -D`) finds `soapwire host --computer` by Probe and by Hello and
//!   reads its metadata: it logs "discovered SWHOST in Workgroup:WORKGROUP", which is what it
//!   needs to list a Samba host, and what Windows Explorer needs;
//! - `soapwire discover` and `soapwire metadata urn:uuid:…` find and read `soapwire host`;
//! - [`DeviceHost`] itself: Hello, Resolve to the XAddr of the interface asked on, Get, a new
//!   Hello when the metadata changes, Bye and a closed listener on stop (run inside namespace A
//!   by re-running this test binary there);
//! - curl posts `interop/peers/wsdd/get.xml` (a byte-exact request of a real client) to our
//!   `MetadataHost` on loopback, and our answer has the sections, dialects, namespaces and
//!   `pub:Computer` host of wsdd's own answer.
//!
//! wsdd never runs in the root namespace. The namespace tests need root, `ip` and wsdd (`cargo
//! xtask peers install`); the curl test needs curl. When missing, a test is skipped with a note,
//! or fails when `SOAPWIRE_REQUIRE_PEERS` is set. Every wait has a deadline.

mod netns;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use netns::{Background, NetnsPair, Side, TIMEOUT, start_soapwire_host, start_wsdd_host, xaddrs_by_family};
use soapwire::dpws::{DeviceMetadata, Membership, MetadataHost, MetadataQuotas, PubComputer};
use soapwire::soapwire_proto::dpws::parse_get_response;

/// wsdd's GetResponse, captured from wsdd 0.7.0 (the structure our host must match).
const WSDD_GET_RESPONSE: &[u8] =
    include_bytes!("../../soapwire-proto/tests/fixtures/dpws/wsdd_get_response_2006_02.xml");

const WSDD_UUID: &str = "11111111-2222-3333-4444-555555555555";
/// An endpoint address nobody has.
const UNKNOWN: &str = "urn:uuid:00000000-0000-4000-8000-000000000000";

/// `soapwire metadata args…` in `side`, started (not waited for).
fn metadata(side: &Side, args: &[&str]) -> Background {
    let mut all = vec!["metadata"];
    all.extend_from_slice(args);
    Background::spawn("soapwire metadata", netns::soapwire(side, &all))
}

/// Waits for `soapwire metadata` to succeed and returns its output.
fn succeeded(mut run: Background) -> String {
    let status = run.wait(TIMEOUT);
    assert!(status.success(), "soapwire metadata failed ({status}):\n{}", run.log());
    run.log()
}

/// Asserts that `output` holds every line of `lines`.
fn assert_lines(output: &str, lines: &[&str]) {
    for line in lines {
        assert!(output.contains(line), "{line:?} missing from\n{output}");
    }
}

/// What `soapwire metadata` prints for wsdd's metadata.
const WSDD_LINES: [&str; 8] = [
    "  FriendlyName     WSD Device WSDDHOST",
    "  FirmwareVersion  1.0",
    "  Manufacturer     wsdd",
    "  DeviceCategory   Computers",
    "  Address          urn:uuid:11111111-2222-3333-4444-555555555555",
    "  Types            pub:Computer  ({http://schemas.microsoft.com/windows/pub/2005/07}Computer)",
    "  Computer         WSDDHOST (workgroup WORKGROUP)",
    "Hosted services  (none)",
];

// ---------------------------------------------------------------------------------------------
// soapwire metadata → wsdd

#[test]
fn soapwire_metadata_reads_wsdd_by_xaddr_and_by_urn_uuid_over_ipv4_and_ipv6_link_local() {
    if !netns::available(&["wsdd"]) {
        return;
    }
    let pair = NetnsPair::create(1);
    let (a, b) = (&pair.a, &pair.b);
    let wsdd = start_wsdd_host(a, "WSDDHOST", WSDD_UUID);
    let [(_, v4), (_, v6)] = xaddrs_by_family(a, WSDD_UUID);
    let v6_zoned = v6.replace(']', &format!("%{}]", b.name));

    // wsdd's HTTP server starts once its addresses are known: the first Get is retried until
    // the connection is accepted.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let first = loop {
        let mut run = metadata(b, &[&v4]);
        let status = run.wait(TIMEOUT);
        let refused = run.log().contains("connect");
        if status.success() || !refused || std::time::Instant::now() > deadline {
            assert!(status.success(), "{}\n{}", run.log(), wsdd.log());
            break run.log();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_lines(&first, &WSDD_LINES);

    let urn = format!("urn:uuid:{WSDD_UUID}");
    let runs = [
        metadata(b, &[&v6_zoned]),
        metadata(b, &[&v4, "--json"]),
        // Resolved with WS-Discovery on B's veth end, one family at a time.
        metadata(b, &[&urn, "--interface", &b.name, "-4"]),
        metadata(b, &[&urn, "--interface", &b.name, "-6", "--json"]),
        // wsdd speaks DPWS 2006/02 only: a Get with WS-Addressing 1.0 gets HTTP 400 without a fault.
        metadata(b, &[&v4, "--dpws", "1.1"]),
        // An endpoint nobody has: no ResolveMatches within the timeout.
        metadata(b, &[UNKNOWN, "--interface", &b.name, "--timeout", "1"]),
    ];
    let [by_v6, json, by_urn_v4, by_urn_v6_json, mut dpws11, mut unknown] = runs;
    assert_lines(&succeeded(by_v6), &WSDD_LINES);
    let by_urn_v4 = succeeded(by_urn_v4);
    assert_lines(&by_urn_v4, &WSDD_LINES);
    assert_lines(&by_urn_v4, &[&format!("Metadata of {v4} (DPWS 2006/02)")]);
    let json_lines =
        [r#""text": "WSDDHOST/Workgroup:WORKGROUP""#, r#""dpws": "DPWS 2006/02""#, r#""membership": "workgroup""#];
    assert_lines(&succeeded(json), &json_lines);
    let by_urn_v6_json = succeeded(by_urn_v6_json);
    assert_lines(&by_urn_v6_json, &json_lines);
    // The XAddr of wsdd's ResolveMatches, with the zone of the interface it came on.
    assert_lines(&by_urn_v6_json, &[&format!(r#""url": "{v6_zoned}""#)]);

    assert_eq!(dpws11.wait(TIMEOUT).code(), Some(2), "{}", dpws11.log());
    assert!(dpws11.log().contains("HTTP 400"), "{}", dpws11.log());

    assert_eq!(unknown.wait(TIMEOUT).code(), Some(2), "{}", unknown.log());
    let expected = format!("no ResolveMatches for {UNKNOWN} within 1.0 s (resolved on {} (", b.name);
    assert!(unknown.log().contains(&expected), "{}", unknown.log());
}

// ---------------------------------------------------------------------------------------------
// wsdd -D → soapwire host

/// Waits until `wsdd -D -v -v` in B has had a `how` ("probe match", "resolve match") for `uuid`
/// in A and read its metadata, the computer `name` in `workgroup`, over both families; returns
/// its log.
fn wait_discovered(
    wsdd: &mut Background,
    pair: &NetnsPair,
    how: &str,
    uuid: &str,
    name: &str,
    workgroup: &str,
) -> String {
    let mut lines = Vec::new();
    for (host, (_, xaddr)) in
        [pair.a.ipv4.to_string(), format!("[{}]", pair.a.link_local)].into_iter().zip(xaddrs_by_family(&pair.a, uuid))
    {
        lines.push(format!("{how} for urn:uuid:{uuid} on {xaddr}"));
        lines.push(format!("discovered {name} in Workgroup:{workgroup} on {host}%{}", pair.b.name));
    }
    wsdd.wait_for(&lines.iter().map(String::as_str).collect::<Vec<_>>(), TIMEOUT);
    let log = wsdd.log();
    assert!(!log.contains("could not fetch metadata"), "{log}");
    log
}

#[test]
fn wsdd_discovery_mode_finds_soapwire_host_by_probe_and_by_hello_and_reads_its_metadata() {
    if !netns::available(&["wsdd"]) {
        return;
    }
    let pair = NetnsPair::create(2);
    // By Probe: the host is up before wsdd probes. wsdd waits up to 3 s per address family
    // before its Probe; the answer (with the XAddr of the interface the Probe came in on) takes
    // up to 2.5 s; then wsdd Gets the metadata.
    let first = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
    let host = start_soapwire_host(&pair.a, &["--name", "SWHOST", "--computer", "--uuid", first]);
    for (family, xaddr) in xaddrs_by_family(&pair.a, first) {
        assert!(host.log().contains(&format!(": {xaddr}\n")), "no {family} XAddr {xaddr}:\n{}", host.log());
    }
    let mut wsdd = Background::spawn("wsdd -D", pair.b.command("wsdd", &["-i", &pair.b.name, "-D", "-o", "-v", "-v"]));
    wait_discovered(&mut wsdd, &pair, "probe match", first, "SWHOST", "WORKGROUP");
    let log = netns::stop_soapwire_host(host);
    assert!(log.contains("bye: answered 2 probes"), "{log}");

    // By Hello: a new host announces itself without XAddrs; wsdd Resolves, gets the XAddr and
    // the metadata. (A copy of wsdd's Probe still being retransmitted may reach it too.)
    let second = "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6";
    let _host = start_soapwire_host(&pair.a, &["--name", "swhost2", "--workgroup", "wg2", "--uuid", second]);
    let log = wait_discovered(&mut wsdd, &pair, "resolve match", second, "SWHOST2", "WG2");
    assert!(log.contains("Hello without XAddrs, sending resolve"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// soapwire discover + metadata → soapwire host

#[test]
fn soapwire_discover_and_metadata_find_and_read_soapwire_host() {
    if !netns::available(&[]) {
        return;
    }
    let pair = NetnsPair::create(3);
    let (a, b) = (&pair.a, &pair.b);
    let uuid = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293";
    let urn = format!("urn:uuid:{uuid}");
    let host = start_soapwire_host(a, &["--name", "SWSELF", "--computer", "--uuid", uuid]);

    // All at once: the discover collects for 3 s; each Resolve ends at its first answer.
    let mut discover = Background::spawn(
        "soapwire discover",
        netns::soapwire(b, &["discover", "--interface", &b.name, "--timeout", "3", "--json"]),
    );
    let runs = [
        metadata(b, &[&urn, "--interface", &b.name, "-4"]),
        metadata(b, &[&urn, "--interface", &b.name, "-6"]),
        metadata(b, &[&urn, "--interface", &b.name, "--json", "--dpws", "1.1"]),
    ];
    let [(_, v4), (_, v6)] = xaddrs_by_family(a, uuid);
    let lines = [
        "  FriendlyName     WSD Device SWSELF",
        "  Manufacturer     soapwire",
        "  DeviceCategory   Computers",
        &format!("  Address          {urn}"),
        "  Types            pub:Computer  ({http://schemas.microsoft.com/windows/pub/2005/07}Computer)",
        "  Computer         SWSELF (workgroup WORKGROUP)",
    ];
    let [by_v4, by_v6, json11] = runs;
    let by_v4 = succeeded(by_v4);
    assert_lines(&by_v4, &lines);
    assert_lines(&by_v4, &[&format!("Metadata of {v4} (DPWS 2006/02)")]);
    let by_v6 = succeeded(by_v6);
    assert_lines(&by_v6, &lines);
    let v6_zoned = v6.replace(']', &format!("%{}]", b.name));
    assert_lines(&by_v6, &[&format!("Metadata of {v6_zoned} (DPWS 2006/02)")]);
    assert_lines(&succeeded(json11), &[r#""dpws": "DPWS 1.1""#, r#""text": "SWSELF/Workgroup:WORKGROUP""#]);

    assert!(discover.wait(TIMEOUT).success(), "{}", discover.log());
    let json = discover.log();
    for (family, xaddr) in xaddrs_by_family(a, uuid) {
        let row = json.lines().find(|l| l.contains(&format!(r#""family": "{family}""#))).unwrap_or_default();
        assert!(row.contains(&format!(r#""endpoint": "{urn}""#)), "{family}: {json}");
        assert!(row.contains(&format!(r#""xaddrs": ["{xaddr}"]"#)), "{row}");
        assert!(row.contains(r#""types": ["wsdp:Device", "pub:Computer"]"#), "{row}");
    }
    let log = netns::stop_soapwire_host(host);
    assert!(log.contains("bye: answered 2 probes and "), "{log}");
}

// ---------------------------------------------------------------------------------------------
// DeviceHost, in a namespace

#[test]
fn device_host_announces_resolves_serves_and_reannounces_metadata_changes() {
    if !netns::available(&[]) {
        return;
    }
    let pair = NetnsPair::create(4);
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = pair.a.command(
        &exe.to_string_lossy(),
        &["device_host_in_a_namespace", "--exact", "--ignored", "--nocapture", "--test-threads=1"],
    );
    cmd.env("SWM_DEVICE_INTERFACE", &pair.a.name).env("SWM_DEVICE_LINK_LOCAL", pair.a.link_local.to_string());
    let (status, log) = netns::run("device host", cmd);
    assert!(status.success() && log.contains("device host checks passed"), "{log}");
}

/// The device side of [`device_host_announces_resolves_serves_and_reannounces_metadata_changes`],
/// run inside namespace A by that test (it does nothing when run otherwise): a [`DeviceHost`] and
/// a [`DiscoveryClient`] on A's veth end, with multicast loop on so that the client hears the
/// host's multicast.
#[test]
#[ignore = "run inside a network namespace by device_host_announces_resolves_serves_and_reannounces_metadata_changes"]
fn device_host_in_a_namespace() {
    let Ok(interface) = std::env::var("SWM_DEVICE_INTERFACE") else { return };
    let link_local = std::env::var("SWM_DEVICE_LINK_LOCAL").expect("SWM_DEVICE_LINK_LOCAL");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let checks = async { tokio::time::timeout(TIMEOUT, device::checks(interface, link_local)).await };
    runtime.block_on(checks).expect("within the deadline");
    println!("device host checks passed");
}

mod device {
    use super::*;
    use soapwire::QName;
    use soapwire::discovery::{
        AddressFamily, Announcement, Announcements, DPWS_2006_02_NAMESPACE, DiscoveredEndpoint, DiscoveryClient,
        DiscoveryConfig,
    };
    use soapwire::dpws::{DeviceConfig, DeviceHost, GetMetadataOptions, get_metadata};

    const ENDPOINT: &str = "urn:uuid:5e1f0000-0000-4000-8000-00000000d9a5";

    /// The next Hello (or Bye, with `bye`) for [`ENDPOINT`] on each family.
    async fn next_on_both(announcements: &mut Announcements, bye: bool) -> Vec<DiscoveredEndpoint> {
        let mut found: Vec<DiscoveredEndpoint> = Vec::new();
        while found.len() < 2 {
            let next = tokio::time::timeout(Duration::from_secs(5), announcements.next()).await;
            let announcement = next.expect("an announcement within 5 s").expect("the client is open");
            let (Announcement::Hello(m) | Announcement::Bye(m)) = &announcement;
            let wanted = matches!(announcement, Announcement::Bye(_)) == bye;
            if wanted && m.address() == ENDPOINT && found.iter().all(|f| f.interface.family() != m.interface.family()) {
                found.push(m.clone());
            }
        }
        found
    }

    async fn get(url: &str) -> DeviceMetadata {
        let got = get_metadata(url, &GetMetadataOptions::default()).await;
        got.unwrap_or_else(|e| panic!("Get {url}: {e}")).metadata
    }

    pub(super) async fn checks(interface: String, link_local: String) {
        let discovery = DiscoveryConfig {
            interfaces: vec![interface.clone()],
            multicast_loop: true,
            rescan_interval: None,
            ..DiscoveryConfig::default()
        };
        let computer = PubComputer::new("SWLIB", Membership::Workgroup("WG".into()));
        let mut config = DeviceConfig::computer(ENDPOINT, computer);
        config.http_port = 0;
        config.discovery = discovery.clone();
        config.target.app_max_delay = Duration::from_millis(100);
        let client = DiscoveryClient::open(discovery).await.expect("client");
        let mut announcements = client.announcements();

        // Hello on both links: version 1, the types of a computer, no XAddrs (clients Resolve).
        let device = DeviceHost::start(config).await.expect("start");
        for hello in next_on_both(&mut announcements, false).await {
            assert_eq!(hello.info.metadata_version, Some(1));
            assert!(hello.info.xaddrs.is_empty(), "{hello:?}");
            let types = [QName::new(DPWS_2006_02_NAMESPACE, "Device"), PubComputer::type_name()];
            assert_eq!(hello.info.types, types);
        }

        // The XAddrs are the metadata host's, on the port it really got.
        let port = device.local_addr().expect("bound").port();
        assert_ne!(port, 5357);
        let xaddrs = device.xaddrs();
        assert_eq!(xaddrs.len(), 2, "{xaddrs:?}");
        for (link, xaddr) in &xaddrs {
            assert_eq!(device.service().xaddr(link).as_ref(), Some(xaddr));
            assert!(xaddr.ends_with(&format!(":{port}/5e1f0000-0000-4000-8000-00000000d9a5")), "{xaddr}");
        }

        // Resolve: the XAddr of the interface asked on; then Get over both families.
        let resolved = client.resolve(ENDPOINT, Duration::from_secs(5)).await.expect("resolve").expect("a match");
        let expected = xaddrs.iter().find(|(l, _)| l.family() == resolved.interface.family()).map(|(_, x)| x.clone());
        assert_eq!(resolved.info.xaddrs, expected.into_iter().collect::<Vec<_>>());
        let v4_url = xaddrs.iter().find(|(l, _)| l.family() == AddressFamily::V4).map(|(_, x)| x.clone());
        let v4_url = v4_url.expect("an IPv4 link");
        let v6_url = format!("http://[{link_local}%{interface}]:{port}/5e1f0000-0000-4000-8000-00000000d9a5");
        for url in [&v4_url, &v6_url] {
            let metadata = get(url).await;
            let computer = metadata.host().and_then(|h| h.computer.as_ref()).map(|c| c.to_text());
            assert_eq!(computer.as_deref(), Some("SWLIB/Workgroup:WG"));
        }

        // New metadata: version 2, announced by a new Hello on both links, served at once.
        let mut changed = (*device.metadata()).clone();
        if let Some(d) = changed.this_device.as_mut() {
            d.serial_number = Some("42".into());
        }
        assert_eq!(device.set_metadata(changed).expect("valid metadata"), 2);
        for hello in next_on_both(&mut announcements, false).await {
            assert_eq!(hello.info.metadata_version, Some(2));
        }
        assert_eq!(device.service().metadata_version, 2);
        let served = get(&v4_url).await;
        assert_eq!(served.this_device.and_then(|d| d.serial_number).as_deref(), Some("42"));
        // A bump through the metadata host is announced too.
        assert_eq!(device.metadata_host().bump_metadata_version(), 3);
        for hello in next_on_both(&mut announcements, false).await {
            assert_eq!(hello.info.metadata_version, Some(3));
        }
        // Invalid metadata changes nothing.
        assert!(device.set_metadata(DeviceMetadata::default()).is_err());
        assert_eq!(device.metadata_version(), 3);

        // Stop: Bye on both links, then the listener is closed.
        let stopping = tokio::spawn(device.stop());
        for bye in next_on_both(&mut announcements, true).await {
            assert!(bye.info.xaddrs.is_empty());
        }
        stopping.await.expect("stop task").expect("stop");
        let options = GetMetadataOptions { timeout: Duration::from_secs(2), ..GetMetadataOptions::default() };
        assert!(get_metadata(&v4_url, &options).await.is_err(), "the listener is closed");
    }
}

// ---------------------------------------------------------------------------------------------
// curl (a captured real request) → our MetadataHost, on loopback

#[test]
fn curl_with_a_captured_get_reads_what_wsdd_would_answer_from_our_host() {
    if !netns::report(netns::missing_programs(&["curl"])) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let endpoint = format!("urn:uuid:{WSDD_UUID}");
    let metadata =
        DeviceMetadata::computer(&endpoint, PubComputer::new("WSDDHOST", Membership::Workgroup("WORKGROUP".into())));
    let host = MetadataHost::new(&endpoint, metadata).expect("host");
    runtime.block_on(host.open(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))).expect("open");
    let url = host.url().expect("url");

    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let request = std::fs::read_to_string(repo.join("interop/peers/wsdd/get.xml")).expect("get.xml");
    let request = request.replace("@UUID@", WSDD_UUID);
    let scratch = std::env::temp_dir().join(format!("swm{}-curl-get.xml", std::process::id()));
    std::fs::write(&scratch, &request).expect("write request");
    let body_arg = format!("@{}", scratch.display());
    let mut curl = std::process::Command::new("curl");
    curl.args(["-sS", "-m", "10", "-H", "Content-Type: application/soap+xml; charset=utf-8"]);
    curl.args(["--data-binary", &body_arg, &url]);
    let (status, answer) = netns::run("curl", curl);
    let _ = std::fs::remove_file(&scratch);
    assert!(status.success(), "{answer}");

    let ours =
        parse_get_response(answer.as_bytes(), &MetadataQuotas::default()).unwrap_or_else(|e| panic!("{e}\n{answer}"));
    let wsdd = parse_get_response(WSDD_GET_RESPONSE, &MetadataQuotas::default()).expect("wsdd fixture");
    assert_eq!(ours.version, wsdd.version);
    assert_eq!(ours.addressing.action, wsdd.addressing.action);
    assert_eq!(ours.addressing.to, wsdd.addressing.to);
    assert_eq!(ours.addressing.relates_to.as_deref(), Some("urn:uuid:aaaaaaaa-0000-4000-8000-000000000001"));
    assert_eq!(ours.metadata.relationships, wsdd.metadata.relationships);
    assert_eq!(
        ours.metadata.this_model.as_ref().map(|m| &m.device_category),
        wsdd.metadata.this_model.as_ref().map(|m| &m.device_category)
    );
    let sections = |xml: &[u8]| {
        let xml = String::from_utf8_lossy(xml).into_owned();
        xml.split("Dialect=\"").skip(1).filter_map(|s| s.split('"').next().map(str::to_owned)).collect::<Vec<_>>()
    };
    assert_eq!(sections(answer.as_bytes()), sections(WSDD_GET_RESPONSE));
    runtime.block_on(host.close()).expect("close");
}
