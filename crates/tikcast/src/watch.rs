//! `tikcast watch`: runs a `Session` over a real WebSocket (being written).

#[derive(clap::Args, Debug)]
pub struct WatchArgs {}

pub fn run(_args: WatchArgs) -> Result<(), String> {
    Err("watch: not built yet".into())
}
