//! rmq's authentication of slaves on the HA port, an extension: Java's HA has
//! none, so only rmq slaves pass it, and a master asks for it only when told
//! to (the broker's `haAuthEnable`).
//!
//! ```text
//! master → slave  challenge: | "RMQH" | nonce: 16 random bytes |                       20 bytes
//! slave → master  answer:    | "RMQH" | key length: u16 BE | access key |
//!                              HMAC-SHA1(secret key, nonce ‖ access key): 20 bytes |
//! ```
//!
//! The master looks the access key up and checks the MAC; a new nonce per
//! connection means a recorded answer cannot be replayed. Then the classic
//! protocol starts. It authenticates the slave; it does not encrypt: the
//! CommitLog still crosses the network in clear.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const MAGIC: [u8; 4] = *b"RMQH";
pub const NONCE_LEN: usize = 16;
/// Bytes of a challenge.
pub const CHALLENGE_LEN: usize = MAGIC.len() + NONCE_LEN;
const MAC_LEN: usize = 20;
/// Longest access key accepted: a stranger cannot make the master buffer much.
pub const MAX_KEY_LEN: usize = 256;

/// A slave's account.
#[derive(Clone, PartialEq, Eq)]
pub struct HaCredentials {
    pub access_key: String,
    pub secret_key: String,
}

impl fmt::Debug for HaCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HaCredentials").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

/// The master's view of the accounts: the secret key of an access key
/// allowed to replicate, or `None`.
#[derive(Clone)]
pub struct SecretLookup(Arc<Lookup>);

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl SecretLookup {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> SecretLookup {
        SecretLookup(Arc::new(lookup))
    }

    /// The secret key of `access_key`, if that account may replicate.
    pub fn secret(&self, access_key: &str) -> Option<String> {
        (self.0)(access_key)
    }
}

impl fmt::Debug for SecretLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretLookup")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("the master did not send rmq's HA challenge (is haAuthEnable set on the master?)")]
    NotAChallenge,
    #[error("the slave did not answer rmq's HA challenge (a Java slave, or one without haAuthAccessKey)")]
    NotAnAnswer,
    #[error("access key of {0} bytes, more than {MAX_KEY_LEN}")]
    KeyTooLong(usize),
    #[error("access key '{0}' may not replicate from this master")]
    UnknownAccessKey(String),
    #[error("wrong signature for access key '{0}'")]
    BadSignature(String),
    #[error("the handshake did not complete within {0:?}")]
    TimedOut(std::time::Duration),
    #[error("no challenge from the master within {0:?}: is haAuthEnable set on the master?")]
    NoChallenge(std::time::Duration),
    #[error("no randomness for the challenge: {0}")]
    Random(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

fn mac(secret: &str, nonce: &[u8], access_key: &str) -> Hmac<Sha1> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(nonce);
    mac.update(access_key.as_bytes());
    mac
}

/// A challenge with a fresh nonce.
pub fn challenge() -> Result<[u8; CHALLENGE_LEN], HandshakeError> {
    let mut out = [0u8; CHALLENGE_LEN];
    out[..MAGIC.len()].copy_from_slice(&MAGIC);
    getrandom::getrandom(&mut out[MAGIC.len()..]).map_err(|e| HandshakeError::Random(e.to_string()))?;
    Ok(out)
}

/// The slave's answer to `challenge`.
pub fn answer(challenge: &[u8; CHALLENGE_LEN], credentials: &HaCredentials) -> Result<Vec<u8>, HandshakeError> {
    if challenge[..MAGIC.len()] != MAGIC {
        return Err(HandshakeError::NotAChallenge);
    }
    let key = credentials.access_key.as_bytes();
    let len = u16::try_from(key.len()).ok().filter(|&n| usize::from(n) <= MAX_KEY_LEN);
    let len = len.ok_or(HandshakeError::KeyTooLong(key.len()))?;
    let nonce = &challenge[MAGIC.len()..];
    let signature = mac(&credentials.secret_key, nonce, &credentials.access_key).finalize().into_bytes();
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + key.len() + MAC_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&signature);
    Ok(out)
}

/// Master side: sends a challenge on `stream`, reads the answer and checks
/// it against `lookup`. The access key that passed.
pub async fn challenge_peer<S>(stream: &mut S, lookup: &SecretLookup) -> Result<String, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let sent = challenge()?;
    stream.write_all(&sent).await?;
    let mut head = [0u8; MAGIC.len() + 2];
    stream.read_exact(&mut head).await?;
    if head[..MAGIC.len()] != MAGIC {
        return Err(HandshakeError::NotAnAnswer);
    }
    let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
    if len > MAX_KEY_LEN {
        return Err(HandshakeError::KeyTooLong(len));
    }
    let mut rest = vec![0u8; len + MAC_LEN];
    stream.read_exact(&mut rest).await?;
    let (key, signature) = rest.split_at(len);
    let access_key = String::from_utf8_lossy(key).into_owned();
    let secret = lookup.secret(&access_key).ok_or_else(|| HandshakeError::UnknownAccessKey(access_key.clone()))?;
    mac(&secret, &sent[MAGIC.len()..], &access_key)
        .verify_slice(signature)
        .map_err(|_| HandshakeError::BadSignature(access_key.clone()))?;
    Ok(access_key)
}

/// Slave side: reads the master's challenge and answers it.
pub async fn answer_master<S>(stream: &mut S, credentials: &HaCredentials) -> Result<(), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut received = [0u8; CHALLENGE_LEN];
    stream.read_exact(&mut received).await?;
    stream.write_all(&answer(&received, credentials)?).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(key: &str, secret: &str) -> HaCredentials {
        HaCredentials { access_key: key.into(), secret_key: secret.into() }
    }

    fn lookup() -> SecretLookup {
        SecretLookup::new(|key: &str| (key == "slave-ak").then(|| "slave-secret".to_owned()))
    }

    /// Runs the master's and the slave's side over an in-memory pipe.
    async fn run(slave: Option<HaCredentials>, garbage: Option<&'static [u8]>) -> Result<String, HandshakeError> {
        let (mut master_end, mut slave_end) = tokio::io::duplex(1024);
        let slave_side = tokio::spawn(async move {
            match (slave, garbage) {
                (Some(c), _) => answer_master(&mut slave_end, &c).await.ok(),
                (None, Some(bytes)) => slave_end.write_all(bytes).await.ok(),
                (None, None) => None,
            };
            slave_end
        });
        let verdict = challenge_peer(&mut master_end, &lookup()).await;
        drop(master_end);
        let _ = slave_side.await;
        verdict
    }

    #[tokio::test]
    async fn a_known_account_passes_and_others_do_not() {
        assert_eq!(run(Some(creds("slave-ak", "slave-secret")), None).await.unwrap(), "slave-ak");
        let wrong = run(Some(creds("slave-ak", "guessed")), None).await.unwrap_err();
        assert!(matches!(wrong, HandshakeError::BadSignature(_)), "{wrong}");
        let unknown = run(Some(creds("someone", "slave-secret")), None).await.unwrap_err();
        assert!(matches!(unknown, HandshakeError::UnknownAccessKey(_)), "{unknown}");
    }

    #[tokio::test]
    async fn a_java_slave_reporting_an_offset_is_refused() {
        let report = Box::leak(Box::new(0i64.to_be_bytes()));
        let refused = run(None, Some(&report[..])).await.unwrap_err();
        assert!(matches!(refused, HandshakeError::NotAnAnswer | HandshakeError::Io(_)), "{refused}");
    }

    #[tokio::test]
    async fn a_long_key_is_refused_before_it_is_read() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&60_000u16.to_be_bytes());
        let refused = run(None, Some(Box::leak(bytes.into_boxed_slice()))).await.unwrap_err();
        assert!(matches!(refused, HandshakeError::KeyTooLong(60_000)), "{refused}");
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(challenge().unwrap(), challenge().unwrap());
        assert!(matches!(answer(&[0; CHALLENGE_LEN], &creds("a", "b")), Err(HandshakeError::NotAChallenge)));
    }
}
