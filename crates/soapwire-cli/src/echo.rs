//! The echo service of `shared/peers/common/echo.wsdl` (`echo(string)`, `echoData(base64Binary)`),
//! written against soapwire's public API as any user would write a service: a listener, an
//! accept loop, one task per accepted reply channel.

use std::sync::Arc;

use base64::Engine as _;
use soapwire::{Error, ErrorKind, Listener, ListenerProperties, Message, QName, ReaderQuotas, ReplyChannel, XmlWriter};

/// The service's target namespace.
pub(crate) const NS: &str = "http://example.org/echo";
/// Action of `echo`.
pub(crate) const ECHO_ACTION: &str = "http://example.org/echo/echo";
/// Action of `echoData`.
pub(crate) const ECHO_DATA_ACTION: &str = "http://example.org/echo/echoData";
/// The WSDL served at `?wsdl` (addresses rewritten to the real URL).
pub(crate) const WSDL: &str = include_str!("echo.wsdl");

/// Opens a listener for the echo service at `url` (SOAP 1.1 and 1.2 on the same endpoint)
/// and returns it; [`serve`] runs the accept loop.
pub(crate) async fn open(url: &str, properties: ListenerProperties) -> soapwire::Result<Arc<Listener>> {
    let mut properties = properties;
    properties.any_envelope_version = true;
    let listener = Arc::new(Listener::new(properties));
    listener.set_wsdl(WSDL);
    listener.open(url).await?;
    Ok(listener)
}

/// Accepts channels until the listener is closed or aborted, serving each in its own task.
pub(crate) async fn serve(listener: Arc<Listener>) {
    loop {
        let channel = ReplyChannel::new(&listener);
        match listener.accept_channel(&channel).await {
            Ok(()) => {
                tokio::spawn(serve_channel(channel));
            }
            Err(e) if e.kind() == ErrorKind::QuotaExceeded => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(e) => {
                tracing::debug!("echo service stops accepting: {e}");
                return;
            }
        }
    }
}

/// Serves one request/reply exchange.
pub(crate) async fn serve_channel(channel: ReplyChannel) {
    let mut request = channel.new_message();
    match channel.receive_message(&mut request).await {
        Ok(true) => {
            let quotas = &channel.properties().reader_quotas;
            let outcome = match answer(&request, quotas) {
                Ok((action, body)) => {
                    let mut reply = channel.new_message();
                    match reply.initialize_reply(&request, action, body) {
                        Ok(()) => channel.send_reply(&mut reply).await,
                        Err(e) => Err(e),
                    }
                }
                Err(e) => channel.send_fault_for_error(Some(&request), &e).await,
            };
            if let Err(e) = outcome {
                tracing::debug!("sending the reply failed: {e}");
            }
        }
        Ok(false) => {}
        Err(e) if matches!(e.kind(), ErrorKind::InvalidFormat | ErrorKind::QuotaExceeded) => {
            tracing::debug!("bad request: {e}");
            if let Err(e2) = channel.send_fault_for_error(None, &e).await {
                tracing::debug!("sending the fault failed: {e2}");
            }
        }
        Err(e) => {
            // Timeouts and broken connections: nothing can be answered.
            tracing::debug!("receiving the request failed: {e}");
            channel.abort();
        }
    }
    if let Err(e) = channel.close().await {
        tracing::debug!("closing the channel: {e}");
    }
}

/// Computes the reply (action, body XML) for a request, or the error to fault with. The
/// body is read once, with one streaming reader.
pub(crate) fn answer(request: &Message, quotas: &ReaderQuotas) -> soapwire::Result<(&'static str, Vec<u8>)> {
    let (root, text) = read_call(request, quotas)?;
    // Dispatch on the action, as WCF and WWSAPI service hosts do; fall back to the body
    // element only when the request carried no action at all (SOAP 1.1 with an empty
    // SOAPAction).
    let operation = match (request.action(), root.as_ref()) {
        (Some(ECHO_ACTION), _) => "echo",
        (Some(ECHO_DATA_ACTION), _) => "echoData",
        (None, Some(q)) if q.namespace == NS && q.local == "echo" => "echo",
        (None, Some(q)) if q.namespace == NS && q.local == "echoData" => "echoData",
        (action, _) => {
            return Err(Error::new(
                ErrorKind::EndpointActionNotSupported,
                format!("the echo service has no operation for action {:?}", action.unwrap_or("")),
            ));
        }
    };
    match &root {
        Some(q) if q.namespace == NS && q.local == operation => {}
        Some(q) => {
            return Err(Error::invalid_format(format!(
                "expected {{{NS}}}{operation}, found {{{}}}{}",
                q.namespace, q.local
            )));
        }
        None => return Err(Error::invalid_format(format!("the body has no {{{NS}}}{operation} element"))),
    }
    let mut w = XmlWriter::with_capacity(text.as_ref().map_or(0, |t| t.len()) + 160);
    if operation == "echo" {
        w.start_element(Some("e"), "echoResponse");
        w.namespace_decl(Some("e"), NS);
        if let Some(t) = &text {
            w.element_with_text(Some("e"), "message", t);
        }
        w.end_element();
        Ok(("http://example.org/echo/EchoPortType/echoResponse", w.into_bytes()))
    } else {
        let b64 = text.unwrap_or_default();
        let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| Error::invalid_format(format!("echoData/data is not valid base64: {e}")))?;
        w.start_element(Some("e"), "echoDataResponse");
        w.namespace_decl(Some("e"), NS);
        w.element_with_text(Some("e"), "data", &compact);
        w.end_element();
        Ok(("http://example.org/echo/EchoPortType/echoDataResponse", w.into_bytes()))
    }
}

/// One pass over `<e:operation><e:message|data>text</..></e:operation>`: the root element's
/// name and the text of its parameter, if any. Unknown children are skipped.
fn read_call(request: &Message, quotas: &ReaderQuotas) -> soapwire::Result<(Option<QName>, Option<String>)> {
    let mut reader = request.body_reader(quotas)?;
    let Some(root) = reader.next_element()? else {
        return Ok((None, None));
    };
    let mut text = None;
    while let Some(child) = reader.next_element()? {
        let is_parameter = child.name.namespace == NS && (child.name.local == "message" || child.name.local == "data");
        if is_parameter && text.is_none() {
            text = Some(reader.read_text()?);
        } else {
            reader.skip_element()?;
        }
    }
    Ok((Some(root.name), text))
}
