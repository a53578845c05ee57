"""response_format=<a pydantic model>: the schema is sent, the answer comes back validated on
message.parsed, as with the openai SDK's parse helpers. Needs pydantic (router itself does not).

    .venv/bin/python examples/structured_output.py
"""

from __future__ import annotations

import pydantic

import router
import router.fake


class Weather(pydantic.BaseModel):
    city: str
    celsius: float
    conditions: list[str]


# The fake provider answers with this JSON; a real model is asked with Weather's strict JSON schema:
# {"type": "json_schema", "json_schema": {"name": "Weather", "schema": {...}, "strict": true}}.
router.fake.script("weather", '{"city": "Lisbon", "celsius": 21.5, "conditions": ["sunny", "breezy"]}')
messages = [{"role": "user", "content": "The weather in Lisbon, as JSON."}]

resp = router.completion(model="fake/weather", messages=messages, response_format=Weather)
weather = resp.choices[0].message.parsed
assert isinstance(weather, Weather)
print(f"{weather.city}: {weather.celsius} °C, {', '.join(weather.conditions)}")

# Streamed: the chunks as usual, then the whole answer with .parsed.
stream = router.completion(model="fake/weather", messages=messages, response_format=Weather, stream=True)
pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
print("streamed text:", "".join(pieces))
final = stream.get_final_completion().choices[0].message.parsed
assert isinstance(final, Weather)
print("streamed:", final.model_dump())

# The drop-in client's spelling of the same call.
client = router.OpenAI()
parsed = client.chat.completions.parse(model="fake/weather", messages=messages, response_format=Weather)
print("parse():", parsed.choices[0].message.parsed)
