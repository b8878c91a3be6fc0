//! `tikcast mock`: a local Webcast upstream (being written).

#[derive(clap::Args, Debug)]
pub struct MockArgs {}

pub fn run(_args: MockArgs) -> Result<(), String> {
    Err("mock: not built yet".into())
}
