//! `cargo xtask bench xml`: envelope parse and write throughput against quick-xml's raw event
//! loop (the ceiling), all measured in one process in one run.
//!
//! The measuring is soapwire-proto's `xml` benchmark target (crates/soapwire-proto/benches/xml.rs),
//! built in release by [`bench_executable`] and run as a child, as `bench mtom` runs its
//! release clients: it prints one tab-separated `SAMPLE` line per case and repeat, which this
//! module gathers into the tables (medians, ranges, ratios to the ceiling). This module also
//! owns the helpers the instruction counts share: [`bench_executable`] and [`Table`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use super::{OptionArgs, machine, median, min_max, paired_ratio, thousands, write_bench_file};
use crate::{cargo, describe, repo_root};

pub(super) const USAGE: &str = "\
usage: cargo xtask bench xml [options]

Builds soapwire-proto's `xml` benchmark (benches/xml.rs) in release and measures, in one
process with repeats interleaved, reads and writes of five envelopes: the peers' echo11.xml
and echo12.xml, an 8-header WS-Addressing SOAP 1.2 envelope (wsa12), a body of 1 MiB of
base64 text in one element (base64-1mib), a body of 10,000 small elements (elements-10k).
  reads:  quick-xml raw Reader::read_event loop, no namespaces (the ceiling); quick-xml
          NsReader::read_resolved_event loop; soapwire Envelope::parse; Envelope::parse plus
          Body::reader to Eof (what a service does)
  writes: memcpy of the written bytes into a new Vec (the ceiling); write_envelope_with_body
          of the parsed headers and body (an echo); write_envelope with the body bytes as
          they are (bodies that declare their namespaces)
Prints ns per envelope, MB/s (10^6 bytes/s of document, for writes of output) and the ratio
to the ceiling per case. Every document is checked first (both quick-xml loops and soapwire
parse it, each write parses back to the same headers and body events); fails only then.

options:
  --millis N     length of each sample in ms (default 200)
  --repeats N    interleaved repeats (default 5)
  --smoke        one call per case and no timing to speak of: the checks only (CI)
  --markdown     print the tables as Markdown";

/// Options of `bench xml`.
struct Options {
    millis: u64,
    repeats: usize,
    smoke: bool,
    markdown: bool,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Options> {
        let mut o = Options { millis: 200, repeats: 5, smoke: false, markdown: false };
        let mut args = OptionArgs::new(args);
        while let Some((arg, name, inline)) = args.next_option(&[]) {
            let mut value = || args.value(name, inline);
            match name {
                "--millis" => o.millis = value()?.parse().context("--millis: whole milliseconds")?,
                "--repeats" => o.repeats = value()?.parse().context("--repeats: a number")?,
                "--smoke" => o.smoke = true,
                "--markdown" => o.markdown = true,
                _ => bail!("unknown option {arg:?}\n\n{USAGE}"),
            }
        }
        if o.millis == 0 || o.repeats == 0 {
            bail!("--millis and --repeats must be at least 1");
        }
        if o.smoke {
            o.repeats = 1;
        }
        Ok(o)
    }
}

/// `cargo bench --no-run` of soapwire-proto's benchmark target `bench` (the bench profile:
/// release with line tables); returns the path of its executable.
pub(super) fn bench_executable(bench: &str) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.current_dir(repo_root())
        .args(["bench", "--no-run", "--message-format=json-render-diagnostics", "-p", "soapwire-proto"])
        .args(["--bench", bench])
        .stderr(Stdio::inherit());
    let shown = describe(&cmd);
    println!("==> {shown}");
    let out = cmd.output().with_context(|| format!("running `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({})", out.status);
    }
    let source = format!("benches/{bench}.rs\"");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains(&source))
        .find_map(|l| l.split_once("\"executable\":\"").and_then(|(_, rest)| rest.split_once('"')))
        .map(|(path, _)| PathBuf::from(path))
        .with_context(|| format!("`{shown}` named no executable for benches/{bench}.rs"))
}

/// A table printed as aligned text or as Markdown: the first `left` columns (names) aligned
/// left, the others (figures) right.
pub(super) struct Table {
    head: Vec<String>,
    left: usize,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(head: &[&str], left: usize) -> Table {
        Table { head: head.iter().map(|h| (*h).to_string()).collect(), left, rows: Vec::new() }
    }

    pub(super) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub(super) fn render(&self, markdown: bool) -> String {
        let mut out = String::new();
        let lines = std::iter::once(&self.head).chain(&self.rows);
        if markdown {
            let rule: Vec<&str> = (0..self.head.len()).map(|i| if i < self.left { "---" } else { "---:" }).collect();
            for (i, cells) in lines.enumerate() {
                let _ = writeln!(out, "| {} |", cells.join(" | "));
                if i == 0 {
                    let _ = writeln!(out, "| {} |", rule.join(" | "));
                }
            }
            return out;
        }
        let mut widths = vec![0; self.head.len()];
        for cells in std::iter::once(&self.head).chain(&self.rows) {
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        for cells in lines {
            let mut line = String::new();
            for (i, (c, &w)) in cells.iter().zip(&widths).enumerate() {
                let _ = if i < self.left { write!(line, "  {c:<w$}") } else { write!(line, "  {c:>w$}") };
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// One `SAMPLE` line of the child.
#[derive(Clone, Debug, PartialEq)]
struct Sample {
    bytes: u64,
    ns: f64,
}

impl Sample {
    fn mbps(&self) -> f64 {
        self.bytes as f64 * 1e3 / self.ns
    }
}

/// The child's samples: `(document, kind, case)` in first-seen order, and each one's samples
/// in repeat order.
#[derive(Debug, Default)]
struct Results {
    order: Vec<(String, String, String)>,
    samples: BTreeMap<(String, String, String), Vec<Sample>>,
}

/// Parses the child's `SAMPLE doc kind case rep bytes iterations ns` lines.
fn parse_samples(stdout: &str) -> Result<Results> {
    let mut r = Results::default();
    for line in stdout.lines().filter(|l| l.starts_with("SAMPLE\t")) {
        let f: Vec<&str> = line.split('\t').collect();
        let [_, doc, kind, case, _rep, bytes, _iterations, ns] = f.as_slice() else {
            bail!("malformed line from the xml benchmark: {line:?}");
        };
        let key = (doc.to_string(), kind.to_string(), case.to_string());
        let sample = Sample {
            bytes: bytes.parse().with_context(|| format!("bytes in {line:?}"))?,
            ns: ns.parse().with_context(|| format!("ns in {line:?}"))?,
        };
        if !r.samples.contains_key(&key) {
            r.order.push(key.clone());
        }
        r.samples.entry(key).or_default().push(sample);
    }
    if r.order.is_empty() {
        bail!("the xml benchmark printed no samples:\n{stdout}");
    }
    Ok(r)
}

/// The table of one kind (`read` or `write`): per document, each case against the first
/// case of that document (the ceiling).
fn table(results: &Results, kind: &str, markdown: bool) -> String {
    let ceiling_name = if kind == "read" { "quick-xml raw" } else { "memcpy" };
    let mut t = Table::new(&["document", "case", "bytes", "ns/envelope", "MB/s", "min..max MB/s", "vs ceiling"], 2);
    let mut ceiling: Option<Vec<f64>> = None;
    for key in results.order.iter().filter(|k| k.1 == kind) {
        let (doc, _, case) = key;
        let Some(samples) = results.samples.get(key) else { continue };
        let mut rates: Vec<f64> = samples.iter().map(Sample::mbps).collect();
        let mut ns: Vec<f64> = samples.iter().map(|s| s.ns).collect();
        if case == ceiling_name {
            ceiling = Some(rates.clone());
        }
        let ratio = match &ceiling {
            Some(c) if case != ceiling_name => paired_ratio(&rates, c),
            _ => "(ceiling)".to_string(),
        };
        let (lo, hi) = min_max(&rates);
        let bytes = samples.first().map_or(0, |s| s.bytes);
        t.push(vec![
            doc.clone(),
            case.clone(),
            thousands(bytes as f64),
            thousands(median(&mut ns)),
            thousands(median(&mut rates)),
            format!("{}..{}", thousands(lo), thousands(hi)),
            ratio,
        ]);
    }
    t.render(markdown)
}

fn report(o: &Options, results: &Results, machine: &str) -> String {
    let heading = if o.markdown { "" } else { "# " };
    let mut out = String::new();
    let timing = if o.smoke {
        "smoke run: one call per case, the figures mean nothing".to_string()
    } else {
        format!("median of {} interleaved repeats of about {} ms each", o.repeats, o.millis)
    };
    let _ = writeln!(
        out,
        "{heading}{machine}; {timing}; MB/s = 10^6 bytes/s; vs ceiling = MB/s ratio, median (per repeat min..max)"
    );
    for (kind, title) in [
        ("read", "reads (bytes of document; ceiling: quick-xml's raw Reader::read_event loop)"),
        ("write", "writes of the parsed content (bytes written; ceiling: memcpy of the same bytes)"),
    ] {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", if o.markdown { format!("**{title}**\n") } else { title.to_string() });
        out.push_str(&table(results, kind, o.markdown));
    }
    out
}

/// `cargo xtask bench xml`.
pub(super) fn xml(args: &[&str]) -> Result<()> {
    let o = Options::parse(args)?;
    let exe = bench_executable("xml")?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.args(["--millis", &o.millis.to_string(), "--repeats", &o.repeats.to_string()]);
    if o.smoke {
        cmd.arg("--smoke");
    }
    let shown = describe(&cmd);
    let machine = machine();
    println!("==> {machine}\n==> {shown}");
    let out = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("running `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines().filter(|l| l.starts_with("CHECK\t")) {
        println!("    {}", line.trim_start_matches("CHECK\t").replacen('\t', ": ", 1));
    }
    if !out.status.success() {
        bail!("`{shown}` failed ({}): a check did not pass (see above)", out.status);
    }
    let results = parse_samples(&stdout)?;
    let raw = write_bench_file("xml", &stdout)?;
    println!();
    print!("{}", report(&o, &results, &machine));
    println!("raw samples: {}", raw.display());
    if o.smoke {
        println!("smoke: every document parsed and every write round-tripped (speeds are not checked)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_tables() {
        let stdout = "DOC\techo11\t235\n\
                      SAMPLE\techo11\tread\tquick-xml raw\t1\t235\t1000\t100.0\n\
                      SAMPLE\techo11\tread\tsoapwire parse\t1\t235\t1000\t400.0\n\
                      SAMPLE\techo11\twrite\tmemcpy\t1\t273\t1000\t10.0\n";
        let r = parse_samples(stdout).expect("parses");
        assert_eq!(r.order.len(), 3);
        let read = table(&r, "read", false);
        assert!(read.contains("2,350") && read.contains("588") && read.contains("0.25x"), "{read}");
        assert!(table(&r, "write", true).starts_with("| document | case |"));
        assert!(parse_samples("SAMPLE\tx\n").is_err());
        assert!(Options::parse(&["--smoke", "--millis=5"]).is_ok_and(|o| o.smoke && o.millis == 5 && o.repeats == 1));
        assert!(Options::parse(&["--repeats", "0"]).is_err());
    }
}
