"""Provider adapter tests: real SDK clients over vcrpy cassettes or a transport-level fake."""

from __future__ import annotations

import os

# LiteLLM fetches its model price map from the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
