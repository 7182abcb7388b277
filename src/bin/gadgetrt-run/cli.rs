//! Command line of `gadgetrt-run`, compatible with `ig run`.
//!
//! One clap [`Command`] is the single description of the options: it parses, it produces
//! the shell completions, and the help is rendered from it in the layout of `ig run --help`
//! (cobra/pflag: `  -x, --name type   usage (default v)`, flags sorted by name).
//!
//! Gadget params are flags too (`--pid 1`, `--collect-ustack`), before or after GADGET, so the
//! command line is read in two steps: [`guess_gadget`] finds GADGET without knowing the
//! gadget's flags; the gadget is opened; then [`command`] with the gadget's params (typed: a
//! `bool` param takes no value, `--flag=false` sets one) parses the whole line.

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::{Arg, ArgAction, ArgMatches, Command};
use gadgetrt::datasource::Schema;
use gadgetrt::params::{ParamDecl, ParamSide};

/// Prefix of the clap ids of gadget params (runner options use plain ids).
pub const PARAM_ID: &str = "gadget-param:";

/// What the gadget adds to the command line: its params and data sources.
#[derive(Default)]
pub struct GadgetFlags<'a> {
    pub params: &'a [ParamDecl],
    pub datasources: &'a [&'a Schema],
}

/// Names of the runner's own long options (a gadget param with the same name is only
/// settable with `-p`).
fn runner_args() -> Vec<Arg> {
    let opt = |id: &'static str| Arg::new(id).long(id).action(ArgAction::Set);
    let flag = |id: &'static str| Arg::new(id).long(id).action(ArgAction::SetTrue);
    vec![
        Arg::new("gadget").value_name("GADGET").help("The gadget: a .wasm file, a directory (program.wasm, program.bpf.o, gadget.yaml), an OCI image (layout directory or tar), or an image reference (trace_open, registry/repo:tag) from the local store, pulled if missing"),
        opt("param").short('p').value_name("key=value").action(ArgAction::Append)
            .help("Set a gadget param (wasm, eBPF, custom or operator); repeatable. Gadget params are also flags: --key value, --key=value, or --key for bool params"),
        opt("ref").value_name("string").help("Image reference inside an OCI archive holding several images (e.g. trace_open:latest)"),
        opt("timeout").short('t').value_name("seconds").value_parser(parse_timeout)
            .help("Number of seconds that the gadget will run for (fractions allowed), 0 to run indefinitely"),
        opt("max-events").value_name("uint").value_parser(clap::value_parser!(u64)).help("Stop after this many events"),
        opt("output").short('o').value_name("string").value_parser(parse_output)
            .help("Specifies output mode for all (\"mode1\") or per data source (\"datasource:mode1,datasource2:mode2\"): columns, json, jsonpretty, yaml, none"),
        opt("fields").value_name("string").help("Columns to show: f1,f2 | +f | -f, or per data source ds:f1,f2;ds2:f3"),
        opt("filter").short('F').value_name("string").help("Filter rules (field==value, field!=value, field>=value, field~regex, ...; comma-separated, all must match). --filter.<datasource> for one data source"),
        Arg::new("annotate").long("annotate").action(ArgAction::Append).value_name("[]string").help("Add annotations to datasources or fields. Use a comma-separated list in the formats:\n  'datasource:annotation=value' to add an annotation to a datasource.\n  'datasource.field:annotation=value' to add an annotation to the field of a datasource\n"),
        opt("filter-expr").short('E').value_name("string").help("Filter rules with an expression language (https://expr-lang.org/), e.g. 'proc.comm in [\"cat\"] and fd > 0'. --filter-expr.<datasource> for one data source"),
        opt("sort").value_name("string").help("Sort array data sources by these fields: f1,-f2 or ds:f1;ds2:f2"),
        opt("max-entries").value_name("string").help("Cut arrays to this many entries (-1: no limit), or ds:N,ds2:M"),
        opt("datasource").value_name("string").action(ArgAction::Append).help("Print only this data source; repeatable"),
        opt("mntns").value_name("uint64").action(ArgAction::Append).value_parser(clap::value_parser!(u64))
            .help("Keep only events of this mount namespace ID; repeatable"),
        opt("log-level").value_name("string").value_parser(["error", "warn", "info", "debug", "trace"])
            .help("Log level: error, warn, info, debug or trace (default info)"),
        flag("verbose").short('v').help("Print debug information (--log-level debug)"),
        flag("host").help("Show data from both the host and containers"),
        opt("containername").short('c').value_name("string")
            .help("Show data only from containers with these names (comma list, !name excludes; found through the container runtimes)"),
        opt("runtimes").short('r').value_name("string")
            .help("Comma-separated list of container runtimes. Supported values are: docker, containerd, cri-o, podman, none (default \"docker,containerd,cri-o,podman\"; cri-o is not discovered)"),
        opt("docker-socketpath").value_name("string").help("Docker Engine API Unix socket path (default \"/run/docker.sock\")"),
        opt("containerd-socketpath").value_name("string")
            .help("Containerd Unix socket path; its task state is read next to it (default \"/run/containerd/containerd.sock\")"),
        opt("containerd-namespace").value_name("string")
            .help("Containerd namespace to use (default: every namespace except Docker's moby)"),
        opt("podman-socketpath").value_name("string").help("Podman Unix socket path, Docker-compatible API (default \"/run/podman/podman.sock\")"),
        opt("crio-socketpath").value_name("string").help("CRI-O CRI Unix socket path (accepted for ig compatibility; CRI-O is not discovered)"),
        opt("runtime-protocol").value_name("string").value_parser(["internal"])
            .help("Container runtime protocol. Supported values are: internal (default \"internal\")"),
        flag("auto-mount-filesystems").help("Accepted for ig compatibility: gadgetrt mounts tracefs itself when it is missing"),
        opt("symbolizers").value_name("string").help("Symbolizers to use for user stacks (ustack operator)"),
        opt("otel-metrics-print-interval").value_name("duration").help("Interval to use when printing metrics"),
        flag("help-params").help("List the gadget's params and exit"),
        flag("no-cache").help("Do not use the compiled-module cache"),
        opt("pull").value_name("string").value_parser(["always", "missing", "never"])
            .help("Pull policy for an image reference: always, missing or never (default missing)"),
        opt("insecure-registries").value_name("strings")
            .help("Registries (host:port, comma-separated) reached over plain HTTP; loopback registries always are"),
        opt("authfile").value_name("string").help("Docker-style auth file (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)"),
        opt("verify-image").num_args(0..=1).require_equals(true).default_missing_value("true")
            .value_parser(clap::builder::BoolishValueParser::new())
            .help("Verify the signature of an image reference with the public keys (default true; --verify-image=false runs unsigned images)"),
        opt("public-keys").value_name("strings")
            .help("Public keys (PEM text or PEM files, comma-separated) a signature may be made with (default: Inspektor Gadget's key)"),
        flag("help").short('h').help("Help for gadgetrt-run (with GADGET: its params and fields)"),
    ]
}

fn parse_timeout(v: &str) -> Result<f64, String> {
    let s: f64 = v.parse().map_err(|_| "not a number".to_string())?;
    if !(s.is_finite() && s >= 0.0) {
        return Err("must be a non-negative number".into());
    }
    Ok(s)
}

fn parse_output(v: &str) -> Result<String, String> {
    gadgetrt::output::parse_mode_flag(v).map_err(|e| e.to_string())?;
    Ok(v.to_string())
}

/// The command: the runner's options, plus the gadget's params and per-data-source filters.
pub fn command(g: &GadgetFlags) -> Command {
    let mut cmd = Command::new("gadgetrt-run")
        .about("Run a gadget")
        .override_usage("gadgetrt-run GADGET [flags]\n  gadgetrt-run image list|pull|push|sign|rm|tag|import|export\n  gadgetrt-run completion bash|zsh|fish")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args_override_self(true)
        .args(runner_args());
    let taken: Vec<String> = cmd.get_arguments().filter_map(|a| a.get_long().map(str::to_string)).collect();
    let mut shorts: Vec<char> = cmd.get_arguments().filter_map(|a| a.get_short()).collect();
    for ds in g.datasources {
        let id = format!("filter.{}", ds.name);
        cmd = cmd.arg(Arg::new(id.clone()).long(id).value_name("string").action(ArgAction::Set).help(format!("Filter rules for the data source \"{}\"", ds.name)));
        let id = format!("filter-expr.{}", ds.name);
        cmd = cmd.arg(Arg::new(id.clone()).long(id).value_name("string").action(ArgAction::Set).help(format!(
            "Filter rules with an expression language for the datasource \"{}\".\n                 See [https://expr-lang.org/] for more information on the syntax",
            ds.name
        )));
    }
    for p in g.params.iter().filter(|p| p.side != ParamSide::Operator) {
        if taken.contains(&p.key) || p.key.is_empty() || p.key.starts_with('-') {
            continue;
        }
        let mut a = Arg::new(format!("{PARAM_ID}{}", p.key)).long(p.key.clone()).action(ArgAction::Set).help(p.description.clone());
        a = if is_bool(p) {
            a.num_args(0..=1).require_equals(true).default_missing_value("true")
        } else {
            a.value_name(type_name(p))
        };
        let mut alias = p.alias.chars();
        match (alias.next(), alias.next()) {
            (Some(c), None) if !shorts.contains(&c) => {
                shorts.push(c);
                a = a.short(c);
            }
            (Some(_), Some(_)) if !taken.contains(&p.alias) => a = a.alias(p.alias.clone()),
            _ => {}
        }
        cmd = cmd.arg(a);
    }
    cmd
}

fn is_bool(p: &ParamDecl) -> bool {
    p.type_hint == "bool"
}

fn type_name(p: &ParamDecl) -> String {
    if p.type_hint.is_empty() {
        "string".into()
    } else {
        p.type_hint.clone()
    }
}

/// Finds GADGET in `args` (without the program name) before the gadget's own flags are known.
///
/// The runner's options are known (and whether they take a value); an unknown `--flag` is a
/// gadget param, which may or may not take a value. So the first positional argument that
/// does not directly follow an unknown flag is GADGET; if every positional argument follows
/// one (`--paths trace_open.tar`), the first that exists as a file is. The caller parses the
/// whole line again once the gadget's flags are known and checks the guess.
#[cfg(test)]
pub fn guess_gadget(args: &[OsString]) -> Option<String> {
    prescan(args).gadget
}

/// What [`prescan`] finds: GADGET, and the runner's options that are needed before the
/// gadget is opened (log level, cache, `--ref`, help), by id, with their values.
#[derive(Debug, Default)]
pub struct Prescan {
    pub gadget: Option<String>,
    pub options: Vec<(String, Option<String>)>,
}

impl Prescan {
    /// The last value of option `id`.
    pub fn value(&self, id: &str) -> Option<&str> {
        self.options.iter().rev().find(|(i, _)| i == id).and_then(|(_, v)| v.as_deref())
    }

    pub fn has(&self, id: &str) -> bool {
        self.options.iter().any(|(i, _)| i == id)
    }
}

/// Reads `args` with only the runner's own options known (see [`guess_gadget`]).
pub fn prescan(args: &[OsString]) -> Prescan {
    let mut found = Prescan::default();
    let cmd = command(&GadgetFlags::default());
    let takes_value = |a: &Arg| a.get_action().takes_values() && a.get_num_args().is_none_or(|r| r.min_values() > 0);
    let long = |n: &str| cmd.get_arguments().find(|a| a.get_long() == Some(n) || a.get_all_aliases().is_some_and(|v| v.contains(&n)));
    let short = |c: char| cmd.get_arguments().find(|a| a.get_short() == Some(c));
    let mut cands: Vec<(String, bool)> = Vec::new();
    let mut after_unknown = false;
    let mut i = 0;
    while i < args.len() {
        let t = args[i].to_string_lossy().to_string();
        i += 1;
        if t == "--" {
            cands.extend(args[i..].iter().map(|a| (a.to_string_lossy().to_string(), false)));
            break;
        }
        if let Some(name) = t.strip_prefix("--") {
            if let Some((n, v)) = name.split_once('=') {
                if let Some(a) = long(n) {
                    found.options.push((a.get_id().to_string(), Some(v.to_string())));
                }
                after_unknown = false;
                continue;
            }
            match long(name) {
                Some(a) if takes_value(a) => {
                    found.options.push((a.get_id().to_string(), args.get(i).map(|v| v.to_string_lossy().to_string())));
                    i += 1
                }
                Some(a) => found.options.push((a.get_id().to_string(), None)),
                None if name.starts_with("filter.") || name.starts_with("filter-expr.") => i += 1,
                None => {
                    after_unknown = true;
                    continue;
                }
            }
            after_unknown = false;
            continue;
        }
        if t.len() > 1 && t.starts_with('-') {
            let c = t[1..].chars().next().unwrap_or('-');
            match short(c) {
                Some(a) if takes_value(a) && t.len() == 2 => {
                    found.options.push((a.get_id().to_string(), args.get(i).map(|v| v.to_string_lossy().to_string())));
                    i += 1
                }
                Some(a) if takes_value(a) => found.options.push((a.get_id().to_string(), Some(t[2..].to_string()))),
                Some(a) => found.options.push((a.get_id().to_string(), None)),
                None => {
                    after_unknown = true;
                    continue;
                }
            }
            after_unknown = false;
            continue;
        }
        cands.push((t, after_unknown));
        after_unknown = false;
    }
    found.gadget = cands
        .iter()
        .find(|(_, u)| !u)
        .or_else(|| cands.iter().find(|(c, _)| std::path::Path::new(c).exists()))
        .or(cands.first())
        .map(|(c, _)| c.clone());
    found
}

/// `--filter.<ds>` / `--filter-expr.<ds>` of data sources that only exist after the gadget's
/// `gadgetInit`: taken out of `args` (they are operator params) before clap parses the rest.
/// Returns the params in command-line order.
pub fn take_datasource_filters(args: &mut Vec<OsString>, known: &[&Schema]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].to_string_lossy().to_string();
        if t == "--" {
            break;
        }
        let Some(name) = t.strip_prefix("--") else {
            i += 1;
            continue;
        };
        let (key, inline) = match name.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (name.to_string(), None),
        };
        let is_ds_filter = key.starts_with("filter.") || key.starts_with("filter-expr.");
        let known_ds = known.iter().any(|s| format!("filter.{}", s.name) == key || format!("filter-expr.{}", s.name) == key);
        if !is_ds_filter || known_ds {
            i += 1;
            continue;
        }
        args.remove(i);
        let v = match inline {
            Some(v) => v,
            None if i < args.len() => args.remove(i).to_string_lossy().to_string(),
            None => String::new(),
        };
        out.push((key, v));
    }
    out
}

/// The params set on the command line (`-p`, gadget flags, `--filter.<ds>`, `-F`, `--sort`,
/// `--max-entries`, `--host`, operator options), in command-line order.
pub fn params_in_order(m: &ArgMatches, cmd: &Command) -> Result<Vec<(String, String)>, String> {
    let mut v: Vec<(usize, String, String)> = Vec::new();
    let mut push_all = |id: &str, key: &dyn Fn(&str) -> Result<(String, String), String>| -> Result<(), String> {
        if let (Some(vals), Some(idx)) = (m.get_raw(id), m.indices_of(id)) {
            for (val, i) in vals.zip(idx) {
                let (k, val) = key(&val.to_string_lossy())?;
                v.push((i, k, val));
            }
        }
        Ok(())
    };
    push_all("param", &|s| {
        s.split_once('=')
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .ok_or_else(|| format!("--param {s:?}: expected KEY=VALUE"))
    })?;
    for (id, key) in [
        ("filter", "filter"),
        ("filter-expr", "filter-expr"),
        ("annotate", "annotate"),
        ("sort", "sort"),
        ("max-entries", "max-entries"),
        ("containername", "containername"),
        ("symbolizers", "symbolizers"),
        ("otel-metrics-print-interval", "otel-metrics-print-interval"),
    ] {
        push_all(id, &|s| Ok((key.to_string(), s.to_string())))?;
    }
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if let Some(key) = id.strip_prefix(PARAM_ID) {
            push_all(id, &|s| Ok((key.to_string(), s.to_string())))?;
        } else if id.starts_with("filter.") || id.starts_with("filter-expr.") {
            push_all(id, &|s| Ok((id.to_string(), s.to_string())))?;
        }
    }
    if m.get_flag("host") {
        v.push((m.index_of("host").unwrap_or(0), "host".into(), "true".into()));
    }
    v.sort_by_key(|(i, _, _)| *i);
    Ok(v.into_iter().map(|(_, k, val)| (k, val)).collect())
}

// ---------------------------------------------------------------------------------------------
// Help in the layout of `ig run --help` (cobra + pflag).
// ---------------------------------------------------------------------------------------------

/// One flag line of pflag's `FlagUsages`.
struct FlagLine {
    short: Option<char>,
    long: String,
    /// The value's type (`string`, `uint32`, ...); empty for flags without a value.
    ty: String,
    usage: String,
    /// Shown as ` (default v)` (quoted for `string` flags) unless empty or `false`.
    default: String,
}

/// pflag's `FlagUsagesWrapped(0)`: flags sorted by name, usage column aligned after the
/// longest `  -x, --name type`, continuation lines of a multi-line usage indented to it.
fn flag_usages(mut lines: Vec<FlagLine>) -> String {
    lines.sort_by(|a, b| a.long.cmp(&b.long));
    let heads: Vec<String> = lines
        .iter()
        .map(|l| {
            let mut h = match l.short {
                Some(c) => format!("  -{c}, --{}", l.long),
                None => format!("      --{}", l.long),
            };
            if !l.ty.is_empty() {
                h.push(' ');
                h.push_str(&l.ty);
            }
            h
        })
        .collect();
    // pflag counts the separator it appends to every head.
    let maxlen = heads.iter().map(|h| h.len() + 1).max().unwrap_or(0);
    let mut out = String::new();
    for (l, h) in lines.iter().zip(&heads) {
        let mut usage = l.usage.clone();
        if !(l.default.is_empty() || l.default == "false") {
            if l.ty == "string" {
                usage.push_str(&format!(" (default {:?})", l.default));
            } else {
                usage.push_str(&format!(" (default {})", l.default));
            }
        }
        let indent = " ".repeat(maxlen + 2);
        let usage = usage.replace('\n', &format!("\n{indent}"));
        // Go's Fprintln(head, spacing, usage): operands separated by one space.
        out.push_str(&format!("{h} {} {usage}\n", " ".repeat(maxlen - h.len())));
    }
    out
}

fn line_of(a: &Arg) -> Option<FlagLine> {
    let long = a.get_long()?.to_string();
    let ty = if a.get_action().takes_values() && a.get_num_args().map(|n| n.min_values() > 0).unwrap_or(true) {
        a.get_value_names().and_then(|v| v.first()).map(|s| s.to_string()).unwrap_or_else(|| "string".into())
    } else {
        String::new()
    };
    Some(FlagLine { short: a.get_short(), long, ty, usage: a.get_help().map(|h| h.to_string()).unwrap_or_default(), default: String::new() })
}

/// `gadgetrt-run --help` (no gadget) and `gadgetrt-run GADGET --help`: the runner's options,
/// and with a gadget its params (type, default, description), its data sources' fields
/// (under `--fields`, with the default column list), output modes (under `--output`) and
/// per-data-source filters.
pub fn render_help(cmd: &Command, g: Option<&GadgetFlags>) -> String {
    let mut out = String::from("Run a gadget\n\n");
    if g.is_none() {
        out.push_str("Specify the gadget to get more information about it\n\n");
    }
    out.push_str("Usage:\n  gadgetrt-run GADGET [flags]\n  gadgetrt-run image list|pull|push|sign|rm|tag|import|export\n  gadgetrt-run completion bash|zsh|fish\n\nFlags:\n");
    let params: BTreeMap<&str, &ParamDecl> = g.map(|g| g.params.iter().map(|p| (p.key.as_str(), p)).collect()).unwrap_or_default();
    let mut lines = Vec::new();
    for a in cmd.get_arguments() {
        let Some(mut l) = line_of(a) else { continue };
        let id = a.get_id().as_str();
        if let Some(key) = id.strip_prefix(PARAM_ID) {
            if let Some(p) = params.get(key) {
                l.default = p.default_value.clone();
                if !p.possible_values.is_empty() {
                    l.usage.push_str(&format!(" [{}]", p.possible_values.join(", ")));
                }
                if p.alias.chars().count() > 1 {
                    l.usage.push_str(&format!(" (alias: {})", p.alias));
                }
            }
        }
        if let Some(g) = g {
            let dss = g.datasources;
            match id {
                "fields" if !dss.is_empty() => {
                    l.usage = fields_usage(dss);
                    l.default = gadgetrt::output::default_fields_param(dss);
                }
                "output" if !dss.is_empty() => {
                    l.usage = output_usage(dss);
                    l.default = gadgetrt::output::default_output_param(dss);
                }
                "filter" if dss.len() == 1 => l.usage = format!("Synonym for --filter.{}", dss[0].name),
                "filter-expr" if dss.len() == 1 => l.usage = format!("Synonym for --filter-expr.{}", dss[0].name),
                _ => {}
            }
        }
        lines.push(l);
    }
    out.push_str(&flag_usages(lines));
    if let Some(g) = g {
        let undeclared: Vec<&ParamDecl> = g
            .params
            .iter()
            .filter(|p| p.side != ParamSide::Operator && cmd.get_arguments().all(|a| a.get_id().as_str() != format!("{PARAM_ID}{}", p.key)))
            .collect();
        if !undeclared.is_empty() {
            out.push_str("\nGadget params only settable with -p (their names are taken by runner options):\n");
            for p in undeclared {
                out.push_str(&format!("  -p {}=<{}>   {}\n", p.key, type_name(p), p.description));
            }
        }
    }
    out
}

/// IG's `--fields` usage: every data source's fields (sorted, without unreferenced and empty
/// ones) with their `description` and `value.one-of` annotations.
fn fields_usage(dss: &[&Schema]) -> String {
    let mut s = String::from("Available data sources / fields\n");
    for ds in dss {
        s.push_str(&format!("  \"{}\" (data source):\n", ds.name));
        let mut fields: Vec<_> = ds.fields.iter().filter(|f| !f.unreferenced && !f.empty).collect();
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        for f in fields {
            s.push_str(&format!("    {}\n", f.name));
            if let Some(d) = f.annotations.get("description").filter(|d| !d.is_empty()) {
                s.push_str(&format!("      {d}\n"));
            }
            if let Some(o) = f.annotations.get("value.one-of").filter(|d| !d.is_empty()) {
                let v: Vec<&str> = o.split(',').map(str::trim).collect();
                s.push_str(&format!("      One of: {}\n", v.join(", ")));
            }
        }
    }
    s
}

/// IG's `--output` usage: the supported modes of every data source.
fn output_usage(dss: &[&Schema]) -> String {
    let mut s = String::from(
        "Specifies output mode for all (\"mode1\") or per data source (\"datasource:mode1,datasource2:mode2\")\n  Supported data sources / output modes:\n",
    );
    for ds in dss {
        s.push_str(&format!("    \"{}\" (data source):\n", ds.name));
        for m in gadgetrt::output::supported_output_modes(ds) {
            s.push_str(&format!("      {m}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn gadget_is_found_around_unknown_flags() {
        assert_eq!(guess_gadget(&os(&["g.tar", "--pid", "1"])).as_deref(), Some("g.tar"));
        assert_eq!(guess_gadget(&os(&["--pid", "1", "g.tar"])).as_deref(), Some("g.tar"));
        assert_eq!(guess_gadget(&os(&["-o", "json", "-t", "5", "g.tar"])).as_deref(), Some("g.tar"));
        assert_eq!(guess_gadget(&os(&["--fields=a,b", "--filter.open", "x", "g.tar", "-v"])).as_deref(), Some("g.tar"));
        assert_eq!(guess_gadget(&os(&["-p", "a=b", "--", "g.tar"])).as_deref(), Some("g.tar"));
        assert_eq!(guess_gadget(&os(&["--help"])), None);
        // Every positional follows an unknown flag: the first existing path, else the first.
        assert_eq!(guess_gadget(&os(&["--paths", "/", "--pid", "1"])).as_deref(), Some("/"));
        assert_eq!(guess_gadget(&os(&["--x", "nope1", "--y", "nope2"])).as_deref(), Some("nope1"));
    }

    #[test]
    fn pflag_layout() {
        let s = flag_usages(vec![
            FlagLine { short: None, long: "pid".into(), ty: "uint32".into(), usage: "Pid".into(), default: "0".into() },
            FlagLine { short: Some('o'), long: "output".into(), ty: "string".into(), usage: "Mode\n  more".into(), default: "columns".into() },
            FlagLine { short: None, long: "paths".into(), ty: String::new(), usage: "Paths".into(), default: "false".into() },
        ]);
        assert_eq!(
            s,
            "  -o, --output string   Mode\n                          more (default \"columns\")\n      --paths           Paths\n      --pid uint32      Pid (default 0)\n"
        );
    }

    #[test]
    fn datasource_filters_are_taken_out() {
        let mut a = os(&["--filter.x", "a==1", "g", "--filter-expr.y=b", "--filter", "c"]);
        let f = take_datasource_filters(&mut a, &[]);
        assert_eq!(f, vec![("filter.x".to_string(), "a==1".to_string()), ("filter-expr.y".to_string(), "b".to_string())]);
        assert_eq!(a, os(&["g", "--filter", "c"]));
    }
}
