//! `soapwire demo`: the main job on loopback with no set-up. It hosts the echo service, calls
//! it over SOAP 1.2 and SOAP 1.1, sends 32 KiB of base64, provokes a fault, streams a 256 MiB
//! MTOM attachment each way in constant memory, hosts a DPWS device and discovers it with
//! directed WS-Discovery (a unicast Probe and Resolve, then a WS-Transfer Get of its
//! metadata), holds a net.tcp session in binary XML, and closes every channel and the listener gracefully, saying in plain lines what
//! happened. Every socket is bound to 127.0.0.1 and nothing is sent anywhere else: loopback
//! has no multicast, so discovery is directed rather than ad hoc.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use soapwire::discovery::{
    DPWS_1_1_NAMESPACE, DPWS_2006_02_NAMESPACE, DiscoveryClient, DiscoveryConfig, DiscoveryTarget, TargetOptions,
    TargetService,
};
use soapwire::dpws::{
    DeviceMetadata, GetMetadataOptions, HostService, HostedService, LocalizedString, MetadataHost, Relationship,
    ThisDevice, ThisModel, get_metadata,
};
use soapwire::{
    AddressingVersion, ChannelProperties, EndpointReference, EnvelopeVersion, ErrorKind, ListenerProperties, Message,
    OutboundAttachment, QName, RequestChannel, XmlWriter,
};

use soapwire::session::SessionChannel;

use crate::echo;

/// Runs the demo.
pub(crate) async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let listener = echo::open("http://127.0.0.1:0/echo", ListenerProperties::default(), echo::EchoOptions::default())
        .await
        .context("opening the listener")?;
    let url = listener.url().context("listener has no URL")?;
    println!("1. hosting the echo service at {url} (SOAP 1.1 and 1.2, WSDL at {url}?wsdl)");

    for (n, version) in [(2, EnvelopeVersion::Soap12), (3, EnvelopeVersion::Soap11)] {
        let mut properties = ChannelProperties::default();
        properties.envelope_version = version;
        properties.addressing_version = AddressingVersion::V1_0;
        let channel = RequestChannel::new(properties);
        channel.open(&url).await?;
        let t = Instant::now();
        let reply = channel
            .call(
                echo::ECHO_ACTION,
                format!(r#"<e:echo xmlns:e="{}"><e:message>hello over {version:?}</e:message></e:echo>"#, echo::NS),
            )
            .await
            .with_context(|| format!("calling echo over {version:?}"))?;
        let text = String::from_utf8_lossy(reply.body_xml());
        if !text.contains(&format!("hello over {version:?}")) {
            bail!("unexpected echo reply: {text}");
        }
        println!(
            "{n}. {version:?} request/reply: echoed \"hello over {version:?}\" in {:.1} ms (RelatesTo {})",
            t.elapsed().as_secs_f64() * 1e3,
            reply.addressing().relates_to.as_deref().unwrap_or("-")
        );
        channel.close().await?;
        println!("   channel closed gracefully, state {}", channel.state());
    }

    let channel = RequestChannel::new(ChannelProperties::default());
    channel.open(&url).await?;
    let data: Vec<u8> = (0..32 * 1024).map(|i| (i * 31 + 7) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let reply = channel
        .call(
            echo::ECHO_DATA_ACTION,
            format!(r#"<e:echoData xmlns:e="{}"><e:data>{b64}</e:data></e:echoData>"#, echo::NS),
        )
        .await?;
    let same = String::from_utf8_lossy(reply.body_xml()).contains(&b64);
    println!(
        "4. echoData: sent {} bytes as inline base64, reply {}",
        data.len(),
        if same { "identical" } else { "DIFFERENT" }
    );
    if !same {
        bail!("echoData reply differs");
    }

    match channel.call("http://example.org/echo/noSuchOperation", "<x:nothing xmlns:x='urn:x'/>").await {
        Err(e) if e.kind() == ErrorKind::EndpointFaultReceived => {
            let reason = e.fault().map(|f| f.reason.clone()).unwrap_or_default();
            println!(
                "5. an unknown action gets a SOAP fault: \"{reason}\", HRESULT {} ({})",
                e.hresult(),
                e.hresult().name().unwrap_or("")
            );
        }
        other => bail!("expected a fault, got {other:?}"),
    }
    channel.close().await?;

    stream_attachments(&url).await?;
    discover_device(&url).await?;
    net_tcp_session().await?;

    listener.close().await?;
    println!(
        "10. listener closed, state {}; all done in {:.0} ms",
        listener.state(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// Step 9: the echo service on net.tcp (.NET Message Framing, binary XML with the session
/// dictionary, as WCF's NetTcpBinding speaks it): several calls on one session, then
/// `shutdown_session` (End record) and a graceful close (the server's End record, FIN).
async fn net_tcp_session() -> anyhow::Result<()> {
    let properties = ListenerProperties { channel: ChannelProperties::session(), ..Default::default() };
    let listener = echo::open_session("net.tcp://127.0.0.1:0/echo", properties, echo::EchoOptions::default())
        .await
        .context("opening the net.tcp listener")?;
    let url = listener.url().context("net.tcp listener has no URL")?;
    let channel = SessionChannel::new(ChannelProperties::session());
    let t = Instant::now();
    channel.open(&url).await.context("opening the net.tcp session")?;
    const CALLS: usize = 3;
    for i in 0..CALLS {
        let reply = channel
            .call(
                echo::ECHO_ACTION,
                format!(r#"<e:echo xmlns:e="{}"><e:message>net.tcp call {i}</e:message></e:echo>"#, echo::NS),
            )
            .await
            .with_context(|| format!("calling echo over net.tcp ({i})"))?;
        if !String::from_utf8_lossy(reply.body_xml()).contains(&format!("net.tcp call {i}")) {
            bail!("unexpected net.tcp echo reply");
        }
    }
    println!(
        "9. net.tcp session at {url}: {CALLS} calls on one connection in binary XML with a session dictionary \
         (application/soap+msbinsession1), {:.1} ms including the preamble",
        t.elapsed().as_secs_f64() * 1e3
    );
    channel.shutdown_session().await?;
    let mut end = channel.new_message();
    let more = channel.receive_message(&mut end).await?;
    channel.close().await?;
    println!(
        "   shutdown_session sent the End record; the server answered with its own ({}); close was graceful, state {}",
        if more { "unexpected message" } else { "WS_S_END" },
        channel.state()
    );
    listener.close().await?;
    Ok(())
}

/// How long the directed Probe collects answers: the device answers at once on loopback.
const PROBE_WINDOW: Duration = Duration::from_millis(300);
/// The bound on the Resolve and on the metadata exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Step 8: a DPWS device on loopback (a [`MetadataHost`] with ThisModel, ThisDevice and the
/// echo service as its hosted service, and a [`DiscoveryTarget`] answering on a unicast socket
/// only), found by a directed Probe for `wsdp:Device`, resolved to its XAddr, and asked for
/// its metadata with a WS-Transfer Get; then stopped and closed.
async fn discover_device(echo_url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let endpoint = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let device_type = QName::new(DPWS_2006_02_NAMESPACE, "Device");
    let metadata = DeviceMetadata {
        this_model: Some(ThisModel {
            manufacturer: vec!["soapwire".into()],
            model_name: vec!["soapwire demo".into()],
            ..ThisModel::default()
        }),
        this_device: Some(ThisDevice {
            friendly_name: vec!["soapwire demo device".into()],
            firmware_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            ..ThisDevice::default()
        }),
        relationships: vec![Relationship {
            host: Some(HostService {
                endpoint: EndpointReference::new(&endpoint),
                types: vec![device_type.clone()],
                service_id: Some(endpoint.clone()),
                ..HostService::default()
            }),
            hosted: vec![HostedService {
                endpoints: vec![EndpointReference::new(echo_url)],
                types: vec![QName::new(echo::NS, "EchoPortType")],
                service_id: "urn:soapwire:demo:echo".to_owned(),
                ..HostedService::default()
            }],
            ..Relationship::default()
        }],
        other_sections: Vec::new(),
    };
    let host = MetadataHost::new(&endpoint, metadata).context("the device metadata")?;
    host.open(loopback).await.context("opening the metadata host")?;
    let port = host.local_addr().context("the metadata host has no address")?.port();

    let service = TargetService {
        types: vec![device_type.clone()],
        xaddrs_template: Some(format!("http://{{ip}}:{port}/{{uuid}}")),
        metadata_version: host.metadata_version(),
        ..TargetService::new(&endpoint)
    };
    let options = TargetOptions { unicast_listen: Some(loopback), ..TargetOptions::default() };
    let target = DiscoveryTarget::start(service, DiscoveryConfig::directed_only(), options)
        .await
        .context("starting the discovery target")?;
    let address = target.unicast_addr().context("the discovery target has no unicast socket")?;

    let client =
        DiscoveryClient::open(DiscoveryConfig::directed_only()).await.context("opening the discovery client")?;
    let found =
        client.probe_directed(address, &[device_type], &[], PROBE_WINDOW).await.context("the directed Probe")?;
    let [device] = found.as_slice() else {
        bail!("the directed Probe to {address} found {} devices, expected 1: {found:?}", found.len());
    };
    if device.address() != endpoint {
        bail!("the directed Probe found {}, expected {endpoint}", device.address());
    }
    let resolved = client
        .resolve_directed(address, device.address(), EXCHANGE_TIMEOUT)
        .await
        .context("the directed Resolve")?
        .with_context(|| format!("no ResolveMatch from {address} within {EXCHANGE_TIMEOUT:?}"))?;
    let xaddr = resolved.info.xaddrs.first().context("the ResolveMatch has no XAddr")?;

    let options = GetMetadataOptions { timeout: EXCHANGE_TIMEOUT, ..GetMetadataOptions::default() };
    let got = get_metadata(xaddr, &options).await.with_context(|| format!("getting the metadata from {xaddr}"))?;
    let name = got.metadata.this_device.as_ref().and_then(|d| LocalizedString::pick(&d.friendly_name, None));
    let maker = got.metadata.this_model.as_ref().and_then(|m| LocalizedString::pick(&m.manufacturer, None));
    let hosted = got.metadata.hosted().next().and_then(|h| Some((h.types.first()?, h.endpoints.first()?)));
    let (Some(name), Some(maker), Some((hosted_type, hosted_at))) = (name, maker, hosted) else {
        bail!("the metadata lacks a friendly name, a manufacturer or a hosted service: {:?}", got.metadata);
    };
    if hosted_at.address != echo_url {
        bail!("the device says it hosts {}, expected {echo_url}", hosted_at.address);
    }
    let types: Vec<String> = device.info.types.iter().map(short_type).collect();
    println!(
        "8. discovery: directed Probe to soap.udp://{address} found {} ({}), Resolve gave {xaddr}; metadata: '{name}' by {maker}, hosting {} at {}",
        device.address(),
        types.join(" "),
        hosted_type.local,
        hosted_at.address
    );

    target.stop().await;
    host.close().await.context("closing the metadata host")?;
    println!(
        "   device stopped and metadata host closed, state {}, {:.0} ms in all (no multicast, so no Hello or Bye: every socket was on 127.0.0.1)",
        host.state(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// `wsdp:Device` for the DPWS device type, the expanded name otherwise.
fn short_type(name: &QName) -> String {
    if [DPWS_2006_02_NAMESPACE, DPWS_1_1_NAMESPACE].contains(&name.namespace.as_str()) {
        format!("wsdp:{}", name.local)
    } else {
        name.to_string()
    }
}

/// Bytes streamed each way by the demo.
const STREAMED: u64 = 256 * 1024 * 1024;

/// Steps 6 and 7: a 256 MiB upload written through an [`OutboundAttachment`] (WSDAPI's
/// write/close), hashed by the service as it streams in, and a 256 MiB download read chunk
/// by chunk; neither side ever holds more than a few buffers.
async fn stream_attachments(url: &str) -> anyhow::Result<()> {
    use sha2::Digest as _;
    let mut properties = ChannelProperties::default();
    properties.set_all_timeouts(Some(Duration::from_secs(60)));
    let channel = RequestChannel::new(properties.clone());
    channel.open(url).await?;

    let attachment = OutboundAttachment::new("application/octet-stream");
    let mut body = XmlWriter::new();
    body.start_element(Some("e"), "upload");
    body.namespace_decl(Some("e"), echo::NS);
    body.start_element(Some("e"), "data");
    attachment.write_include(&mut body);
    body.end_element();
    body.end_element();
    let mut request = Message::new(properties.envelope_version, properties.addressing_version);
    request.initialize_request(echo::UPLOAD_ACTION, body.into_bytes())?;
    request.add_attachment(&attachment);
    let chunk = echo::pattern(256 * 1024);
    let mut expected = sha2::Sha256::new();
    for _ in 0..STREAMED / chunk.len() as u64 {
        expected.update(&chunk);
    }
    let expected: String = expected.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let t = Instant::now();
    let writer = attachment.clone();
    let write = tokio::spawn(async move {
        let mut progress = crate::transfer::Progress::new("uploading", Some(STREAMED));
        for _ in 0..STREAMED / chunk.len() as u64 {
            writer.write_all(&chunk).await?;
            progress.advance(chunk.len() as u64);
        }
        progress.finish();
        writer.close().await
    });
    channel.send_message(&mut request).await.context("starting the upload")?;
    write.await?.context("writing the attachment")?;
    let mut reply = Message::new(properties.envelope_version, properties.addressing_version);
    channel.receive_message(&mut reply).await.context("the upload reply")?;
    let text = String::from_utf8_lossy(reply.body_xml()).into_owned();
    if !text.contains(&expected) || !text.contains(&STREAMED.to_string()) {
        bail!("upload reply does not confirm {STREAMED} bytes with SHA-256 {expected}: {text}");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "6. MTOM upload: {} MiB written through OutboundAttachment (write/close), the service hashed it as it streamed in: SHA-256 matches, {:.0} MB/s",
        STREAMED >> 20,
        STREAMED as f64 / secs / 1e6
    );

    let t = Instant::now();
    let reply = channel
        .call(
            echo::DOWNLOAD_ACTION,
            format!(r#"<e:download xmlns:e="{}"><e:length>{STREAMED}</e:length></e:download>"#, echo::NS),
        )
        .await
        .context("calling download")?;
    let mut attachment = reply.next_attachment().await?.context("the download reply has no attachment")?;
    let mut progress = crate::transfer::Progress::new("downloading", Some(STREAMED));
    let period = echo::pattern(256);
    let mut offset = 0u64;
    while let Some(chunk) = attachment.next_chunk().await? {
        let start = (offset % 256) as usize;
        let ok = chunk.iter().zip(period.iter().cycle().skip(start)).all(|(a, b)| a == b);
        if !ok {
            bail!("downloaded data differs from the pattern near offset {offset}");
        }
        offset += chunk.len() as u64;
        progress.advance(chunk.len() as u64);
    }
    progress.finish();
    if offset != STREAMED {
        bail!("downloaded {offset} bytes, expected {STREAMED}");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "7. MTOM download: {} MiB generated on the fly by the service, read chunk by chunk and checked: {:.0} MB/s",
        STREAMED >> 20,
        STREAMED as f64 / secs / 1e6
    );
    channel.close().await?;
    Ok(())
}
