//! `gadgetrt-run`'s command line is `ig run`'s: gadget params as typed flags before or after
//! GADGET (bool params without a value), `-p key=value`, `-v`, `GADGET --help` listing params
//! and fields the way ig v0.55.0 does (tests/fixtures/ig/*/help.stdout), the runner's own
//! `--help`, shell completions, and clap's errors (exit 2) for unknown flags.
//!
//! The wasm cases use the Go `params` guest (its gadgetStart fails unless param-key is
//! "param-value", so a successful run proves the value arrived); the eBPF cases need root.

mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{go_gadget, repo};
use ebpf_common::{bpf_obj, require_root};

fn runner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
}

fn run(args: &[&str]) -> Output {
    runner().args(args).output().expect("spawning gadgetrt-run")
}

/// A fresh gadget directory `runner_cli/<name>` holding the test eBPF object `obj` as
/// `program.bpf.o`.
fn bpf_gadget_dir(name: &str, obj: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runner_cli").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(bpf_obj(obj), dir.join("program.bpf.o")).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A directory gadget: the Go params guest with typed params in gadget.yaml.
fn params_gadget() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(make_params_gadget).clone()
}

fn make_params_gadget() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runner_cli").join("params");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(go_gadget("params"), dir.join("program.wasm")).unwrap();
    std::fs::write(
        dir.join("gadget.yaml"),
        "name: params\ndescription: typed params\nparams:\n  wasm:\n    param-key:\n      key: param-key\n      description: must be param-value\n      isMandatory: true\n      alias: k\n    flag-one:\n      key: flag-one\n      description: a bool\n      defaultValue: \"false\"\n      typeHint: bool\n    count:\n      key: count\n      description: a number\n      defaultValue: \"7\"\n      typeHint: uint32\n    level:\n      key: level\n      description: one of two\n      defaultValue: low\n      possibleValues: [low, high]\n",
    )
    .unwrap();
    dir
}

/// The `debug: gadgetrt-run: param "k" = "v"` lines of a `-v` run, as (k, v).
fn params_set(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("debug: gadgetrt-run: param "))
        .map(|l| {
            let (k, v) = l.split_once(" = ").unwrap();
            (k.trim_matches('"').to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn params_are_flags_before_and_after_the_gadget() {
    let g = params_gadget();
    let g = g.to_str().unwrap();
    // bool flag without a value right before GADGET, valued flags after it, both forms.
    let o = run(&["-v", "--flag-one", g, "--count", "3", "--level=high", "--param-key", "param-value", "-t", "0.2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        params_set(&text(&o.stderr)),
        pairs(&[("flag-one", "true"), ("count", "3"), ("level", "high"), ("param-key", "param-value")])
    );
    // Before GADGET with values; `-p`; a one-letter alias is a short flag; --flag=false.
    let o = run(&["--verbose", "--count", "4", "--flag-one=false", "-k", "param-value", "-p", "level=low", g, "--timeout", "0.2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut got = params_set(&text(&o.stderr));
    got.sort();
    assert_eq!(got, pairs(&[("count", "4"), ("flag-one", "false"), ("level", "low"), ("param-key", "param-value")]));
    // The value reaches the guest: any other param-key makes its gadgetStart fail.
    let o = run(&[g, "--param-key", "other", "-t", "0.2"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("gadgetrt-run: error: starting"), "{}", text(&o.stderr));
    // Without -v nothing is logged about params.
    let o = run(&[g, "--param-key", "param-value", "-t", "0.1"]);
    assert!(o.status.success() && params_set(&text(&o.stderr)).is_empty(), "{}", text(&o.stderr));
    // `ig run` command lines: a leading `run` is ig's subcommand.
    let o = run(&["run", "-v", "--host", "--auto-mount-filesystems", g, "--count", "5", "--param-key", "param-value", "-t", "0.2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut got = params_set(&text(&o.stderr));
    got.sort();
    assert_eq!(got, pairs(&[("count", "5"), ("host", "true"), ("param-key", "param-value")]));
}

#[test]
fn bad_flags_and_values_are_usage_errors() {
    let g = params_gadget();
    let g = g.to_str().unwrap();
    let o = run(&[g, "--nope", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unexpected argument '--nope'"), "{}", text(&o.stderr));
    // A valued param without its value.
    let o = run(&[g, "--count"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // A value that is not the param's type or not one of its possible values: refused before start.
    for bad in [["--count", "abc"], ["--level", "mid"]] {
        let o = run(&[g, bad[0], bad[1], "--param-key", "param-value", "-t", "0.1"]);
        assert_eq!(o.status.code(), Some(1), "{bad:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(&format!("param \"{}\"", &bad[0][2..])), "{}", text(&o.stderr));
    }
    // Runner options keep their checks.
    for bad in [&["-t", "-1"][..], &["--output", "a:json,yaml"], &["--max-events", "x"], &["--log-level", "loud"]] {
        let o = runner().args(bad).arg(g).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o.stderr));
    }
    let o = run(&["-o", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("missing GADGET"), "{}", text(&o.stderr));
    let o = run(&["/nonexistent/gadget.tar"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/nonexistent/gadget.tar"), "{}", text(&o.stderr));
}

#[test]
fn help_without_a_gadget_lists_the_runner_options() {
    for args in [&["--help"][..], &["-h"], &[]] {
        let o = run(args);
        assert!(o.status.success(), "{args:?}");
        let h = text(&o.stdout);
        assert!(h.starts_with("Run a gadget\n\nSpecify the gadget to get more information about it\n\nUsage:\n  gadgetrt-run GADGET [flags]\n"), "{h}");
        for flag in [
            "  -p, --param key=value ",
            "      --ref string ",
            "  -t, --timeout seconds ",
            "      --max-events uint ",
            "  -o, --output string ",
            "      --fields string ",
            "  -F, --filter string ",
            "      --sort string ",
            "      --max-entries string ",
            "      --datasource string ",
            "      --mntns uint64 ",
            "      --log-level string ",
            "  -v, --verbose ",
            "      --help-params ",
            "      --no-cache ",
            "  -h, --help ",
        ] {
            assert!(h.lines().any(|l| l.starts_with(flag)), "{flag:?} missing:\n{h}");
        }
        // pflag's layout: every usage starts in one column (heads have no double spaces).
        let cols: Vec<usize> = h
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
            .map(|l| {
                let head_end = l.trim_start().find("  ").unwrap() + (l.len() - l.trim_start().len());
                head_end + l[head_end..].len() - l[head_end..].trim_start().len()
            })
            .collect();
        assert!(cols.windows(2).all(|w| w[0] == w[1]), "{cols:?}\n{h}");
    }
}

#[test]
fn gadget_help_lists_typed_params_with_defaults() {
    let g = params_gadget();
    let o = runner().arg(&g).arg("--help").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let h = text(&o.stdout);
    let norm = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = h.lines().map(norm).collect();
    for want in [
        "--count uint32 a number (default 7)",
        "--flag-one a bool",
        "-k, --param-key string must be param-value",
        "--level string one of two [low, high] (default \"low\")",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want:?} missing:\n{h}");
    }
    // --help before GADGET, and --help-params (the short listing) still works.
    let o = runner().arg("--help").arg(&g).output().unwrap();
    assert_eq!(text(&o.stdout), h);
    let o = runner().arg("--help-params").arg(&g).output().unwrap();
    assert!(o.status.success() && text(&o.stdout).contains("(mandatory)"));
}

#[test]
fn completions_for_bash_zsh_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completion", shell]);
        assert!(o.status.success(), "{shell}: {}", text(&o.stderr));
        let s = text(&o.stdout);
        assert!(s.contains("max-events") && s.contains("gadgetrt-run"), "{shell}:\n{s}");
    }
    let o = run(&["completion", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    if Command::new("bash").arg("--version").output().is_ok() {
        // The bash script is valid bash and registers a completion for gadgetrt-run.
        let o = runner().args(["completion", "bash"]).output().unwrap();
        let script = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runner_cli").join("completion.bash");
        std::fs::create_dir_all(script.parent().unwrap()).unwrap();
        std::fs::write(&script, &o.stdout).unwrap();
        let st = Command::new("bash").arg("-c").arg(format!("source {} && complete -p gadgetrt-run", script.display())).output().unwrap();
        assert!(st.status.success(), "{}", text(&st.stderr));
    }
}

/// A normalised flag line of an `ig run --help` text (`--name type usage (default x)`).
fn flag_line(help: &str, flag: &str) -> Option<String> {
    help.lines()
        .find(|l| {
            let t = l.trim_start();
            t.starts_with(&format!("{flag} ")) || t == flag || l.contains(&format!(", {flag} "))
        })
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The usage block of one flag (its line and the continuation lines), whitespace-trimmed,
/// without the flag's own column.
fn flag_block(help: &str, flag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in help.lines() {
        let t = l.trim_start();
        if t.starts_with("-") {
            inside = t.starts_with(&format!("{flag} ")) || t.contains(&format!(", {flag} "));
            if inside {
                out.push(t.split_once("  ").map(|(_, u)| u.trim().to_string()).unwrap_or_default());
            }
            continue;
        }
        if inside {
            out.push(t.trim_end().to_string());
        }
    }
    out
}

/// eBPF params (`GADGET_PARAM`, user-stack params) are flags with IG's names, types,
/// descriptions and defaults, exactly as `ig run trace_open --help` lists them.
#[test]
fn ebpf_params_match_ig_help() {
    require_root();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runner_cli").join("ustack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(bpf_obj("ustack"), dir.join("program.bpf.o")).unwrap();
    let ig = std::fs::read_to_string(repo().join("tests/fixtures/ig/trace_open/help.stdout")).unwrap();
    let o = runner().arg(&dir).arg("--help").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ours = text(&o.stdout);
    for flag in ["--pid", "--collect-ustack", "--collect-build-id"] {
        let want = flag_line(&ig, flag).unwrap();
        assert_eq!(flag_line(&ours, flag).as_deref(), Some(want.as_str()), "{flag}:\n{ours}");
    }
    // A bool param right before GADGET takes no value; the run starts and stops cleanly.
    let o = runner().args(["-v", "--collect-ustack"]).arg(&dir).args(["--pid", "1", "-t", "0.3"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(params_set(&text(&o.stderr)), pairs(&[("collect-ustack", "true"), ("pid", "1")]));
}

/// `fmtprobe --help`: the `--fields` list (fields, descriptions, `One of:` values, default
/// columns), the `--output` modes and the per-data-source filter are ig's, line for line.
#[test]
fn fields_and_output_help_match_ig() {
    require_root();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runner_cli").join("fmtprobe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(bpf_obj("fmtprobe"), dir.join("program.bpf.o")).unwrap();
    std::fs::copy(repo().join("tests/gadgets/fmtprobe/gadget.yaml"), dir.join("gadget.yaml")).unwrap();
    let ig = std::fs::read_to_string(repo().join("tests/fixtures/ig/fmtprobe/help.stdout")).unwrap();
    let o = runner().arg(&dir).arg("--help").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ours = text(&o.stdout);
    for flag in ["--fields", "--output"] {
        let (a, b) = (flag_block(&ours, flag), flag_block(&ig, flag));
        assert!(a.len() > 3, "{flag}: {a:?}");
        assert_eq!(a, b, "{flag} differs from ig");
    }
    assert_eq!(flag_line(&ours, "--filter"), flag_line(&ig, "--filter"));
    assert!(flag_line(&ours, "--filter.fmtprobe").is_some(), "{ours}");
}

/// Under an event flood (tests/bpf/flood.bpf.o + the Go trace_open_enrich program, fed by a
/// `dd bs=1` child: millions of records a second, ring buffer and queues overflowing), the
/// runner exits within 2 s of SIGTERM, and says what it lost.
#[test]
fn runner_exits_within_2s_of_sigterm_under_an_event_flood() {
    require_root();
    use std::io::Read;
    use std::time::{Duration, Instant};
    let dir = bpf_gadget_dir("flood", "flood");
    std::fs::copy(go_gadget("trace_open_enrich"), dir.join("program.wasm")).unwrap();
    let mut dd = Command::new("dd")
        .args(["if=/dev/zero", "of=/dev/null", "bs=1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Reap<'a>(&'a mut std::process::Child);
    impl Drop for Reap<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = dd.id().to_string();
    let _dd = Reap(&mut dd);
    let mut took = Vec::new();
    // A module cache of its own, empty: each run starts on the baseline code with the
    // optimised compile pending in the background, which SIGTERM must not wait for.
    let cache = dir.join("cache");
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&cache);
        let mut child = runner()
            .env("GADGETRT_CACHE_DIR", &cache)
            .arg(&dir)
            .args(["--pid", &pid, "-o", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0usize;
            let mut told = false;
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n;
                if total > (4 << 20) && !told {
                    let _ = tx.send(());
                    told = true;
                }
            }
            total
        });
        let mut errp = child.stderr.take().unwrap();
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = errp.read_to_string(&mut s);
            s
        });
        // Flooding for real: 4 MiB of events printed, then one more second so that the
        // kernel buffer and the queues have overflowed (a fast reader can keep up with the
        // first few MiB).
        let flooding = rx.recv_timeout(Duration::from_secs(60)).is_ok();
        std::thread::sleep(Duration::from_secs(1));
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let t = Instant::now();
        let st = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if t.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        took.push(t.elapsed());
        let printed = reader.join().unwrap();
        let stderr = err_reader.join().unwrap();
        assert!(flooding, "no flood seen ({printed} bytes printed)\n{stderr}");
        let st = st.unwrap_or_else(|| panic!("the runner did not exit within 20 s of SIGTERM\n{stderr}"));
        assert!(st.success(), "{st:?}\n{stderr}");
        assert!(stderr.contains("lost (kernel)"), "no loss report:\n{stderr}");
    }
    took.sort();
    eprintln!("runner exit after SIGTERM under flood: min {:?} median {:?} max {:?}", took[0], took[1], took[2]);
    assert!(took[2] < Duration::from_secs(2), "{took:?}");
}

/// tcx links running IG's dispatcher (`ig_net_disp`) on the machine.
fn tcx_dispatchers() -> usize {
    let j = |cmd: &str| -> serde_json::Value {
        let o = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
        serde_json::from_slice(&o.stdout).unwrap_or_default()
    };
    let (links, progs) = (j("bpftool -j link show"), j("bpftool -j prog show"));
    let disp: Vec<u64> =
        progs.as_array().into_iter().flatten().filter(|p| p["name"] == "ig_net_disp").filter_map(|p| p["id"].as_u64()).collect();
    links
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["type"] == 11 || l["type"] == "tcx")
        .filter(|l| l["prog_id"].as_u64().is_some_and(|id| disp.contains(&id)))
        .count()
}

/// A tc classifier attached with `--iface` leaves nothing behind when the runner is killed
/// (SIGKILL: no cleanup code runs): on kernels with tcx the hook is a BPF link that dies with
/// the process. Runs in a network namespace of the test's own.
#[test]
fn tc_classifier_leaves_nothing_after_the_runner_is_killed() {
    require_root();
    use std::time::{Duration, Instant};
    let dir = bpf_gadget_dir("tc_count", "tc_count");
    let ns = format!("grt-kill-{}", std::process::id());
    let ok = |c: &mut Command| c.status().unwrap().success();
    assert!(ok(Command::new("ip").args(["netns", "add", &ns])));
    struct DelNs(String);
    impl Drop for DelNs {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _del = DelNs(ns.clone());
    assert!(ok(Command::new("ip").args(["netns", "exec", &ns, "ip", "link", "set", "lo", "up"])));
    let base = tcx_dispatchers();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(env!("CARGO_BIN_EXE_gadgetrt-run"))
        .arg(&dir)
        .args(["--iface", "lo", "-o", "none"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let legacy = loop {
        if tcx_dispatchers() > base {
            break false;
        }
        let tc = Command::new("ip").args(["netns", "exec", &ns, "tc", "filter", "show", "dev", "lo", "ingress"]).output().unwrap();
        if String::from_utf8_lossy(&tc.stdout).contains("ig_tc_count") {
            break true;
        }
        if t.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the classifier never got attached:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(tcx_dispatchers(), base, "a tcx link outlived the killed runner");
    assert!(!legacy, "this kernel has no tcx: IG's cls_bpf filter stays after a kill (documented)");
}

/// Packet-filter functions are `--pf` / `--pf-<name>` flags (IG's params); a bad expression
/// fails the run with libpcap's message and the param's name.
#[test]
fn packet_filter_params_are_flags_and_bad_expressions_fail_clearly() {
    require_root();
    let dir = bpf_gadget_dir("tc_pf", "tc_pf");
    let d = dir.to_str().unwrap();
    let out = run(&[d, "--help"]);
    let help = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(help.contains("--pf string") && help.contains("--pf-second string") && help.contains("packet filter second"), "{help}");
    let out = run(&[d, "--iface", "lo", "--pf-second", "udp port banana", "-o", "none", "--timeout", "1"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("pf-second") && err.contains("banana"), "{err}");
}
