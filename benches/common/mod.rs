//! What the HTTP benches share: squall's real service, started in-process
//! on a free loopback port.

use squall::server::{build, ServeOptions, Service};
use std::sync::Arc;

/// Builds the service from what `setup::load` loaded (with `config` taken
/// out of it and adjusted) and serves it on a free loopback port. Returns
/// the service (drop it to stop the engine) and its base URL,
/// `http://127.0.0.1:PORT`.
pub async fn serve(
    config: squall::config::Config,
    loaded: squall::setup::Loaded,
    options: &ServeOptions,
) -> (Service, String) {
    let service = build(
        Arc::new(config),
        loaded.playbooks,
        Arc::new(loaded.templates),
        options,
    )
    .await
    .expect("service");
    let router = service.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (service, url)
}
