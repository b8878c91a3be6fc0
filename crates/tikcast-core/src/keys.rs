//! Searching TikTok's display keys, labels and badge URLs: shared by the reader's shapes
//! (`shape.rs`) and the typed model (`user.rs`, `events.rs`), so both derive the same
//! events from the same bytes.
//!
//! TikTok spells one key several ways: `ttlive_superfan_commentnotif_superfanjoined` in
//! older apps, `ttlive_superFan_commentNotif_superFanJoined` in the documented payloads,
//! and snake_case or camelCase variants of either. A key is therefore matched by its
//! words ([`has_words`]): ASCII case and the `_`/`-` between words do not count.

/// The words of the super-fan display keys (for [`has_words`]): a barrage with the first
/// is `superFanJoin`, any other with the second `superFan`; an envelope with the third is
/// `superFanBox`.
pub(crate) const SUPER_FAN_JOINED: &str = "ttlivesuperfancommentnotifsuperfanjoined";
pub(crate) const SUPER_FAN: &str = "ttlivesuperfan";
pub(crate) const SUPER_FAN_BOX: &str = "ttlivesuperfanbox";

/// Where `needle` first occurs in `hay`, compared byte by byte. These run for every badge
/// of every user, on short strings with short needles, where `str::find`'s two-way
/// searcher spent more time setting up than searching (2 % of a frame in a profile).
pub(crate) fn find(hay: &str, needle: &str) -> Option<usize> {
    find_by(hay.as_bytes(), needle.as_bytes(), |a, b| a == b)
}

/// `needle` (lowercase ASCII) in `hay`, ignoring ASCII case, without lowercasing a copy.
pub(crate) fn has_ignore_case(hay: &str, needle: &str) -> bool {
    find_by(hay.as_bytes(), needle.as_bytes(), |a, b| {
        a.to_ascii_lowercase() == b
    })
    .is_some()
}

/// Where `n` first occurs in `h`, bytes compared by `same(hay byte, needle byte)`: jumps
/// from one match of the needle's first byte to the next (a tight loop) and compares the
/// rest only there.
fn find_by(h: &[u8], n: &[u8], same: impl Fn(u8, u8) -> bool) -> Option<usize> {
    let Some((&first, rest)) = n.split_first() else {
        return Some(0);
    };
    let mut from = 0;
    while let Some(off) = h
        .get(from..)
        .and_then(|t| t.iter().position(|&b| same(b, first)))
    {
        let at = from + off;
        let w = h.get(at + 1..at + n.len())?;
        if w.iter().zip(rest).all(|(&a, &b)| same(a, b)) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether the key `hay` contains the words `words` (lowercase ASCII letters and digits
/// run together, e.g. `"ttlivesuperfanbox"`), ignoring ASCII case and any `_` or `-` in
/// `hay`: `ttlive_superFan_box`, `TTLIVE_SUPER_FAN_BOX` and `ttliveSuperFanBox` all
/// contain `"ttlivesuperfanbox"`. Each start is tried only where the first letter
/// matches, so a long key costs about its length times the needle's.
pub(crate) fn has_words(hay: &str, words: &str) -> bool {
    let h = hay.as_bytes();
    let Some(&first) = words.as_bytes().first() else {
        return true;
    };
    let is_sep = |b: &u8| *b == b'_' || *b == b'-';
    (0..h.len()).any(|at| {
        let Some(rest) = h.get(at..) else {
            return false;
        };
        if rest.first().map(u8::to_ascii_lowercase) != Some(first) {
            return false;
        }
        let mut letters = rest.iter().filter(|b| !is_sep(b));
        words
            .bytes()
            .all(|w| letters.next().is_some_and(|b| b.to_ascii_lowercase() == w))
    })
}

/// The top-gifter rank a badge shows, or `None` for any other badge. Two designs are on
/// the wire: `…/ranklist_top_gifter_2.png` carries the rank in its URL; the current one,
/// `…/new_top_gifter_version_2.png` (the `_2` is the design's version, not a rank),
/// carries it in the badge's label, "No. 1". Its companion image badge (same URL, no
/// label) shows no rank.
pub(crate) fn top_gifter_rank(url: &str, label: &str) -> Option<u32> {
    const RANKLIST: &str = "ranklist_top_gifter_";
    if let Some(at) = find(url, RANKLIST) {
        return leading_number(url.get(at + RANKLIST.len()..)?);
    }
    find(url, "top_gifter")?;
    // "No. 1", "No.12", "NO 3": the first run of digits.
    let at = label.bytes().position(|b| b.is_ascii_digit())?;
    leading_number(label.get(at..)?).filter(|&r| r > 0)
}

/// The number `s` starts with (ASCII digits), if any and if it fits a `u32`.
fn leading_number(s: &str) -> Option<u32> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.get(..end)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{find, has_ignore_case, has_words, top_gifter_rank};
    use alloc::string::String;
    use alloc::vec::Vec;

    /// Every string of length 0..=6 over a small alphabet (with a multi-byte char).
    fn strings() -> Vec<String> {
        let alphabet = ['a', 'B', 'b', '_', 'é'];
        let mut strings: Vec<String> = alloc::vec![String::new()];
        let mut last = strings.clone();
        for _ in 0..6 {
            let next: Vec<String> = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| alloc::format!("{s}{c}")))
                .collect();
            strings.extend(next.iter().cloned());
            last = next;
        }
        strings
    }

    /// Needles of length 0..=3 in every string: the same answers as `str::find` and a
    /// lowercased search.
    #[test]
    fn find_and_has_ignore_case_agree_with_std() {
        let strings = strings();
        let needles: Vec<&String> = strings.iter().filter(|s| s.chars().count() <= 3).collect();
        for hay in &strings {
            for needle in &needles {
                assert_eq!(
                    find(hay, needle),
                    hay.find(needle.as_str()),
                    "{hay} {needle}"
                );
                let lower = needle.to_ascii_lowercase();
                assert_eq!(
                    has_ignore_case(hay, &lower),
                    hay.to_ascii_lowercase().contains(lower.as_str()),
                    "{hay} {lower}"
                );
            }
        }
    }

    /// `has_words` equals "the key lowercased with `_` and `-` removed contains the
    /// words", on every string of the alphabet and every needle of up to 3 letters.
    #[test]
    fn has_words_is_a_search_in_the_normalised_key() {
        let strings = strings();
        let needles: Vec<String> = strings
            .iter()
            .filter(|s| s.chars().count() <= 3 && !s.contains('_'))
            .map(|s| s.to_ascii_lowercase())
            .collect();
        for hay in &strings {
            let normal: String = hay
                .chars()
                .filter(|c| *c != '_' && *c != '-')
                .collect::<String>()
                .to_ascii_lowercase();
            for needle in &needles {
                assert_eq!(
                    has_words(hay, needle),
                    normal.contains(needle.as_str()),
                    "{hay} {needle}"
                );
            }
        }
    }

    /// The spellings TikTok uses for the super-fan keys, and ones it does not.
    #[test]
    fn super_fan_keys_in_every_spelling() {
        const JOINED: &str = "ttlivesuperfancommentnotifsuperfanjoined";
        for key in [
            "ttlive_superfan_commentnotif_superfanjoined",
            "ttlive_superFan_commentNotif_superFanJoined",
            "ttlive_super_fan_comment_notif_super_fan_joined",
            "TTLIVE_SUPERFAN_COMMENTNOTIF_SUPERFANJOINED",
            "ttliveSuperFanCommentNotifSuperFanJoined",
            "prefix.ttlive-superFan-commentNotif-superFanJoined.suffix",
        ] {
            assert!(has_words(key, JOINED), "{key}");
            assert!(has_words(key, "ttlivesuperfan"), "{key}");
        }
        for key in [
            "ttlive_superFan_commentNotif_someoneBecameSuperFan",
            "ttlive_super_fan_comment_notif_someone_became_super_fan",
        ] {
            assert!(!has_words(key, JOINED), "{key}");
            assert!(has_words(key, "ttlivesuperfan"), "{key}");
        }
        for key in [
            "ttlive_superfanbox_title",
            "ttlive_superFanBox",
            "TTLIVE_SUPER_FAN_BOX",
        ] {
            assert!(has_words(key, "ttlivesuperfanbox"), "{key}");
        }
        for key in [
            "",
            "ttlive_super",
            "ttlive_fan_super",
            "pm_mt_fan_live_join",
            "ttlive.superfan",
        ] {
            assert!(!has_words(key, "ttlivesuperfan"), "{key}");
        }
    }

    #[test]
    fn top_gifter_rank_from_url_or_label() {
        let old = "https://p16-webcast.tiktokcdn.com/webcast-va/ranklist_top_gifter_2.png~tplv";
        assert_eq!(top_gifter_rank(old, ""), Some(2));
        assert_eq!(
            top_gifter_rank("…/ranklist_top_gifter_12.png", "No. 1"),
            Some(12)
        );
        let new = "https://p19-webcast.tiktokcdn.com/webcast-sg/new_top_gifter_version_2.png~tplv";
        assert_eq!(top_gifter_rank(new, "No. 1"), Some(1));
        assert_eq!(top_gifter_rank(new, "No. 3"), Some(3));
        assert_eq!(top_gifter_rank(new, "No.12"), Some(12));
        // The companion image badge has no label: no rank (not the version's "2").
        assert_eq!(top_gifter_rank(new, ""), None);
        assert_eq!(top_gifter_rank(new, "No. 0"), None);
        assert_eq!(top_gifter_rank(new, "No. 99999999999"), None);
        // Other badges never give a rank, whatever their label.
        assert_eq!(top_gifter_rank("…/new_gifter_badge_v3.png", "No. 1"), None);
        assert_eq!(top_gifter_rank("", "No. 1"), None);
    }
}
