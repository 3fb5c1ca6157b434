"""Keep the Kubernetes policy ConfigMap the shipped policy: ``python -m deploy.sync_policy``.

``deploy/k8s/settings.yaml`` ends with the ConfigMap ``duban-policy`` whose ``policy.toml`` is
``domain/policies/default.toml``, indented. A copy edited by hand drifts (it once held edition
1 while the workers shipped edition 2), so the copy is written by this script and
tests/deploy/test_manifests.py fails while it differs. An operator's own policy replaces the
ConfigMap's content in their overlay, not here.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "deploy" / "k8s" / "settings.yaml"
POLICY = ROOT / "domain" / "policies" / "default.toml"
MARKER = "  policy.toml: |\n"


def with_policy(manifest: str, policy: str) -> str:
    """``manifest`` with everything after the ``policy.toml: |`` line replaced by ``policy``."""
    head, found, _ = manifest.partition(MARKER)
    if not found:
        raise ValueError(f"{SETTINGS.name}: no line {MARKER.strip()!r} to write the policy under")
    body = "".join(f"    {line}" if line.strip() else "\n" for line in policy.splitlines(True))
    return head + MARKER + body


def main() -> int:
    manifest = SETTINGS.read_text(encoding="utf-8")
    synced = with_policy(manifest, POLICY.read_text(encoding="utf-8"))
    if synced != manifest:
        SETTINGS.write_text(synced, encoding="utf-8")
        print(f"{SETTINGS.relative_to(ROOT)}: policy.toml is now {POLICY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
