//! [`UdpInputChannel`]: one message accepted from a [`UdpListener`] (`WS_CHANNEL_TYPE_INPUT`
//! on `WS_UDP_CHANNEL_BINDING`, made by `WsCreateChannelForListener`).
//!
//! The loop WWSAPI documents for an input channel is `accept receive end* close`: the channel
//! is opened by the accept with one datagram already read, `receive_message` hands it out
//! once and then reports `WS_S_END` (`Ok(false)`). A service that answers uses
//! [`UdpInputChannel::send_reply`], which sends by unicast to the datagram's source address
//! on the listener's socket, with the unicast retransmission schedule: the "anonymous"
//! reply of SOAP over UDP, and the only place a reply ever goes (a `ReplyTo` or `FaultTo`
//! naming another address is ignored, never followed). The state is the shared channel
//! machine of [`crate::core`]:
//!
//! ```text
//!   new ──► Created ──accept──► Accepting ──► Open ──close──► Closing ──► Closed ──reset──► Created
//!                                              │
//!                                        abort │
//!                                              ▼
//!                                           Faulted ──close──► Closing ──► Closed
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion};
use soapwire_proto::channel::{ChannelCall, ChannelState, MessageState};
use soapwire_proto::properties::{ChannelProperties, Timeout};
use soapwire_proto::soap::{EnvelopeVersion, Fault};
use soapwire_proto::udp::RetransmitParams;
use soapwire_proto::xml::QName;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::net::UdpSocket;
use tokio::sync::OwnedSemaphorePermit;
use tracing::debug;

use super::channel::{canonical, prepare_addressing};
use super::listener::UdpListener;
use super::{Datagram, Intake, Rng, check_size, random_u64, send_scheduled};
use crate::core::ChannelCore;
use crate::message::Message;

#[derive(Default)]
struct InputState {
    /// The accepted message, until it is received.
    datagram: Option<Datagram>,
    /// Its source, as the socket reported it (where a reply goes).
    remote: Option<SocketAddr>,
    /// Its `MessageID` (the `RelatesTo` of a reply).
    message_id: Option<String>,
    /// Its envelope version.
    envelope_version: Option<EnvelopeVersion>,
    /// The listener's socket (replies are sent from it).
    socket: Option<Arc<UdpSocket>>,
    replied: bool,
    /// A fault decided while receiving (`mustUnderstand`) that `send_fault_for_error` sends.
    receive_fault: Option<Fault>,
    permit: Option<OwnedSemaphorePermit>,
}

/// The server side of one SOAP-over-UDP message, accepted from a [`UdpListener`].
///
/// ```no_run
/// # async fn serve(listener: &soapwire::udp::UdpListener) -> soapwire::Result<()> {
/// use soapwire::udp::UdpInputChannel;
///
/// let channel = UdpInputChannel::new(listener);
/// listener.accept_channel(&channel).await?;
/// let mut request = channel.new_message();
/// channel.receive_message(&mut request).await?;
/// println!("{:?} from {:?}", request.action(), channel.remote_address());
/// let mut reply = channel.new_message();
/// reply.initialize_reply(&request, "urn:reply", "<r xmlns='urn:x'/>")?;
/// channel.send_reply(&mut reply).await?; // to the datagram's source, whatever ReplyTo says
/// channel.close().await?;
/// # Ok(()) }
/// ```
pub struct UdpInputChannel {
    core: ChannelCore,
    properties: ChannelProperties,
    reply_retransmit: RetransmitParams,
    intake: Arc<Intake>,
    understood: Mutex<Vec<QName>>,
    state: Mutex<InputState>,
    rng: Mutex<Rng>,
}

impl std::fmt::Debug for UdpInputChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpInputChannel")
            .field("state", &self.state())
            .field("remote", &self.remote_address())
            .finish_non_exhaustive()
    }
}

impl Drop for UdpInputChannel {
    fn drop(&mut self) {
        self.abort();
    }
}

impl UdpInputChannel {
    /// A channel for `listener`, in state `Created` (`WsCreateChannelForListener`). It takes
    /// the listener's channel properties and reply schedule.
    pub fn new(listener: &UdpListener) -> UdpInputChannel {
        UdpInputChannel {
            core: ChannelCore::new(),
            properties: listener.properties().channel.clone(),
            reply_retransmit: listener.options().reply_retransmit,
            intake: Arc::clone(listener.intake()),
            understood: Mutex::new(Vec::new()),
            state: Mutex::new(InputState::default()),
            rng: Mutex::new(Box::new(random_u64)),
        }
    }

    pub(crate) fn core(&self) -> &ChannelCore {
        &self.core
    }

    fn with<T>(&self, f: impl FnOnce(&mut InputState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn install(&self, datagram: Datagram, socket: Arc<UdpSocket>, permit: OwnedSemaphorePermit) {
        self.with(|s| {
            *s = InputState {
                remote: Some(datagram.from),
                message_id: datagram.addressing.message_id.clone(),
                envelope_version: Some(datagram.envelope.version),
                datagram: Some(datagram),
                socket: Some(socket),
                permit: Some(permit),
                ..InputState::default()
            }
        });
    }

    /// Replaces the random source of the retransmission delays (tests pin the schedule).
    #[cfg(test)]
    pub(crate) fn set_rng(&self, rng: Rng) {
        *self.rng.lock().unwrap_or_else(PoisonError::into_inner) = rng;
    }

    /// The channel's properties.
    pub fn properties(&self) -> &ChannelProperties {
        &self.properties
    }

    /// A snapshot of the channel's state.
    pub fn state(&self) -> ChannelState {
        self.core.state()
    }

    /// The source address of the accepted datagram (`WS_CHANNEL_PROPERTY_REMOTE_ADDRESS`):
    /// where [`send_reply`](Self::send_reply) sends. An IPv4 sender on a dual-stack listener is
    /// shown as IPv4.
    pub fn remote_address(&self) -> Option<SocketAddr> {
        self.with(|s| s.remote.map(canonical))
    }

    /// The listener socket's address the message arrived at, once accepted.
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.with(|s| s.socket.as_ref().and_then(|sock| sock.local_addr().ok()))
    }

    /// Declares a header this application understands, so a `mustUnderstand` header of that
    /// name does not fail the receive. The addressing headers are always understood.
    pub fn understand_header(&self, name: QName) {
        self.understood.lock().unwrap_or_else(PoisonError::into_inner).push(name);
    }

    /// A new empty message with this channel's versions (the accepted message's envelope
    /// version, which differs from the property's only on a listener with
    /// `any_envelope_version`).
    pub fn new_message(&self) -> Message {
        let version = self
            .with(|s| s.datagram.as_ref().map(|d| d.envelope.version).or(s.envelope_version))
            .unwrap_or(self.properties.envelope_version);
        Message::new(version, self.properties.addressing_version)
    }

    /// `WsReceiveMessage`: fills `message` (`Empty → Done`) with the accepted message and
    /// returns `Ok(true)`; afterwards `Ok(false)` (`WS_S_END`: an input channel carries one
    /// message). A `mustUnderstand` header that is not understood is `WS_E_INVALID_FORMAT`,
    /// and [`send_fault_for_error`](Self::send_fault_for_error) then answers with the
    /// `MustUnderstand` fault.
    pub async fn receive_message(&self, message: &mut Message) -> Result<bool> {
        message.state_machine().check_receive()?;
        let _op = self.core.begin(ChannelCall::Receive)?;
        let Some(datagram) = self.with(|s| s.datagram.take()) else {
            return Ok(false);
        };
        let envelope = datagram.envelope;
        if let Err(rejected) = crate::core::check_must_understand(&envelope, &self.understood) {
            let (fault, error) = *rejected;
            self.with(|s| s.receive_fault = Some(fault));
            return Err(error);
        }
        let version = AddressingHeaders::detect_version(&envelope.headers);
        if !datagram.addressing.reply_is_anonymous(version.unwrap_or(AddressingVersion::V1_0)) {
            debug!(from = %datagram.from, "udp: the message names a non-anonymous ReplyTo or FaultTo; a reply would still go to its source only");
        }
        message.set_envelope_version(envelope.version);
        message.fill_from(envelope, None, &self.properties.reader_quotas)?;
        message.state_machine().read_completed()?;
        Ok(true)
    }

    /// Sends `reply` (typically built with [`Message::initialize_reply`]) by unicast to
    /// [`remote_address`](Self::remote_address), from the listener's socket, on the listener's
    /// reply schedule; returns after the last transmission. Unless set, `RelatesTo` is the
    /// accepted message's `MessageID` (WWSAPI addresses replies automatically), `To` the
    /// anonymous address, and a new `MessageID` is added. At most one reply per channel.
    ///
    /// Errors: `WS_E_INVALID_OPERATION` when no message was accepted or a reply was already
    /// sent; `WS_E_QUOTA_EXCEEDED` (nothing sent) over the size limit; `E_INVALIDARG` for
    /// attachments; `WS_E_OPERATION_ABORTED` when aborted (the repeats stop).
    pub async fn send_reply(&self, reply: &mut Message) -> Result<()> {
        reply.state_machine().check_send()?;
        let op = self.core.begin(ChannelCall::Send)?;
        let (socket, remote, request_id) = match self.with(|s| (s.socket.clone(), s.remote, s.message_id.clone())) {
            (Some(socket), Some(remote), request_id) => (socket, remote, request_id),
            _ => return Err(Error::invalid_operation("no message was accepted on this channel")),
        };
        if reply.wants_mtom() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "attachments need MTOM, which the UDP binding does not support",
            ));
        }
        if !reply.is_raw() && reply.addressing().relates_to.is_none() {
            reply.addressing_mut().relates_to = request_id;
        }
        let anonymous = reply.addressing_version().anonymous_uri().unwrap_or_default().to_owned();
        prepare_addressing(reply, &anonymous)?;
        let bytes = reply.encode();
        check_size(bytes.len(), self.intake.limit(), remote)?;
        if self.with(|s| std::mem::replace(&mut s.replied, true)) {
            return Err(Error::invalid_operation("a reply was already sent on this channel"));
        }
        if reply.state() == MessageState::Empty {
            reply.state_machine().initialize()?;
        }
        reply.state_machine().write_started()?;
        let mut completed = Ok(());
        let outcome = send_scheduled(
            &op,
            &socket,
            remote,
            &bytes,
            &self.reply_retransmit,
            &self.rng,
            self.properties.timeout(Timeout::Send),
            &self.intake,
            || completed = reply.state_machine().write_completed(),
        )
        .await;
        outcome.and(completed)
    }

    /// `WsSendFaultMessageForError`: answers the source with the fault for `error` (or the
    /// fault that receiving decided, e.g. `MustUnderstand`). The error's strings are disclosed
    /// in the fault reason: they describe the sender's own message.
    pub async fn send_fault_for_error(&self, request: Option<&Message>, error: &Error) -> Result<()> {
        let fault = self.with(|s| s.receive_fault.take()).unwrap_or_else(|| Fault::from_error(error, true));
        let mut reply = self.new_message();
        reply.initialize_fault(request, &fault)?;
        self.send_reply(&mut reply).await
    }

    /// `WsAbortChannel`: pending calls end with `WS_E_OPERATION_ABORTED` (a reply stops its
    /// retransmissions), `Open → Faulted`. Allowed in every state; never waits.
    pub fn abort(&self) {
        self.core.abort();
        self.release();
    }

    fn release(&self) {
        let taken = self.with(|s| (s.socket.take(), s.datagram.take(), s.permit.take()));
        drop(taken);
    }

    /// `WsCloseChannel` (the sentences of the `core` module): waits for a reply still being
    /// sent (its whole schedule) within the close timeout, then releases the message and the
    /// listener's open-channel slot. The channel is `Closed` afterwards, also when an error is
    /// returned.
    pub async fn close(&self) -> Result<()> {
        self.core
            .close(
                self.properties.timeout(Timeout::Close),
                || async {
                    self.release();
                    Ok(())
                },
                || self.release(),
            )
            .await
    }

    /// `WsResetChannel`: `Created | Closed → Created`, ready for the next accept.
    pub fn reset(&self) -> Result<()> {
        self.core.reset()?;
        self.with(|s| *s = InputState::default());
        Ok(())
    }

    /// `WsAbandonMessage`. Input channels read whole messages, so none is ever mid-read: this
    /// checks the state and returns `E_INVALIDARG`.
    pub fn abandon_message(&self, message: &Message) -> Result<()> {
        self.core.abandon(message.id()).map(|_| ())
    }
}
