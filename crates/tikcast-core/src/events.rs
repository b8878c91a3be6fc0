//! Typed events: one per decoded message, plus the derived events users expect
//! (`follow`/`share` after `social`, `streamEnd` after a control message that ends the
//! stream, `superFan`/`superFanJoin` after a super-fan barrage, `superFanBox` after a
//! super-fan envelope).
//!
//! The most used events have hand-shaped payloads whose field names follow
//! TikTok-Live-Connector v2 (`comment`, `giftName`, `likeCount`, `viewerCount`, ...);
//! every other method's payload is its schema message, serialized with the same
//! conventions (camelCase, ids as strings, users in canonical shape).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::keys::{has_words, SUPER_FAN, SUPER_FAN_JOINED};
use crate::pb;
use crate::user::{image_url, render_text, text_user, user_opt, User};

/// What every event carries besides its payload.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct EventMeta {
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
    pub msg_id: u64,
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
    pub room_id: u64,
    /// Milliseconds since the epoch.
    pub create_time: i64,
    /// True for messages the server replays from before the connection.
    pub is_history: bool,
}

/// An event whose payload is its schema message (see the module docs).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Payload<T> {
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub meta: EventMeta,
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub data: T,
}

macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal, )*) => {
        /// One decoded event. `name()` is the event name (the JSON `type`).
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(tag = "type"))]
        #[non_exhaustive]
        // Events are built once and moved into a Vec; boxing the large variants would
        // cost an allocation per event on the hot path for no gain.
        #[allow(clippy::large_enum_variant)]
        pub enum Event {
            $( $(#[$doc])* #[cfg_attr(feature = "serde", serde(rename = $name))] $variant($ty), )*
        }

        impl Event {
            /// The event name, e.g. `chat`, `gift`, `roomUser`.
            pub fn name(&self) -> &'static str {
                match self { $( Event::$variant(_) => $name, )* }
            }

            /// Every event name the decoder can produce.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The meta (msg id, room id, time, history flag) of this event.
            pub fn meta(&self) -> &EventMeta {
                match self { $( Event::$variant(e) => &e.meta, )* }
            }
        }
    };
}

events! {
    /// A chat comment.
    Chat(ChatEvent) = "chat",
    /// A gift. From the decoder: one per gift message. From a `Session`: exactly one per
    /// gift, i.e. one per non-streakable gift message and one per finished streak.
    Gift(GiftEvent) = "gift",
    /// Session only: a streak of a streakable gift is still running (`repeatCount` so far).
    GiftStreak(GiftEvent) = "giftStreak",
    /// Session only: every gift message as sent, streak updates included.
    GiftRaw(GiftEvent) = "giftRaw",
    Like(LikeEvent) = "like",
    /// Session only, when like aggregation is on: one user's likes merged over a window.
    LikeAggregate(LikeAggregateEvent) = "likeAggregate",
    /// A viewer joined.
    Member(MemberEvent) = "member",
    Social(SocialEvent) = "social",
    /// Derived from `social` with action 1.
    Follow(SocialEvent) = "follow",
    /// Derived from `social` with action 3.
    Share(SocialEvent) = "share",
    RoomUser(RoomUserEvent) = "roomUser",
    ControlMessage(ControlEvent) = "controlMessage",
    /// Derived from a control message with action 3 (ended) or 4 (suspended).
    StreamEnd(ControlEvent) = "streamEnd",
    Subscribe(SubscribeEvent) = "subscribe",
    QuestionNew(QuestionEvent) = "questionNew",
    Emote(EmoteEvent) = "emote",
    Envelope(EnvelopeEvent) = "envelope",
    /// Derived from an envelope that is a super-fan box.
    SuperFanBox(EnvelopeEvent) = "superFanBox",
    LiveIntro(LiveIntroEvent) = "liveIntro",
    LinkMicBattle(BattleEvent) = "linkMicBattle",
    LinkMicArmies(ArmiesEvent) = "linkMicArmies",
    RoomPin(RoomPinEvent) = "roomPin",
    ImDelete(ImDeleteEvent) = "imDelete",
    Caption(CaptionEvent) = "caption",
    Barrage(BarrageEvent) = "barrage",
    /// Derived from a super-fan barrage.
    SuperFan(BarrageEvent) = "superFan",
    /// Derived from a "joined as super fan" barrage.
    SuperFanJoin(BarrageEvent) = "superFanJoin",
    Poll(Payload<pb::PollMessage>) = "poll",
    GoalUpdate(Payload<pb::GoalUpdateMessage>) = "goalUpdate",
    RankUpdate(Payload<pb::RankUpdateMessage>) = "rankUpdate",
    RankText(Payload<pb::RankTextMessage>) = "rankText",
    HourlyRank(Payload<pb::HourlyRankRewardMessage>) = "hourlyRank",
    HourlyRankLegacy(Payload<pb::HourlyRankMessage>) = "hourlyRankLegacy",
    WeeklyRankReward(Payload<pb::WeeklyRankRewardMessage>) = "weeklyRankReward",
    GameRankNotify(Payload<pb::GameRankNotifyMessage>) = "gameRankNotify",
    InRoomBanner(Payload<pb::InRoomBannerMessage>) = "inRoomBanner",
    InRoomBannerRefresh(Payload<pb::InRoomBannerRefreshMessage>) = "inRoomBannerRefresh",
    RoomMessage(Payload<pb::RoomMessage>) = "roomMessage",
    System(Payload<pb::SystemMessage>) = "system",
    RoomNotify(Payload<pb::RoomNotifyMessage>) = "roomNotify",
    RoomVerify(Payload<pb::RoomVerifyMessage>) = "roomVerify",
    MarqueeAnnouncement(Payload<pb::MarqueeAnnouncementMessage>) = "marqueeAnnouncement",
    BottomMessage(Payload<pb::BottomMessage>) = "bottomMessage",
    Toast(Payload<pb::ToastMessage>) = "toast",
    Notice(Payload<pb::NoticeMessage>) = "notice",
    AccessControl(Payload<pb::AccessControlMessage>) = "accessControl",
    AccessRecall(Payload<pb::AccessRecallMessage>) = "accessRecall",
    MsgDetect(Payload<pb::MsgDetectMessage>) = "msgDetect",
    Perception(Payload<pb::PerceptionMessage>) = "perception",
    UnauthorizedMember(Payload<pb::UnauthorizedMemberMessage>) = "unauthorizedMember",
    Hashtag(Payload<pb::HashtagMessage>) = "hashtag",
    RoomSticker(Payload<pb::RoomStickerMessage>) = "roomSticker",
    AnchorToolModification(Payload<pb::AnchorToolModificationMessage>) = "anchorToolModification",
    SubTimerSticker(Payload<pb::SubTimerStickerMessage>) = "subTimerSticker",
    SubWave(Payload<pb::SubWaveMessage>) = "subWave",
    SubscriptionGuide(Payload<pb::SubscriptionGuideMessage>) = "subscriptionGuide",
    SubPinEvent(Payload<pb::SubPinEventMessage>) = "subPinEvent",
    Capsule(Payload<pb::CapsuleMessage>) = "capsule",
    GiftBroadcast(Payload<pb::GiftBroadcastMessage>) = "giftBroadcast",
    GiftPanelUpdate(Payload<pb::GiftPanelUpdateMessage>) = "giftPanelUpdate",
    GiftDynamicRestriction(Payload<pb::GiftDynamicRestrictionMessage>) = "giftDynamicRestriction",
    GiftPrompt(Payload<pb::GiftPromptMessage>) = "giftPrompt",
    GiftCollectionUpdate(Payload<pb::GiftCollectionUpdateMessage>) = "giftCollectionUpdate",
    EnvelopePortal(Payload<pb::EnvelopePortalMessage>) = "envelopePortal",
    GoodyBag(Payload<pb::GoodyBagMessage>) = "goodyBag",
    QuestionSelected(Payload<pb::QuestionSelectedMessage>) = "questionSelected",
    QuestionDelete(Payload<pb::QuestionDeleteMessage>) = "questionDelete",
    QuestionSlideDown(Payload<pb::QuestionSlideDownMessage>) = "questionSlideDown",
    QuestionSwitch(Payload<pb::QuestionSwitchMessage>) = "questionSwitch",
    PictionaryStart(Payload<pb::PictionaryStartMessage>) = "pictionaryStart",
    PictionaryUpdate(Payload<pb::PictionaryUpdateMessage>) = "pictionaryUpdate",
    PictionaryEnd(Payload<pb::PictionaryEndMessage>) = "pictionaryEnd",
    PictionaryExit(Payload<pb::PictionaryExitMessage>) = "pictionaryExit",
    LiveGameIntro(Payload<pb::LiveGameIntroMessage>) = "liveGameIntro",
    ViewerPicksUpdate(Payload<pb::ViewerPicksUpdateMessage>) = "viewerPicksUpdate",
    BoostCard(Payload<pb::BoostCardMessage>) = "boostCard",
    Guide(Payload<pb::GuideMessage>) = "guide",
    Speaker(Payload<pb::SpeakerMessage>) = "speaker",
    LinkMicBattlePunishFinish(Payload<pb::LinkMicBattlePunishFinishMessage>) = "linkMicBattlePunishFinish",
    /// Boxed: its eight card payloads make it the largest value by far (3.4 kB inline),
    /// and every `Event` is as large as its largest variant.
    LinkMicBattleItemCard(Box<Payload<pb::LinkMicBattleItemCardMessage>>) = "linkMicBattleItemCard",
    LinkMicBattleTask(Payload<pb::LinkMicBattleTaskMessage>) = "linkMicBattleTask",
    LinkMicBattleNotice(Payload<pb::LinkMicBattleNoticeMessage>) = "linkMicBattleNotice",
    LinkMicMethod(Payload<pb::LinkMicMethodMessage>) = "linkMicMethod",
    LinkMicFanTicketMethod(Payload<pb::LinkMicFanTicketMethodMessage>) = "linkMicFanTicketMethod",
    LinkMicAnchorGuide(Payload<pb::LinkMicAnchorGuideMessage>) = "linkMicAnchorGuide",
    LinkMicLayoutState(Payload<pb::LinkMicLayoutStateMessage>) = "linkMicLayoutState",
    LinkMessage(Payload<pb::LinkMessage>) = "linkMessage",
    LinkLayer(Payload<pb::LinkLayerMessage>) = "linkLayer",
    LinkScreenChange(Payload<pb::LinkScreenChangeMessage>) = "linkScreenChange",
    LinkState(Payload<pb::LinkStateMessage>) = "linkState",
    OecLiveShopping(Payload<pb::OecLiveShoppingMessage>) = "oecLiveShopping",
    /// Derived: after an `oecLiveShopping` that carries the pinned product.
    ShopProduct(Payload<pb::OecLiveShoppingMessage>) = "shopProduct",
    OecLiveManager(OpaqueEvent) = "oecLiveManager",
    HotRoom(OpaqueEvent) = "hotRoom",
    CommentTray(OpaqueEvent) = "commentTray",
    PrivilegeAdvance(OpaqueEvent) = "privilegeAdvance",
    GameServerFeature(OpaqueEvent) = "gameServerFeature",
    Competition(OpaqueEvent) = "competition",
    StreamStatus(OpaqueEvent) = "streamStatus",
    AiSummary(OpaqueEvent) = "aiSummary",
    GiftGallery(OpaqueEvent) = "giftGallery",
    FansEvent(OpaqueEvent) = "fansEvent",
    GuestShowdown(OpaqueEvent) = "guestShowdown",
    GroupLiveMemberNotify(OpaqueEvent) = "groupLiveMemberNotify",
    ShortTouch(OpaqueEvent) = "shortTouch",
    GameMoment(OpaqueEvent) = "gameMoment",
    GiftUnlock(OpaqueEvent) = "giftUnlock",
    KaraokeReq(OpaqueEvent) = "karaokeReq",
    PaidContentLiveShopping(Payload<pb::PaidContentLiveShoppingMessage>) = "paidContentLiveShopping",
    EcShortItemRefresh(Payload<pb::EcShortItemRefreshMessage>) = "ecShortItemRefresh",
    EcTaskRegister(Payload<pb::EcTaskRegisterMessage>) = "ecTaskRegister",
    BaLeadGen(Payload<pb::BaLeadGenMessage>) = "baLeadGen",
    DonationStickerModify(Payload<pb::DonationStickerModifyMethod>) = "donationStickerModify",
    PartnershipCardChange(Payload<pb::PartnershipCardChangeMessage>) = "partnershipCardChange",
    PartnershipDownloadCount(Payload<pb::PartnershipDownloadCountMessage>) = "partnershipDownloadCount",
    PartnershipDropsUpdate(Payload<pb::PartnershipDropsUpdateMessage>) = "partnershipDropsUpdate",
    PartnershipGameOffline(Payload<pb::PartnershipGameOfflineMessage>) = "partnershipGameOffline",
    PartnershipPunish(Payload<pb::PartnershipPunishMessage>) = "partnershipPunish",
    UpdateShareRevenueNotice(Payload<pb::UpdateShareRevenueNoticeMessage>) = "updateShareRevenueNotice",
    /// A message whose method this decoder does not know; the payload is passed through.
    Unknown(UnknownEvent) = "unknown",
    /// A message of a known method that failed to decode; the rest of its frame still decoded.
    DecodeError(DecodeErrorEvent) = "decodeError",
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct UnknownEvent {
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub meta: EventMeta,
    pub method: String,
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::base64"))]
    pub payload: Vec<u8>,
}

/// An event of a method whose layout is not public: its common header and the whole
/// message as sent.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct OpaqueEvent {
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub meta: EventMeta,
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::base64"))]
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct DecodeErrorEvent {
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub meta: EventMeta,
    pub method: String,
    /// What was wrong, e.g. `WebcastGiftMessage: malformed protobuf (...)`.
    pub error: String,
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::base64"))]
    pub payload: Vec<u8>,
}

macro_rules! event_struct {
    ($(#[$doc:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
        pub struct $name {
            #[cfg_attr(feature = "serde", serde(flatten))]
            pub meta: EventMeta,
            $($body)*
        }
    };
}

macro_rules! value_struct {
    ($(#[$doc:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
        pub struct $name { $($body)* }
    };
}

event_struct! {
    pub struct ChatEvent {
        pub user: User,
        pub comment: String,
        /// Language TikTok detected for the comment (`en`, `un` for unknown).
        pub language: String,
        pub emotes: Vec<ChatEmote>,
        /// The user the comment replies to, if any.
        pub at_user: Option<User>,
        pub visible_to_sender: bool,
    }
}

value_struct! {
    /// An emote inside a chat comment, inserted at `index` (in UTF-16 units of `comment`).
    pub struct ChatEmote {
        pub index: i32,
        pub emote_id: String,
        pub image_url: String,
    }
}

event_struct! {
    pub struct GiftEvent {
        pub user: User,
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub gift_id: u64,
        pub gift_name: String,
        pub gift_picture_url: String,
        /// 1 = streakable: repeats with a growing `repeatCount` until `repeatEnd`.
        pub gift_type: i32,
        /// Coins per unit.
        pub diamond_count: i32,
        /// Count so far within the current streak.
        pub repeat_count: i32,
        /// True on the final message of a streak (and on every non-streakable gift).
        pub repeat_end: bool,
        pub combo_count: i32,
        pub group_count: i32,
        /// Same for every message of one streak.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub group_id: u64,
        /// The recipient (host or a guest in multi-guest rooms).
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub receiver_user_id: u64,
        pub to_user: Option<User>,
        pub describe: String,
        /// TikTok's log id of the request that sent this message: the same on a copy of
        /// the message (a relay's retry, a second relay), new on every step of a streak.
        pub transaction_id: String,
        /// Fan tickets the gift added to the room.
        pub room_fan_ticket_count: i64,
        /// Session only: the streak's end never arrived; this final `gift` was emitted
        /// after the streak timeout with the last count seen.
        pub timed_out: bool,
    }
}

impl GiftEvent {
    /// True while a streakable gift's streak is still running.
    pub fn is_streaking(&self) -> bool {
        self.gift_type == 1 && !self.repeat_end
    }
}

event_struct! {
    /// One user's likes within an aggregation window (meta of the last like merged).
    pub struct LikeAggregateEvent {
        pub user: User,
        /// Likes merged in this window.
        pub like_count: i64,
        /// Room total after the last merged batch.
        pub total_like_count: i64,
        /// How many like messages were merged.
        pub batches: u32,
    }
}

event_struct! {
    pub struct LikeEvent {
        pub user: User,
        /// Likes in this batch.
        pub like_count: i32,
        /// Room total after this batch.
        pub total_like_count: i64,
    }
}

event_struct! {
    pub struct MemberEvent {
        pub user: User,
        /// 1 joined, 3 subscribed.
        pub action_id: i32,
        pub member_count: i32,
        /// Where the viewer came from, e.g. `homepage_hot-live_cell`.
        pub enter_source: String,
        /// How the viewer entered: `click` or `draw` (pulled in by TikTok's feed).
        pub entry_action: String,
        /// Why TikTok showed the stream (`rec` when recommended), when it says.
        pub entry_type: String,
        /// The toast text, e.g. `nickname joined`.
        pub label: String,
    }
}

event_struct! {
    pub struct SocialEvent {
        pub user: User,
        /// 1 follow, 3 share.
        pub action: i64,
        /// The display template key, e.g. `pm_main_follow_message_viewer_2`.
        pub display_type: String,
        pub label: String,
        /// The streamer's follower count after a follow.
        pub follow_count: i64,
        pub share_type: i64,
        pub share_target: String,
        pub share_count: i32,
        pub share_display_style: i64,
    }
}

event_struct! {
    pub struct RoomUserEvent {
        /// Current viewers.
        pub viewer_count: i64,
        /// Cumulative viewers of this stream.
        pub total_user: i64,
        pub top_viewers: Vec<TopViewer>,
        pub popularity: i64,
    }
}

value_struct! {
    pub struct TopViewer {
        pub user: Option<User>,
        /// Coins the viewer gave.
        pub coin_count: i64,
        pub rank: i64,
    }
}

event_struct! {
    pub struct ControlEvent {
        /// 1 paused, 2 unpaused, 3 ended, 4 suspended.
        pub action: i32,
        pub tips: String,
        /// Why the stream was suspended, when TikTok says.
        pub reason: String,
        pub float_style: i32,
    }
}

event_struct! {
    pub struct SubscribeEvent {
        pub user: User,
        pub sub_month: i64,
        /// 0 once, 1 auto-renew.
        pub subscribe_type: i32,
        pub message_type: i32,
        pub is_custom: bool,
    }
}

event_struct! {
    pub struct QuestionEvent {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub question_id: u64,
        pub question_text: String,
        pub user: Option<User>,
    }
}

event_struct! {
    pub struct EmoteEvent {
        pub user: User,
        pub emotes: Vec<ChatEmote>,
    }
}

event_struct! {
    pub struct EnvelopeEvent {
        pub envelope_id: String,
        /// 1 user diamonds, 2 platform diamonds, ..., 19 super-fan box.
        pub business_type: i32,
        pub diamond_count: i32,
        pub people_count: i32,
        /// Unix seconds when the chest opens.
        pub unpack_at: i64,
        pub sender_name: String,
        pub sender_user_id: String,
        pub sender_avatar_url: String,
        /// 1 show, 2 hide.
        pub display: i32,
    }
}

event_struct! {
    pub struct LiveIntroEvent {
        pub host: Option<User>,
        pub description: String,
        pub language: String,
    }
}

event_struct! {
    pub struct BattleEvent {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub battle_id: u64,
        /// 1 invite, 2 reject, 3 cancel, 4 open, 5 finish, 6 cut short, 7 accept, ...
        pub action: i32,
        /// 0 not started, 1 started, 2 finished, 3 punishment, 4 punishment over.
        pub status: i32,
        pub battle_type: i32,
        pub start_time_ms: i64,
        /// Battle length in seconds.
        pub duration: i32,
        pub hosts: Vec<BattleHost>,
        /// Present when the battle finished.
        pub results: Vec<BattleOutcome>,
        /// The co-host link the battle runs on: the same over the rounds of a rematch,
        /// when `battleId` changes.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub match_id: u64,
        /// Team battles only: each team, with its result once the battle ends.
        pub teams: Vec<BattleTeam>,
    }
}

value_struct! {
    /// One team of a team battle.
    pub struct BattleTeam {
        pub team_id: i64,
        /// Its position in `teams`, from 0.
        pub team_idx: i32,
        pub total_score: i64,
        /// 0 win, 1 lose, 2 draw; `None` while the battle runs.
        pub result: Option<i32>,
        pub hosts: Vec<BattleTeamHost>,
    }
}

value_struct! {
    /// A host in a team battle, with the host's own score.
    pub struct BattleTeamHost {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub user_id: u64,
        pub score: i64,
    }
}

value_struct! {
    pub struct BattleHost {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub user_id: u64,
        pub unique_id: String,
        pub nickname: String,
        pub profile_picture_url: String,
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub room_id: u64,
    }
}

value_struct! {
    pub struct BattleOutcome {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub user_id: u64,
        /// 0 win, 1 lose, 2 draw.
        pub result: i32,
        pub score: i64,
    }
}

event_struct! {
    pub struct ArmiesEvent {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub battle_id: u64,
        /// Battle status (see `linkMicBattle`).
        pub battle_status: i32,
        /// 1 score update, 2 battle end, 3 opt-out, 4 keep-alive, 5 effect update.
        pub trigger_reason: i32,
        pub armies: Vec<BattleArmy>,
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub from_user_id: u64,
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub gift_id: u64,
        pub repeat_count: i32,
        pub total_diamond_count: i32,
        /// The co-host link the battle runs on (see `linkMicBattle`).
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub match_id: u64,
        pub start_time_ms: i64,
        /// Battle length in seconds, extra time included.
        pub duration_sec: i64,
        /// TikTok's clock when it computed these scores (ms).
        pub server_ts_ms: i64,
        /// Seconds left at `serverTsMs` (0 once the time is up); `None` when the battle's
        /// start or length is not in the message.
        pub secs_remaining: Option<i64>,
        /// Team battles only: each team's score so far.
        pub teams: Vec<BattleTeam>,
        /// TikTok's log id of the request that sent this update.
        pub transaction_id: String,
    }
}

value_struct! {
    /// One host's side: score and top contributors.
    pub struct BattleArmy {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub host_user_id: u64,
        pub points: i64,
        pub contributors: Vec<BattleContributor>,
        /// The host's team in `teams`; without teams, the host's position in `armies`.
        pub team_idx: i32,
    }
}

/// Seconds left in a battle at `at_ms`, rounded up (0 once its time is up): the end is
/// `end_ms` when TikTok sends it, else the start plus the length and any extra time.
/// `None` without a start or a length.
pub(crate) fn secs_remaining(
    start_ms: i64,
    duration_s: i64,
    extra_s: i64,
    end_ms: i64,
    at_ms: i64,
) -> Option<i64> {
    let end = if end_ms > 0 {
        end_ms
    } else if start_ms > 0 && duration_s > 0 {
        start_ms.saturating_add(
            duration_s
                .saturating_add(extra_s.max(0))
                .saturating_mul(1000),
        )
    } else {
        return None;
    };
    let left = end.saturating_sub(at_ms).max(0);
    Some(left / 1000 + i64::from(left % 1000 != 0))
}

fn team_hosts(users: &[pb::BattleTeamUser]) -> Vec<BattleTeamHost> {
    users
        .iter()
        .map(|u| BattleTeamHost {
            user_id: u.user_id,
            score: u.score,
        })
        .collect()
}

value_struct! {
    pub struct BattleContributor {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub user_id: u64,
        pub nickname: String,
        pub profile_picture_url: String,
        pub score: i64,
    }
}

event_struct! {
    pub struct RoomPinEvent {
        /// 1 pin, 2 unpin.
        pub action: i32,
        /// Method of the pinned message, e.g. `WebcastChatMessage`.
        pub pinned_method: String,
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_str"))]
        pub pinned_msg_id: u64,
        pub pin_time: i64,
        /// Seconds the pin stays.
        pub display_duration: i64,
        pub operator: Option<User>,
        /// The pinned comment and its author, when a chat message is pinned.
        pub pinned_comment: String,
        pub pinned_user: Option<User>,
    }
}

event_struct! {
    pub struct ImDeleteEvent {
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_list"))]
        pub delete_msg_ids: Vec<u64>,
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::u64_list"))]
        pub delete_user_ids: Vec<u64>,
    }
}

event_struct! {
    pub struct CaptionEvent {
        pub timestamp_ms: i64,
        pub duration_ms: i64,
        pub content: Vec<CaptionText>,
        /// True when the sentence is final (later captions will not revise it).
        pub definite: bool,
    }
}

value_struct! {
    pub struct CaptionText {
        pub lang: String,
        pub text: String,
    }
}

event_struct! {
    pub struct BarrageEvent {
        /// 3 normal, 4 subscribe, 8 user upgrade, 9 grade entrance, 10 fans level up, 11 fans entrance, ...
        pub msg_type: i32,
        pub display_type: String,
        pub label: String,
        pub user: Option<User>,
        pub icon_url: String,
        pub duration: i64,
        /// New level for level-up banners.
        pub level: i32,
    }
}

// ---------------------------------------------------------------- conversions

pub(crate) fn meta(common: Option<&pb::Common>, env: &crate::decode::EnvelopeInfo) -> EventMeta {
    EventMeta {
        msg_id: if env.msg_id != 0 {
            env.msg_id
        } else {
            common.map_or(0, |c| c.msg_id)
        },
        room_id: common.map_or(0, |c| c.room_id),
        create_time: common.map_or(0, |c| c.create_time),
        is_history: env.is_history,
    }
}

fn user_or_default(u: &Option<pb::User>) -> User {
    u.as_ref().map(User::from_pb).unwrap_or_default()
}

fn display_key(common: &Option<pb::Common>) -> String {
    common
        .as_ref()
        .and_then(|c| c.display_text.as_ref())
        .map(|t| t.key.clone())
        .unwrap_or_default()
}

fn display_label(common: &Option<pb::Common>) -> String {
    common
        .as_ref()
        .and_then(|c| c.display_text.as_ref())
        .map(render_text)
        .unwrap_or_default()
}

fn emote(index: i32, e: &pb::Emote) -> ChatEmote {
    ChatEmote {
        index,
        emote_id: e.emote_id.clone(),
        image_url: image_url(&e.image),
    }
}

pub(crate) fn chat(m: pb::ChatMessage, meta: EventMeta) -> ChatEvent {
    let mut user = user_or_default(&m.user);
    user.apply_identity(m.user_identity.as_ref());
    ChatEvent {
        meta,
        user,
        emotes: m
            .emotes
            .iter()
            .filter_map(|e| Some(emote(e.index, e.emote.as_ref()?)))
            .collect(),
        at_user: user_opt(&m.at_user),
        language: m.content_language,
        comment: m.content,
        visible_to_sender: m.visible_to_sender,
    }
}

pub(crate) fn gift(m: pb::GiftMessage, meta: EventMeta) -> GiftEvent {
    let mut user = user_or_default(&m.user);
    user.apply_identity(m.user_identity.as_ref());
    let info = m.gift.unwrap_or_default();
    let receiver = m
        .monitor_info
        .as_ref()
        .map(|i| i.to_user_id)
        .filter(|&id| id != 0);
    let receiver = receiver
        .or(m.to_user.as_ref().map(|u| u.id))
        .or(m.monitor_info.as_ref().map(|i| i.anchor_id))
        .unwrap_or(0);
    let transaction_id = if m.log_id.is_empty() {
        m.common
            .as_ref()
            .map(|c| c.log_id.clone())
            .unwrap_or_default()
    } else {
        m.log_id.clone()
    };
    GiftEvent {
        meta,
        user,
        gift_id: if m.gift_id != 0 { m.gift_id } else { info.id },
        gift_picture_url: image_url(&info.image),
        gift_name: info.name,
        gift_type: info.r#type,
        diamond_count: info.diamond_count,
        repeat_count: m.repeat_count,
        repeat_end: m.repeat_end == 1,
        combo_count: m.combo_count,
        group_count: m.group_count,
        group_id: m.group_id,
        receiver_user_id: receiver,
        to_user: user_opt(&m.to_user),
        describe: info.describe,
        transaction_id,
        room_fan_ticket_count: m.room_fan_ticket_count,
        timed_out: false,
    }
}

pub(crate) fn like(m: pb::LikeMessage, meta: EventMeta) -> LikeEvent {
    LikeEvent {
        meta,
        user: user_or_default(&m.user),
        like_count: m.count,
        total_like_count: m.total,
    }
}

pub(crate) fn member(m: pb::MemberMessage, meta: EventMeta) -> MemberEvent {
    MemberEvent {
        meta,
        user: user_or_default(&m.user),
        action_id: m.action,
        member_count: m.member_count,
        enter_source: m.client_enter_source,
        entry_action: m.client_enter_type,
        entry_type: m.client_live_reason,
        label: display_label(&m.common),
    }
}

pub(crate) fn social(m: pb::SocialMessage, meta: EventMeta) -> SocialEvent {
    SocialEvent {
        meta,
        user: user_or_default(&m.user),
        action: m.action,
        display_type: display_key(&m.common),
        label: display_label(&m.common),
        follow_count: m.follow_count,
        share_type: m.share_type,
        share_target: m.share_target,
        share_count: m.share_count,
        share_display_style: m.share_display_style,
    }
}

/// `follow` / `share` derived from a social event: the numeric action first, the
/// display key as a fallback (both agree on real traffic).
pub(crate) fn social_derived(e: &SocialEvent) -> Option<Event> {
    match e.action {
        1 => Some(Event::Follow(e.clone())),
        3 => Some(Event::Share(e.clone())),
        _ if has_words(&e.display_type, "follow") => Some(Event::Follow(e.clone())),
        _ if has_words(&e.display_type, "share") => Some(Event::Share(e.clone())),
        _ => None,
    }
}

pub(crate) fn room_user(m: pb::RoomUserSeqMessage, meta: EventMeta) -> RoomUserEvent {
    RoomUserEvent {
        meta,
        viewer_count: m.total,
        total_user: m.total_user,
        top_viewers: m
            .ranks
            .iter()
            .map(|c| TopViewer {
                user: user_opt(&c.user),
                coin_count: c.score,
                rank: c.rank,
            })
            .collect(),
        popularity: m.popularity,
    }
}

pub(crate) fn control(m: pb::ControlMessage, meta: EventMeta) -> ControlEvent {
    let reason = m
        .extra
        .as_ref()
        .and_then(|e| e.violation_reason.as_ref().or(e.content.as_ref()))
        .map(render_text)
        .unwrap_or_default();
    ControlEvent {
        meta,
        action: m.action,
        tips: m.tips,
        reason,
        float_style: m.float_style,
    }
}

pub(crate) fn subscribe(m: pb::SubNotifyMessage, meta: EventMeta) -> SubscribeEvent {
    SubscribeEvent {
        meta,
        user: user_or_default(&m.user),
        sub_month: m.sub_month,
        subscribe_type: m.subscribe_type,
        message_type: m.message_type,
        is_custom: m.is_custom,
    }
}

pub(crate) fn question(m: pb::QuestionNewMessage, meta: EventMeta) -> QuestionEvent {
    let q = m.details.unwrap_or_default();
    QuestionEvent {
        meta,
        question_id: q.question_id,
        user: user_opt(&q.user),
        question_text: q.content,
    }
}

pub(crate) fn emote_chat(m: pb::EmoteChatMessage, meta: EventMeta) -> EmoteEvent {
    let mut user = user_or_default(&m.user);
    user.apply_identity(m.user_identity.as_ref());
    EmoteEvent {
        meta,
        user,
        emotes: m.emote_list.iter().map(|e| emote(0, e)).collect(),
    }
}

pub(crate) fn envelope(m: pb::EnvelopeMessage, meta: EventMeta) -> EnvelopeEvent {
    let i = m.envelope_info.unwrap_or_default();
    EnvelopeEvent {
        meta,
        sender_avatar_url: image_url(&i.send_user_avatar),
        envelope_id: i.envelope_id,
        business_type: i.business_type,
        diamond_count: i.diamond_count,
        people_count: i.people_count,
        unpack_at: i.unpack_at,
        sender_name: i.send_user_name,
        sender_user_id: i.send_user_id,
        display: m.display,
    }
}

pub(crate) fn live_intro(m: pb::LiveIntroMessage, meta: EventMeta) -> LiveIntroEvent {
    LiveIntroEvent {
        meta,
        host: user_opt(&m.host),
        description: m.content,
        language: m.language,
    }
}

pub(crate) fn battle(m: pb::LinkMicBattleMessage, meta: EventMeta) -> BattleEvent {
    let s = m.battle_setting.unwrap_or_default();
    BattleEvent {
        meta,
        battle_id: if m.battle_id != 0 {
            m.battle_id
        } else {
            s.battle_id
        },
        action: m.action,
        status: s.status,
        battle_type: s.battle_type,
        start_time_ms: s.start_time_ms,
        duration: s.duration,
        hosts: m
            .anchors_info
            .iter()
            .map(|a| {
                let u = a.info.as_ref().and_then(|i| i.user.as_ref());
                BattleHost {
                    user_id: u.map_or(a.anchor_id, |u| {
                        if u.user_id != 0 {
                            u.user_id
                        } else {
                            a.anchor_id
                        }
                    }),
                    unique_id: u.map(|u| u.display_id.clone()).unwrap_or_default(),
                    nickname: u.map(|u| u.nick_name.clone()).unwrap_or_default(),
                    profile_picture_url: u.map(|u| image_url(&u.avatar_thumb)).unwrap_or_default(),
                    room_id: u.map_or(0, |u| u.room_id),
                }
            })
            .collect(),
        results: m
            .battle_result
            .iter()
            .map(|(id, r)| BattleOutcome {
                user_id: if r.user_id != 0 { r.user_id } else { *id },
                result: r.result,
                score: r.score,
            })
            .collect(),
        match_id: s.channel_id,
        teams: battle_teams(&m.team_armies, &m.team_battle_result),
    }
}

/// A battle's teams: from the scores (`team_armies`) with the results matched by team
/// id, or from the results alone when the message has no scores.
fn battle_teams(
    armies: &[pb::BattleTeamArmies],
    results: &[pb::BattleTeamResult],
) -> Vec<BattleTeam> {
    if armies.is_empty() {
        return results
            .iter()
            .zip(0..)
            .map(|(r, i)| BattleTeam {
                team_id: r.team_id,
                team_idx: i,
                total_score: r.total_score,
                result: Some(r.result),
                hosts: team_hosts(&r.team_users),
            })
            .collect();
    }
    armies
        .iter()
        .zip(0..)
        .map(|(t, i)| BattleTeam {
            team_id: t.team_id,
            team_idx: i,
            total_score: t.team_total_score,
            result: results
                .iter()
                .find(|r| r.team_id == t.team_id)
                .map(|r| r.result),
            hosts: team_hosts(&t.team_users),
        })
        .collect()
}

pub(crate) fn armies(m: pb::LinkMicArmiesMessage, meta: EventMeta) -> ArmiesEvent {
    let s = m.battle_setting.unwrap_or_default();
    let teams = battle_teams(&m.team_armies, &[]);
    let server_ts_ms = m.score_update_time;
    let at = if server_ts_ms > 0 {
        server_ts_ms
    } else {
        meta.create_time
    };
    let team_of = |host: u64| {
        teams
            .iter()
            .find(|t| t.hosts.iter().any(|h| h.user_id == host))
            .map(|t| t.team_idx)
    };
    ArmiesEvent {
        battle_id: m.battle_id,
        battle_status: s.status,
        trigger_reason: m.trigger_reason,
        armies: m
            .armies
            .iter()
            .zip(0..)
            .map(|((host, a), i)| BattleArmy {
                team_idx: team_of(*host).unwrap_or(i),
                host_user_id: *host,
                points: a.host_score,
                contributors: a
                    .user_armies
                    .iter()
                    .map(|c| BattleContributor {
                        user_id: c.user_id,
                        nickname: c.nickname.clone(),
                        profile_picture_url: image_url(&c.avatar_thumb),
                        score: c.score,
                    })
                    .collect(),
            })
            .collect(),
        from_user_id: m.from_user_id,
        gift_id: m.gift_id,
        repeat_count: m.repeat_count,
        total_diamond_count: m.total_diamond_count,
        match_id: if m.channel_id != 0 {
            m.channel_id
        } else {
            s.channel_id
        },
        start_time_ms: s.start_time_ms,
        duration_sec: i64::from(s.duration).saturating_add(s.extra_duration_second.max(0)),
        server_ts_ms,
        secs_remaining: secs_remaining(
            s.start_time_ms,
            i64::from(s.duration),
            s.extra_duration_second,
            s.end_time_ms,
            at,
        ),
        teams,
        transaction_id: m.log_id,
        meta,
    }
}

pub(crate) fn room_pin(m: pb::RoomPinMessage, meta: EventMeta) -> RoomPinEvent {
    let chat = m.chat_message.as_ref();
    RoomPinEvent {
        meta,
        action: m.action,
        pinned_method: m.method,
        pinned_msg_id: m.pin_msg_id,
        pin_time: m.pin_time,
        display_duration: m.display_duration,
        operator: user_opt(&m.operator),
        pinned_comment: chat.map(|c| c.content.clone()).unwrap_or_default(),
        pinned_user: chat.and_then(|c| user_opt(&c.user)),
    }
}

pub(crate) fn im_delete(m: pb::ImDeleteMessage, meta: EventMeta) -> ImDeleteEvent {
    ImDeleteEvent {
        meta,
        delete_msg_ids: m.delete_msg_ids,
        delete_user_ids: m.delete_user_ids,
    }
}

pub(crate) fn caption(m: pb::CaptionMessage, meta: EventMeta) -> CaptionEvent {
    CaptionEvent {
        meta,
        timestamp_ms: m.timestamp_ms,
        duration_ms: m.duration_ms,
        content: m
            .content
            .into_iter()
            .map(|c| CaptionText {
                lang: c.lang,
                text: c.content,
            })
            .collect(),
        definite: m.definite,
    }
}

pub(crate) fn barrage(m: pb::BarrageMessage, meta: EventMeta) -> BarrageEvent {
    let text = m.content.as_ref().or(m.common_barrage_content.as_ref());
    let user = m
        .user
        .as_ref()
        .or_else(|| text_user(&m.content))
        .or_else(|| text_user(&m.common_barrage_content));
    BarrageEvent {
        meta,
        msg_type: m.msg_type,
        display_type: text.map(|t| t.key.clone()).unwrap_or_default(),
        label: text.map(render_text).unwrap_or_default(),
        user: user.map(User::from_pb),
        icon_url: image_url(&m.icon),
        duration: m.duration,
        level: m
            .user_grade_param
            .as_ref()
            .map(|g| g.current_grade)
            .or(m.fans_level_param.as_ref().map(|f| f.current_grade))
            .unwrap_or(0),
    }
}

pub(crate) fn barrage_derived(e: &BarrageEvent, common_key: &str) -> Option<Event> {
    let key = if has_words(&e.display_type, SUPER_FAN) {
        e.display_type.as_str()
    } else {
        common_key
    };
    if has_words(key, SUPER_FAN_JOINED) {
        Some(Event::SuperFanJoin(e.clone()))
    } else if has_words(key, SUPER_FAN) {
        Some(Event::SuperFan(e.clone()))
    } else {
        None
    }
}
