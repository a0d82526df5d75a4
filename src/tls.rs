//! TLS for `https://` URLs: the trust settings users give the builder
//! ([`Certificate`], [`Identity`]), the rustls configuration made from them,
//! and the words for handshake failures.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{self, Error};

/// A trusted root (CA) certificate, for servers whose certificate is not
/// signed by a CA the system trusts: a private CA, or a self-signed server
/// certificate itself (as long as it is not marked as a CA, which rustls
/// refuses as a server's own certificate).
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pem = std::fs::read("ca.pem")?;
/// let client = influx_stream::Client::builder("https://influx.internal:8086")
///     .add_root_certificate(influx_stream::Certificate::from_pem(&pem)?)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Certificate {
    ders: Vec<CertificateDer<'static>>,
}

impl Certificate {
    /// Every certificate of a PEM file (one CA, or a bundle of them).
    ///
    /// # Errors
    /// When the text holds no `CERTIFICATE` section or one that is not valid
    /// PEM.
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, Error> {
        let ders = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| error::builder("the CA certificate is not valid PEM").with_source(e))?;
        if ders.is_empty() {
            return Err(error::builder(
                "the PEM text holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            ));
        }
        Ok(Certificate { ders })
    }

    /// One certificate in DER (binary) form.
    pub fn from_der(der: &[u8]) -> Certificate {
        Certificate {
            ders: vec![CertificateDer::from(der.to_vec())],
        }
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("certificates", &self.ders.len())
            .finish()
    }
}

/// A client certificate and its private key, for servers (or proxies in
/// front of them) that require mutual TLS. `Debug` never shows the key.
#[derive(Clone)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
}

impl Identity {
    /// The client's certificate chain (its own certificate first) and its
    /// private key (PKCS#8, PKCS#1 or SEC1), both PEM.
    ///
    /// # Errors
    /// When either is not valid PEM, or holds no certificate or no key.
    pub fn from_pem(certificate_chain: &[u8], private_key: &[u8]) -> Result<Identity, Error> {
        let chain = Certificate::from_pem(certificate_chain)
            .map_err(|e| e.with_context("client identity"))?
            .ders;
        // The key's own parse error could quote key bytes: keep it out.
        let key = PrivateKeyDer::from_pem_slice(private_key).map_err(|_| {
            error::builder(
                "client identity: the private key is not a PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY",
            )
        })?;
        Ok(Identity {
            chain,
            key: Arc::new(key),
        })
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.chain.len())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// What the builder collected; turned into a rustls configuration once.
#[derive(Clone, Debug)]
pub(crate) struct TlsSettings {
    pub(crate) roots: Vec<Certificate>,
    pub(crate) built_in_roots: bool,
    pub(crate) identity: Option<Identity>,
    pub(crate) accept_invalid_certs: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            roots: Vec::new(),
            built_in_roots: true,
            identity: None,
            accept_invalid_certs: false,
        }
    }
}

impl TlsSettings {
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        // ring rather than aws-lc-rs keeps the build free of cmake and NASM;
        // rustls marks ring's provider deprecated because it lacks
        // post-quantum key exchange, which InfluxDB servers do not ask for.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| error::builder("cannot set up TLS").with_source(e))?;
        let builder = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            let mut store = RootCertStore::empty();
            if self.built_in_roots {
                let found = rustls_native_certs::load_native_certs();
                for e in &found.errors {
                    tracing::debug!(error = %e, "a system root certificate could not be loaded");
                }
                // Unusable entries of a system store are skipped, as other
                // TLS clients on the machine skip them.
                store.add_parsable_certificates(found.certs);
            }
            for cert in &self.roots {
                for der in &cert.ders {
                    store.add(der.clone()).map_err(|e| {
                        error::builder(
                            "add_root_certificate: the certificate cannot be a trust anchor",
                        )
                        .with_source(e)
                    })?;
                }
            }
            if store.is_empty() {
                return Err(error::builder(
                    "no trusted root certificates for https: the system has none (install Debian's ca-certificates, or set SSL_CERT_FILE) and none was added with ClientBuilder::add_root_certificate",
                ));
            }
            builder.with_root_certificates(store)
        };
        let mut config = match &self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(|e| {
                    error::builder("client identity: the key does not suit the certificate")
                        .with_source(e)
                })?,
            None => builder.with_no_client_auth(),
        };
        // influxd speaks HTTP/1.1 only; saying so avoids an h2 surprise from
        // proxies in front of it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// `danger_accept_invalid_certs(true)`: any certificate, any name. The
/// handshake's signatures are still checked, so the peer holds the key of
/// the certificate it showed, whoever that is.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What to do about a failed handshake, when the cause is known.
pub(crate) fn handshake_hint(e: &rustls::Error) -> Option<&'static str> {
    use rustls::{CertificateError as C, Error as E};
    Some(match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is signed by a CA this client does not trust: add that CA with ClientBuilder::add_root_certificate"
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the server's certificate is not made out to the host name in the URL: connect by a name the certificate lists"
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired: renew it on the server"
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the server's certificate is not valid yet: check the clocks of both machines"
        }
        E::InvalidCertificate(C::Other(_)) => {
            "the server's certificate cannot serve as one (a CA certificate used by the server itself?): give the server a certificate signed by that CA"
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "the server did not answer in TLS: if it serves plain HTTP on that port, use an http:// URL"
        }
        E::AlertReceived(rustls::AlertDescription::CertificateRequired)
        | E::AlertReceived(rustls::AlertDescription::BadCertificate)
        | E::AlertReceived(rustls::AlertDescription::HandshakeFailure) => {
            "the server refused the handshake; if it requires a client certificate, give one with ClientBuilder::identity"
        }
        _ => return None,
    })
}
