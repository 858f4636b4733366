//! The HTTP binding (`WS_HTTP_CHANNEL_BINDING`) on hyper 1: request channels for clients,
//! a listener and reply channels for servers.

mod body;
pub(crate) mod client;
pub(crate) mod listener;
mod monitor;
pub(crate) mod reply;

use std::fmt;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use soapwire_proto::mime::MultipartType;
use soapwire_proto::mtom;
use soapwire_proto::properties::ChannelProperties;
use soapwire_proto::soap::{Envelope, EnvelopeVersion};
use soapwire_proto::{Error, ErrorKind, Result};
use std::sync::Arc;

use crate::attachment::inbound::{BodyStream, InboundParts, MtomReader};

/// A parsed `http://host[:port]/path[?query]` endpoint address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EndpointUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `host:port` as it goes in the `Host` header.
    pub(crate) authority: String,
    pub(crate) path_and_query: String,
}

impl EndpointUrl {
    /// Parses an endpoint URL; anything but `http` with a host is `WS_E_INVALID_ENDPOINT_URL`.
    pub(crate) fn parse(url: &str) -> Result<EndpointUrl> {
        let invalid =
            |why: &str| Error::new(ErrorKind::InvalidEndpointUrl, format!("invalid endpoint URL {url:?}: {why}"));
        let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(Error::new(ErrorKind::NotSupported, "https is not supported yet")),
            _ => return Err(invalid("the scheme must be http")),
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = authority.port_u16().unwrap_or(80);
        let path_and_query = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".to_owned());
        Ok(EndpointUrl { host, port, authority: authority.as_str().to_owned(), path_and_query })
    }

    /// The path without the query.
    pub(crate) fn path(&self) -> &str {
        self.path_and_query.split('?').next().unwrap_or("/")
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.path_and_query)
    }
}

/// Reads a whole message body within `limit` bytes (`max_buffered_message_size`).
///
/// A body that announces more than `limit` is refused before anything is allocated. When
/// the limit is exceeded, up to `drain` further bytes are read and discarded before
/// `WS_E_QUOTA_EXCEEDED` is returned. A server drains so that a client that writes its whole
/// request before reading (gSOAP, most blocking stacks) gets the fault, not a broken pipe.
/// A client passes 0.
pub(crate) async fn read_body_limited(mut body: Incoming, limit: usize, drain: u64) -> Result<Bytes> {
    use http_body::Body as _;
    let over = |size: &str| {
        Error::quota_exceeded(format!("the message is {size} bytes, more than max_buffered_message_size ({limit})"))
    };
    if let Some(declared) = body.size_hint().exact() {
        if declared > limit as u64 {
            if declared - limit as u64 <= drain {
                while let Some(Ok(_)) = body.frame().await {}
            }
            return Err(over(&declared.to_string()));
        }
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(client::hyper_error)?;
        let Ok(data) = frame.into_data() else { continue };
        if buf.len() + data.len() > limit {
            let mut drained = (buf.len() + data.len() - limit) as u64;
            while drained <= drain {
                match body.frame().await {
                    Some(Ok(f)) => drained += f.data_ref().map_or(0, |d| d.len() as u64),
                    _ => break,
                }
            }
            return Err(over("more than"));
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf.freeze())
}

/// A received HTTP body as a stream of data frames (trailers skipped), for the MTOM reader.
pub(crate) fn incoming_stream(body: Incoming) -> BodyStream {
    struct Frames(Incoming);
    impl futures_core::Stream for Frames {
        type Item = Result<Bytes>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Bytes>>> {
            use http_body::Body as _;
            loop {
                return match std::pin::Pin::new(&mut self.0).poll_frame(cx) {
                    std::task::Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) => std::task::Poll::Ready(Some(Ok(data))),
                        Err(_) => continue,
                    },
                    std::task::Poll::Ready(Some(Err(e))) => std::task::Poll::Ready(Some(Err(client::hyper_error(e)))),
                    std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
                    std::task::Poll::Pending => std::task::Poll::Pending,
                };
            }
        }
    }
    Box::pin(Frames(body))
}

/// Reads a received MTOM message as far as its envelope: the root part whole (within
/// `max_buffered_message_size`), transcoded to UTF-8 and parsed; the attachment parts stay on
/// the connection, for the message to read lazily. Each network read waits at most the
/// receive timeout.
pub(crate) async fn read_mtom_envelope(
    body: Incoming,
    content_type: &MultipartType,
    version: EnvelopeVersion,
    properties: &ChannelProperties,
) -> Result<(Envelope, Arc<InboundParts>)> {
    let limit = properties.max_buffered_message_size;
    let mut reader = MtomReader::new(
        content_type,
        properties.mime_quotas,
        incoming_stream(body),
        properties.timeout(soapwire_proto::properties::Timeout::Receive),
    )?;
    let (root_type, root) = reader.read_root(limit).await?;
    let root = mtom::root_to_utf8(root_type.as_deref(), root)?;
    let envelope = Envelope::parse(root, Some(version), &properties.reader_quotas, properties.max_headers)?;
    let references = mtom::include_references(&envelope.body, &properties.reader_quotas)?;
    Ok((envelope, InboundParts::new(reader, references, limit)))
}

/// Maps an I/O error to the documented code (the canonical-error principle of
/// `WS_ERROR`: the transport's own code is kept in the string).
pub(crate) fn io_error(e: std::io::Error, what: &str) -> Error {
    use std::io::ErrorKind as Io;
    let kind = match e.kind() {
        Io::ConnectionRefused | Io::NotFound => ErrorKind::EndpointNotFound,
        Io::HostUnreachable | Io::NetworkUnreachable | Io::NetworkDown => ErrorKind::EndpointUnreachable,
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof | Io::NotConnected => {
            ErrorKind::EndpointDisconnected
        }
        Io::TimedOut => ErrorKind::OperationTimedOut,
        Io::AddrInUse => ErrorKind::AddressInUse,
        Io::AddrNotAvailable => ErrorKind::AddressNotAvailable,
        Io::PermissionDenied => ErrorKind::AddressNotAvailable,
        Io::OutOfMemory => ErrorKind::OutOfMemory,
        _ => ErrorKind::Other,
    };
    Error::new(kind, format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_url_parses_host_port_and_path() {
        let u = EndpointUrl::parse("http://127.0.0.1:8080/echo?x=1").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path()), ("127.0.0.1", 8080, "/echo"));
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/echo?x=1");
        let u = EndpointUrl::parse("http://[::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 80));
    }

    #[test]
    fn non_http_url_is_invalid_endpoint_url() {
        for bad in ["ftp://x/", "not a url", "/relative", "net.tcp://h/"] {
            assert_eq!(EndpointUrl::parse(bad).unwrap_err().kind(), ErrorKind::InvalidEndpointUrl, "{bad}");
        }
    }
}
