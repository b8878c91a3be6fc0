//! `tikcast relay`: a self-hostable JWT relay (being written).

#[derive(clap::Args)]
pub struct RelayArgs {}

pub fn run(_args: RelayArgs) -> Result<(), String> {
    Err("relay: not built yet".into())
}
