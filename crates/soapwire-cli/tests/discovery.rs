//! WS-Discovery on the wire, across two network namespaces joined by a veth pair (made by each
//! test for itself: `netns/mod.rs`), over IPv4 and IPv6 link-local:
//!
//! - `soapwire discover` in namespace B finds wsdd (a Samba-style host, WS-Discovery 2005/04) in
//!   namespace A, resolving its XAddr (wsdd answers Probe without XAddrs);
//! - wsdd in discovery mode (`wsdd -D`) in B finds `soapwire discovery-target` in A by Probe, and
//!   by the Hello → Resolve path;
//! - `soapwire discover` finds `soapwire discovery-target` in both WS-Discovery versions, and
//!   the target says Bye when stopped.
//!
//! They need root (namespaces) and `ip`; the wsdd tests need wsdd (`cargo xtask peers install`).
//! Without them a test is skipped with a note, or fails when `SOAPWIRE_REQUIRE_PEERS` is set.
//! Nothing is sent outside the test's own namespaces.

mod netns;

use netns::{Background, NetnsPair, Side, TIMEOUT};

fn soapwire(side: &Side, args: &[&str]) -> std::process::Command {
    side.command(env!("CARGO_BIN_EXE_soapwire"), args)
}

/// Runs `soapwire discover` in `side` and returns its stdout.
fn discover(side: &Side, args: &[&str]) -> String {
    let mut all = vec!["discover", "--interface", &side.name];
    all.extend_from_slice(args);
    let mut run = Background::spawn("soapwire discover", soapwire(side, &all));
    let status = run.wait(TIMEOUT);
    assert!(status.success(), "soapwire discover failed ({status}):\n{}", run.log());
    run.log()
}

/// The JSON object line of `soapwire discover --json` for `family`, which must name `endpoint`.
fn json_row<'a>(output: &'a str, endpoint: &str, family: &str) -> &'a str {
    output
        .lines()
        .find(|l| {
            l.contains(&format!("\"family\": \"{family}\"")) && l.contains(&format!("\"endpoint\": \"{endpoint}\""))
        })
        .unwrap_or_else(|| panic!("no {family} row for {endpoint} in:\n{output}"))
}

fn xaddr_v4(side: &Side, uuid: &str) -> String {
    format!("http://{}:5357/{uuid}", side.ipv4)
}

fn xaddr_v6(side: &Side, uuid: &str) -> String {
    format!("http://[{}]:5357/{uuid}", side.link_local)
}

/// Each family with the XAddr `side` has on it for `uuid`.
fn xaddrs_by_family(side: &Side, uuid: &str) -> [(&'static str, String); 2] {
    [("IPv4", xaddr_v4(side, uuid)), ("IPv6", xaddr_v6(side, uuid))]
}

/// Waits until `wsdd -D -v -v` logged `what` ("probe match", "resolve match") for `uuid` with
/// its XAddr in `side`, over both families.
fn wait_wsdd_found(wsdd: &mut Background, what: &str, side: &Side, uuid: &str) {
    let lines = xaddrs_by_family(side, uuid).map(|(_, xaddr)| format!("{what} for urn:uuid:{uuid} on {xaddr}"));
    wsdd.wait_for(&[&lines[0], &lines[1]], TIMEOUT);
}

fn start_wsdd_host(side: &Side, uuid: &str) -> Background {
    let mut wsdd =
        Background::spawn("wsdd", side.command("wsdd", &["-i", &side.name, "-n", "SWTESTHOST", "-U", uuid, "-v"]));
    // Both multicast handlers are up once both joins are logged.
    wsdd.wait_for(&["joined multicast group ('239.255.255.250'", "joined multicast group ('ff02::c'"], TIMEOUT);
    wsdd
}

fn start_target(side: &Side, endpoint: &str, extra: &[&str]) -> Background {
    let mut args = vec!["discovery-target", "--interface", &side.name, "--endpoint", endpoint];
    args.extend_from_slice(extra);
    let mut target = Background::spawn("soapwire discovery-target", soapwire(side, &args));
    target.wait_for(&["ready"], TIMEOUT);
    target
}

#[test]
fn discover_finds_wsdd_over_ipv4_and_ipv6_link_local() {
    if !netns::available(&["wsdd"]) {
        return;
    }
    let pair = NetnsPair::create(1);
    let uuid = "5c1e0d2a-7b3f-4e6a-9d8c-1f2e3d4c5b6a";
    let endpoint = format!("urn:uuid:{uuid}");
    let wsdd = start_wsdd_host(&pair.a, uuid);

    let json = discover(&pair.b, &["--timeout", "3", "--json"]);
    for (family, xaddr) in xaddrs_by_family(&pair.a, uuid) {
        let row = json_row(&json, &endpoint, family);
        // wsdd's ProbeMatches has no XAddrs: this one came from the Resolve.
        assert!(row.contains(&format!("\"xaddrs\": [\"{xaddr}\"]")), "{row}\n{}", wsdd.log());
        assert!(row.contains("\"types\": [\"wsdp:Device\", \"pub:Computer\"]"), "{row}");
        assert!(row.contains(&format!("\"interface\": \"{}\"", pair.b.name)), "{row}");
        assert!(row.contains("\"version\": \"2005/04\""), "{row}");
    }

    // The table, IPv4 only.
    let table = discover(&pair.b, &["--timeout", "2", "-4"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("ENDPOINT") && header.contains("XADDRS") && header.contains("INTERFACE"), "{table}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{table}");
    assert!(rows[0].starts_with(&endpoint), "{table}");
    assert!(rows[0].contains(&xaddr_v4(&pair.a, uuid)), "{table}");
    assert!(rows[0].ends_with(&format!("{} (IPv4)", pair.b.name)), "{table}");
}

#[test]
fn wsdd_discovery_mode_finds_the_soapwire_target_by_probe_and_by_hello() {
    if !netns::available(&["wsdd"]) {
        return;
    }
    let pair = NetnsPair::create(2);
    // By Probe: the target is up before wsdd probes; its ProbeMatches carries the XAddr of the
    // interface the Probe came in on.
    let first = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
    let mut target =
        start_target(&pair.a, &format!("urn:uuid:{first}"), &["--types", "wsdp:Device", "--types", "pub:Computer"]);
    let mut wsdd = Background::spawn("wsdd -D", pair.b.command("wsdd", &["-i", &pair.b.name, "-D", "-o", "-v", "-v"]));
    // wsdd waits up to 3 s per address before its Probe; then the reply takes up to 2.5 s.
    wait_wsdd_found(&mut wsdd, "probe match", &pair.a, first);
    // (wsdd then fails to fetch the metadata: this target serves none.)
    assert!(target.terminate().success(), "{}", target.log());
    assert!(target.log().contains("bye: answered 2 probes"), "{}", target.log());

    // By Hello: a new target announces itself without XAddrs; wsdd Resolves and gets them.
    let second = "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6";
    let _target = start_target(&pair.a, &format!("urn:uuid:{second}"), &[]);
    wait_wsdd_found(&mut wsdd, "resolve match", &pair.a, second);
    assert!(wsdd.log().contains("Hello without XAddrs, sending resolve"), "{}", wsdd.log());
}

#[test]
fn discover_finds_the_soapwire_target_in_both_versions() {
    if !netns::available(&[]) {
        return;
    }
    let pair = NetnsPair::create(3);
    for (version_args, version) in [(&[][..], "2005/04"), (&["--v11"][..], "1.1")] {
        let uuid = if version_args.is_empty() {
            "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"
        } else {
            "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a12"
        };
        let endpoint = format!("urn:uuid:{uuid}");
        let mut target = start_target(&pair.a, &endpoint, version_args);
        let mut args = vec!["--timeout", "3", "--json"];
        args.extend_from_slice(version_args);
        let json = discover(&pair.b, &args);
        for (family, xaddr) in xaddrs_by_family(&pair.a, uuid) {
            let row = json_row(&json, &endpoint, family);
            assert!(row.contains(&format!("\"xaddrs\": [\"{xaddr}\"]")), "{row}");
            assert!(row.contains(&format!("\"version\": \"{version}\"")), "{row}");
        }
        assert!(target.terminate().success(), "{}", target.log());
        assert!(target.log().contains("bye: answered 2 probes"), "{}", target.log());
    }
}

#[test]
fn an_address_added_later_is_picked_up_without_a_restart() {
    if !netns::available(&[]) {
        return;
    }
    let pair = NetnsPair::create(4);
    let a = &pair.a;
    let v4 = format!("{}/24", a.ipv4);
    netns::ip_ok(&["-n", &a.name, "addr", "del", &v4, "dev", &a.name]);
    let uuid = "4d5e6f70-8192-43a4-b5c6-d7e8f90a1b23";
    let mut target = start_target(a, &format!("urn:uuid:{uuid}"), &["--log", "soapwire=debug"]);
    assert!(!target.log().contains(&format!("on {} ({})", a.name, a.ipv4)), "{}", target.log());
    netns::ip_ok(&["-n", &a.name, "addr", "add", &v4, "dev", &a.name]);
    // The interface list is read again every 5 s.
    target.wait_for(&["new address; opening a link"], TIMEOUT);
    let json = discover(&pair.b, &["--timeout", "3", "--json", "-4"]);
    let row = json_row(&json, &format!("urn:uuid:{uuid}"), "IPv4");
    assert!(row.contains(&xaddr_v4(a, uuid)), "{row}");
}

#[test]
fn discover_reports_an_unknown_interface() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soapwire"))
        .args(["discover", "--interface", "swd-no-such-if", "--timeout", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no usable interface") && stderr.contains("swd-no-such-if"), "{stderr}");
}
