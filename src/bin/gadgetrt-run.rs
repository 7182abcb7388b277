//! `gadgetrt-run`: load a gadget, start it, print its events, stop it.
//!
//! Exit status 0 only if load, start and stop all succeeded.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gadgetrt::datasource::{self, Schema};
use gadgetrt::{Event, Gadget, GadgetSource, LogLevel, Runtime, RuntimeOptions};

const USAGE: &str = "\
usage: gadgetrt-run [OPTIONS] GADGET

Loads GADGET (a .wasm file, a directory with program.wasm / program.bpf.o / gadget.yaml,
or an OCI image layout directory or tar archive), starts it, prints its events to stdout
and its logs to stderr, and stops it on timeout, --max-events or Ctrl-C.

options:
  -p, --param KEY=VALUE   set a gadget param (wasm or eBPF side); repeatable
      --ref REF           image reference inside an OCI archive (e.g. trace_open:latest)
      --timeout SECONDS   stop after SECONDS (fractions allowed)
      --max-events N      stop after N events
  -o, --output FORMAT     json (default; one JSON object per line) or columns
      --datasource NAME   print only this data source; repeatable
      --mntns ID          keep only events of this mount namespace ID; repeatable
      --log-level LEVEL   error, warn, info (default), debug or trace
      --help-params       list the gadget's params and exit
      --no-cache          do not use the compiled-module cache
  -h, --help              show this help
";

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

struct Args {
    params: Vec<(String, String)>,
    reference: Option<String>,
    timeout: Option<Duration>,
    max_events: Option<u64>,
    columns: bool,
    datasources: Vec<String>,
    mntns: Vec<u64>,
    log_level: LogLevel,
    help_params: bool,
    no_cache: bool,
    gadget: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        params: Vec::new(),
        reference: None,
        timeout: None,
        max_events: None,
        columns: false,
        datasources: Vec::new(),
        mntns: Vec::new(),
        log_level: LogLevel::Info,
        help_params: false,
        no_cache: false,
        gadget: PathBuf::new(),
    };
    let mut gadget = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "-p" | "--param" => {
                let v = value("--param")?;
                let (k, val) = v.split_once('=').ok_or_else(|| format!("--param {v:?}: expected KEY=VALUE"))?;
                a.params.push((k.to_string(), val.to_string()));
            }
            "--ref" => a.reference = Some(value("--ref")?),
            "--timeout" => {
                let v = value("--timeout")?;
                let s: f64 = v.parse().map_err(|_| format!("--timeout {v:?}: not a number"))?;
                if !(s.is_finite() && s >= 0.0) {
                    return Err(format!("--timeout {v:?}: must be a non-negative number"));
                }
                a.timeout = Some(Duration::from_secs_f64(s));
            }
            "--max-events" => {
                let v = value("--max-events")?;
                a.max_events = Some(v.parse().map_err(|_| format!("--max-events {v:?}: not a whole number"))?);
            }
            "-o" | "--output" => match value("--output")?.as_str() {
                "json" => a.columns = false,
                "columns" => a.columns = true,
                other => return Err(format!("--output {other:?}: expected json or columns")),
            },
            "--datasource" => a.datasources.push(value("--datasource")?),
            "--mntns" => {
                let v = value("--mntns")?;
                a.mntns.push(v.parse().map_err(|_| format!("--mntns {v:?}: not a mount namespace ID"))?);
            }
            "--log-level" => {
                let v = value("--log-level")?;
                a.log_level = LogLevel::parse(&v).ok_or_else(|| format!("--log-level {v:?}: expected error, warn, info, debug or trace"))?;
            }
            "--help-params" => a.help_params = true,
            "--no-cache" => a.no_cache = true,
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s:?} (see --help)")),
            _ => {
                if gadget.is_some() {
                    return Err(format!("unexpected argument {arg:?}: only one GADGET"));
                }
                gadget = Some(PathBuf::from(arg));
            }
        }
    }
    a.gadget = gadget.ok_or("missing GADGET (see --help)")?;
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gadgetrt-run: error: {e}");
            std::process::exit(2);
        }
    };
    match run(args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("gadgetrt-run: error: {e}");
            std::process::exit(1);
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let stderr_lock = Arc::new(Mutex::new(()));
    let lk = stderr_lock.clone();
    let opts = RuntimeOptions {
        log_level: args.log_level,
        log: Some(Arc::new(move |level: LogLevel, gadget: &str, msg: &str| {
            let _g = lk.lock();
            if gadget.is_empty() {
                eprintln!("{}: {msg}", level.name());
            } else {
                eprintln!("{}: {gadget}: {msg}", level.name());
            }
        })),
        disable_cache: args.no_cache,
        ..Default::default()
    };
    let rt = Runtime::new(opts).map_err(|e| e.to_string())?;
    let src = GadgetSource::from_path(&args.gadget, args.reference.as_deref()).map_err(|e| format!("loading {}: {e}", args.gadget.display()))?;
    let gadget = Gadget::open(&rt, src).map_err(|e| format!("loading {}: {e}", args.gadget.display()))?;

    if args.help_params {
        let params = gadget.params();
        if params.is_empty() {
            println!("{} declares no params", gadget.name());
        }
        for p in params {
            println!(
                "{:<24} {:<5} {:<8} default={:?}{}{}",
                p.key,
                p.side.name(),
                if p.type_hint.is_empty() { "string" } else { &p.type_hint },
                p.default_value,
                if p.mandatory { " (mandatory)" } else { "" },
                if p.description.is_empty() { String::new() } else { format!("  {}", p.description) },
            );
        }
        return Ok(());
    }

    for (k, v) in &args.params {
        gadget.set_param(k, v).map_err(|e| e.to_string())?;
    }
    if !args.mntns.is_empty() {
        gadget.set_mntns_filter(Some(&args.mntns));
    }
    gadget.init().map_err(|e| format!("loading {}: {e}", args.gadget.display()))?;

    // Subscribe after every wasm subscriber (priority far above the usual 0..50000).
    let printed = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(std::io::BufWriter::new(std::io::stdout())));
    let dss = gadget.datasources();
    for want in &args.datasources {
        if !dss.iter().any(|s| &s.name == want) {
            let names: Vec<&str> = dss.iter().map(|s| s.name.as_str()).collect();
            return Err(format!("data source {want:?} not found (available: {})", names.join(", ")));
        }
    }
    for schema in dss.iter().filter(|s| args.datasources.is_empty() || args.datasources.contains(&s.name)) {
        let (out, printed) = (out.clone(), printed.clone());
        let columns = args.columns;
        let header_done = AtomicBool::new(false);
        let multi = dss.len() > 1;
        let max = args.max_events;
        gadget
            .subscribe(
                &schema.name,
                1_000_000,
                Box::new(move |ev: &Event| {
                    if max.map(|m| printed.load(Ordering::Relaxed) >= m).unwrap_or(false) {
                        return -1;
                    }
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    if columns {
                        if !header_done.swap(true, Ordering::Relaxed) {
                            let _ = writeln!(o, "{}", column_header(&ev.schema, multi));
                        }
                        for i in 0..ev.len() {
                            let _ = writeln!(o, "{}", column_row(ev, i, multi));
                        }
                    } else {
                        let _ = writeln!(o, "{}", ev.to_json());
                    }
                    printed.fetch_add(1, Ordering::Relaxed);
                    0
                }),
            )
            .map_err(|e| e.to_string())?;
    }

    // SAFETY: installing a signal handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    gadget.start().map_err(|e| format!("starting {}: {e}", gadget.name()))?;
    let started = Instant::now();
    let done = |printed: u64| {
        INTERRUPTED.load(Ordering::SeqCst)
            || args.max_events.map(|m| printed >= m).unwrap_or(false)
            || args.timeout.map(|t| started.elapsed() >= t).unwrap_or(false)
    };
    while !done(printed.load(Ordering::Relaxed)) {
        let wait = match args.timeout {
            Some(t) => t.saturating_sub(started.elapsed()).min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        };
        gadget.poll(Some(wait)).map_err(|e| format!("polling: {e}"))?;
        let _ = out.lock().unwrap_or_else(|e| e.into_inner()).flush();
    }
    let stop = gadget.stop();
    // Deliver what is still queued, unless the event limit is reached.
    if args.max_events.map(|m| printed.load(Ordering::Relaxed) < m).unwrap_or(true) {
        let _ = gadget.consume();
    }
    let _ = out.lock().unwrap_or_else(|e| e.into_inner()).flush();
    let st = gadget.stats();
    if st.dropped_queue_full > 0 || st.lost_samples > 0 || st.guest_traps > 0 {
        eprintln!(
            "gadgetrt-run: {} events delivered, {} dropped (queue full), {} lost (kernel), {} guest traps",
            st.delivered, st.dropped_queue_full, st.lost_samples, st.guest_traps
        );
    }
    stop.map_err(|e| format!("stopping {}: {e}", gadget.name()))
}

fn visible(s: &Schema) -> Vec<usize> {
    (0..s.fields.len())
        .filter(|&i| !s.fields[i].hidden && !datasource::FieldDef::has_children(s, i))
        .collect()
}

fn width(f: &datasource::FieldDef) -> usize {
    f.annotations.get("columns.width").and_then(|w| w.parse().ok()).unwrap_or(16).clamp(4, 64)
}

fn column_header(s: &Schema, multi: bool) -> String {
    let mut line = if multi { format!("{:<16} ", "DATASOURCE") } else { String::new() };
    for i in visible(s) {
        let f = &s.fields[i];
        line.push_str(&format!("{:<w$} ", f.name.to_uppercase(), w = width(f)));
    }
    line.trim_end().to_string()
}

/// A field value as a column cell: numbers, text, bytes in hex, arrays as `[a,b,c]`.
fn value_text(v: datasource::Value<'_>) -> String {
    match v {
        datasource::Value::Bool(b) => b.to_string(),
        datasource::Value::Int(v) => v.to_string(),
        datasource::Value::Uint(v) => v.to_string(),
        datasource::Value::Float(v) => format!("{v}"),
        datasource::Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
        datasource::Value::Bytes(b) => hex(b),
        datasource::Value::Array(elem, b) => {
            let items: Vec<String> = datasource::array_values(elem, b).map(value_text).collect();
            format!("[{}]", items.join(","))
        }
        datasource::Value::Missing => String::new(),
    }
}

fn column_row(ev: &Event, elem: usize, multi: bool) -> String {
    let s = &ev.schema;
    let mut line = if multi { format!("{:<16} ", s.name) } else { String::new() };
    let Some(rec) = ev.record(elem) else { return line };
    for i in visible(s) {
        let f = &s.fields[i];
        let v = value_text(datasource::read_value(rec, f));
        let w = width(f);
        let v: String = if v.chars().count() > w { v.chars().take(w - 1).chain(std::iter::once('…')).collect() } else { v };
        line.push_str(&format!("{v:<w$} "));
    }
    line.trim_end().to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
