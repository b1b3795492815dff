//! The accept loop in front of the router (`squall::server::listen`): what a
//! server facing the internet must survive. A client that sends half a
//! request and waits is cut off; past the connection cap new clients wait
//! their turn while the connections already open keep working; shutdown
//! lets a request in flight finish.

use axum::routing::get;
use axum::Router;
use squall::server::listen::{serve_with, Limits};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A server with `limits` on a free port; dropping the sender stops it.
async fn server(limits: Limits) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_with(
        listener,
        router,
        async move {
            let _ = stopped.await;
        },
        limits,
    ));
    (addr, stop, task)
}

/// Sends a whole GET and reads the answer to the end (the server closes).
async fn get_path(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.expect("read");
    answer
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 16,
    };
    let (addr, _stop, _) = server(limits).await;
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("write");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest)).await;
    let answer = String::from_utf8_lossy(&rest);
    assert!(
        read.is_ok(),
        "the connection is closed by the server, not left open"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "nothing, or 408 Request Timeout: {answer}"
    );
}

#[tokio::test]
async fn past_the_cap_a_new_client_waits_until_a_connection_closes() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 2,
    };
    let (addr, _stop, _) = server(limits).await;
    // Two idle connections take every slot.
    let first = TcpStream::connect(&addr).await.expect("connect");
    let _second = TcpStream::connect(&addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = tokio::spawn({
        let addr = addr.clone();
        async move { get_path(&addr, "/healthz").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !third.is_finished(),
        "the third client waits in the backlog"
    );
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("served once a slot is free")
        .expect("task");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_then_returns() {
    let (addr, stop, task) = server(Limits::default()).await;
    let slow = tokio::spawn({
        let addr = addr.clone();
        async move { get_path(&addr, "/slow").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("server running");
    let answer = slow.await.expect("task");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("done"),
        "{answer}"
    );
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("serve returns once the last connection ended")
        .expect("task");
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "no longer listening"
    );
}
