//! A throwaway certificate authority and a serving certificate for 127.0.0.1, made at start.
//! The kubeconfig carries the CA, so kubectl and kube-rs verify the server as usual (kubectl
//! only sends bearer tokens over TLS).

use crate::error::SimError;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// The serving configuration and the CA certificate (PEM) clients must trust.
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub ca_pem: String,
}

fn fail(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Start(format!("cannot {what}: {e}"))
}

pub fn generate() -> Result<Tls, SimError> {
    let ca_key = KeyPair::generate().map_err(|e| fail("generate the CA key", e))?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kube-sim-ca");
    let ca = ca_params
        .self_signed(&ca_key)
        .map_err(|e| fail("sign the CA certificate", e))?;
    let ca_issuer = rcgen::Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().map_err(|e| fail("generate the server key", e))?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.subject_alt_names = vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::DnsName(
            "localhost"
                .try_into()
                .map_err(|e| fail("name the server", e))?,
        ),
    ];
    let cert = params
        .signed_by(&key, &ca_issuer)
        .map_err(|e| fail("sign the server certificate", e))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("configure TLS", e))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(|e| fail("load the server certificate", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca.pem(),
    })
}
