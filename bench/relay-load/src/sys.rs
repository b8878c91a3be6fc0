//! The machine side of the benchmark: child processes killed on drop, `/proc` readers
//! (CPU ticks, memory, load), a tiny HTTP GET, and wall-clock helpers.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A `tikcast` child process whose first stdout line is `{"listening":"ADDR"}`; killed
/// (SIGKILL) and reaped when dropped, so nothing outlives the benchmark, even on a panic.
pub struct Proc {
    pub addr: String,
    child: Child,
    // Read for the first line, then kept open so later writes of the child do not fail.
    stdout: BufReader<ChildStdout>,
}

impl Proc {
    pub fn start(bin: &Path, name: &str, args: &[String], log: &Path) -> Result<Proc, String> {
        let log_file =
            File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {} ({name}): {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        // From here on the guard kills the child whatever happens.
        let mut proc = Proc {
            addr: String::new(),
            child,
            stdout: BufReader::new(stdout),
        };
        let mut first = String::new();
        let _ = proc.stdout.read_line(&mut first);
        let v: serde_json::Value = serde_json::from_str(first.trim()).map_err(|_| {
            format!(
                "{name}: expected {{\"listening\":…}} on stdout, got {first:?}; see {}",
                log.display()
            )
        })?;
        proc.addr = v["listening"]
            .as_str()
            .ok_or_else(|| format!("{name}: no listening address in {first:?}"))?
            .to_string();
        Ok(proc)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User + system CPU time of `pid` in clock ticks (`/proc/PID/stat` fields 14 and 15).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).map(|(_, ticks)| ticks)
}

/// (command name, utime + stime) from the text of a `/proc/PID/stat`.
fn parse_stat(text: &str) -> Option<(String, u64)> {
    // The command name (field 2) is in parentheses and may contain spaces; the fields
    // after it start at 3 (state), so utime (14) and stime (15) are the 12th and 13th.
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((text[open + 1..close].to_string(), ticks))
}

/// Every process's command name and CPU ticks, by pid (to see what else ran).
pub fn all_cpu_ticks() -> HashMap<u32, (String, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Some(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|t| parse_stat(&t))
        {
            out.insert(pid, stat);
        }
    }
    out
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`, ...).
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Machine-wide CPU time from `/proc/stat`, in ticks summed over all cores.
#[derive(Debug, Clone, Copy)]
pub struct MachineCpu {
    pub total: u64,
    /// Everything but idle, iowait and steal.
    pub busy: u64,
    /// Interrupt and softirq time (loopback TCP is processed there, often uncharged to any process).
    pub irq: u64,
    /// Time the hypervisor gave this VM's CPUs to someone else.
    pub steal: u64,
}

pub fn machine_cpu() -> Option<MachineCpu> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return None;
    }
    let total: u64 = v.iter().sum();
    Some(MachineCpu {
        total,
        busy: total - v[3] - v[4] - v[7],
        irq: v[5] + v[6],
        steal: v[7],
    })
}

/// The 1, 5 and 15 minute load averages, as `uptime` prints them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// "MODEL, N cores, X GiB RAM, Linux VERSION".
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor"))
        .count();
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "{model} (`/proc/cpuinfo` model name), {cores} cores, {:.1} GiB RAM, Linux {kernel}",
        mem_kb as f64 / (1024.0 * 1024.0)
    )
}

/// Microseconds since the Unix epoch (the wall clock the mock's `now_ms` uses).
pub fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub fn wall_ms() -> i64 {
    wall_us() / 1000
}

/// "YYYY-MM-DD HH:MM UTC" of the current time.
pub fn utc_now() -> String {
    utc(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0))
}

/// "YYYY-MM-DD HH:MM UTC" of `secs` since the Unix epoch.
fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// `git describe`-like note of the checkout: short commit, and whether it is modified.
pub fn git_version(dir: &Path) -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => match run(&["status", "--porcelain"]) {
            Some(s) if !s.is_empty() => format!("{commit} + uncommitted changes"),
            _ => commit,
        },
        None => "unknown commit".into(),
    }
}

/// `GET path` over plain HTTP/1.1; the body of a 200 answer.
pub async fn http_get(addr: &str, path: &str) -> Result<String, String> {
    let work = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let text = String::from_utf8_lossy(&buf);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("GET {path}: no HTTP answer"))?;
        let status = head.lines().next().unwrap_or("");
        if !status.starts_with("HTTP/1.1 200") {
            return Err(format!("GET {path}: {status}"));
        }
        Ok(body.to_string())
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .map_err(|_| format!("GET {path}: no answer in 5 s"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_stat_lines() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400 + 3_723), "2000-02-29 01:02 UTC");
        assert_eq!(utc(1_767_225_599), "2025-12-31 23:59 UTC");
        let line = "42 (tokio (rt) x) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0 9";
        assert_eq!(parse_stat(line), Some(("tokio (rt) x".to_string(), 281)));
        assert_eq!(parse_stat("42 (short) S 1"), None);
    }
}
