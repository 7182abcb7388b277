mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;
use common::*;
use ebpf_common::*;

#[test]
fn explore() {
    require_root();
    let (rt, logs) = runtime();
    let dir = gadget_dir("explore", "trace_open", Some("trace_open_enrich"), None);
    let g = open_dir(&rt, &dir);
    g.init().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    println!("{}", serde_json::to_string_pretty(&g.describe()).unwrap());
    let s = g.schema("open").unwrap();
    for f in &s.fields { println!("{} {} {:?} {:?} parent={:?} hidden={}", f.name, f.kind, f.loc, f.tags, f.parent, f.hidden); }
    for p in g.params() { println!("{:?}", p.to_json()); }
}
