//! Tests of the MIME layer, named for the behaviour they pin down.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::error::{ErrorKind, Result};

const SEED: &str = "3f1c2a9e-5b7d-4e21-8c0f-9a6b4d2e7f10";
const ENVELOPE: &[u8] = b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body/></s:Envelope>";

/// The gSOAP echo server's MTOM reply to `echoData("AAEC")`, captured over loopback with
/// `echo_server -a 127.0.0.1 -p 18190 -m` and
/// `curl -s -D - --data-binary @req.xml -H 'Content-Type: text/xml; charset=utf-8'
/// -H 'SOAPAction: "http://example.org/echo/echoData"' http://127.0.0.1:18190/`: the HTTP
/// body byte for byte, and the response's Content-Type header value.
const GSOAP_REPLY: &[u8] = include_bytes!("../../tests/fixtures/gsoap_mtom_echo_data_reply.bin");
const GSOAP_CONTENT_TYPE: &str = include_str!("../../tests/fixtures/gsoap_mtom_echo_data_reply.content-type");

/// One parsed part: headers and the concatenated body.
type Part = (PartHeaders, Vec<u8>);

/// Builds an MTOM message with the writer: `parts[0]` is the envelope, the others are
/// attachments `att{i}@example.org` of type `application/octet-stream`.
fn build(parts: &[&[u8]]) -> (String, Vec<u8>) {
    let mut w = MultipartWriter::new(SEED, "root@example.org", SOAP12_START_INFO).expect("valid writer arguments");
    let mut out = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let header = if i == 0 {
            w.start_root()
        } else {
            w.start_part(&format!("att{i}@example.org"), "application/octet-stream")
        };
        out.extend_from_slice(&header.expect("part header"));
        out.extend_from_slice(&w.data(Bytes::copy_from_slice(data)).expect("part data"));
    }
    out.extend_from_slice(&w.finish().expect("closing delimiter"));
    (w.content_type(), out)
}

/// How a test hands the body to the parser.
#[derive(Clone, Copy, Debug)]
enum Feed {
    /// `push(&[u8])`.
    Slices,
    /// `push_bytes(Bytes)`.
    Segments,
    /// Alternately `push_bytes` and `push`, starting with `push_bytes`.
    Mixed,
}

/// Parses `body` pushed in chunks of the given sizes (cycled), checking the event grammar
/// (`(PartStart PartData* PartEnd)+ End`) and that the parser's buffer stays small.
fn parse_with(boundary: &str, quotas: MimeQuotas, body: &[u8], sizes: &[usize]) -> Result<Vec<Part>> {
    parse_fed(boundary, quotas, body, sizes, Feed::Slices)
}

/// [`parse_with`], feeding the chunks as `feed` says.
fn parse_fed(boundary: &str, quotas: MimeQuotas, body: &[u8], sizes: &[usize], feed: Feed) -> Result<Vec<Part>> {
    let mut p = MultipartParser::new(boundary, quotas)?;
    let mut parts: Vec<Part> = Vec::new();
    let mut in_part = false;
    let mut ended = false;
    let mut rest = body;
    let mut i = 0;
    loop {
        while let Some(event) = p.poll_event() {
            assert!(!ended, "no event may follow End");
            match event? {
                MultipartEvent::PartStart { headers } => {
                    assert!(!in_part, "PartStart inside a part");
                    in_part = true;
                    parts.push((headers, Vec::new()));
                }
                MultipartEvent::PartData(data) => {
                    assert!(in_part, "PartData outside a part");
                    assert!(!data.is_empty(), "PartData is never empty");
                    if let Some((_, body)) = parts.last_mut() {
                        body.extend_from_slice(&data);
                    }
                }
                MultipartEvent::PartEnd => {
                    assert!(in_part, "PartEnd outside a part");
                    in_part = false;
                }
                MultipartEvent::End => {
                    assert!(!in_part, "End inside a part");
                    ended = true;
                }
            }
        }
        // Drained: only a carry-over (or a header block / padding being read) is held.
        assert!(
            p.buffered_bytes() <= boundary.len() + 5 + MAX_TRANSPORT_PADDING + 512,
            "parser holds {} bytes after draining",
            p.buffered_bytes()
        );
        if rest.is_empty() {
            break;
        }
        let n = sizes.get(i % sizes.len().max(1)).copied().unwrap_or(rest.len()).clamp(1, rest.len());
        i += 1;
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        match feed {
            Feed::Slices => p.push(chunk)?,
            Feed::Mixed if i % 2 == 0 => p.push(chunk)?,
            Feed::Segments | Feed::Mixed => p.push_bytes(Bytes::copy_from_slice(chunk))?,
        }
    }
    p.finish()?;
    assert!(ended, "finish succeeded, so End must have been reported");
    Ok(parts)
}

/// One event with part data merged: what a parse means, whatever the chunking.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Start(PartHeaders),
    Data(Vec<u8>),
    End,
    Closed,
}

/// The events of parsing `body` in one `push` (`sizes` = `None`) or as `push_bytes`
/// segments of the given sizes (cycled), adjacent data merged, and the error if any.
fn seen(boundary: &str, quotas: MimeQuotas, body: &[u8], sizes: Option<&[usize]>) -> (Vec<Seen>, Option<ErrorKind>) {
    let mut out = Vec::new();
    let result = (|| -> Result<()> {
        let mut p = MultipartParser::new(boundary, quotas)?;
        let mut drain = |p: &mut MultipartParser| -> Result<()> {
            while let Some(event) = p.poll_event() {
                match event? {
                    MultipartEvent::PartStart { headers } => out.push(Seen::Start(headers)),
                    MultipartEvent::PartData(d) => match out.last_mut() {
                        Some(Seen::Data(v)) => v.extend_from_slice(&d),
                        _ => out.push(Seen::Data(d.to_vec())),
                    },
                    MultipartEvent::PartEnd => out.push(Seen::End),
                    MultipartEvent::End => out.push(Seen::Closed),
                }
            }
            Ok(())
        };
        match sizes {
            None => {
                p.push(body)?;
                drain(&mut p)?;
            }
            Some(sizes) => {
                let mut rest = Bytes::copy_from_slice(body);
                let mut i = 0;
                while !rest.is_empty() {
                    let n = sizes.get(i % sizes.len().max(1)).copied().unwrap_or(rest.len()).clamp(1, rest.len());
                    i += 1;
                    p.push_bytes(rest.split_to(n))?;
                    drain(&mut p)?;
                }
            }
        }
        p.finish()
    })();
    (out, result.err().map(|e| e.kind()))
}

/// An MTOM message whose delimiter lines vary: CRLF and bare LF, transport padding, a
/// preamble and an epilogue, and data that contains the boundary's beginnings.
fn varied_message(boundary: &str) -> Vec<u8> {
    let look = lookalike(boundary);
    let mut wire = b"preamble\r\n".to_vec();
    wire.extend_from_slice(format!("--{boundary} \t\r\nContent-ID: <a>\r\n\r\n").as_bytes());
    wire.extend_from_slice(&look);
    wire.extend_from_slice(format!("\n--{boundary}\nContent-ID: <b>\n\n").as_bytes());
    wire.extend_from_slice(b"\r\r\n-");
    wire.extend_from_slice(format!("\r\n--{boundary}\t\r\n\r\n").as_bytes());
    wire.extend_from_slice(format!("\r\n--{boundary}--  \r\nepilogue").as_bytes());
    wire
}

fn parse(boundary: &str, body: &[u8]) -> Result<Vec<Part>> {
    parse_with(boundary, MimeQuotas::default(), body, &[body.len().max(1)])
}

fn bodies(parts: &[Part]) -> Vec<&[u8]> {
    parts.iter().map(|(_, b)| b.as_slice()).collect()
}

fn kind<T: std::fmt::Debug>(r: Result<T>) -> ErrorKind {
    r.expect_err("an error was expected").kind()
}

/// Data that contains the delimiter's beginnings without ever forming a real delimiter.
fn lookalike(boundary: &str) -> Vec<u8> {
    let half = boundary.get(..boundary.len() / 2).unwrap_or_default();
    let mut v = Vec::new();
    for piece in [
        format!("\r\n--{half}"),
        "\r\n--".to_owned(),
        format!("\n--{half}\r\n"),
        format!("\r\n--{boundary}x\r\n"),
        format!("\r\n--{boundary}-x"),
        format!("\r\n--{boundary} \tx\r\n"),
        format!("\r\n--{boundary}\rx"),
        "\r\r\n\n--".to_owned(),
    ] {
        v.extend_from_slice(piece.as_bytes());
        v.extend_from_slice(b"\x00\xff");
    }
    v.extend_from_slice(format!("\r\n--{half}").as_bytes());
    v
}

// ---------------------------------------------------------------- content types

#[test]
fn multipart_type_parses_quoted_and_unquoted_parameters_case_insensitively() -> Result<()> {
    let ct = MultipartType::parse(
        "Multipart/Related;TYPE=application/xop+xml; Boundary=uuid:0a1b+id=1 ;\tstart=\"<root@x>\"; \
         start-info=\"application/soap+xml; action=\\\"urn:a\\\"\";",
    )?;
    assert_eq!(ct.boundary, "uuid:0a1b+id=1");
    assert_eq!(ct.root_type.as_deref(), Some("application/xop+xml"));
    assert!(ct.is_xop());
    assert_eq!(ct.start.as_deref(), Some("root@x"));
    assert_eq!(ct.start_info.as_deref(), Some("application/soap+xml; action=\"urn:a\""));
    assert_eq!(ct.media_type.param("START-INFO"), ct.start_info.as_deref());
    Ok(())
}

#[test]
fn multipart_type_without_start_has_no_start() -> Result<()> {
    let ct = MultipartType::parse("multipart/related; boundary=abc")?;
    assert_eq!((&ct.start, &ct.start_info, &ct.root_type), (&None, &None, &None));
    assert!(!ct.is_xop());
    Ok(())
}

#[test]
fn boundary_of_1_to_70_characters_is_accepted_and_others_are_invalid_format() {
    let b70 = "b".repeat(70);
    assert!(MultipartType::parse(&format!("multipart/related; boundary={b70}")).is_ok());
    assert!(MultipartType::parse("multipart/related; boundary=x").is_ok());
    for bad in [
        format!("boundary={}", "b".repeat(71)),
        "boundary=\"\"".to_owned(),
        "boundary=\"ends with space \"".to_owned(),
        "boundary=\"semi;colon\"".to_owned(),
        "boundary=\"caf\u{e9}\"".to_owned(),
        "charset=utf-8".to_owned(),
    ] {
        let r = MultipartType::parse(&format!("multipart/related; {bad}"));
        assert_eq!(kind(r), ErrorKind::InvalidFormat, "{bad}");
    }
    assert_eq!(kind(MultipartParser::new(&"b".repeat(71), MimeQuotas::default())), ErrorKind::InvalidFormat);
}

#[test]
fn non_multipart_related_content_types_are_invalid_format() {
    for ct in ["text/xml; charset=utf-8", "multipart/mixed; boundary=abc", "multipart", "", "multipart/related; =x"] {
        assert_eq!(kind(MultipartType::parse(ct)), ErrorKind::InvalidFormat, "{ct:?}");
    }
}

#[test]
fn media_type_rejects_duplicate_parameters_and_unterminated_quotes() {
    assert_eq!(kind(MediaType::parse("multipart/related; boundary=a; BOUNDARY=b")), ErrorKind::InvalidFormat);
    assert_eq!(kind(MediaType::parse("multipart/related; boundary=\"abc")), ErrorKind::InvalidFormat);
    assert_eq!(kind(MediaType::parse("multipart/related; boundary=\"a\rb\"")), ErrorKind::InvalidFormat);
}

#[test]
fn start_parameter_with_unbalanced_brackets_is_invalid_format() {
    assert_eq!(kind(MultipartType::parse("multipart/related; boundary=a; start=\"<x\"")), ErrorKind::InvalidFormat);
    assert_eq!(kind(MultipartType::parse("multipart/related; boundary=a; start=\"<>\"")), ErrorKind::InvalidFormat);
}

// ---------------------------------------------------------------- round trips

#[test]
fn round_trip_in_every_chunk_size_from_1_to_17() -> Result<()> {
    let big: Vec<u8> = (0..1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let writer = MultipartWriter::new(SEED, "r@x", SOAP12_START_INFO)?;
    let look = lookalike(writer.boundary());
    let parts: [&[u8]; 5] = [ENVELOPE, b"", b"\x07", &big, &look];
    let (content_type, wire) = build(&parts);
    let ct = MultipartType::parse(&content_type)?;
    for size in 1..=17 {
        let got = parse_with(&ct.boundary, MimeQuotas::default(), &wire, &[size])?;
        assert_eq!(bodies(&got), parts, "chunk size {size}");
        let ids: Vec<_> = got.iter().map(|(h, _)| h.content_id().unwrap_or_default()).collect();
        assert_eq!(
            ids,
            ["root@example.org", "att1@example.org", "att2@example.org", "att3@example.org", "att4@example.org"]
        );
    }
    // And all at once.
    assert_eq!(bodies(&parse(&ct.boundary, &wire)?), parts);
    Ok(())
}

/// The envelope then `data` as parts, the parts flagged in `lookalikes` with a line that
/// looks like the delimiter in their middle; and the boundary that `build` uses.
fn random_parts(data: Vec<Vec<u8>>, lookalikes: &[bool]) -> (String, Vec<Vec<u8>>) {
    let boundary = format!("soapwire_{SEED}");
    let look = lookalike(&boundary);
    let mut parts: Vec<Vec<u8>> = vec![ENVELOPE.to_vec()];
    for (i, mut d) in data.into_iter().enumerate() {
        if lookalikes.get(i).copied().unwrap_or(false) {
            let at = d.len() / 2;
            d.splice(at..at, look.iter().copied());
        }
        parts.push(d);
    }
    (boundary, parts)
}

proptest! {
    #[test]
    fn round_trip_with_random_parts_and_chunkings(
        data in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..5),
        lookalikes in prop::collection::vec(any::<bool>(), 5),
        sizes in prop::collection::vec(1usize..300, 1..20),
    ) {
        let (boundary, parts) = random_parts(data, &lookalikes);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let (_, wire) = build(&refs);
        let got = parse_with(&boundary, MimeQuotas::default(), &wire, &sizes).expect("round trip parses");
        prop_assert_eq!(bodies(&got), refs);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_memory_stays_bounded(
        body in prop::collection::vec(prop::sample::select(b"-\r\n abAB:<>".to_vec()), 0..2000),
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let quotas = MimeQuotas { max_header_bytes: 256, max_preamble_bytes: 256, ..MimeQuotas::default() };
        // Any outcome is fine; the grammar and buffer assertions in parse_with must hold.
        let _ = parse_with("ab", quotas, &body, &sizes);
    }

    #[test]
    fn bytes_segments_give_the_same_events_as_one_slice(
        data in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..5),
        lookalikes in prop::collection::vec(any::<bool>(), 5),
        sizes in prop::collection::vec(1usize..400, 1..20),
    ) {
        let (boundary, parts) = random_parts(data, &lookalikes);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let (_, wire) = build(&refs);
        let whole = seen(&boundary, MimeQuotas::default(), &wire, None);
        prop_assert_eq!(whole.1, None);
        prop_assert_eq!(&seen(&boundary, MimeQuotas::default(), &wire, Some(&sizes)), &whole);
        let mixed = parse_fed(&boundary, MimeQuotas::default(), &wire, &sizes, Feed::Mixed).expect("mixed pushes parse");
        prop_assert_eq!(bodies(&mixed), refs);
    }

    #[test]
    fn hostile_bytes_in_segments_fail_or_succeed_as_one_slice_does(
        body in prop::collection::vec(prop::sample::select(b"-\r\n \tabAB:<>".to_vec()), 0..2000),
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let quotas = MimeQuotas { max_header_bytes: 256, max_preamble_bytes: 256, max_part_size: 300, ..MimeQuotas::default() };
        let (whole, whole_error) = seen("ab", quotas, &body, None);
        let (split, split_error) = seen("ab", quotas, &body, Some(&sizes));
        prop_assert_eq!(whole_error, split_error);
        if whole_error.is_none() {
            prop_assert_eq!(split, whole);
        } else {
            // Data before a failure may be handed out in either amount; the structure may not differ.
            let structure = |v: Vec<Seen>| v.into_iter().filter(|e| !matches!(e, Seen::Data(_))).collect::<Vec<_>>();
            prop_assert_eq!(structure(split), structure(whole));
        }
        // And the grammar and buffer bounds of parse_fed hold with segments too.
        let _ = parse_fed("ab", quotas, &body, &sizes, Feed::Segments);
    }
}

#[test]
fn delimiters_straddling_two_or_three_segments_are_found() {
    let boundary = "b-1";
    let wire = varied_message(boundary);
    let (expected, error) = seen(boundary, MimeQuotas::default(), &wire, None);
    assert_eq!(error, None);
    assert_eq!(expected.iter().filter(|e| matches!(e, Seen::Start(_))).count(), 3);
    let n = wire.len();
    for i in 1..n {
        assert_eq!(seen(boundary, MimeQuotas::default(), &wire, Some(&[i, n])), (expected.clone(), None), "{i}");
        for j in 1..(n - i) {
            let got = seen(boundary, MimeQuotas::default(), &wire, Some(&[i, j, n]));
            assert_eq!(got, (expected.clone(), None), "split at {i} and {}", i + j);
        }
    }
}

#[test]
fn delimiter_padding_straddling_segments_is_still_bounded() {
    // The padding of a delimiter line arrives one byte per segment: the parser waits for
    // it (it must not decide early) and still refuses more than MAX_TRANSPORT_PADDING.
    let ok = format!("--b1\r\n\r\nx\r\n--b1{}\r\n\r\ny\r\n--b1--", " ".repeat(MAX_TRANSPORT_PADDING));
    let got = seen("b1", MimeQuotas::default(), ok.as_bytes(), Some(&[1]));
    assert_eq!(got.1, None);
    assert_eq!(got.0.iter().filter(|e| matches!(e, Seen::Start(_))).count(), 2);
    let bad = format!("--b1\r\n\r\nx\r\n--b1{}\r\n\r\ny\r\n--b1--", " ".repeat(MAX_TRANSPORT_PADDING + 1));
    for size in [1, 7, 100, 4096] {
        assert_eq!(seen("b1", MimeQuotas::default(), bad.as_bytes(), Some(&[size])).1, Some(ErrorKind::InvalidFormat));
    }
}

#[test]
fn part_data_is_handed_out_as_slices_of_pushed_bytes() -> Result<()> {
    let boundary = "zero-copy";
    let mut p = MultipartParser::new(boundary, MimeQuotas::default())?;
    p.push_bytes(Bytes::from_static(b"--zero-copy\r\nContent-ID: <big>\r\n\r\n"))?;
    assert!(matches!(p.poll_event(), Some(Ok(MultipartEvent::PartStart { .. }))));
    let mut handed_out = 0usize;
    let mut copied = 0usize;
    let mut segments = Vec::new();
    for i in 0..64u8 {
        let segment = Bytes::from(vec![i; 64 * 1024]);
        segments.push(segment.clone());
        p.push_bytes(segment)?;
        while let Some(event) = p.poll_event() {
            let MultipartEvent::PartData(d) = event? else { panic!("only data expected") };
            handed_out += d.len();
            let inside = segments.iter().any(|s| {
                let range = s.as_ptr() as usize..s.as_ptr() as usize + s.len();
                range.contains(&(d.as_ptr() as usize)) && d.as_ptr() as usize + d.len() <= range.end
            });
            if !inside {
                copied += d.len();
            }
        }
        // Only the possible start of a delimiter is held back, in the segment itself.
        assert!(p.buffered_bytes() <= boundary.len() + 5, "holds {}", p.buffered_bytes());
    }
    p.push_bytes(Bytes::from_static(b"\r\n--zero-copy--\r\n"))?;
    while let Some(event) = p.poll_event() {
        if let MultipartEvent::PartData(d) = event? {
            handed_out += d.len();
            copied += d.len();
        }
    }
    p.finish()?;
    assert_eq!(handed_out, 64 * 64 * 1024);
    // What is copied is the carry at each segment edge: a delimiter's length, not the data.
    assert!(copied <= 64 * (boundary.len() + 5), "{copied} bytes were copied");
    Ok(())
}

#[test]
fn only_a_possible_delimiter_start_is_held_back_at_the_end_of_a_segment() -> Result<()> {
    let mut p = MultipartParser::new("b1", MimeQuotas::default())?;
    p.push_bytes(Bytes::from_static(b"--b1\r\n\r\n"))?;
    assert!(matches!(p.poll_event(), Some(Ok(MultipartEvent::PartStart { .. }))));
    // Nothing at the end could begin a delimiter: the whole segment goes out at once.
    let segment = Bytes::from_static(b"data with \n-- and \r\n-b inside");
    p.push_bytes(segment.clone())?;
    assert_eq!(p.poll_event().map(|r| r.map_err(|e| e.kind())), Some(Ok(MultipartEvent::PartData(segment))));
    assert!(p.poll_event().is_none());
    assert_eq!(p.buffered_bytes(), 0);
    // A CR, LF, "--" and part of the boundary could: exactly those are held back.
    for (tail, held) in [(&b"x\r"[..], 1), (b"x\r\n", 2), (b"x\n-", 2), (b"x\r\n--b", 5), (b"x\r\n--b1", 6)] {
        p.push_bytes(Bytes::copy_from_slice(tail))?;
        assert_eq!(
            p.poll_event().map(|r| r.map_err(|e| e.kind())),
            Some(Ok(MultipartEvent::PartData(Bytes::from_static(b"x")))),
            "{tail:?}"
        );
        assert!(p.poll_event().is_none());
        assert_eq!(p.buffered_bytes(), held, "{tail:?}");
        // Not a delimiter after all: the held bytes are data.
        p.push_bytes(Bytes::from_static(b"y"))?;
        let mut data = Vec::new();
        while let Some(event) = p.poll_event() {
            let MultipartEvent::PartData(d) = event? else { panic!("only data expected") };
            data.extend_from_slice(&d);
        }
        assert_eq!(data, [&tail[1..], b"y"].concat(), "{tail:?}");
    }
    Ok(())
}

#[test]
fn push_bytes_checks_the_message_quota_before_keeping_anything() -> Result<()> {
    let quotas = MimeQuotas { max_message_size: 20, ..MimeQuotas::default() };
    let mut p = MultipartParser::new("b1", quotas)?;
    p.push_bytes(Bytes::from_static(&[b'x'; 20]))?;
    assert_eq!(kind(p.push_bytes(Bytes::from_static(b"y"))), ErrorKind::QuotaExceeded);
    assert_eq!(p.buffered_bytes(), 0);
    assert_eq!(kind(p.push(b"z")), ErrorKind::QuotaExceeded);
    Ok(())
}

#[test]
fn header_block_over_quota_in_segments_is_refused_before_it_is_buffered() -> Result<()> {
    let quotas = MimeQuotas { max_header_bytes: 64, ..MimeQuotas::default() };
    let mut p = MultipartParser::new("b1", quotas)?;
    p.push_bytes(Bytes::from_static(b"--b1\r\nX-A: 1\r\n"))?;
    assert!(p.poll_event().is_none());
    // One segment with a 10 kB header line: refused without copying it into the parser.
    let mut line = b"X-Pad: ".to_vec();
    line.extend_from_slice(&[b'p'; 10_000]);
    p.push_bytes(Bytes::from(line))?;
    assert_eq!(p.poll_event().map(|r| r.map_err(|e| e.kind())), Some(Err(ErrorKind::QuotaExceeded)));
    assert_eq!(p.buffered_bytes(), 0);
    Ok(())
}

#[test]
fn large_part_streams_through_a_bounded_buffer() -> Result<()> {
    let boundary = "streaming-boundary";
    let mut p = MultipartParser::new(boundary, MimeQuotas::default())?;
    p.push(b"--streaming-boundary\r\nContent-ID: <big>\r\n\r\n")?;
    assert!(matches!(p.poll_event(), Some(Ok(MultipartEvent::PartStart { .. }))));
    let chunk = vec![b'-'; 64 * 1024];
    let mut handed_out = 0usize;
    for _ in 0..128 {
        p.push(&chunk)?;
        while let Some(event) = p.poll_event() {
            match event? {
                MultipartEvent::PartData(d) => handed_out += d.len(),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(p.buffered_bytes() <= boundary.len() + 5, "holds {}", p.buffered_bytes());
    }
    // Everything but the carry-over has been handed on already: no part is accumulated.
    assert!(handed_out >= 128 * chunk.len() - (boundary.len() + 5));
    p.push(b"\r\n--streaming-boundary--")?;
    let mut rest = Vec::new();
    while let Some(event) = p.poll_event() {
        rest.push(event?);
    }
    let tail: usize = rest.iter().map(|e| if let MultipartEvent::PartData(d) = e { d.len() } else { 0 }).sum();
    assert_eq!(handed_out + tail, 128 * chunk.len());
    assert_eq!(rest.last(), Some(&MultipartEvent::End));
    p.finish()
}

// ---------------------------------------------------------------- tolerance

#[test]
fn preamble_epilogue_and_transport_padding_are_ignored() -> Result<()> {
    let body = b"This is a preamble.\r\n--b1 \t \r\nContent-ID: <a>\r\n\r\nA\r\n--b1\t\r\n\r\nB\r\n--b1-- \r\nepilogue\r\n--b1\r\n";
    let got = parse("b1", body)?;
    assert_eq!(bodies(&got), [&b"A"[..], b"B"]);
    assert_eq!(got.first().and_then(|(h, _)| h.content_id()), Some("a"));
    assert!(got.get(1).is_some_and(|(h, _)| h.is_empty()), "a part may have no headers");
    Ok(())
}

#[test]
fn bare_lf_line_ends_are_tolerated() -> Result<()> {
    let body =
        b"--b1\nContent-Type: application/xop+xml\nContent-ID: <a>\n\n<e/>\n--b1\nContent-ID: <c>\n\nbin\r\n--b1--";
    let got = parse("b1", body)?;
    assert_eq!(bodies(&got), [&b"<e/>"[..], b"bin"]);
    assert_eq!(got.first().and_then(|(h, _)| h.content_type()), Some("application/xop+xml"));
    Ok(())
}

#[test]
fn folded_headers_are_unfolded_and_names_are_case_insensitive() -> Result<()> {
    let body = b"--b1\r\ncontent-type: application/xop+xml;\r\n\ttype=\"text/xml\"\r\nX-Extra:  v \r\nCONTENT-ID:<a>\r\n\r\n\r\n--b1--";
    let got = parse("b1", body)?;
    let (h, data) = got.first().expect("one part");
    assert_eq!(h.content_type(), Some("application/xop+xml; type=\"text/xml\""));
    assert_eq!(h.get("x-extra"), Some("v"));
    assert_eq!(h.content_id(), Some("a"));
    assert_eq!(h.len(), 3);
    assert_eq!(data, b"");
    Ok(())
}

#[test]
fn malformed_part_headers_are_invalid_format() {
    for block in [
        "Content-ID: <a>\r\nContent-ID: <b>\r\n",
        "no colon here\r\n",
        " continuation first\r\n",
        "Content-ID: <a\r\n",
        "Bad Name: x\r\n",
    ] {
        let body = format!("--b1\r\n{block}\r\ndata\r\n--b1--");
        assert_eq!(kind(parse("b1", body.as_bytes())), ErrorKind::InvalidFormat, "{block:?}");
    }
}

// ---------------------------------------------------------------- hostile input

#[test]
fn missing_closing_boundary_is_invalid_format() {
    let (content_type, wire) = build(&[ENVELOPE, b"attachment"]);
    let ct = MultipartType::parse(&content_type).expect("content type");
    // Truncated anywhere before the final "--" of the closing delimiter.
    let close_len = ct.boundary.len() + 6;
    for cut in [0, 10, 100, wire.len() - close_len, wire.len() - 4, wire.len() - 3] {
        let r = parse(&ct.boundary, wire.get(..cut).unwrap_or_default());
        assert_eq!(kind(r), ErrorKind::InvalidFormat, "cut at {cut} of {}", wire.len());
    }
    // Cutting only the CRLF after the closing delimiter is fine.
    assert!(parse(&ct.boundary, wire.get(..wire.len() - 2).unwrap_or_default()).is_ok());
}

#[test]
fn closing_delimiter_without_any_part_is_invalid_format() {
    assert_eq!(kind(parse("b1", b"--b1--\r\n")), ErrorKind::InvalidFormat);
}

#[test]
fn finish_before_draining_events_is_invalid_operation() -> Result<()> {
    let mut p = MultipartParser::new("b1", MimeQuotas::default())?;
    p.push(b"--b1\r\n\r\nx\r\n--b1--")?;
    assert_eq!(kind(p.finish()), ErrorKind::InvalidOperation);
    while let Some(e) = p.poll_event() {
        e?;
    }
    p.finish()
}

#[test]
fn boundary_that_never_comes_within_the_preamble_window_is_invalid_format() -> Result<()> {
    let quotas = MimeQuotas::default();
    let window = quotas.max_preamble_bytes as usize;
    // Exactly the window of preamble is still fine...
    let mut ok = vec![b'p'; window - 2];
    ok.extend_from_slice(b"\r\n--b1\r\n\r\nx\r\n--b1--");
    assert_eq!(bodies(&parse_with("b1", quotas, &ok, &[4096])?), [b"x"]);
    // ...one byte more without a delimiter is not, and the parser notices while streaming.
    let mut p = MultipartParser::new("b1", quotas)?;
    let junk = vec![b'j'; 1000];
    let mut failed = None;
    for _ in 0..(window / junk.len() + 2) {
        p.push(&junk)?;
        if let Some(Err(e)) = p.poll_event() {
            failed = Some(e);
            break;
        }
        assert!(p.buffered_bytes() <= 8);
    }
    assert_eq!(failed.map(|e| e.kind()), Some(ErrorKind::InvalidFormat));
    // A body without any delimiter at all is invalid too.
    assert_eq!(kind(parse("b1", b"just text")), ErrorKind::InvalidFormat);
    Ok(())
}

#[test]
fn part_over_quota_is_rejected_before_its_bytes_are_handed_on() -> Result<()> {
    let quotas = MimeQuotas { max_part_size: 10, ..MimeQuotas::default() };
    let ten = parse_with("b1", quotas, b"--b1\r\n\r\n0123456789\r\n--b1--", &[1])?;
    assert_eq!(bodies(&ten), [b"0123456789"]);

    let mut p = MultipartParser::new("b1", quotas)?;
    p.push(b"--b1\r\n\r\n0123456789A")?;
    let mut handed_out = 0;
    let error = loop {
        match p.poll_event() {
            Some(Ok(MultipartEvent::PartData(d))) => handed_out += d.len(),
            Some(Ok(_)) => {}
            Some(Err(e)) => break Some(e),
            None => {
                // The 11th byte may still be held back as a possible delimiter start.
                p.push(b"BCDEFGHIJKLMNOPQRSTUVWXYZ")?;
            }
        }
        if handed_out > 10 {
            break None;
        }
    };
    assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::QuotaExceeded));
    assert!(handed_out <= 10, "{handed_out} bytes handed on");
    Ok(())
}

#[test]
fn too_many_parts_is_quota_exceeded() -> Result<()> {
    let quotas = MimeQuotas { max_parts: 3, ..MimeQuotas::default() };
    let three = b"--b1\r\n\r\na\r\n--b1\r\n\r\nb\r\n--b1\r\n\r\nc\r\n--b1--";
    assert_eq!(parse_with("b1", quotas, three, &[7])?.len(), 3);
    let four = b"--b1\r\n\r\na\r\n--b1\r\n\r\nb\r\n--b1\r\n\r\nc\r\n--b1\r\n\r\nd\r\n--b1--";
    assert_eq!(kind(parse_with("b1", quotas, four, &[7])), ErrorKind::QuotaExceeded);
    Ok(())
}

#[test]
fn header_block_over_quota_is_quota_exceeded() -> Result<()> {
    let quotas = MimeQuotas { max_header_bytes: 64, ..MimeQuotas::default() };
    // Complete but too long.
    let long = format!("--b1\r\nX-Pad: {}\r\n\r\nx\r\n--b1--", "p".repeat(60));
    assert_eq!(kind(parse_with("b1", quotas, long.as_bytes(), &[1000])), ErrorKind::QuotaExceeded);
    // Never ending: refused as soon as the window is full, whatever the chunking.
    let endless = format!("--b1\r\nX-Pad: {}", "p".repeat(10_000));
    assert_eq!(kind(parse_with("b1", quotas, endless.as_bytes(), &[3])), ErrorKind::QuotaExceeded);
    // Exactly at the limit is fine: 62 bytes of field + CRLF CRLF = 64... minus the field's CRLF.
    let exact = format!("--b1\r\nX-Pad: {}\r\n\r\nx\r\n--b1--", "p".repeat(64 - 11));
    assert_eq!(parse_with("b1", quotas, exact.as_bytes(), &[5])?.len(), 1);
    Ok(())
}

#[test]
fn too_many_header_fields_is_quota_exceeded() {
    let quotas = MimeQuotas { max_headers: 2, ..MimeQuotas::default() };
    let body = b"--b1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\nx\r\n--b1--";
    assert_eq!(kind(parse_with("b1", quotas, body, &[100])), ErrorKind::QuotaExceeded);
}

#[test]
fn message_over_quota_is_quota_exceeded_before_buffering() -> Result<()> {
    let quotas = MimeQuotas { max_message_size: 20, ..MimeQuotas::default() };
    let mut p = MultipartParser::new("b1", quotas)?;
    p.push(&[b'x'; 20])?;
    assert_eq!(kind(p.push(b"y")), ErrorKind::QuotaExceeded);
    assert_eq!(p.buffered_bytes(), 0);
    Ok(())
}

#[test]
fn excessive_transport_padding_is_invalid_format() {
    let body = format!("--b1{}\r\n\r\nx\r\n--b1--", " ".repeat(MAX_TRANSPORT_PADDING + 1));
    assert_eq!(kind(parse("b1", body.as_bytes())), ErrorKind::InvalidFormat);
}

#[test]
fn errors_are_sticky() -> Result<()> {
    let mut p = MultipartParser::new("b1", MimeQuotas { max_parts: 1, ..MimeQuotas::default() })?;
    p.push(b"--b1\r\n\r\na\r\n--b1\r\n\r\nb\r\n--b1--")?;
    let first = loop {
        match p.poll_event() {
            Some(Err(e)) => break e,
            Some(Ok(_)) => {}
            None => panic!("the second part must fail"),
        }
    };
    assert_eq!(first.kind(), ErrorKind::QuotaExceeded);
    assert_eq!(p.poll_event().map(|r| r.map_err(|e| e.kind())), Some(Err(ErrorKind::QuotaExceeded)));
    assert_eq!(kind(p.push(b"more")), ErrorKind::QuotaExceeded);
    assert_eq!(kind(p.finish()), ErrorKind::QuotaExceeded);
    Ok(())
}

// ---------------------------------------------------------------- XOP package rules

fn check_all(content_type: &str, wire: &[u8]) -> Result<Vec<PartRole>> {
    let ct = MultipartType::parse(content_type)?;
    let mut check = XopPackageCheck::new(&ct)?;
    let mut roles = Vec::new();
    for (headers, _) in parse(&ct.boundary, wire)? {
        roles.push(check.check_part(&headers)?);
    }
    check.finish()?;
    Ok(roles)
}

const XOP_CT: &str = "multipart/related; type=\"application/xop+xml\"; boundary=b1; start=\"<root>\"";

#[test]
fn envelope_first_is_accepted_as_root() -> Result<()> {
    let wire = b"--b1\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\"\r\n\
        Content-ID: <root>\r\n\r\n<e/>\r\n--b1\r\nContent-ID: <a>\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx\r\n--b1--";
    assert_eq!(check_all(XOP_CT, wire)?, [PartRole::Root, PartRole::Attachment]);
    Ok(())
}

#[test]
fn envelope_not_first_is_invalid_format() {
    // The attachment comes first, the envelope second.
    let wire = b"--b1\r\nContent-Type: application/octet-stream\r\nContent-ID: <a>\r\n\r\nx\r\n--b1\r\n\
        Content-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n<e/>\r\n--b1--";
    let e = check_all(XOP_CT, wire).expect_err("envelope not first");
    assert_eq!(e.kind(), ErrorKind::InvalidFormat);
    assert!(e.to_string().contains("the SOAP envelope must be the first MIME part"), "{e}");
    // Same order without a start parameter: still the first part is not an XOP document.
    let no_start = "multipart/related; type=\"application/xop+xml\"; boundary=b1";
    assert_eq!(kind(check_all(no_start, wire)), ErrorKind::InvalidFormat);
    // The right type but not the part `start` names.
    let wrong_id = b"--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <other>\r\n\r\n<e/>\r\n--b1--";
    assert_eq!(kind(check_all(XOP_CT, wrong_id)), ErrorKind::InvalidFormat);
}

#[test]
fn non_xop_multipart_is_rejected_by_the_xop_check() -> Result<()> {
    let ct = MultipartType::parse("multipart/related; type=\"text/xml\"; boundary=b1")?;
    assert_eq!(kind(XopPackageCheck::new(&ct)), ErrorKind::InvalidFormat);
    Ok(())
}

#[test]
fn duplicate_content_ids_are_invalid_format() {
    let wire = b"--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n<e/>\r\n\
        --b1\r\nContent-ID: <a>\r\n\r\nx\r\n--b1\r\nContent-ID: <a>\r\n\r\ny\r\n--b1--";
    assert_eq!(kind(check_all(XOP_CT, wire)), ErrorKind::InvalidFormat);
}

#[test]
fn attachment_without_content_id_is_invalid_format() {
    let wire =
        b"--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n<e/>\r\n--b1\r\n\r\nx\r\n--b1--";
    assert_eq!(kind(check_all(XOP_CT, wire)), ErrorKind::InvalidFormat);
}

#[test]
fn base64_transfer_encoding_is_not_supported() {
    let wire = b"--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n<e/>\r\n\
        --b1\r\nContent-ID: <a>\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1--";
    assert_eq!(kind(check_all(XOP_CT, wire)), ErrorKind::NotSupported);
}

/// References are the MTOM layer's job: the check accepts a package whose envelope refers
/// to a part that does not exist (or whose parts nothing refers to) and only offers
/// [`XopPackageCheck::has_part`] for the layer that reads the `xop:Include`s.
#[test]
fn missing_part_references_are_left_to_the_mtom_layer() -> Result<()> {
    let wire = b"--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n\
        <e><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:missing\"/></e>\r\n\
        --b1\r\nContent-ID: <unreferenced>\r\n\r\nx\r\n--b1--";
    let ct = MultipartType::parse(XOP_CT)?;
    let mut check = XopPackageCheck::new(&ct)?;
    for (headers, _) in parse("b1", wire)? {
        check.check_part(&headers)?;
    }
    check.finish()?;
    assert!(!check.has_part("missing"));
    assert!(check.has_part("unreferenced"));
    Ok(())
}

// ---------------------------------------------------------------- writer

#[test]
fn writer_emits_root_first_with_the_wsdapi_headers() -> Result<()> {
    let (content_type, wire) = build(&[b"<e/>", b"\x00\x01"]);
    let b = format!("soapwire_{SEED}");
    assert_eq!(
        content_type,
        format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"{b}\"; start=\"<root@example.org>\"; \
             start-info=\"application/soap+xml\""
        )
    );
    let expected = format!(
        "--{b}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n\
         Content-Transfer-Encoding: binary\r\nContent-ID: <root@example.org>\r\n\r\n<e/>\
         \r\n--{b}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\
         Content-ID: <att1@example.org>\r\n\r\n\x00\x01\r\n--{b}--\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&wire), expected);
    // The writer's own output passes the XOP check.
    assert_eq!(check_all(&content_type, &wire)?, [PartRole::Root, PartRole::Attachment]);
    Ok(())
}

#[test]
fn writer_content_type_round_trips_start_info_with_quotes() -> Result<()> {
    let info = "application/soap+xml; action=\"urn:echo\"";
    let w = MultipartWriter::new(SEED, "r", info)?;
    let ct = MultipartType::parse(&w.content_type())?;
    assert_eq!(ct.start_info.as_deref(), Some(info));
    assert_eq!(ct.start.as_deref(), Some("r"));
    assert_eq!(ct.boundary, w.boundary());
    assert!(ct.is_xop());
    Ok(())
}

#[test]
fn writer_passes_data_through_without_copying() -> Result<()> {
    let mut w = MultipartWriter::new(SEED, "r", SOAP11_START_INFO)?;
    w.start_root()?;
    let data = Bytes::from(vec![7u8; 4096]);
    let out = w.data(data.clone())?;
    assert_eq!(out.as_ptr(), data.as_ptr());
    Ok(())
}

#[test]
fn writer_rejects_calls_out_of_order() -> Result<()> {
    let mut w = MultipartWriter::new(SEED, "r", SOAP12_START_INFO)?;
    assert_eq!(kind(w.data(Bytes::new())), ErrorKind::InvalidOperation);
    assert_eq!(kind(w.start_part("a", "application/octet-stream")), ErrorKind::InvalidOperation);
    assert_eq!(kind(w.finish()), ErrorKind::InvalidOperation);
    w.start_root()?;
    assert_eq!(kind(w.start_root()), ErrorKind::InvalidOperation);
    w.finish()?;
    assert_eq!(kind(w.data(Bytes::new())), ErrorKind::InvalidOperation);
    assert_eq!(kind(w.finish()), ErrorKind::InvalidOperation);
    Ok(())
}

#[test]
fn writer_rejects_bad_seeds_ids_and_media_types() -> Result<()> {
    for seed in ["short", "has space in the middle of it", &"x".repeat(62), "quote\"in-the-seed-here"] {
        assert_eq!(kind(MultipartWriter::new(seed, "r", SOAP12_START_INFO)), ErrorKind::InvalidArgument, "{seed}");
    }
    assert_eq!(kind(MultipartWriter::new(SEED, "<r>", SOAP12_START_INFO)), ErrorKind::InvalidArgument);
    assert_eq!(kind(MultipartWriter::new(SEED, "r", "text/xml\r\nX: y")), ErrorKind::InvalidArgument);
    let mut w = MultipartWriter::new(SEED, "r", SOAP12_START_INFO)?;
    w.start_root()?;
    assert_eq!(kind(w.start_part("r", "application/octet-stream")), ErrorKind::InvalidArgument);
    w.start_part("a", "application/octet-stream")?;
    assert_eq!(kind(w.start_part("a", "application/octet-stream")), ErrorKind::InvalidArgument);
    assert_eq!(kind(w.start_part("b c", "application/octet-stream")), ErrorKind::InvalidArgument);
    assert_eq!(kind(w.start_part("b", "not a media type")), ErrorKind::InvalidArgument);
    assert_eq!(w.parts(), 2);
    Ok(())
}

// ---------------------------------------------------------------- a real peer

#[test]
fn parses_a_gsoap_mtom_echo_data_reply() -> Result<()> {
    let ct = MultipartType::parse(GSOAP_CONTENT_TYPE.trim())?;
    assert_eq!(ct.boundary, "==nGpzR/KspN6ry7jG8CU4bonN2aujzfJamyN3xYjaldFXYpeUryNGb0UROC0B==");
    assert_eq!(ct.start.as_deref(), Some("SOAP-ENV:Envelope"));
    assert_eq!(ct.start_info.as_deref(), Some(SOAP11_START_INFO));
    for size in (1..=17).chain([GSOAP_REPLY.len()]) {
        let mut check = XopPackageCheck::new(&ct)?;
        let parts = parse_with(&ct.boundary, MimeQuotas::default(), GSOAP_REPLY, &[size])?;
        let roles = parts.iter().map(|(h, _)| check.check_part(h)).collect::<Result<Vec<_>>>()?;
        check.finish()?;
        assert_eq!(roles, [PartRole::Root, PartRole::Attachment]);
        assert_eq!(check.root_envelope_type(), Some("text/xml"));
        let (root, envelope) = parts.first().expect("root part");
        assert_eq!(root.content_transfer_encoding(), Some("binary"));
        let envelope = String::from_utf8_lossy(envelope);
        assert!(
            envelope.contains("<xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:id1\"/>")
        );
        assert!(envelope.ends_with("</SOAP-ENV:Envelope>\r\n"), "gSOAP ends the envelope with a CRLF of its own");
        let (att, data) = parts.get(1).expect("attachment part");
        assert_eq!(att.content_id(), Some("id1"));
        assert_eq!(att.content_type(), Some("application/octet-stream"));
        assert_eq!(data, &[0u8, 1, 2], "AAEC decoded");
    }
    Ok(())
}
