//! `soapwire metadata URL-or-urn:uuid`: fetches a DPWS device's metadata with a WS-Transfer
//! Get (what Windows does before it lists a device) and prints ThisDevice, ThisModel and the
//! Relationship (the host, with its `pub:Computer` name, and the hosted services with their
//! types and addresses), as a readable block or as JSON.
//!
//! A `urn:uuid:` endpoint address is first resolved to an XAddr with a WS-Discovery Resolve
//! on the selected interfaces ([`resolve_xaddr`]); the Get then goes to the XAddr of the first
//! ResolveMatches, addressed to the endpoint address.

use std::net::Ipv6Addr;
use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use soapwire::discovery::{AddressFamily, DiscoveredEndpoint, DiscoveryClient};
use soapwire::dpws::{
    Characteristic, DeviceMetadata, DpwsVersion, Extension, GetMetadataOptions, GetResponse, HostService,
    HostedService, LocalizedString, Membership, MetadataQuotas, PubComputer, get_metadata,
};
use soapwire::{EndpointReference, ErrorKind, QName};

use crate::discover::LinkArgs;
use crate::json::Json;

/// The arguments of `soapwire metadata`.
#[derive(clap::Args)]
pub(crate) struct MetadataArgs {
    /// The device: an XAddr such as http://192.0.2.1:5357/<uuid> (an IPv6 link-local address
    /// needs its zone: http://[fe80::1%eth0]:5357/<uuid>), or an endpoint address urn:uuid:…,
    /// resolved to its XAddr with WS-Discovery on the --interface (every interface by default).
    target: String,
    /// How a urn:uuid: target is resolved (ignored for an XAddr).
    #[command(flatten)]
    link: LinkArgs,
    /// wsa:To of the Get; by default the urn:uuid: target, or urn:uuid:<uuid> taken from the
    /// URL's last path segment.
    #[arg(long, value_name = "URI")]
    to: Option<String>,
    /// The DPWS version to ask in: 2006 (WS-Addressing 2004/08, what Windows and wsdd speak)
    /// or 1.1 (WS-Addressing 1.0).
    #[arg(long, value_enum, default_value = "2006")]
    dpws: DpwsArg,
    /// Print JSON instead of the readable block.
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds (the Resolve of a urn:uuid: target, then the Get, each).
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// The largest GetResponse accepted, in octets (WSDAPI's limit is 32767).
    #[arg(long, default_value_t = 32767)]
    max_message_size: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum DpwsArg {
    /// DPWS 2006/02.
    #[value(name = "2006")]
    V2006,
    /// DPWS 1.1 (2009/01).
    #[value(name = "1.1")]
    V11,
}

/// Runs `soapwire metadata`: 0 on success, 1 when the device answered with a SOAP fault, 2
/// on any other error.
pub(crate) async fn run(args: MetadataArgs) -> ExitCode {
    let timeout = match Duration::try_from_secs_f64(args.timeout) {
        Ok(t) if !t.is_zero() => t,
        _ => {
            eprintln!("error: --timeout must be a positive number of seconds");
            return ExitCode::from(2);
        }
    };
    let (url, endpoint) = match resolve_xaddr(&args.target, &args.link, timeout).await {
        Ok(resolved) => resolved,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    let mut quotas = MetadataQuotas { max_envelope_size: args.max_message_size, ..MetadataQuotas::default() };
    quotas.reader.max_total_bytes = quotas.reader.max_total_bytes.max(args.max_message_size);
    let options = GetMetadataOptions {
        to: args.to.clone().or(endpoint),
        version: match args.dpws {
            DpwsArg::V2006 => DpwsVersion::V2006_02,
            DpwsArg::V11 => DpwsVersion::V1_1,
        },
        timeout,
        quotas,
        // Show what the device sent; say what WSDAPI would refuse instead of refusing it.
        require_model_and_device: false,
        ..GetMetadataOptions::default()
    };
    match get_metadata(&url, &options).await {
        Ok(got) => {
            if args.json {
                println!("{}", to_json(&url, &got));
            } else {
                print!("{}", to_text(&url, &got));
            }
            if let Err(e) = got.metadata.require_model_and_device() {
                eprintln!("warning: {e} (Windows' WSDAPI refuses such metadata)");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.kind() == ErrorKind::EndpointFaultReceived { 1 } else { 2 };
            match e.fault() {
                Some(f) => {
                    let subcodes: Vec<String> = f.subcodes.iter().map(QName::to_string).collect();
                    eprintln!("fault: {} [{:?} {}]", f.reason, f.code, subcodes.join(" "));
                }
                None => eprintln!("error: {e}"),
            }
            eprintln!("HRESULT: {} ({})", e.hresult(), e.hresult().name().unwrap_or(""));
            ExitCode::from(code)
        }
    }
}

/// The XAddr to send the Get to, and the endpoint address to send it to when `target` named
/// one: `target` itself when it is an http(s) URL; for a `urn:uuid:` endpoint address, the XAddr
/// of the first ResolveMatches received on the links `link` selects within `timeout`
/// ([`pick_xaddr`]).
pub(crate) async fn resolve_xaddr(
    target: &str,
    link: &LinkArgs,
    timeout: Duration,
) -> Result<(String, Option<String>), String> {
    let target = target.trim();
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok((target.to_owned(), None));
    }
    if !lower.starts_with("urn:uuid:") {
        return Err(format!("{target:?} is neither an http:// XAddr nor a urn:uuid: endpoint address"));
    }
    let client = DiscoveryClient::open(link.config()).await.map_err(|e| format!("resolving {target}: {e}"))?;
    let found = client.resolve(target, timeout).await.map_err(|e| format!("resolving {target}: {e}"))?;
    let on = || client.interfaces().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let Some(found) = found else {
        return Err(format!(
            "no ResolveMatches for {target} within {:.1} s (resolved on {})",
            timeout.as_secs_f64(),
            on()
        ));
    };
    let url = pick_xaddr(&found).ok_or_else(|| {
        format!("{target} answered on {} without an http(s) XAddr: {:?}", found.interface, found.info.xaddrs)
    })?;
    tracing::debug!("resolved {target} to {url} on {}", found.interface);
    Ok((url, Some(found.address().to_owned())))
}

/// The XAddr of a ResolveMatch to use: the first http(s) one of the family of the interface it
/// arrived on, else the first http(s) one; an IPv6 link-local host gets the zone of that
/// interface (`http://[fe80::1%eth0]:5357/…`), as wsdd does, because a link-local address means
/// nothing without it.
pub(crate) fn pick_xaddr(found: &DiscoveredEndpoint) -> Option<String> {
    let http: Vec<&String> = found
        .info
        .xaddrs
        .iter()
        .filter(|x| ["http://", "https://"].iter().any(|p| x.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))))
        .collect();
    let v6 = found.interface.family() == AddressFamily::V6;
    let chosen = http.iter().find(|x| bracketed_host(x).is_some() == v6).or(http.first())?;
    Some(match bracketed_host(chosen) {
        Some((start, host)) if host.parse::<Ipv6Addr>().is_ok_and(|a| a.segments()[0] & 0xffc0 == 0xfe80) => {
            let end = start + host.len();
            format!("{}%{}{}", &chosen[..end], found.interface.name, &chosen[end..])
        }
        _ => (*chosen).clone(),
    })
}

/// The text inside `[…]` of a URL's authority (an IPv6 literal, possibly with a zone), and where
/// it starts.
fn bracketed_host(url: &str) -> Option<(usize, &str)> {
    let authority = url.find("://")? + 3;
    let rest = url.get(authority..)?;
    let inner = rest.strip_prefix('[')?;
    let close = inner.find(']')?;
    Some((authority + 1, &inner[..close]))
}

// ---------------------------------------------------------------------------------------------
// The readable block

/// `label  value` lines under a heading, the labels aligned.
struct Block(String);

impl Block {
    fn heading(&mut self, title: &str) {
        self.0.push_str(title);
        self.0.push('\n');
    }

    fn line(&mut self, label: &str, value: &str) {
        self.0.push_str(&format!("  {label:<16} {value}\n"));
    }

    fn optional(&mut self, label: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.line(label, v);
        }
    }

    fn localized(&mut self, label: &str, values: &[LocalizedString]) {
        for v in values {
            match &v.lang {
                Some(lang) => self.line(label, &format!("{} [{lang}]", v.text)),
                None => self.line(label, &v.text),
            }
        }
    }

    fn characteristics(&mut self, characteristics: &[Characteristic<'_>]) {
        for c in characteristics {
            match *c {
                Characteristic::Localized(name, values) => self.localized(name, values),
                Characteristic::Text(name, value) | Characteristic::Uri(name, value) => self.optional(name, value),
            }
        }
    }

    fn extensions(&mut self, extensions: &[Extension]) {
        for e in extensions {
            self.line(&e.name.local, e.text.as_deref().unwrap_or("(XML)"));
        }
    }

    fn endpoints(&mut self, endpoints: &[EndpointReference]) {
        for e in endpoints {
            self.line("Address", &e.address);
        }
    }

    fn types(&mut self, types: &[QName], text: Option<&str>) {
        if !types.is_empty() {
            let names: Vec<String> = types.iter().map(QName::to_string).collect();
            match text {
                Some(t) => self.line("Types", &format!("{t}  ({})", names.join(" "))),
                None => self.line("Types", &names.join(" ")),
            }
        }
    }
}

fn membership_text(computer: &PubComputer) -> String {
    match &computer.membership {
        Membership::Workgroup(wg) => format!("{} (workgroup {wg})", computer.name),
        Membership::Domain(d) => format!("{} (domain {d})", computer.name),
        Membership::NotJoined => format!("{} (not joined)", computer.name),
        Membership::Other(rest) if rest.is_empty() => computer.name.clone(),
        Membership::Other(rest) => format!("{} ({rest})", computer.name),
    }
}

fn host_block(b: &mut Block, host: &HostService) {
    b.heading("Host");
    b.endpoints(std::slice::from_ref(&host.endpoint));
    b.types(&host.types, host.types_text.as_deref());
    b.optional("ServiceId", host.service_id.as_deref());
    if let Some(computer) = &host.computer {
        b.line("Computer", &membership_text(computer));
    }
    b.extensions(&host.extensions);
}

fn hosted_block(b: &mut Block, n: usize, hosted: &HostedService) {
    b.heading(&format!("Hosted service {n}"));
    b.line("ServiceId", &hosted.service_id);
    b.types(&hosted.types, hosted.types_text.as_deref());
    b.endpoints(&hosted.endpoints);
    b.extensions(&hosted.extensions);
}

/// The readable block for a GetResponse from `url`.
pub(crate) fn to_text(url: &str, got: &GetResponse) -> String {
    let m: &DeviceMetadata = &got.metadata;
    let mut b = Block(String::new());
    b.heading(&format!("Metadata of {url} ({})", got.version.name()));
    match &m.this_device {
        Some(d) => {
            b.heading("ThisDevice");
            b.characteristics(&d.characteristics());
            b.extensions(&d.extensions);
        }
        None => b.heading("ThisDevice       (missing)"),
    }
    match &m.this_model {
        Some(t) => {
            b.heading("ThisModel");
            b.characteristics(&t.characteristics());
            b.optional("DeviceCategory", t.device_category.as_deref());
            b.extensions(&t.extensions);
        }
        None => b.heading("ThisModel        (missing)"),
    }
    match m.host() {
        Some(host) => host_block(&mut b, host),
        None => b.heading("Host             (none)"),
    }
    let hosted: Vec<&HostedService> = m.hosted().collect();
    if hosted.is_empty() {
        b.heading("Hosted services  (none)");
    }
    for (i, h) in hosted.into_iter().enumerate() {
        hosted_block(&mut b, i + 1, h);
    }
    for other in &m.other_sections {
        b.heading(&format!("Other section    {}", other.dialect));
    }
    b.0
}

// ---------------------------------------------------------------------------------------------
// JSON

fn json_localized(values: &[LocalizedString]) -> Json {
    Json::Arr(
        values
            .iter()
            .map(|v| Json::obj([("text", Json::str(&v.text)), ("lang", Json::opt(v.lang.as_deref()))]))
            .collect(),
    )
}

fn json_extensions(extensions: &[Extension]) -> Json {
    Json::Arr(
        extensions
            .iter()
            .map(|e| Json::obj([("name", Json::Str(e.name.to_string())), ("text", Json::opt(e.text.as_deref()))]))
            .collect(),
    )
}

fn json_types(types: &[QName], text: Option<&str>) -> [(&'static str, Json); 2] {
    [("types", Json::Arr(types.iter().map(|q| Json::Str(q.to_string())).collect())), ("types_text", Json::opt(text))]
}

/// `ManufacturerUrl` → `manufacturer_url`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The characteristics of a section as JSON fields, then `extra`.
fn json_section(characteristics: &[Characteristic<'_>], extra: Vec<(String, Json)>) -> Json {
    let mut fields: Vec<(String, Json)> = characteristics
        .iter()
        .map(|c| {
            let value = match *c {
                Characteristic::Localized(_, values) => json_localized(values),
                Characteristic::Text(_, value) | Characteristic::Uri(_, value) => Json::opt(value),
            };
            (snake_case(c.name()), value)
        })
        .collect();
    fields.extend(extra);
    Json::Obj(fields)
}

fn json_computer(computer: &PubComputer) -> Json {
    let (kind, group) = match &computer.membership {
        Membership::Workgroup(wg) => ("workgroup", Some(wg.as_str())),
        Membership::Domain(d) => ("domain", Some(d.as_str())),
        Membership::NotJoined => ("not_joined", None),
        Membership::Other(rest) => ("other", Some(rest.as_str())),
    };
    Json::obj([
        ("text", Json::Str(computer.to_text())),
        ("name", Json::str(&computer.name)),
        ("membership", Json::str(kind)),
        ("group", Json::opt(group)),
    ])
}

fn json_host(host: &HostService) -> Json {
    let [types, types_text] = json_types(&host.types, host.types_text.as_deref());
    Json::obj([
        ("address", Json::str(&host.endpoint.address)),
        types,
        types_text,
        ("service_id", Json::opt(host.service_id.as_deref())),
        ("computer", host.computer.as_ref().map_or(Json::Null, json_computer)),
        ("extensions", json_extensions(&host.extensions)),
    ])
}

fn json_hosted(hosted: &HostedService) -> Json {
    let [types, types_text] = json_types(&hosted.types, hosted.types_text.as_deref());
    Json::obj([
        ("service_id", Json::str(&hosted.service_id)),
        types,
        types_text,
        ("addresses", Json::Arr(hosted.endpoints.iter().map(|e| Json::str(&e.address)).collect())),
        ("extensions", json_extensions(&hosted.extensions)),
    ])
}

/// The JSON document for a GetResponse from `url`.
pub(crate) fn to_json(url: &str, got: &GetResponse) -> String {
    let m = &got.metadata;
    let device = m.this_device.as_ref().map_or(Json::Null, |d| {
        json_section(&d.characteristics(), vec![("extensions".into(), json_extensions(&d.extensions))])
    });
    let model = m.this_model.as_ref().map_or(Json::Null, |t| {
        let extra = vec![
            ("device_category".into(), Json::opt(t.device_category.as_deref())),
            ("extensions".into(), json_extensions(&t.extensions)),
        ];
        json_section(&t.characteristics(), extra)
    });
    let relationships = m
        .relationships
        .iter()
        .map(|r| {
            let kind = r.relationship_type.clone().unwrap_or_else(|| got.version.host_relationship());
            Json::obj([
                ("type", Json::Str(kind)),
                ("host", r.host.as_ref().map_or(Json::Null, json_host)),
                ("hosted", Json::Arr(r.hosted.iter().map(json_hosted).collect())),
            ])
        })
        .collect();
    let other = m
        .other_sections
        .iter()
        .map(|o| Json::obj([("dialect", Json::str(&o.dialect)), ("identifier", Json::opt(o.identifier.as_deref()))]))
        .collect();
    let doc = Json::obj([
        ("url", Json::str(url)),
        ("dpws", Json::str(got.version.name())),
        ("message_id", Json::opt(got.addressing.message_id.as_deref())),
        ("relates_to", Json::opt(got.addressing.relates_to.as_deref())),
        ("this_device", device),
        ("this_model", model),
        ("relationships", Json::Arr(relationships)),
        ("other_sections", Json::Arr(other)),
    ]);
    doc.pretty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use soapwire::dpws::{MetadataQuotas, Relationship};
    use soapwire::soapwire_proto::dpws::parse_get_response;

    const WSDD: &[u8] = include_bytes!("../../soapwire-proto/tests/fixtures/dpws/wsdd_get_response_2006_02.xml");
    const DOC: &[u8] = include_bytes!("../../soapwire-proto/tests/fixtures/dpws/wsdapi_doc_get_response_2006_02.xml");

    #[test]
    fn the_readable_block_shows_the_computer_and_the_hosted_services() {
        let wsdd = parse_get_response(WSDD, &MetadataQuotas::default()).expect("wsdd");
        let text = to_text("http://198.18.0.1:5357/x", &wsdd);
        for needle in [
            "Metadata of http://198.18.0.1:5357/x (DPWS 2006/02)",
            "  FriendlyName     WSD Device WSDDHOST",
            "  DeviceCategory   Computers",
            "  Types            pub:Computer  ({http://schemas.microsoft.com/windows/pub/2005/07}Computer)",
            "  Computer         WSDDHOST (workgroup WORKGROUP)",
            "Hosted services  (none)",
        ] {
            assert!(text.contains(needle), "{needle:?} missing:\n{text}");
        }
        let doc = parse_get_response(DOC, &MetadataQuotas::default()).expect("doc");
        let text = to_text("u", &doc);
        assert!(
            text.contains("Hosted service 1\n  ServiceId        http://testdevice.interop/SimpleService1\n"),
            "{text}"
        );
        assert!(text.contains("  Address          http://192.168.0.2:5357/37f86d35-e6ac-4241-964f-1d9ae46fb366"));
    }

    #[test]
    fn json_escapes_and_nests() {
        let mut got = parse_get_response(WSDD, &MetadataQuotas::default()).expect("wsdd");
        if let Some(d) = got.metadata.this_device.as_mut() {
            d.friendly_name = vec![LocalizedString::with_lang("a \"q\" \\ \n\u{1}", "en")];
        }
        got.metadata.relationships.push(Relationship::default());
        let json = to_json("http://h/", &got);
        assert!(json.contains(r#""text": "a \"q\" \\ \n\u0001""#), "{json}");
        assert!(json.contains(r#""computer": {"#) && json.contains(r#""membership": "workgroup""#), "{json}");
        assert!(json.contains(r#""hosted": []"#) && json.contains(r#""host": null"#), "{json}");
        assert_eq!(json.matches('{').count(), json.matches('}').count());
    }

    #[tokio::test]
    async fn urls_pass_through_and_other_schemes_are_refused() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            link: LinkArgs,
        }
        let link = Cli::parse_from(["t"]).link;
        let timeout = Duration::from_secs(1);
        assert_eq!(resolve_xaddr(" http://h/x ", &link, timeout).await, Ok(("http://h/x".to_owned(), None)));
        assert!(resolve_xaddr("ftp://x", &link, timeout).await.unwrap_err().contains("neither"));
    }

    #[test]
    fn the_xaddr_of_the_family_it_came_on_gets_a_zone_when_link_local() {
        use soapwire::discovery::{EndpointInfo, LocalInterface};
        use soapwire::soapwire_proto::discovery::DiscoveryVersion;
        let found = |address: std::net::IpAddr, xaddrs: &[&str]| DiscoveredEndpoint {
            info: EndpointInfo { xaddrs: xaddrs.iter().map(|x| (*x).to_owned()).collect(), ..EndpointInfo::default() },
            version: DiscoveryVersion::V2005_04,
            interface: LocalInterface { name: "veth1".into(), index: 7, address },
            from: (address, 3702).into(),
            app_sequence: None,
        };
        let v4: std::net::IpAddr = [198, 18, 0, 2].into();
        let v6: std::net::IpAddr = "fe80::2".parse().unwrap();
        let both = ["urn:x", "http://[fe80::1]:5357/u", "http://198.18.0.1:5357/u"];
        assert_eq!(pick_xaddr(&found(v4, &both)).as_deref(), Some("http://198.18.0.1:5357/u"));
        assert_eq!(pick_xaddr(&found(v6, &both)).as_deref(), Some("http://[fe80::1%veth1]:5357/u"));
        // Only the other family: taken as it is; a zone already there or a global address: kept.
        assert_eq!(pick_xaddr(&found(v6, &both[2..])).as_deref(), Some("http://198.18.0.1:5357/u"));
        let kept = ["HTTP://[fe80::1%eth9]:80/", "https://[2001:db8::1]/d"];
        assert_eq!(pick_xaddr(&found(v6, &kept[..1])).as_deref(), Some(kept[0]));
        assert_eq!(pick_xaddr(&found(v6, &kept[1..])).as_deref(), Some(kept[1]));
        assert_eq!(pick_xaddr(&found(v4, &["urn:x"])), None);
    }
}
