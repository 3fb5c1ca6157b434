from tests.workflows.conftest import case_worker, test_settings, time_skipping_env, unique_hazard_id

__all__ = ["case_worker", "test_settings", "time_skipping_env", "unique_hazard_id"]
