"""The classes of a hazard case's events, a module a phase of the case; import them from
``domain.case.events``, which gathers them."""
