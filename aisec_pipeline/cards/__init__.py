"""Model cards that gate: schema, safe parsing, validation into a verdict, publication.

Import from the submodules (`cards.validate`, `cards.render`, ...): this file stays empty so that
`aisec`'s CLI can import `cards.command` without pulling in pydantic or PyYAML.
"""
