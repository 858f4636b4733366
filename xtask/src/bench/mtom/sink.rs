//! The receive-only server of `cargo xtask bench mtom` (`xtask bench mtom-sink --listen URL`):
//! a soapwire service host whose handler reads an MTOM request's attachment to its end,
//! counting the bytes and doing nothing else with them, and answers
//! `<e:uploadResponse><e:length>N</e:length><e:sha256>not-computed</e:sha256></e:uploadResponse>`.
//!
//! `soapwire serve echo`'s `upload` hashes every byte with SHA-256, which costs more CPU than
//! the whole receive path on the benchmark's 2 cores; this server measures the library's
//! streaming receive (hyper, the MIME parser, the inbound attachment) without that work.
//! A request without attachments gets its own body back, so the bench's readiness check
//! (an `echo` request) passes.

use anyhow::{Context, Result, bail};
use soapwire::soapwire_proto::properties::Timeout;
use soapwire::{Listener, ListenerProperties, Message, ReplyChannel, XmlWriter};

/// The echo service's namespace.
const NS: &str = "http://example.org/echo";

/// `xtask bench mtom-sink --listen URL`: serves until killed.
pub(in crate::bench) fn sink(args: &[&str]) -> Result<()> {
    let url = match args {
        ["--listen", url] => *url,
        _ => bail!("usage: xtask bench mtom-sink --listen http://127.0.0.1:PORT/PATH"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut properties = ListenerProperties { any_envelope_version: true, ..ListenerProperties::default() };
        // The same bound `bench mtom` gives `serve echo` (--receive-timeout 3600).
        properties.channel.set_timeout(Timeout::Receive, Some(std::time::Duration::from_secs(3600)));
        let listener = Listener::new(properties);
        listener.set_handler(serve);
        listener.open(url).await.with_context(|| format!("opening {url}"))?;
        println!("listening on {}", listener.url().unwrap_or_default());
        std::future::pending::<()>().await;
        Ok(())
    })
}

async fn serve(channel: ReplyChannel) {
    let mut request = channel.new_message();
    let outcome = match channel.receive_message(&mut request).await {
        Ok(true) => match answer(&request).await {
            Ok(mut reply) => channel.send_reply(&mut reply).await,
            Err(e) => channel.send_fault_for_error(Some(&request), &e).await,
        },
        Ok(false) => Ok(()),
        Err(e) => channel.send_fault_for_error(None, &e).await,
    };
    if outcome.is_err() {
        channel.abort();
    }
    let _ = channel.close().await;
}

async fn answer(request: &Message) -> soapwire::Result<Message> {
    let mut reply = Message::new(request.envelope_version(), request.addressing_version());
    let Some(mut attachment) = request.next_attachment().await? else {
        reply.initialize_reply(request, "urn:soapwire:bench:echo", request.body_xml().clone())?;
        return Ok(reply);
    };
    while attachment.next_chunk().await?.is_some() {}
    let mut w = XmlWriter::with_capacity(128);
    w.start_element(Some("e"), "uploadResponse");
    w.namespace_decl(Some("e"), NS);
    w.element_with_text(Some("e"), "length", &attachment.bytes_received().to_string());
    w.element_with_text(Some("e"), "sha256", "not-computed");
    w.end_element();
    reply.initialize_reply(request, "http://example.org/echo/EchoPortType/uploadResponse", w.into_bytes())?;
    Ok(reply)
}
