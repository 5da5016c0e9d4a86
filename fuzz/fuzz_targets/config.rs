//! `config.toml` and the `LATCHKEY_…` environment overrides: any text and
//! any variables give a configuration or an error naming what is wrong,
//! never a panic.
#![no_main]

use std::path::Path;

use latchkey::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, Vec<(&str, &str)>)| {
    let (text, variables) = input;
    // Named as an orchestrator would set them, so the fuzzer spends its
    // time on sections, keys and values.
    let env = variables
        .into_iter()
        .map(|(name, value)| (format!("LATCHKEY_{name}"), value.to_owned()));
    match Config::from_parts(Path::new("fuzz.toml"), text, env) {
        Ok(_) => {}
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
