//! `cargo xtask`: project automation (the matklad xtask convention).
//!
//! ```text
//! cargo xtask test              the test command of the project (CI runs exactly this):
//!                                 1. install the interop peers when missing (interop/peers/install_all.sh)
//!                                 2. cargo fmt --all -- --check
//!                                 3. cargo clippy --workspace --all-targets -- -D warnings
//!                                 4. cargo test --workspace   (with SOAPWIRE_REQUIRE_PEERS=1)
//!                                 5-8. smoke runs of bench echo, mtom, xml, nettcp (answers only)
//!                                 9. cargo xtask soak --smoke (200 + 200 connections, 5 s mixed load)
//!                                 10. cargo xtask fuzz --seconds 3 (every target; a crash fails)
//! cargo xtask peers install     interop/peers/install_all.sh (apt + pip + npm, idempotent; apt needs root)
//! cargo xtask peers start       interop/peers/start_all.sh   (loopback servers on 127.0.0.1:18080..18084)
//! cargo xtask peers stop        interop/peers/stop_all.sh    (stops them by recorded pid)
//! cargo xtask bench echo        soapwire vs gSOAP, node-soap and nginx on loopback (wrk; see bench.rs)
//! cargo xtask bench mtom        MTOM upload/download vs raw loopback TCP, echoData vs gSOAP (bench/mtom.rs)
//! cargo xtask bench nettcp      net.tcp (each encoding) and net.unix sessions vs HTTP, round trips (bench/nettcp.rs)
//! cargo xtask bench xml         envelope parse/write vs quick-xml's raw loop and memcpy (bench/xml.rs)
//! cargo xtask bench instructions  callgrind instruction counts of the hot paths (bench/instructions.rs)
//! cargo xtask fuzz --seconds N  each cargo-fuzz target of fuzz/ for N s (see fuzz.rs; `test` runs 3 s each)
//! cargo xtask soak [--smoke]    10,000 HTTP + 10,000 net.tcp connections held, then a mixed workload with
//!                               RSS over time, against `soapwire serve echo` (see soak.rs; not part of `test`)
//! ```
//!
//! Environment: `PEERS_PREFIX` (default `/opt/soap-peers`) is where the peers live; the peer
//! scripts read it too.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod bench;
mod fuzz;
mod soak;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test              install missing peers, then fmt --check, clippy -D warnings, test --workspace
  peers install     install the interop peers (interop/peers/install_all.sh; apt needs root)
  peers start       start the peer echo servers on 127.0.0.1 (interop/peers/start_all.sh)
  peers stop        stop them (interop/peers/stop_all.sh)
  bench echo [...]  soapwire vs gSOAP, node-soap, nginx on loopback (`cargo xtask bench help`)
  bench mtom [...]  MTOM streaming vs raw loopback TCP, echoData vs gSOAP (`cargo xtask bench help`)
  bench nettcp [...]  net.tcp and net.unix sessions vs HTTP, req/s and latency (`cargo xtask bench help`)
  bench xml [...]   envelope parse/write vs quick-xml's raw event loop (`cargo xtask bench help`)
  bench instructions [...]  callgrind instruction counts per hot path (`cargo xtask bench help`)
  fuzz --seconds N [--target T]
                    run each cargo-fuzz target of fuzz/ for N s (`cargo xtask fuzz help`)
  soak [--smoke] [--minutes M] [...]
                    hold 10,000 HTTP + 10,000 net.tcp connections, then a mixed load for M
                    minutes with server RSS and fds over time (`cargo xtask soak help`)
  help              this text";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["test"] => test(),
        ["peers", "install"] => peers_script("install_all.sh"),
        ["peers", "start"] => peers_script("start_all.sh"),
        ["peers", "stop"] => peers_script("stop_all.sh"),
        ["bench", rest @ ..] => bench::bench(rest),
        ["fuzz", rest @ ..] => fuzz::fuzz(rest),
        ["soak", rest @ ..] => soak::soak(rest),
        // Hidden child-process modes of `soak`.
        ["soak-client", rest @ ..] => soak::client(rest),
        ["soak-device", rest @ ..] => soak::device(rest),
        [] | ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("xtask: unknown command {:?}\n\n{USAGE}", args.join(" "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of this crate's directory).
fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

fn peers_dir() -> PathBuf {
    repo_root().join("interop").join("peers")
}

fn peers_prefix() -> PathBuf {
    env::var_os("PEERS_PREFIX")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/opt/soap-peers"), PathBuf::from)
}

/// The cargo that runs us (`cargo xtask` sets `CARGO`), so nested calls use the same toolchain.
fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cmd` in the repository root with inherited stdio; fails unless it exits 0.
fn run(mut cmd: Command) -> Result<()> {
    cmd.current_dir(repo_root());
    let shown = describe(&cmd);
    let status = cmd.status().with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    let envs =
        cmd.get_envs().filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())));
    let program = Path::new(cmd.get_program()).file_name().unwrap_or(cmd.get_program()).to_string_lossy().into_owned();
    envs.chain(std::iter::once(program))
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn peers_script(script: &str) -> Result<()> {
    let path = peers_dir().join(script);
    if !path.is_file() {
        bail!("{} not found", path.display());
    }
    run(Command::new(path))
}

/// What the interop tests need from `$PEERS_PREFIX`, as (what, present?).
fn peer_markers() -> Vec<(String, bool)> {
    let prefix = peers_prefix();
    let file = |rel: &str| {
        let p = prefix.join(rel);
        let ok = p.is_file();
        (p.display().to_string(), ok)
    };
    let zeep = {
        let lib = prefix.join("venv").join("lib");
        let ok = std::fs::read_dir(&lib)
            .is_ok_and(|dirs| dirs.flatten().any(|d| d.path().join("site-packages").join("zeep").is_dir()));
        (format!("zeep in {}", prefix.join("venv").display()), ok)
    };
    let node = (
        "node on PATH".to_string(),
        env::var_os("PATH").is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join("node").is_file())),
    );
    vec![
        file("gsoap/echo_server"),
        file("gsoap/echo_client"),
        file("node/node_modules/soap/package.json"),
        file("venv/bin/python"),
        zeep,
        node,
    ]
}

/// Whether we run as root (effective uid 0), read from /proc without libc.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
    })
}

/// Step 1 of `test`: make sure the interop peers are installed.
///
/// As root the install script always runs: it is idempotent and takes a few seconds when
/// everything is there, and it rebuilds the gSOAP peer when its sources under
/// `interop/peers/` changed. Without root it runs only when something is missing (its
/// apt step needs root, and a complete install needs nothing from it).
fn install_peers() -> Result<()> {
    let missing: Vec<String> = peer_markers().into_iter().filter(|(_, ok)| !ok).map(|(what, _)| what).collect();
    let root = is_root();
    if missing.is_empty() && !root {
        println!("    peers present in {} (not root: install script skipped)", peers_prefix().display());
        return Ok(());
    }
    if !missing.is_empty() {
        println!("    missing: {}", missing.join(", "));
    }
    peers_script("install_all.sh").with_context(|| {
        if root {
            "installing the interop peers failed".to_string()
        } else {
            "installing the interop peers failed; the apt step needs root \
             (run `sudo cargo xtask peers install` once)"
                .to_string()
        }
    })?;
    let still: Vec<String> = peer_markers().into_iter().filter(|(_, ok)| !ok).map(|(what, _)| what).collect();
    if !still.is_empty() {
        bail!("the install script succeeded but these are still missing: {}", still.join(", "));
    }
    Ok(())
}

struct Step {
    title: String,
    action: Box<dyn Fn() -> Result<()>>,
}

fn cargo_step<I, S>(args: I, envs: &[(&str, &str)]) -> Step
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let envs: Vec<(String, String)> = envs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    let mut shown = cargo();
    shown.args(&args);
    for (k, v) in &envs {
        shown.env(k, v);
    }
    Step {
        title: describe(&shown),
        action: Box::new(move || {
            let mut cmd = cargo();
            cmd.args(&args);
            for (k, v) in &envs {
                cmd.env(k, v);
            }
            run(cmd)
        }),
    }
}

fn test() -> Result<()> {
    let started = Instant::now();
    let steps = [
        Step {
            title: "install interop peers when missing (interop/peers/install_all.sh)".into(),
            action: Box::new(install_peers),
        },
        cargo_step(["fmt", "--all", "--", "--check"], &[]),
        cargo_step(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[]),
        cargo_step(["test", "--workspace"], &[("SOAPWIRE_REQUIRE_PEERS", "1")]),
        // Smoke runs of the benchmarks: every server must answer correctly; speed is never
        // checked (a slow CI machine must not fail the build).
        Step {
            title: "benchmark smoke: cargo xtask bench echo --duration 1 --repeats 1 --connections 1,4 --warmup 0"
                .into(),
            action: Box::new(|| {
                bench::bench(&["echo", "--duration", "1", "--repeats", "1", "--connections", "1,4", "--warmup", "0"])
            }),
        },
        Step {
            title: "benchmark smoke: cargo xtask bench mtom --smoke".into(),
            action: Box::new(|| bench::bench(&["mtom", "--smoke"])),
        },
        Step {
            title: "benchmark smoke: cargo xtask bench xml --smoke".into(),
            action: Box::new(|| bench::bench(&["xml", "--smoke"])),
        },
        Step {
            title: "benchmark smoke: cargo xtask bench nettcp --smoke".into(),
            action: Box::new(|| bench::bench(&["nettcp", "--smoke"])),
        },
        Step { title: "soak smoke: cargo xtask soak --smoke".into(), action: Box::new(|| soak::soak(&["--smoke"])) },
        // Every fuzz target for a few seconds from its tracked seeds: a crash fails the build
        // (the long runs are by hand; see ROBUSTNESS.md).
        Step {
            title: "fuzz smoke: cargo xtask fuzz --seconds 3".into(),
            action: Box::new(|| fuzz::fuzz(&["--seconds", "3"])),
        },
    ];
    let n = steps.len();
    for (i, step) in steps.iter().enumerate() {
        println!("\n==> [{}/{n}] {}", i + 1, step.title);
        let t = Instant::now();
        if let Err(e) = (step.action)() {
            println!(
                "\n==> FAILED at step {}/{n} ({}); total time {:.1} s",
                i + 1,
                step.title,
                started.elapsed().as_secs_f64()
            );
            return Err(e);
        }
        println!("    ok ({:.1} s)", t.elapsed().as_secs_f64());
    }
    println!("\n==> all {n} steps passed; total time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
