"""The read models (读模型): tables derived from the event store for lists, registers and
figures. One module per read model holds its whole story: its table's columns, how each event
changes its rows (the change handlers) and the queries that read it.

- ``cases``: the case list, ``case_view`` (``list_cases``, ``get_case``).
- ``listings``: the public register of listed hazards (挂牌督办公示), ``case_view.listings``
  (``list_listings``).
- ``enterprises``: enterprises with their cases, credit, grade and whitelist,
  ``enterprise_view`` (``get_enterprise``, ``list_enterprises``).
- ``blacklist``: the public register of seriously untrustworthy entities (严重失信主体名单),
  ``blacklist_register`` (``list_blacklist``).
- ``figures``: statistics per grid unit and month, ``case_statistics``; a package, its
  definitions in its docstring, ``figures.changes`` and ``figures.queries``
  (``unit_statistics``, ``child_unit_statistics``, ``units_with_figures``).
- ``grid_units``: the grid units the read side knows, ``grid_unit_view`` (``grid_unit``).

``rows`` and ``paging`` hold what they all share. Which read models an event concerns, and in
which order their changes run, is ``activities.projections.batch``.
"""
