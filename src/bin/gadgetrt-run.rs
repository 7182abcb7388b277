//! `gadgetrt-run`: load a gadget, start it, print its events, stop it.
//!
//! Exit status 0 only if load, start and stop all succeeded.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gadgetrt::output::columns::ColumnsPlan;
use gadgetrt::output::OutputMode;
use gadgetrt::{Event, Gadget, GadgetSource, LogLevel, Runtime, RuntimeOptions};

const USAGE: &str = "\
usage: gadgetrt-run [OPTIONS] GADGET [--PARAM VALUE]...

Loads GADGET (a .wasm file, a directory with program.wasm / program.bpf.o / gadget.yaml,
or an OCI image layout directory or tar archive), starts it, prints its events to stdout
like `ig run` does and its logs to stderr, and stops it on timeout, --max-events or Ctrl-C.
Arguments after GADGET of the form --KEY VALUE or --KEY=VALUE set gadget params.

options:
  -p, --param KEY=VALUE   set a gadget param (wasm, eBPF, custom or operator); repeatable
      --ref REF           image reference inside an OCI archive (e.g. trace_open:latest)
  -t, --timeout SECONDS   stop after SECONDS (fractions allowed; 0: run until interrupted)
      --max-events N      stop after N events
  -o, --output MODE       columns (default), json, jsonpretty, yaml, none, or per data source
                          as DS:MODE,DS2:MODE
      --fields LIST       columns to show: f1,f2 | +f | -f, or DS:f1,f2;DS2:...
  -F, --filter RULES      keep events matching field==value,field~regex,... (all must match)
      --sort FIELDS       sort array data sources: f1,-f2 or DS:f1;DS2:f2
      --max-entries N     cut arrays to N entries (-1: no limit) or DS:N,DS2:M
      --datasource NAME   print only this data source; repeatable
      --mntns ID          keep only events of this mount namespace ID; repeatable
      --log-level LEVEL   error, warn, info (default), debug or trace
      --help-params       list the gadget's params and exit
      --no-cache          do not use the compiled-module cache
  -h, --help              show this help
";

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// SIGINT/SIGTERM: the first asks for a clean stop, a second one exits at once.
extern "C" fn on_signal(sig: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
}

/// What the main thread is doing, for the watchdog.
const PHASE_STARTING: u8 = 0;
const PHASE_RUNNING: u8 = 1;
const PHASE_STOPPING: u8 = 2;
const PHASE_DONE: u8 = 3;

/// How long a clean stop may take after Ctrl-C / SIGTERM / --timeout before the runner
/// interrupts `gadgetStop`, and before it exits regardless.
const STOP_GRACE: Duration = Duration::from_secs(2);
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Makes the runner exit promptly whatever the guest does: once a stop is requested (signal
/// or --timeout), a held start is interrupted at once, a running guest is interrupted after
/// 300 ms, a slow `gadgetStop` after STOP_GRACE, and the process exits after EXIT_GRACE
/// (the kernel detaches the eBPF programs when the process's descriptors close).
fn watchdog(intr: gadgetrt::Interrupter, phase: Arc<std::sync::atomic::AtomicU8>, deadline: Option<Instant>) {
    let requested = loop {
        if phase.load(Ordering::SeqCst) == PHASE_DONE {
            return;
        }
        if INTERRUPTED.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            break Instant::now();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut last: Option<Instant> = None;
    loop {
        let p = phase.load(Ordering::SeqCst);
        if p == PHASE_DONE {
            return;
        }
        let el = requested.elapsed();
        let due = match p {
            PHASE_STARTING => true,
            PHASE_RUNNING => el >= Duration::from_millis(300),
            _ => el >= STOP_GRACE,
        };
        if due && last.map(|l| l.elapsed() >= Duration::from_millis(250)).unwrap_or(true) {
            intr.interrupt();
            last = Some(Instant::now());
        }
        if el >= EXIT_GRACE {
            eprintln!("gadgetrt-run: the gadget did not stop within {EXIT_GRACE:?}; exiting");
            let _ = std::io::stdout().flush();
            // SAFETY: ends the process without running destructors that could block on the gadget.
            unsafe { libc::_exit(1) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Args {
    params: Vec<(String, String)>,
    reference: Option<String>,
    timeout: Option<Duration>,
    max_events: Option<u64>,
    output: Option<String>,
    fields: Option<String>,
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
        output: None,
        fields: None,
        datasources: Vec::new(),
        mntns: Vec::new(),
        log_level: LogLevel::Info,
        help_params: false,
        no_cache: false,
        gadget: PathBuf::new(),
    };
    let mut gadget = None;
    let mut it = std::env::args().skip(1).peekable();
    while let Some(arg) = it.next() {
        if gadget.is_some() && arg.starts_with("--") && arg.len() > 2 {
            // A gadget param given as a flag after GADGET (`--pid 1`, `--collect-ustack`).
            if let Some((k, v)) = arg[2..].split_once('=') {
                a.params.push((k.to_string(), v.to_string()));
                continue;
            }
            if !is_runner_flag(&arg) {
                let v = match it.peek() {
                    Some(n) if !n.starts_with("--") => it.next().unwrap_or_default(),
                    _ => "true".to_string(),
                };
                a.params.push((arg[2..].to_string(), v));
                continue;
            }
        }
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
            "-t" | "--timeout" => {
                let v = value("--timeout")?;
                let s: f64 = v.parse().map_err(|_| format!("--timeout {v:?}: not a number"))?;
                if !(s.is_finite() && s >= 0.0) {
                    return Err(format!("--timeout {v:?}: must be a non-negative number"));
                }
                a.timeout = (s > 0.0).then(|| Duration::from_secs_f64(s));
            }
            "--max-events" => {
                let v = value("--max-events")?;
                a.max_events = Some(v.parse().map_err(|_| format!("--max-events {v:?}: not a whole number"))?);
            }
            "-o" | "--output" => {
                let v = value("--output")?;
                gadgetrt::output::parse_mode_flag(&v).map_err(|e| format!("--output {v:?}: {e}"))?;
                a.output = Some(v);
            }
            "--fields" => a.fields = Some(value("--fields")?),
            "-F" | "--filter" => a.params.push(("filter".into(), value("--filter")?)),
            "--sort" => a.params.push(("sort".into(), value("--sort")?)),
            "--max-entries" => a.params.push(("max-entries".into(), value("--max-entries")?)),
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

/// Whether `flag` is one of the runner's own long options (anything else after GADGET is a
/// gadget param).
fn is_runner_flag(flag: &str) -> bool {
    let f = flag.split('=').next().unwrap_or(flag);
    matches!(
        f,
        "--param" | "--ref" | "--timeout" | "--max-events" | "--output" | "--fields" | "--filter" | "--sort"
            | "--max-entries" | "--datasource" | "--mntns" | "--log-level" | "--help-params" | "--no-cache" | "--help"
    ) || f.starts_with("--filter.")
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

    // Print like IG's `cli` operator: subscribe at its priority (after filter, sort and
    // limiter), one output mode per data source.
    let printed = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(std::io::BufWriter::new(std::io::stdout())));
    let dss = gadget.datasources();
    for want in &args.datasources {
        if !dss.iter().any(|s| &s.name == want) {
            let names: Vec<&str> = dss.iter().map(|s| s.name.as_str()).collect();
            return Err(format!("data source {want:?} not found (available: {})", names.join(", ")));
        }
    }
    // SAFETY: isatty on a valid fd number.
    let tty = unsafe { libc::isatty(1) } == 1;
    let term_width = tty.then(terminal_width).flatten();
    let modes = gadgetrt::output::parse_mode_flag(args.output.as_deref().unwrap_or("")).map_err(|e| e.to_string())?;
    let mut headers: Vec<String> = Vec::new();
    for schema in dss.iter().filter(|s| args.datasources.is_empty() || args.datasources.contains(&s.name)) {
        let mode = match gadgetrt::output::mode_for(schema, &modes) {
            gadgetrt::output::ModeChoice::Mode(m) => m,
            gadgetrt::output::ModeChoice::Unsupported(m) => {
                eprintln!("warn: output mode {m:?} for data source {:?} is not supported; skipping data source", schema.name);
                continue;
            }
        };
        if mode == OutputMode::None {
            continue;
        }
        let fields = args.fields.as_deref().and_then(|f| gadgetrt::output::fields_for(f, &schema.name)).map(str::to_string);
        let clear = gadgetrt::output::clear_screen_before(schema);
        let mut plan = None;
        if mode == OutputMode::Columns {
            let p = match &args.fields {
                Some(f) if fields.is_none() && !f.is_empty() => ColumnsPlan::new_unlisted(schema),
                _ => ColumnsPlan::new(schema, fields.as_deref()),
            };
            match p {
                Ok(mut p) => {
                    p.set_width(term_width);
                    let mut h = String::new();
                    if clear && schema.is_array() {
                        h.push_str(gadgetrt::output::clear_screen());
                    }
                    if clear || !schema.is_array() {
                        p.header(&mut h);
                        h.push('\n');
                        headers.push(h);
                    }
                    plan = Some(p);
                }
                Err(e) => {
                    eprintln!("warn: failed to set fields: {e}");
                    continue;
                }
            }
        }
        let (out, printed) = (out.clone(), printed.clone());
        let max = args.max_events;
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut text = String::new();
        gadget
            .subscribe(
                &schema.name,
                10_000,
                Box::new(move |ev: &Event| {
                    if max.map(|m| printed.load(Ordering::Relaxed) >= m).unwrap_or(false) {
                        return -1;
                    }
                    buf.clear();
                    match (&mode, &plan) {
                        (OutputMode::Columns, Some(p)) => {
                            text.clear();
                            if ev.is_array() {
                                if clear && tty {
                                    text.push_str(gadgetrt::output::clear_screen());
                                }
                                p.header(&mut text);
                                text.push('\n');
                            }
                            p.rows(&ev.schema, &ev.data, &mut text);
                            buf.extend_from_slice(text.as_bytes());
                        }
                        (OutputMode::Other(_), _) => {
                            if clear && tty {
                                buf.extend_from_slice(gadgetrt::output::clear_screen().as_bytes());
                            }
                            let _ = ev.write_format(&mode, None, &mut buf);
                        }
                        _ => {
                            if let Err(e) = ev.write_format(&mode, None, &mut buf) {
                                eprintln!("warn: error processing event: emitting data: {}", e.message);
                            }
                        }
                    }
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = o.write_all(&buf);
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
    // --timeout counts from here (start included), so a held start cannot outlive it.
    let started = Instant::now();
    let phase = Arc::new(std::sync::atomic::AtomicU8::new(PHASE_STARTING));
    {
        let (intr, phase, deadline) = (gadget.interrupter(), phase.clone(), args.timeout.map(|t| started + t));
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || watchdog(intr, phase, deadline))
            .map_err(|e| format!("starting the watchdog: {e}"))?;
    }
    struct Done(Arc<std::sync::atomic::AtomicU8>);
    impl Drop for Done {
        fn drop(&mut self) {
            self.0.store(PHASE_DONE, Ordering::SeqCst);
        }
    }
    let _done = Done(phase.clone());
    if let Err(e) = gadget.start() {
        if INTERRUPTED.load(Ordering::SeqCst) || args.timeout.is_some_and(|t| started.elapsed() >= t) {
            return Err(format!("starting {}: interrupted: {e}", gadget.name()));
        }
        return Err(format!("starting {}: {e}", gadget.name()));
    }
    phase.store(PHASE_RUNNING, Ordering::SeqCst);
    {
        // IG prints single data sources' headers (and clear-screen ones') at PreStart.
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        for h in &headers {
            let _ = o.write_all(h.as_bytes());
        }
        let _ = o.flush();
    }
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
    phase.store(PHASE_STOPPING, Ordering::SeqCst);
    let stop = gadget.stop();
    // Deliver what is still queued, unless the event limit is reached.
    if args.max_events.map(|m| printed.load(Ordering::Relaxed) < m).unwrap_or(true) {
        let _ = gadget.consume();
    }
    let _ = out.lock().unwrap_or_else(|e| e.into_inner()).flush();
    let st = gadget.stats();
    if st.dropped_queue_full > 0 || st.lost_samples > 0 || st.guest_traps > 0 || st.dropped_nested > 0 {
        eprintln!(
            "gadgetrt-run: {} events delivered, {} dropped (queue full), {} dropped (nested emits), {} lost (kernel), {} guest traps",
            st.delivered, st.dropped_queue_full, st.dropped_nested, st.lost_samples, st.guest_traps
        );
    }
    stop.map_err(|e| format!("stopping {}: {e}", gadget.name()))
}

/// The terminal's width in columns (of stdin, like IG).
fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills a winsize struct we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}
