//! Faults (issue 7) inside one process, on real loopback sockets: a channel aborted from
//! another task at random points of send, receive and close, on HTTP and on net.tcp; and a
//! listener dropped while its channels are accepted. Nothing may hang past its timeout, every
//! call ends with success or a documented error, and the channel ends in a documented state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use soapwire::session::{SessionChannel, SessionListener};
use soapwire::{ChannelProperties, ChannelState, ErrorKind, ListenerProperties, RequestChannel};

const BODY: &str = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#;
const ACTION: &str = "http://example.org/echo/echo";
/// Nothing in these tests may take longer: every wait in soapwire is bounded.
const BOUND: Duration = Duration::from_secs(10);

/// A small deterministic pseudo-random sequence (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn micros(&mut self, max: u64) -> Duration {
        Duration::from_micros(self.next() % max)
    }
}

fn props() -> ChannelProperties {
    let mut p = ChannelProperties::default();
    p.set_all_timeouts(Some(Duration::from_secs(5)));
    p
}

fn session_props() -> ChannelProperties {
    let mut p = ChannelProperties::session();
    p.set_all_timeouts(Some(Duration::from_secs(5)));
    p
}

/// Tasks alive in this test's runtime.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

/// Waits (up to 5 s) until no more tasks are alive than `baseline`: nothing an aborted
/// exchange started may be left running.
async fn assert_tasks_back_to(baseline: usize, what: &str) {
    for _ in 0..100 {
        if alive_tasks() <= baseline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {} tasks alive, {baseline} before", alive_tasks());
}

/// The errors an aborted call may end with: the abort itself, or the connection it tore down.
fn documented(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::OperationAborted | ErrorKind::InvalidOperation | ErrorKind::EndpointDisconnected)
}

async fn session_echo_server() -> (Arc<SessionListener>, String) {
    let properties = ListenerProperties { channel: session_props(), ..ListenerProperties::default() };
    common::echo_sessions(properties, "net.tcp://127.0.0.1:0/echo").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_an_http_channel_at_random_points_never_hangs_and_ends_with_documented_codes() {
    let (listener, url) = common::serve_each(ListenerProperties::default(), "/echo", |channel| async move {
        let mut request = channel.new_message();
        if let Ok(true) = channel.receive_message(&mut request).await {
            let mut reply = channel.new_message();
            if reply.initialize_reply(&request, "urn:echoed", request.body_xml().clone()).is_ok() {
                let _ = channel.send_reply(&mut reply).await;
            }
        }
        let _ = channel.close().await;
    })
    .await;
    let tasks_before = alive_tasks();
    let mut rng = Rng(0x5EED_0001);
    for round in 0..200 {
        let channel = Arc::new(RequestChannel::new(props()));
        channel.open(&url).await.unwrap();
        let delay = rng.micros(3000);
        let close_too = round % 3 == 0;
        let calling = tokio::spawn({
            let channel = channel.clone();
            async move {
                let r = channel.call(ACTION, BODY).await.map(|_| ());
                let c = if close_too { Some(channel.close().await) } else { None };
                (r, c)
            }
        });
        tokio::time::sleep(delay).await;
        channel.abort();
        let (r, c) = tokio::time::timeout(BOUND, calling).await.expect("the call hung after abort").unwrap();
        if let Err(e) = &r {
            assert!(documented(e.kind()), "round {round} ({delay:?}): call ended with {e}");
        }
        if let Some(Err(e)) = &c {
            assert!(documented(e.kind()), "round {round}: close ended with {e}");
        }
        let state = channel.state();
        assert!(matches!(state, ChannelState::Faulted | ChannelState::Closed), "round {round}: {state:?}");
        tokio::time::timeout(BOUND, async {
            if state == ChannelState::Faulted {
                channel.close().await.unwrap();
            }
        })
        .await
        .expect("closing the aborted channel hung");
    }
    assert_tasks_back_to(tasks_before, "200 aborted HTTP exchanges").await;
    // The server is unharmed.
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    channel.call(ACTION, BODY).await.unwrap();
    channel.close().await.unwrap();
    listener.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_a_session_at_random_points_of_send_receive_and_close_never_hangs() {
    let (listener, url) = session_echo_server().await;
    let tasks_before = alive_tasks();
    let mut rng = Rng(0x5EED_0002);
    for round in 0..200 {
        let channel = Arc::new(SessionChannel::new(session_props()));
        channel.open(&url).await.unwrap();
        let delay = rng.micros(3000);
        let work = tokio::spawn({
            let channel = channel.clone();
            async move {
                let mut outcomes = Vec::new();
                for _ in 0..3 {
                    outcomes.push(channel.call(ACTION, BODY).await.map(|_| ()));
                }
                outcomes.push(channel.close().await);
                outcomes
            }
        });
        tokio::time::sleep(delay).await;
        channel.abort();
        let outcomes = tokio::time::timeout(BOUND, work).await.expect("the session hung after abort").unwrap();
        for r in &outcomes {
            if let Err(e) = r {
                assert!(documented(e.kind()), "round {round} ({delay:?}): {e}");
            }
        }
        let state = channel.state();
        assert!(matches!(state, ChannelState::Faulted | ChannelState::Closed), "round {round}: {state:?}");
        if state == ChannelState::Faulted {
            tokio::time::timeout(BOUND, channel.close()).await.expect("close hung").unwrap();
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(listener.connection_count(), 0, "every aborted session was released by the server");
    assert_tasks_back_to(tasks_before, "200 aborted sessions").await;
    let channel = SessionChannel::new(session_props());
    channel.open(&url).await.unwrap();
    channel.call(ACTION, BODY).await.unwrap();
    channel.close().await.unwrap();
    listener.close().await.unwrap();
}

#[tokio::test]
async fn dropping_a_session_listener_leaves_its_accepted_channels_working() {
    let properties = ListenerProperties { channel: session_props(), ..ListenerProperties::default() };
    let listener = SessionListener::new(properties);
    listener.open("net.tcp://127.0.0.1:0/echo").await.unwrap();
    let url = listener.url().unwrap();
    let server_side = SessionChannel::for_listener(&listener);
    let client = SessionChannel::new(session_props());
    let (accepted, opened) = tokio::join!(listener.accept_channel(&server_side), client.open(&url));
    accepted.unwrap();
    opened.unwrap();
    // A second client waits in the queue, not yet accepted.
    let queued = SessionChannel::new(session_props());
    queued.open(&url).await.unwrap();
    drop(listener);
    // The accepted session still carries messages both ways.
    let mut request = client.new_message();
    request.initialize_request(ACTION, BODY).unwrap();
    client.send_message(&mut request).await.unwrap();
    let mut received = server_side.new_message();
    assert!(server_side.receive_message(&mut received).await.unwrap());
    let mut reply = server_side.new_message();
    reply.initialize_reply(&received, "urn:echoed", "<ok/>").unwrap();
    server_side.send_message(&mut reply).await.unwrap();
    let mut got = client.new_message();
    assert!(client.receive_message(&mut got).await.unwrap());
    // The queued, never-accepted session was dropped with the listener.
    let mut nothing = queued.new_message();
    let e = tokio::time::timeout(BOUND, queued.receive_message(&mut nothing)).await.unwrap().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::EndpointDisconnected | ErrorKind::InvalidFormat), "{e}");
    // And the port is free again, once the accept task has seen the abort (its next turn).
    let again = SessionListener::new(ListenerProperties { channel: session_props(), ..ListenerProperties::default() });
    let mut reopened = again.open(&url).await;
    for _ in 0..100 {
        if reopened.is_ok() {
            break;
        }
        again.reset().unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        reopened = again.open(&url).await;
    }
    reopened.unwrap();
    tokio::join!(async { tokio::time::timeout(BOUND, client.close()).await.unwrap().unwrap() }, async {
        tokio::time::timeout(BOUND, server_side.close()).await.unwrap().unwrap()
    });
}
