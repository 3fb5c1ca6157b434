"""督办工作台: the web console, server-rendered from the FastAPI app (Jinja2 templates, htmx).

The console decides nothing itself: every page reads through ``api.services`` (or the read-model
queries the API's routes call) with the signed-in person's ``Principal``, and every action goes
through the same services, access rules, idempotency and workflows as the HTTP API.

- ``install``: included into the app by ``api.app.create_app`` (one call).
- ``registry``: ``ConsoleRouter`` — a page group declares each route with the roles allowed.
- ``pages/``: one module per page group; ``templates/<group>/`` beside the shared
  ``base.html`` and ``components/``; ``i18n`` holds the shared words, each group adds its own.
- ``sessions``, ``signin``: the session cookie, CSRF tokens, the throttled sign-in.
"""
