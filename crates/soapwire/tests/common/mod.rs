//! Helpers shared by the integration tests of the runtime.

// Each test binary uses some of these helpers, none uses them all.
#![allow(dead_code)]

use std::sync::Arc;

use soapwire::session::{SessionChannel, SessionListener};
use soapwire::{Listener, ListenerProperties, ReplyChannel};

/// Opens a listener at `http://127.0.0.1:0{path}` (both SOAP versions accepted) and serves
/// every accepted channel with `serve`, each in its own task, until the listener closes.
/// Returns the listener and its URL.
pub(crate) async fn serve_each<F, Fut>(properties: ListenerProperties, path: &str, serve: F) -> (Arc<Listener>, String)
where
    F: Fn(ReplyChannel) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let properties = ListenerProperties { any_envelope_version: true, ..properties };
    let listener = Arc::new(Listener::new(properties));
    listener.open(&format!("http://127.0.0.1:0{path}")).await.unwrap();
    let url = listener.url().unwrap();
    let l = listener.clone();
    tokio::spawn(async move {
        loop {
            let channel = ReplyChannel::new(&l);
            if l.accept_channel(&channel).await.is_err() {
                return;
            }
            tokio::spawn(serve(channel));
        }
    });
    (listener, url)
}

/// Opens a session listener at `url` and answers every request of every session with its
/// own body (action `urn:echoed`) until the client ends the session, then closes it
/// gracefully. Returns the listener and its URL (with the real port).
pub(crate) async fn echo_sessions(properties: ListenerProperties, url: &str) -> (Arc<SessionListener>, String) {
    let listener = Arc::new(SessionListener::new(properties));
    listener.open(url).await.unwrap();
    let real = listener.url().unwrap();
    let l = listener.clone();
    tokio::spawn(async move {
        loop {
            let channel = SessionChannel::for_listener(&l);
            if l.accept_channel(&channel).await.is_err() {
                return;
            }
            tokio::spawn(async move {
                loop {
                    let mut request = channel.new_message();
                    match channel.receive_message(&mut request).await {
                        Ok(true) => {
                            let mut reply = channel.new_message();
                            reply.initialize_reply(&request, "urn:echoed", request.body_xml().clone()).unwrap();
                            if channel.send_message(&mut reply).await.is_err() {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
                let _ = channel.close().await;
            });
        }
    });
    (listener, real)
}
