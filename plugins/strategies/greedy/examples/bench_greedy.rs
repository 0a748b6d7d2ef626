//! Benchmarks the greedy strategy on the reference fixtures (5 runs each, median time):
//! `cargo run --release -p entmoot-strategy-greedy --example bench_greedy`.
#![allow(clippy::print_stdout)]

use entmoot_plugin_sdk::RunRequest;
use entmoot_plugin_sdk::bench::{TABLE_HEADER, bench_row, fixtures};
use entmoot_strategy_greedy::GreedyStrategy;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("{TABLE_HEADER}");
    for f in fixtures()? {
        println!(
            "{}",
            bench_row(&GreedyStrategy, &f, &RunRequest::default(), 5)
        );
    }
    Ok(())
}
