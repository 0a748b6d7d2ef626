//! Loading one plugin library and the ABI handshake: entry symbol, ABI version, table size,
//! non-null functions, a valid manifest. Also the in-process call of `run` with progress and
//! cancellation callbacks.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use entmoot_plugin_sdk::abi::{
    self, CancelFn, EntmootBuffer, FreeFn, ManifestFn, ProgressFn, RunFn, RunInput, RunOutput,
};
use entmoot_plugin_sdk::{Layout, Manifest, Progress, StrategyError};
use libloading::Library;

use crate::HostError;

/// The v1 table as the host reads it: function pointers may be null in a broken plugin, so
/// they are `Option`s (same layout as the sdk's `EntmootStrategyV1`).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawTableV1 {
    abi_version: u32,
    struct_size: u32,
    manifest: Option<ManifestFn>,
    run: Option<RunFn>,
    free: Option<FreeFn>,
}

const _: () = assert!(
    std::mem::size_of::<RawTableV1>() == std::mem::size_of::<abi::EntmootStrategyV1>(),
    "the host's view of the table must match the sdk's"
);

/// A loaded plugin that passed the handshake. The library stays loaded while this lives.
pub struct LoadedPlugin {
    path: PathBuf,
    run: RunFn,
    free: FreeFn,
    manifest: Manifest,
    // Dropped (unloaded) after everything that points into it.
    _library: Library,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("manifest", &self.manifest.name)
            .finish_non_exhaustive()
    }
}

/// Why a library is not a usable plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot load the library: {0}")]
    Open(String),
    #[error(
        "no entry symbol `{symbol}`: not an Entmoot strategy plugin, or built for another ABI ({detail})"
    )]
    MissingSymbol { symbol: String, detail: String },
    #[error("the entry function returned a null table")]
    NullTable,
    #[error("ABI version {found} is not supported (this host speaks version {expected})")]
    AbiVersion { found: u32, expected: u32 },
    #[error("function table is {found} bytes, smaller than the {expected} bytes of ABI v{abi}")]
    TableSize { found: u32, expected: u32, abi: u32 },
    #[error("function table has a null `{0}` function")]
    NullFunction(&'static str),
    #[error("manifest: {0}")]
    Manifest(String),
}

impl LoadedPlugin {
    /// Loads `path` in place and performs the handshake: what the sandboxed runner does with
    /// the host's private copy. Loading runs the library's initialisers in this process, so the
    /// host itself calls this only under `Isolation::InProcess`.
    pub fn load(path: &Path) -> Result<LoadedPlugin, LoadError> {
        // SAFETY: loading a library runs its initialisers; plugin directories are operator
        // configuration, and everything after this only calls the versioned C ABI.
        let library = unsafe { Library::new(path) }.map_err(|e| LoadError::Open(e.to_string()))?;
        let symbol = abi::ENTRY_SYMBOL;
        // SAFETY: the symbol's type is fixed by the ABI (no arguments, returns a pointer).
        let entry: abi::EntryFn = unsafe { library.get::<abi::EntryFn>(symbol) }
            .map(|s| *s)
            .map_err(|e| LoadError::MissingSymbol {
                symbol: symbol.to_string_lossy().into_owned(),
                detail: e.to_string(),
            })?;
        // SAFETY: calling the entry function is the ABI's first step; it takes no input.
        let table_ptr = unsafe { entry() }.cast::<RawTableV1>();
        if table_ptr.is_null() {
            return Err(LoadError::NullTable);
        }
        // Read only the two leading u32s before trusting the size.
        // SAFETY: every ABI version starts with `abi_version: u32, struct_size: u32`.
        let header = unsafe { table_ptr.cast::<[u32; 2]>().read_unaligned() };
        let [abi_version, struct_size] = header;
        if abi_version != abi::ABI_VERSION {
            return Err(LoadError::AbiVersion {
                found: abi_version,
                expected: abi::ABI_VERSION,
            });
        }
        if struct_size < abi::TABLE_SIZE_V1 {
            return Err(LoadError::TableSize {
                found: struct_size,
                expected: abi::TABLE_SIZE_V1,
                abi: abi::ABI_VERSION,
            });
        }
        // SAFETY: the plugin declared a v1 table at least as large as ours.
        let table = unsafe { table_ptr.read_unaligned() };
        let manifest_fn = table.manifest.ok_or(LoadError::NullFunction("manifest"))?;
        let run = table.run.ok_or(LoadError::NullFunction("run"))?;
        let free = table.free.ok_or(LoadError::NullFunction("free"))?;

        // SAFETY: a v1 `manifest` takes nothing and returns a buffer to pass to `free`.
        let buffer = unsafe { manifest_fn() };
        // SAFETY: the buffer came from this plugin's `manifest`.
        let bytes = unsafe { take_buffer(buffer, free) }
            .ok_or_else(|| LoadError::Manifest("the manifest function returned no data".into()))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| LoadError::Manifest(format!("not a valid manifest JSON: {e}")))?;
        crate::caps::check_manifest_sizes(&manifest).map_err(LoadError::Manifest)?;
        manifest.validate().map_err(LoadError::Manifest)?;
        if manifest.abi_version != abi::ABI_VERSION {
            return Err(LoadError::Manifest(format!(
                "manifest.abi_version is {}, but the table says {}",
                manifest.abi_version,
                abi::ABI_VERSION
            )));
        }
        Ok(LoadedPlugin {
            path: path.to_path_buf(),
            run,
            free,
            manifest,
            _library: library,
        })
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The file actually loaded (the private copy when made by `load_private_copy`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls `run` in this process. Progress goes to `on_progress`; the plugin polls `cancel`.
    /// A plugin that loops forever or crashes takes the caller with it: prefer the child
    /// process runner.
    pub fn run_in_process(
        &self,
        input: &RunInput,
        on_progress: &mut dyn FnMut(Progress),
        cancel: &AtomicBool,
    ) -> Result<Vec<Layout>, HostError> {
        let request = serde_json::to_vec(input)
            .map_err(|e| HostError::Protocol(format!("cannot encode the run request: {e}")))?;
        self.run_encoded(&request, on_progress, cancel)
    }

    /// Like `run_in_process` with the `RunInput` already encoded as JSON (the child runner
    /// passes the host's bytes through without decoding and encoding them again).
    pub fn run_encoded(
        &self,
        request: &[u8],
        on_progress: &mut dyn FnMut(Progress),
        cancel: &AtomicBool,
    ) -> Result<Vec<Layout>, HostError> {
        let mut state = CallbackState {
            on_progress,
            cancel,
        };
        let mut out = EntmootBuffer::empty();
        // SAFETY: the request bytes and `out` outlive the call; the callbacks only use
        // `state`, which lives on this stack frame for the whole (synchronous) call.
        let status = unsafe {
            (self.run)(
                request.as_ptr(),
                request.len(),
                Some(progress_trampoline as ProgressFn),
                Some(cancel_trampoline as CancelFn),
                (&mut state as *mut CallbackState<'_>).cast::<c_void>(),
                &mut out,
            )
        };
        // SAFETY: `out` was written by this plugin's `run`.
        let bytes = unsafe { take_buffer(out, self.free) }.unwrap_or_default();
        decode_run_result(status, &bytes)
    }
}

/// Copies a plugin buffer and frees it with the plugin's own `free`.
///
/// # Safety
/// `buffer` must come from the plugin whose `free` is given and not be used afterwards.
unsafe fn take_buffer(buffer: EntmootBuffer, free: FreeFn) -> Option<Vec<u8>> {
    if buffer.ptr.is_null() {
        return None;
    }
    // SAFETY: per the ABI, `ptr` points to `len` initialised bytes owned by the plugin.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec();
    // SAFETY: returned to the allocator that produced it.
    unsafe { free(buffer) };
    Some(bytes)
}

/// Turns `run`'s status and output bytes into layouts or an error.
pub fn decode_run_result(status: i32, bytes: &[u8]) -> Result<Vec<Layout>, HostError> {
    match status {
        abi::STATUS_OK => serde_json::from_slice::<RunOutput>(bytes)
            .map(|o| o.layouts)
            .map_err(|e| HostError::Protocol(format!("the plugin's result is not valid: {e}"))),
        abi::STATUS_ERROR => match serde_json::from_slice::<StrategyError>(bytes) {
            Ok(StrategyError::Cancelled) => Err(HostError::Cancelled),
            Ok(e) => Err(HostError::Strategy(e)),
            Err(e) => Err(HostError::Protocol(format!(
                "the plugin failed and its error is not valid JSON ({e}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            ))),
        },
        other => Err(HostError::Protocol(format!(
            "the plugin returned the unknown status {other}"
        ))),
    }
}

struct CallbackState<'a> {
    on_progress: &'a mut dyn FnMut(Progress),
    cancel: &'a AtomicBool,
}

unsafe extern "C" fn progress_trampoline(user_data: *mut c_void, json: *const u8, len: usize) {
    if user_data.is_null() || json.is_null() {
        return;
    }
    // A panic in the host's callback must not unwind into the plugin's C frames.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `user_data` is the `CallbackState` passed to `run`, alive during the call.
        let state = unsafe { &mut *user_data.cast::<CallbackState<'_>>() };
        // SAFETY: the plugin passes `len` readable bytes, valid during this call.
        let bytes = unsafe { std::slice::from_raw_parts(json, len) };
        match serde_json::from_slice::<Progress>(bytes) {
            Ok(p) => (state.on_progress)(p),
            Err(e) => tracing::debug!("ignoring a malformed progress report from a plugin: {e}"),
        }
    }));
}

unsafe extern "C" fn cancel_trampoline(user_data: *mut c_void) -> i32 {
    if user_data.is_null() {
        return 0;
    }
    // SAFETY: as in `progress_trampoline`; only the atomic flag is read.
    let state = unsafe { &*user_data.cast::<CallbackState<'_>>() };
    i32::from(state.cancel.load(Ordering::Relaxed))
}
