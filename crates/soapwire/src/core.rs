//! The binding-independent part of every channel: its state machine, pending I/O, the
//! messages it is reading or writing, abort, and the close algorithm of `WsCloseChannel`.
//!
//! `WsCloseChannel` (seed `000_2821e2534d6d3211.txt`) says, sentence by sentence, and this
//! module implements:
//!
//! 1. close is allowed only in `Open` or `Faulted`; otherwise `WS_E_INVALID_OPERATION`;
//! 2. close waits for already-initiated, pending I/O to complete;
//! 3. if no message is being read or written, the shutdown is graceful; otherwise the I/O
//!    still pending on the channel is aborted (those calls end with `WS_E_OPERATION_ABORTED`)
//!    and the shutdown is rude;
//! 4. an error during a graceful shutdown is returned, and the channel is `Closed` all the
//!    same;
//! 5. an abort while closing makes close return `WS_E_OPERATION_ABORTED`;
//! 6. messages in the middle of being read or written are disassociated (no
//!    `abandon_message` needed first);
//! 7. close is bounded by the close timeout (`WS_E_OPERATION_TIMED_OUT`, channel `Closed`).
//!
//! "A message being read or written" means one the application is streaming: between
//! `read_message_start` and `read_message_end`, or `write_message_start` and
//! `write_message_end`. A whole-message call in flight (`send_message`, `receive_message`,
//! `request_reply`) is pending I/O, which close waits for (sentence 2).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use soapwire_proto::channel::{ChannelCall, ChannelState, ChannelStateMachine};
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Which direction a message is associated with the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

#[derive(Debug)]
struct CoreState {
    machine: ChannelStateMachine,
    pending_ops: usize,
    /// Cancelled by abort or by a rude close; every pending operation selects on it.
    cancel: CancellationToken,
    reading: Option<u64>,
    writing: Option<u64>,
}

/// State, pending-I/O accounting and cancellation shared by a channel's handles.
#[derive(Debug)]
pub(crate) struct ChannelCore {
    state: Mutex<CoreState>,
    changed: Notify,
}

/// Proof that an operation is pending on the channel; dropping it ends the operation.
pub(crate) struct Op<'a> {
    core: &'a ChannelCore,
    cancel: CancellationToken,
}

impl Drop for Op<'_> {
    fn drop(&mut self) {
        self.core.with(|s| s.pending_ops = s.pending_ops.saturating_sub(1));
        self.core.changed.notify_waiters();
    }
}

impl Op<'_> {
    /// Runs `fut` as this operation: it ends with `WS_E_OPERATION_ABORTED` if the channel is
    /// aborted (or closed rudely) meanwhile, and with `WS_E_OPERATION_TIMED_OUT` after
    /// `timeout`. A timeout faults the channel, as the connection's state is then unknown.
    pub(crate) async fn run<T>(
        &self,
        what: &str,
        timeout: Option<Duration>,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let timed = async {
            match timeout {
                Some(t) => match tokio::time::timeout(t, fut).await {
                    Ok(r) => r,
                    Err(_) => Err(Error::timed_out(format!("{what} did not complete within {} ms", t.as_millis()))),
                },
                None => fut.await,
            }
        };
        let result = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Error::aborted(format!("{what} was aborted: the channel was aborted or closed"))),
            r = timed => r,
        };
        if let Err(e) = &result {
            if matches!(e.kind(), ErrorKind::OperationTimedOut | ErrorKind::EndpointDisconnected) {
                self.core.fault();
            }
        }
        result
    }
}

/// What the close algorithm decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shutdown {
    /// No message was being read or written: orderly shutdown.
    Graceful,
    /// A message was mid-read or mid-write, or the channel was faulted: pending I/O aborted,
    /// connection dropped.
    Rude,
}

impl ChannelCore {
    pub(crate) fn new() -> ChannelCore {
        ChannelCore {
            state: Mutex::new(CoreState {
                machine: ChannelStateMachine::new(),
                pending_ops: 0,
                cancel: CancellationToken::new(),
                reading: None,
                writing: None,
            }),
            changed: Notify::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut CoreState) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-update of plain data; the
        // state machine itself is always consistent, so keep going.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub(crate) fn state(&self) -> ChannelState {
        self.with(|s| s.machine.state())
    }

    /// Starts an operation that is legal only in the states the table allows for `call`.
    pub(crate) fn begin(&self, call: ChannelCall) -> Result<Op<'_>> {
        let cancel = self.with(|s| {
            s.machine.check(call)?;
            s.pending_ops += 1;
            Ok::<_, Error>(s.cancel.clone())
        })?;
        Ok(Op { core: self, cancel })
    }

    pub(crate) fn open_started(&self) -> Result<()> {
        self.with(|s| s.machine.open_started())
    }

    pub(crate) fn accept_started(&self) -> Result<()> {
        self.with(|s| s.machine.accept_started())
    }

    /// The cancellation token of the current open/accept cycle.
    pub(crate) fn cancel_token(&self) -> CancellationToken {
        self.with(|s| s.cancel.clone())
    }

    pub(crate) fn open_completed(&self, outcome: Result<()>) -> Result<()> {
        self.with(|s| s.machine.open_completed(outcome))
    }

    /// An unrecoverable transport error: `Open → Faulted`.
    pub(crate) fn fault(&self) {
        self.with(|s| s.machine.fault());
    }

    /// Associates a message being streamed with the channel.
    pub(crate) fn associate(&self, dir: Direction, message_id: u64) -> Result<()> {
        self.with(|s| {
            let slot = match dir {
                Direction::Read => &mut s.reading,
                Direction::Write => &mut s.writing,
            };
            if slot.is_some() {
                return Err(Error::invalid_operation(format!(
                    "another message is already being {} on this channel",
                    if dir == Direction::Read { "read" } else { "written" }
                )));
            }
            *slot = Some(message_id);
            Ok(())
        })
    }

    /// True if `message_id` is the message being streamed in that direction.
    pub(crate) fn is_associated(&self, dir: Direction, message_id: u64) -> bool {
        self.with(|s| match dir {
            Direction::Read => s.reading == Some(message_id),
            Direction::Write => s.writing == Some(message_id),
        })
    }

    pub(crate) fn disassociate(&self, dir: Direction) {
        self.with(|s| match dir {
            Direction::Read => s.reading = None,
            Direction::Write => s.writing = None,
        });
    }

    /// `WsAbandonMessage`: allowed in `Open` or `Faulted`; `E_INVALIDARG` unless the message
    /// is the one being read or written. Never blocks.
    pub(crate) fn abandon(&self, message_id: u64) -> Result<Direction> {
        self.with(|s| {
            s.machine.check(ChannelCall::AbandonMessage)?;
            if s.reading == Some(message_id) {
                s.reading = None;
                Ok(Direction::Read)
            } else if s.writing == Some(message_id) {
                s.writing = None;
                Ok(Direction::Write)
            } else {
                Err(Error::new(ErrorKind::InvalidArgument, "the message is not being read or written on this channel"))
            }
        })
    }

    /// `WsAbortChannel`: allowed in every state, never waits. Pending operations end with
    /// `WS_E_OPERATION_ABORTED`; `Open` becomes `Faulted`.
    pub(crate) fn abort(&self) {
        self.with(|s| {
            s.machine.abort();
            s.cancel.cancel();
        });
        self.changed.notify_waiters();
    }

    /// `WsResetChannel`: `Created | Closed → Created`, with a fresh cancellation scope.
    pub(crate) fn reset(&self) -> Result<()> {
        self.with(|s| {
            s.machine.reset()?;
            s.cancel = CancellationToken::new();
            s.reading = None;
            s.writing = None;
            Ok(())
        })
    }

    /// The first half of close: the state check and the graceful/rude decision. On a rude
    /// shutdown the pending I/O is aborted and the messages are disassociated right away.
    pub(crate) fn close_started(&self) -> Result<Shutdown> {
        let shutdown = self.with(|s| {
            let was_faulted = s.machine.state() == ChannelState::Faulted;
            s.machine.close_started()?;
            let streaming = s.reading.is_some() || s.writing.is_some();
            s.reading = None;
            s.writing = None;
            if streaming || was_faulted {
                s.cancel.cancel();
                Ok::<_, Error>(Shutdown::Rude)
            } else {
                Ok(Shutdown::Graceful)
            }
        })?;
        self.changed.notify_waiters();
        Ok(shutdown)
    }

    /// Waits until no operation is pending, the channel is aborted, or `deadline` passes.
    pub(crate) async fn wait_idle(&self, deadline: Option<Instant>) -> Result<()> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (pending, aborted) = self.with(|s| (s.pending_ops, s.machine.was_aborted()));
            if pending == 0 {
                return Ok(());
            }
            if aborted {
                return Err(Error::aborted("close was aborted"));
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, notified).await.is_err() {
                        return Err(Error::timed_out(format!(
                            "{pending} pending operation(s) did not complete before the close timeout"
                        )));
                    }
                }
                None => notified.await,
            }
        }
    }

    /// The second half of close: `Closing → Closed`, reporting `WS_E_OPERATION_ABORTED` if
    /// the channel was aborted while closing, else the graceful-shutdown outcome.
    pub(crate) fn close_completed(&self, outcome: Result<()>) -> Result<()> {
        let r = self.with(|s| {
            s.cancel.cancel();
            s.machine.close_completed(outcome)
        });
        self.changed.notify_waiters();
        r
    }

    /// Runs the whole close algorithm. `graceful` performs the binding's orderly shutdown;
    /// `rude` drops the connection. Both are given the decision's context.
    pub(crate) async fn close<G, F>(
        &self,
        close_timeout: Option<Duration>,
        graceful: G,
        rude: impl FnOnce(),
    ) -> Result<()>
    where
        G: FnOnce() -> F,
        F: Future<Output = Result<()>>,
    {
        let shutdown = self.close_started()?;
        let deadline = close_timeout.map(|t| Instant::now() + t);
        let outcome = match shutdown {
            Shutdown::Rude => {
                rude();
                // The aborted operations end promptly; wait for them so that nothing still
                // uses the channel's resources when close returns.
                match self.wait_idle(deadline).await {
                    Err(e) if e.kind() == ErrorKind::OperationTimedOut => Err(e),
                    _ => Ok(()),
                }
            }
            Shutdown::Graceful => {
                let cancel = self.cancel_token();
                let waited = self.wait_idle(deadline).await;
                let result = match waited {
                    Ok(()) => {
                        let fut = graceful();
                        let bounded = async {
                            match deadline {
                                Some(d) => tokio::time::timeout_at(d, fut).await.unwrap_or_else(|_| {
                                    Err(Error::timed_out(
                                        "the graceful shutdown did not complete before the close timeout",
                                    ))
                                }),
                                None => fut.await,
                            }
                        };
                        tokio::select! {
                            biased;
                            _ = cancel.cancelled() => Err(Error::aborted("close was aborted")),
                            r = bounded => r,
                        }
                    }
                    Err(e) => Err(e),
                };
                if result.is_err() {
                    self.with(|s| s.cancel.cancel());
                    rude();
                    // Let the operations we just aborted unwind before reporting.
                    let _ = self.wait_idle(Some(Instant::now() + Duration::from_secs(1))).await;
                }
                result
            }
        };
        self.close_completed(outcome)
    }
}

/// The `mustUnderstand` check every binding runs on a received envelope: the addressing
/// headers of the envelope's own WS-Addressing version and the headers the application
/// declared (`understood`) are understood. On failure: the `MustUnderstand` fault to
/// answer with, and the `WS_E_INVALID_FORMAT` error to return.
pub(crate) fn check_must_understand(
    envelope: &soapwire_proto::soap::Envelope,
    understood: &std::sync::Mutex<Vec<soapwire_proto::xml::QName>>,
) -> std::result::Result<(), Box<(soapwire_proto::soap::Fault, Error)>> {
    use soapwire_proto::addressing::AddressingHeaders;
    let addressing = AddressingHeaders::detect_version(&envelope.headers);
    let understood = understood.lock().unwrap_or_else(|p| p.into_inner()).clone();
    envelope
        .check_must_understand(|name| {
            addressing.is_some_and(|v| AddressingHeaders::understands(name, v)) || understood.contains(name)
        })
        .map_err(|fault| {
            let names: Vec<String> =
                fault.not_understood.iter().map(|q| format!("{{{}}}{}", q.namespace, q.local)).collect();
            let error = Error::invalid_format(format!("mustUnderstand header(s) not understood: {}", names.join(", ")));
            Box::new((fault, error))
        })
}

/// A listener's count of pending `accept_channel` calls, bounded by
/// `max_accepting_channels` (one more is `WS_E_QUOTA_EXCEEDED`).
#[derive(Debug, Default)]
pub(crate) struct AcceptCount(std::sync::atomic::AtomicUsize);

/// One pending accept; the count drops when it ends.
pub(crate) struct AcceptTurn<'a>(&'a AcceptCount);

impl Drop for AcceptTurn<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl AcceptCount {
    /// Counts one more pending accept, unless `max` are pending already.
    pub(crate) fn enter(&self, max: usize) -> Result<AcceptTurn<'_>> {
        use std::sync::atomic::Ordering;
        if self.0.fetch_add(1, Ordering::AcqRel) >= max {
            self.0.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::quota_exceeded(format!("more than max_accepting_channels ({max}) accepts are pending")));
        }
        Ok(AcceptTurn(self))
    }
}
