//! `soapwire discover`: find WS-Discovery target services (devices, hosts) on the local links.
//!
//! `discover` probes on every selected interface and address family, resolves the matches that
//! came without XAddrs (wsdd and Windows hosts answer that way), and prints one row per target
//! and link: endpoint, types, XAddrs, interface. `--json` prints the same as a JSON array.
//!
//! Types are written `prefix:Local` with the known prefixes [`PREFIXES`] (`wsdp` = DPWS 2006, the
//! namespace Windows and wsdd use; `dpws` = DPWS 1.1; `pub` = Windows pub) or `{namespace}Local`.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use soapwire::QName;
use soapwire::discovery::{
    DPWS_1_1_NAMESPACE, DPWS_2006_02_NAMESPACE, DiscoveredEndpoint, DiscoveryClient, DiscoveryConfig, MATCH_TIMEOUT,
    WINDOWS_PUB_NAMESPACE,
};
use soapwire::soapwire_proto::discovery::DiscoveryVersion;

use crate::json::Json;

/// The type prefixes `--types` knows.
pub(crate) const PREFIXES: [(&str, &str); 3] =
    [("wsdp", DPWS_2006_02_NAMESPACE), ("dpws", DPWS_1_1_NAMESPACE), ("pub", WINDOWS_PUB_NAMESPACE)];

/// Where discovery runs and in which version: shared by `discover`, `host` and `metadata`.
#[derive(clap::Args)]
pub(crate) struct LinkArgs {
    /// Run on this interface only (a name such as eth0, or an address); repeatable. Default:
    /// every interface that is up and not a loopback.
    #[arg(long = "interface", value_name = "IF")]
    interfaces: Vec<String>,
    /// IPv4 only (239.255.255.250).
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    ipv4: bool,
    /// IPv6 only (ff02::c, from the link-local address).
    #[arg(short = '6', long)]
    ipv6: bool,
    /// Speak WS-Discovery 1.1 (OASIS 2009/01) instead of 2005/04 (what Windows and wsdd speak).
    #[arg(long)]
    v11: bool,
}

impl LinkArgs {
    pub(crate) fn config(&self) -> DiscoveryConfig {
        DiscoveryConfig {
            version: if self.v11 { DiscoveryVersion::V1_1 } else { DiscoveryVersion::V2005_04 },
            interfaces: self.interfaces.clone(),
            ipv4: !self.ipv6,
            ipv6: !self.ipv4,
            ..DiscoveryConfig::default()
        }
    }
}

/// `soapwire discover`.
#[derive(clap::Args)]
pub(crate) struct DiscoverArgs {
    #[command(flatten)]
    link: LinkArgs,
    /// Types, as prefix:Local (prefixes wsdp, dpws, pub) or {namespace}Local; repeatable.
    #[arg(long = "types", value_name = "QNAME")]
    types: Vec<String>,
    /// Scopes (URIs); repeatable.
    #[arg(long = "scopes", value_name = "URI")]
    scopes: Vec<String>,
    /// Probe without Types, matching every target (wsdd and Windows hosts do not answer such a
    /// Probe). Without it and without --types, the Probe asks for wsdp:Device (dpws:Device with --v11).
    #[arg(long, conflicts_with = "types")]
    all_types: bool,
    /// How long to collect ProbeMatches, in seconds (MATCH_TIMEOUT, 10 s, by default). Each
    /// Resolve of a match without XAddrs waits as long at most.
    #[arg(long, default_value_t = MATCH_TIMEOUT.as_secs_f64())]
    timeout: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Do not Resolve the matches that came without XAddrs.
    #[arg(long)]
    no_resolve: bool,
}

impl DiscoverArgs {
    /// `--types`, or the device type of the version (`wsdp:Device`, `dpws:Device` with `--v11`).
    fn types(&self) -> anyhow::Result<Vec<QName>> {
        if self.types.is_empty() {
            let ns = if self.link.v11 { DPWS_1_1_NAMESPACE } else { DPWS_2006_02_NAMESPACE };
            return Ok(vec![QName::new(ns, "Device")]);
        }
        self.types.iter().map(|t| parse_type(t)).collect()
    }
}

/// Parses `prefix:Local` (known prefixes) or `{namespace}Local`.
pub(crate) fn parse_type(text: &str) -> anyhow::Result<QName> {
    if let Some(rest) = text.strip_prefix('{') {
        let (ns, local) = rest.split_once('}').with_context(|| format!("{text:?}: missing '}}'"))?;
        if local.is_empty() || local.contains([':', '{', '}']) {
            bail!("{text:?}: expected {{namespace}}Local");
        }
        return Ok(QName::new(ns, local));
    }
    let (prefix, local) = text.split_once(':').with_context(|| {
        format!("{text:?}: write a type as prefix:Local (prefixes {}) or {{namespace}}Local", prefix_list())
    })?;
    let ns = PREFIXES
        .iter()
        .find(|(p, _)| *p == prefix)
        .map(|(_, ns)| *ns)
        .with_context(|| format!("{text:?}: unknown prefix {prefix:?} (known: {})", prefix_list()))?;
    if local.is_empty() || local.contains([':', '{', '}']) {
        bail!("{text:?}: expected prefix:Local");
    }
    Ok(QName::new(ns, local))
}

fn prefix_list() -> String {
    PREFIXES.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(", ")
}

/// A type as the table shows it: `prefix:Local` for known namespaces, else `{ns}Local`.
pub(crate) fn show_type(name: &QName) -> String {
    match PREFIXES.iter().find(|(_, ns)| *ns == name.namespace) {
        Some((prefix, _)) => format!("{prefix}:{}", name.local),
        None if name.namespace.is_empty() => name.local.clone(),
        None => format!("{{{}}}{}", name.namespace, name.local),
    }
}

fn seconds(value: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("{what} must be a number of seconds >= 0"))
}

/// Runs `soapwire discover`.
pub(crate) async fn run(args: DiscoverArgs) -> anyhow::Result<()> {
    let timeout = seconds(args.timeout, "--timeout")?;
    let types = if args.all_types { Vec::new() } else { args.types()? };
    let client = DiscoveryClient::open(args.link.config()).await.context("opening the discovery sockets")?;
    let mut found = if args.no_resolve {
        client.probe(&types, &args.scopes, timeout).await?
    } else {
        client.search(&types, &args.scopes, timeout).await?
    };
    found.sort_by(|x, y| {
        let key = |m: &DiscoveredEndpoint| (m.address().to_owned(), m.interface.name.clone(), m.interface.family());
        key(x).cmp(&key(y))
    });
    if args.json {
        println!("{}", to_json(&found));
    } else if found.is_empty() {
        let on: Vec<String> = client.interfaces().iter().map(|i| i.to_string()).collect();
        eprintln!("no target service answered within {:.1} s (probed on {})", timeout.as_secs_f64(), on.join(", "));
    } else {
        print!("{}", to_table(&found));
    }
    Ok(())
}

/// One row's cells: endpoint, types, XAddrs, interface.
fn cells(m: &DiscoveredEndpoint) -> [String; 4] {
    [
        m.address().to_owned(),
        m.info.types.iter().map(show_type).collect::<Vec<_>>().join(" "),
        if m.info.xaddrs.is_empty() { "-".to_owned() } else { m.info.xaddrs.join(" ") },
        format!("{} ({})", m.interface.name, m.interface.family()),
    ]
}

/// The table: a header and one aligned row per match.
pub(crate) fn to_table(found: &[DiscoveredEndpoint]) -> String {
    let header = ["ENDPOINT", "TYPES", "XADDRS", "INTERFACE"].map(str::to_owned);
    let rows: Vec<[String; 4]> = std::iter::once(header).chain(found.iter().map(cells)).collect();
    let mut widths = [0usize; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The matches as a JSON array of objects (`endpoint`, `types`, `scopes`, `xaddrs`,
/// `metadata_version`, `interface`, `family`, `from`, `version`).
pub(crate) fn to_json(found: &[DiscoveredEndpoint]) -> String {
    let objects: Vec<String> = found
        .iter()
        .map(|m| {
            let object = Json::obj([
                ("endpoint", Json::str(m.address())),
                ("types", Json::Arr(m.info.types.iter().map(|t| Json::Str(show_type(t))).collect())),
                ("scopes", Json::strs(m.info.scopes.iter().map(String::as_str))),
                ("xaddrs", Json::strs(m.info.xaddrs.iter().map(String::as_str))),
                ("metadata_version", m.info.metadata_version.map_or(Json::Null, |v| Json::Uint(v.into()))),
                ("interface", Json::str(&m.interface.name)),
                ("family", Json::Str(m.interface.family().to_string())),
                ("from", Json::Str(m.from.to_string())),
                ("version", Json::str(version_name(m.version))),
            ]);
            format!("  {}", object.compact())
        })
        .collect();
    if objects.is_empty() { "[]".to_owned() } else { format!("[\n{}\n]", objects.join(",\n")) }
}

fn version_name(version: DiscoveryVersion) -> &'static str {
    match version {
        DiscoveryVersion::V2005_04 => "2005/04",
        DiscoveryVersion::V1_1 => "1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_with_known_prefixes_and_braces() {
        assert_eq!(parse_type("wsdp:Device").unwrap(), QName::new(DPWS_2006_02_NAMESPACE, "Device"));
        assert_eq!(parse_type("pub:Computer").unwrap(), QName::new(WINDOWS_PUB_NAMESPACE, "Computer"));
        assert_eq!(parse_type("{urn:x}Printer").unwrap(), QName::new("urn:x", "Printer"));
        assert!(parse_type("xx:Device").unwrap_err().to_string().contains("unknown prefix"));
        assert!(parse_type("Device").is_err());
        assert!(parse_type("{urn:x").is_err());
        assert!(parse_type("wsdp:").is_err());
        assert_eq!(show_type(&QName::new("urn:x", "Printer")), "{urn:x}Printer");
        assert_eq!(show_type(&QName::new(DPWS_1_1_NAMESPACE, "Device")), "dpws:Device");
    }

    #[test]
    fn json_rows_are_one_object_a_line() {
        use soapwire::discovery::{EndpointInfo, LocalInterface};
        assert_eq!(to_json(&[]), "[]");
        let mut info = EndpointInfo::default();
        info.endpoint.address = "urn:uuid:x\"y".into();
        info.types = vec![QName::new(DPWS_2006_02_NAMESPACE, "Device"), QName::new(WINDOWS_PUB_NAMESPACE, "Computer")];
        info.xaddrs = vec!["http://198.18.0.1:5357/x".into()];
        info.metadata_version = Some(3);
        let found = DiscoveredEndpoint {
            info,
            version: DiscoveryVersion::V2005_04,
            interface: LocalInterface { name: "eth0".into(), index: 2, address: [198, 18, 0, 2].into() },
            from: ([198, 18, 0, 1], 3702).into(),
            app_sequence: None,
        };
        assert_eq!(
            to_json(&[found.clone(), found]).lines().nth(1),
            Some(concat!(
                r#"  {"endpoint": "urn:uuid:x\"y", "types": ["wsdp:Device", "pub:Computer"], "scopes": [], "#,
                r#""xaddrs": ["http://198.18.0.1:5357/x"], "metadata_version": 3, "interface": "eth0", "#,
                r#""family": "IPv4", "from": "198.18.0.1:3702", "version": "2005/04"},"#
            ))
        );
    }
}
