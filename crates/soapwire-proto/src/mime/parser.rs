//! The `multipart/*` push parser: bytes in, [`MultipartEvent`]s out, in bounded memory.
//!
//! The body is scanned for the delimiter `LF "--" boundary` with [`memchr::memmem`] (a
//! preceding CR belongs to the delimiter too, so bare-LF messages are tolerated). A match
//! only counts when the rest of its line is transport padding and a line end, or `--` (the
//! closing delimiter); otherwise the bytes are part data. Everything before the last
//! `len(delimiter)` bytes of the buffer is known not to start a delimiter and is handed out
//! at once, so the parser never holds more than that carry-over between pushes.

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
/// Feed it with [`push`](Self::push) and drain it with [`poll_event`](Self::poll_event)
/// until that returns `None`; at the end of input call [`finish`](Self::finish). The
/// preamble and the epilogue are skipped. Parts are delivered raw: no transfer decoding
/// (see [`XopPackageCheck`](super::XopPackageCheck) for the encodings MTOM allows).
///
/// Memory: the parser owns the bytes pushed and not yet returned as events, plus a
/// carry-over of at most `len(boundary) + 5` bytes (a possible partial delimiter line), plus,
/// while one is being read, a part's header block (at most `max_header_bytes`) or a
/// delimiter line's padding (at most [`MAX_TRANSPORT_PADDING`]). Part bodies are never
/// accumulated, so memory does not depend on part sizes as long as the caller drains
/// events between pushes.
///
/// Every error is sticky: after the first failure, `push`, `poll_event` and `finish` keep
/// returning it.
#[derive(Debug)]
pub struct MultipartParser {
    quotas: MimeQuotas,
    finder: Finder<'static>,
    buf: BytesMut,
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
        let mut buf = BytesMut::with_capacity(needle.len() + 64);
        // A virtual line end, so a delimiter at the very start of the body (no preamble)
        // is found like any other.
        buf.extend_from_slice(b"\n");
        Ok(MultipartParser {
            quotas,
            finder: Finder::new(&needle).into_owned(),
            buf,
            state: State::Preamble,
            message_bytes: 0,
            preamble_bytes: 0,
            parts: 0,
            part_bytes: 0,
            drained: true,
            failure: None,
        })
    }

    /// Appends the next bytes of the body. Fails with `QuotaExceeded` (before buffering
    /// anything) if the message would exceed `max_message_size`, and with
    /// `InvalidOperation` after [`finish`](Self::finish).
    ///
    /// Bytes after the closing delimiter (the epilogue) are counted and dropped.
    pub fn push(&mut self, input: &[u8]) -> Result<()> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        let total = self.message_bytes.saturating_add(input.len() as u64);
        if total > self.quotas.max_message_size {
            return Err(self.fail(Error::quota_exceeded(format!(
                "the MIME message exceeds {} bytes (max_message_size)",
                self.quotas.max_message_size
            ))));
        }
        self.message_bytes = total;
        if input.is_empty() {
            return Ok(());
        }
        if !matches!(self.state, State::EndDue | State::Epilogue) {
            self.buf.extend_from_slice(input);
            self.drained = false;
        }
        Ok(())
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
        self.buf.len()
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failure = Some(e.clone());
        self.buf = BytesMut::new();
        e
    }

    fn step(&mut self) -> Result<Option<MultipartEvent>> {
        loop {
            match self.state {
                State::Preamble => match self.scan()? {
                    Scan::Found { data_end, after, close } => {
                        self.discard_preamble(data_end)?;
                        if close {
                            return Err(Error::invalid_format("a multipart body must contain at least one part"));
                        }
                        self.buf.advance(after - data_end);
                        self.begin_part()?;
                    }
                    Scan::NeedMore { safe } => {
                        self.discard_preamble(safe)?;
                        return Ok(None);
                    }
                },
                State::Headers { line_start } => {
                    return match find_header_end(&self.buf, line_start) {
                        Ok(end) => {
                            if end > self.quotas.max_header_bytes {
                                return Err(self.header_quota_error());
                            }
                            let block = self.buf.split_to(end);
                            let headers = PartHeaders::parse(&block, self.quotas.max_headers)?;
                            self.state = State::Body;
                            self.part_bytes = 0;
                            Ok(Some(MultipartEvent::PartStart { headers }))
                        }
                        Err(line_start) => {
                            if self.buf.len() > self.quotas.max_header_bytes {
                                return Err(self.header_quota_error());
                            }
                            self.state = State::Headers { line_start };
                            Ok(None)
                        }
                    };
                }
                State::Body => {
                    return match self.scan()? {
                        Scan::Found { data_end, after, close } => {
                            if data_end > 0 {
                                // The delimiter is found again (at 0) on the next call.
                                return self.emit_data(data_end).map(Some);
                            }
                            self.buf.advance(after);
                            if close {
                                self.state = State::EndDue;
                            } else {
                                self.begin_part()?;
                            }
                            Ok(Some(MultipartEvent::PartEnd))
                        }
                        Scan::NeedMore { safe: 0 } => Ok(None),
                        Scan::NeedMore { safe } => self.emit_data(safe).map(Some),
                    };
                }
                State::EndDue => {
                    self.state = State::Epilogue;
                    self.buf = BytesMut::new();
                    return Ok(Some(MultipartEvent::End));
                }
                State::Epilogue => return Ok(None),
            }
        }
    }

    fn header_quota_error(&self) -> Error {
        Error::quota_exceeded(format!(
            "the header block of MIME part {} exceeds {} bytes (max_header_bytes)",
            self.parts, self.quotas.max_header_bytes
        ))
    }

    fn discard_preamble(&mut self, n: usize) -> Result<()> {
        self.buf.advance(n);
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

    fn emit_data(&mut self, n: usize) -> Result<MultipartEvent> {
        let total = self.part_bytes.saturating_add(n as u64);
        if total > self.quotas.max_part_size {
            return Err(Error::quota_exceeded(format!(
                "MIME part {} exceeds {} bytes (max_part_size)",
                self.parts, self.quotas.max_part_size
            )));
        }
        self.part_bytes = total;
        Ok(MultipartEvent::PartData(self.buf.split_to(n).freeze()))
    }

    /// Looks for the next real delimiter in the buffer.
    fn scan(&self) -> Result<Scan> {
        let buf: &[u8] = &self.buf;
        let needle_len = self.finder.needle().len();
        // Bytes before `floor` are known to be data (a false candidate was there).
        let mut floor = 0;
        loop {
            let rest = buf.get(floor..).unwrap_or_default();
            let Some(rel) = self.finder.find(rest) else {
                // A delimiter may start in the last `needle_len - 1` bytes, and its CR one
                // byte earlier.
                return Ok(Scan::NeedMore { safe: floor.max(buf.len().saturating_sub(needle_len)) });
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
