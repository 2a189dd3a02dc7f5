"""The certification admin, one module per sub-domain. Imported here so that Django's
admin autodiscovery (which imports `certification.admin`) registers every ModelAdmin:
`orders` (with its inlines `documents` and `history`, its `exports`, its own pages in
`views` and the transition pages' bindings in `transition_forms`), `reviewers`,
`notifications` (notifications and reminders) and `wechat_events`."""

from . import notifications, orders, reviewers, wechat_events  # noqa: F401 - registers the admins
