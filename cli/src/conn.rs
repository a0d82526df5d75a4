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
    /// Seconds a request may take before it fails.
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
        match (&self.username, &self.password, &self.token) {
            (_, _, Some(token)) => {
                b = match self.token_scheme {
                    TokenScheme::Token => b.token(token.expose()),
                    TokenScheme::Bearer => b.bearer(token.expose()),
                }
            }
            (Some(user), Some(password), None) => b = b.basic_auth(user, password.expose()),
            (Some(_), None, None) => {
                return Err(CliError::usage(
                    "--username needs a password: set INFLUX_PASSWORD (or --password)",
                ))
            }
            (None, Some(_), None) => {
                return Err(CliError::usage(
                    "a password was given without a user name: set INFLUX_USERNAME (or --username)",
                ))
            }
            (None, None, None) => {}
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(CliError::usage(
                "--timeout must be a positive number of seconds",
            ));
        }
        b = b.timeout(Duration::from_secs_f64(self.timeout));
        if let Some(path) = &self.ca_cert {
            let pem = read_file(path, "--ca-cert")?;
            let cert = influx_stream::Certificate::from_pem(&pem)
                .map_err(|e| CliError::new(format!("--ca-cert {}: {e}", path.display())))?;
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
                    return Err(CliError::usage(
                        "--write-api v2 needs an organization: --org NAME or INFLUX_ORG",
                    ))
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
            CliError::usage("no database given: use -d NAME (or set INFLUX_DATABASE)")
        })
    }
}

fn read_file(path: &std::path::Path, flag: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::new(format!("{flag} {}: cannot read it: {e}", path.display())))
}
