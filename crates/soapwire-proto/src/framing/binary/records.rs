//! The record vocabulary of [MC-NBFX] §2: record type bytes, the `MultiByteInt31` integer,
//! and the *text forms* — the characters each typed text record stands for.
//!
//! This module owns every decision about how a binary value is spelled in text XML. Where
//! [MC-NBFX] contradicts itself or WCF, we follow what WCF's `XmlBinaryReader` hands to an
//! application (it renders typed records with `XmlConvert`), because that is the infoset a
//! WCF peer meant to send:
//!
//! | record | text form | note |
//! | --- | --- | --- |
//! | Int8/16/32/64, UInt64 | base 10, `-` for negatives, no leading zeros | |
//! | Float, Double | shortest digits that read back to the same value; `E+XX`/`E-XX` exponent outside 1e-4 ≤ \|v\| < 1e15 (1e7 for Float); `INF`, `-INF`, `NaN`, `-0` | §2.2.3.9's own example (`2.7182818284590451`, 17 digits) and §3's (`2.71828182845905`, 15 digits, which does not round-trip) disagree; shortest round-trip is what §2.2.3.9's rule asks for and what .NET Core's `XmlConvert` prints |
//! | Decimal | base 10 with exactly `scale` fraction digits (`1.50` stays `1.50`), as `XmlConvert` prints a `decimal` | a scale above 28 or a bad sign byte is `InvalidFormat` |
//! | DateTime | `yyyy-MM-ddTHH:mm:ss[.fffffff]` (fraction without trailing zeros), then `Z` (UTC) or `+00:00` (local) | §3's example `2006-05-17T00:00:00` (always with a time, a valid `xs:dateTime`) over §2.2.3.12's date-only form; a sans-IO decoder knows no local time zone, so local times get offset `+00:00` |
//! | TimeSpan | `xs:duration`: `[-]P[nD][T[nH][nM][n[.fffffff]S]]`, `PT0S` for zero | §3's examples (`-PT5M44S`, `PT3H20M`) and WCF, over §2.2.3.23's `HH:mm:ss` |
//! | UniqueId / Uuid | lowercase `urn:uuid:xxxxxxxx-…` / `xxxxxxxx-…`, first three groups little-endian | |
//! | Bytes8/16/32 | base64 with padding (RFC 4648) | |
//! | UnicodeChars32 | length is a 4-byte integer | §2.2.3.29 says MultiByteInt31; §3's example and WCF use Int32 |
//! | QNameDictionary | `p:name`, `p` = `a`…`z` | |
//!
//! Encoding goes the other way only for forms that read back byte for byte (see
//! [`text_record_for`]): `0`, `1`, `true`, `false`, the empty string, canonical integers,
//! lowercase `urn:uuid:` ids and dictionary strings; all other text is sent as UTF-8
//! characters.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::xml::XML_NAMESPACE;

/// The namespace of `xmlns` attributes, which no prefix may be bound to.
const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

pub(crate) const END_ELEMENT: u8 = 0x01;
pub(crate) const COMMENT: u8 = 0x02;
pub(crate) const ARRAY: u8 = 0x03;
pub(crate) const SHORT_ATTRIBUTE: u8 = 0x04;
pub(crate) const ATTRIBUTE: u8 = 0x05;
pub(crate) const SHORT_DICTIONARY_ATTRIBUTE: u8 = 0x06;
pub(crate) const DICTIONARY_ATTRIBUTE: u8 = 0x07;
pub(crate) const SHORT_XMLNS_ATTRIBUTE: u8 = 0x08;
pub(crate) const XMLNS_ATTRIBUTE: u8 = 0x09;
pub(crate) const SHORT_DICTIONARY_XMLNS_ATTRIBUTE: u8 = 0x0A;
pub(crate) const DICTIONARY_XMLNS_ATTRIBUTE: u8 = 0x0B;
/// 0x0C..=0x25: PrefixDictionaryAttributeA..Z.
pub(crate) const PREFIX_DICTIONARY_ATTRIBUTE_A: u8 = 0x0C;
/// 0x26..=0x3F: PrefixAttributeA..Z.
pub(crate) const PREFIX_ATTRIBUTE_A: u8 = 0x26;
pub(crate) const SHORT_ELEMENT: u8 = 0x40;
pub(crate) const ELEMENT: u8 = 0x41;
pub(crate) const SHORT_DICTIONARY_ELEMENT: u8 = 0x42;
pub(crate) const DICTIONARY_ELEMENT: u8 = 0x43;
/// 0x44..=0x5D: PrefixDictionaryElementA..Z.
pub(crate) const PREFIX_DICTIONARY_ELEMENT_A: u8 = 0x44;
/// 0x5E..=0x77: PrefixElementA..Z.
pub(crate) const PREFIX_ELEMENT_A: u8 = 0x5E;

pub(crate) const ZERO_TEXT: u8 = 0x80;
pub(crate) const ONE_TEXT: u8 = 0x82;
pub(crate) const FALSE_TEXT: u8 = 0x84;
pub(crate) const TRUE_TEXT: u8 = 0x86;
pub(crate) const INT8_TEXT: u8 = 0x88;
pub(crate) const INT16_TEXT: u8 = 0x8A;
pub(crate) const INT32_TEXT: u8 = 0x8C;
pub(crate) const INT64_TEXT: u8 = 0x8E;
pub(crate) const FLOAT_TEXT: u8 = 0x90;
pub(crate) const DOUBLE_TEXT: u8 = 0x92;
pub(crate) const DECIMAL_TEXT: u8 = 0x94;
pub(crate) const DATETIME_TEXT: u8 = 0x96;
pub(crate) const CHARS8_TEXT: u8 = 0x98;
pub(crate) const CHARS16_TEXT: u8 = 0x9A;
pub(crate) const CHARS32_TEXT: u8 = 0x9C;
pub(crate) const BYTES8_TEXT: u8 = 0x9E;
pub(crate) const BYTES16_TEXT: u8 = 0xA0;
pub(crate) const BYTES32_TEXT: u8 = 0xA2;
pub(crate) const START_LIST_TEXT: u8 = 0xA4;
pub(crate) const END_LIST_TEXT: u8 = 0xA6;
pub(crate) const EMPTY_TEXT: u8 = 0xA8;
pub(crate) const DICTIONARY_TEXT: u8 = 0xAA;
pub(crate) const UNIQUE_ID_TEXT: u8 = 0xAC;
pub(crate) const TIMESPAN_TEXT: u8 = 0xAE;
pub(crate) const UUID_TEXT: u8 = 0xB0;
pub(crate) const UINT64_TEXT: u8 = 0xB2;
pub(crate) const BOOL_TEXT: u8 = 0xB4;
pub(crate) const UNICODE_CHARS8_TEXT: u8 = 0xB6;
pub(crate) const UNICODE_CHARS16_TEXT: u8 = 0xB8;
pub(crate) const UNICODE_CHARS32_TEXT: u8 = 0xBA;
pub(crate) const QNAME_DICTIONARY_TEXT: u8 = 0xBC;
/// OR-ed into a text record type: "and then close the current element".
pub(crate) const WITH_END_ELEMENT: u8 = 0x01;
/// The last text record type (QNameDictionaryTextWithEndElement).
pub(crate) const LAST_TEXT: u8 = 0xBD;

/// The largest value a `MultiByteInt31` holds.
pub(crate) const MAX_INT31: u32 = 0x7FFF_FFFF;

/// The single-letter prefixes of the `…A` to `…Z` record ranges.
pub(crate) const LETTERS: [&str; 26] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w",
    "x", "y", "z",
];

/// The record's single-letter prefix (`'a'` + offset) for the A..Z record ranges.
pub(crate) fn letter(offset: u8) -> char {
    char::from(b'a'.saturating_add(offset))
}

/// `Some(0..=25)` if `prefix` is a single lowercase ASCII letter (the A..Z record forms).
pub(crate) fn letter_index(prefix: &str) -> Option<u8> {
    match prefix.as_bytes() {
        [b @ b'a'..=b'z'] => Some(b - b'a'),
        _ => None,
    }
}

/// Appends `value` as a `MultiByteInt31` (the caller guarantees `value <= MAX_INT31`).
pub(crate) fn write_int31(out: &mut Vec<u8>, value: u32) {
    let mut v = value;
    loop {
        let septet = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(septet);
            return;
        }
        out.push(septet | 0x80);
    }
}

/// The number of bytes `write_int31(value)` writes.
pub(crate) fn int31_len(value: u32) -> usize {
    match value {
        0..=0x7F => 1,
        0x80..=0x3FFF => 2,
        0x4000..=0x1F_FFFF => 3,
        0x20_0000..=0x0FFF_FFFF => 4,
        _ => 5,
    }
}

/// A cursor over wire bytes; every read checks the remaining input first.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Cursor<'a> {
        Cursor { input, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        let b = self.peek().ok_or_else(|| truncated(self.pos, 1))?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes; `n` is checked against the remaining input before anything else.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(truncated(self.pos, n));
        }
        let end = self.pos + n;
        let bytes = self.input.get(self.pos..end).ok_or_else(|| truncated(self.pos, n))?;
        self.pos = end;
        Ok(bytes)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(bytes);
        Ok(a)
    }

    pub(crate) fn u16_le(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32_le(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A `MultiByteInt31`: at most five bytes, at most 31 bits.
    pub(crate) fn int31(&mut self) -> Result<u32> {
        // One byte (a value below 128) is by far the most common form.
        if let Some(b) = self.peek().filter(|b| b & 0x80 == 0) {
            self.pos += 1;
            return Ok(u32::from(b));
        }
        let start = self.pos;
        let mut value: u32 = 0;
        for i in 0..5u32 {
            let b = self.u8()?;
            value |= u32::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                if i == 4 && b > 0x07 {
                    break;
                }
                return Ok(value);
            }
        }
        Err(Error::invalid_format(format!("MultiByteInt31 at offset {start} is longer than 31 bits")))
    }

    /// A `String` of [MC-NBFX] §2.1.3: `MultiByteInt31` byte length, then UTF-8.
    pub(crate) fn string(&mut self) -> Result<&'a str> {
        let len = self.int31()? as usize;
        let bytes = self.take(len)?;
        // Prefixes are almost always one lowercase letter, which needs no UTF-8 validation.
        if let [b @ b'a'..=b'z'] = bytes {
            return Ok(LETTERS.get(usize::from(b - b'a')).copied().unwrap_or_default());
        }
        std::str::from_utf8(bytes)
            .map_err(|e| Error::invalid_format(format!("string at offset {} is not UTF-8: {e}", self.pos - len)))
    }
}

fn truncated(at: usize, wanted: usize) -> Error {
    Error::invalid_format(format!("truncated record: {wanted} more byte(s) needed at offset {at}"))
}

/// Base 10 of an integer (the Int*Text and UInt64Text forms).
pub(crate) fn format_int(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

/// The FloatText form (see the module table).
pub(crate) fn format_f32(out: &mut String, v: f32) {
    format_float(out, f64::from(v), v.is_sign_negative(), &format!("{v:e}"), 7);
}

/// The DoubleText form (see the module table).
pub(crate) fn format_f64(out: &mut String, v: f64) {
    format_float(out, v, v.is_sign_negative(), &format!("{v:e}"), 15);
}

/// Lays out the shortest round-trip digits in `sci` (Rust's `{:e}`: `d.ddde±x`) the way
/// .NET's `XmlConvert` does: fixed notation while the decimal exponent is in
/// `-4 ..< max(max_fixed, digit count)`, scientific (`d.dddE+XX`, at least two exponent
/// digits) otherwise.
fn format_float(out: &mut String, v: f64, negative: bool, sci: &str, max_fixed: i32) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if negative { "-INF" } else { "INF" });
        return;
    }
    if v == 0.0 {
        out.push_str(if negative { "-0" } else { "0" });
        return;
    }
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mantissa = mantissa.strip_prefix('-').unwrap_or(mantissa);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        out.push('-');
    }
    let max_fixed = max_fixed.max(i32::try_from(digits.len()).unwrap_or(i32::MAX));
    if exponent >= max_fixed || exponent < -4 {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "E{sign}{:02}", exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = usize::try_from(exponent).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            let (int, frac) = digits.split_at(int_len);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    }
}

/// The DecimalText form of the 16 bytes of an OLE `DECIMAL` ([MS-OAUT] §2.2.26:
/// `wReserved`, `scale`, `sign`, `Hi32`, `Lo64`).
pub(crate) fn format_decimal(out: &mut String, raw: &[u8; 16]) -> Result<()> {
    let [_, _, scale, sign, h0, h1, h2, h3, l0, l1, l2, l3, l4, l5, l6, l7] = *raw;
    if scale > 28 || (sign != 0 && sign != 0x80) {
        return Err(Error::invalid_format(format!("DecimalText with scale {scale} and sign 0x{sign:02X}")));
    }
    let hi = u128::from(u32::from_le_bytes([h0, h1, h2, h3]));
    let lo = u128::from(u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]));
    let magnitude = (hi << 64) | lo;
    let digits = magnitude.to_string();
    let scale = usize::from(scale);
    if sign != 0 && magnitude != 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
        return Ok(());
    }
    let padded =
        if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - scale);
    out.push_str(int);
    out.push('.');
    out.push_str(frac);
    Ok(())
}

/// Ticks (100 ns) per second and per day.
const TICKS_PER_SECOND: u64 = 10_000_000;
const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SECOND;
/// 0001-01-01 to 10000-01-01 in ticks: the exclusive upper bound of a DateTimeText value.
const MAX_DATETIME_TICKS: u64 = 3_155_378_976_000_000_000;

/// The DateTimeText form (see the module table).
pub(crate) fn format_datetime(out: &mut String, raw: u64) -> Result<()> {
    let ticks = raw & ((1 << 62) - 1);
    let kind = raw >> 62;
    if ticks >= MAX_DATETIME_TICKS || kind == 3 {
        return Err(Error::invalid_format(format!("DateTimeText value 0x{raw:016X} is out of range")));
    }
    let days = ticks / TICKS_PER_DAY;
    let in_day = ticks % TICKS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / TICKS_PER_SECOND;
    let fraction = in_day % TICKS_PER_SECOND;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    );
    push_fraction(out, fraction);
    match kind {
        1 => out.push('Z'),
        2 => out.push_str("+00:00"),
        _ => {}
    }
    Ok(())
}

/// `.fffffff` without trailing zeros, nothing for a zero fraction.
fn push_fraction(out: &mut String, fraction: u64) {
    if fraction == 0 {
        return;
    }
    let digits = format!("{fraction:07}");
    out.push('.');
    out.push_str(digits.trim_end_matches('0'));
}

/// Proleptic Gregorian (year, month, day) of `days` since 0001-01-01 (H. Hinnant's
/// `civil_from_days`, shifted to that epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Days from 0000-03-01 to 0001-01-01 are 306.
    let z = days + 306;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The TimeSpanText form: an `xs:duration` as `XmlConvert.ToString(TimeSpan)` writes it.
pub(crate) fn format_timespan(out: &mut String, ticks: i64) {
    if ticks == 0 {
        out.push_str("PT0S");
        return;
    }
    if ticks < 0 {
        out.push('-');
    }
    let t = ticks.unsigned_abs();
    let days = t / TICKS_PER_DAY;
    let rest = t % TICKS_PER_DAY;
    let seconds = rest / TICKS_PER_SECOND;
    let fraction = rest % TICKS_PER_SECOND;
    let (h, m, s) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    out.push('P');
    if days != 0 {
        let _ = write!(out, "{days}D");
    }
    if h != 0 || m != 0 || s != 0 || fraction != 0 {
        out.push('T');
        if h != 0 {
            let _ = write!(out, "{h}H");
        }
        if m != 0 {
            let _ = write!(out, "{m}M");
        }
        if s != 0 || fraction != 0 {
            let _ = write!(out, "{s}");
            push_fraction(out, fraction);
            out.push('S');
        }
    }
}

/// The UuidText form of 16 wire bytes (Data1..3 little-endian), lowercase.
pub(crate) fn format_uuid(out: &mut String, b: &[u8; 16]) {
    // Byte by byte rather than through `write!`: every MessageID and RelatesTo of a WCF
    // message is a UniqueId, and the formatter costs several times the 36 characters.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let mut text = [0u8; 36];
    let mut at = 0;
    for (i, &index) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text[at] = b'-';
            at += 1;
        }
        let byte = b[index];
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 0x0F)];
        at += 2;
    }
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// The wire bytes of a lowercase canonical UUID string (the inverse of [`format_uuid`]),
/// or `None` if `s` is not exactly that form.
pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let bytes = s.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut hex = [0u8; 16];
    let mut n = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        let slot = hex.get_mut(n / 2)?;
        *slot = if n % 2 == 0 { v << 4 } else { *slot | v };
        n += 1;
    }
    let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = hex;
    let mut wire = [0u8; 16];
    wire[..8].copy_from_slice(&[a3, a2, a1, a0, b1, b0, c1, c0]);
    wire[8..].copy_from_slice(&rest);
    Some(wire)
}

/// Base64 (standard alphabet, padded) of `bytes`.
pub(crate) fn base64_into(out: &mut String, bytes: &[u8]) {
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

/// The length of the base64 text of `n` bytes.
pub(crate) fn base64_len(n: usize) -> usize {
    n.div_ceil(3).saturating_mul(4)
}

/// A text record chosen for `text` by the encoder, in wire form without the record byte's
/// `WITH_END_ELEMENT` bit. `dictionary` maps a string to its dictionary id, if it has one.
pub(crate) enum TextRecord<'t> {
    /// A record with no payload (Zero, One, False, True, Empty).
    Bare(u8),
    /// The smallest Int*Text that holds the value, or UInt64Text.
    Int(i64),
    /// UInt64Text for values above `i64::MAX`.
    UInt(u64),
    /// UniqueIdText with these wire bytes.
    UniqueId([u8; 16]),
    /// DictionaryText with this id.
    Dictionary(u32),
    /// Chars8/16/32Text.
    Chars(&'t str),
}

/// The record the encoder sends for `text`: only forms that decode back to exactly `text`.
/// `dictionary` looks `text` up in the dictionary; it is called only when the answer
/// matters (not for the bare forms, which take precedence).
pub(crate) fn text_record_for(text: &str, dictionary: impl FnOnce() -> Option<u32>) -> TextRecord<'_> {
    match text {
        "0" => return TextRecord::Bare(ZERO_TEXT),
        "1" => return TextRecord::Bare(ONE_TEXT),
        "false" => return TextRecord::Bare(FALSE_TEXT),
        "true" => return TextRecord::Bare(TRUE_TEXT),
        "" => return TextRecord::Bare(EMPTY_TEXT),
        _ => {}
    }
    if let Some(id) = dictionary() {
        return TextRecord::Dictionary(id);
    }
    if is_canonical_integer(text) {
        if let Ok(v) = text.parse::<i64>() {
            return TextRecord::Int(v);
        }
        if let Ok(v) = text.parse::<u64>() {
            return TextRecord::UInt(v);
        }
    }
    if let Some(uuid) = text.strip_prefix("urn:uuid:").and_then(parse_uuid) {
        return TextRecord::UniqueId(uuid);
    }
    TextRecord::Chars(text)
}

/// `-?[1-9][0-9]*` (so that base 10 of the parsed value is `text` again).
fn is_canonical_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let bytes = digits.as_bytes();
    !bytes.is_empty() && bytes.len() <= 20 && bytes.first() != Some(&b'0') && bytes.iter().all(u8::is_ascii_digit)
}

/// Appends the wire form of `record` (record byte with `end` as the WithEndElement bit).
pub(crate) fn write_text_record(out: &mut Vec<u8>, record: &TextRecord<'_>, end: bool) -> Result<()> {
    let bit = if end { WITH_END_ELEMENT } else { 0 };
    match *record {
        TextRecord::Bare(t) => out.push(t | bit),
        TextRecord::Int(v) => {
            if let Ok(v) = i8::try_from(v) {
                out.push(INT8_TEXT | bit);
                out.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i16::try_from(v) {
                out.push(INT16_TEXT | bit);
                out.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i32::try_from(v) {
                out.push(INT32_TEXT | bit);
                out.extend_from_slice(&v.to_le_bytes());
            } else {
                out.push(INT64_TEXT | bit);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        TextRecord::UInt(v) => {
            out.push(UINT64_TEXT | bit);
            out.extend_from_slice(&v.to_le_bytes());
        }
        TextRecord::UniqueId(b) => {
            out.push(UNIQUE_ID_TEXT | bit);
            out.extend_from_slice(&b);
        }
        TextRecord::Dictionary(id) => {
            out.push(DICTIONARY_TEXT | bit);
            write_int31(out, id);
        }
        TextRecord::Chars(s) => {
            let len = s.len();
            if let Ok(n) = u8::try_from(len) {
                out.push(CHARS8_TEXT | bit);
                out.push(n);
            } else if let Ok(n) = u16::try_from(len) {
                out.push(CHARS16_TEXT | bit);
                out.extend_from_slice(&n.to_le_bytes());
            } else if let Ok(n) = i32::try_from(len) {
                out.push(CHARS32_TEXT | bit);
                out.extend_from_slice(&n.to_le_bytes());
            } else {
                return Err(Error::quota_exceeded(format!(
                    "a text node of {len} bytes is too long for .NET binary XML"
                )));
            }
            out.extend_from_slice(s.as_bytes());
        }
    }
    Ok(())
}

/// The XML 1.0 `Char` production.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// `InvalidFormat` unless every character of `s` is an XML 1.0 `Char`.
pub(crate) fn check_xml_chars(s: &str, what: &str) -> Result<()> {
    let Some(from) = first_suspect_chunk(s.as_bytes()) else { return Ok(()) };
    match s.get(from..).unwrap_or(s).chars().find(|c| !is_xml_char(*c)) {
        None => Ok(()),
        Some(c) => Err(Error::invalid_format(format!("{what} holds U+{:04X}, which XML 1.0 cannot carry", c as u32))),
    }
}

/// The start of the first 16-byte chunk holding a byte that may begin a character XML 1.0
/// forbids, or `None`. In UTF-8 those are the C0 controls other than tab, LF and CR (one
/// byte each) and U+FFFE and U+FFFF (lead byte 0xEF); a `str` holds no surrogates. The
/// per-chunk test is branch-free so that the compiler vectorises it, and the last chunk is
/// padded with spaces rather than scanned byte by byte, because most strings checked here
/// (names, URIs, header values) are shorter than a chunk or two. Only a suspect chunk is then
/// decoded character by character.
fn first_suspect_chunk(bytes: &[u8]) -> Option<usize> {
    const CHUNK: usize = 16;
    let suspect = |chunk: &[u8; CHUNK]| {
        let flag = |b: u8| ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')) | (b == 0xEF);
        chunk.iter().fold(false, |acc, &b| acc | flag(b))
    };
    let mut chunks = bytes.chunks_exact(CHUNK);
    for (i, chunk) in (&mut chunks).enumerate() {
        if chunk.try_into().is_ok_and(&suspect) {
            return Some(i * CHUNK);
        }
    }
    let tail = chunks.remainder();
    let mut last = [b' '; CHUNK];
    if let Some(head) = last.get_mut(..tail.len()) {
        head.copy_from_slice(tail);
    }
    suspect(&last).then(|| bytes.len() - tail.len())
}

fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// [`is_ncname`]'s ASCII cases as a table: bit 1 for a `NameStartChar`, bit 2 for a
/// `NameChar` (non-ASCII bytes have neither).
static ASCII_NAME: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b: u8 = 0;
    while b < 0x80 {
        let start = b.is_ascii_alphabetic() || b == b'_';
        table[b as usize] = (start as u8) | ((start || b.is_ascii_digit() || b == b'-' || b == b'.') as u8) << 1;
        b += 1;
    }
    table
};

/// True if `s` is an XML `NCName` (a name without a colon).
pub(crate) fn is_ncname(s: &str) -> bool {
    // Almost every name is ASCII, where the productions reduce to a table lookup per byte;
    // anything else (a non-ASCII character, or no name at all) takes the full productions.
    if let [first, rest @ ..] = s.as_bytes()
        && ASCII_NAME[usize::from(*first)] & 1 != 0
        && rest.iter().all(|&b| ASCII_NAME[usize::from(b)] & 2 != 0)
    {
        return true;
    }
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// The Namespaces in XML rules for one declaration `xmlns:prefix="uri"` (`prefix` = `""`
/// for `xmlns="uri"`): `InvalidFormat` when it breaks them.
pub(crate) fn check_declaration(prefix: &str, uri: &str) -> Result<()> {
    if !prefix.is_empty() && !is_ncname(prefix) {
        return Err(Error::invalid_format(format!("'{}' is not a valid namespace prefix", prefix.escape_debug())));
    }
    check_xml_chars(uri, "a namespace URI")?;
    let bad = match prefix {
        "xmlns" => Some("the prefix 'xmlns' cannot be declared"),
        "xml" if uri != XML_NAMESPACE => Some("the prefix 'xml' can only be bound to the XML namespace"),
        "xml" => None,
        _ if uri == XML_NAMESPACE => Some("only the prefix 'xml' can be bound to the XML namespace"),
        _ if uri == XMLNS_NAMESPACE => Some("no prefix can be bound to the xmlns namespace"),
        p if !p.is_empty() && uri.is_empty() => Some("a prefix cannot be bound to the empty namespace"),
        _ => None,
    };
    match bad {
        Some(message) => Err(Error::invalid_format(message)),
        None => Ok(()),
    }
}
