//! Writes the hostile push frames of `tests/common/hostile.rs` (each the worst of its
//! kind within the decode caps) into a directory, one `NAME.bin` each, and prints what
//! each holds. `bench/hostile.sh` decodes them with `tikcast decode` and reports CPU
//! time and peak RSS.
//!
//! ```sh
//! cargo run --release -p tikcast-core --example hostile_inputs -- /tmp/hostile
//! ```

#[path = "../tests/common/hostile.rs"]
mod hostile;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "hostile-inputs".to_string());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("hostile_inputs: cannot create {dir}: {e}");
        std::process::exit(1);
    }
    for h in hostile::all() {
        let path = std::path::Path::new(&dir).join(format!("{}.bin", h.name));
        if let Err(e) = std::fs::write(&path, &h.frame) {
            eprintln!("hostile_inputs: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("{}\t{}\t{}", h.name, h.frame.len(), h.what);
    }
}
