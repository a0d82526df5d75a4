//! Test support: a throw-away VictoriaMetrics (Debian's `victoria-metrics`)
//! on a free loopback port with its own storage directory, stopped (and
//! the directory removed) when dropped. Owned by one test each: nothing
//! outlives the test that started it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::influxd::raw_request;

/// How to get `victoria-metrics` when it is missing.
pub const INSTALL_HINT: &str =
    "install Debian's package with `apt-get install -y victoria-metrics` \
(or run the tests through `bash tests/support/with-influxd.sh`, which installs it)";

pub struct Victoria {
    child: Child,
    dir: PathBuf,
    port: u16,
}

/// One series of `/api/v1/export`: labels, values and millisecond times.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Series {
    pub metric: BTreeMap<String, String>,
    pub values: Vec<f64>,
    pub timestamps: Vec<i64>,
}

impl Victoria {
    /// Starts a server keeping 100 years of data (the default month would
    /// drop old timestamps silently).
    pub fn start() -> Result<Victoria, String> {
        let bin = std::env::var_os("VICTORIA_METRICS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("victoria-metrics"));
        let dir = tempfile::tempdir()
            .map_err(|e| format!("victoria-metrics: temp dir: {e}"))?
            .keep();
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("victoria-metrics: no free port: {e}"))?
            .port();
        let log = std::fs::File::create(dir.join("log")).map_err(|e| e.to_string())?;
        let child = Command::new(&bin)
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!("-storageDataPath={}", dir.join("data").display()))
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}; {INSTALL_HINT}", bin.display()))?;
        let mut vm = Victoria { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = raw_request(vm.addr(), "GET", "/health", None) {
                return Ok(vm);
            }
            if let Ok(Some(status)) = vm.child.try_wait() {
                let log = std::fs::read_to_string(vm.dir.join("log")).unwrap_or_default();
                return Err(format!("victoria-metrics exited ({status}):\n{log}"));
            }
            if Instant::now() > deadline {
                return Err("victoria-metrics did not answer /health within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// Every series whose labels match `selector` (e.g. `{db="x"}`), after
    /// making what was written visible (`/internal/force_flush`).
    pub fn export(&self, selector: &str) -> Result<Vec<Series>, String> {
        let (status, _) = raw_request(self.addr(), "GET", "/internal/force_flush", None)?;
        if status != 200 {
            return Err(format!("force_flush answered {status}"));
        }
        let mut target = String::from("/api/v1/export?start=0&end=4102444800&match%5B%5D=");
        for b in selector.bytes() {
            if b.is_ascii_alphanumeric() || b == b'_' {
                target.push(b as char);
            } else {
                target.push_str(&format!("%{b:02X}"));
            }
        }
        let (status, body) = raw_request(self.addr(), "GET", &target, None)?;
        if status != 200 {
            return Err(format!("export answered {status}: {body}"));
        }
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("export line {l:?}: {e}")))
            .collect()
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
