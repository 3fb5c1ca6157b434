"""The figures (统计数字) of DOMAIN.md "Reports and figures": ``case_statistics``, counters per
grid unit and month, kept by ``changes`` and read by ``queries``. One set of definitions, used
by the statistics pages and by the reports alike (both read ``queries.unit_statistics``):

- ``found``: hazards found (``found_at``) in the period, ``found_major`` of them major.
- ``rectified``: cases written off (销号) in the period, by a passed verification or at once
  (立改立销). 整改率 (rectification rate) = rectified / found, both of the period.
- ``hazards_due``, ``hazards_rectified_on_time`` (到期整改率 = rectified on time / due, the
  rate of the seeds, e.g. Huzhou's 99.83 %): hazards, each counted once, in the period its
  rectification deadline (整改期限) falls in, when its outcome is settled. The hazard's
  deadline is the one in force for the enterprise until the case first misses one: the
  notice's or a listing's, as moved by an approved extension or by the new deadline a failed
  verification sets before it passed (复查不合格, 重新限期整改); the supervision deadlines that
  escalation sets afterwards (督办函) are not the hazard's. On time: written off by it, or
  reported by it and then passed verification (a case closed early counts in its deadline's
  period). A hazard rectified late, escalated first, or whose verification failed after its
  deadline counts due and not on time, once. 立改立销 cases have no deadline and are never
  due. A hazard whose deadline has passed with no outcome yet (its rectification awaits
  verification, its timer has not fired) is counted due and not on time by the queries
  (``due_unsettled``), until it is settled.
- ``deadlines_due``, ``deadlines_met``, ``deadlines_missed``: every deadline that falls due —
  the hazard's and each supervision deadline after it — counted in the period the deadline
  itself falls in, once, when its outcome is settled (the same rules of met and missed; a
  deadline replaced before it falls due, by an extension, also one decided after it but asked
  for in time, or a failed verification before it, never falls due). A case escalated four
  times counts five deadlines and one hazard: this is the workload of the supervision ladder,
  not the 到期整改率. (Reports before migration 0010 carried this count as ``due``.)
- ``overdue`` (逾期): open hazards whose rectification deadline has passed without their being
  rectified by it (the domain's ``CaseState.overdue_since``: escalation does not end it; a
  rectification reported by the deadline and awaiting verification, or an extension asked for
  in time and awaiting its decision, holds it off) at the period's end (or now, for a period
  still running). A spell of being overdue that has ended is counted in ``overdue_at_end`` of
  every month whose end it covers; a spell still running is read from ``case_view``
  (``overdue_watch_since`` and ``rectification_deadline``).
- escalations by the grid level escalated to, listings and de-listings by listing level,
  enforcement referrals and withdrawals: in the period of the event.
- blacklist changes (proceedings opened, listed, removed early, restored, expired): in the
  period of the event, on the grid path of the enterprise: the reference data's
  (``EnterpriseRegistered`` and its unit's ancestors from ``GridUnitRegistered``), replaced
  by the path of each case registered for it. An enterprise with neither counts nowhere
  (and is logged as such).

Every unit on a case's grid path gets the counts, so a unit's figures cover its subtree.
Months are those of the case's time zone (the policy's, recorded at registration).

A malformed event (a field missing or of the wrong type) is skipped and counted like an
unknown one, and changes nothing: the rows it touched and its counts are rolled back.
"""
