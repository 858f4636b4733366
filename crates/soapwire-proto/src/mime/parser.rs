//! The `multipart/*` push parser: bytes in, [`MultipartEvent`]s out, in bounded memory.
//!
//! The body is scanned for the delimiter `LF "--" boundary` with [`memchr::memmem`] (a
//! preceding CR belongs to the delimiter too, so bare-LF messages are tolerated). A match
//! only counts when the rest of its line is transport padding and a line end, or `--` (the
//! closing delimiter); otherwise the bytes are part data. Only a suffix of the input that
//! could begin a delimiter (a CR, or an LF followed by the start of `"--" boundary`) is held
//! back; everything before it is handed out at once, so the parser never holds more than
//! `len(delimiter)` bytes of carry-over between pushes.
//!
//! Input is held as a small contiguous *carry* (`BytesMut`) followed by a queue of
//! segments (`Bytes`, as [`MultipartParser::push_bytes`] received them). Part data inside a
//! segment is handed out as a [`Bytes::slice`] of it, without copying. Only where a
//! delimiter could straddle two segments is the segment's short tail copied into the carry,
//! and the scan then looks at the carry plus a bounded prefix of the next segment (copied,
//! [`MAX_TRANSPORT_PADDING`] + the delimiter's length at most) without consuming it. Header
//! blocks are copied into the carry line by line, each line checked against
//! `max_header_bytes` first.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem::Finder;

use super::content_type::{strip_angle_brackets, validate_boundary};
use super::{MAX_TRANSPORT_PADDING, MimeQuotas};
use crate::error::{Error, Result};

/// One event of a [`MultipartParser`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultipartEvent {
    /// A part starts; its header block has been read completely.
    PartStart {
        /// The part's header fields.
        headers: PartHeaders,
    },
    /// The next bytes of the current part's body, exactly as sent (no transfer decoding).
    /// A part's body may arrive in any number of pieces, and an empty body in none.
    PartData(Bytes),
    /// The current part's body is complete.
    PartEnd,
    /// The closing delimiter was read. No event follows; the epilogue is ignored.
    End,
}

/// The header fields of one MIME part, with `Content-ID`, `Content-Type` and
/// `Content-Transfer-Encoding` picked out.
///
/// Folded lines are unfolded and values trimmed. Each of the three picked-out fields may
/// appear at most once (a repeated one is [`InvalidFormat`](crate::ErrorKind::InvalidFormat):
/// two Content-IDs would make references ambiguous).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartHeaders {
    fields: Vec<(String, String)>,
    content_id: Option<String>,
    content_type: Option<String>,
    content_transfer_encoding: Option<String>,
}

impl PartHeaders {
    /// The Content-ID without its angle brackets (`<id1>` → `id1`), if the part has one.
    pub fn content_id(&self) -> Option<&str> {
        self.content_id.as_deref()
    }

    /// The raw Content-Type value, if any (parse it with
    /// [`MediaType::parse`](super::MediaType::parse)).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The Content-Transfer-Encoding value, if any (RFC 2045's default is `7bit`).
    pub fn content_transfer_encoding(&self) -> Option<&str> {
        self.content_transfer_encoding.as_deref()
    }

    /// The first field named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All fields in order, names as sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True if the part had no header fields at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Parses a header block that ends with its empty line (CRLF or bare LF line ends).
    fn parse(block: &[u8], max_headers: usize) -> Result<PartHeaders> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for raw in block.split(|b| *b == b'\n') {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.is_empty() {
                // The terminating empty line (and the empty slice after its LF).
                continue;
            }
            let text = std::str::from_utf8(line)
                .map_err(|_| Error::invalid_format("a MIME part header is not valid UTF-8"))?;
            if text.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err(Error::invalid_format("control character in a MIME part header"));
            }
            if text.starts_with([' ', '\t']) {
                // Continuation of a folded field (RFC 5322 §2.2.3).
                let (_, value) = fields
                    .last_mut()
                    .ok_or_else(|| Error::invalid_format("a MIME part header block starts with a continuation line"))?;
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(text.trim());
                continue;
            }
            let (name, value) = text
                .split_once(':')
                .ok_or_else(|| Error::invalid_format(format!("MIME part header line without ':': '{text}'")))?;
            let name = name.trim_end_matches([' ', '\t']);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid_format(format!("invalid MIME part header name '{name}'")));
            }
            if fields.len() >= max_headers {
                return Err(Error::quota_exceeded(format!(
                    "a MIME part has more than {max_headers} header fields (max_headers)"
                )));
            }
            fields.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut headers = PartHeaders { fields: Vec::new(), ..PartHeaders::default() };
        for (name, value) in &fields {
            let slot = if name.eq_ignore_ascii_case("content-id") {
                &mut headers.content_id
            } else if name.eq_ignore_ascii_case("content-type") {
                &mut headers.content_type
            } else if name.eq_ignore_ascii_case("content-transfer-encoding") {
                &mut headers.content_transfer_encoding
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(Error::invalid_format(format!("MIME part header '{name}' given twice")));
            }
            *slot = Some(if name.eq_ignore_ascii_case("content-id") {
                strip_angle_brackets(value)?.to_owned()
            } else {
                value.clone()
            });
        }
        headers.fields = fields;
        Ok(headers)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Reading a part's header block; `line_start` is where the unfinished line begins.
    Headers { line_start: usize },
    /// Inside a part's body.
    Body,
    /// The closing delimiter was consumed and [`MultipartEvent::End`] is due.
    EndDue,
    /// After `End`: everything is ignored.
    Epilogue,
}

/// What a scan of the buffer for the next delimiter found.
enum Scan {
    /// A delimiter: the bytes before `data_end` precede it, it ends at `after`.
    Found { data_end: usize, after: usize, close: bool },
    /// No complete delimiter: the first `safe` bytes can be handed on.
    NeedMore { safe: usize },
}

/// What follows `LF "--" boundary`.
enum Tail {
    /// `--`: the closing delimiter.
    Close,
    /// Padding and a line end, `n` bytes in all.
    Line(usize),
    /// Not enough bytes to decide.
    NeedMore,
    /// Something else: the boundary string merely occurs in data.
    NotDelimiter,
}

/// A push parser for a `multipart/*` body (MTOM uses `multipart/related`).
///
/// Feed it with [`push`](Self::push) (a slice, copied) or [`push_bytes`](Self::push_bytes)
/// (a `Bytes`, kept: part data is handed out as slices of it) and drain it with
/// [`poll_event`](Self::poll_event) until that returns `None`; at the end of input call
/// [`finish`](Self::finish). The preamble and the epilogue are skipped. Parts are delivered
/// raw: no transfer decoding (see [`XopPackageCheck`](super::XopPackageCheck) for the
/// encodings MTOM allows).
///
/// Memory: the parser owns the bytes pushed and not yet returned as events, plus a
/// carry-over of at most `len(boundary) + 5` bytes (a possible partial delimiter line), plus,
/// while one is being read, a part's header block (at most `max_header_bytes`) or a
/// delimiter line's padding (at most [`MAX_TRANSPORT_PADDING`]). Part bodies are never
/// accumulated, so memory does not depend on part sizes as long as the caller drains
/// events between pushes. With `push_bytes`, a `PartData` event shares the pushed
/// segment's memory, so holding it keeps that segment alive.
///
/// Every error is sticky: after the first failure, `push`, `push_bytes`, `poll_event` and
/// `finish` keep returning it.
#[derive(Debug)]
pub struct MultipartParser {
    quotas: MimeQuotas,
    finder: Finder<'static>,
    /// Contiguous input that comes before `segments`: the start of the body, a possible
    /// delimiter that straddled two segments, a header block being read, and whatever
    /// [`push`](Self::push) appended while no segment was queued.
    carry: BytesMut,
    /// Segments from [`push_bytes`](Self::push_bytes) (and `push` behind them), in order,
    /// never empty.
    segments: VecDeque<Bytes>,
    /// The total length of `segments`.
    queued: usize,
    /// How many bytes past the carry a scan looks at (copied, not consumed): enough to
    /// classify any delimiter that starts inside the carry.
    lookahead: usize,
    state: State,
    /// Bytes pushed so far (for `max_message_size`).
    message_bytes: u64,
    /// Bytes discarded as preamble, including the virtual LF the buffer starts with.
    preamble_bytes: u64,
    /// Parts started so far (for `max_parts`).
    parts: u64,
    /// Body bytes handed out for the current part (for `max_part_size`).
    part_bytes: u64,
    /// `poll_event` returned `None` since the last push: everything pushed is processed.
    drained: bool,
    failure: Option<Error>,
}

impl MultipartParser {
    /// A parser for a body whose boundary is `boundary` (as in
    /// [`MultipartType::boundary`](super::MultipartType::boundary)). An invalid boundary is
    /// [`InvalidFormat`](crate::ErrorKind::InvalidFormat).
    pub fn new(boundary: &str, quotas: MimeQuotas) -> Result<MultipartParser> {
        validate_boundary(boundary)?;
        let mut needle = Vec::with_capacity(boundary.len() + 3);
        needle.extend_from_slice(b"\n--");
        needle.extend_from_slice(boundary.as_bytes());
        let lookahead = needle.len() + MAX_TRANSPORT_PADDING + 2;
        let mut carry = BytesMut::with_capacity(needle.len() + 64);
        // A virtual line end, so a delimiter at the very start of the body (no preamble)
        // is found like any other.
        carry.extend_from_slice(b"\n");
        Ok(MultipartParser {
            quotas,
            finder: Finder::new(&needle).into_owned(),
            carry,
            segments: VecDeque::new(),
            queued: 0,
            lookahead,
            state: State::Preamble,
            message_bytes: 0,
            preamble_bytes: 0,
            parts: 0,
            part_bytes: 0,
            drained: true,
            failure: None,
        })
    }

    /// Appends the next bytes of the body (copied). Fails with `QuotaExceeded` (before
    /// buffering anything) if the message would exceed `max_message_size`, and with
    /// `InvalidOperation` after [`finish`](Self::finish).
    ///
    /// Bytes after the closing delimiter (the epilogue) are counted and dropped.
    pub fn push(&mut self, input: &[u8]) -> Result<()> {
        if !self.admit(input.len())? {
            return Ok(());
        }
        if self.segments.is_empty() {
            self.carry.extend_from_slice(input);
        } else {
            self.queue(Bytes::copy_from_slice(input));
        }
        Ok(())
    }

    /// Appends the next bytes of the body without copying them: part data inside `input`
    /// is handed out as slices of it ([`Bytes::slice`]); only a delimiter that may straddle
    /// two pushes costs a copy of a few hundred bytes. Same checks and errors as
    /// [`push`](Self::push), and the two may be mixed.
    pub fn push_bytes(&mut self, input: Bytes) -> Result<()> {
        if self.admit(input.len())? {
            self.queue(input);
        }
        Ok(())
    }

    /// The checks of a push of `len` bytes; true if the bytes are to be kept.
    fn admit(&mut self, len: usize) -> Result<bool> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        let total = self.message_bytes.saturating_add(len as u64);
        if total > self.quotas.max_message_size {
            return Err(self.fail(Error::quota_exceeded(format!(
                "the MIME message exceeds {} bytes (max_message_size)",
                self.quotas.max_message_size
            ))));
        }
        self.message_bytes = total;
        if len == 0 || matches!(self.state, State::EndDue | State::Epilogue) {
            return Ok(false);
        }
        self.drained = false;
        Ok(true)
    }

    fn queue(&mut self, segment: Bytes) {
        self.queued += segment.len();
        self.segments.push_back(segment);
    }

    /// The next event, or `None` when more input is needed (or after
    /// [`MultipartEvent::End`]). Errors: `InvalidFormat` for malformed input,
    /// `QuotaExceeded` when a [`MimeQuotas`] limit is hit.
    pub fn poll_event(&mut self) -> Option<Result<MultipartEvent>> {
        if let Some(e) = &self.failure {
            return Some(Err(e.clone()));
        }
        match self.step() {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => {
                self.drained = true;
                None
            }
            Err(e) => Some(Err(self.fail(e))),
        }
    }

    /// Declares the end of input. Succeeds if the closing delimiter was read; otherwise the
    /// message was truncated: `InvalidFormat`. Call it after `poll_event` returned `None`
    /// for the last push; with events still pending it fails with `InvalidOperation`.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        match self.state {
            State::EndDue | State::Epilogue => Ok(()),
            _ if !self.drained => Err(Error::invalid_operation(
                "MultipartParser::finish called before poll_event returned None for the pushed bytes",
            )),
            State::Preamble => {
                Err(self.fail(Error::invalid_format("the MIME body ended before its first boundary delimiter")))
            }
            State::Headers { .. } | State::Body => {
                Err(self.fail(Error::invalid_format("the MIME body ended before its closing boundary delimiter")))
            }
        }
    }

    /// True once the closing delimiter has been read.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::EndDue | State::Epilogue)
    }

    /// Bytes pushed so far.
    pub fn message_bytes(&self) -> u64 {
        self.message_bytes
    }

    /// Bytes currently held by the parser (pushed but not yet handed out or discarded).
    pub fn buffered_bytes(&self) -> usize {
        self.carry.len() + self.queued
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failure = Some(e.clone());
        self.clear();
        e
    }

    fn clear(&mut self) {
        self.carry = BytesMut::new();
        self.segments = VecDeque::new();
        self.queued = 0;
    }

    fn step(&mut self) -> Result<Option<MultipartEvent>> {
        loop {
            match self.state {
                State::Preamble => {
                    let Some((own, scan)) = self.scan_next()? else { return Ok(None) };
                    match scan {
                        Scan::Found { data_end, after, close } => {
                            self.count_preamble(data_end)?;
                            if close {
                                return Err(Error::invalid_format("a multipart body must contain at least one part"));
                            }
                            self.consume(own, after);
                            self.begin_part()?;
                        }
                        Scan::NeedMore { safe: 0 } => {
                            if !self.join_tail(own) {
                                return Ok(None);
                            }
                        }
                        Scan::NeedMore { safe } => {
                            self.count_preamble(safe)?;
                            self.consume(own, safe);
                        }
                    }
                }
                State::Headers { line_start } => {
                    return match find_header_end(&self.carry, line_start) {
                        Ok(end) => {
                            if end > self.quotas.max_header_bytes {
                                return Err(self.header_quota_error());
                            }
                            let block = self.carry.split_to(end);
                            let headers = PartHeaders::parse(&block, self.quotas.max_headers)?;
                            self.state = State::Body;
                            self.part_bytes = 0;
                            Ok(Some(MultipartEvent::PartStart { headers }))
                        }
                        Err(line_start) => {
                            if self.carry.len() > self.quotas.max_header_bytes {
                                return Err(self.header_quota_error());
                            }
                            self.state = State::Headers { line_start };
                            if !self.take_header_line()? {
                                return Ok(None);
                            }
                            continue;
                        }
                    };
                }
                State::Body => {
                    let Some((own, scan)) = self.scan_next()? else { return Ok(None) };
                    return match scan {
                        Scan::Found { data_end, after, close } => {
                            if data_end > 0 {
                                // The delimiter is found again (at 0) on the next call.
                                return self.emit_data(own, data_end).map(Some);
                            }
                            self.consume(own, after);
                            if close {
                                self.state = State::EndDue;
                            } else {
                                self.begin_part()?;
                            }
                            Ok(Some(MultipartEvent::PartEnd))
                        }
                        Scan::NeedMore { safe: 0 } => {
                            if !self.join_tail(own) {
                                return Ok(None);
                            }
                            continue;
                        }
                        Scan::NeedMore { safe } => self.emit_data(own, safe).map(Some),
                    };
                }
                State::EndDue => {
                    self.state = State::Epilogue;
                    self.clear();
                    return Ok(Some(MultipartEvent::End));
                }
                State::Epilogue => return Ok(None),
            }
        }
    }

    /// Scans the input for the next delimiter. With a carry, the window is the carry plus
    /// up to `lookahead` bytes of the segments (copied, then dropped again, so the carry
    /// is as before); without one, it is the first segment, in place. Returns the carry's
    /// length (`own`, 0 for a segment) and what the scan found; positions are in the window.
    /// `None`: there is no input at all.
    fn scan_next(&mut self) -> Result<Option<(usize, Scan)>> {
        if self.carry.is_empty() {
            let Some(segment) = self.segments.front() else { return Ok(None) };
            return Ok(Some((0, self.scan(segment)?)));
        }
        let own = self.carry.len();
        let mut want = self.lookahead;
        for segment in &self.segments {
            if want == 0 {
                break;
            }
            let n = want.min(segment.len());
            self.carry.extend_from_slice(segment.get(..n).unwrap_or_default());
            want -= n;
        }
        let scan = self.scan(&self.carry);
        self.carry.truncate(own);
        Ok(Some((own, scan?)))
    }

    /// Drops the first `n` bytes of the window of a scan whose carry was `own` bytes long.
    fn consume(&mut self, own: usize, n: usize) {
        if n < own {
            self.carry.advance(n);
        } else {
            self.carry.clear();
            self.advance_segments(n - own);
        }
    }

    fn advance_segments(&mut self, mut n: usize) {
        self.queued = self.queued.saturating_sub(n);
        while n > 0 {
            let Some(front) = self.segments.front_mut() else { return };
            if front.len() > n {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.segments.pop_front();
        }
    }

    /// A scan found nothing it could hand on (`safe` was 0): what it looked at may be the
    /// start of a delimiter that continues in later input. Moves that input into the carry
    /// (at most a delimiter line's worth: a segment's tail, or the bytes a carry scan looked
    /// ahead at) so the next scan sees it joined with what follows. False when there is no
    /// later input yet.
    fn join_tail(&mut self, own: usize) -> bool {
        if own == 0 {
            // A segment's tail, shorter than a delimiter line.
            if self.segments.len() < 2 {
                return false;
            }
            if let Some(tail) = self.segments.pop_front() {
                self.queued = self.queued.saturating_sub(tail.len());
                self.carry.extend_from_slice(&tail);
            }
            return true;
        }
        // The scan looked at the carry and everything queued (fewer than `lookahead`
        // bytes, or it would have decided): keep them together, then look again (which
        // finds nothing new, but also covers a scan that did not see all the input).
        if self.segments.is_empty() {
            return false;
        }
        while let Some(segment) = self.segments.pop_front() {
            self.carry.extend_from_slice(&segment);
        }
        self.queued = 0;
        true
    }

    /// In `Headers`: moves the next header line (or what there is of it) from the segments
    /// into the carry, checking `max_header_bytes` first. False when no input is queued.
    fn take_header_line(&mut self) -> Result<bool> {
        let Some(front) = self.segments.front_mut() else { return Ok(false) };
        let n = memchr::memchr(b'\n', front).map_or(front.len(), |i| i + 1);
        if self.carry.len().saturating_add(n) > self.quotas.max_header_bytes {
            return Err(self.header_quota_error());
        }
        self.carry.extend_from_slice(&front.split_to(n));
        if front.is_empty() {
            self.segments.pop_front();
        }
        self.queued = self.queued.saturating_sub(n);
        Ok(true)
    }

    fn header_quota_error(&self) -> Error {
        Error::quota_exceeded(format!(
            "the header block of MIME part {} exceeds {} bytes (max_header_bytes)",
            self.parts, self.quotas.max_header_bytes
        ))
    }

    fn count_preamble(&mut self, n: usize) -> Result<()> {
        self.preamble_bytes = self.preamble_bytes.saturating_add(n as u64);
        // One of the discarded bytes is the virtual LF.
        if self.preamble_bytes.saturating_sub(1) > self.quotas.max_preamble_bytes {
            return Err(Error::invalid_format(format!(
                "no MIME boundary delimiter within the first {} bytes of the body (max_preamble_bytes)",
                self.quotas.max_preamble_bytes
            )));
        }
        Ok(())
    }

    fn begin_part(&mut self) -> Result<()> {
        if self.parts >= self.quotas.max_parts {
            return Err(Error::quota_exceeded(format!(
                "the MIME message has more than {} parts (max_parts)",
                self.quotas.max_parts
            )));
        }
        self.parts += 1;
        self.state = State::Headers { line_start: 0 };
        Ok(())
    }

    /// Hands out the first `n` bytes of a scan's window as part data: from the carry
    /// (`own` > 0; at most `own` bytes, the rest is handed out from the segment next time)
    /// or as a slice of the first segment.
    fn emit_data(&mut self, own: usize, n: usize) -> Result<MultipartEvent> {
        let n = if own > 0 { n.min(own) } else { n };
        let total = self.part_bytes.saturating_add(n as u64);
        if total > self.quotas.max_part_size {
            return Err(Error::quota_exceeded(format!(
                "MIME part {} exceeds {} bytes (max_part_size)",
                self.parts, self.quotas.max_part_size
            )));
        }
        self.part_bytes = total;
        let data = if own > 0 {
            self.carry.split_to(n).freeze()
        } else {
            let Some(front) = self.segments.front_mut() else {
                return Err(Error::invalid_operation("MultipartParser: no segment to hand data out of"));
            };
            let data = front.split_to(n.min(front.len()));
            if front.is_empty() {
                self.segments.pop_front();
            }
            self.queued = self.queued.saturating_sub(data.len());
            data
        };
        Ok(MultipartEvent::PartData(data))
    }

    /// Looks for the next real delimiter in `buf`.
    fn scan(&self, buf: &[u8]) -> Result<Scan> {
        let needle_len = self.finder.needle().len();
        // Bytes before `floor` are known to be data (a false candidate was there).
        let mut floor = 0;
        loop {
            let rest = buf.get(floor..).unwrap_or_default();
            let Some(rel) = self.finder.find(rest) else {
                // Only the last `needle_len - 1` bytes can hold the start of a delimiter
                // (and its CR one byte earlier): hold back from the first one that does.
                return Ok(Scan::NeedMore { safe: floor.max(partial_delimiter_start(buf, self.finder.needle())) });
            };
            let at = floor + rel;
            let start = if at > 0 && buf.get(at - 1) == Some(&b'\r') { at - 1 } else { at };
            let tail_at = at + needle_len;
            match classify_tail(buf.get(tail_at..).unwrap_or_default())? {
                Tail::Close => return Ok(Scan::Found { data_end: start, after: tail_at + 2, close: true }),
                Tail::Line(n) => return Ok(Scan::Found { data_end: start, after: tail_at + n, close: false }),
                Tail::NeedMore => return Ok(Scan::NeedMore { safe: start }),
                Tail::NotDelimiter => floor = at + 1,
            }
        }
    }
}

/// Where the longest suffix of `buf` that may begin a delimiter starts: a proper prefix of
/// `needle` (`LF "--" boundary`), with the CR before it if there is one, or a lone CR at
/// the end; `buf.len()` if no suffix can. A full needle is not looked for (the caller's
/// search found none).
fn partial_delimiter_start(buf: &[u8], needle: &[u8]) -> usize {
    let from = buf.len().saturating_sub(needle.len().saturating_sub(1));
    let tail = buf.get(from..).unwrap_or_default();
    for i in memchr::memchr_iter(b'\n', tail) {
        if needle.starts_with(tail.get(i..).unwrap_or_default()) {
            let at = from + i;
            return if at > 0 && buf.get(at - 1) == Some(&b'\r') { at - 1 } else { at };
        }
    }
    if buf.last() == Some(&b'\r') { buf.len() - 1 } else { buf.len() }
}

fn classify_tail(tail: &[u8]) -> Result<Tail> {
    match tail.first() {
        None => Ok(Tail::NeedMore),
        Some(b'-') => Ok(match tail.get(1) {
            None => Tail::NeedMore,
            Some(b'-') => Tail::Close,
            Some(_) => Tail::NotDelimiter,
        }),
        Some(_) => {
            let pad = tail.iter().take(MAX_TRANSPORT_PADDING + 1).take_while(|b| matches!(b, b' ' | b'\t')).count();
            if pad > MAX_TRANSPORT_PADDING {
                return Err(Error::invalid_format(format!(
                    "more than {MAX_TRANSPORT_PADDING} bytes of padding after a MIME boundary delimiter"
                )));
            }
            Ok(match tail.get(pad) {
                None => Tail::NeedMore,
                Some(b'\n') => Tail::Line(pad + 1),
                Some(b'\r') => match tail.get(pad + 1) {
                    None => Tail::NeedMore,
                    Some(b'\n') => Tail::Line(pad + 2),
                    Some(_) => Tail::NotDelimiter,
                },
                Some(_) => Tail::NotDelimiter,
            })
        }
    }
}

/// `Ok(end)`: the header block is `buf[..end]`, empty line included. `Err(line_start)`:
/// not complete yet; resume scanning at `line_start`.
fn find_header_end(buf: &[u8], mut line_start: usize) -> Result<usize, usize> {
    while let Some(rel) = memchr::memchr(b'\n', buf.get(line_start..).unwrap_or_default()) {
        let nl = line_start + rel;
        let line = buf.get(line_start..nl).unwrap_or_default();
        if line.is_empty() || line == b"\r" {
            return Ok(nl + 1);
        }
        line_start = nl + 1;
    }
    Err(line_start)
}
