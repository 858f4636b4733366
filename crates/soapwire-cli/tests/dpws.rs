//! DPWS metadata interop with wsdd, the Samba world's WS-Discovery host and client:
//!
//! - `soapwire metadata` reads real wsdd's ThisDevice, ThisModel and Relationship, over IPv4 and
//!   over IPv6 link-local (with the zone in the URL);
//! - curl posts `interop/peers/wsdd/get.xml` (a byte-exact request of a real client) to our
//!   `MetadataHost` on loopback, and our answer has the sections, dialects, namespaces and
//!   `pub:Computer` host of wsdd's own answer;
//! - wsdd's discovery mode (`wsdd -D`) finds a soapwire `MetadataHost` and reads its metadata,
//!   over IPv4 and IPv6 link-local. The WS-Discovery side of that host is a fake in this file
//!   (answer Probe and Resolve with one XAddr) until the discovery runtime exists.
//!
//! wsdd never runs in the root namespace: every test that starts it makes its own pair of
//! network namespaces `swm<pid><n>a`/`b` joined by a veth pair (the recipe of
//! `interop/peers/wsdd/netns_up.sh`, with names of its own so that parallel tests and other
//! suites do not collide), with no route anywhere else, and deletes them afterwards. The
//! device side of the reverse test runs in its namespace by re-running this test binary there
//! (`dpws_netns_device`). Needs root, `ip` and wsdd (and curl): when missing, the tests are
//! skipped with a note, or fail when `SOAPWIRE_REQUIRE_PEERS` is set. Every wait has a deadline.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use soapwire::dpws::{DeviceMetadata, Membership, MetadataHost, MetadataQuotas, PubComputer};
use soapwire::soapwire_proto::dpws::parse_get_response;

/// wsdd's GetResponse, captured from wsdd 0.7.0 (the structure our host must match).
const WSDD_GET_RESPONSE: &[u8] =
    include_bytes!("../../soapwire-proto/tests/fixtures/dpws/wsdd_get_response_2006_02.xml");

const DEADLINE: Duration = Duration::from_secs(20);
const WSDD_UUID: &str = "11111111-2222-3333-4444-555555555555";
const OUR_UUID: &str = "5e1f0000-0000-4000-8000-00000000d9a5";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// ---------------------------------------------------------------------------------------------
// Prerequisites

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
}

/// True when everything in `needs` is there. Otherwise a failure under
/// `SOAPWIRE_REQUIRE_PEERS`, else a note and a skip.
fn available(needs: &[&str]) -> bool {
    let mut missing: Vec<String> = needs.iter().filter(|p| !on_path(p)).map(|p| format!("`{p}` on PATH")).collect();
    if needs.contains(&"ip") && !is_root() {
        missing.push("root (network namespaces)".into());
    }
    if missing.is_empty() {
        return true;
    }
    let what = format!("missing {} (install the peers with `cargo xtask peers install`)", missing.join(", "));
    if std::env::var_os("SOAPWIRE_REQUIRE_PEERS").is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{what}; SOAPWIRE_REQUIRE_PEERS is set, so this is a failure");
    }
    eprintln!("note: skipping: {what}; set SOAPWIRE_REQUIRE_PEERS=1 to fail instead");
    false
}

// ---------------------------------------------------------------------------------------------
// Processes with deadlines

/// Runs `program args` to completion within [`DEADLINE`].
fn run(program: &str, args: &[&str]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let (out, err) = (child.stdout.take(), child.stderr.take());
    let readers = [out.map(read_all_thread), err.map(read_all_thread)];
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let [stdout, stderr] = readers.map(|r| r.map(|t| t.join().unwrap_or_default()).unwrap_or_default());
    Output { status, stdout, stderr }
}

fn read_all_thread(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn text(output: &Output) -> String {
    format!(
        "status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A background process whose output goes to a log file; killed and reaped on drop.
struct Background {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Background {
    fn start(name: &'static str, log: PathBuf, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Background {
        let file = File::create(&log).expect("log file");
        let child = Command::new(program)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Background { name, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains every one of `needles`; panics at the deadline or when the
    /// process exits first.
    fn wait_for(&mut self, needles: &[&str]) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if needles.iter().all(|n| log.contains(n)) {
                return log;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before logging {needles:?}:\n{log}", self.name);
            }
            if started.elapsed() > DEADLINE {
                panic!("{} did not log {needles:?} within {DEADLINE:?}:\n{log}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// A pair of network namespaces

static PAIRS: AtomicUsize = AtomicUsize::new(0);

/// Two network namespaces joined by one veth pair: `a` (the device, 198.18.77.1) and `b` (the
/// client, 198.18.77.2), each with IPv6 link-local addresses. Deleted on drop.
struct NetnsPair {
    a: String,
    b: String,
    veth_a: String,
    veth_b: String,
    scratch: PathBuf,
}

impl NetnsPair {
    const ADDR_A: Ipv4Addr = Ipv4Addr::new(198, 18, 77, 1);
    const ADDR_B: Ipv4Addr = Ipv4Addr::new(198, 18, 77, 2);

    fn new() -> NetnsPair {
        let tag = format!("swm{}{}", std::process::id() % 100_000, PAIRS.fetch_add(1, Ordering::Relaxed));
        let scratch = std::env::temp_dir().join(format!("{tag}-dpws"));
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        let pair = NetnsPair {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
            veth_a: format!("{tag}va"),
            veth_b: format!("{tag}vb"),
            scratch,
        };
        let ip = |args: &[&str]| {
            let out = run("ip", args);
            assert!(out.status.success(), "ip {args:?}: {}", text(&out));
        };
        for ns in [&pair.a, &pair.b] {
            ip(&["netns", "add", ns]);
            ip(&[
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&[
            "link",
            "add",
            &pair.veth_a,
            "netns",
            &pair.a,
            "type",
            "veth",
            "peer",
            "name",
            &pair.veth_b,
            "netns",
            &pair.b,
        ]);
        for (ns, dev, addr) in [(&pair.a, &pair.veth_a, Self::ADDR_A), (&pair.b, &pair.veth_b, Self::ADDR_B)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", dev]);
        }
        pair
    }

    /// The IPv6 link-local address of `dev` in `ns`, once the kernel has assigned it.
    fn link_local(ns: &str, dev: &str) -> Ipv6Addr {
        let started = Instant::now();
        loop {
            let out = run("ip", &["-n", ns, "-6", "-o", "addr", "show", "dev", dev, "scope", "link"]);
            let listing = String::from_utf8_lossy(&out.stdout).into_owned();
            let found = listing.split_whitespace().skip_while(|w| *w != "inet6").nth(1);
            if let Some(ip) = found.and_then(|a| a.split('/').next()).and_then(|a| a.parse().ok()) {
                return ip;
            }
            assert!(started.elapsed() < DEADLINE, "no IPv6 link-local address on {dev} in {ns}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn link_local_a(&self) -> Ipv6Addr {
        NetnsPair::link_local(&self.a, &self.veth_a)
    }

    /// The interface index of `veth_a` inside `a`.
    fn ifindex_a(&self) -> u32 {
        let out = run("ip", &["-n", &self.a, "-o", "link", "show", "dev", &self.veth_a]);
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        listing.split(':').next().and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("ifindex: {listing}"))
    }

    /// `args` run inside namespace `ns`.
    fn exec<'a>(ns: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["netns", "exec", ns];
        all.extend_from_slice(args);
        all
    }

    fn log(&self, name: &str) -> PathBuf {
        self.scratch.join(name)
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and with it the pair.
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// wsdd as a host in namespace `a`, on `veth_a` only.
fn start_wsdd_host(pair: &NetnsPair) -> Background {
    let args = NetnsPair::exec(&pair.a, &["wsdd", "-i", &pair.veth_a, "-n", "WSDDHOST", "-U", WSDD_UUID, "-v"]);
    let mut wsdd = Background::start("wsdd (host)", pair.log("wsdd-host.log"), "ip", &args, &[]);
    wsdd.wait_for(&["joined multicast group"]);
    wsdd
}

fn soapwire_in(ns: &str, args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_soapwire");
    let mut all = vec!["netns", "exec", ns, exe];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// `soapwire metadata URL` in `ns`, retried until wsdd's HTTP server answers (it starts once
/// its interface addresses are known), within the deadline.
fn soapwire_metadata_until_answered(ns: &str, args: &[&str]) -> Output {
    let started = Instant::now();
    loop {
        let out = soapwire_in(ns, args);
        let refused = String::from_utf8_lossy(&out.stderr).contains("connect");
        if out.status.success() || !refused || started.elapsed() > DEADLINE {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------
// soapwire metadata → wsdd

#[test]
fn soapwire_metadata_reads_wsdd_over_ipv4_and_ipv6_link_local() {
    if !available(&["ip", "wsdd"]) {
        return;
    }
    let pair = NetnsPair::new();
    let wsdd = start_wsdd_host(&pair);
    let v4 = format!("http://{}:5357/{WSDD_UUID}", NetnsPair::ADDR_A);
    let v6 = format!("http://[{}%{}]:5357/{WSDD_UUID}", pair.link_local_a(), pair.veth_b);
    for url in [&v4, &v6] {
        let out = soapwire_metadata_until_answered(&pair.b, &["metadata", url]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{url}: {}\n{}", text(&out), wsdd.log());
        for line in [
            "Metadata of ",
            "  FriendlyName     WSD Device WSDDHOST",
            "  FirmwareVersion  1.0",
            "  Manufacturer     wsdd",
            "  DeviceCategory   Computers",
            "  Address          urn:uuid:11111111-2222-3333-4444-555555555555",
            "  Types            pub:Computer  ({http://schemas.microsoft.com/windows/pub/2005/07}Computer)",
            "  Computer         WSDDHOST (workgroup WORKGROUP)",
            "Hosted services  (none)",
        ] {
            assert!(stdout.contains(line), "{url}: {line:?} missing from\n{stdout}");
        }
        let json = soapwire_in(&pair.b, &["metadata", url, "--json"]);
        let json_text = String::from_utf8_lossy(&json.stdout).into_owned();
        assert!(json.status.success(), "{}", text(&json));
        assert!(json_text.contains(r#""text": "WSDDHOST/Workgroup:WORKGROUP""#), "{json_text}");
        assert!(json_text.contains(r#""dpws": "DPWS 2006/02""#), "{json_text}");
    }
    // wsdd speaks DPWS 2006/02 only: a Get with WS-Addressing 1.0 gets HTTP 400 without a fault.
    let out = soapwire_in(&pair.b, &["metadata", &v4, "--dpws", "1.1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 400"), "{}", text(&out));
    drop(wsdd);
}

// ---------------------------------------------------------------------------------------------
// curl (a captured real request) → our MetadataHost, on loopback

#[test]
fn curl_with_a_captured_get_reads_what_wsdd_would_answer_from_our_host() {
    if !available(&["curl"]) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let endpoint = format!("urn:uuid:{WSDD_UUID}");
    let metadata =
        DeviceMetadata::computer(&endpoint, PubComputer::new("WSDDHOST", Membership::Workgroup("WORKGROUP".into())));
    let host = MetadataHost::new(&endpoint, metadata).expect("host");
    runtime.block_on(host.open(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))).expect("open");
    let url = host.url().expect("url");

    let request = std::fs::read_to_string(repo_root().join("interop/peers/wsdd/get.xml")).expect("get.xml");
    let request = request.replace("@UUID@", WSDD_UUID);
    let scratch = std::env::temp_dir().join(format!("swm{}-curl-get.xml", std::process::id()));
    std::fs::write(&scratch, &request).expect("write request");
    let body_arg = format!("@{}", scratch.display());
    let out = run(
        "curl",
        &[
            "-sS",
            "-m",
            "10",
            "-H",
            "Content-Type: application/soap+xml; charset=utf-8",
            "--data-binary",
            &body_arg,
            &url,
        ],
    );
    let _ = std::fs::remove_file(&scratch);
    assert!(out.status.success(), "{}", text(&out));

    let ours = parse_get_response(&out.stdout, &MetadataQuotas::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&out.stdout)));
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
    assert_eq!(sections(&out.stdout), sections(WSDD_GET_RESPONSE));
    runtime.block_on(host.close()).expect("close");
}

// ---------------------------------------------------------------------------------------------
// wsdd -D → our MetadataHost, in namespaces

#[test]
fn wsdd_discovery_mode_reads_our_metadata_over_ipv4_and_ipv6_link_local() {
    if !available(&["ip", "wsdd"]) {
        return;
    }
    let pair = NetnsPair::new();
    let v6 = pair.link_local_a().to_string();
    let ifindex = pair.ifindex_a().to_string();
    let exe = std::env::current_exe().expect("test binary");
    let exe = exe.to_string_lossy().into_owned();
    let device_args = NetnsPair::exec(
        &pair.a,
        &[&exe, "dpws_netns_device", "--exact", "--ignored", "--nocapture", "--test-threads=1"],
    );
    let v4 = NetnsPair::ADDR_A.to_string();
    let env =
        [("SWM_DEVICE", "1"), ("SWM_V4", v4.as_str()), ("SWM_V6", v6.as_str()), ("SWM_IFINDEX", ifindex.as_str())];
    let mut device = Background::start("soapwire device", pair.log("device.log"), "ip", &device_args, &env);
    device.wait_for(&["device ready"]);

    let client_args = NetnsPair::exec(&pair.b, &["wsdd", "-i", &pair.veth_b, "-D", "-o", "-v"]);
    let mut wsdd = Background::start("wsdd -D", pair.log("wsdd-client.log"), "ip", &client_args, &[]);
    let v4_line = format!("discovered SWHOST in Workgroup:WORKGROUP on {}%{}", NetnsPair::ADDR_A, pair.veth_b);
    let v6_line = format!("discovered SWHOST in Workgroup:WORKGROUP on [{v6}]%{}", pair.veth_b);
    let log = wsdd.wait_for(&[&v4_line, &v6_line]);
    assert!(!log.contains("could not fetch metadata"), "{log}");
    let device_log = device.log();
    assert!(device_log.contains("answered Probe"), "{device_log}");
    drop(wsdd);
    drop(device);
}

/// The device side of [`wsdd_discovery_mode_reads_our_metadata_over_ipv4_and_ipv6_link_local`],
/// run inside namespace `a` by that test (it does nothing when run otherwise): a
/// `MetadataHost` on port 5357, and a fake WS-Discovery target that answers Probe and Resolve
/// with one XAddr on the address the request arrived at. It serves for the deadline, then
/// exits.
#[test]
#[ignore = "run inside a network namespace by wsdd_discovery_mode_reads_our_metadata_over_ipv4_and_ipv6_link_local"]
fn dpws_netns_device() {
    if std::env::var_os("SWM_DEVICE").is_none() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let v4: Ipv4Addr = var("SWM_V4").parse().expect("SWM_V4");
    let v6: Ipv6Addr = var("SWM_V6").parse().expect("SWM_V6");
    let ifindex: u32 = var("SWM_IFINDEX").parse().expect("SWM_IFINDEX");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(fake_device::serve(v4, v6, ifindex, DEADLINE + Duration::from_secs(10)));
}

mod fake_device {
    //! A MetadataHost plus the least WS-Discovery target wsdd's discovery mode needs.

    use super::*;
    use soapwire::soapwire_proto::addressing::{AddressingHeaders, EndpointReference};
    use soapwire::soapwire_proto::discovery::{
        AppSequenceGenerator, DISCOVERY_MULTICAST_V4, DISCOVERY_MULTICAST_V6, DISCOVERY_PORT, DiscoveryMessage,
        DiscoveryQuotas, DiscoveryVersion, EndpointInfo,
    };
    use soapwire::soapwire_proto::discovery::{DPWS_2006_02_NAMESPACE, WINDOWS_PUB_NAMESPACE};
    use soapwire::soapwire_proto::xml::QName;
    use tokio::net::UdpSocket;

    pub(super) async fn serve(v4: Ipv4Addr, v6: Ipv6Addr, ifindex: u32, lifetime: Duration) {
        let endpoint = format!("urn:uuid:{OUR_UUID}");
        let computer = PubComputer::new("SWHOST", Membership::Workgroup("WORKGROUP".into()));
        let host = MetadataHost::new(&endpoint, DeviceMetadata::computer(&endpoint, computer)).expect("host");
        host.open(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 5357))).await.expect("open [::]:5357");

        let recv4 = UdpSocket::bind((DISCOVERY_MULTICAST_V4, DISCOVERY_PORT)).await.expect("bind v4 group");
        recv4.join_multicast_v4(DISCOVERY_MULTICAST_V4, v4).expect("join v4");
        let send4 = UdpSocket::bind((v4, 0)).await.expect("bind v4 unicast");
        let group6 = std::net::SocketAddrV6::new(DISCOVERY_MULTICAST_V6, DISCOVERY_PORT, 0, ifindex);
        let recv6 = UdpSocket::bind(group6).await.expect("bind v6 group");
        recv6.join_multicast_v6(&DISCOVERY_MULTICAST_V6, ifindex).expect("join v6");
        let send6 = UdpSocket::bind(std::net::SocketAddrV6::new(v6, 0, 0, ifindex)).await.expect("bind v6 unicast");
        println!("device ready: {}", host.url().unwrap_or_default());

        let mut sequence = AppSequenceGenerator::new(1, None);
        let mut sent_count = 0u64;
        let (mut buf4, mut buf6) = (vec![0u8; 65536], vec![0u8; 65536]);
        let until = tokio::time::Instant::now() + lifetime;
        loop {
            let received = tokio::select! {
                r = recv4.recv_from(&mut buf4) => r.map(|(n, from)| (&buf4[..n], from, IpAddr::V4(v4))),
                r = recv6.recv_from(&mut buf6) => r.map(|(n, from)| (&buf6[..n], from, IpAddr::V6(v6))),
                () = tokio::time::sleep_until(until) => break,
            };
            let Ok((datagram, from, local)) = received else { continue };
            let Ok(message) = DiscoveryMessage::parse(datagram, &DiscoveryQuotas::default()) else { continue };
            let (kind, reply) = match &message.message {
                DiscoveryMessage::Probe(_) => {
                    ("Probe", DiscoveryMessage::ProbeMatches(vec![info(&host, &endpoint, local)]))
                }
                DiscoveryMessage::Resolve(r) if r.endpoint.address == endpoint => {
                    ("Resolve", DiscoveryMessage::ResolveMatches(Some(info(&host, &endpoint, local))))
                }
                _ => continue,
            };
            sent_count += 1;
            let addressing = AddressingHeaders {
                message_id: Some(format!("urn:uuid:5e1f0001-0000-4000-8000-{sent_count:012x}")),
                relates_to: message.addressing.message_id.clone(),
                ..AddressingHeaders::default()
            };
            let wire = reply.to_envelope(DiscoveryVersion::V2005_04, &addressing, Some(&sequence.next_sequence()));
            let sent = if from.is_ipv4() { send4.send_to(&wire, from).await } else { send6.send_to(&wire, from).await };
            println!("answered {kind} from {from}: {sent:?}");
        }
        host.close().await.ok();
    }

    fn info(host: &MetadataHost, endpoint: &str, local: IpAddr) -> EndpointInfo {
        EndpointInfo {
            endpoint: EndpointReference::new(endpoint),
            types: vec![QName::new(DPWS_2006_02_NAMESPACE, "Device"), QName::new(WINDOWS_PUB_NAMESPACE, "Computer")],
            types_text: None,
            scopes: Vec::new(),
            xaddrs: host.xaddr(local).into_iter().collect(),
            metadata_version: Some(host.metadata_version()),
        }
    }
}
