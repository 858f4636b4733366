//! [`DeviceHost`]: a whole DPWS device host (WSDAPI's `IWSDDeviceHost`): the metadata served
//! over HTTP by a [`MetadataHost`] and the device announced and found by a
//! [`DiscoveryTarget`], kept in step.
//!
//! * [`DeviceHost::start`] opens the HTTP listener first (port 5357 by default), then starts the
//!   discovery target, so that an XAddr is reachable as soon as it is announced: Hello goes out
//!   on every link, and Probe and Resolve are answered with exactly one XAddr, the
//!   [`MetadataHost::xaddr`] of the interface the request arrived on (the target's
//!   [`TargetService::xaddrs_template`] is built from the listener's real port and path).
//! * The metadata version is the [`MetadataHost`]'s: every change of it
//!   ([`DeviceHost::set_metadata`], or [`MetadataHost::set_metadata`] /
//!   [`MetadataHost::bump_metadata_version`] through [`DeviceHost::metadata_host`]) is seen
//!   through [`MetadataHost::watch_metadata_version`] and announced with a new Hello
//!   ([`DiscoveryTarget::set_metadata_version`]), so clients fetch the metadata again.
//! * [`DeviceHost::stop`] sends Bye, then closes the HTTP listener.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Weak};

use soapwire_proto::discovery::DiscoveryVersion;
use soapwire_proto::dpws::{DPWS_HTTP_PORT, DeviceMetadata, PubComputer};
use soapwire_proto::properties::ListenerProperties;
use soapwire_proto::xml::QName;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;
use tracing::debug;

use super::MetadataHost;
use crate::discovery::{
    DPWS_1_1_NAMESPACE, DPWS_2006_02_NAMESPACE, DiscoveryConfig, DiscoveryTarget, LocalInterface, TargetOptions,
    TargetService, TargetStats,
};

/// What a [`DeviceHost`] serves and announces, and where.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// The device's endpoint address (`urn:uuid:…`): its stable identity in discovery, the
    /// `wsa:To` of the Get it answers, and (as `/<uuid>`) the HTTP path of its metadata. Keep it
    /// the same across restarts: Windows remembers devices by it.
    pub endpoint_address: String,
    /// The metadata served: ThisModel, ThisDevice and the Relationship (host and hosted
    /// services).
    pub metadata: DeviceMetadata,
    /// The types announced in discovery. Empty (the default): the `Device` type of the DPWS
    /// version that goes with [`DiscoveryConfig::version`] (`wsdp:Device` for 2005/04,
    /// `dpws:Device` for 1.1), then the types of the metadata's host, e.g. `pub:Computer`
    /// ([`DeviceConfig::announced_types`]).
    pub types: Vec<QName>,
    /// The scopes announced.
    pub scopes: Vec<String>,
    /// The metadata version to start with (default 1). A device that changes its metadata
    /// should persist the last version and start above it: clients ignore a version that goes
    /// down.
    pub metadata_version: u32,
    /// `AppSequence/@InstanceId`; `None` (the default): the time in seconds, as wsdd does.
    pub instance_id: Option<u32>,
    /// The HTTP port of the metadata (default 5357, DPWS's; 0 picks a free port).
    pub http_port: u16,
    /// The address the HTTP listener binds. `None` (the default): every address (`[::]`, or
    /// `0.0.0.0` where IPv6 is not available), since the XAddr announced on each interface is
    /// that interface's address. A specific address (e.g. `127.0.0.1` for a device found by
    /// directed discovery on loopback) serves only the XAddrs on it.
    pub http_address: Option<IpAddr>,
    /// The HTTP listener's properties (default [`MetadataHost::default_properties`]).
    pub listener: ListenerProperties,
    /// Where discovery runs (interfaces, families, version).
    pub discovery: DiscoveryConfig,
    /// How the discovery target answers (reply delay, rate).
    pub target: TargetOptions,
}

impl DeviceConfig {
    /// A device at `endpoint_address` serving `metadata`, with the defaults above.
    pub fn new(endpoint_address: impl Into<String>, metadata: DeviceMetadata) -> DeviceConfig {
        DeviceConfig {
            endpoint_address: endpoint_address.into(),
            metadata,
            types: Vec::new(),
            scopes: Vec::new(),
            metadata_version: 1,
            instance_id: None,
            http_port: DPWS_HTTP_PORT,
            http_address: None,
            listener: MetadataHost::default_properties(),
            discovery: DiscoveryConfig::default(),
            target: TargetOptions::default(),
        }
    }

    /// A computer as wsdd announces one, so that Windows Explorer lists it under "Computer":
    /// [`DeviceMetadata::computer`] (a host of type `pub:Computer` carrying `computer`),
    /// announced as `wsdp:Device pub:Computer`.
    pub fn computer(endpoint_address: impl Into<String>, computer: PubComputer) -> DeviceConfig {
        let endpoint_address = endpoint_address.into();
        let metadata = DeviceMetadata::computer(&endpoint_address, computer);
        DeviceConfig::new(endpoint_address, metadata)
    }

    /// The types announced: [`DeviceConfig::types`], or when empty the device type of the
    /// discovery version followed by the metadata host's types (without repeats).
    pub fn announced_types(&self) -> Vec<QName> {
        if !self.types.is_empty() {
            return self.types.clone();
        }
        let namespace = match self.discovery.version {
            DiscoveryVersion::V2005_04 => DPWS_2006_02_NAMESPACE,
            DiscoveryVersion::V1_1 => DPWS_1_1_NAMESPACE,
        };
        let mut types = vec![QName::new(namespace, "Device")];
        for t in self.metadata.host().map(|h| h.types.as_slice()).unwrap_or_default() {
            if !types.contains(t) {
                types.push(t.clone());
            }
        }
        types
    }
}

/// A DPWS device: its metadata served over HTTP (WS-Transfer Get) and the device announced
/// with WS-Discovery, from [`DeviceHost::start`] to [`DeviceHost::stop`].
///
/// ```no_run
/// # async fn demo() -> soapwire::Result<()> {
/// use soapwire::dpws::{DeviceConfig, DeviceHost, Membership, PubComputer};
///
/// let endpoint = "urn:uuid:11111111-2222-3333-4444-555555555555";
/// let computer = PubComputer::new("MYHOST", Membership::Workgroup("WORKGROUP".into()));
/// let mut config = DeviceConfig::computer(endpoint, computer);
/// config.discovery.interfaces = vec!["eth0".into()];
/// let device = DeviceHost::start(config).await?; // HTTP on [::]:5357, then Hello
/// for (interface, xaddr) in device.xaddrs() {
///     println!("{endpoint} on {interface}: {xaddr}");
/// }
/// // A change of metadata bumps the metadata version and sends a new Hello.
/// let mut metadata = (*device.metadata()).clone();
/// if let Some(d) = metadata.this_device.as_mut() {
///     d.serial_number = Some("42".into());
/// }
/// device.set_metadata(metadata)?;
/// device.stop().await?; // Bye, then the HTTP listener closes
/// # Ok(()) }
/// ```
///
/// Dropping a host without `stop` closes its sockets and listener at once, without Bye.
#[derive(Debug)]
pub struct DeviceHost {
    metadata: MetadataHost,
    target: Arc<DiscoveryTarget>,
    /// Forwards metadata version changes to the target (holds it weakly).
    watcher: AbortOnDropHandle<()>,
}

impl DeviceHost {
    /// Opens the HTTP listener, then starts announcing (Hello on every link) and answering
    /// Probe and Resolve.
    ///
    /// Errors: `InvalidArgument` for an endpoint address without a path form, metadata that
    /// fails [`DeviceMetadata::validate`] or does not fit the listener's message size, or an
    /// invalid discovery configuration; `AddressInUse` when the HTTP port is taken (another
    /// WSD host, such as wsdd, may hold 5357); the discovery errors of
    /// [`DiscoveryTarget::start`] (no usable interface, sockets). Nothing stays open on error.
    pub async fn start(config: DeviceConfig) -> Result<DeviceHost> {
        let types = config.announced_types();
        let metadata = MetadataHost::with_properties(&config.endpoint_address, config.metadata, config.listener)?;
        metadata.set_metadata_version(config.metadata_version);
        open_http(&metadata, config.http_address, config.http_port).await?;
        let port = metadata.local_addr().map(|a| a.port()).unwrap_or(config.http_port);

        // Subscribed before the target starts: no change of version can be missed.
        let mut versions = metadata.watch_metadata_version();
        let clock = TargetService::new(metadata.endpoint_address());
        let service = TargetService {
            types,
            scopes: config.scopes,
            metadata_version: *versions.borrow_and_update(),
            xaddrs_template: Some(format!("http://{{ip}}:{port}{}", metadata.path())),
            instance_id: config.instance_id.unwrap_or(clock.instance_id),
            ..clock
        };
        let target = match DiscoveryTarget::start(service, config.discovery, config.target).await {
            Ok(target) => Arc::new(target),
            Err(e) => {
                // Closed, not aborted: `close` returns once the port is released.
                if let Err(closing) = metadata.close().await {
                    debug!("device host: closing the metadata listener after a failed start: {closing}");
                }
                return Err(e);
            }
        };
        let watcher = AbortOnDropHandle::new(tokio::spawn(reannounce(Arc::downgrade(&target), versions)));
        Ok(DeviceHost { metadata, target, watcher })
    }

    /// The device's endpoint address (`urn:uuid:…`).
    pub fn endpoint_address(&self) -> &str {
        self.metadata.endpoint_address()
    }

    /// The HTTP half: URL, bound address, metadata and its version.
    pub fn metadata_host(&self) -> &MetadataHost {
        &self.metadata
    }

    /// The service as announced now (types, scopes, metadata version, XAddrs template).
    pub fn service(&self) -> TargetService {
        self.target.service()
    }

    /// The discovery links in use: one per interface and address family.
    pub fn interfaces(&self) -> Vec<LocalInterface> {
        self.target.interfaces()
    }

    /// The XAddr announced on each multicast link ([`MetadataHost::xaddr`] of the link's
    /// address). Answers on the directed socket ([`DeviceHost::unicast_addr`]) carry the XAddr of
    /// its address.
    pub fn xaddrs(&self) -> Vec<(LocalInterface, String)> {
        let links = self.interfaces().into_iter();
        links.filter_map(|i| self.metadata.xaddr(i.address).map(|x| (i, x))).collect()
    }

    /// The bound HTTP address (with the real port).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.metadata.local_addr()
    }

    /// Where directed Probe and Resolve go: the discovery target's unicast socket
    /// ([`TargetOptions::unicast_listen`]), if any. Its answers carry the [`MetadataHost::xaddr`]
    /// of its address.
    pub fn unicast_addr(&self) -> Option<SocketAddr> {
        self.target.unicast_addr()
    }

    /// The metadata being served.
    pub fn metadata(&self) -> Arc<DeviceMetadata> {
        self.metadata.metadata()
    }

    /// The metadata version announced (and served).
    pub fn metadata_version(&self) -> u32 {
        self.metadata.metadata_version()
    }

    /// Replaces the metadata ([`MetadataHost::set_metadata`]: validated first, the old one
    /// stays on error) and increments the metadata version, which is returned. A new Hello
    /// with that version follows on every link, at once, from a task of the host.
    pub fn set_metadata(&self, metadata: DeviceMetadata) -> Result<u32> {
        self.metadata.set_metadata(metadata)
    }

    /// Increments the metadata version without changing the metadata (e.g. a hosted service's
    /// WSDL changed) and announces it, like [`DeviceHost::set_metadata`].
    pub fn bump_metadata_version(&self) -> u32 {
        self.metadata.bump_metadata_version()
    }

    /// What the discovery target answered and dropped so far.
    pub fn stats(&self) -> TargetStats {
        self.target.stats()
    }

    /// Sends Bye on every link (with the multicast retransmission schedule, about 1 s), then
    /// closes the HTTP listener (requests being answered finish within its close timeout).
    /// Errors: as [`MetadataHost::close`].
    pub async fn stop(self) -> Result<()> {
        let DeviceHost { metadata, target, watcher } = self;
        watcher.abort();
        // Once the watcher has ended, nothing else holds the target.
        let _ = watcher.await;
        match Arc::try_unwrap(target) {
            Ok(target) => target.stop().await,
            Err(_) => {
                debug!("device host {}: the discovery target is still shared; no Bye", metadata.endpoint_address())
            }
        }
        metadata.close().await
    }
}

/// Binds `port` on `address`, or when `None` on every IPv6 address (which takes IPv4 too where
/// the system allows), else on every IPv4 address. A port in use is reported as it is: the other
/// family would not help.
async fn open_http(host: &MetadataHost, address: Option<IpAddr>, port: u16) -> Result<()> {
    if let Some(ip) = address {
        return host.open(SocketAddr::new(ip, port)).await;
    }
    let mut last = Error::new(ErrorKind::AddressNotAvailable, "no address to listen on");
    for ip in [IpAddr::V6(Ipv6Addr::UNSPECIFIED), IpAddr::V4(Ipv4Addr::UNSPECIFIED)] {
        let address = SocketAddr::new(ip, port);
        match host.open(address).await {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::AddressInUse => return Err(e),
            Err(e) => {
                debug!("device host: cannot listen on {address}: {e}");
                last = e;
            }
        }
    }
    Err(last)
}

/// Announces every change of the metadata version with a new Hello, until the metadata host
/// or the target is gone.
async fn reannounce(target: Weak<DiscoveryTarget>, mut versions: watch::Receiver<u32>) {
    while versions.changed().await.is_ok() {
        let version = *versions.borrow_and_update();
        let Some(target) = target.upgrade() else { return };
        if target.service().metadata_version != version {
            debug!("device host {}: metadata version {version}; Hello", target.service().endpoint_address);
            target.set_metadata_version(version);
        }
    }
}

#[cfg(test)]
mod tests {
    //! [`DeviceHost`] on loopback, found by directed discovery (no multicast leaves the
    //! process). Hello and Bye are multicast only; they are checked across network namespaces
    //! by the CLI's `tests/dpws.rs`.

    use std::time::Duration;

    use super::*;
    use crate::discovery::DiscoveryClient;
    use crate::dpws::{GetMetadataOptions, Membership, get_metadata};

    const ENDPOINT: &str = "urn:uuid:7d0c4b8e-1f2a-4c3d-9e5f-60718293a4b5";

    fn loopback_config() -> DeviceConfig {
        let mut config = DeviceConfig::computer(ENDPOINT, PubComputer::new("LOOP", Membership::NotJoined));
        config.http_port = 0;
        config.http_address = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        config.discovery = DiscoveryConfig::directed_only();
        config.target.unicast_listen = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        config
    }

    #[tokio::test]
    async fn a_device_is_found_resolved_and_read_and_its_metadata_version_follows_changes() {
        let device = DeviceHost::start(loopback_config()).await.unwrap();
        let (target, http) = (device.unicast_addr().unwrap(), device.local_addr().unwrap());
        assert_eq!(http.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(device.endpoint_address(), ENDPOINT);
        let xaddr = format!("http://127.0.0.1:{}/7d0c4b8e-1f2a-4c3d-9e5f-60718293a4b5", http.port());
        assert_eq!(device.metadata_host().xaddr(target.ip()).as_ref(), Some(&xaddr));
        assert!(device.xaddrs().is_empty(), "no multicast link");

        let client = DiscoveryClient::open(DiscoveryConfig::directed_only()).await.unwrap();
        let found = client.probe_directed(target, &[], &[], Duration::from_millis(300)).await.unwrap();
        let [found] = found.as_slice() else { panic!("{found:?}") };
        let announced: Vec<QName> = vec![QName::new(DPWS_2006_02_NAMESPACE, "Device"), PubComputer::type_name()];
        assert_eq!((found.address(), &found.info.types), (ENDPOINT, &announced));
        assert_eq!((&found.info.xaddrs, found.info.metadata_version), (&vec![xaddr.clone()], Some(1)));
        let serial = |m: &DeviceMetadata| m.this_device.as_ref().and_then(|d| d.serial_number.clone());
        let got = get_metadata(&xaddr, &GetMetadataOptions::default()).await.unwrap().metadata;
        assert_eq!(
            got.host().and_then(|h| h.computer.as_ref()).map(PubComputer::to_text).as_deref(),
            Some("LOOP/NotJoined")
        );
        assert_eq!(serial(&got), None);

        // New metadata: served at once, and the target announces version 2 from now on.
        let mut changed = (*device.metadata()).clone();
        changed.this_device.as_mut().unwrap().serial_number = Some("2".into());
        assert_eq!(device.set_metadata(changed).unwrap(), 2);
        let got = get_metadata(&xaddr, &GetMetadataOptions::default()).await.unwrap().metadata;
        assert_eq!(serial(&got).as_deref(), Some("2"));
        let resolve = async {
            loop {
                let r = client.resolve_directed(target, ENDPOINT, Duration::from_secs(2)).await.unwrap().unwrap();
                if r.info.metadata_version == Some(2) {
                    return r;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let resolved = tokio::time::timeout(Duration::from_secs(5), resolve).await.expect("version 2 announced");
        assert_eq!(resolved.info.xaddrs, std::slice::from_ref(&xaddr));
        assert_eq!(device.service().metadata_version, 2);

        device.stop().await.unwrap();
        let quick = GetMetadataOptions { timeout: Duration::from_secs(2), ..GetMetadataOptions::default() };
        assert!(get_metadata(&xaddr, &quick).await.is_err(), "the listener is closed");
        assert!(client.probe_directed(target, &[], &[], Duration::from_millis(200)).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn nothing_stays_open_when_starting_fails() {
        // Discovery refuses (multicast off and no unicast socket): the HTTP port is free again.
        let mut config = loopback_config();
        config.target.unicast_listen = None;
        let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        config.http_port = port;
        let e = DeviceHost::start(config).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("the port was released");

        let mut bad = loopback_config();
        bad.endpoint_address = "not a uri".into();
        assert_eq!(DeviceHost::start(bad).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn announced_types_follow_the_version_and_the_host() {
        let mut config = DeviceConfig::computer(ENDPOINT, PubComputer::new("X", Membership::NotJoined));
        assert_eq!(config.announced_types()[1], PubComputer::type_name());
        config.discovery.version = DiscoveryVersion::V1_1;
        assert_eq!(config.announced_types()[0], QName::new(DPWS_1_1_NAMESPACE, "Device"));
        config.types = vec![QName::new("urn:x", "Printer")];
        assert_eq!(config.announced_types(), config.types);
    }
}
