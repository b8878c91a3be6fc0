//! The hand-shaped events of decoder v2, written straight from borrowed [`View`]s into a
//! [`Sink`]: the canonical user, `chat`, `gift`, `like`, ... and the derived events
//! (`follow`/`share`, `streamEnd`, `superFanBox`, `superFan`/`superFanJoin`). Each shape
//! is one named function; every other method is written generically from the schema
//! tables (`reader::write_fields`). The output equals the typed model's canonical JSON
//! (`events.rs`, `user.rs`): `tests/reader_oracle.rs` checks it on every corpus message.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::decode::EnvelopeInfo;
use crate::keys::{
    find, has_ignore_case, has_words, top_gifter_rank, SUPER_FAN, SUPER_FAN_BOX, SUPER_FAN_JOINED,
};
use crate::reader::{index, index_more, msg, slot, write_fields, Ctx, Index, Result, Sink, View};

// ------------------------------------------------------------------ small readers

/// The first URL of an image (or "").
fn image_url<'a>(image: Option<View<'a>>) -> &'a str {
    image
        .and_then(|i| {
            i.each(slot::Image::url_list)
                .next()
                .map(|(_, b)| core::str::from_utf8(b).unwrap_or(""))
        })
        .unwrap_or("")
}

/// The text a display-template piece stands for.
fn piece_text<'a>(p: &View<'a>) -> &'a str {
    use slot::TextPiece as P;
    if let Some(u) = p
        .msg(P::user_value)
        .and_then(|u| u.msg(slot::TextPieceUser::user))
    {
        let nick = u.str(slot::User::nickname);
        return if nick.is_empty() {
            u.str(slot::User::display_id)
        } else {
            nick
        };
    }
    if let Some(g) = p.msg(P::gift_value) {
        return g
            .msg(slot::TextPieceGift::name_ref)
            .map_or("", |r| r.str(slot::PatternRef::default_pattern));
    }
    if let Some(r) = p.msg(P::pattern_ref_value) {
        return r.str(slot::PatternRef::default_pattern);
    }
    p.str(P::string_value)
}

/// Renders a display template (the rules and cap of `user::render_pattern`).
fn render_text(text: &View<'_>) -> String {
    let pieces: Vec<&str> = text
        .msgs(slot::Text::pieces)
        .map(|p| piece_text(&p))
        .collect();
    crate::user::render_pattern(text.str(slot::Text::default_pattern), &pieces)
}

/// The first user a display template's pieces mention.
fn text_user<'a>(text: Option<View<'a>>) -> Option<View<'a>> {
    text?.msgs(slot::Text::pieces).find_map(|p| {
        p.msg(slot::TextPiece::user_value)?
            .msg(slot::TextPieceUser::user)
    })
}

fn write_label<S: Sink + ?Sized>(text: Option<View<'_>>, sink: &mut S) {
    match text {
        Some(t) => sink.str(&render_text(&t)),
        None => sink.str(""),
    }
}

// ------------------------------------------------------------------ the canonical user

/// One badge, flattened (see `user::UserBadge`).
struct Badge<'a> {
    kind: &'static str,
    scene_type: i32,
    label: &'a str,
    url: &'a str,
    level: u32,
    key: Option<&'a str>,
    /// The fill and dark-mode fill of a combine badge (`""` when absent).
    colors: (&'a str, &'a str),
}

fn badge<'a>(b: &View<'a>) -> Badge<'a> {
    use slot::Badge as B;
    let level_str = b
        .msg(B::privilege_log_extra)
        .map_or("", |p| p.str(slot::PrivilegeLogExtra::level));
    let text = b.msg(B::text);
    let combine = b.msg(B::combine);
    let (kind, label, url, level_alt) = if let Some(c) = &combine {
        let label = c
            .msg(slot::CombineBadge::text)
            .map_or("", |t| t.str(slot::PatternRef::default_pattern));
        (
            "combine",
            label,
            image_url(c.msg(slot::CombineBadge::icon)),
            c.str(slot::CombineBadge::str),
        )
    } else if let Some(t) = &text {
        ("text", t.str(slot::TextBadge::default_pattern), "", "")
    } else if let Some(s) = b.msg(B::str) {
        ("string", s.str(slot::StringBadge::str), "", "")
    } else if let Some(i) = b.msg(B::image) {
        ("image", "", image_url(i.msg(slot::ImageBadge::image)), "")
    } else {
        ("image", "", "", "")
    };
    let level = level_str
        .parse::<u32>()
        .ok()
        .filter(|&l| l > 0)
        .or_else(|| level_alt.parse().ok())
        .unwrap_or(0);
    let key = text.map(|t| t.str(slot::TextBadge::key)).or_else(|| {
        combine?
            .msg(slot::CombineBadge::text)
            .map(|t| t.str(slot::PatternRef::key))
    });
    let fill = |field: usize| {
        combine.as_ref().and_then(|c| c.msg(field)).map_or("", |g| {
            g.str(slot::CombineBadgeBackground::background_color_code)
        })
    };
    Badge {
        kind,
        scene_type: b.i32(B::scene_type),
        label,
        url,
        level,
        key,
        colors: (
            fill(slot::CombineBadge::background),
            fill(slot::CombineBadge::background_dark_mode),
        ),
    }
}

/// Writes the canonical user of a `User` view (already validated).
pub(crate) fn write_user<S: Sink + ?Sized>(u: &View<'_>, sink: &mut S, ctx: &Ctx) -> Result<()> {
    write_user_with(Some(u), None, sink, ctx)
}

/// The canonical user of an optional wire user (absent: the default user), with a
/// message's identity flags folded in (`User::apply_identity`).
fn write_user_with<S: Sink + ?Sized>(
    u: Option<&View<'_>>,
    identity: Option<&View<'_>>,
    sink: &mut S,
    ctx: &Ctx,
) -> Result<()> {
    use slot::User as U;
    ctx.check(sink)?;
    let mut is_moderator = false;
    let mut is_subscriber = u.is_some_and(|u| u.bool(U::is_subscribe));
    let mut is_new_gifter = false;
    let mut is_anchor = false;
    let mut is_gift_giver = false;
    let mut rank: Option<u32> = None;
    let mut gifter_level = 0u32;
    let mut follow_role = u.map_or(0, |u| {
        u.msg(U::follow_info).map_or(u.i64(U::follow_status), |f| {
            f.i64(slot::FollowInfo::follow_status)
        })
    });
    if let Some(u) = u {
        for b in u.msgs(U::badge_list) {
            let b = badge(&b);
            let label = b.label;
            match b.scene_type {
                1 => is_moderator = true,
                4 | 7 => is_subscriber = true,
                8 if gifter_level == 0 => gifter_level = b.level,
                _ => {}
            }
            if has_ignore_case(label, "moderator") {
                is_moderator = true;
            }
            if find(b.url, "/sub_").is_some() {
                is_subscriber = true;
            }
            if label.eq_ignore_ascii_case("new gifter")
                || b.key.is_some_and(|k| has_ignore_case(k, "_ng_"))
            {
                is_new_gifter = true;
            }
            if let Some(r) = top_gifter_rank(b.url, b.label) {
                rank = Some(rank.map_or(r, |x| x.min(r)));
            }
        }
        if gifter_level == 0 {
            gifter_level = u.msg(U::pay_grade).map_or(0, |g| {
                u32::try_from(g.i64(slot::UserHonor::level)).unwrap_or(0)
            });
        }
    }
    if let Some(id) = identity {
        use slot::UserIdentity as I;
        is_moderator |= id.bool(I::is_moderator_of_anchor);
        is_subscriber |= id.bool(I::is_subscriber_of_anchor);
        is_anchor = id.bool(I::is_anchor);
        is_gift_giver = id.bool(I::is_gift_giver_of_anchor);
        if id.bool(I::is_mutual_following_with_anchor) {
            follow_role = follow_role.max(2);
        } else if id.bool(I::is_follower_of_anchor) {
            follow_role = follow_role.max(1);
        }
    }
    // The reader checked these are UTF-8 when it indexed the user.
    let s = |f: usize| u.map_or(&[][..], |u| u.bytes(f));
    sink.begin_object();
    sink.key("userId");
    sink.id(u.map_or(0, |u| u.u64(U::id)));
    sink.key("uniqueId");
    sink.text(s(U::display_id));
    sink.key("nickname");
    sink.text(s(U::nickname));
    sink.key("secUid");
    sink.text(s(U::sec_uid));
    sink.key("profilePictureUrl");
    let pic = u.map_or("", |u| {
        [U::avatar_thumb, U::avatar_medium, U::avatar_large]
            .into_iter()
            .map(|f| image_url(u.msg(f)))
            .find(|p| !p.is_empty())
            .unwrap_or("")
    });
    sink.str(pic);
    sink.key("followRole");
    sink.int(follow_role);
    sink.key("isModerator");
    sink.bool(is_moderator);
    sink.key("isSubscriber");
    sink.bool(is_subscriber);
    sink.key("isNewGifter");
    sink.bool(is_new_gifter);
    sink.key("topGifterRank");
    match rank {
        Some(r) => sink.uint(u64::from(r)),
        None => sink.null(),
    }
    sink.key("gifterLevel");
    sink.uint(u64::from(gifter_level));
    sink.key("fansClub");
    let club = u
        .and_then(|u| u.msg(U::fans_club))
        .and_then(|c| c.msg(slot::FansClubMember::data))
        .filter(|d| !d.str(slot::FansClubData::club_name).is_empty());
    match club {
        Some(d) => {
            sink.begin_object();
            sink.key("name");
            sink.str(d.str(slot::FansClubData::club_name));
            sink.key("level");
            sink.int(i64::from(d.i32(slot::FansClubData::level)));
            sink.end_object();
        }
        None => sink.null(),
    }
    {
        use slot::FollowInfo as F;
        let f = u.and_then(|u| u.msg(U::follow_info));
        let n = |field: usize| f.as_ref().map_or(0, |f| f.i64(field));
        sink.key("followerCount");
        sink.int(n(F::follower_count));
        sink.key("followingCount");
        sink.int(n(F::following_count));
    }
    sink.key("isAnchor");
    sink.bool(is_anchor);
    sink.key("isGiftGiverOfAnchor");
    sink.bool(is_gift_giver);
    sink.key("isAnonymous");
    sink.bool(u.is_some_and(|u| {
        u.msg(U::enigma_info)
            .is_some_and(|e| e.bool(slot::EnigmaInfo::is_enigma_mask_on))
    }));
    sink.key("badges");
    sink.begin_array();
    if let Some(u) = u {
        for b in u.msgs(U::badge_list) {
            ctx.check(sink)?;
            let b = badge(&b);
            sink.begin_object();
            sink.key("kind");
            sink.str(b.kind);
            sink.key("sceneType");
            sink.int(i64::from(b.scene_type));
            sink.key("label");
            sink.str(b.label);
            sink.key("url");
            sink.str(b.url);
            sink.key("level");
            sink.uint(u64::from(b.level));
            sink.key("primaryColor");
            sink.str(b.colors.0);
            sink.key("secondaryColor");
            sink.str(b.colors.1);
            sink.end_object();
        }
    }
    sink.end_array();
    sink.end_object();
    Ok(())
}

fn user_or_null<S: Sink + ?Sized>(u: Option<View<'_>>, sink: &mut S, ctx: &Ctx) -> Result<()> {
    match u {
        Some(u) => write_user(&u, sink, ctx),
        None => {
            sink.null();
            Ok(())
        }
    }
}

// ------------------------------------------------------------------ events

/// Writes one event: `type`, the meta, then `body`.
fn event<'v>(
    name: &'static str,
    view: &View<'v>,
    env: EnvelopeInfo,
    sink: &mut dyn Sink,
    ctx: &Ctx,
    body: impl FnOnce(&View<'v>, &mut dyn Sink, &Ctx) -> Result<()>,
) -> Result<()> {
    let common = view.common();
    sink.event_start();
    sink.begin_object();
    sink.key("type");
    sink.str(name);
    sink.key("msgId");
    sink.id(if env.msg_id != 0 {
        env.msg_id
    } else {
        common.map_or(0, |c| c.u64(slot::Common::msg_id))
    });
    sink.key("roomId");
    sink.id(common.map_or(0, |c| c.u64(slot::Common::room_id)));
    sink.key("createTime");
    sink.int(common.map_or(0, |c| c.i64(slot::Common::create_time)));
    sink.key("isHistory");
    sink.bool(env.is_history);
    body(view, sink, ctx)?;
    sink.end_object();
    sink.event_end();
    Ok(())
}

/// The event(s) of one known method's payload.
pub(crate) fn write_known(
    route: &Route,
    payload: &[u8],
    env: EnvelopeInfo,
    sink: &mut dyn Sink,
    ctx: &Ctx,
) -> Result<()> {
    // `None`: an opaque method (its body is the payload as sent, below).
    let (ty, body, derive): (usize, Option<ShapedBody>, Option<Derive>) = match route.shape {
        Shape::Generic(ty, derive) => (ty, Some(|v, s, c| write_fields(v, s, c)), derive),
        Shape::Shaped(ty, body, derive) => (ty, Some(body), derive),
        Shape::Opaque => (msg::OpaqueMessage, None, None),
    };
    // The batch's index, reused; a fresh one in the (never taken) case it is in use.
    let mut own = None;
    let mut shared = ctx.ix.try_borrow_mut().ok();
    let ix: &mut Index = match shared.as_deref_mut() {
        Some(ix) => ix,
        None => own.insert(Index::new()),
    };
    let raw = payload;
    let payload = index(ix, ty, payload)?;
    let view = ix.root(&payload);
    let Some(body) = body else {
        // The common header for the meta, then the message as sent.
        return event(route.name, &view, env, sink, ctx, |_, s, _| {
            s.key("payload");
            s.base64(raw);
            Ok(())
        });
    };
    event(route.name, &view, env, sink, ctx, body)?;
    if let Some(name) = derive.and_then(|d| d(&view)) {
        event(name, &view, env, sink, ctx, body)?;
    }
    Ok(())
}

/// How a method's payload becomes events.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    /// The schema message (row), every field, and the derived event it may add (with the
    /// same fields).
    Generic(usize, Option<Derive>),
    /// A method whose layout is not public: the common header (`OpaqueMessage`) and the
    /// payload as sent (base64).
    Opaque,
    /// The schema message (row), a hand-shaped body, and the derived event it may add.
    Shaped(usize, ShapedBody, Option<Derive>),
}

/// A hand-shaped body, monomorphic over the sink through `dyn`.
pub(crate) type ShapedBody = fn(&View<'_>, &mut dyn Sink, &Ctx) -> Result<()>;
/// The name of the event derived from a message, if it derives one.
pub(crate) type Derive = fn(&View<'_>) -> Option<&'static str>;

/// A known method: the event it produces first and how.
#[derive(Clone, Copy)]
pub(crate) struct Route {
    pub name: &'static str,
    pub shape: Shape,
}

fn display_text<'a>(v: &View<'a>) -> Option<View<'a>> {
    v.common()?.msg(slot::Common::display_text)
}

fn chat(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::ChatMessage as M;
    s.key("user");
    write_user_with(
        v.msg(M::user).as_ref(),
        v.msg(M::user_identity).as_ref(),
        s,
        c,
    )?;
    s.key("comment");
    s.str(v.str(M::content));
    s.key("language");
    s.str(v.str(M::content_language));
    s.key("emotes");
    s.begin_array();
    for e in v.msgs(M::emotes) {
        c.check(s)?;
        if let Some(emote) = e.msg(slot::EmoteWithIndex::emote) {
            write_emote(e.i32(slot::EmoteWithIndex::index), &emote, s);
        }
    }
    s.end_array();
    s.key("atUser");
    user_or_null(v.msg(M::at_user), s, c)?;
    s.key("visibleToSender");
    s.bool(v.bool(M::visible_to_sender));
    Ok(())
}

fn write_emote(index: i32, e: &View<'_>, s: &mut dyn Sink) {
    s.begin_object();
    s.key("index");
    s.int(i64::from(index));
    s.key("emoteId");
    s.str(e.str(slot::Emote::emote_id));
    s.key("imageUrl");
    s.str(image_url(e.msg(slot::Emote::image)));
    s.end_object();
}

fn gift(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    gift_body(v, s, c, false)
}

/// A gift whose streak the session closed because its end never came: `repeatEnd` and
/// `timedOut` are true.
fn gift_timed_out(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    gift_body(v, s, c, true)
}

fn gift_body(v: &View<'_>, s: &mut dyn Sink, c: &Ctx, timed_out: bool) -> Result<()> {
    use slot::GiftInfo as G;
    use slot::GiftMessage as M;
    let info = v.msg(M::gift);
    let monitor = v.msg(M::monitor_info);
    let to_user = v.msg(M::to_user);
    let receiver = monitor
        .map(|m| m.u64(slot::GiftMonitorInfo::to_user_id))
        .filter(|&id| id != 0)
        .or(to_user.map(|u| u.u64(slot::User::id)))
        .or(monitor.map(|m| m.u64(slot::GiftMonitorInfo::anchor_id)))
        .unwrap_or(0);
    s.key("user");
    write_user_with(
        v.msg(M::user).as_ref(),
        v.msg(M::user_identity).as_ref(),
        s,
        c,
    )?;
    s.key("giftId");
    let id = v.u64(M::gift_id);
    s.id(if id != 0 {
        id
    } else {
        info.map_or(0, |i| i.u64(G::id))
    });
    s.key("giftName");
    s.str(info.map_or("", |i| i.str(G::name)));
    s.key("giftPictureUrl");
    s.str(image_url(info.and_then(|i| i.msg(G::image))));
    s.key("giftType");
    s.int(i64::from(info.map_or(0, |i| i.i32(G::r#type))));
    s.key("diamondCount");
    s.int(i64::from(info.map_or(0, |i| i.i32(G::diamond_count))));
    s.key("repeatCount");
    s.int(i64::from(v.i32(M::repeat_count)));
    s.key("repeatEnd");
    s.bool(timed_out || v.i32(M::repeat_end) == 1);
    s.key("comboCount");
    s.int(i64::from(v.i32(M::combo_count)));
    s.key("groupCount");
    s.int(i64::from(v.i32(M::group_count)));
    s.key("groupId");
    s.id(v.u64(M::group_id));
    s.key("receiverUserId");
    s.id(receiver);
    s.key("toUser");
    user_or_null(to_user, s, c)?;
    s.key("describe");
    s.str(info.map_or("", |i| i.str(G::describe)));
    s.key("transactionId");
    let log_id = v.str(M::log_id);
    s.str(if log_id.is_empty() {
        v.common().map_or("", |c| c.str(slot::Common::log_id))
    } else {
        log_id
    });
    s.key("roomFanTicketCount");
    s.int(v.i64(M::room_fan_ticket_count));
    s.key("timedOut");
    s.bool(timed_out);
    Ok(())
}

// ------------------------------------------------------------------ the session's facts

/// What the session needs of a gift message: the streak key and its state (the same
/// values the `gift` event carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GiftFacts {
    pub user_id: u64,
    pub gift_id: u64,
    pub group_id: u64,
    pub gift_type: i32,
    pub repeat_end: bool,
}

/// Reads a gift's facts, indexed into `ix` after what it holds (the root is returned
/// for the writer), with the payload as the writer reads it (merged, in the rare case
/// it needs to be); `None` when the payload is malformed (it becomes a
/// `decodeError` event, as the writer would make it).
pub(crate) fn gift_facts<'p>(
    ix: &mut Index,
    payload: &'p [u8],
) -> Option<(GiftFacts, Cow<'p, [u8]>, u32)> {
    use slot::GiftMessage as M;
    let (payload, root) = index_more(ix, msg::GiftMessage, payload).ok()?;
    let v = ix.view(&payload, root);
    let info = v.msg(M::gift);
    let id = v.u64(M::gift_id);
    let facts = GiftFacts {
        user_id: v.msg(M::user).map_or(0, |u| u.u64(slot::User::id)),
        gift_id: if id != 0 {
            id
        } else {
            info.map_or(0, |i| i.u64(slot::GiftInfo::id))
        },
        group_id: v.u64(M::group_id),
        gift_type: info.map_or(0, |i| i.i32(slot::GiftInfo::r#type)),
        repeat_end: v.i32(M::repeat_end) == 1,
    };
    Some((facts, payload, root))
}

/// What the like aggregator needs of a like message, with the payload as the writer
/// reads it; `None` when malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LikeFacts {
    pub user_id: u64,
    pub like_count: i32,
}

pub(crate) fn like_facts<'p>(
    ix: &mut Index,
    payload: &'p [u8],
) -> Option<(LikeFacts, Cow<'p, [u8]>)> {
    use slot::LikeMessage as M;
    let payload = index(ix, msg::LikeMessage, payload).ok()?;
    let v = ix.root(&payload);
    let facts = LikeFacts {
        user_id: v.msg(M::user).map_or(0, |u| u.u64(slot::User::id)),
        like_count: v.i32(M::count),
    };
    Some((facts, payload))
}

/// Whether a control message says the stream ended (it then derives `streamEnd`);
/// `None` when malformed.
pub(crate) fn control_ends(ix: &mut Index, payload: &[u8]) -> Option<bool> {
    let payload = index(ix, msg::ControlMessage, payload).ok()?;
    let v = ix.root(&payload);
    Some(control_derived(&v).is_some())
}

/// One gift message as the event `name` (`gift`, `giftRaw`, `giftStreak`), or as the
/// `gift` that closes a timed-out streak. The payload was checked by [`gift_facts`];
/// `indexed` is the index and root it made, when the batch kept them.
pub(crate) fn write_gift_as(
    name: &'static str,
    timed_out: bool,
    payload: &[u8],
    indexed: Option<(&Index, u32)>,
    env: EnvelopeInfo,
    sink: &mut dyn Sink,
    ctx: &Ctx,
) -> Result<()> {
    let body: ShapedBody = if timed_out { gift_timed_out } else { gift };
    if let Some((ix, root)) = indexed {
        return event(name, &ix.view(payload, root), env, sink, ctx, body);
    }
    let mut ix = ctx.ix.try_borrow_mut().ok();
    let mut own = Index::new();
    let ix = ix.as_deref_mut().unwrap_or(&mut own);
    ix.rebuild(msg::GiftMessage, payload)?;
    event(name, &ix.root(payload), env, sink, ctx, body)
}

/// A `likeAggregate` event (the payload was checked, and merged if need be, by
/// [`like_facts`]'s caller): the meta and user of the window's last like message, the
/// likes merged, the room total after the last like, and how many messages merged.
pub(crate) fn write_like_aggregate(
    payload: &[u8],
    env: EnvelopeInfo,
    like_count: i64,
    batches: u32,
    sink: &mut dyn Sink,
    ctx: &Ctx,
) -> Result<()> {
    use slot::LikeMessage as M;
    let mut ix = ctx.ix.try_borrow_mut().ok();
    let mut own = Index::new();
    let ix = ix.as_deref_mut().unwrap_or(&mut own);
    ix.rebuild(msg::LikeMessage, payload)?;
    let view = ix.root(payload);
    event("likeAggregate", &view, env, sink, ctx, |v, s, c| {
        s.key("user");
        write_user_with(v.msg(M::user).as_ref(), None, s, c)?;
        s.key("likeCount");
        s.int(like_count);
        s.key("totalLikeCount");
        s.int(v.i64(M::total));
        s.key("batches");
        s.uint(u64::from(batches));
        Ok(())
    })
}

fn like(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::LikeMessage as M;
    s.key("user");
    write_user_with(v.msg(M::user).as_ref(), None, s, c)?;
    s.key("likeCount");
    s.int(i64::from(v.i32(M::count)));
    s.key("totalLikeCount");
    s.int(v.i64(M::total));
    Ok(())
}

fn member(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::MemberMessage as M;
    s.key("user");
    write_user_with(v.msg(M::user).as_ref(), None, s, c)?;
    s.key("actionId");
    s.int(i64::from(v.i32(M::action)));
    s.key("memberCount");
    s.int(i64::from(v.i32(M::member_count)));
    s.key("enterSource");
    s.str(v.str(M::client_enter_source));
    s.key("entryAction");
    s.str(v.str(M::client_enter_type));
    s.key("entryType");
    s.str(v.str(M::client_live_reason));
    s.key("label");
    write_label(display_text(v), s);
    Ok(())
}

fn social(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::SocialMessage as M;
    let text = display_text(v);
    s.key("user");
    write_user_with(v.msg(M::user).as_ref(), None, s, c)?;
    s.key("action");
    s.int(v.i64(M::action));
    s.key("displayType");
    s.str(text.map_or("", |t| t.str(slot::Text::key)));
    s.key("label");
    write_label(text, s);
    s.key("followCount");
    s.int(v.i64(M::follow_count));
    s.key("shareType");
    s.int(v.i64(M::share_type));
    s.key("shareTarget");
    s.str(v.str(M::share_target));
    s.key("shareCount");
    s.int(i64::from(v.i32(M::share_count)));
    s.key("shareDisplayStyle");
    s.int(v.i64(M::share_display_style));
    Ok(())
}

fn social_derived(v: &View<'_>) -> Option<&'static str> {
    let key = display_text(v).map_or("", |t| t.str(slot::Text::key));
    match v.i64(slot::SocialMessage::action) {
        1 => Some("follow"),
        3 => Some("share"),
        _ if has_words(key, "follow") => Some("follow"),
        _ if has_words(key, "share") => Some("share"),
        _ => None,
    }
}

fn room_user(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::RoomUserSeqMessage as M;
    s.key("viewerCount");
    s.int(v.i64(M::total));
    s.key("totalUser");
    s.int(v.i64(M::total_user));
    s.key("topViewers");
    s.begin_array();
    for r in v.msgs(M::ranks) {
        c.check(s)?;
        use slot::Contributor as C;
        s.begin_object();
        s.key("user");
        user_or_null(r.msg(C::user), s, c)?;
        s.key("coinCount");
        s.int(r.i64(C::score));
        s.key("rank");
        s.int(r.i64(C::rank));
        s.end_object();
    }
    s.end_array();
    s.key("popularity");
    s.int(v.i64(M::popularity));
    Ok(())
}

fn control(v: &View<'_>, s: &mut dyn Sink, _c: &Ctx) -> Result<()> {
    use slot::ControlMessage as M;
    s.key("action");
    s.int(i64::from(v.i32(M::action)));
    s.key("tips");
    s.str(v.str(M::tips));
    s.key("reason");
    let reason = v.msg(M::extra).and_then(|e| {
        e.msg(slot::ControlExtra::violation_reason)
            .or_else(|| e.msg(slot::ControlExtra::content))
    });
    write_label(reason, s);
    s.key("floatStyle");
    s.int(i64::from(v.i32(M::float_style)));
    Ok(())
}

fn control_derived(v: &View<'_>) -> Option<&'static str> {
    matches!(v.i32(slot::ControlMessage::action), 3 | 4).then_some("streamEnd")
}

fn subscribe(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::SubNotifyMessage as M;
    s.key("user");
    write_user_with(v.msg(M::user).as_ref(), None, s, c)?;
    s.key("subMonth");
    s.int(v.i64(M::sub_month));
    s.key("subscribeType");
    s.int(i64::from(v.i32(M::subscribe_type)));
    s.key("messageType");
    s.int(i64::from(v.i32(M::message_type)));
    s.key("isCustom");
    s.bool(v.bool(M::is_custom));
    Ok(())
}

fn question(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::Question as Q;
    let q = v.msg(slot::QuestionNewMessage::details);
    s.key("questionId");
    s.id(q.map_or(0, |q| q.u64(Q::question_id)));
    s.key("questionText");
    s.str(q.map_or("", |q| q.str(Q::content)));
    s.key("user");
    user_or_null(q.and_then(|q| q.msg(Q::user)), s, c)
}

fn emote_chat(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::EmoteChatMessage as M;
    s.key("user");
    write_user_with(
        v.msg(M::user).as_ref(),
        v.msg(M::user_identity).as_ref(),
        s,
        c,
    )?;
    s.key("emotes");
    s.begin_array();
    for e in v.msgs(M::emote_list) {
        c.check(s)?;
        write_emote(0, &e, s);
    }
    s.end_array();
    Ok(())
}

fn envelope(v: &View<'_>, s: &mut dyn Sink, _c: &Ctx) -> Result<()> {
    use slot::EnvelopeInfo as I;
    let i = v.msg(slot::EnvelopeMessage::envelope_info);
    let st = |f: usize| i.map_or("", |i| i.str(f));
    let int = |f: usize| i64::from(i.map_or(0, |i| i.i32(f)));
    s.key("envelopeId");
    s.str(st(I::envelope_id));
    s.key("businessType");
    s.int(int(I::business_type));
    s.key("diamondCount");
    s.int(int(I::diamond_count));
    s.key("peopleCount");
    s.int(int(I::people_count));
    s.key("unpackAt");
    s.int(i.map_or(0, |i| i.i64(I::unpack_at)));
    s.key("senderName");
    s.str(st(I::send_user_name));
    s.key("senderUserId");
    s.str(st(I::send_user_id));
    s.key("senderAvatarUrl");
    s.str(image_url(i.and_then(|i| i.msg(I::send_user_avatar))));
    s.key("display");
    s.int(i64::from(v.i32(slot::EnvelopeMessage::display)));
    Ok(())
}

fn envelope_derived(v: &View<'_>) -> Option<&'static str> {
    let key = display_text(v).map(|t| has_words(t.str(slot::Text::key), SUPER_FAN_BOX));
    let business = v
        .msg(slot::EnvelopeMessage::envelope_info)
        .map_or(0, |i| i.i32(slot::EnvelopeInfo::business_type));
    (key == Some(true) || business == 19).then_some("superFanBox")
}

fn live_intro(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::LiveIntroMessage as M;
    s.key("host");
    user_or_null(v.msg(M::host), s, c)?;
    s.key("description");
    s.str(v.str(M::content));
    s.key("language");
    s.str(v.str(M::language));
    Ok(())
}

/// A map field's entries by key, sorted, the last of equal keys kept (the typed model's
/// B-tree map); values as views of the entry's field 2 (absent: `None`).
fn sorted_map<'a>(v: &View<'a>, s: usize) -> Vec<(u64, Option<View<'a>>)> {
    let mut entries: Vec<(u64, Option<View<'a>>)> =
        v.msgs(s).map(|e| (e.u64(0), e.msg(1))).collect();
    crate::small::sort_stable(&mut entries, |a, b| a.0.cmp(&b.0));
    let mut out: Vec<(u64, Option<View<'a>>)> = Vec::with_capacity(entries.len());
    for e in entries {
        match out.last_mut() {
            Some(last) if last.0 == e.0 => *last = e,
            _ => out.push(e),
        }
    }
    out
}

fn battle(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::BattleSetting as B;
    use slot::LinkMicBattleMessage as M;
    let set = v.msg(M::battle_setting);
    s.key("battleId");
    let id = v.u64(M::battle_id);
    s.id(if id != 0 {
        id
    } else {
        set.map_or(0, |b| b.u64(B::battle_id))
    });
    s.key("action");
    s.int(i64::from(v.i32(M::action)));
    s.key("status");
    s.int(i64::from(set.map_or(0, |b| b.i32(B::status))));
    s.key("battleType");
    s.int(i64::from(set.map_or(0, |b| b.i32(B::battle_type))));
    s.key("startTimeMs");
    s.int(set.map_or(0, |b| b.i64(B::start_time_ms)));
    s.key("duration");
    s.int(i64::from(set.map_or(0, |b| b.i32(B::duration))));
    s.key("hosts");
    s.begin_array();
    for a in v.msgs(M::anchors_info) {
        c.check(s)?;
        use slot::BattleBaseUser as U;
        let anchor = a.u64(slot::BattleAnchorEntry::anchor_id);
        let u = a
            .msg(slot::BattleAnchorEntry::info)
            .and_then(|i| i.msg(slot::BattleAnchorInfo::user));
        s.begin_object();
        s.key("userId");
        s.id(u.map_or(anchor, |u| {
            let id = u.u64(U::user_id);
            if id != 0 {
                id
            } else {
                anchor
            }
        }));
        s.key("uniqueId");
        s.str(u.map_or("", |u| u.str(U::display_id)));
        s.key("nickname");
        s.str(u.map_or("", |u| u.str(U::nick_name)));
        s.key("profilePictureUrl");
        s.str(image_url(u.and_then(|u| u.msg(U::avatar_thumb))));
        s.key("roomId");
        s.id(u.map_or(0, |u| u.u64(U::room_id)));
        s.end_object();
    }
    s.end_array();
    s.key("results");
    s.begin_array();
    for (key, r) in sorted_map(v, M::battle_result) {
        c.check(s)?;
        use slot::BattleResult as R;
        s.begin_object();
        s.key("userId");
        let id = r.map_or(0, |r| r.u64(R::user_id));
        s.id(if id != 0 { id } else { key });
        s.key("result");
        s.int(i64::from(r.map_or(0, |r| r.i32(R::result))));
        s.key("score");
        s.int(r.map_or(0, |r| r.i64(R::score)));
        s.end_object();
    }
    s.end_array();
    s.key("matchId");
    s.id(set.map_or(0, |b| b.u64(B::channel_id)));
    s.key("teams");
    write_teams(v, M::team_armies, Some(M::team_battle_result), s, c)
}

/// A team's hosts: `{ userId, score }` each.
fn write_team_hosts(t: &View<'_>, users: usize, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::BattleTeamUser as U;
    s.begin_array();
    for u in t.msgs(users) {
        c.check(s)?;
        s.begin_object();
        s.key("userId");
        s.id(u.u64(U::user_id));
        s.key("score");
        s.int(u.i64(U::score));
        s.end_object();
    }
    s.end_array();
    Ok(())
}

/// A battle's teams (`events::battle_teams`): from the scores at `armies` with the
/// results at `results` matched by team id, or from the results alone.
fn write_teams(
    v: &View<'_>,
    armies: usize,
    results: Option<usize>,
    s: &mut dyn Sink,
    c: &Ctx,
) -> Result<()> {
    use slot::BattleTeamArmies as T;
    use slot::BattleTeamResult as R;
    s.begin_array();
    let mut idx: i64 = 0;
    if v.msgs(armies).next().is_some() {
        for t in v.msgs(armies) {
            c.check(s)?;
            let id = t.i64(T::team_id);
            s.begin_object();
            s.key("teamId");
            s.int(id);
            s.key("teamIdx");
            s.int(idx);
            s.key("totalScore");
            s.int(t.i64(T::team_total_score));
            s.key("result");
            match results.and_then(|f| v.msgs(f).find(|r| r.i64(R::team_id) == id)) {
                Some(r) => s.int(i64::from(r.i32(R::result))),
                None => s.null(),
            }
            s.key("hosts");
            write_team_hosts(&t, T::team_users, s, c)?;
            s.end_object();
            idx += 1;
        }
    } else if let Some(f) = results {
        for r in v.msgs(f) {
            c.check(s)?;
            s.begin_object();
            s.key("teamId");
            s.int(r.i64(R::team_id));
            s.key("teamIdx");
            s.int(idx);
            s.key("totalScore");
            s.int(r.i64(R::total_score));
            s.key("result");
            s.int(i64::from(r.i32(R::result)));
            s.key("hosts");
            write_team_hosts(&r, R::team_users, s, c)?;
            s.end_object();
            idx += 1;
        }
    }
    s.end_array();
    Ok(())
}

fn armies(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::LinkMicArmiesMessage as M;
    s.key("battleId");
    s.id(v.u64(M::battle_id));
    s.key("battleStatus");
    s.int(i64::from(
        v.msg(M::battle_setting)
            .map_or(0, |b| b.i32(slot::BattleSetting::status)),
    ));
    s.key("triggerReason");
    s.int(i64::from(v.i32(M::trigger_reason)));
    // The team a host is in (its position in `team_armies`), if any.
    let team_of = |host: u64| -> Option<i64> {
        v.msgs(M::team_armies)
            .position(|t| {
                t.msgs(slot::BattleTeamArmies::team_users)
                    .any(|u| u.u64(slot::BattleTeamUser::user_id) == host)
            })
            .map(|i| i as i64)
    };
    s.key("armies");
    s.begin_array();
    for (i, (host, a)) in sorted_map(v, M::armies).into_iter().enumerate() {
        c.check(s)?;
        use slot::BattleUserArmies as A;
        s.begin_object();
        s.key("hostUserId");
        s.id(host);
        s.key("points");
        s.int(a.map_or(0, |a| a.i64(A::host_score)));
        s.key("contributors");
        s.begin_array();
        if let Some(a) = a {
            for u in a.msgs(A::user_armies) {
                c.check(s)?;
                use slot::BattleUserArmy as U;
                s.begin_object();
                s.key("userId");
                s.id(u.u64(U::user_id));
                s.key("nickname");
                s.str(u.str(U::nickname));
                s.key("profilePictureUrl");
                s.str(image_url(u.msg(U::avatar_thumb)));
                s.key("score");
                s.int(u.i64(U::score));
                s.end_object();
            }
        }
        s.end_array();
        s.key("teamIdx");
        s.int(team_of(host).unwrap_or(i as i64));
        s.end_object();
    }
    s.end_array();
    s.key("fromUserId");
    s.id(v.u64(M::from_user_id));
    s.key("giftId");
    s.id(v.u64(M::gift_id));
    s.key("repeatCount");
    s.int(i64::from(v.i32(M::repeat_count)));
    s.key("totalDiamondCount");
    s.int(i64::from(v.i32(M::total_diamond_count)));
    use slot::BattleSetting as B;
    let set = v.msg(M::battle_setting);
    let n = |f: usize| set.map_or(0, |b| b.i64(f));
    let duration = i64::from(set.map_or(0, |b| b.i32(B::duration)));
    let (start, extra) = (n(B::start_time_ms), n(B::extra_duration_second));
    s.key("matchId");
    let channel = v.u64(M::channel_id);
    s.id(if channel != 0 {
        channel
    } else {
        set.map_or(0, |b| b.u64(B::channel_id))
    });
    s.key("startTimeMs");
    s.int(start);
    s.key("durationSec");
    s.int(duration.saturating_add(extra.max(0)));
    s.key("serverTsMs");
    let server_ts = v.i64(M::score_update_time);
    s.int(server_ts);
    s.key("secsRemaining");
    let at = if server_ts > 0 {
        server_ts
    } else {
        v.common().map_or(0, |c| c.i64(slot::Common::create_time))
    };
    match crate::events::secs_remaining(start, duration, extra, n(B::end_time_ms), at) {
        Some(left) => s.int(left),
        None => s.null(),
    }
    s.key("teams");
    write_teams(v, M::team_armies, None, s, c)?;
    s.key("transactionId");
    s.str(v.str(M::log_id));
    Ok(())
}

fn room_pin(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::RoomPinMessage as M;
    let chat = v.msg(M::chat_message);
    s.key("action");
    s.int(i64::from(v.i32(M::action)));
    s.key("pinnedMethod");
    s.str(v.str(M::method));
    s.key("pinnedMsgId");
    s.id(v.u64(M::pin_msg_id));
    s.key("pinTime");
    s.int(v.i64(M::pin_time));
    s.key("displayDuration");
    s.int(v.i64(M::display_duration));
    s.key("operator");
    user_or_null(v.msg(M::operator), s, c)?;
    s.key("pinnedComment");
    s.str(chat.map_or("", |m| m.str(slot::ChatMessage::content)));
    s.key("pinnedUser");
    user_or_null(chat.and_then(|m| m.msg(slot::ChatMessage::user)), s, c)
}

fn im_delete(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::ImDeleteMessage as M;
    for (key, f) in [
        ("deleteMsgIds", M::delete_msg_ids),
        ("deleteUserIds", M::delete_user_ids),
    ] {
        s.key(key);
        s.begin_array();
        for id in v.varints(f) {
            c.check(s)?;
            s.id(id);
        }
        s.end_array();
    }
    Ok(())
}

fn caption(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::CaptionMessage as M;
    s.key("timestampMs");
    s.int(v.i64(M::timestamp_ms));
    s.key("durationMs");
    s.int(v.i64(M::duration_ms));
    s.key("content");
    s.begin_array();
    for t in v.msgs(M::content) {
        c.check(s)?;
        s.begin_object();
        s.key("lang");
        s.str(t.str(slot::CaptionContent::lang));
        s.key("text");
        s.str(t.str(slot::CaptionContent::content));
        s.end_object();
    }
    s.end_array();
    s.key("definite");
    s.bool(v.bool(M::definite));
    Ok(())
}

fn barrage(v: &View<'_>, s: &mut dyn Sink, c: &Ctx) -> Result<()> {
    use slot::BarrageMessage as M;
    let content = v.msg(M::content);
    let common_text = v.msg(M::common_barrage_content);
    let text = content.or(common_text);
    let user = v
        .msg(M::user)
        .or_else(|| text_user(content))
        .or_else(|| text_user(common_text));
    s.key("msgType");
    s.int(i64::from(v.i32(M::msg_type)));
    s.key("displayType");
    s.str(text.map_or("", |t| t.str(slot::Text::key)));
    s.key("label");
    write_label(text, s);
    s.key("user");
    user_or_null(user, s, c)?;
    s.key("iconUrl");
    s.str(image_url(v.msg(M::icon)));
    s.key("duration");
    s.int(v.i64(M::duration));
    s.key("level");
    let level = v
        .msg(M::user_grade_param)
        .map(|g| g.i32(slot::BarrageUserGrade::current_grade))
        .or(v
            .msg(M::fans_level_param)
            .map(|f| f.i32(slot::BarrageFansLevel::current_grade)))
        .unwrap_or(0);
    s.int(i64::from(level));
    Ok(())
}

fn barrage_derived(v: &View<'_>) -> Option<&'static str> {
    use slot::BarrageMessage as M;
    let text = v.msg(M::content).or(v.msg(M::common_barrage_content));
    let display = text.map_or("", |t| t.str(slot::Text::key));
    let key = if has_words(display, SUPER_FAN) {
        display
    } else {
        v.msg(M::common_barrage_content)
            .map_or("", |t| t.str(slot::Text::key))
    };
    if has_words(key, SUPER_FAN_JOINED) {
        Some("superFanJoin")
    } else if has_words(key, SUPER_FAN) {
        Some("superFan")
    } else {
        None
    }
}

/// A hand-shaped route.
const fn shaped(name: &'static str, ty: usize, body: ShapedBody, derive: Option<Derive>) -> Route {
    Route {
        name,
        shape: Shape::Shaped(ty, body, derive),
    }
}

/// A route of a method whose layout is not public (see [`Shape::Opaque`]).
const fn opaque(name: &'static str) -> Route {
    Route {
        name,
        shape: Shape::Opaque,
    }
}

/// A generic route whose messages may derive a second event (see [`Shape::Generic`]).
const fn generic_derived(name: &'static str, ty: usize, derive: Derive) -> Route {
    Route {
        name,
        shape: Shape::Generic(ty, Some(derive)),
    }
}

/// `shopProduct` after an `oecLiveShopping` that carries the pinned product.
fn shop_derived(v: &View<'_>) -> Option<&'static str> {
    v.msg(slot::OecLiveShoppingMessage::pop_product)
        .map(|_| "shopProduct")
}

/// A generic route.
const fn generic(name: &'static str, ty: usize) -> Route {
    Route {
        name,
        shape: Shape::Generic(ty, None),
    }
}

/// The one table of routes: it generates both [`route`] (the dispatch) and
/// `ROUTED_METHODS` (every method, for the shape description), so they cannot disagree.
macro_rules! routes {
    ($( [$($method:literal),+] => $route:expr; )*) => {
        /// The route of a method, `None` for a method the decoder does not know.
        pub(crate) fn route(method: &str) -> Option<Route> {
            Some(match method {
                $( $($method)|+ => $route, )*
                _ => return None,
            })
        }

        /// Every method [`route`] knows, in table order.
        #[cfg(feature = "schema")]
        pub(crate) const ROUTED_METHODS: &[&str] = &[$($($method,)+)*];
    };
}

routes! {
    ["WebcastChatMessage"] => shaped("chat", msg::ChatMessage, chat, None);
    ["WebcastGiftMessage"] => shaped("gift", msg::GiftMessage, gift, None);
    ["WebcastLikeMessage"] => shaped("like", msg::LikeMessage, like, None);
    ["WebcastMemberMessage"] => shaped("member", msg::MemberMessage, member, None);
    ["WebcastSocialMessage"] => shaped("social", msg::SocialMessage, social, Some(social_derived));
    ["WebcastRoomUserSeqMessage"] => shaped("roomUser", msg::RoomUserSeqMessage, room_user, None);
    ["WebcastControlMessage"] => shaped("controlMessage", msg::ControlMessage, control, Some(control_derived));
    ["WebcastSubNotifyMessage"] => shaped("subscribe", msg::SubNotifyMessage, subscribe, None);
    ["WebcastQuestionNewMessage"] => shaped("questionNew", msg::QuestionNewMessage, question, None);
    ["WebcastEmoteChatMessage"] => shaped("emote", msg::EmoteChatMessage, emote_chat, None);
    ["WebcastEnvelopeMessage"] => shaped("envelope", msg::EnvelopeMessage, envelope, Some(envelope_derived));
    ["WebcastLiveIntroMessage"] => shaped("liveIntro", msg::LiveIntroMessage, live_intro, None);
    ["WebcastLinkMicBattle"] => shaped("linkMicBattle", msg::LinkMicBattleMessage, battle, None);
    ["WebcastLinkMicArmies"] => shaped("linkMicArmies", msg::LinkMicArmiesMessage, armies, None);
    ["WebcastRoomPinMessage"] => shaped("roomPin", msg::RoomPinMessage, room_pin, None);
    ["WebcastImDeleteMessage"] => shaped("imDelete", msg::ImDeleteMessage, im_delete, None);
    ["WebcastCaptionMessage"] => shaped("caption", msg::CaptionMessage, caption, None);
    ["WebcastBarrageMessage"] => shaped("barrage", msg::BarrageMessage, barrage, Some(barrage_derived));
    ["WebcastPollMessage"] => generic("poll", msg::PollMessage);
    ["WebcastGoalUpdateMessage"] => generic("goalUpdate", msg::GoalUpdateMessage);
    ["WebcastRankUpdateMessage"] => generic("rankUpdate", msg::RankUpdateMessage);
    ["WebcastRankTextMessage"] => generic("rankText", msg::RankTextMessage);
    ["WebcastHourlyRankRewardMessage"] => generic("hourlyRank", msg::HourlyRankRewardMessage);
    ["WebcastHourlyRankMessage"] => generic("hourlyRankLegacy", msg::HourlyRankMessage);
    ["WebcastWeeklyRankRewardMessage"] => generic("weeklyRankReward", msg::WeeklyRankRewardMessage);
    ["WebcastGameRankNotifyMessage"] => generic("gameRankNotify", msg::GameRankNotifyMessage);
    ["WebcastInRoomBannerMessage"] => generic("inRoomBanner", msg::InRoomBannerMessage);
    ["WebcastInRoomBannerRefreshMessage"] => generic("inRoomBannerRefresh", msg::InRoomBannerRefreshMessage);
    ["WebcastRoomMessage", "RoomMessage"] => generic("roomMessage", msg::RoomMessage);
    ["WebcastSystemMessage"] => generic("system", msg::SystemMessage);
    ["WebcastRoomNotifyMessage"] => generic("roomNotify", msg::RoomNotifyMessage);
    ["WebcastRoomVerifyMessage", "RoomVerifyMessage"] => generic("roomVerify", msg::RoomVerifyMessage);
    ["WebcastMarqueeAnnouncementMessage"] => generic("marqueeAnnouncement", msg::MarqueeAnnouncementMessage);
    ["WebcastBottomMessage"] => generic("bottomMessage", msg::BottomMessage);
    ["WebcastToastMessage"] => generic("toast", msg::ToastMessage);
    ["WebcastNoticeMessage"] => generic("notice", msg::NoticeMessage);
    ["WebcastAccessControlMessage"] => generic("accessControl", msg::AccessControlMessage);
    ["WebcastAccessRecallMessage"] => generic("accessRecall", msg::AccessRecallMessage);
    ["WebcastMsgDetectMessage"] => generic("msgDetect", msg::MsgDetectMessage);
    ["WebcastPerceptionMessage"] => generic("perception", msg::PerceptionMessage);
    ["WebcastUnauthorizedMemberMessage"] => generic("unauthorizedMember", msg::UnauthorizedMemberMessage);
    ["WebcastHashtagMessage"] => generic("hashtag", msg::HashtagMessage);
    ["WebcastRoomStickerMessage"] => generic("roomSticker", msg::RoomStickerMessage);
    ["WebcastAnchorToolModificationMessage"] => generic("anchorToolModification", msg::AnchorToolModificationMessage);
    ["WebcastSubTimerStickerMessage"] => generic("subTimerSticker", msg::SubTimerStickerMessage);
    ["WebcastSubWaveMessage"] => generic("subWave", msg::SubWaveMessage);
    ["WebcastSubscriptionGuideMessage"] => generic("subscriptionGuide", msg::SubscriptionGuideMessage);
    ["WebcastSubPinEventMessage"] => generic("subPinEvent", msg::SubPinEventMessage);
    ["WebcastCapsuleMessage"] => generic("capsule", msg::CapsuleMessage);
    ["WebcastGiftBroadcastMessage"] => generic("giftBroadcast", msg::GiftBroadcastMessage);
    ["WebcastGiftPanelUpdateMessage"] => generic("giftPanelUpdate", msg::GiftPanelUpdateMessage);
    ["WebcastGiftDynamicRestrictionMessage"] => generic("giftDynamicRestriction", msg::GiftDynamicRestrictionMessage);
    ["WebcastGiftPromptMessage"] => generic("giftPrompt", msg::GiftPromptMessage);
    ["WebcastGiftCollectionUpdateMessage"] => generic("giftCollectionUpdate", msg::GiftCollectionUpdateMessage);
    ["WebcastEnvelopePortalMessage"] => generic("envelopePortal", msg::EnvelopePortalMessage);
    ["WebcastGoodyBagMessage"] => generic("goodyBag", msg::GoodyBagMessage);
    ["WebcastQuestionSelectedMessage"] => generic("questionSelected", msg::QuestionSelectedMessage);
    ["WebcastQuestionDeleteMessage"] => generic("questionDelete", msg::QuestionDeleteMessage);
    ["WebcastQuestionSlideDownMessage"] => generic("questionSlideDown", msg::QuestionSlideDownMessage);
    ["WebcastQuestionSwitchMessage"] => generic("questionSwitch", msg::QuestionSwitchMessage);
    ["WebcastPictionaryStartMessage"] => generic("pictionaryStart", msg::PictionaryStartMessage);
    ["WebcastPictionaryUpdateMessage"] => generic("pictionaryUpdate", msg::PictionaryUpdateMessage);
    ["WebcastPictionaryEndMessage"] => generic("pictionaryEnd", msg::PictionaryEndMessage);
    ["WebcastPictionaryExitMessage"] => generic("pictionaryExit", msg::PictionaryExitMessage);
    ["WebcastLiveGameIntroMessage"] => generic("liveGameIntro", msg::LiveGameIntroMessage);
    ["WebcastViewerPicksUpdateMessage"] => generic("viewerPicksUpdate", msg::ViewerPicksUpdateMessage);
    ["WebcastBoostCardMessage"] => generic("boostCard", msg::BoostCardMessage);
    ["WebcastGuideMessage"] => generic("guide", msg::GuideMessage);
    ["WebcastSpeakerMessage"] => generic("speaker", msg::SpeakerMessage);
    ["WebcastLinkMicBattlePunishFinish"] => generic("linkMicBattlePunishFinish", msg::LinkMicBattlePunishFinishMessage);
    ["WebcastLinkMicBattleItemCard"] => generic("linkMicBattleItemCard", msg::LinkMicBattleItemCardMessage);
    ["WebcastLinkmicBattleTaskMessage"] => generic("linkMicBattleTask", msg::LinkMicBattleTaskMessage);
    ["WebcastLinkmicBattleNoticeMessage"] => generic("linkMicBattleNotice", msg::LinkMicBattleNoticeMessage);
    ["WebcastLinkMicMethod", "LinkMicMethod"] => generic("linkMicMethod", msg::LinkMicMethodMessage);
    ["WebcastLinkMicFanTicketMethod"] => generic("linkMicFanTicketMethod", msg::LinkMicFanTicketMethodMessage);
    ["WebcastLinkMicAnchorGuideMessage"] => generic("linkMicAnchorGuide", msg::LinkMicAnchorGuideMessage);
    ["WebcastLinkMicLayoutStateMessage"] => generic("linkMicLayoutState", msg::LinkMicLayoutStateMessage);
    ["WebcastLinkMessage"] => generic("linkMessage", msg::LinkMessage);
    ["WebcastLinkLayerMessage"] => generic("linkLayer", msg::LinkLayerMessage);
    ["WebcastLinkScreenChangeMessage"] => generic("linkScreenChange", msg::LinkScreenChangeMessage);
    ["WebcastLinkStateMessage"] => generic("linkState", msg::LinkStateMessage);
    ["WebcastOecLiveShoppingMessage"] => generic_derived("oecLiveShopping", msg::OecLiveShoppingMessage, shop_derived);
    ["WebcastOecLiveManagerMessage"] => opaque("oecLiveManager");
    ["WebcastHotRoomMessage"] => opaque("hotRoom");
    ["WebcastCommentTrayMessage"] => opaque("commentTray");
    ["WebcastPrivilegeAdvanceMessage"] => opaque("privilegeAdvance");
    ["WebcastGameServerFeatureMessage"] => opaque("gameServerFeature");
    ["WebcastCompetitionMessage"] => opaque("competition");
    ["WebcastStreamStatusMessage"] => opaque("streamStatus");
    ["WebcastAISummaryMessage"] => opaque("aiSummary");
    ["WebcastGiftGalleryMessage"] => opaque("giftGallery");
    ["WebcastFansEventMessage"] => opaque("fansEvent");
    ["WebcastGuestShowdownMessage"] => opaque("guestShowdown");
    ["WebcastGroupLiveMemberNotifyMessage"] => opaque("groupLiveMemberNotify");
    ["WebcastShortTouchMessage"] => opaque("shortTouch");
    ["WebcastGameMomentMessage"] => opaque("gameMoment");
    ["WebcastGiftUnlockMessage"] => opaque("giftUnlock");
    ["WebcastKaraokeReqMessage"] => opaque("karaokeReq");
    ["WebcastPaidContentLiveShoppingMessage"] => generic("paidContentLiveShopping", msg::PaidContentLiveShoppingMessage);
    ["WebcastEcShortItemRefreshMessage"] => generic("ecShortItemRefresh", msg::EcShortItemRefreshMessage);
    ["WebcastEcTaskRegisterMessage"] => generic("ecTaskRegister", msg::EcTaskRegisterMessage);
    ["WebcastBALeadGenMessage"] => generic("baLeadGen", msg::BaLeadGenMessage);
    ["WebcastDonationStickerModifyMethod"] => generic("donationStickerModify", msg::DonationStickerModifyMethod);
    ["WebcastPartnershipCardChangeMessage"] => generic("partnershipCardChange", msg::PartnershipCardChangeMessage);
    ["WebcastPartnershipDownloadCountMessage"] => generic("partnershipDownloadCount", msg::PartnershipDownloadCountMessage);
    ["WebcastPartnershipDropsUpdateMessage"] => generic("partnershipDropsUpdate", msg::PartnershipDropsUpdateMessage);
    ["WebcastPartnershipGameOfflineMessage"] => generic("partnershipGameOffline", msg::PartnershipGameOfflineMessage);
    ["WebcastPartnershipPunishMessage"] => generic("partnershipPunish", msg::PartnershipPunishMessage);
    ["WebcastUpdateShareRevenueNoticeMessage"] => generic("updateShareRevenueNotice", msg::UpdateShareRevenueNoticeMessage);
}

/// The declared shapes of the hand-shaped events, next to their writers above: each
/// writer's keys and types, in the order it writes them. `schema` builds the event
/// descriptions from these (docs/events.md, js/src/events.generated.ts), and
/// `tests/event_shapes.rs` checks every corpus event against them, so a writer that
/// changes without its row here fails that test. Native only (feature `schema`).
#[cfg(feature = "schema")]
pub(crate) mod decl {
    use crate::schema::{Base, FieldShape, NamedShape, Ty};

    const fn f(key: &'static str, ty: Ty, doc: &'static str) -> FieldShape {
        FieldShape { key, ty, doc }
    }
    const NUM: Ty = Ty::of(Base::Number);
    const ID: Ty = Ty::of(Base::Id);
    const BOOL: Ty = Ty::of(Base::Bool);
    const STR: Ty = Ty::of(Base::Str);
    const B64: Ty = Ty::of(Base::Base64);
    const USER: Ty = Ty::of(Base::User);
    const fn shape(name: &'static str) -> Ty {
        Ty::of(Base::Shape(name))
    }

    /// The named shapes: the event base (`event`), the canonical user (`write_user_with`)
    /// and the nested objects of the hand-shaped events.
    pub(crate) static NAMED: &[NamedShape] = &[
        NamedShape {
            name: "EventBase",
            doc: "Fields every event has. 64-bit ids are decimal strings.",
            fields: &[
                f("type", STR, "the event name"),
                f("msgId", ID, "the message id"),
                f("roomId", ID, "the room id"),
                f("createTime", NUM, "milliseconds since the epoch"),
                f(
                    "isHistory",
                    BOOL,
                    "true for messages the server replayed from before the connection",
                ),
            ],
        },
        NamedShape {
            name: "User",
            doc: "The canonical user shape carried by user-bearing events.",
            fields: &[
                f("userId", ID, "numeric user id"),
                f("uniqueId", STR, "the @handle"),
                f("nickname", STR, "display name"),
                f("secUid", STR, "secure user id"),
                f("profilePictureUrl", STR, "first avatar URL"),
                f(
                    "followRole",
                    NUM,
                    "relation to the streamer: 0 none, 1 follower, 2 friend",
                ),
                f("isModerator", BOOL, "moderator badge or identity flag"),
                f("isSubscriber", BOOL, "subscriber badge or identity flag"),
                f("isNewGifter", BOOL, "\"New gifter\" badge"),
                f(
                    "topGifterRank",
                    NUM.or_null(),
                    "rank from a top-gifter badge",
                ),
                f("gifterLevel", NUM, "gifter level badge, 0 when none"),
                f(
                    "fansClub",
                    shape("FansClub").or_null(),
                    "`{ name, level }` of the streamer's fan club",
                ),
                f(
                    "followerCount",
                    NUM,
                    "the user's followers (0 when the message does not say)",
                ),
                f(
                    "followingCount",
                    NUM,
                    "accounts the user follows (0 when the message does not say)",
                ),
                f(
                    "isAnchor",
                    BOOL,
                    "the user is the streamer (identity flag; chat, gift and emote only)",
                ),
                f(
                    "isGiftGiverOfAnchor",
                    BOOL,
                    "the user has sent the streamer gifts (identity flag; chat, gift and emote only)",
                ),
                f(
                    "isAnonymous",
                    BOOL,
                    "the user sends anonymously: TikTok's \"Enigma\" mask is on (nickname `Enigma …`)",
                ),
                f(
                    "badges",
                    shape("UserBadge").list(),
                    "`{ kind, sceneType, label, url, level, primaryColor, secondaryColor }` per badge",
                ),
            ],
        },

        NamedShape {
            name: "FansClub",
            doc: "The streamer's fan club a user belongs to.",
            fields: &[
                f("name", STR, "the club's name"),
                f("level", NUM, "the user's level in it"),
            ],
        },
        NamedShape {
            name: "UserBadge",
            doc: "One badge, flattened.",
            fields: &[
                f("kind", STR, "`image`, `text`, `string` or `combine`"),
                f(
                    "sceneType",
                    NUM,
                    "1 moderator, 4 subscriber, 7 new subscriber, 8 gifter level, 10 fans club, ...",
                ),
                f("label", STR, "the badge's text"),
                f("url", STR, "the badge's image URL"),
                f("level", NUM, "the level the badge shows, 0 when none"),
                f(
                    "primaryColor",
                    STR,
                    "the gem's fill, ARGB `#AARRGGBB` as TikTok sends it (\"\" when the badge has none)",
                ),
                f(
                    "secondaryColor",
                    STR,
                    "the gem's dark-mode fill (\"\" when none; the same as `primaryColor` in every capture)",
                ),
            ],
        },
        NamedShape {
            name: "ChatEmote",
            doc: "An emote inside a comment, inserted at `index` (in UTF-16 units of `comment`).",
            fields: &[
                f("index", NUM, "where it is inserted (0 in `emote`)"),
                f("emoteId", STR, "the emote's id"),
                f("imageUrl", STR, "the emote's image URL"),
            ],
        },
        NamedShape {
            name: "TopViewer",
            doc: "A viewer of the room's top list.",
            fields: &[
                f("user", USER.or_null(), "the viewer"),
                f("coinCount", NUM, "coins the viewer gave"),
                f("rank", NUM, "place in the list"),
            ],
        },
        NamedShape {
            name: "BattleHost",
            doc: "A host taking part in a battle.",
            fields: &[
                f("userId", ID, "numeric user id"),
                f("uniqueId", STR, "the @handle"),
                f("nickname", STR, "display name"),
                f("profilePictureUrl", STR, "first avatar URL"),
                f("roomId", ID, "the host's room"),
            ],
        },
        NamedShape {
            name: "BattleOutcome",
            doc: "One host's result of a finished battle.",
            fields: &[
                f("userId", ID, "the host"),
                f("result", NUM, "0 win, 1 lose, 2 draw"),
                f("score", NUM, "final score"),
            ],
        },
        NamedShape {
            name: "BattleArmy",
            doc: "One host's side: score and top contributors.",
            fields: &[
                f("hostUserId", ID, "the host"),
                f("points", NUM, "the side's score"),
                f(
                    "contributors",
                    shape("BattleContributor").list(),
                    "top gifters of this side",
                ),
                f(
                    "teamIdx",
                    NUM,
                    "the host's team in `teams`; without teams (one against one), the host's position in `armies`",
                ),
            ],
        },
        NamedShape {
            name: "BattleTeam",
            doc: "One team of a team battle.",
            fields: &[
                f("teamId", NUM, "TikTok's id of the team (1, 2, ...)"),
                f("teamIdx", NUM, "its position in `teams`, from 0"),
                f("totalScore", NUM, "the team's score"),
                f(
                    "result",
                    NUM.or_null(),
                    "0 win, 1 lose, 2 draw once the battle ended; null while it runs",
                ),
                f(
                    "hosts",
                    shape("BattleTeamHost").list(),
                    "the team's hosts with their own scores",
                ),
            ],
        },
        NamedShape {
            name: "BattleTeamHost",
            doc: "A host in a team battle.",
            fields: &[
                f("userId", ID, "the host"),
                f("score", NUM, "the host's own score"),
            ],
        },
        NamedShape {
            name: "BattleContributor",
            doc: "A viewer who gave points to one side of a battle.",
            fields: &[
                f("userId", ID, "numeric user id"),
                f("nickname", STR, "display name"),
                f("profilePictureUrl", STR, "first avatar URL"),
                f("score", NUM, "points given"),
            ],
        },
        NamedShape {
            name: "CaptionText",
            doc: "A caption in one language.",
            fields: &[f("lang", STR, "language code"), f("text", STR, "the caption")],
        },
    ];

    static CHAT: &[FieldShape] = &[
        f("user", USER, "who commented"),
        f("comment", STR, "the comment"),
        f(
            "language",
            STR,
            "language TikTok detected for the comment (`en`, `un` for unknown)",
        ),
        f("emotes", shape("ChatEmote").list(), "emotes in the comment"),
        f(
            "atUser",
            USER.or_null(),
            "the user the comment replies to, if any",
        ),
        f("visibleToSender", BOOL, "shown only to its sender"),
    ];

    static GIFT: &[FieldShape] = &[
        f("user", USER, "the sender"),
        f("giftId", ID, "the gift's id"),
        f("giftName", STR, "the gift's name"),
        f("giftPictureUrl", STR, "the gift's image URL"),
        f(
            "giftType",
            NUM,
            "1 = streakable: repeats with a growing `repeatCount` until `repeatEnd`",
        ),
        f("diamondCount", NUM, "coins per unit"),
        f("repeatCount", NUM, "count so far within the current streak"),
        f(
            "repeatEnd",
            BOOL,
            "true on the final message of a streak (and on every non-streakable gift)",
        ),
        f("comboCount", NUM, "combo count"),
        f("groupCount", NUM, "units per send"),
        f("groupId", ID, "same for every message of one streak"),
        f(
            "receiverUserId",
            ID,
            "the recipient (host or a guest in multi-guest rooms)",
        ),
        f("toUser", USER.or_null(), "the recipient, when the message names it"),
        f("describe", STR, "TikTok's description, e.g. `sent Rose`"),
        f(
            "transactionId",
            STR,
            "TikTok's log id of the request that sent the message: identical on a copy of it (a relay's retry, a second relay), new on every step of a streak; de-duplicate with it or `msgId`",
        ),
        f(
            "roomFanTicketCount",
            NUM,
            "fan tickets the gift added to the room",
        ),
        f(
            "timedOut",
            BOOL,
            "session only: the streak's end never arrived; this final `gift` was emitted after the streak timeout with the last count seen",
        ),
    ];

    static LIKE: &[FieldShape] = &[
        f("user", USER, "who liked"),
        f("likeCount", NUM, "likes in this batch"),
        f("totalLikeCount", NUM, "room total after this batch"),
    ];

    static MEMBER: &[FieldShape] = &[
        f("user", USER, "who joined"),
        f("actionId", NUM, "1 joined, 3 subscribed"),
        f("memberCount", NUM, "viewers in the room"),
        f(
            "enterSource",
            STR,
            "where the viewer came from, e.g. `homepage_hot-live_cell`",
        ),
        f(
            "entryAction",
            STR,
            "how the viewer entered: `click`, or `draw` when TikTok's feed pulled them in (\"\" when not sent)",
        ),
        f(
            "entryType",
            STR,
            "why TikTok showed the stream, e.g. `rec` when recommended (\"\" when not sent)",
        ),
        f("label", STR, "the toast text, e.g. `nickname joined`"),
    ];

    static SOCIAL: &[FieldShape] = &[
        f("user", USER, "who followed or shared"),
        f("action", NUM, "1 follow, 3 share"),
        f(
            "displayType",
            STR,
            "the display template key, e.g. `pm_main_follow_message_viewer_2`",
        ),
        f("label", STR, "the rendered display text"),
        f(
            "followCount",
            NUM,
            "the streamer's follower count after a follow",
        ),
        f("shareType", NUM, "how it was shared"),
        f("shareTarget", STR, "where it was shared to"),
        f("shareCount", NUM, "shares"),
        f(
            "shareDisplayStyle",
            NUM,
            "how the share notice is shown (0 in every capture)",
        ),
    ];

    static ROOM_USER: &[FieldShape] = &[
        f("viewerCount", NUM, "current viewers"),
        f("totalUser", NUM, "cumulative viewers of this stream"),
        f("topViewers", shape("TopViewer").list(), "the top viewers"),
        f("popularity", NUM, "TikTok's popularity figure"),
    ];

    static CONTROL: &[FieldShape] = &[
        f("action", NUM, "1 paused, 2 unpaused, 3 ended, 4 suspended"),
        f("tips", STR, "the notice shown"),
        f(
            "reason",
            STR,
            "why the stream was suspended, when TikTok says",
        ),
        f(
            "floatStyle",
            NUM,
            "how the notice floats over the video (0 in every capture)",
        ),
    ];

    static SUBSCRIBE: &[FieldShape] = &[
        f("user", USER, "the subscriber"),
        f("subMonth", NUM, "months subscribed"),
        f("subscribeType", NUM, "0 once, 1 auto-renew"),
        f("messageType", NUM, "the notice's kind"),
        f("isCustom", BOOL, "a custom subscription notice"),
    ];

    static QUESTION: &[FieldShape] = &[
        f("questionId", ID, "the question's id"),
        f("questionText", STR, "the question"),
        f("user", USER.or_null(), "who asked"),
    ];

    static EMOTE: &[FieldShape] = &[
        f("user", USER, "who sent the emotes"),
        f("emotes", shape("ChatEmote").list(), "the emotes"),
    ];

    static ENVELOPE: &[FieldShape] = &[
        f("envelopeId", STR, "the chest's id"),
        f(
            "businessType",
            NUM,
            "1 user diamonds, 2 platform diamonds, ..., 19 super-fan box",
        ),
        f("diamondCount", NUM, "coins in the chest"),
        f("peopleCount", NUM, "how many can open it"),
        f("unpackAt", NUM, "Unix seconds when the chest opens"),
        f("senderName", STR, "the sender's display name"),
        f("senderUserId", STR, "the sender's user id"),
        f("senderAvatarUrl", STR, "the sender's avatar URL"),
        f("display", NUM, "1 show, 2 hide"),
    ];

    static LIVE_INTRO: &[FieldShape] = &[
        f("host", USER.or_null(), "the streamer"),
        f("description", STR, "the room's introduction"),
        f("language", STR, "its language"),
    ];

    static BATTLE: &[FieldShape] = &[
        f("battleId", ID, "the battle's id"),
        f(
            "action",
            NUM,
            "1 invite, 2 reject, 3 cancel, 4 open, 5 finish, 6 cut short, 7 accept, ...",
        ),
        f(
            "status",
            NUM,
            "0 not started, 1 started, 2 finished, 3 punishment, 4 punishment over",
        ),
        f("battleType", NUM, "the battle's kind"),
        f("startTimeMs", NUM, "when it started (ms since the epoch)"),
        f("duration", NUM, "battle length in seconds"),
        f("hosts", shape("BattleHost").list(), "the hosts taking part"),
        f(
            "results",
            shape("BattleOutcome").list(),
            "present when the battle finished",
        ),
        f(
            "matchId",
            ID,
            "the co-host link the battle runs on: the same over the rounds of a rematch, when `battleId` changes",
        ),
        f(
            "teams",
            shape("BattleTeam").list(),
            "team battles only: each team, with its result once the battle ends",
        ),
    ];

    static ARMIES: &[FieldShape] = &[
        f("battleId", ID, "the battle's id"),
        f("battleStatus", NUM, "battle status (see `linkMicBattle`)"),
        f(
            "triggerReason",
            NUM,
            "1 score update, 2 battle end, 3 opt-out, 4 keep-alive, 5 effect update",
        ),
        f("armies", shape("BattleArmy").list(), "each host's side"),
        f(
            "fromUserId",
            ID,
            "the gifter whose gift triggered the update",
        ),
        f("giftId", ID, "that gift"),
        f("repeatCount", NUM, "its count"),
        f("totalDiamondCount", NUM, "its value in coins"),
        f("matchId", ID, "the co-host link the battle runs on (see `linkMicBattle`)"),
        f("startTimeMs", NUM, "when the battle started (ms since the epoch)"),
        f("durationSec", NUM, "battle length in seconds, extra time included"),
        f("serverTsMs", NUM, "TikTok's clock when it computed these scores (ms)"),
        f(
            "secsRemaining",
            NUM.or_null(),
            "seconds left at `serverTsMs`, rounded up (0 once the time is up); null when the message lacks the start or length",
        ),
        f(
            "teams",
            shape("BattleTeam").list(),
            "team battles only: each team's score so far (`result` is null)",
        ),
        f(
            "transactionId",
            STR,
            "TikTok's log id of the request that sent this update: identical on a copy of it",
        ),
    ];

    static ROOM_PIN: &[FieldShape] = &[
        f("action", NUM, "1 pin, 2 unpin"),
        f(
            "pinnedMethod",
            STR,
            "method of the pinned message, e.g. `WebcastChatMessage`",
        ),
        f("pinnedMsgId", ID, "the pinned message's id"),
        f("pinTime", NUM, "when it was pinned"),
        f("displayDuration", NUM, "seconds the pin stays"),
        f("operator", USER.or_null(), "who pinned it"),
        f(
            "pinnedComment",
            STR,
            "the pinned comment, when a chat message is pinned",
        ),
        f("pinnedUser", USER.or_null(), "the pinned comment's author"),
    ];

    static IM_DELETE: &[FieldShape] = &[
        f("deleteMsgIds", ID.list(), "messages to remove"),
        f("deleteUserIds", ID.list(), "users whose messages to remove"),
    ];

    static CAPTION: &[FieldShape] = &[
        f("timestampMs", NUM, "where the caption starts"),
        f("durationMs", NUM, "how long it shows"),
        f(
            "content",
            shape("CaptionText").list(),
            "the caption per language",
        ),
        f(
            "definite",
            BOOL,
            "true when the sentence is final (later captions will not revise it)",
        ),
    ];

    static BARRAGE: &[FieldShape] = &[
        f(
            "msgType",
            NUM,
            "3 normal, 4 subscribe, 8 user upgrade, 9 grade entrance, 10 fans level up, 11 fans entrance, ...",
        ),
        f("displayType", STR, "the display template key"),
        f("label", STR, "the rendered banner text"),
        f("user", USER.or_null(), "the user the banner is about"),
        f("iconUrl", STR, "the banner's icon URL"),
        f("duration", NUM, "how long it shows"),
        f("level", NUM, "new level for level-up banners"),
    ];

    static LIKE_AGGREGATE: &[FieldShape] = &[
        f("user", USER, "who liked"),
        f("likeCount", NUM, "likes merged in this window"),
        f(
            "totalLikeCount",
            NUM,
            "room total after the last merged batch",
        ),
        f("batches", NUM, "how many like messages were merged"),
    ];

    static UNKNOWN: &[FieldShape] = &[
        f("method", STR, "the message's method"),
        f("payload", B64, "the raw payload"),
    ];

    static DECODE_ERROR: &[FieldShape] = &[
        f("method", STR, "the message's method"),
        f(
            "error",
            STR,
            "what was wrong, e.g. `WebcastGiftMessage: malformed protobuf (...)`",
        ),
        f("payload", B64, "the raw payload"),
    ];

    /// The fields of a hand-shaped event (by the name its route gives it).
    pub(crate) fn shaped(event: &str) -> &'static [FieldShape] {
        match event {
            "chat" => CHAT,
            "gift" => GIFT,
            "like" => LIKE,
            "member" => MEMBER,
            "social" => SOCIAL,
            "roomUser" => ROOM_USER,
            "controlMessage" => CONTROL,
            "subscribe" => SUBSCRIBE,
            "questionNew" => QUESTION,
            "emote" => EMOTE,
            "envelope" => ENVELOPE,
            "liveIntro" => LIVE_INTRO,
            "linkMicBattle" => BATTLE,
            "linkMicArmies" => ARMIES,
            "roomPin" => ROOM_PIN,
            "imDelete" => IM_DELETE,
            "caption" => CAPTION,
            "barrage" => BARRAGE,
            _ => &[],
        }
    }

    /// The fields of an event whose method's layout is not public (`Shape::Opaque`).
    pub(crate) static OPAQUE: &[FieldShape] = &[f(
        "payload",
        B64,
        "the message as sent (protobuf, base64): no public schema or capture gives its layout, so only its common header (`msgId`, `roomId`, `createTime`) is read",
    )];

    /// The derived events (`Derive` above): name, source event (same fields), meaning.
    pub(crate) static DERIVED: &[(&str, &str, &str)] = &[
        (
            "follow",
            "social",
            "Derived from a `social` with action 1 (or a follow display key).",
        ),
        (
            "share",
            "social",
            "Derived from a `social` with action 3 (or a share display key).",
        ),
        (
            "streamEnd",
            "controlMessage",
            "Derived from a `controlMessage` with action 3 (ended) or 4 (suspended).",
        ),
        (
            "superFanBox",
            "envelope",
            "Derived from an envelope that is a super-fan box.",
        ),
        ("superFan", "barrage", "Derived from a super-fan barrage."),
        (
            "shopProduct",
            "oecLiveShopping",
            "Derived from an `oecLiveShopping` that carries the product the streamer pinned (`popProduct`).",
        ),
        (
            "superFanJoin",
            "barrage",
            "Derived from a \"joined as super fan\" barrage.",
        ),
    ];

    /// The events no known method's route writes: the passthrough events (`write.rs`)
    /// and the session's own (`session/`): name, source, meaning, fields.
    pub(crate) static OTHER: &[(&str, &str, &str, &[FieldShape])] = &[
        (
            "unknown",
            "any unknown method",
            "A message whose method this decoder does not know; the payload is passed through.",
            UNKNOWN,
        ),
        (
            "decodeError",
            "any known method",
            "A message of a known method that failed to decode; the rest of its frame still decoded.",
            DECODE_ERROR,
        ),
        (
            "giftStreak",
            "a session",
            "A streakable gift's streak while it runs (`gift` comes once it ends).",
            GIFT,
        ),
        ("giftRaw", "a session", "Every gift message as sent (when `giftRaw` is on).", GIFT),
        (
            "likeAggregate",
            "a session",
            "One user's likes merged over a window (when like aggregation is on).",
            LIKE_AGGREGATE,
        ),
    ];
}
