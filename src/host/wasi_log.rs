//! WASI stdout/stderr of a guest, routed line by line to the gadget log at debug level (D10).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::events::{LogLevel, Logger};

/// Longest line kept before it is flushed without a newline.
const MAX_LINE: usize = 4096;

/// A WASI output stream that writes complete lines to the gadget logger.
#[derive(Clone)]
pub struct LogStream {
    inner: Arc<Mutex<LineBuf>>,
}

struct LineBuf {
    logger: Arc<Logger>,
    gadget: Arc<str>,
    stream: &'static str,
    buf: Vec<u8>,
}

impl LogStream {
    pub fn new(logger: Arc<Logger>, gadget: Arc<str>, stream: &'static str) -> LogStream {
        LogStream { inner: Arc::new(Mutex::new(LineBuf { logger, gadget, stream, buf: Vec::new() })) }
    }
}

impl LineBuf {
    fn write(&mut self, data: &[u8]) {
        if !self.logger.enabled(LogLevel::Debug) {
            return;
        }
        self.buf.extend_from_slice(data);
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            self.emit(&line[..line.len() - 1]);
        }
        if self.buf.len() > MAX_LINE {
            let line = std::mem::take(&mut self.buf);
            self.emit(&line);
        }
    }
    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        self.logger.log(LogLevel::Debug, &self.gadget, &format!("{}: {}", self.stream, text.trim_end_matches('\r')));
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(tokio::io::sink())
    }
}

#[async_trait::async_trait]
impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).write(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}
