//! The byte streams under a session: a TCP or Unix-domain socket, split into a read and a
//! write half that can be owned by different pending operations, and the means to end it
//! rudely (a TCP reset) from any thread without waiting for those operations.
//!
//! The halves and the reset handle share one socket (an `Arc`), so a session costs one
//! descriptor: the socket closes when the last of the three goes. Reads and writes use the
//! socket's readiness (`poll_read_ready` + `try_read_buf`, and the same for writes), which tokio
//! tracks separately for each direction, so a send and a receive can wait at the same time.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use soapwire_proto::properties::ChannelProperties;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::http::io_error;

/// A connected session socket.
pub(crate) enum SessionStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl SessionStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            SessionStream::Tcp(s) => s.poll_read_ready(cx),
            SessionStream::Unix(s) => s.poll_read_ready(cx),
        }
    }

    /// Reads into the unfilled part of `buf` without zeroing it first (an idle session's
    /// read buffer is never touched, so it costs no resident memory).
    fn try_read_buf(&self, buf: &mut ReadBuf<'_>) -> io::Result<usize> {
        match self {
            SessionStream::Tcp(s) => s.try_read_buf(buf),
            SessionStream::Unix(s) => s.try_read_buf(buf),
        }
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            SessionStream::Tcp(s) => s.poll_write_ready(cx),
            SessionStream::Unix(s) => s.poll_write_ready(cx),
        }
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            SessionStream::Tcp(s) => s.try_write(buf),
            SessionStream::Unix(s) => s.try_write(buf),
        }
    }

    fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            SessionStream::Tcp(s) => s.try_write_vectored(bufs),
            SessionStream::Unix(s) => s.try_write_vectored(bufs),
        }
    }

    /// Ends our direction (FIN on TCP).
    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            SessionStream::Tcp(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Write),
            SessionStream::Unix(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Write),
        }
    }
}

/// The read half of a session socket.
pub(crate) struct ReadSide(Arc<SessionStream>);

/// The write half of a session socket.
pub(crate) struct WriteSide(Arc<SessionStream>);

impl AsyncRead for ReadSide {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read_buf(buf) {
                Ok(_) => return Poll::Ready(Ok(())),
                // The readiness was stale: poll again, which registers the waker.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for WriteSide {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return Poll::Ready(other),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return Poll::Ready(other),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the socket: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown_write())
    }
}

/// A third reference to the socket, kept so that a rude close or abort can ask for a reset
/// (`SO_LINGER` 0) while the halves are still owned by operations being cancelled: the reset
/// goes out when the last reference goes.
#[derive(Default)]
pub(crate) struct ResetHandle(Mutex<Option<Arc<SessionStream>>>);

impl ResetHandle {
    /// Marks the connection to be reset rather than closed with FIN. Idempotent. (A Unix
    /// socket has no reset: its peer sees the end of the stream.)
    pub(crate) fn reset(&self) {
        let taken = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(stream) = taken {
            if let SessionStream::Tcp(s) = &*stream {
                let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
            }
        }
    }

    /// Lets go of the socket (graceful close: the connection ends with FIN).
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

/// Splits a stream into its halves and a reset handle, all on the one socket.
pub(crate) fn split(stream: SessionStream) -> (ReadSide, WriteSide, ResetHandle) {
    let shared = Arc::new(stream);
    (ReadSide(shared.clone()), WriteSide(shared.clone()), ResetHandle(Mutex::new(Some(shared))))
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
