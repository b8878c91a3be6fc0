//! The two plain-HTTP endpoints of TikTok's web side that the relay's REST helpers ask,
//! in the shape TikTok answers them (as public projects describe it; no TikTok code):
//!
//! * `GET /api-live/user/room/?aid=1988&sourceType=54&uniqueId=NAME` — a creator's
//!   profile and live room: `{"statusCode":0,"message":"","data":{"user":{"id",
//!   "uniqueId","nickname","secUid","avatarThumb","avatarMedium","avatarLarger","roomId",
//!   "status"},"liveRoom":{"title","status","startTime","liveRoomStats":{"userCount"}}}}`;
//!   `status` 2 is live, 4 is not (then `roomId` is empty). An unknown creator gets
//!   `{"statusCode":19881007,"message":"user_not_found","data":{}}`.
//! * `GET /webcast/gift/list/?aid=1988` — the gift catalog,
//!   `{"status_code":0,"data":{"gifts":[{"id","name","diamond_count","image":{"url_list"}}]}}`.
//!
//! Every handle is a user of the mock: live in the mock's one room, unless named by
//! `--offline` (exists, not live) or `--missing` (does not exist). Ids are derived from
//! the handle, so every run answers the same.

use super::state::Config;
use super::Query;
use crate::script::{Catalog, GiftDef};

/// TikTok's `statusCode` for a handle that names no user.
const USER_NOT_FOUND: u64 = 19_881_007;
/// `status` of a user or room that is live; 4 is a room that ended.
const LIVE: u64 = 2;
const ENDED: u64 = 4;

/// A stable 64-bit number for a handle (FNV-1a), the base of its ids.
fn handle_hash(handle: &str) -> u64 {
    handle.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `/api-live/user/room/`: (status line, JSON body).
pub(crate) fn user_room(cfg: &Config, query: &Query) -> (&'static str, String) {
    let name = super::jwt::normalize_handle(query.get("uniqueId").unwrap_or(""));
    if name.is_empty() {
        let body =
            serde_json::json!({"statusCode": 40002, "message": "invalid_params", "data": {}});
        return ("200 OK", body.to_string());
    }
    if cfg.missing.contains(&name) {
        let body = serde_json::json!({"statusCode": USER_NOT_FOUND, "message": "user_not_found", "data": {}});
        return ("200 OK", body.to_string());
    }
    let live = !cfg.offline.contains(&name);
    let h = handle_hash(&name);
    // User ids are 19-digit numbers on TikTok; keep the mock's in that range.
    let user_id = 6_800_000_000_000_000_000 + h % 1_000_000_000_000_000_000;
    let avatar =
        |size: u32| format!("https://p16.mock.tikcast.invalid/avatar/{name}~{size}x{size}.webp");
    let status = if live { LIVE } else { ENDED };
    let body = serde_json::json!({
        "statusCode": 0,
        "message": "",
        "data": {
            "user": {
                "id": user_id.to_string(),
                "uniqueId": name,
                "nickname": format!("Mock {name}"),
                "secUid": format!("MS4wLjABAAAA{h:016x}{:016x}", h.rotate_left(17)),
                "avatarThumb": avatar(100),
                "avatarMedium": avatar(720),
                "avatarLarger": avatar(1080),
                "roomId": if live { cfg.room_id.to_string() } else { String::new() },
                "status": status,
            },
            "liveRoom": {
                "title": if live { "tikcast mock room" } else { "" },
                "status": status,
                "startTime": if live { cfg.started_ms / 1000 } else { 0 },
                "liveRoomStats": {"userCount": if live { 3 } else { 0 }},
            },
        },
    });
    ("200 OK", body.to_string())
}

/// The mock's gift catalog: id, name, diamonds. Served by `/webcast/gift/list/` and the
/// catalog of `--script` gift lines.
const GIFTS: [(u64, &str, i32); 6] = [
    (5655, "Rose", 1),
    (5269, "TikTok", 1),
    (6064, "GG", 1),
    (5827, "Ice Cream Cone", 1),
    (5879, "Doughnut", 30),
    (6104, "Cap", 99),
];

fn gift_image(id: u64) -> String {
    format!("https://p16.mock.tikcast.invalid/gift/{id}.webp")
}

/// [`GIFTS`] as a script catalog.
pub(crate) fn catalog() -> Catalog {
    GIFTS
        .iter()
        .map(|&(id, name, diamonds)| {
            let g = GiftDef {
                name: name.into(),
                diamonds,
                image: gift_image(id),
            };
            (id, g)
        })
        .collect()
}

/// `/webcast/gift/list/`: [`GIFTS`] in TikTok's shape.
pub(crate) fn gift_list() -> String {
    let gifts: Vec<_> = GIFTS
        .iter()
        .map(|&(id, name, diamonds)| {
            serde_json::json!({
                "id": id,
                "name": name,
                "diamond_count": diamonds,
                "type": 1,
                "image": {"url_list": [gift_image(id)]},
            })
        })
        .collect();
    serde_json::json!({
        "status_code": 0,
        "data": {"gifts": gifts},
        "extra": {"now": super::now_ms()},
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_stable_and_follow_the_flags() {
        let q = |n: &str| Query::parse(&format!("aid=1988&uniqueId={n}"));
        let cfg = Config {
            room_id: 7,
            unique_id: "mock.host".into(),
            seconds_per_message: 0.0,
            batch: 1,
            gzip: super::super::GzipMode::Off,
            drop_after: None,
            duplicate_rate: 0.0,
            stall_after: None,
            close_code: None,
            seed: 1,
            jwt_secret: None,
            hb_timeout: std::time::Duration::from_secs(1),
            ack_timeout: std::time::Duration::from_secs(1),
            started_ms: 0,
            offline: vec!["sleepy".into()],
            missing: vec!["ghost".into()],
        };
        let (_, a) = user_room(&cfg, &q("ada"));
        let (_, again) = user_room(&cfg, &q("%40Ada"));
        let a: serde_json::Value = serde_json::from_str(&a).unwrap();
        let again: serde_json::Value = serde_json::from_str(&again).unwrap();
        assert_eq!(a["data"]["user"]["secUid"], again["data"]["user"]["secUid"]);
        assert_eq!(a["data"]["user"]["status"], 2);
        assert_eq!(a["data"]["user"]["roomId"], cfg.room_id.to_string());
        let (_, off) = user_room(&cfg, &q("sleepy"));
        let off: serde_json::Value = serde_json::from_str(&off).unwrap();
        assert_eq!(
            (
                &off["data"]["user"]["roomId"],
                &off["data"]["liveRoom"]["status"]
            ),
            (&serde_json::json!(""), &serde_json::json!(4))
        );
        let (_, gone) = user_room(&cfg, &q("ghost"));
        let gone: serde_json::Value = serde_json::from_str(&gone).unwrap();
        assert_eq!(gone["statusCode"], USER_NOT_FOUND);
        let gifts: serde_json::Value = serde_json::from_str(&gift_list()).unwrap();
        assert_eq!(gifts["data"]["gifts"][0]["name"], "Rose");
    }
}
