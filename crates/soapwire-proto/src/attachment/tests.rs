//! Tests of the attachment cores, one per documented sentence (see the module docs' table).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::error::{Error, ErrorKind, Hresult};

fn small(capacity: usize) -> OutboundCore {
    OutboundCore::new(OutboundConfig { buffer_capacity: capacity, ..OutboundConfig::default() })
}

/// Everything the transport takes from `att` now, with at most `max` bytes per chunk.
fn drain(att: &mut OutboundCore, max: usize) -> Vec<Transmit> {
    std::iter::from_fn(|| att.poll_transmit(max)).collect()
}

fn data(t: &[Transmit]) -> Vec<u8> {
    t.iter().filter_map(|t| if let Transmit::Data(b) = t { Some(b.to_vec()) } else { None }).flatten().collect()
}

fn disconnected() -> Error {
    Error::new(ErrorKind::EndpointDisconnected, "connection reset by peer")
}

fn assert_win32_invalid_operation(e: AttachmentError) {
    assert!(e.is_invalid_operation(), "{e}");
    assert_eq!(e.hresult(), Hresult::HRESULT_INVALID_OPERATION_WIN32);
    assert_eq!(e.hresult().0 as u32, 0x8007_10DD);
    assert_eq!(e.kind(), None);
}

// ---- outbound -------------------------------------------------------------------------

/// Seed: "Close was called before Write was called. You must call Write before closing the
/// attachment stream."
#[test]
fn close_before_any_write_is_hresult_from_win32_invalid_operation() {
    let mut att = OutboundCore::new(OutboundConfig::default());
    assert_win32_invalid_operation(att.close(Instant::now()).unwrap_err());
    assert_eq!(att.state(), OutboundState::NotStarted);
    assert_eq!(att.poll_transmit(1024), None);
    // The attachment is still usable.
    assert_eq!(att.write(b"x").unwrap(), WriteOutcome::Accepted(1));
}

/// Abort: "HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION) when called before any Write".
#[test]
fn abort_before_any_write_is_hresult_from_win32_invalid_operation() {
    let mut att = OutboundCore::new(OutboundConfig::default());
    assert_win32_invalid_operation(att.abort().unwrap_err());
    assert_eq!(att.state(), OutboundState::NotStarted);
    assert!(!att.wants_abort());
}

/// Write: "The first Write opens the attachment stream and starts transmitting the HTTP
/// headers, the SOAP envelope and MIME-encoded data".
#[test]
fn first_write_starts_the_message() {
    let mut att = OutboundCore::new(OutboundConfig::default());
    assert!(!att.wants_message_start());
    assert_eq!(att.write(b"abc").unwrap(), WriteOutcome::Accepted(3));
    assert_eq!(att.state(), OutboundState::Writing);
    assert!(att.wants_message_start());
    assert_eq!(att.poll_transmit(1024), Some(Transmit::Start { first_in_message: true }));
    assert!(!att.wants_message_start());
    assert_eq!(att.poll_transmit(1024), Some(Transmit::Data(Bytes::from_static(b"abc"))));
    // Later writes do not start anything again.
    att.write(b"d").unwrap();
    assert_eq!(drain(&mut att, 1024), [Transmit::Data(Bytes::from_static(b"d"))]);
}

#[test]
fn empty_first_write_still_starts_the_message() {
    let mut att = OutboundCore::new(OutboundConfig::default());
    assert_eq!(att.write(b"").unwrap(), WriteOutcome::Accepted(0));
    assert_eq!(att.close(Instant::now()).unwrap(), CloseOutcome::Closed);
    assert_eq!(drain(&mut att, 1024), [Transmit::Start { first_in_message: true }, Transmit::End]);
}

/// STG_S_BLOCK: "internal buffers unavailable; data not accepted/queued".
#[test]
fn full_buffer_write_is_blocked_and_takes_nothing() {
    let mut att = small(4);
    assert_eq!(att.write(b"abcd").unwrap(), WriteOutcome::Accepted(4));
    let before = (att.buffered(), att.bytes_accepted());
    let outcome = att.write(b"efgh").unwrap();
    assert_eq!(outcome, WriteOutcome::Blocked);
    assert_eq!(outcome.hresult(), Hresult::STG_S_BLOCK);
    assert!(outcome.hresult().is_success());
    assert_eq!(outcome.accepted(), 0);
    assert_eq!((att.buffered(), att.bytes_accepted()), before);
}

#[test]
fn write_larger_than_free_space_is_partially_accepted() {
    let mut att = small(4);
    let outcome = att.write(b"abcdef").unwrap();
    assert_eq!(outcome, WriteOutcome::Accepted(4));
    assert_eq!(outcome.hresult(), Hresult::S_OK);
    assert_eq!(att.free_capacity(), 0);
}

/// Write: "After STG_S_BLOCK, a later Write may succeed (buffers were freed). The app
/// resends the same data".
#[test]
fn blocked_write_retried_after_drain_succeeds() {
    let mut att = small(4);
    att.write(b"abcd").unwrap();
    assert_eq!(att.write(b"efgh").unwrap(), WriteOutcome::Blocked);
    let sent = drain(&mut att, 2);
    assert_eq!(data(&sent), b"abcd");
    assert_eq!(att.write(b"efgh").unwrap(), WriteOutcome::Accepted(4));
    assert_eq!(data(&drain(&mut att, 1024)), b"efgh");
    assert_eq!(att.bytes_transmitted(), 8);
}

/// Seed: "STG_S_BLOCK: Internal buffers were not available. The data in the attachment
/// stream was not successfully transferred." and "The Close method may return successfully
/// after a failed Close attempt that returned STG_S_BLOCK."
#[test]
fn close_blocks_while_data_pending_then_completes() {
    let now = Instant::now();
    let mut att = small(8);
    att.write(b"abcdef").unwrap();
    let outcome = att.close(now).unwrap();
    assert_eq!(outcome, CloseOutcome::Blocked);
    assert_eq!(outcome.hresult(), Hresult::STG_S_BLOCK);
    assert_eq!(att.state(), OutboundState::Closing);
    assert_eq!(att.close(now).unwrap(), CloseOutcome::Blocked);
    // The transport drains part, then the rest.
    assert_eq!(att.poll_transmit(1024), Some(Transmit::Start { first_in_message: true }));
    assert_eq!(att.poll_transmit(4), Some(Transmit::Data(Bytes::from_static(b"abcd"))));
    assert_eq!(att.close(now).unwrap(), CloseOutcome::Blocked);
    assert_eq!(att.poll_transmit(4), Some(Transmit::Data(Bytes::from_static(b"ef"))));
    let outcome = att.close(now).unwrap();
    assert_eq!(outcome, CloseOutcome::Closed);
    assert_eq!(outcome.hresult(), Hresult::S_OK);
    assert_eq!(att.poll_transmit(1024), Some(Transmit::End));
    assert!(att.is_finished());
    assert_eq!(att.poll_transmit(1024), None);
    // A repeated close is a harmless S_OK.
    assert_eq!(att.close(now).unwrap(), CloseOutcome::Closed);
}

#[test]
fn close_with_nothing_pending_completes_at_once() {
    let mut att = small(8);
    att.write(b"ab").unwrap();
    drain(&mut att, 1024);
    assert_eq!(att.close(Instant::now()).unwrap(), CloseOutcome::Closed);
    assert_eq!(drain(&mut att, 1024), [Transmit::End]);
}

/// Seed: "Close may block for up to 30 seconds (per HTTP transmission timeouts) while
/// waiting for a previous Write operation to complete."
#[test]
fn close_after_transmission_timeout_is_timed_out() {
    let t0 = Instant::now();
    let mut att = OutboundCore::new(OutboundConfig::default());
    att.write(b"pending").unwrap();
    assert_eq!(att.close(t0).unwrap(), CloseOutcome::Blocked);
    assert_eq!(att.deadline(), Some(t0 + Duration::from_secs(30)));
    // Still within the window: blocked, and the retry does not move the deadline.
    assert_eq!(att.close(t0 + Duration::from_secs(29)).unwrap(), CloseOutcome::Blocked);
    assert_eq!(att.deadline(), Some(t0 + Duration::from_secs(30)));
    let e = att.close(t0 + Duration::from_secs(30)).unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::OperationTimedOut));
    assert_eq!(e.hresult(), Hresult::WS_E_OPERATION_TIMED_OUT);
    assert_eq!(att.state(), OutboundState::Failed);
    assert_eq!(att.buffered(), 0);
    // The message must fail, not end early.
    assert_eq!(drain(&mut att, 1024), [Transmit::Abort]);
    assert_eq!(att.close(t0 + Duration::from_secs(31)).unwrap_err().kind(), Some(ErrorKind::OperationTimedOut));
}

#[test]
fn transmission_timeout_is_configurable_and_fires_through_handle_timeout() {
    let t0 = Instant::now();
    let config = OutboundConfig { transmission_timeout: Duration::from_millis(500), ..OutboundConfig::default() };
    let mut att = OutboundCore::new(config);
    att.write(b"pending").unwrap();
    att.close(t0).unwrap();
    att.handle_timeout(t0 + Duration::from_millis(499));
    assert_eq!(att.state(), OutboundState::Closing);
    att.handle_timeout(t0 + Duration::from_millis(500));
    assert_eq!(att.state(), OutboundState::Failed);
    assert!(att.wants_abort());
    assert_eq!(att.write(b"x").unwrap_err().kind(), Some(ErrorKind::OperationTimedOut));
}

/// Seed: "The return value can indicate an error in a previous Write operation or an issue
/// closing the connection."
#[test]
fn close_reports_an_earlier_transport_error() {
    let mut att = small(8);
    att.write(b"abc").unwrap();
    att.transport_failed(disconnected());
    assert_eq!(att.state(), OutboundState::Failed);
    let e = att.close(Instant::now()).unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::EndpointDisconnected));
    assert_eq!(e.hresult(), Hresult::WS_E_ENDPOINT_DISCONNECTED);
    assert_eq!(att.buffered(), 0);
    assert_eq!(att.poll_transmit(1024), None);
}

/// Write: "data-transfer errors may surface on a later Write or on Close".
#[test]
fn write_reports_an_earlier_transport_error() {
    let mut att = small(8);
    att.write(b"abc").unwrap();
    att.transport_failed(disconnected());
    assert_eq!(att.write(b"def").unwrap_err().kind(), Some(ErrorKind::EndpointDisconnected));
}

#[test]
fn error_closing_the_connection_is_reported_by_the_pending_close() {
    let now = Instant::now();
    let mut att = small(8);
    att.write(b"abc").unwrap();
    assert_eq!(att.close(now).unwrap(), CloseOutcome::Blocked);
    att.transport_failed(disconnected());
    assert_eq!(att.close(now).unwrap_err().hresult(), Hresult::WS_E_ENDPOINT_DISCONNECTED);
}

/// Abort: "Close must not be called after Abort."
#[test]
fn close_after_abort_is_refused() {
    let mut att = small(8);
    att.write(b"abc").unwrap();
    att.abort().unwrap();
    assert_win32_invalid_operation(att.close(Instant::now()).unwrap_err());
}

/// Abort: "Aborts the transfer; pending data may be discarded." The peer must see a failed
/// message, so no End ever follows.
#[test]
fn abort_discards_pending_data_and_fails_the_message() {
    let mut att = small(8);
    att.write(b"abcdefgh").unwrap();
    assert_eq!(att.close(Instant::now()).unwrap(), CloseOutcome::Blocked);
    att.abort().unwrap();
    assert_eq!(att.state(), OutboundState::Aborted);
    assert_eq!(att.buffered(), 0);
    assert!(att.wants_abort());
    assert_eq!(drain(&mut att, 1024), [Transmit::Abort]);
    // Repeating abort is a no-op.
    att.abort().unwrap();
    assert_eq!(att.poll_transmit(1024), None);
}

/// An abort after a completed close is accepted (Abort documents only the "before any
/// Write" refusal) and still fails the message if the transport is sending it.
#[test]
fn abort_after_finished_close_still_fails_the_message() {
    let mut att = small(8);
    att.write(b"ab").unwrap();
    att.close(Instant::now()).unwrap();
    drain(&mut att, 1024);
    assert!(att.is_finished());
    att.abort().unwrap();
    assert_eq!(drain(&mut att, 1024), [Transmit::Abort]);
    assert_win32_invalid_operation(att.close(Instant::now()).unwrap_err());
}

#[test]
fn abort_after_timeout_fails_the_message_once() {
    let t0 = Instant::now();
    let mut att = small(1);
    att.write(b"a").unwrap();
    att.close(t0).unwrap();
    att.handle_timeout(t0 + Duration::from_secs(30));
    att.abort().unwrap();
    assert_eq!(att.state(), OutboundState::Aborted);
    assert_eq!(drain(&mut att, 1024), [Transmit::Abort]);
}

#[test]
fn abort_after_blocked_write_is_allowed() {
    let mut att = small(2);
    att.write(b"ab").unwrap();
    assert_eq!(att.write(b"cd").unwrap(), WriteOutcome::Blocked);
    att.abort().unwrap();
    assert_eq!(drain(&mut att, 1024), [Transmit::Abort]);
}

#[test]
fn write_after_close_or_abort_is_refused() {
    let mut closed = small(8);
    closed.write(b"a").unwrap();
    drain(&mut closed, 1024);
    closed.close(Instant::now()).unwrap();
    assert_win32_invalid_operation(closed.write(b"b").unwrap_err());

    let mut closing = small(8);
    closing.write(b"a").unwrap();
    closing.close(Instant::now()).unwrap();
    assert_win32_invalid_operation(closing.write(b"b").unwrap_err());

    let mut aborted = small(8);
    aborted.write(b"a").unwrap();
    aborted.abort().unwrap();
    assert_win32_invalid_operation(aborted.write(b"b").unwrap_err());
}

#[test]
fn invalid_operation_names_the_call_and_state() {
    let mut att = small(8);
    att.write(b"a").unwrap();
    att.abort().unwrap();
    let e = att.close(Instant::now()).unwrap_err();
    assert_eq!(e.to_string(), "close is not allowed in state Aborted (0x800710DD)");
}

/// Write: "with several attachments in one message, the first Write on an attachment may
/// block until all earlier attachment streams are fully sent".
#[test]
fn second_attachment_waits_for_the_first() {
    let now = Instant::now();
    let mut msg = AttachmentSequencer::new(2, OutboundConfig::default());
    assert_eq!(msg.write(1, b"two").unwrap(), WriteOutcome::Blocked);
    assert_eq!(msg.attachment(1).unwrap().state(), OutboundState::NotStarted);
    msg.write(0, b"one").unwrap();
    assert_eq!(msg.write(1, b"two").unwrap(), WriteOutcome::Blocked);
    assert_eq!(msg.close(0, now).unwrap(), CloseOutcome::Blocked);
    assert_eq!(msg.poll_transmit(1024), Some((0, Transmit::Start { first_in_message: true })));
    assert_eq!(msg.poll_transmit(1024), Some((0, Transmit::Data(Bytes::from_static(b"one")))));
    // Closed, but the end is not sent yet: still not attachment 1's turn.
    assert_eq!(msg.close(0, now).unwrap(), CloseOutcome::Closed);
    assert_eq!(msg.write(1, b"two").unwrap(), WriteOutcome::Blocked);
    assert_eq!(msg.poll_transmit(1024), Some((0, Transmit::End)));
    assert_eq!(msg.current(), Some(1));
    assert_eq!(msg.write(1, b"two").unwrap(), WriteOutcome::Accepted(3));
    assert_eq!(msg.close(1, now).unwrap(), CloseOutcome::Blocked);
    assert_eq!(msg.poll_transmit(1024), Some((1, Transmit::Start { first_in_message: false })));
    assert_eq!(msg.poll_transmit(1024), Some((1, Transmit::Data(Bytes::from_static(b"two")))));
    assert_eq!(msg.poll_transmit(1024), Some((1, Transmit::End)));
    assert!(msg.is_complete());
    assert_eq!(msg.poll_transmit(1024), None);
}

#[test]
fn aborting_an_attachment_fails_the_later_ones() {
    let mut msg = AttachmentSequencer::new(3, OutboundConfig::default());
    msg.write(0, b"one").unwrap();
    msg.abort(0).unwrap();
    assert_eq!(msg.poll_transmit(1024), Some((0, Transmit::Abort)));
    assert_eq!(msg.poll_transmit(1024), None);
    let e = msg.write(2, b"three").unwrap_err();
    assert_eq!(e.hresult(), Hresult::WS_E_OPERATION_ABORTED);
    // Close before any write is still the documented 0x800710DD.
    assert_win32_invalid_operation(msg.close(1, Instant::now()).unwrap_err());
}

#[test]
fn sequencer_refuses_an_unknown_index() {
    let mut msg = AttachmentSequencer::new(1, OutboundConfig::default());
    assert_eq!(msg.write(5, b"x").unwrap_err().hresult(), Hresult::E_INVALIDARG);
}

// ---- inbound --------------------------------------------------------------------------

fn inbound(capacity: usize, max_size: u64) -> InboundCore {
    InboundCore::new(InboundConfig { buffer_capacity: capacity, max_size })
}

#[test]
fn read_without_data_would_block_then_returns_data() {
    let mut att = inbound(64, u64::MAX);
    let mut buf = [0u8; 4];
    assert_eq!(att.read(&mut buf).unwrap(), ReadOutcome::WouldBlock);
    assert_eq!(ReadOutcome::WouldBlock.hresult(), None);
    att.push_data(Bytes::from_static(b"abcdef")).unwrap();
    let r = att.read(&mut buf).unwrap();
    assert_eq!(r, ReadOutcome::Data(4));
    assert_eq!(r.hresult(), Some(Hresult::S_OK));
    assert_eq!(&buf, b"abcd");
}

/// Read: "S_FALSE (end of stream reached) … the out count is set and may be less than the
/// buffer size".
#[test]
fn read_reports_end_with_final_bytes() {
    let mut att = inbound(64, u64::MAX);
    att.push_data(Bytes::from_static(b"abc")).unwrap();
    att.push_data(Bytes::from_static(b"def")).unwrap();
    att.push_end().unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(att.read(&mut buf).unwrap(), ReadOutcome::Data(4));
    let r = att.read(&mut buf).unwrap();
    assert_eq!(r, ReadOutcome::End(2));
    assert_eq!(r.hresult(), Some(Hresult::S_FALSE));
    assert_eq!(&buf[..2], b"ef");
    assert_eq!(att.read(&mut buf).unwrap(), ReadOutcome::End(0));
}

/// Close: "Terminates an in-progress incoming transfer."
#[test]
fn close_terminates_unfinished_transfer() {
    let mut att = inbound(64, u64::MAX);
    att.push_data(Bytes::from_static(b"abc")).unwrap();
    att.close().unwrap();
    assert_eq!(att.state(), InboundState::Closed);
    assert!(att.wants_discard());
    assert!(!att.can_accept());
    assert_eq!(att.buffered(), 0);
    // What the transport still pushes is dropped.
    att.push_data(Bytes::from_static(b"more")).unwrap();
    att.push_end().unwrap();
    assert_eq!(att.buffered(), 0);
}

/// Close: "Must be called before Release() unless Read already returned S_FALSE" — so it is
/// optional, and harmless, after the end.
#[test]
fn close_after_end_is_optional_and_discards_nothing_more() {
    let mut att = inbound(64, u64::MAX);
    att.push_end().unwrap();
    assert_eq!(att.read(&mut [0u8; 4]).unwrap(), ReadOutcome::End(0));
    att.close().unwrap();
    assert!(!att.wants_discard());
    att.close().unwrap();
}

#[test]
fn read_after_close_is_refused() {
    let mut att = inbound(64, u64::MAX);
    att.close().unwrap();
    assert_win32_invalid_operation(att.read(&mut [0u8; 4]).unwrap_err());
}

#[test]
fn inbound_quota_exceeded() {
    let mut att = inbound(64, 5);
    att.push_data(Bytes::from_static(b"abc")).unwrap();
    let e = att.push_data(Bytes::from_static(b"def")).unwrap_err();
    assert_eq!(e.hresult(), Hresult::WS_E_QUOTA_EXCEEDED);
    assert_eq!(att.state(), InboundState::Failed);
    assert_eq!(att.read(&mut [0u8; 4]).unwrap_err().kind(), Some(ErrorKind::QuotaExceeded));
}

#[test]
fn inbound_quota_is_64_bit() {
    let mut att = inbound(64, 5 * 1024 * 1024 * 1024);
    assert_eq!(att.bytes_received(), 0);
    att.push_data(Bytes::from_static(b"x")).unwrap();
    assert_eq!(att.bytes_received(), 1);
}

#[test]
fn full_inbound_buffer_applies_backpressure() {
    let mut att = inbound(4, u64::MAX);
    assert!(att.can_accept());
    att.push_data(Bytes::from_static(b"abcd")).unwrap();
    assert!(!att.can_accept());
    assert!(att.push_data(Bytes::from_static(b"e")).unwrap_err().is_invalid_operation());
    assert_eq!(att.buffered(), 4);
    att.read(&mut [0u8; 2]).unwrap();
    assert!(att.can_accept());
    att.push_data(Bytes::from_static(b"e")).unwrap();
}

#[test]
fn inbound_transport_error_is_reported_by_read() {
    let mut att = inbound(64, u64::MAX);
    att.push_data(Bytes::from_static(b"abc")).unwrap();
    att.push_error(disconnected());
    assert_eq!(att.read(&mut [0u8; 4]).unwrap_err().hresult(), Hresult::WS_E_ENDPOINT_DISCONNECTED);
}

// ---- properties -----------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Write(usize),
    Take(usize),
    Close,
    Abort,
    Advance(u64),
    Timeout,
    TransportFailed,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..40).prop_map(Op::Write),
        6 => (0usize..30).prop_map(Op::Take),
        2 => Just(Op::Close),
        1 => Just(Op::Abort),
        2 => (0u64..20).prop_map(Op::Advance),
        1 => Just(Op::Timeout),
        1 => Just(Op::TransportFailed),
    ]
}

proptest! {
    /// Random interleavings never panic, never lose, duplicate or reorder bytes, Blocked never
    /// takes data, and the transmit sequence is Start, Data*, End, with an Abort possible at any
    /// point (even after End: an abort of a closed attachment still fails the message).
    #[test]
    fn outbound_interleavings_keep_bytes_in_order(ops in prop::collection::vec(op(), 0..80), capacity in 1usize..32) {
        let config = OutboundConfig { buffer_capacity: capacity, transmission_timeout: Duration::from_secs(30) };
        let mut att = OutboundCore::new(config);
        let mut now = Instant::now();
        let mut next_byte = 0u8;
        let mut accepted: Vec<u8> = Vec::new();
        let mut sent: Vec<u8> = Vec::new();
        let mut started = false;
        let mut ended = false;
        let mut aborted_on_wire = false;
        for op in ops {
            match op {
                Op::Write(len) => {
                    let chunk: Vec<u8> = (0..len).map(|i| next_byte.wrapping_add(i as u8)).collect();
                    let before = (att.buffered(), att.bytes_accepted());
                    match att.write(&chunk) {
                        Ok(WriteOutcome::Accepted(n)) => {
                            prop_assert!(n <= len);
                            prop_assert!(n > 0 || len == 0);
                            accepted.extend_from_slice(&chunk[..n]);
                            next_byte = next_byte.wrapping_add(n as u8);
                        }
                        Ok(WriteOutcome::Blocked) => {
                            prop_assert_eq!((att.buffered(), att.bytes_accepted()), before);
                        }
                        Err(_) => prop_assert_eq!(att.bytes_accepted(), before.1),
                    }
                }
                Op::Take(max) => {
                    while let Some(t) = att.poll_transmit(max) {
                        prop_assert!(!aborted_on_wire, "nothing after Abort: {:?}", t);
                        prop_assert!(!ended || t == Transmit::Abort, "only Abort after End: {:?}", t);
                        match t {
                            Transmit::Start { first_in_message } => {
                                prop_assert!(first_in_message && !started);
                                started = true;
                            }
                            Transmit::Data(b) => {
                                prop_assert!(started);
                                prop_assert!(!b.is_empty() && b.len() <= max);
                                sent.extend_from_slice(&b);
                            }
                            Transmit::End => ended = true,
                            Transmit::Abort => aborted_on_wire = true,
                        }
                    }
                }
                Op::Close => { let _ = att.close(now); }
                Op::Abort => { let _ = att.abort(); }
                Op::Advance(s) => now += Duration::from_secs(s),
                Op::Timeout => att.handle_timeout(now),
                Op::TransportFailed => att.transport_failed(disconnected()),
            }
            prop_assert!(att.buffered() <= capacity);
            prop_assert_eq!(&accepted[..sent.len()], &sent[..], "transmitted bytes are a prefix of accepted bytes");
            prop_assert_eq!(att.bytes_accepted(), accepted.len() as u64);
            prop_assert_eq!(att.bytes_transmitted(), sent.len() as u64);
            if ended {
                prop_assert_eq!(&sent, &accepted, "a completed attachment carries every accepted byte");
            }
        }
    }

    /// Whatever the chunking, a reader gets exactly the pushed bytes, then End.
    #[test]
    fn inbound_delivers_pushed_bytes_in_order(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 0..20), read_size in 1usize..16) {
        let mut att = inbound(16, u64::MAX);
        let expected: Vec<u8> = chunks.concat();
        let mut got = Vec::new();
        let mut pending = chunks.into_iter();
        let mut buf = vec![0u8; read_size];
        let mut ended = false;
        for _ in 0..10_000 {
            if att.can_accept() {
                match pending.next() {
                    Some(c) => att.push_data(Bytes::from(c)).unwrap(),
                    None if att.state() == InboundState::Receiving => att.push_end().unwrap(),
                    None => {}
                }
            }
            match att.read(&mut buf).unwrap() {
                ReadOutcome::Data(n) => got.extend_from_slice(&buf[..n]),
                ReadOutcome::End(n) => { got.extend_from_slice(&buf[..n]); ended = true; break; }
                ReadOutcome::WouldBlock => {}
            }
        }
        prop_assert!(ended);
        prop_assert_eq!(got, expected);
    }
}
