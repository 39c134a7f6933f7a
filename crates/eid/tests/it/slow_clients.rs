//! Slow clients (hardening item 18): over real TCP, connections that never finish their
//! header are closed after the header-read timeout while the server keeps answering others; a
//! request whose body never comes is answered 408 after the request timeout; connections
//! beyond the limit are closed until a place frees.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eid_core::clock::SystemClock;

use crate::helpers::{agent, call, fresh_store};

/// A server over a fresh store with `config` on top of the test kit's.
fn server(label: &str, config: eid::Config) -> eid::testkit::Server {
    eid::testkit::spawn_with(fresh_store(label), config, Arc::new(SystemClock))
}

fn config(header_read: u64, request: u64, connections: u32) -> eid::Config {
    eid::Config {
        header_read_timeout_seconds: header_read,
        request_timeout_seconds: request,
        max_connections: connections,
        ..eid::testkit::test_config()
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// What the peer did to `s` by now: `Some(bytes)` once it closed the connection (with whatever
/// it wrote before), `None` while it is still open.
fn closed(s: &mut TcpStream, got: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(got.clone()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(_) => return Some(got.clone()), // reset: closed too
        }
    }
}

fn healthz(base: &str) -> u16 {
    call(agent().get(&format!("{base}/healthz"))).status()
}

#[test]
fn partial_headers_are_cut_off_after_the_header_read_timeout_while_others_are_served() {
    let s = server("slow-headers", config(1, 30, 4096));
    const SLOW: usize = 200;
    let started = Instant::now();
    let mut slow: Vec<(TcpStream, Vec<u8>)> = (0..SLOW)
        .map(|_| {
            let mut c = connect(s.addr);
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: eid\r\nX-Slow: ")
                .unwrap();
            (c, Vec::new())
        })
        .collect();
    // One more that keeps trickling a byte at a time: the timeout is for the whole header, not
    // between bytes.
    let mut trickle = connect(s.addr);
    trickle.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();

    // The server answers normal requests meanwhile.
    for _ in 0..5 {
        assert_eq!(healthz(&s.base), 200);
    }
    let mut trickle_closed = None;
    let mut done = [false; SLOW];
    let mut open = SLOW;
    while started.elapsed() < Duration::from_secs(6) && (open > 0 || trickle_closed.is_none()) {
        if trickle_closed.is_none()
            && (trickle.write_all(b"x").is_err() || closed(&mut trickle, &mut Vec::new()).is_some())
        {
            trickle_closed = Some(started.elapsed());
        }
        for (i, (c, got)) in slow.iter_mut().enumerate() {
            if !done[i] && closed(c, got).is_some() {
                done[i] = true;
            }
        }
        open = done.iter().filter(|d| !**d).count();
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        open, 0,
        "of {SLOW} partial headers, {open} still open after 6 s"
    );
    let t = trickle_closed.expect("a trickled header still open after 6 s");
    assert!(t >= Duration::from_millis(900), "closed too early: {t:?}");
    // None of them got an answer to a request it never finished.
    for (_, got) in &slow {
        let text = String::from_utf8_lossy(got);
        assert!(!text.contains("200 OK"), "{text}");
    }
    assert_eq!(healthz(&s.base), 200, "still serving afterwards");
}

#[test]
fn a_request_whose_body_never_comes_is_answered_408_with_the_json_error() {
    let s = server("slow-body", config(10, 1, 4096));
    let started = Instant::now();
    let mut c = connect(s.addr);
    c.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    c.write_all(
        b"POST /api/v1/app/signin HTTP/1.1\r\nHost: eid\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"personal_id\":",
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("}") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    let took = started.elapsed();
    assert!(text.starts_with("HTTP/1.1 408"), "after {took:?}: {text}");
    assert!(
        text.contains("application/json") && text.contains("\"request.timeout\""),
        "{text}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn connections_beyond_the_limit_are_closed_until_a_place_frees() {
    const LIMIT: usize = 4;
    let s = server("conn-limit", config(30, 30, LIMIT as u32));
    // LIMIT connections that send nothing hold every place.
    let held: Vec<TcpStream> = (0..LIMIT).map(|_| connect(s.addr)).collect();
    std::thread::sleep(Duration::from_millis(300));

    // One more is closed without an answer.
    let mut extra = connect(s.addr);
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: eid\r\n\r\n");
    let mut got = Vec::new();
    let _ = extra.read_to_end(&mut got);
    assert!(
        !String::from_utf8_lossy(&got).contains("200 OK"),
        "answered beyond the limit: {}",
        String::from_utf8_lossy(&got)
    );

    // Once one of them goes, a new connection is served.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut status = 0;
    while Instant::now() < deadline {
        let mut c = connect(s.addr);
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: eid\r\nConnection: close\r\n\r\n");
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        if String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200") {
            status = 200;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status, 200, "no place freed");
}
