"""Language choice: Simplified Chinese unless the user picked another language.

Django's LocaleMiddleware also follows the browser's Accept-Language, which would
show English to staff whose browser happens to be set to English. Here only an
explicit choice (the admin's language switcher, which sets the language cookie)
changes the language.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext as _


class ExplicitLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class RefuseBadInputMiddleware:
    """400 for an address no page of ours can take (issues 9 and 22 §7), before any view runs.

    - a NUL anywhere in the path (`/conversations/1/o%00x/`: an OpenID) or the query string
      (`?q=%00`): PostgreSQL refuses NUL in text, so these were 500s;
    - a date part out of its range in a query parameter (`?created_at__year=99999`,
      `…__month=13`): the admin's filters and date drill-down build dates from them, and
      Python's `date` stops at year 9999;
    - a `page` parameter that is not a page number (`/admin/search/?page=abc` or `page=0`:
      the theme's search page calls `int()` on it). The changelists' own `p` is Django's.

    The rules are core.parsing's; bodies are parsed there by the views and forms.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from core.parsing import BadInput, check_date_part, parse_page

        try:
            if "\x00" in request.path_info or "\x00" in request.META.get("QUERY_STRING", ""):
                raise BadInput(_("The address contains a NUL character."))
            for key, values in request.GET.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    raise BadInput(_("The address contains a NUL character."))
                for value in values:
                    check_date_part(key, value)
                    if key == "page":
                        parse_page(value)
        except BadInput as exc:
            return HttpResponseBadRequest(exc.user_message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
