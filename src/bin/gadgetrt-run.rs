//! `gadgetrt-run`: load a gadget, start it, print its events like `ig run`, stop it.
//!
//! The command line is `ig run`'s (see `cli.rs`): `gadgetrt-run [flags] GADGET [flags]`, with
//! the gadget's params as flags anywhere, `GADGET --help` for its params and fields, and
//! `gadgetrt-run completion bash|zsh|fish`. Exit status 0 only if load, start and stop all
//! succeeded; 2 for command-line errors.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gadgetrt::output::columns::ColumnsPlan;
use gadgetrt::output::OutputMode;
use gadgetrt::{Event, Gadget, GadgetSource, LogLevel, Runtime, RuntimeOptions};

#[path = "gadgetrt-run/cli.rs"]
mod cli;
#[path = "gadgetrt-run/image.rs"]
mod image;

/// The parsed command line.
struct Args {
    params: Vec<(String, String)>,
    timeout: Option<Duration>,
    max_events: Option<u64>,
    output: Option<String>,
    fields: Option<String>,
    datasources: Vec<String>,
    mntns: Vec<u64>,
    gadget: PathBuf,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set by SIGTERM: the runner exits without finishing a background compile (a service
/// manager's stop must be prompt; Ctrl-C waits for it, and a second Ctrl-C skips it).
static TERMINATED: AtomicBool = AtomicBool::new(false);
/// Set once a signal- or timeout-requested stop has spent PRINT_GRACE printing what was
/// still queued: the print callback then refuses further events (they stay unprinted).
static PRINT_CUTOFF: AtomicBool = AtomicBool::new(false);
/// Set by the watchdog when a stop is requested (signal or --timeout): the print callback
/// then ends the running poll at once (a poll may hold a full queue), until the stop's own
/// bounded printing starts (DRAINING).
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);
static DRAINING: AtomicBool = AtomicBool::new(false);
/// How long the runner prints events still queued after the gadget stopped (signal or
/// --timeout), so that SIGTERM ends it promptly even with a full queue.
const PRINT_GRACE: Duration = Duration::from_millis(300);

/// SIGINT/SIGTERM: the first asks for a clean stop, a second one exits at once.
extern "C" fn on_signal(sig: libc::c_int) {
    if sig == libc::SIGTERM {
        TERMINATED.store(true, Ordering::SeqCst);
    }
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
fn watchdog(intr: gadgetrt::Interrupter, phase: Arc<std::sync::atomic::AtomicU8>, deadline: Arc<Mutex<Option<Instant>>>) {
    let requested = loop {
        if phase.load(Ordering::SeqCst) == PHASE_DONE {
            return;
        }
        let d = *deadline.lock().unwrap_or_else(|e| e.into_inner());
        if INTERRUPTED.load(Ordering::SeqCst) || d.is_some_and(|d| Instant::now() >= d) {
            STOP_REQUESTED.store(true, Ordering::SeqCst);
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

/// Why the runner exits early: a usage error (exit 2, clap's message) or a failure (exit 1).
enum Fail {
    Usage(clap::Error),
    Run(String),
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail::Run(s)
    }
}

fn main() {
    let mut argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    // `ig run GADGET ...` command lines work unchanged: `gadgetrt-run run GADGET ...`.
    if argv.first().is_some_and(|a| a == "run") && argv.len() > 1 {
        argv.remove(0);
    }
    if argv.first().is_some_and(|a| a == "completion") {
        std::process::exit(completion(&argv[1..]));
    }
    if argv.first().is_some_and(|a| a == "image") {
        std::process::exit(image::main(&argv[1..]));
    }
    match main_args(argv) {
        Ok(()) => {}
        Err(Fail::Usage(e)) => {
            let _ = e.print();
            std::process::exit(e.exit_code());
        }
        Err(Fail::Run(e)) => {
            eprintln!("gadgetrt-run: error: {e}");
            std::process::exit(1);
        }
    }
}

/// `gadgetrt-run completion bash|zsh|fish`: the shell completion script on stdout.
fn completion(args: &[OsString]) -> i32 {
    let m = clap::Command::new("completion")
        .bin_name("gadgetrt-run completion")
        .about("Generate the autocompletion script for gadgetrt-run for the specified shell")
        .arg(clap::Arg::new("shell").required(true).value_parser(clap::value_parser!(clap_complete::Shell)))
        .try_get_matches_from(std::iter::once(OsString::from("completion")).chain(args.iter().cloned()));
    let m = match m {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let shell = *m.get_one::<clap_complete::Shell>("shell").expect("required");
    let mut cmd = cli::command(&cli::GadgetFlags::default())
        .subcommand(clap::Command::new("completion").about("Generate the autocompletion script for the specified shell"));
    clap_complete::generate(shell, &mut cmd, "gadgetrt-run", &mut std::io::stdout());
    0
}

/// The log level asked for: `--log-level`, else debug with `-v`, else info.
fn log_level(pre: &cli::Prescan) -> LogLevel {
    match pre.value("log-level").and_then(LogLevel::parse) {
        Some(l) => l,
        None if pre.has("verbose") => LogLevel::Debug,
        None => LogLevel::Info,
    }
}

fn main_args(argv: Vec<OsString>) -> Result<(), Fail> {
    let pre = cli::prescan(&argv);
    let help = pre.has("help");
    let Some(guess) = pre.gadget.clone() else {
        // No gadget: the runner's own help, or clap's error for the command line.
        let mut cmd = cli::command(&cli::GadgetFlags::default());
        let m = cmd.clone().try_get_matches_from(std::iter::once(OsString::from("gadgetrt-run")).chain(argv.iter().cloned())).map_err(Fail::Usage)?;
        if m.get_flag("help") || argv.is_empty() {
            print!("{}", cli::render_help(&cmd, None));
            return Ok(());
        }
        return Err(Fail::Usage(cmd.error(clap::error::ErrorKind::MissingRequiredArgument, "missing GADGET (see --help)")));
    };

    gadgetrt::containers::configure(discovery_config(&pre)?);
    let stderr_lock = Arc::new(Mutex::new(()));
    let lk = stderr_lock.clone();
    let opts = RuntimeOptions {
        log_level: log_level(&pre),
        log: Some(Arc::new(move |level: LogLevel, gadget: &str, msg: &str| {
            let _g = lk.lock();
            if gadget.is_empty() {
                eprintln!("{}: {msg}", level.name());
            } else {
                eprintln!("{}: {gadget}: {msg}", level.name());
            }
        })),
        disable_cache: pre.has("no-cache"),
        ..Default::default()
    };
    let rt = Runtime::new(opts).map_err(|e| e.to_string())?;
    let reference = pre.value("ref").map(str::to_string);

    // Open the guessed gadget, parse the whole line with its params; if clap sees another
    // GADGET (a bool param took no value after all), open that one and parse again.
    let mut path = guess;
    for attempt in 0..2 {
        let gpath = PathBuf::from(&path);
        let pull: gadgetrt::image::PullPolicy = pre.value("pull").unwrap_or("missing").parse().map_err(Fail::Run)?;
        let src = GadgetSource::from_path_or_reference(&path, reference.as_deref(), pull, &registry_options(&pre).map_err(Fail::Run)?)
            .map_err(|e| format!("loading {path}: {e}"))?;
        let gadget = Gadget::open(&rt, src).map_err(|e| format!("loading {path}: {e}"))?;
        let params = gadget.params();
        let dss_open = gadget.datasources();
        let dss_ref: Vec<&gadgetrt::datasource::Schema> = dss_open.iter().map(|s| &**s).collect();
        let mut rest = argv.clone();
        let late_filters = cli::take_datasource_filters(&mut rest, &dss_ref);
        let flags = cli::GadgetFlags { params: &params, datasources: &dss_ref };
        let cmd = cli::command(&flags);
        let m = cmd.clone().try_get_matches_from(std::iter::once(OsString::from("gadgetrt-run")).chain(rest)).map_err(Fail::Usage)?;
        let parsed = m.get_one::<String>("gadget").cloned().unwrap_or_default();
        if parsed != path {
            if attempt == 0 && !parsed.is_empty() {
                path = parsed;
                continue;
            }
            return Err(Fail::Run(format!("cannot tell which argument is GADGET ({path:?} or {parsed:?}); put GADGET first")));
        }
        let mut args = Args {
            params: cli::params_in_order(&m, &cmd)?,
            timeout: m.get_one::<f64>("timeout").copied().filter(|s| *s > 0.0).map(Duration::from_secs_f64),
            max_events: m.get_one::<u64>("max-events").copied(),
            output: m.get_one::<String>("output").cloned(),
            fields: m.get_one::<String>("fields").cloned(),
            datasources: m.get_many::<String>("datasource").map(|v| v.cloned().collect()).unwrap_or_default(),
            mntns: m.get_many::<u64>("mntns").map(|v| v.copied().collect()).unwrap_or_default(),
            gadget: gpath,
        };
        args.params.extend(late_filters);
        if help || m.get_flag("help-params") {
            return show_help(&gadget, &args, m.get_flag("help-params")).map_err(Fail::Run);
        }
        let r = run(gadget, args, log_level(&pre));
        // A first run starts on the baseline (Winch) code while Cranelift compiles the
        // optimised module in the background: let it reach the cache so the next start is
        // warm (a second Ctrl-C still exits at once).
        // After SIGTERM it does not wait: the next start compiles again.
        if rt.background_compiles_pending() && !TERMINATED.load(Ordering::SeqCst) {
            let t0 = Instant::now();
            while rt.background_compiles_pending() && t0.elapsed() < Duration::from_secs(1) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if rt.background_compiles_pending() && !TERMINATED.load(Ordering::SeqCst) {
                eprintln!("gadgetrt-run: finishing the optimised compile for the module cache (Ctrl-C again to skip)");
                while rt.background_compiles_pending() && !TERMINATED.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        return r.map_err(Fail::Run);
    }
    unreachable!("the loop returns on its second attempt")
}

/// Container discovery from ig's `--runtimes` and `--<runtime>-socketpath` flags (paths
/// under `$HOST_ROOT`, as ig).
fn discovery_config(pre: &cli::Prescan) -> Result<gadgetrt::containers::DiscoveryConfig, Fail> {
    let runtimes = match pre.value("runtimes") {
        Some(v) => Some(gadgetrt::containers::parse_runtimes(v).map_err(|e| Fail::Run(format!("--runtimes: {e}")))?),
        None => None,
    };
    let root = gadgetrt::containers::host_root();
    let path = |k: &str| pre.value(k).filter(|v| !v.is_empty()).map(|v| PathBuf::from(format!("{root}{v}")));
    Ok(gadgetrt::containers::DiscoveryConfig {
        runtimes,
        docker_socket: path("docker-socketpath"),
        containerd_socket: path("containerd-socketpath"),
        containerd_namespace: pre.value("containerd-namespace").filter(|v| !v.is_empty()).map(str::to_string),
        podman_socket: path("podman-socketpath"),
    })
}

/// Registry options from `--insecure-registries`, `--authfile`, `--verify-image` and
/// `--public-keys`.
fn registry_options(pre: &cli::Prescan) -> Result<gadgetrt::image::RegistryOptions, String> {
    let verify = match pre.value("verify-image") {
        None => true,
        Some(v) => matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on" | "t" | "y"),
    };
    let mut keys = Vec::new();
    if let Some(v) = pre.value("public-keys") {
        for k in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if k.contains("-----BEGIN") {
                keys.push(k.to_string());
            } else {
                keys.push(std::fs::read_to_string(k).map_err(|e| format!("--public-keys: cannot read {k}: {e}"))?);
            }
        }
    }
    let public_keys = if keys.is_empty() { vec![gadgetrt::image::IG_PUBLIC_KEY.to_string()] } else { keys };
    Ok(gadgetrt::image::RegistryOptions {
        verify: gadgetrt::image::VerifyOptions { verify, public_keys },
        insecure_registries: pre
            .value("insecure-registries")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
        auth_file: pre.value("authfile").map(PathBuf::from),
        credentials: None,
    })
}

/// Sets a param; a `-p` key with `_` that is not declared is tried with `-` (IG's names).
fn set_param(gadget: &Gadget, k: &str, v: &str) -> Result<(), String> {
    match gadget.set_param(k, v) {
        Err(e) if e.code == gadgetrt::ErrorCode::Param && k.contains('_') => {
            let dashed = k.replace('_', "-");
            if gadget.params().iter().any(|p| p.key == dashed) {
                gadget.set_param(&dashed, v).map_err(|e| e.to_string())
            } else {
                Err(e.to_string())
            }
        }
        r => r.map_err(|e| e.to_string()),
    }
}

/// `GADGET --help` (params and fields, like `ig run GADGET --help`) and `--help-params`.
fn show_help(gadget: &Gadget, args: &Args, params_only: bool) -> Result<(), String> {
    let params = gadget.params();
    if params_only {
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
    // Data sources and fields exist after gadgetInit (IG instantiates the gadget for its help
    // too); param values from the command line apply, as they would for a run.
    for (k, v) in &args.params {
        set_param(gadget, k, v)?;
    }
    if let Err(e) = gadget.init() {
        eprintln!("warn: gadget init failed ({e}); listing the data sources known without it");
    }
    let dss = gadget.datasources();
    let dss_ref: Vec<&gadgetrt::datasource::Schema> = dss.iter().map(|s| &**s).collect();
    let flags = cli::GadgetFlags { params: &params, datasources: &dss_ref };
    print!("{}", cli::render_help(&cli::command(&flags), Some(&flags)));
    Ok(())
}

fn run(gadget: Gadget, args: Args, level: LogLevel) -> Result<(), String> {
    let debug = level >= LogLevel::Debug;
    for (k, v) in &args.params {
        if debug {
            eprintln!("debug: gadgetrt-run: param {k:?} = {v:?}");
        }
        set_param(&gadget, k, v)?;
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
    if debug {
        let names: Vec<&str> = dss.iter().map(|s| s.name.as_str()).collect();
        eprintln!("debug: gadgetrt-run: gadget {:?} initialized; data sources: {}", gadget.name(), names.join(", "));
    }
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
                    // ig: `failed to set fields: column "x" is invalid; skipping data source "ds"`.
                    eprintln!("warn: {e}; skipping data source {}", gadgetrt::operators::values::go_quote(&schema.name));
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
                    if PRINT_CUTOFF.load(Ordering::Relaxed)
                        || (STOP_REQUESTED.load(Ordering::Relaxed) && !DRAINING.load(Ordering::Relaxed))
                    {
                        return -1;
                    }
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
    // --timeout counts from the moment the gadget runs, as in ig (its timer starts after the
    // gadget started); a start held longer than the timeout is interrupted all the same.
    let started = Instant::now();
    let phase = Arc::new(std::sync::atomic::AtomicU8::new(PHASE_STARTING));
    let deadline = Arc::new(Mutex::new(args.timeout.map(|t| started + t)));
    {
        let (intr, phase, deadline) = (gadget.interrupter(), phase.clone(), deadline.clone());
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
    let running = Instant::now();
    *deadline.lock().unwrap_or_else(|e| e.into_inner()) = args.timeout.map(|t| running + t);
    let started = running;
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
    // Deliver what is still queued, unless the event limit is reached; after a signal or
    // the timeout only for PRINT_GRACE.
    if args.max_events.map(|m| printed.load(Ordering::Relaxed) < m).unwrap_or(true) {
        let bounded = INTERRUPTED.load(Ordering::SeqCst) || args.timeout.is_some_and(|t| started.elapsed() >= t);
        let finished = Arc::new(AtomicBool::new(false));
        if bounded {
            let finished = finished.clone();
            let _ = std::thread::Builder::new().name("print-grace".into()).spawn(move || {
                let until = Instant::now() + PRINT_GRACE;
                while !finished.load(Ordering::Relaxed) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(5));
                }
                PRINT_CUTOFF.store(true, Ordering::Relaxed);
            });
        }
        DRAINING.store(true, Ordering::SeqCst);
        let _ = gadget.consume();
        finished.store(true, Ordering::Relaxed);
        let left = gadget.stats().queued;
        if left > 0 && PRINT_CUTOFF.load(Ordering::Relaxed) {
            eprintln!("gadgetrt-run: {left} queued events not printed (stopping)");
        }
    }
    let _ = out.lock().unwrap_or_else(|e| e.into_inner()).flush();
    let st = gadget.stats();
    if debug || st.dropped_queue_full > 0 || st.lost_samples > 0 || st.guest_traps > 0 || st.dropped_nested > 0 {
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
