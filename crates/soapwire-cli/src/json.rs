//! The CLI's JSON output, written by hand (the CLI has no JSON dependency): a [`Json`] value and
//! two layouts, [`Json::pretty`] (two-space indentation, one field per line: `metadata --json`)
//! and [`Json::compact`] (one line, `", "` between items: a row of `discover --json`).

use std::fmt::Write as _;

/// A JSON value.
pub(crate) enum Json {
    Null,
    Uint(u64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// A string, or `null` for `None`.
    pub(crate) fn opt(value: Option<&str>) -> Json {
        value.map_or(Json::Null, Json::str)
    }

    pub(crate) fn str(value: &str) -> Json {
        Json::Str(value.to_owned())
    }

    /// An array of strings.
    pub(crate) fn strs<'a>(items: impl IntoIterator<Item = &'a str>) -> Json {
        Json::Arr(items.into_iter().map(Json::str).collect())
    }

    /// An object from `(key, value)` pairs.
    pub(crate) fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
        Json::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// Indented by two spaces a level, one item per line; empty arrays and objects as `[]`, `{}`.
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::with_capacity(2048);
        self.write(&mut out, Some(0));
        out
    }

    /// On one line: `{"k": v, "k": [a, b]}`.
    pub(crate) fn compact(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write(&mut out, None);
        out
    }

    /// Writes the value; `indent` is the current level's indentation, or `None` for one line.
    fn write(&self, out: &mut String, indent: Option<usize>) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Uint(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => write_string(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                write_items(out, indent, ('[', ']'), items, |out, item, inner| item.write(out, inner));
            }
            Json::Obj(fields) => {
                write_items(out, indent, ('{', '}'), fields, |out, (key, value), inner| {
                    write_string(out, key);
                    out.push_str(": ");
                    value.write(out, inner);
                });
            }
        }
    }
}

/// The items of an array or object between `brackets`, in the layout `indent` selects.
fn write_items<T>(
    out: &mut String,
    indent: Option<usize>,
    brackets: (char, char),
    items: &[T],
    mut item: impl FnMut(&mut String, &T, Option<usize>),
) {
    let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
    out.push(brackets.0);
    for (i, value) in items.iter().enumerate() {
        match indent {
            Some(level) => {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                pad(out, level + 2);
                item(out, value, Some(level + 2));
            }
            None => {
                if i > 0 {
                    out.push_str(", ");
                }
                item(out, value, None);
            }
        }
    }
    if let Some(level) = indent {
        out.push('\n');
        pad(out, level);
    }
    out.push(brackets.1);
}

/// Appends `s` as a JSON string literal: `"` and `\` escaped, control characters as `\n`,
/// `\r`, `\t` or `\u00XX`, everything else as it is (UTF-8).
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\n\r\t\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\r\\t\\u0001é\"");
    }

    #[test]
    fn both_layouts() {
        let value = Json::obj([
            ("s", Json::str("x")),
            ("n", Json::Uint(7)),
            ("none", Json::opt(None)),
            ("list", Json::strs(["a", "b"])),
            ("empty", Json::Arr(Vec::new())),
            ("nested", Json::obj([("k", Json::Obj(Vec::new()))])),
        ]);
        assert_eq!(
            value.compact(),
            r#"{"s": "x", "n": 7, "none": null, "list": ["a", "b"], "empty": [], "nested": {"k": {}}}"#
        );
        let pretty = "{\n  \"s\": \"x\",\n  \"n\": 7,\n  \"none\": null,\n  \"list\": [\n    \"a\",\n    \"b\"\n  ],\n  \
                      \"empty\": [],\n  \"nested\": {\n    \"k\": {}\n  }\n}";
        assert_eq!(value.pretty(), pretty);
    }
}
