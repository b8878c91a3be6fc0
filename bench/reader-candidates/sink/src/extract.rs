/// The projection written once for the four library candidates (prost, femtopb, micropb,
/// quick-protobuf): functions that walk a decoded message and write every field today's
/// events read into a [`Sink`](crate::Sink), under the proto field name, in schema order.
///
/// Library differences are three macros the candidate defines before expanding this:
/// `opt!(msg, field)` → `Option<&Sub>`, `each!(x in msg.field => { .. })` (`msg` an identifier) iterating a
/// repeated field (binding `x` to a reference, `?` allowed inside), and `ty!(gift_info)`
/// and `str_field!(badge)` for the fields named `type` and `str`. Types are passed in because each library names and
/// lifetimes them its own way. Every function returns `Result<(), $err>` (only femtopb's
/// lazy repeated fields can fail after the decode call).
#[macro_export]
macro_rules! extractor {
    (
        $lt:lifetime, $err:ty;
        Common = $Common:ty, Text = $Text:ty, TextPiece = $TextPiece:ty,
        PatternRef = $PatternRef:ty, Image = $Image:ty, User = $User:ty, Badge = $Badge:ty,
        UserIdentity = $UserIdentity:ty, Chat = $Chat:ty, Gift = $Gift:ty, Like = $Like:ty,
        Member = $Member:ty, Social = $Social:ty, RoomUser = $RoomUser:ty $(,)?
    ) => {
        type Out = core::result::Result<(), $err>;

        macro_rules! list {
            ($s:ident, $key:literal, $x:ident in $m:ident . $f:ident => $body:block) => {{
                let mut first = true;
                each!($x in $m.$f => {
                    if first {
                        $s.key($key);
                        $s.begin_array();
                        first = false;
                    }
                    $body
                });
                if !first {
                    $s.end();
                }
            }};
        }

        fn common<$lt, S: $crate::Sink>(c: &$Common, s: &mut S) -> Out {
            s.begin_object();
            s.key("msg_id");
            s.u64(c.msg_id);
            s.key("room_id");
            s.u64(c.room_id);
            s.key("create_time");
            s.i64(c.create_time);
            if let Some(t) = opt!(c, display_text) {
                s.key("display_text");
                text(t, s)?;
            }
            s.end();
            Ok(())
        }

        fn text<$lt, S: $crate::Sink>(t: &$Text, s: &mut S) -> Out {
            s.begin_object();
            s.key("key");
            s.str(&t.key[..]);
            s.key("default_pattern");
            s.str(&t.default_pattern[..]);
            list!(s, "pieces", p in t.pieces => { piece(p, s)?; });
            s.end();
            Ok(())
        }

        fn piece<$lt, S: $crate::Sink>(p: &$TextPiece, s: &mut S) -> Out {
            s.begin_object();
            s.key("string_value");
            s.str(&p.string_value[..]);
            if let Some(u) = opt!(p, user_value) {
                s.key("user_value");
                s.begin_object();
                if let Some(u) = opt!(u, user) {
                    s.key("user");
                    user(u, s)?;
                }
                s.end();
            }
            if let Some(g) = opt!(p, gift_value) {
                s.key("gift_value");
                s.begin_object();
                if let Some(r) = opt!(g, name_ref) {
                    s.key("name_ref");
                    pattern_ref(r, s);
                }
                s.end();
            }
            if let Some(r) = opt!(p, pattern_ref_value) {
                s.key("pattern_ref_value");
                pattern_ref(r, s);
            }
            s.end();
            Ok(())
        }

        fn pattern_ref<$lt, S: $crate::Sink>(r: &$PatternRef, s: &mut S) {
            s.begin_object();
            s.key("key");
            s.str(&r.key[..]);
            s.key("default_pattern");
            s.str(&r.default_pattern[..]);
            s.end();
        }

        fn image<$lt, S: $crate::Sink>(i: &$Image, s: &mut S) -> Out {
            s.begin_object();
            list!(s, "url_list", u in i.url_list => { s.str(&u[..]); });
            s.end();
            Ok(())
        }

        fn user<$lt, S: $crate::Sink>(u: &$User, s: &mut S) -> Out {
            s.begin_object();
            s.key("id");
            s.u64(u.id);
            s.key("nickname");
            s.str(&u.nickname[..]);
            if let Some(i) = opt!(u, avatar_thumb) {
                s.key("avatar_thumb");
                image(i, s)?;
            }
            if let Some(i) = opt!(u, avatar_medium) {
                s.key("avatar_medium");
                image(i, s)?;
            }
            if let Some(i) = opt!(u, avatar_large) {
                s.key("avatar_large");
                image(i, s)?;
            }
            if let Some(f) = opt!(u, follow_info) {
                s.key("follow_info");
                s.begin_object();
                s.key("follow_status");
                s.i64(f.follow_status);
                s.end();
            }
            if let Some(g) = opt!(u, pay_grade) {
                s.key("pay_grade");
                s.begin_object();
                s.key("level");
                s.i64(g.level);
                s.end();
            }
            if let Some(c) = opt!(u, fans_club) {
                s.key("fans_club");
                s.begin_object();
                if let Some(d) = opt!(c, data) {
                    s.key("data");
                    s.begin_object();
                    s.key("club_name");
                    s.str(&d.club_name[..]);
                    s.key("level");
                    s.i64(i64::from(d.level));
                    s.end();
                }
                s.end();
            }
            s.key("display_id");
            s.str(&u.display_id[..]);
            s.key("sec_uid");
            s.str(&u.sec_uid[..]);
            list!(s, "badge_list", b in u.badge_list => { badge(b, s)?; });
            s.key("follow_status");
            s.i64(u.follow_status);
            s.key("is_subscribe");
            s.bool(u.is_subscribe);
            s.end();
            Ok(())
        }

        fn badge<$lt, S: $crate::Sink>(b: &$Badge, s: &mut S) -> Out {
            s.begin_object();
            s.key("scene_type");
            s.i64(i64::from(b.scene_type));
            if let Some(p) = opt!(b, privilege_log_extra) {
                s.key("privilege_log_extra");
                s.begin_object();
                s.key("level");
                s.str(&p.level[..]);
                s.end();
            }
            if let Some(i) = opt!(b, image) {
                s.key("image");
                s.begin_object();
                if let Some(i) = opt!(i, image) {
                    s.key("image");
                    image(i, s)?;
                }
                s.end();
            }
            if let Some(t) = opt!(b, text) {
                s.key("text");
                s.begin_object();
                s.key("key");
                s.str(&t.key[..]);
                s.key("default_pattern");
                s.str(&t.default_pattern[..]);
                s.end();
            }
            if let Some(t) = opt!(b, str) {
                s.key("str");
                s.begin_object();
                s.key("str");
                s.str(&str_field!(t)[..]);
                s.end();
            }
            if let Some(c) = opt!(b, combine) {
                s.key("combine");
                s.begin_object();
                if let Some(i) = opt!(c, icon) {
                    s.key("icon");
                    image(i, s)?;
                }
                if let Some(r) = opt!(c, text) {
                    s.key("text");
                    pattern_ref(r, s);
                }
                s.key("str");
                s.str(&str_field!(c)[..]);
                s.end();
            }
            s.end();
            Ok(())
        }

        fn identity<$lt, S: $crate::Sink>(i: &$UserIdentity, s: &mut S) {
            s.begin_object();
            s.key("is_subscriber_of_anchor");
            s.bool(i.is_subscriber_of_anchor);
            s.key("is_mutual_following_with_anchor");
            s.bool(i.is_mutual_following_with_anchor);
            s.key("is_follower_of_anchor");
            s.bool(i.is_follower_of_anchor);
            s.key("is_moderator_of_anchor");
            s.bool(i.is_moderator_of_anchor);
            s.end();
        }

        macro_rules! head {
            ($m:ident, $s:ident) => {
                if let Some(c) = opt!($m, common) {
                    $s.key("common");
                    common(c, $s)?;
                }
            };
        }
        macro_rules! user_field {
            ($m:ident, $s:ident, $field:ident) => {
                if let Some(u) = opt!($m, $field) {
                    $s.key(stringify!($field));
                    user(u, $s)?;
                }
            };
        }

        pub fn chat<$lt, S: $crate::Sink>(m: &$Chat, s: &mut S) -> Out {
            s.begin_object();
            head!(m, s);
            user_field!(m, s, user);
            s.key("content");
            s.str(&m.content[..]);
            s.key("visible_to_sender");
            s.bool(m.visible_to_sender);
            user_field!(m, s, at_user);
            list!(s, "emotes", e in m.emotes => {
                s.begin_object();
                s.key("index");
                s.i64(i64::from(e.index));
                if let Some(e) = opt!(e, emote) {
                    s.key("emote");
                    s.begin_object();
                    s.key("emote_id");
                    s.str(&e.emote_id[..]);
                    if let Some(i) = opt!(e, image) {
                        s.key("image");
                        image(i, s)?;
                    }
                    s.end();
                }
                s.end();
            });
            s.key("content_language");
            s.str(&m.content_language[..]);
            if let Some(i) = opt!(m, user_identity) {
                s.key("user_identity");
                identity(i, s);
            }
            s.end();
            Ok(())
        }

        pub fn gift<$lt, S: $crate::Sink>(m: &$Gift, s: &mut S) -> Out {
            s.begin_object();
            head!(m, s);
            s.key("gift_id");
            s.u64(m.gift_id);
            s.key("group_count");
            s.i64(i64::from(m.group_count));
            s.key("repeat_count");
            s.i64(i64::from(m.repeat_count));
            s.key("combo_count");
            s.i64(i64::from(m.combo_count));
            user_field!(m, s, user);
            user_field!(m, s, to_user);
            s.key("repeat_end");
            s.i64(i64::from(m.repeat_end));
            s.key("group_id");
            s.u64(m.group_id);
            if let Some(g) = opt!(m, gift) {
                s.key("gift");
                s.begin_object();
                if let Some(i) = opt!(g, image) {
                    s.key("image");
                    image(i, s)?;
                }
                s.key("describe");
                s.str(&g.describe[..]);
                s.key("id");
                s.u64(g.id);
                s.key("type");
                s.i64(i64::from(ty!(g)));
                s.key("diamond_count");
                s.i64(i64::from(g.diamond_count));
                s.key("name");
                s.str(&g.name[..]);
                s.end();
            }
            if let Some(i) = opt!(m, monitor_info) {
                s.key("monitor_info");
                s.begin_object();
                s.key("anchor_id");
                s.u64(i.anchor_id);
                s.key("to_user_id");
                s.u64(i.to_user_id);
                s.end();
            }
            if let Some(i) = opt!(m, user_identity) {
                s.key("user_identity");
                identity(i, s);
            }
            s.end();
            Ok(())
        }

        pub fn like<$lt, S: $crate::Sink>(m: &$Like, s: &mut S) -> Out {
            s.begin_object();
            head!(m, s);
            s.key("count");
            s.i64(i64::from(m.count));
            s.key("total");
            s.i64(m.total);
            user_field!(m, s, user);
            s.end();
            Ok(())
        }

        pub fn member<$lt, S: $crate::Sink>(m: &$Member, s: &mut S) -> Out {
            s.begin_object();
            head!(m, s);
            user_field!(m, s, user);
            s.key("member_count");
            s.i64(i64::from(m.member_count));
            s.key("action");
            s.i64(i64::from(m.action));
            s.key("client_enter_source");
            s.str(&m.client_enter_source[..]);
            s.end();
            Ok(())
        }

        pub fn social<$lt, S: $crate::Sink>(m: &$Social, s: &mut S) -> Out {
            s.begin_object();
            head!(m, s);
            user_field!(m, s, user);
            s.key("share_type");
            s.i64(m.share_type);
            s.key("action");
            s.i64(m.action);
            s.key("share_target");
            s.str(&m.share_target[..]);
            s.key("follow_count");
            s.i64(m.follow_count);
            s.key("share_count");
            s.i64(i64::from(m.share_count));
            s.end();
            Ok(())
        }

        pub fn room_user<$lt, S: $crate::Sink>(m: &$RoomUser, s: &mut S) -> Out {
            s.begin_object();
            head!(m, s);
            list!(s, "ranks", c in m.ranks => {
                s.begin_object();
                s.key("score");
                s.i64(c.score);
                if let Some(u) = opt!(c, user) {
                    s.key("user");
                    user(u, s)?;
                }
                s.key("rank");
                s.i64(c.rank);
                s.end();
            });
            s.key("total");
            s.i64(m.total);
            s.key("popularity");
            s.i64(m.popularity);
            s.key("total_user");
            s.i64(m.total_user);
            s.end();
            Ok(())
        }
    };
}
