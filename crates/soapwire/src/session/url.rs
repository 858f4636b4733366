//! Addresses of the session bindings: `net.tcp://host[:port]/path` (WCF's default port 808)
//! and `net.unix:///absolute/socket/path`, the Unix-socket analogue of WCF's `net.pipe`.

use std::path::PathBuf;

use soapwire_proto::{Error, ErrorKind, Result};

/// The net.tcp default port (WCF's `NetTcpBinding`).
pub const DEFAULT_NET_TCP_PORT: u16 = 808;

/// Where a session endpoint is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// A TCP host (name or literal address, IPv6 without brackets) and port.
    Tcp { host: String, port: u16 },
    /// A Unix-domain socket path.
    Unix { path: PathBuf },
}

/// A parsed `net.tcp://` or `net.unix://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SessionUrl {
    pub(crate) endpoint: Endpoint,
    /// The path a listener matches a Via against (always starts with `/`).
    pub(crate) path: String,
}

impl SessionUrl {
    /// Parses `net.tcp://host[:port][/path]` or `net.unix:///path`. Anything else, a query
    /// or a fragment is `WS_E_INVALID_ENDPOINT_URL`.
    pub(crate) fn parse(url: &str) -> Result<SessionUrl> {
        let invalid = |why: &str| Error::new(ErrorKind::InvalidEndpointUrl, format!("{url:?}: {why}"));
        if url.contains(['?', '#']) {
            return Err(invalid("a session URL has no query or fragment"));
        }
        if let Some(rest) = strip_scheme(url, "net.unix://") {
            if !rest.starts_with('/') || rest.len() < 2 {
                return Err(invalid("expected net.unix:///absolute/socket/path"));
            }
            return Ok(SessionUrl { endpoint: Endpoint::Unix { path: PathBuf::from(rest) }, path: rest.to_owned() });
        }
        let rest = strip_scheme(url, "net.tcp://").ok_or_else(|| invalid("expected net.tcp:// or net.unix://"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| invalid("unclosed '[' in the host"))?;
            let host = &v6[..end];
            let after = &v6[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(invalid("unexpected text after the IPv6 address")),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| invalid("the port is not a number from 0 to 65535"))?,
            None => DEFAULT_NET_TCP_PORT,
        };
        Ok(SessionUrl { endpoint: Endpoint::Tcp { host: host.to_owned(), port }, path: path.to_owned() })
    }

    /// The URL again, with `port` in place of the given one (for a listener opened on port 0).
    pub(crate) fn to_url_with_port(&self, port: u16) -> String {
        match &self.endpoint {
            Endpoint::Tcp { host, .. } if host.contains(':') => format!("net.tcp://[{host}]:{port}{}", self.path),
            Endpoint::Tcp { host, .. } => format!("net.tcp://{host}:{port}{}", self.path),
            Endpoint::Unix { path } => format!("net.unix://{}", path.display()),
        }
    }

    /// True if a Via's path is served by a listener on `self`: WWSAPI matches the listener
    /// path as a prefix of the received URL, on segment boundaries, case-insensitively (as
    /// WCF does for net.tcp).
    pub(crate) fn serves_path(&self, via_path: &str) -> bool {
        let mine = self.path.trim_end_matches('/');
        let theirs = via_path.trim_end_matches('/');
        if mine.is_empty() {
            return true;
        }
        theirs.len() >= mine.len()
            && theirs.is_char_boundary(mine.len())
            && theirs[..mine.len()].eq_ignore_ascii_case(mine)
            && (theirs.len() == mine.len() || theirs[mine.len()..].starts_with('/'))
    }
}

fn strip_scheme<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let head = url.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme).then(|| &url[scheme.len()..])
}

/// The path of a Via URL (`net.tcp://host:port/path` → `/path`), or `None` if it is not a
/// session URL.
pub(crate) fn via_path(via: &str) -> Option<String> {
    SessionUrl::parse(via).ok().map(|u| u.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_tcp_urls_parse_with_the_default_port_808() {
        let u = SessionUrl::parse("net.tcp://example.org/svc/echo").unwrap();
        assert_eq!(u.endpoint, Endpoint::Tcp { host: "example.org".into(), port: 808 });
        assert_eq!(u.path, "/svc/echo");
        let u = SessionUrl::parse("NET.TCP://[::1]:9000").unwrap();
        assert_eq!(u.endpoint, Endpoint::Tcp { host: "::1".into(), port: 9000 });
        assert_eq!(u.path, "/");
        assert_eq!(u.to_url_with_port(1), "net.tcp://[::1]:1/");
    }

    #[test]
    fn unix_urls_name_the_socket_path() {
        let u = SessionUrl::parse("net.unix:///run/soapwire/echo.sock").unwrap();
        assert_eq!(u.endpoint, Endpoint::Unix { path: PathBuf::from("/run/soapwire/echo.sock") });
    }

    #[test]
    fn bad_session_urls_are_invalid_endpoint_urls() {
        for bad in
            ["http://x/", "net.tcp://", "net.tcp://h:99999/", "net.tcp://h/?q", "net.unix://rel", "net.tcp://[::1/"]
        {
            let e = SessionUrl::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidEndpointUrl, "{bad}");
        }
    }

    #[test]
    fn listener_paths_match_as_segment_prefixes() {
        let l = SessionUrl::parse("net.tcp://h:1/svc").unwrap();
        assert!(l.serves_path("/svc"));
        assert!(l.serves_path("/SVC/echo"));
        assert!(!l.serves_path("/svcx"));
        assert!(!l.serves_path("/other"));
        assert!(SessionUrl::parse("net.tcp://h:1/").unwrap().serves_path("/anything"));
    }
}
