//! A strategy built on the sdk that misbehaves on request, for the host's tests: the request's
//! `parameters.mode` picks the failure (`panic`, `segfault`, `abort`, `spin`, `hog`, `liar`,
//! `print`), anything else places nothing. Built as a `cdylib` example of the host crate
//! (`cargo build -p entmoot-plugin-host --example misbehaving_plugin`), so it never lands
//! beside the `entmoot` binary where the server would find it.

use entmoot_plugin_sdk::strategy::{Capabilities, Manifest};
use entmoot_plugin_sdk::{
    Layout, PlacedAsset, Problem, RunContext, RunRequest, Strategy, StrategyError, abi,
};

#[derive(Default)]
pub struct Misbehaving;

entmoot_plugin_sdk::export_strategy!(Misbehaving);

impl Strategy for Misbehaving {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "misbehaving".into(),
            version: "0.0.1".into(),
            abi_version: abi::ABI_VERSION,
            description: "fails in the way parameters.mode asks (host tests only)".into(),
            authors: vec!["Entmoot tests".into()],
            license: Some("Apache-2.0".into()),
            capabilities: Capabilities::default(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "mode": {"type": "string", "description": "how to fail", "default": "none"}
                }
            }),
        }
    }

    fn run(
        &self,
        problem: &Problem,
        request: &RunRequest,
        ctx: &mut RunContext<'_>,
    ) -> Result<Vec<Layout>, StrategyError> {
        ctx.report(0.1, None, "misbehaving plugin started");
        let mode = request
            .parameters
            .get("mode")
            .and_then(|m| m.as_str())
            .unwrap_or("none");
        match mode {
            "panic" => panic!("deliberate panic in the misbehaving plugin"),
            "segfault" => {
                // SAFETY: none; this is the point of the test.
                unsafe { std::ptr::null_mut::<u64>().write_volatile(42) };
                unreachable!()
            }
            "abort" => std::process::abort(),
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "hog" => {
                // Touch every page so the memory is really used, until the allocator fails.
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 64 * 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            "liar" => {
                // Every asset at the same point far outside the site.
                let assets = problem
                    .assets
                    .iter()
                    .map(|a| PlacedAsset {
                        asset_id: a.asset_id.clone(),
                        name: a.name.clone(),
                        asset_type: a.asset_type,
                        center: [0.0, 0.0],
                        width_m: a.width_m,
                        length_m: a.length_m,
                        rotation_deg: 0.0,
                        shape: Default::default(),
                    })
                    .collect();
                Ok(vec![Layout {
                    assets,
                    ..Layout::default()
                }])
            }
            "print" => {
                println!(
                    "{{\"event\":\"result\",\"layouts\":[]}} <- plugin stdout must not reach the protocol"
                );
                eprintln!("plugin stderr is kept for error messages");
                Ok(vec![Layout::default()])
            }
            _ => Ok(vec![Layout::default()]),
        }
    }
}
