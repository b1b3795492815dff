//! Digest e-mails reach a real SMTP server: aiosmtpd (installed into a venv
//! under $CARGO_TARGET_DIR/peers/smtp by `tests/peers/smtp.sh`) listens on
//! a free loopback port and writes every message into a Maildir, which the
//! test reads back: recipients, subject, the drafts listed with links, and
//! no personal data from the customers' mentions.

mod serve;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use serve::{TestApp, COMMANDER, INGEST};
use squall::config::{SmtpConfig, SmtpTls};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running aiosmtpd; killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
    python: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    fn start() -> Self {
        let out = Command::new("bash")
            .arg("tests/peers/smtp.sh")
            .output()
            .expect("bash runs tests/peers/smtp.sh");
        assert!(
            out.status.success(),
            "cannot install the SMTP test server (aiosmtpd): run `bash tests/peers/smtp.sh` \
             (needs python3 with venv and the Python package index)\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let python = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let maildir = tempfile::tempdir().expect("maildir");
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = SmtpServer {
            child,
            port,
            maildir,
            python,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start on 127.0.0.1:{port} within 15 s \
                 (try: {} -m aiosmtpd -n -l 127.0.0.1:{port})",
                server.python.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Every message received, decoded by Python's `email` package:
    /// `{rcpt, to, from, subject, text, html}`.
    fn messages(&self) -> Vec<Value> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().map(|f| self.decode(f)).collect()
    }

    fn decode(&self, file: &Path) -> Value {
        let script = r#"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
part = lambda t: (m.get_body(preferencelist=(t,)) or None)
body = lambda t: part(t).get_content() if part(t) is not None else None
print(json.dumps({"rcpt": m["X-RcptTo"], "to": m["To"], "from": m["From"],
                  "subject": m["Subject"], "text": body("plain"), "html": body("html")}))
"#;
        let out = Command::new(&self.python)
            .args(["-c", script])
            .arg(file)
            .output()
            .expect("python decodes the message");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("decoded message as JSON")
    }
}

fn mention(id: &str, author: &str, lang: &str, text: &str) -> Value {
    json!({
        "id": id, "platform": "mastodon", "account": "acme-main",
        "author": {"id": author, "handle": format!("@{author}@example.social")},
        "text": text, "lang": lang, "created_at": chrono::Utc::now(),
    })
}

#[tokio::test]
async fn each_staff_member_gets_one_digest_listing_their_drafts_without_personal_data() {
    let smtp = SmtpServer::start();
    let port = smtp.port;
    let app = TestApp::start_with(
        move |c| {
            c.notify.digest_every = Duration::from_secs(1);
            c.notify.link_base = "https://squall.acme.example".into();
            c.notify.smtp = Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port,
                tls: SmtpTls::None,
                from: "squall <squall@acme.example>".into(),
                username_env: None,
                password_env: None,
            });
            for (id, s) in c.staff.iter_mut() {
                s.email = Some(format!("{id}@acme.example"));
            }
        },
        Duration::ZERO,
    )
    .await;
    let (status, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "replies"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let batch: Vec<String> = [
        mention(
            "e1",
            "ola",
            "pl",
            "nie działa, mój mail ola.nowak@example.com",
        ),
        mention("e2", "bob", "en", "down again, call me on +44 20 7946 0958"),
        mention(
            "e3",
            "cat",
            "en",
            "charged twice on 4111 1111 1111 1111 <b>help</b>",
        ),
        mention("e4", "dan", "en", "is it down?"),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    let (status, report) = app
        .call(
            Method::POST,
            "/v1/mentions",
            Some(INGEST),
            Some(&batch.join("\n")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");

    // The engine task fires the digest timer after a second; the outbox sends.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mails = loop {
        let mails = smtp.messages();
        if mails.len() >= 2 || Instant::now() > deadline {
            break mails;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Two staff hold two drafts each: exactly one digest each, no more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = smtp.messages();
    assert_eq!(again.len(), 2, "one digest per staff member: {again:#?}");
    let mut rcpts: Vec<&str> = mails.iter().map(|m| m["rcpt"].as_str().unwrap()).collect();
    rcpts.sort_unstable();
    assert_eq!(rcpts, ["kim@acme.example", "sam@acme.example"]);

    let (_, page) = app
        .call(Method::GET, "/v1/drafts", Some(COMMANDER), None)
        .await;
    for m in &mails {
        assert_eq!(m["subject"], "[Acme] 2 new reply drafts to answer", "{m}");
        assert!(m["from"].as_str().unwrap().contains("squall@acme.example"));
        let who = m["rcpt"].as_str().unwrap().split('@').next().unwrap();
        let theirs: Vec<&Value> = page["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["assignee"] == who)
            .collect();
        assert_eq!(theirs.len(), 2, "{page}");
        let text = m["text"].as_str().expect("a plain text part");
        let html = m["html"].as_str().expect("an HTML part");
        for d in theirs {
            let id = d["id"].as_i64().unwrap();
            let link = format!("https://squall.acme.example/#/drafts/{id}");
            assert!(text.contains(&format!("#{id} ")), "{text}");
            assert!(text.contains(&link), "{text}");
            assert!(html.contains(&link), "{html}");
            let handle = d["author"]["handle"].as_str().unwrap();
            assert!(text.contains(handle), "{text}");
        }
        for secret in [
            "ola.nowak@example.com",
            "7946 0958",
            "4111 1111 1111 1111",
            "4111",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
            assert!(!html.contains(secret), "{secret} leaked: {html}");
        }
        // Customer markup is text in the HTML part, not markup.
        assert!(!html.contains("<b>help</b>"), "{html}");
    }
    let cat = mails
        .iter()
        .find(|m| m["text"].as_str().unwrap().contains("@cat@"))
        .expect("someone got cat's draft");
    assert!(cat["html"]
        .as_str()
        .unwrap()
        .contains("&lt;b&gt;help&lt;/b&gt;"));
    assert!(cat["text"].as_str().unwrap().contains("[card]"));
}
