//! # soapwire-proto
//!
//! The sans-IO half of soapwire: everything about the Windows web-services stack that can be
//! decided from bytes, events and the caller's clock, with no sockets, no tokio and no
//! system time. The runtime crate `soapwire` drives these pieces over real transports.
//!
//! Modules, lowest first (arrows point down; `xml` uses nothing of ours):
//!
//! | module | owns |
//! | --- | --- |
//! | [`error`] | the WWSAPI error model: [`Error`], [`ErrorKind`], exact `HRESULT`s |
//! | [`xml`] | namespace-aware streaming reader (with quotas, no DTDs) and writer over quick-xml |
//! | [`mime`] | MIME `multipart/related` for MTOM/XOP: bounded push parser, XOP part rules, writer |
//! | [`soap`] | SOAP 1.1/1.2 envelopes, headers, `mustUnderstand`, faults, HTTP content types |
//! | [`addressing`] | WS-Addressing 2004/08, 1.0 and transport-only; MessageID / RelatesTo |
//! | [`channel`] | channel, listener and message state machines (the allowed-call tables) |
//! | [`attachment`] | WSDAPI attachment cores: outbound write/close/abort with `STG_S_BLOCK`, inbound read/close |
//! | [`discovery`] | WS-Discovery 2005/04 and 1.1 messages with DPWS size limits, Types/Scopes matching, AppSequence, duplicate filter |
//! | [`dpws`] | DPWS 2006/02 and 1.1 device metadata (ThisModel, ThisDevice, Relationship, `pub:Computer`): GetResponse writer and quota-bounded parser |
//! | [`mtom`] | MTOM above MIME: content types, `xop:Include`, `cid:` hrefs, UTF-16 root parts |
//! | [`framing`] | net.tcp: .NET Message Framing records and preamble rules, .NET Binary XML with static and session dictionaries |
//! | [`udp`] | SOAP-over-UDP timing: the retransmission schedule and the `APP_MAX_DELAY` reply delay |
//! | [`properties`] | channel and listener quotas and timeouts with their documented defaults |
//!
//! ## Non-features (for now)
//! Sockets, tasks and clocks: the runtime crate `soapwire` owns them. net.tcp security
//! upgrades (NegotiateStream, TLS) and streamed (unsized) envelopes are not implemented; see
//! the project's `ARCHITECTURE.md`.

#![forbid(unsafe_code)]

pub mod addressing;
pub mod attachment;
pub mod channel;
pub mod discovery;
pub mod dpws;
pub mod error;
pub mod framing;
pub mod mime;
pub mod mtom;
pub mod properties;
pub mod soap;
pub mod udp;
pub mod xml;

pub use error::{Error, ErrorKind, Hresult, Result};
