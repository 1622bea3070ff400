"""Row factories for the jobs tests: feedback items on three clear topics plus logistics."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from sqlalchemy import select

from retour.models import FeedbackItem, FeedbackSegment, Theme, ThemeEvidence

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
_seq = itertools.count(1)

SSO = [
    "No SSO: their IT requires SAML single sign-on for every tool",
    "They need SAML SSO with Okta, single sign-on is mandatory",
    "Lost because we lack SAML single sign-on (SSO) for Azure AD",
    "Security team blocked it: no SSO, no SAML single sign-on",
    "Single sign-on SSO through SAML is a hard requirement for them",
    "Pas de SSO SAML, authentification unique single sign-on obligatoire",
    "SAML SSO single sign-on missing, their IT says no go",
]
PRICE = [
    "Price too expensive compared to the competitor, per seat pricing too high",
    "Too expensive: competitor price per seat is half of ours",
    "Our price per seat is too high versus the competitor pricing",
    "Lost on price, competitor cheaper per seat, our pricing too expensive",
    "Pricing per seat too expensive, competitor price much lower",
    "Price per seat too high, the competitor is cheaper",
    "They found our per seat price too expensive against the competitor",
]
MOBILE = [
    "No mobile app for field sales, offline mobile access needed",
    "Field reps need an offline mobile app on their phones",
    "Missing mobile app: field sales cannot work offline on mobile",
    "They want a mobile app with offline mode for field sales reps",
    "Mobile app offline for field sales teams is missing",
    "Field sales need the mobile app to work offline",
]
LOGISTICS = ["rappeler mardi", "sent proposal v2", "Called, left voicemail", "RDV calé jeudi 10h"]


def item(text: str, *, days_ago: float = 1, account_id: str | None = None, opportunity_id: str | None = None,
         lang: str = "en", channel: str = "note") -> FeedbackItem:
    n = next(_seq)
    return FeedbackItem(source_object="Task", source_id=f"00T{n:015d}"[:18], source_field="description",
                        channel=channel, text=text, text_hash=hashlib.sha256(text.encode()).hexdigest(), lang=lang,
                        occurred_at=NOW - dt.timedelta(days=days_ago), account_id=account_id,
                        opportunity_id=opportunity_id)


def three_themes(session, settings) -> dict[str, Theme]:
    """One pass over the three clear topics: name ("sso", "price", "mobile") -> its theme."""
    from jobs.themes import run_theme_pass

    for texts in (SSO, PRICE, MOBILE):
        session.add_all([item(t) for t in texts])
    session.flush()
    run_theme_pass(session, settings, now=NOW)
    session.flush()
    return {name: theme_of(session, texts[0]) for name, texts in (("sso", SSO), ("price", PRICE), ("mobile", MOBILE))}


def theme_of(session, text: str) -> Theme:
    """The theme holding ``text`` as active evidence."""
    return session.scalar(select(Theme).join(ThemeEvidence).join(FeedbackSegment).where(
        FeedbackSegment.text == text, ThemeEvidence.state == "active"))


def texts_of(session, theme: Theme) -> set[str]:
    """The texts of a theme's active evidence."""
    return set(session.scalars(select(FeedbackSegment.text).join(ThemeEvidence).where(
        ThemeEvidence.theme_id == theme.id, ThemeEvidence.state == "active")))



def split_proposal(session, settings, theme):
    """The split the pass itself proposes for ``theme`` (grown past the size it is looked at again)."""
    from jobs import discovery
    from jobs.embed import TfidfEmbedder
    from jobs.themes import centring_means, propose_splits
    from retour.models import ThemeProposal

    embedder = TfidfEmbedder()
    threshold = discovery.threshold_for(settings.themes.granularity, embedder.base_threshold)
    assert propose_splits(session, [theme], threshold, settings.themes.min_theme_size, embedder,
                          centring_means(session, embedder, recompute=False)) == 1
    session.flush()
    return session.scalar(select(ThemeProposal).where(ThemeProposal.kind == "split", ThemeProposal.theme_id == theme.id))
