"""Settings for the web server process the browser tests start: the real ones, with static files served by
WhiteNoise straight from the app folders (no collectstatic step for a throwaway server)."""

from media_hub.settings import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
