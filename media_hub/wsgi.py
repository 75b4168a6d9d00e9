"""WSGI entry point for gunicorn: ``gunicorn media_hub.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")
application = get_wsgi_application()
