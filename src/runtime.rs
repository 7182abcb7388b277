//! A runtime: one wasmtime `Engine` (with an epoch ticker for guest deadlines), the `ig` +
//! WASI linker shared by all its gadgets, and runtime-wide options.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, Linker, Module};

use crate::error::{Error, ErrorCode, Result};
use crate::events::{LogFn, LogLevel, Logger};
use crate::host::{self, HostState};

/// How often the engine's epoch advances; the granularity of guest deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Runtime-wide options.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// Linear-memory cap per gadget, in 64 KiB pages (default 256 = 16 MiB).
    pub memory_pages: u32,
    /// Directory of the compiled-module cache; `None` uses the default location.
    pub cache_dir: Option<PathBuf>,
    /// Disables the compiled-module cache.
    pub disable_cache: bool,
    /// Most verbose level passed to the log sink.
    pub log_level: LogLevel,
    /// Where gadget and runtime logs go (`None`: discarded).
    pub log: Option<Arc<LogFn>>,
    /// Capacity of each gadget's embedder event queue.
    pub queue_capacity: usize,
    /// Deadline of each guest call (init, start, callbacks).
    pub call_timeout: Duration,
    /// Deadline of `gadgetStop` (the reference host uses 42 s).
    pub stop_timeout: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            memory_pages: 256,
            cache_dir: None,
            disable_cache: false,
            log_level: LogLevel::Info,
            log: None,
            queue_capacity: 65536,
            call_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(42),
        }
    }
}

pub(crate) struct RuntimeInner {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    pub opts: RuntimeOptions,
    pub logger: Arc<Logger>,
    pub cache: Option<crate::image::cache::ModuleCache>,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// A gadget runtime. Cheap to clone; thread-safe.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

impl Runtime {
    pub fn new(opts: RuntimeOptions) -> Result<Runtime> {
        if opts.memory_pages == 0 || opts.memory_pages > 65536 {
            return Err(Error::new(ErrorCode::InvalidArgument, "memory_pages must be between 1 and 65536"));
        }
        let mut cfg = Config::new();
        cfg.epoch_interruption(true);
        cfg.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&cfg).map_err(|e| Error::new(ErrorCode::Internal, format!("wasmtime engine: {e:#}")))?;
        let mut linker = Linker::new(&engine);
        host::add_to_linker(&mut linker)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("registering host imports: {e:#}")))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("gadgetrt-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| Error::new(ErrorCode::Io, format!("starting the epoch thread: {e}")))?;
        }
        let logger = Arc::new(Logger::new(opts.log_level, opts.log.clone()));
        let cache = if opts.disable_cache {
            None
        } else {
            let dir = opts.cache_dir.clone().unwrap_or_else(crate::image::cache::ModuleCache::default_dir);
            Some(crate::image::cache::ModuleCache::new(dir))
        };
        Ok(Runtime { inner: Arc::new(RuntimeInner { engine, linker, opts, logger, cache, ticker_stop }) })
    }

    pub fn options(&self) -> &RuntimeOptions {
        &self.inner.opts
    }

    pub fn logger(&self) -> &Arc<Logger> {
        &self.inner.logger
    }

    /// Compiles a wasm program, through the compiled-module cache when enabled.
    /// Returns the module and whether it came from the cache.
    pub fn compile(&self, wasm: &[u8]) -> Result<(Module, bool)> {
        let engine = &self.inner.engine;
        let key = self.inner.cache.as_ref().map(|_| cache_key(engine, wasm));
        if let (Some(cache), Some(key)) = (&self.inner.cache, &key) {
            if let Some(bytes) = cache.get(key) {
                // SAFETY: the entry was written by `Module::serialize` of an engine with the same
                // compatibility hash (part of the key), and its checksum was verified by `get`.
                match unsafe { Module::deserialize(engine, &bytes) } {
                    Ok(m) => return Ok((m, true)),
                    Err(e) => self.inner.logger.log(
                        LogLevel::Warn,
                        "",
                        &format!("compiled-module cache entry {key} rejected ({e}); recompiling"),
                    ),
                }
            }
        }
        let module = Module::new(engine, wasm)
            .map_err(|e| Error::new(ErrorCode::WasmLoad, format!("compiling the wasm program: {e:#}")))?;
        if let (Some(cache), Some(key)) = (&self.inner.cache, &key) {
            match module.serialize() {
                Ok(bytes) => {
                    if let Err(e) = cache.put(key, &bytes) {
                        self.inner.logger.log(LogLevel::Debug, "", &format!("compiled-module cache not written: {e}"));
                    }
                }
                Err(e) => self.inner.logger.log(LogLevel::Debug, "", &format!("module not serializable: {e}")),
            }
        }
        Ok((module, false))
    }
}

/// sha256(program) + the engine's compatibility hash (wasmtime version, settings, target).
fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let mut s = Sha256::new();
    s.update(wasm);
    s.update(h.finish().to_le_bytes());
    s.update(env!("CARGO_PKG_VERSION").as_bytes());
    hex::encode(s.finalize())
}
