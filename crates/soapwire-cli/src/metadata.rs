//! `soapwire metadata URL-or-urn:uuid`: fetches a DPWS device's metadata with a WS-Transfer
//! Get (what Windows does before it lists a device) and prints ThisDevice, ThisModel and the
//! Relationship (the host, with its `pub:Computer` name, and the hosted services with their
//! types and addresses), as a readable block or as JSON.
//!
//! A `urn:uuid:` endpoint address must first be resolved to an XAddr with WS-Discovery;
//! [`resolve_xaddr`] is where that hooks in.

use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use soapwire::dpws::{
    Characteristic, DeviceMetadata, DpwsVersion, Extension, GetMetadataOptions, GetResponse, HostService,
    HostedService, LocalizedString, Membership, MetadataQuotas, PubComputer, get_metadata,
};
use soapwire::{EndpointReference, ErrorKind, QName};

/// The arguments of `soapwire metadata`.
#[derive(clap::Args)]
pub(crate) struct MetadataArgs {
    /// The device: an XAddr such as http://192.0.2.1:5357/<uuid> (an IPv6 link-local address
    /// needs its zone: http://[fe80::1%eth0]:5357/<uuid>), or an endpoint address urn:uuid:…
    target: String,
    /// wsa:To of the Get; by default urn:uuid:<uuid> taken from the URL's last path segment.
    #[arg(long, value_name = "URI")]
    to: Option<String>,
    /// The DPWS version to ask in: 2006 (WS-Addressing 2004/08, what Windows and wsdd speak)
    /// or 1.1 (WS-Addressing 1.0).
    #[arg(long, value_enum, default_value = "2006")]
    dpws: DpwsArg,
    /// Print JSON instead of the readable block.
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds.
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
    let url = match resolve_xaddr(&args.target, timeout).await {
        Ok(url) => url,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    let mut quotas = MetadataQuotas { max_envelope_size: args.max_message_size, ..MetadataQuotas::default() };
    quotas.reader.max_total_bytes = quotas.reader.max_total_bytes.max(args.max_message_size);
    let options = GetMetadataOptions {
        to: args.to.clone(),
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

/// The XAddr to send the Get to: `target` itself when it is a URL. A `urn:uuid:` endpoint
/// address needs a WS-Discovery Resolve (the XAddr of its ResolveMatches), which is where the
/// discovery client plugs in; until then it is an error that says what to do instead.
pub(crate) async fn resolve_xaddr(target: &str, _timeout: Duration) -> Result<String, String> {
    let lower = target.trim().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(target.trim().to_owned());
    }
    if lower.starts_with("urn:uuid:") {
        return Err(format!(
            "resolving {target} to an XAddr needs WS-Discovery (a Resolve), which this build cannot do yet; \
             give the device's XAddr instead, e.g. http://IP:5357/{}",
            target.trim().get("urn:uuid:".len()..).unwrap_or_default()
        ));
    }
    Err(format!("{target:?} is neither an http:// XAddr nor a urn:uuid: endpoint address"))
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

/// A JSON value, written by hand (the CLI has no JSON dependency).
enum Json {
    Null,
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn opt(value: Option<&str>) -> Json {
        value.map_or(Json::Null, |v| Json::Str(v.to_owned()))
    }

    fn str(value: &str) -> Json {
        Json::Str(value.to_owned())
    }

    /// An object from `(key, value)` pairs.
    fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
        Json::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
        match self {
            Json::Null => out.push_str("null"),
            Json::Str(s) => write_json_string(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, indent + 2);
                    item.write(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (key, value)) in fields.iter().enumerate() {
                    pad(out, indent + 2);
                    write_json_string(out, key);
                    out.push_str(": ");
                    value.write(out, indent + 2);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

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
    let mut out = String::with_capacity(2048);
    doc.write(&mut out, 0);
    out
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
    async fn urn_uuid_targets_say_how_to_proceed() {
        let why = resolve_xaddr("urn:uuid:11111111-2222-3333-4444-555555555555", Duration::from_secs(1))
            .await
            .expect_err("no discovery yet");
        assert!(why.contains("http://IP:5357/11111111-2222-3333-4444-555555555555"), "{why}");
        assert!(resolve_xaddr("ftp://x", Duration::from_secs(1)).await.is_err());
        assert_eq!(resolve_xaddr(" http://h/x ", Duration::from_secs(1)).await.as_deref(), Ok("http://h/x"));
    }
}
