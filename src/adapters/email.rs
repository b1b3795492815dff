//! E-mail to staff over SMTP (lettre): notifications and draft digests.
//!
//! The relay, its TLS mode (STARTTLS, implicit TLS, or none for a local
//! relay) and the sender come from `notify.smtp`; the user and password from
//! the environment variables it names, read once at start-up and kept as
//! [`Secret`]s. Chat notifications are not e-mail: they go to the notifier
//! this one wraps. Each message carries a `Message-ID` derived from the
//! outbox key, so a retried send is recognisable as the same message.

use super::http::Secret;
use super::{AdapterError, Notifier};
use crate::config::{SmtpConfig, SmtpTls, Staff};
use crate::playbook::Channel;
use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;

/// Why SMTP could not be set up at start-up: names, never values.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SmtpSetupError {
    #[error(
        "notify.smtp.from: `{0}` is not an e-mail address (write `squall <squall@example.com>`)"
    )]
    From(String),
    #[error("environment variable {0} (named by notify.smtp) is not set")]
    MissingVariable(String),
    #[error("notify.smtp: username_env and password_env go together")]
    HalfCredentials,
    #[error("notify.smtp.host: {0}")]
    Host(String),
}

/// Sends e-mail through an SMTP relay; other channels go to `chat`.
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    chat: Arc<dyn Notifier>,
}

impl SmtpNotifier {
    /// Builds the transport (no connection yet) and reads the credentials.
    ///
    /// # Errors
    /// A bad sender address, an unset variable, or a host lettre refuses.
    pub fn new(
        cfg: &SmtpConfig,
        env: crate::config::EnvLookup<'_>,
        chat: Arc<dyn Notifier>,
        timeout: Duration,
    ) -> Result<Self, SmtpSetupError> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|_| SmtpSetupError::From(cfg.from.clone()))?;
        let read = |name: &String| {
            env(name)
                .filter(|v| !v.is_empty())
                .map(Secret::new)
                .ok_or_else(|| SmtpSetupError::MissingVariable(name.clone()))
        };
        let credentials = match (&cfg.username_env, &cfg.password_env) {
            (Some(u), Some(p)) => Some((read(u)?, read(p)?)),
            (None, None) => None,
            _ => return Err(SmtpSetupError::HalfCredentials),
        };
        let host = |e: SmtpError| SmtpSetupError::Host(e.to_string());
        let mut builder = match cfg.tls {
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host).map_err(host)?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        }
        .port(cfg.port)
        .timeout(Some(timeout));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(
                user.expose().to_string(),
                password.expose().to_string(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            chat,
        })
    }

    async fn deliver(
        &self,
        staff: &Staff,
        subject: &str,
        body: MultiPart,
        key: &str,
    ) -> Result<(), AdapterError> {
        let Some(address) = &staff.email else {
            return Err(AdapterError::Rejected(format!(
                "{} has no e-mail address",
                staff.id
            )));
        };
        let to: Mailbox = address
            .parse()
            .map_err(|_| AdapterError::Rejected(format!("{}: bad e-mail address", staff.id)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id(key, &self.from)))
            .multipart(body)
            .map_err(|e| AdapterError::Rejected(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// A stable Message-ID per outbox key.
fn message_id(key: &str, from: &Mailbox) -> String {
    let safe: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    format!("<{safe}@{}>", from.email.domain())
}

/// Permanent SMTP answers (5xx) are refusals; everything else is retried.
fn classify(e: SmtpError) -> AdapterError {
    if e.is_permanent() {
        AdapterError::Rejected(format!("SMTP: {e}"))
    } else {
        AdapterError::Transient(format!("SMTP: {e}"))
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(
        &self,
        staff: &Staff,
        channel: Channel,
        subject: &str,
        text: &str,
        key: &str,
    ) -> Result<(), AdapterError> {
        match channel {
            Channel::Chat => self.chat.send(staff, channel, subject, text, key).await,
            Channel::Email => {
                let body = MultiPart::mixed().singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text.to_string()),
                );
                self.deliver(staff, subject, body, key).await
            }
        }
    }

    async fn send_digest(
        &self,
        staff: &Staff,
        subject: &str,
        text: &str,
        html: &str,
        key: &str,
    ) -> Result<(), AdapterError> {
        let body = MultiPart::alternative_plain_html(text.to_string(), html.to_string());
        self.deliver(staff, subject, body, key).await
    }
}
