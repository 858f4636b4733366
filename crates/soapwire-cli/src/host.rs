//! `soapwire host`: a DPWS device host for this machine ([`DeviceHost`]): Hello on every
//! selected interface, answers to Probe and Resolve with the XAddr of the interface asked on,
//! the metadata over HTTP (WS-Transfer Get, port 5357), and Bye on SIGINT or SIGTERM.
//!
//! With `--computer` (implied by `--workgroup` and `--domain`) it announces the machine as wsdd
//! does, so that Windows Explorer lists it under "Computer": types `wsdp:Device pub:Computer`,
//! ThisDevice `FriendlyName` "WSD Device NAME", ThisModel with `pnpx:DeviceCategory` Computers,
//! and a host of type `pub:Computer` with `NAME/Workgroup:WG` (or `name/Domain:DOM`). Without
//! it, a plain `wsdp:Device` named NAME.

use std::time::Duration;

use anyhow::{Context as _, bail};
use soapwire::dpws::{DeviceConfig, DeviceHost, DeviceMetadata, LocalizedString, Membership, PubComputer};

use crate::discover::LinkArgs;

/// The arguments of `soapwire host`.
#[derive(clap::Args)]
pub(crate) struct HostArgs {
    #[command(flatten)]
    link: LinkArgs,
    /// The device's (NetBIOS) name. Default: this machine's host name, up to the first dot.
    #[arg(long)]
    name: Option<String>,
    /// Announce a computer (the pub:Computer host type, as wsdd does) rather than a plain device.
    #[arg(long)]
    computer: bool,
    /// The workgroup of the computer (implies --computer). Default WORKGROUP.
    #[arg(long, value_name = "WG", conflicts_with = "domain")]
    workgroup: Option<String>,
    /// The domain of the computer, instead of a workgroup (implies --computer).
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<String>,
    /// Keep the name's case in pub:Computer (by default upper case with a workgroup and lower
    /// case with a domain, as wsdd does).
    #[arg(long)]
    preserve_case: bool,
    /// The device UUID (its endpoint address is urn:uuid:UUID). Default: derived from this
    /// machine's host name and the name, so it stays the same across restarts.
    #[arg(long)]
    uuid: Option<String>,
    /// The HTTP port of the metadata (0 picks a free one).
    #[arg(long, default_value_t = soapwire::soapwire_proto::dpws::DPWS_HTTP_PORT)]
    port: u16,
    /// Scopes (URIs) to announce; repeatable.
    #[arg(long = "scopes", value_name = "URI")]
    scopes: Vec<String>,
    /// The metadata version to start with (a restarted device whose metadata changed should
    /// start above the last one).
    #[arg(long, default_value_t = 1)]
    metadata_version: u32,
}

/// This machine's host name, up to the first dot (`None` when it cannot be read).
fn machine_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().or_else(|| std::env::var("HOSTNAME").ok())?;
    let name = name.trim().split('.').next().unwrap_or_default();
    (!name.is_empty()).then(|| name.to_owned())
}

impl HostArgs {
    fn name(&self) -> anyhow::Result<String> {
        let name = match &self.name {
            Some(n) => n.trim().to_owned(),
            None => machine_name().context("cannot read this machine's host name; give --name")?,
        };
        if name.is_empty() || name.contains(['/', '\\']) || name.contains(char::is_whitespace) {
            bail!("--name {name:?}: a name without spaces, '/' or '\\' is needed");
        }
        Ok(name)
    }

    /// `urn:uuid:<--uuid>`, or a UUID derived from this machine's host name and `name`.
    fn endpoint(&self, name: &str) -> anyhow::Result<String> {
        let uuid = match &self.uuid {
            Some(text) => {
                let text = text.trim();
                let bare = text.get(..9).filter(|p| p.eq_ignore_ascii_case("urn:uuid:")).map_or(text, |_| &text[9..]);
                uuid::Uuid::parse_str(bare).with_context(|| format!("--uuid {text:?} is not a UUID"))?
            }
            None => derived_uuid(&machine_name().unwrap_or_default(), name),
        };
        Ok(uuid.urn().to_string())
    }

    fn computer(&self) -> bool {
        self.computer || self.workgroup.is_some() || self.domain.is_some()
    }

    /// The metadata: wsdd's for a computer, else a plain device named `name`.
    fn metadata(&self, endpoint: &str, name: &str) -> DeviceMetadata {
        let (shown, membership) = match (&self.domain, &self.workgroup) {
            (Some(domain), _) => (name.to_lowercase(), Membership::Domain(domain.clone())),
            (None, workgroup) => {
                let workgroup = workgroup.as_deref().unwrap_or("WORKGROUP").to_uppercase();
                (name.to_uppercase(), Membership::Workgroup(workgroup))
            }
        };
        let shown = if self.preserve_case { name.to_owned() } else { shown };
        let mut metadata = DeviceMetadata::computer(endpoint, PubComputer::new(shown, membership));
        let computer = self.computer();
        if let Some(device) = metadata.this_device.as_mut() {
            let friendly = if computer { format!("WSD Device {name}") } else { name.to_owned() };
            device.friendly_name = vec![LocalizedString::new(friendly)];
        }
        if !computer {
            if let Some(model) = metadata.this_model.as_mut() {
                model.device_category = None;
            }
            for host in metadata.relationships.iter_mut().filter_map(|r| r.host.as_mut()) {
                host.types.clear();
                host.computer = None;
            }
        }
        metadata
    }

    fn config(&self) -> anyhow::Result<DeviceConfig> {
        let name = self.name()?;
        let endpoint = self.endpoint(&name)?;
        let metadata = self.metadata(&endpoint, &name);
        let mut config = DeviceConfig::new(endpoint, metadata);
        config.scopes = self.scopes.clone();
        config.metadata_version = self.metadata_version;
        config.http_port = self.port;
        config.discovery = self.link.config();
        Ok(config)
    }
}

/// A stable UUID for `name` on the machine `machine` (version 8: the first 16 octets of
/// SHA-256 over both), so that a restarted host keeps its identity, and two names on one
/// machine (or one name on two machines) differ. wsdd derives its own UUID from the host name
/// too, another way, so the two never collide.
fn derived_uuid(machine: &str, name: &str) -> uuid::Uuid {
    use sha2::Digest as _;
    let digest = sha2::Sha256::new().chain_update(b"soapwire host\0").chain_update(machine).chain_update(b"\0");
    let digest = digest.chain_update(name).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Runs `soapwire host` until SIGINT or SIGTERM.
pub(crate) async fn run(args: HostArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let what = match config.metadata.host().and_then(|h| h.computer.as_ref()) {
        Some(computer) => format!("computer {computer}"),
        None => "device".to_owned(),
    };
    let types: Vec<String> = config.announced_types().iter().map(crate::discover::show_type).collect();
    let device = DeviceHost::start(config).await.with_context(|| match args.port {
        5357 => "starting the device host (is another WSD host, such as wsdd, using port 5357?)".to_owned(),
        _ => "starting the device host".to_owned(),
    })?;
    let endpoint = device.endpoint_address().to_owned();
    let http = device.local_addr().map(|a| a.to_string()).unwrap_or_default();
    println!("hosting {what} as {endpoint} ({}), metadata on {http}", types.join(" "));
    for (interface, xaddr) in device.xaddrs() {
        println!("announcing {endpoint} on {interface}: {xaddr}");
    }
    println!("ready");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = terminate.recv() => {}
    }
    let stats = device.stats();
    // Bye takes about 1 s; the HTTP close is bounded by the listener's close timeout.
    tokio::time::timeout(Duration::from_secs(10), device.stop())
        .await
        .context("stopping the device host took too long")?
        .context("closing the metadata listener")?;
    let d = stats.discovery;
    println!(
        "bye: answered {} probes and {} resolves ({} over the rate limit; {} datagrams dropped)",
        stats.probes_answered,
        stats.resolves_answered,
        stats.rate_limited,
        d.malformed + d.duplicates + d.misaddressed + d.queue_full
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        host: HostArgs,
    }

    fn parse(args: &[&str]) -> HostArgs {
        Cli::parse_from(std::iter::once("host").chain(args.iter().copied())).host
    }

    #[test]
    fn a_computer_is_announced_and_described_as_wsdd_does() {
        let args = parse(&["--name", "swHost", "--uuid", "urn:uuid:5E1F0000-0000-4000-8000-00000000D9A5"]);
        let plain = args.config().unwrap();
        assert_eq!(plain.endpoint_address, "urn:uuid:5e1f0000-0000-4000-8000-00000000d9a5");
        assert_eq!(plain.announced_types().len(), 1, "a plain device is wsdp:Device only");
        assert!(plain.metadata.host().is_some_and(|h| h.computer.is_none() && h.types.is_empty()));

        let computer = parse(&["--name", "swHost", "--computer"]).config().unwrap();
        let shown: Vec<String> = computer.announced_types().iter().map(crate::discover::show_type).collect();
        assert_eq!(shown, ["wsdp:Device", "pub:Computer"]);
        let m = &computer.metadata;
        assert_eq!(
            m.host().and_then(|h| h.computer.as_ref()).map(|c| c.to_text()).unwrap(),
            "SWHOST/Workgroup:WORKGROUP"
        );
        assert_eq!(m.this_device.as_ref().unwrap().friendly_name[0].text, "WSD Device swHost");
        assert_eq!(m.this_model.as_ref().unwrap().device_category.as_deref(), Some("Computers"));
        m.validate().unwrap();

        let domain = parse(&["--name", "swHost", "--domain", "corp.example"]).config().unwrap();
        let text = domain.metadata.host().and_then(|h| h.computer.as_ref()).map(|c| c.to_text());
        assert_eq!(text.as_deref(), Some("swhost/Domain:corp.example"));
        let kept = parse(&["--name", "swHost", "--workgroup", "wg", "--preserve-case"]).config().unwrap();
        let text = kept.metadata.host().and_then(|h| h.computer.as_ref()).map(|c| c.to_text());
        assert_eq!(text.as_deref(), Some("swHost/Workgroup:WG"));
    }

    #[test]
    fn the_default_uuid_is_stable_per_machine_and_name() {
        assert_eq!(derived_uuid("m", "a"), derived_uuid("m", "a"));
        assert_ne!(derived_uuid("m", "a"), derived_uuid("m", "b"));
        assert_ne!(derived_uuid("ma", ""), derived_uuid("m", "a"));
        assert_eq!(derived_uuid("m", "a").get_version_num(), 8);
        assert!(parse(&["--name", "a b"]).config().is_err());
        assert!(parse(&["--name", "x", "--uuid", "nope"]).config().is_err());
    }
}
