//! Outgoing HTTP bodies: a whole buffered message, or a stream of chunks fed by the channel
//! (chunked transfer encoding), and the signal that tells a channel its body was consumed.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{mpsc, watch};

/// An outgoing body.
pub(crate) enum OutBody {
    /// Nothing (202 Accepted, GET replies with no content).
    Empty,
    /// A whole buffered message; hyper sends it with `Content-Length`.
    Full(Option<Bytes>),
    /// Streamed chunks. An `Err` aborts the message: hyper drops the connection, so the peer
    /// sees a failed message, never a truncated one that looks complete.
    Stream(mpsc::Receiver<Result<Bytes, std::io::Error>>),
}

impl OutBody {
    pub(crate) fn full(bytes: impl Into<Bytes>) -> OutBody {
        OutBody::Full(Some(bytes.into()))
    }
}

impl Body for OutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match &mut *self {
            OutBody::Empty => Poll::Ready(None),
            OutBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            OutBody::Stream(rx) => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            OutBody::Empty => true,
            OutBody::Full(b) => b.is_none(),
            OutBody::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            OutBody::Empty => SizeHint::with_exact(0),
            OutBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            OutBody::Full(None) => SizeHint::with_exact(0),
            OutBody::Stream(_) => SizeHint::default(),
        }
    }
}

/// Progress of one outgoing response body, as seen by the channel that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyProgress {
    /// hyper has not yet taken the last frame.
    Sending,
    /// hyper took the last frame; the value is the connection's flush count at that moment.
    Taken(u64),
    /// The body was dropped before its end: the connection went away.
    Dropped,
}

/// A body that reports when hyper has taken its last frame, so that a graceful close can
/// wait for the bytes to be flushed.
pub(crate) struct TrackedBody {
    inner: OutBody,
    tracker: Option<(watch::Sender<BodyProgress>, Arc<super::monitor::ConnectionMonitor>)>,
    finished: bool,
}

impl TrackedBody {
    pub(crate) fn new(
        inner: OutBody,
        flushes: Arc<super::monitor::ConnectionMonitor>,
    ) -> (TrackedBody, watch::Receiver<BodyProgress>) {
        let (tx, rx) = watch::channel(BodyProgress::Sending);
        (TrackedBody { inner, tracker: Some((tx, flushes)), finished: false }, rx)
    }

    /// A body nobody waits for (error pages, WSDL).
    pub(crate) fn untracked(inner: OutBody) -> TrackedBody {
        TrackedBody { inner, tracker: None, finished: false }
    }

    fn mark_taken(&mut self) {
        if !self.finished {
            self.finished = true;
            if let Some((progress, monitor)) = &self.tracker {
                let _ = progress.send(BodyProgress::Taken(monitor.flush_count()));
            }
        }
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if self.inner.is_end_stream() {
            // hyper never polls a body that is already at its end (the empty one of a 202):
            // it drops it as it encodes the head, so the whole body was taken.
            self.mark_taken();
        } else if let Some((progress, _)) = &self.tracker {
            let _ = progress.send(BodyProgress::Dropped);
        }
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.mark_taken(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.mark_taken(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
