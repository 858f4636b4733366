//! A WS-Discovery datagram through `DiscoveryMessage::parse` with the default quotas
//! (MAX_ENVELOPE_SIZE, MAX_URI_SIZE).
#![no_main]

use libfuzzer_sys::fuzz_target;
use soapwire_proto::discovery::{DiscoveryMessage, DiscoveryQuotas};

fuzz_target!(|data: &[u8]| {
    let _ = DiscoveryMessage::parse(data, &DiscoveryQuotas::default());
});
