//! gadgetrt runs Inspektor Gadget-style gadgets (an eBPF program, a WebAssembly program and
//! metadata) inside any program, and hands their events to the embedder.
//!
//! The core is plain Rust: [`runtime::Runtime`] owns the wasmtime engine, [`gadget::Gadget`]
//! owns one gadget's `Store` and lifecycle, [`datasource`] is the data-source engine, [`host`]
//! implements the `ig` wasm host ABI. The C API lives in `ffi` (the only module with raw
//! pointers); `include/gadgetrt.h` is generated from it.

pub mod config;
pub mod containers;
pub mod datasource;
pub mod ebpf;
pub mod error;
pub mod events;
pub mod ffi;
pub mod gadget;
pub mod host;
pub mod image;
pub mod operators;
pub mod output;
pub mod params;
pub mod runtime;

pub use error::{Error, ErrorCode, Result};
pub use events::{Event, LogLevel, StatsSnapshot};
pub use gadget::{Gadget, GadgetSource, HostPacket, Interrupter, State};
pub use runtime::{Limits, Runtime, RuntimeOptions};
/// A container the embedder supplies with [`Runtime::add_container`].
pub use containers::Container as ContainerInfo;

/// The gadget wasm API version this host implements.
pub const GADGET_API_VERSION: u32 = 1;
