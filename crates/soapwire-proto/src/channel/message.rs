//! The message state machine: [`MessageState`] (`WS_MESSAGE_STATE`) and the event-driven
//! [`MessageStateMachine`] (spec §1.13).

use std::fmt;

use crate::error::{Error, Result};

/// The state of a message object, `WS_MESSAGE_STATE` (spec §1.13).
///
/// Transitions happen only inside [`MessageStateMachine`], through the events named on the
/// arrows:
///
/// ```text
///                    new(), or reset from any state
///                                |
///                                v
///                           +---------+
///            +--------------|  Empty  |--------------+
///            | initialize   +---------+ read_started |
///            v                                       v
///     +-------------+                           +---------+
///     | Initialized |                           | Reading |
///     +-------------+                           +---------+
///            | write_started                         |
///            v                                       |
///       +---------+                                  |
///       | Writing |                                  |
///       +---------+                                  |
///            | write_completed        read_completed |
///            |           +------+                    |
///            +---------->| Done |<-------------------+
///                        +------+
/// ```
///
/// A whole-message send (`WsSendMessage`, `WsRequestReply`) accepts `Empty` or `Initialized`;
/// a whole-message receive (`WsReceiveMessage`) needs `Empty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// No headers, no body (after create or reset); `WS_MESSAGE_STATE_EMPTY` (1).
    Empty,
    /// Headers built, body not started; `WS_MESSAGE_STATE_INITIALIZED` (2).
    Initialized,
    /// Headers received, body being read; `WS_MESSAGE_STATE_READING` (3).
    Reading,
    /// Headers sent, body being written; `WS_MESSAGE_STATE_WRITING` (4).
    Writing,
    /// The end of the body was read or written; `WS_MESSAGE_STATE_DONE` (5).
    Done,
}

impl MessageState {
    /// Every state, in `WS_MESSAGE_STATE` order.
    pub const ALL: [MessageState; 5] = [
        MessageState::Empty,
        MessageState::Initialized,
        MessageState::Reading,
        MessageState::Writing,
        MessageState::Done,
    ];

    /// The `WS_MESSAGE_STATE` value (`Empty` = 1 … `Done` = 5), as
    /// `WS_MESSAGE_PROPERTY_STATE` reports it.
    ///
    /// ```
    /// use soapwire_proto::channel::MessageState;
    /// assert_eq!(MessageState::Empty.as_ws(), 1);
    /// assert_eq!(MessageState::Done.as_ws(), 5);
    /// ```
    pub fn as_ws(self) -> u32 {
        match self {
            MessageState::Empty => 1,
            MessageState::Initialized => 2,
            MessageState::Reading => 3,
            MessageState::Writing => 4,
            MessageState::Done => 5,
        }
    }

    /// The state's name as used in error messages (`"Reading"`).
    pub fn name(self) -> &'static str {
        match self {
            MessageState::Empty => "Empty",
            MessageState::Initialized => "Initialized",
            MessageState::Reading => "Reading",
            MessageState::Writing => "Writing",
            MessageState::Done => "Done",
        }
    }
}

impl fmt::Display for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The sans-IO state machine of one message object.
///
/// Illegal calls return `InvalidOperation` errors naming the call and the state
/// (`"read_message_start is not allowed in message state Done"`); nothing panics. See
/// [`MessageState`] for the diagram.
///
/// ```
/// use soapwire_proto::channel::{MessageState, MessageStateMachine};
///
/// let mut m = MessageStateMachine::new();
/// m.initialize()?;             // WsInitializeMessage
/// m.write_started()?;          // WsWriteMessageStart
/// m.write_completed()?;        // WsWriteMessageEnd
/// assert_eq!(m.state(), MessageState::Done);
/// assert!(m.check_receive().is_err());
/// m.reset();                   // WsResetMessage
/// m.check_receive()?;
/// # Ok::<(), soapwire_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MessageStateMachine {
    inner: Inner,
}

/// The private state. No state carries data yet; kept separate from [`MessageState`] so
/// that transitions stay inside this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inner {
    Empty,
    Initialized,
    Reading,
    Writing,
    Done,
}

impl Default for MessageStateMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageStateMachine {
    /// A new message, [`MessageState::Empty`] (`WsCreateMessage`, `WsCreateMessageForChannel`).
    pub fn new() -> Self {
        MessageStateMachine { inner: Inner::Empty }
    }

    /// The current state.
    pub fn state(&self) -> MessageState {
        match self.inner {
            Inner::Empty => MessageState::Empty,
            Inner::Initialized => MessageState::Initialized,
            Inner::Reading => MessageState::Reading,
            Inner::Writing => MessageState::Writing,
            Inner::Done => MessageState::Done,
        }
    }

    fn transition(&mut self, call: &str, from: Inner, to: Inner) -> Result<()> {
        if self.inner == from {
            self.inner = to;
            Ok(())
        } else {
            Err(self.not_allowed(call))
        }
    }

    fn not_allowed(&self, call: &str) -> Error {
        Error::invalid_operation(format!("{call} is not allowed in message state {}", self.state()))
    }

    /// `WsInitializeMessage`: `Empty -> Initialized`.
    pub fn initialize(&mut self) -> Result<()> {
        self.transition("initialize", Inner::Empty, Inner::Initialized)
    }

    /// `WsWriteMessageStart`: `Initialized -> Writing`.
    pub fn write_started(&mut self) -> Result<()> {
        self.transition("write_message_start", Inner::Initialized, Inner::Writing)
    }

    /// `WsWriteMessageEnd`: `Writing -> Done`.
    pub fn write_completed(&mut self) -> Result<()> {
        self.transition("write_message_end", Inner::Writing, Inner::Done)
    }

    /// `WsReadMessageStart`: `Empty -> Reading`.
    pub fn read_started(&mut self) -> Result<()> {
        self.transition("read_message_start", Inner::Empty, Inner::Reading)
    }

    /// `WsReadMessageEnd`: `Reading -> Done`.
    pub fn read_completed(&mut self) -> Result<()> {
        self.transition("read_message_end", Inner::Reading, Inner::Done)
    }

    /// May the message be sent whole (`WsSendMessage`, `WsRequestReply` request)? `Empty` or
    /// `Initialized`. Changes nothing.
    pub fn check_send(&self) -> Result<()> {
        match self.inner {
            Inner::Empty | Inner::Initialized => Ok(()),
            _ => Err(self.not_allowed("send")),
        }
    }

    /// May the message receive a whole message (`WsReceiveMessage`, `WsRequestReply` reply)?
    /// `Empty` only. Changes nothing.
    pub fn check_receive(&self) -> Result<()> {
        match self.inner {
            Inner::Empty => Ok(()),
            _ => Err(self.not_allowed("receive")),
        }
    }

    /// `WsResetMessage`: any state -> `Empty`.
    pub fn reset(&mut self) {
        self.inner = Inner::Empty;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    use MessageState as S;

    fn message_in(state: MessageState) -> MessageStateMachine {
        let mut m = MessageStateMachine::new();
        match state {
            S::Empty => {}
            S::Initialized => m.initialize().unwrap(),
            S::Reading => m.read_started().unwrap(),
            S::Writing => {
                m.initialize().unwrap();
                m.write_started().unwrap();
            }
            S::Done => {
                m.read_started().unwrap();
                m.read_completed().unwrap();
            }
        }
        assert_eq!(m.state(), state);
        m
    }

    type Step = fn(&mut MessageStateMachine) -> Result<()>;

    /// Every transition event with its name, the one state it is legal in, and the state it
    /// leads to (spec §1.13).
    const TRANSITIONS: [(&str, Step, MessageState, MessageState); 5] = [
        ("initialize", MessageStateMachine::initialize, S::Empty, S::Initialized),
        ("write_message_start", MessageStateMachine::write_started, S::Initialized, S::Writing),
        ("write_message_end", MessageStateMachine::write_completed, S::Writing, S::Done),
        ("read_message_start", MessageStateMachine::read_started, S::Empty, S::Reading),
        ("read_message_end", MessageStateMachine::read_completed, S::Reading, S::Done),
    ];

    #[test]
    fn ws_message_state_values_match_the_sdk() {
        let values: Vec<u32> = S::ALL.iter().map(|s| s.as_ws()).collect();
        assert_eq!(values, [1, 2, 3, 4, 5]);
        let names: Vec<String> = S::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["Empty", "Initialized", "Reading", "Writing", "Done"]);
    }

    #[test]
    fn every_transition_is_legal_in_exactly_its_source_state() {
        for (name, step, from, to) in TRANSITIONS {
            for state in S::ALL {
                let mut m = message_in(state);
                let r = step(&mut m);
                if state == from {
                    r.unwrap();
                    assert_eq!(m.state(), to, "{name} from {state}");
                } else {
                    let e = r.unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::InvalidOperation);
                    assert_eq!(e.strings()[0], format!("{name} is not allowed in message state {state}"));
                    assert_eq!(m.state(), state, "a refused {name} changes nothing");
                }
            }
        }
    }

    #[test]
    fn send_needs_empty_or_initialized() {
        for state in S::ALL {
            let r = message_in(state).check_send();
            if matches!(state, S::Empty | S::Initialized) {
                r.unwrap();
            } else {
                let e = r.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidOperation);
                assert_eq!(e.strings()[0], format!("send is not allowed in message state {state}"));
            }
        }
    }

    #[test]
    fn receive_needs_empty() {
        for state in S::ALL {
            let r = message_in(state).check_receive();
            if state == S::Empty {
                r.unwrap();
            } else {
                let e = r.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidOperation);
                assert_eq!(e.strings()[0], format!("receive is not allowed in message state {state}"));
            }
        }
    }

    #[test]
    fn reset_returns_to_empty_from_any_state() {
        for state in S::ALL {
            let mut m = message_in(state);
            m.reset();
            assert_eq!(m.state(), S::Empty);
        }
    }

    #[test]
    fn write_then_reset_then_read_reuses_the_message() {
        let mut m = MessageStateMachine::new();
        m.initialize().unwrap();
        m.check_send().unwrap();
        m.write_started().unwrap();
        m.write_completed().unwrap();
        m.reset();
        m.read_started().unwrap();
        m.read_completed().unwrap();
        assert_eq!(m.state(), S::Done);
    }
}
