//! Argon2id password hashing (the `password-auth` crate), always off the async runtime.

use std::sync::OnceLock;

use crate::domain::NewPassword;

pub async fn hash(password: &NewPassword) -> anyhow::Result<String> {
    let plain = password.expose().to_owned();
    Ok(tokio::task::spawn_blocking(move || password_auth::generate_hash(plain)).await?)
}

/// Check `plain` against `stored`. With no stored hash (unknown account, or no password set)
/// a dummy hash is checked instead, so the answer takes as long as for a wrong password.
pub async fn verify(plain: &str, stored: Option<String>) -> anyhow::Result<bool> {
    let plain = plain.to_owned();
    Ok(tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
        password_auth::verify_password(plain, &hash).is_ok() && known
    })
    .await?)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| password_auth::generate_hash("kalibra-no-such-account"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let pw = NewPassword::parse("correct horse battery").unwrap();
        let h = hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify("correct horse battery", Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse battery", Some(h)).await.unwrap());
        assert!(!verify("kalibra-no-such-account", None).await.unwrap());
    }
}
