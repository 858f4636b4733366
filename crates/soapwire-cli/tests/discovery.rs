//! WS-Discovery on the wire, across two network namespaces joined by a veth pair (made by each
//! test for itself: `netns/mod.rs`), over IPv4 and IPv6 link-local:
//!
//! - `soapwire discover` in namespace B finds wsdd (a Samba-style host, WS-Discovery 2005/04) in
//!   namespace A, resolving its XAddr (wsdd answers Probe without XAddrs);
//! - `soapwire discover` finds `soapwire host` in both WS-Discovery versions, and the host says
//!   Bye when stopped;
//! - an address added to A while `soapwire host` runs gets its own link, Hello and XAddr.
//!
//! wsdd finding `soapwire host` (and reading its metadata) is in `dpws.rs`. They need root
//! (namespaces) and `ip`; the wsdd tests need wsdd (`cargo xtask peers install`). Without them a
//! test is skipped with a note, or fails when `SOAPWIRE_REQUIRE_PEERS` is set. Nothing is sent
//! outside the test's own namespaces.

mod netns;

use netns::{NetnsPair, Side, TIMEOUT, start_soapwire_host, start_wsdd_host, xaddrs_by_family};

/// Runs `soapwire discover --interface <side> args…` in `side` and returns its output.
fn discover(side: &Side, args: &[&str]) -> String {
    let mut all = vec!["discover", "--interface", &side.name];
    all.extend_from_slice(args);
    let (status, output) = netns::run("soapwire discover", netns::soapwire(side, &all));
    assert!(status.success(), "soapwire discover failed ({status}):\n{output}");
    output
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

#[test]
fn discover_finds_wsdd_over_ipv4_and_ipv6_link_local() {
    if !netns::available(&["wsdd"]) {
        return;
    }
    let pair = NetnsPair::create(1);
    let uuid = "5c1e0d2a-7b3f-4e6a-9d8c-1f2e3d4c5b6a";
    let endpoint = format!("urn:uuid:{uuid}");
    let wsdd = start_wsdd_host(&pair.a, "SWTESTHOST", uuid);

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
    assert!(rows[0].contains(&xaddrs_by_family(&pair.a, uuid)[0].1), "{table}");
    assert!(rows[0].ends_with(&format!("{} (IPv4)", pair.b.name)), "{table}");
}

#[test]
fn discover_finds_soapwire_host_in_both_versions() {
    if !netns::available(&[]) {
        return;
    }
    let pair = NetnsPair::create(3);
    for (version_args, version, device_type) in
        [(&[][..], "2005/04", "wsdp:Device"), (&["--v11"][..], "1.1", "dpws:Device")]
    {
        let uuid = if version_args.is_empty() {
            "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"
        } else {
            "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a12"
        };
        let endpoint = format!("urn:uuid:{uuid}");
        let mut host_args = vec!["--name", "SWV", "--uuid", uuid];
        host_args.extend_from_slice(version_args);
        let host = start_soapwire_host(&pair.a, &host_args);
        let mut args = vec!["--timeout", "3", "--json"];
        args.extend_from_slice(version_args);
        let json = discover(&pair.b, &args);
        for (family, xaddr) in xaddrs_by_family(&pair.a, uuid) {
            let row = json_row(&json, &endpoint, family);
            assert!(row.contains(&format!("\"xaddrs\": [\"{xaddr}\"]")), "{row}");
            assert!(row.contains(&format!("\"version\": \"{version}\"")), "{row}");
            assert!(row.contains(&format!("\"types\": [\"{device_type}\"]")), "{row}");
            assert!(row.contains("\"metadata_version\": 1,"), "{row}");
        }
        let log = netns::stop_soapwire_host(host);
        assert!(log.contains("bye: answered 2 probes"), "{log}");
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
    let mut host = start_soapwire_host(a, &["--name", "SWLATE", "--uuid", uuid, "--log", "soapwire=debug"]);
    assert!(!host.log().contains(&format!("on {} ({})", a.name, a.ipv4)), "{}", host.log());
    netns::ip_ok(&["-n", &a.name, "addr", "add", &v4, "dev", &a.name]);
    // The interface list is read again every 5 s.
    host.wait_for(&["new address; opening a link"], TIMEOUT);
    let json = discover(&pair.b, &["--timeout", "3", "--json", "-4"]);
    let row = json_row(&json, &format!("urn:uuid:{uuid}"), "IPv4");
    assert!(row.contains(&xaddrs_by_family(a, uuid)[0].1), "{row}");
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
