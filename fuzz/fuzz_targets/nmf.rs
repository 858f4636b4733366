//! .NET Message Framing ([MC-NMF]): `RecordDecoder::decode` over a `BytesMut` filled in chunks
//! split where the input says, then the records through the preamble rules of one side and the
//! session rules after them.
//!
//! Input: byte 0 = `k`. Its low 3 bits are the number of split points, each a little-endian u16
//! that follows (taken modulo the stream length); bit 3 picks the side that reads the stream
//! (0: a responder, `ResponderPreamble` then `SessionRecords(Responder)`; 1: an initiator,
//! `InitiatorPreamble` then `SessionRecords(Initiator)`); bit 4 picks the quotas (0: tight,
//! 1: the defaults). The rest is the stream.
//!
//! Checks:
//! - `Ok(None)` consumes nothing, and leaves fewer than `max_record_len()` bytes buffered, which
//!   is `6 + max(via, string, envelope quota)`: a peer cannot make the reader buffer more.
//! - After an error every call is `InvalidOperation`.
//! - Every decoded record re-encodes (`encode`) to at most the bytes it came from (the same
//!   bytes when they have the same length) and those decode to the same record.
//! - Differential: the chunked run and a one-push run give the same records and end the same
//!   way (same leftover, or the same error kind and fault).
//! - The preamble and session state machines: `Complete` only after Version 1.x, Mode Duplex,
//!   Via, an encoding and Preamble End, reporting them; refused stays refused
//!   (`InvalidOperation`); `Envelope` and `End` only for Sized Envelope and End; nothing is
//!   accepted after End or a failure.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use soapwire_proto::ErrorKind;
use soapwire_proto::framing::nmf::{
    Encoding, InitiatorPreamble, Mode, NmfQuotas, PreambleStep, Record, RecordDecoder, ResponderPreamble, Role,
    SessionEvent, SessionRecords, encode,
};

const TIGHT: NmfQuotas = NmfQuotas { max_via_length: 64, max_string_length: 32, max_envelope_size: 512 };

/// How a run of the decoder ended.
#[derive(Debug, PartialEq)]
enum End {
    /// Every byte given was decoded, or the rest is an incomplete record (these bytes).
    Waiting(Vec<u8>),
    /// The decoder failed with this kind and fault.
    Failed(ErrorKind, Option<&'static str>),
}

/// `encode(record)` must not be longer than the bytes the record was decoded from (equal if the
/// same length), and must decode, alone, to the same record.
fn check_reencode(quotas: &NmfQuotas, record: &Record, consumed: &[u8]) {
    let mut bytes = Vec::new();
    encode(record, &mut bytes);
    assert!(bytes.len() <= consumed.len(), "{record:?} re-encodes longer: {bytes:02X?} from {consumed:02X?}");
    if bytes.len() == consumed.len() {
        assert_eq!(bytes, consumed, "{record:?} re-encodes to other bytes of the same length");
    }
    let mut buf = BytesMut::from(&bytes[..]);
    let again = RecordDecoder::new(quotas.clone())
        .decode(&mut buf)
        .unwrap_or_else(|e| panic!("{record:?} re-encoded as {bytes:02X?} does not decode: {e}"))
        .unwrap_or_else(|| panic!("{record:?} re-encoded as {bytes:02X?} is incomplete"));
    assert_eq!(&again, record, "the re-encoding decodes to another record");
    assert!(buf.is_empty(), "the re-encoding of {record:?} has {} byte(s) too many", buf.len());
}

fn run(quotas: &NmfQuotas, stream: &[u8], cuts: &[usize]) -> (Vec<Record>, End) {
    let mut decoder = RecordDecoder::new(quotas.clone());
    let bound = 6 + quotas.max_via_length.max(quotas.max_string_length).max(quotas.max_envelope_size);
    assert_eq!(decoder.max_record_len(), bound, "max_record_len is not what the quotas give");
    let mut buf = BytesMut::new();
    let mut records = Vec::new();
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        buf.extend_from_slice(&stream[at..cut]);
        at = cut;
        loop {
            let before = buf.to_vec();
            match decoder.decode(&mut buf) {
                Ok(Some(record)) => {
                    let used = before.len() - buf.len();
                    assert!(used > 0, "a record was decoded from no bytes");
                    assert_eq!(buf[..], before[used..], "decode changed the bytes after the record");
                    check_reencode(quotas, &record, &before[..used]);
                    records.push(record);
                }
                Ok(None) => {
                    assert_eq!(buf[..], before[..], "Ok(None) changed the buffer");
                    assert!(buf.len() < bound, "{} bytes buffered, the quotas allow fewer than {bound}", buf.len());
                    break;
                }
                Err(e) => {
                    let again = decoder.decode(&mut buf).expect_err("the decoder continued after an error");
                    assert_eq!(again.kind(), ErrorKind::InvalidOperation, "a second error is not InvalidOperation");
                    assert!(again.fault().is_none());
                    if e.kind() == ErrorKind::QuotaExceeded {
                        assert!(e.fault().is_none() || before.first() == Some(&Record::SIZED_ENVELOPE));
                    }
                    return (records, End::Failed(e.kind(), e.fault()));
                }
            }
        }
    }
    (records, End::Waiting(buf.to_vec()))
}

/// The records after the preamble, on the side playing `role`.
fn session(records: impl Iterator<Item = Record>, role: Role) {
    let mut session = SessionRecords::new(role);
    assert_eq!(session.role(), role);
    let mut failed = false;
    for record in records {
        let ended = session.is_ended();
        let result = session.on_record(record.clone());
        if failed {
            assert_eq!(result.expect_err("a failed session accepted a record").kind(), ErrorKind::InvalidOperation);
            return;
        }
        match result {
            Ok(SessionEvent::Envelope(payload)) => {
                assert!(!ended, "an envelope after End");
                assert_eq!(Record::SizedEnvelope(payload), record);
            }
            Ok(SessionEvent::End) => {
                assert!(!ended, "End twice");
                assert_eq!(record, Record::End);
                assert!(session.is_ended());
            }
            Err(e) => {
                let fault_to_initiator = role == Role::Initiator && matches!(record, Record::Fault(_)) && !ended;
                if !fault_to_initiator {
                    assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{record:?}: {e}");
                }
                failed = true;
            }
        }
    }
}

fn responder(records: Vec<Record>) {
    let mut preamble = ResponderPreamble::new();
    let mut iter = records.into_iter();
    let (mut version, mut via, mut encoding) = (None, None, None);
    loop {
        let Some(record) = iter.next() else { return };
        match &record {
            Record::Version { major, minor } => version = Some((*major, *minor)),
            Record::Via(v) => via = Some(v.clone()),
            Record::KnownEncoding(e) => encoding = Some(Encoding::Known(*e)),
            Record::ExtensibleEncoding(s) => encoding = Some(Encoding::Extensible(s.clone())),
            _ => {}
        }
        let was_end = record == Record::PreambleEnd;
        match preamble.on_record(record) {
            PreambleStep::Continue => assert!(!preamble.is_complete()),
            PreambleStep::Complete(info) => {
                assert!(was_end, "Complete without Preamble End");
                assert!(preamble.is_complete());
                assert_eq!(info.version.0, 1);
                assert_eq!(Some(info.version), version);
                assert_eq!(info.mode, Mode::Duplex);
                assert_eq!(Some(info.via), via);
                assert_eq!(Some(info.encoding), encoding);
                break;
            }
            PreambleStep::Reject { error, .. } => {
                assert!(!preamble.is_complete());
                assert_ne!(error.kind(), ErrorKind::InvalidOperation, "the first refusal is InvalidOperation");
                if let Some(next) = iter.next() {
                    let PreambleStep::Reject { fault, error } = preamble.on_record(next) else {
                        panic!("a refused preamble accepted a record");
                    };
                    assert!(fault.is_none());
                    assert_eq!(error.kind(), ErrorKind::InvalidOperation);
                }
                return;
            }
        }
    }
    if let Some(next) = iter.clone().next() {
        let PreambleStep::Reject { fault, error } = preamble.clone().on_record(next) else {
            panic!("a complete preamble accepted another record");
        };
        assert!(fault.is_none());
        assert_eq!(error.kind(), ErrorKind::InvalidOperation);
    }
    session(iter, Role::Responder);
}

fn initiator(records: Vec<Record>) {
    let mut preamble = InitiatorPreamble::new();
    let mut iter = records.into_iter();
    let Some(first) = iter.next() else { return };
    let ack = first == Record::PreambleAck;
    match preamble.on_record(first) {
        Ok(acked) => {
            assert!(acked && ack && preamble.is_acked());
            if let Some(next) = iter.clone().next() {
                let e = preamble.clone().on_record(next).expect_err("an acknowledged preamble took another record");
                assert_eq!(e.kind(), ErrorKind::InvalidOperation);
            }
            session(iter, Role::Initiator);
        }
        Err(e) => {
            assert!(!ack && !preamble.is_acked());
            assert_ne!(e.kind(), ErrorKind::InvalidOperation);
            if let Some(next) = iter.next() {
                let e = preamble.on_record(next).expect_err("a refused preamble took another record");
                assert_eq!(e.kind(), ErrorKind::InvalidOperation);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else { return };
    let n = usize::from(k & 7);
    if rest.len() < 2 * n {
        return;
    }
    let quotas = if k & 0x10 == 0 { TIGHT } else { NmfQuotas::default() };
    let (cut_bytes, stream) = rest.split_at(2 * n);
    let mut cuts: Vec<usize> =
        cut_bytes.chunks_exact(2).map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1)).collect();
    cuts.sort_unstable();

    let (records, end) = run(&quotas, stream, &cuts);
    let (whole_records, whole_end) = run(&quotas, stream, &[]);
    assert_eq!(records, whole_records, "chunking changed the records");
    assert_eq!(end, whole_end, "chunking changed how the stream ended");

    if k & 0x08 == 0 { responder(records) } else { initiator(records) }
});
