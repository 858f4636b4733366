//! Tests of the [MC-NMF] codec: the specification's §4.1 exchange byte for byte, quotas,
//! malformed input, the preamble and session rules, and property tests.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::error::ErrorKind;

/// [MC-NMF] §4.1, the initiator's stream: 4.1.1 Preamble, 4.1.2 Preamble End, 4.1.4 Sized
/// Envelope, 4.1.6 End.
const SPEC_INITIATOR: &str = include_str!("../../../tests/fixtures/nmf/mc-nmf-4.1-duplex-initiator.hex");
/// [MC-NMF] §4.1, the receiver's stream: 4.1.3 Preamble Ack, 4.1.5 Sized Envelope, 4.1.7 End.
const SPEC_RESPONDER: &str = include_str!("../../../tests/fixtures/nmf/mc-nmf-4.1-duplex-responder.hex");
/// pynettcp's preamble for `net.tcp://localhost:8808/echo`, Duplex, binary session.
const PYNETTCP_PREAMBLE: &str = include_str!("../../../tests/fixtures/nmf/pynettcp-preamble-localhost-echo.hex");

const SPEC_VIA: &str = "net.tcp://SampleServer/SampleApp/";

/// The bytes of a `.hex` fixture: hex pairs separated by white space, `#` comments.
fn hex_fixture(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex")).collect()
}

fn encoded(record: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    encode(record, &mut out);
    out
}

/// Decodes every record of `bytes` given at once; the buffer must end empty.
fn decode_all(bytes: &[u8]) -> Vec<Record> {
    let mut decoder = RecordDecoder::new(NmfQuotas::default());
    let mut buf = BytesMut::from(bytes);
    let mut records = Vec::new();
    while let Some(r) = decoder.decode(&mut buf).expect("valid stream") {
        records.push(r);
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    records
}

fn decode_one(bytes: &[u8]) -> Result<Option<Record>, DecodeError> {
    RecordDecoder::new(NmfQuotas::default()).decode(&mut BytesMut::from(bytes))
}

fn decode_err(bytes: &[u8]) -> DecodeError {
    decode_one(bytes).expect_err("must fail")
}

// ---------------------------------------------------------------------------------------------
// MultiByteInt31

#[test]
fn multibyte_int31_encodes_the_boundaries_of_each_length_as_the_spec_table() {
    let table: [(u32, &[u8]); 12] = [
        (0, &[0x00]),
        (1, &[0x01]),
        (0x7F, &[0x7F]),
        (0x80, &[0x80, 0x01]),
        (205, &[0xCD, 0x01]),
        (0x3FFF, &[0xFF, 0x7F]),
        (0x4000, &[0x80, 0x80, 0x01]),
        (0x1F_FFFF, &[0xFF, 0xFF, 0x7F]),
        (0x20_0000, &[0x80, 0x80, 0x80, 0x01]),
        (0x0FFF_FFFF, &[0xFF, 0xFF, 0xFF, 0x7F]),
        (0x1000_0000, &[0x80, 0x80, 0x80, 0x80, 0x01]),
        (0x7FFF_FFFF, &[0xFF, 0xFF, 0xFF, 0xFF, 0x07]),
    ];
    for (value, bytes) in table {
        let mut out = Vec::new();
        write_multibyte_int31(value, &mut out);
        assert_eq!(out, bytes, "{value:#x}");
        assert_eq!(read_multibyte_int31(bytes).expect("valid"), Some((value, bytes.len())), "{value:#x}");
    }
}

#[test]
fn multibyte_int31_stops_at_the_first_byte_without_the_high_bit() {
    assert_eq!(read_multibyte_int31(&[0x05, 0xFF, 0xFF]).expect("valid"), Some((5, 1)));
    assert_eq!(read_multibyte_int31(&[0xAA, 0x01, 0x00]).expect("valid"), Some((170, 2)));
}

#[test]
fn multibyte_int31_incomplete_prefix_is_none() {
    for prefix in [&[][..], &[0x80], &[0xFF, 0xFF], &[0x80, 0x80, 0x80, 0x80]] {
        assert_eq!(read_multibyte_int31(prefix).expect("no error"), None, "{prefix:02X?}");
    }
}

#[test]
fn multibyte_int31_fifth_byte_above_7_is_invalid_format() {
    for fifth in [0x08u8, 0x0F, 0x7F, 0x80, 0xFF] {
        let err = read_multibyte_int31(&[0xFF, 0xFF, 0xFF, 0xFF, fifth, 0x00]).expect_err("over 31 bits");
        assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{fifth:#x}");
    }
}

#[test]
fn multibyte_int31_non_minimal_forms_are_accepted_like_wcf() {
    assert_eq!(read_multibyte_int31(&[0x80, 0x00]).expect("valid"), Some((0, 2)));
    assert_eq!(read_multibyte_int31(&[0x85, 0x80, 0x00]).expect("valid"), Some((5, 3)));
}

#[test]
fn write_multibyte_int31_above_i32_max_writes_bytes_every_decoder_rejects() {
    for value in [0x8000_0000u32, u32::MAX] {
        let mut out = Vec::new();
        write_multibyte_int31(value, &mut out);
        assert_eq!(out.len(), 5);
        assert_eq!(read_multibyte_int31(&out).expect_err("rejected").kind(), ErrorKind::InvalidFormat);
    }
}

// ---------------------------------------------------------------------------------------------
// The specification's example (§4.1)

#[test]
fn spec_4_1_initiator_stream_decodes_record_by_record() {
    let records = decode_all(&hex_fixture(SPEC_INITIATOR));
    assert_eq!(records.len(), 7);
    assert_eq!(records[0], Record::Version { major: 1, minor: 0 });
    assert_eq!(records[1], Record::Mode(Mode::Duplex));
    assert_eq!(records[2], Record::Via(SPEC_VIA.into()));
    assert_eq!(records[3], Record::KnownEncoding(KnownEncoding::Soap12BinarySession));
    assert_eq!(records[4], Record::PreambleEnd);
    let Record::SizedEnvelope(message) = &records[5] else { panic!("{:?}", records[5]) };
    assert_eq!(message.len(), 170);
    assert_eq!(message[0], 0x74, "NBFSE dictionary size");
    assert!(message.ends_with(b"Test message1\x01\x01\x01"));
    assert_eq!(records[6], Record::End);
}

#[test]
fn spec_4_1_responder_stream_decodes_record_by_record() {
    let records = decode_all(&hex_fixture(SPEC_RESPONDER));
    assert_eq!(records.len(), 3);
    assert_eq!(records[0], Record::PreambleAck);
    let Record::SizedEnvelope(message) = &records[1] else { panic!("{:?}", records[1]) };
    assert_eq!(message.len(), 54);
    assert!(message.ends_with(b"Test message2\x01\x01\x01"));
    assert_eq!(records[2], Record::End);
}

#[test]
fn spec_4_1_streams_reencode_to_the_same_bytes() {
    for fixture in [SPEC_INITIATOR, SPEC_RESPONDER] {
        let bytes = hex_fixture(fixture);
        let mut out = Vec::new();
        for record in decode_all(&bytes) {
            encode(&record, &mut out);
        }
        assert_eq!(out, bytes);
    }
}

#[test]
fn spec_4_1_1_and_4_1_2_are_what_initiator_preamble_writes() {
    let bytes = hex_fixture(SPEC_INITIATOR);
    let mut out = Vec::new();
    initiator_preamble(SPEC_VIA, Mode::Duplex, KnownEncoding::Soap12BinarySession, &mut out);
    assert_eq!(out.len(), 43);
    assert_eq!(out, bytes[..43]);
}

#[test]
fn spec_4_1_4_envelope_header_is_what_sized_envelope_header_writes() {
    let bytes = hex_fixture(SPEC_INITIATOR);
    let mut out = Vec::new();
    sized_envelope_header(170, &mut out);
    assert_eq!(out, bytes[43..46]);
}

#[test]
fn initiator_preamble_matches_pynettcp_byte_for_byte() {
    let mut out = Vec::new();
    initiator_preamble("net.tcp://localhost:8808/echo", Mode::Duplex, KnownEncoding::Soap12BinarySession, &mut out);
    assert_eq!(out, hex_fixture(PYNETTCP_PREAMBLE));
}

#[test]
fn spec_4_1_preambles_pass_the_preamble_rules_of_both_sides() {
    let mut responder = ResponderPreamble::new();
    let mut info = None;
    for record in decode_all(&hex_fixture(SPEC_INITIATOR)).into_iter().take(5) {
        match responder.on_record(record) {
            PreambleStep::Continue => {}
            PreambleStep::Complete(i) => info = Some(i),
            PreambleStep::Reject { fault, error } => panic!("{fault:?} {error}"),
        }
    }
    let info = info.expect("complete");
    assert_eq!(info.version, (1, 0));
    assert_eq!(info.mode, Mode::Duplex);
    assert_eq!(info.via, SPEC_VIA);
    assert_eq!(info.encoding, Encoding::Known(KnownEncoding::Soap12BinarySession));
    assert_eq!(info.encoding.content_type(), "application/soap+msbinsession1");
    assert!(responder.is_complete());

    let mut records = decode_all(&hex_fixture(SPEC_RESPONDER)).into_iter();
    let mut initiator = InitiatorPreamble::new();
    assert!(initiator.on_record(records.next().expect("ack")).expect("acked"));
    let mut session = SessionRecords::new(Role::Initiator);
    assert!(matches!(session.on_record(records.next().expect("envelope")), Ok(SessionEvent::Envelope(_))));
    assert_eq!(session.on_record(records.next().expect("end")).expect("end"), SessionEvent::End);
}

// ---------------------------------------------------------------------------------------------
// Decoder: incremental input, zero copy

#[test]
fn incomplete_record_consumes_nothing_and_completes_when_the_rest_arrives() {
    let bytes = encoded(&Record::Via(SPEC_VIA.into()));
    let mut decoder = RecordDecoder::new(NmfQuotas::default());
    let mut buf = BytesMut::new();
    for (i, b) in bytes.iter().enumerate() {
        assert_eq!(decoder.decode(&mut buf).expect("no error"), None, "after {i} bytes");
        assert_eq!(buf.len(), i, "nothing consumed");
        buf.extend_from_slice(&[*b]);
    }
    assert_eq!(decoder.decode(&mut buf).expect("complete"), Some(Record::Via(SPEC_VIA.into())));
    assert!(buf.is_empty());
}

#[test]
fn every_fixed_size_record_waits_for_its_last_byte() {
    for bytes in [&[0x00, 0x01, 0x00][..], &[0x01, 0x02], &[0x03, 0x08]] {
        for cut in 0..bytes.len() {
            assert_eq!(decode_one(&bytes[..cut]).expect("no error"), None, "{bytes:02X?} cut at {cut}");
        }
        assert!(decode_one(bytes).expect("valid").is_some());
    }
}

#[test]
fn sized_envelope_payload_is_split_off_the_buffer_without_copying() {
    let mut wire = Vec::new();
    sized_envelope_header(300, &mut wire);
    wire.extend(std::iter::repeat_n(0xAB, 300));
    wire.push(Record::END);
    let mut buf = BytesMut::from(&wire[..]);
    let payload_start = buf.as_ptr().wrapping_add(3);
    let record = RecordDecoder::new(NmfQuotas::default()).decode(&mut buf).expect("valid");
    let Some(Record::SizedEnvelope(payload)) = record else { panic!("{record:?}") };
    assert_eq!(payload.len(), 300);
    assert_eq!(payload.as_ptr(), payload_start, "the payload is a view of the buffer");
    assert_eq!(&buf[..], [Record::END]);
}

#[test]
fn envelope_with_a_three_byte_length_round_trips() {
    let payload = Bytes::from(vec![7u8; 20_000]);
    let bytes = encoded(&Record::SizedEnvelope(payload.clone()));
    assert_eq!(bytes[..4], [0x06, 0xA0, 0x9C, 0x01]);
    let mut decoder = RecordDecoder::new(NmfQuotas { max_envelope_size: 20_000, ..NmfQuotas::default() });
    assert_eq!(decoder.decode(&mut BytesMut::from(&bytes[..])).expect("valid"), Some(Record::SizedEnvelope(payload)));
}

#[test]
fn sized_envelope_header_then_payload_equals_encode() {
    for len in [1usize, 127, 128, 16_384] {
        let payload = Bytes::from(vec![0x5A; len]);
        let mut out = Vec::new();
        sized_envelope_header(len, &mut out);
        out.extend_from_slice(&payload);
        assert_eq!(out, encoded(&Record::SizedEnvelope(payload)), "{len}");
    }
}

#[test]
fn every_record_encodes_with_its_type_byte_first() {
    let records = [
        (Record::Version { major: 1, minor: 0 }, &b"\x00\x01\x00"[..]),
        (Record::Mode(Mode::SingletonSized), b"\x01\x04"),
        (Record::Via("v".into()), b"\x02\x01v"),
        (Record::KnownEncoding(KnownEncoding::Soap11Utf8), b"\x03\x00"),
        (Record::ExtensibleEncoding("a/b".into()), b"\x04\x03a/b"),
        (Record::UnsizedEnvelope, b"\x05"),
        (Record::SizedEnvelope("e".into()), b"\x06\x01e"),
        (Record::End, b"\x07"),
        (Record::Fault("f".into()), b"\x08\x01f"),
        (Record::UpgradeRequest("application/negotiate".into()), b"\x09\x15application/negotiate"),
        (Record::UpgradeResponse, b"\x0A"),
        (Record::PreambleAck, b"\x0B"),
        (Record::PreambleEnd, b"\x0C"),
    ];
    for (record, bytes) in records {
        assert_eq!(encoded(&record), bytes, "{record:?}");
        assert_eq!(record.record_type(), bytes[0]);
        assert_ne!(record.name(), "unknown");
        assert_eq!(decode_all(bytes), [record]);
    }
}

#[test]
fn unsized_envelope_decodes_as_its_type_byte_only() {
    let mut decoder = RecordDecoder::new(NmfQuotas::default());
    let mut buf = BytesMut::from(&b"\x05\x03abc\x00"[..]);
    assert_eq!(decoder.decode(&mut buf).expect("valid"), Some(Record::UnsizedEnvelope));
    assert_eq!(&buf[..], b"\x03abc\x00", "the chunks are left to the caller");
}

// ---------------------------------------------------------------------------------------------
// Decoder: quotas

#[test]
fn quotas_default_to_the_windows_values() {
    let q = NmfQuotas::default();
    assert_eq!((q.max_via_length, q.max_string_length, q.max_envelope_size), (2048, 256, 65536));
    let decoder = RecordDecoder::new(q);
    assert_eq!(decoder.max_record_len(), 65536 + 6);
}

#[test]
fn oversized_envelope_is_quota_exceeded_before_payload_arrives() {
    let mut decoder = RecordDecoder::new(NmfQuotas::default());
    let mut buf = BytesMut::new();
    sized_envelope_header_bytes(65537, &mut buf);
    let err = decoder.decode(&mut buf).expect_err("over quota");
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert_eq!(err.error().hresult().0 as u32, 0x803D_0008);
    assert_eq!(err.fault(), Some(faults::MAX_MESSAGE_SIZE_EXCEEDED));
    assert!(err.to_string().contains("65537"), "{err}");
}

#[test]
fn largest_announced_envelope_is_refused_from_its_five_length_bytes() {
    let mut buf = BytesMut::from(&[0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0x07][..]);
    let err = RecordDecoder::new(NmfQuotas::default()).decode(&mut buf).expect_err("over quota");
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert_eq!(err.fault(), Some(faults::MAX_MESSAGE_SIZE_EXCEEDED));
}

fn sized_envelope_header_bytes(len: usize, buf: &mut BytesMut) {
    let mut out = Vec::new();
    sized_envelope_header(len, &mut out);
    buf.extend_from_slice(&out);
}

#[test]
fn envelope_of_exactly_the_quota_is_accepted() {
    let quotas = NmfQuotas { max_envelope_size: 1000, ..NmfQuotas::default() };
    let payload = Bytes::from(vec![1u8; 1000]);
    let mut decoder = RecordDecoder::new(quotas.clone());
    let mut buf = BytesMut::from(&encoded(&Record::SizedEnvelope(payload.clone()))[..]);
    assert_eq!(decoder.decode(&mut buf).expect("at quota"), Some(Record::SizedEnvelope(payload)));
    let mut buf = BytesMut::from(&encoded(&Record::SizedEnvelope(Bytes::from(vec![1u8; 1001])))[..]);
    assert_eq!(RecordDecoder::new(quotas).decode(&mut buf).expect_err("over").kind(), ErrorKind::QuotaExceeded);
}

#[test]
fn set_max_envelope_size_applies_to_the_next_record() {
    let mut decoder = RecordDecoder::new(NmfQuotas::default());
    decoder.set_max_envelope_size(10);
    assert_eq!(decoder.quotas().max_envelope_size, 10);
    assert_eq!(decoder.max_record_len(), 2048 + 6, "the Via quota is now the largest");
    let mut buf = BytesMut::from(&encoded(&Record::SizedEnvelope(Bytes::from(vec![0u8; 11])))[..]);
    assert_eq!(decoder.decode(&mut buf).expect_err("over").kind(), ErrorKind::QuotaExceeded);
}

#[test]
fn oversized_strings_are_quota_exceeded_without_a_fault() {
    let quotas = NmfQuotas { max_via_length: 10, max_string_length: 5, max_envelope_size: 100 };
    let cases =
        [(Record::VIA, 11usize), (Record::FAULT, 6), (Record::EXTENSIBLE_ENCODING, 6), (Record::UPGRADE_REQUEST, 6)];
    for (record_type, len) in cases {
        let mut buf = BytesMut::from(&[record_type][..]);
        let mut len_bytes = Vec::new();
        write_multibyte_int31(len as u32, &mut len_bytes);
        buf.extend_from_slice(&len_bytes); // no payload at all: refused from the length alone
        let err = RecordDecoder::new(quotas.clone()).decode(&mut buf).expect_err("over quota");
        assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{record_type:#x}");
        assert_eq!(err.fault(), None, "Windows sends no fault for these ({record_type:#x})");
    }
    // One byte less is accepted.
    let ok = encoded(&Record::Via("0123456789".into()));
    assert!(RecordDecoder::new(quotas).decode(&mut BytesMut::from(&ok[..])).expect("at quota").is_some());
}

// ---------------------------------------------------------------------------------------------
// Decoder: malformed input

#[test]
fn unknown_record_types_are_invalid_format_without_a_fault() {
    for record_type in [0x0Du8, 0x10, 0x3C, 0x48, 0xFF] {
        let err = decode_err(&[record_type, 0x00]);
        assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{record_type:#x}");
        assert_eq!(err.fault(), None);
    }
}

#[test]
fn http_request_sent_to_a_net_tcp_port_is_invalid_format() {
    let err = decode_err(b"POST / HTTP/1.1\r\n");
    assert_eq!(err.kind(), ErrorKind::InvalidFormat);
    assert!(err.to_string().contains("0x50"), "{err}");
}

#[test]
fn undefined_mode_byte_is_invalid_format_with_the_unsupported_mode_fault() {
    for mode in [0x00u8, 0x05, 0xFF] {
        let err = decode_err(&[Record::MODE, mode]);
        assert_eq!(err.kind(), ErrorKind::InvalidFormat);
        assert_eq!(err.fault(), Some(faults::UNSUPPORTED_MODE));
    }
}

#[test]
fn undefined_known_encoding_byte_is_invalid_format_with_the_content_type_invalid_fault() {
    for encoding in [0x09u8, 0x80, 0xFF] {
        let err = decode_err(&[Record::KNOWN_ENCODING, encoding]);
        assert_eq!(err.kind(), ErrorKind::InvalidFormat);
        assert_eq!(err.fault(), Some(faults::CONTENT_TYPE_INVALID));
    }
}

#[test]
fn zero_length_variable_records_are_invalid_format_without_a_fault() {
    for record_type in
        [Record::VIA, Record::EXTENSIBLE_ENCODING, Record::SIZED_ENVELOPE, Record::FAULT, Record::UPGRADE_REQUEST]
    {
        let err = decode_err(&[record_type, 0x00, 0x07]);
        assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{record_type:#x}");
        assert_eq!(err.fault(), None);
        assert!(err.to_string().contains("zero"), "{err}");
    }
}

#[test]
fn overlong_length_prefix_is_invalid_format() {
    let err = decode_err(&[Record::SIZED_ENVELOPE, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
    assert_eq!(err.kind(), ErrorKind::InvalidFormat);
    assert_eq!(err.fault(), None);
    let err = decode_err(&[Record::VIA, 0x80, 0x80, 0x80, 0x80, 0x80]);
    assert_eq!(err.kind(), ErrorKind::InvalidFormat);
}

#[test]
fn invalid_utf8_strings_are_invalid_format() {
    for record_type in [Record::VIA, Record::EXTENSIBLE_ENCODING, Record::FAULT, Record::UPGRADE_REQUEST] {
        let err = decode_err(&[record_type, 0x02, 0xC3, 0x28]);
        assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{record_type:#x}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }
}

#[test]
fn decoder_refuses_to_continue_after_an_error() {
    let mut decoder = RecordDecoder::new(NmfQuotas::default());
    let mut buf = BytesMut::from(&[0xFF, Record::END][..]);
    assert_eq!(decoder.decode(&mut buf).expect_err("garbage").kind(), ErrorKind::InvalidFormat);
    buf.clear();
    buf.extend_from_slice(&[Record::END]);
    let err = decoder.decode(&mut buf).expect_err("poisoned");
    assert_eq!(err.kind(), ErrorKind::InvalidOperation);
    assert_eq!(buf.len(), 1, "nothing consumed");
}

#[test]
fn decode_error_converts_into_the_crate_error() {
    let err = decode_err(&[Record::SIZED_ENVELOPE, 0x00]);
    let message = err.to_string();
    let error: crate::Error = err.clone().into();
    assert_eq!(error.kind(), ErrorKind::InvalidFormat);
    assert_eq!(error.to_string(), message);
    assert_eq!(err.into_error().hresult().0 as u32, 0x803D_0000);
}

// ---------------------------------------------------------------------------------------------
// Modes, encodings, faults

#[test]
fn mode_and_known_encoding_bytes_round_trip() {
    for b in 0..=255u8 {
        if let Some(mode) = Mode::from_byte(b) {
            assert_eq!(mode as u8, b);
        } else {
            assert!(b == 0 || b >= 5, "{b}");
        }
        if let Some(encoding) = KnownEncoding::from_byte(b) {
            assert_eq!(encoding as u8, b);
        } else {
            assert!(b >= 9, "{b}");
        }
    }
}

#[test]
fn known_encoding_content_types_are_wcfs_framing_encoding_strings() {
    let expected = [
        "text/xml; charset=utf-8",
        "text/xml; charset=utf16",
        "text/xml; charset=unicodeFFFE",
        "application/soap+xml; charset=utf-8",
        "application/soap+xml; charset=utf16",
        "application/soap+xml; charset=unicodeFFFE",
        "multipart/related",
        "application/soap+msbin1",
        "application/soap+msbinsession1",
    ];
    for (encoding, content_type) in KnownEncoding::ALL.into_iter().zip(expected) {
        assert_eq!(encoding.content_type(), content_type);
        assert_eq!(KnownEncoding::from_content_type(content_type), Some(encoding));
        assert_eq!(Encoding::Known(encoding).content_type(), content_type);
    }
    assert_eq!(KnownEncoding::from_content_type("application/soap+msbinsession1+gzip"), None);
    assert_eq!(Encoding::Extensible("application/x".into()).content_type(), "application/x");
}

#[test]
fn fault_strings_are_the_mc_nmf_names_in_the_framing_namespace() {
    let names = [
        "ConnectionDispatchFailed",
        "ContentTypeInvalid",
        "ContentTypeTooLong",
        "EndpointAccessDenied",
        "EndpointNotFound",
        "EndpointPaused",
        "EndpointUnavailable",
        "InvalidRecordSequence",
        "MaxMessageSizeExceededFault",
        "ServerTooBusy",
        "ServiceActivationFailed",
        "UnsupportedMode",
        "UnsupportedVersion",
        "UpgradeInvalid",
        "ViaTooLong",
    ];
    for (fault, name) in faults::ALL.into_iter().zip(names) {
        assert_eq!(fault.strip_prefix(faults::NAMESPACE), Some(name));
    }
    assert_eq!(faults::ENDPOINT_NOT_FOUND, "http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointNotFound");
}

#[test]
fn each_fault_maps_to_its_error_kind_and_names_the_fault() {
    let table = [
        (faults::CONNECTION_DISPATCH_FAILED, ErrorKind::EndpointFailure),
        (faults::CONTENT_TYPE_INVALID, ErrorKind::NotSupported),
        (faults::CONTENT_TYPE_TOO_LONG, ErrorKind::QuotaExceeded),
        (faults::ENDPOINT_ACCESS_DENIED, ErrorKind::EndpointAccessDenied),
        (faults::ENDPOINT_NOT_FOUND, ErrorKind::EndpointNotFound),
        (faults::ENDPOINT_PAUSED, ErrorKind::EndpointNotAvailable),
        (faults::ENDPOINT_UNAVAILABLE, ErrorKind::EndpointNotAvailable),
        (faults::INVALID_RECORD_SEQUENCE, ErrorKind::EndpointFailure),
        (faults::MAX_MESSAGE_SIZE_EXCEEDED, ErrorKind::QuotaExceeded),
        (faults::SERVER_TOO_BUSY, ErrorKind::EndpointTooBusy),
        (faults::SERVICE_ACTIVATION_FAILED, ErrorKind::EndpointFailure),
        (faults::UNSUPPORTED_MODE, ErrorKind::NotSupported),
        (faults::UNSUPPORTED_VERSION, ErrorKind::NotSupported),
        (faults::UPGRADE_INVALID, ErrorKind::NotSupported),
        (faults::VIA_TOO_LONG, ErrorKind::QuotaExceeded),
        ("urn:example:vendor-fault", ErrorKind::EndpointFailure),
        ("", ErrorKind::EndpointFailure),
    ];
    assert_eq!(table.len(), faults::ALL.len() + 2);
    for (fault, kind) in table {
        let e = faults::error_for_fault(fault);
        assert_eq!(e.kind(), kind, "{fault}");
        assert!(e.to_string().contains(fault), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Responder preamble

fn feed(preamble: &mut ResponderPreamble, records: impl IntoIterator<Item = Record>) -> PreambleStep {
    let mut last = PreambleStep::Continue;
    for r in records {
        last = preamble.on_record(r);
        if !matches!(last, PreambleStep::Continue) {
            break;
        }
    }
    last
}

fn rejection(step: PreambleStep) -> (Option<&'static str>, crate::Error) {
    match step {
        PreambleStep::Reject { fault, error } => (fault, error),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn preamble_records() -> Vec<Record> {
    vec![
        Record::Version { major: 1, minor: 0 },
        Record::Mode(Mode::Duplex),
        Record::Via("net.tcp://h/p".into()),
        Record::KnownEncoding(KnownEncoding::Soap12Utf8),
        Record::PreambleEnd,
    ]
}

#[test]
fn duplex_preamble_with_an_extensible_encoding_completes() {
    let mut records = preamble_records();
    records[3] = Record::ExtensibleEncoding("application/soap+msbinsession1+gzip".into());
    let step = feed(&mut ResponderPreamble::default(), records);
    let PreambleStep::Complete(info) = step else { panic!("{step:?}") };
    assert_eq!(info.encoding, Encoding::Extensible("application/soap+msbinsession1+gzip".into()));
    assert_eq!(info.via, "net.tcp://h/p");
}

#[test]
fn preamble_minor_version_is_not_checked_like_wcf() {
    let mut records = preamble_records();
    records[0] = Record::Version { major: 1, minor: 7 };
    let step = feed(&mut ResponderPreamble::new(), records);
    let PreambleStep::Complete(info) = step else { panic!("{step:?}") };
    assert_eq!(info.version, (1, 7));
}

#[test]
fn preamble_major_version_other_than_1_is_refused_with_unsupported_version() {
    for major in [0u8, 2, 0xFF] {
        let mut preamble = ResponderPreamble::new();
        let (fault, error) = rejection(preamble.on_record(Record::Version { major, minor: 0 }));
        assert_eq!(fault, Some(faults::UNSUPPORTED_VERSION));
        assert_eq!(error.kind(), ErrorKind::NotSupported);
    }
}

#[test]
fn preamble_modes_other_than_duplex_are_refused_with_unsupported_mode() {
    for mode in [Mode::SingletonUnsized, Mode::Simplex, Mode::SingletonSized] {
        let mut records = preamble_records();
        records[1] = Record::Mode(mode);
        let (fault, error) = rejection(feed(&mut ResponderPreamble::new(), records));
        assert_eq!(fault, Some(faults::UNSUPPORTED_MODE), "{mode:?}");
        assert_eq!(error.kind(), ErrorKind::NotSupported);
    }
}

#[test]
fn preamble_upgrade_request_is_refused_with_upgrade_invalid() {
    for protocol in ["application/negotiate", "application/ssl-tls"] {
        let mut records = preamble_records();
        records.insert(4, Record::UpgradeRequest(protocol.into()));
        let (fault, error) = rejection(feed(&mut ResponderPreamble::new(), records));
        assert_eq!(fault, Some(faults::UPGRADE_INVALID));
        assert_eq!(error.kind(), ErrorKind::NotSupported);
        assert!(error.to_string().contains(protocol), "{error}");
    }
}

#[test]
fn preamble_records_out_of_order_are_invalid_format_without_a_fault() {
    let good = preamble_records();
    let cases: Vec<Vec<Record>> = vec![
        vec![good[1].clone()],                                                        // Mode first
        vec![good[0].clone(), good[2].clone()],                                       // Via before Mode
        vec![good[0].clone(), good[1].clone(), good[3].clone()],                      // encoding before Via
        vec![good[0].clone(), good[1].clone(), good[2].clone(), Record::PreambleEnd], // no encoding
        vec![good[0].clone(), good[1].clone(), good[2].clone(), good[3].clone(), Record::SizedEnvelope("x".into())],
        vec![good[0].clone(), good[0].clone()],                 // Version twice
        vec![Record::Fault(faults::ENDPOINT_NOT_FOUND.into())], // the initiator sends no faults
        vec![good[0].clone(), good[1].clone(), Record::UpgradeRequest("application/negotiate".into())],
    ];
    for records in cases {
        let (fault, error) = rejection(feed(&mut ResponderPreamble::new(), records.clone()));
        assert_eq!(fault, None, "{records:?}");
        assert_eq!(error.kind(), ErrorKind::InvalidFormat, "{records:?}");
    }
}

#[test]
fn preamble_records_after_completion_or_rejection_are_invalid_operation() {
    let mut done = ResponderPreamble::new();
    assert!(matches!(feed(&mut done, preamble_records()), PreambleStep::Complete(_)));
    let (fault, error) = rejection(done.on_record(Record::PreambleEnd));
    assert_eq!((fault, error.kind()), (None, ErrorKind::InvalidOperation));
    assert!(done.is_complete(), "a misplaced call does not undo the completion");

    let mut refused = ResponderPreamble::new();
    let _ = refused.on_record(Record::End);
    let (_, error) = rejection(refused.on_record(Record::Version { major: 1, minor: 0 }));
    assert_eq!(error.kind(), ErrorKind::InvalidOperation);
    assert!(!refused.is_complete());
}

// ---------------------------------------------------------------------------------------------
// Initiator preamble

#[test]
fn initiator_preamble_is_acked_by_preamble_ack() {
    let mut preamble = InitiatorPreamble::new();
    assert!(!preamble.is_acked());
    assert!(preamble.on_record(Record::PreambleAck).expect("acked"));
    assert!(preamble.is_acked());
    assert_eq!(preamble.on_record(Record::PreambleAck).expect_err("twice").kind(), ErrorKind::InvalidOperation);
}

#[test]
fn initiator_preamble_fault_becomes_the_faults_error() {
    let cases = [
        (faults::ENDPOINT_NOT_FOUND, ErrorKind::EndpointNotFound),
        (faults::CONTENT_TYPE_INVALID, ErrorKind::NotSupported),
        (faults::SERVER_TOO_BUSY, ErrorKind::EndpointTooBusy),
    ];
    for (fault, kind) in cases {
        let mut preamble = InitiatorPreamble::default();
        assert_eq!(preamble.on_record(Record::Fault(fault.into())).expect_err("fault").kind(), kind);
        assert!(!preamble.is_acked());
        assert_eq!(preamble.on_record(Record::PreambleAck).expect_err("failed").kind(), ErrorKind::InvalidOperation);
    }
}

#[test]
fn initiator_preamble_refuses_upgrade_response_and_anything_else_as_invalid_format() {
    for record in [Record::UpgradeResponse, Record::SizedEnvelope("x".into()), Record::End, Record::PreambleEnd] {
        let err = InitiatorPreamble::new().on_record(record.clone()).expect_err("not an ack");
        assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{record:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Session records

#[test]
fn session_passes_envelopes_until_end_and_refuses_anything_after_it() {
    for role in [Role::Initiator, Role::Responder] {
        let mut session = SessionRecords::new(role);
        assert_eq!(session.role(), role);
        for i in 0..3u8 {
            let payload = Bytes::from(vec![i; 3]);
            assert_eq!(
                session.on_record(Record::SizedEnvelope(payload.clone())).expect("envelope"),
                SessionEvent::Envelope(payload)
            );
        }
        assert!(!session.is_ended());
        assert_eq!(session.on_record(Record::End).expect("end"), SessionEvent::End);
        assert!(session.is_ended());
        let err = session.on_record(Record::SizedEnvelope("late".into())).expect_err("after End");
        assert_eq!(err.kind(), ErrorKind::InvalidFormat);
        assert!(err.to_string().contains("after the End"), "{err}");
        assert_eq!(session.on_record(Record::End).expect_err("failed").kind(), ErrorKind::InvalidOperation);
    }
}

#[test]
fn session_fault_towards_the_initiator_becomes_the_faults_error() {
    let mut session = SessionRecords::new(Role::Initiator);
    let err = session.on_record(Record::Fault(faults::MAX_MESSAGE_SIZE_EXCEEDED.into())).expect_err("fault");
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert!(err.to_string().contains("MaxMessageSizeExceededFault"));
}

#[test]
fn session_fault_towards_the_responder_is_invalid_format() {
    let mut session = SessionRecords::new(Role::Responder);
    let err = session.on_record(Record::Fault(faults::ENDPOINT_NOT_FOUND.into())).expect_err("not allowed");
    assert_eq!(err.kind(), ErrorKind::InvalidFormat);
}

#[test]
fn session_refuses_preamble_records_and_unsized_envelopes() {
    let records = [
        Record::UnsizedEnvelope,
        Record::PreambleAck,
        Record::PreambleEnd,
        Record::Version { major: 1, minor: 0 },
        Record::Via("net.tcp://h/".into()),
        Record::UpgradeRequest("application/negotiate".into()),
        Record::UpgradeResponse,
    ];
    for role in [Role::Initiator, Role::Responder] {
        for record in records.clone() {
            let err = SessionRecords::new(role).on_record(record.clone()).expect_err("not allowed");
            assert_eq!(err.kind(), ErrorKind::InvalidFormat, "{role:?} {record:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

fn arb_text() -> impl Strategy<Value = String> {
    ".{1,40}"
}

fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (any::<u8>(), any::<u8>()).prop_map(|(major, minor)| Record::Version { major, minor }),
        prop::sample::select(vec![Mode::SingletonUnsized, Mode::Duplex, Mode::Simplex, Mode::SingletonSized])
            .prop_map(Record::Mode),
        arb_text().prop_map(Record::Via),
        prop::sample::select(KnownEncoding::ALL.to_vec()).prop_map(Record::KnownEncoding),
        arb_text().prop_map(Record::ExtensibleEncoding),
        Just(Record::UnsizedEnvelope),
        prop::collection::vec(any::<u8>(), 1..400).prop_map(|v| Record::SizedEnvelope(Bytes::from(v))),
        Just(Record::End),
        arb_text().prop_map(Record::Fault),
        arb_text().prop_map(Record::UpgradeRequest),
        Just(Record::UpgradeResponse),
        Just(Record::PreambleAck),
        Just(Record::PreambleEnd),
    ]
}

/// Bytes that are often record type bytes, so that garbage reaches the length and payload
/// checks rather than stopping at an unknown type.
fn arb_noise() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![3 => 0u8..=0x0C, 2 => any::<u8>(), 1 => 0x80u8..=0xFF], 0..600)
}

/// Sorted cut positions inside `0..=len`.
fn cut_points(cuts: &[usize], len: usize) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
    points.push(len);
    points.sort_unstable();
    points.dedup();
    points
}

proptest! {
    #[test]
    fn encoded_records_decode_to_the_same_records_for_any_split_of_the_input(
        records in prop::collection::vec(arb_record(), 1..8),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut wire = Vec::new();
        for r in &records {
            encode(r, &mut wire);
        }
        let mut decoder = RecordDecoder::new(NmfQuotas::default());
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        let mut start = 0;
        for end in cut_points(&cuts, wire.len()) {
            buf.extend_from_slice(&wire[start..end]);
            start = end;
            while let Some(r) = decoder.decode(&mut buf).map_err(|e| TestCaseError::fail(e.to_string()))? {
                decoded.push(r);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, records);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_leave_more_than_one_records_quota_buffered(
        noise in arb_noise(),
        cuts in prop::collection::vec(any::<usize>(), 0..16),
        envelope_quota in 1usize..200,
    ) {
        let quotas = NmfQuotas { max_via_length: 64, max_string_length: 16, max_envelope_size: envelope_quota };
        let mut decoder = RecordDecoder::new(quotas);
        let bound = decoder.max_record_len();
        prop_assert!(bound <= 6 + 200);
        let mut buf = BytesMut::new();
        let mut start = 0;
        'feed: for end in cut_points(&cuts, noise.len()) {
            buf.extend_from_slice(&noise[start..end]);
            start = end;
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(record)) => {
                        if let Record::SizedEnvelope(p) = &record {
                            prop_assert!(!p.is_empty() && p.len() <= envelope_quota);
                        }
                    }
                    Ok(None) => {
                        prop_assert!(buf.len() < bound, "{} bytes buffered, bound {}", buf.len(), bound);
                        break;
                    }
                    Err(e) => {
                        prop_assert!(matches!(e.kind(), ErrorKind::InvalidFormat | ErrorKind::QuotaExceeded));
                        break 'feed;
                    }
                }
            }
        }
    }

    #[test]
    fn multibyte_int31_round_trips_every_31_bit_value_in_the_shortest_form(value in 0u32..=0x7FFF_FFFF) {
        let mut out = Vec::new();
        write_multibyte_int31(value, &mut out);
        let bits = 32 - value.leading_zeros() as usize;
        prop_assert_eq!(out.len(), bits.max(1).div_ceil(7));
        prop_assert_eq!(read_multibyte_int31(&out).map_err(|e| TestCaseError::fail(e.to_string()))?, Some((value, out.len())));
        for cut in 0..out.len() {
            prop_assert_eq!(read_multibyte_int31(&out[..cut]).map_err(|e| TestCaseError::fail(e.to_string()))?, None);
        }
    }

    #[test]
    fn multibyte_int31_reader_never_panics_and_reads_at_most_five_bytes(bytes in prop::collection::vec(any::<u8>(), 0..8)) {
        if let Ok(Some((value, used))) = read_multibyte_int31(&bytes) {
            prop_assert!(used <= 5 && used <= bytes.len());
            prop_assert!(value <= 0x7FFF_FFFF);
        }
    }

    #[test]
    fn responder_preamble_never_panics_and_stays_refused(records in prop::collection::vec(arb_record(), 0..10)) {
        let mut preamble = ResponderPreamble::new();
        let mut finished = false;
        for r in records {
            let step = preamble.on_record(r);
            if finished {
                let is_invalid_operation =
                    matches!(&step, PreambleStep::Reject { fault: None, error } if error.kind() == ErrorKind::InvalidOperation);
                prop_assert!(is_invalid_operation, "{:?}", step);
            }
            finished |= !matches!(step, PreambleStep::Continue);
        }
    }
}
