import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxadmin.settings.local")
application = get_wsgi_application()

from core.timeouts import limit_web_statements  # noqa: E402  (needs the settings)

limit_web_statements()
