//! Temporary: the eBPF side is being integrated.
use crate::error::{err, ErrorCode, Result};
use crate::host::HostState;
use crate::params::{ParamDecl, Params};

pub struct EbpfGadget;
impl EbpfGadget {
    pub fn open(_obj: &[u8], _meta: &serde_yaml::Value) -> Result<EbpfGadget> {
        err(ErrorCode::Unsupported, "eBPF objects are not supported yet")
    }
    pub fn params(&self) -> Vec<ParamDecl> { Vec::new() }
    pub fn register_datasources(&self, _st: &mut HostState) {}
    pub fn start(&mut self, _p: &Params, _c: &serde_yaml::Value, _m: Option<&std::collections::HashSet<u64>>, _w: std::sync::Weak<crate::gadget::GadgetInner>) -> Result<()> { Ok(()) }
    pub fn publish_maps(&self, _st: &mut HostState) {}
    pub fn stop(&mut self) {}
    pub fn close(&mut self) {}
    pub fn lost_by_datasource(&self) -> Vec<(String, u64)> { Vec::new() }
}
pub fn fill_record(_s: &crate::datasource::Schema, _r: &mut crate::datasource::Record, _raw: &[u8]) {}
