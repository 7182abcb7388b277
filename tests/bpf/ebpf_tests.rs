// Tests of the eBPF object side (`gadgetrt::ebpf::{btf, object, loader}`)
// against the objects built from tests/bpf/*.bpf.c by tests/bpf/build.sh
// (needs clang-19, llvm-strip-19, bpftool, libbpf-dev; loading tests need
// root and a kernel with BTF, ring buffers, tracepoints, uprobes and
// iterators). Wire it in Cargo.toml with
//     [[test]]
//     name = "ebpf_objects"
//     path = "tests/bpf/ebpf_tests.rs"

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use gadgetrt::ebpf::btf::Btf;
use gadgetrt::ebpf::loader::{self, LoadOptions};
use gadgetrt::ebpf::object::{self, kind, ProgramKind, TracerMapType};

static BUILD: OnceLock<String> = OnceLock::new();
// Loading/attaching tests run one at a time (they observe global events).
static SERIAL: Mutex<()> = Mutex::new(());

fn objdir() -> &'static str {
    BUILD.get_or_init(|| {
        let out = concat!(env!("CARGO_TARGET_TMPDIR"), "/bpf");
        // GADGETRT_BPF_BUILD overrides the script's location (out-of-tree runs).
        let script = std::env::var("GADGETRT_BPF_BUILD")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bpf/build.sh").to_string());
        let st = std::process::Command::new("bash")
            .arg(&script)
            .arg(out)
            .status()
            .expect("running build.sh");
        assert!(st.success(), "build.sh failed");
        out.to_string()
    })
}

fn obj(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}.bpf.o", objdir())).unwrap()
}

fn field<'a>(fs: &'a [object::FieldSpec], name: &str) -> &'a object::FieldSpec {
    fs.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("field {name} missing: {:?}", fs.iter().map(|f| &f.name).collect::<Vec<_>>()))
}

#[test]
fn btf_parses_all_objects() {
    for n in ["trace_open", "maps", "perf", "iter_task", "prog_array", "raw_tp", "tp_btf", "kprobe", "unknown_sec", "uprobe"] {
        let elf = obj(n);
        use ::object::{Object, ObjectSection};
        let f = ::object::File::parse(&*elf).unwrap();
        let s = f.section_by_name(".BTF").unwrap();
        let btf = Btf::parse(s.data().unwrap()).unwrap();
        assert!(btf.len() > 5, "{n}");
        // re-serialisation round-trips
        let again = Btf::parse(&btf.to_bytes()).unwrap();
        assert_eq!(again.len(), btf.len());
    }
    // parse the kernel's BTF too (all kinds)
    let k = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
    let kb = Btf::parse(&k).unwrap();
    let ts = kb.find_struct("task_struct").unwrap();
    assert!(kb.size_of(ts).unwrap() > 1000);
}

#[test]
fn analyze_trace_open() {
    let o = object::analyze(&obj("trace_open")).unwrap();
    assert_eq!(o.tracers.len(), 1);
    let t = &o.tracers[0];
    assert_eq!((t.name.as_str(), t.map_name.as_str(), t.struct_name.as_str()), ("open", "events", "event"));
    assert_eq!(t.map_type, TracerMapType::RingBuf);
    assert_eq!(t.struct_size, 352);
    let fs = &t.fields;
    for f in fs {
        eprintln!("{:<16} kind={:<2} off={:<3} size={:<3} parent={:?} tags={:?} ann={:?}", f.name, f.kind, f.offset, f.size, f.parent, f.tags, f.annotations);
    }
    let names: Vec<&str> = fs.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "timestamp_raw", "proc", "proc.comm", "proc.pid", "proc.tid", "proc.mntns_id", "u8v", "s8v", "u16v", "s16v",
            "u32v", "s32v", "u64v", "s64v", "flag", "kind", "fname", "ports", "deltas"
        ]
    );
    let chk = |n: &str, k: u32, off: u32, size: u32| {
        let f = field(fs, n);
        assert_eq!((f.kind, f.offset, f.size), (k, off, size), "{n}");
    };
    chk("timestamp_raw", kind::UINT64, 0, 8);
    chk("proc", kind::BYTES, 8, 32);
    chk("proc.comm", kind::CSTRING, 8, 16);
    chk("proc.pid", kind::UINT32, 24, 4);
    chk("proc.tid", kind::UINT32, 28, 4);
    chk("proc.mntns_id", kind::UINT64, 32, 8);
    chk("u8v", kind::UINT8, 40, 1);
    chk("s8v", kind::INT8, 41, 1);
    chk("u16v", kind::UINT16, 42, 2);
    chk("s16v", kind::INT16, 44, 2);
    chk("u32v", kind::UINT32, 48, 4);
    chk("s32v", kind::INT32, 52, 4);
    chk("u64v", kind::UINT64, 56, 8);
    chk("s64v", kind::INT64, 64, 8);
    chk("flag", kind::BOOL, 72, 1);
    chk("kind", kind::UINT32, 76, 4);
    chk("fname", kind::CSTRING, 80, 256);
    // Non-char arrays are IG's ArrayOf(element kind).
    chk("ports", kind::ARRAY_OF | kind::UINT16, 336, 6);
    chk("deltas", kind::ARRAY_OF | kind::INT32, 344, 8);
    let proc_idx = names.iter().position(|n| *n == "proc").unwrap();
    assert_eq!(field(fs, "proc.comm").parent, Some(proc_idx));
    assert_eq!(field(fs, "fname").parent, None);
    assert_eq!(field(fs, "proc.comm").tags, ["type:gadget_comm", "type:char", "name:comm", "src:ebpf"]);
    assert_eq!(field(fs, "proc.pid").tags, ["type:gadget_pid", "type:__u32", "type:unsigned int", "name:pid", "src:ebpf"]);
    assert_eq!(field(fs, "u32v").tags, ["type:__u32", "type:unsigned int", "name:u32v", "src:ebpf"]);
    assert_eq!(field(fs, "proc").tags, ["type:proc", "name:proc", "src:ebpf"]);
    assert_eq!(field(fs, "flag").tags, ["type:bool", "type:_Bool", "name:flag", "src:ebpf"]);
    assert_eq!(field(fs, "kind").tags, ["type:open_kind", "name:kind", "src:ebpf"]);
    assert!(field(fs, "proc.pid").annotations.contains(&("description".into(), "Process ID".into())));
    assert!(field(fs, "proc.comm").annotations.contains(&("columns.maxwidth".into(), "16".into())));
    assert!(field(fs, "timestamp_raw").annotations.contains(&("columns.hidden".into(), "true".into())));
    assert_eq!(t.enums.len(), 1);
    assert_eq!(t.enums[0].field, "kind");
    assert_eq!(t.enums[0].values, [("OPEN_KIND_PLAIN".to_string(), 0), ("OPEN_KIND_AT".to_string(), 1)]);

    // params
    let p = o.param("targ_pid").unwrap();
    assert_eq!((p.key.as_str(), p.type_hint.as_str(), p.size, p.default_value.as_str()), ("pid", "uint32", 4, "0"));
    assert!(!p.description.is_empty());
    let p = o.param("targ_flag").unwrap();
    assert_eq!((p.key.as_str(), p.type_hint.as_str(), p.size, p.default_value.as_str()), ("targ_flag", "bool", 1, "true"));
    let p = o.param("some_value").unwrap();
    assert_eq!((p.type_hint.as_str(), p.size, p.default_value.as_str()), ("int64", 8, "-5"));

    assert!(o.has_filter_by_mntns);
    assert!(o.has_mntns_filter_map);
    assert_eq!(o.programs.len(), 1);
    let pr = &o.programs[0];
    assert_eq!(pr.name, "ig_open_e");
    assert_eq!(pr.section, "tracepoint/syscalls/sys_enter_openat");
    assert_eq!(pr.kind, ProgramKind::TracePoint);
    assert_eq!(pr.attach_target, "syscalls/sys_enter_openat");
    let m = o.map("events_lost_samples").unwrap();
    assert_eq!((m.map_type, m.key_size, m.value_size, m.max_entries), (object::map_type::PERCPU_ARRAY, 4, 8, 1));
}

#[test]
fn analyze_other_objects() {
    let o = object::analyze(&obj("iter_task")).unwrap();
    assert_eq!(o.iterators.len(), 1);
    let it = &o.iterators[0];
    assert_eq!((it.name.as_str(), it.struct_name.as_str(), it.struct_size), ("tasks", "task_entry", 24));
    assert_eq!(it.programs, ["ig_iter_task"]);
    assert_eq!(it.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["pid", "tgid", "comm"]);
    assert_eq!(o.programs[0].kind, ProgramKind::Iter);
    assert_eq!(o.programs[0].attach_target, "task");

    let o = object::analyze(&obj("perf")).unwrap();
    assert_eq!(o.tracers[0].map_type, TracerMapType::PerfEventArray);
    assert_eq!(o.tracers[0].struct_size, 256);
    let un = field(&o.tracers[0].fields, "unused");
    assert_eq!((un.kind, un.offset, un.size), (kind::ARRAY_OF | kind::UINT8, 12, 244), "__u8 array: ArrayOf(uint8)");

    let o = object::analyze(&obj("prog_array")).unwrap();
    assert_eq!(o.max_entries.len(), 1);
    assert_eq!((o.max_entries[0].map.as_str(), o.max_entries[0].value), ("sized_map", 128));
    assert_eq!(o.map("tail_calls").unwrap().map_type, object::map_type::PROG_ARRAY);

    let o = object::analyze(&obj("maps")).unwrap();
    let m = o.map("test_map").unwrap();
    assert_eq!((m.key_size, m.value_size, m.max_entries), (12, 4, 1));
    assert_eq!(o.map_iters.len(), 1);
    let mi = &o.map_iters[0];
    assert_eq!((mi.name.as_str(), mi.map_name.as_str(), mi.key_struct.as_str(), mi.value_struct.as_str()), ("stats", "stats", "stats_key", "stats_value"));
    assert_eq!((mi.key_size, mi.value_size), (16, 24));
    assert_eq!(mi.key_fields.iter().map(|f| (f.name.as_str(), f.offset, f.size)).collect::<Vec<_>>(), [("mntns_id", 0, 8), ("pid", 8, 4)]);
    assert!(mi.key_fields.iter().all(|f| f.tags.iter().any(|t| t == "role:key")));
    assert_eq!(mi.value_fields.iter().map(|f| (f.name.as_str(), f.kind)).collect::<Vec<_>>(), [("count", kind::UINT64), ("comm", kind::CSTRING)]);
    assert!(mi.value_fields.iter().all(|f| !f.tags.iter().any(|t| t == "role:key")));
    let m = o.map("map_of_map").unwrap();
    assert_eq!((m.map_type, m.key_size, m.value_size), (object::map_type::HASH_OF_MAPS, 12, 4));

    let o = object::analyze(&obj("unknown_sec")).unwrap();
    let kinds: Vec<_> = o.programs.iter().map(|p| (p.name.as_str(), p.kind)).collect();
    assert!(kinds.contains(&("ig_unk_socket", ProgramKind::SocketFilter)));
    assert!(kinds.contains(&("ig_unk_usdt", ProgramKind::Usdt)));
}

#[test]
fn malformed_marker_is_rejected() {
    // Build a tiny object with a marker of the wrong type.
    let dir = std::env::temp_dir().join(format!("ebpfobj-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("bad.bpf.c");
    std::fs::write(
        &src,
        "typedef unsigned int __u32;\n__u32 gadget_param_foo = 1;\n__u32 foo = 3;\nchar LICENSE[] __attribute__((section(\"license\"))) = \"GPL\";\n",
    )
    .unwrap();
    let out = dir.join("bad.o");
    let st = std::process::Command::new("clang-19")
        .args(["-target", "bpf", "-g", "-O2", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let err = object::analyze(&std::fs::read(&out).unwrap()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("gadget_param_foo") && msg.contains("const void *"), "{msg}");
}

#[test]
fn sanitize_prog_array_and_unknown_sections() {
    let (elf, notes) = object::sanitize_for_aya(&obj("prog_array")).unwrap();
    eprintln!("{notes:#?}");
    assert!(notes.iter().any(|n| n.contains("tail_calls")));
    aya_obj::Object::parse(&elf).expect("aya-obj parses the sanitized object");
    // The original is rejected by aya-obj.
    assert!(aya_obj::Object::parse(&obj("prog_array")).is_err());

    let s = object::sanitize(&obj("unknown_sec")).unwrap();
    eprintln!("{:#?}", s.notes);
    assert!(s.dropped.contains_key("ig_unk_usdt"));
    assert_eq!(s.renamed.get("socket1").map(|s| s.as_str()), Some("socket/socket1"));
    assert!(aya_obj::Object::parse(&obj("unknown_sec")).is_err());
    let o = aya_obj::Object::parse(&s.elf).expect("aya-obj parses sanitized unknown_sec");
    assert!(o.programs.contains_key("ig_unk_socket"));
    assert!(!o.programs.contains_key("ig_unk_usdt"));
    // analysis of the sanitized ELF still works
    object::analyze(&s.elf).unwrap();
}

fn unique_path(tag: &str) -> String {
    format!("/tmp/gadgetrt-{tag}-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos())
}

fn wait_for(src: &mut loader::TracerSource, timeout: Duration, mut pred: impl FnMut(&[u8]) -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut found = false;
    while Instant::now() < deadline && !found {
        let mut pfd = libc::pollfd { fd: src.fd().as_raw_fd(), events: libc::POLLIN, revents: 0 };
        unsafe { libc::poll(&mut pfd, 1, 100) };
        src.drain(usize::MAX, &mut |r| {
            if pred(r) {
                found = true;
            }
        });
    }
    found
}

fn fname_of(rec: &[u8]) -> String {
    let b = &rec[80..336];
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

#[test]
fn trace_open_ringbuf_events() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("trace_open");
    let o = object::analyze(&elf).unwrap();
    let mut g = loader::load(&elf, &o, &LoadOptions::default()).unwrap();
    eprintln!("{:?}", g.program_states());
    assert!(g.map_fd("gadget_mntns_filter_map").is_some());
    let mut srcs = g.tracer_sources().unwrap();
    assert_eq!(srcs.len(), 1);
    let path = unique_path("open");
    let _ = std::fs::File::open(&path);
    let me = std::process::id();
    let mut rec_copy = Vec::new();
    let ok = wait_for(&mut srcs[0], Duration::from_secs(5), |r| {
        if fname_of(r) == path {
            rec_copy = r.to_vec();
            true
        } else {
            false
        }
    });
    assert!(ok, "no record for {path}");
    let pid = u32::from_le_bytes(rec_copy[24..28].try_into().unwrap());
    assert_eq!(pid, me);
    assert_eq!(rec_copy[40], 0xfe);
    assert_eq!(rec_copy[41] as i8, -2);
    assert_eq!(i64::from_le_bytes(rec_copy[64..72].try_into().unwrap()), -5);
    assert_eq!(rec_copy[72], 1);
    assert_eq!(u32::from_le_bytes(rec_copy[76..80].try_into().unwrap()), 1);
    let mntns = u64::from_le_bytes(rec_copy[32..40].try_into().unwrap());
    let want = std::fs::read_link("/proc/self/ns/mnt").unwrap().to_string_lossy().to_string();
    assert_eq!(want, format!("mnt:[{mntns}]"));
    assert_eq!(g.read_lost_samples("events"), 0);
}

#[test]
fn trace_open_params_and_mntns_filter() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("trace_open");
    let o = object::analyze(&elf).unwrap();
    let me = std::process::id();

    // targ_pid = someone else: our opens must not show up.
    let mut opts = LoadOptions::default();
    opts.params.insert("targ_pid".into(), 1u32.to_le_bytes().to_vec());
    opts.params.insert("some_value".into(), 77i64.to_le_bytes().to_vec());
    let mut g = loader::load(&elf, &o, &opts).unwrap();
    let mut srcs = g.tracer_sources().unwrap();
    let path = unique_path("filtered");
    let _ = std::fs::File::open(&path);
    assert!(!wait_for(&mut srcs[0], Duration::from_millis(700), |r| fname_of(r) == path));
    drop(srcs);
    drop(g);

    // targ_pid = me
    opts.params.insert("targ_pid".into(), me.to_le_bytes().to_vec());
    let mut g = loader::load(&elf, &o, &opts).unwrap();
    let mut srcs = g.tracer_sources().unwrap();
    let path = unique_path("mine");
    let _ = std::fs::File::open(&path);
    let mut s64 = 0i64;
    let mut others = 0;
    assert!(wait_for(&mut srcs[0], Duration::from_secs(5), |r| {
        if u32::from_le_bytes(r[24..28].try_into().unwrap()) != me {
            others += 1;
        }
        if fname_of(r) == path {
            s64 = i64::from_le_bytes(r[64..72].try_into().unwrap());
            true
        } else {
            false
        }
    }));
    assert_eq!(others, 0);
    assert_eq!(s64, 77);
    drop(srcs);
    drop(g);

    // wrong-size param is rejected clearly
    let mut bad = LoadOptions::default();
    bad.params.insert("targ_pid".into(), vec![1, 2]);
    let e = format!("{:#}", loader::load(&elf, &o, &bad).unwrap_err());
    assert!(e.contains("targ_pid") && e.contains("2 bytes"), "{e}");

    // mntns filter: enabled with an unrelated id -> nothing; with ours -> event.
    let mntns: u64 = std::fs::read_link("/proc/self/ns/mnt").unwrap().to_string_lossy()
        .trim_start_matches("mnt:[").trim_end_matches(']').parse().unwrap();
    let mut opts = LoadOptions { filter_by_mntns: true, mntns_ids: vec![12345], ..Default::default() };
    let mut g = loader::load(&elf, &o, &opts).unwrap();
    let mut srcs = g.tracer_sources().unwrap();
    let path = unique_path("mntns-no");
    let _ = std::fs::File::open(&path);
    assert!(!wait_for(&mut srcs[0], Duration::from_millis(700), |r| fname_of(r) == path));
    drop(srcs);
    drop(g);
    opts.mntns_ids = vec![mntns];
    let mut g = loader::load(&elf, &o, &opts).unwrap();
    let mut srcs = g.tracer_sources().unwrap();
    let path = unique_path("mntns-yes");
    let _ = std::fs::File::open(&path);
    assert!(wait_for(&mut srcs[0], Duration::from_secs(5), |r| fname_of(r) == path));
}

#[test]
fn prog_array_object_loads() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("prog_array");
    let o = object::analyze(&elf).unwrap();
    let mut g = loader::load(&elf, &o, &LoadOptions::default()).unwrap();
    let maps = g.maps();
    eprintln!("{maps:?}");
    assert!(maps.iter().any(|(n, t)| n == "tail_calls" && *t == object::map_type::PROG_ARRAY));
    // sized_map got its size from sized_map_max_entries
    let info = g.ebpf().map("sized_map").map(|_| ()).is_some();
    assert!(info);
    let mut srcs = g.tracer_sources().unwrap();
    unsafe { libc::getppid() };
    assert!(wait_for(&mut srcs[0], Duration::from_secs(5), |r| u32::from_le_bytes(r[0..4].try_into().unwrap()) == std::process::id()));
    // max_entries override through options
    let mut opts = LoadOptions::default();
    opts.max_entries.insert("sized_map".into(), 7);
    let g = loader::load(&elf, &o, &opts).unwrap();
    let fd = g.map_fd("sized_map").unwrap();
    let md = aya::maps::MapData::from_fd(fd.try_clone_to_owned().unwrap()).unwrap();
    assert_eq!(md.info().unwrap().max_entries(), 7);
}

#[test]
fn maps_object_loads() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("maps");
    let o = object::analyze(&elf).unwrap();
    let g = loader::load(&elf, &o, &LoadOptions::default()).unwrap();
    let maps = g.maps();
    eprintln!("{maps:?}");
    assert!(maps.iter().any(|(n, t)| n == "map_of_map" && *t == object::map_type::HASH_OF_MAPS));
    assert!(maps.iter().any(|(n, _)| n == "test_map"));
    // the tracepoint fills `stats` for our pid
    let me = std::process::id();
    let mntns: u64 = std::fs::read_link("/proc/self/ns/mnt").unwrap().to_string_lossy()
        .trim_start_matches("mnt:[").trim_end_matches(']').parse().unwrap();
    unsafe { libc::getpid() };
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&mntns.to_le_bytes());
    key[8..12].copy_from_slice(&me.to_le_bytes());
    let mut val = [0u8; 24];
    let stats = gadgetrt::ebpf::maps::RawMap::from_fd(g.map_fd("stats").unwrap().try_clone_to_owned().unwrap()).unwrap();
    assert!(stats.lookup(&key, &mut val).unwrap(), "stats entry for our mntns/pid");
    assert!(u64::from_le_bytes(val[..8].try_into().unwrap()) >= 1);
}

#[test]
fn perf_object_events() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("perf");
    let o = object::analyze(&elf).unwrap();
    let mut g = loader::load(&elf, &o, &LoadOptions::default()).unwrap();
    let mut srcs = g.tracer_sources().unwrap();
    assert!(srcs[0].is_perf());
    std::fs::write("/dev/null", b"x").unwrap(); // a write(2) of our own
    let ok = wait_for(&mut srcs[0], Duration::from_secs(5), |r| {
        r.len() >= 256
            && u32::from_le_bytes(r[0..4].try_into().unwrap()) == 42
            && u32::from_le_bytes(r[4..8].try_into().unwrap()) == 42
            && u32::from_le_bytes(r[8..12].try_into().unwrap()) == 43
            && r[12..256].iter().all(|&b| b == 0)
    });
    assert!(ok);
    let _ = srcs[0].take_lost();
}

#[test]
fn iter_task_yields_own_pid() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("iter_task");
    let o = object::analyze(&elf).unwrap();
    let mut g = loader::load(&elf, &o, &LoadOptions::default()).unwrap();
    for _ in 0..2 {
        let out = g.run_iter("tasks").unwrap();
        assert_eq!(out.len() % 24, 0);
        assert!(out.len() >= 24 * 3);
        let me = std::process::id();
        let found = out.chunks(24).any(|c| {
            u32::from_le_bytes(c[0..4].try_into().unwrap()) == me && u32::from_le_bytes(c[4..8].try_into().unwrap()) == me
        });
        assert!(found);
    }
}

#[test]
fn raw_tp_and_tp_btf_attach() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for n in ["raw_tp", "tp_btf"] {
        let elf = obj(n);
        let o = object::analyze(&elf).unwrap();
        let mut g = loader::load(&elf, &o, &LoadOptions::default()).unwrap();
        let mut srcs = g.tracer_sources().unwrap();
        if n == "tp_btf" {
            std::process::Command::new("/bin/true").status().unwrap();
        } else {
            unsafe { libc::getpid() };
        }
        assert!(wait_for(&mut srcs[0], Duration::from_secs(5), |_| true), "{n}: no events");
    }
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn gadgetrt_uprobe_target(x: u32) -> u32 {
    std::hint::black_box(x.wrapping_mul(3))
}

#[test]
fn uprobe_attach_to_override() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("uprobe");
    let o = object::analyze(&elf).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut opts = LoadOptions::default();
    opts.attach_to.insert("ig_uprobe_fn".into(), format!("{}:gadgetrt_uprobe_target", exe.display()));
    let mut g = loader::load(&elf, &o, &opts).unwrap();
    let mut srcs = g.tracer_sources().unwrap();
    gadgetrt_uprobe_target(4242);
    assert!(wait_for(&mut srcs[0], Duration::from_secs(5), |r| u32::from_le_bytes(r[4..8].try_into().unwrap()) == 4242));
}

#[test]
fn kprobe_attach_error_is_clear() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("kprobe");
    let o = object::analyze(&elf).unwrap();
    let err = loader::load(&elf, &o, &LoadOptions::default()).unwrap_err();
    let msg = format!("{err:#}");
    eprintln!("{msg}");
    assert!(msg.contains("ig_kprobe_openat2"), "{msg}");
    assert!(msg.contains("kprobe/do_sys_openat2"), "{msg}");
    assert!(msg.contains("kprobe"), "{msg}");
    // disabled -> loads fine
    let mut opts = LoadOptions::default();
    opts.attach_to.insert("ig_kprobe_openat2".into(), loader::PROGRAM_DISABLED.into());
    loader::load(&elf, &o, &opts).unwrap();
}

#[test]
fn fentry_error_names_program() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("fentry");
    let o = object::analyze(&elf).unwrap();
    assert_eq!(o.programs[0].kind, ProgramKind::FEntry);
    let works = loader::probe_attach_types().into_iter().any(|(k, ok)| k == "fentry" && ok);
    match loader::load(&elf, &o, &LoadOptions::default()) {
        Ok(_) => assert!(works, "fentry loaded although the probe says it does not work"),
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!("{msg}");
            assert!(!works);
            assert!(msg.contains("ig_fentry_openat2") && msg.contains("fentry/do_sys_openat2"), "{msg}");
        }
    }
}

#[test]
fn dropped_program_must_be_disabled() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("unknown_sec");
    let o = object::analyze(&elf).unwrap();
    let msg = format!("{:#}", loader::load(&elf, &o, &LoadOptions::default()).unwrap_err());
    assert!(msg.contains("ig_unk_usdt") && msg.contains("usdt/libc:prov:probe"), "{msg}");
    let mut opts = LoadOptions::default();
    opts.disabled.insert("ig_unk_usdt".into());
    let mut g = loader::load(&elf, &o, &opts).unwrap();
    eprintln!("{:?}\n{:#?}", g.program_states(), g.notes());
    assert!(g.program_fd("ig_unk_socket").is_some());
    let mut srcs = g.tracer_sources().unwrap();
    let me = std::process::id(); // (getpid itself is traced: call it before draining)
    unsafe { libc::getpid() };
    assert!(wait_for(&mut srcs[0], Duration::from_secs(5), |r| u32::from_le_bytes(r[0..4].try_into().unwrap()) == me));
}

#[test]
fn probe_attach_types_reports() {
    let v = loader::probe_attach_types();
    eprintln!("{v:?}");
    let m: HashMap<_, _> = v.into_iter().collect();
    assert!(m["tracepoint"]);
    assert!(m["raw_tracepoint"]);
    assert!(m["tp_btf"]);
    assert!(m["iter"]);
    assert!(m["uprobe"]);
    assert!(!m["kprobe"]);
}

#[test]
fn handles_are_send() {
    fn send<T: Send>() {}
    send::<loader::LoadedGadget>();
    send::<loader::TracerSource>();
    send::<object::GadgetObject>();
}

/// Loads `name`, fires its `tracepoint/syscalls/sys_enter_getppid` program
/// and returns the `.bss` contents once `results.ran` (first u32) is 1.
fn run_getppid_probe(name: &str) -> (Vec<u8>, Vec<String>) {
    let elf = obj(name);
    let o = object::analyze(&elf).unwrap();
    let g = loader::load(&elf, &o, &LoadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let bss = gadgetrt::ebpf::maps::RawMap::from_fd(g.map_fd(".bss").expect(".bss map").try_clone_to_owned().unwrap()).unwrap();
    let mut val = vec![0u8; bss.value_size_for_lookup()];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        unsafe { libc::getppid() };
        assert!(bss.lookup(&0u32.to_ne_bytes(), &mut val).unwrap());
        if val[0] == 1 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(val[0], 1, "{name}: program did not run");
    (val, g.notes().to_vec())
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_ne_bytes(b[i * 4..i * 4 + 4].try_into().unwrap())
}

#[test]
fn core_type_matches_resolved_against_kernel_btf() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // aya-obj 0.3 alone rejects relocation kind 12; the sanitizer resolves it.
    let s = object::sanitize(&obj("core_match")).unwrap();
    assert!(
        s.notes.iter().any(|n| n.contains("bpf_core_type_matches(task_struct___yes) = 1")),
        "{:?}",
        s.notes
    );
    let (v, _) = run_getppid_probe("core_match");
    // The same values libbpf 1.1.2 computes for this object on this kernel
    // (checked with a small libbpf loader).
    let names = [
        "ran", "task_yes", "task_no", "task_badarray", "rq_new", "rq_old", "enum_yes", "enum_no", "no_such_type",
        "pid_off_ok", "task_charsign", "pid_nr_ok",
    ];
    let got: Vec<(&str, u32)> = names.iter().enumerate().map(|(i, n)| (*n, u32_at(&v, i))).collect();
    let want = [1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1];
    let want: Vec<(&str, u32)> = names.iter().zip(want).map(|(n, w)| (*n, w)).collect();
    assert_eq!(got, want);
}

#[test]
fn core_type_matches_against_a_custom_target() {
    // The evaluator on its own (libbpf's bpf_core_types_match rules).
    use ::object::{Object, ObjectSection};
    let elf = obj("core_match");
    let f = ::object::File::parse(&*elf).unwrap();
    let local = Btf::parse(f.section_by_name(".BTF").unwrap().data().unwrap()).unwrap();
    let kernel = gadgetrt::ebpf::fixups::vmlinux_btf().expect("kernel BTF");
    let id = |n: &str| local.types().find(|(_, t)| t.name() == n).map(|(i, _)| i).unwrap();
    let m = |n: &str| gadgetrt::ebpf::fixups::type_matches(&local, id(n), &kernel).unwrap();
    assert!(m("task_struct___yes"));
    assert!(!m("task_struct___no"));
    assert!(!m("task_struct___charsign"));
    assert!(m("btf_trace_block_rq_insert___new"));
    assert!(!m("btf_trace_block_rq_insert___old"));
    // Without a target BTF the object is refused with a clear error.
    let e = format!("{:#}", object::sanitize_with_target(&elf, None).unwrap_err());
    assert!(e.contains("type-match") && e.contains("task_struct___yes"), "{e}");
}

#[test]
fn kconfig_externs_get_kernel_values() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (v, notes) = run_getppid_probe("kconfig");
    eprintln!("{notes:?}");
    // uname -r -> KERNEL_VERSION(major, minor, min(patch, 255))
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let nums: Vec<u32> = rel.trim().split(|c: char| !c.is_ascii_digit()).take(3).map(|x| x.parse().unwrap()).collect();
    let kv = (nums[0] << 16) + (nums[1] << 8) + nums[2].min(255);
    assert_eq!(u32_at(&v, 1), kv, "LINUX_KERNEL_VERSION");
    let cfg = String::from_utf8(gadgetrt::ebpf::fixups::gunzip(&std::fs::read("/proc/config.gz").unwrap()).unwrap()).unwrap();
    let get = |k: &str| cfg.lines().find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_string));
    assert_eq!(u32_at(&v, 2), u32::from(cfg!(target_arch = "x86_64")), "LINUX_HAS_SYSCALL_WRAPPER");
    assert_eq!(u32_at(&v, 3) & 0xff, 1, "CONFIG_BPF_SYSCALL (bool)");
    let jit = match get("CONFIG_BPF_JIT").as_deref() {
        Some("y") => 1,
        Some("m") => 2,
        _ => 0,
    };
    assert_eq!(u32_at(&v, 4), jit, "CONFIG_BPF_JIT (tristate)");
    assert_eq!(u32_at(&v, 5) & 0xff, 0, "missing weak CONFIG");
    let hz: u32 = get("CONFIG_HZ").map(|h| h.parse().unwrap()).unwrap_or(0);
    assert_eq!(u32_at(&v, 6), hz, "CONFIG_HZ (int)");
    let lv = &v[28..92];
    let lv = String::from_utf8_lossy(&lv[..lv.iter().position(|&c| c == 0).unwrap()]).into_owned();
    assert_eq!(Some(format!("\"{lv}\"")), get("CONFIG_LOCALVERSION").or(Some("\"\"".into())), "CONFIG_LOCALVERSION (string)");
    assert_eq!(u32_at(&v, 23), 0, "old-kernel branch");
    assert!(notes.iter().any(|n| n.contains("LINUX_KERNEL_VERSION set to")), "{notes:?}");
}

#[test]
fn kernel_config_parsing() {
    let cfg = gadgetrt::ebpf::fixups::parse_kernel_config("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\nCONFIG_D=0x10\n");
    assert_eq!(cfg.get("CONFIG_A").map(String::as_str), Some("y"));
    assert!(!cfg.contains_key("CONFIG_B"));
    assert_eq!(cfg.get("CONFIG_D").map(String::as_str), Some("0x10"));
}

#[test]
fn iter_bpf_map_elem_walks_its_target_map() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("iter_map");
    let o = object::analyze(&elf).unwrap();
    assert_eq!(o.iter_map_targets, vec![("ig_iter_counts".to_string(), "counts".to_string())]);
    let mut g = loader::load(&elf, &o, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
    let counts = gadgetrt::ebpf::maps::RawMap::from_fd(g.map_fd("counts").unwrap().try_clone_to_owned().unwrap()).unwrap();
    // Empty map: no records.
    assert!(g.run_iter("elems").unwrap().is_empty());
    let want: Vec<(u32, u64)> = vec![(1, 100), (7, 700), (42, 4200)];
    for (k, v) in &want {
        counts.update(&k.to_ne_bytes(), &v.to_ne_bytes(), 0).unwrap();
    }
    let out = g.run_iter("elems").unwrap();
    assert_eq!(out.len(), 16 * want.len());
    let mut got: Vec<(u32, u64)> = out
        .chunks(16)
        .map(|c| (u32::from_ne_bytes(c[..4].try_into().unwrap()), u64::from_ne_bytes(c[8..16].try_into().unwrap())))
        .collect();
    got.sort();
    assert_eq!(got, want);
    // Iterating does not modify the map; a second run sees the same.
    assert_eq!(g.run_iter("elems").unwrap().len(), out.len());
}

/// Offset of global `name` inside its data section (`.bss`, `.data`).
fn global_off(elf: &[u8], name: &str) -> usize {
    use ::object::{Object, ObjectSymbol};
    let f = ::object::File::parse(elf).unwrap();
    let s = f.symbols().find(|s| s.name() == Ok(name)).unwrap_or_else(|| panic!("symbol {name}"));
    s.address() as usize
}

fn read_bss(g: &loader::LoadedGadget) -> Vec<u8> {
    let bss = gadgetrt::ebpf::maps::RawMap::from_fd(g.map_fd(".bss").expect(".bss map").try_clone_to_owned().unwrap()).unwrap();
    let mut val = vec![0u8; bss.value_size_for_lookup()];
    assert!(bss.lookup(&0u32.to_ne_bytes(), &mut val).unwrap());
    val
}

#[test]
fn uprobe_unresolved_targets_are_warnings() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("uprobe_targets");
    let o = object::analyze(&elf).unwrap();
    let mut g = loader::load(&elf, &o, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
    let st: HashMap<String, loader::ProgramState> = g.program_states().iter().cloned().collect();
    eprintln!("{st:?}\n{:?}", g.warnings());
    assert!(matches!(&st["ig_up_nolib"], loader::ProgramState::NotAttached { reason } if reason.contains("could not resolve uprobe target 'libgadgetrt_no_such_library'")));
    assert!(matches!(&st["ig_up_nosym"], loader::ProgramState::NotAttached { reason } if reason.contains("gadgetrt_no_such_symbol")));
    assert!(matches!(&st["ig_up_getppid"], loader::ProgramState::Attached { target } if target.contains("libc.so") && target.ends_with(":getppid")));
    let w = g.warnings().join("\n");
    assert!(w.contains("program ig_up_nolib") && w.contains("'libgadgetrt_no_such_library'"), "{w}");
    assert!(w.contains("program ig_up_nosym"), "{w}");
    assert!(!w.contains("ig_up_getppid"), "{w}");
    // The gadget runs with the program that attached.
    let mut srcs = g.tracer_sources().unwrap();
    let me = std::process::id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    let trigger = std::thread::spawn(move || {
        while !d.load(std::sync::atomic::Ordering::Relaxed) {
            unsafe { libc::getppid() };
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let ok = wait_for(&mut srcs[0], Duration::from_secs(5), |r| {
        u32::from_ne_bytes(r[..4].try_into().unwrap()) == me && u32::from_ne_bytes(r[4..8].try_into().unwrap()) == 3
    });
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    trigger.join().unwrap();
    assert!(ok, "no uprobe event from libc getppid");
}

#[test]
fn uprobe_malformed_target_is_fatal() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("uprobe_targets");
    let o = object::analyze(&elf).unwrap();
    let mut opts = LoadOptions::default();
    opts.attach_to.insert("ig_up_getppid".into(), "lib/relative.so:getppid".into());
    let e = format!("{:#}", loader::load(&elf, &o, &opts).unwrap_err());
    assert!(e.contains("ig_up_getppid") && e.contains("absolute path"), "{e}");
}

const PERF_CONFIG: &str = "programs:\n  sampler:\n    perf:\n      type: software\n      config: count_sw_cpu_clock\n      sampleType: sample_raw\n    sampler:\n      frequency: 199\n";

#[test]
fn perf_event_program_samples_every_cpu() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("perf_sample");
    let o = object::analyze(&elf).unwrap();
    let mut opts = LoadOptions { config: serde_yaml::from_str(PERF_CONFIG).unwrap(), ..Default::default() };
    opts.params.insert("target_pid".into(), std::process::id().to_ne_bytes().to_vec());
    let g = loader::load(&elf, &o, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    let st = &g.program_states()[0].1;
    assert!(matches!(st, loader::ProgramState::Attached { target } if target.contains("199 Hz")), "{st:?}");
    // Burn CPU for a while: this process must get sampled.
    let t = Instant::now();
    let mut x = 0u64;
    while t.elapsed() < Duration::from_millis(600) {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    std::hint::black_box(x);
    let bss = read_bss(&g);
    let at = |n: &str| u64::from_ne_bytes(bss[global_off(&elf, n)..][..8].try_into().unwrap());
    assert!(at("own_samples") >= 10, "samples {} own {}", at("samples"), at("own_samples"));
    // Dropping the gadget disables and closes the events.
    drop(g);
}

#[test]
fn perf_event_program_needs_sampling_config() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("perf_sample");
    let o = object::analyze(&elf).unwrap();
    let e = format!("{:#}", loader::load(&elf, &o, &LoadOptions::default()).unwrap_err());
    assert!(e.contains("ig_sample") && e.contains("programs.sampler.perf.type"), "{e}");
}

#[test]
fn socket_filter_sees_loopback_packets() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("socket_lo");
    let o = object::analyze(&elf).unwrap();
    // A free UDP port of our own, so nothing else sends to it.
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let mut opts = LoadOptions::default();
    opts.params.insert("port".into(), port.to_ne_bytes().to_vec());
    let g = loader::load(&elf, &o, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    let st = &g.program_states()[0].1;
    assert!(matches!(st, loader::ProgramState::Attached { target } if target.contains("raw socket")), "{st:?}");
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..5 {
        tx.send_to(b"gadgetrt", ("127.0.0.1", port)).unwrap();
    }
    let mut buf = [0u8; 16];
    for _ in 0..5 {
        rx.recv_from(&mut buf).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let (mut hits, mut netns) = (0, 0);
    while Instant::now() < deadline {
        let bss = read_bss(&g);
        hits = u64::from_ne_bytes(bss[global_off(&elf, "hits")..][..8].try_into().unwrap());
        netns = u32::from_ne_bytes(bss[global_off(&elf, "netns")..][..4].try_into().unwrap());
        if hits >= 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // On lo each packet is seen twice (outgoing, then host).
    assert_eq!(hits, 10, "hits");
    use std::os::unix::fs::MetadataExt;
    let want = std::fs::metadata("/proc/self/ns/net").unwrap().ino() as u32;
    assert_eq!(netns, want, "skb->cb[0] is the netns inode (IG's dispatcher)");
    drop(g);
    // Detached with the gadget: no more hits (a fresh load starts from zero).
}

// ---------------------------------------------------------------------------------------------
// Network programs in network namespaces of the test's own: socket filters per namespace,
// tc classifiers on an interface and on a "container"'s host-side veth. Nothing here touches
// the real host's interfaces: the test thread moves into a fresh network namespace first
// (namespaces are per thread; the commands it runs inherit it).
// ---------------------------------------------------------------------------------------------

fn sh(cmd: &str) {
    let st = std::process::Command::new("sh").arg("-c").arg(cmd).status().unwrap();
    assert!(st.success(), "{cmd}: {st:?}");
}

fn sh_out(cmd: &str) -> String {
    let o = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// tcx links running IG's dispatcher (`ig_net_disp`), anywhere on the machine (bpftool 7.1
/// shows neither the interface nor the hook of a tcx link).
fn tcx_dispatchers() -> usize {
    let links: serde_json::Value = serde_json::from_str(&sh_out("bpftool -j link show 2>/dev/null")).unwrap_or_default();
    let progs: serde_json::Value = serde_json::from_str(&sh_out("bpftool -j prog show 2>/dev/null")).unwrap_or_default();
    let disp: Vec<u64> = progs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "ig_net_disp")
        .filter_map(|p| p["id"].as_u64())
        .collect();
    links
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["type"] == 11 || l["type"] == "tcx")
        .filter(|l| l["prog_id"].as_u64().is_some_and(|id| disp.contains(&id)))
        .count()
}

/// Our classifiers on `dev`'s `dir` hook: cls_bpf filters named ig_tc_count (kernels without
/// tcx, IG's way) plus `tcx` = tcx dispatcher links gained since a baseline.
fn hooked(dev: &str, dir: &str, tcx_base: usize) -> usize {
    let tc = sh_out(&format!("tc filter show dev {dev} {dir}"));
    tc.matches("ig_tc_count").count() + tcx_dispatchers().saturating_sub(tcx_base)
}

/// Moves this thread into a new network namespace (lo up); returns its inode.
fn own_netns() -> u64 {
    // SAFETY: unshare(CLONE_NEWNET) affects this thread only.
    assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare: {}", std::io::Error::last_os_error());
    sh("ip link set lo up");
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
}

/// A "container": a child process in a network namespace of its own (lo up), killed on drop.
struct NetnsChild(std::process::Child);

impl NetnsChild {
    fn start() -> NetnsChild {
        let c = std::process::Command::new("unshare")
            .args(["-n", "sh", "-c", "ip link set lo up && exec sleep 600"])
            .spawn()
            .unwrap();
        let me = NetnsChild(c);
        let ns = me.ns_path();
        use std::os::unix::fs::MetadataExt;
        let parent = std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino();
        let deadline = Instant::now() + Duration::from_secs(10);
        // Until unshare ran and lo is up.
        while Instant::now() < deadline {
            if std::fs::metadata(&ns).map(|m| m.ino() != parent).unwrap_or(false)
                && sh_out(&format!("nsenter --net={} ip link show lo", ns.display())).contains("UP")
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        me
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn ns_path(&self) -> std::path::PathBuf {
        format!("/proc/{}/ns/net", self.0.id()).into()
    }
    fn netns(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(self.ns_path()).unwrap().ino()
    }
    /// Runs `f` on a thread inside the child's network namespace.
    fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let ns = std::fs::File::open(self.ns_path()).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: setns for this thread only.
                assert_eq!(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
                f()
            })
            .join()
            .unwrap()
        })
    }
}

impl Drop for NetnsChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `n` UDP datagrams to 127.0.0.1:`port` of the calling thread's namespace, and
/// receives them.
fn udp_lo(port_rx: &std::net::UdpSocket, n: usize) {
    let port = port_rx.local_addr().unwrap().port();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..n {
        tx.send_to(b"gadgetrt", ("127.0.0.1", port)).unwrap();
    }
    let mut buf = [0u8; 16];
    for _ in 0..n {
        port_rx.recv_from(&mut buf).unwrap();
    }
}

/// Waits (bounded) until the object's `hits` reaches `want`; returns (hits, netns).
fn wait_hits(g: &loader::LoadedGadget, elf: &[u8], want: u64) -> (u64, u32) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let bss = read_bss(g);
        let hits = u64::from_ne_bytes(bss[global_off(elf, "hits")..][..8].try_into().unwrap());
        let netns = u32::from_ne_bytes(bss[global_off(elf, "netns")..][..4].try_into().unwrap());
        if hits >= want || Instant::now() > deadline {
            return (hits, netns);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn socket_filter_per_container_netns() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("socket_lo");
    let o = object::analyze(&elf).unwrap();
    let c = NetnsChild::start();
    let rx = c.inside(|| std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    let port = rx.local_addr().unwrap().port();
    let mut opts = LoadOptions { per_container: true, ..Default::default() };
    opts.params.insert("port".into(), port.to_ne_bytes().to_vec());
    let mut g = loader::load(&elf, &o, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    let st = &g.program_states()[0].1;
    assert!(matches!(st, loader::ProgramState::Attached { target } if target.contains("each selected container")), "{st:?}");
    assert!(g.net_attachments().is_empty(), "nothing attached before a container: {:?}", g.net_attachments());
    // Not attached yet: packets in the child's namespace are not seen.
    c.inside(|| udp_lo(&rx, 2));
    assert_eq!(wait_hits(&g, &elf, 1).0, 0);
    // Two containers sharing the namespace: one raw socket.
    assert!(g.attach_container("c1", &c.ns_path(), c.netns(), false).is_empty());
    assert!(g.attach_container("c2", &c.ns_path(), c.netns(), false).is_empty());
    assert_eq!(g.net_attachments(), vec![("ig_sock_udp".to_string(), format!("socket netns {}", c.netns()))]);
    c.inside(|| udp_lo(&rx, 5));
    // On lo each packet is seen twice (outgoing, then host).
    let (hits, netns) = wait_hits(&g, &elf, 10);
    assert_eq!(hits, 10);
    assert_eq!(netns, c.netns() as u32, "skb->cb[0] is the container's netns inode");
    // Our own namespace's traffic is not seen (no socket here).
    let mine = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let _ = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().send_to(b"x", ("127.0.0.1", port));
    drop(mine);
    g.detach_container("c1");
    assert_eq!(g.net_attachments().len(), 1, "still used by c2");
    g.detach_container("c2");
    assert!(g.net_attachments().is_empty());
    c.inside(|| udp_lo(&rx, 3));
    assert_eq!(wait_hits(&g, &elf, 11).0, 10, "detached: no more hits");
    // A container whose process is gone is a warning, not a failure.
    let w = g.attach_container("gone", std::path::Path::new("/proc/0/ns/net"), 1, false);
    assert!(w.len() == 1 && w[0].contains("start tracing container gone"), "{w:?}");
}

/// The `pf` params: tcpdump expressions compiled (libpcap), converted to eBPF and inserted
/// into the object's `gadget_pf_*` functions select the packets the classifier counts.
#[test]
fn packet_filters_select_packets_by_tcpdump_expression() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("tc_pf");
    let o = object::analyze(&elf).unwrap();
    assert_eq!(o.packet_filters, ["gadget_pf_", "gadget_pf_second"]);
    own_netns();
    let (rx1, rx2) = (std::net::UdpSocket::bind("127.0.0.1:0").unwrap(), std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    let (p1, p2) = (rx1.local_addr().unwrap().port(), rx2.local_addr().unwrap().port());
    let counters = |g: &loader::LoadedGadget, want_seen: u64| -> (u64, u64, u64) {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let bss = read_bss(g);
            let rd = |n: &str| u64::from_ne_bytes(bss[global_off(&elf, n)..][..8].try_into().unwrap());
            let c = (rd("seen"), rd("hits"), rd("hits_second"));
            if c.0 >= want_seen || Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let run = |pf: Option<&str>, second: Option<&str>| -> Result<(u64, u64, u64), String> {
        let mut opts = LoadOptions { tc_iface: Some("lo".into()), ..Default::default() };
        if let Some(f) = pf {
            opts.packet_filters.insert("gadget_pf_".into(), f.into());
        }
        if let Some(f) = second {
            opts.packet_filters.insert("gadget_pf_second".into(), f.into());
        }
        let g = loader::load(&elf, &o, &opts).map_err(|e| format!("{e:#}"))?;
        udp_lo(&rx1, 3);
        udp_lo(&rx2, 4);
        Ok(counters(&g, 7))
    };
    // No filter: every packet passes both.
    assert_eq!(run(None, None).unwrap(), (7, 7, 7));
    // A port (indirect loads through the IP header length), and a payload check plus `len`.
    let (seen, hits, second) = run(
        Some(&format!("udp dst port {p1}")),
        Some(&format!("udp and dst port {p2} and udp[8:4] = 0x67616467 and len > 40 and not tcp[tcpflags] & tcp-syn != 0")),
    )
    .unwrap();
    assert_eq!((seen, hits, second), (7, 3, 4));
    // A filter nothing matches, and IG's reject-all.
    assert_eq!(run(Some("udp[8:4] = 0x41414141"), Some("__reject_all__")).unwrap(), (7, 0, 0));
    assert_eq!(run(Some(&format!("udp port {p1} or udp port {p2}")), Some("ip6 or arp")).unwrap(), (7, 7, 0));
    // More of tcpdump's syntax: (expression, packets it passes of the 7).
    for (expr, want) in [
        ("ether proto 0x0800 and ip[9] == 17".to_string(), 7),
        ("net 127.0.0.0/8 and udp portrange 1024-65535".to_string(), 7),
        ("ip[2:2] > 1000 or icmp or icmp6".to_string(), 0),
        ("tcp[tcpflags] & (tcp-syn|tcp-ack) != 0".to_string(), 0),
        (format!("udp[2:2] = {p2} and greater 40 and less 100"), 4),
        (format!("(udp[0:2] + udp[2:2]) & 0xffff != 0 and udp dst port {p1}"), 3),
    ] {
        assert_eq!(run(Some(&expr), None).unwrap_or_else(|e| panic!("{expr}: {e}")).1, want, "{expr}");
    }
    // A bad expression is a clear error naming the param; nothing gets attached.
    let e = run(Some("udp port banana"), None).unwrap_err();
    assert!(e.contains("param pf") && e.contains("banana"), "{e}");
    let e = run(None, Some("tcp and")).unwrap_err();
    assert!(e.contains("param pf-second") && e.contains("syntax error"), "{e}");
}

#[test]
fn tc_classifier_on_iface_sees_packets_and_its_filter_goes_at_unload() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("tc_count");
    let o = object::analyze(&elf).unwrap();
    let netns = own_netns();
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    // Without an interface or a container selection: loaded, not attached, a warning.
    let mut opts = LoadOptions::default();
    opts.params.insert("port".into(), port.to_ne_bytes().to_vec());
    let g = loader::load(&elf, &o, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(matches!(&g.program_states()[0].1, loader::ProgramState::NotAttached { reason } if reason.contains("iface")));
    assert!(g.warnings().iter().any(|w| w.contains("ig_tc_count") && w.contains("iface")), "{:?}", g.warnings());
    drop(g);
    // A bad interface is fatal (IG: a bad --iface fails the run).
    opts.tc_iface = Some("grt-no-such0".into());
    let e = format!("{:#}", loader::load(&elf, &o, &opts).unwrap_err());
    assert!(e.contains("grt-no-such0") && e.contains("not found"), "{e}");
    opts.tc_iface = Some("lo".into());
    let base = tcx_dispatchers();
    let g = loader::load(&elf, &o, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    let st = &g.program_states()[0].1;
    assert!(matches!(st, loader::ProgramState::Attached { target } if target.contains("tc ingress filter on lo")), "{st:?}");
    assert_eq!(hooked("lo", "ingress", base), 1, "{}", sh_out("bpftool link show"));
    assert_eq!(hooked("lo", "egress", base), 1, "only the ingress hook (or the one tcx link)");
    udp_lo(&rx, 5);
    let (hits, cb) = wait_hits(&g, &elf, 5);
    assert_eq!(hits, 5, "lo ingress sees each datagram once");
    assert_eq!(cb, netns as u32, "skb->cb[0] is the netns id");
    drop(g);
    assert_eq!(hooked("lo", "ingress", base), 0, "left after unload: {}", sh_out("bpftool link show"));
    // IG's own mechanism (kernels without tcx): a clsact qdisc and a direct-action cls_bpf
    // filter named after the program, deleted at unload; the qdisc stays, as in IG.
    std::env::set_var(gadgetrt::ebpf::tc::LEGACY_ENV, "1");
    let g = loader::load(&elf, &o, &opts);
    std::env::remove_var(gadgetrt::ebpf::tc::LEGACY_ENV);
    let g = g.unwrap_or_else(|e| panic!("{e:#}"));
    let st = &g.program_states()[0].1;
    assert!(matches!(st, loader::ProgramState::Attached { target } if target.contains("cls_bpf handle 1")), "{st:?}");
    let shown = sh_out("tc filter show dev lo ingress");
    assert!(shown.contains("ig_tc_count") && shown.contains("direct-action") && shown.contains("handle 0x1"), "{shown}");
    assert!(!sh_out("tc filter show dev lo egress").contains("ig_tc_count"));
    udp_lo(&rx, 2);
    assert_eq!(wait_hits(&g, &elf, 2).0, 2);
    drop(g);
    assert!(sh_out("tc filter show dev lo ingress").trim().is_empty(), "filter left after unload");
    assert!(sh_out("tc qdisc show dev lo").contains("clsact"));
}

#[test]
fn tc_classifier_on_a_containers_host_side_veth() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let elf = obj("tc_count");
    let o = object::analyze(&elf).unwrap();
    // "host": a namespace of this thread's own; "container": a child's, joined by a veth pair.
    own_netns();
    let c = NetnsChild::start();
    sh(&format!("ip link add grt-h0 type veth peer name grt-c0 && ip link set grt-c0 netns {}", c.pid()));
    sh("ip addr add 10.213.0.1/30 dev grt-h0 && ip link set grt-h0 up");
    sh(&format!("nsenter --net={} sh -c 'ip addr add 10.213.0.2/30 dev grt-c0 && ip link set grt-c0 up'", c.ns_path().display()));
    let rx = c.inside(|| std::net::UdpSocket::bind("10.213.0.2:0").unwrap());
    let port = rx.local_addr().unwrap().port();
    let mut opts = LoadOptions { per_container: true, ..Default::default() };
    opts.params.insert("port".into(), port.to_ne_bytes().to_vec());
    let base = tcx_dispatchers();
    let mut g = loader::load(&elf, &o, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    // Host-network containers are skipped; a namespace without veth is a warning.
    assert!(g.attach_container("hostnet", &c.ns_path(), c.netns(), true).is_empty());
    assert!(g.net_attachments().is_empty());
    let lonely = NetnsChild::start();
    let w = g.attach_container("none", &lonely.ns_path(), lonely.netns(), false);
    assert!(w.len() == 1 && w[0].contains("no interface found"), "{w:?}");
    assert!(g.attach_container("c1", &c.ns_path(), c.netns(), false).is_empty());
    // The container's ingress is the host side's egress.
    assert_eq!(
        g.net_attachments(),
        vec![("ig_tc_count".to_string(), format!("tc egress grt-h0 netns {}", c.netns()))]
    );
    assert_eq!(hooked("grt-h0", "egress", base), 1);
    let tx = std::net::UdpSocket::bind("10.213.0.1:0").unwrap();
    for _ in 0..4 {
        tx.send_to(b"gadgetrt", ("10.213.0.2", port)).unwrap();
    }
    let mut buf = [0u8; 16];
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..4 {
        rx.recv_from(&mut buf).unwrap();
    }
    let (hits, cb) = wait_hits(&g, &elf, 4);
    assert_eq!(hits, 4);
    assert_eq!(cb, c.netns() as u32, "skb->cb[0] is the container's netns id");
    g.detach_container("c1");
    assert_eq!(hooked("grt-h0", "egress", base), 0, "left after detach");
    tx.send_to(b"gadgetrt", ("10.213.0.2", port)).unwrap();
    rx.recv_from(&mut buf).unwrap();
    assert_eq!(wait_hits(&g, &elf, 5).0, 4, "detached: not seen");
    assert!(g.attach_container("c1", &c.ns_path(), c.netns(), false).is_empty());
    assert_eq!(hooked("grt-h0", "egress", base), 1);
    drop(g);
    assert_eq!(hooked("grt-h0", "egress", base), 0, "left after unload");
    // The veth goes with the namespaces (the child's on kill, ours with this thread).
    let _ = sh_out("ip link del grt-h0");
}
