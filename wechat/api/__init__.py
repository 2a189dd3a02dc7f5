"""WeChat's API, one module per area: plain functions that take a
:class:`~wechat.client.WeChatClient` first and call ``client.call``::

    from wechat.api import menus
    menus.create(client, {"button": [...]})

The client is the transport (session, token, retries); an area module only knows its
paths, bodies and answers. A new area is a new module here: nothing else is edited.
Each area's sandbox endpoints live in ``wechat_sandbox/areas/<area>.py``.
"""
