"""Program the built-in ``fake`` provider (no key, no network).

>>> import router, router.fake
>>> router.fake.script("greeter", "Hello!")
>>> router.completion(model="fake/greeter", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content
'Hello!'
"""

from __future__ import annotations

from router._fake import FakeTransport
from router._fake import reset
from router._fake import script

__all__ = ["FakeTransport", "reset", "script"]
