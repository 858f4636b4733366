//! Helpers shared by the integration tests of the runtime.

use std::sync::Arc;

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
