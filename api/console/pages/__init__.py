"""The console's page groups: one module per group, each with a ``router`` (``ConsoleRouter``)
and its templates in ``api/console/templates/<group>/``. Every module here is included by
``api.console.install`` (in name order); a new group is a new module."""
