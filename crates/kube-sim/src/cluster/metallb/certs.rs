//! The webhook certificates MetalLB's controller rotates into Secret `metallb-webhook-cert`: a
//! self-signed CA and a serving certificate for the webhook Service's DNS name, PEM-encoded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// PEM texts, as the Secret's `ca.crt`, `ca.key`, `tls.crt`, `tls.key` hold them.
#[derive(Debug, Clone)]
pub struct WebhookCerts {
    pub ca_crt: String,
    pub ca_key: String,
    pub tls_crt: String,
    pub tls_key: String,
}

impl WebhookCerts {
    /// A CA and a serving certificate for `<service>.<namespace>.svc`.
    pub fn generate(service: &str, namespace: &str) -> Result<WebhookCerts, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "ca");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "metallb");
        let ca_key = KeyPair::generate()?;
        let ca_key_pem = ca_key.serialize_pem();
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;
        let mut params = CertificateParams::new(vec![format!("{service}.{namespace}.svc")])?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{service}.{namespace}.svc"));
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca)?;
        Ok(WebhookCerts {
            ca_crt: ca.pem(),
            ca_key: ca_key_pem,
            tls_crt: cert.pem(),
            tls_key: key.serialize_pem(),
        })
    }

    /// The Secret `data` map (base64 of each PEM).
    pub fn secret_data(&self) -> serde_json::Value {
        serde_json::json!({
            "ca.crt": STANDARD.encode(&self.ca_crt),
            "ca.key": STANDARD.encode(&self.ca_key),
            "tls.crt": STANDARD.encode(&self.tls_crt),
            "tls.key": STANDARD.encode(&self.tls_key),
        })
    }

    /// What goes into a webhook's `clientConfig.caBundle`.
    pub fn ca_bundle(&self) -> String {
        STANDARD.encode(&self.ca_crt)
    }
}

/// The memberlist Secret's `secretkey`: 128 random bytes, base64 as stored in `data`.
pub fn memberlist_key() -> String {
    let bytes: Vec<u8> = (0..128).map(|_| fastrand::u8(..)).collect();
    STANDARD.encode(STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_pem_and_bundle_is_the_ca() {
        let certs = WebhookCerts::generate("metallb-webhook-service", "metallb-system").unwrap();
        assert!(certs.ca_crt.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.tls_key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_ne!(certs.ca_crt, certs.tls_crt);
        let bundle = STANDARD.decode(certs.ca_bundle()).unwrap();
        assert_eq!(String::from_utf8(bundle).unwrap(), certs.ca_crt);
        let data = certs.secret_data();
        for key in ["ca.crt", "ca.key", "tls.crt", "tls.key"] {
            assert!(data[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
        }
    }
}
