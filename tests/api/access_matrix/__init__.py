"""The access matrix: every endpoint × every role × in and out of scope, and the exact answer
each must get — reading (``test_reading.py``), acting on cases (``test_case_actions.py``), credit
proceedings and the enterprise list (``test_credit.py``)."""
