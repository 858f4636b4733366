//! The byte streams under a session: a TCP or Unix-domain socket, split into a read and a
//! write half that can be owned by different pending operations, and the means to end it
//! rudely (a TCP reset) from any thread without waiting for those operations.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use soapwire_proto::properties::ChannelProperties;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::{TcpStream, UnixStream};

use crate::http::io_error;

/// A connected session socket.
pub(crate) enum SessionStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl AsyncRead for SessionStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SessionStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            SessionStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for SessionStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            SessionStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            SessionStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            SessionStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            SessionStream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SessionStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            SessionStream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SessionStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            SessionStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The read half of a session socket.
pub(crate) type ReadSide = ReadHalf<SessionStream>;
/// The write half of a session socket.
pub(crate) type WriteSide = WriteHalf<SessionStream>;

/// A duplicate of the socket's descriptor, kept so that a rude close can ask for a reset
/// (`SO_LINGER` 0) while the halves are still owned by operations being cancelled: the
/// reset goes out when the last descriptor closes.
#[derive(Default)]
pub(crate) struct ResetHandle(Mutex<Option<socket2::Socket>>);

impl ResetHandle {
    fn for_tcp(stream: &TcpStream) -> ResetHandle {
        let dup = socket2::SockRef::from(stream).try_clone().ok();
        ResetHandle(Mutex::new(dup))
    }

    /// Marks the connection to be reset rather than closed with FIN. Idempotent.
    pub(crate) fn reset(&self) {
        let taken = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(socket) = taken {
            let _ = socket.set_linger(Some(Duration::ZERO));
        }
    }

    /// Forgets the duplicate (graceful close: the connection ends with FIN).
    pub(crate) fn release(&self) {
        drop(self.0.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// Applies the channel's socket options to a TCP stream.
pub(crate) fn configure_tcp(stream: &TcpStream, properties: &ChannelProperties) {
    let _ = stream.set_nodelay(properties.no_delay);
    if properties.send_keep_alives {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(properties.keep_alive_time)
            .with_interval(properties.keep_alive_interval);
        let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
    }
}

/// Splits a stream into its halves and a reset handle.
pub(crate) fn split(stream: SessionStream) -> (ReadSide, WriteSide, ResetHandle) {
    let reset = match &stream {
        SessionStream::Tcp(s) => ResetHandle::for_tcp(s),
        SessionStream::Unix(_) => ResetHandle::default(),
    };
    let (r, w) = tokio::io::split(stream);
    (r, w, reset)
}

/// Connects to a TCP endpoint, trying each resolved address in turn.
pub(crate) async fn connect_tcp(host: &str, port: u16, properties: &ChannelProperties) -> Result<SessionStream> {
    let addrs: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::new(ErrorKind::EndpointNotFound, format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = Error::new(ErrorKind::EndpointNotFound, format!("{host} has no address"));
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                configure_tcp(&stream, properties);
                return Ok(SessionStream::Tcp(stream));
            }
            Err(e) => last = io_error(e, &format!("connecting to {addr}")),
        }
    }
    Err(last)
}

/// Connects to a Unix-domain socket.
pub(crate) async fn connect_unix(path: &Path) -> Result<SessionStream> {
    UnixStream::connect(path)
        .await
        .map(SessionStream::Unix)
        .map_err(|e| io_error(e, &format!("connecting to {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keep_alive_and_no_delay_properties_reach_the_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let mut p = ChannelProperties::session();
        p.send_keep_alives = true;
        p.keep_alive_time = Duration::from_secs(77);
        p.keep_alive_interval = Duration::from_secs(3);
        p.no_delay = true;
        configure_tcp(&stream, &p);
        let sock = socket2::SockRef::from(&stream);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(77));
        assert_eq!(sock.tcp_keepalive_interval().unwrap(), Duration::from_secs(3));
        assert!(sock.tcp_nodelay().unwrap());
        // The defaults: no keep-alives (WWSAPI's SEND_KEEP_ALIVES is FALSE).
        let other = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        configure_tcp(&other, &ChannelProperties::session());
        assert!(!socket2::SockRef::from(&other).keepalive().unwrap());
    }
}
