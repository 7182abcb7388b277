//! Docker discovery through the Engine API on its unix socket (`$HOST_ROOT/run/docker.sock`,
//! IG's default, or `$GADGETRT_DOCKER_SOCKET`): the running containers are listed
//! (`GET /containers/json`, then `GET /containers/<id>/json` and `GET /images/<id>/json`
//! for each), then `GET /events?filters={"type":["container"]}` is followed for `start`,
//! `rename`, `die` and `destroy` while anybody watches. No kprobes, no polling.
//!
//! The HTTP client is a small blocking one over `std::os::unix::net::UnixStream`: the four
//! GET requests above need HTTP/1.1 with `Content-Length` and chunked bodies only, and a
//! blocking read is what a watcher thread wants (it is stopped by shutting the socket down).
//! hyper + hyperlocal would pull an async stack (tokio's runtime and net features, http,
//! h2 types, tower) into a C library for that; ureq has no unix-socket transport of its own.
//!
//! A missing socket is not an error (as in IG, runtimes whose socket is absent are skipped);
//! the watcher retries every few seconds so that a daemon started later is picked up.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Collection, Container, Source};

/// IG's Docker client timeout.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Delay between attempts to reach a daemon that is not (yet) there.
const RETRY: Duration = Duration::from_secs(2);
const EVENTS_PATH: &str = "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D";

/// The socket to use: [`super::socket_path`]`("docker")` (configured,
/// `$GADGETRT_DOCKER_SOCKET`, else `$HOST_ROOT/run/docker.sock`).
pub fn socket_path() -> PathBuf {
    super::socket_path("docker")
}

/// A running Docker watcher thread.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    synced: Arc<AtomicBool>,
    /// The open events connection, shut down to unblock the thread.
    conn: Arc<Mutex<Option<UnixStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Follows the Engine API on `socket` for `source` ([`Source::Docker`], or
    /// [`Source::Podman`] on podman's Docker-compatible API).
    pub fn start(col: &'static Collection, socket: PathBuf, source: Source) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let synced = Arc::new(AtomicBool::new(false));
        let conn = Arc::new(Mutex::new(None));
        let (s, y, c) = (stop.clone(), synced.clone(), conn.clone());
        let thread = std::thread::Builder::new()
            .name(format!("gadgetrt-{}", runtime_name(source)))
            .spawn(move || watch_loop(col, &socket, source, &s, &y, &c))
            .ok();
        if thread.is_none() {
            synced.store(true, Ordering::Release);
        }
        Watcher { stop, synced, conn, thread }
    }

    /// Set once the first listing is done (or failed).
    pub fn synced_flag(&self) -> Arc<AtomicBool> {
        self.synced.clone()
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(c) = self.conn.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `runtime.runtimeName` of containers found through `source`.
pub fn runtime_name(source: Source) -> &'static str {
    match source {
        Source::Podman => "podman",
        _ => "docker",
    }
}

fn watch_loop(col: &'static Collection, socket: &Path, source: Source, stop: &AtomicBool, synced: &AtomicBool, conn: &Mutex<Option<UnixStream>>) {
    let mark_synced = || {
        if !synced.swap(true, Ordering::AcqRel) {
            col.notify_synced();
        }
    };
    while !stop.load(Ordering::Acquire) {
        if let Err(e) = follow(col, socket, source, stop, &mark_synced, conn) {
            if !stop.load(Ordering::Acquire) && socket.exists() {
                log::debug(&format!("{} ({}): {e}", runtime_name(source), socket.display()));
            }
        }
        *conn.lock().unwrap_or_else(|e| e.into_inner()) = None;
        mark_synced();
        if stop.load(Ordering::Acquire) {
            break;
        }
        std::thread::park_timeout(RETRY);
    }
}

mod log {
    pub fn debug(msg: &str) {
        super::super::debug(msg)
    }
}

/// One session with the daemon: subscribe to events first (so nothing falls between the
/// listing and the stream), list, then apply events until the stream ends.
fn follow(
    col: &'static Collection,
    socket: &Path,
    source: Source,
    stop: &AtomicBool,
    mark_synced: &dyn Fn(),
    conn: &Mutex<Option<UnixStream>>,
) -> Result<(), String> {
    let stream = UnixStream::connect(socket).map_err(|e| format!("connecting: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    *conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream.try_clone().map_err(|e| e.to_string())?);
    if stop.load(Ordering::Acquire) {
        return Ok(());
    }
    send_get(&stream, EVENTS_PATH, false)?;
    let mut rd = BufReader::new(stream);
    let head = read_head(&mut rd)?;
    if head.status != 200 {
        return Err(format!("GET /events: HTTP {}", head.status));
    }
    rd.get_ref().set_read_timeout(None).map_err(|e| e.to_string())?;

    let list = list_containers(socket, source)?;
    col.reconcile(source, list);
    mark_synced();

    let mut body = Body::new(rd, head.chunked);
    while let Some(line) = body.next_line()? {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let Ok(ev) = serde_json::from_slice::<serde_json::Value>(&line) else { continue };
        if ev.get("Type").and_then(|t| t.as_str()).is_some_and(|t| t != "container") {
            continue;
        }
        let action = ev.get("Action").or_else(|| ev.get("status")).and_then(|a| a.as_str()).unwrap_or("");
        let id = ev
            .get("Actor")
            .and_then(|a| a.get("ID"))
            .or_else(|| ev.get("id"))
            .and_then(|i| i.as_str())
            .unwrap_or("")
            .to_string();
        if id.is_empty() {
            continue;
        }
        match action {
            "start" | "rename" | "unpause" => match inspect(socket, &id, source) {
                Ok(Some(c)) => col.add(source, c),
                Ok(None) => {}
                Err(e) => log::debug(&format!("inspecting {id}: {e}")),
            },
            "die" | "destroy" => {
                col.remove(source, &id);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The running containers, each inspected.
fn list_containers(socket: &Path, source: Source) -> Result<Vec<Container>, String> {
    let v = get_json(socket, "/containers/json")?;
    let mut out = Vec::new();
    for c in v.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let Some(id) = c.get("Id").and_then(|i| i.as_str()) else { continue };
        match inspect(socket, id, source) {
            Ok(Some(c)) => out.push(c),
            Ok(None) => {}
            Err(e) => log::debug(&format!("inspecting {id}: {e}")),
        }
    }
    Ok(out)
}

/// A running container from `GET /containers/<id>/json`, or `None` when it is not running
/// (any more) or its process is gone.
fn inspect(socket: &Path, id: &str, source: Source) -> Result<Option<Container>, String> {
    let v = match get_json(socket, &format!("/containers/{id}/json")) {
        Err(e) if e.contains("HTTP 404") => return Ok(None),
        r => r?,
    };
    let Some(mut c) = container_from_inspect(&v) else { return Ok(None) };
    c.runtime = runtime_name(source).into();
    Ok(complete(socket, c))
}

/// The repo digest of an image id, asked once per image id.
fn image_digest(socket: &Path, image_id: &str) -> String {
    static IMAGES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = IMAGES.get_or_init(Default::default);
    if let Some(d) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(image_id) {
        return d.clone();
    }
    let d = get_json(socket, &format!("/images/{image_id}/json")).ok().map(|i| repo_digest(&i)).unwrap_or_default();
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(image_id.to_string(), d.clone());
    d
}

/// Adds the image digest, the `/proc` fields and the OCI config; `None` when the process is
/// gone.
fn complete(socket: &Path, mut c: Container) -> Option<Container> {
    if !c.image_id.is_empty() {
        c.image_digest = image_digest(socket, &c.image_id);
    }
    c.fill_from_proc().ok()?;
    c.read_oci_config();
    Some(c)
}

/// A container that runc just created (not started yet, see [`super::runc`]): Docker's
/// inspect would block on the container lock its start holds, so the fields come from the
/// listing (`GET /containers/json?all=1&filters={"id":[id]}`, Docker's lock-free view), with
/// the init `pid` from the bundle's pid file. Gives the same [`Container`] the `start`
/// event's inspect will, so that one changes nothing.
pub fn created_container(socket: &Path, id: &str, pid: u32) -> Result<Option<Container>, String> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
        return Ok(None);
    }
    let q = format!("/containers/json?all=1&filters=%7B%22id%22%3A%5B%22{id}%22%5D%7D");
    let v = get_json(socket, &q)?;
    let Some(item) = v.as_array().and_then(|a| a.iter().find(|c| c.get("Id").and_then(|i| i.as_str()) == Some(id))) else {
        return Ok(None);
    };
    let s = |k: &str| item.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let name = item
        .get("Names")
        .and_then(|n| n.as_array())
        .and_then(|n| n.first())
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string();
    let image = s("Image");
    let labels: BTreeMap<String, String> = item
        .get("Labels")
        .and_then(|l| l.as_object())
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    let mut c = Container {
        id: id.to_string(),
        name,
        runtime: "docker".into(),
        pid,
        image_name: image.split_once('@').map(|(n, _)| n.to_string()).unwrap_or(image),
        image_id: s("ImageID"),
        ..Default::default()
    };
    c.set_k8s_from_labels(&labels);
    Ok(complete(socket, c))
}

/// The container fields of an inspect document (without the `/proc` ones), if it runs.
pub fn container_from_inspect(v: &serde_json::Value) -> Option<Container> {
    let s = |p: &[&str]| -> String {
        let mut cur = v;
        for k in p {
            match cur.get(k) {
                Some(n) => cur = n,
                None => return String::new(),
            }
        }
        cur.as_str().unwrap_or("").to_string()
    };
    let state = v.get("State")?;
    if !state.get("Running").and_then(|r| r.as_bool()).unwrap_or(false) {
        return None;
    }
    let pid = state.get("Pid").and_then(|p| p.as_u64()).filter(|&p| p > 0 && p <= u32::MAX as u64)? as u32;
    let image = s(&["Config", "Image"]);
    let image_name = image.split_once('@').map(|(n, _)| n.to_string()).unwrap_or(image);
    let labels: BTreeMap<String, String> = v
        .get("Config")
        .and_then(|c| c.get("Labels"))
        .and_then(|l| l.as_object())
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    let mut c = Container {
        id: s(&["Id"]),
        name: s(&["Name"]).trim_start_matches('/').to_string(),
        runtime: "docker".into(),
        pid,
        image_name,
        image_id: s(&["Image"]),
        ..Default::default()
    };
    c.set_k8s_from_labels(&labels);
    Some(c)
}

/// The digest part of an image's first repo digest (`name@sha256:…`), or "".
pub fn repo_digest(image: &serde_json::Value) -> String {
    image
        .get("RepoDigests")
        .and_then(|r| r.as_array())
        .and_then(|r| r.first())
        .and_then(|d| d.as_str())
        .and_then(|d| d.split_once('@'))
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

// ----- a minimal HTTP/1.1 client -----

fn send_get(mut s: &UnixStream, path: &str, close: bool) -> Result<(), String> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: gadgetrt\r\nAccept: application/json\r\n{}\r\n",
        if close { "Connection: close\r\n" } else { "" }
    );
    s.write_all(req.as_bytes()).map_err(|e| format!("GET {path}: {e}"))
}

struct Head {
    status: u16,
    chunked: bool,
    length: Option<usize>,
}

fn read_head(rd: &mut impl BufRead) -> Result<Head, String> {
    let mut line = String::new();
    rd.read_line(&mut line).map_err(|e| format!("reading the response: {e}"))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad HTTP status line {:?}", line.trim_end()))?;
    let (mut chunked, mut length) = (false, None);
    loop {
        line.clear();
        let n = rd.read_line(&mut line).map_err(|e| format!("reading the response headers: {e}"))?;
        if n == 0 {
            return Err("connection closed in the response headers".into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse().ok();
            }
        }
    }
    Ok(Head { status, chunked, length })
}

/// A response body: chunked, with a length, or up to EOF.
struct Body<R> {
    rd: R,
    chunked: bool,
    /// Bytes left in the current chunk (chunked) or in the body (`Some` length).
    left: Option<usize>,
    done: bool,
    pending: Vec<u8>,
}

impl<R: BufRead> Body<R> {
    fn new(rd: R, chunked: bool) -> Self {
        Body { rd, chunked, left: if chunked { Some(0) } else { None }, done: false, pending: Vec::new() }
    }

    fn with_length(rd: R, length: usize) -> Self {
        Body { rd, chunked: false, left: Some(length), done: false, pending: Vec::new() }
    }

    /// Reads the next piece of body into `out`; `false` at the end.
    fn read_some(&mut self, out: &mut Vec<u8>) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        let io = |e: std::io::Error| format!("reading the response body: {e}");
        if self.chunked && self.left == Some(0) {
            let mut line = String::new();
            if self.rd.read_line(&mut line).map_err(io)? == 0 {
                self.done = true;
                return Ok(false);
            }
            if line.trim().is_empty() {
                // The CRLF closing the previous chunk.
                line.clear();
                if self.rd.read_line(&mut line).map_err(io)? == 0 {
                    self.done = true;
                    return Ok(false);
                }
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size {:?}", line.trim()))?;
            if size == 0 {
                self.done = true;
                return Ok(false);
            }
            self.left = Some(size);
        }
        let buf = self.rd.fill_buf().map_err(io)?;
        if buf.is_empty() {
            self.done = true;
            return Ok(false);
        }
        let n = self.left.map_or(buf.len(), |l| l.min(buf.len()));
        out.extend_from_slice(&buf[..n]);
        self.rd.consume(n);
        if let Some(l) = self.left.as_mut() {
            *l -= n;
            if !self.chunked && *l == 0 {
                self.done = true;
            }
        }
        Ok(true)
    }

    /// The next newline-terminated line of the body (without the newline), skipping blank
    /// ones; `None` at the end.
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, String> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).take(i).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(line));
            }
            let mut chunk = std::mem::take(&mut self.pending);
            let more = self.read_some(&mut chunk)?;
            self.pending = chunk;
            if !more {
                if self.pending.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.pending)));
            }
        }
    }

    fn read_all(mut self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        while self.read_some(&mut out)? {}
        Ok(out)
    }
}

/// `GET path` on a fresh connection; the body parsed as JSON. Non-2xx statuses are errors
/// naming the status and Docker's message.
fn get_json(socket: &Path, path: &str) -> Result<serde_json::Value, String> {
    let s = UnixStream::connect(socket).map_err(|e| format!("connecting: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    send_get(&s, path, true)?;
    let mut rd = BufReader::new(s);
    let head = read_head(&mut rd)?;
    let body = match (head.chunked, head.length) {
        (false, Some(n)) => Body::with_length(rd, n).read_all()?,
        (chunked, _) => Body::new(rd, chunked).read_all()?,
    };
    if !(200..300).contains(&head.status) {
        let msg = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_default();
        return Err(format!("GET {path}: HTTP {} {msg}", head.status));
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {path}: invalid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_body_lines() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n4\r\n1}\n\n\r\n3\r\n{}\n\r\n0\r\n\r\n";
        let mut rd = BufReader::new(&raw[..]);
        let h = read_head(&mut rd).unwrap();
        assert!(h.chunked && h.status == 200);
        let mut b = Body::new(rd, true);
        assert_eq!(b.next_line().unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(b.next_line().unwrap().unwrap(), b"{}");
        assert_eq!(b.next_line().unwrap(), None);
    }

    #[test]
    fn length_body() {
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}garbage";
        let mut rd = BufReader::new(&raw[..]);
        let h = read_head(&mut rd).unwrap();
        assert_eq!((h.status, h.length), (404, Some(2)));
        assert_eq!(Body::with_length(rd, 2).read_all().unwrap(), b"{}");
    }

    #[test]
    fn inspect_document() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"Id":"abc","Name":"/web","Image":"sha256:3e06","State":{"Running":true,"Pid":42},
                "Config":{"Image":"grt-busybox:latest@sha256:ffff","Labels":{"io.kubernetes.pod.name":"p"}}}"#,
        )
        .unwrap();
        let c = container_from_inspect(&v).unwrap();
        assert_eq!((c.id.as_str(), c.name.as_str(), c.pid), ("abc", "web", 42));
        assert_eq!((c.image_name.as_str(), c.image_id.as_str(), c.runtime.as_str()), ("grt-busybox:latest", "sha256:3e06", "docker"));
        assert_eq!(c.k8s_pod, "p");
        let stopped: serde_json::Value = serde_json::from_str(r#"{"Id":"x","State":{"Running":false,"Pid":0}}"#).unwrap();
        assert!(container_from_inspect(&stopped).is_none());
        let img: serde_json::Value = serde_json::from_str(r#"{"RepoDigests":["busybox@sha256:1234"]}"#).unwrap();
        assert_eq!(repo_digest(&img), "sha256:1234");
        assert_eq!(repo_digest(&serde_json::json!({"RepoDigests":[]})), "");
    }
}
