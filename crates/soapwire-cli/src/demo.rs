//! `soapwire demo`: the main job on loopback with no set-up. It hosts the echo service, calls
//! it over SOAP 1.2 and SOAP 1.1, sends 32 KiB of base64, provokes a fault, streams a 256 MiB
//! MTOM attachment each way in constant memory, and closes every channel and the listener
//! gracefully, saying in plain lines what happened.

use std::time::Instant;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use soapwire::{
    AddressingVersion, ChannelProperties, EnvelopeVersion, ErrorKind, ListenerProperties, Message, OutboundAttachment,
    RequestChannel, XmlWriter,
};

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

    listener.close().await?;
    println!(
        "8. listener closed, state {}; all done in {:.0} ms",
        listener.state(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// Bytes streamed each way by the demo.
const STREAMED: u64 = 256 * 1024 * 1024;

/// Steps 6 and 7: a 256 MiB upload written through an [`OutboundAttachment`] (WSDAPI's
/// write/close), hashed by the service as it streams in, and a 256 MiB download read chunk
/// by chunk; neither side ever holds more than a few buffers.
async fn stream_attachments(url: &str) -> anyhow::Result<()> {
    use sha2::Digest as _;
    let mut properties = ChannelProperties::default();
    properties.set_all_timeouts(Some(std::time::Duration::from_secs(60)));
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
