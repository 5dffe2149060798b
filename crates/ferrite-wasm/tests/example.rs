//! Runs the seed's Rust API example (`examples/rust_api.rs`).

#[path = "../examples/rust_api.rs"]
mod rust_api;

#[test]
fn seed_rust_api_example_runs() {
    rust_api::main().unwrap();
}
