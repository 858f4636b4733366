//! What the soak measures about a process (`/proc/PID/status` and `/proc/PID/fd`), and how a
//! series of samples is judged: first, last and largest value after warm-up, and the
//! least-squares slope, whose growth over the window relative to the fitted start is the
//! figure compared with the 10% limit (a fitted line does not flag one sample taken while a
//! transfer's buffers happened to be live).

use std::fs;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ProcStat {
    /// Resident set (VmRSS), KiB.
    pub(super) rss_kib: u64,
    /// Peak resident set (VmHWM), KiB.
    pub(super) hwm_kib: u64,
    /// Open file descriptors (entries of `/proc/PID/fd`).
    pub(super) fds: u64,
    /// Threads.
    pub(super) threads: u64,
}

/// Reads `/proc/<pid>` (`self` for this process); `None` once the process is gone.
pub(super) fn proc_stat(pid: &str) -> Option<ProcStat> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count() as u64).unwrap_or(0);
    Some(ProcStat { rss_kib: field("VmRSS:"), hwm_kib: field("VmHWM:"), fds, threads: field("Threads:") })
}

/// KiB -> "12.3 MiB".
pub(super) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// 12345.6 -> "12,346".
pub(super) fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 && digits != "0" { format!("-{out}") } else { out }
}

/// A series after warm-up, judged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Trend {
    /// Samples in the window.
    pub(super) samples: usize,
    pub(super) first: f64,
    pub(super) last: f64,
    pub(super) max: f64,
    /// Least-squares slope, in units per minute.
    pub(super) slope_per_min: f64,
    /// The fitted line's change over the window, relative to its value at the start, in %.
    pub(super) fitted_growth_pct: f64,
}

/// The trend of `(seconds, value)` points at or after `from_secs`; `None` with fewer than
/// two points there.
pub(super) fn trend(points: &[(f64, f64)], from_secs: f64) -> Option<Trend> {
    let window: Vec<(f64, f64)> = points.iter().copied().filter(|(t, _)| *t >= from_secs).collect();
    let n = window.len();
    if n < 2 {
        return None;
    }
    let mean_t = window.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let mean_v = window.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let sxx: f64 = window.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
    let sxy: f64 = window.iter().map(|(t, v)| (t - mean_t) * (v - mean_v)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let (t0, t1) = (window[0].0, window[n - 1].0);
    let start = mean_v + slope * (t0 - mean_t);
    let growth = if start > 0.0 { slope * (t1 - t0) / start * 100.0 } else { 0.0 };
    Some(Trend {
        samples: n,
        first: window[0].1,
        last: window[n - 1].1,
        max: window.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
        slope_per_min: slope * 60.0,
        fitted_growth_pct: growth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_growing_series() {
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i) * 10.0, 100.0 + f64::from(i % 2))).collect();
        let t = trend(&flat, 20.0).expect("enough points");
        assert_eq!((t.samples, t.first, t.last, t.max), (8, 100.0, 101.0, 101.0));
        assert!(t.fitted_growth_pct.abs() < 2.0, "{t:?}");
        // 100 -> 190 over 90 s: +1 per second, 60 per minute.
        let growing: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i) * 10.0, 100.0 + f64::from(i) * 10.0)).collect();
        let t = trend(&growing, 0.0).expect("enough points");
        assert!((t.slope_per_min - 60.0).abs() < 1e-9, "{t:?}");
        assert!((t.fitted_growth_pct - 90.0).abs() < 1e-9, "{t:?}");
        assert!(trend(&growing, 85.0).is_none());
    }

    #[test]
    fn this_process_and_numbers() {
        let me = proc_stat("self").expect("/proc/self");
        assert!(me.rss_kib > 0 && me.hwm_kib >= me.rss_kib && me.fds > 0 && me.threads > 0, "{me:?}");
        assert!(proc_stat("0").is_none());
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(0.2), "0");
        assert_eq!(mib(2048), "2.0 MiB");
    }
}
