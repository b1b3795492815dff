//! The accept loop: what `axum::serve` does, plus the two limits a server
//! that may face the internet needs and `axum::serve` (0.8) does not set.
//!
//! - **A deadline for a request's headers.** Without one, a client that
//!   sends half a request line and waits holds its connection for ever; a
//!   few thousand of them (no token needed) use up the process's file
//!   descriptors and nobody else gets in (slowloris). hyper enforces
//!   [`HEADER_READ_TIMEOUT`] once it has a timer; bodies already have their
//!   own timeout in the router.
//! - **A cap on open connections.** Past [`MAX_CONNECTIONS`] the loop stops
//!   accepting until one closes: new clients wait in the kernel's backlog
//!   instead of the process running out of descriptors, so the connections
//!   already open (and `/healthz`) keep working.
//!
//! Shutdown is axum's: stop accepting, let every open connection finish the
//! request it is on (idle keep-alive connections close at once), and return
//! when the last one has ended.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long a client has to send a request's headers, from the moment the
/// connection (or the keep-alive wait for its next request) starts.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Most connections open at once. Well under the usual descriptor limits,
/// well over what the dashboard, the CLI, webhooks and ingest ever open.
pub const MAX_CONNECTIONS: usize = 4096;

/// The accept loop's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    serve_with(listener, router, shutdown, Limits::default()).await;
}

/// [`serve`] with other limits (tests use small ones).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
    limits: Limits,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break, // the semaphore is never closed
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // As axum does: out of descriptors or a connection
                    // reset before it was accepted; wait a little rather
                    // than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(router.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
