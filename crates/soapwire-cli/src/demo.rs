//! `soapwire demo`: the main job on loopback with no set-up. It hosts the echo service, calls
//! it over SOAP 1.2 and SOAP 1.1, sends 32 KiB of base64, provokes a fault, and closes every
//! channel and the listener gracefully, saying in plain lines what happened.

use std::time::Instant;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use soapwire::{AddressingVersion, ChannelProperties, EnvelopeVersion, ErrorKind, ListenerProperties, RequestChannel};

use crate::echo;

/// Runs the demo.
pub(crate) async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let listener =
        echo::open("http://127.0.0.1:0/echo", ListenerProperties::default()).await.context("opening the listener")?;
    let url = listener.url().context("listener has no URL")?;
    println!("1. hosting the echo service at {url} (SOAP 1.1 and 1.2, WSDL at {url}?wsdl)");
    let serving = tokio::spawn(echo::serve(listener.clone()));

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

    listener.close().await?;
    let _ = serving.await;
    println!(
        "6. listener closed, state {}; all done in {:.0} ms",
        listener.state(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
