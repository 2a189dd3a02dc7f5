"""Language choice: Simplified Chinese unless the user picked another language.

Django's LocaleMiddleware also follows the browser's Accept-Language, which would
show English to staff whose browser happens to be set to English. Here only an
explicit choice (the admin's language switcher, which sets the language cookie)
changes the language.
"""
from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ExplicitLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
