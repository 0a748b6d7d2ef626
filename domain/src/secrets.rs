//! Random secrets and their digests: the one place where tokens (API keys, sessions,
//! invitation and reset tokens) are made and hashed, and bytes become hex.
//!
//! ```
//! use entmoot_domain::secrets::{random_secret, sha256_hex};
//! let secret = random_secret();
//! assert_eq!(secret.len(), 43); // 32 bytes, base64url without padding
//! assert_eq!(sha256_hex(&secret).len(), 64);
//! ```

use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The SHA-256 of `text` in hex: how tokens are stored. A slow hash buys nothing for
/// 256 random bits, which no one guesses; passwords use Argon2id instead.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// 32 random bytes, base64url without padding.
pub fn random_secret() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
