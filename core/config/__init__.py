"""Loading the config file: LiteLLM proxy and original-Aqueduct files load unchanged.

`core.settings` holds the typed Settings; this package turns a file (with its `include:` files and
`environment_variables`) into them: `sources` reads files, `sections` maps the LiteLLM sections and the
top-level router keys onto Aqueduct's settings, `known_keys` lists what is knowingly ignored, `problems`
collects every problem with its location, `loader` puts it together and `check` is `aqueduct config check`."""
