"""User-Agent → bot or app name, for download counting (after the OPAWG podcast user-agent list, abridged).

>>> app_name("Overcast/3.0 (+http://overcast.fm/; iOS podcast app)")
'Overcast'
>>> is_bot("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
True
"""

from __future__ import annotations

import re

# Crawlers, uptime checkers and HTTP libraries: requests from them are never downloads. "cubot" is a phone
# brand that appears in Android user agents, hence the look-behind.
_BOTS = re.compile(
    r"(?<!cu)bot\b|bot/|crawl|spider|slurp|facebookexternalhit|embedly|curl/|wget/|python-requests|"
    r"python-urllib|aiohttp|go-http-client|java/|libwww-perl|httpclient|headlesschrome|lighthouse|pingdom|"
    r"uptimerobot|statuscake|feedfetcher|feedburner|podcastindex\.org|ia_archiver|archive\.org",
    re.IGNORECASE,
)

# First match wins: specific apps before the players and browsers whose tokens they also send.
_APPS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("Overcast", r"overcast"),
        ("Pocket Casts", r"pocket ?casts"),
        ("AntennaPod", r"antennapod"),
        ("Podcast Addict", r"podcast ?addict"),
        ("Spotify", r"spotify"),
        ("Castro", r"castro"),
        ("Castbox", r"castbox"),
        ("Podverse", r"podverse"),
        ("Fountain", r"fountain"),
        ("Player FM", r"player ?fm"),
        ("Podcast Republic", r"podcastrepublic|podcast republic"),
        ("Podcast Guru", r"podcastguru|podcast guru"),
        ("Amazon Music", r"amazonmusic|amazon music"),
        ("Deezer", r"deezer"),
        ("iHeartRadio", r"iheartradio"),
        ("Google Podcasts", r"googlepodcasts|google-podcast"),
        ("Apple Podcasts", r"^podcasts/|applecoremedia|itunes/|\batc/|watchos/.*podcasts|apple ?podcasts"),
        ("Microsoft Edge", r"\bedg/"),
        ("Firefox", r"firefox/"),
        ("Chrome", r"chrome/|crios/"),
        ("Safari", r"safari/"),
    )
)


def is_bot(user_agent: str) -> bool:
    """Tell whether a request comes from a crawler or a script (an empty User-Agent counts as one)."""
    return not user_agent.strip() or _BOTS.search(user_agent) is not None


def app_name(user_agent: str) -> str:
    """Name the app behind a User-Agent; "Other browser" for unknown Mozilla-likes, else "Other"."""
    for name, pattern in _APPS:
        if pattern.search(user_agent):
            return name
    return "Other browser" if user_agent.startswith("Mozilla/") else "Other"
