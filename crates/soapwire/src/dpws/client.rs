//! [`get_metadata`]: the client side of DPWS metadata exchange (what `WSDCreateDeviceProxy`
//! does to a device's XAddr): one WS-Transfer Get over SOAP 1.2 on a [`RequestChannel`], the
//! GetResponse decoded into [`DeviceMetadata`].

use std::time::Duration;

use bytes::Bytes;
use soapwire_proto::addressing::EndpointReference;
use soapwire_proto::dpws::{
    DeviceMetadata, DpwsVersion, GET_ACTION, GET_RESPONSE_ACTION, GetResponse, MetadataQuotas, parse_metadata_body,
};
use soapwire_proto::properties::ChannelProperties;
use soapwire_proto::soap::{Body, EnvelopeVersion};
use soapwire_proto::{Error, Result};

use super::host::is_uuid;
use crate::{Message, RequestChannel};

/// How [`get_metadata`] asks.
#[derive(Clone, Debug)]
pub struct GetMetadataOptions {
    /// `wsa:To`: the device's endpoint address. `None` takes it from the URL
    /// ([`endpoint_address_for`]): `urn:uuid:<uuid>` when the path ends in a UUID, as the
    /// XAddrs of WSDAPI and wsdd do.
    pub to: Option<String>,
    /// The DPWS version to ask in: 2006/02 (WS-Addressing 2004/08, what Windows and wsdd
    /// speak; the default) or 1.1 (WS-Addressing 1.0).
    pub version: DpwsVersion,
    /// `wsa:From`: the client's own endpoint address, which WSDAPI sends; `None` sends none.
    pub from: Option<String>,
    /// The whole exchange (connect, send, receive) must end within this. Default 10 s.
    pub timeout: Duration,
    /// Limits on the GetResponse (32767 octets by default, as WSDAPI).
    pub quotas: MetadataQuotas,
    /// Refuse metadata without ThisModel or ThisDevice, as WSDAPI's client does. Default true.
    pub require_model_and_device: bool,
}

impl Default for GetMetadataOptions {
    fn default() -> Self {
        GetMetadataOptions {
            to: None,
            version: DpwsVersion::V2006_02,
            from: None,
            timeout: Duration::from_secs(10),
            quotas: MetadataQuotas::default(),
            require_model_and_device: true,
        }
    }
}

/// The endpoint address a Get to `url` is addressed to: `urn:uuid:<uuid>` when the URL's
/// last path segment is a UUID (`http://192.0.2.1:5357/<uuid>`, also with a trailing slash as
/// Windows hosts announce), else the URL itself.
pub fn endpoint_address_for(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    if is_uuid(last) && path.contains("://") { format!("urn:uuid:{last}") } else { url.to_owned() }
}

/// Fetches the metadata of the device at `url` (an XAddr, e.g.
/// `http://192.0.2.1:5357/<uuid>`; an IPv6 link-local address needs its zone,
/// `http://[fe80::1%eth0]:5357/<uuid>`).
///
/// Errors: a SOAP fault is `WS_E_ENDPOINT_FAULT_RECEIVED` with the fault; a reply that is not
/// a GetResponse, or metadata without ThisModel/ThisDevice (unless allowed), is
/// `WS_E_INVALID_FORMAT`; a reply over the quotas is `WS_E_QUOTA_EXCEEDED`; no answer within
/// the timeout is `WS_E_OPERATION_TIMED_OUT`; the transport errors of [`RequestChannel`].
pub async fn get_metadata(url: &str, options: &GetMetadataOptions) -> Result<GetResponse> {
    match tokio::time::timeout(options.timeout, exchange(url, options)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::timed_out(format!("no GetResponse from {url} within {:?}", options.timeout))),
    }
}

async fn exchange(url: &str, options: &GetMetadataOptions) -> Result<GetResponse> {
    let av = options.version.addressing();
    let mut properties = ChannelProperties::default();
    properties.envelope_version = EnvelopeVersion::Soap12;
    properties.addressing_version = av;
    properties.max_buffered_message_size = options.quotas.max_envelope_size;
    properties.max_headers = options.quotas.max_headers;
    properties.reader_quotas = options.quotas.reader_quotas();
    properties.set_all_timeouts(Some(options.timeout));
    let channel = RequestChannel::new(properties);
    channel.open(url).await?;

    let mut request = Message::new(EnvelopeVersion::Soap12, av);
    request.initialize_request(GET_ACTION, Bytes::new())?;
    let addressing = request.addressing_mut();
    addressing.to = Some(options.to.clone().unwrap_or_else(|| endpoint_address_for(url)));
    addressing.message_id = Some(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
    addressing.reply_to = av.anonymous_uri().map(EndpointReference::new);
    addressing.from = options.from.as_deref().map(EndpointReference::new);

    let mut reply = Message::new(EnvelopeVersion::Soap12, av);
    let outcome = channel.request_reply(&mut request, &mut reply).await;
    if let Err(e) = channel.close().await {
        tracing::debug!("closing the metadata channel to {url}: {e}");
    }
    outcome?;
    decode(&reply, options)
}

/// The GetResponse in `reply`.
fn decode(reply: &Message, options: &GetMetadataOptions) -> Result<GetResponse> {
    if let Some(action) = reply.action().filter(|a| *a != GET_RESPONSE_ACTION) {
        return Err(Error::invalid_format(format!("expected a GetResponse, got a message with action {action}")));
    }
    let fallback = DpwsVersion::for_addressing(reply.addressing_version()).unwrap_or(options.version);
    let body = Body { xml: Bytes::from(reply.body_xml_standalone()), namespaces: Vec::new() };
    let (version, metadata): (DpwsVersion, DeviceMetadata) = parse_metadata_body(&body, fallback, &options.quotas)?;
    if options.require_model_and_device {
        metadata.require_model_and_device()?;
    }
    Ok(GetResponse { version, addressing: reply.addressing().clone(), metadata })
}
