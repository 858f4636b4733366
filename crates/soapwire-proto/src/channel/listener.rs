//! The listener state machine: [`ListenerState`] (`WS_LISTENER_STATE`), the allowed-call table
//! [`listener_call_allowed`] (spec §1.12) and the event-driven [`ListenerStateMachine`].

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// The state of a listener, `WS_LISTENER_STATE` (spec §1.12).
///
/// Transitions happen only inside [`ListenerStateMachine`], through the events named on the
/// arrows:
///
/// ```text
///                          new()
///                            |
///                            v
///                      +-----------+
///      +-------------->|  Created  |<--------------+
///      |               +-----------+               |
///      |                     | open_started        | open_completed(Err)
///      |                     v                     |
///      |               +-----------+               |
///      |               |  Opening  |---------------+
///      |               +-----------+
///      |                     |     \
///      |  open_completed(Ok) |      \ abort
///      |                     v       v
///      |               +------+    abort     +---------+
///      |               | Open |------------->| Faulted |
///      |               +------+              +---------+
///      |                     |                    |
///      |       close_started +---------+----------+ close_started
///      |                               v
///      |                         +---------+
///      |                         | Closing |  abort: stays Closing, and
///      |                         +---------+  close_completed reports OperationAborted
///      |                               |
///      |                               | close_completed(Ok or Err)
///      |      reset                    v
///      |                         +--------+
///      +-------------------------| Closed |
///                                +--------+
/// ```
///
/// A listener becomes `Faulted` only through `abort` (`WsAbortListener`); a failed open
/// returns it to `Created`. `abort` is allowed in every state; in `Created` it is remembered
/// (the next open fails with `OperationAborted`, as `WsOpenListener` documents for an abort
/// "before the open"), in `Faulted` and `Closed` it changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListenerState {
    /// Created (or reset) and not listening; `WS_LISTENER_STATE_CREATED` (0).
    Created,
    /// `WsOpenListener` is in progress; `WS_LISTENER_STATE_OPENING` (1).
    Opening,
    /// Listening: channels may be accepted; `WS_LISTENER_STATE_OPEN` (2).
    Open,
    /// Aborted; accepts fail at once with `ObjectFaulted`; must be closed;
    /// `WS_LISTENER_STATE_FAULTED` (3).
    Faulted,
    /// `WsCloseListener` is in progress; `WS_LISTENER_STATE_CLOSING` (4).
    Closing,
    /// Closed: may be reset or freed; `WS_LISTENER_STATE_CLOSED` (5).
    Closed,
}

impl ListenerState {
    /// Every state, in `WS_LISTENER_STATE` order.
    pub const ALL: [ListenerState; 6] = [
        ListenerState::Created,
        ListenerState::Opening,
        ListenerState::Open,
        ListenerState::Faulted,
        ListenerState::Closing,
        ListenerState::Closed,
    ];

    /// The `WS_LISTENER_STATE` value (`Created` = 0 … `Closed` = 5), as
    /// `WS_LISTENER_PROPERTY_STATE` reports it.
    ///
    /// ```
    /// use soapwire_proto::channel::ListenerState;
    /// assert_eq!(ListenerState::Faulted.as_ws(), 3);
    /// ```
    pub fn as_ws(self) -> u32 {
        match self {
            ListenerState::Created => 0,
            ListenerState::Opening => 1,
            ListenerState::Open => 2,
            ListenerState::Faulted => 3,
            ListenerState::Closing => 4,
            ListenerState::Closed => 5,
        }
    }

    /// The state's name as used in error messages (`"Open"`).
    pub fn name(self) -> &'static str {
        match self {
            ListenerState::Created => "Created",
            ListenerState::Opening => "Opening",
            ListenerState::Open => "Open",
            ListenerState::Faulted => "Faulted",
            ListenerState::Closing => "Closing",
            ListenerState::Closed => "Closed",
        }
    }
}

impl fmt::Display for ListenerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A listener function whose legality depends on the listener state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListenerCall {
    /// `WsOpenListener`.
    Open,
    /// `WsAcceptChannel` (the listener's side of it).
    Accept,
    /// `WsCloseListener`.
    Close,
    /// `WsAbortListener`.
    Abort,
    /// `WsResetListener`.
    Reset,
    /// `WsFreeListener`.
    Free,
}

impl ListenerCall {
    /// Every call, in declaration order.
    pub const ALL: [ListenerCall; 6] = [
        ListenerCall::Open,
        ListenerCall::Accept,
        ListenerCall::Close,
        ListenerCall::Abort,
        ListenerCall::Reset,
        ListenerCall::Free,
    ];

    /// The call's name as used in error messages (`"accept"`).
    pub fn name(self) -> &'static str {
        match self {
            ListenerCall::Open => "open",
            ListenerCall::Accept => "accept",
            ListenerCall::Close => "close",
            ListenerCall::Abort => "abort",
            ListenerCall::Reset => "reset",
            ListenerCall::Free => "free",
        }
    }
}

impl fmt::Display for ListenerCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The allowed-call table of spec §1.12: may `call` be made on a listener in `state`?
///
/// | call | allowed in |
/// | --- | --- |
/// | `Open` | `Created` |
/// | `Accept` | `Open` (in `Faulted` it fails with `ObjectFaulted`, elsewhere `InvalidOperation`) |
/// | `Close` | `Open`, `Faulted` |
/// | `Abort` | every state |
/// | `Reset`, `Free` | `Created`, `Closed` |
///
/// `WsFreeListener` in another state is undefined behaviour in WWSAPI; soapwire reports it as
/// `InvalidOperation`.
///
/// ```
/// use soapwire_proto::channel::{listener_call_allowed, ListenerCall, ListenerState};
/// assert!(listener_call_allowed(ListenerState::Open, ListenerCall::Accept));
/// assert!(!listener_call_allowed(ListenerState::Faulted, ListenerCall::Accept));
/// ```
pub fn listener_call_allowed(state: ListenerState, call: ListenerCall) -> bool {
    use ListenerCall as C;
    use ListenerState as S;
    match call {
        C::Open => state == S::Created,
        C::Accept => state == S::Open,
        C::Close => matches!(state, S::Open | S::Faulted),
        C::Abort => true,
        C::Reset | C::Free => matches!(state, S::Created | S::Closed),
    }
}

/// The `InvalidOperation` error for `call` made in `state`.
fn not_allowed(call: &str, state: ListenerState) -> Error {
    Error::invalid_operation(format!("{call} is not allowed in listener state {state}"))
}

/// The private state, with the data some states carry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Inner {
    Created,
    Opening,
    Open,
    Faulted,
    Closing {
        /// `abort` was called while closing: `close_completed` reports `OperationAborted`.
        aborted: bool,
    },
    Closed,
}

impl Inner {
    fn state(&self) -> ListenerState {
        match self {
            Inner::Created => ListenerState::Created,
            Inner::Opening => ListenerState::Opening,
            Inner::Open => ListenerState::Open,
            Inner::Faulted => ListenerState::Faulted,
            Inner::Closing { .. } => ListenerState::Closing,
            Inner::Closed => ListenerState::Closed,
        }
    }
}

/// The sans-IO state machine of one listener.
///
/// Illegal calls return `InvalidOperation` errors naming the call and the state
/// (`"close is not allowed in listener state Created"`), except an accept on a faulted
/// listener, which returns `ObjectFaulted` as `WsAcceptChannel` does. Nothing panics. See
/// [`ListenerState`] for the diagram.
///
/// ```
/// use soapwire_proto::channel::{ListenerState, ListenerStateMachine};
/// use soapwire_proto::ErrorKind;
///
/// let mut l = ListenerStateMachine::new();
/// l.open_started()?;
/// l.open_completed(Ok(()))?;
/// l.check_accept()?;
///
/// // WsAbortListener: accept loops see ObjectFaulted and stop.
/// l.abort();
/// assert_eq!(l.state(), ListenerState::Faulted);
/// assert_eq!(l.check_accept().unwrap_err().kind(), ErrorKind::ObjectFaulted);
///
/// l.close_started()?;
/// l.close_completed(Ok(()))?;
/// l.reset()?;
/// assert_eq!(l.state(), ListenerState::Created);
/// # Ok::<(), soapwire_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ListenerStateMachine {
    inner: Inner,
    /// `abort` was called since creation or the last reset.
    aborted: bool,
    /// An open has started and `open_completed` has not been reported yet. Outlives `Opening`
    /// when an abort moves the listener to `Faulted` meanwhile.
    open_pending: bool,
}

impl Default for ListenerStateMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl ListenerStateMachine {
    /// A new listener, in [`ListenerState::Created`] (`WsCreateListener`).
    pub fn new() -> Self {
        ListenerStateMachine { inner: Inner::Created, aborted: false, open_pending: false }
    }

    /// The current state (what `WS_LISTENER_PROPERTY_STATE` reports).
    pub fn state(&self) -> ListenerState {
        self.inner.state()
    }

    /// `Ok` iff [`listener_call_allowed`]`(self.state(), call)`; otherwise `InvalidOperation`,
    /// except [`ListenerCall::Accept`] on a faulted listener, which is `ObjectFaulted` (see
    /// [`check_accept`](Self::check_accept)). Changes nothing.
    pub fn check(&self, call: ListenerCall) -> Result<()> {
        let state = self.state();
        if listener_call_allowed(state, call) {
            Ok(())
        } else if call == ListenerCall::Accept && state == ListenerState::Faulted {
            Err(Error::new(ErrorKind::ObjectFaulted, "accept: the listener has faulted (it was aborted)"))
        } else {
            Err(not_allowed(call.name(), state))
        }
    }

    /// May a channel be accepted (`WsAcceptChannel`)? `Ok` when `Open`; `ObjectFaulted` when
    /// `Faulted` (accept loops must test for it and stop); `InvalidOperation` otherwise.
    pub fn check_accept(&self) -> Result<()> {
        self.check(ListenerCall::Accept)
    }

    /// `WsOpenListener` starts: `Created -> Opening`.
    ///
    /// If the listener was aborted while `Created`, fails with `OperationAborted` and stays
    /// `Created` (reset it to clear the abort).
    pub fn open_started(&mut self) -> Result<()> {
        self.check(ListenerCall::Open)?;
        if self.aborted {
            return Err(Error::aborted("open: the listener was aborted before the open started"));
        }
        self.inner = Inner::Opening;
        self.open_pending = true;
        Ok(())
    }

    /// The open finished with `outcome`:
    ///
    /// - `Opening` and `Ok` -> `Open`, returns `Ok`.
    /// - `Opening` and `Err(e)` -> back to `Created` (a listener faults only through abort),
    ///   returns `Err(e)`.
    /// - If [`abort`](Self::abort) was called meanwhile (the listener is already `Faulted`, or
    ///   even `Closing`/`Closed`), the state is left alone and `OperationAborted` is returned
    ///   whatever the outcome.
    ///
    /// `InvalidOperation` if no open is pending.
    pub fn open_completed(&mut self, outcome: Result<()>) -> Result<()> {
        if !self.open_pending {
            return Err(Error::invalid_operation(format!(
                "open_completed is not allowed in listener state {} (no open is pending)",
                self.state()
            )));
        }
        self.open_pending = false;
        match (&self.inner, outcome) {
            (Inner::Opening, Ok(())) => {
                self.inner = Inner::Open;
                Ok(())
            }
            (Inner::Opening, Err(e)) => {
                self.inner = Inner::Created;
                Err(e)
            }
            (_, _) => Err(Error::aborted("open: the listener was aborted while opening")),
        }
    }

    /// `WsCloseListener` starts: `Open | Faulted -> Closing`. (The runtime aborts pending
    /// accepts.)
    pub fn close_started(&mut self) -> Result<()> {
        self.check(ListenerCall::Close)?;
        self.inner = Inner::Closing { aborted: false };
        Ok(())
    }

    /// The close finished with `outcome`: `Closing -> Closed`, always. Returns
    /// `OperationAborted` if [`abort`](Self::abort) was called while closing, else `outcome`.
    /// `InvalidOperation` if not `Closing`.
    pub fn close_completed(&mut self, outcome: Result<()>) -> Result<()> {
        let Inner::Closing { aborted } = self.inner else {
            return Err(not_allowed("close_completed", self.state()));
        };
        self.inner = Inner::Closed;
        if aborted { Err(Error::aborted("close: the listener was aborted while closing")) } else { outcome }
    }

    /// `WsAbortListener`, allowed in every state:
    ///
    /// - `Opening` -> `Faulted`; the pending `open_completed` reports `OperationAborted`.
    /// - `Open` -> `Faulted`; later accepts fail with `ObjectFaulted`.
    /// - `Closing` stays `Closing`; `close_completed` reports `OperationAborted`.
    /// - `Created`: stays `Created`, but the next `open_started` fails with `OperationAborted`
    ///   until [`reset`](Self::reset).
    /// - `Faulted`, `Closed`: unchanged.
    pub fn abort(&mut self) {
        self.aborted = true;
        match self.inner {
            Inner::Opening | Inner::Open => self.inner = Inner::Faulted,
            Inner::Closing { .. } => self.inner = Inner::Closing { aborted: true },
            Inner::Created | Inner::Faulted | Inner::Closed => {}
        }
    }

    /// `WsResetListener`: `Created | Closed -> Created`, forgetting any abort.
    pub fn reset(&mut self) -> Result<()> {
        self.check(ListenerCall::Reset)?;
        *self = ListenerStateMachine::new();
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

    use ListenerCall as C;
    use ListenerState as S;

    /// Drives a fresh listener into `state` through the public events only.
    fn listener_in(state: ListenerState) -> ListenerStateMachine {
        let mut l = ListenerStateMachine::new();
        let open = |l: &mut ListenerStateMachine| {
            l.open_started().unwrap();
            l.open_completed(Ok(())).unwrap();
        };
        match state {
            S::Created => {}
            S::Opening => l.open_started().unwrap(),
            S::Open => open(&mut l),
            S::Faulted => {
                open(&mut l);
                l.abort();
            }
            S::Closing => {
                open(&mut l);
                l.close_started().unwrap();
            }
            S::Closed => {
                open(&mut l);
                l.close_started().unwrap();
                l.close_completed(Ok(())).unwrap();
            }
        }
        assert_eq!(l.state(), state);
        l
    }

    fn assert_invalid(r: Result<()>, text: &str) {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOperation, "{e}");
        assert_eq!(e.strings()[0], text);
    }

    #[test]
    fn ws_listener_state_values_match_the_sdk() {
        let values: Vec<u32> = S::ALL.iter().map(|s| s.as_ws()).collect();
        assert_eq!(values, [0, 1, 2, 3, 4, 5]);
        let names: Vec<String> = S::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["Created", "Opening", "Open", "Faulted", "Closing", "Closed"]);
    }

    /// Spec §1.12, one row per call, written out state by state.
    #[test]
    fn allowed_call_table_matches_spec_1_12() {
        //                 Created Opening Open  Faulted Closing Closed
        let rows: [(ListenerCall, [bool; 6]); 6] = [
            (C::Open, [true, false, false, false, false, false]),
            (C::Accept, [false, false, true, false, false, false]),
            (C::Close, [false, false, true, true, false, false]),
            (C::Abort, [true, true, true, true, true, true]),
            (C::Reset, [true, false, false, false, false, true]),
            (C::Free, [true, false, false, false, false, true]),
        ];
        for (call, allowed) in rows {
            for (state, expected) in S::ALL.into_iter().zip(allowed) {
                assert_eq!(listener_call_allowed(state, call), expected, "{call} in {state}");
                let l = listener_in(state);
                match l.check(call) {
                    Ok(()) => assert!(expected, "{call} in {state} should be refused"),
                    Err(e) if call == C::Accept && state == S::Faulted => {
                        assert_eq!(e.kind(), ErrorKind::ObjectFaulted);
                    }
                    Err(e) => {
                        assert!(!expected, "{call} in {state} should be allowed");
                        assert_eq!(e.kind(), ErrorKind::InvalidOperation);
                        assert_eq!(e.strings()[0], format!("{call} is not allowed in listener state {state}"));
                    }
                }
                assert_eq!(l.state(), state, "check changes nothing");
            }
        }
    }

    #[test]
    fn faulted_listener_accept_is_object_faulted() {
        let l = listener_in(S::Faulted);
        let e = l.check_accept().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ObjectFaulted);
        assert_eq!(e.hresult().0 as u32, 0x803D_0001);
    }

    #[test]
    fn accept_outside_open_and_faulted_is_invalid_operation() {
        for state in [S::Created, S::Opening, S::Closing, S::Closed] {
            assert_invalid(
                listener_in(state).check_accept(),
                &format!("accept is not allowed in listener state {state}"),
            );
        }
        listener_in(S::Open).check_accept().unwrap();
    }

    #[test]
    fn open_then_close_walks_created_opening_open_closing_closed() {
        let mut l = ListenerStateMachine::new();
        l.open_started().unwrap();
        assert_eq!(l.state(), S::Opening);
        l.open_completed(Ok(())).unwrap();
        assert_eq!(l.state(), S::Open);
        l.close_started().unwrap();
        assert_eq!(l.state(), S::Closing);
        l.close_completed(Ok(())).unwrap();
        assert_eq!(l.state(), S::Closed);
        l.reset().unwrap();
        assert_eq!(l.state(), S::Created);
    }

    #[test]
    fn open_only_from_created() {
        for state in S::ALL {
            let mut l = listener_in(state);
            if state == S::Created {
                l.open_started().unwrap();
            } else {
                assert_invalid(l.open_started(), &format!("open is not allowed in listener state {state}"));
                assert_eq!(l.state(), state);
            }
        }
    }

    #[test]
    fn failed_listener_open_returns_to_created_not_faulted() {
        let mut l = ListenerStateMachine::new();
        l.open_started().unwrap();
        let e = l.open_completed(Err(Error::new(ErrorKind::AddressInUse, "port 80"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddressInUse);
        assert_eq!(l.state(), S::Created);
        // Free and reset are legal again; so is another open.
        l.check(C::Free).unwrap();
        l.open_started().unwrap();
    }

    #[test]
    fn abort_during_listener_open_reports_aborted() {
        let mut l = listener_in(S::Opening);
        l.abort();
        assert_eq!(l.state(), S::Faulted);
        assert_eq!(l.open_completed(Ok(())).unwrap_err().kind(), ErrorKind::OperationAborted);
        assert_eq!(l.state(), S::Faulted);
        assert_eq!(l.check_accept().unwrap_err().kind(), ErrorKind::ObjectFaulted);
    }

    #[test]
    fn abort_before_listener_open_makes_open_report_aborted() {
        let mut l = ListenerStateMachine::new();
        l.abort();
        assert_eq!(l.state(), S::Created);
        assert_eq!(l.open_started().unwrap_err().kind(), ErrorKind::OperationAborted);
        assert_eq!(l.state(), S::Created);
        l.reset().unwrap();
        l.open_started().unwrap();
    }

    #[test]
    fn open_completed_without_pending_open_is_invalid_operation() {
        for state in S::ALL {
            if state == S::Opening {
                continue;
            }
            let mut l = listener_in(state);
            assert_invalid(
                l.open_completed(Ok(())),
                &format!("open_completed is not allowed in listener state {state} (no open is pending)"),
            );
            assert_eq!(l.state(), state);
        }
    }

    #[test]
    fn listener_abort_is_allowed_in_every_state() {
        let expected = [
            (S::Created, S::Created),
            (S::Opening, S::Faulted),
            (S::Open, S::Faulted),
            (S::Faulted, S::Faulted),
            (S::Closing, S::Closing),
            (S::Closed, S::Closed),
        ];
        for (from, to) in expected {
            let mut l = listener_in(from);
            l.check(C::Abort).unwrap();
            l.abort();
            assert_eq!(l.state(), to, "abort in {from}");
            assert!(l.was_aborted());
        }
    }

    #[test]
    fn listener_faults_only_through_abort() {
        // Every non-abort event sequence from every state: Faulted is never reached.
        for state in S::ALL {
            let mut l = listener_in(state);
            let _ = l.open_started();
            let _ = l.open_completed(Err(Error::timed_out("open")));
            let _ = l.close_started();
            let _ = l.close_completed(Err(Error::timed_out("close")));
            if state != S::Faulted {
                assert_ne!(l.state(), S::Faulted, "from {state}");
            }
        }
    }

    #[test]
    fn abort_while_closing_makes_listener_close_report_aborted() {
        let mut l = listener_in(S::Closing);
        l.abort();
        assert_eq!(l.state(), S::Closing);
        assert_eq!(l.close_completed(Ok(())).unwrap_err().kind(), ErrorKind::OperationAborted);
        assert_eq!(l.state(), S::Closed);
    }

    #[test]
    fn listener_close_error_still_closes() {
        for from in [S::Open, S::Faulted] {
            let mut l = listener_in(from);
            l.close_started().unwrap();
            assert_eq!(
                l.close_completed(Err(Error::timed_out("draining"))).unwrap_err().kind(),
                ErrorKind::OperationTimedOut
            );
            assert_eq!(l.state(), S::Closed);
        }
    }

    #[test]
    fn listener_close_only_from_open_or_faulted() {
        for state in S::ALL {
            let mut l = listener_in(state);
            if matches!(state, S::Open | S::Faulted) {
                l.close_started().unwrap();
                assert_eq!(l.state(), S::Closing);
            } else {
                assert_invalid(l.close_started(), &format!("close is not allowed in listener state {state}"));
            }
            let mut l = listener_in(state);
            if state != S::Closing {
                assert_invalid(
                    l.close_completed(Ok(())),
                    &format!("close_completed is not allowed in listener state {state}"),
                );
            }
        }
    }

    #[test]
    fn listener_reset_only_from_created_or_closed() {
        for state in S::ALL {
            let mut l = listener_in(state);
            if matches!(state, S::Created | S::Closed) {
                l.reset().unwrap();
                assert_eq!(l.state(), S::Created);
                assert!(!l.was_aborted());
            } else {
                assert_invalid(l.reset(), &format!("reset is not allowed in listener state {state}"));
                assert_eq!(l.state(), state);
            }
        }
    }
}
