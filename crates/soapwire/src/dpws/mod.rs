//! DPWS devices: the whole device host ([`DeviceHost`]: discovery and metadata together),
//! metadata exchange over HTTP on the device side ([`MetadataHost`]) and the client side
//! ([`get_metadata`]).
//!
//! This module owns the HTTP half of a DPWS device host (WSDAPI's `IWSDDeviceHost` answering
//! WS-Transfer Get on port 5357), the device proxy's metadata fetch (`IWSDDeviceProxy`), and
//! [`DeviceHost`], which joins a [`MetadataHost`] to a
//! [`DiscoveryTarget`](crate::discovery::DiscoveryTarget) so that Hello, the Probe/Resolve
//! answers (whose XAddr is [`MetadataHost::xaddr`] for the interface asked on) and Bye follow
//! the device's lifetime and metadata version. The metadata values, their encoding and their
//! parsing are sans-IO, in [`soapwire_proto::dpws`]; the types a user needs are re-exported
//! here.
//!
//! ```no_run
//! # async fn demo() -> soapwire::Result<()> {
//! use soapwire::dpws::{GetMetadataOptions, get_metadata};
//!
//! let got = get_metadata("http://192.0.2.1:5357/11111111-2222-3333-4444-555555555555",
//!                        &GetMetadataOptions::default()).await?;
//! if let Some(computer) = got.metadata.host().and_then(|h| h.computer.as_ref()) {
//!     println!("{} ({:?})", computer.name, computer.membership);
//! }
//! for service in got.metadata.hosted() {
//!     println!("{} at {:?}", service.service_id, service.endpoints);
//! }
//! # Ok(()) }
//! ```

mod client;
mod device;
mod host;

#[cfg(test)]
mod tests;

pub use client::{GetMetadataOptions, endpoint_address_for, get_metadata};
pub use device::{DeviceConfig, DeviceHost};
pub use host::MetadataHost;
pub use soapwire_proto::dpws::{
    Characteristic, DeviceMetadata, DpwsVersion, Extension, GetResponse, HostService, HostedService, LocalizedString,
    Membership, MetadataQuotas, OtherSection, PubComputer, Relationship, ThisDevice, ThisModel,
};
