//! The short-lived MCP tool token the reference backend makes for a chat
//! turn (embedded/app/backend/app/auth.py), made here from the deployment's
//! BETTER_AUTH_SECRET: the only way to call the MCP tools for a user without
//! a chat turn. The key derivation and claims mirror `SigningKey`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;

use crate::project::secrets::SecretValue;

const ISSUER: &str = "todo-backend";
const MCP_AUDIENCE: &str = "todo-mcp";
/// As the backend's TOOL_TOKEN_LIFETIME.
pub const LIFETIME_SECONDS: u64 = 300;

#[derive(Debug, thiserror::Error)]
#[error("cannot derive the signing key from the auth secret")]
pub struct KeyError;

/// The backend's Ed25519 key: HKDF-SHA256(secret, salt "todo-backend", info "jwt-ed25519-v1").
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pub kid: String,
}

impl SigningKey {
    pub fn derive(secret: &SecretValue) -> Result<SigningKey, KeyError> {
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"todo-backend");
        let mut seed = [0u8; 32];
        salt.extract(secret.expose().as_bytes())
            .expand(&[b"jwt-ed25519-v1"], ring::hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut seed))
            .map_err(|_| KeyError)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| KeyError)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, pair.public_key().as_ref());
        let kid: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(SigningKey { pair, kid })
    }

    /// A token for `user_id`'s tool calls (audience todo-mcp), valid for minutes.
    pub fn tool_token(&self, user_id: i64, now_unix: u64) -> SecretValue {
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid});
        let claims = json!({
            "sub": user_id.to_string(),
            "iat": now_unix,
            "exp": now_unix + LIFETIME_SECONDS,
            "iss": ISSUER,
            "aud": MCP_AUDIENCE,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.pair.sign(signing_input.as_bytes());
        SecretValue::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, ED25519};

    #[test]
    fn the_token_verifies_with_the_derived_public_key_and_names_its_user() {
        let key = SigningKey::derive(&SecretValue::new("s3cret")).unwrap();
        let token = key.tool_token(42, 1_000);
        let parts: Vec<&str> = token.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let public = UnparsedPublicKey::new(&ED25519, key.pair.public_key().as_ref().to_vec());
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        public.verify(input.as_bytes(), &sig).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (claims["sub"].as_str(), claims["aud"].as_str()),
            (Some("42"), Some("todo-mcp"))
        );
        assert_eq!(claims["exp"], 1_300);
        // Another secret, another key: the kid tells them apart.
        let other = SigningKey::derive(&SecretValue::new("other")).unwrap();
        assert_ne!(other.kid, key.kid);
        assert_eq!(key.kid.len(), 16);
    }
}
