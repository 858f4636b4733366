//! What `soapwire::udp` does with a received datagram: the intake every datagram a
//! `UdpListener` or `UdpChannel` reads goes through (size limit, multicast-loopback filter,
//! SOAP envelope of the right version within the reader quotas, addressing headers, a
//! `MessageID`, duplicates), through `soapwire::udp::FuzzIntake`, a doc-hidden wrapper around
//! the same code.
//!
//! Input: byte 0 configures the intake and the datagram, the rest is the datagram.
//! Bits 0–1: a listener with `any_envelope_version` (0, 3), a SOAP 1.2 channel (1), a SOAP 1.1
//! channel (2). Bit 2: the source is `[::1]` instead of `127.0.0.1`; with bit 7 as well, the
//! IPv4-mapped `[::ffff:127.0.0.1]`. Bit 3: multicast loopback off, `127.0.0.1` being one of
//! this host's addresses. Bit 4: the datagram is padded with spaces to one byte over the limit.
//! Bit 5: `max_buffered_message_size` 2048 instead of 1 MiB (the limit is then 2048, else the
//! 65536 cap).
//!
//! Checks: no panic; the limit is at most 65536; a datagram over the limit (hence any over
//! 65536 bytes), from a filtered source, or of the wrong envelope version is never delivered;
//! a delivered one has a `MessageID` header in a WS-Addressing namespace and the `MessageID`
//! the intake reports; the same datagram again, from the same or another source, is dropped
//! as a duplicate; the counters add up. A long-lived intake (as a listener's) also sees every
//! input, and a valid datagram with a new random `MessageID` must pass it afterwards.
//!
//! With `UDP_DATAGRAM_DEBUG` set, what the intake did with each input is printed.
#![no_main]

use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use soapwire::soapwire_proto::addressing::{WSA_1_0_NAMESPACE, WSA_2004_08_NAMESPACE};
use soapwire::udp::{FuzzIntake, MAX_UDP_MESSAGE_SIZE, UdpStats};
use soapwire::{ChannelProperties, EnvelopeVersion};

/// The long-lived intake, as a listener with `any_envelope_version` and default properties.
static LISTENER: OnceLock<FuzzIntake> = OnceLock::new();
/// `UDP_DATAGRAM_DEBUG` set: print what the fresh intake did with each input.
static DEBUG: OnceLock<bool> = OnceLock::new();

fn dropped(s: &UdpStats) -> u64 {
    s.malformed + s.oversize + s.no_message_id + s.duplicates + s.looped_back
}

/// A valid SOAP 1.2 / WS-Addressing 1.0 datagram with a `MessageID` no input can know.
fn probe() -> (String, Vec<u8>) {
    let id = format!("urn:uuid:{:016x}-{:016x}", RandomState::new().hash_one(1u8), RandomState::new().hash_one(2u8));
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://example.org/echo/echo</a:Action><a:MessageID>{id}</a:MessageID><a:To s:mustUnderstand="1">soap.udp://127.0.0.1:4000/echo</a:To></s:Header><s:Body><e:echo xmlns:e="http://example.org/echo"><e:message>probe</e:message></e:echo></s:Body></s:Envelope>"#
    );
    (id, xml.into_bytes())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let version = match control & 3 {
        1 => Some(EnvelopeVersion::Soap12),
        2 => Some(EnvelopeVersion::Soap11),
        _ => None,
    };
    let from: SocketAddr = match (control & 4 != 0, control & 0x80 != 0) {
        (false, _) => (Ipv4Addr::LOCALHOST, 3702).into(),
        (true, false) => (Ipv6Addr::LOCALHOST, 3702).into(),
        (true, true) => (Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 3702).into(),
    };
    let loopback_off = control & 8 != 0;
    let local_sources = loopback_off.then(|| vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let filtered_source = loopback_off && from.ip().to_canonical() == IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut properties = ChannelProperties::default();
    properties.max_buffered_message_size = if control & 0x20 != 0 { 2048 } else { 1 << 20 };
    if let Some(v) = version {
        properties.envelope_version = v;
    }
    let intake = FuzzIntake::new(&properties, version.is_none(), local_sources);
    let limit = intake.limit();
    assert!(limit <= MAX_UDP_MESSAGE_SIZE, "the limit {limit} is over 65536");

    let padded;
    let datagram: &[u8] = if control & 0x10 != 0 {
        let mut p = rest.to_vec();
        if p.len() <= limit {
            p.resize(limit + 1, b' ');
        }
        padded = p;
        &padded
    } else {
        rest
    };

    let delivered = intake.accept(datagram, from);
    let mut deliveries = 0u64;
    if let Some((envelope, addressing)) = &delivered {
        deliveries += 1;
        assert!(datagram.len() <= limit, "a {}-byte datagram passed a {limit}-byte limit", datagram.len());
        assert!(datagram.len() <= MAX_UDP_MESSAGE_SIZE);
        assert!(!filtered_source, "a datagram from a filtered source ({from}) was delivered");
        if let Some(v) = version {
            assert_eq!(envelope.version, v, "a datagram of the other envelope version was delivered");
        }
        let message_id = addressing.message_id.as_deref().expect("a delivered datagram has a MessageID");
        let has_header = envelope.headers.iter().any(|h| {
            h.name.local == "MessageID"
                && (h.name.namespace == WSA_1_0_NAMESPACE || h.name.namespace == WSA_2004_08_NAMESPACE)
        });
        assert!(has_header, "delivered with MessageID {message_id:?} but no MessageID header");
        // Retransmissions: the same bytes again, from the sender or from anyone else.
        assert!(intake.accept(datagram, from).is_none(), "a duplicate was delivered");
        let other: SocketAddr = (Ipv6Addr::LOCALHOST, 9).into();
        assert!(intake.accept(datagram, other).is_none(), "a duplicate from another source was delivered");
        let stats = intake.stats();
        assert_eq!(stats.duplicates, 2);
    }
    let stats = intake.stats();
    if *DEBUG.get_or_init(|| std::env::var_os("UDP_DATAGRAM_DEBUG").is_some()) {
        eprintln!("udp_datagram: delivered: {}; {stats:?}", delivered.is_some());
    }
    assert_eq!(stats.received, dropped(&stats) + deliveries, "the counters do not add up: {stats:?}");
    if datagram.len() > limit {
        assert_eq!(stats.oversize, 1);
    }

    // The long-lived intake: takes the input, then still takes a valid datagram.
    let listener = LISTENER.get_or_init(|| FuzzIntake::new(&ChannelProperties::default(), true, None));
    let before = listener.stats();
    let kept = listener.accept(datagram, from).is_some();
    assert!(!kept || datagram.len() <= MAX_UDP_MESSAGE_SIZE);
    let (id, valid) = probe();
    let accepted = listener.accept(&valid, (Ipv4Addr::LOCALHOST, 40000).into());
    let got = accepted.as_ref().and_then(|(_, a)| a.message_id.as_deref());
    assert_eq!(got, Some(id.as_str()), "the long-lived intake refused a valid datagram: {:?}", listener.stats());
    let after = listener.stats();
    assert_eq!(after.received - before.received, 2);
    assert_eq!(dropped(&after) - dropped(&before), u64::from(!kept));
});
