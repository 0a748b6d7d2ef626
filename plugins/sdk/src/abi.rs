//! The plugin C ABI, version 1 (see `plugins/sdk/ABI.md` and `include/entmoot_strategy.h`):
//! `#[repr(C)]` types, the JSON envelopes that cross the boundary, and the generic
//! `extern "C"` bodies that `export_strategy!` instantiates for a `Strategy` type.
//!
//! Only plain integers, pointers, function pointers and UTF-8 JSON bytes cross the boundary.
//! Every exported body runs inside `catch_unwind`, because a panic escaping an `extern "C"`
//! function aborts the whole process.

use std::any::Any;
use std::ffi::{CStr, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::problem::Problem;
use crate::strategy::{Progress, RunContext, RunRequest, Strategy, StrategyError};

/// The ABI version this sdk implements. Bumped on any incompatible change.
pub const ABI_VERSION: u32 = 1;

/// Name of the entry symbol every plugin exports.
pub const ENTRY_SYMBOL: &CStr = c"entmoot_strategy_entry_v1";

/// `run` succeeded; the output buffer holds a `RunOutput` JSON object.
pub const STATUS_OK: i32 = 0;
/// `run` failed; the output buffer holds a `StrategyError` JSON object.
pub const STATUS_ERROR: i32 = 1;

/// A byte buffer allocated by the plugin; give it back with the table's `free`.
#[repr(C)]
#[derive(Debug)]
pub struct EntmootBuffer {
    pub ptr: *mut u8,
    pub len: usize,
}

impl EntmootBuffer {
    /// The empty buffer (null pointer, zero length).
    pub const fn empty() -> Self {
        EntmootBuffer {
            ptr: std::ptr::null_mut(),
            len: 0,
        }
    }

    /// Hands `bytes` over to the C side; reclaim with `free_buffer` in the same library.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed).cast::<u8>();
        EntmootBuffer { ptr, len }
    }
}

/// Progress callback: `json` is a UTF-8 `Progress` object, valid only during the call.
pub type ProgressFn = unsafe extern "C" fn(user_data: *mut c_void, json: *const u8, len: usize);

/// Cancellation query: non-zero means "stop now".
pub type CancelFn = unsafe extern "C" fn(user_data: *mut c_void) -> i32;

/// Returns the manifest as a JSON buffer (empty on failure).
pub type ManifestFn = unsafe extern "C" fn() -> EntmootBuffer;

/// Runs the strategy on a `RunInput` JSON request; writes the result buffer to `*out`.
pub type RunFn = unsafe extern "C" fn(
    request: *const u8,
    request_len: usize,
    progress: Option<ProgressFn>,
    cancel: Option<CancelFn>,
    user_data: *mut c_void,
    out: *mut EntmootBuffer,
) -> i32;

/// Frees a buffer returned by `manifest` or `run`.
pub type FreeFn = unsafe extern "C" fn(buffer: EntmootBuffer);

/// The function table a plugin's entry symbol returns. Check `abi_version` and `struct_size`
/// before touching any other field.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EntmootStrategyV1 {
    pub abi_version: u32,
    /// `size_of::<EntmootStrategyV1>()` as the plugin saw it.
    pub struct_size: u32,
    pub manifest: ManifestFn,
    pub run: RunFn,
    pub free: FreeFn,
}

/// Size of the v1 table.
pub const TABLE_SIZE_V1: u32 = std::mem::size_of::<EntmootStrategyV1>() as u32;

/// Signature of the entry symbol.
pub type EntryFn = unsafe extern "C" fn() -> *const EntmootStrategyV1;

/// The JSON request `run` receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    pub problem: Problem,
    pub request: RunRequest,
}

/// The JSON `run` returns with `STATUS_OK`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutput {
    pub layouts: Vec<Layout>,
}

/// Text of a caught panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Body of the exported `manifest` function.
pub extern "C" fn manifest_extern<S: Strategy + Default>() -> EntmootBuffer {
    let result = catch_unwind(|| {
        let mut manifest = S::default().manifest();
        // The sdk, not the strategy, knows which ABI the table implements.
        manifest.abi_version = ABI_VERSION;
        serde_json::to_vec(&manifest).ok()
    });
    match result {
        Ok(Some(bytes)) => EntmootBuffer::from_vec(bytes),
        _ => EntmootBuffer::empty(),
    }
}

/// Body of the exported `run` function.
///
/// # Safety
/// `request` must point to `request_len` readable bytes (or be null with length 0), `out` must
/// be a valid pointer to write a buffer to, and `progress`/`cancel` must be safe to call with
/// `user_data` from this thread for the duration of the call.
pub unsafe extern "C" fn run_extern<S: Strategy + Default>(
    request: *const u8,
    request_len: usize,
    progress: Option<ProgressFn>,
    cancel: Option<CancelFn>,
    user_data: *mut c_void,
    out: *mut EntmootBuffer,
) -> i32 {
    if out.is_null() {
        return STATUS_ERROR;
    }
    let bytes: &[u8] = if request.is_null() || request_len == 0 {
        &[]
    } else {
        // SAFETY: the caller guarantees `request_len` readable bytes at `request`.
        unsafe { std::slice::from_raw_parts(request, request_len) }
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let input: RunInput = serde_json::from_slice(bytes)
            .map_err(|e| StrategyError::BadRequest(format!("request JSON: {e}")))?;
        let report = move |p: &Progress| {
            if let (Some(f), Ok(json)) = (progress, serde_json::to_vec(p)) {
                // SAFETY: the caller guarantees `progress` may be called with `user_data`.
                unsafe { f(user_data, json.as_ptr(), json.len()) };
            }
        };
        // SAFETY: as above, for `cancel`.
        let cancelled = move || cancel.is_some_and(|f| unsafe { f(user_data) } != 0);
        let mut ctx =
            RunContext::new(report, cancelled).with_time_limit(input.request.time_limit_ms);
        S::default().run(&input.problem, &input.request, &mut ctx)
    }));
    let (status, payload) = match result {
        Ok(Ok(layouts)) => (STATUS_OK, serde_json::to_vec(&RunOutput { layouts })),
        Ok(Err(error)) => (STATUS_ERROR, serde_json::to_vec(&error)),
        Err(panic) => (
            STATUS_ERROR,
            serde_json::to_vec(&StrategyError::Panicked(panic_message(panic.as_ref()))),
        ),
    };
    let (status, bytes) = match payload {
        Ok(bytes) => (status, bytes),
        Err(e) => (
            STATUS_ERROR,
            format!(r#"{{"kind":"failed","message":"cannot encode the result: {e}"}}"#)
                .into_bytes(),
        ),
    };
    // SAFETY: `out` is non-null and valid for writes per the caller's contract.
    unsafe { out.write(EntmootBuffer::from_vec(bytes)) };
    status
}

/// Body of the exported `free` function.
///
/// # Safety
/// `buffer` must come from `manifest_extern`/`run_extern` of this same library and not have
/// been freed before.
pub unsafe extern "C" fn free_buffer(buffer: EntmootBuffer) {
    if buffer.ptr.is_null() {
        return;
    }
    // SAFETY: the pointer and length come from `EntmootBuffer::from_vec` (a leaked Box<[u8]>).
    let slice = std::ptr::slice_from_raw_parts_mut(buffer.ptr, buffer.len);
    drop(unsafe { Box::from_raw(slice) });
}

/// Exports a `Strategy + Default` type through the C ABI: defines the entry symbol
/// `entmoot_strategy_entry_v1` returning a static `EntmootStrategyV1` table. Use once per
/// `cdylib`.
#[macro_export]
macro_rules! export_strategy {
    ($strategy:ty) => {
        /// Entry point of the Entmoot strategy plugin ABI v1.
        #[unsafe(no_mangle)]
        pub extern "C" fn entmoot_strategy_entry_v1() -> *const $crate::abi::EntmootStrategyV1 {
            static TABLE: $crate::abi::EntmootStrategyV1 = $crate::abi::EntmootStrategyV1 {
                abi_version: $crate::abi::ABI_VERSION,
                struct_size: $crate::abi::TABLE_SIZE_V1,
                manifest: $crate::abi::manifest_extern::<$strategy>,
                run: $crate::abi::run_extern::<$strategy>,
                free: $crate::abi::free_buffer,
            };
            &TABLE
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Capabilities, Manifest};
    use crate::test_support::square_problem;

    #[derive(Default)]
    struct Echo;

    impl Strategy for Echo {
        fn manifest(&self) -> Manifest {
            Manifest {
                name: "echo".into(),
                version: "1.0.0".into(),
                abi_version: 0,
                description: "returns an empty layout".into(),
                authors: vec![],
                license: None,
                capabilities: Capabilities::default(),
                parameters: serde_json::json!({"type": "object"}),
            }
        }

        fn run(
            &self,
            _problem: &Problem,
            request: &RunRequest,
            ctx: &mut RunContext<'_>,
        ) -> Result<Vec<Layout>, StrategyError> {
            ctx.report(0.5, None, "halfway");
            if request.seed == 13 {
                panic!("unlucky seed");
            }
            ctx.check_cancelled()?;
            Ok(vec![Layout::default()])
        }
    }

    crate::export_strategy!(Echo);

    unsafe extern "C" fn record(user_data: *mut c_void, json: *const u8, len: usize) {
        let seen = unsafe { &mut *user_data.cast::<Vec<String>>() };
        let bytes = unsafe { std::slice::from_raw_parts(json, len) };
        seen.push(String::from_utf8_lossy(bytes).into_owned());
    }

    unsafe extern "C" fn always_cancel(_: *mut c_void) -> i32 {
        1
    }

    fn call(
        table: &EntmootStrategyV1,
        input: &[u8],
        cancel: Option<CancelFn>,
    ) -> (i32, String, Vec<String>) {
        let mut seen: Vec<String> = Vec::new();
        let mut out = EntmootBuffer::empty();
        let status = unsafe {
            (table.run)(
                input.as_ptr(),
                input.len(),
                Some(record),
                cancel,
                (&mut seen as *mut Vec<String>).cast(),
                &mut out,
            )
        };
        let text = unsafe {
            String::from_utf8_lossy(std::slice::from_raw_parts(out.ptr, out.len)).into_owned()
        };
        unsafe { (table.free)(out) };
        (status, text, seen)
    }

    #[test]
    fn exported_table_round_trip() {
        let table = unsafe { &*entmoot_strategy_entry_v1() };
        assert_eq!(table.abi_version, ABI_VERSION);
        assert_eq!(table.struct_size, TABLE_SIZE_V1);

        let m = unsafe { (table.manifest)() };
        let manifest: Manifest =
            serde_json::from_slice(unsafe { std::slice::from_raw_parts(m.ptr, m.len) }).unwrap();
        unsafe { (table.free)(m) };
        assert_eq!(manifest.name, "echo");
        assert_eq!(manifest.abi_version, ABI_VERSION, "filled in by the sdk");

        let input = serde_json::to_vec(&RunInput {
            problem: square_problem(),
            request: RunRequest::default(),
        })
        .unwrap();
        let (status, text, seen) = call(table, &input, None);
        assert_eq!(status, STATUS_OK, "{text}");
        let output: RunOutput = serde_json::from_str(&text).unwrap();
        assert_eq!(output.layouts.len(), 1);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].contains("\"message\":\"halfway\""), "{}", seen[0]);

        let (status, text, _) = call(table, &input, Some(always_cancel));
        assert_eq!(status, STATUS_ERROR);
        assert_eq!(
            serde_json::from_str::<StrategyError>(&text).unwrap(),
            StrategyError::Cancelled
        );
    }

    #[test]
    fn bad_requests_and_panics_become_errors() {
        let table = unsafe { &*entmoot_strategy_entry_v1() };
        let (status, text, _) = call(table, b"{not json", None);
        assert_eq!(status, STATUS_ERROR);
        let e: StrategyError = serde_json::from_str(&text).unwrap();
        assert!(
            matches!(e, StrategyError::BadRequest(ref m) if m.contains("request JSON")),
            "{e:?}"
        );

        let input = serde_json::to_vec(&RunInput {
            problem: square_problem(),
            request: RunRequest {
                seed: 13,
                ..RunRequest::default()
            },
        })
        .unwrap();
        let (status, text, _) = call(table, &input, None);
        assert_eq!(status, STATUS_ERROR);
        assert_eq!(
            serde_json::from_str::<StrategyError>(&text).unwrap(),
            StrategyError::Panicked("unlucky seed".into())
        );
        // A null output pointer is refused without touching it.
        let status = unsafe {
            (table.run)(
                input.as_ptr(),
                input.len(),
                None,
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(status, STATUS_ERROR);
    }
}
