//! The decode pipeline: push frame → (inflate) → fetch result → one typed event per message.
//!
//! Each layer is an entry point of its own, because captures come in every shape: whole
//! frames from a socket, bare fetch results from HTTP or a relay, bare payloads from logs.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use prost::Message;

use crate::cost::{cost_of, Costed};
use crate::error::DecodeError;
use crate::events::{self, meta, DecodeErrorEvent, Event, Payload, UnknownEvent};
use crate::gzip;
use crate::pb;
use crate::wire::EnvelopeRef;

/// Limits applied to untrusted input. A frame over any of them is refused with one
/// [`DecodeError`]; a session reports it and carries on with the next frame.
///
/// Together they bound the work and memory of one frame: inflating is linear in the
/// frame and its output; the heap used while decoding a frame (the inflated batch, the
/// values decoded from it and its events) stays below
/// `max_frame_bytes + max_inflated_bytes + 2 × max_expansion` beyond the frame itself
/// (`crates/tikcast-core/tests/hostile.rs` checks this with a counting allocator).
/// Real traffic stays far below every cap: about 40 messages, one gzip member, tens of
/// kilobytes inflated and well under a megabyte of expansion per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest accepted frame (compressed) in bytes. Default 4 MiB.
    pub max_frame_bytes: usize,
    /// Largest inflated payload (or bare batch) in bytes. Default 8 MiB.
    pub max_inflated_bytes: usize,
    /// Most gzip members in one payload. Default 64 (real frames carry one).
    pub max_gzip_members: usize,
    /// Most messages in one batch. Default 10,000 (real frames carry about 40, the
    /// first HTTP fetch of a room a few hundred).
    pub max_messages: usize,
    /// Most bytes the decoded values and events of one batch may take, estimated from
    /// the schema before each message is decoded (see `cost.rs`). Default 32 MiB.
    pub max_expansion: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_frame_bytes: 4 * 1024 * 1024,
            max_inflated_bytes: gzip::DEFAULT_MAX_INFLATED,
            max_gzip_members: gzip::DEFAULT_MAX_MEMBERS,
            max_messages: 10_000,
            max_expansion: 32 * 1024 * 1024,
        }
    }
}

/// What is left of a batch's [`DecodeOptions::max_expansion`].
pub(crate) struct Budget {
    left: usize,
    cap: usize,
    what: &'static str,
}

impl Budget {
    /// A budget of `cap` bytes for a `what` (`batch` or `message`).
    pub(crate) fn new(cap: usize, what: &'static str) -> Self {
        Budget {
            left: cap,
            cap,
            what,
        }
    }

    /// Takes `bytes` from the budget, or fails when it does not hold them.
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.left = 0;
                Err(DecodeError::TooExpensive {
                    what: self.what,
                    cap: self.cap,
                })
            }
        }
    }
}

/// The envelope fields an event's meta is built from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnvelopeInfo {
    pub msg_id: u64,
    pub is_history: bool,
}

/// A frame's (or a bare batch's) own fields, without events: what
/// [`write_frame`](crate::write_frame) and [`write_batch`](crate::write_batch) return, their
/// events having gone to the sink. (Its own type, not a [`Decoded`] with no events: the
/// shipped wasm then holds no drop code for typed events, 1.7 kB.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameInfo {
    /// Frame fields; zero/empty for a bare batch.
    pub seq_id: u64,
    pub log_id: u64,
    /// `msg`, `hb`, `ack`, `im_enter_room_resp`, ... (`msg` for a bare batch).
    pub payload_type: String,
    /// Batch fields, used for acks, heartbeats and resuming.
    pub cursor: String,
    pub internal_ext: String,
    pub need_ack: bool,
    pub fetch_interval_ms: i64,
    pub heartbeat_duration: i64,
    pub now_ms: i64,
    pub is_first: bool,
    pub push_server: String,
    pub route_params: Vec<(String, String)>,
}

/// What one frame (or one bare batch) decodes to: its fields (read them directly,
/// `decoded.cursor`, through `Deref`) and its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub info: FrameInfo,
    /// One or more events per message, in wire order (derived events follow their source).
    pub events: Vec<Event>,
}

impl core::ops::Deref for Decoded {
    type Target = FrameInfo;
    fn deref(&self) -> &FrameInfo {
        &self.info
    }
}

impl core::ops::DerefMut for Decoded {
    fn deref_mut(&mut self) -> &mut FrameInfo {
        &mut self.info
    }
}

/// Decodes one push frame with default limits. See [`decode_frame_with`].
pub fn decode_frame(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    decode_frame_with(bytes, &DecodeOptions::default())
}

/// Decodes one push frame: inflates its payload when the `compress_type` header says
/// gzip or the payload starts with the gzip magic, then decodes the batch. Frames that
/// are not `msg` frames (heartbeat echoes, enter-room responses) decode to no events.
pub fn decode_frame_with(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    decode_frame_filtered(bytes, opts, |_, _| true)
}

/// Like [`decode_frame_with`], but asks `keep(envelope, method)` before decoding each
/// message and skips the ones it refuses, without decoding their payload. The session
/// uses this to drop duplicates and history cheaply.
pub fn decode_frame_filtered(
    bytes: &[u8],
    opts: &DecodeOptions,
    keep: impl FnMut(EnvelopeInfo, &str) -> bool,
) -> Result<Decoded, DecodeError> {
    if bytes.len() > opts.max_frame_bytes {
        return Err(DecodeError::TooLarge {
            what: "frame",
            len: bytes.len(),
            cap: opts.max_frame_bytes,
        });
    }
    let frame = pb::PushFrame::decode(bytes).map_err(|e| DecodeError::protobuf("frame", e))?;
    let mut out = Decoded {
        info: FrameInfo {
            seq_id: frame.seq_id,
            log_id: frame.log_id,
            ..FrameInfo::default()
        },
        events: Vec::new(),
    };
    let is_msg = frame.payload_type.is_empty() || frame.payload_type == "msg";
    out.payload_type = frame.payload_type;
    if !is_msg || frame.payload.is_empty() {
        return Ok(out);
    }
    let compress = frame
        .headers
        .iter()
        .find(|h| h.key == "compress_type")
        .map(|h| h.value.as_str())
        .unwrap_or("");
    let inflated;
    let batch: &[u8] = match compress {
        "gzip" => {
            inflated = gzip::gunzip_capped(
                &frame.payload,
                opts.max_inflated_bytes,
                opts.max_gzip_members,
            )?;
            &inflated
        }
        "" | "none" if gzip::looks_like_gzip(&frame.payload) => {
            inflated = gzip::gunzip_capped(
                &frame.payload,
                opts.max_inflated_bytes,
                opts.max_gzip_members,
            )?;
            &inflated
        }
        "" | "none" => &frame.payload,
        other => return Err(DecodeError::UnsupportedCompression(other.to_string())),
    };
    if batch.len() > opts.max_inflated_bytes {
        return Err(DecodeError::TooLarge {
            what: "batch",
            len: batch.len(),
            cap: opts.max_inflated_bytes,
        });
    }
    decode_batch_into(batch, opts, &mut out, keep)?;
    Ok(out)
}

/// Decodes a bare fetch result (the body of an HTTP im/fetch, or a frame's inflated
/// payload) with default limits. See [`decode_batch_with`].
pub fn decode_batch(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    decode_batch_with(bytes, &DecodeOptions::default())
}

/// Decodes a bare fetch result under `opts`: at most `max_inflated_bytes` long, with the
/// message and expansion caps of a frame's batch.
pub fn decode_batch_with(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    if bytes.len() > opts.max_inflated_bytes {
        return Err(DecodeError::TooLarge {
            what: "batch",
            len: bytes.len(),
            cap: opts.max_inflated_bytes,
        });
    }
    let mut out = Decoded {
        info: FrameInfo {
            payload_type: "msg".to_string(),
            ..FrameInfo::default()
        },
        events: Vec::new(),
    };
    decode_batch_into(bytes, opts, &mut out, |_, _| true)?;
    Ok(out)
}

fn decode_batch_into(
    bytes: &[u8],
    opts: &DecodeOptions,
    out: &mut Decoded,
    keep: impl FnMut(EnvelopeInfo, &str) -> bool,
) -> Result<(), DecodeError> {
    let mut budget = Budget::new(opts.max_expansion, "batch");
    // Fast path: the small fields through prost, the messages read in place (no copy of
    // any payload). Anything unusual takes prost's path, errors included.
    if let Some(messages) = crate::wire::envelopes_max(bytes, opts.max_messages) {
        if let Ok(head) = pb::FetchResultHead::decode(bytes) {
            return fill_batch(out, head, &messages, keep, &mut budget);
        }
    }
    // prost's path owns a copy of every envelope: bound that before it is made.
    if crate::wire::count_field(bytes, 1) > opts.max_messages {
        return Err(too_many_messages(opts));
    }
    budget.charge(cost_of::<pb::FetchResult>(bytes))?;
    // Every field named (no `..`): a field added to FetchResult must be added to
    // FetchResultHead too, or this stops compiling.
    let pb::FetchResult {
        messages,
        cursor,
        fetch_interval_ms,
        now_ms,
        internal_ext,
        fetch_type,
        route_params,
        heartbeat_duration,
        need_ack,
        push_server,
        is_first,
        history_comment_cursor,
        history_no_more,
    } = pb::FetchResult::decode(bytes).map_err(|e| DecodeError::protobuf("batch", e))?;
    let head = pb::FetchResultHead {
        cursor,
        fetch_interval_ms,
        now_ms,
        internal_ext,
        fetch_type,
        route_params,
        heartbeat_duration,
        need_ack,
        push_server,
        is_first,
        history_comment_cursor,
        history_no_more,
    };
    let messages: Vec<EnvelopeRef<'_>> = messages
        .iter()
        .map(|m| EnvelopeRef {
            method: &m.method,
            payload: &m.payload,
            msg_id: m.msg_id,
            is_history: m.is_history,
        })
        .collect();
    fill_batch(out, head, &messages, keep, &mut budget)
}

fn too_many_messages(opts: &DecodeOptions) -> DecodeError {
    DecodeError::TooMany {
        what: "messages in one batch",
        cap: opts.max_messages,
    }
}

/// Takes the batch fields into `out` and decodes the messages `keep` accepts, within
/// `budget`.
fn fill_batch(
    out: &mut Decoded,
    head: pb::FetchResultHead,
    messages: &[EnvelopeRef<'_>],
    mut keep: impl FnMut(EnvelopeInfo, &str) -> bool,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    out.cursor = head.cursor;
    out.internal_ext = head.internal_ext;
    out.need_ack = head.need_ack;
    out.fetch_interval_ms = head.fetch_interval_ms;
    out.heartbeat_duration = head.heartbeat_duration;
    out.now_ms = head.now_ms;
    out.is_first = head.is_first;
    out.push_server = head.push_server;
    out.route_params = head.route_params.into_iter().collect();
    out.events.reserve(messages.len());
    for m in messages {
        let env = EnvelopeInfo {
            msg_id: m.msg_id,
            is_history: m.is_history,
        };
        if keep(env, m.method) {
            decode_one(m.method, m.payload, env, &mut out.events, budget)?;
        }
    }
    Ok(())
}

/// Decodes one message payload of `method` (as found in capture logs) into its events.
/// Never fails: an unknown method gives [`Event::Unknown`], a malformed payload
/// [`Event::DecodeError`].
pub fn decode_message(method: &str, payload: &[u8]) -> Vec<Event> {
    let mut out = Vec::with_capacity(1);
    decode_message_into(method, payload, EnvelopeInfo::default(), &mut out);
    out
}

/// Like [`decode_message`], appending to `out` and taking envelope fields into the meta.
/// The message gets the default [`DecodeOptions::max_expansion`] to itself; a payload
/// that would take more becomes a `decodeError` event.
pub fn decode_message_into(method: &str, payload: &[u8], env: EnvelopeInfo, out: &mut Vec<Event>) {
    let mut budget = Budget::new(DecodeOptions::default().max_expansion, "message");
    if let Err(err) = decode_one(method, payload, env, out, &mut budget) {
        push_error(method, payload, env, out, err);
    }
}

/// Decodes one message into `out`: its events, an `unknown` event or a `decodeError`
/// event. Fails only when `budget` runs out (the caller refuses the whole batch).
fn decode_one(
    method: &str,
    payload: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    match dispatch(method, payload, env, out, budget) {
        Some(Ok(())) => Ok(()),
        Some(Err(err @ DecodeError::TooExpensive { .. })) => Err(err),
        Some(Err(err)) => {
            budget.charge(passthrough_cost(method, payload))?;
            push_error(method, payload, env, out, err);
            Ok(())
        }
        None => {
            budget.charge(passthrough_cost(method, payload))?;
            out.push(Event::Unknown(UnknownEvent {
                meta: envelope_meta(env),
                method: method.to_string(),
                payload: payload.to_vec(),
            }));
            Ok(())
        }
    }
}

/// The meta of an event made from the envelope alone (`unknown`, `decodeError`).
fn envelope_meta(env: EnvelopeInfo) -> events::EventMeta {
    events::EventMeta {
        msg_id: env.msg_id,
        is_history: env.is_history,
        ..Default::default()
    }
}

/// What an `unknown` or `decodeError` event holds: copies of the method and payload.
fn passthrough_cost(method: &str, payload: &[u8]) -> usize {
    core::mem::size_of::<Event>()
        .saturating_add(method.len())
        .saturating_add(payload.len())
        .saturating_add(160)
}

fn push_error(
    method: &str,
    payload: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    err: DecodeError,
) {
    out.push(Event::DecodeError(DecodeErrorEvent {
        meta: envelope_meta(env),
        method: method.to_string(),
        error: alloc::format!("{method}: {err}"),
        payload: payload.to_vec(),
    }));
}

/// Gives the header of any schema message, wherever the message keeps it.
pub(crate) trait HasCommon {
    fn common(&self) -> Option<&pb::Common>;
}

macro_rules! has_common {
    ($($t:ident),* $(,)?) => { $( impl HasCommon for pb::$t { fn common(&self) -> Option<&pb::Common> { self.common.as_ref() } } )* };
}

has_common!(
    ChatMessage,
    GiftMessage,
    LikeMessage,
    MemberMessage,
    SocialMessage,
    RoomUserSeqMessage,
    ControlMessage,
    SubNotifyMessage,
    QuestionNewMessage,
    EmoteChatMessage,
    EnvelopeMessage,
    LiveIntroMessage,
    LinkMicBattleMessage,
    LinkMicArmiesMessage,
    RoomPinMessage,
    ImDeleteMessage,
    CaptionMessage,
    BarrageMessage,
    PollMessage,
    GoalUpdateMessage,
    RankUpdateMessage,
    RankTextMessage,
    HourlyRankRewardMessage,
    HourlyRankMessage,
    WeeklyRankRewardMessage,
    GameRankNotifyMessage,
    InRoomBannerMessage,
    InRoomBannerRefreshMessage,
    RoomMessage,
    SystemMessage,
    RoomNotifyMessage,
    RoomVerifyMessage,
    MarqueeAnnouncementMessage,
    BottomMessage,
    ToastMessage,
    NoticeMessage,
    AccessControlMessage,
    AccessRecallMessage,
    MsgDetectMessage,
    PerceptionMessage,
    UnauthorizedMemberMessage,
    HashtagMessage,
    RoomStickerMessage,
    AnchorToolModificationMessage,
    SubTimerStickerMessage,
    SubWaveMessage,
    SubscriptionGuideMessage,
    SubPinEventMessage,
    CapsuleMessage,
    GiftBroadcastMessage,
    GiftPanelUpdateMessage,
    GiftDynamicRestrictionMessage,
    GiftPromptMessage,
    GiftCollectionUpdateMessage,
    EnvelopePortalMessage,
    GoodyBagMessage,
    QuestionSelectedMessage,
    QuestionDeleteMessage,
    QuestionSlideDownMessage,
    QuestionSwitchMessage,
    PictionaryStartMessage,
    PictionaryUpdateMessage,
    PictionaryEndMessage,
    PictionaryExitMessage,
    LiveGameIntroMessage,
    ViewerPicksUpdateMessage,
    BoostCardMessage,
    GuideMessage,
    SpeakerMessage,
    LinkMicBattlePunishFinishMessage,
    LinkMicBattleItemCardMessage,
    LinkMicBattleTaskMessage,
    LinkMicBattleNoticeMessage,
    LinkMicMethodMessage,
    LinkMicFanTicketMethodMessage,
    LinkMicAnchorGuideMessage,
    LinkMicLayoutStateMessage,
    LinkMessage,
    LinkLayerMessage,
    LinkScreenChangeMessage,
    LinkStateMessage,
    OecLiveShoppingMessage,
    OpaqueMessage,
    PaidContentLiveShoppingMessage,
    EcShortItemRefreshMessage,
    EcTaskRegisterMessage,
    BaLeadGenMessage,
    DonationStickerModifyMethod,
    PartnershipCardChangeMessage,
    PartnershipDownloadCountMessage,
    PartnershipDropsUpdateMessage,
    PartnershipGameOfflineMessage,
    PartnershipPunishMessage,
    UpdateShareRevenueNoticeMessage,
);

/// Decodes `payload` as `T` and returns it with its meta, after charging `budget` with
/// what it and its event will take (returned, for events derived from it).
fn parse<T: Message + Default + HasCommon + Costed>(
    payload: &[u8],
    env: EnvelopeInfo,
    budget: &mut Budget,
) -> Result<(T, events::EventMeta, usize), DecodeError> {
    let cost = cost_of::<T>(payload).saturating_add(core::mem::size_of::<Event>());
    budget.charge(cost)?;
    let m = T::decode(payload).map_err(|e| DecodeError::protobuf("payload", e))?;
    let meta = meta(m.common(), &env);
    Ok((m, meta, cost))
}

/// [`parse`] for a message that may also give a derived event (a clone of its own):
/// charges `budget` for both.
fn parse_derived<T: Message + Default + HasCommon + Costed>(
    payload: &[u8],
    env: EnvelopeInfo,
    budget: &mut Budget,
) -> Result<(T, events::EventMeta), DecodeError> {
    let (m, meta, cost) = parse::<T>(payload, env, budget)?;
    budget.charge(cost)?;
    Ok((m, meta))
}

fn payload<T: Message + Default + HasCommon + Costed>(
    payload: &[u8],
    env: EnvelopeInfo,
    budget: &mut Budget,
) -> Result<Payload<T>, DecodeError> {
    parse::<T>(payload, env, budget).map(|(data, meta, _)| Payload { meta, data })
}

/// Decodes one message payload into `out`, within `budget`.
type Decoder = fn(&[u8], EnvelopeInfo, &mut Vec<Event>, &mut Budget) -> Result<(), DecodeError>;

/// A payload that becomes its schema message, wrapped in event `$variant`.
macro_rules! generic {
    ($variant:ident) => {
        |p, env, out, budget| payload(p, env, budget).map(|e| out.push(Event::$variant(e.into())))
    };
}

/// A payload of a method whose layout is not public: its common header and the payload as
/// sent, as event `$variant`.
macro_rules! opaque {
    ($variant:ident) => {
        |p, env, out, budget| {
            parse::<pb::OpaqueMessage>(p, env, budget).and_then(|(_, meta, _)| {
                budget.charge(p.len())?;
                out.push(Event::$variant(events::OpaqueEvent {
                    meta,
                    payload: p.to_vec(),
                }));
                Ok(())
            })
        }
    };
}

/// A payload converted to a hand-shaped event by `$conv`.
macro_rules! shaped {
    ($variant:ident, $conv:path) => {
        |p, env, out, budget| {
            parse(p, env, budget).map(|(m, meta, _)| out.push(Event::$variant($conv(m, meta))))
        }
    };
}

/// The one table of known methods: each row gives the method name(s), the event it
/// produces first, and its decoder. It generates both [`KNOWN_METHODS`] and the lookup
/// the decoder dispatches with, so the two cannot disagree.
macro_rules! methods {
    ($( [$($method:literal),+] => $name:literal, $decoder:expr; )*) => {
        /// Every method the decoder knows, with the event it produces first.
        pub const KNOWN_METHODS: &[(&str, &str)] = &[$($(($method, $name),)+)*];

        /// The decoder of a known method, or `None` when the method is unknown.
        fn decoder_for(method: &str) -> Option<Decoder> {
            let decoder: Decoder = match method {
                $( $($method)|+ => $decoder, )*
                _ => return None,
            };
            Some(decoder)
        }
    };
}

methods! {
    ["WebcastChatMessage"] => "chat", shaped!(Chat, events::chat);
    ["WebcastGiftMessage"] => "gift", shaped!(Gift, events::gift);
    ["WebcastLikeMessage"] => "like", shaped!(Like, events::like);
    ["WebcastMemberMessage"] => "member", shaped!(Member, events::member);
    ["WebcastSocialMessage"] => "social", social_events;
    ["WebcastRoomUserSeqMessage"] => "roomUser", shaped!(RoomUser, events::room_user);
    ["WebcastControlMessage"] => "controlMessage", control_events;
    ["WebcastSubNotifyMessage"] => "subscribe", shaped!(Subscribe, events::subscribe);
    ["WebcastQuestionNewMessage"] => "questionNew", shaped!(QuestionNew, events::question);
    ["WebcastEmoteChatMessage"] => "emote", shaped!(Emote, events::emote_chat);
    ["WebcastEnvelopeMessage"] => "envelope", envelope_events;
    ["WebcastLiveIntroMessage"] => "liveIntro", shaped!(LiveIntro, events::live_intro);
    ["WebcastLinkMicBattle"] => "linkMicBattle", shaped!(LinkMicBattle, events::battle);
    ["WebcastLinkMicArmies"] => "linkMicArmies", shaped!(LinkMicArmies, events::armies);
    ["WebcastRoomPinMessage"] => "roomPin", shaped!(RoomPin, events::room_pin);
    ["WebcastImDeleteMessage"] => "imDelete", shaped!(ImDelete, events::im_delete);
    ["WebcastCaptionMessage"] => "caption", shaped!(Caption, events::caption);
    ["WebcastBarrageMessage"] => "barrage", barrage_events;
    ["WebcastPollMessage"] => "poll", generic!(Poll);
    ["WebcastGoalUpdateMessage"] => "goalUpdate", generic!(GoalUpdate);
    ["WebcastRankUpdateMessage"] => "rankUpdate", generic!(RankUpdate);
    ["WebcastRankTextMessage"] => "rankText", generic!(RankText);
    ["WebcastHourlyRankRewardMessage"] => "hourlyRank", generic!(HourlyRank);
    ["WebcastHourlyRankMessage"] => "hourlyRankLegacy", generic!(HourlyRankLegacy);
    ["WebcastWeeklyRankRewardMessage"] => "weeklyRankReward", generic!(WeeklyRankReward);
    ["WebcastGameRankNotifyMessage"] => "gameRankNotify", generic!(GameRankNotify);
    ["WebcastInRoomBannerMessage"] => "inRoomBanner", generic!(InRoomBanner);
    ["WebcastInRoomBannerRefreshMessage"] => "inRoomBannerRefresh", generic!(InRoomBannerRefresh);
    ["WebcastRoomMessage", "RoomMessage"] => "roomMessage", generic!(RoomMessage);
    ["WebcastSystemMessage"] => "system", generic!(System);
    ["WebcastRoomNotifyMessage"] => "roomNotify", generic!(RoomNotify);
    ["WebcastRoomVerifyMessage", "RoomVerifyMessage"] => "roomVerify", generic!(RoomVerify);
    ["WebcastMarqueeAnnouncementMessage"] => "marqueeAnnouncement", generic!(MarqueeAnnouncement);
    ["WebcastBottomMessage"] => "bottomMessage", generic!(BottomMessage);
    ["WebcastToastMessage"] => "toast", generic!(Toast);
    ["WebcastNoticeMessage"] => "notice", generic!(Notice);
    ["WebcastAccessControlMessage"] => "accessControl", generic!(AccessControl);
    ["WebcastAccessRecallMessage"] => "accessRecall", generic!(AccessRecall);
    ["WebcastMsgDetectMessage"] => "msgDetect", generic!(MsgDetect);
    ["WebcastPerceptionMessage"] => "perception", generic!(Perception);
    ["WebcastUnauthorizedMemberMessage"] => "unauthorizedMember", generic!(UnauthorizedMember);
    ["WebcastHashtagMessage"] => "hashtag", generic!(Hashtag);
    ["WebcastRoomStickerMessage"] => "roomSticker", generic!(RoomSticker);
    ["WebcastAnchorToolModificationMessage"] => "anchorToolModification", generic!(AnchorToolModification);
    ["WebcastSubTimerStickerMessage"] => "subTimerSticker", generic!(SubTimerSticker);
    ["WebcastSubWaveMessage"] => "subWave", generic!(SubWave);
    ["WebcastSubscriptionGuideMessage"] => "subscriptionGuide", generic!(SubscriptionGuide);
    ["WebcastSubPinEventMessage"] => "subPinEvent", generic!(SubPinEvent);
    ["WebcastCapsuleMessage"] => "capsule", generic!(Capsule);
    ["WebcastGiftBroadcastMessage"] => "giftBroadcast", generic!(GiftBroadcast);
    ["WebcastGiftPanelUpdateMessage"] => "giftPanelUpdate", generic!(GiftPanelUpdate);
    ["WebcastGiftDynamicRestrictionMessage"] => "giftDynamicRestriction", generic!(GiftDynamicRestriction);
    ["WebcastGiftPromptMessage"] => "giftPrompt", generic!(GiftPrompt);
    ["WebcastGiftCollectionUpdateMessage"] => "giftCollectionUpdate", generic!(GiftCollectionUpdate);
    ["WebcastEnvelopePortalMessage"] => "envelopePortal", generic!(EnvelopePortal);
    ["WebcastGoodyBagMessage"] => "goodyBag", generic!(GoodyBag);
    ["WebcastQuestionSelectedMessage"] => "questionSelected", generic!(QuestionSelected);
    ["WebcastQuestionDeleteMessage"] => "questionDelete", generic!(QuestionDelete);
    ["WebcastQuestionSlideDownMessage"] => "questionSlideDown", generic!(QuestionSlideDown);
    ["WebcastQuestionSwitchMessage"] => "questionSwitch", generic!(QuestionSwitch);
    ["WebcastPictionaryStartMessage"] => "pictionaryStart", generic!(PictionaryStart);
    ["WebcastPictionaryUpdateMessage"] => "pictionaryUpdate", generic!(PictionaryUpdate);
    ["WebcastPictionaryEndMessage"] => "pictionaryEnd", generic!(PictionaryEnd);
    ["WebcastPictionaryExitMessage"] => "pictionaryExit", generic!(PictionaryExit);
    ["WebcastLiveGameIntroMessage"] => "liveGameIntro", generic!(LiveGameIntro);
    ["WebcastViewerPicksUpdateMessage"] => "viewerPicksUpdate", generic!(ViewerPicksUpdate);
    ["WebcastBoostCardMessage"] => "boostCard", generic!(BoostCard);
    ["WebcastGuideMessage"] => "guide", generic!(Guide);
    ["WebcastSpeakerMessage"] => "speaker", generic!(Speaker);
    ["WebcastLinkMicBattlePunishFinish"] => "linkMicBattlePunishFinish", generic!(LinkMicBattlePunishFinish);
    ["WebcastLinkMicBattleItemCard"] => "linkMicBattleItemCard", generic!(LinkMicBattleItemCard);
    ["WebcastLinkmicBattleTaskMessage"] => "linkMicBattleTask", generic!(LinkMicBattleTask);
    ["WebcastLinkmicBattleNoticeMessage"] => "linkMicBattleNotice", generic!(LinkMicBattleNotice);
    ["WebcastLinkMicMethod", "LinkMicMethod"] => "linkMicMethod", generic!(LinkMicMethod);
    ["WebcastLinkMicFanTicketMethod"] => "linkMicFanTicketMethod", generic!(LinkMicFanTicketMethod);
    ["WebcastLinkMicAnchorGuideMessage"] => "linkMicAnchorGuide", generic!(LinkMicAnchorGuide);
    ["WebcastLinkMicLayoutStateMessage"] => "linkMicLayoutState", generic!(LinkMicLayoutState);
    ["WebcastLinkMessage"] => "linkMessage", generic!(LinkMessage);
    ["WebcastLinkLayerMessage"] => "linkLayer", generic!(LinkLayer);
    ["WebcastLinkScreenChangeMessage"] => "linkScreenChange", generic!(LinkScreenChange);
    ["WebcastLinkStateMessage"] => "linkState", generic!(LinkState);
    ["WebcastOecLiveShoppingMessage"] => "oecLiveShopping", oec_shopping_events;
    ["WebcastOecLiveManagerMessage"] => "oecLiveManager", opaque!(OecLiveManager);
    ["WebcastHotRoomMessage"] => "hotRoom", opaque!(HotRoom);
    ["WebcastCommentTrayMessage"] => "commentTray", opaque!(CommentTray);
    ["WebcastPrivilegeAdvanceMessage"] => "privilegeAdvance", opaque!(PrivilegeAdvance);
    ["WebcastGameServerFeatureMessage"] => "gameServerFeature", opaque!(GameServerFeature);
    ["WebcastCompetitionMessage"] => "competition", opaque!(Competition);
    ["WebcastStreamStatusMessage"] => "streamStatus", opaque!(StreamStatus);
    ["WebcastAISummaryMessage"] => "aiSummary", opaque!(AiSummary);
    ["WebcastGiftGalleryMessage"] => "giftGallery", opaque!(GiftGallery);
    ["WebcastFansEventMessage"] => "fansEvent", opaque!(FansEvent);
    ["WebcastGuestShowdownMessage"] => "guestShowdown", opaque!(GuestShowdown);
    ["WebcastGroupLiveMemberNotifyMessage"] => "groupLiveMemberNotify", opaque!(GroupLiveMemberNotify);
    ["WebcastShortTouchMessage"] => "shortTouch", opaque!(ShortTouch);
    ["WebcastGameMomentMessage"] => "gameMoment", opaque!(GameMoment);
    ["WebcastGiftUnlockMessage"] => "giftUnlock", opaque!(GiftUnlock);
    ["WebcastKaraokeReqMessage"] => "karaokeReq", opaque!(KaraokeReq);
    ["WebcastPaidContentLiveShoppingMessage"] => "paidContentLiveShopping", generic!(PaidContentLiveShopping);
    ["WebcastEcShortItemRefreshMessage"] => "ecShortItemRefresh", generic!(EcShortItemRefresh);
    ["WebcastEcTaskRegisterMessage"] => "ecTaskRegister", generic!(EcTaskRegister);
    ["WebcastBALeadGenMessage"] => "baLeadGen", generic!(BaLeadGen);
    ["WebcastDonationStickerModifyMethod"] => "donationStickerModify", generic!(DonationStickerModify);
    ["WebcastPartnershipCardChangeMessage"] => "partnershipCardChange", generic!(PartnershipCardChange);
    ["WebcastPartnershipDownloadCountMessage"] => "partnershipDownloadCount", generic!(PartnershipDownloadCount);
    ["WebcastPartnershipDropsUpdateMessage"] => "partnershipDropsUpdate", generic!(PartnershipDropsUpdate);
    ["WebcastPartnershipGameOfflineMessage"] => "partnershipGameOffline", generic!(PartnershipGameOffline);
    ["WebcastPartnershipPunishMessage"] => "partnershipPunish", generic!(PartnershipPunish);
    ["WebcastUpdateShareRevenueNoticeMessage"] => "updateShareRevenueNotice", generic!(UpdateShareRevenueNotice);
}

/// The first event name `method` produces, or `None` for a method we do not know.
pub fn event_name_for_method(method: &str) -> Option<&'static str> {
    KNOWN_METHODS
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, e)| *e)
}

/// Whether a message of `method` can produce an event `wanted` accepts: its own event,
/// the events derived from it (`follow` from social, ...), or the session's own events
/// made from it (`giftStreak`/`giftRaw` from gifts, `likeAggregate` from likes);
/// `unknown` for a method the decoder does not know. Used to skip decoding messages
/// nobody listens to.
pub fn method_produces(method: &str, wanted: impl Fn(&str) -> bool) -> bool {
    let own = event_name_for_method(method).unwrap_or("unknown");
    let derived: &[&str] = match method {
        "WebcastGiftMessage" => &["giftStreak", "giftRaw"],
        "WebcastLikeMessage" => &["likeAggregate"],
        "WebcastSocialMessage" => &["follow", "share"],
        "WebcastControlMessage" => &["streamEnd"],
        "WebcastEnvelopeMessage" => &["superFanBox"],
        "WebcastBarrageMessage" => &["superFan", "superFanJoin"],
        "WebcastOecLiveShoppingMessage" => &["shopProduct"],
        _ => &[],
    };
    wanted(own) || derived.iter().any(|d| wanted(d))
}

/// Decodes a known method into `out`; `None` when the method is unknown.
fn dispatch(
    method: &str,
    p: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    budget: &mut Budget,
) -> Option<Result<(), DecodeError>> {
    decoder_for(method).map(|decode| decode(p, env, out, budget))
}

/// `oecLiveShopping`, then `shopProduct` when it carries the pinned product.
fn oec_shopping_events(
    p: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    let (data, meta) = parse_derived::<pb::OecLiveShoppingMessage>(p, env, budget)?;
    let e = Payload { meta, data };
    let derived = e
        .data
        .pop_product
        .is_some()
        .then(|| Event::ShopProduct(e.clone()));
    out.push(Event::OecLiveShopping(e));
    out.extend(derived);
    Ok(())
}

/// `social`, then `follow` or `share`.
fn social_events(
    p: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    let (m, meta) = parse_derived(p, env, budget)?;
    let e = events::social(m, meta);
    let derived = events::social_derived(&e);
    out.push(Event::Social(e));
    out.extend(derived);
    Ok(())
}

/// `controlMessage`, then `streamEnd` for action 3 (ended) or 4 (suspended).
fn control_events(
    p: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    let (m, meta) = parse_derived(p, env, budget)?;
    let e = events::control(m, meta);
    let end = matches!(e.action, 3 | 4).then(|| Event::StreamEnd(e.clone()));
    out.push(Event::ControlMessage(e));
    out.extend(end);
    Ok(())
}

/// `envelope`, then `superFanBox` for a super-fan chest.
fn envelope_events(
    p: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    let (m, meta) = parse_derived::<pb::EnvelopeMessage>(p, env, budget)?;
    let key = m
        .common
        .as_ref()
        .and_then(|c| c.display_text.as_ref())
        .map(|t| crate::keys::has_words(&t.key, crate::keys::SUPER_FAN_BOX));
    let e = events::envelope(m, meta);
    let super_fan = key == Some(true) || e.business_type == 19;
    let derived = super_fan.then(|| Event::SuperFanBox(e.clone()));
    out.push(Event::Envelope(e));
    out.extend(derived);
    Ok(())
}

/// `barrage`, then `superFan` or `superFanJoin` for super-fan banners.
fn barrage_events(
    p: &[u8],
    env: EnvelopeInfo,
    out: &mut Vec<Event>,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    let (m, meta) = parse_derived::<pb::BarrageMessage>(p, env, budget)?;
    let common_key = m
        .common_barrage_content
        .as_ref()
        .map(|t| t.key.clone())
        .unwrap_or_default();
    let e = events::barrage(m, meta);
    let derived = events::barrage_derived(&e, &common_key);
    out.push(Event::Barrage(e));
    out.extend(derived);
    Ok(())
}
