//! Terminating TLS in Twofold itself (`--tls-cert`, `--tls-key`), optionally asking clients
//! for a certificate from `--client-ca` (mutual TLS, RFC 8705). Browsers are not asked to
//! present one: a client certificate is optional at the handshake and only matters to the
//! token endpoint and to certificate-bound tokens.
//!
//! Handshakes run in their own tasks, so a slow or silent client never holds up the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS settings: server certificate chain and key (PEM), and the CA whose client
/// certificates are accepted (PEM), if mutual TLS is wanted.
///
/// # Errors
/// A file that holds no certificate or key, a key that does not fit, an unusable CA.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8], client_ca_pem: Option<&[u8]>) -> Result<ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem).collect::<Result<_, _>>().map_err(|e| format!("--tls-cert: {e}"))?;
    if chain.is_empty() {
        return Err("--tls-cert holds no PEM certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("--tls-key: {e}"))?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca_pem {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.add(cert.map_err(|e| format!("--client-ca: {e}"))?).map_err(|e| format!("--client-ca: {e}"))?;
            }
            if roots.is_empty() {
                return Err("--client-ca holds no PEM certificate".into());
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("--client-ca: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| format!("--tls-key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A listener that hands axum connections whose TLS handshake has completed.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp`, handshaking with `config` in the background.
    ///
    /// # Errors
    /// When the socket's address cannot be read.
    pub fn new(tcp: TcpListener, config: ServerConfig) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task never ends while the listener exists.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Who is at the other end of a connection: its address and, over mutual TLS, the SHA-256
/// thumbprint of the certificate it presented (`x5t#S256`, base64url).
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The peer's address.
    pub addr: SocketAddr,
    /// `x5t#S256` of the client certificate, when one was presented and verified.
    pub certificate_thumbprint: Option<String>,
}

impl Connected<IncomingStream<'_, TcpListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self { addr: *stream.remote_addr(), certificate_thumbprint: None }
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        let (_, connection) = stream.io().get_ref();
        let certificate_thumbprint = connection
            .peer_certificates()
            .and_then(<[CertificateDer<'_>]>::first)
            .map(|leaf| twofold_core::oidc::client_assertion::certificate_thumbprint(leaf.as_ref()));
        Self { addr: *stream.remote_addr(), certificate_thumbprint }
    }
}
