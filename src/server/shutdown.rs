//! Graceful shutdown: SIGTERM or SIGINT stops the listener, lets requests in
//! flight finish (up to a grace period), ends live event streams, and then
//! lets the engine task drain its queue. Work not started stays in the store
//! (journal and outbox) for the next start.

use tokio::sync::watch;

/// How long requests in flight may take once shutdown began.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves on SIGTERM or SIGINT (Ctrl-C), or when `trigger` is set (tests).
pub async fn signal(mut trigger: watch::Receiver<bool>) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutting down"),
        () = term => tracing::info!(signal = "SIGTERM", "shutting down"),
        _ = trigger.wait_for(|s| *s) => tracing::info!("shutting down on request"),
    }
}
