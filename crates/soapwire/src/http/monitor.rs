//! A transparent wrapper around a server connection's socket that counts successful flushes
//! and records the first I/O error, so that a reply channel's graceful close can tell
//! "the response reached the socket" from "the connection failed first".

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Shared view of one connection's write progress.
#[derive(Debug, Default)]
pub(crate) struct ConnectionMonitor {
    flushes: AtomicU64,
    failed: AtomicBool,
    closed: AtomicBool,
    changed: Notify,
}

impl ConnectionMonitor {
    pub(crate) fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Acquire)
    }

    /// True once a read or write on the connection failed, or the connection ended.
    pub(crate) fn is_gone(&self) -> bool {
        self.failed.load(Ordering::Acquire) || self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
        self.changed.notify_waiters();
    }

    fn mark_failed(&self) {
        self.failed.store(true, Ordering::Release);
        self.changed.notify_waiters();
    }

    /// Waits until a flush completes after `after` flushes, or the connection is gone
    /// (`Err(())`).
    pub(crate) async fn wait_flushed_after(&self, after: u64) -> Result<(), ()> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.flush_count() > after {
                return Ok(());
            }
            if self.is_gone() {
                return Err(());
            }
            notified.await;
        }
    }
}

/// The socket wrapper.
pub(crate) struct MonitoredIo<T> {
    inner: T,
    monitor: Arc<ConnectionMonitor>,
}

impl<T> MonitoredIo<T> {
    pub(crate) fn new(inner: T, monitor: Arc<ConnectionMonitor>) -> MonitoredIo<T> {
        MonitoredIo { inner, monitor }
    }

    fn note<R>(&self, r: &Poll<io::Result<R>>) {
        if let Poll::Ready(Err(_)) = r {
            self.monitor.mark_failed();
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for MonitoredIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.note(&r);
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for MonitoredIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note(&r);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        match &r {
            Poll::Ready(Ok(())) => {
                self.monitor.flushes.fetch_add(1, Ordering::AcqRel);
                self.monitor.changed.notify_waiters();
            }
            Poll::Ready(Err(_)) => self.monitor.mark_failed(),
            Poll::Pending => {}
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.note(&r);
        r
    }
}
