//! The CPU time a process has used, read from `/proc/<pid>/stat` (Linux): tests check with it
//! that work stops, and benchmarks report the work a load did, a steadier measure than its wall
//! time on a shared machine.

/// CPU seconds spent in user and in system mode.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTime {
    pub user: f64,
    pub system: f64,
}

impl CpuTime {
    pub fn total(&self) -> f64 {
        self.user + self.system
    }

    /// The time used since `earlier`.
    pub fn since(&self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// The CPU time process `pid` has used so far.
pub fn cpu_time(pid: u32) -> CpuTime {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the parenthesised command name, utime and stime are the 12th and 13th fields, in
    // clock ticks of 1/100 s.
    let after = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let ticks: Vec<f64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0.0)).collect();
    CpuTime {
        user: ticks.get(11).copied().unwrap_or(0.0) / 100.0,
        system: ticks.get(12).copied().unwrap_or(0.0) / 100.0,
    }
}
