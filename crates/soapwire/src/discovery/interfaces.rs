//! Which local interfaces and addresses discovery runs on.
//!
//! This module owns the choice of one address per interface and address family: the first
//! IPv4 address, and for IPv6 the link-local address (`fe80::/10`, whose scope id is the
//! interface index), else the first other IPv6 address. Loopback interfaces, interfaces that
//! are not running and interfaces without an index are skipped, as wsdd and WSDAPI skip them.
//! The interface list comes from `getifaddrs` (the `if-addrs` crate).
//!
//! For directed (unicast) discovery it also names the interface of a given local address
//! ([`interface_of`]: loopback included) and finds the local address the system sends from
//! toward a peer ([`source_address_toward`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use soapwire_proto::{Error, ErrorKind, Result};

use super::DiscoveryConfig;

/// An IP address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    /// IPv4 (multicast group 239.255.255.250).
    V4,
    /// IPv6 (multicast group `FF02::C`).
    V6,
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressFamily::V4 => "IPv4",
            AddressFamily::V6 => "IPv6",
        })
    }
}

/// One interface address discovery runs on (a *link*: an interface and an address family).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocalInterface {
    /// The interface name (`eth0`).
    pub name: String,
    /// The interface index (the IPv6 scope id of its link-local addresses).
    pub index: u32,
    /// The address discovery binds to and announces on this interface.
    pub address: IpAddr,
}

impl LocalInterface {
    /// The address family of [`LocalInterface::address`].
    pub fn family(&self) -> AddressFamily {
        if self.address.is_ipv4() { AddressFamily::V4 } else { AddressFamily::V6 }
    }

    /// The address as the host part of a URL: `198.18.0.1` or `[fe80::1]` (without a zone:
    /// the peer reaches it through its own interface, as in wsdd's and WSDAPI's XAddrs).
    pub fn url_host(&self) -> String {
        match self.address {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        }
    }

    /// True if `pattern` (from an allow or deny list) names this interface: its name or its
    /// address as text.
    fn is_named_by(&self, pattern: &str) -> bool {
        pattern == self.name || pattern.parse::<IpAddr>().is_ok_and(|a| a == self.address)
    }
}

impl fmt::Display for LocalInterface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.address)
    }
}

/// An address as `getifaddrs` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawAddress {
    pub(crate) name: String,
    pub(crate) index: Option<u32>,
    pub(crate) address: IpAddr,
    pub(crate) loopback: bool,
    pub(crate) running: bool,
}

/// The interfaces `config` selects on this host, one per interface and enabled family, in
/// interface index order (IPv4 first).
///
/// Errors: `Other` when the interface list cannot be read.
pub fn local_interfaces(config: &DiscoveryConfig) -> Result<Vec<LocalInterface>> {
    let raw = if_addrs::get_if_addrs()
        .map_err(|e| Error::new(ErrorKind::Other, format!("cannot list the network interfaces: {e}")))?;
    let raw = raw
        .into_iter()
        .map(|i| RawAddress {
            running: i.is_oper_up(),
            loopback: i.is_loopback(),
            address: i.ip(),
            index: i.index,
            name: i.name,
        })
        .collect::<Vec<_>>();
    Ok(select(&raw, config))
}

/// The selection rules of [`local_interfaces`] on a given list.
pub(crate) fn select(raw: &[RawAddress], config: &DiscoveryConfig) -> Vec<LocalInterface> {
    let mut out: Vec<LocalInterface> = Vec::new();
    for family in [AddressFamily::V4, AddressFamily::V6] {
        let enabled = match family {
            AddressFamily::V4 => config.ipv4,
            AddressFamily::V6 => config.ipv6,
        };
        if !enabled {
            continue;
        }
        let candidates = raw.iter().filter(|r| {
            !r.loopback && r.running && !r.address.is_loopback() && r.address.is_ipv4() == (family == AddressFamily::V4)
        });
        for r in candidates {
            let Some(index) = r.index.filter(|i| *i != 0) else { continue };
            let candidate = LocalInterface { name: r.name.clone(), index, address: r.address };
            let allowed = config.interfaces.is_empty() || config.interfaces.iter().any(|p| candidate.is_named_by(p));
            if !allowed || config.exclude_interfaces.iter().any(|p| candidate.is_named_by(p)) {
                continue;
            }
            match out.iter_mut().find(|o| o.index == index && o.family() == family) {
                // IPv6: a link-local address replaces any other; otherwise the first one stays.
                Some(existing) => {
                    if is_link_local(candidate.address) && !is_link_local(existing.address) {
                        *existing = candidate;
                    }
                }
                None => out.push(candidate),
            }
        }
    }
    out.sort_by_key(|i| (i.index, i.family()));
    out
}

/// The interface that holds the local address `address` (its name and index), for a directed
/// link; loopback and interfaces that are down count too. An address no interface lists (or a
/// failure to list them) gives an interface named after the address, with the IPv6 scope id
/// as its index.
pub(crate) fn interface_of(address: SocketAddr) -> LocalInterface {
    let scope = match address {
        SocketAddr::V6(a) => a.scope_id(),
        SocketAddr::V4(_) => 0,
    };
    let listed = if_addrs::get_if_addrs().ok().and_then(|list| {
        list.into_iter()
            .filter(|i| i.ip() == address.ip())
            .find(|i| scope == 0 || i.index == Some(scope))
            .map(|i| (i.name, i.index.unwrap_or(scope)))
    });
    let (name, index) = listed.unwrap_or_else(|| (address.ip().to_string(), scope));
    LocalInterface { name, index, address: address.ip() }
}

/// The local address (with the IPv6 scope id, port 0) the system sends from toward `peer`:
/// the route lookup of a `connect` on a UDP socket, which sends nothing.
///
/// Errors: the system's, e.g. `NetworkUnreachable` when no route leads to `peer`.
pub(crate) fn source_address_toward(peer: SocketAddr) -> std::io::Result<SocketAddr> {
    let any: SocketAddr = match peer {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0).into(),
    };
    let probe = std::net::UdpSocket::bind(any)?;
    probe.connect(peer)?;
    let mut source = probe.local_addr()?;
    source.set_port(0);
    // A link-local source needs its scope to be bound to; it is the peer's.
    if let (SocketAddr::V6(s), SocketAddr::V6(p)) = (&mut source, peer) {
        if s.scope_id() == 0 && is_link_local_v6(s.ip()) {
            s.set_scope_id(p.scope_id());
        }
    }
    Ok(source)
}

/// True for an IPv6 link-local unicast address (`fe80::/10`).
pub(crate) fn is_link_local(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(_) => false,
        IpAddr::V6(a) => is_link_local_v6(&a),
    }
}

fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// An explanation for an empty selection: what the allow list asked for and what exists.
pub(crate) fn nothing_selected(config: &DiscoveryConfig) -> Error {
    let available = if_addrs::get_if_addrs()
        .map(|list| {
            let mut names: Vec<String> = list.into_iter().filter(|i| !i.is_loopback()).map(|i| i.name).collect();
            names.sort();
            names.dedup();
            names.join(", ")
        })
        .unwrap_or_default();
    let asked = if config.interfaces.is_empty() { "any interface".to_owned() } else { config.interfaces.join(", ") };
    Error::new(
        ErrorKind::AddressNotAvailable,
        format!(
            "no usable interface for discovery (asked for {asked}; IPv4 {}, IPv6 {}; interfaces that are up and \
             not loopback: {})",
            if config.ipv4 { "on" } else { "off" },
            if config.ipv6 { "on" } else { "off" },
            if available.is_empty() { "none" } else { &available }
        ),
    )
}
