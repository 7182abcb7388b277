//! Imports for logging, params, config, handles, syscalls, kallsyms and mount-namespace
//! filtering (ABI sections 1.1, 1.5, 1.6, 1.8, 1.9, 1.11, 1.12).

use wasmtime::{Caller, Linker};

use super::{kallsyms, parts, read_str, syscalls, write_buf, HostState};
use crate::datasource::kind;
use crate::events::LogLevel;
use super::handles::Obj;

pub fn register(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap("ig", "gadgetLog", gadget_log)?;
    l.func_wrap("ig", "gadgetShouldLog", |c: Caller<'_, HostState>, level: i32| -> i32 {
        should_log(c.data().logger.level(), level as u32) as i32
    })?;
    l.func_wrap("ig", "getParamValue", get_param_value)?;
    l.func_wrap("ig", "setConfig", set_config)?;
    l.func_wrap("ig", "releaseHandle", release_handle)?;
    l.func_wrap("ig", "getSyscallName", get_syscall_name)?;
    l.func_wrap("ig", "getSyscallID", |mut c: Caller<'_, HostState>, name: i64| -> i32 {
        let (mem, st) = parts(&mut c);
        match read_str(mem, name as u64) {
            Some(n) => syscalls::syscall_id(&n).unwrap_or(-1),
            None => {
                st.warn("getSyscallID: invalid name pointer");
                -1
            }
        }
    })?;
    l.func_wrap("ig", "getSyscallDeclaration", get_syscall_declaration)?;
    l.func_wrap("ig", "kallsymsSymbolExists", |mut c: Caller<'_, HostState>, sym: i64| -> i32 {
        let (mem, st) = parts(&mut c);
        match read_str(mem, sym as u64) {
            Some(s) => kallsyms::symbol_exists(&s) as i32,
            None => {
                st.warn("kallsymsSymbolExists: invalid symbol pointer");
                0
            }
        }
    })?;
    l.func_wrap("ig", "shouldDiscardMntnsID", |c: Caller<'_, HostState>, id: i64| -> i32 {
        match &c.data().active_mntns_filter {
            None => 0,
            Some(set) => (!set.read().unwrap_or_else(|e| e.into_inner()).contains(&(id as u64))) as i32,
        }
    })?;
    Ok(())
}

/// `gadgetShouldLog`: with L the logger level in logrus numbering (error 2 … trace 6), the
/// answer is 1 iff `L >= 2 && L >= level + 2`, computed in u32.
pub fn should_log(logger: LogLevel, level: u32) -> bool {
    let l = logger as u32 + 2;
    l >= 2 && l >= level.wrapping_add(2)
}

fn gadget_log(mut c: Caller<'_, HostState>, level: i32, msg: i64) {
    let (mem, st) = parts(&mut c);
    let Some(text) = read_str(mem, msg as u64) else {
        st.warn("gadgetLog: invalid message pointer");
        return;
    };
    match level as u32 {
        l @ 0..=4 => st.log(LogLevel::from_u32(l), &text),
        other => st.warn(format!("gadget used unknown log level {other}: {text}")),
    }
}

fn get_param_value(mut c: Caller<'_, HostState>, key: i64, dst: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some(k) = read_str(mem, key as u64) else {
        st.warn("getParamValue: invalid key pointer");
        return 1;
    };
    let Some(v) = st.params.get(&k) else {
        st.warn(format!("getParamValue: param {k:?} not found"));
        return 1;
    };
    if !write_buf(mem, dst as u64, v.as_bytes()) {
        st.warn(format!("getParamValue: value of {k:?} does not fit the destination buffer"));
        return 1;
    }
    0
}

fn set_config(mut c: Caller<'_, HostState>, key: i64, value: i64, k: i32) -> i32 {
    let (mem, st) = parts(&mut c);
    if k as u32 != kind::STRING {
        st.warn(format!("setConfig: unsupported kind {k} (only string)"));
        return 1;
    }
    let Some(key) = read_str(mem, key as u64) else {
        st.warn("setConfig: invalid key pointer");
        return 1;
    };
    let Some(val) = read_str(mem, value as u64) else {
        st.warn("setConfig: invalid value pointer");
        return 1;
    };
    if !st.charge_host("setConfig", (key.len() + val.len()) as u64 + 64) {
        return 1;
    }
    crate::config::set_path(&mut st.config, &key, serde_yaml::Value::String(val));
    0
}

fn release_handle(mut c: Caller<'_, HostState>, h: i32) -> i32 {
    let st = c.data_mut();
    match st.handles.remove(h as u32) {
        None => {
            st.warn(format!("releaseHandle: handle {} not found", h as u32));
            1
        }
        Some(obj) => {
            // A map or perf reader handle closes its object and returns its budget.
            match obj {
                Obj::Map(i) => st.maps.release_map(i),
                Obj::PerfReader(i) => st.maps.release_reader(i),
                _ => {}
            }
            // Packets referenced only by this handle are freed so they do not leak.
            if let Obj::Single(pid) | Obj::Array(pid) | Obj::NewElement(pid) = obj {
                let still_referenced = st.handles.iter().any(|(_, o)| {
                    matches!(o, Obj::Single(p) | Obj::Array(p) | Obj::NewElement(p) | Obj::Element(p, _) if *p == pid)
                });
                if !still_referenced {
                    st.release_packet(pid);
                }
            }
            0
        }
    }
}

fn get_syscall_name(mut c: Caller<'_, HostState>, id: i32, dst: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let name = syscalls::syscall_name(id as u32 as u16);
    if write_buf(mem, dst as u64, name.as_bytes()) {
        0
    } else {
        st.warn("getSyscallName: destination buffer too small or invalid");
        1
    }
}

fn get_syscall_declaration(mut c: Caller<'_, HostState>, name: i64, dst: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some(n) = read_str(mem, name as u64) else {
        st.warn("getSyscallDeclaration: invalid name pointer");
        return 1;
    };
    let decls = syscalls::SyscallDeclarations::global();
    let Some(d) = decls.get(&n) else {
        match decls.error() {
            Some(e) => st.warn(format!("getSyscallDeclaration: {n:?}: {e}")),
            None => st.warn(format!("getSyscallDeclaration: unknown syscall {n:?}")),
        }
        return 1;
    };
    let rec = syscalls::encode_declaration(d);
    if write_buf(mem, dst as u64, &rec) {
        0
    } else {
        st.warn("getSyscallDeclaration: destination buffer smaller than 252 bytes or invalid");
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_log_matches_reference_formula() {
        assert!(should_log(LogLevel::Info, 0));
        assert!(should_log(LogLevel::Info, 2));
        assert!(!should_log(LogLevel::Info, 3));
        assert!(should_log(LogLevel::Trace, 4));
        assert!(!should_log(LogLevel::Trace, 5));
        assert!(!should_log(LogLevel::Error, 1));
        // A level near 2^32 wraps and passes, like the reference host.
        assert!(should_log(LogLevel::Error, u32::MAX - 1));
    }
}
