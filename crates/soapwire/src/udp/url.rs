//! `soap.udp://host:port[/path]` addresses (SOAP-over-UDP §3): parsing, name resolution and
//! the IPv6 zone (`[ff02::c%eth0]`, `[fe80::1%25eth0]`).
//!
//! The port is required (the scheme has no default port). The path is kept for `wsa:To` and
//! display; a listener ignores it, as WWSAPI's UDP listener does. A query or a fragment is
//! `WS_E_INVALID_ENDPOINT_URL`, like a listener URL with a query.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use soapwire_proto::{Error, ErrorKind, Result};

use super::IpVersion;

/// The URL scheme of the binding.
pub(crate) const SCHEME: &str = "soap.udp";

/// The host part of a `soap.udp` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UdpHost {
    /// An IP literal (IPv6 given in brackets).
    Ip(IpAddr),
    /// A name to resolve.
    Name(String),
    /// `+` or `*`: every local address (listeners only).
    Wildcard,
}

/// A parsed `soap.udp://host:port[/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UdpUrl {
    pub(crate) host: UdpHost,
    pub(crate) port: u16,
    /// The interface index of an IPv6 zone (`%eth0`, `%2`, `%25eth0`); 0 when absent.
    pub(crate) zone: u32,
    /// The path, `/` when absent.
    pub(crate) path: String,
}

fn invalid(url: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidEndpointUrl, format!("invalid soap.udp URL {url:?}: {why}"))
}

impl UdpUrl {
    /// Parses `url`; anything but `soap.udp://host:port[/path]` is
    /// `WS_E_INVALID_ENDPOINT_URL`. A zone names an interface by name or index; an unknown
    /// interface name is `WS_E_ADDRESS_NOT_AVAILABLE`.
    pub(crate) fn parse(url: &str) -> Result<UdpUrl> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid(url, "no scheme"))?;
        if !scheme.eq_ignore_ascii_case(SCHEME) {
            return Err(invalid(url, "the scheme must be soap.udp"));
        }
        if rest.contains(['?', '#']) {
            return Err(invalid(url, "a soap.udp URL has no query or fragment"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(invalid(url, "user information is not allowed"));
        }
        let (host, zone, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (inside, after) = bracketed.split_once(']').ok_or_else(|| invalid(url, "unclosed '['"))?;
            let port = after.strip_prefix(':').ok_or_else(|| invalid(url, "the port is required"))?;
            let (address, zone) = match inside.split_once('%') {
                Some((a, z)) => (a, Some(z.strip_prefix("25").filter(|z| !z.is_empty()).unwrap_or(z))),
                None => (inside, None),
            };
            let address: Ipv6Addr = address.parse().map_err(|_| invalid(url, "not an IPv6 address in brackets"))?;
            let zone = match zone {
                Some(z) => interface_index(z)?,
                None => 0,
            };
            (UdpHost::Ip(IpAddr::V6(address)), zone, port)
        } else {
            let (host, port) = authority.rsplit_once(':').ok_or_else(|| invalid(url, "the port is required"))?;
            let host = match host {
                "" => return Err(invalid(url, "no host")),
                "+" | "*" => UdpHost::Wildcard,
                h => match h.parse::<Ipv4Addr>() {
                    Ok(a) => UdpHost::Ip(IpAddr::V4(a)),
                    Err(_) if h.contains(':') => return Err(invalid(url, "an IPv6 address must be in brackets")),
                    Err(_) if valid_name(h) => UdpHost::Name(h.to_ascii_lowercase()),
                    Err(_) => return Err(invalid(url, "not a host name")),
                },
            };
            (host, 0, port)
        };
        let port: u16 = port.parse().map_err(|_| invalid(url, "the port is not a number from 0 to 65535"))?;
        Ok(UdpUrl { host, port, zone, path: path.to_owned() })
    }

    /// The socket addresses this URL names, filtered by `version`: the literal itself, or
    /// the host name resolved within `timeout`. `WS_E_ENDPOINT_NOT_FOUND` when nothing is
    /// left.
    pub(crate) async fn resolve(&self, version: IpVersion, timeout: Option<Duration>) -> Result<Vec<SocketAddr>> {
        let candidates: Vec<SocketAddr> = match &self.host {
            UdpHost::Ip(ip) => vec![self.socket_addr(*ip)],
            UdpHost::Wildcard => match version {
                IpVersion::V4 => vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, self.port))],
                _ => vec![SocketAddr::from((Ipv6Addr::UNSPECIFIED, self.port))],
            },
            UdpHost::Name(name) => {
                let target = format!("{name}:{}", self.port);
                let lookup = tokio::net::lookup_host(target);
                let found = match timeout {
                    Some(t) => tokio::time::timeout(t, lookup).await.map_err(|_| {
                        Error::timed_out(format!("resolving {name} did not complete within {} ms", t.as_millis()))
                    })?,
                    None => lookup.await,
                };
                found
                    .map_err(|e| Error::new(ErrorKind::EndpointNotFound, format!("cannot resolve {name}: {e}")))?
                    .collect()
            }
        };
        let kept: Vec<SocketAddr> = candidates.into_iter().filter(|a| version.allows(a.ip())).collect();
        if kept.is_empty() {
            return Err(Error::new(
                ErrorKind::EndpointNotFound,
                format!("{} has no {} address", self.host_text(), version.describe()),
            ));
        }
        Ok(kept)
    }

    /// `ip` with this URL's port (and zone, for IPv6).
    pub(crate) fn socket_addr(&self, ip: IpAddr) -> SocketAddr {
        match ip {
            IpAddr::V4(a) => SocketAddr::from((a, self.port)),
            IpAddr::V6(a) => SocketAddr::V6(SocketAddrV6::new(a, self.port, 0, self.zone)),
        }
    }

    fn host_text(&self) -> String {
        match &self.host {
            UdpHost::Ip(IpAddr::V4(a)) => a.to_string(),
            UdpHost::Ip(IpAddr::V6(a)) => format!("[{a}]"),
            UdpHost::Name(n) => n.clone(),
            UdpHost::Wildcard => "+".to_owned(),
        }
    }
}

impl fmt::Display for UdpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.host, self.zone) {
            (UdpHost::Ip(IpAddr::V6(a)), zone) if zone != 0 => {
                write!(f, "{SCHEME}://[{a}%{zone}]:{}{}", self.port, self.path)
            }
            _ => write!(f, "{SCHEME}://{}:{}{}", self.host_text(), self.port, self.path),
        }
    }
}

/// The URL of a socket address with `path`: `soap.udp://198.18.0.1:3702/x`,
/// `soap.udp://[fe80::1%2]:3702/`.
pub(crate) fn url_of(address: SocketAddr, path: &str) -> String {
    match address {
        SocketAddr::V4(a) => format!("{SCHEME}://{}:{}{path}", a.ip(), a.port()),
        SocketAddr::V6(a) if a.scope_id() != 0 => {
            format!("{SCHEME}://[{}%{}]:{}{path}", a.ip(), a.scope_id(), a.port())
        }
        SocketAddr::V6(a) => format!("{SCHEME}://[{}]:{}{path}", a.ip(), a.port()),
    }
}

/// A DNS name: letters, digits, `-`, `_` and dots, at most 253 bytes.
fn valid_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

/// The index of the interface a zone names (an index, or a name looked up in the interface
/// list).
pub(crate) fn interface_index(zone: &str) -> Result<u32> {
    if let Ok(index) = zone.parse::<u32>() {
        return Ok(index);
    }
    let list = if_addrs::get_if_addrs()
        .map_err(|e| Error::new(ErrorKind::Other, format!("cannot list the network interfaces: {e}")))?;
    list.into_iter().find(|i| i.name == zone).and_then(|i| i.index).ok_or_else(|| {
        Error::new(ErrorKind::AddressNotAvailable, format!("no interface named {zone:?} (from the IPv6 zone)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_ipv6_names_wildcards_and_paths() {
        let u = UdpUrl::parse("soap.udp://239.255.255.250:3702").unwrap();
        assert_eq!((u.host, u.port, u.zone, u.path.as_str()), (UdpHost::Ip([239, 255, 255, 250].into()), 3702, 0, "/"));
        let u = UdpUrl::parse("SOAP.UDP://[ff02::c%7]:3702/disc").unwrap();
        assert_eq!(u.host, UdpHost::Ip("ff02::c".parse::<IpAddr>().unwrap()));
        assert_eq!((u.zone, u.path.as_str()), (7, "/disc"));
        assert_eq!(u.to_string(), "soap.udp://[ff02::c%7]:3702/disc");
        let u = UdpUrl::parse("soap.udp://[fe80::1%252]:1/").unwrap();
        assert_eq!(u.zone, 2);
        assert_eq!(UdpUrl::parse("soap.udp://Example.org:9/a").unwrap().host, UdpHost::Name("example.org".into()));
        assert_eq!(UdpUrl::parse("soap.udp://+:3702").unwrap().host, UdpHost::Wildcard);
        assert_eq!(UdpUrl::parse("soap.udp://*:0/").unwrap().port, 0);
    }

    #[test]
    fn anything_else_is_invalid_endpoint_url() {
        for bad in [
            "http://127.0.0.1:80/",
            "soap.udp://127.0.0.1",
            "soap.udp://127.0.0.1:/",
            "soap.udp://127.0.0.1:99999",
            "soap.udp://:3702",
            "soap.udp://::1:3702",
            "soap.udp://[::1]/",
            "soap.udp://[::1:3702",
            "soap.udp://[nothex]:3702",
            "soap.udp://127.0.0.1:3702/x?q=1",
            "soap.udp://u@127.0.0.1:3702/",
            "soap.udp://bad host:1/",
            "soap.udp",
        ] {
            assert_eq!(UdpUrl::parse(bad).unwrap_err().kind(), ErrorKind::InvalidEndpointUrl, "{bad}");
        }
    }

    #[test]
    fn an_unknown_zone_name_is_address_not_available() {
        let e = UdpUrl::parse("soap.udp://[ff02::c%swno-such-if]:3702").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddressNotAvailable);
    }

    #[tokio::test]
    async fn resolution_filters_by_ip_version() {
        let u = UdpUrl::parse("soap.udp://127.0.0.1:5/").unwrap();
        assert_eq!(u.resolve(IpVersion::Auto, None).await.unwrap(), vec![SocketAddr::from(([127, 0, 0, 1], 5))]);
        assert_eq!(u.resolve(IpVersion::V6, None).await.unwrap_err().kind(), ErrorKind::EndpointNotFound);
        let w = UdpUrl::parse("soap.udp://+:5/").unwrap();
        assert!(w.resolve(IpVersion::V4, None).await.unwrap()[0].is_ipv4());
        assert_eq!(url_of(SocketAddr::from(([127, 0, 0, 1], 5)), "/p"), "soap.udp://127.0.0.1:5/p");
    }
}
