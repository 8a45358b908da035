//! The compatibility cases (compat-tests/cases/*.toml), each its own test,
//! on each generation it applies to (every generation unless the case's
//! `generation` key names one): `<case>::<generation>` straight to replyd,
//! and `<case>::<generation>::nginx` through a real nginx configured with
//! nginx.conf.example (on the two fixture generations: nginx does not look
//! at the schema). A case, or a generation, is picked by name:
//!
//! ```sh
//! cargo test --test compat 009-create-internal-form
//! cargo test --test compat -- --exact 001-read-missing-key::user_keys
//! cargo test --test compat dump_2_6_7
//! ```
//!
//! A data-driven harness (libtest-mimic, `harness = false` in Cargo.toml):
//! the trials are made from the case files at run time.

// Shared with the api test binary; each binary uses part of them.
#[allow(dead_code)]
#[path = "../api/compat.rs"]
mod compat;
#[allow(dead_code, unused_imports)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code, unused_imports)]
#[path = "../api/nginx.rs"]
mod nginx;
#[allow(dead_code, unused_imports)]
#[path = "../api/process.rs"]
mod process;

use compat::{Case, Via, case_files, run_case};
use helpers::Generation;
use libtest_mimic::{Arguments, Trial};
use std::path::PathBuf;

fn trial(name: String, file: PathBuf, generation: Generation, nginx: Option<PathBuf>) -> Trial {
    let case_name = file.file_name().unwrap().to_string_lossy().into_owned();
    Trial::test(name, move || {
        let case = Case::load(&file)?;
        let via = match &nginx {
            None => Via::Direct,
            Some(bin) => Via::Nginx(bin),
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run_case(&case_name, case, generation, &via))
            .map_err(Into::into)
    })
}

fn main() {
    let args = Arguments::from_args();
    let generations = Generation::all();
    let nginx = nginx::nginx_binary();
    let mut trials = Vec::new();
    for file in case_files() {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let case = match Case::load(&file) {
            Ok(case) => case,
            Err(e) => {
                // A case that does not parse fails as itself.
                trials.push(Trial::test(stem, move || Err(e.into())));
                continue;
            }
        };
        for generation in generations.iter().filter(|g| case.applies_to(g)) {
            let name = format!("{stem}::{}", generation.label());
            trials.push(trial(name.clone(), file.clone(), generation.clone(), None));
            if let Some(bin) = &nginx
                && !matches!(generation, Generation::Dump(_))
            {
                trials.push(trial(
                    format!("{name}::nginx"),
                    file.clone(),
                    generation.clone(),
                    Some(bin.clone()),
                ));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
