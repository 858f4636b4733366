//! Channel, listener and message state machines: the allowed-call tables of WWSAPI.
//!
//! This module owns *when* a channel-layer function may be called, and what state an object
//! is in afterwards; it performs no I/O. The runtime reports events (an open started, a
//! close completed with some outcome, an abort arrived) and asks before every call; an
//! illegal call gets [`ErrorKind::InvalidOperation`](crate::ErrorKind::InvalidOperation)
//! (`WS_E_INVALID_OPERATION`) with a message naming the call and the state, exactly where
//! WWSAPI would return it, and never a panic.
//!
//! | type | WWSAPI object | spec |
//! | --- | --- | --- |
//! | [`ChannelStateMachine`], [`ChannelState`], [`ChannelCall`], [`call_allowed`] | `WS_CHANNEL` | §1.2–§1.5 |
//! | [`ListenerStateMachine`], [`ListenerState`], [`ListenerCall`], [`listener_call_allowed`] | `WS_LISTENER` | §1.12 |
//! | [`MessageStateMachine`], [`MessageState`] | `WS_MESSAGE` | §1.13 |
//!
//! Each machine is a private state enum (carrying the little data some states need, such as
//! "aborted while closing") behind a public struct; transitions happen only inside the
//! machine's module and are named after the events that cause them (`open_started`,
//! `close_completed`, `abort`, …). The diagrams are on [`ChannelState`], [`ListenerState`]
//! and [`MessageState`].
//!
//! Close and abort follow `WsCloseChannel` (spec §1.4): a close always ends `Closed`, and
//! returns the graceful-shutdown error if there was one, or `OperationAborted` if the
//! channel was aborted while closing.
//!
//! Deviations from WWSAPI, on purpose: freeing a channel or listener in the wrong state is
//! undefined behaviour ("may crash") in WWSAPI; here [`ChannelCall::Free`] and
//! [`ListenerCall::Free`] are simply refused with `InvalidOperation`.

mod listener;
mod message;
mod state;

#[cfg(test)]
mod tests;

pub use listener::{ListenerCall, ListenerState, ListenerStateMachine, listener_call_allowed};
pub use message::{MessageState, MessageStateMachine};
pub use state::{ChannelCall, ChannelState, ChannelStateMachine, call_allowed};
