//! The session bindings: SOAP over TCP with .NET Message Framing (`net.tcp`, WWSAPI's
//! `WS_TCP_CHANNEL_BINDING`, WCF's `NetTcpBinding` without security), and the same framing
//! over a Unix-domain socket (`net.unix://`, the portable analogue of the named-pipe
//! binding).
//!
//! | type | WWSAPI | role |
//! | --- | --- | --- |
//! | [`SessionChannel`] | `WS_CHANNEL_TYPE_DUPLEX_SESSION` | either end of a session: send and receive at the same time, `shutdown_session`, graceful or rude `close` |
//! | [`SessionListener`] | `WS_LISTENER` | binds, runs each connection's preamble, queues sessions for `accept_channel` |
//!
//! The wire format comes from the sans-IO [`soapwire_proto::framing`]: [MC-NMF] records
//! and preamble rules, and binary XML ([MC-NBFX] with the [MC-NBFS] static and [MC-NBFSE]
//! session dictionaries). Messages stay UTF-8 text inside soapwire and are transcoded at
//! the wire: the encoding is `ChannelProperties::encoding` — `BinarySession` (the binding
//! default, [`ChannelProperties::session`]), `Binary` or `TextUtf8` — and the listener
//! refuses sessions in any other encoding with the `ContentTypeInvalid` fault, as WCF does.
//!
//! URLs: `net.tcp://host[:port]/path` (port 808 by default; listeners match the path as a
//! prefix) and `net.unix:///absolute/path/of/the/socket`.
//!
//! Non-features (for now): security upgrades (`application/negotiate`, TLS) are refused with
//! the `UpgradeInvalid` fault; streamed (unsized) envelopes, the singleton and simplex
//! modes, and MTOM over sessions are not supported; port sharing is not needed on Linux.
//!
//! [`ChannelProperties::session`]: soapwire_proto::properties::ChannelProperties::session

mod channel;
mod codec;
mod listener;
mod stream;
mod url;

pub use channel::SessionChannel;
pub use listener::SessionListener;
pub use url::DEFAULT_NET_TCP_PORT;
