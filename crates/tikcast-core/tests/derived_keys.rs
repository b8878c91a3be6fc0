//! Events derived from TikTok's display keys (`superFan`, `superFanJoin`, `superFanBox`,
//! `follow`, `share`) fire for every spelling of the key: the lowercase one of older
//! apps, the mixed-case one the hosted relays document
//! (`ttlive_superFan_commentNotif_superFanJoined`), snake_case and camelCase variants.
//! Issue 14's second bug: the match was case-sensitive, so the documented keys never
//! fired. No capture in the corpus carries a super-fan key, so the payloads are built
//! here by our encoder from the documented keys; both decoders (the schema reader and
//! the typed model) must derive the same events.

mod common;

use common::hostile::{int_field, len_field};
use tikcast_core::decode::decode_message_into;
use tikcast_core::{write_message, EnvelopeInfo, JsonSink};

const ENV: EnvelopeInfo = EnvelopeInfo {
    msg_id: 7,
    is_history: false,
};

/// The event types each decoder gives for one payload; they must agree.
fn types(method: &str, payload: &[u8]) -> Vec<String> {
    let mut sink = JsonSink::new();
    write_message(method, payload, ENV, &mut sink);
    let written: Vec<serde_json::Value> = sink
        .texts()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    let mut typed = Vec::new();
    decode_message_into(method, payload, ENV, &mut typed);
    let typed: Vec<serde_json::Value> = typed
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(written, typed, "{method}: the two decoders differ");
    written
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// A `Text` whose key is `key`.
fn text(key: &str) -> Vec<u8> {
    let mut t = Vec::new();
    len_field(&mut t, 1, key.as_bytes());
    len_field(&mut t, 2, b"{0:user} is a Super Fan");
    t
}

/// A barrage with `key` as its content key (field 5) or as its common barrage content
/// key (field 24).
fn barrage(key: &str, field: u32) -> Vec<u8> {
    let mut m = Vec::new();
    int_field(&mut m, 3, 100);
    len_field(&mut m, field, &text(key));
    m
}

/// An envelope whose display text (common field 8) has `key`.
fn envelope(key: &str) -> Vec<u8> {
    let mut common = Vec::new();
    len_field(&mut common, 8, &text(key));
    let mut m = Vec::new();
    len_field(&mut m, 1, &common);
    m
}

/// A social message with no action and `key` as its display key.
fn social(key: &str) -> Vec<u8> {
    envelope(key)
}

#[test]
fn super_fan_join_fires_for_every_spelling_of_its_key() {
    for key in [
        "ttlive_superFan_commentNotif_superFanJoined",
        "ttlive_superfan_commentnotif_superfanjoined",
        "ttlive_super_fan_comment_notif_super_fan_joined",
        "TTLIVE_SUPERFAN_COMMENTNOTIF_SUPERFANJOINED",
        "ttliveSuperFanCommentNotifSuperFanJoined",
    ] {
        for field in [5, 24] {
            assert_eq!(
                types("WebcastBarrageMessage", &barrage(key, field)),
                ["barrage", "superFanJoin"],
                "{key} in field {field}"
            );
        }
    }
}

#[test]
fn super_fan_fires_for_every_spelling_of_its_key() {
    for key in [
        "ttlive_superFan_commentNotif_someoneBecameSuperFan",
        "ttlive_superfan_commentnotif_someonebecamesuperfan",
        "ttlive_super_fan_comment_notif_someone_became_super_fan",
        "TTLIVE_SUPERFAN_LEVEL_UP",
        "ttliveSuperFanLevelUp",
    ] {
        for field in [5, 24] {
            assert_eq!(
                types("WebcastBarrageMessage", &barrage(key, field)),
                ["barrage", "superFan"],
                "{key} in field {field}"
            );
        }
    }
    // Other banners stay plain barrages (the real corpus keys among them).
    for key in [
        "pm_mt_fan_live_join",
        "pm_mt_alp_join_animation",
        "ttlive_super",
        "",
    ] {
        assert_eq!(
            types("WebcastBarrageMessage", &barrage(key, 5)),
            ["barrage"],
            "{key}"
        );
    }
}

#[test]
fn super_fan_box_fires_for_every_spelling_of_its_key() {
    for key in [
        "ttlive_superfanbox_title",
        "ttlive_superFanBox_title",
        "ttlive_super_fan_box",
        "TTLIVE_SUPERFANBOX",
    ] {
        assert_eq!(
            types("WebcastEnvelopeMessage", &envelope(key)),
            ["envelope", "superFanBox"],
            "{key}"
        );
    }
    assert_eq!(
        types("WebcastEnvelopeMessage", &envelope("pm_mt_envelope")),
        ["envelope"]
    );
}

#[test]
fn follow_and_share_from_the_display_key_ignore_its_case() {
    // With no numeric action, the display key decides (real keys are lowercase:
    // `pm_main_follow_message_viewer_2`, `pm_mt_guidance_share`).
    for (key, derived) in [
        ("pm_main_follow_message_viewer_2", "follow"),
        ("pm_main_Follow_message_viewer_2", "follow"),
        ("PM_MAIN_FOLLOW_MESSAGE", "follow"),
        ("pm_mt_guidance_share", "share"),
        ("pmMtGuidanceShare", "share"),
        ("PM_MT_GUIDANCE_VIEWER_3_SHARE", "share"),
    ] {
        assert_eq!(
            types("WebcastSocialMessage", &social(key)),
            ["social", derived],
            "{key}"
        );
    }
    assert_eq!(
        types("WebcastSocialMessage", &social("pm_mt_other")),
        ["social"]
    );
}

/// Methods whose layout is not public become their own event (not `unknown`): the common
/// header read for the meta, the whole message as sent in `payload`; in both decoders. A
/// malformed message is a `decodeError`, as for every known method.
#[test]
fn opaque_methods_keep_their_name_meta_and_payload() {
    use base64::Engine;
    let mut common = Vec::new();
    int_field(&mut common, 2, 777); // msg id
    int_field(&mut common, 3, 7_300_000_000_000_000_001); // room id
    int_field(&mut common, 4, 1_767_225_600_000); // create time
    let mut payload = Vec::new();
    len_field(&mut payload, 1, &common);
    len_field(&mut payload, 2, b"revenue_high_traffic");
    int_field(&mut payload, 9, 3);
    for (method, name) in [
        ("WebcastHotRoomMessage", "hotRoom"),
        ("WebcastKaraokeReqMessage", "karaokeReq"),
        ("WebcastPrivilegeAdvanceMessage", "privilegeAdvance"),
    ] {
        assert_eq!(types(method, &payload), [name]);
        let mut sink = JsonSink::new();
        write_message(method, &payload, ENV, &mut sink);
        let e: serde_json::Value = serde_json::from_str(sink.texts().next().unwrap()).unwrap();
        assert_eq!(e["roomId"], "7300000000000000001");
        assert_eq!(e["createTime"], 1_767_225_600_000_i64);
        assert_eq!(e["msgId"], "7"); // the envelope's id wins, as for every event
        let sent = base64::engine::general_purpose::STANDARD
            .decode(e["payload"].as_str().unwrap())
            .unwrap();
        assert_eq!(sent, payload);
        // Truncated: both decoders refuse it (each with its own wording of why).
        let cut = &payload[..payload.len() - 1];
        let mut sink = JsonSink::new();
        write_message(method, cut, ENV, &mut sink);
        let e: serde_json::Value = serde_json::from_str(sink.texts().next().unwrap()).unwrap();
        assert_eq!(e["type"], "decodeError");
        let mut typed = Vec::new();
        decode_message_into(method, cut, ENV, &mut typed);
        assert_eq!(
            typed.iter().map(|e| e.name()).collect::<Vec<_>>(),
            ["decodeError"]
        );
    }
}
