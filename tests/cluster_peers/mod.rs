//! The real Postgres and NATS servers the scale-out tests run against, each
//! test in its own database or stream so tests run in parallel. A server that
//! is not there fails the test with the command that starts it: nothing is
//! skipped.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// The server's admin URL; `SQUALL_TEST_POSTGRES` overrides it.
pub fn postgres_admin_url() -> String {
    std::env::var("SQUALL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The NATS server; `SQUALL_TEST_NATS` overrides it.
pub fn nats_url() -> String {
    std::env::var("SQUALL_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

const START_POSTGRES: &str = "PostgreSQL is not reachable at 127.0.0.1:5432. Start it with \
`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (or run .ci/run), \
or point SQUALL_TEST_POSTGRES at a server with trust auth";

const START_NATS: &str = "NATS with JetStream is not reachable at 127.0.0.1:4222. Start it with \
`start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 \
-p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log` (or run .ci/run), or point \
SQUALL_TEST_NATS at a server";

/// A name no other test (or test process) uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A database of its own, dropped (with any connections still open) when
/// this guard goes.
pub struct PgDatabase {
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates a fresh, empty database. Panics with how to start Postgres if
    /// the server does not answer.
    pub async fn create() -> PgDatabase {
        let admin = postgres_admin_url();
        let name = unique_name("squall_test");
        let mut conn = match connect_admin(&admin).await {
            Ok(c) => c,
            Err(e) => panic!("{START_POSTGRES} ({e})"),
        };
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        PgDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

async fn connect_admin(url: &str) -> Result<sqlx::postgres::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::postgres::PgConnection::connect(url),
    )
    .await
    .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = postgres_admin_url();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = connect_admin(&admin).await.ok()?;
                sqlx::Executor::execute(
                    &mut conn,
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                )
                .await
                .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("test database {} was not dropped", self.name);
        }
    }
}

/// Connects to NATS, or panics with how to start it.
pub async fn nats() -> async_nats::Client {
    match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        async_nats::connect(nats_url()),
    )
    .await
    {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!("{START_NATS} ({e})"),
        Err(_) => panic!("{START_NATS} (timed out)"),
    }
}

/// Starts `squall serve` with `args` and `env`, its log in `log`, and waits
/// (up to a minute) until it says where it listens. Returns the process and
/// its base URL.
// The caller keeps the child and reaps it (kill + wait).
#[allow(clippy::zombie_processes)]
pub fn spawn_serve(
    args: &[&str],
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> (std::process::Child, String) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_squall"))
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("squall serve starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split("squall listening on ").nth(1) {
            return (
                child,
                rest.lines().next().unwrap_or_default().trim().to_owned(),
            );
        }
        if std::time::Instant::now() >= deadline {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            panic!("squall serve did not start:\n{text}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
