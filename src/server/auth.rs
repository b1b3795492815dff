//! Bearer tokens and roles.
//!
//! The config names each token with its roles and either the SHA-256 of the
//! token or the environment variable that holds it; only hashes are kept in
//! memory, a presented token is hashed and compared in constant time, and
//! no token (nor its hash) is ever logged. A missing or unknown token is
//! 401, a known token without the role 403, both without detail.

use super::error::ApiError;
use crate::config::{ApiRole, ApiToken, EnvLookup, TokenSecret};
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

/// Who made a request: the token's name and the actor it acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token: String,
    /// Goes on the timeline as who made a change (a staff id for commanders).
    pub actor: String,
}

struct Known {
    hash: [u8; 32],
    name: String,
    actor: String,
    roles: Vec<ApiRole>,
}

/// The tokens squall accepts.
pub struct Auth {
    tokens: Vec<Known>,
}

impl Auth {
    /// Builds the token table. A token whose environment variable is unset
    /// is left out; its name (never a value) is returned so the caller can warn.
    pub fn new(tokens: &[ApiToken], env: EnvLookup<'_>) -> (Self, Vec<String>) {
        let mut known = Vec::new();
        let mut missing = Vec::new();
        for t in tokens {
            let hash = match &t.secret {
                TokenSecret::Sha256(h) => *h,
                TokenSecret::Env(var) => match env(var).filter(|v| !v.is_empty()) {
                    Some(value) => sha256(value.as_bytes()),
                    None => {
                        missing.push(format!("{} (from ${var})", t.name));
                        continue;
                    }
                },
            };
            known.push(Known {
                hash,
                name: t.name.clone(),
                actor: t.actor.clone(),
                roles: t.roles.clone(),
            });
        }
        (Self { tokens: known }, missing)
    }

    /// The caller, if its bearer token holds a role that grants `role`.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] for a missing or unknown token,
    /// [`ApiError::Forbidden`] for a token without the role.
    pub fn require(&self, headers: &HeaderMap, role: ApiRole) -> Result<Principal, ApiError> {
        let t = self.known(headers)?;
        if t.roles.iter().any(|r| r.grants(role)) {
            Ok(Principal {
                token: t.name.clone(),
                actor: t.actor.clone(),
            })
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Who the caller is and every role its token holds (`GET /v1/me`: the
    /// dashboard shows what the caller may do, the server still checks).
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] for a missing or unknown token.
    pub fn identify(&self, headers: &HeaderMap) -> Result<(Principal, Vec<ApiRole>), ApiError> {
        let t = self.known(headers)?;
        Ok((
            Principal {
                token: t.name.clone(),
                actor: t.actor.clone(),
            },
            t.roles.clone(),
        ))
    }

    fn known(&self, headers: &HeaderMap) -> Result<&Known, ApiError> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let hash = sha256(presented.as_bytes());
        // Compare against every token, so timing does not tell which matched.
        let mut found = None;
        for t in &self.tokens {
            if ct_eq(&t.hash, &hash) {
                found = Some(t);
            }
        }
        found.ok_or(ApiError::Unauthorized)
    }
}

/// A token made up at start-up, for a config that has none, and its entry
/// (only the hash is kept). `squall serve` on the built-in example uses it
/// so that someone trying squall can sign in to the dashboard without
/// writing a config first; it is shown once, on the terminal, never logged.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn one_time_token(
    name: &str,
    roles: Vec<ApiRole>,
    actor: &str,
) -> Result<(String, ApiToken), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = hex::encode(bytes);
    let entry = ApiToken {
        name: name.to_owned(),
        roles,
        secret: TokenSecret::Sha256(sha256(token.as_bytes())),
        actor: actor.to_owned(),
    };
    Ok((token, entry))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex, as `sha256sum` prints it (for configs and tests).
pub fn sha256_hex(token: &str) -> String {
    sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn token(name: &str, secret: TokenSecret, roles: &[ApiRole]) -> ApiToken {
        ApiToken {
            name: name.into(),
            roles: roles.to_vec(),
            secret,
            actor: name.into(),
        }
    }

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
        h
    }

    #[test]
    fn a_token_is_checked_by_hash_and_role() {
        let tokens = [
            token(
                "ana",
                TokenSecret::Sha256(sha256(b"s3cret")),
                &[ApiRole::Commander],
            ),
            token(
                "feed",
                TokenSecret::Env("FEED_TOKEN".into()),
                &[ApiRole::Ingest],
            ),
            token(
                "gone",
                TokenSecret::Env("UNSET_TOKEN".into()),
                &[ApiRole::Viewer],
            ),
        ];
        let env = |k: &str| (k == "FEED_TOKEN").then(|| "feed-token".to_string());
        let (auth, missing) = Auth::new(&tokens, &env);
        assert_eq!(missing, ["gone (from $UNSET_TOKEN)"]);
        assert_eq!(
            auth.require(&bearer("s3cret"), ApiRole::Commander)
                .unwrap()
                .actor,
            "ana"
        );
        assert!(
            auth.require(&bearer("s3cret"), ApiRole::Viewer).is_ok(),
            "commanders read"
        );
        assert!(matches!(
            auth.require(&bearer("s3cret"), ApiRole::Ingest),
            Err(ApiError::Forbidden)
        ));
        assert!(auth.require(&bearer("feed-token"), ApiRole::Ingest).is_ok());
        assert!(matches!(
            auth.require(&bearer("feed-token"), ApiRole::Viewer),
            Err(ApiError::Forbidden)
        ));
        assert!(matches!(
            auth.require(&bearer("wrong"), ApiRole::Viewer),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            auth.require(&HeaderMap::new(), ApiRole::Viewer),
            Err(ApiError::Unauthorized)
        ));
    }

    #[test]
    fn a_one_time_token_is_random_and_only_its_hash_is_kept() {
        let (a, entry) = one_time_token("demo", vec![ApiRole::Commander], "ana").expect("random");
        let (b, _) = one_time_token("demo", vec![ApiRole::Commander], "ana").expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(
            !format!("{entry:?}").contains(&a),
            "the entry holds no token"
        );
        let (auth, missing) = Auth::new(&[entry], &|_| None);
        assert!(missing.is_empty());
        let who = auth
            .require(&bearer(&a), ApiRole::Commander)
            .expect("the token works");
        assert_eq!(
            who,
            Principal {
                token: "demo".into(),
                actor: "ana".into()
            }
        );
        assert!(auth.require(&bearer(&b), ApiRole::Commander).is_err());
    }

    #[test]
    fn the_hex_form_is_what_sha256sum_prints() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
