//! Envelope parse and write throughput against quick-xml's raw event loop, the measuring
//! side of `cargo xtask bench xml` (which builds this in release, runs it and prints the
//! tables; run alone, it prints its raw lines).
//!
//! Per document of [`common::documents`], reads (ceiling first):
//! * `quick-xml raw`: `Reader::from_reader(&[u8])` + `read_event()` to Eof, no namespaces;
//! * `quick-xml ns`: `NsReader` + `read_resolved_event()` to Eof;
//! * `soapwire parse`: `Envelope::parse` (checks the whole document, cuts headers and body);
//! * `soapwire parse+body`: that plus reading the body with `Body::reader` to Eof.
//!
//! and writes of the parsed envelope's content (ceiling first):
//! * `memcpy`: `Vec::with_capacity` + `extend_from_slice` of what `write_envelope_with_body` writes;
//! * `write_envelope_with_body`: headers and the received body (bindings re-declared);
//! * `write_envelope`: headers and the body bytes as they are (bodies that declare their
//!   namespaces only).
//!
//! Before measuring, every document is checked: both quick-xml loops reach Eof, soapwire
//! parses it, and each write parses back to the same version, headers and body events.
//!
//! ```text
//! xml [--millis N] [--repeats N] [--smoke]
//! ```
//!
//! Output, tab-separated: `DOC name bytes`, `CHECK name what`, and one
//! `SAMPLE doc kind case rep bytes iterations ns_per_iteration` per measurement, repeats
//! interleaved (every case of every document once per repeat). `--smoke`: one call per
//! case and repeat, for the checks only. Run by `cargo bench` (`--bench`) it makes a smoke run
//! whatever the other arguments.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use quick_xml::NsReader;
use quick_xml::events::Event;
use soapwire_proto::soap::{Envelope, write_envelope, write_envelope_with_body};
use soapwire_proto::xml::{ReaderQuotas, XmlEvent, XmlReader};

use common::{Doc, MAX_HEADERS, quick_xml_raw, read_envelope};

/// How long calibration runs a case before sizing its samples.
const CALIBRATION: Duration = Duration::from_millis(20);

/// Command-line options.
struct Options {
    millis: u64,
    repeats: usize,
    smoke: bool,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut o = Options { millis: 200, repeats: 5, smoke: false };
        let all: Vec<String> = std::env::args().skip(1).collect();
        // Under `cargo bench`, whose other arguments (filters, divan's options) are not ours.
        if all.iter().any(|a| a == "--bench") {
            println!("xml: smoke run (checks only); `cargo xtask bench xml` measures");
            o.smoke = true;
            o.repeats = 1;
            return Ok(o);
        }
        let mut args = all.into_iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                args.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a whole number"))
            };
            match arg.as_str() {
                "--millis" => o.millis = number("--millis")?.max(1),
                "--repeats" => o.repeats = usize::try_from(number("--repeats")?.max(1)).unwrap_or(1),
                "--smoke" => o.smoke = true,
                other => {
                    return Err(format!("unknown option {other:?}; usage: xml [--millis N] [--repeats N] [--smoke]"));
                }
            }
        }
        if o.smoke {
            o.repeats = 1;
        }
        Ok(o)
    }
}

/// One measured case: a call returning something to keep alive, over `bytes` bytes.
struct Case<'a> {
    doc: &'static str,
    kind: &'static str,
    label: &'static str,
    bytes: usize,
    call: Box<dyn Fn() -> usize + 'a>,
    iterations: u64,
}

/// quick-xml with namespace resolution of every element name.
fn quick_xml_ns(doc: &[u8]) -> quick_xml::Result<usize> {
    let mut reader = NsReader::from_reader(doc);
    let mut events = 0;
    loop {
        match reader.read_resolved_event()? {
            (_, Event::Eof) => return Ok(events),
            resolved => {
                black_box(&resolved);
                events += 1;
            }
        }
    }
}

/// All events of a fragment reader, to compare two envelopes' content.
fn events(mut reader: XmlReader<'_>) -> soapwire_proto::Result<Vec<XmlEvent<'_>>> {
    let mut out = Vec::new();
    loop {
        match reader.next()? {
            XmlEvent::Eof => return Ok(out),
            event => out.push(event),
        }
    }
}

/// Whether `written` parses back to the version, headers and body events of `original`.
fn same_content(original: &Envelope, written: &[u8], quotas: &ReaderQuotas) -> Result<(), String> {
    let (back, _) = read_envelope(&bytes::Bytes::copy_from_slice(written), quotas)
        .map_err(|e| format!("the written envelope does not parse: {e}"))?;
    if back.version != original.version || back.headers.len() != original.headers.len() {
        return Err("version or header count differs".into());
    }
    for (a, b) in original.headers.iter().zip(&back.headers) {
        let same = a.name == b.name
            && a.must_understand == b.must_understand
            && a.role == b.role
            && events(a.reader(quotas).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?
                == events(b.reader(quotas).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        if !same {
            return Err(format!("header {} differs after the round trip", a.name));
        }
    }
    let body = |e: &Envelope| events(e.body.reader(quotas)?).map(|v| format!("{v:?}"));
    if body(original).map_err(|e| e.to_string())? != body(&back).map_err(|e| e.to_string())? {
        return Err("the body differs after the round trip".into());
    }
    Ok(())
}

/// The checks of one document; returns its parsed envelope.
fn check(doc: &Doc, quotas: &ReaderQuotas) -> Result<Envelope, String> {
    let raw = quick_xml_raw(&doc.wire).map_err(|e| format!("{}: quick-xml raw: {e}", doc.name))?;
    let ns = quick_xml_ns(&doc.wire).map_err(|e| format!("{}: quick-xml ns: {e}", doc.name))?;
    let (envelope, body_events) =
        read_envelope(&doc.wire, quotas).map_err(|e| format!("{}: soapwire: {e}", doc.name))?;
    println!(
        "CHECK\t{}\tparsed: {raw} quick-xml events ({ns} with NsReader), {} headers, {body_events} body events",
        doc.name,
        envelope.headers.len()
    );
    let with_body = write_envelope_with_body(envelope.version, &envelope.headers, &envelope.body);
    same_content(&envelope, &with_body, quotas).map_err(|e| format!("{}: write_envelope_with_body: {e}", doc.name))?;
    println!("CHECK\t{}\twrite_envelope_with_body round trip equal", doc.name);
    if doc.self_contained_body {
        let plain = write_envelope(envelope.version, &envelope.headers, &envelope.body.xml);
        same_content(&envelope, &plain, quotas).map_err(|e| format!("{}: write_envelope: {e}", doc.name))?;
        println!("CHECK\t{}\twrite_envelope round trip equal", doc.name);
    }
    Ok(envelope)
}

/// The cases of one document (reads, then writes; ceilings first).
fn cases<'a>(doc: &'a Doc, envelope: &'a Envelope, quotas: &'a ReaderQuotas) -> Vec<Case<'a>> {
    let wire = &doc.wire;
    let written = write_envelope_with_body(envelope.version, &envelope.headers, &envelope.body);
    let written_len = written.len();
    let case = |kind, label, bytes, call: Box<dyn Fn() -> usize + 'a>| Case {
        doc: doc.name,
        kind,
        label,
        bytes,
        call,
        iterations: 1,
    };
    let mut out = vec![
        case("read", "quick-xml raw", wire.len(), Box::new(move || quick_xml_raw(black_box(wire)).unwrap_or(0))),
        case("read", "quick-xml ns", wire.len(), Box::new(move || quick_xml_ns(black_box(wire)).unwrap_or(0))),
        case(
            "read",
            "soapwire parse",
            wire.len(),
            Box::new(move || {
                Envelope::parse(black_box(wire).clone(), None, quotas, MAX_HEADERS).map_or(0, |e| e.headers.len())
            }),
        ),
        case(
            "read",
            "soapwire parse+body",
            wire.len(),
            Box::new(move || read_envelope(black_box(wire), quotas).map_or(0, |(_, events)| events)),
        ),
        case(
            "write",
            "memcpy",
            written.len(),
            Box::new(move || {
                let src = black_box(&written);
                let mut v = Vec::with_capacity(src.len());
                v.extend_from_slice(src);
                black_box(v).len()
            }),
        ),
        case(
            "write",
            "write_envelope_with_body",
            written_len,
            Box::new(move || {
                let e = black_box(envelope);
                write_envelope_with_body(e.version, &e.headers, &e.body).len()
            }),
        ),
    ];
    if doc.self_contained_body {
        let plain_len = write_envelope(envelope.version, &envelope.headers, &envelope.body.xml).len();
        out.push(case(
            "write",
            "write_envelope",
            plain_len,
            Box::new(move || {
                let e = black_box(envelope);
                write_envelope(e.version, &e.headers, &e.body.xml).len()
            }),
        ));
    }
    out
}

/// Runs `case` for about `CALIBRATION` and sizes its samples to last about `target`.
fn calibrate(case: &mut Case<'_>, target: Duration) {
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < CALIBRATION {
        black_box((case.call)());
        calls += 1;
    }
    let per_call = started.elapsed().as_secs_f64() / calls as f64;
    case.iterations = ((target.as_secs_f64() / per_call).ceil() as u64).max(1);
}

/// One sample: nanoseconds per call over `case.iterations` calls.
fn sample(case: &Case<'_>) -> f64 {
    let started = Instant::now();
    for _ in 0..case.iterations {
        black_box((case.call)());
    }
    started.elapsed().as_secs_f64() * 1e9 / case.iterations as f64
}

fn main() -> ExitCode {
    let o = match Options::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xml: {e}");
            return ExitCode::from(2);
        }
    };
    let quotas = ReaderQuotas::default();
    let docs = common::documents();
    let mut envelopes = Vec::new();
    for doc in &docs {
        println!("DOC\t{}\t{}", doc.name, doc.wire.len());
        match check(doc, &quotas) {
            Ok(envelope) => envelopes.push(envelope),
            Err(e) => {
                eprintln!("xml: check failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut all: Vec<Case<'_>> =
        docs.iter().zip(&envelopes).flat_map(|(doc, envelope)| cases(doc, envelope, &quotas)).collect();
    if !o.smoke {
        let target = Duration::from_millis(o.millis);
        for case in &mut all {
            calibrate(case, target);
        }
    }
    for rep in 1..=o.repeats {
        for case in &all {
            let ns = sample(case);
            println!(
                "SAMPLE\t{}\t{}\t{}\t{rep}\t{}\t{}\t{ns:.1}",
                case.doc, case.kind, case.label, case.bytes, case.iterations
            );
        }
    }
    ExitCode::SUCCESS
}
