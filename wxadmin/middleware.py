"""Language choice: Simplified Chinese unless the user picked another language.

Django's LocaleMiddleware also follows the browser's Accept-Language, which would
show English to staff whose browser happens to be set to English. Here only an
explicit choice (the admin's language switcher, which sets the language cookie)
changes the language.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ExplicitLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class RefuseNulInQueryMiddleware:
    """400 for a query string carrying a NUL character (issue 9).

    No page of ours takes one, and PostgreSQL refuses NUL in text, so an admin search
    or filter such as `?q=%00` used to end in a 500. Bodies are left to the forms
    (Django's CharField refuses NUL) and to the WeChat callback's own parser.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            from django.http import HttpResponseBadRequest
            from django.utils.translation import gettext as _

            return HttpResponseBadRequest(
                _("The address contains a NUL character."), content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)
