//! Connection flags and environment variables, turned into a `Client`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use influx_stream::{Client, Precision, Server, WriteApi};

use crate::error::CliError;

/// A password or token. Its `Debug` never shows it, so printing the parsed
/// arguments (clap's own debugging, a bug report) cannot leak it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the client builder only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// How a token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenScheme {
    /// `Authorization: Token ...` (InfluxDB 2.x, Cloud, 1.7.3 and later).
    Token,
    /// `Authorization: Bearer ...` (InfluxDB 3.x).
    Bearer,
}

/// Which write endpoint to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiVersion {
    /// `/write` (InfluxDB 1.x, and 2.x/3.x through their 1.x endpoints).
    V1,
    /// `/api/v2/write` (InfluxDB 2.x, Cloud): needs --org.
    V2,
    /// `/api/v3/write_lp` (InfluxDB 3.x).
    V3,
}

/// The kind of server written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerKind {
    /// InfluxDB 1.x, 2.x, Cloud or 3.x.
    Influxdb,
    /// VictoriaMetrics: points it would alter silently are refused first.
    Victoriametrics,
}

/// A time unit on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unit {
    /// Nanoseconds.
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
    /// Minutes.
    M,
    /// Hours.
    H,
}

impl Unit {
    /// The library's precision of the same unit.
    pub fn precision(self) -> Precision {
        match self {
            Unit::Ns => Precision::Nanoseconds,
            Unit::Us => Precision::Microseconds,
            Unit::Ms => Precision::Milliseconds,
            Unit::S => Precision::Seconds,
            Unit::M => Precision::Minutes,
            Unit::H => Precision::Hours,
        }
    }

    /// Nanoseconds in one unit.
    pub fn nanos(self) -> i64 {
        self.precision().nanos_per_unit()
    }
}

/// Where the server is and how to talk to it. Every flag may also come
/// from the environment variable in brackets.
#[derive(Debug, Args)]
pub struct ConnArgs {
    /// The server's base URL.
    #[arg(
        long,
        global = true,
        env = "INFLUX_URL",
        default_value = "http://127.0.0.1:8086"
    )]
    pub url: String,
    /// The database (for 2.x and Cloud, the bucket).
    #[arg(short = 'd', long, global = true, env = "INFLUX_DATABASE")]
    pub database: Option<String>,
    /// The retention policy. Default: the database's default policy.
    #[arg(long = "rp", global = true, env = "INFLUX_RETENTION_POLICY")]
    pub retention_policy: Option<String>,
    /// User name for Basic authentication (with --password).
    #[arg(short = 'u', long, global = true, env = "INFLUX_USERNAME")]
    pub username: Option<String>,
    /// Password for Basic authentication (with --username). Prefer the
    /// environment variable: command lines are visible to other users.
    #[arg(long, global = true, env = "INFLUX_PASSWORD", hide_env_values = true)]
    pub password: Option<Secret>,
    /// API token (2.x, Cloud, 3.x, or `user:password` for 1.7.3 and later).
    /// Prefer the environment variable.
    #[arg(long, global = true, env = "INFLUX_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,
    /// How the token is sent.
    #[arg(long, global = true, value_enum, default_value_t = TokenScheme::Token)]
    pub token_scheme: TokenScheme,
    /// A PEM file of CA certificates to trust for https:// URLs, beside
    /// the system's.
    #[arg(long, global = true, env = "INFLUX_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Trust only --ca-cert, not the system's roots.
    #[arg(long, global = true, requires = "ca_cert")]
    pub only_ca_cert: bool,
    /// A PEM client certificate chain, for servers that require mutual TLS
    /// (with --client-key).
    #[arg(long, global = true, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The PEM private key of --client-cert.
    #[arg(long, global = true, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate. Dangerous: for throw-away test
    /// servers only.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Seconds a request may take before it fails (0.001 up to a year).
    #[arg(long, global = true, default_value_t = 30.0)]
    pub timeout: f64,
    /// Compress write bodies and ask for compressed responses.
    #[arg(long, global = true)]
    pub gzip: bool,
    /// The write endpoint.
    #[arg(long, global = true, value_enum, default_value_t = ApiVersion::V1)]
    pub write_api: ApiVersion,
    /// The organization, for --write-api v2.
    #[arg(long, global = true, env = "INFLUX_ORG")]
    pub org: Option<String>,
    /// The kind of server.
    #[arg(long, global = true, value_enum, default_value_t = ServerKind::Influxdb)]
    pub server: ServerKind,
    /// Which flags and variables these settings came from, for messages.
    #[arg(skip)]
    pub role: Role,
}

/// Whose settings a `ConnArgs` holds: errors must name the flags and
/// variables the user actually set (copy's destination has `--to-` ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    /// The global flags and `INFLUX_*` variables.
    #[default]
    Source,
    /// copy's `--to-*` flags and `INFLUX_TO_*` variables.
    Destination,
}

impl Role {
    /// The flag called `name` (`"password"`) for this role.
    pub fn flag(self, name: &str) -> String {
        match self {
            Role::Source => format!("--{name}"),
            Role::Destination => format!("--to-{name}"),
        }
    }

    /// The environment variable `INFLUX_{name}` for this role.
    pub fn env(self, name: &str) -> String {
        match self {
            Role::Source => format!("INFLUX_{name}"),
            Role::Destination => format!("INFLUX_TO_{name}"),
        }
    }
}

/// The longest duration a seconds flag takes: a year. More is surely a
/// mistake, and deadlines that far out overflow `Instant` arithmetic
/// (a panic, not an error) in code we do not control.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// A seconds flag's value as a `Duration`, or a usage error naming the flag
/// and its range. `Duration::from_secs_f64` panics on infinite, negative or
/// huge values; a zero interval panics in `tokio::time::interval`, hence
/// `min`.
pub fn seconds(flag: &str, value: f64, min: f64) -> Result<Duration, CliError> {
    let out_of_range = || {
        CliError::usage(format!(
            "{flag} {value}: expected a number of seconds from {min} to {MAX_SECONDS}"
        ))
    };
    // NaN fails both comparisons.
    if !(value >= min && value <= MAX_SECONDS) {
        return Err(out_of_range());
    }
    Duration::try_from_secs_f64(value).map_err(|_| out_of_range())
}

impl ConnArgs {
    /// A client for these settings.
    ///
    /// # Errors
    /// Flags that do not fit together, unreadable certificate files, or
    /// settings the library refuses.
    pub fn client(&self) -> Result<Client, CliError> {
        let mut b = Client::builder(&self.url);
        if let Some(db) = &self.database {
            b = b.database(db);
        }
        if let Some(rp) = &self.retention_policy {
            b = b.retention_policy(rp);
        }
        let (flag, env) = (|n: &str| self.role.flag(n), |n: &str| self.role.env(n));
        match (&self.username, &self.password, &self.token) {
            // Two kinds of credentials: sending one and ignoring the other
            // would hide which one the server judged.
            (_, Some(_), Some(_)) => {
                return Err(CliError::usage(format!(
                    "both a token and a password were given: use one, {} ({}) or {}/{} ({}/{})",
                    flag("token"),
                    env("TOKEN"),
                    flag("username"),
                    flag("password"),
                    env("USERNAME"),
                    env("PASSWORD"),
                )))
            }
            (_, None, Some(token)) => {
                b = match self.token_scheme {
                    TokenScheme::Token => b.token(token.expose()),
                    TokenScheme::Bearer => b.bearer(token.expose()),
                }
            }
            (Some(user), Some(password), None) => b = b.basic_auth(user, password.expose()),
            (Some(_), None, None) => {
                return Err(CliError::usage(format!(
                    "{} needs a password: set {} (or {})",
                    flag("username"),
                    env("PASSWORD"),
                    flag("password"),
                )))
            }
            (None, Some(_), None) => {
                return Err(CliError::usage(format!(
                    "a password was given without a user name: set {} (or {})",
                    env("USERNAME"),
                    flag("username"),
                )))
            }
            (None, None, None) => {}
        }
        b = b.timeout(seconds("--timeout", self.timeout, 0.001)?);
        if let Some(path) = &self.ca_cert {
            let ca_flag = flag("ca-cert");
            let pem = read_file(path, &ca_flag)?;
            let cert = influx_stream::Certificate::from_pem(&pem)
                .map_err(|e| CliError::new(format!("{ca_flag} {}: {e}", path.display())))?;
            b = b.add_root_certificate(cert);
            if self.only_ca_cert {
                b = b.tls_built_in_root_certs(false);
            }
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            let chain = read_file(cert, "--client-cert")?;
            let key = read_file(key, "--client-key")?;
            b = b.identity(influx_stream::Identity::from_pem(&chain, &key)?);
        }
        if self.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        b = b.gzip(self.gzip);
        b = b.write_api(match self.write_api {
            ApiVersion::V1 => WriteApi::v1(),
            ApiVersion::V2 => match &self.org {
                Some(org) => WriteApi::v2(org),
                None => {
                    return Err(CliError::usage(format!(
                        "{} v2 needs an organization: {} NAME or {}",
                        flag("write-api"),
                        flag("org"),
                        env("ORG"),
                    )))
                }
            },
            ApiVersion::V3 => WriteApi::v3(),
        });
        b = b.server(match self.server {
            ServerKind::Influxdb => Server::InfluxDb,
            ServerKind::Victoriametrics => Server::VictoriaMetrics,
        });
        Ok(b.build()?)
    }

    /// The database, or an error saying how to give one.
    pub fn need_database(&self) -> Result<&str, CliError> {
        self.database.as_deref().ok_or_else(|| {
            CliError::usage(format!(
                "no database given: use {} NAME (or set {})",
                match self.role {
                    Role::Source => "-d".to_owned(),
                    Role::Destination => self.role.flag("database"),
                },
                self.role.env("DATABASE")
            ))
        })
    }
}

fn read_file(path: &std::path::Path, flag: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::new(format!("{flag} {}: cannot read it: {e}", path.display())))
}
