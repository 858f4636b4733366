//! The channel state machine: [`ChannelState`] (`WS_CHANNEL_STATE`), the allowed-call table
//! [`call_allowed`] (spec §1.3) and the event-driven [`ChannelStateMachine`].

use std::fmt;

use crate::error::{Error, Result};

/// The state of a channel, `WS_CHANNEL_STATE` (spec §1.2).
///
/// Transitions happen only inside [`ChannelStateMachine`], through the events named on the
/// arrows:
///
/// ```text
///                             new()
///                               |
///                               v
///                         +-----------+
///      +----------------->|  Created  |
///      |                  +-----------+
///      |      open_started  |       |  accept_started
///      |                    v       v
///      |           +---------+     +-----------+
///      |           | Opening |     | Accepting |
///      |           +---------+     +-----------+
///      |                |                |
///      |                +-------+--------+
///      |                        |
///      |          +-------------+---------------+
///      |          | open_completed(Ok)          | open_completed(Err), abort
///      |          v                             v
///      |      +------+     fault, abort    +---------+
///      |      | Open |-------------------->| Faulted |
///      |      +------+                     +---------+
///      |          |                             |
///      |          | close_started               | close_started
///      |          +-------------+---------------+
///      |                        v
///      |                   +---------+
///      |                   | Closing |  abort: stays Closing, and
///      |                   +---------+  close_completed reports OperationAborted
///      |                        |
///      |                        | close_completed(Ok or Err)
///      |                        v
///      |       reset       +--------+
///      +-------------------| Closed |
///                          +--------+
/// ```
///
/// `abort` is allowed in every state; in `Created`, `Faulted` and `Closed` it changes no
/// state (in `Created` it is remembered: the next open or accept fails with
/// `OperationAborted`). There is no `Faulted -> Created` path: a faulted channel must be
/// closed, then reset or freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// Created (or reset) and not yet opened; `WS_CHANNEL_STATE_CREATED` (0).
    Created,
    /// A client open (`WsOpenChannel`) is in progress; `WS_CHANNEL_STATE_OPENING` (1).
    Opening,
    /// A server accept (`WsAcceptChannel`) is in progress; `WS_CHANNEL_STATE_ACCEPTING` (2).
    Accepting,
    /// Open: messages may be sent and received; `WS_CHANNEL_STATE_OPEN` (3).
    Open,
    /// Unusable after an abort or an unrecoverable error; must be closed;
    /// `WS_CHANNEL_STATE_FAULTED` (4).
    Faulted,
    /// A close (`WsCloseChannel`) is in progress; `WS_CHANNEL_STATE_CLOSING` (5).
    Closing,
    /// Closed: may be reset or freed; `WS_CHANNEL_STATE_CLOSED` (6).
    Closed,
}

impl ChannelState {
    /// Every state, in `WS_CHANNEL_STATE` order.
    pub const ALL: [ChannelState; 7] = [
        ChannelState::Created,
        ChannelState::Opening,
        ChannelState::Accepting,
        ChannelState::Open,
        ChannelState::Faulted,
        ChannelState::Closing,
        ChannelState::Closed,
    ];

    /// The `WS_CHANNEL_STATE` value (`Created` = 0 … `Closed` = 6), as
    /// `WS_CHANNEL_PROPERTY_STATE` reports it.
    ///
    /// ```
    /// use soapwire_proto::channel::ChannelState;
    /// assert_eq!(ChannelState::Open.as_ws(), 3);
    /// assert_eq!(ChannelState::Closed.as_ws(), 6);
    /// ```
    pub fn as_ws(self) -> u32 {
        match self {
            ChannelState::Created => 0,
            ChannelState::Opening => 1,
            ChannelState::Accepting => 2,
            ChannelState::Open => 3,
            ChannelState::Faulted => 4,
            ChannelState::Closing => 5,
            ChannelState::Closed => 6,
        }
    }

    /// The state's name as used in error messages (`"Open"`).
    pub fn name(self) -> &'static str {
        match self {
            ChannelState::Created => "Created",
            ChannelState::Opening => "Opening",
            ChannelState::Accepting => "Accepting",
            ChannelState::Open => "Open",
            ChannelState::Faulted => "Faulted",
            ChannelState::Closing => "Closing",
            ChannelState::Closed => "Closed",
        }
    }
}

impl fmt::Display for ChannelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A channel function whose legality depends on the channel state (the rows of spec §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelCall {
    /// `WsOpenChannel`.
    Open,
    /// `WsAcceptChannel` (the channel's side of it; the listener is checked separately).
    Accept,
    /// `WsSendMessage`, `WsRequestReply`, `WsSendReplyMessage`, `WsSendFaultMessageForError`.
    Send,
    /// `WsReceiveMessage`.
    Receive,
    /// `WsReadMessageStart`.
    ReadMessageStart,
    /// `WsReadMessageEnd`.
    ReadMessageEnd,
    /// `WsWriteMessageStart`.
    WriteMessageStart,
    /// `WsWriteMessageEnd`.
    WriteMessageEnd,
    /// `WsAbandonMessage`.
    AbandonMessage,
    /// `WsShutdownSessionChannel`.
    ShutdownSession,
    /// `WsCloseChannel`.
    Close,
    /// `WsAbortChannel`.
    Abort,
    /// `WsResetChannel`.
    Reset,
    /// `WsFreeChannel`.
    Free,
}

impl ChannelCall {
    /// Every call, in declaration order.
    pub const ALL: [ChannelCall; 14] = [
        ChannelCall::Open,
        ChannelCall::Accept,
        ChannelCall::Send,
        ChannelCall::Receive,
        ChannelCall::ReadMessageStart,
        ChannelCall::ReadMessageEnd,
        ChannelCall::WriteMessageStart,
        ChannelCall::WriteMessageEnd,
        ChannelCall::AbandonMessage,
        ChannelCall::ShutdownSession,
        ChannelCall::Close,
        ChannelCall::Abort,
        ChannelCall::Reset,
        ChannelCall::Free,
    ];

    /// The call's name as used in error messages (`"close"`, `"read_message_start"`).
    pub fn name(self) -> &'static str {
        match self {
            ChannelCall::Open => "open",
            ChannelCall::Accept => "accept",
            ChannelCall::Send => "send",
            ChannelCall::Receive => "receive",
            ChannelCall::ReadMessageStart => "read_message_start",
            ChannelCall::ReadMessageEnd => "read_message_end",
            ChannelCall::WriteMessageStart => "write_message_start",
            ChannelCall::WriteMessageEnd => "write_message_end",
            ChannelCall::AbandonMessage => "abandon_message",
            ChannelCall::ShutdownSession => "shutdown_session",
            ChannelCall::Close => "close",
            ChannelCall::Abort => "abort",
            ChannelCall::Reset => "reset",
            ChannelCall::Free => "free",
        }
    }
}

impl fmt::Display for ChannelCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The allowed-call table of spec §1.3: may `call` be made on a channel in `state`?
///
/// | call | allowed in |
/// | --- | --- |
/// | `Open`, `Accept` | `Created` |
/// | `Send`, `Receive`, `ReadMessageStart`, `ReadMessageEnd`, `WriteMessageStart`, `WriteMessageEnd` | `Open` |
/// | `AbandonMessage` | `Open`, `Faulted` |
/// | `ShutdownSession` | `Open` |
/// | `Close` | `Open`, `Faulted` |
/// | `Abort` | every state |
/// | `Reset`, `Free` | `Created`, `Closed` |
///
/// `WsFreeChannel` in another state is undefined behaviour in WWSAPI ("may crash"); soapwire
/// reports it as `InvalidOperation` instead.
///
/// ```
/// use soapwire_proto::channel::{call_allowed, ChannelCall, ChannelState};
/// assert!(call_allowed(ChannelState::Faulted, ChannelCall::Close));
/// assert!(!call_allowed(ChannelState::Faulted, ChannelCall::Reset));
/// ```
pub fn call_allowed(state: ChannelState, call: ChannelCall) -> bool {
    use ChannelCall as C;
    use ChannelState as S;
    match call {
        C::Open | C::Accept => state == S::Created,
        C::Send
        | C::Receive
        | C::ReadMessageStart
        | C::ReadMessageEnd
        | C::WriteMessageStart
        | C::WriteMessageEnd
        | C::ShutdownSession => state == S::Open,
        C::AbandonMessage | C::Close => matches!(state, S::Open | S::Faulted),
        C::Abort => true,
        C::Reset | C::Free => matches!(state, S::Created | S::Closed),
    }
}

/// The `InvalidOperation` error for `call` made in `state`.
fn not_allowed(call: &str, state: ChannelState) -> Error {
    Error::invalid_operation(format!("{call} is not allowed in state {state}"))
}

/// The private state, with the data some states carry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Inner {
    Created,
    Opening,
    Accepting,
    Open,
    Faulted,
    Closing {
        /// `abort` was called while closing: `close_completed` reports `OperationAborted`.
        aborted: bool,
    },
    Closed,
}

impl Inner {
    fn state(&self) -> ChannelState {
        match self {
            Inner::Created => ChannelState::Created,
            Inner::Opening => ChannelState::Opening,
            Inner::Accepting => ChannelState::Accepting,
            Inner::Open => ChannelState::Open,
            Inner::Faulted => ChannelState::Faulted,
            Inner::Closing { .. } => ChannelState::Closing,
            Inner::Closed => ChannelState::Closed,
        }
    }
}

/// The sans-IO state machine of one channel.
///
/// The runtime reports events (`open_started`, `open_completed`, `close_started`, `abort`, …)
/// and asks [`check`](Self::check) before every other channel function. Every illegal call
/// returns an [`ErrorKind::InvalidOperation`](crate::ErrorKind::InvalidOperation) error whose
/// message names the call and the current state; nothing panics. See [`ChannelState`] for the
/// diagram.
///
/// ```
/// use soapwire_proto::channel::{ChannelCall, ChannelState, ChannelStateMachine};
/// use soapwire_proto::ErrorKind;
///
/// let mut ch = ChannelStateMachine::new();
/// assert_eq!(ch.state(), ChannelState::Created);
///
/// // WsOpenChannel
/// ch.open_started()?;
/// assert_eq!(ch.state(), ChannelState::Opening);
/// ch.open_completed(Ok(()))?;
/// assert_eq!(ch.state(), ChannelState::Open);
/// ch.check(ChannelCall::Send)?;
///
/// // WsCloseChannel
/// ch.close_started()?;
/// assert_eq!(ch.state(), ChannelState::Closing);
/// ch.close_completed(Ok(()))?;
/// assert_eq!(ch.state(), ChannelState::Closed);
///
/// // A closed channel cannot send, but can be reset and reused.
/// let err = ch.check(ChannelCall::Send).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidOperation);
/// assert_eq!(err.strings()[0], "send is not allowed in state Closed");
/// ch.reset()?;
/// assert_eq!(ch.state(), ChannelState::Created);
/// # Ok::<(), soapwire_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ChannelStateMachine {
    inner: Inner,
    /// `abort` was called since creation or the last reset.
    aborted: bool,
    /// An open or accept has started and `open_completed` has not been reported yet. Outlives
    /// `Opening`/`Accepting` when an abort moves the channel to `Faulted` meanwhile.
    open_pending: bool,
}

impl Default for ChannelStateMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl ChannelStateMachine {
    /// A new channel, in [`ChannelState::Created`] (`WsCreateChannel`,
    /// `WsCreateChannelForListener`).
    pub fn new() -> Self {
        ChannelStateMachine { inner: Inner::Created, aborted: false, open_pending: false }
    }

    /// The current state (what `WS_CHANNEL_PROPERTY_STATE` reports).
    pub fn state(&self) -> ChannelState {
        self.inner.state()
    }

    /// `Ok` iff [`call_allowed`]`(self.state(), call)`; otherwise an `InvalidOperation` error
    /// such as `"send is not allowed in state Faulted"`. Changes nothing.
    pub fn check(&self, call: ChannelCall) -> Result<()> {
        let state = self.state();
        if call_allowed(state, call) { Ok(()) } else { Err(not_allowed(call.name(), state)) }
    }

    /// `WsOpenChannel` starts: `Created -> Opening`.
    ///
    /// If the channel was aborted while `Created`, fails with `OperationAborted` and stays
    /// `Created` (reset it to clear the abort).
    pub fn open_started(&mut self) -> Result<()> {
        self.start_open(ChannelCall::Open, Inner::Opening)
    }

    /// `WsAcceptChannel` starts (the listener is `Open`): `Created -> Accepting`.
    ///
    /// If the channel was aborted while `Created`, fails with `OperationAborted` and stays
    /// `Created` (reset it to clear the abort).
    pub fn accept_started(&mut self) -> Result<()> {
        self.start_open(ChannelCall::Accept, Inner::Accepting)
    }

    fn start_open(&mut self, call: ChannelCall, next: Inner) -> Result<()> {
        self.check(call)?;
        if self.aborted {
            return Err(Error::aborted(format!("{call}: the channel was aborted before the {call} started")));
        }
        self.inner = next;
        self.open_pending = true;
        Ok(())
    }

    /// The open or accept started by [`open_started`](Self::open_started) /
    /// [`accept_started`](Self::accept_started) finished with `outcome`.
    ///
    /// - `Opening`/`Accepting` and `Ok` -> `Open`, returns `Ok`.
    /// - `Opening`/`Accepting` and `Err(e)` -> `Faulted`, returns `Err(e)`.
    /// - If [`abort`](Self::abort) was called meanwhile (the channel is already `Faulted`, or
    ///   even `Closing`/`Closed`), the state is left alone and `OperationAborted` is returned
    ///   whatever the outcome.
    ///
    /// `InvalidOperation` if no open or accept is pending.
    pub fn open_completed(&mut self, outcome: Result<()>) -> Result<()> {
        if !self.open_pending {
            return Err(Error::invalid_operation(format!(
                "open_completed is not allowed in state {} (no open or accept is pending)",
                self.state()
            )));
        }
        self.open_pending = false;
        match (&self.inner, outcome) {
            (Inner::Opening | Inner::Accepting, Ok(())) => {
                self.inner = Inner::Open;
                Ok(())
            }
            (Inner::Opening | Inner::Accepting, Err(e)) => {
                self.inner = Inner::Faulted;
                Err(e)
            }
            (_, _) => Err(Error::aborted("open: the channel was aborted while opening")),
        }
    }

    /// An unrecoverable I/O or protocol error: `Open -> Faulted`. No-op in any other state
    /// (a failing open or close reports its error through its own completion).
    pub fn fault(&mut self) {
        if self.inner == Inner::Open {
            self.inner = Inner::Faulted;
        }
    }

    /// `WsCloseChannel` starts: `Open | Faulted -> Closing`.
    pub fn close_started(&mut self) -> Result<()> {
        self.check(ChannelCall::Close)?;
        self.inner = Inner::Closing { aborted: false };
        Ok(())
    }

    /// The close finished with `outcome`, the result of the graceful shutdown:
    /// `Closing -> Closed`, always.
    ///
    /// Returns `OperationAborted` if [`abort`](Self::abort) was called while closing, else
    /// `outcome` itself: a graceful-shutdown error is returned but the channel is closed all
    /// the same (spec §1.4). `InvalidOperation` if not `Closing`.
    pub fn close_completed(&mut self, outcome: Result<()>) -> Result<()> {
        let Inner::Closing { aborted } = self.inner else {
            return Err(not_allowed("close_completed", self.state()));
        };
        self.inner = Inner::Closed;
        if aborted { Err(Error::aborted("close: the channel was aborted while closing")) } else { outcome }
    }

    /// `WsAbortChannel`, allowed in every state:
    ///
    /// - `Opening`/`Accepting` -> `Faulted`; the pending `open_completed` reports
    ///   `OperationAborted`.
    /// - `Open` -> `Faulted`.
    /// - `Closing` stays `Closing`; `close_completed` reports `OperationAborted`.
    /// - `Created`: stays `Created`, but the next `open_started`/`accept_started` fails with
    ///   `OperationAborted` until [`reset`](Self::reset).
    /// - `Faulted`, `Closed`: unchanged.
    pub fn abort(&mut self) {
        self.aborted = true;
        match self.inner {
            Inner::Opening | Inner::Accepting | Inner::Open => self.inner = Inner::Faulted,
            Inner::Closing { .. } => self.inner = Inner::Closing { aborted: true },
            Inner::Created | Inner::Faulted | Inner::Closed => {}
        }
    }

    /// `WsResetChannel`: `Created | Closed -> Created`, forgetting any abort. A completion of an
    /// open that is somehow still pending is then rejected as `InvalidOperation`.
    pub fn reset(&mut self) -> Result<()> {
        self.check(ChannelCall::Reset)?;
        *self = ChannelStateMachine::new();
        Ok(())
    }

    /// `abort` was called since creation or the last [`reset`](Self::reset).
    pub fn was_aborted(&self) -> bool {
        self.aborted
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    use ChannelCall as C;
    use ChannelState as S;

    /// Drives a fresh machine into `state` through the public events only.
    fn channel_in(state: ChannelState) -> ChannelStateMachine {
        let mut ch = ChannelStateMachine::new();
        match state {
            S::Created => {}
            S::Opening => ch.open_started().unwrap(),
            S::Accepting => ch.accept_started().unwrap(),
            S::Open => {
                ch.open_started().unwrap();
                ch.open_completed(Ok(())).unwrap();
            }
            S::Faulted => {
                ch.open_started().unwrap();
                ch.open_completed(Ok(())).unwrap();
                ch.fault();
            }
            S::Closing => {
                ch.open_started().unwrap();
                ch.open_completed(Ok(())).unwrap();
                ch.close_started().unwrap();
            }
            S::Closed => {
                ch.open_started().unwrap();
                ch.open_completed(Ok(())).unwrap();
                ch.close_started().unwrap();
                ch.close_completed(Ok(())).unwrap();
            }
        }
        assert_eq!(ch.state(), state);
        ch
    }

    fn disconnected() -> Error {
        Error::new(ErrorKind::EndpointDisconnected, "peer went away")
    }

    fn assert_invalid(r: Result<()>, text: &str) {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOperation, "{e}");
        assert_eq!(e.strings()[0], text);
    }

    #[test]
    fn ws_channel_state_values_match_the_sdk() {
        let values: Vec<u32> = S::ALL.iter().map(|s| s.as_ws()).collect();
        assert_eq!(values, [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn states_and_calls_display_their_names() {
        let names: Vec<String> = S::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["Created", "Opening", "Accepting", "Open", "Faulted", "Closing", "Closed"]);
        assert_eq!(C::ReadMessageStart.to_string(), "read_message_start");
        assert_eq!(C::Close.to_string(), "close");
    }

    /// Spec §1.3, one row per call, written out state by state.
    #[test]
    fn allowed_call_table_matches_spec_1_3() {
        //                       Created Opening Accepting Open  Faulted Closing Closed
        let rows: [(ChannelCall, [bool; 7]); 14] = [
            (C::Open, [true, false, false, false, false, false, false]),
            (C::Accept, [true, false, false, false, false, false, false]),
            (C::Send, [false, false, false, true, false, false, false]),
            (C::Receive, [false, false, false, true, false, false, false]),
            (C::ReadMessageStart, [false, false, false, true, false, false, false]),
            (C::ReadMessageEnd, [false, false, false, true, false, false, false]),
            (C::WriteMessageStart, [false, false, false, true, false, false, false]),
            (C::WriteMessageEnd, [false, false, false, true, false, false, false]),
            (C::AbandonMessage, [false, false, false, true, true, false, false]),
            (C::ShutdownSession, [false, false, false, true, false, false, false]),
            (C::Close, [false, false, false, true, true, false, false]),
            (C::Abort, [true, true, true, true, true, true, true]),
            (C::Reset, [true, false, false, false, false, false, true]),
            (C::Free, [true, false, false, false, false, false, true]),
        ];
        assert_eq!(rows.len(), C::ALL.len());
        for (call, allowed) in rows {
            for (state, expected) in S::ALL.into_iter().zip(allowed) {
                assert_eq!(call_allowed(state, call), expected, "{call} in {state}");
                let machine = channel_in(state);
                match machine.check(call) {
                    Ok(()) => assert!(expected, "{call} in {state} should be refused"),
                    Err(e) => {
                        assert!(!expected, "{call} in {state} should be allowed");
                        assert_eq!(e.kind(), ErrorKind::InvalidOperation);
                        assert_eq!(e.strings()[0], format!("{call} is not allowed in state {state}"));
                    }
                }
                assert_eq!(machine.state(), state, "check changes nothing");
            }
        }
    }

    #[test]
    fn close_in_created_is_invalid_operation() {
        let mut ch = ChannelStateMachine::new();
        assert_invalid(ch.close_started(), "close is not allowed in state Created");
        assert_eq!(ch.state(), S::Created);
    }

    #[test]
    fn open_then_close_walks_created_opening_open_closing_closed() {
        let mut ch = ChannelStateMachine::new();
        ch.open_started().unwrap();
        assert_eq!(ch.state(), S::Opening);
        ch.open_completed(Ok(())).unwrap();
        assert_eq!(ch.state(), S::Open);
        ch.close_started().unwrap();
        assert_eq!(ch.state(), S::Closing);
        ch.close_completed(Ok(())).unwrap();
        assert_eq!(ch.state(), S::Closed);
        assert!(!ch.was_aborted());
    }

    #[test]
    fn accept_walks_created_accepting_open() {
        let mut ch = ChannelStateMachine::new();
        ch.accept_started().unwrap();
        assert_eq!(ch.state(), S::Accepting);
        ch.open_completed(Ok(())).unwrap();
        assert_eq!(ch.state(), S::Open);
    }

    #[test]
    fn open_and_accept_only_from_created() {
        for state in S::ALL {
            let allowed = state == S::Created;
            let mut ch = channel_in(state);
            assert_eq!(ch.open_started().is_ok(), allowed, "open in {state}");
            let mut ch = channel_in(state);
            assert_eq!(ch.accept_started().is_ok(), allowed, "accept in {state}");
            if !allowed {
                assert_invalid(channel_in(state).open_started(), &format!("open is not allowed in state {state}"));
                assert_invalid(channel_in(state).accept_started(), &format!("accept is not allowed in state {state}"));
            }
        }
    }

    #[test]
    fn failed_open_faults_the_channel_and_returns_the_error() {
        for start in [ChannelStateMachine::open_started, ChannelStateMachine::accept_started] {
            let mut ch = ChannelStateMachine::new();
            start(&mut ch).unwrap();
            let e = ch.open_completed(Err(disconnected())).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::EndpointDisconnected);
            assert_eq!(ch.state(), S::Faulted);
            // A faulted channel must be closed before it can be reset.
            assert_invalid(ch.reset(), "reset is not allowed in state Faulted");
            ch.close_started().unwrap();
            ch.close_completed(Ok(())).unwrap();
            ch.reset().unwrap();
            assert_eq!(ch.state(), S::Created);
        }
    }

    #[test]
    fn abort_during_open_reports_aborted() {
        for (start, during) in [
            (ChannelStateMachine::open_started as fn(&mut ChannelStateMachine) -> Result<()>, S::Opening),
            (ChannelStateMachine::accept_started, S::Accepting),
        ] {
            let mut ch = ChannelStateMachine::new();
            start(&mut ch).unwrap();
            assert_eq!(ch.state(), during);
            ch.abort();
            assert_eq!(ch.state(), S::Faulted);
            // Even a successful I/O outcome is reported as aborted.
            let e = ch.open_completed(Ok(())).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OperationAborted);
            assert_eq!(ch.state(), S::Faulted);
            assert!(ch.was_aborted());
        }
    }

    #[test]
    fn abort_during_open_then_failed_io_still_reports_aborted() {
        let mut ch = ChannelStateMachine::new();
        ch.open_started().unwrap();
        ch.abort();
        let e = ch.open_completed(Err(disconnected())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OperationAborted);
    }

    #[test]
    fn open_completion_after_abort_and_close_reports_aborted_and_keeps_state() {
        let mut ch = ChannelStateMachine::new();
        ch.open_started().unwrap();
        ch.abort();
        ch.close_started().unwrap();
        let e = ch.open_completed(Ok(())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OperationAborted);
        assert_eq!(ch.state(), S::Closing);
        ch.close_completed(Ok(())).unwrap();
        assert_eq!(ch.state(), S::Closed);
    }

    #[test]
    fn open_completed_without_pending_open_is_invalid_operation() {
        for state in S::ALL {
            if matches!(state, S::Opening | S::Accepting) {
                continue;
            }
            let mut ch = channel_in(state);
            assert_invalid(
                ch.open_completed(Ok(())),
                &format!("open_completed is not allowed in state {state} (no open or accept is pending)"),
            );
            assert_eq!(ch.state(), state);
        }
        // A second completion of the same open is refused too.
        let mut ch = channel_in(S::Open);
        assert!(ch.open_completed(Ok(())).is_err());
        assert_eq!(ch.state(), S::Open);
    }

    #[test]
    fn abort_in_open_faults() {
        let mut ch = channel_in(S::Open);
        ch.abort();
        assert_eq!(ch.state(), S::Faulted);
        assert!(ch.was_aborted());
    }

    #[test]
    fn abort_is_allowed_in_every_state_and_never_fails() {
        let expected = [
            (S::Created, S::Created),
            (S::Opening, S::Faulted),
            (S::Accepting, S::Faulted),
            (S::Open, S::Faulted),
            (S::Faulted, S::Faulted),
            (S::Closing, S::Closing),
            (S::Closed, S::Closed),
        ];
        for (from, to) in expected {
            let mut ch = channel_in(from);
            ch.check(C::Abort).unwrap();
            ch.abort();
            assert_eq!(ch.state(), to, "abort in {from}");
            ch.abort();
            assert_eq!(ch.state(), to, "second abort in {from}");
        }
    }

    #[test]
    fn abort_in_created_makes_the_next_open_report_aborted_until_reset() {
        let mut ch = ChannelStateMachine::new();
        ch.abort();
        assert_eq!(ch.state(), S::Created);
        assert_eq!(ch.open_started().unwrap_err().kind(), ErrorKind::OperationAborted);
        assert_eq!(ch.accept_started().unwrap_err().kind(), ErrorKind::OperationAborted);
        assert_eq!(ch.state(), S::Created);
        ch.reset().unwrap();
        assert!(!ch.was_aborted());
        ch.open_started().unwrap();
        assert_eq!(ch.state(), S::Opening);
    }

    #[test]
    fn abort_while_closing_makes_close_report_aborted() {
        let mut ch = channel_in(S::Closing);
        ch.abort();
        assert_eq!(ch.state(), S::Closing);
        let e = ch.close_completed(Ok(())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OperationAborted);
        assert_eq!(ch.state(), S::Closed);
        // The graceful error is superseded by the abort as well.
        let mut ch = channel_in(S::Closing);
        ch.abort();
        assert_eq!(ch.close_completed(Err(disconnected())).unwrap_err().kind(), ErrorKind::OperationAborted);
        assert_eq!(ch.state(), S::Closed);
    }

    #[test]
    fn graceful_close_error_still_closes() {
        for from in [S::Open, S::Faulted] {
            let mut ch = channel_in(from);
            ch.close_started().unwrap();
            let e = ch.close_completed(Err(Error::timed_out("close handshake"))).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OperationTimedOut);
            assert_eq!(ch.state(), S::Closed);
            ch.reset().unwrap();
        }
    }

    #[test]
    fn close_only_from_open_or_faulted() {
        for state in S::ALL {
            let mut ch = channel_in(state);
            let r = ch.close_started();
            if matches!(state, S::Open | S::Faulted) {
                r.unwrap();
                assert_eq!(ch.state(), S::Closing);
            } else {
                assert_invalid(r, &format!("close is not allowed in state {state}"));
                assert_eq!(ch.state(), state);
            }
        }
    }

    #[test]
    fn close_completed_only_while_closing() {
        for state in S::ALL {
            if state == S::Closing {
                continue;
            }
            let mut ch = channel_in(state);
            assert_invalid(ch.close_completed(Ok(())), &format!("close_completed is not allowed in state {state}"));
            assert_eq!(ch.state(), state);
        }
    }

    #[test]
    fn reset_only_from_created_or_closed() {
        for state in S::ALL {
            let mut ch = channel_in(state);
            let r = ch.reset();
            if matches!(state, S::Created | S::Closed) {
                r.unwrap();
                assert_eq!(ch.state(), S::Created);
            } else {
                assert_invalid(r, &format!("reset is not allowed in state {state}"));
                assert_eq!(ch.state(), state);
            }
        }
    }

    #[test]
    fn faulted_channel_allows_only_close_abort_and_abandon() {
        let ch = channel_in(S::Faulted);
        let allowed: Vec<ChannelCall> = C::ALL.into_iter().filter(|c| ch.check(*c).is_ok()).collect();
        assert_eq!(allowed, [C::AbandonMessage, C::Close, C::Abort]);
    }

    #[test]
    fn there_is_no_path_from_faulted_back_to_created() {
        let mut ch = channel_in(S::Faulted);
        assert!(ch.reset().is_err());
        assert!(ch.open_started().is_err());
        assert!(ch.accept_started().is_err());
        ch.abort();
        assert_eq!(ch.state(), S::Faulted);
    }

    #[test]
    fn fault_only_affects_open() {
        for state in S::ALL {
            let mut ch = channel_in(state);
            ch.fault();
            let expected = if state == S::Open { S::Faulted } else { state };
            assert_eq!(ch.state(), expected, "fault in {state}");
            assert!(!ch.was_aborted());
        }
    }

    #[test]
    fn reset_forgets_the_abort() {
        let mut ch = channel_in(S::Open);
        ch.abort();
        ch.close_started().unwrap();
        ch.close_completed(Ok(())).unwrap();
        assert!(ch.was_aborted());
        ch.reset().unwrap();
        assert!(!ch.was_aborted());
        ch.open_started().unwrap();
    }

    #[test]
    fn reuse_after_reset_runs_a_second_session() {
        let mut ch = channel_in(S::Closed);
        ch.reset().unwrap();
        ch.accept_started().unwrap();
        ch.open_completed(Ok(())).unwrap();
        ch.check(C::Receive).unwrap();
        ch.close_started().unwrap();
        ch.close_completed(Ok(())).unwrap();
        assert_eq!(ch.state(), S::Closed);
    }
}
