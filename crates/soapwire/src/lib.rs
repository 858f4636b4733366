//! # soapwire
//!
//! SOAP 1.1 / 1.2 and WS-Addressing over HTTP, net.tcp, Unix sockets and UDP, with the channel, listener and message
//! semantics of the Windows Web Services API (WWSAPI, `webservices.h`): explicit states,
//! `close` versus `abort`, every quota and timeout a property with the documented default,
//! and errors that carry the exact `WS_E_*` `HRESULT`.
//!
//! The protocol logic lives in the sans-IO crate [`soapwire_proto`]; this crate drives it
//! with tokio and hyper 1.
//!
//! | type | WWSAPI | role |
//! | --- | --- | --- |
//! | [`RequestChannel`] | `WS_CHANNEL_TYPE_REQUEST` | client: send a request, read the reply |
//! | [`Listener`] | `WS_LISTENER` | server: bind, queue requests, accept channels |
//! | [`ReplyChannel`] | `WS_CHANNEL_TYPE_REPLY` | server: one request, at most one reply |
//! | [`Message`] | `WS_MESSAGE` | headers in memory, body as raw XML read by a streaming reader |
//! | [`OutboundAttachment`] | `IWSDOutboundAttachment` | an MTOM attachment written while its message is sent |
//! | [`InboundAttachment`] | `IWSDInboundAttachment` | an MTOM attachment of a received message, read from the network |
//! | [`dpws::MetadataHost`] | `IWSDDeviceHost` (metadata) | serves a device's DPWS metadata (WS-Transfer Get, port 5357) |
//! | [`dpws::DeviceHost`] | `IWSDDeviceHost` | a DPWS device: Hello, Probe/Resolve answers, metadata on port 5357, Bye |
//! | [`dpws::get_metadata`] | `IWSDDeviceProxy` (metadata) | fetches and decodes a device's DPWS metadata |
//! | [`discovery::DiscoveryClient`] | `IWSDiscoveryProvider` | WS-Discovery Probe / Resolve on every interface, Hello / Bye stream |
//! | [`discovery::DiscoveryTarget`] | `IWSDiscoveryPublisher` (host side) | Hello, answers to Probe / Resolve with one XAddr per interface, Bye |
//! | [`session::SessionChannel`] | `WS_CHANNEL_TYPE_DUPLEX_SESSION` (TCP) | net.tcp ([MC-NMF], binary XML with session dictionary) or Unix-socket session, either end |
//! | [`session::SessionListener`] | `WS_LISTENER` (TCP) | net.tcp / Unix-socket listener: preamble, framing faults, accept |
//! | [`udp::UdpChannel`] | `WS_CHANNEL_TYPE_DUPLEX` (UDP) | SOAP over UDP, unicast or multicast, with the retransmission schedule |
//! | [`udp::UdpListener`] / [`udp::UdpInputChannel`] | `WS_CHANNEL_TYPE_INPUT` (UDP) | one datagram per accepted channel, duplicates dropped, replies to the source |
//! | [`Error`] | `WS_ERROR` + `HRESULT` | `kind()`, `hresult()`, strings, received fault |
//!
//! ```no_run
//! # async fn demo() -> soapwire::Result<()> {
//! use soapwire::{ChannelProperties, RequestChannel};
//!
//! let channel = RequestChannel::new(ChannelProperties::default());
//! channel.open("http://127.0.0.1:8080/echo").await?;
//! let reply = channel.call("http://example.org/echo/echo",
//!     r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#).await?;
//! channel.close().await?;
//! # Ok(()) }
//! ```
//!
//! Attachments of any size stream in bounded memory: add them to a message with
//! [`Message::add_attachment`] (written through an [`OutboundAttachment`]),
//! [`Message::add_attachment_stream`] or [`Message::add_attachment_bytes`]; read those of a
//! received MTOM message with [`Message::attachment`] or [`Message::next_attachment`]. See the
//! [`attachment`] module.
//!
//! ## Non-features (for now)
//! HTTPS, net.tcp security (NegotiateStream, TLS upgrades), MTOM on sessions and UDP, and
//! streamed input of the envelope arrive with later work.

#![forbid(unsafe_code)]

pub mod attachment;
mod core;
pub mod discovery;
pub mod dpws;
mod http;
mod message;
pub mod session;
pub mod udp;

pub use attachment::{InboundAttachment, OutboundAttachment};
pub use http::client::RequestChannel;
pub use http::listener::Listener;
pub use http::reply::ReplyChannel;
pub use message::Message;
pub use session::{SessionChannel, SessionListener};
pub use soapwire_proto;
pub use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion, EndpointReference};
pub use soapwire_proto::channel::{ChannelState, ListenerState, MessageState};
pub use soapwire_proto::error::{Error, ErrorKind, Hresult, Result};
pub use soapwire_proto::properties::{
    AcceptRate, ChannelProperties, ListenerProperties, MessageEncoding, Timeout, TransferMode,
};
pub use soapwire_proto::soap::{EnvelopeVersion, Fault, FaultCode, Header};
pub use soapwire_proto::xml::{QName, ReaderQuotas, XmlEvent, XmlReader, XmlWriter};
pub use udp::{UdpChannel, UdpInputChannel, UdpListener};
