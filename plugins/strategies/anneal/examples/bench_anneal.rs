//! Benchmarks the anneal strategy on the reference fixtures (5 runs each, median time, seed 0,
//! default parameters): `cargo run --release -p entmoot-strategy-anneal --example bench_anneal`.
#![allow(clippy::print_stdout)]

use entmoot_plugin_sdk::RunRequest;
use entmoot_plugin_sdk::bench::{TABLE_HEADER, bench_row, fixtures};
use entmoot_strategy_anneal::AnnealStrategy;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("{TABLE_HEADER}");
    for f in fixtures()? {
        println!(
            "{}",
            bench_row(&AnnealStrategy, &f, &RunRequest::default(), 5)
        );
    }
    Ok(())
}
