//! Micro-benchmarks of soapwire-proto's hot paths with divan: `cargo bench -p soapwire-proto`.
//!
//! Each benchmark function is one workload group of [`common::CASES`] and its divan arguments
//! are that group's inputs, so the timings here and the instruction counts of
//! `cargo xtask bench instructions` (benches/instructions.rs) measure the same calls.
//! Throughput is in bytes of input (for writes, of output).

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use divan::Bencher;
use divan::counter::BytesCount;

/// At least half a second per benchmark (divan's default takes 100 samples however short they
/// are, too few on this noisy 2-core machine); `--min-time` on the command line overrides it.
fn main() {
    divan::Divan::default().min_time(Duration::from_millis(500)).config_with_args().main();
}

/// Times workload `group/arg`.
fn bench_case(bencher: Bencher<'_, '_>, group: &str, arg: &str) {
    let prepared = common::prepare(group, arg);
    bencher.counter(BytesCount::new(prepared.bytes)).bench_local(|| (prepared.run)());
}

/// One divan benchmark function per workload group, its arguments the group's inputs.
macro_rules! groups {
    ($($(#[doc = $doc:literal])* $group:ident;)*) => {$(
        $(#[doc = $doc])*
        #[divan::bench(args = common::args(stringify!($group)))]
        fn $group(bencher: Bencher<'_, '_>, arg: &str) {
            bench_case(bencher, stringify!($group), arg);
        }
    )*};
}

groups! {
    /// `Envelope::parse` plus reading the body to its end: small envelopes and large bodies.
    envelope_read;
    /// The reads' ceiling: quick-xml's raw `Reader::read_event` loop over the same documents.
    quick_xml_raw;
    /// `write_envelope_with_body` of a parsed envelope's headers and body (what an echo does).
    envelope_write;
    /// `Envelope::header` and `AddressingHeaders::from_headers` on the eight-header envelope.
    header_lookup;
    /// `MultipartParser` over an MTOM message with a 16 MiB part, pushed in 64 KiB chunks.
    mime_boundary_search;
    /// The `base64` crate's standard engine on 1 MiB, as the echo service uses it.
    base64;
    /// `mtom::include_references`: a body with one `xop:Include`, and a 1 MiB body without.
    include_references;
    /// .NET Binary XML (`framing::binary`) on the net.tcp bench's echo request and reply:
    /// `encode_document`, `decode_document` and steady-state `SessionEncoder`/`SessionDecoder`.
    nbfx;
}
